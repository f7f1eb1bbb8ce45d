r"""Closed-form Gaussian pair expectations of GELU, σ(z) = z Φ(z).

For z ~ N(0, [[k11, k12], [k12, k22]]), with A = 1 + k11, B = 1 + k22,
D = AB − k12² (≥ 1 + k11 + k22 > 0: no singularity, ρ → ±1 included) and
ρ = k12/√(AB):

.. math:: \langle\sigma(z_1)\sigma(z_2)\rangle = \frac{k_{12}}{4}
          + \frac{k_{12}\arcsin\rho}{2\pi}
          + \frac{\det K + k_{12}^2\,(1/A + 1/B)}{2\pi\sqrt D},

.. math:: \langle\sigma'(z_1)\sigma'(z_2)\rangle = \frac14 + \frac{\arcsin\rho}{2\pi}
          + \frac{k_{12}\,M}{2\pi D^{3/2}}, \qquad
          M = 3 + \frac{k_{11} + \det K}{B} + \frac{k_{22} + \det K}{A},

det K = k11 k22 − k12² ≥ 0 (every numerator a sum of non-negative terms, no cancellation
as ρ → ±1).

Derivation (docs/numerics.md, "GELU"): Φ(z) = P(ξ ≤ z) with ξ ~ N(0, 1) independent, so
⟨σσ⟩ = E[z1 z2 1{a > 0} 1{b > 0}] with a = z1 − ξ1, b = z2 − ξ2 (Var a = A, Var b = B,
Cov(a, b) = k12). Gaussian integration by parts in z1,
E[z1 h] = Σ_w Cov(z1, w) E[∂_w h] with h = z2 1{a>0} 1{b>0}, gives
k12 P(a > 0, b > 0) + k11 E[z2 δ(a) 1{b>0}] + k12 E[z2 1{a>0} δ(b)]; the orthant probability
is 1/4 + arcsin(ρ)/(2π) and each δ term is a density at 0 times E[z2 1{b>0} | a = 0] =
Cov(z2, b | a)/√(2π Var(b | a)). The derivative pair is ∂/∂k12 of the first line (Price's
theorem), differentiated and simplified with sympy (the tests repeat both identities
symbolically and compare both forms with fieldnn's 2-d quadrature: ≤ 2.1e-14 relative for
variances 0 … 10 and ρ = −1 … 1). neural-tangents' ``stax.Gelu`` has an equivalent form.

All variances are divided by m = max(A, B) before products are formed (no overflow at any
finite variance), and D is formed as 1 + k11 + k22 + det K (the difference AB − k12² alone
loses the 1 + k11 + k22 at large variances and ρ → ±1). For k12 → −√(k11 k22) with
k11, k22 ≫ 1 the terms of ⟨σσ⟩ cancel (the value is O(k^{-1/2}) at ρ = −1, the terms
O(k^{1/2})): where they exceed 100 × the value, ⟨σσ⟩ is instead a 1-d integral over z1 of
z1 Φ(z1) E[z2 Φ(z2) | z1] (the inner expectation in closed form) on a fixed window of
Gauss–Legendre panels (:func:`_conditioned`).

References
----------
D. Hendrycks and K. Gimpel, "Gaussian error linear units (GELUs)", arXiv:1606.08415 (σ);
R. Price, IRE Trans. Inf. Theory 4 (1958) 69 (Price's theorem); R. Novak et al.,
"Neural Tangents", arXiv:1912.02803 (``stax.Gelu``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gelu_derivative_pair", "gelu_pair"]

_TWO_PI = 2.0 * np.pi


def _parts(
    k11: np.ndarray, k22: np.ndarray, k12: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """m, arccos(−ρ)/(2π) = 1/4 + arcsin(ρ)/(2π), √D/m, N/m² and M/m (broadcast) for the two
    closed forms. For ρ < 0, arccos(−ρ) = 2 arcsin √((1 + ρ)/2) with
    1 + ρ = D/(√(AB)(√(AB) + ``|k12|``)): accurate to the last digits as ρ → −1, where
    1/4 + arcsin(ρ)/(2π) → 0 would cancel."""
    A, B = 1.0 + k11, 1.0 + k22
    m = np.maximum(A, B)
    a, b, c = A / m, B / m, k12 / m
    root_ab = np.sqrt(a * b)
    e, p, q = 1.0 / m, k11 / m, k22 / m
    det = np.maximum(p * q - c * c, 0.0)  # det K/m²
    # D/m² = (1 + k11 + k22)/m² + det K/m²: the difference AB − k12² alone cancels
    root_d = np.sqrt(e * e + (p + q) * e + det)
    angle = 0.25 + np.arcsin(np.clip(c / root_ab, -1.0, 1.0)) / _TWO_PI
    one_plus = root_d * root_d / (root_ab * (root_ab + np.abs(c)))
    near = 2.0 * np.arcsin(np.sqrt(0.5 * np.minimum(one_plus, 2.0))) / _TWO_PI
    angle = np.where(c < 0, near, angle)
    n = det + c * c * (1.0 / A + 1.0 / B)
    big_m = 3.0 * e + (p + m * det) / b * e + (q + m * det) / a * e
    return m, angle, root_d, n, big_m


_CANCELLATION = 100.0
"""Above this ratio of the terms' magnitude to ⟨σσ⟩ (anti-correlated inputs at large variance)
the pair is computed by :func:`_conditioned` instead (the closed form would lose more than
two of its sixteen digits)."""

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(20)


def _conditioned(k11: float, k22: float, k12: float) -> float:
    """⟨gelu(z1) gelu(z2)⟩ for k12 < 0 as a 1-d integral over z1 of z1 Φ(z1) h(z1), where
    h(z1) = E[z2 Φ(z2) | z1] = μΦ(μ/s) + (v/s)φ(μ/s) (z2 | z1 ~ N(μ, v), μ = −β z1,
    β = −k12/k11, s = √(1 + v)), in closed form. The integrand lives where |z1| ≲ 40 (z1 < 0:
    Φ(z1)) or z1 ≲ 40 s/β (z1 > 0: Φ(−β z1/s)), independent of the variances: composite
    20-node Gauss–Legendre panels of width ≤ 2 there, times the N(0, k11) density."""
    from scipy.special import ndtr

    beta = -k12 / k11
    v = max(k22 - k12 * (k12 / k11), 0.0)
    s = math.sqrt(1.0 + v)
    reach = 40.0 * math.sqrt(k11)  # the density itself: e^{-800}
    lo, hi = -min(40.0, reach), min(40.0 * max(1.0, s / beta), reach)
    panels = max(1, math.ceil((hi - lo) / 2.0))
    edges = np.linspace(lo, hi, panels + 1)
    half = 0.5 * np.diff(edges)
    z = ((edges[:-1] + half)[:, None] + half[:, None] * _NODES[None, :]).ravel()
    w = (half[:, None] * _WEIGHTS[None, :]).ravel()
    mu = -beta * z
    t = mu / s
    h = mu * ndtr(t) + (v / s) * np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    density = np.exp(-0.5 * z * z / k11) / math.sqrt(2.0 * math.pi * k11)
    return float(np.sum(w * z * ndtr(z) * h * density))


def gelu_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    """⟨gelu(z1) gelu(z2)⟩ for z ~ N(0, [[k11, k12], [k12, k22]]) (module docstring); where
    the closed form cancels (k12 < 0 and terms > :data:`_CANCELLATION` × the value) by
    :func:`_conditioned`."""
    m, angle, root_d, n, _ = _parts(k11, k22, k12)
    head = k12 * angle
    tail = m * (n / root_d) / _TWO_PI
    value = np.asarray(head + tail, dtype=np.float64)
    bad = (k12 < 0) & (np.abs(tail) > _CANCELLATION * np.abs(value))
    if np.any(bad):
        shape = value.shape
        value = value.ravel().copy()
        flat = [np.broadcast_to(x, shape).ravel() for x in (k11, k22, k12)]
        for i in np.flatnonzero(bad):
            value[i] = _conditioned(float(flat[0][i]), float(flat[1][i]), float(flat[2][i]))
        value = value.reshape(shape)
    return value


def gelu_derivative_pair(
    k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple
) -> np.ndarray:
    """⟨gelu'(z1) gelu'(z2)⟩, gelu'(z) = Φ(z) + z φ(z) (module docstring)."""
    m, angle, root_d, _, big_m = _parts(k11, k22, k12)
    c = k12 / m
    return angle + (c / root_d) * (big_m / (m * root_d * root_d)) / _TWO_PI
