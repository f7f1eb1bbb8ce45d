"""Order ≤ 4 moments of relu-type σ at any rank (fieldnn.kernels._relu_four), checked.

Independent references: the exact angular path of ``_piecewise`` (rank ≤ 3), a one-factor
covariance K = v vᵀ + diag(D) where the moments are a 1-d mpmath integral of closed-form
conditional means, plain Monte Carlo at rank 4, Isserlis for linear σ, block-diagonal
factorisation, and the deep vertex V with a duplicated input.
"""

from __future__ import annotations

import itertools
import os

import mpmath as mp
import numpy as np
import pytest

from fieldnn.errors import UnsupportedError
from fieldnn.kernels import (
    _deep_gaussian,
    _erf_four,
    _relu_four,
    leaky_relu,
    pair_expectation,
    product_moments,
)
from fieldnn.kernels._erf_four import erf_four_moments, sign_moment4
from fieldnn.kernels._piecewise import piecewise_moments
from fieldnn.kernels._quadrature import rank_factor
from fieldnn.kernels._relu_four import relu_moment_values
from fieldnn.kernels.deep import four_point_vertex
from fieldnn.kernels.gaussian import unique_multisets

SLOPES = [(0.0, 1.0), (0.2, 1.0), (-0.5, 2.0), (1.0, 1.0)]


def gram(X, c_b=0.3):
    X = np.asarray(X, dtype=float)
    return c_b + X @ X.T / X.shape[1]


def table(M, order):
    """Values of a symmetric tensor on the sorted multisets."""
    return np.array([M[tuple(r)] for r in unique_multisets(M.shape[0], order)])


def wick(C, idx):
    if not idx:
        return 1.0
    first, rest = idx[0], idx[1:]
    return sum(C[first, rest[j]] * wick(C, rest[:j] + rest[j + 1 :]) for j in range(len(rest)))


