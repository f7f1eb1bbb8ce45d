"""Diagram generation against brute-force Wick enumeration (every perfect matching)."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldnn.symbolic import Theory, num_pairings, pairings

from ._oracles import brute_force_graphs, double_factorial, matchings, same_diagram

g = sp.symbols("g1:4")


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=0, max_value=6))
def test_number_of_pairings(k):
    n = 2 * k
    assert num_pairings(n) == double_factorial(n - 1)
    found = list(pairings(range(n)))
    assert len(found) == double_factorial(n - 1)
    assert len({frozenset(frozenset(p) for p in m) for m in found}) == len(found)
    assert len(list(matchings(list(range(n))))) == len(found)
    assert num_pairings(n + 1) == 0 and list(pairings(range(n + 1))) == []


def _check_against_brute_force(inter, n, order, connected):
    couplings, degrees = list(inter), list(inter.values())
    brute = brute_force_graphs(couplings, degrees, n, order, connected=connected)
    c = Theory(inter).correlator(n, order, connected=connected)
    total = {id(t): sp.S.Zero for t in c.terms}
    for graph, w in brute:
        owners = [t for t in c.terms if same_diagram(t.graph, graph)]
        assert len(owners) == 1, "every contraction belongs to exactly one diagram"
        total[id(owners[0])] += w
    for t in c.terms:
        assert sp.expand(total[id(t)] - t.weight) == 0, t.lines()
    assert sp.expand(sum(w for _, w in brute) - c.zero_dim()) == 0


@pytest.mark.parametrize(
    ("inter", "n", "order", "connected"),
    [
        ({g[0]: 4}, 4, 2, False),
        ({g[0]: 4}, 4, 2, True),
        ({g[0]: 4}, 2, 3, False),
        ({g[0]: 3}, 2, 4, True),
        ({g[0]: 3, g[1]: 4}, 2, 2, False),
        ({g[0]: 3, g[1]: 4}, 2, 2, True),
        ({g[0]: 4, g[1]: 6}, 4, 1, False),
        ({g[0]: 3}, 3, 3, False),
        ({g[0]: 3}, 3, 3, True),
    ],
)
def test_diagram_weights_equal_contraction_counts(inter, n, order, connected):
    _check_against_brute_force(inter, n, order, connected)


@settings(max_examples=12, deadline=None)
@given(
    degrees=st.lists(st.integers(min_value=3, max_value=6), min_size=1, max_size=2, unique=True),
    n=st.integers(min_value=0, max_value=4),
    order=st.integers(min_value=0, max_value=2),
    connected=st.booleans(),
)
def test_random_theories_against_brute_force(degrees, n, order, connected):
    # keep the brute force small: at most 12 half-edges
    if n + order * max(degrees) > 12:
        order = max(0, (12 - n) // max(degrees))
    inter = {g[a]: k for a, k in enumerate(degrees)}
    _check_against_brute_force(inter, n, order, connected)


@pytest.mark.parametrize(
    ("degrees", "labels", "order"),
    [((4,), "ijkl", 2), ((4,), "ij", 2), ((6,), "ijkl", 1), ((4, 6), "ij", 1)],
)
def test_on_weights_equal_literal_vertex_contractions(degrees, labels, order):
    """O(N): the symmetrised-tensor index factor of each diagram equals the sum over the Wick
    contractions of the literal vertices f_a f_a f_b f_b … (independent index bookkeeping)."""
    N = sp.Symbol("N")
    syms = sp.symbols(" ".join(labels)) if len(labels) > 1 else (sp.Symbol(labels),)
    inter = {g[a]: k for a, k in enumerate(degrees)}
    brute = brute_force_graphs(list(inter), list(degrees), len(labels), order, labels=syms, N=N)
    c = Theory(inter, species=N).correlator(tuple(syms), order)
    total = {id(t): sp.S.Zero for t in c.terms}
    for graph, w in brute:
        (owner,) = [t for t in c.terms if same_diagram(t.graph, graph)]
        total[id(owner)] += w
    for t in c.terms:
        assert sp.expand(total[id(t)] - t.weight) == 0, t.lines()
