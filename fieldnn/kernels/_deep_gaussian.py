r"""Gaussian expectations needed by the deep recursions for V and the NLO kernel (private).

Notation: for inputs a, b write :math:`H_{ab}(K) = \langle\sigma(z_a)\sigma(z_b)\rangle_K`; it
depends on K only through :math:`(k_{11}, k_{22}, k_{12}) = (K_{aa}, K_{bb}, K_{ab})`. A
symmetric perturbation δK changes it by

.. math:: \delta H_{ab} = D^{(1)}_{ab}\,\delta K_{aa} + D^{(1)}_{ba}\,\delta K_{bb}
          + D^{(3)}_{ab}\,\delta K_{ab} + O(\delta K^2),

with the Gaussian identities (Stein's lemma :math:`\langle z_i F\rangle = \sum_j K_{ij}
\langle\partial_j F\rangle`; only σ and σ' are ever evaluated)

.. math:: D^{(3)}_{ab} = \langle\sigma'_a\sigma'_b\rangle, \qquad
          D^{(1)}_{ab} = \tfrac12\langle\sigma''_a\sigma_b\rangle
          = \frac{\langle z_a\sigma'_a\sigma_b\rangle - K_{ab}\langle\sigma'_a\sigma'_b\rangle}
                 {2K_{aa}} .

For erf, :math:`H = \tfrac2\pi\arcsin s`, :math:`s = 2k_{12}/\sqrt{(1+2k_{11})(1+2k_{22})}`,
differentiates in closed form: :math:`D^{(1)}_{ab} = -\tfrac2\pi\, s/((1+2k_{11})\sqrt{1-s^2})
= -k_{12}D^{(3)}_{ab}/(1+2k_{11})` (used when no V-term is needed, i.e. for V itself).
For a = b the same three terms add up to :math:`g'(K_{aa}) = 2D^{(1)}_{aa} + D^{(3)}_{aa}
= \langle z\sigma\sigma'\rangle/K_{aa}`, so one vectorised formula covers the diagonal.
The second-order term of the NLO recursion,
:math:`\tfrac12\sum_{ij} \partial_i\partial_j H_{ab}\, V_{ij}` over the coordinates
i, j ∈ {aa, bb, ab}, is computed as
:math:`\tfrac18\langle\sigma_a\sigma_b\, \sum_{ijkl} V_{ijkl}\,\mathrm{He}_{ijkl}(z)\rangle` over
the 2×2 (or 1×1) block M, with the multivariate Hermite polynomial
:math:`\mathrm{He}_{ijkl} = y_iy_jy_ky_l - (M^{-1}_{ij}y_ky_l + 5\text{ perms})
+ (M^{-1}_{ij}M^{-1}_{kl} + 2\text{ perms})`, :math:`y = M^{-1}z` (integration by parts four
times), for smooth σ; and in closed form from the arc-cosine kernel for the positively homogeneous
piecewise-linear σ = (s₊ − s₋) relu + s₋ z, for which :math:`z\sigma'(z) = \sigma(z)` and

.. math:: H = (s_+ - s_-)^2 R + s_+ s_- k_{12}, \qquad
          R = \frac{\sqrt{\det} + (\pi - \theta) k_{12}}{2\pi}, \quad
          \det = k_{11}k_{22} - k_{12}^2,

with second derivatives (checked with SymPy, ``docs/eft.md``)
:math:`R_{11} = (k_{12}^2 - k_{11}k_{22}/2)/(4\pi k_{11}^2\sqrt{\det})`,
:math:`R_{12} = 1/(8\pi\sqrt{\det})`, :math:`R_{13} = -k_{12}/(4\pi k_{11}\sqrt{\det})`,
:math:`R_{33} = 1/(2\pi\sqrt{\det})` (and 1 ↔ 2).

References
----------
D. A. Roberts, S. Yaida, B. Hanin, "The Principles of Deep Learning Theory", arXiv:2106.10165,
chapter 4 (Gaussian-expectation derivative identities, sec. 4.3 and 4.5).
"""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np

from ..errors import ArgumentError, UnsupportedError
from ._erf_four import erf_four_moments
from ._moment_lattice import lattice_moments, parity, symmetric
from ._quadrature import rank_factor
from ._relu_four import relu_moment_values
from .activations import Activation, get_activation
from .gaussian import (
    erf_four_rounding,
    gaussian_expectation,
    pair_values,
    product_moment_tensors,
    product_moment_values,
    scatter_symmetric,
)

