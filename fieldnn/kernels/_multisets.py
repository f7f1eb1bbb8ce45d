"""Symmetric tensors stored on their sorted index multisets (private to the kernels).

A symmetric tensor of shape (P,)*n is kept as its values on the multisets a1 <= … <= an of
range(P) (lexicographic); :func:`scatter_symmetric` fills the full tensor. Shared by the
Gaussian expectations, the four-point moments and the exact finite-width cumulants.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations_with_replacement

import numpy as np

from ..errors import UnsupportedError

#: The largest tensor (entries) the kernels build, and the largest whose scatter map is cached.
MAX_TENSOR = 1 << 27
_CACHED_SCATTER = 1 << 16


@lru_cache(maxsize=64)
def unique_multisets(P: int, order: int) -> np.ndarray:
    """All sorted index tuples a1 <= … <= an in range(P), lexicographic: (U, n) int array
    (cached, read-only)."""
    combos = list(combinations_with_replacement(range(P), order))
    rows = np.array(combos, dtype=np.intp).reshape(len(combos), order)
    rows.flags.writeable = False
    return rows


def multiset_index(P: int, parts: np.ndarray) -> np.ndarray:
    """Row numbers in unique_multisets(P, k) of the sorted index tuples ``parts`` (m, k)."""
    k = parts.shape[1]
    if k == 0:
        return np.zeros(parts.shape[0], dtype=np.intp)
    radix = P ** np.arange(k - 1, -1, -1)
    return np.searchsorted(unique_multisets(P, k) @ radix, parts @ radix)


@lru_cache(maxsize=16)
def _scatter_index(P: int, order: int) -> np.ndarray:
    """Row in unique_multisets(P, order) of every flat index of the tensor (P,)*order (cached,
    read-only; used by :func:`scatter_symmetric` for tensors up to 2¹⁶ entries)."""
    digits = np.stack(np.unravel_index(np.arange(P**order), (P,) * order), axis=1)
    index = multiset_index(P, np.sort(digits, axis=1))
    index.flags.writeable = False
    return index


def scatter_symmetric(values: np.ndarray, P: int, order: int) -> np.ndarray:
    """Fill the symmetric tensor (P,)*order from values on :func:`unique_multisets` (axis 0).

    Works through the flat index in chunks of 2²⁰ entries (memory independent of the order);
    the index map of tensors up to 2¹⁶ entries is cached (the deep recursions scatter every
    layer).
    """
    if P**order > MAX_TENSOR:
        raise UnsupportedError("order", f"tensor of {P}**{order} entries is too large")
    if order == 0:
        return np.array(values[0])
    if P**order <= _CACHED_SCATTER:
        return values[_scatter_index(P, order)].reshape((P,) * order + values.shape[1:])
    out = np.empty((P**order, *values.shape[1:]), dtype=values.dtype)
    for lo in range(0, P**order, 1 << 20):
        flat = np.arange(lo, min(lo + (1 << 20), P**order))
        digits = np.stack(np.unravel_index(flat, (P,) * order), axis=1)
        out[flat] = values[multiset_index(P, np.sort(digits, axis=1))]
    return out.reshape((P,) * order + values.shape[1:])
