"""Criticality: fixed points, χ∥, χ⊥, critical points and the K* = 0 depth asymptotics.

Independent route: scipy ``quad`` of one-dimensional Gaussian integrals with σ'' written out
by hand (the library only ever evaluates σ and σ', through Stein's lemma).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special

from fieldnn.errors import ArgumentError, UnsupportedError
from fieldnn.kernels import leaky_relu
from fieldnn.kernels.criticality import (
    correlation_fixed_points,
    critical_point,
    criticality,
    depth_asymptotics,
    fixed_point_curve,
    phase_diagram,
    taylor_coefficients,
)
from fieldnn.kernels.deep import kernel_recursion


def gauss(f, K: float) -> float:
    """⟨f(z)⟩, z ~ N(0, K), by adaptive quadrature over u = z/√K."""
    s = math.sqrt(K)
    val, _ = integrate.quad(
        lambda u: f(s * u) * math.exp(-u * u / 2) / math.sqrt(2 * math.pi),
        -np.inf,
        np.inf,
        epsabs=1e-14,
        epsrel=1e-13,
        limit=200,
    )
    return val


SIGMA = {
    "tanh": (
        math.tanh,
        lambda z: 1 - math.tanh(z) ** 2,
        lambda z: -2 * math.tanh(z) * (1 - math.tanh(z) ** 2),
    ),
    "gelu": (
        lambda z: z * special.ndtr(z),
        lambda z: special.ndtr(z) + z * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
        lambda z: (2 - z * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
    ),
    "swish": (
        lambda z: z * special.expit(z),
        lambda z: special.expit(z) * (1 + z * (1 - special.expit(z))),
        lambda z: special.expit(z) * (1 - special.expit(z)) * (2 + z * (1 - 2 * special.expit(z))),
    ),
}


# --------------------------------------------------------------------------------------------
# fixed points and susceptibilities
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("C_b", "C_W"), [(1.0, 2.0), (0.3, 0.8), (0.05, 1.6), (0.0, 2.5)])
def test_tanh_fixed_point_and_susceptibilities(C_b: float, C_W: float) -> None:
    s, ds, dds = SIGMA["tanh"]
    r = criticality("tanh", C_b=C_b, C_W=C_W)
    K = r.K_star
    assert K == pytest.approx(C_b + C_W * gauss(lambda z: s(z) ** 2, K), rel=1e-11, abs=1e-14)
    assert r.chi_parallel == pytest.approx(
        C_W * gauss(lambda z: ds(z) ** 2 + s(z) * dds(z), K), rel=1e-9
    )
    assert r.chi_perp == pytest.approx(C_W * gauss(lambda z: ds(z) ** 2, K), rel=1e-9)
    assert r.stable == (r.chi_parallel <= 1)
    assert r.phase == ("chaotic" if r.chi_perp > 1 else "ordered")
    if C_b > 0:
        # the depth recursion flows to K*
        Ks = kernel_recursion("tanh", np.array([[1.0]]), C_W=C_W, C_b=C_b, depth=120)
        assert Ks[-1][0, 0] == pytest.approx(K, rel=1e-8)


def test_relu_fixed_points_closed_form() -> None:
    r = criticality("relu", C_b=0.5, C_W=1.5)
    assert r.K_star == pytest.approx(0.5 / (1 - 1.5 / 2), rel=1e-12)
    assert (r.chi_parallel, r.chi_perp, r.phase) == (0.75, 0.75, "ordered")
    a = 0.3
    r = criticality(leaky_relu(a), C_b=0.2, C_W=1.0)
    assert r.K_star == pytest.approx(0.2 / (1 - (1 + a * a) / 2), rel=1e-12)
    assert r.chi_parallel == pytest.approx((1 + a * a) / 2, rel=1e-14)


@pytest.mark.parametrize(("C_b", "C_W"), [(0.0, 3.0), (0.1, 2.0), (1.0, 2.5)])
def test_relu_without_finite_fixed_point_says_so(C_b: float, C_W: float) -> None:
    r = criticality("relu", C_b=C_b, C_W=C_W)
    assert r.phase == "divergent"
    assert math.isinf(r.K_star) and math.isnan(r.chi_parallel)
    assert "no finite stable fixed point" in r.message
    assert not r.stable


def test_scale_invariant_line_of_fixed_points() -> None:
    r = criticality("relu", C_b=0.0, C_W=2.0, K0=3.0)
    assert (r.K_star, r.chi_parallel, r.chi_perp, r.phase) == (3.0, 1.0, 1.0, "critical")
    assert math.isnan(criticality("relu", C_b=0.0, C_W=2.0).K_star)


def test_K0_selects_the_attractor() -> None:
    """tanh, C_b = 0, C_W = 2: K = 0 is unstable; any K0 > 0 flows to the nonzero K*."""
    r0 = criticality("tanh", C_b=0.0, C_W=2.0)
    assert r0.fixed_points[0] == 0.0 and len(r0.fixed_points) == 2
    assert r0.K_star == r0.fixed_points[1]
    assert criticality("tanh", C_b=0.0, C_W=2.0, K0=1e-3).K_star == r0.K_star
    assert criticality("tanh", C_b=0.0, C_W=2.0, K0=0.0).K_star == 0.0


def test_argument_errors() -> None:
    with pytest.raises(ArgumentError, match="C_W"):
        criticality("tanh", C_b=0.0, C_W=0.0)
    with pytest.raises(ArgumentError, match="C_b"):
        criticality("tanh", C_b=-1.0, C_W=1.0)
    with pytest.raises(UnsupportedError):
        criticality("gauss", C_b=0.0, C_W=1.0)


# --------------------------------------------------------------------------------------------
# critical points
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("act", "C_W", "cls"),
    [
        ("tanh", 1.0, "K*=0"),
        ("sin", 1.0, "K*=0"),
        ("erf", math.pi / 4, "K*=0"),  # σ1 = 2/√π
        ("relu", 2.0, "scale-invariant"),
        (leaky_relu(0.5), 2 / 1.25, "scale-invariant"),
        ("linear", 1.0, "scale-invariant"),
    ],
)
def test_critical_points_closed_form(act: object, C_W: float, cls: str) -> None:
    p = critical_point(act)
    assert (p.C_b, p.universality_class) == (0.0, cls)
    assert p.C_W == pytest.approx(C_W, rel=1e-12)
    r = criticality(act, C_b=p.C_b, C_W=p.C_W, K0=None if cls == "K*=0" else 1.0)
    assert r.chi_parallel == pytest.approx(1.0, abs=1e-9)
    assert r.chi_perp == pytest.approx(1.0, abs=1e-9)
    assert r.phase == "critical"


@pytest.mark.parametrize("name", ["gelu", "swish"])
def test_nonzero_critical_point_against_quadrature(name: str) -> None:
    """Solve ⟨σσ''⟩_K = 0, C_W = 1/⟨σ'²⟩, C_b = K − C_W g(K) with scipy quad + brentq."""
    s, ds, dds = SIGMA[name]
    K = optimize.brentq(lambda k: gauss(lambda z: s(z) * dds(z), k), 1.0, 30.0, xtol=1e-13)
    C_W = 1 / gauss(lambda z: ds(z) ** 2, K)
    C_b = K - C_W * gauss(lambda z: s(z) ** 2, K)
    p = critical_point(name)
    assert p.universality_class == "nonzero K*"
    assert p.K_star == pytest.approx(K, rel=1e-8)
    assert p.C_W == pytest.approx(C_W, rel=1e-9)
    assert p.C_b == pytest.approx(C_b, rel=1e-8)
    # the tangent fixed point is found at (C_b, C_W) and is critical. It is half-stable: next
    # to it sits a stable crossing (GELU below it, SWISH above it), so it is reached from
    # above for GELU and from below for SWISH.
    r = criticality(name, C_b=p.C_b, C_W=p.C_W, K0=(2.0 if name == "gelu" else 0.5) * p.K_star)
    assert r.K_star == pytest.approx(p.K_star, rel=1e-6)
    assert r.phase == "critical"


