r"""The deep-MLP recursions to O(1/n²) at two inputs (smooth or relu-type σ): K^{2}, V^{1}, U.

The single-input construction (:mod:`fieldnn.kernels._single_input_nnlo`) carries over to P = 2
inputs with the scalar Ĝ replaced by the vector of its three components c ∈ {(0,0), (0,1),
(1,1)}: conditionally on layer ℓ the neurons of layer ℓ + 1 are iid
:math:`\mathcal N(0, \hat G^{(\ell+1)})` in R², :math:`\hat G^{(\ell+1)}_c = C_b +
(C_W/n_\ell)\sum_j y_{jc}`, :math:`y_{(ab)} = \sigma(z_a)\sigma(z_b)`. With the one-unit
cumulants :math:`m_1 = \mathbb E_G y` (3), :math:`m_2 = \mathrm{Cov}_G(y, y)` (3×3),
:math:`m_3 = \kappa_{3,G}(y)` (3×3×3), the law of total cumulance reads, component-wise,

.. math:: \mathbb E X_p = C_b + C_W\mathbb E m_{1p},\quad
          \mathrm{Cov}(X_p, X_q) = \tfrac{C_W^2}{n}\mathbb E m_{2pq}
          + C_W^2\,\mathrm{Cov}(m_{1p}, m_{1q}),

.. math:: \kappa(X_p, X_q, X_r) = \tfrac{C_W^3}{n^2}\mathbb E m_{3pqr}
          + \tfrac{C_W^3}{n}\big[\mathrm{Cov}(m_{1p}, m_{2qr}) + 2\text{ perms}\big]
          + C_W^3\,\kappa(m_{1p}, m_{1q}, m_{1r}),

and the Taylor terms are those of the single input with the derivatives of m₁ (to fourth order)
and m₂ (to second) with respect to the three kernel components as tensors (``docs/eft.md``,
section 6a). The derivatives are Gaussian expectations with multivariate Hermite weights:
:math:`\partial/\partial K_{aa} = \tfrac12\partial_a^2`, :math:`\partial/\partial K_{ab} =
\partial_a\partial_b` (a ≠ b) on the density, and :math:`\partial^\alpha\phi_K =
H_\alpha(z; K)\phi_K` for even :math:`|\alpha|`, with :math:`H_{\alpha+e_i} = w_iH_\alpha -
\sum_j (K^{-1})_{ij}\alpha_jH_{\alpha-e_j}`, :math:`w = K^{-1}z`; all on one lattice trapezoid
rule in the whitened variables (rank 2). A (nearly) degenerate pair of inputs has no K⁻¹ and
is refused.

Relu, leaky relu and linear σ (positively homogeneous, kinks on the lines z_a = 0): the same
integrands are evaluated on a polar rule instead (:func:`_polar_rule`; exact in r). In whitened
coordinates z = Lu, u = r(cos φ, sin φ), every integrand is on each wedge between the kink rays a
polynomial in u with only even degrees ≤ 10 (σ(z_a)σ(z_b) has degree 2, H_α parity (−1)^{|α|},
|α| even), so the Gaussian integral factorises into
:math:`\int_0^\infty r^{k+1}e^{-r^2/2}dr = \int_0^\infty (2t)^{k/2}e^{-t}dt` (Gauss–Laguerre
in t = r²/2, exact for these k) times a trigonometric polynomial of degree ≤ k integrated over
each wedge (Gauss–Legendre with the wedge ends at the kink angles, 32 nodes per wedge; 48 or 64
change the relu one-unit terms by ≤ 5e-14). Relative accuracy of the fourth derivatives against
their closed forms: ~1e-14 at ρ = 0, 1.4e-11 at |ρ| = MAX_CORRELATION (docs/eft.md, 6a).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import input_points
from ..errors import ArgumentError, UnsupportedError
from ._quadrature import adaptive_trapezoid
from .activations import Activation, get_activation
from .deep import _per_layer, _widths
from .gaussian import _warn_unconverged

__all__ = ["TwoInputCumulants", "two_input_cumulants"]

#: the kernel components (a, b), a <= b, in this order
PAIRS = ((0, 0), (0, 1), (1, 1))
_RTOL = 1e-12
#: largest |correlation| accepted (K⁻¹ enters the Hermite weights of order 8)
MAX_CORRELATION = 0.99
#: polar rule: Gauss–Laguerre nodes in t = r²/2 (exact for r^k, k even <= 4·nodes − 2) and
#: Gauss–Legendre nodes per wedge between kink rays
POLAR_RADIAL_NODES = 6
POLAR_ANGULAR_NODES = 32


def _polar_rule(L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z (m, 2) and weights (m,) with Σ w f(z) = E f(Lu), u ~ N(0, I₂), exactly for f a
    polynomial in u with even degrees <= 4·POLAR_RADIAL_NODES − 2 on each wedge between the rays
    where (Lu)_0 = 0 or (Lu)_1 = 0; the φ rule (Gauss–Legendre per wedge) is not exact for the
    trigonometric polynomials but converges spectrally (degree 18, σ = z³: equal to the lattice
    rule to 1e-12 of the largest term)."""
    t, wt = np.polynomial.laguerre.laggauss(POLAR_RADIAL_NODES)
    r = np.sqrt(2.0 * t)
    # rays (Lu)_a = 0: u ∝ ±(−L_a1, L_a0)
    kinks = np.arctan2(L[:, 0], -L[:, 1]) % np.pi
    edges = np.sort(np.concatenate([kinks, kinks + np.pi]))
    edges = np.append(edges, edges[0] + 2.0 * np.pi)
    x, wx = np.polynomial.legendre.leggauss(POLAR_ANGULAR_NODES)
    phis, wphis = [], []
    for lo, hi in itertools.pairwise(edges):
        if hi - lo <= 0.0:
            continue
        phis.append(0.5 * (hi - lo) * x + 0.5 * (hi + lo))
        wphis.append(0.5 * (hi - lo) * wx)
    phi = np.concatenate(phis)
    wphi = np.concatenate(wphis) / (2.0 * np.pi)
    u = (r[:, None, None] * np.stack([np.cos(phi), np.sin(phi)], -1)[None]).reshape(-1, 2)
    weight = (wt[:, None] * wphi[None]).reshape(-1)
    return u @ L.T, weight


