"""Wick pairings and the O(N) index algebra of the vertex (f·f)^m.

Conventions (docs/conventions.md): ⟨f_i(x) f_j(y)⟩_GP = δ_ij K(x, y); the O(N) vertex of
degree 2m is g (f·f)^m = g Σ f_{a_1} … f_{a_{2m}} T^{(2m)}_{a_1 … a_{2m}} with the totally
symmetric tensor

.. math:: T^{(2m)}_{a_1\\ldots a_{2m}} = \\frac{1}{(2m-1)!!}\\sum_{\\text{pairings } P}
          \\prod_{(b,c)\\in P} \\delta_{a_b a_c},

so that a diagram's index factor depends on the multigraph only (not on which half-edge of a
vertex a line uses), and the scalar weights carry over unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from itertools import product
from math import prod

import sympy as sp

from ..errors import DiagramError


def num_pairings(n: int) -> int:
    """Number of perfect matchings of ``n`` objects: ``(n-1)!!`` for even n, 0 for odd n.

    Examples
    --------
    >>> num_pairings(6)
    15
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise DiagramError("n", f"must be a non-negative integer, got {n!r}")
    if n % 2:
        return 0
    return prod(range(n - 1, 0, -2))


def pairings(items: Sequence[Hashable]) -> Iterator[list[tuple]]:
    """Yield every perfect matching of ``items`` as a list of pairs (Wick's theorem).

    The first item is paired with each later one in turn; ``len(items)`` odd yields nothing.

    Examples
    --------
    >>> list(pairings("abcd"))
    [[('a', 'b'), ('c', 'd')], [('a', 'c'), ('b', 'd')], [('a', 'd'), ('b', 'c')]]
    """
    items = list(items)
    if len(items) % 2:
        return
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for k, partner in enumerate(rest):
        for tail in pairings(rest[:k] + rest[k + 1 :]):
            yield [(first, partner), *tail]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def index_factor(
    A: list[list[int]], n_ext: int, labels: Sequence[sp.Basic], species: sp.Basic
) -> sp.Expr:
    """O(N) index factor of a diagram with symmetric vertex tensors T^(2m).

    Parameters
    ----------
    A : matrix
        Adjacency matrix, externals first (see ``_graphs``).
    n_ext : int
        Number of external points; external a carries the species label ``labels[a]``.
    labels : sequence of sympy objects
        Species labels of the external points.
    species : int or sympy Symbol
        N, the value of a closed index loop δ_ii.

    Returns
    -------
    sympy.Expr
        Sum over the vertex pairings, each weighted 1/(2m-1)!!, of N^(closed loops) times
        Kronecker deltas joining the external labels.
    """
    n_tot = len(A)
    # half-edges: one per external point, d_v per internal vertex
    owner: list[int] = []
    for v in range(n_tot):
        owner.extend([v] * sum(A[v][u] * (2 if u == v else 1) for u in range(n_tot)))
    start = {}
    for h, v in enumerate(owner):
        start.setdefault(v, h)
    used = Counter()
    lines: list[tuple[int, int]] = []
    for v in range(n_tot):
        for u in range(v, n_tot):
            for _ in range(A[v][u]):
                hv = start[v] + used[v]
                used[v] += 1
                hu = start[u] + used[u]
                used[u] += 1
                lines.append((hv, hu))
    internal = range(n_ext, n_tot)
    vertex_pairings = [list(pairings(range(start[v], start[v] + used[v]))) for v in internal]
    n_half = len(owner)
    tally: Counter = Counter()
    for choice in product(*vertex_pairings):
        uf = _UnionFind(n_half)
        for a, b in lines:
            uf.union(a, b)
        for pairing in choice:
            for a, b in pairing:
                uf.union(a, b)
        roots = {uf.find(h) for h in range(n_half)}
        ext_roots = {}
        for a in range(n_ext):
            ext_roots.setdefault(uf.find(start[a]), []).append(a)
        loops = len(roots) - len(ext_roots)
        pairs = tuple(sorted(tuple(v) for v in ext_roots.values()))
        tally[(pairs, loops)] += 1
    norm = prod(num_pairings(used[v]) for v in internal)
    total = sp.S.Zero
    for (pairs, loops), count in tally.items():
        deltas = sp.Mul(*(sp.KroneckerDelta(labels[a], labels[b]) for a, b in pairs))
        total += sp.Rational(count, norm) * species**loops * deltas
    return sp.expand(total)
