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
k11, k22 ≫ 1 the three terms of ⟨σσ⟩ cancel (the value is O(1), the terms O(k)): the
absolute error stays ~1e-16 k.

References
----------
D. Hendrycks and K. Gimpel, "Gaussian error linear units (GELUs)", arXiv:1606.08415 (σ);
R. Price, IRE Trans. Inf. Theory 4 (1958) 69 (Price's theorem); R. Novak et al.,
"Neural Tangents", arXiv:1912.02803 (``stax.Gelu``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["gelu_derivative_pair", "gelu_pair"]

_TWO_PI = 2.0 * np.pi


def _parts(
    k11: np.ndarray, k22: np.ndarray, k12: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """m, arcsin ρ, √D/m, N/m² and M/m (broadcast) for the two closed forms."""
    A, B = 1.0 + k11, 1.0 + k22
    m = np.maximum(A, B)
    a, b, c = A / m, B / m, k12 / m
    asin = np.arcsin(np.clip(c / np.sqrt(a * b), -1.0, 1.0))
    e, p, q = 1.0 / m, k11 / m, k22 / m
    det = np.maximum(p * q - c * c, 0.0)  # det K/m²
    # D/m² = (1 + k11 + k22)/m² + det K/m²: the difference AB − k12² alone cancels
    root_d = np.sqrt(e * e + (p + q) * e + det)
    n = det + c * c * (1.0 / A + 1.0 / B)
    big_m = 3.0 * e + (p + m * det) / b * e + (q + m * det) / a * e
    return m, asin, root_d, n, big_m


def gelu_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    """⟨gelu(z1) gelu(z2)⟩ for z ~ N(0, [[k11, k12], [k12, k22]]) (module docstring)."""
    m, asin, root_d, n, _ = _parts(k11, k22, k12)
    return 0.25 * k12 + k12 * asin / _TWO_PI + m * (n / root_d) / _TWO_PI


def gelu_derivative_pair(
    k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple
) -> np.ndarray:
    """⟨gelu'(z1) gelu'(z2)⟩, gelu'(z) = Φ(z) + z φ(z) (module docstring)."""
    m, asin, root_d, _, big_m = _parts(k11, k22, k12)
    c = k12 / m
    return 0.25 + asin / _TWO_PI + (c / root_d) * (big_m / (m * root_d * root_d)) / _TWO_PI
