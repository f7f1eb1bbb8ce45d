"""Exact single-input output density of single-layer nets, held against independent methods."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

import fieldnn as fnn
from fieldnn import errors

X1 = np.array([[0.8]])
SW, SB = 1.5, 0.5
Q = SB + SW * 0.8**2  # pre-activation variance at X1


def _mixture_n1(act: str, f: float) -> mp.mpf:
    """N = 1 as a Gaussian scale mixture: p(f) = ⟨N(f; 0, σ_b² + σ_W² σ(z)²)⟩_z (mpmath)."""
    q, sw, sb = mp.mpf(Q), mp.mpf(SW), mp.mpf(SB)
    unit = {"erf": mp.erf, "tanh": mp.tanh, "gauss": lambda z: mp.exp(z - q)}[act]

    def integrand(z: mp.mpf) -> mp.mpf:
        V = sb + sw * unit(z) ** 2
        gauss_z = mp.exp(-z * z / (2 * q)) / mp.sqrt(2 * mp.pi * q)
        return mp.exp(-(mp.mpf(f) ** 2) / (2 * V)) / mp.sqrt(2 * mp.pi * V) * gauss_z

    return mp.quad(integrand, [-mp.inf, -2, 0, 2, mp.inf])


@pytest.mark.parametrize("act", ["erf", "tanh", "gauss"])
def test_width_one_equals_scale_mixture_quadrature(act):
    mp.mp.dps = 20
    net = fnn.SingleLayerNet(act, width=1, sigma_w2=SW, sigma_b2=SB)
    f = np.array([0.0, 0.3, 1.0, 2.5, 4.0])
    p = net.exact_density(X1, f)
    ref = np.array([float(_mixture_n1(act, v)) for v in f])
    np.testing.assert_allclose(p, ref, rtol=1e-10, atol=0)


def _relu_characteristic_quadrature(f: float, N: int) -> mp.mpf:
    """(1/π)∫_0^∞ e^{-σ_b² t²/2} ψ^N cos(tf) dt, relu ψ = ½ + ½(1 + σ_W² t² q/N)^{-1/2}."""
    sw, sb, q = mp.mpf(SW), mp.mpf(SB), mp.mpf(Q)

    def integrand(t: mp.mpf) -> mp.mpf:
        psi = (1 + 1 / mp.sqrt(1 + sw * t * t * q / N)) / 2
        return mp.exp(-sb * t * t / 2) * psi**N * mp.cos(t * f)

    return mp.quad(integrand, [0, 1, 2, 4, 8, mp.inf]) / mp.pi


@pytest.mark.parametrize("N", [2, 7, 40])
def test_relu_against_mpmath_characteristic_function(N):
    mp.mp.dps = 25
    net = fnn.SingleLayerNet("relu", width=N, sigma_w2=SW, sigma_b2=SB)
    f = np.array([-2.0, 0.0, 0.7, 3.0])
    ref = np.array([float(_relu_characteristic_quadrature(mp.mpf(v), N)) for v in f])
    np.testing.assert_allclose(net.exact_density(X1, f), ref, rtol=1e-10, atol=0)


@pytest.mark.slow
def test_erf_against_nested_mpmath_characteristic_function():
    """ψ(t) by an inner mpmath quadrature, the cosine transform by an outer one (~15 s)."""
    mp.mp.dps = 17
    N, f = 3, mp.mpf(1.0)
    sw, sb, q = mp.mpf(SW), mp.mpf(SB), mp.mpf(Q)

    def psi(t):
        c = sw * t * t / (2 * N)
        return mp.quad(
            lambda z: mp.exp(-c * mp.erf(z) ** 2 - z * z / (2 * q)) / mp.sqrt(2 * mp.pi * q),
            [-mp.inf, 0, mp.inf],
        )

    ref = mp.quad(
        lambda t: mp.exp(-sb * t * t / 2) * psi(t) ** N * mp.cos(t * f), [0, 2, 5, mp.inf]
    )
    net = fnn.SingleLayerNet("erf", width=N, sigma_w2=SW, sigma_b2=SB)
    assert net.exact_density(X1, [1.0])[0] == pytest.approx(float(ref / mp.pi), rel=1e-10)


@pytest.mark.parametrize(("act", "N"), [("erf", 3), ("gauss", 5), ("relu", 2)])
def test_histogram_of_a_million_networks(act, N):
    """Bin counts of 10⁶ sampled nets against ∫_bin p (12-point Gauss–Legendre per bin):
    χ² over 40 bins within 5σ of its mean, every pull below 5, the overflow count within 5σ."""
    net = fnn.SingleLayerNet(act, width=N, sigma_w2=1.0, sigma_b2=0.5)
    x = [[0.7]]
    y = fnn.sample_outputs(net, x, 1_000_000, rng=12)[:, 0, 0]
    edges = np.linspace(-5.0, 5.0, 41)
    a, b = edges[:-1], edges[1:]
    nodes, weights = np.polynomial.legendre.leggauss(12)
    points = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * nodes
    prob = net.exact_density(x, points.ravel()).reshape(points.shape) @ weights * 0.5 * (b - a)
    expected = prob * y.size
    counts, _ = np.histogram(y, edges)
    pulls = (counts - expected) / np.sqrt(expected)
    dof = len(counts)
    assert abs(np.sum(pulls**2) - dof) < 5 * math.sqrt(2 * dof)
    assert np.max(np.abs(pulls)) < 5
    outside = np.sum((y < edges[0]) | (y > edges[-1]))
    mean_outside = (1.0 - prob.sum()) * y.size
    assert abs(outside - mean_outside) < 5 * math.sqrt(mean_outside) + 1


@pytest.mark.parametrize("act", ["erf", "relu", "tanh"])
def test_normalised_with_the_kernel_as_variance(act):
    """∫p = 1 and ∫f²p = K(x, x) (the exact 2-point function) by Simpson's rule on ±30."""
    from scipy.integrate import simpson

    net = fnn.SingleLayerNet(act, width=4, sigma_w2=1.0, sigma_b2=1.0)
    f = np.linspace(-30.0, 30.0, 6001)
    p = net.exact_density([[1.0]], f)
    assert simpson(p, x=f) == pytest.approx(1.0, rel=1e-10)
    assert simpson(f * f * p, x=f) == pytest.approx(net.kernel([[1.0]])[0, 0], rel=1e-9)


