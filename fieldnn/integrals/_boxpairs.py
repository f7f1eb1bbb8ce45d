"""Adaptive two-vertex cubature in d_in ≥ 2 on pairs of boxes (private; fieldnn.integrals).

The y-space and the z-space are covered by one list of d-dimensional boxes; every pair
(box_i for y) × (box_j for z) gets the tensor Gauss–Kronrod 7/15 rule in 2d dimensions. Its
nodes are products of the 15^d nodes of box_i and of box_j, so all pairs come from the kernel
matrix K(y_nodes, y_nodes) (Q × Q, Q = 15^d × boxes), evaluated in blocks of box rows, and the T
tuples are contracted with it by one einsum per block. Error per pair = |K15^{2d} − G7^{2d}|;
the boxes of the pairs selected for refinement are bisected along every axis.

The cost per sweep is Q² kernel entries: in d_in = 2 a few seconds for smooth kernels on boxes
of a few units, growing 16× per uniform refinement level.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _rules as rules


def _sweep(legs_left, legs_right, internal, lo, hi, amap: rules.AxisMap | None, T: int):
    """Kronrod values, |K − G| and ∫|f| of every box pair: (T, B, B) each."""
    B, d = lo.shape
    grid = np.stack(np.meshgrid(*([rules.GK_NODES] * d), indexing="ij"), axis=-1).reshape(-1, d)
    m = grid.shape[0]
    half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
    t = (mid[:, None, :] + half[:, None, :] * grid[None, :, :]).reshape(-1, d)
    if amap is None:
        y, J = t, 1.0
    else:
        y, J = amap.y(t), amap.jacobian(t)
    Lg, Rg = legs_left(y) * J, legs_right(y) * J  # (T, Q)
    vol = np.prod(half, axis=1)
    weighted = []
    for w in (rules.tensor_weights(d, rules.GK_WEIGHTS), rules.tensor_weights(d, rules.G_WEIGHTS)):
        wq = (vol[:, None] * w[None, :]).reshape(-1)
        weighted.append(((Lg * wq).reshape(T, B, m), (Rg * wq).reshape(T, B, m)))
    weighted.append(tuple(np.abs(a) for a in weighted[0]))
    VK, VG, VA = rules.contract_pair_blocks(internal, y, weighted, m, B, T)
    return VK, np.abs(VK - VG), VA


def box_pair_cubature(
    legs_left: Callable[[np.ndarray], np.ndarray],
    legs_right: Callable[[np.ndarray], np.ndarray],
    internal: Callable[[np.ndarray, np.ndarray], np.ndarray],
    edges: list[np.ndarray],
    *,
    amap: rules.AxisMap | None,
    n_out: int,
    rtol: float,
    atol: float,
    max_nodes: int,
) -> rules.Cubature:
    """Adaptive ∫∫ L_t(y) M(y, z) R_t(z) d^d y d^d z over the box product of ``edges``, squared.

    ``legs_left(Y (N, d)) -> (T, N)``, ``legs_right`` likewise, ``internal(Y, Z) -> (N_Y, N_Z)``.
    ``max_nodes`` counts (y, z) node pairs over all sweeps.
    """
    lo, hi = rules.initial_boxes(edges)
    d = lo.shape[1]
    m = rules.GK_NODES.size**d
    n_nodes = 0
    min_width = 1e-13 * np.maximum(1.0, np.max(np.abs(np.concatenate(edges))))
    while True:
        B = lo.shape[0]
        VK, err, VA = _sweep(legs_left, legs_right, internal, lo, hi, amap, n_out)
        n_nodes += (B * m) ** 2
        values, errors, split = rules.pair_sweep_status(VK, err, VA, rtol, atol)
        if not split.any():
            return rules.Cubature(values, errors, n_nodes, True)
        boxes = (split.any(axis=0) | split.any(axis=1)) & np.all(hi - lo > min_width, axis=1)
        n_next = B + (2**d - 1) * int(boxes.sum())
        if not boxes.any() or n_nodes + (n_next * m) ** 2 > max_nodes:
            return rules.Cubature(values, errors, n_nodes, False)
        # bisect the selected boxes along every axis: 2^d children each
        plo, phi = lo[boxes], hi[boxes]
        pmid = 0.5 * (plo + phi)
        corners = np.array(np.meshgrid(*([[0, 1]] * d), indexing="ij")).reshape(d, -1).T
        clo = np.where(corners[None, :, :] == 0, plo[:, None, :], pmid[:, None, :])
        chi = np.where(corners[None, :, :] == 0, pmid[:, None, :], phi[:, None, :])
        lo = np.concatenate([lo[~boxes], clo.reshape(-1, d)])
        hi = np.concatenate([hi[~boxes], chi.reshape(-1, d)])
