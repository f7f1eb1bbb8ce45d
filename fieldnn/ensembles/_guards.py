"""Checks made before or at the start of a sampled run (private): predicted memory and time
from the multiset counts, and float32 resolution of the outputs.

References
----------
P. McCullagh, *Tensor Methods in Statistics* (1987), eq. (2.9) (the moment–cumulant
recursion whose index maps dominate the memory).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentError, UnsupportedError
from . import sampling
from .accumulate import ChunkSums

__all__ = ["check_cost", "check_float32_resolution", "estimate_cost"]


def estimate_cost(n_sites: int, max_order: int, tensor_orders: tuple[int, ...]) -> dict[str, float]:
    """Predicted peak memory (bytes) and time of an accumulation of ``n_sites`` sites up to
    ``max_order``, from the multiset counts W_k alone.

    Memory: index maps of the cumulant recursion (2^(k-1) - 1 pairs of W_k int64) and of the
    full moments (2^k maps), ~12 float64 vectors of all multisets (sums, error-block sums,
    anchors, batch sums, in-flight estimates), and the largest symmetric tensor asked for
    (S^n entries: index grid, ranks and values, ~(4n + 32) bytes each). Time: ~1.6 ns per
    multiset and network (power sums); per error block ~3 ns per map entry plus ~1 µs per
    subset term (the Python loop over subsets), twice (moments and cumulants); ~0.35 µs per
    tensor entry for the value and the standard error (expansion to the symmetric tensor).
    An order-of-magnitude estimate (sampling not included; measured within a factor ~10 on
    3-12 sites, orders 6-12, memory within ~100 MiB).
    """
    counts = {k: math.comb(n_sites + k - 1, k) for k in range(1, max_order + 1)}
    total = sum(counts.values())
    maps = sum((2**k + 2 * (2 ** (k - 1) - 1)) * w for k, w in counts.items())
    terms = sum(2**k * k for k in counts)
    tensor = max((n_sites**n * (4 * n + 32) for n in tensor_orders), default=0)
    return {
        "multisets": float(total),
        "bytes": float(8 * maps + 8 * 12 * total + tensor),
        "seconds_per_network": 1.6e-9 * total,
        "seconds_per_block": 2 * (3e-9 * maps + 1e-6 * terms),
        "seconds_tensors": 2 * 3.5e-7 * sum(float(n_sites) ** n for n in tensor_orders),
    }


def check_cost(
    n_sites: int, max_order: int, orders: tuple[int, ...], n_nets: int, block: int
) -> dict[str, float]:
    """Refuse (naming ``orders``) a run whose predicted memory exceeds this machine's physical
    memory; return the prediction (bytes, seconds) for the provenance and the progress bar."""
    cost = estimate_cost(n_sites, max_order, orders)
    cost["seconds"] = (
        n_nets * cost["seconds_per_network"]
        + (n_nets // block) * cost["seconds_per_block"]
        + cost["seconds_tensors"]
    )
    physical = sampling._physical_memory()  # module attribute: the errors doc patches it
    if physical is not None and cost["bytes"] > physical:
        raise UnsupportedError(
            "orders",
            f"{n_sites} sites up to order {max_order} ({cost['multisets']:.4g} unique "
            f"multisets, tensors of up to {n_sites}^{max(orders)} entries) need an estimated "
            f"{cost['bytes'] / 2**30:.3g} GiB, more than this machine's "
            f"{physical / 2**30:.3g} GiB; reduce the number of inputs, outputs or the order",
        )
    return cost


# float32 keeps 24 bits: outputs whose mean is this many standard deviations from zero lose
# more than ~1e-4 of their fluctuation to rounding (2^23 * 1e-4 ≈ 840).
_FLOAT32_MAX_MEAN_OVER_SPREAD = 2.0**23 * 1e-4


def check_float32_resolution(reference: np.ndarray, pieces: list[ChunkSums]) -> None:
    """Refuse float32 sampling where the outputs' mean dwarfs their spread (first chunk)."""
    count = sum(p.count for p in pieces)
    first = sum(p.sums[0] for p in pieces) / count
    n_sites = reference.size
    diagonal = _diagonal_positions(n_sites)
    second = sum(p.sums[1][diagonal] for p in pieces) / count
    spread = np.sqrt(np.maximum(second - first * first, 0.0))
    ratio = np.abs(reference + first) / np.maximum(spread, np.finfo(np.float64).tiny)
    worst = float(ratio.max())
    if worst > _FLOAT32_MAX_MEAN_OVER_SPREAD:
        raise ArgumentError(
            "dtype",
            f"float32 cannot resolve these outputs: their mean is {worst:.3g} standard "
            f"deviations from zero (float32 resolves ~{_FLOAT32_MAX_MEAN_OVER_SPREAD:.0f}); "
            "the fluctuations would be lost to rounding: use dtype=numpy.float64",
        )


def _diagonal_positions(n_sites: int) -> np.ndarray:
    """Positions of the multisets (s, s) among the order-2 multisets."""
    return np.array([s * n_sites - s * (s - 1) // 2 for s in range(n_sites)])
