"""Independent oracles for the symbolic engine (no code shared with fieldnn.symbolic's engine).

* ``brute_force``: every Wick contraction of labelled half-edges (the textbook definition),
  vacuum components dropped, aggregated by labelled adjacency matrix.
* ``zero_dim_moments`` / ``cumulants``: exact zero-dimensional ⟨φ^n⟩ as power series in the
  couplings from Gaussian moments ⟨φ^{2m}⟩ = (2m-1)!!.
* ``on_moment``: O(N) Gaussian moments, radial formula (symbolic N) and componentwise
  multinomial expansion (explicit N).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import product
from math import comb, factorial, prod

import networkx as nx
import sympy as sp


def matchings(items):
    """All perfect matchings of a list (textbook recursion)."""
    if not items:
        yield ()
        return
    a = items[0]
    for k in range(1, len(items)):
        rest = items[1:k] + items[k + 1 :]
        for m in matchings(rest):
            yield ((a, items[k]), *m)


def double_factorial(n: int) -> int:
    return prod(range(n, 0, -2)) if n > 0 else 1


def _vacuum_free(adj: dict, n_ext: int, n_tot: int) -> bool:
    reach = set(range(n_ext))
    stack = list(range(n_ext))
    while stack:
        v = stack.pop()
        for u in range(n_tot):
            if u not in reach and adj.get((min(u, v), max(u, v)), 0):
                reach.add(u)
                stack.append(u)
    return len(reach) == n_tot


def _literal_index_factor(matching, half, n_ext, labels, N):
    """δ/N structure of one contraction with the literal vertex (f·f)^m = f_a f_a f_b f_b …:
    half-edges 2r and 2r+1 of a vertex carry the same index."""
    parent = {h: h for h in half}

    def find(h):
        while parent[h] != h:
            h = parent[h]
        return h

    def union(a, b):
        parent[find(a)] = find(b)

    for a, b in matching:
        union(a, b)
    for v, r in half:
        if v >= n_ext and r % 2 == 0:
            union((v, r), (v, r + 1))
    ext_roots: dict = {}
    for a in range(n_ext):
        ext_roots.setdefault(find((a, 0)), []).append(a)
    loops = len({find(h) for h in half}) - len(ext_roots)
    deltas = sp.Mul(*(sp.KroneckerDelta(labels[p[0]], labels[p[1]]) for p in ext_roots.values()))
    return N**loops * deltas


def brute_force(
    couplings, degrees, n_ext: int, order: int, *, connected: bool = False, labels=None, N=None
):
    """{(vertex types, labelled adjacency tuple): summed weight} from every Wick contraction.

    With ``labels`` (one species label per external point) and ``N``, every contraction also
    carries the O(N) index factor of the literal vertices (f·f)^{k/2}.
    """
    out: dict = defaultdict(lambda: sp.S.Zero)
    for vec in product(range(order + 1), repeat=len(couplings)):
        if sum(vec) > order:
            continue
        types = [t for t, c in enumerate(vec) for _ in range(c)]
        half = [(a, 0) for a in range(n_ext)]
        for v, t in enumerate(types):
            half += [(n_ext + v, h) for h in range(degrees[t])]
        if len(half) % 2:
            continue
        pref = sp.Mul(*((-g) ** c / sp.factorial(c) for g, c in zip(couplings, vec, strict=False)))
        n_tot = n_ext + len(types)
        counts: dict = defaultdict(int)
        for m in matchings(half):
            adj: dict = defaultdict(int)
            for (u, _), (v, _) in m:
                adj[(min(u, v), max(u, v))] += 1
            index = 1 if labels is None else _literal_index_factor(m, half, n_ext, labels, N)
            counts[tuple(sorted(adj.items()))] += index
        for key, c in counts.items():
            adj = dict(key)
            if not _vacuum_free(adj, n_ext, n_tot):
                continue
            if connected:
                graph = _graph(adj, n_ext, types, couplings)
                if len(graph) == 0 or not nx.is_connected(graph):
                    continue  # the empty diagram of <1> = 1 is not a connected one
            out[(tuple(types), key)] += c * pref
    return dict(out)


def _graph(adj, n_ext, types, couplings):
    g = nx.MultiGraph()
    for a in range(n_ext):
        g.add_node(f"x{a + 1}", kind="external", point=a + 1)
    for v, t in enumerate(types):
        g.add_node(f"v{v}", kind="vertex", coupling=couplings[t])
    name = [f"x{a + 1}" for a in range(n_ext)] + [f"v{v}" for v in range(len(types))]
    for (i, j), m in adj.items():
        for _ in range(m):
            g.add_edge(name[i], name[j])
    return g


def brute_force_graphs(couplings, degrees, n_ext, order, *, connected=False, labels=None, N=None):
    """[(networkx graph, summed weight)] of brute_force, one entry per labelled matrix."""
    res = brute_force(couplings, degrees, n_ext, order, connected=connected, labels=labels, N=N)
    return [(_graph(dict(key), n_ext, types, couplings), w) for (types, key), w in res.items()]


def same_diagram(g1: nx.MultiGraph, g2: nx.MultiGraph) -> bool:
    """Isomorphism fixing external points and vertex couplings (networkx VF2)."""

    def node_match(a, b):
        if a["kind"] != b["kind"]:
            return False
        if a["kind"] == "external":
            return a["point"] == b["point"]
        return a["coupling"] == b["coupling"]

    return nx.is_isomorphic(
        g1, g2, node_match=node_match, edge_match=lambda e1, e2: len(e1) == len(e2)
    )


_T = sp.Symbol("t_scale")


def _truncate(expr, couplings, order, t=_T):
    scaled = sp.expand(expr.subs({g: t * g for g in couplings}, simultaneous=True))
    return sp.expand(sum(scaled.coeff(t, j) for j in range(order + 1)))


def zero_dim_moments(couplings, degrees, n_max, order):
    """[⟨φ^n⟩ for n = 0..n_max]: ∫ φ^n e^{-φ²/2 - Σ g φ^k} / Z, series to ``order``."""
    phi = sp.Symbol("phi")
    V = sum(g * phi**k for g, k in zip(couplings, degrees, strict=False))
    expo = sum((-V) ** m / factorial(m) for m in range(order + 1))
    expo = _truncate(sp.expand(expo), couplings, order)

    def gauss(poly):
        p = sp.Poly(sp.expand(poly), phi)
        return sum(c * (double_factorial(e - 1) if e % 2 == 0 else 0) for (e,), c in p.terms())

    Z = gauss(expo)
    inv_Z = _truncate(
        sp.series(1 / (1 + sp.Symbol("u")), sp.Symbol("u"), 0, order + 1)
        .removeO()
        .subs(sp.Symbol("u"), Z - 1),
        couplings,
        order,
    )
    return [_truncate(gauss(phi**n * expo) * inv_Z, couplings, order) for n in range(n_max + 1)]


def cumulants(moments, couplings, order):
    """κ_n from m_n: κ_n = m_n - Σ_{k=1}^{n-1} C(n-1, k-1) κ_k m_{n-k}."""
    kap = [sp.S.Zero]
    for n in range(1, len(moments)):
        val = moments[n] - sum(comb(n - 1, k - 1) * kap[k] * moments[n - k] for k in range(1, n))
        kap.append(_truncate(sp.expand(val), couplings, order))
    return kap


def radial_moment(N, k):
    """E|f|^{2k} for f ~ N(0, 1_N): N (N+2) … (N+2k-2)."""
    return sp.Mul(*[(N + 2 * r) for r in range(k)])


def component_moment(powers):
    """E Π_c f_c^{p_c} for independent standard normal components."""
    return prod(double_factorial(p - 1) if p % 2 == 0 else 0 for p in powers)


def on_full_explicit(N_val, labels, lam, order):
    """⟨f_{l1} … f_{ln}⟩ for explicit N with e^{-|f|²/2 - λ |f|^4}, by multinomial expansion."""
    base = [0] * N_val
    for lab in labels:
        base[lab - 1] += 1

    def expect_with(m):  # E[Π f^{base} (f·f)^{2m}]
        total = 0
        for combo in _compositions(2 * m, N_val):
            coef = factorial(2 * m) // prod(factorial(c) for c in combo)
            total += coef * component_moment([b + 2 * c for b, c in zip(base, combo, strict=False)])
        return total

    def z_with(m):
        total = 0
        for combo in _compositions(2 * m, N_val):
            coef = factorial(2 * m) // prod(factorial(c) for c in combo)
            total += coef * component_moment([2 * c for c in combo])
        return total

    num = sum((-lam) ** m / factorial(m) * expect_with(m) for m in range(order + 1))
    Z = sum((-lam) ** m / factorial(m) * z_with(m) for m in range(order + 1))
    t = sp.Symbol("t_s")
    ratio = sp.series((num / Z).subs(lam, t * lam), t, 0, order + 1).removeO().subs(t, 1)
    return sp.expand(ratio)


def _compositions(total, parts):
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)
