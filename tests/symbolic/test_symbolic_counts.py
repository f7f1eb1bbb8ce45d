"""Diagram counts against the published (OEIS) enumerations of Feynman graphs.

* A352174: connected φ⁴ graphs with two labelled external legs and n vertices
  (1, 1, 3, 10, 39, 174, …);
* A361135: the same with interchangeable legs (1, 3, 8, 30, 118, …, from n = 1);
* A361446: connected cubic multigraphs on 2n nodes rooted at an oriented edge (1, 3, 16, 99,
  …). Cutting the root edge gives a φ³ 2-point graph with labelled legs; a bridge gives a
  product of two 1-point graphs, so these are the *full* vacuum-free φ³ 2-point diagrams.
"""

from __future__ import annotations

from collections import Counter

import pytest
import sympy as sp

from fieldnn.symbolic import Theory

g = sp.Symbol("g")
A352174 = [1, 1, 3, 10, 39, 174]
A361135 = [1, 3, 8, 30, 118]
A361446 = [1, 3, 16, 99]


def test_phi4_two_point_labelled_legs():
    c = Theory({g: 4}).correlator(2, 5, connected=True)
    counts = Counter(t.order for t in c.terms)
    assert [counts[n] for n in range(6)] == A352174


def test_phi4_two_point_unlabelled_legs():
    c = Theory({g: 4}).correlator(2, 5, connected=True)
    counts = Counter(t.order for _, t in c.topologies())
    assert [counts[n] for n in range(1, 6)] == A361135


def test_phi3_two_point_full():
    c = Theory({g: 3}).correlator(2, 6)
    counts = Counter(t.order for t in c.terms)
    assert [counts[n] for n in (0, 2, 4, 6)] == A361446
    assert all(counts[n] == 0 for n in (1, 3, 5))


@pytest.mark.slow
def test_phi4_two_point_seven_loops():
    A352174_more = [853, 4632]
    c = Theory({g: 4}).correlator(2, 7, connected=True)
    counts = Counter(t.order for t in c.terms)
    assert [counts[n] for n in (6, 7)] == A352174_more


def test_weighted_count_is_the_zero_dimensional_series():
    # Σ_Γ w_Γ with K ≡ 1: ⟨φ²⟩ of ∫ e^{-φ²/2 - g φ⁴} (Gaussian moments, by hand:
    # -g⟨φ⁶⟩_c = -15 g + 3 g (vacuum) = -12 g; second order 384 g²; third -19008 g³)
    c = Theory({g: 4}).correlator(2, 3, connected=True)
    assert sp.expand(c.zero_dim()) == 1 - 12 * g + 384 * g**2 - 19008 * g**3