def test_gelu_critical_kernel_is_algebraic() -> None:
    """Observed (and derivable): GELU's critical K* is the root of K² − 3K − 2 = 0."""
    assert critical_point("gelu").K_star == pytest.approx((3 + math.sqrt(17)) / 2, rel=1e-10)


# --------------------------------------------------------------------------------------------
# depth asymptotics of the K* = 0 class
# --------------------------------------------------------------------------------------------
def test_taylor_coefficients() -> None:
    np.testing.assert_allclose(taylor_coefficients("tanh"), [0, 1, 0, -2, 0, 16], atol=1e-10)
    np.testing.assert_allclose(
        taylor_coefficients("swish"), [0, 0.5, 0.5, 0, -0.5, 0], atol=1e-7
    )  # x/2 + x²/4 − x⁴/48: no complex evaluation (expit), Chebyshev route


@pytest.mark.parametrize(("name", "a1"), [("tanh", -2.0), ("erf", -2.0), ("sin", -1.0)])
def test_depth_asymptotics_against_recursion(name: str, a1: float) -> None:
    d = depth_asymptotics(name)
    assert d.in_class and d.a1 == pytest.approx(a1, rel=1e-9)
    C_W = critical_point(name).C_W
    Ks = kernel_recursion(name, np.array([[1.0]]), C_W=C_W, C_b=0.0, depth=3000)
    ell = np.array([300, 3000])
    K = np.array([Ks[i - 1][0, 0] for i in ell])
    lead = d.kernel(ell, log_correction=False)
    full = d.kernel(ell)
    # ℓ K → 1/(−a1); with the log term the remainder is O(1/ℓ) instead of O(log ℓ/ℓ)
    err_lead, err_full = np.abs(K / lead - 1), np.abs(K / full - 1)
    assert err_full[1] < err_lead[1] and err_full[1] < 1e-3
    assert err_full[1] < 0.2 * err_full[0]