_DEGENERATE = 1e-12
ERF_FOUR_KAPPA = 2e4  # κ up to which the Plackett rule's accuracy is measured (docs/eft.md)
_ERF = get_activation("erf")
FOUR_RTOL = 1e-9  # target of the lattice ⟨σσσσ⟩ at ≥ 4 inputs, relative to ⟨|F|⟩
FOUR_WARN_RTOL = 1e-6  # measured accuracy above which it warns


def _block(K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k11, k22, k12) arrays of shape (P, P): K_aa, K_bb, K_ab for every ordered pair."""
    d = np.diag(K)
    return np.broadcast_to(d[:, None], K.shape), np.broadcast_to(d[None, :], K.shape), K


def check_positive_diagonal(K: np.ndarray, argument: str = "X") -> None:
    """The V and NLO recursions divide by K_aa: every input needs a nonzero variance."""
    if np.any(np.diag(K) <= 0):
        raise ArgumentError(
            argument,
            "an input has zero pre-activation variance (x = 0 with C_b = 0); the four-point "
            "and NLO recursions need K_aa > 0",
        )


def _erf_connected_four_large(K: np.ndarray, argument: str) -> np.ndarray:
    """:func:`connected_four` for erf beyond the measured range of the Plackett rule
    (κ = 1 + 2 max K_aa > :data:`ERF_FOUR_KAPPA`), where M4 ≈ M2² ≈ 1 for nearly collinear
    inputs and the difference needs the moments to far better than the rule's absolute 1e-11.

    Rank-1 K (one input; collinear inputs with C_b = 0): the sinh-mapped 1-d rule of
    :func:`~fieldnn.kernels.gaussian.product_moment_values` (relative accuracy ~1e-15 at any
    variance; tested against mpmath). Otherwise the Plackett rule with its error estimate.
    The propagated error (moment errors plus 8ε rounding of M4 and M2²) must stay below 1e-6
    of the largest entry, else UnsupportedError naming ``argument``.
    """
    P = K.shape[0]
    eps = float(np.finfo(np.float64).eps)
    if rank_factor(K).shape[1] == 1:
        values, errors = product_moment_values(_ERF, K, (4,))[4]
        M4 = scatter_symmetric(values, P, 4)
        err4 = scatter_symmetric(errors, P, 4)
    else:
        M4, err4 = erf_four_moments(K, return_error=True)
        err4 = err4 + erf_four_rounding(1.0 + 2.0 * float(np.max(np.diag(K))))
    M2 = pair_values(_ERF, *_block(K))
    M22 = np.einsum("ab,cd->abcd", M2, M2)
    out = M4 - M22
    error = err4 + 8.0 * eps * (np.abs(M4) + np.abs(M22))
    scale = float(np.max(np.abs(out)))
    if float(np.max(error)) > 1e-6 * scale:
        raise UnsupportedError(
            argument,
            "the connected four-point moment of erf is lost in cancellation at kernel "
            f"variances up to {float(np.max(np.diag(K))):.3g} (estimated error "
            f"{float(np.max(error)):.1e} against values up to {scale:.1e})",
        )
    return out


def _lattice_four(act: Activation, K: np.ndarray) -> np.ndarray:
    """⟨σ_aσ_bσ_cσ_d⟩ of a smooth σ at P ≥ 4 inputs by
    :func:`~fieldnn.kernels._moment_lattice.lattice_moments` (each distinct moment once; at
    rank 4 the nested anisotropic rule with a measured error per axis), refined to
    :data:`FOUR_RTOL` of ⟨|F|⟩; a RuntimeWarning stating the measured accuracy above
    :data:`FOUR_WARN_RTOL`."""

    def functions(z: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(act(z), dtype=np.float64)]

    (M4,), worst = lattice_moments(
        functions, ((0, 0, 0, 0),), K, rtol=FOUR_RTOL, even=symmetric(act), parity=parity(act)
    )
    if worst > FOUR_WARN_RTOL:
        warnings.warn(
            f"four-point moments of activation {act.name!r} converged only to ~{worst:.1e} "
            "relative (a kink in σ or a huge variance)",
            RuntimeWarning,
            stacklevel=5,
        )
    return M4


def connected_four(act: Activation, K: np.ndarray, argument: str = "C_W") -> np.ndarray:
    r"""⟨σ_a σ_b σ_c σ_d⟩_K − ⟨σ_a σ_b⟩_K ⟨σ_c σ_d⟩_K, shape (P, P, P, P).

    For erf the product moments are the one-dimensional Plackett integrals of
    :mod:`fieldnn.kernels._erf_four` (any P) up to κ = 1 + 2 max K_aa = 2·10⁴, the end of their
    measured accuracy table; beyond, :func:`_erf_connected_four_large` (exact 1-d rule for
    rank-1 K, else the Plackett rule with its error estimate; an error naming ``argument``
    where cancellation leaves less than 1e-6 relative). For relu-type σ the Stein recursion of
    :mod:`fieldnn.kernels._relu_four` (any P and rank, exact up to an O(1e-12) lift of nearly
    singular rank-3 blocks); otherwise, at P ≤ 3, from
    :func:`~fieldnn.kernels.gaussian.product_moments` (without its argument checks: K comes
    from the recursion), and at P ≥ 4 from :func:`_lattice_four`, the measured rank-4 rule the
    NTK-fluctuation recursion uses (the Gauss-net unit, whose σ depends on the variance, still
    from :func:`~fieldnn.kernels.gaussian.product_moments` on the 4-subsets of inputs).
    """
    P = K.shape[0]
    slopes = act.piecewise_linear_slopes
    if act == _ERF and 1.0 + 2.0 * float(np.max(np.diag(K))) > ERF_FOUR_KAPPA:
        return _erf_connected_four_large(K, argument)
    if act == _ERF:
        M4 = erf_four_moments(K)
    elif slopes is not None:
        M4 = scatter_symmetric(relu_moment_values(K, slopes, 4), P, 4)
    elif P <= 3:
        M4 = product_moment_tensors(act, K, (4,))[4]
    elif not act.normalised:
        M4 = _lattice_four(act, K)
    else:
        M4 = np.empty((P,) * 4)
        for S in combinations(range(P), 4):
            idx = np.ix_(S, S, S, S)
            M4[idx] = product_moment_tensors(act, K[np.ix_(S, S)], (4,))[4]
    M2 = pair_values(act, *_block(K))
    return M4 - np.einsum("ab,cd->abcd", M2, M2)


def check_on_line(V: np.ndarray, a: int, b: int, c: float, rtol: float = 1e-6) -> None:
    r"""For a pair with z_b = c z_a exactly: the four-point vertex on the pair must lie on the
    line of the degenerate kernel, :math:`V_{(ij)(kl)} = c^{m}V_{(aa)(aa)}` with m the number
    of indices b among i, j, k, l (else UnsupportedError naming ``X``)."""
    S = [a, b]
    block = V[np.ix_(S, S, S, S)]
    powers = np.indices((2,) * 4).sum(axis=0)
    expected = block[0, 0, 0, 0] * c**powers
    scale = float(np.max(np.abs(block)))
    if float(np.max(np.abs(block - expected))) > rtol * scale:
        raise UnsupportedError(
            "X",
            f"inputs {a} and {b} have perfectly correlated pre-activations (ratio {c:.6g}) while "
            "their kernel fluctuations are not; the NLO second-derivative term is singular there",
        )


def _hermite_contraction(y: np.ndarray, Minv: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Σ_ijkl V_ijkl He_ijkl(z) at points y = M⁻¹z (m, s); V (s, s, s, s) pair-symmetric."""
    t1 = np.einsum("mi,mj,mk,ml,ijkl->m", y, y, y, y, V)
    # six terms M⁻¹_{..} y y: (ij)(kl) ×2 and the four cross pairings, using pair symmetry of V
    t2 = 2.0 * np.einsum("ij,mk,ml,ijkl->m", Minv, y, y, V) + 4.0 * np.einsum(
        "ik,mj,ml,ijkl->m", Minv, y, y, V
    )
    t3 = np.einsum("ij,kl,ijkl->", Minv, Minv, V) + 2.0 * np.einsum("ik,jl,ijkl->", Minv, Minv, V)
    return t1 - t2 + t3


