"""Independent reference quadratures shared by the kernel tests (scipy only, no fieldnn)."""

from __future__ import annotations

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
