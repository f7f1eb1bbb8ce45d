"""cos, Φ (gauss_cdf) and the monomials z^p: closed pair expectations derived with sympy, against
the project's pair quadrature, the deep recursion's quadrature path, and sampled networks.

For (u, v) ~ N(0, [[k11, k12], [k12, k22]]) (``fieldnn/kernels/activations.py``,
``fieldnn/kernels/_closed_pairs.py``):
⟨cos u cos v⟩ = e^{−(k11+k22)/2} cosh k12, ⟨sin u sin v⟩ = e^{−(k11+k22)/2} sinh k12;
⟨Φ(u)Φ(v)⟩ = 1/4 + arcsin(k12/√((1+k11)(1+k22)))/(2π), ⟨φ(u)φ(v)⟩ = 1/(2π√((1+k11)(1+k22) − k12²));
⟨u^p v^p⟩ by Isserlis and ⟨σ'σ'⟩ = p²⟨u^{p−1} v^{p−1}⟩.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from fieldnn.ensembles import MLP, estimate_correlators
from fieldnn.errors import ArgumentError, ArgumentTypeError
from fieldnn.inference import empirical_ntk
from fieldnn.kernels import get_activation, monomial
from fieldnn.kernels._closed_pairs import isserlis_coefficients
from fieldnn.kernels.deep import kernel_and_ntk
from fieldnn.kernels.gaussian import _pair_quadrature

k11, k22 = sp.symbols("k11 k22", positive=True)
k12 = sp.Symbol("k12", real=True)


def _phi_phi_average() -> sp.Expr:
    """⟨φ(u)φ(v)⟩ for (u, v) ~ N(0, K) by the Cholesky substitution u = l11 x,
    v = l21 x + l22 y (x, y standard normal): sympy integrates over y; the result is
    g(x) = g(0) e^{−q x²/2} (q checked constant), integrated as g(0) √(2π/q)."""
    x, y = sp.symbols("x y", real=True)
    l11, l22 = sp.symbols("l11 l22", positive=True)
    l21 = sp.Symbol("l21", real=True)
    phi_phi = sp.exp(-((l11 * x) ** 2 + (l21 * x + l22 * y) ** 2) / 2) / (2 * sp.pi)
    density = sp.exp(-(x**2 + y**2) / 2) / (2 * sp.pi)
    g = sp.simplify(sp.integrate(phi_phi * density, (y, -sp.oo, sp.oo)))
    q = sp.simplify(-sp.diff(sp.log(g), x, 2))
    assert sp.diff(q, x) == 0
    value = g.subs(x, 0) * sp.sqrt(2 * sp.pi / q)
    return value.subs(
        {l11: sp.sqrt(k11), l21: k12 / sp.sqrt(k11), l22: sp.sqrt(k22 - k12**2 / k11)}
    )


# --------------------------------------------------------------------------------------------
# derivations
# --------------------------------------------------------------------------------------------
def test_cos_closed_forms_derived() -> None:
    """cos u cos v = [cos(u − v) + cos(u + v)]/2, sin u sin v = [cos(u − v) − cos(u + v)]/2,
    u ∓ v centred Gaussian of variance k11 ∓ 2k12 + k22 and ⟨cos(s z)⟩ = e^{−s²/2} (sympy's
    integral); σ' = −sin, so ⟨σ'σ'⟩ = ⟨sin sin⟩ = ∂⟨σσ⟩/∂k12 (Price)."""
    u, v, z = sp.symbols("u v z", real=True)
    s = sp.Symbol("s", positive=True)
    assert sp.simplify(sp.cos(u) * sp.cos(v) - (sp.cos(u - v) + sp.cos(u + v)) / 2) == 0
    assert sp.simplify(sp.diff(sp.cos(u), u) * sp.diff(sp.cos(v), v) - sp.sin(u) * sp.sin(v)) == 0
    char = sp.integrate(
        sp.cos(s * z) * sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi), (z, -sp.oo, sp.oo)
    )
    kk11, kk22, kk12 = sp.symbols("k11 k22 k12", positive=True)
    minus = char.subs(s, sp.sqrt(kk11 - 2 * kk12 + kk22))
    plus = char.subs(s, sp.sqrt(kk11 + 2 * kk12 + kk22))
    cos_closed = sp.exp(-(kk11 + kk22) / 2) * sp.cosh(kk12)
    sin_closed = sp.exp(-(kk11 + kk22) / 2) * sp.sinh(kk12)
    assert sp.simplify(((minus + plus) / 2 - cos_closed).rewrite(sp.exp)) == 0
    assert sp.simplify(((minus - plus) / 2 - sin_closed).rewrite(sp.exp)) == 0
    assert sp.simplify(sp.diff(cos_closed, kk12) - sin_closed) == 0
    act = get_activation("cos")
    for point in ((1.0, 2.0, 0.5), (0.3, 3.0, -0.9), (4.0, 4.0, 3.999)):
        subs = dict(zip((kk11, kk22, kk12), point, strict=True))
        assert float(act.pair_expectation(*point)) == pytest.approx(
            float(cos_closed.subs(subs).evalf(30)), rel=1e-15
        )
        assert float(act.derivative_pair_expectation(*point)) == pytest.approx(
            float(sin_closed.subs(subs).evalf(30)), rel=1e-15
        )