def _smooth_pair(
    act: Activation, K: np.ndarray, V: np.ndarray | None, a: int, b: int
) -> tuple[np.ndarray, float]:
    """Smooth σ, one unordered pair: (⟨z_a σ'_a σ_b⟩, ⟨z_b σ'_b σ_a⟩), and the V-term of T_ab."""
    S = [a] if a == b else [a, b]
    M = K[np.ix_(S, S)]
    Vs = None if V is None else V[np.ix_(S, S, S, S)]
    want_v = Vs is not None and np.any(Vs != 0)
    if want_v and len(S) == 2 and np.linalg.det(M) <= _DEGENERATE * M[0, 0] * M[1, 1]:
        if np.allclose(M, M[0, 0], rtol=1e-10, atol=0.0):
            # identical inputs: σ_a σ_b = σ_a² and Ĝ_aa = Ĝ_bb = Ĝ_ab exactly
            return _smooth_pair(act, K, V, a, a)
        return _line_pair(act, M, Vs, a, b)
    Minv = np.linalg.inv(M) if want_v else None
    ia, ib = (0, 0) if a == b else (0, 1)

    def F(z: np.ndarray) -> np.ndarray:
        s = np.asarray(act(z))
        ds = np.asarray(act.derivative(z))
        cols = [z[:, ia] * ds[:, ia] * s[:, ib], z[:, ib] * ds[:, ib] * s[:, ia]]
        if want_v:
            y = z @ Minv
            cols.append(s[:, ia] * s[:, ib] * _hermite_contraction(y, Minv, Vs) / 8.0)
        return np.stack(cols, axis=1)

    out = np.asarray(gaussian_expectation(F, M, rtol=1e-11))
    return out[:2], float(out[2]) if want_v else 0.0


