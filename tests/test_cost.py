"""The closed-form work estimates of fieldnn._cost against brute-force enumeration, and the
guards built on them (refusals and warnings issued before any work)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy as sp

from fieldnn import MLP, Theory
from fieldnn._cost import (
    diagram_count,
    even_partition_count,
    four_point_vertex_seconds,
    wick_pairings,
)
from fieldnn.ensembles.exact import even_partitions
from fieldnn.errors import DiagramError
from fieldnn.symbolic import pairings


@pytest.mark.parametrize("n", [0, 2, 4, 6, 8, 10])
def test_counts_against_enumeration(n: int) -> None:
    assert wick_pairings(n) == len(list(pairings(list(range(n))))) if n else True
    assert even_partition_count(n) == (len(even_partitions(n)) if n else 1)
    assert diagram_count(n, 0, [4])[0] == wick_pairings(n)
    assert wick_pairings(n + 1) == 0 and even_partition_count(n + 1) == 0


def test_diagram_count_is_the_aut_weighted_sum() -> None:
    """Σ 1/|Aut| over all (vacuum-including) Feynman graphs with n external points and c
    quartic vertices is (n + 4c − 1)!!/(c! 4!^c): the zero-dimensional Gaussian moment
    ⟨φ^n (φ⁴)^c⟩/(c! 4!^c), computed here by sympy integration."""
    phi = sp.Symbol("phi", real=True)
    for n, c in [(4, 1), (2, 2), (4, 2), (6, 1)]:
        moment = sp.integrate(
            phi ** (n + 4 * c) * sp.exp(-(phi**2) / 2), (phi, -sp.oo, sp.oo)
        ) / sp.sqrt(2 * sp.pi)
        expected = moment / (math.factorial(c) * math.factorial(4) ** c)
        below = diagram_count(n, c - 1, [4])[0]
        assert diagram_count(n, c, [4])[0] - below == pytest.approx(float(expected), rel=1e-12)


def test_correlator_refuses_before_generating() -> None:
    lam, kap = sp.symbols("lambda kappa")
    with pytest.raises(DiagramError, match=r"'points'.*6\.55e\+08 pairings"):
        Theory({lam: 4}).correlator(20, order=0)
    with pytest.raises(DiagramError, match="'order'"):
        Theory({lam: 4, kap: 6}).correlator(4, order=8, connected=True)
    # an explicit larger budget moves the limit; small requests are untouched
    assert len(Theory({lam: 4}).correlator(4, order=1, max_seconds=1.0).terms) > 0


def test_vertex_warns_up_front_for_the_generic_quadrature() -> None:
    """tanh [1, 10, 10, 10, 1] at P = 10: 210 rank-4 quadratures per layer, ~31.5 s: the
    warning comes before the computation (turned into an error here, nothing is computed); erf
    has a fast exact path and P ≤ 3 uses low-rank rules (no warning)."""
    assert four_point_vertex_seconds(7, 4) == pytest.approx(5.25)
    assert four_point_vertex_seconds(3, 400) == 0.0
    X7 = np.linspace(-1.0, 1.0, 7)[:, None]
    X10 = np.linspace(-1.0, 1.0, 10)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match=r"estimated 31\.5 s"):
            MLP("tanh", [1, 10, 10, 10, 1], C_W=1.5, C_b=0.1).four_point_vertex(X10)
        erf = MLP("erf", [1, 10, 10, 10, 1], C_W=1.5, C_b=0.1)
        assert erf.four_point_vertex(X7).shape == (7,) * 4