def test_gelu_is_not_in_the_K0_class() -> None:
    d = depth_asymptotics("gelu")
    assert d.a1 == pytest.approx(6 / math.pi, rel=1e-9)  # σ1 = 1/2, σ2 = √(2/π), σ3 = 0
    assert not d.in_class


# --------------------------------------------------------------------------------------------
# plot data
# --------------------------------------------------------------------------------------------
def test_fixed_point_curve_seed_example() -> None:
    """Seed: graphical solution at C_b = 1, C_W = 2 (tanh): one crossing, slope < 1."""
    c = fixed_point_curve("tanh", 1.0, 2.0)
    assert c.fixed_points.size == 1
    k = c.fixed_points[0]
    assert np.interp(k, c.K, c.map_values) == pytest.approx(k, rel=1e-4)
    diff = c.map_values - c.K
    assert np.all(diff[c.K < k] > 0) and np.all(diff[c.K > k] < 0)
    assert c.chi_parallel[0] == pytest.approx(criticality("tanh", C_b=1.0, C_W=2.0).chi_parallel)


def test_phase_diagram_consistency() -> None:
    d = phase_diagram("tanh", [0.0, 0.2], [0.5, 1.0, 1.5])
    assert d.chi_perp.shape == (2, 3)
    for i, cb in enumerate(d.C_b):
        for j, cw in enumerate(d.C_W):
            r = criticality("tanh", C_b=float(cb), C_W=float(cw))
            assert (d.K_star[i, j], d.chi_perp[i, j], d.phase[i, j]) == (
                r.K_star,
                r.chi_perp,
                r.phase,
            )
    assert d.phase[0, 1] == "critical"
    r = phase_diagram("relu", [0.0], [1.0, 3.0])
    assert r.phase.tolist() == [["ordered", "divergent"]] and math.isnan(r.chi_perp[0, 1])


