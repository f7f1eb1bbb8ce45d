r"""Streaming, mergeable moment accumulator with batch-means error bars.

Sites are (input, species) pairs flattened to :math:`s = a\,d_{out} + i` (S = P d_out sites).
For every order :math:`k = 1..K` the accumulator keeps float64 power sums over the *unique index
multisets* :math:`s_1 \le \dots \le s_k` only (:math:`\binom{S+k-1}{k}` numbers instead of
:math:`S^k`), of outputs shifted by a fixed reference :math:`c` (the first chunk's mean):

.. math:: T_k[s_1..s_k] = \sum_{\text{nets}} \prod_{j=1}^{k} (f_{s_j} - c_{s_j}).

The shift removes the catastrophic cancellation of raw power sums for outputs with a large mean
(nonzero :math:`\mu_W, \mu_b`): cumulants of order >= 2 are shift invariant and are computed from
the shifted moments :math:`m_k = T_k/n` by the moment–cumulant formula, summed over the
block B of the set partition that holds the first index (:math:`2^{n-1}` terms instead of the
Bell number of partitions; :func:`cumulants_upto`),

.. math:: \kappa(s_1..s_n) = m(s_1..s_n) - \sum_{B \ni 1,\ B \ne [n]}
          \kappa(s_B)\, m(s_{[n] \setminus B}),

and the full moments by expanding :math:`\prod_j (y_{s_j} + c_{s_j})` over subsets.

Error bars (batch means over error blocks of ``block_size`` consecutive networks; with
``block_size=None`` every added chunk is a block): every complete block b (size :math:`w_b`)
contributes its own
estimates :math:`x_b` of every moment and cumulant, through the running sums
:math:`\sum w_b, \sum w_b^2, \sum w_b d_b, \sum w_b^2 d_b, \sum w_b^2 d_b^2` with
:math:`d_b = x_b - x_0` (the first block's estimate, again against cancellation). The standard
error of the pooled estimate is taken as that of the weighted mean of the block estimates,

.. math:: \hat\sigma^2 = \frac{B}{B-1}\,\frac{\sum_b w_b^2 (x_b - \bar x)^2}{(\sum_b w_b)^2},
          \qquad \bar x = \frac{\sum_b w_b x_b}{\sum_b w_b},

which needs B >= 2 blocks (NaN otherwise). Memory is independent of the number of networks and
of chunks. Chunks must be added in a fixed order (the chunk index) for bitwise reproducibility.

Summation order. By default (``exact_blocks=False``) a chunk's power sums are added as they come,
so the rounding of the totals depends on how the networks were cut into chunks. With
``exact_blocks=True`` the power sums of every error block are formed from that block's rows
alone, in one :meth:`ChunkSums.from_samples` call (:meth:`MomentAccumulator.add_rows` buffers
the rows of a block that arrives in pieces, at most ``block_size`` rows), and the block totals
are added in block order; the rows after the last complete block are reduced the same way when
a result is asked for. Every number is then a function of the sequence of network outputs alone,
bitwise independent of the chunking.
The accumulator also keeps the largest :math:`|f_s - c_s|` of every site for the tail diagnostic
(:mod:`fieldnn.ensembles._tail`, :meth:`MomentAccumulator.reliable`).

Speed: the power sums of a chunk of NumPy samples are formed by a numba loop if numba is
installed (:func:`_power_sums_loop`: the same products added in the same order as the array-API
:func:`_power_sums_xp`, checked bitwise on a probe before use; ``FIELDNN_NUMBA=0`` disables it):
1.5 µs instead of 7.8 µs per network at 6 sites up to order 6 (923 unique multisets).

References
----------
P. McCullagh, *Tensor Methods in Statistics* (1987), eq. (2.9) (moments ↔ cumulants).
H. Flyvbjerg, H. G. Petersen, J. Chem. Phys. 91, 461 (1989) (batch means / blocking errors).
"""

from __future__ import annotations

import itertools
import math
import os
from functools import lru_cache
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_cupy_array, is_numpy_array

