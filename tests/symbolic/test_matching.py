"""match_quartic and the conditional ⟨φ2²|φ1⟩ against direct m-dimensional integration.

The quartic theory with the network's sign (γ4 ∝ V > 0) is not normalisable, and the matching is
a statement about a formal series in 1/n. The series is analytic in V, so it is tested at V < 0,
where the integrals converge: the residuals of the matched moments must be O((V/n)²) (checked by
their scaling between V/n and 2V/n), while the seed talk's 1/γ(2) leaves an O(V/n) residual.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from fieldnn.errors import ArgumentError
from fieldnn.symbolic import matching
from fieldnn.symbolic.matching import conditional_second_moment, match_quartic

G, V, n, phi1 = sp.symbols("G V n phi_1")


def _gh_moments(dim, gamma2, gamma4, shift=0.0, nodes=80):
    """Direct dim-dimensional Gauss–Hermite integration of the quartic O(·) weight.

    Weight exp(−γ2 R/2 + γ4 (shift + R)²/8), R = Σ φ_a² over ``dim`` Cartesian components
    (shift = φ̌1² turns it into the conditional theory). Returns (⟨φ_1²⟩, ⟨φ_1²φ_2²⟩, ⟨φ_1⁴⟩).
    """
    t, w = np.polynomial.hermite_e.hermegauss(nodes)  # weight exp(−t²/2)
    x = t / np.sqrt(gamma2)
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    weight = np.ones_like(grids[0])
    for g in np.meshgrid(*([w] * dim), indexing="ij"):
        weight = weight * g
    r2 = sum(g**2 for g in grids)
    weight = weight * np.exp(gamma4 * (shift + r2) ** 2 / 8)
    z = weight.sum()
    p1 = grids[0] ** 2
    p2 = grids[1] ** 2 if dim > 1 else np.full_like(p1, np.nan)
    return (weight * p1).sum() / z, (weight * p1 * p2).sum() / z, (weight * p1**2).sum() / z


def _radial_moment(dim, gamma2, gamma4, k):
    """⟨(φ·φ)^k⟩ by 1-d radial quadrature (independent of the Cartesian grid)."""

    def f(r, p):
        return r ** (dim - 1 + p) * np.exp(-gamma2 * r**2 / 2 + gamma4 * r**4 / 8)

    num = integrate.quad(f, 0, np.inf, args=(2 * k,), epsabs=0, epsrel=1e-13)[0]
    den = integrate.quad(f, 0, np.inf, args=(0,), epsabs=0, epsrel=1e-13)[0]
    return num / den


def _numeric(expr, **values):
    return float(expr.subs({sp.Symbol(k): v for k, v in values.items()}))


@pytest.mark.parametrize("m", [1, 2, 3, 4, 7])
def test_closed_form(m):
    g2, g4 = match_quartic(m)
    assert sp.simplify(g2 - (1 / G + (m + 2) * V / (2 * n * G**3))) == 0
    assert sp.simplify(g4 - V / (n * G**4)) == 0
    inv = sp.series(1 / g2, n, sp.oo, 2).removeO()
    assert sp.simplify(inv - (G - sp.Rational(m + 2, 2) * V / (n * G))) == 0


def test_doctests():
    assert doctest.testmod(matching, raise_on_error=False).failed == 0


@pytest.mark.parametrize("m", [1, 2, 3])
def test_matching_against_m_dimensional_integration(m):
    g_val, v_over_n = 1.3, -0.004
    g2, g4 = match_quartic(m)
    residuals, seed_residuals = [], []
    for eps in (v_over_n, 2 * v_over_n):
        gamma2 = _numeric(g2, G=g_val, V=eps, n=1.0)
        gamma4 = _numeric(g4, G=g_val, V=eps, n=1.0)
        two, four, four_diag = _gh_moments(m, gamma2, gamma4)
        # O(m) symmetry and the radial reduction agree with the Cartesian grid
        assert two == pytest.approx(_radial_moment(m, gamma2, gamma4, 1) / m, rel=1e-11)
        c4 = (four_diag - 3 * two**2) / 3 if m == 1 else four - two**2
        if m > 1:
            assert four_diag - 3 * two**2 == pytest.approx(3 * c4, rel=1e-8)
        residuals.append((two - g_val, c4 - eps))
        seed_gamma2 = 1 / (g_val - (m + 2) * eps / g_val)  # the talk's 1/γ(2)
        seed_residuals.append(_gh_moments(m, seed_gamma2, gamma4)[0] - g_val)
    r1, r2 = np.array(residuals)
    # matched: residuals are second order in V/n (ratio 4 when V/n doubles)
    assert np.all(np.abs(r1) < 0.5 * v_over_n**2 * 10)
    np.testing.assert_allclose(r2 / r1, 4.0, rtol=0.05)
    # the seed's 1/γ(2) misses by (m+2) V/(2 n G) at first order
    np.testing.assert_allclose(seed_residuals[0], -(m + 2) * v_over_n / (2 * g_val), rtol=0.05)


@pytest.mark.parametrize("m", [2, 3])
def test_conditional_against_integration(m):
    g_val, v_over_n = 0.8, -0.003
    cond = conditional_second_moment(m)
    assert sp.simplify(cond - (G + (phi1**2 - G) * V / (2 * n * G**2))) == 0
    g2, g4 = match_quartic(m)
    for phi in (0.0, 0.7, 1.9):
        res = []
        for eps in (v_over_n, 2 * v_over_n):
            gamma2 = _numeric(g2, G=g_val, V=eps, n=1.0)
            gamma4 = _numeric(g4, G=g_val, V=eps, n=1.0)
            num = _gh_moments(m - 1, gamma2, gamma4, shift=phi**2)[0]
            res.append(num - _numeric(cond, G=g_val, V=eps, n=1.0, phi_1=phi))
        assert abs(res[0]) < 10 * v_over_n**2 * (1 + phi**4)
        assert res[1] / res[0] == pytest.approx(4.0, rel=0.08)


def test_bad_m():
    with pytest.raises(ArgumentError, match="'m'"):
        conditional_second_moment(1)
    with pytest.raises(ArgumentError, match="'m'"):
        match_quartic(0)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_symbolic_engine_reproduces_the_matching(m):
    """The O(m) correlators of the symbolic engine (every diagram, zero dimensions, K ≡ 1),
    with λ = −γ4/8 and each propagator restored as 1/γ2 (a term λ^k with 2p external legs has
    p + 2k propagators), give back G and V/n at O(1/n) for the matched couplings."""
    from fieldnn.symbolic import Theory

    lam, u = sp.Symbol("lambda"), sp.Symbol("u")
    th = Theory({lam: 4}, species=m)
    g2, g4 = (c.subs(n, 1 / u) for c in match_quartic(m))

    def restore(expr, legs):
        poly = sp.Poly(sp.expand(expr), lam)
        return sum(
            coef * (-g4 / 8) ** k * g2 ** -(sp.Rational(legs, 2) + 2 * k)
            for (k,), coef in poly.terms()
        )

    two = th.correlator((1, 1), order=1).zero_dim()
    labels = (1, 1, 1, 1) if m == 1 else (1, 1, 2, 2)
    four = th.correlator(labels, order=1, connected=True).zero_dim()
    if m == 1:
        four = four / 3
    assert sp.simplify(sp.series(restore(two, 2), u, 0, 2).removeO() - G) == 0
    assert sp.simplify(sp.series(restore(four, 4), u, 0, 2).removeO() - V * u) == 0