def _line_pair(
    act: Activation, M: np.ndarray, Vs: np.ndarray, a: int, b: int
) -> tuple[np.ndarray, float]:
    r""":func:`_smooth_pair` for a perfectly (anti)correlated pair z_b = c z_a (c = K_ab/K_aa):
    the kernel and its fluctuations lie on the line s (1, c², c) (:func:`check_on_line`), so the
    second-order term is :math:`\tfrac12 V_{(aa)(aa)}\,g''(K_{aa})` with
    :math:`g(s) = \langle\sigma(z)\sigma(cz)\rangle_{z\sim N(0,s)}`, and by the heat equation
    and integration by parts :math:`g'' = \tfrac14\langle\partial_z^4[\sigma(z)\sigma(cz)]
    \rangle = \langle\sigma(z)\sigma(cz)\,\mathrm{He}_4(z/\sqrt s)\rangle/(4s^2)` — the
    rank-1 form of the Hermite contraction (identical to it at c = 1)."""
    k, c = float(M[0, 0]), float(M[0, 1] / M[0, 0])
    check_on_line(Vs, 0, 1, c)
    v = float(Vs[0, 0, 0, 0])

    def F(z: np.ndarray) -> np.ndarray:
        za = z[:, 0]
        zz = np.stack([za, c * za], axis=1)
        s = np.asarray(act(zz))
        ds = np.asarray(act.derivative(zz))
        u2 = za * za / k
        he4 = u2 * u2 - 6.0 * u2 + 3.0
        cols = [zz[:, 0] * ds[:, 0] * s[:, 1], zz[:, 1] * ds[:, 1] * s[:, 0]]
        cols.append(s[:, 0] * s[:, 1] * v * he4 / (8.0 * k * k))
        return np.stack(cols, axis=1)

    out = np.asarray(gaussian_expectation(F, np.array([[k]]), rtol=1e-11))
    return out[:2], float(out[2])