from ..errors import ArgumentError, ArgumentTypeError, UnsupportedError
from ._tail import RELIABLE_K, merge_top, site_pareto_k

__all__ = [
    "ChunkSums",
    "MomentAccumulator",
    "check_capacity",
    "chunk_estimates",
    "cumulants_from_moments",
    "cumulants_upto",
    "expand_symmetric",
    "multisets",
]

# Largest number of unique multisets (all orders together) the accumulator agrees to hold.
_MAX_MULTISETS = 20_000_000
# Rows (networks) per block when forming products: bounds the temporary memory.
_ROW_BLOCK_ELEMENTS = 1 << 20


@lru_cache(maxsize=64)
def multisets(n_sites: int, order: int) -> np.ndarray:
    """Sorted index multisets of ``order`` sites out of ``n_sites``, lexicographic: (M, order)."""
    rows = list(itertools.combinations_with_replacement(range(n_sites), order))
    return np.array(rows, dtype=np.int64).reshape(len(rows), order)


def _codes(sorted_rows: np.ndarray, n_sites: int) -> np.ndarray:
    """Mixed-radix code of sorted index rows (monotone in lexicographic order)."""
    code = np.zeros(sorted_rows.shape[0], dtype=np.int64)
    for j in range(sorted_rows.shape[1]):
        code = code * n_sites + sorted_rows[:, j]
    return code


def _rank(rows: np.ndarray, n_sites: int) -> np.ndarray:
    """Position in :func:`multisets` of each row (any order of its entries)."""
    rows = np.sort(rows, axis=1)
    table = _codes(multisets(n_sites, rows.shape[1]), n_sites)
    return np.searchsorted(table, _codes(rows, n_sites))


@lru_cache(maxsize=64)
def _recursion_maps(n_sites: int, order: int) -> tuple:
    """For each proper subset B of the positions that contains position 0: (|B|, index map of
    the sub-multiset on B, index map of the sub-multiset on the complement)."""
    ms = multisets(n_sites, order)
    out = []
    for size in range(order - 1):
        for rest in itertools.combinations(range(1, order), size):
            block = (0, *rest)
            other = [j for j in range(order) if j not in block]
            out.append(
                (len(block), _rank(ms[:, list(block)], n_sites), _rank(ms[:, other], n_sites))
            )
    return tuple(out)


def cumulants_upto(moments: list[np.ndarray], n_sites: int, order: int) -> list[np.ndarray]:
    """Joint cumulants of orders 1..``order`` (unique vectors) from moments[k-1] of orders
    1..order, by the recursion over the block that holds the first index,

    .. math:: \\kappa(s_1..s_n) = m(s_1..s_n) - \\sum_{B \\ni 1,\\ B \\ne [n]}
              \\kappa(s_B)\\, m(s_{[n] \\setminus B}),

    (McCullagh 1987, eq. (2.9), grouped by the block of index 1): :math:`2^{n-1}` terms instead
    of the Bell number of set partitions (order 12: 2048 instead of 4.2 million)."""
    kappas = [np.array(moments[0], dtype=np.float64)]
    for k in range(2, order + 1):
        total = np.array(moments[k - 1], dtype=np.float64)
        for size, inner, outer in _recursion_maps(n_sites, k):
            total -= kappas[size - 1][inner] * moments[k - size - 1][outer]
        kappas.append(total)
    return kappas


def cumulants_from_moments(moments: list[np.ndarray], n_sites: int, order: int) -> np.ndarray:
    """Joint cumulants of order ``order`` (unique vector) from moments[k-1] of orders 1..order."""
    return cumulants_upto(moments, n_sites, order)[-1]


@lru_cache(maxsize=64)
def _subset_maps(n_sites: int, order: int) -> tuple:
    """For each subset S of positions: (S, complement, index map of the sub-multiset or None)."""
    ms = multisets(n_sites, order)
    out = []
    for size in range(order + 1):
        for sub in itertools.combinations(range(order), size):
            rest = tuple(j for j in range(order) if j not in sub)
            index = _rank(ms[:, list(sub)], n_sites) if sub else None
            out.append((sub, rest, index))
    return tuple(out)


