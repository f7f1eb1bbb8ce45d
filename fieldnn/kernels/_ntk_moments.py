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
its rank r. For smooth σ by :func:`~fieldnn.kernels._moment_lattice.lattice_moments` (each
distinct moment once; the adaptive lattice trapezoid rule at rank ≤ 3, the nested anisotropic
rule with a measured error per axis at rank 4; refined to 1e-9 of ⟨|F|⟩ while the lattice stays
below 2²² points; a RuntimeWarning stating the measured accuracy above 1e-6); at four or more
inputs ⟨σσσσ⟩ of the four-point vertex comes from the same pass (:func:`ntk_four_moments`).
For the positively homogeneous piecewise-linear σ (relu, leaky relu, linear) exactly when
r ≤ 2: with z = L u, u = ρ ω, a product with k factors σ (the others σ', homogeneous of
degree 0) is :math:`\mathbb E[\rho^k]\,\overline{f(L\omega)}`, the angular mean taken arc by
arc between the sign changes of the factors (Gauss–Legendre on each arc, where the integrand is
a trigonometric polynomial), :math:`\mathbb E\rho^k = 2^{k/2}\Gamma(1 + k/2)` (r = 2) or
:math:`\mathbb E|u|^k` (r = 1). At higher rank by the Stein recursion to orthant
probabilities of :mod:`fieldnn.kernels._ntk_relu` (exact; Plackett's integral for four
variables).

Tangent response: for σ with a kink (relu, leaky relu) the exact gradient and Hessian of
the arc-cosine form of ⟨σ'_aσ'_b⟩ (:mod:`fieldnn.kernels._kinked_pairs`; its O(1/n) source
cancels a divergence near |ρ| = 1 that differences cannot resolve); otherwise central finite
differences of the vectorised pair function
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
from typing import Any

import numpy as np

from ..errors import UnsupportedError
from ._deep_gaussian import check_on_line, connected_four
from ._kinked_pairs import kinked_pair_derivatives
from ._moment_lattice import lattice_moments, parity, symmetric
from ._ntk_relu import relu_mixed_moments
from ._quadrature import rank_factor
from .activations import Activation, get_activation
from .gaussian import pair_values, single_expectation

_MOMENT_RTOL = 1e-9
_WARN_RTOL = 1e-6
_ARC_NODES = np.polynomial.legendre.leggauss(16)
_GRADIENT_STEP = 1e-4
_HESSIAN_STEP = 1e-3
_ERF = get_activation("erf")
_DUPLICATE = 1e-10
_SINGULAR = 1e-6


# --------------------------------------------------------------------------------------------
# mixed four-point moments
# --------------------------------------------------------------------------------------------
def _tensors(s: np.ndarray, d: np.ndarray, w: np.ndarray, k_scale: np.ndarray) -> np.ndarray:
    """Σ_m w_m (products) for the patterns Q2, Q3, stacked (2, s, s, s, s)."""
    q2 = np.einsum("m,ma,mb,mc,md->abcd", w * k_scale[1], d, d, s, s, optimize=True)
    q3 = np.einsum("m,ma,mb,mc,md->abcd", w * k_scale[0], d, d, d, d, optimize=True)
    return np.stack([q2, q3])


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


def _lattice_moments(act: Activation, K: np.ndarray, with_sigma: bool = False) -> list[np.ndarray]:
    """Q2, Q3 (and ⟨σσσσ⟩ with ``with_sigma``) of a smooth σ by the lattice trapezoid rule of
    :func:`~fieldnn.kernels._moment_lattice.lattice_moments` (each distinct moment once)."""

    def functions(z: np.ndarray) -> list[np.ndarray]:
        return [
            np.asarray(act(z), dtype=np.float64),
            np.asarray(act.derivative(z), dtype=np.float64),
        ]

    patterns = ((1, 1, 0, 0), (1, 1, 1, 1)) + (((0, 0, 0, 0),) if with_sigma else ())
    values, worst = lattice_moments(
        functions, patterns, K, rtol=_MOMENT_RTOL, even=symmetric(act), parity=parity(act)
    )
    if worst > _WARN_RTOL:
        warnings.warn(
            f"four-point moments of activation {act.name!r} converged only to ~{worst:.1e} "
            "relative (a kink in σ or a huge variance)",
            RuntimeWarning,
            stacklevel=5,
        )
    return values


