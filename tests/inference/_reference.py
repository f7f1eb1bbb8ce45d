"""Independent reference implementations for the inference tests (closed-form infinite-width
kernels of erf / relu / linear MLPs, written from RYH ch. 4 and 8, not from fieldnn.kernels)."""

from __future__ import annotations

import numpy as np


def _pairs(name, K):
    d = np.sqrt(np.diag(K))
    k11, k22 = np.diag(K)[:, None], np.diag(K)[None, :]
    if name == "linear":
        return K, np.ones_like(K)
    if name == "erf":
        s = np.sqrt((1 + 2 * k11) * (1 + 2 * k22))
        ss = 2 / np.pi * np.arcsin(2 * K / s)
        dd = 4 / np.pi / np.sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * K**2)
        return ss, dd
    if name == "relu":
        norm = np.outer(d, d)
        cos = np.clip(K / norm, -1.0, 1.0)
        theta = np.arccos(cos)
        ss = norm / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * cos)
        return ss, (np.pi - theta) / (2 * np.pi)
    raise ValueError(name)


def kernels(name, X, widths, C_W, C_b, lambda_W=1.0, lambda_b=1.0):
    """(K^(L), Θ^(L)) by the forward recursions K' = C_b + C_W⟨σσ⟩_K,
    Θ' = λ_b + λ_W⟨σσ⟩_K + C_W⟨σ'σ'⟩_K Θ."""
    X = np.atleast_2d(X)
    d_in = X.shape[1]
    L = len(widths) - 1
    cw, cb = np.broadcast_to(C_W, (L,)), np.broadcast_to(C_b, (L,))
    lw, lb = np.broadcast_to(lambda_W, (L,)), np.broadcast_to(lambda_b, (L,))
    gram = X @ X.T / d_in
    K = cb[0] + cw[0] * gram
    T = lb[0] + lw[0] * gram
    for ell in range(1, L):
        ss, dd = _pairs(name, K)
        K, T = cb[ell] + cw[ell] * ss, lb[ell] + lw[ell] * ss + cw[ell] * dd * T
    return K, T
