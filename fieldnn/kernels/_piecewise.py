r"""Exact product moments of positively homogeneous piecewise-linear activations (private).

For σ(t) = s₊ t (t > 0), s₋ t (t < 0) (relu: s₋ = 0; leaky relu: s₋ = a; linear: s₋ = 1) and
z = L u, u ~ N(0, I_r), write u = ρ ω with ρ = |u| independent of ω uniform on S^{r−1}. Then

.. math:: \Big\langle \prod_{j=1}^n \sigma(z_{a_j}) \Big\rangle
          = \langle \rho^n\rangle\,
            \Big\langle \prod_j \sigma(\ell_{a_j}\cdot\omega)\Big\rangle_{S^{r-1}},
          \qquad \langle\rho^n\rangle = 2^{n/2}\,\frac{\Gamma((r+n)/2)}{\Gamma(r/2)} .

* r = 1: ω = ±1, exact.
* r = 2: ω = (cos φ, sin φ). With w = e^{iφ} and A_a = (ℓ_{a1} − i ℓ_{a2})/2,
  ℓ_a·ω = A_a w + Ā_a w^{-1}. Between consecutive switching angles (ℓ_a·ω = 0) each unit has a
  fixed slope, and the product is the Laurent polynomial Σ_{k=−n}^{n} c_k w^k (built by n
  multiplications), integrated exactly over every arc: ∫ e^{ikφ} dφ = (e^{ikφ₁} − e^{ikφ₀})/(ik).
  Exact up to rounding.
* r = 3: ω = (sin β cos φ, sin β sin φ, cos β). At fixed β, ℓ_a·ω = A_a sin β w + c.c.
  + ℓ_{a3} cos β: the φ-average is done exactly as for r = 2 (affine factors, switching angles
  φ_a ± arccos(−c_a/R_a)). The β-integral (weight sin β/2) is Gauss–Legendre on the intervals
  between the events where the φ-arc structure changes: the tangencies of the great circle
  ℓ_a·ω = 0 with the latitude circle (β = arctan(|ℓ_{a3}|/|ℓ_{a,12}|) and π minus it, where the
  switching angles appear with a square-root law) and the crossings ±ℓ_a × ℓ_b of two great
  circles (kinks). On each interval β = β₀ + (β₁ − β₀)(1 − cos πt)/2 removes the square-root
  endpoint behaviour, so the integrand is analytic in t and Gauss–Legendre converges
  geometrically. The node count per interval doubles from 8 until two successive rules agree to
  1e-13 of the absolute integral (error estimate returned).
* r ≥ 4: not implemented here (UnsupportedError); orders n ≤ 4 at any rank come from the
  Stein recursion of :mod:`fieldnn.kernels._relu_four` (also used at rank 3 when the
  covariance is nonsingular, P ≤ 3).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import gammaln

from ..errors import UnsupportedError

BETA_RTOL = 1e-13
_BETA_NODES = (8, 16, 32, 64, 128)
_CHUNK_ELEMENTS = 1 << 21


def radial_moment(n: int, r: int) -> float:
    """⟨|u|^n⟩ for u ~ N(0, I_r): 2^{n/2} Γ((r+n)/2)/Γ(r/2)."""
    return float(np.exp(0.5 * n * np.log(2.0) + gammaln(0.5 * (r + n)) - gammaln(0.5 * r)))


def _product(values: np.ndarray, multisets: np.ndarray) -> np.ndarray:
    """Π_j values[..., a_j] for every multiset row: (..., P), (U, n) → (..., U)."""
    out = np.ones((*values.shape[:-1], multisets.shape[0]))
    for j in range(multisets.shape[1]):
        out = out * values[..., multisets[:, j]]
    return out


def circle_average(
    A: np.ndarray, c: np.ndarray, multisets: np.ndarray, slopes: tuple[float, float]
) -> np.ndarray:
    r"""(1/2π)∫₀^{2π} Π_j σ(2 Re(A_{a_j} e^{iφ}) + c_{a_j}) dφ, exactly.

    Parameters
    ----------
    A : complex array (B, P)
    c : real array (B, P)
    multisets : int array (U, n)
    slopes : (s₋, s₊)

    Returns
    -------
    array (B, U)
    """
    s_neg, s_pos = slopes
    B = A.shape[0]
    U, n = multisets.shape
    R = 2.0 * np.abs(A)
    phase = -np.angle(A)  # 2 Re(A e^{iφ}) = R cos(φ − phase)
    switching = R > np.abs(c)
    half = np.arccos(np.clip(-c / np.where(switching, R, 1.0), -1.0, 1.0))
    angles = np.concatenate([phase - half, phase + half], axis=1) % (2.0 * np.pi)
    angles = np.where(np.concatenate([switching, switching], axis=1), angles, 0.0)
    edges = np.concatenate(
        [np.zeros((B, 1)), np.sort(angles, axis=1), np.full((B, 1), 2.0 * np.pi)], axis=1
    )
    start, stop = edges[:, :-1], edges[:, 1:]  # (B, arcs)
    middle = 0.5 * (start + stop)
    sign = R[:, :, None] * np.cos(middle[:, None, :] - phase[:, :, None]) + c[:, :, None]
    slope = np.where(sign > 0, s_pos, s_neg)  # (B, P, arcs)
    # Laurent coefficients of Π_j (A w + c + Ā/w), index k + n for w^k
    coef = np.zeros((B, U, 2 * n + 1), dtype=np.complex128)
    coef[:, :, n] = 1.0
    factor = np.ones((B, U, start.shape[1]))
    for j in range(n):
        a = multisets[:, j]
        Aj, cj = A[:, a][..., None], c[:, a][..., None]
        new = cj * coef
        new[..., 1:] += Aj * coef[..., :-1]
        new[..., :-1] += np.conj(Aj) * coef[..., 1:]
        coef = new
        factor = factor * slope[:, a, :]
    k = np.arange(-n, n + 1)
    safe_k = np.where(k == 0, 1, k)
    integral = (np.exp(1j * k * stop[..., None]) - np.exp(1j * k * start[..., None])) / (
        2j * np.pi * safe_k
    )
    integral[..., n] = (stop - start) / (2.0 * np.pi)
    arcs = np.einsum("buk,bak->bua", coef, integral).real
    return np.sum(factor * arcs, axis=2)


@lru_cache(maxsize=16)
def _legendre_cosine(m: int) -> tuple[np.ndarray, np.ndarray]:
    """m-point Gauss–Legendre on t ∈ [0, 1] mapped by s = (1 − cos πt)/2: (s, ds/dt · w)."""
    x, w = np.polynomial.legendre.leggauss(m)
    t = 0.5 * (x + 1.0)
    return 0.5 * (1.0 - np.cos(np.pi * t)), 0.25 * np.pi * np.sin(np.pi * t) * w


def _beta_breakpoints(L: np.ndarray) -> np.ndarray:
    rows = L[np.linalg.norm(L, axis=1) > 0]
    r12 = np.hypot(rows[:, 0], rows[:, 1])
    tangent = np.arctan2(np.abs(rows[:, 2]), r12)
    points = [np.array([0.0, np.pi]), tangent, np.pi - tangent]
    cross = np.cross(rows[:, None, :], rows[None, :, :]).reshape(-1, 3)
    norm = np.linalg.norm(cross, axis=1)
    cross = cross[norm > 1e-14 * np.max(norm, initial=0.0)]
    if cross.size:
        v3 = np.clip(cross[:, 2] / np.linalg.norm(cross, axis=1), -1.0, 1.0)
        points += [np.arccos(v3), np.arccos(-v3)]
    edges = np.unique(np.clip(np.concatenate(points), 0.0, np.pi))
    keep = np.concatenate([[True], np.diff(edges) > 1e-13])
    return edges[keep]


def _sphere_average(
    L: np.ndarray, multisets: np.ndarray, slopes: tuple[float, float], m: int
) -> np.ndarray:
    edges = _beta_breakpoints(L)
    s, ws = _legendre_cosine(m)
    width = np.diff(edges)
    beta = (edges[:-1, None] + width[:, None] * s[None, :]).ravel()
    weight = (width[:, None] * ws[None, :]).ravel() * 0.5 * np.sin(beta)
    A = 0.5 * (L[:, 0] - 1j * L[:, 1])
    U, n = multisets.shape
    per_node = max(U * (2 * n + 1) * (2 * L.shape[0] + 1), 1)
    chunk = max(1, _CHUNK_ELEMENTS // per_node)
    total = np.zeros(U)
    for lo in range(0, beta.size, chunk):
        b = beta[lo : lo + chunk]
        values = circle_average(
            np.sin(b)[:, None] * A[None, :],
            np.cos(b)[:, None] * L[None, :, 2],
            multisets,
            slopes,
        )
        total += weight[lo : lo + chunk] @ values
    return total


def piecewise_moments(
    slopes: tuple[float, float], L: np.ndarray, multisets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """⟨Π_j σ(z_{a_j})⟩ for z = L u, all multisets at once: (values (U,), error estimate (U,))."""
    U, n = multisets.shape
    r = L.shape[1]
    if r == 0 or n == 0:
        return np.full(U, 1.0 if n == 0 else 0.0), np.zeros(U)
    radial = radial_moment(n, r)
    if r == 1:
        s_neg, s_pos = slopes
        up = np.where(L[:, 0] > 0, s_pos, s_neg) * L[:, 0]
        down = np.where(L[:, 0] < 0, s_pos, s_neg) * (-L[:, 0])
        value = 0.5 * (_product(up, multisets) + _product(down, multisets))
        return radial * value, np.zeros(U)
    if r == 2:
        A = 0.5 * (L[:, 0] - 1j * L[:, 1])
        value = circle_average(A[None, :], np.zeros((1, L.shape[0])), multisets, slopes)[0]
        return radial * value, np.zeros(U)
    if r == 3:
        # |σ(t)| is the piecewise-linear function with slopes (−|s₋|, |s₊|): the error scale
        absolute = _sphere_average(L, multisets, (-abs(slopes[0]), abs(slopes[1])), 16)
        previous = _sphere_average(L, multisets, slopes, _BETA_NODES[0])
        for m in _BETA_NODES[1:]:
            value = _sphere_average(L, multisets, slopes, m)
            error = np.abs(value - previous)
            if np.all(error <= BETA_RTOL * absolute):
                break
            previous = value
        return radial * value, radial * error
    raise UnsupportedError(
        "C",
        f"exact piecewise-linear moments of order >= 5 are implemented for rank(C) <= 3 "
        f"(d_in <= 2 with bias; orders <= 4 at any rank), got rank {r} and order {n}",
    )
