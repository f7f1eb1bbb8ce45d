r"""The O(1/n) statistics of the NTK of a deep MLP: its mean at NLO, its variance (A, B) and
its cross-correlation with the preactivations (D, F), layer by layer.

Conventions (seed 000, Roberts–Yaida–Hanin arXiv:2106.10165 ch. 8; ``docs/conventions.md`` and
``docs/finite_width_training.md``). The NTK of layer ℓ,
:math:`\hat H^{(\ell)}_{i_1i_2;\alpha_1\alpha_2} = \sum_\mu\lambda_\mu\,\partial_\mu
z^{(\ell)}_{i_1\alpha_1}\partial_\mu z^{(\ell)}_{i_2\alpha_2}` with the learning-rate tensor
:math:`\lambda_{b^{(\ell)}} = \lambda_b^{(\ell)}`, :math:`\lambda_{W^{(\ell)}} =
\lambda_W^{(\ell)}/n_{\ell-1}`, has, to O(1/n) (every tensor of layer ℓ normalised by
:math:`1/n_{\ell-1}`, :math:`\Delta\hat H = \hat H - \mathbb E\hat H`):

.. math::

    \mathbb E[\hat H_{i_1i_2;\alpha_1\alpha_2}] &= \delta_{i_1i_2}\big[\Theta_{\alpha_1\alpha_2}
        + \Theta^{\{1\}}_{\alpha_1\alpha_2}/n_{\ell-1}\big],\\
    \mathbb E[\Delta\hat H_{i_1i_2;\alpha_1\alpha_2} z_{i_3\alpha_3} z_{i_4\alpha_4}]
        &= \frac1{n_{\ell-1}}\big[\delta_{i_1i_2}\delta_{i_3i_4}D_{\alpha_1\alpha_2\alpha_3\alpha_4}
        + \delta_{i_1i_3}\delta_{i_2i_4}F_{\alpha_1\alpha_3\alpha_2\alpha_4}
        + \delta_{i_1i_4}\delta_{i_2i_3}F_{\alpha_1\alpha_4\alpha_2\alpha_3}\big],\\
    \mathbb E[\Delta\hat H_{i_1i_2;\alpha_1\alpha_2}\Delta\hat H_{i_3i_4;\alpha_3\alpha_4}]
        &= \frac1{n_{\ell-1}}\big[\delta_{i_1i_2}\delta_{i_3i_4}
        A_{(\alpha_1\alpha_2)(\alpha_3\alpha_4)}
        + \delta_{i_1i_3}\delta_{i_2i_4}B_{\alpha_1\alpha_3\alpha_2\alpha_4}
        + \delta_{i_1i_4}\delta_{i_2i_3}B_{\alpha_1\alpha_4\alpha_2\alpha_3}\big].

Array layout: ``A[a, b, c, d]`` = :math:`A_{(ab)(cd)}`, ``D[a, b, c, d]`` =
:math:`D_{abcd}` (NTK indices first), ``B[a, c, b, d]`` and ``F[a, c, b, d]`` exactly as
subscripted above (for F: NTK index, z index, NTK index, z index).

References
----------
D. A. Roberts, S. Yaida, B. Hanin, "The Principles of Deep Learning Theory", arXiv:2106.10165,
ch. 8: the NTK forward equation (8.12), the NTK–preactivation cross-correlations D, F
(sec. 8.2–8.3), the NTK variance A, B (sec. 8.3), the NLO NTK mean (sec. 8.3–8.4).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import input_points
from ..errors import ArgumentError
from ._deep_gaussian import check_positive_diagonal, pair_terms, propagate
from ._ntk_moments import ntk_four_moments, pair_response, tangent_response
from .activations import Activation
from .deep import (
    PerLayer,
    _activation,
    _check_finite_kernel,
    _first_kernel,
    _pair_matrix,
    _per_layer,
    _widths,
)

__all__ = ["NTKFluctuations", "ntk_fluctuations"]

_WIDE_ENOUGH = 0.5  # depth / smallest hidden width above which a warning is issued


@dataclass(frozen=True)
class NTKFluctuations:
    r"""The NTK statistics of every layer ℓ = 1..L (lists indexed ℓ − 1).

    Attributes
    ----------
    K, Theta, K1, Theta1 : list of ndarray (P, P)
        Kernel, infinite-width NTK, NLO kernel :math:`K^{\{1\}}` and NLO NTK mean
        :math:`\Theta^{\{1\}}` (both normalised by 1/n_{ℓ−1}).
    V, A, B, D, F : list of ndarray (P, P, P, P)
        Four-point vertex, NTK variance (A, B) and NTK–preactivation cross-correlation (D, F),
        layouts as in :mod:`fieldnn.kernels._ntk_fluctuations`; zero at ℓ = 1.
    widths : tuple of int
        ``[d_in, n_1, …, d_out]``.
    """

    K: list[np.ndarray]
    Theta: list[np.ndarray]
    K1: list[np.ndarray]
    Theta1: list[np.ndarray]
    V: list[np.ndarray]
    A: list[np.ndarray]
    B: list[np.ndarray]
    D: list[np.ndarray]
    F: list[np.ndarray]
    widths: tuple[int, ...]

    def ntk_mean(self, layer: int | None = None) -> np.ndarray:
        r""":math:`\Theta^{(\ell)} + \Theta^{\{1\}(\ell)}/n_{\ell-1}` (P, P); default ℓ = L."""
        ell = len(self.Theta) if layer is None else int(layer)
        if not 1 <= ell <= len(self.Theta):
            raise ArgumentError("layer", f"must be in 1..{len(self.Theta)}, got {layer!r}")
        return self.Theta[ell - 1] + self.Theta1[ell - 1] / self.widths[ell - 1]


def _respond(G1: np.ndarray, G3: np.ndarray, X: np.ndarray) -> np.ndarray:
    r"""Linear response of pair functions to perturbations stored on the first two axes:
    :math:`R_{ab\ldots} = G1_{ab}X_{aa\ldots} + G1_{ba}X_{bb\ldots} + G3_{ab}X_{ab\ldots}`."""
    Xd = np.einsum("aa...->a...", X)
    extra = (None,) * (X.ndim - 2)
    return (
        G1[(..., *extra)] * Xd[:, None] + G1.T[(..., *extra)] * Xd[None, :] + G3[(..., *extra)] * X
    )


def _respond_last(G1: np.ndarray, G3: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The same on the last two axes of a (P, P, P, P) tensor."""
    return _respond(G1, G3, X.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)