def test_gauss_cdf_closed_forms_derived() -> None:
    """Φ(z) = (1 + erf(z/√2))/2 has Φ' = φ; ⟨φ(u)φ(v)⟩ by sympy's Gaussian integrals is
    1/(2π√((1+k11)(1+k22) − k12²)); it is ∂/∂k12 of 1/4 + arcsin(k12/√((1+k11)(1+k22)))/(2π),
    which at k12 = 0 is ⟨Φ(u)⟩⟨Φ(v)⟩ = 1/4 (Φ − 1/2 is odd): by Price's theorem that is
    ⟨Φ(u)Φ(v)⟩. Both against the registry at three points (30 digits)."""
    z = sp.Symbol("z", real=True)
    Phi = (1 + sp.erf(z / sp.sqrt(2))) / 2
    phi = sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    assert sp.simplify(sp.diff(Phi, z) - phi) == 0
    assert sp.simplify(Phi + Phi.subs(z, -z) - 1) == 0  # Φ − 1/2 odd: ⟨Φ(u)⟩ = 1/2
    A, B = 1 + k11, 1 + k22
    d_closed = 1 / (2 * sp.pi * sp.sqrt(A * B - k12**2))
    assert sp.simplify(_phi_phi_average() - d_closed) == 0
    closed = sp.Rational(1, 4) + sp.asin(k12 / sp.sqrt(A * B)) / (2 * sp.pi)
    assert sp.simplify(sp.diff(closed, k12) - d_closed) == 0
    assert closed.subs(k12, 0) == sp.Rational(1, 4)
    act = get_activation("gauss_cdf")
    for point in ((1.0, 2.0, 0.5), (0.3, 3.0, -0.9), (4.0, 4.0, 3.999)):
        subs = dict(zip((k11, k22, k12), point, strict=True))
        assert float(act.pair_expectation(*point)) == pytest.approx(
            float(closed.subs(subs).evalf(30)), rel=1e-15
        )
        assert float(act.derivative_pair_expectation(*point)) == pytest.approx(
            float(d_closed.subs(subs).evalf(30)), rel=1e-15
        )


