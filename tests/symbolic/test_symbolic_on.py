"""O(N) index algebra: symbolic N against Gaussian moments in N dimensions."""

from __future__ import annotations

import pytest
import sympy as sp

from fieldnn.symbolic import Theory

from ._oracles import on_full_explicit, radial_moment

lam = sp.Symbol("lambda")
N = sp.Symbol("N")
i, j, k, l = sp.symbols("i j k l")
d = sp.KroneckerDelta
ORDER = 2


def _series(expr):
    t = sp.Symbol("t_s")
    series = sp.series(expr.subs(lam, t * lam), t, 0, ORDER + 1).removeO().subs(t, 1)
    return sp.expand(sp.cancel(sp.expand(series)))


def _radial(power_extra, norm):
    """Σ_m (-λ)^m/m! E|f|^{4m+power_extra} / norm / Z, radial moments N(N+2)…"""
    num = sum(
        (-lam) ** m / sp.factorial(m) * radial_moment(N, 2 * m + power_extra // 2)
        for m in range(ORDER + 1)
    )
    Z = sum((-lam) ** m / sp.factorial(m) * radial_moment(N, 2 * m) for m in range(ORDER + 1))
    return _series(num / norm / Z)


@pytest.fixture(scope="module")
def theory():
    return Theory({lam: 4}, species=N)


def test_two_point_symbolic_N(theory):
    a = _radial(2, N)
    got = theory.correlator((i, j), ORDER).zero_dim()
    assert sp.expand(got - a * d(i, j)) == 0
    got_c = theory.correlator((i, j), ORDER, connected=True).zero_dim()
    assert sp.expand(got_c - a * d(i, j)) == 0


@pytest.mark.parametrize("connected", [False, True])
def test_four_point_symbolic_N(theory, connected):
    S = d(i, j) * d(k, l) + d(i, k) * d(j, l) + d(i, l) * d(j, k)
    full = _radial(4, N * (N + 2))
    if connected:
        full = _series(full - _radial(2, N) ** 2)
    got = theory.correlator((i, j, k, l), ORDER, connected=connected).zero_dim()
    assert sp.expand(sp.cancel(got - full * S)) == 0


@pytest.mark.parametrize("N_val", [1, 2, 3])
def test_explicit_N_by_componentwise_moments(theory, N_val):
    explicit_theory = Theory({lam: 4}, species=N_val)
    label_sets = [(1, 1), (1, 1, 1, 1)]
    if N_val >= 2:
        label_sets += [(1, 2), (1, 1, 2, 2), (1, 2, 1, 2), (1, 2, 2, 2)]
    if N_val >= 3:
        label_sets += [(1, 2, 3, 3), (3, 3, 3, 3)]
    for labels in label_sets:
        expected = on_full_explicit(N_val, labels, lam, ORDER)
        got = explicit_theory.correlator(labels, ORDER).zero_dim()
        assert sp.expand(got - expected) == 0, labels
        symbolic = theory.correlator(labels, ORDER).zero_dim().subs(N, N_val)
        assert sp.expand(symbolic - expected) == 0, labels
    # connected ⟨f1 f1 f1 f1⟩_c = ⟨f1^4⟩ - 3⟨f1^2⟩^2
    c4 = _series(
        on_full_explicit(N_val, (1, 1, 1, 1), lam, ORDER)
        - 3 * on_full_explicit(N_val, (1, 1), lam, ORDER) ** 2
    )
    got = explicit_theory.correlator((1, 1, 1, 1), ORDER, connected=True).zero_dim()
    assert sp.expand(got - c4) == 0


def test_radial_and_componentwise_moments_agree():
    from ._oracles import component_moment

    # E|f|^4 in N = 3 dimensions: radial N(N+2) = 15; componentwise Σ E f_a^2 f_b^2 = 3·3 + 6·1
    assert radial_moment(3, 2) == 15
    assert 3 * component_moment([4]) + 6 * component_moment([2, 2]) == 15


def test_phi6_on_vertex_tensor():
    # (f·f)^3 tree: -720 κ T^(6) with T the symmetrised tensor: 15 pairings, each 720/15 = 48
    kap = sp.Symbol("kappa")
    th = Theory({kap: 6}, species=N)
    labels = sp.symbols("a1:7")
    c = th.correlator(labels, 1, connected=True)
    (tree,) = [t for t in c.terms if t.order == 1]
    assert len(sp.Add.make_args(sp.expand(tree.weight))) == 15
    assert sp.expand(tree.weight).subs({s: 1 for s in labels}) == -720 * kap
