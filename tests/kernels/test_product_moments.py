"""Product moments ⟨σ(z_a1)…σ(z_an)⟩: closed forms, exact piecewise and quadrature, checked."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import erf, gamma

from fieldnn.errors import ArgumentError, UnsupportedError
from fieldnn.kernels import get_activation, leaky_relu, pair_expectation, product_moments


def covariance(X, sw, sb):
    """Explicit factor A (P, 1 + d_in), z = A g with g ~ N(0, I), C = A Aᵀ (no fieldnn code)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    A = np.column_stack([np.full(len(X), np.sqrt(sb)), np.sqrt(sw / X.shape[1]) * X])
    return A @ A.T, A


def wick(C, idx):
    """Isserlis: sum over perfect matchings of Π C (recursive enumeration)."""
    if not idx:
        return 1.0
    first, rest = idx[0], idx[1:]
    return sum(C[first, rest[k]] * wick(C, rest[:k] + rest[k + 1 :]) for k in range(len(rest)))


X1 = np.array([[-0.8], [0.3], [1.1]])
X2 = np.array([[0.3, -0.5], [1.0, 0.2], [-0.7, 0.8]])


@pytest.mark.parametrize("name", ["gauss", "erf"])
def test_rank2_moments_against_dblquad(name):
    C, A = covariance(X1, 1.3, 0.6)
    act = get_activation(name)
    q = np.diag(C)

    # composite Gauss–Legendre (20 panels x 20 nodes per axis) on g* ± 10, where the lognormal
    # integrand of the Gauss-net peaks at g* = Σ_a A_a (g* = 0 for erf)
    x, w = np.polynomial.legendre.leggauss(20)
    panels = np.arange(-10.0, 10.0, 1.0)
    nodes = (panels[:, None] + 0.5 * (x[None, :] + 1.0)).ravel()
    weights = np.tile(0.5 * w, panels.size)

    def moment(idx):
        center = A[list(idx)].sum(axis=0) if name == "gauss" else np.zeros(2)
        g0, g1 = np.meshgrid(nodes + center[0], nodes + center[1], indexing="ij")
        g = np.stack([g0.ravel(), g1.ravel()], axis=1)
        z = g @ A[list(idx)].T
        f = np.prod(act(z, variance=q[list(idx)]), axis=1)
        density = np.exp(-0.5 * np.sum(g * g, axis=1)) / (2 * np.pi)
        return np.outer(weights, weights).ravel() @ (f * density)

    M4 = product_moments(act, C, 4)
    np.testing.assert_allclose(M4[0, 1, 1, 2], moment((0, 1, 1, 2)), rtol=1e-9)
    M6 = product_moments(act, C, 6)
    np.testing.assert_allclose(M6[0, 0, 1, 1, 2, 2], moment((0, 0, 1, 1, 2, 2)), rtol=1e-9)


def test_gauss_closed_form_formula():
    C, _ = covariance(X2, 0.7, 0.4)
    M = product_moments("gauss", C, 3)
    m = np.array([2.0, 0.0, 1.0])  # multiset (0, 0, 2)
    expect = np.exp(0.5 * m @ C @ m - m @ np.diag(C))
    np.testing.assert_allclose(M[0, 2, 0], expect, rtol=1e-14)


def relu_polar(A, idx, slopes=(0.0, 1.0)):
    """Independent rank-2 relu moment: ⟨ρ^n⟩ × (1/2π)∫ Π σ(ℓ·ω) dφ by scipy quad split at kinks."""
    L = A[list(idx)]
    n = len(idx)
    radial = 2 ** (n / 2) * gamma((2 + n) / 2) / gamma(1.0)
    kinks = sorted(
        {(np.arctan2(l[1], l[0]) + s * np.pi / 2) % (2 * np.pi) for l in L for s in (1, -1)}
    )
    edges = [0.0, *kinks, 2 * np.pi]

    def f(phi):
        t = L @ np.array([np.cos(phi), np.sin(phi)])
        return np.prod(np.where(t > 0, slopes[1] * t, slopes[0] * t))

    angular = sum(
        quad(f, a, b, epsabs=1e-15, epsrel=1e-13)[0] for a, b in itertools.pairwise(edges)
    )
    return radial * angular / (2 * np.pi)


@pytest.mark.parametrize("act,slopes", [("relu", (0.0, 1.0)), (leaky_relu(0.2), (0.2, 1.0))])
def test_rank2_piecewise_exact_against_polar_quad(act, slopes):
    C, A = covariance(X1, 1.3, 0.6)
    M4 = product_moments(act, C, 4)
    M5 = product_moments(act, C, 5)
    for idx in [(0, 1, 1, 2), (0, 0, 0, 2), (1, 1, 1, 1)]:
        np.testing.assert_allclose(M4[idx], relu_polar(A, idx, slopes), rtol=1e-12)
    np.testing.assert_allclose(
        M5[0, 1, 2, 2, 2], relu_polar(A, (0, 1, 2, 2, 2), slopes), rtol=1e-12
    )


