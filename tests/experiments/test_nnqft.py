"""The NN-QFT experiments at small size against exact values computed independently."""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.experiments import _nnqft_correlators, _nnqft_rg, nnqft, published_setup
from fieldnn.experiments.couplings import _gp_moment, measure_kappa, multisets
from fieldnn.symbolic.rg import beta_functions


def test_falloff_exact_curves_match_exact_full_and_slopes() -> None:
    widths = (2, 10, 100, 1000)
    r = nnqft.falloff(
        "relu", widths=widths, sampled_widths=(2,), n_experiments=2, n_nets=4000, fit_min_width=2
    )
    assert r.slopes_exact[4] == pytest.approx(-1.0, abs=1e-9)
    assert r.slope_connected6_exact == pytest.approx(-2.0, abs=1e-9)
    assert -1.2 < r.slopes_exact[6] < -0.99
    assert np.all(r.exact[2] == 0)
    # independent: exact_full at width 10 directly
    st = published_setup("relu")
    net = st.net(10)
    K = net.kernel(st.X)
    for n in (4, 6):
        t = multisets(len(st.X), n)
        gp = np.array([_gp_moment(K, x) for x in t])
        direct = np.mean(np.abs((net.exact_full(st.X, n)[tuple(t.T)] - gp) / gp))
        assert r.exact[n][1] == pytest.approx(direct, rel=1e-10)
    # sampled with error bars: pooled m_4 at N = 2 is within a few standard errors + bias
    assert r.sampled[4][0] == pytest.approx(r.exact[4][0], abs=5 * r.background[4][0])
    assert r.background[4][0] == pytest.approx(np.sqrt(2) * r.stderr[4][0])


def test_six_point_width_and_ratio_against_direct_exact() -> None:
    r = nnqft.six_point_check("relu", widths=(10, 58, 59), sampled_widths=(10,), n_nets=4000)
    assert r.scaling_check < 1e-10
    st = published_setup("relu")
    k10 = measure_kappa(st.net(10), st.X, cutoff=10.0)
    assert r.ratio_mean[0] == pytest.approx(np.mean(k10.ratio), rel=1e-10)
    assert r.kappa_mean[0] == pytest.approx(k10.mean, rel=1e-8)
    # the 1 % width lies between 58 and 59: check with the direct exact correlators
    devs = [np.max(np.abs(measure_kappa(st.net(N), st.X, cutoff=10.0).ratio - 1)) for N in (58, 59)]
    assert devs[0] > 0.01 > devs[1]
    assert 58 < r.width_1pct_max < 59
    assert abs(r.sampled_ratio_mean[0] - r.ratio_mean[0]) < 5 * r.sampled_ratio_stderr[0] + 0.05


@pytest.mark.parametrize(
    ("act", "legs", "tol"),
    [("relu", "full", 1e-6), ("gauss", "full", 0.02), ("gauss", "subtract_bias", 1e-3)],
)
def test_rg_slopes_match_symbolic_beta(act: str, legs: str, tol: float) -> None:
    r = nnqft.rg_flow(act, d_in=1, legs=legs, quick=True)
    sym = float(
        beta_functions(
            act, d_in=1, legs=legs, sigma_b2=0 if act == "relu" else 1, couplings=("lambda",)
        ).slope("lambda")
    )
    assert r.symbolic_slope == sym
    assert r.fitted_slope == pytest.approx(sym, abs=tol)
    # the measured slope is the slope of the integral: identical numbers
    assert r.fitted_slope == pytest.approx(r.integral_slope, abs=1e-9)


