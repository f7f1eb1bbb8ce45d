"""The exact finite-width NTK statistics of the bias-free relu net [1, n, n, 1]
(``tests/kernels/_relu_ntk_exact.py``): against sampled networks at n = 2, 3, 5, and as the
oracle for the O(1/n) statistics of ``ntk_fluctuations`` on a nonlinear network — the exact
values minus the O(1/n) prediction fall like 1/n².
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.inference._network import MLPSpec, empirical_ntk, forward, init_parameters
from fieldnn.kernels._ntk_fluctuations import ntk_fluctuations

from ._relu_ntk_exact import relu_ntk_exact

X = 0.8
HYPER = {"C_W": [1.5, 2.0, 0.8], "lambda_W": [0.7, 1.3, 0.9], "lambda_b": [0.4, 1.1, 0.6]}
KEYS = ("mean", "variance", "A", "B", "D", "F", "z2_covariance", "z2", "z4")


def _sampled(n: int, R: int, seed: int, chunk: int = 200_000) -> dict:
    """Per-network estimators from R networks [1, n, n, 2] (two independent output neurons):
    mean ↦ E Θ̂, variance ↦ (A + 2B)/n, A ↦ A/n (E[ΔĤ_11ΔĤ_22]), B ↦ B/n (E[Ĥ_12²]),
    D ↦ D/n (E[ΔĤ_11 z_2²]), F ↦ F/n (E[Ĥ_12 z_1z_2]), z2_covariance ↦ (D + 2F)/n,
    z2 ↦ E z², z4 ↦ E z⁴; returns (estimate, standard error) for each."""
    mlp = fnn.MLP("relu", [1, n, n, 2], C_W=HYPER["C_W"], C_b=0.0)
    spec = MLPSpec.of(mlp)
    lb, lw = spec.learning_rates(HYPER["lambda_b"], HYPER["lambda_W"])
    gen = np.random.default_rng(seed)
    parts = []
    for start in range(0, R, chunk):
        params = init_parameters(spec, min(chunk, R - start), gen)
        H = empirical_ntk(spec, params, np.array([[X]]), lb, lw)[:, :, 0, :, 0]
        Z = forward(spec, params, np.array([[X]]))[0][-1][:, 0, :]
        parts.append(np.stack([H[:, 0, 0], H[:, 1, 1], H[:, 0, 1], Z[:, 0], Z[:, 1]]))
    h11, h22, h12, z1, z2 = np.concatenate(parts, axis=1)
    m = 0.5 * (h11 + h22).mean()
    d11, d22 = h11 - m, h22 - m
    samples = {
        "mean": 0.5 * (h11 + h22),
        "variance": 0.5 * (d11**2 + d22**2),
        "A": d11 * d22,
        "B": h12**2,
        "D": 0.5 * (d11 * z2**2 + d22 * z1**2),
        "F": h12 * z1 * z2,
        "z2_covariance": 0.5 * (d11 * z1**2 + d22 * z2**2),
        "z2": 0.5 * (z1**2 + z2**2),
        "z4": 0.5 * (z1**4 + z2**4),
    }
    return {k: (v.mean(), v.std(ddof=1) / np.sqrt(R)) for k, v in samples.items()}


def _exact(n: int) -> dict[str, float]:
    e = relu_ntk_exact(n, X, **HYPER)
    out = {k: float(getattr(e, k)) for k in KEYS}
    for k in "ABDF":
        out[k] /= n  # the estimators measure A/n, …
    return out


def _leading(n: int) -> dict[str, float]:
    """The O(1/n) prediction of ntk_fluctuations at width n. Equal hidden widths: A, B, D, F,
    V do not depend on n, so they are computed at n = 64 (no small-width warning)."""
    s = ntk_fluctuations("relu", [[X]], C_b=0.0, widths=[1, 64, 64, 1], **HYPER)
    A, B, D, F, V = (float(getattr(s, k)[-1][0, 0, 0, 0]) for k in "ABDFV")
    K = float(s.K[-1][0, 0])
    return {
        "mean": float(s.ntk_mean()[0, 0]),
        "variance": (A + 2 * B) / n,
        "A": A / n,
        "B": B / n,
        "D": D / n,
        "F": F / n,
        "z2_covariance": (D + 2 * F) / n,
        "z2": K,
        "z4": 3 * K**2 + 3 * V / n,
    }


def _pulls(n: int, R: int, seed: int) -> tuple[dict, dict]:
    est = _sampled(n, R, seed)
    exact, leading = _exact(n), _leading(n)
    pull = {k: (est[k][0] - exact[k]) / est[k][1] for k in KEYS}
    reject = {k: (est[k][0] - leading[k]) / est[k][1] for k in KEYS}
    return pull, reject


@pytest.mark.parametrize("n", [2, 3, 5])
def test_exact_statistics_against_sampled_networks(n: int) -> None:
    pull, reject = _pulls(n, R=100_000, seed=20 + n)
    for key, p in pull.items():
        assert abs(p) < 4.0, (n, key, p)
    # the same samples reject the O(1/n) prediction (the 1/n² terms), and at n = 2 the mean Θ
    # (the 2⁻ⁿ term of a dead first layer)
    for key in ("variance", "A", "B", "D", "F", "z2_covariance"):
        assert abs(reject[key]) > 8.0, (n, key, reject[key])
    if n == 2:
        assert abs(reject["mean"]) > 8.0, reject["mean"]


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3, 5])
def test_exact_statistics_against_many_sampled_networks(n: int) -> None:
    pull, reject = _pulls(n, R=2_000_000, seed=40 + n)
    for key, p in pull.items():
        assert abs(p) < 4.0, (n, key, p)
    for key in ("variance", "A", "B", "D", "F", "z2_covariance", "z4"):
        assert abs(reject[key]) > 8.0, (n, key, reject[key])


def test_closed_forms_at_criticality() -> None:
    # C_W = 2, every λ = 1, x = 1 (q = 2⁻ⁿ: the first layer entirely dead)
    for n in [1, 2, 3, 4, 7, 64]:
        e, q = relu_ntk_exact(n), Fraction(1, 2**n)
        assert e.mean == 6 - q
        assert e.A == 61 + Fraction(116, n) - q * (n * q - 9 * n + 1)
        assert e.B == 40 + Fraction(50, n) - 2 * q
        assert e.D == 42 + Fraction(96, n) + 2 * n * q
        assert e.F == 24 + Fraction(52, n)
        assert e.z2 == 2
        assert e.z4 == 12 * (1 + Fraction(5, n)) ** 2
    # their n → ∞ values are the recursions' Θ = 6, A, B, D, F = 61, 40, 42, 24, K = 2, V = 40
    s = ntk_fluctuations("relu", [[1.0]], C_W=2.0, C_b=0.0, widths=[1, 64, 64, 1])
    got = [float(getattr(s, k)[-1].ravel()[0]) for k in ("Theta", "A", "B", "D", "F", "K", "V")]
    np.testing.assert_allclose(got, [6, 61, 40, 42, 24, 2, 40], rtol=1e-12)


def test_mean_ntk_has_no_one_over_n_term() -> None:
    # E Θ̂ = Θ − 2^{−n−1} C_3 λ_b2 exactly, and ntk_fluctuations gives Θ^{1} = 0
    s = ntk_fluctuations("relu", [[X]], C_b=0.0, widths=[1, 64, 64, 1], **HYPER)
    assert s.Theta1[-1][0, 0] == 0.0
    for n in [2, 5, 64, 256]:
        dead = (
            Fraction(1, 2 ** (n + 1)) * Fraction(HYPER["C_W"][2]) * Fraction(HYPER["lambda_b"][1])
        )
        exact = relu_ntk_exact(n, X, **HYPER).mean + dead
        assert abs(float(exact) - s.Theta[-1][0, 0]) < 1e-14 * abs(s.Theta[-1][0, 0])


def _residuals(n: int) -> dict[str, float]:
    """exact − O(1/n) prediction at width n (ntk_fluctuations at the same widths)."""
    e = relu_ntk_exact(n, X, **HYPER)
    s = ntk_fluctuations("relu", [[X]], C_b=0.0, widths=[1, n, n, 1], **HYPER)
    A, B, D, F, V = (float(getattr(s, k)[-1][0, 0, 0, 0]) for k in "ABDFV")
    K = float(s.K[-1][0, 0])
    return {
        "variance": float(e.variance) - (A + 2 * B) / n,
        "z2_covariance": float(e.z2_covariance) - (D + 2 * F) / n,
        "z4": float(e.z4) - 3 * K**2 - 3 * V / n,
        **{k: (float(getattr(e, k)) - t) / n for k, t in zip("ABDF", (A, B, D, F), strict=True)},
    }


RATIO_64_256 = 16.0  # docs/finite_width_training.md, "An exact nonlinear oracle"


def test_residuals_fall_like_one_over_n_squared() -> None:
    small, large = _residuals(64), _residuals(256)
    for key in small:
        ratio = small[key] / large[key]
        assert 10.0 < ratio < 25.0, (key, ratio)
        np.testing.assert_allclose(ratio, RATIO_64_256, rtol=1e-9)
    # n·(exact − leading) → the O(1/n) coefficient: n²·residual is the same at both widths
    for key in small:
        np.testing.assert_allclose(64**2 * small[key], 256**2 * large[key], rtol=1e-9)
        assert abs(64**2 * small[key]) > 1.0  # a nonzero 1/n² term, not rounding