def test_piecewise_order2_is_the_arccos_kernel_rank2_and_rank3():
    # the exact piecewise engine (not the closed pair form that product_moments uses at order 2)
    from fieldnn.kernels._piecewise import piecewise_moments
    from fieldnn.kernels._quadrature import rank_factor
    from fieldnn.kernels.gaussian import unique_multisets

    rows = unique_multisets(3, 2)
    for X in (X1, X2, np.array([[0.5], [0.5], [-2.0]])):  # the last one has rank-1 rows
        C, _ = covariance(X, 1.7, 0.3)
        q = np.diag(C)
        for act, slopes in (("relu", (0.0, 1.0)), (leaky_relu(0.3), (0.3, 1.0))):
            K = pair_expectation(act, q[:, None], q[None, :], C)
            value, _ = piecewise_moments(slopes, rank_factor(C), rows)
            np.testing.assert_allclose(value, K[tuple(rows.T)], rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(product_moments(act, C, 2), K, rtol=1e-15)


def test_rank3_piecewise_rotation_invariance_and_monte_carlo():
    # rank 3 (d_in = 2 with bias): semi-analytic β quadrature. Its value must not depend on
    # the basis of the rank space (all breakpoints move), and must match sampling.
    C, A = covariance(X2, 1.2, 0.5)
    rng = np.random.default_rng(7)
    M4 = product_moments("relu", C, 4)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    from fieldnn.kernels._piecewise import piecewise_moments
    from fieldnn.kernels.gaussian import unique_multisets

    rows = unique_multisets(3, 4)
    rotated, error = piecewise_moments((0.0, 1.0), A @ Q, rows)
    np.testing.assert_allclose(rotated, M4[tuple(rows.T)], rtol=1e-11)
    assert np.all(error <= 1e-11 * np.abs(rotated))
    g = rng.standard_normal((400_000, 3))
    s = np.maximum(g @ A.T, 0.0)
    for idx in [(0, 1, 2, 2), (0, 0, 1, 1), (2, 2, 2, 2)]:
        samples = np.prod(s[:, list(idx)], axis=1)
        se = samples.std() / np.sqrt(len(samples))
        assert abs(samples.mean() - M4[idx]) < 5 * se


def test_rank3_linear_is_wick():
    # slopes (1, 1) through the rank-3 machinery (events and arcs still split) = Isserlis
    C, _ = covariance(X2, 1.2, 0.5)
    M = product_moments("linear", C, 6)
    for idx in [(0, 1, 2, 2, 1, 0), (0, 0, 0, 0, 1, 2), (2, 2, 2, 2, 2, 2)]:
        np.testing.assert_allclose(M[idx], wick(C, list(idx)), rtol=1e-12)


def test_erf_rank3_against_monte_carlo():
    C, A = covariance(X2, 1.0, 1.0)
    M4 = product_moments("erf", C, 4)
    rng = np.random.default_rng(3)
    s = erf(rng.standard_normal((400_000, 3)) @ A.T)
    for idx in [(0, 1, 2, 2), (0, 0, 1, 1)]:
        samples = np.prod(s[:, list(idx)], axis=1)
        se = samples.std() / np.sqrt(len(samples))
        assert abs(samples.mean() - M4[idx]) < 5 * se


def test_relu_positive_homogeneity():
    C, _ = covariance(X2, 1.0, 0.3)
    for n in (3, 4):
        np.testing.assert_allclose(
            product_moments("relu", 2.5 * C, n),
            2.5 ** (n / 2) * product_moments("relu", C, n),
            rtol=1e-12,
        )


@settings(max_examples=10, deadline=None)
@given(
    data=st.lists(st.floats(-2.0, 2.0), min_size=4, max_size=4),
    order=st.sampled_from([3, 4]),
    name=st.sampled_from(["relu", "gauss", "erf", "linear"]),
)
def test_symmetric_tensor_and_linear_wick(data, order, name):
    X = np.array(data).reshape(2, 2)
    X = np.vstack([X, [[0.1, -0.3]]])
    C, _ = covariance(X, 0.9, 0.4)
    M = product_moments(name, C, order)
    assert M.shape == (3,) * order
    for perm in itertools.permutations(range(order)):
        np.testing.assert_array_equal(M, M.transpose(perm))
    if name == "linear":
        for idx in itertools.combinations_with_replacement(range(3), order):
            np.testing.assert_allclose(M[idx], wick(C, list(idx)), rtol=1e-11, atol=1e-14)


def test_product_moments_bad_input():
    with pytest.raises(ArgumentError, match="'C'"):
        product_moments("erf", np.array([[1.0, 2.0], [2.0, 1.0]]), 2)
    C, _ = covariance(
        np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5], [0.3, 0.9, -0.2], [1, 1, 1]]), 1, 1
    )
    # orders <= 4 are exact at any rank (tests/kernels/test_relu_four.py); order 5 needs rank <= 3
    with pytest.raises(UnsupportedError, match=r"'C'.*rank"):
        product_moments("relu", C, 5)
    # order 2 has the closed pair form at any rank
    np.testing.assert_allclose(np.diag(product_moments("relu", C, 2)), np.diag(C) / 2)
    with pytest.raises(TypeError, match="'order'"):
        product_moments("relu", np.eye(2), 2.0)


