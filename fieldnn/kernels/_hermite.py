r"""Multivariate Hermite weights of a Gaussian (private): H_α(z; K) with ∂^αφ_K = H_αφ_K.

The recursion :math:`H_{\alpha+e_i} = w_iH_\alpha - \sum_j (K^{-1})_{ij}\alpha_jH_{\alpha-e_j}`,
w = K⁻¹z, H_0 = 1, over every multi-index α ∈ N^P of degree ≤ order (:func:`_alphas`, by degree);
the values at the even α are returned. Used by :mod:`fieldnn.kernels._multi_input_units` for
derivatives of Gaussian expectations in the kernel entries (∂/∂K_aa = ½∂_a², ∂/∂K_ab = ∂_a∂_b on
the density). A numba node loop (the table of one node stays in cache) is used when it compiles
and agrees with the NumPy recursion on a probe; ``FIELDNN_NUMBA=0`` selects the NumPy path.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from ._erf_four import checked_njit

__all__ = ["_alphas", "_hermite_even", "_hermite_tables"]


@lru_cache(maxsize=16)
def _alphas(P: int, order: int) -> tuple[tuple[int, ...], ...]:
    """All multi-indices α ∈ N^P with |α| <= order, by degree (each after its predecessors)."""
    out: list[tuple[int, ...]] = []
    for total in range(order + 1):
        for cut in itertools.combinations_with_replacement(range(P), total):
            out.append(tuple(cut.count(i) for i in range(P)))
    return tuple(out)


@lru_cache(maxsize=16)
def _hermite_tables(P: int, order: int) -> tuple[np.ndarray, ...]:
    """The recursion H_{β+e_i} = w_i H_β − Σ_j (K⁻¹)_ij β_j H_{β−e_j} over the α of
    :func:`_alphas` as index tables: source β, axis i, lower β − e_j (−1: none) and β_j; and the
    positions of the even α."""
    alphas = _alphas(P, order)
    index = {a: k for k, a in enumerate(alphas)}
    n = len(alphas)
    src = np.zeros(n, dtype=np.int64)
    axis = np.zeros(n, dtype=np.int64)
    lower = np.full((n, P), -1, dtype=np.int64)
    mult = np.zeros((n, P))
    for row, alpha in enumerate(alphas[1:], start=1):
        i = next(k for k in range(P) if alpha[k])
        beta = list(alpha)
        beta[i] -= 1
        src[row], axis[row] = index[tuple(beta)], i
        for j in range(P):
            if beta[j]:
                low = list(beta)
                low[j] -= 1
                lower[row, j], mult[row, j] = index[tuple(low)], beta[j]
    even = np.array([k for k, a in enumerate(alphas) if sum(a) % 2 == 0], dtype=np.int64)
    return src, axis, lower, mult, even


def _hermite_numpy(w, Kinv, src, axis, lower, mult, even):
    """H_α(z; K) at the even α (m, #even), w = K⁻¹z (m, P): the recursion column by column."""
    H = np.empty((w.shape[0], src.size))
    H[:, 0] = 1.0
    for row in range(1, src.size):
        i = axis[row]
        value = w[:, i] * H[:, src[row]]
        for j in range(w.shape[1]):
            if lower[row, j] >= 0:
                value -= Kinv[i, j] * mult[row, j] * H[:, lower[row, j]]
        H[:, row] = value
    return H[:, even]


def _hermite_loop(w, Kinv, src, axis, lower, mult, even):
    """The same, node by node (for numba: the table of one node stays in cache)."""
    m, P = w.shape
    out = np.empty((m, even.size))
    H = np.empty(src.size)
    for k in range(m):
        H[0] = 1.0
        for row in range(1, src.size):
            i = axis[row]
            value = w[k, i] * H[src[row]]
            for j in range(P):
                if lower[row, j] >= 0:
                    value -= Kinv[i, j] * mult[row, j] * H[lower[row, j]]
            H[row] = value
        for e in range(even.size):
            out[k, e] = H[even[e]]
    return out


_COMPILED: list = []


def _hermite_even(w: np.ndarray, Kinv: np.ndarray, order: int) -> np.ndarray:
    """H_α(z; K) for the even α of :func:`_alphas` (P, order) on nodes with w = K⁻¹z: (m, #even).
    The numba loop when it compiles and agrees with the NumPy recursion to 1e-13 on a probe."""
    tables = _hermite_tables(w.shape[1], order)
    if not _COMPILED:

        def agrees(loop) -> bool:
            rng = np.random.default_rng(0)
            probe = rng.standard_normal((7, 3))
            Ki = np.array([[2.0, 0.3, -0.4], [0.3, 1.5, 0.2], [-0.4, 0.2, 1.2]])
            t = _hermite_tables(3, 8)
            ref = _hermite_numpy(probe, Ki, *t)
            return bool(np.max(np.abs(loop(probe, Ki, *t) - ref)) <= 1e-13 * np.abs(ref).max())

        _COMPILED.append(checked_njit(_hermite_loop, agrees))
    loop = _COMPILED[0] or _hermite_numpy
    return loop(np.ascontiguousarray(w), np.ascontiguousarray(Kinv), *tables)