def test_log_and_shapes():
    net = fnn.SingleLayerNet("erf", width=5)
    f = np.array([[0.1], [0.5]])
    np.testing.assert_array_equal(net.exact_density([[1.0]], f), net.exact_density([1.0], f[:, 0]))
    np.testing.assert_allclose(
        net.exact_density([[1.0]], f, log=True), np.log(net.exact_density([[1.0]], f)), rtol=1e-15
    )
    assert net.exact_density([[1.0]], np.zeros(0)).shape == (0,)


def test_symmetric_in_f():
    net = fnn.SingleLayerNet("gelu", width=3)  # gelu is not odd, but w is symmetric
    f = np.array([0.2, 1.3, 2.9])
    np.testing.assert_allclose(
        net.exact_density([[0.5]], f), net.exact_density([[0.5]], -f), rtol=1e-12
    )


def test_bad_input_names_the_argument():
    net = fnn.SingleLayerNet("erf", width=5)
    with pytest.raises(errors.ShapeError, match="'X'"):
        net.exact_density([[0.1], [0.2]], [0.0])
    with pytest.raises(errors.ShapeError, match="'f'"):
        net.exact_density([[0.1]], np.zeros((3, 2)))
    with pytest.raises(errors.ArgumentError, match="'f'"):
        net.exact_density([[0.1]], [np.nan])
    with pytest.raises(errors.UnsupportedError, match="'net'"):
        fnn.SingleLayerNet("erf", width=5, d_out=2).exact_density([[0.1]], [0.0])
    with pytest.raises(errors.UnsupportedError, match="'mu_b'"):
        fnn.SingleLayerNet("erf", width=5, mu_b=0.3).exact_density([[0.1]], [0.0])
    # relu units all vanish together with probability 2^-N when σ_b² = 0: an atom at f = 0
    with pytest.raises(errors.UnsupportedError, match="'sigma_b2'"):
        fnn.SingleLayerNet("relu", width=3, sigma_b2=0.0).exact_density([[1.0]], [0.5])


# -- where the effective action holds -------------------------------------------------------------
WIDTHS = [20, 40, 80, 160, 320]


@pytest.mark.parametrize("act", ["erf", "relu"])
def test_action_error_falls_like_one_over_width_to_the_order_plus_one(act):
    """log p(f) − log p(0) against −[S(f) − S(0)]: slopes −2 (order 1) and −3 (order 2)."""
    cmp = fnn.compare_with_density(act, [1.0], WIDTHS, sigma_w2=1.0, sigma_b2=1.0)
    assert cmp.exponent(0) == pytest.approx(-1.0, abs=0.25)
    assert cmp.exponent(1) == pytest.approx(-2.0, abs=0.25)
    assert cmp.exponent(2) == pytest.approx(-3.0, abs=0.25)
    assert np.all(cmp.errors[:, 2] < cmp.errors[:, 1])
    assert np.all(cmp.errors[:, 1] < cmp.errors[:, 0])


def test_order_one_action_is_the_edgeworth_log_density():
    """Independent of the reconstruction: to O(1/N), log p = −f²/2K + κ₄ He₄(f/√K)/(24K²) + c
    (Edgeworth), with κ₄ = exact_connected(X, 4); the difference from the action is O(1/N²)."""
    from fieldnn.effective._eft_density import action_differences

    for N in (50, 100):
        net = fnn.SingleLayerNet("erf", width=N)
        X = np.array([[1.0]])
        K = net.kernel(X)[0, 0]
        k4 = net.exact_connected(X, 4)[0, 0, 0, 0]
        f = np.array([0.5, 1.0, 2.0])
        he4 = lambda u: u**4 - 6 * u**2  # noqa: E731
        edgeworth = -(f**2) / (2 * K) + k4 / (24 * K**2) * he4(f / np.sqrt(K))
        np.testing.assert_allclose(-action_differences(net, X, f)[1], edgeworth, rtol=1e-12)


