"""Deep recursions K, Θ, V, K^{1}: closed forms, exact finite width, internal consistency.

Every check compares two independent routes: a closed form written here (linear nets, the relu
angle map, relu/linear exact finite-width moments, the σ = z² recursion) or finite differences
of closed-form pair expectations against the library's Gaussian-identity derivatives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldnn.errors import ArgumentError, ShapeError, UnsupportedError
from fieldnn.kernels import get_activation, leaky_relu
from fieldnn.kernels._deep_gaussian import pair_terms, propagate
from fieldnn.kernels.deep import (
    exact_single_input_moment,
    four_point_vertex,
    kernel_recursion,
    nlo_kernel_correction,
    ntk_recursion,
)
from fieldnn.kernels.gaussian import pair_expectation

X3 = np.array([[1.0, 0.2], [-0.4, 0.9], [0.3, -0.5]])


# --------------------------------------------------------------------------------------------
# kernel recursion
# --------------------------------------------------------------------------------------------
def test_linear_kernel_closed_form_per_layer() -> None:
    cw = [0.7, 1.3, 0.9, 1.1]
    cb = [0.1, 0.0, 0.4, 0.2]
    Ks = kernel_recursion("linear", X3, C_W=cw, C_b=cb, depth=4)
    K = cb[0] + cw[0] * X3 @ X3.T / 2
    np.testing.assert_allclose(Ks[0], K, rtol=1e-14)
    for layer in range(1, 4):
        K = cb[layer] + cw[layer] * K
        np.testing.assert_allclose(Ks[layer], K, rtol=1e-14)


def test_relu_angle_map() -> None:
    """K_ab = (C_W/2π) √(K_aa K_bb)(sin θ + (π − θ) cos θ); the norm scales by C_W/2."""
    cw = 1.7
    Ks = kernel_recursion("relu", X3, C_W=cw, C_b=0.0, depth=6)
    norms = np.diag(Ks[0]).copy()
    cos = Ks[0] / np.sqrt(np.outer(norms, norms))
    for K in Ks[1:]:
        norms = norms * cw / 2
        theta = np.arccos(np.clip(cos, -1, 1))
        cos = (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
        np.testing.assert_allclose(np.diag(K), norms, rtol=1e-13)
        np.testing.assert_allclose(K, cos * np.sqrt(np.outer(norms, norms)), rtol=1e-12)


def test_kernel_recursion_matches_tanh_quadrature() -> None:
    """One tanh step against scipy quad of the 2-d Gaussian integral (independent)."""
    from scipy import integrate

    K1 = kernel_recursion("tanh", X3[:2], C_W=1.2, C_b=0.3, depth=2)
    k = K1[0]
    L = np.linalg.cholesky(k)

    def integrand(u2: float, u1: float) -> float:
        z = L @ np.array([u1, u2])
        return np.tanh(z[0]) * np.tanh(z[1]) * np.exp(-(u1 * u1 + u2 * u2) / 2) / (2 * np.pi)

    val, _ = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=1e-12)
    assert K1[1][0, 1] == pytest.approx(0.3 + 1.2 * val, rel=1e-8)


def test_parity_folded_pair_quadrature_equals_the_full_lattice(monkeypatch) -> None:
    """σσ and σ'σ' of odd σ are even in u: the folded half lattice gives the full-lattice sum
    (to rounding); σ without symmetry (gelu) and the Gauss-net unit are not folded."""
    from fieldnn.kernels import gaussian

    assert [gaussian._parity(get_activation(n), 0) for n in ("tanh", "gelu", "gauss")] == [
        -1,
        0,
        0,
    ]
    assert gaussian._parity(get_activation("tanh"), 1) == 1
    assert gaussian._parity(get_activation(lambda z: np.cos(2 * z)), 0) == 1
    k11, k22, k12 = np.array([0.3, 1.7, 4.0]), np.array([0.9, 1.2, 4.0]), np.array([0.1, -1.3, 4.0])
    folded = [pair_expectation("tanh", k11, k22, k12, derivatives=(d, d)) for d in (0, 1)]
    monkeypatch.setattr(gaussian, "_parity", lambda act, order: 0)
    for d, value in enumerate(folded):
        full = pair_expectation("tanh", k11, k22, k12, derivatives=(d, d))
        np.testing.assert_allclose(value, full, rtol=1e-14)


# --------------------------------------------------------------------------------------------
# NTK
# --------------------------------------------------------------------------------------------
def test_ntk_linear_closed_form() -> None:
    """σ(z) = z: Θ^(ℓ+1) = λ_b + λ_W K^(ℓ) + C_W Θ^(ℓ), unrolled by hand."""
    cw, cb, lw, lb = [1.1, 0.8, 1.3], [0.2, 0.1, 0.0], [0.5, 1.5, 2.0], [0.3, 0.0, 0.7]
    T = ntk_recursion("linear", X3, C_W=cw, C_b=cb, lambda_W=lw, lambda_b=lb, depth=3)
    G = X3 @ X3.T / 2
    K, th = cb[0] + cw[0] * G, lb[0] + lw[0] * G
    np.testing.assert_allclose(T[0], th, rtol=1e-14)
    for layer in (1, 2):
        th = lb[layer] + lw[layer] * K + cw[layer] * th
        K = cb[layer] + cw[layer] * K
        np.testing.assert_allclose(T[layer], th, rtol=1e-13)


def test_ntk_relu_single_input_closed_form() -> None:
    """relu, one input, C_b = λ_b = 0, λ_W = C_W = 2: Θ^(ℓ) = ℓ K (K constant)."""
    x = np.array([[0.6, -1.2, 0.5]])
    T = ntk_recursion("relu", x, C_W=2.0, C_b=0.0, lambda_W=2.0, lambda_b=0.0, depth=7)
    K = 2.0 * float((x @ x.T)[0, 0]) / 3
    np.testing.assert_allclose([t[0, 0] for t in T], K * np.arange(1, 8), rtol=1e-13)


# --------------------------------------------------------------------------------------------
# four-point vertex
# --------------------------------------------------------------------------------------------
def test_relu_vertex_linear_growth_at_criticality() -> None:
    """relu, C_W = 2, C_b = 0, one input: V^(ℓ) = 5 (ℓ − 1) K² (derived in docs/eft.md)."""
    Vs = four_point_vertex(
        "relu", np.array([[1.5]]), C_W=2.0, C_b=0.0, widths=[1] + [30] * 9, all_layers=True
    )
    K = 2.0 * 1.5**2
    np.testing.assert_allclose(
        [v[0, 0, 0, 0] for v in Vs], 5 * np.arange(9) * K**2, rtol=1e-12, atol=1e-12
    )


def test_linear_vertex_closed_form() -> None:
    """σ(z) = z, C_b = 0: V^(ℓ+1) = C_W²[K_ac K_bd + K_ad K_bc] + (n_ℓ/n_{ℓ−1}) C_W² V^(ℓ)."""
    widths = [2, 10, 30, 20, 1]
    cw = [1.0, 1.2, 0.8, 1.5]
    V = four_point_vertex("linear", X3, C_W=cw, C_b=0.0, widths=widths)
    K = X3 @ X3.T / 2
    Vh = np.zeros((3,) * 4)
    for layer in range(1, 4):
        local = np.einsum("ac,bd->abcd", K, K) + np.einsum("ad,bc->abcd", K, K)
        ratio = widths[layer] / widths[layer - 1] if layer >= 2 else 0.0
        Vh = cw[layer] ** 2 * (local + ratio * Vh)
        K = cw[layer] * K
    np.testing.assert_allclose(V, Vh, rtol=1e-12)


@pytest.mark.parametrize(("name", "slopes"), [("relu", (0.0, 1.0)), ("linear", (1.0, 1.0))])
def test_exact_finite_width_approaches_vertex(name: str, slopes: tuple[float, float]) -> None:
    """n [E z⁴/(3 (E z²)²) − 1] (exact, finite n) → V/K² with a 1/n remainder."""
    L, cw = 5, 2.0 / (slopes[0] ** 2 + slopes[1] ** 2)
    x = np.array([0.8, -0.3])
    V = four_point_vertex(name, x[None, :], C_W=cw, C_b=0.0, widths=[2] + [7] * L)[0, 0, 0, 0]
    K = kernel_recursion(name, x[None, :], C_W=cw, C_b=0.0, depth=L)[-1][0, 0]
    errors = []
    for n in (100, 1000, 10000):
        w = [2] + [n] * L
        m2 = exact_single_input_moment(x, w, C_W=cw, order=2, activation=name)
        m4 = exact_single_input_moment(x, w, C_W=cw, order=4, activation=name)
        assert m2 == pytest.approx(K, rel=1e-13)  # no 1/n correction to E z² (g linear)
        errors.append(n * (m4 / (3 * m2 * m2) - 1) - V / K**2)
    # the remainder is O(1/n): shrinks tenfold per decade
    assert abs(errors[1] / errors[0] - 0.1) < 0.02
    assert abs(errors[2]) < 2e-3 * V / K**2


def test_exact_moment_relu_binomial_formula() -> None:
    """relu: E[Y²] = n²/4 + 5n/4 per layer, so E z⁴ = 3 K² Π (1 + 5/n_ℓ) for C_W = 2."""
    w = [3, 7, 11, 5, 2]
    x = np.array([0.3, 1.0, -0.7])
    K = 2.0 * float(x @ x) / 3
    expect = 3 * K**2 * (1 + 5 / 7) * (1 + 5 / 11) * (1 + 5 / 5)
    assert exact_single_input_moment(x, w, C_W=2.0, order=4) == pytest.approx(expect, rel=1e-14)
    assert exact_single_input_moment(x, w, C_W=2.0, order=3) == 0.0
    # sixth moment: E[Y³] of relu units from Binomial/chi-square: E[B(B+2)(B+4)]
    n = 7
    b = np.arange(n + 1)
    pb = np.array([math.comb(n, k) for k in b]) / 2.0**n
    ey3 = float(np.sum(pb * b * (b + 2) * (b + 4)))
    m6 = exact_single_input_moment(x, [3, 7, 1], C_W=2.0, order=6)
    assert m6 == pytest.approx(15 * K**3 * (2.0 / 7) ** 3 * ey3, rel=1e-13)


@pytest.mark.parametrize("name", ["tanh", "relu", "erf", "gelu"])
def test_vertex_duplicate_inputs_reduce_to_single_input(name: str) -> None:
    X1 = np.array([[0.7, 0.2]])
    X2 = np.array([[0.7, 0.2], [0.7, 0.2], [-0.3, 0.5]])
    kw = {"C_W": 1.5, "C_b": 0.1, "widths": [2, 10, 20, 10, 1]}
    V1 = four_point_vertex(name, X1, **kw)[0, 0, 0, 0]
    V2 = four_point_vertex(name, X2, **kw)
    np.testing.assert_allclose(V2[:2, :2, :2, :2], V1, rtol=1e-9)


@pytest.mark.parametrize(("name", "X"), [("relu", X3), ("tanh", X3[:2])])
def test_vertex_symmetries(name: str, X: np.ndarray) -> None:
    V = four_point_vertex(name, X, C_W=[1.0, 1.4, 0.9], C_b=0.2, widths=[2, 8, 16, 1])
    np.testing.assert_allclose(V, V.transpose(1, 0, 2, 3), atol=1e-15)
    np.testing.assert_allclose(V, V.transpose(0, 1, 3, 2), atol=1e-15)
    np.testing.assert_allclose(V, V.transpose(2, 3, 0, 1), rtol=1e-10, atol=1e-15)


def test_width_ratio_enters_only_from_layer_two() -> None:
    """V^(2) is local (no width dependence); V^(3) = local + (n_2/n_1) · propagated."""
    kw = {"C_W": 1.3, "C_b": 0.05}
    L2 = four_point_vertex("erf", X3[:2], widths=[2, 10, 1], **kw)
    L2b = four_point_vertex("erf", X3[:2], widths=[2, 999, 1], **kw)
    np.testing.assert_allclose(L2, L2b, rtol=1e-15)
    v1, v2, v3 = (
        four_point_vertex("erf", X3[:2], widths=[2, 10, 10 * r, 1], **kw) for r in (1, 2, 3)
    )
    prop = v2 - v1
    assert np.max(np.abs(prop)) > 1e-3 * np.max(np.abs(v1))
    np.testing.assert_allclose(v3, v1 + 2 * prop, rtol=1e-12, atol=1e-15)


def test_tanh_vertex_slope_two_thirds() -> None:
    """K* = 0 class at criticality: V/(ℓ K²) → 2/3 (RYH ch. 5), corrections O(log ℓ/ℓ)."""
    L = 400
    Vs = four_point_vertex(
        "tanh", np.array([[1.0]]), C_W=1.0, C_b=0.0, widths=[1] + [50] * L, all_layers=True
    )
    Ks = kernel_recursion("tanh", np.array([[1.0]]), C_W=1.0, C_b=0.0, depth=L)
    ratio = [Vs[i][0, 0, 0, 0] / (Ks[i][0, 0] ** 2 * (i + 1)) for i in (99, 399)]
    assert abs(ratio[1] - 2 / 3) < abs(ratio[0] - 2 / 3)  # converging
    assert ratio[1] == pytest.approx(2 / 3, rel=0.03)


# --------------------------------------------------------------------------------------------
# derivative identities used by V and K^{1}
# --------------------------------------------------------------------------------------------
def _coordinate_V(P_pair: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random pair-symmetric V on two inputs, with its 3×3 coordinate matrix (aa, bb, ab)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(3, 3))
    Vc = A @ A.T
    coords = [(0, 0), (1, 1), (0, 1)]
    V = np.zeros((2,) * 4)
    for i, (a, b) in enumerate(coords):
        for j, (c, d) in enumerate(coords):
            for p, q in {(a, b), (b, a)}:
                for r, s in {(c, d), (d, c)}:
                    V[p, q, r, s] = Vc[i, j]
    return V, Vc


@pytest.mark.parametrize("name", ["erf", "relu", "leaky_relu", "sin"])
def test_gradient_and_hessian_against_finite_differences(name: str) -> None:
    """D1, D3 (Stein) and the V-contracted Hessian vs differences of closed-form ⟨σσ⟩."""
    act = get_activation(name)
    K = np.array([[1.2, 0.5], [0.5, 0.8]])
    V, Vc = _coordinate_V((0, 1), 3)
    D1, D3, second = pair_terms(act, K, V)

    def H(x: np.ndarray) -> float:
        return float(pair_expectation(act, x[0], x[1], x[2]))

    x0 = np.array([1.2, 0.8, 0.5])
    h = 1e-5
    grad = [(H(x0 + h * e) - H(x0 - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose([D1[0, 1], D1[1, 0], D3[0, 1]], grad, rtol=1e-8)
    hh = 2e-3
    hess = np.empty((3, 3))
    for i, ei in enumerate(np.eye(3) * hh):
        for j, ej in enumerate(np.eye(3) * hh):
            hess[i, j] = (H(x0 + ei + ej) - H(x0 + ei - ej) - H(x0 - ei + ej) + H(x0 - ei - ej)) / (
                4 * hh * hh
            )
    assert second[0, 1] == pytest.approx(0.5 * np.sum(hess * Vc), rel=1e-5)
    # diagonal: 2 D1 + D3 = g'(K)
    g = [float(pair_expectation(act, k, k, k)) for k in (1.2 - h, 1.2 + h)]
    assert 2 * D1[0, 0] + D3[0, 0] == pytest.approx((g[1] - g[0]) / (2 * h), rel=1e-7)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_propagate_is_the_coordinate_contraction(seed: int) -> None:
    """propagate(D1, D3, V)[ab, cd] = Σ_ij ∇_i H_ab ∇_j H_cd V_ij over coordinates."""
    rng = np.random.default_rng(seed)
    P = 3
    D1, D3 = rng.normal(size=(P, P)), rng.normal(size=(P, P))
    D3 = D3 + D3.T
    V = rng.normal(size=(P,) * 4)
    V = V + V.transpose(1, 0, 2, 3)
    V = V + V.transpose(0, 1, 3, 2)
    V = V + V.transpose(2, 3, 0, 1)
    out = propagate(D1, D3, V)

    def grad(a: int, b: int) -> np.ndarray:
        g = np.zeros((P, P))
        g[a, a] += D1[a, b]
        g[b, b] += D1[b, a]
        g[a, b] += D3[a, b] / 2
        g[b, a] += D3[a, b] / 2
        return g

    for a, b, c, d in [(0, 1, 2, 2), (1, 1, 0, 2), (0, 0, 0, 0), (2, 1, 0, 1)]:
        expect = np.einsum("ij,ijkl,kl->", grad(a, b), V, grad(c, d))
        assert out[a, b, c, d] == pytest.approx(expect, rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------------------------
# NLO kernel
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["relu", "linear", leaky_relu(0.2)])
def test_nlo_vanishes_for_homogeneous_single_input(act: object) -> None:
    K1 = nlo_kernel_correction(
        act, np.array([[1.0, 0.5]]), C_W=1.7, C_b=0.3, widths=[2, 9, 9, 9, 9, 1], all_layers=True
    )
    assert all(float(k[0, 0]) == 0.0 for k in K1)


def test_nlo_quadratic_activation_closed_form() -> None:
    """σ = z²: g = 3K², g' = 6K, g'' = 6, ⟨σ⁴⟩ − ⟨σ²⟩² = 96 K⁴ (Wick), so
    V' = 96 C_W² K⁴ + r (6 C_W K)² V and K1' = r C_W (6 K K1 + 3 V), r = n_ℓ/n_{ℓ−1}."""
    act = get_activation(lambda z: z * z, derivative=lambda z: 2 * z)
    widths = [1, 8, 16, 12, 10, 1]
    cw, cb = 0.4, 0.2
    x = np.array([[0.9]])
    K1s = nlo_kernel_correction(act, x, C_W=cw, C_b=cb, widths=widths, all_layers=True)
    Vs = four_point_vertex(act, x, C_W=cw, C_b=cb, widths=widths, all_layers=True)
    K, V, K1 = cb + cw * 0.81, 0.0, 0.0
    for layer in range(1, 5):
        r = widths[layer] / widths[layer - 1] if layer >= 2 else 0.0
        V, K1, K = (
            96 * cw**2 * K**4 + r * (6 * cw * K) ** 2 * V,
            r * cw * (6 * K * K1 + 3 * V),
            cb + cw * 3 * K**2,
        )
        assert Vs[layer][0, 0, 0, 0] == pytest.approx(V, rel=1e-9)
        assert K1s[layer][0, 0] == pytest.approx(K1, rel=1e-8, abs=1e-14)


def test_nlo_duplicate_inputs() -> None:
    X1 = np.array([[0.7, 0.2]])
    X2 = np.array([[0.7, 0.2], [0.7, 0.2], [-0.3, 0.5]])
    kw = {"C_W": 1.5, "C_b": 0.1, "widths": [2, 10, 20, 10, 1]}
    k1 = nlo_kernel_correction("tanh", X1, **kw)[0, 0]
    k2 = nlo_kernel_correction("tanh", X2, **kw)
    np.testing.assert_allclose(k2[:2, :2], k1, rtol=1e-8)


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------
def test_argument_errors() -> None:
    with pytest.raises(ShapeError, match="widths"):
        four_point_vertex("tanh", X3, C_W=1.0, C_b=0.0, widths=[3, 10, 1])
    with pytest.raises(ShapeError, match="C_W"):
        kernel_recursion("tanh", X3, C_W=[1.0, 2.0], C_b=0.0, depth=3)
    with pytest.raises(ArgumentError, match="C_b"):
        kernel_recursion("tanh", X3, C_W=1.0, C_b=-0.1, depth=3)
    with pytest.raises(UnsupportedError, match="normalised"):
        four_point_vertex("gauss", X3, C_W=1.0, C_b=0.0, widths=[2, 10, 1])
    with pytest.raises(ArgumentError, match="zero pre-activation variance"):
        four_point_vertex("tanh", np.zeros((1, 2)), C_W=1.0, C_b=0.0, widths=[2, 10, 1])
    with pytest.raises(UnsupportedError, match="homogeneous"):
        exact_single_input_moment([1.0], [1, 5, 1], C_W=1.0, activation="tanh")


def test_overflow_of_ntk_and_vertex_names_c_w() -> None:
    X = np.array([[1.0], [0.25]])
    with pytest.raises(ArgumentError, match=r"'C_W'.*kernel overflows float64 at layer 8"):
        ntk_recursion("relu", X, C_W=1e40, C_b=0.0, lambda_W=1.0, lambda_b=0.0, depth=20)
    with pytest.raises(ArgumentError, match=r"'C_W'.*four-point vertex overflows .* layer 4"):
        four_point_vertex("relu", X, C_W=1e40, C_b=0.0, widths=[1] + [5] * 19 + [1])


@pytest.mark.parametrize("scale", [1e-150, 1e-60])
def test_relu_recursions_are_scale_invariant_down_to_tiny_kernels(scale: float) -> None:
    """C_b = 0, relu: K has degree 1 and V degree 2 in x x^T; no underflow of √(k11 k22)."""
    X = np.array([[1.0, 0.2], [0.5, -0.7]])
    widths = [2, 5, 6, 7, 1]
    K = kernel_recursion("relu", scale * X, C_W=2.0, C_b=0.0, depth=4)
    K1 = kernel_recursion("relu", X, C_W=2.0, C_b=0.0, depth=4)
    for k, k1 in zip(K, K1, strict=True):
        np.testing.assert_allclose(k, scale**2 * k1, rtol=1e-13)
    V = four_point_vertex("relu", scale * X, C_W=2.0, C_b=0.0, widths=widths)
    V1 = four_point_vertex("relu", X, C_W=2.0, C_b=0.0, widths=widths)
    np.testing.assert_allclose(V, scale**4 * V1, rtol=1e-12, atol=1e-320)


@pytest.mark.parametrize("name", ["gauss", "erf", "relu"])
def test_two_layer_kernel_is_the_seed_001_kernel(name: str) -> None:
    """Conventions agree (σ_W² = C_W, σ_b² = C_b): K^(2) = single-layer GP kernel."""
    from fieldnn.kernels.gp import single_layer_kernel

    K2 = kernel_recursion(name, X3, C_W=1.7, C_b=0.4, depth=2)[-1]
    np.testing.assert_allclose(
        K2, single_layer_kernel(name, X3, sigma_w2=1.7, sigma_b2=0.4), rtol=1e-13
    )


@settings(max_examples=4, deadline=None)
@given(st.permutations([0, 1, 2]))
def test_vertex_is_equivariant_under_relabelling_inputs(perm: list[int]) -> None:
    kw = {"C_W": 1.8, "C_b": 0.1, "widths": [2, 12, 6, 9, 1]}
    V = four_point_vertex("relu", X3, **kw)
    Vp = four_point_vertex("relu", X3[perm], **kw)
    np.testing.assert_allclose(Vp, V[np.ix_(perm, perm, perm, perm)], rtol=1e-10, atol=1e-14)
    K1 = nlo_kernel_correction("relu", X3, **kw)
    K1p = nlo_kernel_correction("relu", X3[perm], **kw)
    np.testing.assert_allclose(K1p, K1[np.ix_(perm, perm)], rtol=1e-9, atol=1e-14)