def _multisets(k: int) -> list[tuple[int, ...]]:
    return list(itertools.combinations_with_replacement(range(3), k))


def _hermite_all(w: np.ndarray, Kinv: np.ndarray, order: int) -> dict[tuple[int, int], np.ndarray]:
    """H_α(z; K), |α| <= order, on nodes with w = K⁻¹z (m, 2)."""
    H = {(0, 0): np.ones(w.shape[0])}
    for total in range(1, order + 1):
        for a0 in range(total + 1):
            alpha = (a0, total - a0)
            i = 0 if a0 > 0 else 1  # H_alpha = H_{beta + e_i}
            beta = list(alpha)
            beta[i] -= 1
            value = w[:, i] * H[tuple(beta)]
            for j in range(2):
                if beta[j] > 0:
                    lower = list(beta)
                    lower[j] -= 1
                    value = value - Kinv[i, j] * beta[j] * H[tuple(lower)]
            H[alpha] = value
    return H


def _operator(components: tuple[int, ...]) -> tuple[tuple[int, int], float]:
    """∂/∂K_{c1} … ∂/∂K_{ck} as (α, coefficient): K_aa → ½∂_a², K_01 → ∂_0∂_1."""
    alpha = [0, 0]
    coefficient = 1.0
    for c in components:
        a, b = PAIRS[c]
        alpha[a] += 1
        alpha[b] += 1
        if a == b:
            coefficient *= 0.5
    return (alpha[0], alpha[1]), coefficient


@dataclass(frozen=True)
class _UnitTerms:
    """m₁ and its derivatives d1..d4 (3, 3[, 3, 3, 3]); m₂ (3, 3) and derivatives e1, e2;
    m₃ (3, 3, 3)."""

    m1: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    d3: np.ndarray
    d4: np.ndarray
    m2: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    m3: np.ndarray


def _symmetric_fill(shape_k: int, values: dict[tuple[int, ...], np.ndarray], lead: tuple[int, ...]):
    """Tensor (*lead, 3, …, 3) (k derivative axes) from its values on sorted multisets."""
    out = np.zeros((*lead, *((3,) * shape_k)))
    for idx in itertools.product(range(3), repeat=shape_k):
        out[(..., *idx)] = values[tuple(sorted(idx))]
    return out