def test_correlation_fixed_points() -> None:
    """Chaotic phase: ρ = 1 unstable (slope χ⊥ > 1) and a stable ρ* < 1; ordered: only ρ = 1."""
    r = criticality("tanh", C_b=0.05, C_W=2.0)
    pts = correlation_fixed_points("tanh", C_b=0.05, C_W=2.0)
    top = pts[-1]
    assert top.rho == 1.0 and top.slope == pytest.approx(r.chi_perp, rel=1e-9) and not top.stable
    inner = [p for p in pts if p.stable]
    assert len(inner) == 1 and inner[0].rho < 1
    # one step of the two-input recursion, by 2-d quadrature, returns ρ* K*
    K, rho = r.K_star, inner[0].rho
    L = np.linalg.cholesky(K * np.array([[1.0, rho], [rho, 1.0]]))

    def integrand(u2: float, u1: float) -> float:
        z = L @ np.array([u1, u2])
        return np.tanh(z[0]) * np.tanh(z[1]) * np.exp(-(u1 * u1 + u2 * u2) / 2) / (2 * np.pi)

    H, _ = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=1e-11)
    assert 0.05 + 2.0 * H == pytest.approx(rho * K, rel=1e-8)
    ordered = correlation_fixed_points("tanh", C_b=0.3, C_W=1.0)
    assert [p.rho for p in ordered] == [1.0] and ordered[0].stable


@settings(max_examples=20, deadline=None)
@given(st.floats(0.01, 2.0), st.floats(0.2, 3.0))
def test_erf_fixed_point_property(C_b: float, C_W: float) -> None:
    """erf closed forms: g(K) = (2/π) arcsin(2K/(1 + 2K)), ⟨σ'²⟩ = (4/π)/√(1 + 4K)."""
    r = criticality("erf", C_b=C_b, C_W=C_W)
    K = r.K_star
    assert K == pytest.approx(C_b + C_W * 2 / np.pi * np.arcsin(2 * K / (1 + 2 * K)), rel=1e-11)
    assert r.chi_perp == pytest.approx(C_W * 4 / np.pi / np.sqrt(1 + 4 * K), rel=1e-11)
    # χ∥ = C_W g'(K), g'(K) = (4/π) / ((1 + 2K) √(1 + 4K))
    assert r.chi_parallel == pytest.approx(
        C_W * 4 / np.pi / ((1 + 2 * K) * np.sqrt(1 + 4 * K)), rel=1e-8
    )
    assert r.stable and r.phase == ("chaotic" if r.chi_perp > 1 else "ordered")


# --------------------------------------------------------------------------------------------
# robustness of the fixed-point search: noise, near-tangencies, overflow
# --------------------------------------------------------------------------------------------
def test_gelu_at_zero_bias_and_relu_weight_variance() -> None:
    """(C_b, C_W) = (0, 2): g(K) < K/2 for GELU (Φ² + (1 − Φ)² < 1), so f = 2g − K < 0 for
    every K > 0 and tends to 0⁻ like K^(−1/2): K* = 0 is the only fixed point, χ = C_W σ'(0)²."""
    d = phase_diagram("gelu", [0.0, 0.1], [1.9, 2.0, 2.1])
    assert d.K_star[0].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(d.chi_parallel[0], np.array([1.9, 2.0, 2.1]) / 4, rtol=1e-12)
    np.testing.assert_allclose(d.chi_perp[0], np.array([1.9, 2.0, 2.1]) / 4, rtol=1e-12)
    assert criticality("gelu", C_b=0.0, C_W=2.0).fixed_points == (0.0,)
    # with C_b > 0 a stable K* > 0 solves K = C_b + C_W ⟨(zΦ(z))²⟩ (independent quadrature)
    gelu = lambda z: z * special.ndtr(z)  # noqa: E731
    for j, cw in enumerate((1.9, 2.0)):
        k = d.K_star[1, j]
        assert 0 < k < 10
        assert k == pytest.approx(0.1 + cw * gauss(lambda z: gelu(z) ** 2, k), rel=1e-9)


def test_fixed_points_ignore_evaluation_noise(monkeypatch) -> None:
    """A noisier g (1e-12 relative, as a coarser quadrature gives) makes f = 2g − K of GELU at
    C_W = 2 flip sign at huge K; those flips are noise, not fixed points (this is how the
    search used to fail at (0, 2))."""
    import fieldnn.kernels._criticality_core as crit

    act = crit.get_activation("gelu")
    g, gprime = crit._grid_values(act)
    wobble = 1.0 + 1e-12 * np.cos(np.arange(g.size) * 2.0)
    monkeypatch.setattr(crit, "_grid_values", lambda a: (g * wobble, gprime))
    f = 2.0 * g * wobble - crit._GRID
    assert np.any(f[1:] > 0)  # the noise does flip the sign of f
    r = criticality(act, C_b=0.0, C_W=2.0)
    assert r.fixed_points == (0.0,) and r.K_star == 0.0 and r.phase == "ordered"