@pytest.mark.parametrize("name", ["gauss", "relu"])
def test_rank2_against_monte_carlo(name):
    C, A = covariance(X1, 0.8, 0.3)
    q = np.diag(C)
    rng = np.random.default_rng(17)
    z = rng.standard_normal((400_000, 2)) @ A.T
    s = np.exp(z - q) if name == "gauss" else np.maximum(z, 0.0)
    M4 = product_moments(name, C, 4)
    M6 = product_moments(name, C, 6)
    for M, idx in [(M4, (0, 1, 2, 2)), (M4, (0, 0, 2, 2)), (M6, (0, 0, 1, 1, 2, 2))]:
        samples = np.prod(s[:, list(idx)], axis=1)
        se = samples.std() / np.sqrt(samples.size)
        assert abs(samples.mean() - M[idx]) < 5 * se


@pytest.mark.parametrize(
    ("x1", "x2"), [(100.0, 99.0), (300.0, 299.0), (1000.0, 999.0), (1000.0, -10.0)]
)
def test_erf_plackett_rounding_bound_against_mpmath(x1, x2):
    # nearly collinear or antipodal inputs at κ = 2e4 … 2e6: the Plackett moments lose digits to
    # rounding in the nearly singular correlation matrix; erf_four_rounding(κ) = κ^{3/2} ε must
    # bound the error (measured 7× … 100× above it; the exact path adds it to its estimate)
    from fieldnn.kernels._erf_four import erf_four_values
    from fieldnn.kernels.gaussian import erf_four_rounding, multiset_index
    from fieldnn.kernels.gp import preactivation_covariance

    from ._reference import erf_three_one_mp

    C = preactivation_covariance([[x1], [x2]], sigma_w2=1.0, sigma_b2=1.0)
    values = erf_four_values(C)[multiset_index(2, np.array([[0, 0, 0, 1], [0, 1, 1, 1]]))]
    bound = erf_four_rounding(1.0 + 2.0 * float(np.max(np.diag(C))))
    for value, (i, j) in zip(values, ((0, 1), (1, 0)), strict=True):
        assert abs(value - erf_three_one_mp(C, i, j)) <= bound / 5


@pytest.mark.parametrize(("name", "scale"), [("gelu", 30.0), ("tanh", 100.0), ("erf", 1000.0)])
def test_rank_one_moments_at_large_variance_against_mpmath(name, scale):
    # one input at variance scale²: the lattice alone gave gelu⁴ 2.6e-8 off while reporting
    # 2e-16, and tanh, erf unconverged with a warning; the sinh-mapped rule is exact here
    import mpmath

    from ._reference import erf_power_moment_mp

    f = {"gelu": lambda z: z * (1 + mpmath.erf(z / mpmath.sqrt(2))) / 2, "tanh": mpmath.tanh}
    value = product_moments(name, np.array([[scale * scale]]), 4).ravel()[0]
    if name == "erf":
        reference = erf_power_moment_mp(scale, 4)
    else:
        with mpmath.workdps(25):
            s = mpmath.mpf(scale)
            cuts = sorted({-12, -1, -10 / s, -1 / s, 0, 1 / s, 10 / s, 1, 12})
            reference = mpmath.quad(lambda u: f[name](s * u) ** 4 * mpmath.npdf(u), cuts)
    assert value == pytest.approx(float(reference), rel=1e-13)


def test_aliased_lattice_is_flagged():
    # ⟨sin(100 u)⁴⟩ = 3/8 (+ e^{-2·100²}…): nested lattices agree on an aliased 0.10; the sinh
    # rule disagrees, so the result carries a warning instead of passing as converged
    with pytest.warns(RuntimeWarning, match="converged only"):
        product_moments("sin", np.array([[1e4]]), 4)