@pytest.mark.parametrize("slopes", SLOPES)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_against_exact_rank3_path(slopes, order):
    """Nonsingular 3×3 K (rank 3): the angular path of _piecewise is exact there."""
    K = gram(np.random.default_rng(3).normal(size=(3, 2)))
    new = relu_moment_values(K, slopes, order)
    old, _ = piecewise_moments(slopes, rank_factor(K), unique_multisets(3, order))
    if slopes == (1.0, 1.0) and order % 2:  # odd moments of a linear σ vanish
        assert np.all(new == 0.0)
        assert np.max(np.abs(old)) < 1e-13
        return
    scale = np.max(np.abs(old))
    assert scale > 0.1
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("slopes", SLOPES[:3])
def test_singular_and_nearly_collinear_blocks(slopes):
    """P = 5 inputs of rank 3 (every 4-subset singular, lifted to λ_min = 1e-10), and the same
    inputs with a 1e-7 third coordinate (K changes by ~1e-14): vs the rank-3 angular path."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(5, 2))
    K = gram(X)
    old, _ = piecewise_moments(slopes, rank_factor(K), unique_multisets(5, 4))
    scale = np.max(np.abs(old))
    np.testing.assert_allclose(relu_moment_values(K, slopes, 4), old, rtol=0, atol=1e-10 * scale)
    Xn = np.column_stack([X * np.sqrt(1.5), 1e-7 * rng.normal(size=5)])
    Kn = gram(Xn)
    assert np.max(np.abs(Kn - K)) < 1e-13
    new = relu_moment_values(Kn, slopes, 4)
    assert np.all(np.isfinite(new))
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-10 * scale)


@pytest.mark.parametrize(("d_in", "c_b"), [(1, 0.0), (1, 0.3), (2, 0.0)])
def test_rank_two_and_one_blocks_are_exact(d_in, c_b):
    """Covariances of rank ≤ 2 (every block of ≥ 2 distinct inputs degenerate): the exact circle
    average, so rounding-level agreement with the angular path, also for V along the depth."""
    X = np.random.default_rng(6).normal(size=(6, d_in))
    K = gram(X, c_b)
    for slopes in SLOPES[:3]:
        old, _ = piecewise_moments(slopes, rank_factor(K), unique_multisets(6, 4))
        new = relu_moment_values(K, slopes, 4)
        np.testing.assert_allclose(new, old, rtol=0, atol=1e-13 * np.max(np.abs(old)))


def test_vertex_collinear_inputs_against_angular_path(monkeypatch):
    """d_in = 1, C_b = 0: K^(ℓ) has rank ≤ 2 in every layer; V against the angular path."""
    X = np.random.default_rng(1).normal(size=(6, 1))
    kw = {"C_W": 2.0, "C_b": 0.0, "widths": [1] + [50] * 8 + [1]}
    new = four_point_vertex("relu", X, **kw)

    def angular(K, slopes, order):
        return piecewise_moments(slopes, rank_factor(K), unique_multisets(K.shape[0], order))[0]

    monkeypatch.setattr(_deep_gaussian, "relu_moment_values", angular)
    old = four_point_vertex("relu", X, **kw)
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-13 * np.max(np.abs(old)))


def _one_factor_reference(v, D, idx, a):
    """⟨Π σ(z_i)⟩ for z_i = v_i w + √D_i e_i (w, e_i iid N(0, 1)), σ leaky relu of slope a.

    Given w each z_i ~ N(μ, s²), μ = v_i w, s = √D_i, with t = μ/s:
    E σ = (1 − a)(μΦ(t) + sφ(t)) + aμ, E σ² = (1 − a²)((μ² + s²)Φ(t) + μsφ(t)) + a²(μ² + s²).
    """
    counts = {i: idx.count(i) for i in set(idx)}
    with mp.workdps(25):

        def conditional(i, m, w):
            mu, s = mp.mpf(v[i]) * w, mp.sqrt(D[i])
            t = mu / s
            Phi, phi = mp.ncdf(t), mp.npdf(t)
            if m == 1:
                return (1 - a) * (mu * Phi + s * phi) + a * mu
            second = mu * mu + s * s
            return (1 - a * a) * (second * Phi + mu * s * phi) + a * a * second

        def integrand(w):
            out = mp.npdf(w)
            for i, m in counts.items():
                out *= conditional(i, m, w)
            return out

        return float(mp.quad(integrand, [-mp.inf, -3, 0, 3, mp.inf]))


@pytest.mark.parametrize("a", [0.0, 0.3])
def test_rank4_one_factor_mpmath(a):
    """K = v vᵀ + diag D (rank 4, mixed-sign correlations): 1-d mpmath integrals."""
    v = np.array([1.1, -0.7, 0.9, 0.4])
    D = np.array([0.3, 0.5, 0.2, 0.8])
    K = np.outer(v, v) + np.diag(D)
    values = relu_moment_values(K, (a, 1.0), 4)
    rows = unique_multisets(4, 4).tolist()
    for idx in [(0, 1, 2, 3), (0, 0, 1, 2), (1, 1, 2, 3), (0, 0, 3, 3), (2, 2, 1, 1)]:
        ref = _one_factor_reference(v, D, list(idx), a)
        got = values[rows.index(sorted(idx))]
        assert got == pytest.approx(ref, rel=1e-13)


def test_rank4_monte_carlo():
    """Ten inputs in d_in = 3 with bias (rank 4): 10⁶ samples, every checked entry within 5σ."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(6, 3))
    K = gram(X)
    A = rank_factor(K)
    M = product_moments("relu", K, 4)
    z = np.maximum(rng.standard_normal((1_000_000, A.shape[1])) @ A.T, 0.0)
    for idx in [(0, 1, 2, 3), (2, 3, 4, 5), (0, 0, 4, 5), (1, 1, 3, 3), (5, 5, 5, 2)]:
        sample = np.prod(z[:, list(idx)], axis=1)
        err = sample.std() / np.sqrt(sample.size)
        assert abs(M[idx] - sample.mean()) < 5 * err


def test_block_diagonal_factorises_and_linear_is_isserlis():
    rng = np.random.default_rng(2)
    B1, B2 = gram(rng.normal(size=(2, 2))), gram(rng.normal(size=(2, 2)))
    K = np.zeros((4, 4))
    K[:2, :2], K[2:, 2:] = B1, B2
    M = product_moments(leaky_relu(0.2), K, 4)

    def pair(B):
        return float(pair_expectation(leaky_relu(0.2), B[0, 0], B[1, 1], B[0, 1]))

    assert M[0, 1, 2, 3] == pytest.approx(pair(B1) * pair(B2), rel=1e-13)
    K = gram(rng.normal(size=(5, 4)))  # rank 5
    M = product_moments("linear", K, 4)
    for idx in itertools.combinations_with_replacement(range(5), 4):
        assert M[idx] == pytest.approx(wick(K, list(idx)), rel=1e-13)
    assert np.all(product_moments("linear", K, 3) == 0.0)


