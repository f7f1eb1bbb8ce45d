"""The scatter of the kink term of a deep relu-type net at its training input
(``KinkedNTKChange.scatter``; docs/finite_width_training.md, "The covariance, and the scatter of
the kink term"): the degree-5 arrival moment against sampled velocities and adaptive quadrature,
its cases summed to the first power against the mean drift of the driving kernel (the flux
moments), the per-unit model's mean against the closed-form output shift, and one hidden layer
against the stopping units of the one-layer derivation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

import fieldnn as fnn
from fieldnn.inference._deep_kink import (
    _flux_moments,
    _lag_squares,
    _scatter_moment,
    arrival_changes,
)
from fieldnn.inference._kink_common import folded_moments
from fieldnn.kernels.activations import leaky_relu

X, Y, C_W, C_B, T = 1.0, 2.0, 2.0, 0.1, 0.5


def _arrivals(A: np.ndarray, B: np.ndarray, s_minus: float) -> tuple[np.ndarray, ...]:
    """(|V| above, c above, V below, c below), s₊ = 1, written out from the cases: a crossing
    unit flips σ' (c = ∓Δ); a sliding unit's own term g σ'(Aσ' + B)/Θ stops and the others'
    AB σ'/Θ take the chatter average σ̄ = f s₊ + (1 − f)s₋, f = V₋/(V₋ − V₊)."""
    v_plus, v_minus = -(A + B), -(s_minus * A + B)
    slide = (v_plus < 0) & (v_minus > 0)
    f = np.where(slide, v_minus / np.where(slide, v_minus - v_plus, 1.0), 0.0)
    mean_slope = f + (1 - f) * s_minus
    delta = (1 - s_minus**2) * A * A + 2 * (1 - s_minus) * A * B

    def own(s: float) -> np.ndarray:  # the unit's share of the driving kernel at slope s
        return s * s * A * A + 2 * s * A * B

    c_above = np.where(slide, A * B * mean_slope - own(1.0), -delta)
    c_below = np.where(slide, A * B * mean_slope - own(s_minus), delta)
    return np.maximum(-v_plus, 0), c_above, np.maximum(v_minus, 0), c_below


@pytest.mark.parametrize("ratio", [0.3, 1.5])
@pytest.mark.parametrize("s_minus", [0.0, 0.2, -0.5])
def test_scatter_moment_against_sampled_velocities(ratio: float, s_minus: float) -> None:
    """E[Σ_cases |V| c²] by the angular quadrature against 2·10⁶ sampled (A, B) within 4
    standard errors, and :func:`arrival_changes` (σ̄ as the polynomial s₋ + V₋/A) equal to the
    cases written out with the rational f."""
    rng = np.random.default_rng(5)
    A, B = rng.normal(0.0, 1.3, 2_000_000), rng.normal(0.0, 1.3 * ratio, 2_000_000)
    w_a, c_a, w_b, c_b = _arrivals(A, B, s_minus)
    for mine, written in zip(arrival_changes(A, B, s_minus, 1.0), (w_a, c_a, w_b, c_b),
                             strict=True):  # fmt: skip
        np.testing.assert_allclose(mine, written, rtol=1e-9, atol=1e-9)
    values = w_a * c_a**2 + w_b * c_b**2
    moment = _scatter_moment(1.3, 1.3 * ratio, s_minus, 1.0)
    assert abs(values.mean() - moment) < 4 * values.std() / math.sqrt(values.size)


@pytest.mark.parametrize("s_minus", [0.0, 0.2, -0.5])
def test_arrival_moments_to_rounding(s_minus: float) -> None:
    """Degree 5 (the scatter) and degree 3 (Σ|V|c, the same cases to the first power) by
    adaptive quadrature over the angle, breakpoints at the kinks: the fixed rule to 1e-10; and
    Σ|V|c is the mean drift of the driving kernel, (s₊² − s₋²)E[A²M] + 2(s₊ − s₋)E[ABM] +
    (s₊ − s₋)E[AV₊V₋1{slide}], from the independently derived flux moments."""
    sd_A, sd_B = 1.3, 0.9
    kinks = [(math.atan2(-s * sd_A, sd_B) + m * math.pi) % (2 * math.pi)
             for s in (s_minus, 1.0) for m in (0, 1)]  # fmt: skip

    def moment(power: int) -> float:
        def angular(phi: float) -> float:
            A, B = np.array([sd_A * math.cos(phi)]), np.array([sd_B * math.sin(phi)])
            w_a, c_a, w_b, c_b = _arrivals(A, B, s_minus)
            return float((w_a * c_a**power + w_b * c_b**power)[0])

        total = integrate.quad(
            angular, 0.0, 2 * math.pi, epsabs=0.0, epsrel=1e-12, limit=400, points=kinks
        )[0]
        radial = {1: 3.0, 2: 15.0}[power] * math.sqrt(math.pi / 2.0)  # E r³, E r⁵
        return radial * total / (2.0 * math.pi)

    assert _scatter_moment(sd_A, sd_B, s_minus, 1.0) == pytest.approx(moment(2), rel=1e-10)
    m = _flux_moments(sd_A, sd_B, s_minus, 1.0)
    drift = (1 - s_minus**2) * m.aa + 2 * (1 - s_minus) * m.ab + (1 - s_minus) * m.slide
    assert moment(1) == pytest.approx(drift, rel=1e-10)