def _sigma_pair_terms(
    act: Activation, K: np.ndarray, V: np.ndarray, K1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """D1, D3 of ⟨σσ⟩ and its NLO source S (so that K^{1}' = r C_W S): exact Gaussian identities
    (``_deep_gaussian.pair_terms``); the second-order term by finite differences of the closed
    pair form when σ has one (erf, sin: ~1e-8 relative, instead of a 2-d quadrature per pair)."""
    closed = act.pair_expectation(np.ones(1), np.ones(1), np.full(1, 0.5)) is not None
    if closed and act.piecewise_linear_slopes is None:
        D1, D3, _ = pair_terms(act, K)
        return D1, D3, pair_response(act, K, V, K1, derivative=0)[2]
    D1, D3, second = pair_terms(act, K, V)
    diag = np.diag(K1)
    return D1, D3, D1 * diag[:, None] + D1.T * diag[None, :] + D3 * K1 + second


def _checked_arguments(
    mlp_or_act: Any, C_W: Any, C_b: Any, widths: Any
) -> tuple[Any, Any, Any, Any]:
    if all(hasattr(mlp_or_act, a) for a in ("activation", "widths", "C_W", "C_b")):
        given = [n for n, v in (("C_W", C_W), ("C_b", C_b), ("widths", widths)) if v is not None]
        if given:
            raise ArgumentError(given[0], "is taken from the MLP; pass it only with an activation")
        return mlp_or_act.activation, list(mlp_or_act.C_W), list(mlp_or_act.C_b), mlp_or_act.widths
    for name, value in (("C_W", C_W), ("C_b", C_b), ("widths", widths)):
        if value is None:
            raise ArgumentError(name, "is required when the first argument is an activation")
    return mlp_or_act, C_W, C_b, widths


def ntk_fluctuations(
    mlp_or_act: Any,
    X: Any,
    *,
    C_W: PerLayer | None = None,
    C_b: PerLayer | None = None,
    widths: Sequence[int] | None = None,
    lambda_W: PerLayer = 1.0,
    lambda_b: PerLayer = 1.0,
) -> NTKFluctuations:
    r"""O(1/n) NTK statistics of a deep MLP at P inputs, every layer.

    Parameters
    ----------
    mlp_or_act : fieldnn.MLP, or str / callable / Activation
        The network; or its activation, then ``C_W``, ``C_b`` and ``widths`` are required.
    X : array_like (P, d_in)
        Inputs.
    C_W, C_b : float or sequence of L floats
        Per-layer variances (only with an activation).
    widths : sequence of int
        ``[d_in, n_1, …, n_{L−1}, d_out]`` (only with an activation).
    lambda_W, lambda_b : float or sequence of L floats
        Learning-rate tensor, as in :func:`~fieldnn.kernels.deep.ntk_recursion`.

    Returns
    -------
    NTKFluctuations
        K, Θ, K^{1}, Θ^{1} (P, P) and V, A, B, D, F (P, P, P, P) of every layer.

    Notes
    -----
    Conditioning on layer ℓ, :math:`\hat H^{(\ell+1)}_{i_1i_2} = \delta_{i_1i_2}\lambda_{\hat G}
    + \sum_{j_1j_2}W_{i_1j_1}W_{i_2j_2}\sigma'_{j_1}\sigma'_{j_2}\hat H^{(\ell)}_{j_1j_2}` and
    z = b + Wσ are polynomials in the Gaussian W, b; Wick's theorem over W, then the 1/n
    expansion of layer ℓ (same-neuron terms at leading order, different-neuron terms coupled
    through V, D, F, A, B of layer ℓ) give, with :math:`r = n_\ell/n_{\ell-1}`, C_W, C_b,
    λ_W, λ_b of layer ℓ + 1, brackets ⟨·⟩ over N(0, K^{(ℓ)}),
    :math:`f_{ab} = \lambda_W\sigma_a\sigma_b + C_W\Theta_{ab}\sigma'_a\sigma'_b`, and
    :math:`\nabla` the response of a pair expectation to a change of K (derivation in
    ``docs/finite_width_training.md``):

    .. math::

        B'_{acbd} &= C_W^2\Theta_{ab}\Theta_{cd}\langle\sigma'_a\sigma'_b\sigma'_c\sigma'_d
            \rangle + r\,C_W^2\langle\sigma'_a\sigma'_c\rangle\langle\sigma'_b\sigma'_d\rangle
            B_{acbd},\\
        F'_{acbd} &= C_W^2\Theta_{ab}\langle\sigma'_a\sigma_c\sigma'_b\sigma_d\rangle
            + r\,C_W^2\sum_{\beta_1\beta_2}F_{a\beta_1b\beta_2}
            \langle\partial_{\beta_1}(\sigma'_a\sigma_c)\rangle
            \langle\partial_{\beta_2}(\sigma'_b\sigma_d)\rangle,\\
        D'_{abcd} &= C_W\,\mathrm{Cov}(f_{ab}, \sigma_c\sigma_d)
            + r\big[C_W\nabla\langle f_{ab}\rangle\cdot V\cdot\nabla\langle\sigma_c\sigma_d
            \rangle + C_W^2\langle\sigma'_a\sigma'_b\rangle\,D_{ab\cdot\cdot}\cdot\nabla
            \langle\sigma_c\sigma_d\rangle\big],\\
        A'_{(ab)(cd)} &= \mathrm{Cov}(f_{ab}, f_{cd}) + r\big[\nabla\langle f_{ab}\rangle
            \cdot V\cdot\nabla\langle f_{cd}\rangle + C_W\langle\sigma'_a\sigma'_b\rangle
            D_{ab\cdot\cdot}\cdot\nabla\langle f_{cd}\rangle + (ab\leftrightarrow cd)
            + C_W^2\langle\sigma'_a\sigma'_b\rangle\langle\sigma'_c\sigma'_d\rangle
            A_{(ab)(cd)}\big],\\
        \Theta^{\{1\}\prime}_{ab} &= r\big[\lambda_W S^{\sigma\sigma}_{ab}
            + C_W\big(\Theta_{ab}S^{\sigma'\sigma'}_{ab}
            + \langle\sigma'_a\sigma'_b\rangle\Theta^{\{1\}}_{ab}
            + \sum_{kl}(D_{abkl} + F_{akbl} + F_{albk})
            \partial\langle\sigma'_a\sigma'_b\rangle/\partial K_{kl}\big)\big],

    Cov over one neuron of N(0, K), :math:`S^{\phi\phi}_{ab} = \nabla\langle\phi_a\phi_b
    \rangle\cdot K^{\{1\}} + \tfrac12\sum\partial^2\langle\phi_a\phi_b\rangle V` the O(1/n)
    shift of :math:`\mathbb E[\phi_a\phi_b]` (so :math:`K^{\{1\}\prime} = rC_WS^{\sigma\sigma}`),
    :math:`\langle\partial_\beta(\sigma'_a\sigma_c)\rangle = \delta_{\beta a}
    \langle\sigma''_a\sigma_c\rangle + \delta_{\beta c}\langle\sigma'_a\sigma'_c\rangle`.
    Layer 1 is deterministic: all of them vanish there, and Θ^{1} vanishes at ℓ = 2 too.
    Deep linear nets: Θ^{1} = 0 (the mean NTK is exact), and B, D, F, A have the closed forms
    of ``docs/finite_width_training.md``, checked against the exact finite-width Wick
    computation in the tests.

    Numerics: σ' four-point moments in ``fieldnn.kernels._ntk_moments`` (closed form for erf,
    exact Stein recursion to orthant probabilities for relu-type σ at any rank, the lattice
    trapezoid rule of ``fieldnn.kernels._moment_lattice`` for other σ, with a measured error
    also at rank 4); responses of ⟨σσ⟩ and ⟨σ'σ'⟩ to K by finite differences of
    the pair functions, except ⟨σ'σ'⟩ of relu-type σ, differentiated exactly (near collinear
    inputs its O(1/n) source is a cancellation differences cannot resolve;
    :mod:`fieldnn.kernels._kinked_pairs`). Only σ and σ' are evaluated, so a user callable
    works with the σ' fieldnn derives for it. A RuntimeWarning states L/n when the smallest
    hidden width is below twice the depth.

    References
    ----------
    arXiv:2106.10165, ch. 8: eq. (8.12) (forward equation); sec. 8.2 (second layer: D, F, A,
    B from the first layer's deterministic NTK), sec. 8.3 (deeper layers: the recursions),
    sec. 8.4 (NTK mean at NLO); ch. 4 (K, V, K^{1}).

    Examples
    --------
    >>> import numpy as np
    >>> s = ntk_fluctuations("linear", np.array([[1.0]]), C_W=1.0, C_b=0.0,
    ...                      widths=[1, 100, 100, 100, 1], lambda_W=1.0, lambda_b=0.0)
    >>> [round(float(b[0, 0, 0, 0]), 12) for b in s.B]  # Σ_{k<ℓ} k²: 0, 1, 5, 14
    [0.0, 1.0, 5.0, 14.0]
    """
    return fluctuations_and_moments(
        mlp_or_act, X, C_W=C_W, C_b=C_b, widths=widths, lambda_W=lambda_W, lambda_b=lambda_b
    )[0]


def fluctuations_and_moments(
    mlp_or_act: Any,
    X: Any,
    *,
    C_W: PerLayer | None = None,
    C_b: PerLayer | None = None,
    widths: Sequence[int] | None = None,
    lambda_W: PerLayer = 1.0,
    lambda_b: PerLayer = 1.0,
) -> tuple[NTKFluctuations, list[np.ndarray]]:
    """:func:`ntk_fluctuations` and the moments Q2 = ⟨σ'_aσ'_bσ_cσ_d⟩ of layers ℓ = 1..L − 1
    (for the dNTK recursions, which need them again)."""
    act, C_W, C_b, widths = _checked_arguments(mlp_or_act, C_W, C_b, widths)
    act = _activation(act, smooth_moments=True)
    X = input_points(X)
    w = _widths(widths, X.shape[1])
    L = len(w) - 1
    cw = _per_layer(C_W, "C_W", L)
    cb = _per_layer(C_b, "C_b", L)
    lw = _per_layer(lambda_W, "lambda_W", L)
    lb = _per_layer(lambda_b, "lambda_b", L)
    if L > 1 and L / min(w[1:-1]) > _WIDE_ENOUGH:
        warnings.warn(
            f"depth/width L/n = {L / min(w[1:-1]):.2g} (L = {L}, smallest hidden width "
            f"{min(w[1:-1])}): the 1/n expansion is not reliable there",
            RuntimeWarning,
            stacklevel=3,
        )
    P = X.shape[0]
    K = _first_kernel(X, cw[0], cb[0])
    if L > 1:
        check_positive_diagonal(K)
    Th = _first_kernel(X, lw[0], lb[0])
    zero2, zero4 = np.zeros((P, P)), np.zeros((P,) * 4)
    V, A, B, D, F = zero4, zero4, zero4, zero4, zero4
    K1, H1 = zero2, zero2
    out = {k: [v] for k, v in dict(K=K, Th=Th, K1=K1, H1=H1, V=V, A=A, B=B, D=D, F=F).items()}
    moments: list[np.ndarray] = []
    for layer in range(1, L):  # from layer ℓ = `layer` to ℓ + 1
        c, lam = cw[layer], lw[layer]
        r = w[layer] / w[layer - 1]
        with np.errstate(over="ignore", invalid="ignore"):
            Hs = _pair_matrix(act, K)
            Ts = _pair_matrix(act, K, derivative=1)
            M0, Q1, Q2, Q3 = ntk_four_moments(act, K, Hs)
            moments.append(Q2)
            M2 = Q2 - np.einsum("ab,cd->abcd", Ts, Hs)
            M3 = Q3 - np.einsum("ab,cd->abcd", Ts, Ts)
            ThTh = np.einsum("ab,cd->abcd", Th, Th)
            A_new = (
                lam**2 * M0
                + lam * c * (Th[:, :, None, None] * M2 + Th[None, None] * M2.transpose(2, 3, 0, 1))
                + c**2 * ThTh * M3
            )
            B_new = c**2 * ThTh.transpose(0, 2, 1, 3) * Q3
            D_new = c * (lam * M0 + c * Th[:, :, None, None] * M2)
            F_new = c**2 * Th[:, None, :, None] * Q1
            V_new = c**2 * M0
            K1_new, H1_new = zero2, zero2
            if layer >= 2:
                D1, D3, S = _sigma_pair_terms(act, K, V, K1)
                T1, T3, Tsrc = tangent_response(act, K, V, K1)
                f1, f3 = lam * D1 + c * Th * T1, lam * D3 + c * Th * T3
                Vf = _respond(f1, f3, V)
                Df = _respond_last(f1, f3, D)
                A_new = A_new + r * (
                    _respond_last(f1, f3, Vf)
                    + c * Ts[:, :, None, None] * Df
                    + c * Ts[None, None] * Df.transpose(2, 3, 0, 1)
                    + c**2 * np.einsum("ab,cd->abcd", Ts, Ts) * A
                )
                B_new = B_new + r * c**2 * Ts[:, :, None, None] * Ts[None, None] * B
                D_new = D_new + r * (
                    c * _respond_last(D1, D3, Vf)
                    + c**2 * Ts[:, :, None, None] * _respond_last(D1, D3, D)
                )
                E1, E3 = 2.0 * D1, D3
                Faa = np.einsum("aabb->ab", F)
                F_new = F_new + r * c**2 * (
                    np.einsum("ac,bd,ab->acbd", E1, E1, Faa)
                    + np.einsum("ac,bd,abd->acbd", E1, E3, np.einsum("aabd->abd", F))
                    + np.einsum("ac,bd,acb->acbd", E3, E1, np.einsum("acbb->acb", F))
                    + E3[:, :, None, None] * E3[None, None] * F
                )
                C_aa = np.einsum("abaa->ab", D) + 2.0 * np.einsum("aaba->ab", F)
                C_bb = np.einsum("abbb->ab", D) + 2.0 * np.einsum("abbb->ab", F)
                C_ab = np.einsum("abab->ab", D) + Faa + np.einsum("abba->ab", F)
                Xsrc = T1 * C_aa + T1.T * C_bb + T3 * C_ab
                K1_new = r * c * S
                H1_new = r * (lam * S + c * (Th * Tsrc + Ts * H1 + Xsrc))
                V_new = V_new + r * c**2 * propagate(D1, D3, V)
            Th = lb[layer] + lam * Hs + c * Ts * Th
            K = cb[layer] + c * Hs
        for name, value in (("kernel", K), ("NTK", Th), ("NTK variance", A_new)):
            _check_finite_kernel(value, layer + 1, name)
        V, A, B, D, F, K1, H1 = V_new, A_new, B_new, D_new, F_new, K1_new, H1_new
        for k, v in dict(K=K, Th=Th, K1=K1, H1=H1, V=V, A=A, B=B, D=D, F=F).items():
            out[k].append(v)
    result = NTKFluctuations(
        K=out["K"],
        Theta=out["Th"],
        K1=out["K1"],
        Theta1=out["H1"],
        V=out["V"],
        A=out["A"],
        B=out["B"],
        D=out["D"],
        F=out["F"],
        widths=w,
    )
    return result, moments
