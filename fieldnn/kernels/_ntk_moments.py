r"""Gaussian expectations with σ' factors for the NTK-fluctuation recursions (private).

Two kinds of quantities enter the O(1/n) NTK recursions (``docs/finite_width_training.md``)
beyond those of the kernel and four-point-vertex recursions:

* mixed four-point moments over z ~ N(0, K),

  .. math:: Q^{(1)}_{acbd} = \langle\sigma'_a\sigma_c\sigma'_b\sigma_d\rangle, \quad
            Q^{(2)}_{abcd} = \langle\sigma'_a\sigma'_b\sigma_c\sigma_d\rangle, \quad
            Q^{(3)}_{abcd} = \langle\sigma'_a\sigma'_b\sigma'_c\sigma'_d\rangle;

* the response of the tangent pair function :math:`T_{ab}(K) = \langle\sigma'_a\sigma'_b\rangle`
  (a function of :math:`(k_{11}, k_{22}, k_{12}) = (K_{aa}, K_{bb}, K_{ab})`) to a change of K:
  its gradient and its second-order term against a four-point vertex.

Moments: every entry involves at most four inputs; the block of those inputs is integrated in
its rank r. For smooth σ by the adaptive tensor Gauss–Hermite rule of
:mod:`fieldnn.kernels._quadrature` (refined to 1e-10 of ⟨|F|⟩; a RuntimeWarning below 1e-7).
For the positively homogeneous piecewise-linear σ (relu, leaky relu, linear) exactly when
r ≤ 2: with z = L u, u = ρ ω, a product with k factors σ (the others σ', homogeneous of
degree 0) is :math:`\mathbb E[\rho^k]\,\overline{f(L\omega)}`, the angular mean taken arc by
arc between the sign changes of the factors (Gauss–Legendre on each arc, where the integrand is
a trigonometric polynomial), :math:`\mathbb E\rho^k = 2^{k/2}\Gamma(1 + k/2)` (r = 2) or
:math:`\mathbb E|u|^k` (r = 1). Blocks of rank 3 or 4 of a piecewise-linear σ are refused.

Tangent response: central finite differences of the vectorised pair function
:func:`~fieldnn.kernels.gaussian.pair_values` (closed forms for erf, relu-type, linear, sin;
the 2-d lattice rule to 1e-11 otherwise) in each coordinate, steps 1e-4 (gradient) and 1e-3
(second derivatives) of the natural scale (smaller near |K_ab| = √(K_aa K_bb)), i.e. a
relative accuracy ~1e-7 and ~1e-5 of these O(1/n) sources. On the diagonal (and for duplicated
inputs) the three coordinates coincide and the one-variable function
:math:`t(k) = \langle\sigma'(z)^2\rangle_k` is differenced instead.

References
----------
D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 8 (the Gaussian expectations of the
NTK recursions) and ch. 4 (the Gaussian-expectation derivative identities).
"""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np

from ..errors import UnsupportedError
from ._quadrature import adaptive_expectation, rank_factor
from .activations import Activation
from .gaussian import pair_values, single_expectation

_MOMENT_RTOL = 1e-10
_WARN_RTOL = 1e-7
_ARC_NODES = np.polynomial.legendre.leggauss(16)
_GRADIENT_STEP = 1e-4
_HESSIAN_STEP = 1e-3
_DUPLICATE = 1e-10
_SINGULAR = 1e-6


# --------------------------------------------------------------------------------------------
# mixed four-point moments
# --------------------------------------------------------------------------------------------
def _tensors(s: np.ndarray, d: np.ndarray, w: np.ndarray, k_scale: np.ndarray) -> np.ndarray:
    """Σ_m w_m (products) for the three patterns, stacked (3, s, s, s, s)."""
    q1 = np.einsum("m,ma,mc,mb,md->acbd", w * k_scale[1], d, s, d, s, optimize=True)
    q2 = np.einsum("m,ma,mb,mc,md->abcd", w * k_scale[1], d, d, s, s, optimize=True)
    q3 = np.einsum("m,ma,mb,mc,md->abcd", w * k_scale[0], d, d, d, d, optimize=True)
    return np.stack([q1, q2, q3])