def test_gauss_fixed_points_closed_form() -> None:
    r = nnqft.rg_flow("gauss", d_in=1, legs="full", quick=True)
    st = published_setup("gauss")
    net = st.net(r.width)
    t = multisets(len(st.X), 4)
    K = net.kernel(st.X)
    num = np.array([_gp_moment(K, x) for x in t]) - net.exact_full(st.X, 4)[tuple(t.T)]
    # UV: every leg → σ_b² = 1, ∫ over [−Λ, Λ] → 2Λ; IR: legs → K(x_a, 0)
    assert r.c_star_uv == pytest.approx(np.mean(num / (24 * 2.0)), rel=1e-6)
    k0 = net.kernel(st.X, np.zeros((1, 1)))[:, 0]
    assert r.c_star_ir == pytest.approx(np.mean(num / (48 * np.prod(k0[t], axis=1))), rel=1e-9)
    # at Λ = 10⁴: I = 2Λ + ∫[Π(1 + e^{−(x−y)²/2}) − 1] ≈ 2Λ + 27.7, so c_λ/c* ≈ 1 − 1.4·10⁻³
    assert r.c_lambda[-1] / r.c_star_uv == pytest.approx(1 - 27.7 / 2e4, abs=1e-4)
    assert r.c_lambda[0] == pytest.approx(r.c_star_ir, rel=1e-3)


def test_so_dout_structure_and_engine_coefficients() -> None:
    r = nnqft.so_dout("erf", d_outs=(1, 2, 3), n_nets=4000, quick=True)
    assert np.nanmax(r.tensor_residual) < 1e-12
    assert np.allclose(r.lambda_tree, r.lambda_tree[0], rtol=1e-10)
    assert r.tree_coefficient == -24.0
    assert np.allclose(r.loop_coefficient, 32 * (np.array([1, 2, 3]) + 8))
    # O(λ²) root: small relative shift, monotone in d_out
    assert np.all(np.abs(r.relative_shift) < 0.2)
    assert np.all(np.diff(r.relative_shift) < 0)
    # perturbative: one loop ~5 % of the tree, and the shift is of the size of that ratio
    assert np.all(r.perturbative) and np.all(r.loop_tree_ratio < 0.1)
    assert np.all(np.abs(r.relative_shift) <= r.loop_tree_ratio)
    assert r.kappa_tadpole_ratio < 1e-2 and "perturbative for every" in r.verdict
    # the numbers quoted in docs/nnqft.md
    assert [f"{x:.3f}" for x in r.loop_tree_ratio[[0, -1]]] == ["0.044", "0.054"]
    assert f"{r.kappa_tadpole_ratio:.1e}" == "1.3e-04"


def test_so_dout_flags_the_non_perturbative_gauss_net() -> None:
    """Gauss-net N = 10, Λ = 10: the one-loop term is 11–22× the tree and λ₂ is shifted by
    −74 % to −81 %: flagged, with the κ tadpole of the same 1/N order also far above the tree."""
    r = nnqft.so_dout("gauss", d_outs=(1, 2, 3, 10), width=10, cutoff=10.0, n_nets=4000, quick=True)
    assert not np.any(r.perturbative)
    assert np.all(r.loop_tree_ratio > 10)
    assert r.relative_shift[0] == pytest.approx(-0.74, abs=0.01)
    assert r.kappa_tadpole_ratio > 10
    assert "NOT perturbative for d_out = [1, 2, 3, 10]" in r.verdict
    # the numbers quoted in docs/nnqft.md
    assert [f"{x:.1f}" for x in r.loop_tree_ratio] == ["10.8", "12.0", "13.2", "21.6"]
    assert [f"{x:.2f}" for x in r.relative_shift[[0, -1]]] == ["-0.74", "-0.81"]
    assert f"{r.kappa_tadpole_ratio:.0f}" == "47"


@pytest.mark.slow
def test_beyond_runs_and_slopes_agree() -> None:
    r = nnqft.beyond(("leaky_relu",), quick=True, n_nets=10_000)
    for row in r.rows:
        assert row["measured_slope"] == pytest.approx(row["symbolic_slope"], abs=0.1)


