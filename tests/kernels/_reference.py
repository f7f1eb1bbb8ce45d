"""Independent reference quadratures shared by the kernel tests (scipy, mpmath; no fieldnn)."""

from __future__ import annotations

import mpmath
import numpy as np
from scipy.integrate import dblquad


def pair_quad(f, g, k11, k22, k12):
    """Independent 2-d quadrature of ⟨f(z1) g(z2)⟩ by scipy.integrate.dblquad.

    Cholesky coordinates z1 = l11 u1, z2 = l21 u1 + l22 u2; the domain is split at u1 = 0 and
    at z2 = 0 (the kinks of relu-type σ), so every piece is smooth.
    """
    l11 = np.sqrt(k11)
    l21 = k12 / l11
    l22 = np.sqrt(k22 - l21**2)

    def integrand(u2, u1):
        return f(l11 * u1) * g(l21 * u1 + l22 * u2) * np.exp(-(u1**2 + u2**2) / 2) / (2 * np.pi)

    def kink(u1):
        return min(max(-l21 * u1 / l22, -9.0), 9.0)

    total = 0.0
    for lo, hi in [(-9.0, 0.0), (0.0, 9.0)]:
        total += dblquad(integrand, lo, hi, -9.0, kink, epsabs=1e-13, epsrel=1e-11)[0]
        total += dblquad(integrand, lo, hi, kink, 9.0, epsabs=1e-13, epsrel=1e-11)[0]
    return total


def _erf_cuts(*scales: mpmath.mpf) -> list:
    """Break points of a 1-d Gaussian integral of erf(s u) factors: 0, ±1, ±10 and ±1/s, ±10/s
    for every scale s (where erf(s u) turns over)."""
    cuts = {-mpmath.inf, -10, -1, 0, 1, 10, mpmath.inf}
    for s in scales:
        cuts |= {1 / abs(s), -1 / abs(s), 10 / abs(s), -10 / abs(s)}
    return sorted(cuts)


def erf_power_moment_mp(s: float, k: int) -> mpmath.mpf:
    """E[erf(s u)^k], u ~ N(0, 1), by mpmath at 30 digits."""
    with mpmath.workdps(30):
        s = mpmath.mpf(s)
        return mpmath.quad(lambda u: mpmath.erf(s * u) ** k * mpmath.npdf(u), _erf_cuts(s))


def erf_connected_mp(s: float, n: int, width: int) -> float:
    """Connected n-point function (n = 4, 6) of the one-input Erf-net with C = s², σ_W² = 1,
    d_out = 1: unit moments E[u²] = m2, E[u⁴] = 3 m4, E[u⁶] = 15 m6 (readout N(0, 1/N)),
    κ4 = u4 − 3u2², κ6 = u6 − 15 u4 u2 + 30 u2³, times N (1/N)^{n/2}."""
    with mpmath.workdps(30):
        m2, m4 = erf_power_moment_mp(s, 2), erf_power_moment_mp(s, 4)
        if n == 4:
            return float((3 * m4 - 3 * m2**2) / width)
        m6 = erf_power_moment_mp(s, 6)
        return float((15 * m6 - 45 * m4 * m2 + 30 * m2**3) / width**2)


def erf_three_one_mp(C: np.ndarray, i: int, j: int) -> float:
    """E[erf(z_i)³ erf(z_j)] for z ~ N(0, C) (2×2 block), 30 digits: given z_i = √C_ii u,
    z_j is Gaussian with mean C_ij u/√C_ii and variance b = C_jj − C_ij²/C_ii, and
    E erf(m + √b ξ) = erf(m/√(1 + 2b)), leaving a 1-d integral in u."""
    with mpmath.workdps(30):
        cii, cjj, cij = (
            mpmath.mpf(float(C[i, i])),
            mpmath.mpf(float(C[j, j])),
            mpmath.mpf(float(C[i, j])),
        )
        s = mpmath.sqrt(cii)
        k = cij / s / mpmath.sqrt(1 + 2 * (cjj - cij**2 / cii))
        return float(
            mpmath.quad(
                lambda u: mpmath.erf(s * u) ** 3 * mpmath.erf(k * u) * mpmath.npdf(u),
                _erf_cuts(s, k),
            )
        )


def erf_pair_mp(k11: float, k22: float, k12: float) -> mpmath.mpf:
    """(2/π) arcsin(2k12/√((1 + 2k11)(1 + 2k22))) at 50 digits (Williams 1996), as an mpf
    (1 − value keeps its digits near ±1)."""
    with mpmath.workdps(50):
        a, b, c = (mpmath.mpf(float(v)) for v in (k11, k22, k12))
        return 2 / mpmath.pi * mpmath.asin(2 * c / mpmath.sqrt((1 + 2 * a) * (1 + 2 * b)))
