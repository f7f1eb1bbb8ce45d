"""Zero-dimensional field theory as the oracle for every weight (full and connected)."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from fieldnn.symbolic import Theory

from ._oracles import cumulants, zero_dim_moments

g3, g4, g6 = sp.symbols("g3 g4 g6")
THEORIES = {
    "phi4": ({g4: 4}, 4, 6),
    "phi6": ({g6: 6}, 4, 4),
    "phi3+phi4": ({g3: 3, g4: 4}, 4, 4),
}


def _quad_moment(couplings, degrees, n, values):
    """∫ φ^n e^{-φ²/2 - Σ g φ^k} dφ / Z by mpmath quadrature (70 digits)."""
    mpmath.mp.dps = 70
    coeffs = [mpmath.mpf(values[g]) for g in couplings]

    def weight(p):
        return mpmath.exp(-p * p / 2 - sum(c * p**k for c, k in zip(coeffs, degrees, strict=False)))

    pts = [-30, -5, 0, 5, 30]
    z = mpmath.quad(weight, pts)
    return mpmath.quad(lambda p: p**n * weight(p), pts) / z


@pytest.mark.parametrize("name", ["phi4", "phi6", "phi3+phi4"])
def test_oracle_against_quadrature(name):
    """The Gaussian-moment series reproduce quadrature coefficient by coefficient."""
    inter, order, _ = THEORIES[name]
    couplings, degrees = list(inter), list(inter.values())
    moments = zero_dim_moments(couplings, degrees, 4, order)
    t = sp.Symbol("t")
    ratios = {g4: 1, g6: 1, g3: sp.Rational(1, 2)}
    eps = mpmath.mpf("1e-11")
    for n in (2, 3, 4):
        series = sp.expand(moments[n].subs({g: ratios[g] * t for g in couplings}))
        coeffs = [series.coeff(t, j) for j in range(order + 1)]
        vals = {g: ratios[g] * eps for g in couplings}
        exact = _quad_moment(couplings, degrees, n, vals)
        for j in range(order + 1):
            partial = sum(
                mpmath.mpf(sp.Rational(coeffs[i]).p) / sp.Rational(coeffs[i]).q * eps**i
                for i in range(j)
            )
            estimate = (exact - partial) / eps**j
            assert abs(estimate - float(coeffs[j])) <= 1e-4 * max(1.0, abs(float(coeffs[j])))


@pytest.mark.parametrize("name", ["phi4", "phi6", "phi3+phi4"])
@pytest.mark.parametrize("connected", [False, True])
def test_zero_dim_matches_oracle(name, connected):
    inter, order, n_max = THEORIES[name]
    couplings, degrees = list(inter), list(inter.values())
    moments = zero_dim_moments(couplings, degrees, n_max, order)
    target = cumulants(moments, couplings, order) if connected else moments
    th = Theory(inter)
    if not connected:
        n_max = min(n_max, 4)  # the full 6-point function at order 4 has 11645 diagrams
    for n in range(1, n_max + 1):
        got = th.correlator(n, order, connected=connected).zero_dim()
        assert sp.expand(got - target[n]) == 0, (name, n, connected)


def test_odd_points_in_even_theory_are_exact_zero():
    c = Theory({g4: 4}).correlator(3, 3)
    assert c.terms == [] and c.zero_dim() == 0 and c.expr == 0 and c.latex() == "0"


def test_phi3_one_point_function():
    # ⟨φ⟩ = -3 g3 + O(g^2) in zero dimensions: one tadpole, weight -g3 · 3!/2
    c = Theory({g3: 3}).correlator(1, 1)
    assert c.zero_dim() == -3 * g3
