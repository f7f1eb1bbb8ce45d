"""Closed-form counts of the combinatorial work of the symbolic and exact paths (private).

Used to refuse, before any work, requests that would run for hours or exhaust memory:

* Wick pairings of m points: (m − 1)!! (m even).
* Feynman diagrams of G⁽ⁿ⁾ with c_k vertices of degree k, weighted by 1/|Aut|:
  (H − 1)!! / Π_k c_k! (k!)^{c_k} with H = n + Σ_k k c_k half-edges (the coefficient of the
  zero-dimensional expansion; Bender–Wu style counting).
* Set partitions of n points into even blocks: the coefficients of exp(cosh x − 1),
  a(n) = Σ_{j odd} C(n − 1, j) a(n − 1 − j), a(0) = 1 (1, 4, 31, 379, 6556, 150349, 4373461 for
  n = 2, 4, …, 14; OEIS A005046).

The time models attached to the counts were measured on the reference machine of
``docs/numerics.md`` and serve only to say "minutes" or "hours" in an error message.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from functools import cache

#: measured seconds per 1/|Aut|-weighted diagram, multiplied by this factor per internal vertex
_DIAGRAM_SECONDS = 1e-4
_VERTEX_FACTOR = 1.8
#: measured seconds per even set partition of the exact path (one input; Python overhead)
_PARTITION_SECONDS = 1.4e-4


def double_factorial(m: int) -> int:
    """m!! for m >= −1 ((−1)!! = 0!! = 1)."""
    return math.prod(range(m, 0, -2)) if m > 0 else 1


def wick_pairings(m: int) -> int:
    """Number of Wick pairings of m points: (m − 1)!! for even m, 0 for odd m."""
    return 0 if m % 2 else double_factorial(m - 1)


def diagram_count(n: int, order: int, degrees: Sequence[int]) -> tuple[float, float]:
    """(Σ 1/|Aut| over the diagrams of G⁽ⁿ⁾ up to ``order``, estimated seconds to generate them).

    Examples
    --------
    >>> diagram_count(20, 0, [4])[0]  # 19!! pairings of twenty points
    654729075.0
    """
    count = seconds = 0.0
    for vec in itertools.product(range(order + 1), repeat=len(degrees)):
        if sum(vec) > order:
            continue
        half_edges = n + sum(c * k for c, k in zip(vec, degrees, strict=True))
        if half_edges % 2:
            continue
        weight = double_factorial(half_edges - 1) / math.prod(
            math.factorial(c) * math.factorial(k) ** c for c, k in zip(vec, degrees, strict=True)
        )
        count += weight
        seconds += weight * _DIAGRAM_SECONDS * _VERTEX_FACTOR ** sum(vec)
    return count, seconds


@cache
def even_partition_count(n: int) -> int:
    """Number of set partitions of n points into blocks of even size (OEIS A005046).

    Examples
    --------
    >>> [even_partition_count(n) for n in (2, 4, 6, 8, 14)]
    [1, 4, 31, 379, 4373461]
    """
    if n % 2:
        return 0
    if n == 0:
        return 1
    # the block of the first point has 1 + j points, j odd
    return sum(math.comb(n - 1, j) * even_partition_count(n - 1 - j) for j in range(1, n, 2))


def exact_path_seconds(order: int, n_sites: int) -> float:
    """Estimated seconds of the exact connected path up to ``order`` on ``n_sites`` = P·d_out
    combined indices (the partition sums of every even order)."""
    total = 0.0
    for k in range(4, order + 1, 2):
        rows = math.comb(n_sites + k - 1, k)
        total += even_partition_count(k) * _PARTITION_SECONDS * (1.0 + rows / 1e4)
    return total


#: measured seconds per (4-subset of inputs × layer) of the four-point vertex of a smooth σ
#: without closed-form moments, by the rank-4 lattice rule (tanh, C_W = 1, C_b = 0.1, four
#: propagating layers: P = 7 in d_in = 3 6.4 s, the upper end; in d_in = 1, nearly
#: rank-deficient blocks, 2.2 s, and P = 10 10.6 s)
_VERTEX_SUBSET_SECONDS = 0.05


def four_point_vertex_seconds(n_inputs: int, n_layers: int) -> float:
    """Estimated seconds of the four-point vertex recursion of a σ on the generic quadrature
    path: the product moments of P > 3 inputs are assembled from C(P, 4) rank-4 quadratures
    in each of the L − 1 layers that propagate V (P ≤ 3: low-rank rules, not counted)."""
    return _VERTEX_SUBSET_SECONDS * math.comb(n_inputs, 4) * max(n_layers - 1, 1)


def warn_slow_vertex(name: str, n_inputs: int, n_layers: int, *, limit: float = 10.0) -> None:
    """A ``RuntimeWarning`` with the estimated time, before a long vertex recursion starts."""
    seconds = four_point_vertex_seconds(n_inputs, n_layers)
    if seconds > limit:
        warnings.warn(
            f"four_point_vertex of {name!r} at {n_inputs} inputs and {n_layers} layers: an "
            f"estimated {seconds:.3g} s ({math.comb(n_inputs, 4)} rank-4 quadratures per "
            "layer; erf and relu-type activations have fast exact paths)",
            RuntimeWarning,
            stacklevel=3,
        )