def _relu_second_order(K: np.ndarray, V: np.ndarray, c2: float) -> np.ndarray:
    """(1/2) Σ_ij ∂_i∂_j H_ab V_ij for H = c² R + s₊s₋ k12 (a ≠ b entries; diagonal 0)."""
    P = K.shape[0]
    out = np.zeros((P, P))
    for a, b in combinations(range(P), 2):
        k11, k22, k12 = K[a, a], K[b, b], K[a, b]
        det = k11 * k22 - k12 * k12
        block = V[np.ix_([a, b], [a, b], [a, b], [a, b])]
        if not np.any(block != 0):
            continue
        if det <= _DEGENERATE * k11 * k22:
            # z_b = c z_a: on the line s (1, c², c), H = s ⟨σ(u)σ(cu)⟩ is linear in s (σ
            # positively homogeneous), so g'' = 0 where V lies on the line
            check_on_line(V, a, b, k12 / k11)
            continue
        sq = np.sqrt(det)
        r11 = (k12 * k12 - 0.5 * k11 * k22) / (4 * np.pi * k11 * k11 * sq)
        r22 = (k12 * k12 - 0.5 * k11 * k22) / (4 * np.pi * k22 * k22 * sq)
        r12 = 1.0 / (8 * np.pi * sq)
        r13 = -k12 / (4 * np.pi * k11 * sq)
        r23 = -k12 / (4 * np.pi * k22 * sq)
        r33 = 1.0 / (2 * np.pi * sq)
        v = V
        total = (
            r11 * v[a, a, a, a]
            + r22 * v[b, b, b, b]
            + 2 * r12 * v[a, a, b, b]
            + 2 * r13 * v[a, a, a, b]
            + 2 * r23 * v[b, b, a, b]
            + r33 * v[a, b, a, b]
        )
        out[a, b] = out[b, a] = 0.5 * c2 * total
    return out


def pair_terms(
    act: Activation, K: np.ndarray, V: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    r"""D1, D3 (P, P) and, if V is given, the second-order NLO source (P, P).

    Returns
    -------
    D1 : ndarray (P, P)
        :math:`\partial H_{ab}/\partial K_{aa}` at fixed K_bb, K_ab (ordered pairs).
    D3 : ndarray (P, P)
        :math:`\langle\sigma'_a\sigma'_b\rangle = \partial H_{ab}/\partial K_{ab}`.
    second : ndarray (P, P) or None
        :math:`\tfrac12\sum_{ij}\partial_i\partial_j H_{ab}\,V_{ij}` (coordinates aa, bb, ab).
    """
    k11, k22, k12 = _block(K)
    slopes = act.piecewise_linear_slopes
    P = K.shape[0]
    if slopes is not None:
        # z σ'(z) = σ(z): ⟨z_a σ'_a σ_b⟩ = H_ab
        D3 = pair_values(act, k11, k22, k12, (1, 1))
        H = pair_values(act, k11, k22, k12)
        D1 = (H - k12 * D3) / (2.0 * k11)
        second = None
        if V is not None:
            s_neg, s_pos = slopes
            second = _relu_second_order(K, V, (s_pos - s_neg) ** 2)
        return D1, D3, second
    D3 = pair_values(act, k11, k22, k12, (1, 1))
    if V is None and act == _ERF:
        return -k12 * D3 / (1.0 + 2.0 * k11), D3, None
    zsig = np.empty((P, P))
    second = np.zeros((P, P)) if V is not None else None
    for a in range(P):
        for b in range(a, P):
            zs, t2 = _smooth_pair(act, K, V, a, b)
            zsig[a, b], zsig[b, a] = zs
            if second is not None:
                second[a, b] = second[b, a] = t2
    D1 = (zsig - k12 * D3) / (2.0 * k11)
    return D1, D3, second


def propagate(D1: np.ndarray, D3: np.ndarray, V: np.ndarray) -> np.ndarray:
    r"""Σ over coordinates of both pairs: ∇H_ab · V · ∇H_cd, shape (P, P, P, P).

    .. math:: W_{ab,kl} = D^{(1)}_{ab} V_{aa,kl} + D^{(1)}_{ba} V_{bb,kl} + D^{(3)}_{ab}V_{ab,kl},
              \quad \text{then the same on the second pair.}
    """
    Vd = np.einsum("aakl->akl", V)
    W = (
        D1[:, :, None, None] * Vd[:, None, :, :]
        + D1.T[:, :, None, None] * Vd[None, :, :, :]
        + D3[:, :, None, None] * V
    )
    Wd = np.einsum("abkk->abk", W)
    return (
        D1[None, None, :, :] * Wd[:, :, :, None]
        + D1.T[None, None, :, :] * Wd[:, :, None, :]
        + D3[None, None, :, :] * W
    )