@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_monomial_closed_forms_derived(p: int) -> None:
    """⟨u^p v^p⟩ = ∂_s^p ∂_t^p exp((k11 s² + 2 k12 s t + k22 t²)/2) at s = t = 0 (the
    Gaussian moment generating function, no pairing count) equals the Isserlis sum of the
    registry; ∂/∂k12 of it is p²⟨u^{p−1} v^{p−1}⟩ (Price); both against the registry."""
    s, t = sp.symbols("s t")
    mgf = sp.exp((k11 * s**2 + 2 * k12 * s * t + k22 * t**2) / 2)

    def moment(q: int) -> sp.Expr:
        return sp.expand(sp.diff(mgf, s, q, t, q).subs({s: 0, t: 0}))

    isserlis = sum(c * k12**j * (k11 * k22) ** ((p - j) // 2) for j, c in isserlis_coefficients(p))
    assert sp.expand(isserlis - moment(p)) == 0
    assert sp.expand(sp.diff(moment(p), k12) - p**2 * moment(p - 1)) == 0
    act = monomial(p)
    for point in ((1.0, 2.0, 0.5), (0.3, 3.0, -0.9), (4.0, 4.0, 3.999)):
        subs = dict(zip((k11, k22, k12), point, strict=True))
        assert float(act.pair_expectation(*point)) == pytest.approx(
            float(moment(p).subs(subs)), rel=1e-15
        )
        assert float(act.derivative_pair_expectation(*point)) == pytest.approx(
            float(p**2 * moment(p - 1).subs(subs)), rel=1e-15
        )


# --------------------------------------------------------------------------------------------
# against the project's quadrature
# --------------------------------------------------------------------------------------------
RHOS = (-1.0, -(1.0 - 1e-9), -0.4, 0.0, 0.9, 1.0 - 1e-9, 1.0)


def _grid(largest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variances 0, 1e-3, 0.5, 2, 10 and ``largest``; correlations −1 … 1, ±(1 − 1e-9)."""
    ks = (0.0, 1e-3, 0.5, 2.0, 10.0, largest)
    rows = [(a, b, r * np.sqrt(a * b)) for a in ks for b in ks for r in RHOS if a <= b]
    return tuple(np.array(col) for col in zip(*rows, strict=True))  # type: ignore[return-value]


# cos: up to variance 50 (at 100 the quadrature itself is off by 1e-6 relative, silently);
# gauss_cdf up to 1e3 (⟨φφ⟩ at k11 = 0, k22 = 1e4: the quadrature is off by 6e-4 and warns);
# monomials up to 1e4. At larger variances and ρ = ±(1 − 1e-9) the value itself is
# ill-conditioned: D = (1+k11)(1+k22) − k12² moves by (2k12²/D) × the rounding of k12
# (measured at 1e6: closed form and quadrature each ~3e-11 from 40-digit mpmath)
CASES = [
    ("cos", get_activation("cos"), 50.0),
    ("gauss_cdf", get_activation("gauss_cdf"), 1e3),
    *[(f"monomial({p})", monomial(p), 1e4) for p in (1, 2, 3, 4)],
]


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize(("label", "act", "largest"), CASES, ids=[c[0] for c in CASES])
def test_closed_forms_match_the_quadrature(label, act, largest, order: int) -> None:
    """Closed form against ``_pair_quadrature`` (the path taken without one): ≤ 1e-12
    relative wherever the value is at least 1e-3 of the Cauchy–Schwarz scale
    √(⟨σ(u)²⟩⟨σ(v)²⟩); below (cos's e^{−(k11+k22)/2}, sin sin and odd monomials at k12 = 0)
    ≤ 1e-14 of that scale, the quadrature's rounding of an integrand of that size (cos at
    k11 = k22 = 10, k12 = 0: 7.7e-17 absolute, 1.7e-12 of the value e^{−10})."""
    a, b, c = _grid(largest)
    closed = (act.pair_expectation if order == 0 else act.derivative_pair_expectation)(a, b, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the nested rule divides by l22 = 0 at ρ = ±1 for a wide pair below the collinear
        # threshold (a 0/0 it then clips away; the value is unaffected, as tested here)
        reference = _pair_quadrature(act, (order, order), a, b, c)
    pair = act.pair_expectation if order == 0 else act.derivative_pair_expectation
    scale = np.sqrt(pair(a, a, a) * pair(b, b, b))  # Cauchy–Schwarz bound on |value|
    error = np.abs(closed - reference)
    small = np.abs(closed) < 1e-3 * scale
    assert np.all(error[~small] <= 1e-12 * np.abs(closed[~small]))
    assert np.all(error[small] <= 1e-14 * scale[small])
    # the relative test covers ≥ 44 % of the grid with nonzero values (measured: cos σ'σ' 65
    # of 147 entries, the others 90–147; max relative difference 1.6e-14, 1.0e-14 gauss_cdf,
    # 1.5e-15 monomials)
    assert np.count_nonzero(~small & (closed != 0)) >= 0.44 * closed.size


@pytest.mark.parametrize(
    "act", [get_activation("cos"), get_activation("gauss_cdf"), monomial(3)], ids=str
)
def test_deep_kernel_and_ntk_equal_the_quadrature_path(act) -> None:
    """K and Θ at depth 4 with the closed forms and with them removed (the quadrature path)."""
    X = np.random.default_rng(1).normal(size=(4, 2))
    quadrature = dataclasses.replace(act, _pair=None, _derivative_pair=None)
    kw = dict(C_W=1.2, C_b=0.1, lambda_W=1.2, lambda_b=0.1, depth=4)
    K, T = kernel_and_ntk(act, X, **kw)
    Kq, Tq = kernel_and_ntk(quadrature, X, **kw)
    np.testing.assert_allclose(K, Kq, rtol=1e-12)
    np.testing.assert_allclose(T, Tq, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# against sampled networks
# --------------------------------------------------------------------------------------------
SAMPLED = [
    (get_activation("cos"), get_activation("sin")),
    (get_activation("gauss_cdf"), get_activation("erf")),
    (monomial(2), monomial(4)),
    (monomial(3), monomial(1)),
]


@pytest.mark.parametrize(
    ("act", "wrong"), SAMPLED, ids=[str(a[0].parameters or a[0].name) for a in SAMPLED]
)
def test_sampled_networks_have_the_closed_form_two_point_function(act, wrong) -> None:
    """One hidden layer of width 30: G2 = C_b + C_W⟨σ(z)σ(z')⟩ exactly at any width, within
    5σ of 20 000 sampled networks; another activation's pair term is more than 5σ off."""
    X = np.array([[-1.0], [0.2], [0.9]])
    mlp = MLP(act, widths=[1, 30, 1], C_W=1.5, C_b=0.2)
    K1 = 0.2 + 1.5 * X @ X.T
    d = np.diag(K1)

    def g2(a):
        return 0.2 + 1.5 * a.pair_expectation(d[:, None], d[None, :], K1)

    est = estimate_correlators(mlp, X, 20_000, orders=(2,), rng=7)
    err = est.stderr(2, connected=False)
    pulls = np.abs(est.full(2) - g2(act)) / err
    assert np.all(np.isfinite(pulls)) and pulls.max() < 5.0
    assert (np.abs(est.full(2) - g2(wrong)) / err).max() > 5.0
    np.testing.assert_allclose(mlp.kernel(X), g2(act), rtol=1e-13)


@pytest.mark.parametrize(
    ("act", "wrong"), SAMPLED, ids=[str(a[0].parameters or a[0].name) for a in SAMPLED]
)
def test_sampled_networks_have_the_closed_form_ntk(act, wrong) -> None:
    """One hidden layer of width 30: the mean empirical NTK is exactly
    Θ = λ_b + λ_W⟨σσ⟩ + C_W⟨σ'σ'⟩ Θ^(1), Θ^(1) = λ_b + λ_W x·x' (E[W2²] = C_W/n, independent of
    the hidden units), within 5σ of 4 000 sampled networks; with another activation's ⟨σ'σ'⟩
    more than 5σ off."""
    X = np.array([[-1.0], [0.2], [0.9]])
    mlp = MLP(act, widths=[1, 30, 1], C_W=1.5, C_b=0.2)
    K1, T1 = 0.2 + 1.5 * X @ X.T, 0.5 + X @ X.T
    d = np.diag(K1)

    def theta(derivative_pair):
        ss = act.pair_expectation(d[:, None], d[None, :], K1)
        return 0.5 + ss + 1.5 * derivative_pair(d[:, None], d[None, :], K1) * T1

    H = empirical_ntk(mlp, X, 4000, lambda_W=1.0, lambda_b=0.5, rng=3)
    mean, err = H.mean(axis=0), H.std(axis=0, ddof=1) / np.sqrt(H.shape[0])
    assert (np.abs(mean - theta(act.derivative_pair_expectation)) / err).max() < 5.0
    assert (np.abs(mean - theta(wrong.derivative_pair_expectation)) / err).max() > 5.0
    np.testing.assert_allclose(
        mlp.ntk(X, lambda_W=1.0, lambda_b=0.5), theta(act.derivative_pair_expectation), rtol=1e-13
    )


# --------------------------------------------------------------------------------------------
# the constructor
# --------------------------------------------------------------------------------------------
def test_monomial_constructor() -> None:
    cube = monomial(3)
    assert cube == monomial(3) and cube != monomial(2) and hash(cube) == hash(monomial(3))
    assert cube.name == "monomial" and cube.parameters == (3,)
    assert "parameters=(3,)" in repr(cube)
    assert monomial(1).piecewise_linear_slopes == (1.0, 1.0)
    assert cube.piecewise_linear_slopes is None
    z = np.linspace(-2.0, 2.0, 9)
    np.testing.assert_array_equal(cube(z), z**3)
    np.testing.assert_array_equal(cube.derivative(z), 3 * z**2)
    np.testing.assert_array_equal(monomial(1).derivative(z), np.ones_like(z))
    for bad, error in ((0, ArgumentError), (17, ArgumentError), (2.0, ArgumentTypeError)):
        with pytest.raises(error, match="power"):
            monomial(bad)