def _angular_block(act: Activation, L: np.ndarray) -> np.ndarray:
    """Exact patterns of a positively homogeneous σ on a block of rank r ≤ 2."""
    r = L.shape[1]
    if r == 1:
        omega = np.array([[1.0], [-1.0]])
        w = np.array([0.5, 0.5])
        radial = [1.0, 1.0]  # E|u|^0, E|u|^2 for u ~ N(0, 1)
    else:
        # sign changes of every factor: L_a · (cos φ, sin φ) = 0
        base = np.arctan2(-L[:, 0], L[:, 1]) % np.pi
        cuts = np.unique(np.concatenate([[0.0, 2 * np.pi], base, base + np.pi]))
        x, gw = _ARC_NODES
        lo, hi = cuts[:-1], cuts[1:]
        phi = (0.5 * (hi - lo)[:, None] * x[None, :] + 0.5 * (hi + lo)[:, None]).ravel()
        w = (0.5 * (hi - lo)[:, None] * gw[None, :]).ravel() / (2 * np.pi)
        omega = np.stack([np.cos(phi), np.sin(phi)], axis=1)
        radial = [1.0, 2.0]  # E ρ^0, E ρ^2 for ρ = |u|, u ~ N(0, I_2)
    z = omega @ L.T
    s = np.asarray(act(z), dtype=np.float64)
    d = np.asarray(act.derivative(z), dtype=np.float64)
    ones = np.ones_like(w)
    return _tensors(s, d, w, np.stack([ones * radial[0], ones * radial[1]]))


def _quadrature_block(act: Activation, L: np.ndarray, size: int) -> np.ndarray:
    """Patterns of a smooth σ on a block by the adaptive Gauss–Hermite rule."""

    def F(z: np.ndarray) -> np.ndarray:
        s = np.asarray(act(z), dtype=np.float64)
        d = np.asarray(act.derivative(z), dtype=np.float64)
        ds = (d[:, :, None] * s[:, None, :]).reshape(len(z), -1)
        dd = (d[:, :, None] * d[:, None, :]).reshape(len(z), -1)
        ss = (s[:, :, None] * s[:, None, :]).reshape(len(z), -1)
        q1 = (ds[:, :, None] * ds[:, None, :]).reshape(len(z), -1)
        q2 = (dd[:, :, None] * ss[:, None, :]).reshape(len(z), -1)
        q3 = (dd[:, :, None] * dd[:, None, :]).reshape(len(z), -1)
        return np.concatenate([q1, q2, q3], axis=1)

    if L.shape[1] == 0:
        value = F(np.zeros((1, size)))[0]
    else:
        value, error, _ = adaptive_expectation(F, L, rtol=_MOMENT_RTOL, chunk=4096)
        scale = float(np.max(np.abs(value), initial=0.0))
        worst = float(np.max(error, initial=0.0))
        if worst > _WARN_RTOL * max(scale, 1e-300):
            warnings.warn(
                f"mixed four-point moments of activation {act.name!r} converged only to "
                f"~{worst / max(scale, 1e-300):.1e} relative (a kink in σ or a huge variance)",
                RuntimeWarning,
                stacklevel=4,
            )
    q = value.reshape(3, size, size, size, size)
    # q1 was built as ⟨(σ'_a σ_c)(σ'_b σ_d)⟩ on axes (a, c, b, d): already in that order
    return q


def mixed_four_moments(act: Activation, K: np.ndarray) -> tuple[np.ndarray, ...]:
    """(Q1, Q2, Q3), each (P, P, P, P), index orders as in the module docstring."""
    P = K.shape[0]
    out = np.empty((3,) + (P,) * 4)
    blocks = [tuple(range(P))] if P <= 4 else list(combinations(range(P), 4))
    slopes = act.piecewise_linear_slopes
    for S in blocks:
        M = K[np.ix_(S, S)]
        L = rank_factor(M)
        if slopes is not None:
            if L.shape[1] > 2:
                raise UnsupportedError(
                    "X",
                    f"the NTK-fluctuation moments of the piecewise-linear {act.name!r} are "
                    f"exact for blocks of rank <= 2; inputs {list(S)} span rank {L.shape[1]} "
                    "(use at most two inputs, or one input direction with C_b = 0)",
                )
            q = _angular_block(act, L)
        else:
            q = _quadrature_block(act, L, len(S))
        idx = np.ix_(S, S, S, S)
        for k in range(3):
            out[k][idx] = q[k]
    return out[0], out[1], out[2]


# --------------------------------------------------------------------------------------------
# the tangent pair function T_ab = ⟨σ'_a σ'_b⟩ and its response
# --------------------------------------------------------------------------------------------
def _tangent(act: Activation, k11: np.ndarray, k22: np.ndarray, k12: np.ndarray) -> np.ndarray:
    return np.asarray(pair_values(act, k11, k22, k12, (1, 1)), dtype=np.float64)


def _single_tangent(act: Activation, k: np.ndarray) -> np.ndarray:
    return np.asarray(single_expectation(act, k, power=2, derivative=1), dtype=np.float64)