def test_no_spurious_fixed_points_at_sin_criticality() -> None:
    """sin at (0, 1): f = (1 − e^{−2K})/2 − K = −K² + … is below the rounding error of the
    closed form for K ≲ 1e-8; only K* = 0 is a fixed point. Slightly above C_W = 1 the
    second root solves C_W(1 − e^{−2K})/2 = K (written with expm1)."""
    p = critical_point("sin")
    assert (p.C_b, p.C_W, p.K_star) == (0.0, 1.0, 0.0)
    r = criticality("sin", C_b=p.C_b, C_W=p.C_W)
    assert r.fixed_points == (0.0,) and r.phase == "critical"
    cw = 1.001
    root = optimize.brentq(lambda k: -cw * np.expm1(-2 * k) / 2 - k, 1e-6, 1.0, xtol=1e-16)
    r = criticality("sin", C_b=0.0, C_W=cw)
    assert len(r.fixed_points) == 2 and r.fixed_points[0] == 0.0
    assert r.fixed_points[1] == pytest.approx(root, rel=1e-9)
    assert r.K_star == pytest.approx(root, rel=1e-9) and r.stable


@pytest.mark.parametrize("C_b", [0.0, 0.01])
def test_overflowing_user_activation(C_b: float) -> None:
    """σ = sinh overflows on the quadrature nodes at large K: no warning escapes, and the roots
    of K = C_b + C_W (e^{2K} − 1)/2 are found (the upper one unstable)."""
    r = criticality(lambda z: np.sinh(z), C_b=C_b, C_W=0.5)

    def f(k: float) -> float:
        return C_b + 0.5 * math.expm1(2 * k) / 2 - k

    k_min = 0.5 * math.log(2.0)  # f' = e^{2K}/2 − 1 = 0
    upper = optimize.brentq(f, k_min, 5.0, xtol=1e-15)
    lower = 0.0 if C_b == 0 else optimize.brentq(f, 0.0, k_min, xtol=1e-15)
    np.testing.assert_allclose(r.fixed_points, [lower, upper], rtol=1e-8, atol=1e-15)
    assert r.K_star == pytest.approx(lower, abs=1e-15, rel=1e-8) and r.stable


# --------------------------------------------------------------------------------------------
# marginal K* = 0 of the nonzero-K* class; the critical points to high precision
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gelu", "swish"])
def test_marginal_zero_fixed_point_of_nonzero_class_is_unstable(name: str) -> None:
    """At C_b = 0, C_W = 1/σ₁² = 4, K* = 0 has χ∥ = χ⊥ = 1 but f ≈ a₁K² with a₁ > 0: every
    K > 0 grows. Independent check: the kernel recursion itself runs away from K^(1) = 0.1."""
    r = criticality(name, C_b=0.0, C_W=4.0)
    assert (r.phase, r.stable) == ("divergent", False) and r.K_star == math.inf
    grid = phase_diagram(name, [0.0], [4.0])
    assert grid.phase[0, 0] == "divergent" and not np.isfinite(grid.K_star[0, 0])
    at_zero = criticality(name, C_b=0.0, C_W=4.0, K0=0.0)  # exactly K = 0 stays there
    assert at_zero.K_star == 0.0 and not at_zero.stable and "marginally unstable" in at_zero.message
    Ks = kernel_recursion(name, np.array([[math.sqrt(0.1 / 4.0)]]), C_W=4.0, C_b=0.0, depth=60)
    diag = np.array([k[0, 0] for k in Ks])
    assert np.all(np.diff(diag) > 0) and diag[-1] > 1e9 * diag[0]
    # below C_W = 4 the zero fixed point is strictly stable and the recursion decays to it
    ordered = criticality(name, C_b=0.0, C_W=3.0)
    assert ordered.K_star == 0.0 and ordered.stable and ordered.phase == "ordered"


