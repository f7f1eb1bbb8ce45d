"""Adaptive two-vertex cubature in d_in = 1 (private; used by fieldnn.integrals).

The (y, z) square is covered by panel pairs P_i × P_j of one panel set shared by y and z.

* Off-diagonal pairs (i ≠ j): tensor Gauss–Kronrod 7/15; all of them come from the kernel
  matrix K(y_nodes, y_nodes), evaluated in blocks of panel rows.
* Diagonal pairs (i = j): split along y = z into the triangles z < y and y < z, each mapped from
  the unit square by the Duffy map (u, v) ↦ (a + h u, a + h u v) (Jacobian h² u), so the
  non-analytic |y − z|³ term of the ReLU kernel is polynomial on each triangle.

Error per pair = |Kronrod − Gauss|; pairs are refined by bisecting both of their panels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _rules as rules

_U = 0.5 * (rules.GK_NODES + 1.0)  # Kronrod nodes on [0, 1]
_WK = 0.5 * rules.GK_WEIGHTS
_WG = 0.5 * rules.G_WEIGHTS


def _sweep(legs_left, legs_right, internal, edges, amap: rules.AxisMap | None, T: int):
    """Kronrod values, errors and ∫|f| of all panel pairs, (T, n, n) each (diagonal: triangles)."""
    n = edges.size - 1
    a, h = edges[:-1], np.diff(edges)
    t = (a[:, None] + h[:, None] * _U[None, :]).reshape(-1, 1)  # (Q, 1), Q = 15 n
    tn = a[:, None, None] + h[:, None, None] * _U[None, :, None] * _U[None, None, :]
    tn = tn.reshape(-1, 1)  # Duffy points of the diagonal triangles, (225 n, 1)
    if amap is None:
        y, yn, J, Jn = t, tn, 1.0, 1.0
    else:
        y, yn, J, Jn = amap.y(t), amap.y(tn), amap.jacobian(t), amap.jacobian(tn)
    Lg, Rg = legs_left(y) * J, legs_right(y) * J  # (T, Q)
    Ln = (legs_left(yn) * Jn).reshape(T, n, 15, 15)
    Rn = (legs_right(yn) * Jn).reshape(T, n, 15, 15)
    weighted = []
    for w in (_WK, _WG):
        wq = (h[:, None] * w[None, :]).reshape(-1)
        weighted.append(((Lg * wq).reshape(T, n, 15), (Rg * wq).reshape(T, n, 15)))
    AK, BK = weighted[0]
    weighted.append((np.abs(AK), np.abs(BK)))
    # off-diagonal pairs from the kernel matrix K(y_nodes, y_nodes), in blocks of panel rows
    VK, VG, VA = rules.contract_pair_blocks(internal, y, weighted, 15, n, T)
    # diagonal pairs: two Duffy triangles per panel
    ar = np.arange(15)
    for i in range(n):
        yi = y[15 * i : 15 * (i + 1)]
        pi = yn[225 * i : 225 * (i + 1)]
        M1 = internal(yi, pi).reshape(15, 15, 15)[ar, ar, :]  # K(y_α, z_αβ), z < y
        M2 = internal(pi, yi).reshape(15, 15, 15)[ar, :, ar]  # K(y_αβ, z_α), y < z
        Li, Ri = Lg[:, 15 * i : 15 * (i + 1)], Rg[:, 15 * i : 15 * (i + 1)]
        lower = Li[:, :, None] * M1[None] * Rn[:, i]
        upper = Ln[:, i] * M2[None] * Ri[:, :, None]
        F, Fa = lower + upper, np.abs(lower) + np.abs(upper)
        for V, w, G in ((VK, _WK, F), (VG, _WG, F), (VA, _WK, Fa)):
            V[:, i, i] = h[i] ** 2 * np.einsum("tab,a,a,b->t", G, _U, w, w)
    return VK, np.abs(VK - VG), VA


def panel_pair_cubature(
    legs_left: Callable[[np.ndarray], np.ndarray],
    legs_right: Callable[[np.ndarray], np.ndarray],
    internal: Callable[[np.ndarray, np.ndarray], np.ndarray],
    edges: np.ndarray,
    *,
    amap: rules.AxisMap | None,
    n_out: int,
    rtol: float,
    atol: float,
    max_nodes: int,
) -> rules.Cubature:
    """Adaptive ∫∫ L_t(y) M(y, z) R_t(z) dy dz over [edges[0], edges[-1]]² (d_in = 1).

    ``legs_left(Y (N, 1)) -> (T, N)``, ``legs_right`` likewise, ``internal(Y, Z) -> (N_Y, N_Z)``.
    With ``amap`` the panels live in t ∈ (−1, 1) and y = amap.y(t).
    """
    n_nodes = 0
    while True:
        n = edges.size - 1
        VK, err, VA = _sweep(legs_left, legs_right, internal, edges, amap, n_out)
        n_nodes += (15 * n) ** 2 + 450 * n
        values, errors, split = rules.pair_sweep_status(VK, err, VA, rtol, atol)
        panels = split.any(axis=0) | split.any(axis=1)
        h = np.diff(edges)
        panels &= h > 1e-13 * np.maximum(1.0, np.abs(edges[:-1]))
        if not split.any():
            return rules.Cubature(values, errors, n_nodes, True)
        n_next = n + int(panels.sum())
        if not panels.any() or n_nodes + (15 * n_next) ** 2 + 450 * n_next > max_nodes:
            return rules.Cubature(values, errors, n_nodes, False)
        mids = 0.5 * (edges[:-1] + edges[1:])[panels]
        edges = np.sort(np.concatenate([edges, mids]))
