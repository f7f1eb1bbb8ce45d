"""Sampled correlators against independent exact results (GP kernel, exact cumulants, recursions).

Every comparison is |sampled − exact| <= 5 standard errors (batch means over chunks), with a
fixed seed; each test also shows that a wrong reference would be rejected.
"""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.ensembles import MLP, SingleLayerNet, estimate_correlators
from fieldnn.kernels import leaky_relu
from fieldnn.kernels.deep import exact_single_input_moment, nlo_kernel_correction

X1 = np.array([[-0.9], [-0.2], [0.4], [1.0]])
X2 = np.array([[0.3, -0.5], [1.0, 0.2], [-0.6, -0.8], [0.0, 0.9]])

# Gauss-net units are lognormal: keep pre-activation variances small (|x| <= 1, σ_b² = 0.5)
CASES = [
    ("erf", X1, 1.0, 1.0),
    ("erf", X2, 2.0, 0.3),
    ("relu", X1, 2.0, 0.5),
    ("relu", X2, 1.0, 1.0),
    ("gauss", X1, 1.0, 0.5),
    ("gauss", X2, 0.8, 0.5),
]


@pytest.mark.parametrize(("act", "X", "sw2", "sb2"), CASES)
def test_two_point_is_the_gp_kernel_at_any_width(act, X, sw2, sb2, within_sigma) -> None:
    """⟨f f⟩ = σ_b² + σ_W²⟨σσ⟩ exactly at every width N (f − b1 is a sum of N iid units)."""
    net = SingleLayerNet(act, width=3, d_in=X.shape[1], sigma_w2=sw2, sigma_b2=sb2)
    est = estimate_correlators(net, X, 200_000, orders=(2,), rng=1, chunk_size=10_000)
    K = net.kernel(X)
    within_sigma(est.connected(2), K, est.stderr(2))
    within_sigma(est.full(2), K, est.stderr(2, connected=False))
    # a 10 % error in σ_W² would be seen
    wrong = SingleLayerNet(act, width=3, d_in=X.shape[1], sigma_w2=1.1 * sw2, sigma_b2=sb2)
    with pytest.raises(AssertionError):
        within_sigma(est.connected(2), wrong.kernel(X), est.stderr(2))


@pytest.mark.parametrize(
    ("act", "X", "sw2", "sb2", "width"),
    [
        ("erf", X1[:3], 1.0, 1.0, 2),
        ("erf", X2[:2], 1.5, 0.2, 3),
        ("relu", X1[:3], 2.0, 0.5, 2),
        ("relu", X2[:3], 1.0, 1.0, 3),
        ("gauss", 0.5 * X1[:3], 1.0, 0.3, 2),
        ("gauss", 0.5 * X2[:3], 1.0, 0.3, 3),
    ],
)
def test_connected_four_point_is_exact_finite_width(act, X, sw2, sb2, width, within_sigma) -> None:
    net = SingleLayerNet(act, width=width, d_in=X.shape[1], sigma_w2=sw2, sigma_b2=sb2)
    est = estimate_correlators(net, X, 60_000, orders=(4,), rng=2, chunk_size=3000)
    exact = net.exact_connected(X, 4)
    within_sigma(est.connected(4), exact, est.stderr(4))
    within_sigma(est.full(4), net.exact_full(X, 4), est.stderr(4, connected=False))
    # the infinite-width answer (zero) is excluded
    with pytest.raises(AssertionError):
        within_sigma(est.connected(4), np.zeros_like(exact), est.stderr(4))


def test_species_structure_and_sixth_order(within_sigma) -> None:
    """d_out = 2: readout rows independent; connected 6-point = exact, at width 2."""
    net = SingleLayerNet("erf", width=2, d_in=1, sigma_w2=1.5, sigma_b2=0.5, d_out=2)
    X = X1[1:3]
    est = estimate_correlators(net, X, 60_000, orders=(2, 4, 6), rng=3, chunk_size=3000)
    assert est.connected(4).shape == (2,) * 4 + (2,) * 4
    for n in (2, 4, 6):
        within_sigma(est.connected(n), net.exact_connected(X, n), est.stderr(n))
    assert np.abs(est.connected(2)[:, :, 0, 1]).max() < 5 * est.stderr(2)[:, :, 0, 1].max()


def test_deep_mlp_two_point_with_its_1_over_n_correction(within_sigma) -> None:
    """3-layer relu MLP at width 8: ⟨z z⟩ = K + K^{1}/n + O(1/n²); K alone is rejected."""
    widths = [2, 8, 8, 1]
    mlp = MLP("relu", widths=widths, C_W=2.0, C_b=0.1)
    X = X2[:3]
    est = estimate_correlators(mlp, X, 200_000, orders=(2,), rng=4, chunk_size=10_000)
    K = mlp.kernel(X)
    K1 = nlo_kernel_correction("relu", X, C_W=2.0, C_b=0.1, widths=widths)
    # O(1/n²) remainder at n = 8: allow 0.5 % of K on top of the statistical error
    err = np.hypot(est.stderr(2), 5e-3 * np.abs(K))
    within_sigma(est.connected(2), K + K1 / 8, err)
    with pytest.raises(AssertionError):
        within_sigma(est.connected(2), K, err)


