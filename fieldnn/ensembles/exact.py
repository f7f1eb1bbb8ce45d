r"""Exact finite-width correlators of the single-hidden-layer (seed-001) networks.

Network: :math:`f_i(x) = b_{1,i} + \sum_{j=1}^N W_{1,ij}\,\sigma(W_{0,j}\cdot x + b_{0,j})`,
:math:`W_0 \sim \mathcal N(0, \sigma_W^2/d_{in})`, :math:`W_1 \sim \mathcal N(0, \sigma_W^2/N)`,
:math:`b_0, b_1 \sim \mathcal N(0, \sigma_b^2)`, all independent and zero-mean (the exact path
takes zero-mean parameters only; means are the architecture's business).

Derivation (``docs/numerics.md``, "Exact finite-width cumulants").
:math:`f - b_1 = \sum_j u_j` with iid units :math:`u_{j,i}(x) = W_{1,ij}\,s_j(x)`,
:math:`s_j(x) = \sigma(z_j(x))`, :math:`z_j \sim \mathcal{GP}(0, C)`,
:math:`C(x,y) = \sigma_b^2 + \sigma_W^2\,x\cdot y/d_{in}`. Cumulants add over independent
summands and b1 is Gaussian, so for n ≥ 3

.. math:: \kappa_n\big(f_{i_1}(x_{a_1}),\dots,f_{i_n}(x_{a_n})\big)
          = N\,\kappa_n\big(u_{i_1}(x_{a_1}),\dots,u_{i_n}(x_{a_n})\big),

and :math:`\kappa_2 = K(x_a, x_b)\,\delta_{ij}` with :math:`K = \sigma_b^2 + \sigma_W^2 M_2`.
The single-unit joint moments factorise (readout weights independent of the hidden unit):

.. math:: \Big\langle \prod_{k} u_{i_k}(x_{a_k}) \Big\rangle
          = \Big(\frac{\sigma_W^2}{N}\Big)^{n/2} \mathcal W_n[i_1..i_n]\; M_n[a_1..a_n],

with :math:`M_n = \langle \prod_k \sigma(z_{a_k})\rangle_C`
(:func:`~fieldnn.kernels.product_moments`) and :math:`\mathcal W_n` the Gaussian moment of
iid unit normals (the number of pairings of i_1..i_n into equal species; (n−1)!! for
d_out = 1; 0 for odd n). Cumulants follow from moments by the set-partition formula

.. math:: \kappa(1..n) = \sum_{\pi} (-1)^{|\pi|-1}(|\pi|-1)! \prod_{B\in\pi} m(B),

where only partitions into even blocks contribute (odd moments vanish). Hence the
connected n-point function is :math:`\sigma_W^n N^{1-n/2}` times an N-independent tensor:
exactly 1/N for n = 4, 1/N² for n = 6. Full correlators are sums over set partitions (into
even blocks: f has zero mean) of products of connected ones.

Shapes: (P,)*n for d_out = 1; (P,)*n + (d_out,)*n otherwise (inputs first, then species).

References
----------
J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 3 (the 1/N scaling of ΔG^(n)
measured there is exact here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np

from .._validate import input_points, nonnegative_float, positive_int
from ..errors import UnsupportedError
from ..kernels import Activation, get_activation, preactivation_covariance
from ..kernels.gaussian import (
    multiset_index,
    product_moment_tensors,
    scatter_symmetric,
    unique_multisets,
)

__all__ = ["exact_connected", "exact_full"]

_MAX_ENTRIES = 1 << 25


def _partitions(items: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], ...]]:
    """Set partitions of ``items`` into blocks of even size (first item's block chosen first)."""
    if not items:
        yield ()
        return
    first, rest = items[0], items[1:]
    for size in range(1, len(rest) + 1, 2):  # odd number of partners: even block
        for partners in combinations(rest, size):
            block = (first, *partners)
            remaining = tuple(x for x in rest if x not in partners)
            for tail in _partitions(remaining):
                yield (block, *tail)


@lru_cache(maxsize=16)
def even_partitions(n: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """All partitions of range(n) into even blocks (379 for n = 8)."""
    return tuple(_partitions(tuple(range(n))))


def _pairings(c: np.ndarray) -> np.ndarray:
    """(c − 1)!! for even c, 0 for odd c: the moment E[g^c] of a unit normal, elementwise."""
    table = np.zeros(int(c.max(initial=0)) + 1)
    table[0::2] = [math.prod(range(m - 1, 0, -2)) for m in range(0, table.size, 2)]
    return table[c]


@lru_cache(maxsize=256)
def _block_rows(D: int, n: int, block: tuple[int, ...]) -> np.ndarray:
    """For every sorted multiset of order n over range(D), the row of its sub-multiset at the
    positions ``block`` in unique_multisets(D, len(block)) (sub-rows of sorted rows are sorted)."""
    return multiset_index(D, unique_multisets(D, n)[:, list(block)])


def _partition_sum(
    values: dict[int, np.ndarray], D: int, n: int, weights: list[float]
) -> np.ndarray:
    """Σ_π weight_π Π_{B∈π} values[|B|][α_B] on the sorted multisets α of order n over range(D).

    ``values[k]`` holds a symmetric k-index function on unique_multisets(D, k); π runs over the
    partitions of the n positions into even blocks.
    """
    out = np.zeros(unique_multisets(D, n).shape[0])
    for partition, weight in zip(even_partitions(n), weights, strict=True):
        term = np.full(out.shape, float(weight))
        for block in partition:
            term = term * values[len(block)][_block_rows(D, n, block)]
        out += term
    return out


def _to_tensor(values: np.ndarray, n: int, P: int, d_out: int) -> np.ndarray:
    """Scatter values on the combined index α = a·d + i to (P,)*n (+ (d,)*n when d > 1)."""
    full = scatter_symmetric(values, P * d_out, n)
    if d_out == 1:
        return full
    out = full.reshape((P, d_out) * n)
    return out.transpose([2 * k for k in range(n)] + [2 * k + 1 for k in range(n)])


def _arguments(
    act: Any, X: Any, order: Any, width: Any, sigma_w2: Any, sigma_b2: Any, d_out: Any
) -> tuple[Activation, np.ndarray, int, int, float, float, int]:
    act = get_activation(act)
    X = input_points(X, "X")
    n = positive_int(order, "order")
    N = positive_int(width, "width")
    sw = nonnegative_float(sigma_w2, "sigma_w2")
    sb = nonnegative_float(sigma_b2, "sigma_b2")
    d = positive_int(d_out, "d_out")
    if (X.shape[0] * d) ** n > _MAX_ENTRIES:
        raise UnsupportedError(
            "order", f"a tensor of ({X.shape[0]}*{d})**{n} entries is too large for the exact path"
        )
    return act, X, n, N, sw, sb, d


def _shape(P: int, n: int, d_out: int) -> tuple[int, ...]:
    return (P,) * n if d_out == 1 else (P,) * n + (d_out,) * n


def _connected_values(
    act: Activation, X: np.ndarray, n: int, N: int, sw: float, sb: float, d: int
) -> dict[int, np.ndarray]:
    """{k: connected k-point function on unique_multisets(P·d, k)} for even k = 2, …, n.

    Combined index α = a·d + i (input a, species i). The width enters only through the factor
    N (σ_W²/N)^{k/2} of order k >= 4: the N-independent part is cached
    (:func:`_unit_cumulants`), so a sweep over widths costs one quadrature per order.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    unit = _unit_cumulants(act, X.tobytes(), X.shape, n, sw, sb, d)
    return {k: (v if k == 2 else N * (sw / N) ** (k // 2) * v) for k, v in unit.items()}


@lru_cache(maxsize=64)
def _unit_cumulants(
    act: Activation, x_bytes: bytes, shape: tuple[int, int], n: int, sw: float, sb: float, d: int
) -> dict[int, np.ndarray]:
    """Width-independent parts of :func:`_connected_values` (read-only arrays, cached).

    k = 2: the kernel K δ_ij; k >= 4: κ_k of the unit with readout variance 1.
    """
    X = np.frombuffer(x_bytes, dtype=np.float64).reshape(shape)
    P = X.shape[0]
    D = P * d
    C = preactivation_covariance(X, sigma_w2=sw, sigma_b2=sb)
    orders = tuple(range(2, n + 1, 2))
    M = product_moment_tensors(act, C, orders)
    # single-unit moments with unit readout variance: M_k[a_1..a_k] × 𝒲_k[i_1..i_k],
    # 𝒲_k = Π_species (count − 1)!! (zero if a species appears an odd number of times)
    unit = {}
    for k in orders:
        rows = unique_multisets(D, k)
        species = rows % d
        counts = np.stack([np.sum(species == s, axis=1) for s in range(d)], axis=1)
        unit[k] = M[k][tuple((rows // d).T)] * np.prod(_pairings(counts), axis=1)
    rows = unique_multisets(D, 2)
    out = {2: sb * (rows[:, 0] % d == rows[:, 1] % d) + sw * unit[2]}
    for k in orders[1:]:
        weights = [(-1) ** (len(p) - 1) * math.factorial(len(p) - 1) for p in even_partitions(k)]
        out[k] = _partition_sum(unit, D, k, weights)
    for values in out.values():
        values.setflags(write=False)
    return out


def exact_connected(
    act: str | Callable | Activation,
    X: Any,
    order: int,
    *,
    width: int,
    sigma_w2: float,
    sigma_b2: float,
    d_out: int = 1,
) -> np.ndarray:
    r"""Exact connected n-point function of the seed-001 single-layer net at width N.

    Parameters
    ----------
    act : str, callable or Activation
        Hidden activation ("erf", "relu", "gauss" (Gauss-net unit), any registry name or callable).
    X : array_like (P, d_in)
        Inputs.
    order : int
        n >= 1. Odd n give zeros; n = 2 gives K(x_a, x_b) δ_ij (b1 included); n >= 4 gives
        N × the single-unit cumulant.
    width : int
        Hidden width N >= 1.
    sigma_w2, sigma_b2 : float
        σ_W², σ_b² (zero-mean parameters).
    d_out : int
        Number of outputs (species).

    Returns
    -------
    ndarray (P,)*n, or (P,)*n + (d_out,)*n when d_out > 1

    Notes
    -----
    See the module docstring for the derivation. Accuracy is that of
    :func:`~fieldnn.kernels.product_moments`: ~1e-14 relative for gauss, relu, leaky relu and
    linear; trapezoid-rule quadrature (~1e-13, error estimate in ``docs/numerics.md``) otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> G4 = exact_connected("gauss", [[0.0]], 4, width=10, sigma_w2=1.0, sigma_b2=1.0)
    >>> round(float(G4[0, 0, 0, 0]), 10)  # 3 σ_W⁴ (e^{4q} − 1)/N with q = σ_b² = 1
    16.0794450099
    """
    act, X, n, N, sw, sb, d = _arguments(act, X, order, width, sigma_w2, sigma_b2, d_out)
    P = X.shape[0]
    if n % 2:
        return np.zeros(_shape(P, n, d))
    return _to_tensor(_connected_values(act, X, n, N, sw, sb, d)[n], n, P, d)


def exact_full(
    act: str | Callable | Activation,
    X: Any,
    order: int,
    *,
    width: int,
    sigma_w2: float,
    sigma_b2: float,
    d_out: int = 1,
) -> np.ndarray:
    r"""Exact full n-point function ⟨f(x_1)…f(x_n)⟩ of the seed-001 net at width N.

    Sum over set partitions of the inputs into even blocks of products of
    :func:`exact_connected` tensors (f has zero mean, so odd blocks vanish).
    Same parameters and shapes as :func:`exact_connected`.

    Examples
    --------
    >>> import numpy as np
    >>> G2 = exact_full("relu", [[1.0]], 2, width=3, sigma_w2=2.0, sigma_b2=0.0)
    >>> round(float(G2[0, 0]), 12)  # σ_W² · q/2 with q = 2
    2.0
    """
    act, X, n, N, sw, sb, d = _arguments(act, X, order, width, sigma_w2, sigma_b2, d_out)
    P = X.shape[0]
    if n % 2:
        return np.zeros(_shape(P, n, d))
    connected = _connected_values(act, X, n, N, sw, sb, d)
    full = _partition_sum(connected, P * d, n, [1.0] * len(even_partitions(n)))
    return _to_tensor(full, n, P, d)