def test_relabelling_homogeneity_and_zero_variance():
    rng = np.random.default_rng(8)
    K = gram(rng.normal(size=(6, 4)))
    M = product_moments("relu", K, 4)
    perm = rng.permutation(6)
    Mp = product_moments("relu", K[np.ix_(perm, perm)], 4)
    np.testing.assert_allclose(Mp, M[np.ix_(perm, perm, perm, perm)], rtol=1e-13)
    np.testing.assert_allclose(product_moments("relu", 3.5 * K, 4), 3.5**2 * M, rtol=1e-13)
    np.testing.assert_allclose(
        product_moments("relu", 3.5 * K, 3), 3.5**1.5 * product_moments("relu", K, 3), rtol=1e-13
    )
    tiny = relu_moment_values(1e-150 * K, (0.0, 1.0), 4)  # values ~1e-300, no underflow
    np.testing.assert_allclose(tiny / 1e-150 / 1e-150, table(M, 4), rtol=1e-12)
    # an input with zero variance (x = 0, no bias) has σ(z) = 0
    K0 = gram(np.vstack([rng.normal(size=(3, 4)), np.zeros(4)]), c_b=0.0)
    M0 = product_moments(leaky_relu(0.3), K0, 4)
    assert np.all(np.isfinite(M0))
    assert np.all(M0[3] == 0.0)


def test_order5_still_needs_rank3():
    with pytest.raises(UnsupportedError, match="rank"):
        product_moments("relu", gram(np.random.default_rng(0).normal(size=(5, 4))), 5)


@pytest.mark.parametrize("numpy_only", [False, True])
def test_vertex_with_duplicated_input_matches_three_inputs(numpy_only, monkeypatch):
    """V at inputs (x0, x1, x2, x1) restricted to (0, 1, 2) equals V at three inputs, and a
    four-input V in general position (d_in = 3) is finite and pair-symmetric; also on the
    NumPy reference path (no compiled loops), where a duplicated input once gave NaN."""
    if numpy_only:
        monkeypatch.setattr(_relu_four, "compiled_program", lambda: None)
        monkeypatch.setattr(_erf_four, "compiled_loop", lambda: None)
    X = np.random.default_rng(4).normal(size=(4, 3))
    kw = {"C_W": 2.0, "C_b": 0.1, "widths": [3, 20, 20, 20, 1]}
    V3 = four_point_vertex("relu", X[:3], **kw)
    V4 = four_point_vertex("relu", X[[0, 1, 2, 1]], **kw)
    np.testing.assert_allclose(V4[np.ix_(*[range(3)] * 4)], V3, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(V4[3, 3, 3, 3], V3[1, 1, 1, 1], rtol=1e-9)
    V = four_point_vertex(leaky_relu(0.2), X, **kw)
    assert np.all(np.isfinite(V))
    np.testing.assert_allclose(V, V.transpose(1, 0, 2, 3), rtol=1e-13)
    np.testing.assert_allclose(V, V.transpose(2, 3, 0, 1), rtol=1e-13)


def test_vertex_three_inputs_against_angular_path(monkeypatch):
    """V^(L) at three inputs in general position (rank 3 in every layer): the recursion against
    the same V with the four-point moments from the exact angular path of _piecewise."""
    X = np.random.default_rng(0).normal(size=(3, 3))
    kw = {"C_W": 2.0, "C_b": 0.1, "widths": [3] + [50] * 5 + [1]}
    new = four_point_vertex(leaky_relu(0.1), X, **kw)

    def angular(K, slopes, order):
        return piecewise_moments(slopes, rank_factor(K), unique_multisets(K.shape[0], order))[0]

    monkeypatch.setattr(_deep_gaussian, "relu_moment_values", angular)
    old = four_point_vertex(leaky_relu(0.1), X, **kw)
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-13 * np.max(np.abs(old)))