def test_deep_linear_mlp_kernel_is_exact_at_any_width(within_sigma) -> None:
    mlp = MLP("linear", widths=[2, 3, 2, 3, 1], C_W=[1.0, 1.5, 0.7, 1.2], C_b=0.2)
    est = estimate_correlators(mlp, X2, 40_000, orders=(2,), rng=5, chunk_size=2000)
    within_sigma(est.connected(2), mlp.kernel(X2), est.stderr(2))


def test_wide_mlp_uses_rank_reduced_layers_and_matches_kernel(within_sigma) -> None:
    """Width 200 (conditional Gaussian layers, P normals per unit): 2-point = K + K^{1}/n."""
    widths = [2, 200, 200, 1]
    mlp = MLP("relu", widths=widths, C_W=2.0, C_b=0.1)
    X = X2[:3]
    assert mlp.forward_plan(X).modes == (True, False)
    est = estimate_correlators(mlp, X, 20_000, orders=(2,), rng=6, chunk_size=1000)
    K = mlp.kernel(X)
    K1 = nlo_kernel_correction("relu", X, C_W=2.0, C_b=0.1, widths=widths)
    within_sigma(est.connected(2), K + K1 / 200, est.stderr(2))


def test_nonzero_means_far_from_zero(within_sigma) -> None:
    """μ_W, μ_b ≠ 0: outputs ~ 40 ± 1, yet the connected 2- and 4-point functions are exact.

    With means, f − b1 is still a sum of N iid units h_j = W1_j σ(z_j), so the connected
    correlators are (σ_b² + N cov(h)) for n = 2 and N κ_n(h) for n >= 4; the unit cumulants are
    computed here by brute-force sampling of one unit (10⁶ draws, independent of the net sampler).
    """
    N, mu_w, mu_b, sw2, sb2 = 4, 2.0, 3.0, 1.0, 0.5
    net = SingleLayerNet("erf", width=N, sigma_w2=sw2, sigma_b2=sb2, mu_w=mu_w, mu_b=mu_b)
    X = X1[2:]
    est = estimate_correlators(net, X, 40_000, orders=(2, 4), rng=7, chunk_size=2000)
    assert est.connected(1).min() > 10.0  # far from zero
    rng = np.random.default_rng(99)
    m = 1_000_000
    w0 = mu_w + np.sqrt(sw2) * rng.standard_normal(m)
    b0 = mu_b + np.sqrt(sb2) * rng.standard_normal(m)
    w1 = mu_w + np.sqrt(sw2 / N) * rng.standard_normal(m)
    from scipy.special import erf

    h = w1[:, None] * erf(w0[:, None] * X[:, 0] + b0[:, None])  # (m, P)
    c = h - h.mean(axis=0)
    cov = c.T @ c / m
    k4 = (
        np.einsum("ra,rb,rc,rd->abcd", c, c, c, c) / m
        - np.einsum("ab,cd->abcd", cov, cov)
        - np.einsum("ac,bd->abcd", cov, cov)
        - np.einsum("ad,bc->abcd", cov, cov)
    )
    # reference errors: the unit sample is 25x larger than N × chunk totals; add 1/5 of ours
    within_sigma(est.connected(2), sb2 + N * cov, 1.2 * est.stderr(2))
    within_sigma(est.connected(4), N * k4, 1.2 * est.stderr(4))
    within_sigma(est.connected(1), mu_b + N * h.mean(axis=0), 1.2 * est.stderr(1))


def test_gauss_mlp_normalisers(within_sigma) -> None:
    """Gauss-net units in an MLP are normalised by the layer's K^(ℓ)(x, x): one hidden layer is
    exact at any width; two hidden layers of width 300 agree with K^(3) to O(1/n)."""
    X = 0.5 * X2[:3]
    shallow = MLP("gauss", widths=[2, 3, 1], C_W=1.0, C_b=0.3)
    est = estimate_correlators(shallow, X, 100_000, orders=(2,), rng=8, chunk_size=5000)
    within_sigma(est.connected(2), shallow.kernel(X), est.stderr(2))
    deep = MLP("gauss", widths=[2, 300, 300, 1], C_W=1.0, C_b=0.3)
    est = estimate_correlators(deep, X, 10_000, orders=(2,), rng=9, chunk_size=500)
    K = deep.kernel(X)
    err = np.hypot(est.stderr(2), 2.0 / 300 * np.abs(K))  # O(1/n) allowance
    within_sigma(est.connected(2), K, err)
    # normalising layer 2 by the first layer's variance instead, σ → σ e^{q2 − q1}, is rejected
    shift = np.diag(deep.kernel(X, layer=2)) - np.diag(deep.kernel(X, layer=1))
    wrong = 0.3 + (K - 0.3) * np.exp(shift[:, None] + shift[None, :])
    with pytest.raises(AssertionError):
        within_sigma(est.connected(2), wrong, err)


