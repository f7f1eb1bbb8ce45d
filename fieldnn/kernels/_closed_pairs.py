r"""Closed-form Gaussian pair expectations of the Gaussian CDF Φ and of monomials z^p.

For (u, v) ~ N(0, [[k11, k12], [k12, k22]]):

**Φ** (``"gauss_cdf"``, Φ(z) = (1 + erf(z/√2))/2, the standard normal CDF; σ' = φ, the standard
normal density). With ξ1, ξ2 ~ N(0, 1) independent of (u, v), Φ(u) = P(ξ1 ≤ u | u), so
⟨Φ(u)Φ(v)⟩ = P(a > 0, b > 0) for the centred Gaussian pair a = u − ξ1, b = v − ξ2
(Var a = A = 1 + k11, Var b = B = 1 + k22, Cov(a, b) = k12), the orthant probability
(Sheppard 1899):

.. math:: \langle\Phi(u)\Phi(v)\rangle = \frac14 + \frac{\arcsin\rho}{2\pi}
          = \frac{\arccos(-\rho)}{2\pi}, \qquad \rho = \frac{k_{12}}{\sqrt{AB}},

and ⟨φ(u)φ(v)⟩ is the density of (a, b) at the origin,

.. math:: \langle\varphi(u)\varphi(v)\rangle = \frac{1}{2\pi\sqrt{D}}, \qquad
          D = AB - k_{12}^2 = 1 + k_{11} + k_{22} + \det K ,

also ∂/∂k12 of the first (Price's theorem). Both are evaluated by the intermediates of the GELU
closed form (:func:`fieldnn.kernels._gelu._parts`, whose orthant term is this very probability):
variances divided by max(A, B) (no overflow), D formed without the difference AB − k12², and
arccos(−ρ) = 2 arcsin √((1 + ρ)/2) for ρ < 0 (full relative accuracy as ρ → −1, where the value
→ 0). The erf entry of the registry is the same integral at another scale:
erf(z) = 2Φ(√2 z) − 1 gives (2/π) arcsin(2k12/√((1+2k11)(1+2k22))).

**Monomials** σ(z) = z^p (``monomial(p)``, p ≥ 1; σ' = p z^{p−1}). Isserlis' (Wick's) theorem:
a pairing of the p copies of u and p copies of v has j cross pairs (u with v, j ≡ p mod 2),
chosen in C(p, j)² j! ways, and pairs the remaining p − j copies of u among themselves in
(p − j − 1)!! ways (likewise v), so

.. math:: \langle u^p v^p\rangle = \sum_{j \equiv p\ (2)} \binom{p}{j}^2 j!\,
          [(p-j-1)!!]^2\, k_{12}^j\,(k_{11}k_{22})^{(p-j)/2},

and ⟨σ'σ'⟩ = p² ⟨u^{p−1} v^{p−1}⟩ (= 1 for p = 1). Every term has the sign of k12^p: the sum
does not cancel. p = 2: k11 k22 + 2k12²; p = 3: 9 k11 k22 k12 + 6 k12³;
p = 4: 9 (k11 k22)² + 72 k11 k22 k12² + 24 k12⁴.

The tests derive all four with sympy (Gaussian integrals and brute-force Wick pairings) and hold
them against the project's pair quadrature and sampled networks
(``tests/kernels/test_closed_pairs.py``; docs/numerics.md, "Activations").

References
----------
W. F. Sheppard, Phil. Trans. R. Soc. A 192 (1899) 101 (orthant probability);
L. Isserlis, Biometrika 12 (1918) 134 (Gaussian product moments);
R. Price, IRE Trans. Inf. Theory 4 (1958) 69 (Price's theorem);
C. K. I. Williams, "Computing with infinite networks", NIPS 1996 (erf, the same integral).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ._gelu import _parts

__all__ = [
    "gauss_cdf_derivative_pair",
    "gauss_cdf_pair",
    "monomial_derivative_pair",
    "monomial_pair",
]

_TWO_PI = 2.0 * math.pi


def gauss_cdf_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    """⟨Φ(u)Φ(v)⟩ = arccos(−ρ)/(2π), ρ = k12/√((1 + k11)(1 + k22)) (module docstring)."""
    _, angle, _, _, _ = _parts(k11, k22, k12)
    return np.asarray(angle, dtype=np.float64)


def gauss_cdf_derivative_pair(
    k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple
) -> np.ndarray:
    """⟨φ(u)φ(v)⟩ = 1/(2π √D), D = 1 + k11 + k22 + det K (module docstring)."""
    m, _, root_d, _, _ = _parts(k11, k22, k12)  # root_d = √D/m
    return np.asarray(1.0 / (_TWO_PI * root_d) / m, dtype=np.float64)


@lru_cache(maxsize=32)
def isserlis_coefficients(p: int) -> tuple[tuple[int, int], ...]:
    """(j, C(p, j)² j! [(p − j − 1)!!]²) for j = p, p − 2, …, ≥ 0: the number of Wick pairings
    of u^p v^p with j cross pairs ((−1)!! = 1)."""

    def double_factorial(n: int) -> int:  # n odd or −1
        return math.prod(range(n, 0, -2)) if n > 0 else 1

    return tuple(
        (j, math.comb(p, j) ** 2 * math.factorial(j) * double_factorial(p - j - 1) ** 2)
        for j in range(p, -1, -2)
    )


def _isserlis(p: int, k11: np.ndarray, k22: np.ndarray, k12: np.ndarray) -> np.ndarray:
    """⟨u^p v^p⟩ by :func:`isserlis_coefficients` (p ≥ 0), broadcast."""
    k11, k22, k12 = np.broadcast_arrays(k11, k22, k12)
    out = np.zeros(k12.shape)
    for j, count in isserlis_coefficients(p):
        i = (p - j) // 2
        out = out + count * (k12**j * (k11**i * k22**i))
    return out


def monomial_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    """⟨u^p v^p⟩, p = ``params[0]`` (Isserlis; module docstring)."""
    return _isserlis(int(params[0]), k11, k22, k12)


def monomial_derivative_pair(
    k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple
) -> np.ndarray:
    """⟨p u^{p−1} · p v^{p−1}⟩ = p² ⟨u^{p−1} v^{p−1}⟩ (module docstring)."""
    p = int(params[0])
    return p * p * _isserlis(p - 1, k11, k22, k12)
