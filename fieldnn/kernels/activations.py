r"""Activation registry: σ, σ', and their closed-form Gaussian pair expectations.

Every activation is an :class:`Activation` (frozen, hashable). It evaluates σ and σ' in any
array-API namespace and knows, where one exists, the closed form of

.. math:: \langle \sigma(z_1)\sigma(z_2)\rangle, \qquad
          \langle \sigma'(z_1)\sigma'(z_2)\rangle, \qquad
          z \sim \mathcal N\Big(0, \begin{pmatrix} k_{11} & k_{12}\\ k_{12} & k_{22}
          \end{pmatrix}\Big).

Closed forms (derivations in ``docs/numerics.md``, section "Activations"):

======================  ==========================================================================
erf                     :math:`\tfrac{2}{\pi}\arcsin[2k_{12}/\sqrt{(1+2k_{11})(1+2k_{22})}]`
                        (Williams 1997; seed 001 "Erf-net"); σ'σ':
                        :math:`\tfrac{4}{\pi}[(1+2k_{11})(1+2k_{22})-4k_{12}^2]^{-1/2}`
relu                    arc-cosine kernel :math:`\frac{\sqrt{k_{11}k_{22}}}{2\pi}
                        (\sin\theta + (\pi-\theta)\cos\theta)`, :math:`\cos\theta =
                        k_{12}/\sqrt{k_{11}k_{22}}` (Cho & Saul 2009; seed 001); σ'σ':
                        :math:`(\pi-\theta)/(2\pi)`
leaky_relu (slope a)    :math:`(1-a)^2\,\mathrm{relu} + a k_{12}`; σ'σ':
                        :math:`a + (1-a)^2(\pi-\theta)/(2\pi)`
sin                     :math:`e^{-(k_{11}+k_{22})/2}\sinh k_{12}`; σ'σ' (cos cos):
                        :math:`e^{-(k_{11}+k_{22})/2}\cosh k_{12}`
cos                     :math:`e^{-(k_{11}+k_{22})/2}\cosh k_{12}`; σ'σ' (sin sin):
                        :math:`e^{-(k_{11}+k_{22})/2}\sinh k_{12}` (sin's two forms swapped)
gauss_cdf               Φ(z) = (1 + erf(z/√2))/2: :math:`\tfrac14 + \tfrac{1}{2\pi}\arcsin
                        [k_{12}/\sqrt{(1+k_{11})(1+k_{22})}]`; σ'σ' (φ φ):
                        :math:`[2\pi\sqrt{(1+k_{11})(1+k_{22}) - k_{12}^2}]^{-1}`
monomial (power p)      z^p: :math:`\sum_{j\equiv p\,(2)} \binom{p}{j}^2 j!\,[(p-j-1)!!]^2
                        k_{12}^j (k_{11}k_{22})^{(p-j)/2}` (Isserlis); σ'σ': p² × the same
                        at p − 1 (:mod:`fieldnn.kernels._closed_pairs`)
linear                  :math:`k_{12}`; σ'σ': 1
gauss (normalised)      σ(z) = exp(z − q), q the pre-activation variance:
                        :math:`e^{k_{12} - (k_{11}+k_{22})/2}` for both
gelu                    :math:`\tfrac{k_{12}}{4} + \tfrac{k_{12}\arcsin\rho}{2\pi}
                        + \tfrac{k_{11}k_{22} + k_{12}^2(1/A + 1/B - 1)}{2\pi\sqrt{AB -
                        k_{12}^2}}`, A = 1 + k11, B = 1 + k22, ρ = k12/√(AB); σ'σ' its
                        k12-derivative (:mod:`fieldnn.kernels._gelu`)
tanh, swish             none (quadrature in :mod:`fieldnn.kernels.gaussian`)
======================  ==========================================================================

Conventions: relu'(0) = 0, leaky_relu'(0) = a (the one-sided derivative from the left).
The Gauss-net unit of seed 001 is exp(W0 x + b0)/exp(q(x)) with q(x) = σ_b² + σ_W² ``|x|²``/d_in,
the pre-activation variance, so its kernel is σ_b² + σ_W² exp(−σ_W² ``|x−x'|²``/(2 d_in)) for any
σ_b, σ_W, d_in (the published code hard-codes σ_b = σ_W = 1).

A user callable σ may come with its derivative; without one, σ' is computed by the complex step
σ'(z) = Im σ(z + i h)/h, h = 1e-20 (exact to rounding for a real-analytic σ written with NumPy
ufuncs), if a probe at six points agrees with a finite difference to 1e-6; otherwise (σ does not
accept complex input, or is not analytic there) by the five-point central difference with
h = ε^{1/5} max(1, ``|z|``) (truncation h⁴ σ⁽⁵⁾/30, rounding ~ ε|σ|/h: ~1e-12 relative for
smooth σ).

References
----------
C. K. I. Williams, "Computing with infinite networks", NIPS 1996 (erf kernel).
W. F. Sheppard, Phil. Trans. R. Soc. A 192 (1899) 101 (orthant probability: gauss_cdf).
L. Isserlis, Biometrika 12 (1918) 134 (Gaussian product moments: monomial).
Y. Cho and L. K. Saul, "Kernel methods for deep learning", NIPS 2009 (arc-cosine kernel).
J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 2.3 (seed 001: Erf-, ReLU-, Gauss-net).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_numpy_namespace

from ..errors import ArgumentError, ArgumentTypeError, UnknownNameError
from ._closed_pairs import (
    gauss_cdf_derivative_pair,
    gauss_cdf_pair,
    monomial_derivative_pair,
    monomial_pair,
)
from ._erf import erf as _erf
from ._erf import ndtr as _ndtr
from ._gelu import gelu_derivative_pair, gelu_pair

__all__ = ["KNOWN_ACTIVATIONS", "Activation", "get_activation", "leaky_relu", "monomial"]

KNOWN_ACTIVATIONS: tuple[str, ...] = (
    "erf",
    "relu",
    "leaky_relu",
    "tanh",
    "sin",
    "cos",
    "gelu",
    "gauss_cdf",
    "swish",
    "linear",
    "gauss",
)

_DEFAULT_LEAKY_SLOPE = 0.01
_SQRT_PI = math.sqrt(math.pi)


# --------------------------------------------------------------------------------------------
# Evaluation helpers
# --------------------------------------------------------------------------------------------
def _namespace(z: Any, xp: Any) -> tuple[Any, Any]:
    """Return (array, namespace): NumPy for Python scalars/lists/NumPy arrays unless ``xp``."""
    if xp is None:
        if isinstance(z, np.ndarray | np.generic | float | int | list | tuple):
            arr = np.asarray(z)
            if not np.issubdtype(arr.dtype, np.inexact):
                arr = arr.astype(np.float64)
            return arr, np
        xp = array_namespace(z)
    arr = xp.asarray(z)
    isdtype = getattr(xp, "isdtype", None)
    if isdtype is not None and not isdtype(arr.dtype, ("real floating", "complex floating")):
        arr = xp.astype(arr, xp.float64)
    return arr, xp


def _sigmoid(z: Any, xp: Any) -> Any:
    """Logistic function without overflow: e = exp(-|z|), σ = 1/(1+e) or e/(1+e)."""
    if is_numpy_namespace(xp):
        import scipy.special

        return xp.asarray(scipy.special.expit(z))
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _cos_theta(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray) -> np.ndarray:
    """cos θ = k12/√(k11 k22), clipped to [-1, 1]; 1 where a variance vanishes.

    Formed as (k12/m)/√((k11/m)(k22/m)), m = max(k11, k22): the product k11 k22 cannot
    underflow (variances ~1e-300) and equal variances still give exactly k12/k11."""
    m = np.maximum(k11, k22)
    safe = np.where(m > 0, m, 1.0)
    norm = np.sqrt((k11 / safe) * (k22 / safe))
    ok = norm > 0
    return np.clip(np.where(ok, (k12 / safe) / np.where(ok, norm, 1.0), 1.0), -1.0, 1.0)


def _broadcast(k11: Any, k22: Any, k12: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.broadcast_arrays(
        np.asarray(k11, dtype=np.float64),
        np.asarray(k22, dtype=np.float64),
        np.asarray(k12, dtype=np.float64),
    )


# --------------------------------------------------------------------------------------------
# Built-in activations: σ(z, xp, params, variance), σ'(...), pair forms (k11, k22, k12, params)
# --------------------------------------------------------------------------------------------
def _erf_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return _erf(z, xp)


def _erf_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return (2.0 / _SQRT_PI) * xp.exp(-(z * z))


def _erf_scale(k11: np.ndarray, k22: np.ndarray) -> np.ndarray:
    """1 where (1 + 2 k11)(1 + 2 k22) is below 1e300, else max(1 + 2 k11, 1 + 2 k22): dividing
    the variances by it keeps the products of the closed forms finite at any finite variance
    (unchanged, bit for bit, below the threshold)."""
    big = np.maximum(1.0 + 2.0 * k11, 1.0 + 2.0 * k22)
    return np.where(big < 1e150, 1.0, big)


def _erf_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    """(2/π) arcsin ρ, ρ = 2 k12/√(AB), A = 1 + 2 k11, B = 1 + 2 k22 (Williams 1996).

    Every factor is divided by m (:func:`_erf_scale`; no overflow). For ``|ρ|`` > 0.9 the form
    (2/π) arcsin ρ = sign ρ (1 − (4/π) arcsin √((1 − ``|ρ|``)/2)) with
    1 − ``|ρ|`` = (AB − 4k12²)/(√(AB)(√(AB) + 2``|k12|``)) and
    AB − 4k12² = 1 + 2(k11 + k22) + 4(k11 k22 − k12²) keeps the distance to ±1 to full
    relative accuracy (the product moment of erf at variance q ≫ 1 is 1 − O(q^{-1/2}) and the
    exact cumulants take differences of such numbers; on the diagonal k11 k22 − k12² = 0).
    """
    m = _erf_scale(k11, k22)
    a, b, c, e = k11 / m, k22 / m, k12 / m, 1.0 / m
    root = np.sqrt((e + 2.0 * a) * (e + 2.0 * b))
    arg = 2.0 * c / root
    value = (2.0 / np.pi) * np.arcsin(np.clip(arg, -1.0, 1.0))
    near = np.abs(arg) > 0.9
    if np.any(near):
        det = np.maximum(e * e + 2.0 * e * (a + b) + 4.0 * (a * b - c * c), 0.0)
        gap = det / (root * (root + 2.0 * np.abs(c)))  # 1 − |ρ|
        tail = 1.0 - (4.0 / np.pi) * np.arcsin(np.sqrt(0.5 * np.minimum(gap, 1.0)))
        value = np.where(near, np.sign(arg) * tail, value)
    return value


def _erf_dpair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    # <exp(-z1² - z2²)> = det(1 + 2K)^{-1/2} = m^{-1} det((1 + 2K)/m)^{-1/2}
    m = _erf_scale(k11, k22)
    det = ((1.0 + 2.0 * k11) / m) * ((1.0 + 2.0 * k22) / m) - 4.0 * (k12 / m) * (k12 / m)
    return (4.0 / np.pi) / m / np.sqrt(det)


def _leaky_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    (a,) = params
    return xp.where(z > 0, z, a * z)


def _leaky_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    (a,) = params
    return xp.where(z > 0, xp.ones_like(z), xp.full_like(z, a))


def _arccos_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray) -> np.ndarray:
    """⟨relu(z1) relu(z2)⟩ = √(k11 k22)(sin θ + (π − θ) cos θ)/(2π).

    With φ = π − θ the bracket is sin φ − φ cos φ = Σ_{k≥1} (−1)^{k+1} 2k φ^{2k+1}/(2k+1)!,
    summed to k = 6 for φ < 1/4 (nearly antipodal inputs), where the two terms cancel
    (relative truncation error < 1e-14); the result is then never negative.
    """
    c = _cos_theta(k11, k22, k12)
    phi = np.arccos(-c)
    p2 = phi * phi
    inner = 1.0 / 3991680.0 - p2 / 518918400.0  # Horner, innermost coefficients first
    for coefficient in (-1.0 / 45360.0, 1.0 / 840.0, -1.0 / 30.0, 1.0 / 3.0):
        inner = coefficient + p2 * inner
    series = phi * p2 * inner
    bracket = np.where(phi < 0.25, series, np.sin(phi) - phi * np.cos(phi))
    m = np.maximum(k11, k22)  # √(k11 k22) without underflow, as in _cos_theta
    safe = np.where(m > 0, m, 1.0)
    # bracket/(2π) ≤ 1/2 first: no overflow for variances up to the largest double
    return m * (np.sqrt((k11 / safe) * (k22 / safe)) * (bracket / (2.0 * np.pi)))


def _leaky_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    # σ = (1 − a) relu(z) + a z and ⟨relu(z1) z2⟩ = k12/2
    (a,) = params
    return (1.0 - a) ** 2 * _arccos_pair(k11, k22, k12) + a * k12


def _leaky_dpair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    # σ' = a + (1 − a) H(z), H(0) = 0; ⟨H H⟩ = (π − θ)/(2π), or H-means if a variance vanishes
    (a,) = params
    theta = np.arccos(_cos_theta(k11, k22, k12))
    both = (np.pi - theta) / (2.0 * np.pi)
    h1 = np.where(k11 > 0, 0.5, 0.0)
    h2 = np.where(k22 > 0, 0.5, 0.0)
    hh = np.where((k11 > 0) & (k22 > 0), both, h1 * h2)
    return a * a + a * (1.0 - a) * (h1 + h2) + (1.0 - a) ** 2 * hh


def _tanh_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return xp.tanh(z)


def _tanh_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    t = xp.tanh(z)
    return 1.0 - t * t


def _sin_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return xp.sin(z)


def _sin_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return xp.cos(z)


def _sin_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    # sin a sin b = [cos(a − b) − cos(a + b)]/2 and <cos u> = exp(−Var u/2), i.e.
    # e^{−(k11+k22)/2} sinh k12, written as sign(k12) e^{|k12| − (k11+k22)/2}(1 − e^{−2|k12|})/2:
    # no overflow (|k12| ≤ √(k11 k22) ≤ (k11+k22)/2) and no cancellation for small k12 (expm1)
    s = -0.5 * (np.asarray(k11, dtype=float) + k22)
    a = np.abs(k12)
    return np.sign(k12) * 0.5 * np.exp(s + a) * -np.expm1(-2.0 * a)


def _sin_dpair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    s = -0.5 * (np.asarray(k11, dtype=float) + k22)
    return 0.5 * (np.exp(s + k12) + np.exp(s - k12))


def _cos_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return xp.cos(z)


def _cos_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return -xp.sin(z)


# cos: ⟨cos u cos v⟩ is sin's derivative pair and ⟨(−sin u)(−sin v)⟩ its pair (the same
# product-to-sum identities); the registry entry below reuses _sin_dpair and _sin_pair


def _gauss_cdf_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return _ndtr(z, xp)


def _gauss_cdf_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _monomial_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    (p,) = params
    return z**p


def _monomial_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    (p,) = params
    return p * z ** (p - 1) if p > 1 else xp.ones_like(z)


def _gelu_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return z * _ndtr(z, xp)


def _gelu_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    # Φ(z) + z φ(z)
    return _ndtr(z, xp) + z * xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _swish_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return z * _sigmoid(z, xp)


def _swish_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    s = _sigmoid(z, xp)
    return s + z * s * (1.0 - s)


def _linear_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return z


def _linear_d(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return xp.ones_like(z)


def _linear_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    return k12.copy()


def _linear_dpair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    return np.ones_like(k12)


def _gauss_f(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
    return xp.exp(z - variance)


def _gauss_pair(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray, params: tuple) -> np.ndarray:
    # <exp(z1 + z2)> e^{−k11 − k22} = exp((k11 + k22 + 2 k12)/2 − k11 − k22)
    return np.exp(k12 - 0.5 * (k11 + k22))


# --------------------------------------------------------------------------------------------
# The Activation object
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Activation:
    """A pointwise activation σ with its derivative and closed-form Gaussian expectations.

    Build one with :func:`get_activation`, :func:`leaky_relu` or :func:`monomial`; do not call
    the constructor.

    Attributes
    ----------
    name : str
        Registry name ("erf", "relu", …) or the ``__name__`` of a user callable.
    normalised : bool
        True for the Gauss-net unit σ(z) = exp(z − q), whose value depends on the pre-activation
        variance q (pass ``variance=q``).
    parameters : tuple of float
        Shape parameters: ``(a,)`` for leaky relu with negative slope a (relu: a = 0),
        ``(p,)`` (an int) for the monomial z^p, else ``()``.
    """

    name: str
    normalised: bool = False
    parameters: tuple[float, ...] = ()
    _function: Callable = field(default=_linear_f, repr=False)
    _derivative: Callable = field(default=_linear_d, repr=False)
    _pair: Callable | None = field(default=None, repr=False)
    _derivative_pair: Callable | None = field(default=None, repr=False)
    _slopes: tuple[float, float] | None = field(default=None, repr=False)

    @property
    def piecewise_linear_slopes(self) -> tuple[float, float] | None:
        """(slope for z < 0, slope for z > 0) of a positively homogeneous piecewise-linear σ.

        ``(0, 1)`` for relu, ``(a, 1)`` for leaky relu, ``(1, 1)`` for linear; ``None`` otherwise.
        Used by the exact piecewise product moments (:func:`~fieldnn.kernels.product_moments`).
        """
        return self._slopes

    def _prepare(self, z: Any, variance: Any, xp: Any) -> tuple[Any, Any, Any]:
        arr, ns = _namespace(z, xp)
        if self.normalised:
            if variance is None:
                raise ArgumentError(
                    "variance",
                    f"activation {self.name!r} is normalised by the pre-activation variance; "
                    "pass variance=q (broadcastable to z)",
                )
            variance = ns.asarray(variance, dtype=arr.dtype)
        return arr, ns, variance

    def __call__(self, z: Any, *, variance: Any = None, xp: Any = None) -> Any:
        """σ(z), elementwise, in the array namespace of ``z`` (or ``xp``; NumPy by default).

        Parameters
        ----------
        z : array_like
            Pre-activations.
        variance : array_like, optional
            Pre-activation variance q (broadcastable to z); required for the Gauss-net unit
            (σ(z) = exp(z − q)), ignored otherwise.
        xp : module, optional
            Array-API namespace; inferred from ``z`` when omitted (NumPy for Python/NumPy input).
        """
        arr, ns, variance = self._prepare(z, variance, xp)
        return self._function(arr, ns, self.parameters, variance)

    def derivative(self, z: Any, *, variance: Any = None, xp: Any = None) -> Any:
        """σ'(z) (at fixed normaliser q for the Gauss-net unit: σ' = σ). Same arguments as call."""
        arr, ns, variance = self._prepare(z, variance, xp)
        return self._derivative(arr, ns, self.parameters, variance)

    def pair_expectation(self, k11: Any, k22: Any, k12: Any) -> np.ndarray | None:
        """Closed form of ⟨σ(z1)σ(z2)⟩, z ~ N(0, [[k11, k12], [k12, k22]]); None if none.

        Arguments broadcast against each other; the result has the broadcast shape.
        For the Gauss-net unit the normalisers are q1 = k11, q2 = k22.
        """
        if self._pair is None:
            return None
        return self._pair(*_broadcast(k11, k22, k12), self.parameters)

    def derivative_pair_expectation(self, k11: Any, k22: Any, k12: Any) -> np.ndarray | None:
        """Closed form of ⟨σ'(z1)σ'(z2)⟩ (broadcasting), or None if there is none."""
        if self._derivative_pair is None:
            return None
        return self._derivative_pair(*_broadcast(k11, k22, k12), self.parameters)


def leaky_relu(slope: float = _DEFAULT_LEAKY_SLOPE) -> Activation:
    """Leaky relu σ(z) = z for z > 0, a z for z ≤ 0, with negative slope ``a = slope``.

    Parameters
    ----------
    slope : float
        The slope a for z < 0 (finite real; a = 0 is relu's function under another name,
        a = 1 is linear).

    Examples
    --------
    >>> act = leaky_relu(0.1)
    >>> float(act(-2.0)), float(act(3.0))
    (-0.2, 3.0)
    """
    from .._validate import finite_float

    a = finite_float(slope, "slope")
    return Activation(
        "leaky_relu",
        False,
        (a,),
        _leaky_f,
        _leaky_d,
        _leaky_pair,
        _leaky_dpair,
        (a, 1.0),
    )


_MAX_POWER = 16


def monomial(power: int) -> Activation:
    """The monomial σ(z) = z^p, p = ``power``, with closed pair expectations (Isserlis).

    Parameters
    ----------
    power : int
        p, from 1 to 16 (p = 1 is linear's function under another name). The bound keeps the
        closed form's moments, ⟨z^{2p}⟩ = (2p − 1)!! k^p, and its term count small.

    Returns
    -------
    Activation
        Named ``"monomial"`` with ``parameters == (p,)``; σ' = p z^{p−1}. Its pair expectations
        are :func:`fieldnn.kernels._closed_pairs.monomial_pair` and ``monomial_derivative_pair``
        (docs/numerics.md, "Activations").

    References
    ----------
    L. Isserlis, Biometrika 12 (1918) 134.

    Examples
    --------
    >>> cube = monomial(3)
    >>> float(cube(-2.0)), float(cube.derivative(-2.0))
    (-8.0, 12.0)
    >>> float(cube.pair_expectation(1.0, 2.0, 0.5))  # 9 k11 k22 k12 + 6 k12³
    9.75
    """
    from .._validate import positive_int

    p = positive_int(power, "power", minimum=1, maximum=_MAX_POWER)
    return Activation(
        "monomial",
        False,
        (p,),
        _monomial_f,
        _monomial_d,
        monomial_pair,
        monomial_derivative_pair,
        (1.0, 1.0) if p == 1 else None,
    )


_REGISTRY: dict[str, Activation] = {
    "erf": Activation("erf", False, (), _erf_f, _erf_d, _erf_pair, _erf_dpair),
    "relu": Activation(
        "relu", False, (0.0,), _leaky_f, _leaky_d, _leaky_pair, _leaky_dpair, (0.0, 1.0)
    ),
    "leaky_relu": leaky_relu(),
    "tanh": Activation("tanh", False, (), _tanh_f, _tanh_d),
    "sin": Activation("sin", False, (), _sin_f, _sin_d, _sin_pair, _sin_dpair),
    "cos": Activation("cos", False, (), _cos_f, _cos_d, _sin_dpair, _sin_pair),
    "gelu": Activation("gelu", False, (), _gelu_f, _gelu_d, gelu_pair, gelu_derivative_pair),
    "gauss_cdf": Activation(
        "gauss_cdf",
        False,
        (),
        _gauss_cdf_f,
        _gauss_cdf_d,
        gauss_cdf_pair,
        gauss_cdf_derivative_pair,
    ),
    "swish": Activation("swish", False, (), _swish_f, _swish_d),
    "linear": Activation(
        "linear", False, (), _linear_f, _linear_d, _linear_pair, _linear_dpair, (1.0, 1.0)
    ),
    "gauss": Activation("gauss", True, (), _gauss_f, _gauss_f, _gauss_pair, _gauss_pair),
}


# --------------------------------------------------------------------------------------------
# User callables
# --------------------------------------------------------------------------------------------
_COMPLEX_STEP = 1e-20
_PROBE = np.array([-1.7, -0.9, -0.3, 0.2, 0.8, 1.9])


def _five_point(fn: Callable, z: Any, xp: Any) -> Any:
    """Five-point central difference, h = ε^{1/5} max(1, |z|) (made exactly representable)."""
    h = float(np.finfo(np.float64).eps) ** 0.2 * xp.maximum(xp.abs(z), xp.ones_like(z))
    h = (z + h) - z
    return (fn(z - 2 * h) - 8 * fn(z - h) + 8 * fn(z + h) - fn(z + 2 * h)) / (12 * h)


def _complex_step_works(fn: Callable) -> bool:
    """Probe whether Im σ(z + ih)/h reproduces a finite difference of σ at six points."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = np.asarray(fn(_PROBE + 1j * _COMPLEX_STEP))
            if not np.iscomplexobj(value) or value.shape != _PROBE.shape:
                return False
            step = value.imag / _COMPLEX_STEP
            fd = _five_point(lambda u: np.asarray(fn(u), dtype=np.float64), _PROBE, np)
    except Exception:  # any failure of a user callable on complex input
        return False
    return bool(np.all(np.isfinite(step)) and np.allclose(step, fd, rtol=1e-6, atol=1e-8))


def _elementwise(value: Any, z: Any, xp: Any, argument: str) -> Any:
    """``value`` as an array of the shape of ``z``, or an error naming ``argument``: a user σ
    must act elementwise (a scalar or reshaped result would be broadcast or fail later)."""
    out = xp.asarray(value)
    if tuple(out.shape) != tuple(z.shape):
        raise ArgumentError(
            argument,
            f"must act elementwise: it returned shape {tuple(out.shape)} for an input of shape "
            f"{tuple(z.shape)}",
        )
    return out


def _user_activation(fn: Callable, derivative: Callable | None) -> Activation:
    def function(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
        return _elementwise(fn(z), z, xp, "activation")

    if derivative is not None:
        if not callable(derivative):
            raise ArgumentTypeError("derivative", f"must be callable, got {derivative!r}")

        def deriv(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
            return _elementwise(derivative(z), z, xp, "derivative")
    elif _complex_step_works(fn):

        def deriv(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
            if not is_numpy_namespace(xp):
                return _five_point(fn, z, xp)
            return xp.asarray(np.imag(fn(z + 1j * _COMPLEX_STEP)) / _COMPLEX_STEP)
    else:

        def deriv(z: Any, xp: Any, params: tuple, variance: Any) -> Any:
            return _five_point(fn, z, xp)

    name = getattr(fn, "__name__", type(fn).__name__)
    return Activation(str(name), False, (), function, deriv)


def get_activation(
    spec: str | Callable | Activation, *, derivative: Callable | None = None
) -> Activation:
    """Return the :class:`Activation` for a registry name, an Activation, or a user callable.

    Parameters
    ----------
    spec : str, Activation, or callable
        One of :data:`KNOWN_ACTIVATIONS`, an :class:`Activation` (returned unchanged), or a
        callable σ(z) acting elementwise on arrays.
    derivative : callable, optional
        σ'(z) for a user callable. Without it, σ' is computed (complex step if σ accepts complex
        input, else a five-point difference; see the module docstring). Not allowed together
        with a registry name or an Activation.

    Returns
    -------
    Activation

    Raises
    ------
    UnknownNameError
        For an unknown name (the message lists the known ones); argument "activation".

    Examples
    --------
    >>> act = get_activation("erf")
    >>> round(float(act.pair_expectation(1.0, 1.0, 1.0)), 12)  # (2/π) arcsin(2/3)
    0.464559054398
    """
    if isinstance(spec, Activation):
        if derivative is not None:
            raise ArgumentError("derivative", "only accepted together with a user callable")
        return spec
    if isinstance(spec, str):
        if derivative is not None:
            raise ArgumentError(
                "derivative", f"the registry activation {spec!r} has its own derivative"
            )
        key = spec.strip().lower()
        if key not in _REGISTRY:
            raise UnknownNameError("activation", spec, KNOWN_ACTIVATIONS)
        return _REGISTRY[key]
    if callable(spec):
        return _user_activation(spec, derivative)
    raise ArgumentTypeError(
        "activation", f"must be a name in {KNOWN_ACTIVATIONS}, an Activation or a callable"
    )