def test_rank_reduced_first_layer_when_d_in_exceeds_inputs(within_sigma) -> None:
    """d_in + 1 > P: the first layer draws P normals per unit through the R factor of
    [√(σ_W²/d_in) Xᵀ; σ_b 1ᵀ]; the 2-point function is still the GP kernel (exact)."""
    X = np.random.default_rng(0).normal(size=(3, 7))
    net = SingleLayerNet("relu", width=3, d_in=7, sigma_w2=1.5, sigma_b2=0.2)
    assert net.forward_plan(X).factor.shape == (3, 3)
    est = estimate_correlators(net, X, 100_000, orders=(2,), rng=10, chunk_size=5000)
    within_sigma(est.connected(2), net.kernel(X), est.stderr(2))
    one_layer = MLP("relu", widths=[7, 2], C_W=1.5, C_b=0.2)  # depth 1: a Gaussian (linear) map
    est = estimate_correlators(one_layer, X, 40_000, orders=(2, 4), rng=11, chunk_size=2000)
    assert est.connected(2).shape == (3, 3, 2, 2)
    within_sigma(est.connected(2)[:, :, 0, 0], one_layer.kernel(X), est.stderr(2)[:, :, 0, 0])
    within_sigma(est.connected(4), np.zeros((3,) * 4 + (2,) * 4), est.stderr(4))


@pytest.mark.parametrize(
    ("act", "widths", "cw"),
    [("relu", [1, 4, 4, 1], 2.0), (leaky_relu(0.2), [2, 8, 6, 1], [1.0, 1.9, 1.5])],
)
def test_deep_mlp_moments_are_exact_finite_width(act, widths, cw, within_sigma) -> None:
    """Bias-free ReLU-type MLPs, one input: E[z²], E[z⁴], E[z⁶] exactly at finite width
    (kernels.deep.exact_single_input_moment: products of chi-square-like unit sums).

    Narrower nets (widths ~3) are so heavy-tailed that the sampled sixth moment is biased low
    at 2e5 networks (like the Gauss-net's lognormal units): not used here.
    """
    x = np.array([[0.8, -0.6]])[:, : widths[0]]
    mlp = MLP(act, widths=widths, C_W=cw, C_b=0.0)
    est = estimate_correlators(mlp, x, 200_000, orders=(2, 4, 6), rng=12, chunk_size=10_000)
    exact = {
        n: exact_single_input_moment(x[0], widths, C_W=cw, order=n, activation=act)
        for n in (2, 4, 6)
    }
    for n in (2, 4, 6):
        within_sigma(est.full(n).ravel(), exact[n], est.stderr(n, connected=False).ravel())
    # the Gaussian (infinite-width) value 3 K² of the fourth moment is rejected
    with pytest.raises(AssertionError):
        within_sigma(est.full(4).ravel(), 3 * exact[2] ** 2, est.stderr(4, connected=False).ravel())


def test_large_mean_outputs_connected_parts_to_high_precision() -> None:
    """μ_b = 10⁴: outputs ≈ 10⁴ ± 1. The estimator's connected 2- and 4-point functions equal
    the cumulants of the very same samples computed in 40-digit arithmetic (relative 1e-9)."""
    import mpmath

    from fieldnn.ensembles._network_sampler import sample_networks

    net = SingleLayerNet("erf", width=4, sigma_w2=1.0, sigma_b2=0.5, mu_w=0.5, mu_b=1.0e4)
    X = X1[1:3]
    est = estimate_correlators(net, X, 2000, orders=(4,), rng=3, chunk_size=500)
    # the very networks of the estimate (sampling="network": network m from its own stream)
    f = sample_networks(net, X, np.random.SeedSequence(3), 0, 2000)[:, :, 0]
    assert f.mean() > 9000
    with mpmath.workdps(40):
        cols = [[mpmath.mpf(float(v)) for v in f[:, a]] for a in range(2)]
        means = [mpmath.fsum(c) / len(c) for c in cols]
        cen = [[v - means[a] for v in cols[a]] for a in range(2)]

        def m(*idx: int) -> mpmath.mpf:
            return mpmath.fsum(mpmath.fprod(cen[a][r] for a in idx) for r in range(len(f))) / len(f)

        k2 = float(m(0, 1))
        k4 = float(m(0, 0, 1, 1) - m(0, 0) * m(1, 1) - 2 * m(0, 1) ** 2)
    assert est.connected(2)[0, 1] == pytest.approx(k2, rel=1e-9)
    assert est.connected(4)[0, 0, 1, 1] == pytest.approx(k4, rel=1e-9)
    # the same cumulant from float64 moments about zero loses its digits at this mean
    x, y = f[:, 0], f[:, 1]
    E = np.mean
    naive = (
        E(x * x * y * y)
        - 2 * E(x) * E(x * y * y)
        - 2 * E(y) * E(x * x * y)
        - E(x * x) * E(y * y)
        - 2 * E(x * y) ** 2
        + 2 * E(x) ** 2 * E(y * y)
        + 2 * E(y) ** 2 * E(x * x)
        + 8 * E(x) * E(y) * E(x * y)
        - 6 * E(x) ** 2 * E(y) ** 2
    )
    assert abs(naive - k4) > 0.1 * abs(k4)
