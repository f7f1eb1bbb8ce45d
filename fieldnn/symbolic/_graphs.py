"""Feynman-graph generation by degree sequences, canonical forms and topological filters.

A diagram is stored as a symmetric integer adjacency matrix ``A`` on ``n + V`` vertices: the
``n`` external points (degree 1, labelled, rows ``0 … n-1``) followed by the ``V`` internal
vertices (rows ``n …``), each of a *type* (the index of its coupling) with a fixed degree.
``A[i][j]`` (i ≠ j) is the number of lines between i and j, ``A[i][i]`` the number of
self-loops at i (a self-loop uses two half-edges).

Generation fills the matrix row by row, creating internal vertices breadth-first from the
external points (see :func:`generate`): new vertices of one type created by the same row are
interchangeable, so their entries in that row are taken non-increasing. This leaves at least
one labelled matrix of every isomorphism class while cutting the V! relabelings down to a
handful, and never builds a vacuum bubble. Duplicates are merged by a canonical form computed
by colour refinement followed by an exhaustive search over the permutations that respect the
refined colour classes; the number of those permutations that fix the matrix is the order of the
vertex automorphism group.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import permutations, product
from math import factorial

Matrix = list[list[int]]


def generate(
    n_ext: int, counts: Sequence[int], degrees: Sequence[int], *, no_ext_pairs: bool = False
) -> Iterator[tuple[Matrix, tuple[int, ...]]]:
    """Yield labelled adjacency matrices covering every vacuum-free graph class.

    Internal vertices are created on demand, in breadth-first order: a row may join lines to
    vertices created earlier or create new ones, which take the next free labels, ordered by
    type and, within a type, by non-increasing number of lines to the current row. Every
    vacuum-free graph has such a labelling (label its vertices breadth-first from the external
    points with these tie-breaks), and a vertex is always reached from an external point, so
    vacuum bubbles are never produced.

    Parameters
    ----------
    n_ext : int
        Number of external points (degree 1, labelled).
    counts : sequence of int
        Number of internal vertices of each type.
    degrees : sequence of int
        Degree of a vertex of each type.
    no_ext_pairs : bool
        Forbid lines joining two external points (used for connected diagrams with
        internal vertices, where such a line would be a separate component).

    Yields
    ------
    (matrix, types)
        The adjacency matrix (externals first) and the type of each internal vertex.
    """
    n_vert = sum(counts)
    n_tot = n_ext + n_vert
    left = list(counts)
    deg = [1] * n_ext + [0] * n_vert
    kind = [-1] * n_tot
    res = deg.copy()
    A = [[0] * n_tot for _ in range(n_tot)]
    created = [n_ext]  # one past the last created vertex

    def fill(i: int) -> Iterator[tuple[Matrix, tuple[int, ...]]]:
        while i < created[0] and res[i] == 0:
            i += 1
        if i == created[0]:
            if created[0] == n_tot:
                yield [row.copy() for row in A], tuple(kind[n_ext:])
            return
        targets = [
            j for j in range(i + 1, created[0]) if res[j] and not (j < n_ext and no_ext_pairs)
        ]
        existing = sum(res[j] for j in targets)
        r_i = res[i]
        res[i] = 0
        for loops in range(r_i // 2 if i >= n_ext else 0, -1, -1):
            A[i][i] = loops
            yield from spread(i, targets, 0, r_i - 2 * loops, existing)
        A[i][i] = 0
        res[i] = r_i

    def spread(
        i: int, targets: list[int], t: int, rem: int, tail: int
    ) -> Iterator[tuple[Matrix, tuple[int, ...]]]:
        if t == len(targets):
            yield from create(i, 0, rem, rem)
            return
        j = targets[t]
        tail -= res[j]
        for m in range(min(res[j], rem), -1, -1):
            A[i][j] = A[j][i] = m
            res[j] -= m
            yield from spread(i, targets, t + 1, rem - m, tail)
            res[j] += m
        A[i][j] = A[j][i] = 0

    def create(i: int, typ: int, rem: int, cap: int) -> Iterator[tuple[Matrix, tuple[int, ...]]]:
        if rem == 0:
            yield from fill(i + 1)
            return
        if typ == len(left) or created[0] == n_tot:
            return
        # next type without a new vertex of this type
        yield from create(i, typ + 1, rem, rem)
        if left[typ] == 0:
            return
        v = created[0]
        d = degrees[typ]
        kind[v], deg[v] = typ, d
        left[typ] -= 1
        created[0] += 1
        for m in range(min(d, rem, cap), 0, -1):
            A[i][v] = A[v][i] = m
            res[v] = d - m
            yield from create(i, typ, rem - m, m)
        A[i][v] = A[v][i] = 0
        res[v] = 0
        created[0] -= 1
        left[typ] += 1
        kind[v], deg[v] = -1, 0

    yield from fill(0)


def contraction_count(A: Matrix, degrees: Sequence[int]) -> int:
    """Number of half-edge matchings with labelled vertices realising the matrix ``A``.

    .. math:: \\frac{\\prod_v d_v!}{\\prod_{i<j} A_{ij}!\\,\\prod_i A_{ii}!\\,2^{A_{ii}}}
    """
    num = 1
    for d in degrees:
        num *= factorial(d)
    den = 1
    n = len(A)
    for i in range(n):
        den *= factorial(A[i][i]) * 2 ** A[i][i]
        for j in range(i + 1, n):
            den *= factorial(A[i][j])
    return num // den


def _refine(A: Matrix, n_ext: int, init: list[tuple]) -> list[int]:
    """Colour refinement (1-dimensional Weisfeiler–Leman) on the internal vertices."""
    n_tot = len(A)
    internal = range(n_ext, n_tot)
    ranks = {c: r for r, c in enumerate(sorted(set(init)))}
    col = [ranks[c] for c in init]
    n_col = len(ranks)
    while True:
        sig = [
            (
                col[a],
                tuple(sorted((col[u - n_ext], A[v][u]) for u in internal if u != v and A[v][u])),
            )
            for a, v in enumerate(internal)
        ]
        ranks = {c: r for r, c in enumerate(sorted(set(sig)))}
        col = [ranks[s] for s in sig]
        if len(ranks) == n_col:
            return col
        n_col = len(ranks)


def canonical_form(
    A: Matrix, n_ext: int, types: Sequence[int], *, labelled: bool = True
) -> tuple[tuple, list[int], int]:
    """Canonical key, canonical order of the internal vertices and |Aut| of a diagram.

    Parameters
    ----------
    A : matrix
        Adjacency matrix (externals first).
    n_ext : int
        Number of external points.
    types : sequence of int
        Type of every internal vertex (same order as the rows of ``A`` after the externals).
    labelled : bool
        True: external points are labelled (fixed). False: they may be permuted among
        themselves (the key then identifies a *topology*).

    Returns
    -------
    key : tuple
        Equal for two diagrams if and only if they are isomorphic.
    order : list of int
        Matrix rows of the internal vertices in canonical order.
    n_aut : int
        Number of permutations of the internal vertices that leave ``A`` unchanged
        (for ``labelled=False`` this counts only permutations that fix every external point).
    """
    n_tot = len(A)
    internal = list(range(n_ext, n_tot))
    if labelled:
        # negated leg counts: the vertex on the lowest-numbered external point comes first
        init = [
            (types[a], tuple(-m for m in A[v][:n_ext]), A[v][v]) for a, v in enumerate(internal)
        ]
        ext_key: tuple = tuple(A[a][b] for a in range(n_ext) for b in range(a + 1, n_ext))
    else:
        init = [(types[a], (-sum(A[v][:n_ext]),), A[v][v]) for a, v in enumerate(internal)]
        ext_key = (sum(A[a][b] for a in range(n_ext) for b in range(a + 1, n_ext)),)
    col = _refine(A, n_ext, init)
    cells: dict[int, list[int]] = {}
    for a, v in enumerate(internal):
        cells.setdefault(col[a], []).append(v)
    cell_list = [cells[c] for c in sorted(cells)]
    best: tuple | None = None
    best_order: list[int] = []
    n_best = 0
    for choice in product(*(permutations(c) for c in cell_list)):
        order = [v for part in choice for v in part]
        key = tuple(A[order[a]][order[b]] for a in range(len(order)) for b in range(a, len(order)))
        if best is None or key < best:
            best, best_order, n_best = key, order, 1
        elif key == best:
            n_best += 1
    if not internal:
        best, best_order, n_best = (), [], 1
    head = tuple((init[v - n_ext]) for v in best_order)
    return (ext_key, head, best), best_order, n_best


def reorder(A: Matrix, n_ext: int, order: Sequence[int]) -> Matrix:
    """Return ``A`` with the internal vertices in the given order (externals unchanged)."""
    perm = list(range(n_ext)) + list(order)
    return [[A[p][q] for q in perm] for p in perm]


def components(A: Matrix) -> list[list[int]]:
    """Connected components (lists of vertex rows) of the multigraph ``A``."""
    n = len(A)
    seen = [False] * n
    comps = []
    for s in range(n):
        if seen[s]:
            continue
        stack, comp = [s], []
        seen[s] = True
        while stack:
            v = stack.pop()
            comp.append(v)
            for u in range(n):
                if A[v][u] and not seen[u]:
                    seen[u] = True
                    stack.append(u)
        comps.append(sorted(comp))
    return comps


def has_two_point_insertion(A: Matrix, n_ext: int) -> bool:
    """True if a non-empty set of internal vertices is joined to the rest by exactly two lines.

    This is the seed's Feynman rule 4.5 (arXiv:2008.08601, slide "Feynman Rules"): such a set is
    a correction to a 2-point function (a self-energy insertion on a line, or a whole
    2-point component), which the exact propagator K already contains.
    """
    n_tot = len(A)
    internal = list(range(n_ext, n_tot))
    V = len(internal)
    for mask in range(1, 1 << V):
        inside = [internal[a] for a in range(V) if mask >> a & 1]
        in_set = set(inside)
        cut = 0
        for v in inside:
            for u in range(n_tot):
                if u not in in_set:
                    cut += A[v][u]
            if cut > 2:
                break
        if cut == 2:
            return True
    return False


def is_one_particle_irreducible(A: Matrix, n_ext: int) -> bool:
    """True for a connected diagram whose internal lines are not bridges.

    Every external point must hang on an internal vertex (no bare propagator), and cutting
    any single line between internal vertices must leave the internal part connected.
    """
    n_tot = len(A)
    if n_tot == n_ext:
        return False
    if any(A[a][b] for a in range(n_ext) for b in range(n_ext)):
        return False
    if len(components(A)) != 1:
        return False
    for i in range(n_ext, n_tot):
        for j in range(i + 1, n_tot):
            if A[i][j] == 1:
                A[i][j] = A[j][i] = 0
                split = len(components([row[n_ext:] for row in A[n_ext:]])) > 1
                A[i][j] = A[j][i] = 1
                if split:
                    return False
    return True