def test_tanh_marginal_zero_fixed_point_stays_stable() -> None:
    """The K* = 0 class (a₁ < 0) keeps its stable critical K* = 0."""
    r = criticality("tanh", C_b=0.0, C_W=1.0)
    assert (r.K_star, r.phase, r.stable) == (0.0, "critical", True)


def test_gelu_critical_kernel_closed_form_by_sympy() -> None:
    """⟨σσ''⟩_K of GELU in closed form: K(2 + 3K − K²)/(2π(1 + K)²(1 + 2K)^{3/2}), zero at
    K* = (3 + √17)/2 (⇔ 2s⁴ + s² − 2 = 0 with s² = K/(1 + K))."""
    sp = pytest.importorskip("sympy")
    z = sp.Symbol("z", real=True)
    K = sp.Symbol("K", positive=True)
    sigma = z * (1 + sp.erf(z / sp.sqrt(2))) / 2
    density = sp.exp(-(z**2) / (2 * K)) / sp.sqrt(2 * sp.pi * K)
    mean = sp.integrate(sp.expand(sigma * sp.diff(sigma, z, 2) * density), (z, -sp.oo, sp.oo))
    closed = K * (2 + 3 * K - K**2) / (2 * sp.pi * (1 + K) ** 2 * (1 + 2 * K) ** sp.Rational(3, 2))
    assert sp.simplify(mean - closed) == 0
    k_star = (3 + sp.sqrt(17)) / 2
    assert sp.simplify(closed.subs(K, k_star)) == 0
    s2 = k_star / (1 + k_star)
    assert sp.simplify(2 * s2**2 + s2 - 2) == 0
    p = critical_point("gelu")
    assert p.K_star == pytest.approx(float(k_star), rel=1e-12)
    # C_W = 1/⟨σ'²⟩ and C_b = K* − C_W g(K*) at the exact K* by 30-digit mpmath (the twelve
    # digits quoted in docs/eft.md: 0.172922390756, 1.983058257438)
    mp = pytest.importorskip("mpmath")
    with mp.workdps(30):
        k = (3 + mp.sqrt(17)) / 2

        def mean(F: Callable[[Any], Any]) -> Any:
            w = mp.quad(lambda t: F(t) * mp.exp(-(t**2) / (2 * k)), [-mp.inf, 0, mp.inf])
            return w / mp.sqrt(2 * mp.pi * k)

        c_w = 1 / mean(lambda t: (mp.ncdf(t) + t * mp.npdf(t)) ** 2)
        c_b = k - c_w * mean(lambda t: (t * mp.ncdf(t)) ** 2)
    assert p.C_W == pytest.approx(float(c_w), rel=1e-12)
    assert p.C_b == pytest.approx(float(c_b), rel=1e-12)
    assert (round(p.C_b, 12), round(p.C_W, 12)) == (0.172922390756, 1.983058257438)


def test_swish_critical_kernel_against_mpmath() -> None:
    """SWISH: ⟨σσ''⟩ = 0 solved with 30-digit mpmath quadrature (σ'' written out) gives
    K* = 14.3201736180…; the library's Gauss–Hermite root agrees to 1e-8 relative (the
    docs quote ten digits for this reason)."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(30):

        def sss(z: object) -> object:
            e = 1 / (1 + mp.exp(-z))
            return z * e * (2 * e * (1 - e) + z * e * (1 - e) * (1 - 2 * e))

        def mean(k: object) -> object:
            w = mp.quad(lambda z: sss(z) * mp.exp(-(z**2) / (2 * k)), [-mp.inf, -8, 0, 8, mp.inf])
            return w / mp.sqrt(2 * mp.pi * k)

        k_star = mp.findroot(mean, mp.mpf("14.32"))
        assert abs(k_star - mp.mpf("14.3201736180")) < 5e-11
        p = critical_point("swish")
        assert p.K_star == pytest.approx(float(k_star), rel=1e-8)
    # the figures quoted in docs/eft.md
    assert f"{p.K_star:.11f}" == "14.32017359685"
    assert f"{abs(p.K_star / float(k_star) - 1):.1e}" == "1.5e-09"
    assert (round(p.C_b, 7), round(p.C_W, 7)) == (0.5551432, 1.9880047)