def _unit_terms(act: Activation, K: np.ndarray, *, polar: bool | None = None) -> _UnitTerms:
    """One-unit cumulants of y = (σ₀², σ₀σ₁, σ₁²) at the 2×2 kernel K, and their derivatives.

    ``polar``: the polar rule (default for relu-type σ) instead of the lattice rule."""
    if polar is None:
        polar = act.piecewise_linear_slopes is not None
    Kinv = np.linalg.inv(K)
    lam, vec = np.linalg.eigh(K)
    Lfac = vec * np.sqrt(lam)
    specs: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    for k in range(5):  # raw E[y_p] and derivatives up to 4
        for p in range(3):
            for ms in _multisets(k):
                specs.append(("1", (p,), ms))
    pairs2 = list(itertools.combinations_with_replacement(range(3), 2))
    for k in range(3):
        for pq in pairs2:
            for ms in _multisets(k):
                specs.append(("2", pq, ms))
    for pqr in itertools.combinations_with_replacement(range(3), 3):
        specs.append(("3", pqr, ()))
    ops = [_operator(ms) for _, _, ms in specs]

    def partial(z: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = np.asarray(act(z), dtype=np.float64)
        y = [s[:, a] * s[:, b] for a, b in PAIRS]
        H = _hermite_all(z @ Kinv, Kinv, 8)
        F = np.empty((len(specs), z.shape[0]))
        for row, ((_, idx, _), (alpha, coefficient)) in enumerate(zip(specs, ops, strict=True)):
            base = y[idx[0]]
            for extra in idx[1:]:
                base = base * y[extra]
            F[row] = coefficient * base * H[alpha]
        return F @ weight, np.abs(F) @ weight

    if polar:
        value, _ = partial(*_polar_rule(Lfac))
    else:
        value, error, magnitude = adaptive_trapezoid(partial, Lfac, rtol=_RTOL)
    if not np.all(np.isfinite(value)):
        raise ArgumentError("activation", f"σ of {act.name!r} is not finite on the Gaussian")
    if not polar:
        _warn_unconverged(act, error, magnitude)
    table = {(kind, idx, ms): v for (kind, idx, ms), v in zip(specs, value, strict=True)}

    def raw1(k: int) -> np.ndarray:
        vals = {ms: np.array([table[("1", (p,), ms)] for p in range(3)]) for ms in _multisets(k)}
        return _symmetric_fill(k, vals, (3,)) if k else vals[()]

    M1 = [raw1(k) for k in range(5)]

    def raw2(k: int) -> np.ndarray:
        out = np.zeros((3, 3, *((3,) * k)))
        for p, q in itertools.product(range(3), repeat=2):
            vals = {ms: table[("2", tuple(sorted((p, q))), ms)] for ms in _multisets(k)}
            out[p, q] = _symmetric_fill(k, vals, ()) if k else vals[()]
        return out

    M2 = [raw2(k) for k in range(3)]
    M3 = np.zeros((3, 3, 3))
    for idx in itertools.product(range(3), repeat=3):
        M3[idx] = table[("3", tuple(sorted(idx)), ())]
    m1, d1 = M1[0], M1[1]
    m2 = M2[0] - np.outer(m1, m1)
    # derivatives of m1_p m1_q: product rule
    e1 = M2[1] - (np.einsum("pi,q->pqi", d1, m1) + np.einsum("p,qi->pqi", m1, d1))
    e2 = M2[2] - (
        np.einsum("pij,q->pqij", M1[2], m1)
        + np.einsum("pi,qj->pqij", d1, d1)
        + np.einsum("pj,qi->pqij", d1, d1)
        + np.einsum("p,qij->pqij", m1, M1[2])
    )
    m3 = (
        M3
        - np.einsum("pq,r->pqr", M2[0], m1)
        - np.einsum("pr,q->pqr", M2[0], m1)
        - np.einsum("qr,p->pqr", M2[0], m1)
        + 2.0 * np.einsum("p,q,r->pqr", m1, m1, m1)
    )
    return _UnitTerms(m1, d1, M1[2], M1[3], M1[4], m2, e1, e2, m3)


def _sym3(t: np.ndarray) -> np.ndarray:
    """t_pqr + t_qpr + t_rqp... : the sum over the three positions of the distinguished index."""
    return t + np.transpose(t, (1, 0, 2)) + np.transpose(t, (2, 1, 0))


def _step(m: _UnitTerms, cw: float, cb: float, a1, a2, V, V1, U):
    """One layer of (K, K1, K2, V, V1, U) on the three components, inputs in units of 1/n_ℓ."""
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
class TwoInputCumulants:
    r"""Per-layer 1/n expansion of the first three joint cumulants of :math:`\hat G^{(\ell)}`
    at two inputs, on the components (0,0), (0,1), (1,1) (:data:`PAIRS`); units of
    :math:`1/n_{\ell-1}` as in :class:`~fieldnn.kernels.SingleInputCumulants`.

    Attributes
    ----------
    K, K1, K2 : ndarray (L, 3)
    V, V1 : ndarray (L, 3, 3)
        :math:`\mathrm{Cov}(\hat G_p, \hat G_q) = V_{pq}/n + V^{\{1\}}_{pq}/n^2`.
    U : ndarray (L, 3, 3, 3)
        :math:`\kappa(\hat G_p, \hat G_q, \hat G_r) = U_{pqr}/n^2`.
    widths : tuple of int
    """

    K: np.ndarray
    K1: np.ndarray
    K2: np.ndarray
    V: np.ndarray
    V1: np.ndarray
    U: np.ndarray
    widths: tuple[int, ...]

    @staticmethod
    def matrix(v: np.ndarray) -> np.ndarray:
        """A component vector (…, 3) as the symmetric (…, 2, 2) matrix."""
        out = np.empty((*v.shape[:-1], 2, 2))
        out[..., 0, 0], out[..., 1, 1] = v[..., 0], v[..., 2]
        out[..., 0, 1] = out[..., 1, 0] = v[..., 1]
        return out

    @staticmethod
    def tensor(t: np.ndarray) -> np.ndarray:
        """Components (3,)*k as the input tensor (2,)*2k (index pairs (a_1b_1)…(a_kb_k))."""
        k = t.ndim
        out = np.empty((2,) * (2 * k))
        for idx in itertools.product(range(2), repeat=2 * k):
            comp = tuple(PAIRS.index(tuple(sorted(idx[2 * i : 2 * i + 2]))) for i in range(k))
            out[idx] = t[comp]
        return out


def two_input_cumulants(
    activation: str | Callable | Activation,
    X: Any,
    *,
    C_W: float | Sequence[float],
    C_b: float | Sequence[float],
    widths: Sequence[int],
) -> TwoInputCumulants:
    r"""K, K^{1}, K^{2}, V, V^{1} and U of a deep MLP at two inputs, smooth or relu-type σ
    (private).

    See the module docstring; X is (2, d_in) with correlation ``|ρ|`` <= 0.99 at every layer.
    Smooth σ: lattice rule; relu, leaky relu, linear: the polar rule.
    """
    act = get_activation(activation)
    if act.normalised:
        raise UnsupportedError(
            "activation",
            f"the two-input O(1/n²) recursion needs an ordinary σ (smooth, or relu, leaky relu, "
            f"linear), got the normalised {act.name!r}",
        )
    X = input_points(X)
    if X.shape[0] != 2:
        raise ArgumentError("X", f"must hold exactly two inputs, got {X.shape[0]}")
    w = _widths(widths, X.shape[1])
    L = len(w) - 1
    cw = _per_layer(C_W, "C_W", L)
    cb = _per_layer(C_b, "C_b", L)
    if np.any(cw <= 0.0):
        raise ArgumentError("C_W", f"must be > 0 in every layer, got {cw.tolist()}")
    K = np.zeros((L, 3))
    K1, K2 = np.zeros((L, 3)), np.zeros((L, 3))
    V, V1 = np.zeros((L, 3, 3)), np.zeros((L, 3, 3))
    U = np.zeros((L, 3, 3, 3))
    first = cb[0] + cw[0] * (X @ X.T) / X.shape[1]
    K[0] = [first[0, 0], first[0, 1], first[1, 1]]
    for layer in range(1, L):
        Km = TwoInputCumulants.matrix(K[layer - 1])
        rho = Km[0, 1] / np.sqrt(Km[0, 0] * Km[1, 1])
        if not np.isfinite(rho) or abs(rho) > MAX_CORRELATION:
            raise UnsupportedError(
                "X",
                f"the two inputs have correlation {rho:.6g} at layer {layer}; the O(1/n²) "
                f"recursion needs |ρ| <= {MAX_CORRELATION} (it divides by the kernel's "
                "determinant)",
            )
        m = _unit_terms(act, Km)
        r = w[layer] / w[layer - 1]
        i = layer - 1
        values = _step(
            m, cw[layer], cb[layer], r * K1[i], r * r * K2[i], r * V[i], r * r * V1[i], r * r * U[i]
        )
        K[layer], K1[layer], K2[layer], V[layer], V1[layer], U[layer] = values
    return TwoInputCumulants(K, K1, K2, V, V1, U, w)