def test_rg_flow_for_a_registry_activation_derives_beta_from_the_leg_power() -> None:
    """sin has no closed-form symbolic kernel: β comes from the measured leg power (p = 0, so
    β_λ = −d_in λ), derived before the Λ scan; the measured slope agrees."""
    r = nnqft.rg_flow("sin", X=[[0.5], [1.0], [-0.3]], quick=True)
    assert r.symbolic_slope == -1.0
    assert r.fitted_slope == pytest.approx(-1.0, abs=0.02)


@pytest.mark.parametrize(
    ("function", "kwargs", "argument"),
    [
        (nnqft.rg_flow, {"activation": "nope", "X": [[0.5]]}, "activation"),
        (nnqft.rg_flow, {"legs": "half"}, "legs"),
        (nnqft.rg_flow, {"cutoffs": [10.0, 100.0, -1.0]}, "cutoff"),
        (nnqft.rg_flow, {"cutoffs": [10.0, 20.0], "fit_from": 50.0}, "fit_from"),
        (nnqft.lambda_survey, {"activations": ("erf", "nope")}, "activation"),
        (nnqft.lambda_survey, {"d_ins": (1, 7)}, "d_in"),
        (nnqft.lambda_survey, {"legs": ("full", "half")}, "legs"),
        (nnqft.so_dout, {"d_outs": (1, 0)}, "d_outs"),
        (nnqft.so_dout, {"legs": "half"}, "legs"),
        (nnqft.six_point_check, {"widths": (10, 2.5)}, "width"),
        (nnqft.six_point_check, {"cutoff": float("nan")}, "cutoff"),
        (nnqft.falloff, {"sampled_widths": (10, 0)}, "width"),
        (nnqft.falloff, {"X": [[1.0], [1.0, 2.0]]}, "X"),
        (nnqft.beyond, {"activations": ("sin", "bogus")}, "activation"),
    ],
)
def test_experiments_validate_before_any_work(monkeypatch, function, kwargs, argument) -> None:
    """Every argument that would fail deep in a loop is refused before the first measurement
    (measure_lambda and the sampler are replaced by functions that fail the test)."""
    from fieldnn.errors import FieldnnError

    def boom(*args, **kw):  # pragma: no cover - reached only if validation came too late
        raise AssertionError("work started before the arguments were validated")

    for module in (_nnqft_correlators, _nnqft_rg):
        monkeypatch.setattr(module, "measure_lambda", boom)
        monkeypatch.setattr(module, "_estimate", boom)
    with pytest.raises(FieldnnError) as info:
        function(**kwargs)
    assert info.value.argument == argument


def test_long_experiments_keep_partial_results_on_failure(monkeypatch) -> None:
    """A failure (or Ctrl-C) in the third job of a λ survey keeps the rows of the first two on
    the exception (``partial_result``), with a note saying so."""
    real, calls = _nnqft_correlators._estimate, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_nnqft_correlators, "_estimate", flaky)
    with pytest.raises(KeyboardInterrupt) as info:
        nnqft.lambda_survey(
            ("erf", "relu", "gauss"), (1,), legs=("full",), n_nets=2_000, sampled_d_ins=(1,)
        )
    partial = info.value.partial_result
    assert {k.split("/")[0] for k in partial.values} == {"erf", "relu"}
    assert any("partial_result" in note for note in info.value.__notes__)


def test_rg_flow_keeps_partial_results(monkeypatch) -> None:
    """An interruption at the third cutoff of rg_flow keeps the first two λ̄ values."""
    real, calls = _nnqft_rg.measure_lambda, []

    def flaky(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(_nnqft_rg, "measure_lambda", flaky)
    with pytest.raises(KeyboardInterrupt) as info:
        nnqft.rg_flow("erf", cutoffs=(1.0, 2.0, 4.0, 8.0), fit_from=1.0)
    assert len(info.value.partial_result["lambda_mean"]) == 2
    assert any("partial_result" in note for note in info.value.__notes__)