def test_gauss_net_series_is_asymptotic_only_at_large_width():
    """Gauss-net at q = σ_b² = 1 (x = 0): order 1 improves on the GP only above N ≈ 125, order 2
    on order 1 only above N ≈ 1.0e4; the 1/N^{k+1} slopes hold (±0.25) from N ≈ 3e5 on."""
    widths = np.unique(np.round(np.logspace(np.log10(2), 5, 41)).astype(int))
    cmp = fnn.compare_with_density("gauss", [0.0], widths)
    assert 100 <= cmp.crossover(1) <= 160
    assert 8000 <= cmp.crossover(2) <= 13000
    assert cmp.errors[0, 2] > 100 * cmp.errors[0, 1] > 100 * cmp.errors[0, 0]  # N = 2: fails
    large = fnn.compare_with_density("gauss", [0.0], [320_000 * 2**k for k in range(5)])
    assert large.exponent(1) == pytest.approx(-2.0, abs=0.25)
    assert large.exponent(2) == pytest.approx(-3.0, abs=0.25)


def test_density_curves_and_their_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fieldnn.report.plots_effective import plot_action_errors, plot_density_vs_action

    curves = fnn.density_curves("erf", [1.0], (10, 1000), f_over_sqrt_k=np.linspace(-2, 2, 9))
    assert curves.exact.shape == (2, 9) and curves.action.shape == (2, 2, 9)
    # at N = 1000 the order-2 action is the exact −log p to O(1/N³); at N = 10 it is not
    assert np.max(np.abs(curves.exact[1] - curves.action[1, 1])) < 1e-8
    assert np.max(np.abs(curves.exact[0] - curves.action[0, 1])) > 1e-6
    ax = plot_density_vs_action(curves)
    assert len(ax.lines) == 3 * 2 + 2 + 1
    cmp = fnn.compare_with_density("erf", [1.0], [10, 100])
    assert len(plot_action_errors(cmp).lines) == 3 + 2
    assert cmp.to_dict()["crossover_order2"] == 10.0
    plt.close("all")


@pytest.mark.slow
def test_numbers_quoted_in_the_docs():
    """docs/exact_density.md: slopes, Gauss-net crossovers on fine grids, q = 2 crossovers."""
    for act, slopes in (("erf", (-2.00, -2.99)), ("relu", (-1.96, -2.91))):
        cmp = fnn.compare_with_density(act, [1.0], WIDTHS)
        assert round(cmp.exponent(0), 1) == -1.0
        assert (round(cmp.exponent(1), 2), round(cmp.exponent(2), 2)) == slopes
    grid = np.unique(np.round(np.logspace(np.log10(2.0), 7.0, 57)).astype(int))
    coarse = fnn.compare_with_density("gauss", [0.0], grid)
    assert (coarse.crossover(1), coarse.crossover(2)) == (125.0, 10219.0)
    assert round(coarse.exponent(2, widths=(1e4, 1.6e5)), 2) == -2.43
    assert coarse.errors[0].round(1).tolist()[:2] == [0.6, 7.0]
    assert 3e3 < coarse.errors[0, 2] < 5e3
    fine1 = np.unique(np.round(np.logspace(np.log10(80), np.log10(200), 40)).astype(int))
    fine2 = np.unique(np.round(np.logspace(np.log10(7000), np.log10(14000), 40)).astype(int))
    assert fnn.compare_with_density("gauss", [0.0], fine1).crossover(1) == 109.0
    assert fnn.compare_with_density("gauss", [0.0], fine2).crossover(2) == 8978.0
    wide = np.unique(np.round(np.logspace(1, 9, 97)).astype(int))
    q2 = fnn.compare_with_density("gauss", [1.0], wide)
    assert (q2.crossover(1), q2.crossover(2)) == (56234.0, 215443469.0)


def test_no_output_bias_power_law_decay():
    """σ_b² = 0: the Erf φ decays like t^{−N}; N = 30 is inverted (normalised, variance K),
    N = 3 is refused naming sigma_b2 (docs/exact_density.md)."""
    from scipy.integrate import simpson

    net = fnn.SingleLayerNet("erf", width=30, sigma_b2=0.0)
    f = np.linspace(-8.0, 8.0, 1601)
    p = net.exact_density([[1.0]], f)
    assert simpson(p, x=f) == pytest.approx(1.0, rel=1e-9)
    assert simpson(f * f * p, x=f) == pytest.approx(net.kernel([[1.0]])[0, 0], rel=1e-8)
    with pytest.raises(errors.UnsupportedError, match="'sigma_b2'"):
        fnn.SingleLayerNet("erf", width=3, sigma_b2=0.0).exact_density([[1.0]], [0.5])
