"""The deep-EFT experiments at tiny size, each against an independent computation.

Independent methods: scipy quadrature of the one-dimensional Gaussian integrals g(K), g'(K),
⟨σ'²⟩ (never the library's quadrature); closed forms for ReLU (V = 5(L−1)K², the exact
finite-width ∏(1 + 5/n)); the exact single-hidden-layer cumulants of
:class:`fieldnn.SingleLayerNet`; sampled ensembles within k·σ; sympy identities for the matching.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize

from fieldnn.ensembles import SingleLayerNet
from fieldnn.errors import ArgumentError
from fieldnn.experiments import eft

K_SIGMA = 4.5  # pulls allowed for sampled quantities (several are tested per run)


def _gauss(f, K: float) -> float:
    """⟨f(z)⟩ for z ~ N(0, K) by adaptive scipy quadrature."""
    s = math.sqrt(K)
    val, _ = integrate.quad(
        lambda t: f(s * t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
        -40,
        40,
        epsabs=1e-14,
        epsrel=1e-12,
        limit=200,
    )
    return val


def _g_tanh(K: float) -> float:
    return _gauss(lambda z: math.tanh(z) ** 2, K)


def _sech4(K: float) -> float:
    return _gauss(lambda z: math.cosh(z) ** -4, K)


# -- criticality ------------------------------------------------------------------------------
def test_fixed_point_solves_the_seed_equation_by_independent_quadrature() -> None:
    sol = eft.fixed_point_solution("tanh", C_b=1.0, C_W=2.0, quick=True)
    root = optimize.brentq(lambda k: 1.0 + 2.0 * _g_tanh(k) - k, 0.5, 10.0, xtol=1e-14)
    assert sol.K_star == pytest.approx(root, abs=1e-9)
    h = 1e-4
    chi_par = 2.0 * (_g_tanh(root + h) - _g_tanh(root - h)) / (2 * h)
    assert sol.chi_parallel == pytest.approx(chi_par, abs=1e-6)
    assert sol.chi_perp == pytest.approx(2.0 * _sech4(root), abs=1e-9)
    assert sol.phase == "ordered"
    for i in (1, len(sol.K) // 2, len(sol.K) - 1):
        assert sol.rhs[i] == pytest.approx(1.0 + 2.0 * _g_tanh(sol.K[i]), abs=1e-9)
    # the iterated recursion converges to the root from below and from above
    assert sol.start.min() < root < sol.start.max()
    np.testing.assert_allclose(sol.iterates[:, -1], root, atol=1e-7)


def test_phase_diagram_has_the_independent_susceptibilities() -> None:
    pd = eft.phase_diagram_experiment("tanh", C_b_range=(0.0, 0.2), C_W_range=(0.8, 1.6), grid=11)
    assert pd.chi_perp.shape == (11, 11)
    i, j = 7, 10
    cb, cw = pd.C_b[i], pd.C_W[j]
    root = optimize.brentq(lambda k: cb + cw * _g_tanh(k) - k, 1e-6, 20.0, xtol=1e-14)
    assert pd.K_star[i, j] == pytest.approx(root, abs=1e-8)
    assert pd.chi_perp[i, j] == pytest.approx(cw * _sech4(root), abs=1e-8)
    # C_b = 0: K* = 0 for C_W ≤ 1 (χ⊥ = C_W σ'(0)² = C_W), chaotic above
    np.testing.assert_allclose(pd.chi_perp[0][pd.C_W <= 1.0], pd.C_W[pd.C_W <= 1.0], atol=1e-9)
    assert np.all(pd.chi_perp[0][pd.C_W > 1.0] > 1.0)
    assert (pd.critical_C_b, pd.critical_C_W, pd.critical_K_star) == pytest.approx((0, 1, 0))
    with pytest.raises(ArgumentError, match="grid"):
        eft.phase_diagram_experiment("tanh", grid=2)


def test_critical_points_are_critical_by_independent_quadrature() -> None:
    tab = eft.critical_point_table(("tanh", "relu", "erf", "gelu"))
    got = dict(zip(tab.activations, zip(tab.C_b, tab.C_W, strict=True), strict=True))
    assert got["tanh"] == pytest.approx((0.0, 1.0))
    assert got["relu"] == pytest.approx((0.0, 2.0))
    assert got["erf"] == pytest.approx((0.0, math.pi / 4))
    np.testing.assert_allclose(tab.chi_parallel, 1.0, atol=1e-6)
    np.testing.assert_allclose(tab.chi_perp, 1.0, atol=1e-6)
    # GELU: K* = C_b + C_W g(K*) and C_W ⟨σ'²⟩ = 1 by scipy quadrature (RYH: K* ≈ 3.5616)
    i = tab.activations.index("gelu")
    cb, cw, k = tab.C_b[i], tab.C_W[i], tab.K_star[i]

    def gelu(z: float) -> float:
        return 0.5 * z * (1 + math.erf(z / math.sqrt(2)))

    def dgelu(z: float) -> float:
        return 0.5 * (1 + math.erf(z / math.sqrt(2))) + z * math.exp(-z * z / 2) / math.sqrt(
            2 * math.pi
        )

    assert cb + cw * _gauss(lambda z: gelu(z) ** 2, k) == pytest.approx(k, abs=1e-8)
    assert cw * _gauss(lambda z: dgelu(z) ** 2, k) == pytest.approx(1.0, abs=1e-7)
    assert k == pytest.approx(3.5616, abs=1e-3)
    # the default root at the same (C_b, C_W) is the nearby simple root, below K*
    assert tab.default_K_star[i] < k
    assert cb + cw * _gauss(lambda z: gelu(z) ** 2, tab.default_K_star[i]) == pytest.approx(
        tab.default_K_star[i], abs=1e-8
    )


def test_depth_asymptotics_tanh_against_an_independent_iteration() -> None:
    da = eft.depth_asymptotics_experiment("tanh", quick=True)
    assert da.a1 == pytest.approx(-2.0, abs=1e-9)  # tanh z = z − z³/3: a₁ = σ₃/σ₁ = −2
    K = 1.0
    for _ in range(len(da.depths) - 1):
        K = _g_tanh(K)
    assert da.K[-1] == pytest.approx(K, rel=1e-8)
    ratio = da.K * 2 * da.depths
    assert abs(ratio[-1] - 1) < 0.05
    assert abs(ratio[-1] - 1) < abs(ratio[9] - 1)
    # the log-corrected asymptotic form is closer than the leading one
    assert abs(da.K_log[-1] / da.K[-1] - 1) < abs(da.K_asymptotic[-1] / da.K[-1] - 1)


def test_correlation_flow_reaches_the_fixed_points() -> None:
    cf = eft.correlation_flow("tanh", quick=True)
    labels = [s[0] for s in cf.settings]
    ordered, chaotic = labels.index("ordered"), labels.index("chaotic")
    assert cf.chi_perp[ordered] < 1 < cf.chi_perp[chaotic]
    assert 1 - cf.rho[ordered, -1] < 1e-6
    (rho_star,) = cf.rho_star[chaotic]
    assert rho_star < 1
    # monotone approach to ρ* (here from below: the inputs start at ρ = 0.6)
    dist = np.abs(cf.rho[chaotic, 20:] - rho_star)
    assert np.all(np.diff(dist) < 0) and dist[-1] < 1e-3


# -- four-point vertex and the 1/n expansion ----------------------------------------------------
def test_vertex_growth_relu_closed_forms_exact_cumulants_and_sampling() -> None:
    n = 10
    r = eft.vertex_growth("relu", width=n, depths=(2, 3), n_nets=20_000, rng=3)
    L = r.depths
    np.testing.assert_allclose(r.ratio, 5 * (L - 1) / n, rtol=1e-12)
    np.testing.assert_allclose(r.exact, (1 + 5 / n) ** (L - 1) - 1, rtol=1e-12)
    # O(1/n²): the first two terms of the exact product's expansion in 1/n
    np.testing.assert_allclose(
        r.ratio_nnlo, 5 * (L - 1) / n + 25 * (L - 1) * (L - 2) / (2 * n**2), rtol=1e-12
    )
    np.testing.assert_allclose(r.K, 2.0, rtol=1e-12)  # C_W = 2 preserves K = 2 x² at x = 1
    # L = 2: the LO tensor is exact, equal to the single-hidden-layer exact cumulant
    net = SingleLayerNet("relu", width=n, sigma_w2=2.0, sigma_b2=0.0)
    np.testing.assert_allclose(r.tensor[0], net.exact_connected(r.X, 4), rtol=1e-9, atol=1e-12)
    # sampled ensembles against the exact finite-width value and the exact 2-pt function
    assert np.all(np.abs(r.sampled - r.exact) < K_SIGMA * r.stderr)
    assert np.all(np.abs(r.tensor_sampled[0] - r.tensor[0]) < K_SIGMA * r.tensor_stderr[0])
    # one hidden layer: the 2-pt function is exactly K (deeper: K + K^{1}/n + O(1/n²))
    assert np.all(np.abs(r.kernel_sampled[0] - r.kernel[0]) < K_SIGMA * r.kernel_stderr[0])
    np.testing.assert_array_equal(r.kernel_nlo[0], r.kernel[0])
    np.testing.assert_allclose(r.kernel_nnlo[0], r.kernel[0], rtol=1e-12)
    np.testing.assert_allclose(r.tensor_nnlo[0], r.tensor[0], rtol=1e-12, atol=1e-15)


def test_vertex_growth_tanh_two_point_function_to_nlo() -> None:
    r = eft.vertex_growth("tanh", width=8, depths=(4,), n_nets=40_000, rng=5)
    z_nlo = (r.kernel_sampled - r.kernel_nlo) / r.kernel_stderr
    assert np.all(np.abs(z_nlo) < K_SIGMA)
    assert np.all(np.abs(r.kernel_sampled - r.kernel_nnlo) < K_SIGMA * r.kernel_stderr)
    # the O(1/n²) 4-pt tensor against the sampled one, every component
    assert np.all(np.abs(r.tensor_sampled - r.tensor_nnlo) < K_SIGMA * r.tensor_stderr)
    # LO vertex up to its O(L/n) relative correction
    assert np.all(np.abs(r.sampled - r.ratio) < K_SIGMA * r.stderr + r.ratio * r.depths / r.width)
    assert np.all(np.isnan(r.exact))


def test_nlo_two_point_relu_vanishes_and_tanh_is_resolved() -> None:
    relu = eft.nlo_two_point("relu", C_b=0.0, C_W=2.0, depth=3, widths=(4,), n_nets=20_000)
    assert relu.G1 == 0.0  # g(K) = K/2 is linear
    assert abs(relu.sampled[0]) < K_SIGMA * relu.stderr[0]
    tanh = eft.nlo_two_point("tanh", depth=3, widths=(8,), n_nets=100_000, rng=1)
    assert tanh.G1 < 0
    assert abs(tanh.sampled[0] - tanh.G1 / 8) < K_SIGMA * tanh.stderr[0]


# -- matching, inference ------------------------------------------------------------------------
def test_quartic_matching_corrects_the_seed_by_a_factor_one_half() -> None:
    G, V, n = sp.symbols("G V n")
    mt = eft.quartic_matching((1, 2, 3))
    for m, inv, seed, diff, g4 in zip(
        mt.m, mt.inverse_gamma2, mt.seed_inverse_gamma2, mt.discrepancy, mt.gamma4, strict=True
    ):
        assert sp.simplify(inv - (G - sp.Rational(m + 2, 2) * V / (n * G))) == 0
        assert sp.simplify(seed - inv - diff) == 0
        assert sp.simplify(diff + sp.Rational(m + 2, 2) * V / (n * G)) == 0
        assert sp.simplify(g4 - V / (n * G**4)) == 0
    phi1 = sp.Symbol("phi_1")
    assert sp.simplify(mt.conditional - (G + (phi1**2 - G) * V / (2 * n * G**2))) == 0


def test_conditional_variance_two_methods_agree_with_the_nlo_formula() -> None:
    r = eft.conditional_variance("relu", width=100, n_nets=40_000, n_bins=6, rng=2)
    assert (r.G, r.V) == pytest.approx((2.0, 20.0))  # K = 2, V = 5 K² (one hidden layer)
    # binned direct samples against the formula averaged over the same samples
    assert np.all(np.abs(r.sampled - r.predicted) < K_SIGMA * r.stderr)
    # importance weighting: the shift has the predicted shape ½(φ1² − G) V/(nG²)
    wt = r.weighted
    assert np.all(
        np.abs(wt.shift - wt.predicted_shift)
        < K_SIGMA * wt.shift_stderr + 0.1 * np.abs(wt.predicted_shift)
    )
    assert np.max(np.abs(wt.shift / wt.shift_stderr)) > 10  # finite-width effect resolved


def test_ntk_empirical_mean_matches_the_forward_equation() -> None:
    r = eft.ntk_check("tanh", depth=3, widths=(128,), n_nets=200, rng=4)
    z = (r.empirical[0] - r.theta) / r.stderr[0]
    assert np.all(np.abs(z) < K_SIGMA)
    assert np.all(r.stderr[0] < 0.02 * r.theta)  # the check has teeth
    assert np.all(np.abs(r.offdiag[0]) < K_SIGMA * r.offdiag_stderr[0])


def test_replica_ensembles_approach_gradient_flow_and_representation_learning_fades() -> None:
    r = eft.replica_inference(
        widths=(8, 128), n_replicas=100, steps=40, n_hidden_samples=4000, depth=2, rng=6
    )
    assert r.mean_rms_distance[1] < r.mean_rms_distance[0]
    for h0, h1 in zip(r.hidden[:-1], r.hidden[1:], strict=True):
        assert np.abs(np.diagonal(h1.shift)).max() < np.abs(np.diagonal(h0.shift)).max()
    assert np.max(r.loss_check.relative_error) < 0.1
    assert r.flow_mean.shape == (2, 21) and r.gp_mean.shape == (21,)


def test_vertex_growth_gelu_starts_on_the_critical_fixed_point() -> None:
    r = eft.vertex_growth("gelu", width=20, depths=(3,), n_nets=20_000, rng=8)
    k_star = eft.critical_point_table(("gelu",)).K_star[0]
    assert r.C_b + r.C_W * r.X[0, 0] ** 2 == pytest.approx(k_star, rel=1e-12)
    assert r.K[0] == pytest.approx(k_star, rel=1e-7)  # a fixed point of the recursion
    assert abs(r.sampled[0] - r.ratio[0]) < K_SIGMA * r.stderr[0] + r.ratio[0] * 3 / 20


def test_vertex_growth_beyond_the_second_order_rules_keeps_the_leading_order() -> None:
    """Five inputs: multi_input_cumulants refuses them (before any sampling), the O(1/n²) fields
    are NaN and the leading-order ones are computed as before."""
    X = np.linspace(0.3, 1.0, 5)[:, None]
    r = eft.vertex_growth("tanh", width=10, depths=(3,), n_nets=1000, X=X, rng=2)
    assert np.isnan(r.ratio_nnlo).all() and np.isnan(r.tensor_nnlo).all()
    assert np.isnan(r.kernel_nnlo).all()
    assert np.isfinite(r.ratio).all() and np.isfinite(r.tensor).all()


def test_vertex_growth_gelu_to_second_order_resolves_what_leading_order_misses() -> None:
    """GELU at criticality, n = 10, L = 4 (L/n = 0.4), 10⁵ networks: the leading-order tensor
    V/n misses the sampled connected 4-pt function by more than 5σ, V/n + V^{1}/n² does not."""
    r = eft.vertex_growth("gelu", width=10, depths=(4,), n_nets=100_000, rng=7)
    assert np.max(np.abs(r.tensor_sampled - r.tensor) / r.tensor_stderr) > 5.0
    assert np.all(np.abs(r.tensor_sampled - r.tensor_nnlo) < K_SIGMA * r.tensor_stderr)
    assert np.all(np.abs(r.sampled - r.ratio_nnlo) < K_SIGMA * r.stderr)


def test_relu_exact_excess_over_leading_order() -> None:
    """ReLU, one input, widths [1, 40, 40, 40, 1], C_W = 2, C_b = 0: the exact connected
    E[z⁴] − 3K² (product of independent chi-square factors) is 3K²[(1 + 5/40)³ − 1], 13.0 %
    above the leading order 3V/n (V from the recursion); the O(1/n) part of the excess, 5/n,
    is 12.5 % (the numbers quoted in docs/eft.md)."""
    from fieldnn.ensembles import MLP
    from fieldnn.kernels.deep import exact_single_input_moment

    widths = [1, 40, 40, 40, 1]
    mlp = MLP("relu", widths, C_W=2.0, C_b=0.0)
    K = float(mlp.kernel([[1.0]])[0, 0])
    V = float(np.asarray(mlp.four_point_vertex([[1.0]])).ravel()[0])
    c4 = exact_single_input_moment([1.0], widths, C_W=2.0) - 3 * K**2
    assert c4 == pytest.approx(3 * K**2 * ((1 + 5 / 40) ** 3 - 1), rel=1e-12)
    excess = c4 / (3 * V / 40) - 1
    assert f"{100 * excess:.1f}" == "13.0"
    assert f"{100 * 5 / 40:.1f}" == "12.5"


@pytest.mark.parametrize(
    ("name", "kwargs", "argument"),
    [
        ("conditional_variance", {"n_bins": 0}, "n_bins"),
        ("ntk_check", {"X": [[1.0], [1.0, 2.0]], "quick": True}, "X"),
        ("replica_inference", {"widths": (8, -1), "quick": True}, "widths"),
        ("nlo_two_point", {"widths": (8, 0), "quick": True}, "widths"),
        ("nlo_two_point", {"x": [[1.0, 2.0]], "quick": True}, "x"),
        ("critical_point_table", {"activations": ("tanh", "nope")}, "activation"),
        ("correlation_flow", {"settings": (("a", 0.0),), "quick": True}, "settings"),
        ("correlation_flow", {"settings": (("a", 0.0, -1.0),), "quick": True}, "settings"),
        ("phase_diagram_experiment", {"C_W_range": (0.5, -1.0), "quick": True}, "C_W_range"),
        ("phase_diagram_experiment", {"C_b_range": (0.5, 0.1), "quick": True}, "C_b_range"),
    ],
)
def test_eft_experiments_validate_before_any_work(monkeypatch, name, kwargs, argument) -> None:
    """Arguments that used to fail late (after sampling or root finding) or as raw numpy/Python
    errors are refused first, naming the argument (the samplers and the root finder are
    replaced by functions that fail the test if reached)."""
    from fieldnn.errors import FieldnnError
    from fieldnn.experiments import _eft_criticality, _eft_inference, _eft_vertex

    def boom(*args, **kw):  # pragma: no cover - reached only if validation came too late
        raise AssertionError("work started before the arguments were validated")

    monkeypatch.setattr(_eft_inference, "sample_outputs", boom)
    monkeypatch.setattr(_eft_inference, "train_replicas", boom)
    monkeypatch.setattr(_eft_vertex, "estimate_correlators", boom)
    monkeypatch.setattr(_eft_criticality, "critical_point", boom)
    monkeypatch.setattr(_eft_criticality, "kernel_recursion", boom)
    with pytest.raises(FieldnnError) as info:
        getattr(eft, name)(**kwargs)
    assert info.value.argument == argument
