"""The seed's combinatoric factors (arXiv:2008.08601, eqs. 3.17–3.19) and its SO(d_out) formula."""

from __future__ import annotations

import pytest
import sympy as sp

from fieldnn.symbolic import Theory

lam, kap = sp.symbols("lambda kappa")
N = sp.Symbol("N")


def _tops(c):
    """{(coupling order vector, total weight)} grouped by topology."""
    return sorted((t.orders, w) for w, t in c.topologies())


@pytest.fixture(scope="module")
def theory():
    return Theory({lam: 4, kap: 6})


# (points, all topologies at order ≤ 1, the ones rule 4.5 keeps)
SEED = {
    2: ([1, -12 * lam, -90 * kap], [1]),
    4: ([3, -72 * lam, -24 * lam, -540 * kap, -360 * kap], [3, -24 * lam, -360 * kap]),
    6: (
        [15, -540 * lam, -360 * lam, -720 * kap, -5400 * kap, -4050 * kap],
        [15, -360 * lam, -720 * kap, -5400 * kap],
    ),
}


@pytest.mark.parametrize("n", [2, 4, 6])
def test_seed_factors_by_topology(theory, n):
    full, kept = SEED[n]
    got = [w for w, _ in theory.correlator(n, 1).topologies()]
    assert sorted(got, key=sp.default_sort_key) == sorted(full, key=sp.default_sort_key)
    got_exact = [w for w, _ in theory.correlator(n, 1, exact_propagator=True).topologies()]
    assert sorted(got_exact, key=sp.default_sort_key) == sorted(kept, key=sp.default_sort_key)


def test_rule_45_drops_exactly_the_two_point_corrections(theory):
    dropped = {12 * lam, 90 * kap, 72 * lam, 540 * kap, 540 * lam, 4050 * kap}
    for n in (2, 4, 6):
        full = {-w for w, _ in theory.correlator(n, 1).topologies()}
        kept = {-w for w, _ in theory.correlator(n, 1, exact_propagator=True).topologies()}
        assert full - kept == dropped & full
        for w, t in theory.correlator(n, 1).topologies():
            # at first order a 2-point correction is the vertex carrying exactly two legs
            legs = sum(t.matrix[a][n] for a in range(n)) if t.order == 1 else None
            assert (legs == 2) == (-w in dropped)


def test_rule_45_at_second_order():
    # connected 4-point at order λ²: 3 bubbles kept, the 4 tadpoles on the legs dropped
    th = Theory({lam: 4})
    full = th.correlator(4, 2, connected=True)
    exact = th.correlator(4, 2, connected=True, exact_propagator=True)
    assert [t.order for t in full.terms].count(2) == 7
    assert [t.order for t in exact.terms].count(2) == 3
    assert all(t.matrix[4][5] == 2 for t in exact.terms if t.order == 2)
    # sunset and double-tadpole corrections to G2 all go: G2 = K to any order
    assert len(th.correlator(2, 3, exact_propagator=True).terms) == 1


def test_kappa_tadpole_term_is_kept_with_its_kernel(theory):
    c = theory.correlator(4, 1, exact_propagator=True)
    kap_terms = [t for t in c.terms if t.orders == (0, 1)]
    assert len(kap_terms) == 1
    (t,) = kap_terms
    assert t.weight == -360 * kap
    K = sp.Function("K")
    x = sp.symbols("x_1:5")
    y = sp.Symbol("y_1")
    (integral,) = [f for f in sp.Mul.make_args(t.expr()) if isinstance(f, sp.Integral)]
    assert integral.limits == (
        (y, -sp.Symbol("Lambda", positive=True), sp.Symbol("Lambda", positive=True)),
    )
    assert integral.function == K(x[0], y) * K(x[1], y) * K(x[2], y) * K(x[3], y) * K(y, y)


def test_six_point_fifteen_terms(theory):
    c = theory.correlator(6, 1, exact_propagator=True)
    lam_terms = [t for t in c.terms if t.orders == (1, 0)]
    assert len(lam_terms) == 15 and all(t.weight == -24 * lam for t in lam_terms)
    kap_tad = [t for t in c.terms if t.orders == (0, 1) and t.weight == -360 * kap]
    assert len(kap_tad) == 15
    gp = [t for t in c.terms if t.order == 0]
    assert len(gp) == 15
    pairs = {frozenset(frozenset(e[:2]) for e in t.lines()) for t in gp}
    assert len(pairs) == 15


def test_so_dout_tree_and_one_loop():
    th = Theory({lam: 4}, species=N)
    i, j, k, l = sp.symbols("i j k l")
    d = sp.KroneckerDelta
    c = th.correlator((i, j, k, l), 2, connected=True, exact_propagator=True)
    tops = c.topologies()
    assert len(tops) == 2
    tree, loop = tops
    S = d(i, j) * d(k, l) + d(i, k) * d(j, l) + d(i, l) * d(j, k)
    assert sp.expand(tree[0] + 8 * lam * S) == 0
    # seed: 32 ∫∫ (λ²/2) K_xy² [(K1xK2xK3yK4y + x↔y)((d_out+4)δijδkl + 2(δikδjl + δilδjk)) + …]
    channels = {
        frozenset({0, 1}): (N + 4) * d(i, j) * d(k, l)
        + 2 * (d(i, k) * d(j, l) + d(i, l) * d(j, k)),
        frozenset({0, 2}): (N + 4) * d(i, k) * d(j, l)
        + 2 * (d(i, j) * d(k, l) + d(i, l) * d(j, k)),
        frozenset({0, 3}): (N + 4) * d(i, l) * d(j, k)
        + 2 * (d(i, j) * d(k, l) + d(i, k) * d(j, l)),
    }
    bubbles = [t for t in c.terms if t.order == 2]
    assert len(bubbles) == 3
    for t in bubbles:
        v = next(v for v in (4, 5) if t.matrix[0][v])
        pair = frozenset(a for a in range(4) if t.matrix[a][v])
        assert t.matrix[4][5] == 2
        # (λ²/2)(x↔y) doubles to λ²: weight 32 λ² × the seed's index structure
        assert sp.expand(t.weight - 32 * lam**2 * channels[pair]) == 0
    assert sp.expand(loop[0] - 32 * lam**2 * sum(channels.values())) == 0


def test_so_dout_species_one_reduces_to_scalar():
    th = Theory({lam: 4}, species=N)
    c = th.correlator((1, 1, 1, 1), 2, connected=True)
    scalar = Theory({lam: 4}).correlator(4, 2, connected=True)
    assert sp.expand(c.zero_dim().subs(N, 1) - scalar.zero_dim()) == 0