def _full_from_shifted(
    moments: list[np.ndarray], reference: np.ndarray, n_sites: int, order: int
) -> np.ndarray:
    """E[Π f_sj] from shifted moments E[Π (f − c)] and the reference c (subset expansion)."""
    ms = multisets(n_sites, order)
    total = np.zeros(len(ms))
    for sub, rest, index in _subset_maps(n_sites, order):
        term = np.ones(len(ms)) if index is None else moments[len(sub) - 1][index].copy()
        for j in rest:
            term *= reference[ms[:, j]]
        total += term
    return total


def expand_symmetric(values: np.ndarray, n_sites: int, order: int) -> np.ndarray:
    """Full symmetric tensor (n_sites,)*order from its unique-multiset vector."""
    small = np.int16 if n_sites < 2**15 else np.int64  # the index grid is S^order rows
    grid = np.indices((n_sites,) * order, dtype=small).reshape(order, -1).T
    return values[_rank(grid, n_sites)].reshape((n_sites,) * order)


def chunk_estimates(
    sums: list[np.ndarray], count: int, reference: np.ndarray, n_sites: int
) -> dict[str, list[np.ndarray]]:
    """Moments ("full") and cumulants ("connected") of orders 1..len(sums) from power sums."""
    shifted = [s / count for s in sums]
    orders = range(1, len(sums) + 1)
    full = [_full_from_shifted(shifted, reference, n_sites, k) for k in orders]
    connected = cumulants_upto(shifted, n_sites, len(sums))
    connected[0] = shifted[0] + reference
    return {"full": full, "connected": connected}


def check_capacity(n_sites: int, max_order: int) -> None:
    """Refuse (UnsupportedError naming "orders") more than 2e7 unique multisets in total."""
    total = sum(math.comb(n_sites + k - 1, k) for k in range(1, max_order + 1))
    if total > _MAX_MULTISETS:
        raise UnsupportedError(
            "orders",
            f"{total} unique index multisets for {n_sites} sites up to order {max_order}; "
            "reduce the number of inputs, outputs or the order",
        )


def _to_numpy(a: Any) -> np.ndarray:
    if is_cupy_array(a):  # pragma: no cover - needs a GPU
        return a.get()
    return np.asarray(a)


