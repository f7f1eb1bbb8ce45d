"""Exact single-input output law of deep bias-free relu / leaky relu / linear MLPs, held against
independent methods: the Bessel (variance-gamma) closed forms of one hidden layer, the single-layer
exact density, the exact moments, and sampled networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gammaln, kv

import fieldnn as fnn
from fieldnn import errors
from fieldnn.effective._eft_density import action_differences
from fieldnn.kernels.deep import exact_single_input_moment

X1 = np.array([[0.8]])
F = np.array([-3.0, -0.7, 1e-6, 1e-3, 0.05, 0.4, 1.0, 2.5, 6.0])


def _variance_gamma(f: np.ndarray, lam: float, a: float) -> np.ndarray:
    """Density of √(aY) u, Y ~ χ²_{2λ}, u ~ N(0, 1) (a Gaussian with Gamma(λ, 2a) variance):
    α^{2λ}|f|^{λ−½} K_{λ−½}(α|f|)/(√π Γ(λ)(2α)^{λ−½}), α = 1/√a."""
    alpha = 1.0 / math.sqrt(a)
    x = np.abs(f)
    log_c = 2 * lam * math.log(alpha) - 0.5 * math.log(math.pi) - gammaln(lam)
    log_c -= (lam - 0.5) * math.log(2 * alpha)
    return np.exp(log_c + (lam - 0.5) * np.log(x)) * kv(lam - 0.5, alpha * x)


def _one_layer_oracle(act: str, N: int, cw: tuple[float, float], x2: float, f: np.ndarray):
    """[d_in, N, 1] at C_b = 0: Ĝ = K1 (C_W2/N) Y with Y ~ χ²_B, B ~ Bin(N, ½) (relu) or B = N."""
    K1 = cw[0] * x2
    a = K1 * cw[1] / N
    if act == "linear":
        return _variance_gamma(f, N / 2, a)
    out = np.zeros_like(f)
    for B in range(1, N + 1):
        w = math.exp(gammaln(N + 1) - gammaln(B + 1) - gammaln(N - B + 1) - N * math.log(2))
        out += w * _variance_gamma(f, B / 2, a)
    return out


@pytest.mark.parametrize(
    ("act", "N"),
    [("linear", 1), ("linear", 2), ("linear", 5), ("relu", 1), ("relu", 3), ("relu", 12)],
)
def test_one_hidden_layer_equals_variance_gamma_closed_form(act, N):
    cw = (1.3, 2.1)
    mlp = fnn.MLP(act, widths=[1, N, 1], C_W=list(cw))
    d = fnn.exact_deep_density(mlp, X1, F)
    ref = _one_layer_oracle(act, N, cw, 0.64, F)
    np.testing.assert_allclose(d.density, ref, rtol=1e-11, atol=0)
    np.testing.assert_allclose(d.log_density, np.log(ref), rtol=0, atol=1e-11)
    assert d.atom == pytest.approx(2.0**-N if act == "relu" else 0.0, rel=1e-14, abs=0)


def test_deep_linear_one_hidden_unit_is_bessel_k0():
    """Product of two Gaussians: p(f) = K_0(|f|/s)/(π s), s² = K1 C_W2 (d_in = 3, n_1 = 1)."""
    x = np.array([[0.3, -1.2, 0.5]])
    mlp = fnn.MLP("linear", widths=[3, 1, 1], C_W=[1.7, 0.6])
    s = math.sqrt(1.7 * float(np.sum(x * x)) / 3 * 0.6)
    f = np.array([1e-8, 1e-4, 0.01, 0.3, 1.0, 2.0, 5.0, 12.0])
    d = fnn.exact_deep_density(mlp, x, f)
    np.testing.assert_allclose(d.density, kv(0, f / s) / (math.pi * s), rtol=1e-12, atol=0)
    assert d.density[0] > 0 and fnn.exact_deep_density(mlp, x, [0.0]).density[0] == math.inf


def test_agrees_with_single_layer_exact_density_for_linear():
    """The characteristic-function path of SingleLayerNet (σ_b² = 0, σ_W² in both layers)."""
    for N in (6, 20):
        net = fnn.SingleLayerNet("linear", width=N, sigma_w2=1.7, sigma_b2=0.0)
        mlp = fnn.MLP("linear", widths=[1, N, 1], C_W=1.7)
        f = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 3.5])
        p = fnn.exact_deep_density(mlp, X1, f).density
        np.testing.assert_allclose(p, net.exact_density(X1, f), rtol=1e-10, atol=0)


@pytest.mark.parametrize(("slope", "N"), [(0.1, 6), (0.01, 12), (-0.3, 7), (2.0, 6)])
def test_leaky_relu_one_hidden_layer_equals_single_layer_exact_density(slope, N):
    """Leaky relu (Beta-mixture layer factor) against the characteristic-function path."""
    act = fnn.kernels.leaky_relu(slope)
    net = fnn.SingleLayerNet(act, width=N, sigma_w2=1.7, sigma_b2=0.0)
    mlp = fnn.MLP(act, widths=[1, N, 1], C_W=1.7)
    f = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 3.5])
    d = fnn.exact_deep_density(mlp, X1, f)
    np.testing.assert_allclose(d.density, net.exact_density(X1, f), rtol=1e-10, atol=0)
    assert d.atom == 0.0


@pytest.mark.parametrize(("act", "N"), [("linear", 20000), ("leaky", 1000)])
def test_wide_layer_equals_single_layer_exact_density(act, N):
    """Wide layers: the binomial and Beta constants are renormalised and the rounding floor
    follows log Γ(n/2); measured 1.0e-11 (linear, n = 2·10⁴) and 3.0e-13 (leaky, n = 1000)."""
    act = fnn.kernels.leaky_relu(0.1) if act == "leaky" else act
    x = np.array([[0.7]])
    net = fnn.SingleLayerNet(act, width=N, sigma_w2=2.0, sigma_b2=0.0)
    mlp = fnn.MLP(act, widths=[1, N, 1], C_W=2.0)
    f = np.linspace(0.0, 4.0, 9) * math.sqrt(float(mlp.kernel(x)[0, 0]))
    p = fnn.exact_deep_density(mlp, x, f).density
    np.testing.assert_allclose(p, net.exact_density(x, f), rtol=1e-10, atol=0)


def _moments(mlp, x, ks, *, h=0.1, v_lo=-50.0):
    """∫ f^{2k} p df = 2∫ e^{(2k+1)v} p(e^v) dv by the trapezoid rule in v = log f (the
    integrand is analytic and decays exponentially on both sides)."""
    K = float(mlp.kernel(x)[0, 0])
    v = np.arange(v_lo, 0.5 * math.log(K) + 10.0, h)
    d = fnn.exact_deep_density(mlp, x, np.exp(v))
    return [2 * h * float(np.sum(np.exp((2 * k + 1) * v) * d.density)) for k in ks], d.atom


MOMENT_CASES = [
    ("relu", [1, 3, 1], 2.0),
    ("relu", [2, 4, 7, 1], [1.5, 2.0, 2.5]),
    ("linear", [1, 2, 5, 3, 1], [1.0, 0.8, 1.2, 1.1]),
    ("relu", [2, 4, 7, 3, 6, 1], [1.5, 2.0, 2.5, 2.0, 1.0]),
]


@pytest.mark.parametrize(("act", "widths", "cw"), MOMENT_CASES[:2])
def test_moments_equal_exact_single_input_moments(act, widths, cw):
    _check_moments(act, widths, cw)


@pytest.mark.slow
@pytest.mark.parametrize(("act", "widths", "cw"), MOMENT_CASES[2:])
def test_moments_equal_exact_single_input_moments_deeper(act, widths, cw):
    _check_moments(act, widths, cw)


LEAKY_MOMENT_CASES = [
    (0.01, [2, 4, 7, 1], [1.5, 2.0, 2.5]),
    (0.2, [2, 4, 7, 3, 6, 1], [1.5, 2.0, 2.5, 2.0, 1.0]),
    (0.1, [1, 1, 2, 1], 1.0),
]


@pytest.mark.slow
def test_leaky_moments_equal_exact_single_input_moments():
    """p(0) is finite here (every width ≥ 2): h = 0.15 from v = −36 is exact to ~1e-14."""
    _check_moments(fnn.kernels.leaky_relu(0.3), [1, 2, 3, 1], [1.0, 2.0, 1.5], h=0.15, v_lo=-36.0)


@pytest.mark.slow
@pytest.mark.parametrize(("slope", "widths", "cw"), LEAKY_MOMENT_CASES)
def test_leaky_moments_equal_exact_single_input_moments_deeper(slope, widths, cw):
    _check_moments(fnn.kernels.leaky_relu(slope), widths, cw)


def _check_moments(act, widths, cw, **grid):
    x = np.array([[0.7, -0.4][: widths[0]]])
    mlp = fnn.MLP(act, widths=widths, C_W=cw)
    got, atom = _moments(mlp, x, range(4), **grid)
    got[0] += atom
    want = [
        exact_single_input_moment(x[0], widths, C_W=cw, order=2 * k, activation=act)
        for k in range(4)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=0)
    if mlp.activation.name == "relu":
        survive = math.prod(1 - 2.0**-n for n in widths[1:-1])
        assert atom == pytest.approx(1 - survive, rel=1e-14)


def test_far_tails_and_near_zero_keep_relative_accuracy():
    """The tilt follows f: the log-density is accurate where p underflows (checked against the
    Bessel form in logs, from |f| = 1e-30 to 60 standard deviations)."""
    mlp = fnn.MLP("linear", widths=[1, 3, 1], C_W=[1.0, 3.0])
    f = np.array([1e-30, 1e-12, 20.0, 60.0])
    d = fnn.exact_deep_density(mlp, [[1.0]], f)
    lam, a, alpha = 1.5, 1.0, 1.0
    ref = (
        2 * lam * math.log(alpha)
        - 0.5 * math.log(math.pi)
        - gammaln(lam)
        - (lam - 0.5) * math.log(2 * alpha)
        + (lam - 0.5) * np.log(f)
        + np.log(kv(lam - 0.5, alpha * f / math.sqrt(a)))
    )
    np.testing.assert_allclose(d.log_density, ref, rtol=1e-12, atol=0)


def _bin_probabilities(mlp, x, edges):
    """P(|z| ∈ [e_i, e_{i+1}]) for edges 0 < e_1 < … (last bin to ∞): 2∫ e^v p(e^v) dv by
    20-point Gauss–Legendre per bin in v; the first bin [0, e_1] from the total."""
    nodes, weights = np.polynomial.legendre.leggauss(20)
    lo = np.log(edges[1:-1])
    hi = np.append(np.log(edges[2:-1]), np.log(edges[-2]) + 6.0)
    v = 0.5 * (hi - lo)[:, None] * nodes + 0.5 * (hi + lo)[:, None]
    d = fnn.exact_deep_density(mlp, x, np.exp(v.ravel()))
    integrand = (np.exp(v.ravel()) * d.density).reshape(v.shape)
    rest = 2 * np.sum(0.5 * (hi - lo)[:, None] * weights * integrand, axis=1)
    return np.concatenate([[1 - d.atom - rest.sum()], rest]), d.atom


def _sampled_check(widths, n_nets, rng, act="relu"):
    x = np.array([[1.0]])
    mlp = fnn.MLP(act, widths=widths, C_W=2.0)
    z = np.asarray(fnn.sample_outputs(mlp, x, n_nets, rng=rng))[:, 0, 0]
    zeros = int(np.sum(z == 0.0))
    a = np.abs(z[z != 0.0])
    edges = np.concatenate([[0.0], np.quantile(a, np.linspace(0, 1, 41)[1:-1]), [np.inf]])
    prob, atom = _bin_probabilities(mlp, x, edges)
    counts = np.histogram(a, bins=edges)[0]
    expected = n_nets * prob
    pulls = (counts - expected) / np.sqrt(expected)
    dof = len(counts)
    assert abs(np.sum(pulls**2) - dof) < 4 * math.sqrt(2 * dof)
    assert np.max(np.abs(pulls)) < 4
    if atom == 0.0:
        assert zeros == 0
    else:
        assert abs(zeros - n_nets * atom) < 4 * math.sqrt(n_nets * atom * (1 - atom))
    # the sign is symmetric
    pos = int(np.sum(z > 0))
    assert abs(pos - a.size / 2) < 4 * math.sqrt(a.size / 4)


def test_sampled_relu_nets_small():
    _sampled_check([1, 4, 4, 1], 100_000, 11)


@pytest.mark.slow
def test_sampled_relu_nets():
    """10⁶ networks [1, 4, 4, 1] (atom 1 − (15/16)² = 0.1211) and [1, 3, 5, 2, 1]."""
    _sampled_check([1, 4, 4, 1], 1_000_000, 12)
    _sampled_check([1, 3, 5, 2, 1], 1_000_000, 13)


@pytest.mark.slow
def test_sampled_leaky_relu_nets():
    """10⁶ networks [1, 4, 4, 1], leaky relu slope 0.1: no atom (no sampled output is 0)."""
    _sampled_check([1, 4, 4, 1], 1_000_000, 14, act=fnn.kernels.leaky_relu(0.1))


def _action_errors(L: int, n: int) -> np.ndarray:
    """ε_k = max_f |[log p(f) − log p(f₀)] + [S_k(f) − S_k(f₀)]|, f/√K ∈ {0.5, …, 2}, f₀ = √K/4
    (p(0) = ∞ for relu: the reference is moved off 0)."""
    X = np.array([[1.0]])
    mlp = fnn.MLP("relu", widths=[1] + [n] * (L - 1) + [1], C_W=2.0)
    f = np.linspace(0.25, 2.0, 8) * math.sqrt(float(mlp.kernel(X)[0, 0]))
    lp = fnn.exact_deep_density(mlp, X, f).log_density
    dS = action_differences(mlp, X, f)
    return np.max(np.abs((lp[1:] - lp[0])[None, :] + dS[:, 1:] - dS[:, :1]), axis=1)


def test_action_error_scales_with_depth_over_width():
    """Deep relu: ε_0 depends on L and n through (L − 1)/n (≈ 5.3 (L − 1)/n at (L − 1)/n =
    1/160); ε_1 does not (its O(1/n²) error has L²/n² and L/n² parts): 0.71 × at L = 5."""
    e2 = _action_errors(2, 160)
    e5 = _action_errors(5, 640)
    assert e5[0] == pytest.approx(e2[0], rel=0.01)
    assert 0.6 < e5[1] / e2[1] < 0.8
    assert e2[2] < e2[1] < e2[0]
    assert 4.5 < e2[0] / (1 / 160) < 5.5


@pytest.mark.slow
def test_action_error_exponents_deep_relu():
    """ε_1 ∝ n^{-2}, ε_2 ∝ n^{-3} at L = 3 (n = 80 … 320); order 2 worse than order 1 at
    (L − 1)/n = 0.2 (L = 5, n = 20) and better below (L − 1)/n = 0.05."""
    ns = np.array([80, 160, 320])
    err = np.array([_action_errors(3, int(n)) for n in ns])
    slopes = [np.polyfit(np.log(ns), np.log(err[:, k]), 1)[0] for k in range(3)]
    assert abs(slopes[0] + 1) < 0.15
    assert abs(slopes[1] + 2) < 0.25
    assert abs(slopes[2] + 3) < 0.3
    e = _action_errors(5, 20)
    assert e[2] > e[1]
    e = _action_errors(5, 80)
    assert e[2] < e[1] < e[0]


@pytest.mark.parametrize(
    ("mlp", "argument"),
    [
        (fnn.MLP("tanh", widths=[1, 4, 1]), "mlp"),
        (fnn.MLP("relu", widths=[1, 4, 1], C_b=0.1), "mlp"),
        (fnn.MLP("relu", widths=[1, 4, 2]), "mlp"),
        (fnn.MLP("gelu", widths=[1, 4, 1]), "mlp"),
        (fnn.SingleLayerNet("relu", width=4), "mlp"),
    ],
)
def test_refuses_unsupported_networks(mlp, argument):
    with pytest.raises(errors.ArgumentError, match=argument):
        fnn.exact_deep_density(mlp, X1, [0.5])


def test_refuses_bad_inputs():
    mlp = fnn.MLP("relu", widths=[1, 4, 1])
    with pytest.raises(errors.ArgumentError, match="'X'"):
        fnn.exact_deep_density(mlp, [[1.0], [2.0]], [0.5])
    with pytest.raises(errors.ArgumentError, match="'X'"):
        fnn.exact_deep_density(mlp, [[0.0]], [0.5])
    with pytest.raises(errors.ArgumentError, match="'f'"):
        fnn.exact_deep_density(mlp, X1, [0.5, np.nan])
    with pytest.raises(errors.ArgumentError, match="'mlp'"):
        fnn.exact_deep_density(fnn.MLP("relu", widths=[1, 4, 1], C_W=[1.0, 0.0]), X1, [0.5])
