r"""The deep-MLP recursions to O(1/n²) at P inputs (smooth or relu-type σ): K^{2}, V^{1}, U.

The single-input construction (:mod:`fieldnn.kernels._single_input_nnlo`) carries over to P
inputs with the scalar Ĝ replaced by the vector of its C = P(P + 1)/2 components
c = (a, b), a ≤ b (:func:`kernel_pairs`): conditionally on layer ℓ the neurons of layer ℓ + 1
are iid :math:`\mathcal N(0, \hat G^{(\ell+1)})` in R^P, :math:`\hat G^{(\ell+1)}_c = C_b +
(C_W/n_\ell)\sum_j y_{jc}`, :math:`y_{(ab)} = \sigma(z_a)\sigma(z_b)`. With the one-unit
cumulants :math:`m_1 = \mathbb E_G y` (C), :math:`m_2 = \mathrm{Cov}_G(y, y)` (C×C),
:math:`m_3 = \kappa_{3,G}(y)` (C×C×C), the law of total cumulance reads, component-wise,

.. math:: \mathbb E X_p = C_b + C_W\mathbb E m_{1p},\quad
          \mathrm{Cov}(X_p, X_q) = \tfrac{C_W^2}{n}\mathbb E m_{2pq}
          + C_W^2\,\mathrm{Cov}(m_{1p}, m_{1q}),

.. math:: \kappa(X_p, X_q, X_r) = \tfrac{C_W^3}{n^2}\mathbb E m_{3pqr}
          + \tfrac{C_W^3}{n}\big[\mathrm{Cov}(m_{1p}, m_{2qr}) + 2\text{ perms}\big]
          + C_W^3\,\kappa(m_{1p}, m_{1q}, m_{1r}),

and the Taylor terms are those of the single input with the derivatives of m₁ (to fourth order)
and m₂ (to second) with respect to the kernel components as tensors (``docs/eft.md``,
section 6a). The derivatives are Gaussian expectations with multivariate Hermite weights:
:math:`\partial/\partial K_{aa} = \tfrac12\partial_a^2`, :math:`\partial/\partial K_{ab} =
\partial_a\partial_b` (a ≠ b) on the density, and :math:`\partial^\alpha\phi_K =
H_\alpha(z; K)\phi_K` for even :math:`|\alpha|`, with :math:`H_{\alpha+e_i} = w_iH_\alpha -
\sum_j (K^{-1})_{ij}\alpha_jH_{\alpha-e_j}`, :math:`w = K^{-1}z`. A derivative of order k of m₁
is E[y_p H_α] with |α| = 2k, so one table of E[y_p H_α] (|α| ≤ 8 even), E[y_py_q H_α]
(|α| ≤ 4 even) and E[y_py_qy_r] holds every one-unit term; the tensors are read from it.
E[y_(ab) H_α] vanishes unless α lives on {a, b} and is then the integral over the 2×2 block of
(a, b), so at P ≥ 3 the m₁ part is assembled from the pairs and only m₂ and m₃ need rank P.

Smooth σ: the lattice trapezoid rule in the whitened variables (rank ≤ 3), the nested
anisotropic trapezoid rule of :mod:`fieldnn.kernels._moment_lattice` at rank 4 (aliasing error
measured per axis). Relu, leaky relu and linear σ (positively homogeneous, kinks on the
hyperplanes z_a = 0): the conical rule of :mod:`fieldnn.kernels._conical`, exact in the radius.
Derivatives need K⁻¹: a (nearly) singular kernel, smallest eigenvalue of the correlation matrix
below 1 − :data:`MAX_CORRELATION`, is refused wherever the previous layer fluctuates. The first
hidden layer's kernel is deterministic (no derivative is needed there), so inputs spanning fewer
than P dimensions are accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import input_points
from ..errors import ArgumentError, UnsupportedError
from ._multi_input_units import _unit_terms, _UnitTerms, kernel_pairs
from ._quadrature import rank_factor
from .activations import Activation, get_activation
from .deep import _per_layer, _widths, kernel_recursion

__all__ = ["MultiInputCumulants", "kernel_pairs", "multi_input_cumulants"]

#: largest |correlation| at two inputs; at P inputs the smallest eigenvalue of the correlation
#: matrix must be >= 1 − MAX_CORRELATION (K⁻¹ enters the Hermite weights of order 8)
MAX_CORRELATION = 0.99
#: inputs at which a layer's fluctuations can be propagated: smooth σ on the lattice rules (rank
#: 3: ~3·10⁶ points; rank 4: the anisotropic rule of :mod:`._moment_lattice`, ≤ 4·10⁶ points),
#: relu-type σ on the conical rule (2^P cones, ~2·10⁶ nodes at P = 4)
MAX_INPUTS = {"lattice": 4, "conical": 4}


def _sym3(t: np.ndarray) -> np.ndarray:
    """t_pqr + t_qpr + t_rqp: the sum over the three positions of the distinguished index."""
    return t + np.transpose(t, (1, 0, 2)) + np.transpose(t, (2, 1, 0))


def _step(m: _UnitTerms, cw: float, cb: float, a1, a2, V, V1, U):
    """One layer of (K, K1, K2, V, V1, U) on the components, inputs in units of 1/n_ℓ."""
    d1, d2, d3, d4 = m.d1, m.d2, m.d3, m.d4
    E2 = V1 + np.outer(a1, a1)  # 1/n² part of E δδ (1/n part: V)
    E3 = (
        U
        + np.einsum("ij,k->ijk", V, a1)
        + np.einsum("ik,j->ijk", V, a1)
        + np.einsum("jk,i->ijk", V, a1)
    )
    E4 = (
        np.einsum("ij,kl->ijkl", V, V)
        + np.einsum("ik,jl->ijkl", V, V)
        + np.einsum("il,jk->ijkl", V, V)
    )
    K = cb + cw * m.m1
    K1 = cw * (d1 @ a1 + 0.5 * np.einsum("pij,ij->p", d2, V))
    K2 = cw * (
        d1 @ a2
        + 0.5 * np.einsum("pij,ij->p", d2, E2)
        + np.einsum("pijk,ijk->p", d3, E3) / 6.0
        + np.einsum("pijkl,ijkl->p", d4, E4) / 24.0
    )
    Vn = cw**2 * (m.m2 + d1 @ V @ d1.T)
    # Cov(δ_i, δ_jδ_k) at 1/n²
    C12 = U + np.einsum("j,ik->ijk", a1, V) + np.einsum("k,ij->ijk", a1, V)
    C22 = np.einsum("ik,jl->ijkl", V, V) + np.einsum("il,jk->ijkl", V, V)
    C13 = E4  # Cov(δ_i, δ_jδ_kδ_l) at leading order
    cov = (
        d1 @ V1 @ d1.T
        + 0.5 * np.einsum("pi,qjk,ijk->pq", d1, d2, C12)
        + 0.5 * np.einsum("qi,pjk,ijk->pq", d1, d2, C12)
        + 0.25 * np.einsum("pij,qkl,ijkl->pq", d2, d2, C22)
        + np.einsum("pi,qjkl,ijkl->pq", d1, d3, C13) / 6.0
        + np.einsum("qi,pjkl,ijkl->pq", d1, d3, C13) / 6.0
    )
    Em2 = np.einsum("pqi,i->pq", m.e1, a1) + 0.5 * np.einsum("pqij,ij->pq", m.e2, V)
    V1n = cw**2 * (Em2 + cov)
    # κ(m1_p, m1_q, m1_r) at 1/n²: f'f'f' U + ½ f'f' f'' κ(δ, δ, δδ) over the 3 positions
    kappa = np.einsum("pi,qj,rk,ijk->pqr", d1, d1, d1, U) + 0.5 * _sym3(
        np.einsum("pkl,qi,rj,ijkl->pqr", d2, d1, d1, C22)
    )
    # Cov(m1_p, m2_qr) at 1/n, summed over the three positions of p
    cross = _sym3(np.einsum("pi,qrj,ij->pqr", d1, m.e1, V))
    Un = cw**3 * (m.m3 + cross + kappa)
    return K, K1, K2, Vn, V1n, Un


@dataclass(frozen=True)
class MultiInputCumulants:
    r"""Per-layer 1/n expansion of the first three joint cumulants of :math:`\hat G^{(\ell)}`
    at P inputs, on the components c = (a, b), a <= b (:func:`kernel_pairs`); units of
    :math:`1/n_{\ell-1}` as in :class:`~fieldnn.kernels.SingleInputCumulants`.

    Attributes
    ----------
    K, K1, K2 : ndarray (L, C)
        :math:`\mathbb E\hat G_c = K_c + K^{\{1\}}_c/n + K^{\{2\}}_c/n^2`.
    V, V1 : ndarray (L, C, C)
        :math:`\mathrm{Cov}(\hat G_p, \hat G_q) = V_{pq}/n + V^{\{1\}}_{pq}/n^2`.
    U : ndarray (L, C, C, C)
        :math:`\kappa(\hat G_p, \hat G_q, \hat G_r) = U_{pqr}/n^2`.
    widths : tuple of int
    n_inputs : int
        P; C = P(P + 1)/2.
    """

    K: np.ndarray
    K1: np.ndarray
    K2: np.ndarray
    V: np.ndarray
    V1: np.ndarray
    U: np.ndarray
    widths: tuple[int, ...]
    n_inputs: int

    @property
    def pairs(self) -> tuple[tuple[int, int], ...]:
        """The components (a, b), a <= b, in the order of the component axes."""
        return kernel_pairs(self.n_inputs)

    def matrix(self, v: np.ndarray) -> np.ndarray:
        """A component vector (…, C) as the symmetric (…, P, P) matrix."""
        P = self.n_inputs
        out = np.empty((*v.shape[:-1], P, P))
        for c, (a, b) in enumerate(self.pairs):
            out[..., a, b] = out[..., b, a] = v[..., c]
        return out

    def tensor(self, t: np.ndarray) -> np.ndarray:
        """Components (C,)*k as the input tensor (P,)*2k (index pairs (a_1b_1)…(a_kb_k))."""
        P = self.n_inputs
        where = np.empty((P, P), dtype=np.intp)
        for c, (a, b) in enumerate(self.pairs):
            where[a, b] = where[b, a] = c
        k = t.ndim
        grids = np.indices((P,) * (2 * k))
        comps = tuple(where[grids[2 * i], grids[2 * i + 1]] for i in range(k))
        return t[comps]


def _check_full_rank(K: np.ndarray, layer: int) -> None:
    d = np.sqrt(np.diag(K))
    if np.any(d <= 0.0) or not np.all(np.isfinite(K)):
        raise UnsupportedError(
            "X", f"the kernel of layer {layer} has a zero or non-finite variance: {np.diag(K)}"
        )
    corr = K / np.outer(d, d)
    smallest = float(np.linalg.eigvalsh(corr)[0])
    if smallest < 1.0 - MAX_CORRELATION:
        if K.shape[0] == 2:
            detail = f"the two inputs have correlation {corr[0, 1]:.6g}"
        else:
            detail = f"the correlation matrix has smallest eigenvalue {smallest:.3g}"
        raise UnsupportedError(
            "X",
            f"at layer {layer} {detail}; the O(1/n²) recursion needs |ρ| <= {MAX_CORRELATION} "
            f"(smallest eigenvalue >= {1.0 - MAX_CORRELATION:.2g}): it divides by the kernel's "
            "determinant",
        )


def multi_input_cumulants(
    activation: str | Callable | Activation,
    X: Any,
    *,
    C_W: float | Sequence[float],
    C_b: float | Sequence[float],
    widths: Sequence[int],
) -> MultiInputCumulants:
    r"""K, K^{1}, K^{2}, V, V^{1} and U of a deep MLP at P inputs, to O(1/n²).

    Per layer ℓ, on the kernel components c = (a, b), a <= b:
    :math:`\mathbb E\hat G^{(\ell)}_c = K_c + K^{\{1\}}_c/n + K^{\{2\}}_c/n^2`,
    :math:`\mathrm{Cov}(\hat G_p, \hat G_q) = V_{pq}/n + V^{\{1\}}_{pq}/n^2`,
    :math:`\kappa(\hat G_p, \hat G_q, \hat G_r) = U_{pqr}/n^2`, n = n_{ℓ−1} (RYH arXiv:2106.10165
    sec. 4.5–4.6, eqs. (4.101)–(4.107) at one input; here at P inputs by the law of total
    cumulance, module docstring and ``docs/eft.md`` section 6a).

    Parameters
    ----------
    activation : str, callable or Activation
        Smooth σ (lattice rule) or relu, leaky relu, linear (conical rule).
    X : array (P, d_in)
        The inputs: P <= 4 (:data:`MAX_INPUTS`; any P with one hidden layer, where nothing
        fluctuates before the last step). Wherever a
        layer's fluctuations enter the next one (layers 2 … L − 1), the kernel's correlation
        matrix must have smallest eigenvalue >= 0.01 (correlation <= 0.99 in modulus at P = 2).
        Relu-type σ: the first layer's kernel has rank <= 3 or P (the inputs with the bias span
        at most three dimensions, or P).
    C_W, C_b : float or sequence (one per layer)
    widths : sequence of int
        [d_in, n_1, …, n_{L−1}, d_out].

    Returns
    -------
    MultiInputCumulants
    """
    act = get_activation(activation)
    if act.normalised:
        raise UnsupportedError(
            "activation",
            f"the multi-input O(1/n²) recursion needs an ordinary σ (smooth, or relu, leaky "
            f"relu, linear), got the normalised {act.name!r}",
        )
    X = input_points(X)
    P = X.shape[0]
    w = _widths(widths, X.shape[1])
    L = len(w) - 1
    cw = _per_layer(C_W, "C_W", L)
    cb = _per_layer(C_b, "C_b", L)
    if np.any(cw <= 0.0):
        raise ArgumentError("C_W", f"must be > 0 in every layer, got {cw.tolist()}")
    rule = "conical" if act.piecewise_linear_slopes is not None else "lattice"
    if L > 2 and P > MAX_INPUTS[rule]:
        kind = "smooth σ" if rule == "lattice" else f"{act.name!r}"
        raise UnsupportedError(
            "X",
            f"the O(1/n²) recursion through {L - 1} hidden layers is built for {kind} at most "
            f"{MAX_INPUTS[rule]} inputs (Gaussian expectations of rank P with Hermite weights of "
            f"order 8), got {P}; use fewer inputs, or one hidden layer",
        )
    pairs = kernel_pairs(P)
    C = len(pairs)
    first = cb[0] + cw[0] * (X @ X.T) / X.shape[1]
    rank = rank_factor(first).shape[1]
    if rule == "conical" and L > 1 and 3 < rank < P:
        raise UnsupportedError(
            "X",
            f"the {P} inputs with the bias span {rank} dimensions; the exact rule for "
            f"{act.name!r} needs at most 3 or all {P} (its kink hyperplanes must cut cells it can "
            "triangulate): add or remove input dimensions, or use fewer inputs",
        )
    K = np.zeros((L, C))
    K1, K2 = np.zeros((L, C)), np.zeros((L, C))
    V, V1 = np.zeros((L, C, C)), np.zeros((L, C, C))
    U = np.zeros((L, C, C, C))
    K[0] = [first[a, b] for a, b in pairs]
    shell = MultiInputCumulants(K, K1, K2, V, V1, U, w, P)
    if L > 2:  # every kernel that enters with derivatives, checked before the long loop
        for layer, Kl in enumerate(
            kernel_recursion(act, X, C_W=list(cw[:-1]), C_b=list(cb[:-1]), depth=L - 1), start=1
        ):
            if layer > 1:
                _check_full_rank(Kl, layer)
    for layer in range(1, L):
        m = _unit_terms(act, shell.matrix(K[layer - 1]), derivatives=layer > 1)
        r = w[layer] / w[layer - 1]
        i = layer - 1
        values = _step(
            m, cw[layer], cb[layer], r * K1[i], r * r * K2[i], r * V[i], r * r * V1[i], r * r * U[i]
        )
        K[layer], K1[layer], K2[layer], V[layer], V1[layer], U[layer] = values
    return shell