def tangent_response(
    act: Activation, K: np.ndarray, V: np.ndarray | None = None, K1: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradient (T1, T3) of :math:`T_{ab} = \langle\sigma'_a\sigma'_b\rangle` and its NLO source.

    Returns
    -------
    T1, T3 : ndarray (P, P)
        :math:`\partial T_{ab}/\partial K_{aa}` and :math:`\partial T_{ab}/\partial K_{ab}`
        (ordered pairs; on the diagonal T1 = 0 and T3 = t'(K_aa)), so that a symmetric
        perturbation δK changes T by :math:`T1_{ab}\delta_{aa} + T1_{ba}\delta_{bb} +
        T3_{ab}\delta_{ab}`.
    source : ndarray (P, P)
        :math:`\nabla T\cdot K^{\{1\}} + \tfrac12\sum_{ij}\partial_i\partial_j T\, V_{ij}`
        (zero when V and K1 are None): the O(1/n) shift of :math:`\mathbb E[\sigma'_a
        \sigma'_b]` over a layer with mean kernel K + K1/n and kernel covariance V/n.
    """
    P = K.shape[0]
    d = np.diag(K).copy()
    k11 = np.broadcast_to(d[:, None], (P, P)).copy()
    k22 = k11.T.copy()
    k12 = K.copy()
    root = np.sqrt(k11 * k22)
    rho = np.clip(np.abs(k12) / root, 0.0, 1.0)
    # the diagonal, and duplicated inputs (K_ab = K_aa = K_bb): one variable
    single = (k12 > 0) & (1.0 - rho <= _DUPLICATE) & np.isclose(k11, k22, rtol=1e-10)
    off = ~single
    if np.any(off & (1.0 - rho < _SINGULAR)):
        raise UnsupportedError(
            "X",
            "two inputs have (anti)perfectly correlated pre-activations that are not copies "
            "of one input; the NTK-fluctuation recursions are singular there",
        )
    # keep every differenced point inside the PSD cone: step ≤ (1 − |ρ|)/4 of the scale
    room = np.where(off, (1.0 - rho) / 4.0, 1.0)
    hg = np.minimum(_GRADIENT_STEP, room)
    hh = np.minimum(_HESSIAN_STEP, room)
    scale = (k11, k22, root)
    base = (k11, k22, k12)

    def shifted(steps: dict[int, np.ndarray]) -> np.ndarray:
        args = [base[i] + steps.get(i, 0.0) for i in range(3)]
        return _tangent(act, *[np.where(off, a, b) for a, b in zip(args, base, strict=True)])

    grad = []
    for i in range(3):
        s = hg * scale[i]
        grad.append(np.where(off, (shifted({i: s}) - shifted({i: -s})) / (2 * s), 0.0))
    # diagonal / duplicated inputs: the one-variable t(k)
    t0 = _single_tangent(act, d)
    hd = _HESSIAN_STEP * d
    tp, tm = _single_tangent(act, d + hd), _single_tangent(act, d - hd)
    hg1 = _GRADIENT_STEP * d
    t_grad = (_single_tangent(act, d + hg1) - _single_tangent(act, d - hg1)) / (2 * hg1)
    t_curv = (tp - 2 * t0 + tm) / (hd * hd)
    dg = np.broadcast_to(t_grad[:, None], (P, P))
    T1 = np.where(single, 0.0, grad[0])
    T3 = np.where(single, dg, grad[2])
    source = np.zeros((P, P))
    if K1 is not None:
        diag = np.diag(K1)
        source += T1 * diag[:, None] + T1.T * diag[None, :] + T3 * K1
    if V is not None and np.any(V != 0):
        center = _tangent(act, k11, k22, np.where(off, k12, np.sqrt(k11 * k22)))
        hess = {}
        for i in range(3):
            s = hh * scale[i]
            hess[i, i] = (shifted({i: s}) - 2 * center + shifted({i: -s})) / (s * s)
            for j in range(i + 1, 3):
                t = hh * scale[j]
                hess[i, j] = (
                    shifted({i: s, j: t})
                    - shifted({i: s, j: -t})
                    - shifted({i: -s, j: t})
                    + shifted({i: -s, j: -t})
                ) / (4 * s * t)
        v11 = np.broadcast_to(np.einsum("aaaa->a", V)[:, None], (P, P))
        v22 = v11.T
        v12 = np.einsum("aabb->ab", V)
        v13 = np.einsum("aaab->ab", V)
        v23 = np.einsum("abbb->ab", V)
        v33 = np.einsum("abab->ab", V)
        second = 0.5 * (
            hess[0, 0] * v11
            + hess[1, 1] * v22
            + 2 * hess[0, 1] * v12
            + 2 * hess[0, 2] * v13
            + 2 * hess[1, 2] * v23
            + hess[2, 2] * v33
        )
        curv = 0.5 * t_curv[:, None] * v11  # ½ t''(K_aa) V_aaaa
        source += np.where(single, np.broadcast_to(curv, (P, P)), np.where(off, second, 0.0))
    return T1, T3, source