def ntk_four_moments(
    act: Activation, K: np.ndarray, pair: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(M0, Q1, Q2, Q3): the connected ⟨σσσσ⟩ − ⟨σσ⟩⟨σσ⟩ (``pair`` = ⟨σ_aσ_b⟩) and
    :func:`mixed_four_moments`. For a smooth σ without closed forms at four or more inputs
    (blocks of rank 4) all in one lattice pass, the rest as the V recursion computes it
    (:func:`~fieldnn.kernels._deep_gaussian.connected_four`)."""
    if act == _ERF or act.piecewise_linear_slopes is not None or K.shape[0] < 4:
        return (connected_four(act, K), *mixed_four_moments(act, K))
    Q2, Q3, M4 = _lattice_moments(act, K, with_sigma=True)
    return M4 - np.einsum("ab,cd->abcd", pair, pair), Q2.transpose(0, 2, 1, 3), Q2, Q3


def _erf_moments(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Q2, Q3 of σ = erf in closed form at any P: σ' = (2/√π)e^{−z²} tilts the Gaussian,

    .. math:: \langle e^{-z_a^2-z_b^2}\,g(z)\rangle_K = \det(I_2 + 2K_{\{ab\}})^{-1/2}
              \langle g\rangle_{K'}, \qquad K' = K - K_{\cdot S}\,(\tfrac12 I_2
              + K_{SS})^{-1}K_{S\cdot},\ S = (a, b)

    (Woodbury; a = b allowed), then :math:`\langle\mathrm{erf}_c\mathrm{erf}_d\rangle_{K'}
    = \tfrac2\pi\arcsin(2K'_{cd}/\sqrt{(1+2K'_{cc})(1+2K'_{dd})})`, and
    :math:`Q^{(3)}_{abcd} = (16/\pi^2)\det(I_4 + 2K_{\{abcd\}})^{-1/2}`.
    """
    P = K.shape[0]
    d = np.diag(K)
    kaa = d[:, None] + 0.5
    kbb = d[None, :] + 0.5
    det = kaa * kbb - K * K  # det(½I + K_SS) = det(I + 2K_S)/4, (P, P)
    # K_{c,S} M⁻¹ K_{S,d} for S = (a, b): M⁻¹ = [[kbb, −K_ab], [−K_ab, kaa]]/det
    kc_a = K[:, None, :]  # (a, 1, c) = K_ac
    kc_b = K[None, :, :]  # (1, b, c) = K_bc
    inv = 1.0 / det
    w_aa = (kbb * inv)[:, :, None, None]
    w_bb = (kaa * inv)[:, :, None, None]
    w_ab = (-K * inv)[:, :, None, None]
    Ka = kc_a[:, :, :, None]  # K_ac over (a, b, c, ·)
    Kb = kc_b[:, :, :, None]
    Ka_d = kc_a[:, :, None, :]  # K_ad over (a, b, ·, d)
    Kb_d = kc_b[:, :, None, :]
    Kp = K[None, None] - (w_aa * Ka * Ka_d + w_bb * Kb * Kb_d + w_ab * (Ka * Kb_d + Kb * Ka_d))
    diag = np.einsum("abcc->abc", Kp)
    ratio = (
        2.0 * Kp / np.sqrt((1.0 + 2.0 * diag[:, :, :, None]) * (1.0 + 2.0 * diag[:, :, None, :]))
    )
    pair = (2.0 / np.pi) * np.arcsin(np.clip(ratio, -1.0, 1.0))
    Q2 = (4.0 / np.pi) / np.sqrt(4.0 * det)[:, :, None, None] * pair
    idx = np.stack(np.meshgrid(*[np.arange(P)] * 4, indexing="ij"), axis=-1)  # (P,)*4 + (4,)
    block = K[idx[..., :, None], idx[..., None, :]]
    Q3 = (16.0 / np.pi**2) / np.sqrt(np.linalg.det(np.eye(4) + 2.0 * block))
    return Q2, Q3


def _top_two(M: np.ndarray) -> np.ndarray:
    """A factor L (k, r ≤ 2) with L Lᵀ = M for a PSD M of rank ≤ 2 (up to dropped eigenvalues)."""
    w, v = np.linalg.eigh(M)
    keep = [j for j in (M.shape[0] - 2, M.shape[0] - 1) if j >= 0 and w[j] > 1e-13 * w[-1]]
    return v[:, keep] * np.sqrt(w[keep])


def mixed_four_moments(act: Activation, K: np.ndarray) -> tuple[np.ndarray, ...]:
    """(Q1, Q2, Q3), each (P, P, P, P), index orders as in the module docstring
    (Q1[a, c, b, d] = Q2[a, b, c, d]: the same moment, laid out for F)."""
    if act == _ERF:
        Q2, Q3 = _erf_moments(K)
        return Q2.transpose(0, 2, 1, 3), Q2, Q3
    slopes = act.piecewise_linear_slopes
    if slopes is not None:
        if rank_factor(K).shape[1] <= 2:
            Q2, Q3 = _angular_block(act, _top_two(K))
        else:
            Q2, Q3 = relu_mixed_moments(
                K, slopes, lambda S: _angular_block(act, _top_two(K[np.ix_(S, S)]))
            )
        return Q2.transpose(0, 2, 1, 3), Q2, Q3
    Q2, Q3 = _lattice_moments(act, K)
    return Q2.transpose(0, 2, 1, 3), Q2, Q3


# --------------------------------------------------------------------------------------------
# the tangent pair function T_ab = ⟨σ'_a σ'_b⟩ and its response
# --------------------------------------------------------------------------------------------
def _has_closed_form(act: Activation, derivative: int) -> bool:
    one = np.ones(1)
    closed = act.derivative_pair_expectation if derivative else act.pair_expectation
    return closed(one, one, 0.5 * one) is not None


def pair_response(
    act: Activation,
    K: np.ndarray,
    V: np.ndarray | None = None,
    K1: np.ndarray | None = None,
    *,
    derivative: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Response of the pair function ⟨σ_aσ_b⟩ (``derivative=0``) or ⟨σ'_aσ'_b⟩ (1) to K.

    Same returns as :func:`tangent_response`, for the chosen pair function. Steps: 1e-4 of
    the scale for the gradient; for the second derivatives 1e-4 with a closed-form pair function
    (truncation and rounding both ~1e-8) and 1e-3 with the lattice rule (rounding of its 1e-11
    accuracy ~1e-5).
    """

    def pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray) -> np.ndarray:
        return np.asarray(pair_values(act, k11, k22, k12, (derivative,) * 2), dtype=np.float64)

    def single(k: np.ndarray) -> np.ndarray:
        return np.asarray(
            single_expectation(act, k, power=2, derivative=derivative), dtype=np.float64
        )

    hessian_step = _GRADIENT_STEP if _has_closed_form(act, derivative) else _HESSIAN_STEP
    slopes = act.piecewise_linear_slopes
    exact = None
    if slopes is not None and derivative == 1:

        def exact(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray) -> tuple:
            return kinked_pair_derivatives(slopes, k11, k22, k12)

    return _response(pair, single, K, V, K1, hessian_step, exact)


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
    return pair_response(act, K, V, K1, derivative=1)


def _response(
    pair: Any,
    one_variable: Any,
    K: np.ndarray,
    V: np.ndarray | None,
    K1: np.ndarray | None,
    hessian_step: float,
    exact: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite differences of a vectorised pair function h(k11, k22, k12) and of t = h(k, k, k);
    for the pairs not on a line, ``exact(k11, k22, k12)`` (gradient list, Hessian dict, as
    :func:`~fieldnn.kernels._kinked_pairs.kinked_pair_derivatives`) replaces the differences
    when given."""
    P = K.shape[0]
    d = np.diag(K).copy()
    k11 = np.broadcast_to(d[:, None], (P, P)).copy()
    k22 = k11.T.copy()
    k12 = K.copy()
    root = np.sqrt(k11 * k22)
    rho = np.clip(np.abs(k12) / root, 0.0, 1.0)
    # the diagonal, and duplicated inputs (K_ab = K_aa = K_bb): one variable
    single = (k12 > 0) & (1.0 - rho <= _DUPLICATE) & np.isclose(k11, k22, rtol=1e-10)
    # other perfectly (anti)correlated pairs, z_b = c z_a with c = K_ab/K_aa: the kernel and
    # its fluctuations stay on the line (K_aa, K_bb, K_ab) = s (1, c², c) (line_values)
    line = ~single & (1.0 - rho <= _DUPLICATE)
    off = ~single & ~line
    if np.any(off & (1.0 - rho < _SINGULAR)):
        raise UnsupportedError(
            "X",
            "two inputs have nearly, but not exactly, (anti)perfectly correlated "
            "pre-activations; the NTK-fluctuation recursions are singular there",
        )
    # keep every differenced point inside the PSD cone: step ≤ (1 − |ρ|)/4 of the scale
    room = np.where(off, (1.0 - rho) / 4.0, 1.0)
    hg = np.minimum(_GRADIENT_STEP, room)
    hh = np.minimum(hessian_step, room)
    scale = (k11, k22, root)
    base = (k11, k22, k12)

    def shifted(steps: dict[int, np.ndarray]) -> np.ndarray:
        args = [base[i] + steps.get(i, 0.0) for i in range(3)]
        return pair(*[np.where(off, a, b) for a, b in zip(args, base, strict=True)])

    if exact is not None:  # evaluated off the lines only (|ρ| < 1 there)
        closed_grad, closed_hess = exact(k11, k22, np.where(off, k12, 0.0))
        grad = [np.where(off, g, 0.0) for g in closed_grad]
    else:
        h_grad = [hg * c for c in scale]
        grad = [
            np.where(off, (shifted({i: h}) - shifted({i: -h})) / (2 * h), 0.0)
            for i, h in enumerate(h_grad)
        ]
    # diagonal / duplicated inputs: the one-variable t(k)
    t0 = one_variable(d)
    hd = hessian_step * d
    tp, tm = one_variable(d + hd), one_variable(d - hd)
    hg1 = _GRADIENT_STEP * d
    t_grad = (one_variable(d + hg1) - one_variable(d - hg1)) / (2 * hg1)
    t_curv = (tp - 2 * t0 + tm) / (hd * hd)
    dg = np.broadcast_to(t_grad[:, None], (P, P))
    T1 = np.where(single | line, 0.0, grad[0])
    T3 = np.where(single, dg, grad[2])
    line_curv = np.zeros((P, P))
    if np.any(line):
        idx = np.nonzero(line)
        c = k12[idx] / k11[idx]
        line_grad, curv = line_values(pair, k11[idx], c, hessian_step)
        T3 = T3.copy()
        T3[idx] = line_grad / c
        line_curv[idx] = curv
        if V is not None:
            for a, b, ratio in zip(*idx, c, strict=True):
                check_on_line(V, int(a), int(b), float(ratio))
    source = np.zeros((P, P))
    if K1 is not None:
        diag = np.diag(K1)
        source += T1 * diag[:, None] + T1.T * diag[None, :] + T3 * K1
    if V is not None and np.any(V != 0):
        hess = closed_hess if exact is not None else _difference_hessian(shifted, hh, scale)
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
        curv = np.where(line, 0.5 * line_curv * v11, curv)
        source += np.where(single | line, curv, np.where(off, second, 0.0))
    return T1, T3, source


def _difference_hessian(shifted: Any, hh: np.ndarray, scale: tuple) -> dict:
    """Central second differences {(i, j): ∂²h/∂k_i∂k_j, i ≤ j} of ``shifted`` (steps hh of each
    coordinate's scale; ``shifted({})`` is the centre)."""
    center = shifted({})
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
    return hess


def line_values(
    pair: Any, k11: np.ndarray, c: np.ndarray, hessian_step: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""g'(K_aa) and g''(K_aa) of :math:`g(s) = h(s, c^2s, cs)` for perfectly (anti)correlated
    pairs z_b = c z_a (central differences, steps 1e-4 and ``hessian_step`` of K_aa).

    Where the kernel has z_b = c z_a exactly (a rank-1 first layer, d_in = 1 and C_b = 0; odd σ
    with C_b = 0 and x_b = −x_a; positively homogeneous σ and x_b = c x_a, c > 0), so do the
    finite-width pre-activations: every perturbation of (K_aa, K_bb, K_ab) that the recursions
    contract with the gradient or the Hessian of h (K^{1}, V, D, F) lies on the line
    s (1, c², c), and only the derivatives of h along it are needed (its partial derivatives
    in the correlation cannot be differenced inside the PSD cone there, and diverge for a σ
    with a kink).
    """
    hg, hh = _GRADIENT_STEP * k11, hessian_step * k11

    def g(s: np.ndarray) -> np.ndarray:
        return pair(s, c * c * s, c * s)

    grad = (g(k11 + hg) - g(k11 - hg)) / (2 * hg)
    curv = (g(k11 + hh) - 2 * g(k11) + g(k11 - hh)) / (hh * hh)
    return grad, curv