def test_lag_squares() -> None:
    """e^{−2Θt}∫₀ᵗ e^{−Θs}(t − s)²ds: the closed form at Θt = O(1), t³/3 as Θt → 0, 0 at
    t = ∞."""
    for theta, t in ((6.15, 0.5), (1.0, 3.0)):
        closed = t * t / theta - 2 * t / theta**2 + 2 * (1 - math.exp(-theta * t)) / theta**3
        assert _lag_squares(theta, t) == pytest.approx(math.exp(-2 * theta * t) * closed, 1e-12)
    assert _lag_squares(1e-9, 1e-3) == pytest.approx(1e-9 / 3, rel=1e-6)
    assert _lag_squares(2.0, math.inf) == 0.0


@pytest.mark.parametrize("act", ["relu", leaky_relu(0.2)], ids=["relu", "leaky"])
def test_per_unit_mean_is_the_closed_form_shift(act: object) -> None:
    """The units of the scatter, counted to the first power, give the mean: each arrival at t*
    moves z(x, T) by −ε₀ c/(Θ_ℓn_ℓ) (T − t*)e^{−ΘT}, so √n E δz(x) = −Σ_ℓ p_ℓ(0)/Θ_ℓ E[Σ|V|c]
    E[|ε₀|ε₀] e^{−ΘT}∫₀^T e^{−Θt}(T − t)dt, against kinked_training_shift's closed form (gradient
    flow, relu [1, 64, 64, 1]) to 1e-9; the time weight of the variance is the same integrand
    squared."""
    mlp = fnn.MLP(act, [1, 64, 64, 1], C_W=C_W, C_b=C_B)
    drift = fnn.kinked_ntk_change(mlp, [[X]], [Y], t=T)
    theta, K = float(mlp.ntk([[X]])[0, 0]), float(mlp.kernel([[X]])[0, 0])
    e_abs, e_abs_e, _ = folded_moments(-Y, K)
    g = -math.expm1(-theta * T) / theta
    lag = math.exp(-theta * T) * integrate.quad(lambda s: math.exp(-theta * s) * (T - s), 0, T)[0]
    # drift.coefficients (at x) + sliding are E|ε₀| g · p_ℓ(0)/Θ_ℓ · E[Σ|V|c] per layer
    per_unit = (drift.coefficients[:, 0] + drift.sliding) / (e_abs * g)
    mean = -per_unit.sum() * e_abs_e * lag
    closed = fnn.kinked_training_shift(mlp, [[X]], [Y], [[X]], t=T).mean_shift[0] * 8
    assert mean == pytest.approx(closed, rel=1e-9)


def test_one_hidden_layer_is_the_stopping_units() -> None:
    """[1, n, 1]: the scatter at x is the one-layer derivation's stopping units (each removing
    v²H from Θ̂(x, x) from its stopping time on; tests/inference/test_relu_training_drift.py),
    the same n^{3/2}-scaled at every width; t = ∞ gives 0 (z(x) = y in every network)."""
    from .test_relu_training_drift import T_OUT, _scatter_coefficients

    stopping = _scatter_coefficients(np.array([-1.0]))[0][0]
    for n in (64, 1024):
        one = fnn.MLP("relu", [1, n, 1], C_W=C_W, C_b=C_B)
        r = fnn.kinked_ntk_change(one, [[X]], [Y], t=T_OUT)
        K = float(one.kernel([[X]])[0, 0])  # the output's: ε₀ ~ N(−y, K)
        assert r.scatter[0] / folded_moments(-Y, K)[2] == pytest.approx(stopping, rel=1e-6)
    assert fnn.kinked_ntk_change(one, [[X]], [Y]).scatter[0] == 0.0
