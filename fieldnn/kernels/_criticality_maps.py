"""Depth asymptotics, critical points, the graphical fixed-point solution, phase diagrams and
two-input correlation fixed points (private; public through :mod:`fieldnn.kernels.criticality`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import brentq

from .._validate import nonnegative_float
from ..errors import ArgumentError, UnsupportedError
from ._criticality_core import (
    ActivationLike,
    _check,
    _fixed_points,
    _g,
    _gprime,
    _perp,
)
from ._fixed_point import criticality
from .activations import Activation
from .gaussian import pair_expectation


# --------------------------------------------------------------------------------------------
# the critical point and universality classes
# --------------------------------------------------------------------------------------------
def taylor_coefficients(activation: ActivationLike, order: int = 5) -> np.ndarray:
    r"""σ_0, σ_1, …, σ_order with :math:`\sigma(z) = \sum_k \sigma_k z^k/k!` (RYH convention).

    If σ accepts complex input: the Cauchy integral on the circle ``|z|`` = 1/2 by the 64-point
    trapezoidal rule (geometric convergence, ~1e-15 for σ analytic in ``|z|`` < π/2 like tanh).
    Otherwise the derivatives at 0 of the degree-20 Chebyshev interpolant on [−1/2, 1/2]
    (~1e-8 for σ_5). Meaningless for σ with a kink at 0 (relu: the scale-invariant class).
    """
    act = _check(activation)
    r, m = 0.5, 64
    z = r * np.exp(2j * np.pi * np.arange(m) / m)
    try:
        with np.errstate(all="raise"):
            values = np.asarray(act(z))
        usable = np.iscomplexobj(values) and np.all(np.isfinite(values))
    except (TypeError, ValueError, FloatingPointError):
        usable = False
    if usable:
        coef = (np.fft.fft(values) / m)[: order + 1] / r ** np.arange(order + 1)
        return coef.real * np.array([math.factorial(k) for k in range(order + 1)], dtype=float)
    cheb = np.polynomial.chebyshev.Chebyshev.interpolate(
        lambda t: np.asarray(act(np.asarray(t, dtype=np.float64)), dtype=np.float64),
        20,
        domain=[-r, r],
    )
    return np.array(
        [float(cheb.deriv(k)(0.0)) if k else float(cheb(0.0)) for k in range(order + 1)]
    )


@dataclass(frozen=True)
class DepthAsymptotics:
    r"""Large-depth behaviour of the K* = 0 class at criticality (C_b = 0, C_W = 1/σ₁²).

    Attributes
    ----------
    activation : str
    sigma : ndarray
        Taylor coefficients σ_0..σ_5.
    C_W : float
        1/σ₁².
    a1, a2 : float
        :math:`C_W g(K) = K + a_1 K^2 + a_2 K^3 + O(K^4)`,
        :math:`a_1 = \sigma_3/\sigma_1 + \tfrac34(\sigma_2/\sigma_1)^2`,
        :math:`a_2 = 15(\sigma_3^2/36 + \sigma_2\sigma_4/24 + \sigma_1\sigma_5/60)/\sigma_1^2`.
    in_class : bool
        σ_0 = 0, σ_1 ≠ 0 and a_1 < 0 (K → 0 is approached from above).
    V_slope : float
        2/3: :math:`V^{(\ell)}/(K^{(\ell)})^2 \to \tfrac23\,\ell` (universal in the class).
    """

    activation: str
    sigma: np.ndarray = field(repr=False)
    C_W: float
    a1: float
    a2: float
    in_class: bool
    V_slope: float = 2.0 / 3.0

    def kernel(self, ell: Any, *, log_correction: bool = True) -> np.ndarray:
        r"""K^(ℓ) at large ℓ: :math:`\frac{1}{-a_1\ell}\big[1 - \frac{a_1^2 - a_2}{a_1^2}
        \frac{\log\ell}{\ell}\big] + O(\ell^{-2})` (leading term only if ``log_correction``
        is False)."""
        ell = np.asarray(ell, dtype=np.float64)
        lead = 1.0 / (-self.a1 * ell)
        if not log_correction:
            return lead
        return lead * (1.0 - (self.a1**2 - self.a2) / self.a1**2 * np.log(ell) / ell)


def depth_asymptotics(activation: ActivationLike) -> DepthAsymptotics:
    r"""Depth asymptotics of the K* = 0 universality class at criticality.

    Notes
    -----
    With :math:`\sigma(z) = \sigma_1 z + \sigma_2 z^2/2 + \sigma_3 z^3/6 + \dots` and σ_0 = 0,
    :math:`g(K) = \sigma_1^2K + (\sigma_1\sigma_3 + \tfrac34\sigma_2^2)K^2 + \dots`, so at
    C_b = 0, C_W = 1/σ₁² the recursion is :math:`K^{(\ell+1)} = K + a_1K^2 + a_2K^3`. For
    :math:`u = 1/K`: :math:`u_{\ell+1} = u_\ell - a_1 + (a_1^2 - a_2)/u_\ell + \dots`, hence
    :math:`K^{(\ell)} = 1/(-a_1\ell) + O(\log\ell/\ell^2)` when a₁ < 0. The four-point vertex
    obeys :math:`V_{\ell+1} = 2K^2 + (1 + 4a_1K)V_\ell`, whose solution
    :math:`V = c\,\ell K^2` needs :math:`-c = 2 - 4c`: V/K² → (2/3) ℓ.
    tanh: a₁ = −2, a₂ = 17/3, K ≈ 1/(2ℓ).

    References
    ----------
    arXiv:2106.10165, ch. 5, sec. 5.3 (the K* = 0 universality class).

    Examples
    --------
    >>> d = depth_asymptotics("tanh")
    >>> round(d.a1, 9), round(d.a2, 9), d.in_class
    (-2.0, 5.666666667, True)
    """
    act = _check(activation)
    s = taylor_coefficients(act, 5)
    s0, s1, s2, s3, s4, s5 = s
    if abs(s1) < 1e-10:
        raise UnsupportedError("activation", f"σ'(0) = 0 for {act.name!r}: no K* = 0 class")
    a1 = s3 / s1 + 0.75 * (s2 / s1) ** 2
    a2 = 15.0 * (s3**2 / 36.0 + s2 * s4 / 24.0 + s1 * s5 / 60.0) / s1**2
    in_class = abs(s0) < 1e-12 and a1 < 0
    return DepthAsymptotics(act.name, s, float(1.0 / s1**2), float(a1), float(a2), bool(in_class))


@dataclass(frozen=True)
class CriticalPoint:
    """Critical initialisation (χ∥ = χ⊥ = 1) of an activation.

    Attributes
    ----------
    activation : str
    C_b, C_W, K_star : float
        K_star is nan for the scale-invariant class (every K is a fixed point).
    universality_class : str
        "K*=0", "scale-invariant" or "nonzero K*".
    """

    activation: str
    C_b: float
    C_W: float
    K_star: float
    universality_class: str


def _sigma_sigma2(act: Activation, K: float) -> float:
    """⟨σσ''⟩_K = g'(K) − ⟨σ'²⟩_K (zero at a critical K*)."""
    return _gprime(act, K) - _perp(act, K)


def critical_point(activation: ActivationLike) -> CriticalPoint:
    r"""Solve χ∥ = χ⊥ = 1 together with K* = C_b + C_W g(K*).

    Returns
    -------
    CriticalPoint

    Notes
    -----
    χ∥ = χ⊥ means :math:`\langle\sigma\sigma''\rangle_{K^*} = 0`; then
    :math:`C_W = 1/\langle\sigma'^2\rangle_{K^*}` and :math:`C_b = K^* - C_W g(K^*) \ge 0`.

    * scale-invariant class (relu, leaky relu, linear: σσ'' ≡ 0): C_b = 0,
      C_W = 2/(s₊² + s₋²), any K*.
    * K* = 0 class: σ_0 = 0, σ_1 ≠ 0 and a₁ < 0 (:func:`depth_asymptotics`):
      C_b = 0, C_W = 1/σ₁², K* = 0 (tanh, erf, sin).
    * otherwise (GELU, SWISH: σ_0 = 0 but a₁ > 0, so K* = 0 is not approached): the smallest
      K* > 0 with ⟨σσ''⟩ = 0 and C_b ≥ 0, by Brent's method on a log grid of [1e-4, 1e4].

    References
    ----------
    arXiv:2106.10165, ch. 5 (sec. 5.2–5.3; GELU and SWISH are discussed as activations with a
    nonzero critical K*).

    Examples
    --------
    >>> p = critical_point("relu")
    >>> p.C_b, p.C_W, p.universality_class
    (0.0, 2.0, 'scale-invariant')
    >>> critical_point("tanh")
    CriticalPoint(activation='tanh', C_b=0.0, C_W=1.0, K_star=0.0, universality_class='K*=0')
    """
    act = _check(activation)
    slopes = act.piecewise_linear_slopes
    if slopes is not None:
        return CriticalPoint(
            act.name, 0.0, 2.0 / (slopes[0] ** 2 + slopes[1] ** 2), math.nan, "scale-invariant"
        )
    asym = depth_asymptotics(act)
    if asym.in_class:
        return CriticalPoint(act.name, 0.0, asym.C_W, 0.0, "K*=0")
    grid = np.geomspace(1e-4, 1e4, 161)
    r = np.array([_sigma_sigma2(act, k) for k in grid])
    for i in range(len(grid) - 1):
        if r[i] * r[i + 1] < 0:
            k = brentq(
                lambda x: _sigma_sigma2(act, x), grid[i], grid[i + 1], xtol=1e-14, rtol=1e-13
            )
            c_w = 1.0 / _perp(act, k)
            c_b = k - c_w * float(_g(act, k))
            if c_b >= -1e-12:
                return CriticalPoint(act.name, max(c_b, 0.0), c_w, k, "nonzero K*")
    raise UnsupportedError(
        "activation", f"no critical point (χ∥ = χ⊥ = 1 with C_b >= 0) found for {act.name!r}"
    )


# --------------------------------------------------------------------------------------------
# data for plots
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedPointCurve:
    """Graphical solution of K = C_b + C_W g(K): plot ``map_values`` and ``K`` against ``K``.

    Attributes
    ----------
    K : ndarray (m,)
    map_values : ndarray (m,)
        C_b + C_W g(K).
    fixed_points : ndarray (r,)
    chi_parallel : ndarray (r,)
        C_W g'(K*) at each fixed point (its slope on the graph).
    C_b, C_W : float
    """

    K: np.ndarray
    map_values: np.ndarray
    fixed_points: np.ndarray
    chi_parallel: np.ndarray
    C_b: float
    C_W: float


def fixed_point_curve(
    activation: ActivationLike, C_b: float = 1.0, C_W: float = 2.0, K_grid: Any = None
) -> FixedPointCurve:
    """Data for the seed's graphical fixed-point solution (default C_b = 1, C_W = 2).

    Parameters
    ----------
    activation : str, callable or Activation
    C_b, C_W : float
    K_grid : array_like, optional
        K values (default: 201 points on [0, 2 max(K*, 1)]).

    Examples
    --------
    >>> c = fixed_point_curve("tanh")
    >>> len(c.fixed_points), bool(abs(c.chi_parallel[0]) < 1)
    (1, True)
    """
    act = _check(activation)
    C_b = nonnegative_float(C_b, "C_b")
    C_W = nonnegative_float(C_W, "C_W", strictly_positive=True)
    roots, _ = _fixed_points(act, C_b, C_W)
    if K_grid is None:
        K_grid = np.linspace(0.0, 2.0 * max([*roots, 1.0]), 201)
    K = np.asarray(K_grid, dtype=np.float64)
    if K.ndim != 1 or np.any(K < 0) or not np.all(np.isfinite(K)):
        raise ArgumentError("K_grid", "must be a 1-d array of finite K >= 0")
    return FixedPointCurve(
        K,
        C_b + C_W * _g(act, K),
        np.array(roots),
        np.array([C_W * _gprime(act, r) for r in roots]),
        C_b,
        C_W,
    )


@dataclass(frozen=True)
class PhaseDiagram:
    """χ∥, χ⊥ and K* on a (C_b, C_W) grid; arrays of shape (len(C_b), len(C_W)).

    Plot the contours χ∥ = 1 and χ⊥ = 1; NaN marks "divergent" points (no finite K*).
    """

    C_b: np.ndarray
    C_W: np.ndarray
    K_star: np.ndarray
    chi_parallel: np.ndarray
    chi_perp: np.ndarray
    phase: np.ndarray


def phase_diagram(activation: ActivationLike, C_b_grid: Any, C_W_grid: Any) -> PhaseDiagram:
    """:func:`criticality` at every (C_b, C_W) of the grid (default fixed-point choice).

    Examples
    --------
    >>> d = phase_diagram("tanh", [0.0, 0.5], [0.5, 1.0, 2.0])
    >>> d.phase.tolist()
    [['ordered', 'critical', 'chaotic'], ['ordered', 'ordered', 'ordered']]
    """
    act = _check(activation)
    cbs = np.asarray(C_b_grid, dtype=np.float64).ravel()
    cws = np.asarray(C_W_grid, dtype=np.float64).ravel()
    shape = (cbs.size, cws.size)
    K, par, perp = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    phase = np.empty(shape, dtype=object)
    for i, cb in enumerate(cbs):
        for j, cw in enumerate(cws):
            r = criticality(act, C_b=float(cb), C_W=float(cw))
            K[i, j], par[i, j], perp[i, j], phase[i, j] = (
                r.K_star,
                r.chi_parallel,
                r.chi_perp,
                r.phase,
            )
    return PhaseDiagram(cbs, cws, K, par, perp, phase)


# --------------------------------------------------------------------------------------------
# off-diagonal (two-input) fixed points
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorrelationFixedPoint:
    """Fixed point of the off-diagonal recursion K12 ↦ C_b + C_W H(K*, K*, K12).

    Attributes
    ----------
    K12, rho : float
        The fixed covariance and correlation ρ = K12/K*.
    slope : float
        C_W ⟨σ'σ'⟩ at the fixed point (χ⊥ at ρ = 1).
    stable : bool
        slope < 1.
    """

    K12: float
    rho: float
    slope: float
    stable: bool


def correlation_fixed_points(
    activation: ActivationLike, *, C_b: float, C_W: float, K0: float | None = None
) -> list[CorrelationFixedPoint]:
    r"""Fixed points of the seed's coupled two-input recursion with the diagonal at K*.

    With :math:`K_{11} = K_{22} = K^*` the off-diagonal entry obeys
    :math:`K_{12}^{(\ell+1)} = C_b + C_W H(K^*, K^*, K_{12}^{(\ell)})`,
    :math:`H = \langle\sigma_1\sigma_2\rangle`; ρ = 1 is always a fixed point with slope χ⊥.
    In the chaotic phase (χ⊥ > 1) a stable fixed point with ρ* < 1 appears.

    Returns
    -------
    list of CorrelationFixedPoint, by increasing ρ

    References
    ----------
    seed 000, "more recursions" (coupled equations); arXiv:2106.10165, ch. 5, sec. 5.1.

    Examples
    --------
    >>> [round(p.rho, 12) for p in correlation_fixed_points("relu", C_b=0.0, C_W=2.0, K0=1.0)]
    [1.0]
    """
    act = _check(activation)
    res = criticality(act, C_b=C_b, C_W=C_W, K0=K0)
    k = res.K_star
    if not (math.isfinite(k) and k > 0):
        raise UnsupportedError(
            "C_W", f"the correlation map needs a finite K* > 0 (got K* = {k}: {res.message})"
        )

    def f(rho: Any) -> np.ndarray:
        rho = np.asarray(rho, dtype=np.float64)
        return (C_b + C_W * pair_expectation(act, k, k, rho * k)) / k - rho

    def slope(rho: float) -> float:
        return float(C_W * pair_expectation(act, k, k, rho * k, derivatives=(1, 1)))

    grid = np.linspace(-1.0, 1.0, 401)
    vals = f(grid)
    rhos = [1.0]
    for i in range(len(grid) - 2):
        if vals[i] == 0.0:
            rhos.append(float(grid[i]))
        elif vals[i] * vals[i + 1] < 0 and float(f(grid[i])) * float(f(grid[i + 1])) < 0:
            rhos.append(brentq(lambda x: float(f(x)), grid[i], grid[i + 1], xtol=1e-14))
    out = []
    for rho in sorted(rhos):
        s = slope(rho)
        out.append(CorrelationFixedPoint(rho * k, rho, s, s < 1.0))
    return out
