r"""One-unit cumulants of y_c = σ(z_a)σ(z_b) on the kernel components and their derivatives in
the components (private; used by :mod:`fieldnn.kernels._multi_input_nnlo`, derivation in its
docstring and ``docs/eft.md`` section 6a).

:func:`_unit_terms` returns m₁ = E y and its derivatives to fourth order, m₂ = Cov(y, y) and its
derivatives to second order, and m₃ = κ₃(y), at a P×P kernel K, from one table of raw moments
E[y_p H_α] (|α| ≤ 8 even), E[y_py_q H_α] (|α| ≤ 4 even) and E[y_py_qy_r] (:func:`_tables`).
At P ≥ 3 the m₁ part is assembled from the 2×2 blocks (:func:`_pair_m1_table`). Rules: the
lattice trapezoid rule (rank ≤ 3), the anisotropic rank-4 lattice of
:mod:`fieldnn.kernels._moment_lattice`, or for relu-type σ the conical rule of
:mod:`fieldnn.kernels._conical`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import ArgumentError
from ._hermite import _alphas, _hermite_even
from ._moment_lattice import _refined_lattice, symmetric
from ._multisets import scatter_symmetric, unique_multisets
from ._quadrature import adaptive_trapezoid, rank_factor
from .activations import Activation
from .gaussian import _warn_unconverged

__all__ = ["_UnitTerms", "_unit_terms", "kernel_pairs"]

_RTOL = 1e-12
#: the lattice chunk: (C + C(C+1)/2) integrands times the Hermite table per node
_CHUNK = 1 << 13


@lru_cache(maxsize=16)
def kernel_pairs(P: int) -> tuple[tuple[int, int], ...]:
    """The kernel components (a, b), a <= b, in the order of the component axes (the sorted
    pairs of :func:`~fieldnn.kernels._multisets.unique_multisets`)."""
    return tuple((int(a), int(b)) for a, b in unique_multisets(P, 2))


@lru_cache(maxsize=64)
def _operators(P: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """∂/∂K_{c1} … ∂/∂K_{ck} for every (c1..ck) ∈ C^k: the position of its α among the even
    α of :func:`_alphas` and its coefficient (K_aa → ½∂_a², K_ab → ∂_a∂_b), both (C,)*k."""
    pairs = kernel_pairs(P)
    even = [a for a in _alphas(P, 2 * k) if sum(a) % 2 == 0]
    where = {a: i for i, a in enumerate(even)}
    C = len(pairs)
    position = np.empty((C,) * k, dtype=np.intp)
    coefficient = np.empty((C,) * k)
    for comps in itertools.product(range(C), repeat=k):
        alpha = [0] * P
        c = 1.0
        for comp in comps:
            a, b = pairs[comp]
            alpha[a] += 1
            alpha[b] += 1
            if a == b:
                c *= 0.5
        position[comps] = where[tuple(alpha)]
        coefficient[comps] = c
    return position, coefficient


@dataclass(frozen=True)
class _UnitTerms:
    """m₁ and its derivatives d1..d4 (C, C[, C, C, C]); m₂ (C, C) and derivatives e1, e2;
    m₃ (C, C, C). Without derivatives (a deterministic previous layer) d1..d4, e1, e2 are 0."""

    m1: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    d3: np.ndarray
    d4: np.ndarray
    m2: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    m3: np.ndarray


def _unit_terms(
    act: Activation, K: np.ndarray, *, derivatives: bool = True, conical: bool | None = None
) -> _UnitTerms:
    """One-unit cumulants of y_c = σ(z_a)σ(z_b), c = (a, b), at the P×P kernel K, and (with
    ``derivatives``) their derivatives in the kernel components.

    ``conical``: the conical rule (default for relu-type σ) instead of the lattice rule.

    At P >= 3 the m₁ table is assembled from the pairs of inputs: E[y_(ab) H_α(z; K)] =
    ∫ y_(ab) ∂^α φ_K vanishes unless α lives on {a, b} (integrate by parts in the other
    coordinates), and then equals E[y_(ab) H_α(z_ab; K_ab)] over the 2×2 block (the derivatives
    in a, b commute with integrating out the rest). Only m₂ (|α| <= 4) and m₃ need rank P."""
    if conical is None:
        conical = act.piecewise_linear_slopes is not None
    P = K.shape[0]
    if not derivatives:
        return _assemble(P, *_tables(act, K, 0, 0, conical), derivatives=False)
    if P <= 2:
        return _assemble(P, *_tables(act, K, 8, 4, conical), derivatives=True)
    _, t2, t3 = _tables(act, K, -1, 4, conical)
    return _assemble(P, _pair_m1_table(act, K, conical), t2, t3, derivatives=True)


def _pair_m1_table(act: Activation, K: np.ndarray, conical: bool) -> np.ndarray:
    """E[y_p H_α(z; K)] (C, #even α of order <= 8 at P inputs) from the 2×2 blocks: the α on
    {a, b} of y_(aa), y_(ab), y_(bb) from the block (a, b), every other α zero."""
    P = K.shape[0]
    where = {c: k for k, c in enumerate(kernel_pairs(P))}
    even = [al for al in _alphas(P, 8) if sum(al) % 2 == 0]
    column = {al: k for k, al in enumerate(even)}
    sub_even = [al for al in _alphas(2, 8) if sum(al) % 2 == 0]
    table = np.zeros((len(where), len(even)))
    for a, b in itertools.combinations(range(P), 2):
        block = K[np.ix_((a, b), (a, b))]
        t1 = _tables(act, block, 8, -1, conical)[0]
        rows = [where[(a, a)], where[(a, b)], where[(b, b)]]
        for k, (i, j) in enumerate(sub_even):
            alpha = [0] * P
            alpha[a], alpha[b] = i, j
            table[rows, column[tuple(alpha)]] = t1[:, k]
    return table


def _tables(
    act: Activation, K: np.ndarray, order1: int, order2: int, conical: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw moments E[y_p H_α] (|α| <= order1, even), E[y_py_q H_α] (|α| <= order2, even) and
    E[y_py_qy_r] at the kernel K, on one rule; an order −1 leaves that table out (empty)."""
    P = K.shape[0]
    pairs = kernel_pairs(P)
    C = len(pairs)
    ia = np.array([a for a, _ in pairs])
    ib = np.array([b for _, b in pairs])
    two, three = unique_multisets(C, 2), unique_multisets(C, 3)
    if order2 < 0:
        two, three = two[:0], three[:0]
    order = max(order1, order2, 0)
    n1 = 0 if order1 < 0 else sum(1 for al in _alphas(P, order1) if sum(al) % 2 == 0)
    n2 = 0 if order2 < 0 else sum(1 for al in _alphas(P, order2) if sum(al) % 2 == 0)
    Kinv = np.linalg.inv(K) if order else None
    sizes = (C * n1, len(two) * n2, len(three))

    def partial(z: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = np.asarray(act(z), dtype=np.float64)
        y = s[:, ia] * s[:, ib]
        yy = y[:, two[:, 0]] * y[:, two[:, 1]]
        yyy = y[:, three[:, 0]] * y[:, three[:, 1]] * y[:, three[:, 2]]
        H = _hermite_even(z @ Kinv, Kinv, order) if order else np.ones((z.shape[0], 1))
        H *= weight[:, None]
        parts = [(y.T @ H[:, :n1]).ravel(), (yy.T @ H[:, :n2]).ravel(), yyy.T @ H[:, 0]]
        value = np.concatenate(parts)
        if conical:  # an exact rule: no error estimate, so no magnitudes
            return value, value
        Ha = np.abs(H)
        magnitude = np.concatenate(
            [
                (np.abs(y).T @ Ha[:, :n1]).ravel(),
                (np.abs(yy).T @ Ha[:, :n2]).ravel(),
                np.abs(yyy).T @ Ha[:, 0],
            ]
        )
        return value, magnitude

    L = rank_factor(K)
    if conical:
        from ._conical import conical_rule

        z, weight = conical_rule(L)
        value = sum(
            partial(z[lo : lo + _CHUNK], weight[lo : lo + _CHUNK])[0]
            for lo in range(0, weight.size, _CHUNK)
        )
    elif L.shape[1] >= 4:  # the nested anisotropic rule with measured aliasing errors
        value, error, magnitude = _refined_lattice(partial, L, _RTOL, _CHUNK, symmetric(act))
    else:
        value, error, magnitude = adaptive_trapezoid(partial, L, rtol=_RTOL, chunk=_CHUNK)
    if not np.all(np.isfinite(value)):
        raise ArgumentError("activation", f"σ of {act.name!r} is not finite on the Gaussian")
    if not conical:
        _warn_unconverged(act, error, magnitude)
    t1 = value[: sizes[0]].reshape(C, n1)
    t2 = value[sizes[0] : sizes[0] + sizes[1]].reshape(len(two), n2)
    return t1, t2, value[sizes[0] + sizes[1] :]


def _assemble(
    P: int, t1: np.ndarray, t2: np.ndarray, t3: np.ndarray, derivatives: bool
) -> _UnitTerms:
    """The tensors of :class:`_UnitTerms` from the table E[y_p H_α], E[y_py_q H_α], E[y_py_qy_r]
    (raw moments), with the product rule for the centred ones."""
    C = len(kernel_pairs(P))
    m1 = t1[:, 0]
    M2 = scatter_symmetric(t2[:, 0], C, 2)
    M3 = scatter_symmetric(t3, C, 3)
    m2 = M2 - np.outer(m1, m1)
    m3 = (
        M3
        - np.einsum("pq,r->pqr", M2, m1)
        - np.einsum("pr,q->pqr", M2, m1)
        - np.einsum("qr,p->pqr", M2, m1)
        + 2.0 * np.einsum("p,q,r->pqr", m1, m1, m1)
    )
    if not derivatives:
        zero = [np.zeros((C,) * k) for k in range(2, 6)]
        return _UnitTerms(m1, *zero, m2, zero[1], zero[2], m3)
    D = []
    for k in range(1, 5):
        position, coefficient = _operators(P, k)
        D.append(t1[:, position] * coefficient)
    E = []
    for k in range(1, 3):
        position, coefficient = _operators(P, k)
        E.append(scatter_symmetric(t2[:, position] * coefficient, C, 2))
    d1 = D[0]
    e1 = E[0] - (np.einsum("pi,q->pqi", d1, m1) + np.einsum("p,qi->pqi", m1, d1))
    e2 = E[1] - (
        np.einsum("pij,q->pqij", D[1], m1)
        + np.einsum("pi,qj->pqij", d1, d1)
        + np.einsum("pj,qi->pqij", d1, d1)
        + np.einsum("p,qij->pqij", m1, D[1])
    )
    return _UnitTerms(m1, d1, D[1], D[2], D[3], m2, e1, e2, m3)