class ChunkSums:
    """Shifted power sums of one chunk (or one segment of a chunk) of networks.

    This is what a worker sends back: the estimates (for the batch-means errors) are computed
    where the chunk was sampled when the chunk is one whole error block, so the in-order merge
    only adds arrays.

    Attributes
    ----------
    count : int
        Networks in the chunk.
    reference : ndarray (S,)
        The shift c of the power sums.
    sums : list of ndarray
        ``sums[k-1]``: float64 power sums T_k over unique multisets, k = 1..max_order.
    estimates : dict or None
        ``{"full": [...], "connected": [...]}``: the chunk's moments and cumulants per order
        (None when the chunk is only part of an error block).
    tail : ndarray (t, S) or None
        The largest ``|f - c|`` of each site in the chunk (at most
        :data:`~fieldnn.ensembles._tail.TAIL_KEEP` rows, in no particular order), for the tail
        diagnostic.
    """

    def __init__(
        self,
        count: int,
        reference: np.ndarray,
        sums: list[np.ndarray],
        estimates: dict[str, list[np.ndarray]] | None,
        tail: np.ndarray | None = None,
    ) -> None:
        self.count = count
        self.reference = reference
        self.sums = sums
        self.estimates = estimates
        self.tail = tail

    @classmethod
    def from_samples(
        cls, samples: Any, reference: np.ndarray, max_order: int, *, estimates: bool = True
    ) -> ChunkSums:
        """Power sums of ``samples`` (m, S) about ``reference`` (S,), in the samples' namespace.

        The products are formed in blocks of rows (fixed by the shapes, so the summation order
        is too) and summed in float64. ``estimates=False`` skips the chunk's own moments and
        cumulants (a chunk that is only part of an error block).
        """
        xp = array_namespace(samples)
        m, n_sites = samples.shape
        y = xp.astype(samples, xp.float64) - xp.asarray(reference, dtype=xp.float64)
        width = sum(len(multisets(n_sites, k)) for k in range(1, max_order + 1))
        rows = max(1, _ROW_BLOCK_ELEMENTS // width)
        kernel = _power_sums_kernel() if is_numpy_array(y) else None
        totals = (_power_sums_xp if kernel is None else kernel)(y, max_order, rows)
        sums = [_to_numpy(t).astype(np.float64) for t in totals]
        reference = np.asarray(reference, dtype=np.float64)
        own = chunk_estimates(sums, m, reference, n_sites) if estimates else None
        return cls(m, reference, sums, own, merge_top(None, _to_numpy(xp.abs(y))))


def _power_sums_xp(y: Any, max_order: int, rows: int) -> list[Any]:
    """Power sums T_1..T_K of the rows of ``y`` (m, S) over unique multisets, array API.

    Order k's products extend order k−1's by one site (``_extension_maps``); rows are taken in
    blocks of ``rows``, each block summed over its rows (NumPy: sequentially, row by row), the
    blocks added in order.
    """
    xp = array_namespace(y)
    m, n_sites = y.shape
    parents, lasts = _extension_maps(n_sites, max_order)
    parents = [None] + [xp.asarray(p) for p in parents[1:]]
    lasts = [None] + [xp.asarray(q) for q in lasts[1:]]
    totals: list[Any] = [None] * max_order
    for start in range(0, m, rows):
        block = y[start : min(start + rows, m), :]
        prods = block
        for k in range(max_order):
            if k > 0:
                prods = xp.take(prods, parents[k], axis=1) * xp.take(block, lasts[k], axis=1)
            part = xp.sum(prods, axis=0)
            totals[k] = part if totals[k] is None else totals[k] + part
    return totals


def _power_sums_loop(
    y: np.ndarray,
    parents: np.ndarray,
    lasts: np.ndarray,
    offsets: np.ndarray,
    rows: int,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled by numba
    """Compiled :func:`_power_sums_xp` (same products, same order of additions) into ``out``,
    all orders concatenated (order k+1 at ``offsets[k]:offsets[k+1]``); ``parents`` (relative
    to the previous order's start) and ``lasts`` of the orders >= 2 concatenated likewise."""
    m, n_sites = y.shape
    width = out.size
    prods = np.empty(width)
    part = np.empty(width)
    for start in range(0, m, rows):
        part[:] = -0.0  # x + (-0.0) == x: the block's first row is taken exactly
        for row in range(start, min(start + rows, m)):
            for c in range(n_sites):
                prods[c] = y[row, c]
            for k in range(1, offsets.size - 1):
                previous = offsets[k - 1]
                for c in range(offsets[k], offsets[k + 1]):
                    prods[c] = prods[previous + parents[c - n_sites]] * y[row, lasts[c - n_sites]]
            for c in range(width):
                part[c] += prods[c]
        if start == 0:
            out[:] = part
        else:
            for c in range(width):
                out[c] += part[c]


@lru_cache(maxsize=64)
def _flat_extension_maps(n_sites: int, max_order: int) -> tuple[np.ndarray, ...]:
    """:func:`_extension_maps` of orders 2..K concatenated, and the start of each order."""
    parents, lasts = _extension_maps(n_sites, max_order)
    offsets = np.cumsum([0] + [len(multisets(n_sites, k)) for k in range(1, max_order + 1)])
    empty = np.zeros(0, dtype=np.int64)
    flat = [np.concatenate(a[1:]) if max_order > 1 else empty for a in (parents, lasts)]
    return flat[0], flat[1], offsets


_POWER_SUMS: list[Any] = []  # [compiled loop or None], filled on first use


def _power_sums_kernel() -> Any:
    """``f(y, max_order, rows) -> list of sums``: :func:`_power_sums_loop` compiled by numba,
    or None (numba missing, ``FIELDNN_NUMBA=0``, or not bitwise :func:`_power_sums_xp` on a
    probe of 3 row blocks up to order 6)."""
    if _POWER_SUMS:
        return _POWER_SUMS[0]
    kernel = None
    if os.environ.get("FIELDNN_NUMBA", "1") != "0":
        try:
            import numba

            loop = numba.njit(nogil=True, cache=True, error_model="numpy")(_power_sums_loop)

            def kernel(y: np.ndarray, max_order: int, rows: int) -> list[np.ndarray]:
                parents, lasts, offsets = _flat_extension_maps(y.shape[1], max_order)
                out = np.empty(offsets[-1])
                loop(np.ascontiguousarray(y), parents, lasts, offsets, rows, out)
                return [out[offsets[k] : offsets[k + 1]] for k in range(max_order)]

            probe = np.random.default_rng(0).standard_normal((300, 10))
            want = _power_sums_xp(probe, 6, 130)
            if not all(
                np.array_equal(a, b) for a, b in zip(kernel(probe, 6, 130), want, strict=True)
            ):
                kernel = None
        except Exception:  # any failure of the optional accelerator: fall back
            kernel = None
    _POWER_SUMS.append(kernel)
    return kernel


@lru_cache(maxsize=64)
def _extension_maps(n_sites: int, max_order: int) -> tuple[list[Any], list[Any]]:
    """For order k+1: index of the order-k prefix and the last site of each multiset."""
    parents: list[Any] = [None]
    lasts: list[Any] = [None]
    for k in range(2, max_order + 1):
        ms = multisets(n_sites, k)
        parents.append(_rank(ms[:, :-1], n_sites))
        lasts.append(ms[:, -1].copy())
    return parents, lasts


class MomentAccumulator:
    """Streaming float64 accumulator of moments and cumulants of orders 1..max_order.

    Parameters
    ----------
    n_sites : int
        S = P d_out.
    max_order : int
        Highest order kept.
    reference : ndarray (S,)
        Shift c of the power sums (use the first chunk's mean).
    block_size : int, optional
        Networks per error block (batch means). None: every added chunk is one block.

    Notes
    -----
    See the module docstring for the formulas. ``add`` must be called in chunk order. With a
    ``block_size``, added chunks are pieces of consecutive blocks (a chunk never straddles a
    block boundary); a block's estimates enter the error bars when it is complete, so networks
    after the last complete block count in the estimate but not in the spread of its error
    bar. ``merge`` adds another accumulator with the same reference (e.g. a reduction of a later
    chunk range that starts at a block boundary).
    """

    def __init__(
        self,
        n_sites: int,
        max_order: int,
        reference: Any,
        block_size: int | None = None,
        *,
        exact_blocks: bool = False,
    ) -> None:
        self.n_sites = int(n_sites)
        self.max_order = int(max_order)
        check_capacity(self.n_sites, self.max_order)
        self.reference = np.array(reference, dtype=np.float64).reshape(self.n_sites)
        self.block_size = None if block_size is None else int(block_size)
        if exact_blocks and self.block_size is None:
            raise ArgumentError("block_size", "exact_blocks needs an error-block size")
        self.exact_blocks = bool(exact_blocks)
        # exact_blocks: the rows of the error block being filled (at most block_size)
        self.open_rows = np.zeros((0, self.n_sites))
        sizes = [len(multisets(self.n_sites, k)) for k in range(1, self.max_order + 1)]
        self.count = 0
        self.sums = [np.zeros(s) for s in sizes]
        # the error block being filled: its power sums and networks
        self.open_count = 0
        self.open_sums = [np.zeros(s) for s in sizes]
        # largest |f - c| per site (tail diagnostic, fieldnn.ensembles._tail)
        self.tail = np.zeros((0, self.n_sites))
        # batch means: per order, moments ("full") and cumulants ("connected")
        self.n_batches = 0
        self.w = np.zeros(2)  # Σ w, Σ w²
        self.anchor = {kind: [np.zeros(s) for s in sizes] for kind in ("full", "connected")}
        self.batch = {kind: [np.zeros((3, s)) for s in sizes] for kind in ("full", "connected")}

    def add_rows(self, rows: np.ndarray) -> None:
        """Add outputs (m, S) of the next networks (``exact_blocks`` only): buffered until
        their error block is complete, whose power sums are then formed from its rows alone."""
        if not self.exact_blocks:
            raise ArgumentError("rows", "add_rows needs an accumulator with exact_blocks=True")
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.n_sites)
        if rows.shape[0] == 0:
            return
        self.tail = merge_top(self.tail, np.abs(rows - self.reference))
        self.count += rows.shape[0]
        rows = np.concatenate([self.open_rows, rows])
        while rows.shape[0] >= self.block_size:
            block = ChunkSums.from_samples(rows[: self.block_size], self.reference, self.max_order)
            self._add_block(block)
            rows = rows[self.block_size :]
        self.open_rows = np.array(rows)
        self.open_count = self.open_rows.shape[0]

    def _add_block(self, block: ChunkSums) -> None:
        """A complete error block's sums and estimates into the totals (``exact_blocks``)."""
        for total, part in zip(self.sums, block.sums, strict=True):
            total += part
        self._add_batch(block.estimates, block.count)

    def _totals(self) -> list[np.ndarray]:
        """Power sums of every network added: with ``exact_blocks``, the complete blocks'
        totals plus the open block's rows reduced on their own."""
        if not self.exact_blocks or self.open_rows.shape[0] == 0:
            return self.sums
        rest = ChunkSums.from_samples(
            self.open_rows, self.reference, self.max_order, estimates=False
        )
        return [a + b for a, b in zip(self.sums, rest.sums, strict=True)]

    def add(self, chunk: ChunkSums) -> None:
        """Add one chunk's power sums (in chunk order). With ``exact_blocks`` the chunk must be
        one whole error block starting at a block boundary (partial blocks go to
        :meth:`add_rows`)."""
        if self.exact_blocks:
            if self.open_rows.shape[0] or chunk.count != self.block_size:
                raise ArgumentError(
                    "chunk", "with exact_blocks only whole error blocks are added as sums"
                )
            if not np.array_equal(chunk.reference, self.reference):
                raise ArgumentError(
                    "chunk", "was shifted by another reference than the accumulator"
                )
            self.count += chunk.count
            if chunk.tail is not None:
                self.tail = merge_top(self.tail, chunk.tail)
            if chunk.estimates is None:
                chunk.estimates = chunk_estimates(
                    chunk.sums, chunk.count, self.reference, self.n_sites
                )
            self._add_block(chunk)
            return
        if len(chunk.sums) != self.max_order:
            raise ArgumentError("chunk", f"has orders 1..{len(chunk.sums)}, need {self.max_order}")
        if not np.array_equal(chunk.reference, self.reference):
            raise ArgumentError("chunk", "was shifted by another reference than the accumulator")
        whole = self.block_size is None or (self.open_count == 0 and chunk.count == self.block_size)
        if not whole and self.open_count + chunk.count > self.block_size:
            raise ArgumentError(
                "chunk", f"straddles an error block boundary (block size {self.block_size})"
            )
        self.count += chunk.count
        for total, part in zip(self.sums, chunk.sums, strict=True):
            total += part
        if chunk.tail is not None:
            self.tail = merge_top(self.tail, chunk.tail)
        if whole:
            estimates = chunk.estimates
            if estimates is None:
                estimates = chunk_estimates(chunk.sums, chunk.count, self.reference, self.n_sites)
            self._add_batch(estimates, chunk.count)
            return
        for total, part in zip(self.open_sums, chunk.sums, strict=True):
            total += part
        self.open_count += chunk.count
        if self.open_count == self.block_size:
            estimates = chunk_estimates(
                self.open_sums, self.open_count, self.reference, self.n_sites
            )
            self._add_batch(estimates, self.open_count)
            self.open_count = 0
            self.open_sums = [np.zeros_like(t) for t in self.open_sums]

    def _add_batch(self, estimates: dict[str, list[np.ndarray]], count: int) -> None:
        """One error block's estimates into the batch-means sums."""
        if self.n_batches == 0:
            self.anchor = estimates
        wgt = float(count)
        for kind, values in estimates.items():
            for k, x in enumerate(values):
                d = x - self.anchor[kind][k]
                acc = self.batch[kind][k]
                acc[0] += wgt * d
                acc[1] += wgt * wgt * d
                acc[2] += wgt * wgt * d * d
        self.w += (wgt, wgt * wgt)
        self.n_batches += 1

    def merge(self, other: MomentAccumulator) -> None:
        """Add another accumulator of the same sites, orders and reference shift.

        The other's batch sums are re-anchored to this accumulator's first chunk: with
        δ = x₀(other) − x₀(self), d' = d + δ, so Σw d' = Σw d + δΣw, Σw²d' = Σw²d + δΣw² and
        Σw²d'² = Σw²d² + 2δΣw²d + δ²Σw². Merge consecutive chunk ranges in order for results
        identical to adding their chunks one by one (up to rounding). This accumulator must not
        have an incomplete error block (the other's networks start a new block).
        """
        if (
            other.n_sites != self.n_sites
            or other.max_order != self.max_order
            or other.block_size != self.block_size
            or not np.array_equal(other.reference, self.reference)
        ):
            raise ArgumentError(
                "other", "accumulators differ in sites, orders, block size or reference"
            )
        if self.open_count:
            raise ArgumentError("other", "this accumulator ends inside an error block")
        if self.exact_blocks or other.exact_blocks:
            raise ArgumentError("other", "accumulators with exact_blocks are not merged")
        if other.count == 0:
            return
        if other.n_batches:
            if self.n_batches == 0:
                self.anchor = {kind: [a.copy() for a in v] for kind, v in other.anchor.items()}
            ow, ow2 = other.w
            for kind in self.batch:
                for k in range(self.max_order):
                    total, part = self.batch[kind][k], other.batch[kind][k]
                    delta = other.anchor[kind][k] - self.anchor[kind][k]
                    total[0] += part[0] + delta * ow
                    total[1] += part[1] + delta * ow2
                    total[2] += part[2] + 2.0 * delta * part[1] + delta * delta * ow2
        self.count += other.count
        self.n_batches += other.n_batches
        self.w += other.w
        for total, part in zip(self.sums, other.sums, strict=True):
            total += part
        self.open_count = other.open_count
        self.open_sums = [a.copy() for a in other.open_sums]
        self.tail = merge_top(self.tail, other.tail)

    # -- results (unique-multiset vectors) ----------------------------------------------------
    def _check_order(self, order: Any) -> int:
        if isinstance(order, bool) or not isinstance(order, int | np.integer):
            raise ArgumentTypeError("order", f"must be an integer, got {order!r}")
        if not 1 <= order <= self.max_order:
            raise ArgumentError("order", f"must be between 1 and {self.max_order}, got {order}")
        if self.count == 0:
            raise ArgumentError("order", "no networks have been accumulated yet")
        return int(order)

    def moments(self, order: int) -> np.ndarray:
        """Full moments E[f_s1 … f_sn] over unique multisets."""
        order = self._check_order(order)
        shifted = [s / self.count for s in self._totals()[:order]]
        return _full_from_shifted(shifted, self.reference, self.n_sites, order)

    def cumulants(self, order: int) -> np.ndarray:
        """Connected correlators (joint cumulants) over unique multisets."""
        order = self._check_order(order)
        shifted = [s / self.count for s in self._totals()[:order]]
        if order == 1:
            return shifted[0] + self.reference
        return cumulants_from_moments(shifted, self.n_sites, order)

    def stderr(self, order: int, connected: bool = True) -> np.ndarray:
        """Batch-means standard error over unique multisets (NaN with fewer than 2 blocks)."""
        order = self._check_order(order)
        acc = self.batch["connected" if connected else "full"][order - 1]
        B = self.n_batches
        if B < 2:
            return np.full(acc.shape[1], np.nan)
        sw, sw2 = self.w
        mean_d = acc[0] / sw
        spread = acc[2] - 2.0 * mean_d * acc[1] + mean_d * mean_d * sw2
        return np.sqrt(np.maximum(spread, 0.0) * B / (B - 1)) / sw

    def pareto_k(self, order: int) -> np.ndarray:
        r"""Tail-shape bound :math:`\sum_j \max(\hat k_{s_j}, 0)` of every multiset of
        ``order`` (module :mod:`fieldnn.ensembles._tail`); NaN where too few networks."""
        order = self._check_order(order)
        site = np.maximum(site_pareto_k(self.tail, self.count), 0.0)
        return site[multisets(self.n_sites, order)].sum(axis=1)

    def reliable(self, order: int, connected: bool = True) -> np.ndarray:
        """True where the error bar stands: >= 2 error blocks, a finite standard error and a
        tail-shape bound <= 0.5 (finite variance of the per-network contributions)."""
        err = self.stderr(order, connected=connected)
        with np.errstate(invalid="ignore"):
            return np.isfinite(err) & (self.pareto_k(order) <= RELIABLE_K)

    # -- state for checkpoints ----------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """Every number of the accumulator as named float64/int64 arrays (for ``np.savez``)."""
        out: dict[str, np.ndarray] = {
            "n_sites": np.array(self.n_sites),
            "max_order": np.array(self.max_order),
            "reference": self.reference,
            "block_size": np.array(-1 if self.block_size is None else self.block_size),
            "count": np.array(self.count),
            "open_count": np.array(self.open_count),
            "tail": self.tail,
            "n_batches": np.array(self.n_batches),
            "w": self.w,
            "exact_blocks": np.array(int(self.exact_blocks)),
            "open_rows": self.open_rows,
        }
        for k in range(self.max_order):
            out[f"sums_{k + 1}"] = self.sums[k]
            out[f"open_sums_{k + 1}"] = self.open_sums[k]
            for kind in ("full", "connected"):
                out[f"anchor_{kind}_{k + 1}"] = self.anchor[kind][k]
                out[f"batch_{kind}_{k + 1}"] = self.batch[kind][k]
        return out

    @classmethod
    def from_state(cls, state: Any) -> MomentAccumulator:
        """Rebuild from :meth:`state` (a mapping of arrays, e.g. an ``np.load`` result)."""
        block = int(state["block_size"])
        acc = cls(
            int(state["n_sites"]),
            int(state["max_order"]),
            state["reference"],
            None if block < 0 else block,
            exact_blocks=bool(int(state.get("exact_blocks", 0))),
        )
        if acc.exact_blocks:
            rows = np.array(state["open_rows"], dtype=np.float64).reshape(-1, acc.n_sites)
            acc.open_rows = rows
        acc.count = int(state["count"])
        acc.open_count = int(state["open_count"])
        acc.tail = np.array(state["tail"], dtype=np.float64).reshape(-1, acc.n_sites)
        acc.n_batches = int(state["n_batches"])
        acc.w = np.array(state["w"], dtype=np.float64)
        for k in range(acc.max_order):
            acc.sums[k] = _vector(state[f"sums_{k + 1}"], acc.sums[k].shape)
            acc.open_sums[k] = _vector(state[f"open_sums_{k + 1}"], acc.sums[k].shape)
            for kind in ("full", "connected"):
                acc.anchor[kind][k] = _vector(state[f"anchor_{kind}_{k + 1}"], acc.sums[k].shape)
                acc.batch[kind][k] = _vector(
                    state[f"batch_{kind}_{k + 1}"], acc.batch[kind][k].shape
                )
        return acc


def _vector(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A float64 copy of ``value`` of exactly ``shape`` (ValueError otherwise)."""
    out = np.array(value, dtype=np.float64)
    if out.shape != shape:
        raise ValueError(f"array of shape {out.shape}, expected {shape}")
    return out