def test_sign_moment4_matches_erf_moments():
    """The batched four-sign moment: ⟨erf z_a erf z_b erf z_c erf z_d⟩_K is the sign moment at
    the correlation matrix of K + I/2 (the erf reduction); NumPy and compiled paths agree."""
    K = gram(np.random.default_rng(9).normal(size=(5, 3)))
    M = erf_four_moments(K)
    subsets = list(itertools.combinations(range(5), 4))
    S = np.array([K[np.ix_(s, s)] + 0.5 * np.eye(4) for s in subsets])
    d = np.sqrt(np.einsum("bii->bi", S))
    R = S / (d[:, :, None] * d[:, None, :])
    expected = np.array([M[s] for s in subsets])
    np.testing.assert_allclose(sign_moment4(R), expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(sign_moment4(R, accelerate=False), expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("slopes", SLOPES)
def test_compiled_program_matches_numpy_executor(slopes, monkeypatch):
    """The recorded recursions run by the optional numba loop equal the batched NumPy executor
    to rounding (rank 4, a nearly collinear and a duplicated input); FIELDNN_NUMBA=0 (or no
    numba) switches the loop off."""
    pytest.importorskip("numba")
    if os.environ.get("FIELDNN_NUMBA") == "0":
        pytest.skip("FIELDNN_NUMBA=0")
    assert _relu_four.compiled_program() is not None
    X = np.random.default_rng(12).normal(size=(6, 5))
    X[4] = X[0] + 1e-4 * X[1]
    X[5] = X[2]
    K = gram(X)
    numpy_path = relu_moment_values(K, slopes, 4, accelerate=False)
    compiled = relu_moment_values(K, slopes, 4)
    np.testing.assert_allclose(compiled, numpy_path, rtol=0, atol=1e-15 * np.max(np.abs(K)) ** 2)
    monkeypatch.setenv("FIELDNN_NUMBA", "0")
    monkeypatch.setattr(_relu_four, "_LOOP", [])
    assert _relu_four.compiled_program() is None


def test_smallest_eigenvalue_bound_for_four_indices():
    """λ_min of 4×4 correlation blocks: the bound 1/tr R⁻¹ lies in [λ_min/4, λ_min] (exact
    eigenvalue below 1e-8, where the lift needs it), against numpy.linalg.eigvalsh."""
    rng = np.random.default_rng(2)
    spread = 10.0 ** rng.uniform(-6.0, 0.0, size=(300, 1, 1))
    X = rng.normal(size=(300, 1, 5)) + spread * rng.normal(size=(300, 4, 5))
    K = X @ X.transpose(0, 2, 1)
    d = np.sqrt(np.einsum("bii->bi", K))
    R = K / (d[:, :, None] * d[:, None, :])
    exact = np.linalg.eigvalsh(R)[:, 0]
    bound = _relu_four._smallest_eigenvalue(R)
    assert np.min(exact) < 1e-8 < np.max(exact)
    assert np.all(bound <= exact * (1 + 1e-6)) and np.all(bound >= exact / 4)
    tiny = exact < 1e-8
    np.testing.assert_array_equal(bound[tiny], exact[tiny])


def test_threads_give_bitwise_identical_moments(monkeypatch):
    """The compiled programs and Plackett terms on 1 and on 2 threads (forced): bitwise equal,
    also for a nearly collinear deep-layer kernel (lifted rank-3 and exact rank-2 blocks)."""
    if _relu_four.compiled_program() is None:
        pytest.skip("no compiled loop (numba missing or FIELDNN_NUMBA=0)")
    rng = np.random.default_rng(12)
    X = rng.normal(size=(8, 3))
    kernels = [gram(X), gram(np.vstack([X[:5], X[:2] * 2.0, X[5:6] + 1e-7]))]
    W = np.ones((8, 8)) + 1e-5 * gram(X)  # correlations ≈ 1 − 1e-5, as at depth ~1000
    kernels.append(W)
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(_erf_four, "thread_count", lambda n=threads: n)
        monkeypatch.setattr(_erf_four, "BREAK_EVEN", 0)
        results.append([relu_moment_values(K, s, 4) for K in kernels for s in SLOPES])
    for one, two in zip(*results, strict=True):
        assert np.array_equal(one, two)
