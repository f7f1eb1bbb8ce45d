r"""The error function in any array-API namespace (private).

``erf(z, xp)`` dispatches to ``scipy.special.erf`` for NumPy, to ``cupyx.scipy.special.erf`` for
CuPy, and otherwise evaluates a full-double-precision formula built from array-API operations only
(``abs``, ``floor``, ``exp``, ``where``, ``minimum``, arithmetic), so ``array_api_strict`` works.

Method (derived here; no tabulated coefficients):

* :math:`|x| < 2`: the everywhere-positive series (Abramowitz & Stegun 7.1.6)

  .. math:: \operatorname{erf} x = \frac{2}{\sqrt\pi} e^{-x^2}
            \sum_{n\ge 0} \frac{2^n x^{2n+1}}{(2n+1)!!},

  45 terms (the last term is < 1e-18 of the sum at x = 2), summed from the smallest term up.
* :math:`|x| \ge 2`: :math:`\operatorname{erf} x = 1 - \operatorname{erfc} x` with the Laplace
  continued fraction (A&S 7.1.14)

  .. math:: \operatorname{erfc} x = \frac{e^{-x^2}}{\sqrt\pi}\,
            \cfrac{1}{x + \cfrac{1/2}{x + \cfrac{1}{x + \cfrac{3/2}{x + \dotsb}}}},

  evaluated backwards from depth 60 (converged to < 5e-16 relative at x = 2).
* :math:`e^{-x^2}` is evaluated as :math:`e^{-h^2} e^{-(x-h)(x+h)}` with
  :math:`h = \lfloor 16 x \rfloor / 16`, so :math:`h^2` is exact and the rounding of
  :math:`x^2` (relative error ~ x² ε) does not enter.

``ndtr`` (Φ, used by gelu) takes erfc from the continued fraction in the left tail z < −2√2, so
it keeps full relative accuracy there.

Measured against ``mpmath.erf`` (40 digits) on 3000 points of [0, 2.5] and 2000 of [2, 7]:
max relative error 7.8e-16 (test: ``tests/kernels/test_activations.py``).
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import is_cupy_namespace, is_numpy_namespace

_SERIES_TERMS = 45
_CF_DEPTH = 60
_SWITCH = 2.0
_CLAMP = 10.0  # erfc(10) = 2e-45: erf is exactly 1.0 in double beyond this
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _exp_minus_square(x: Any, xp: Any) -> Any:
    """e^{-x²} without the rounding error of x² (exact split x² = h² + (x - h)(x + h))."""
    h = xp.floor(x * 16.0) / 16.0
    return xp.exp(-(h * h)) * xp.exp(-((x - h) * (x + h)))


def _erfc_fraction(x: Any, xp: Any) -> Any:
    """erfc(x) for x >= 2 by the continued fraction (x clamped to [2, 10]: no overflow)."""
    xl = xp.minimum(xp.maximum(x, xp.full_like(x, _SWITCH)), xp.full_like(x, _CLAMP))
    f = xl
    for k in range(_CF_DEPTH, 0, -1):
        f = xl + (0.5 * k) / f
    return _exp_minus_square(xl, xp) / (math.sqrt(math.pi) * f)


def erf_array_api(z: Any, xp: Any) -> Any:
    """erf from array-API operations only (see the module docstring for the method)."""
    x = xp.abs(z)
    small = x < _SWITCH
    # positive series on |x| < 2 (other points get a harmless placeholder)
    xs = xp.where(small, x, xp.zeros_like(x))
    two_x2 = 2.0 * xs * xs
    terms = [xs]
    for n in range(1, _SERIES_TERMS + 1):
        terms.append(terms[-1] * two_x2 / (2 * n + 1))
    total = terms[-1]
    for term in terms[-2::-1]:
        total = total + term
    series = _TWO_OVER_SQRT_PI * _exp_minus_square(xs, xp) * total
    value = xp.where(small, series, 1.0 - _erfc_fraction(x, xp))
    value = xp.where(xp.isnan(x), x, value)
    return xp.where(z < 0, -value, value)


def erf(z: Any, xp: Any) -> Any:
    """erf(z) in namespace ``xp``: SciPy for NumPy, CuPy's for CuPy, else :func:`erf_array_api`."""
    if is_numpy_namespace(xp):
        import scipy.special

        return xp.asarray(scipy.special.erf(z))
    if is_cupy_namespace(xp):
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(z)
    return erf_array_api(z, xp)


def ndtr(z: Any, xp: Any) -> Any:
    """Standard normal CDF Φ(z), accurate in the left tail (erfc by the continued fraction)."""
    if is_numpy_namespace(xp):
        import scipy.special

        return xp.asarray(scipy.special.ndtr(z))
    if is_cupy_namespace(xp):
        import cupyx.scipy.special

        return cupyx.scipy.special.ndtr(z)
    x = -z / math.sqrt(2.0)
    tail = 0.5 * _erfc_fraction(xp.where(xp.isnan(x), x, xp.abs(x)), xp)
    return xp.where(x >= _SWITCH, tail, 0.5 * (1.0 - erf_array_api(x, xp)))
