r"""Criticality of deep MLPs: fixed points of the kernel recursion, χ∥, χ⊥, phases.

Single-input recursion (seed 000 "solving the recursion"; RYH ch. 5):

.. math:: K^{(\ell+1)} = C_b + C_W\, g(K^{(\ell)}), \qquad g(K) = \langle\sigma(z)^2\rangle_K,

fixed point :math:`K^* = C_b + C_W g(K^*)`, and the two susceptibilities

.. math:: \chi_\parallel = C_W\, g'(K^*) = C_W\langle\sigma'^2 + \sigma\sigma''\rangle_{K^*}
          = \frac{C_W}{K^*}\langle z\,\sigma(z)\sigma'(z)\rangle_{K^*}, \qquad
          \chi_\perp = C_W\langle\sigma'(z)^2\rangle_{K^*},

(:math:`g'(K) = \tfrac12\langle(\sigma^2)''\rangle` by the heat-equation identity
:math:`\partial_K\langle F\rangle_K = \tfrac12\langle F''\rangle_K`, and Stein's lemma
:math:`\langle z F\rangle = K\langle F'\rangle` removes σ''). χ∥ governs the diagonal
:math:`\delta K^{(\ell+1)} = \chi_\parallel \delta K^{(\ell)}`; χ⊥ the approach of two nearby
inputs (the off-diagonal recursion at :math:`K_{12} \to K^*` has slope
:math:`C_W\langle\sigma'\sigma'\rangle = \chi_\perp`). Criticality needs both equal to 1 (the seed
states χ∥ = 1 only, which is enough for one input but not for several).

Phases (labels of :class:`CriticalityResult`): "critical" (χ∥ = χ⊥ = 1), "ordered" (χ⊥ < 1:
inputs become indistinguishable with depth), "chaotic" (χ⊥ > 1: nearby inputs decorrelate),
"marginal" (χ⊥ = 1 ≠ χ∥), "divergent" (no finite fixed point: K grows without bound).

References
----------
D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 5 (criticality, universality classes,
the K* = 0 class and its depth asymptotics, the scale-invariant class, SWISH and GELU).
B. Poole et al., arXiv:1606.05340; S. Schoenholz et al., arXiv:1611.01232 (order–chaos).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.optimize import brentq

from .._validate import nonnegative_float
from ..errors import ArgumentError, UnsupportedError
from .activations import Activation, get_activation
from .gaussian import gaussian_expectation, pair_expectation, single_expectation

__all__ = [
    "CorrelationFixedPoint",
    "CriticalPoint",
    "CriticalityResult",
    "DepthAsymptotics",
    "FixedPointCurve",
    "PhaseDiagram",
    "correlation_fixed_points",
    "critical_point",
    "criticality",
    "depth_asymptotics",
    "fixed_point_curve",
    "phase_diagram",
    "taylor_coefficients",
]

ActivationLike = str | Callable | Activation

_TOL = 1e-8  # |χ − 1| below which a susceptibility counts as 1
_K_MAX = 1e8  # fixed points are searched in [0, K_MAX]
_GRID = np.concatenate(([0.0], np.geomspace(1e-9, _K_MAX, 1001)))
# evaluation noise of f = C_b + C_W g − K, relative to its terms and absolute (× C_W): the
# Gauss–Hermite g of GELU is good to ~1e-13 relative at K = 1e8, closed forms built from
# O(1) differences, like sin's (1 − e^{−2K})/2, to ~1e-16 absolute near K = 0. A sign change of
# f within the noise is not a root; a tangency must bring f within it.
_NOISE = 1e-10
_ABS_NOISE = 1e-15
_CHI_NOISE = 1e-9  # a sign change of χ∥ − 1 smaller than this is quadrature noise


# --------------------------------------------------------------------------------------------
# g, g', ⟨σ'²⟩
# --------------------------------------------------------------------------------------------
def _check(act: ActivationLike) -> Activation:
    act = get_activation(act)
    if act.normalised:
        raise UnsupportedError(
            "activation",
            f"{act.name!r} is normalised by its own variance; criticality is defined for "
            "ordinary activations",
        )
    return act


def _g(act: Activation, K: Any) -> np.ndarray:
    return single_expectation(act, np.asarray(K, dtype=np.float64), power=2)


def _perp(act: Activation, K: float) -> float:
    """⟨σ'(z)²⟩_K (σ'(0)² at K = 0)."""
    if K == 0 and act.piecewise_linear_slopes is None:
        return float(np.asarray(act.derivative(np.zeros(1)))[0] ** 2)
    if K == 0:
        s_neg, s_pos = act.piecewise_linear_slopes
        return 0.5 * (s_neg**2 + s_pos**2)
    return float(single_expectation(act, K, power=2, derivative=1))


def _gprime_array(act: Activation, K: Any) -> np.ndarray:
    r"""g'(K) = ⟨z σ σ'⟩_K / K (Stein's lemma), vectorised over K > 0.

    One Gauss–Hermite call for all K: z = √K u with u ~ N(0, 1), so
    g'(K) = ⟨u σ(√K u) σ'(√K u)⟩/√K.
    """
    K = np.atleast_1d(np.asarray(K, dtype=np.float64))
    slopes = act.piecewise_linear_slopes
    if slopes is not None:
        return np.full(K.shape, 0.5 * (slopes[0] ** 2 + slopes[1] ** 2))
    root = np.sqrt(K)

    def F(z: np.ndarray) -> np.ndarray:
        u = z[:, :1] * root[None, :]
        return u * np.asarray(act(u)) * np.asarray(act.derivative(u)) / K[None, :]

    return np.atleast_1d(np.asarray(gaussian_expectation(F, np.ones((1, 1)))))


def _gprime(act: Activation, K: float) -> float:
    """g'(K); at K = 0 it is σ'(0)² (σ(0) = 0 is required there)."""
    if K == 0 and act.piecewise_linear_slopes is None:
        s0 = float(np.asarray(act(np.zeros(1)))[0])
        if s0 != 0.0:
            raise UnsupportedError("K", "g'(0) needs σ''(0) when σ(0) ≠ 0")
        return _perp(act, 0.0)
    return float(_gprime_array(act, max(K, 1e-300))[0])


# --------------------------------------------------------------------------------------------
# fixed points
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _grid_values(act: Activation) -> tuple[np.ndarray, np.ndarray]:
    """g and g' on the search grid (independent of C_b, C_W; cached per activation).

    Values that overflow at huge K (a closed form, or σ itself on the quadrature nodes, e.g. a
    user σ = sinh) are set to NaN: they never bracket a root, and no overflow warning escapes.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        g = _g(act, _GRID)
        gprime = _gprime_array(act, _GRID[1:])
    return np.where(np.isfinite(g), g, np.nan), np.where(np.isfinite(gprime), gprime, np.nan)


def _noise(g: Any, K: Any, C_b: float, C_W: float) -> Any:
    """Evaluation noise of f(K) = C_b + C_W g(K) − K: ``_NOISE`` relative to its terms, and
    at least ``_ABS_NOISE`` × C_W (closed forms of g built from differences of O(1) terms)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _NOISE * (C_b + C_W * np.abs(g) + K) + _ABS_NOISE * C_W


def _bracketed_root(fun: Callable[[float], float], a: float, b: float) -> float | None:
    """Brent's method on [a, b]; None when the re-evaluated ends do not change sign (the
    bracket was noise), the end itself when f vanishes there."""
    with np.errstate(over="ignore", invalid="ignore"):
        fa, fb = fun(a), fun(b)
        if fa == 0.0 or fb == 0.0:
            return a if fa == 0.0 else b
        if not (np.isfinite(fa) and np.isfinite(fb)) or (fa > 0) == (fb > 0):
            return None
        return float(brentq(fun, a, b, xtol=1e-15, rtol=1e-14))


def _fixed_points(act: Activation, C_b: float, C_W: float) -> tuple[list[float], bool]:
    """All fixed points of K ↦ C_b + C_W g(K) in [0, K_MAX], and whether every K is one.

    Simple roots: sign changes of f between consecutive grid points where ``|f|`` exceeds the
    evaluation noise (``_noise``), refined by Brent's method. Double roots (tangencies):
    sign changes of χ∥(K) − 1 larger than ``_CHI_NOISE`` at which ``|f|`` is within noise.
    Where f only grazes zero within the noise (e.g. GELU at C_b = 0, C_W = 2, whose f → 0⁻ as
    K → ∞, or sin at criticality near K = 0) no spurious root is reported.
    """
    g, gprime = _grid_values(act)
    with np.errstate(over="ignore", invalid="ignore"):
        f = C_b + C_W * g - _GRID
    scale = np.maximum(_GRID, 1.0)
    if np.all(np.abs(f) <= 1e-12 * scale):
        return [], True
    roots: list[float] = []
    if f[0] == 0.0:
        roots.append(0.0)

    def fun(k: float) -> float:
        return float(C_b + C_W * _g(act, k) - k)

    significant = np.nonzero(np.abs(f) > _noise(g, _GRID, C_b, C_W))[0]  # NaN: not significant
    for i, j in itertools.pairwise(significant):
        if (f[i] > 0) != (f[j] > 0) and np.all(np.isfinite(f[i : j + 1])):
            root = _bracketed_root(fun, _GRID[i], _GRID[j])
            if root is not None:
                roots.append(root)
    # tangencies (double roots, e.g. at criticality): extrema of f are zeros of χ∥(K) − 1.
    # Scanned on the coarse grid and, finer, around every crossing and every local minimum
    # of |f| (near a critical point the two extrema of f can be within a few per cent).
    chi = C_W * gprime - 1.0

    def crosses(lo: float, hi: float) -> bool:
        finite = np.isfinite(lo) and np.isfinite(hi)
        return bool(finite and (lo > 0) != (hi > 0) and min(abs(lo), abs(hi)) > _CHI_NOISE)

    candidates = [
        (_GRID[i + 1], _GRID[i + 2]) for i in range(len(chi) - 1) if crosses(chi[i], chi[i + 1])
    ]
    absf = np.abs(f)
    centres = [r for r in roots if abs(C_W * _gprime(act, r) - 1.0) < 0.05]
    centres += [
        _GRID[i]
        for i in range(1, len(f) - 1)
        if absf[i] <= absf[i - 1]
        and absf[i] <= absf[i + 1]
        and absf[i] <= 0.05 * max(_GRID[i], 1.0)
    ]
    for c in centres:
        if c <= 0:
            continue
        fine = np.geomspace(c / 1.1, c * 1.1, 201)
        with np.errstate(over="ignore", invalid="ignore"):
            chi_fine = C_W * _gprime_array(act, fine) - 1.0
        candidates += [
            (fine[i], fine[i + 1])
            for i in range(len(fine) - 1)
            if crosses(chi_fine[i], chi_fine[i + 1])
        ]
    for lo, hi in candidates:
        k = _bracketed_root(lambda x: C_W * _gprime(act, x) - 1.0, lo, hi)
        if k is None:
            continue
        gk = float(_g(act, k))
        near_zero = abs(C_b + C_W * gk - k) <= 10.0 * _noise(gk, k, C_b, C_W)
        if near_zero and all(abs(k - r) > 1e-6 * k for r in roots):
            roots.append(k)
    return sorted(roots), False


@dataclass(frozen=True)
class CriticalityResult:
    r"""Fixed point of the single-input kernel recursion and its susceptibilities.

    Attributes
    ----------
    activation : str
    C_b, C_W : float
    K_star : float
        The fixed point (``inf`` if none is finite; ``K0`` or ``nan`` when every K is fixed).
    chi_parallel, chi_perp : float
        :math:`C_W g'(K^*)` and :math:`C_W\langle\sigma'^2\rangle_{K^*}` (nan if divergent).
    stable : bool
        χ∥ < 1, or χ∥ = 1 with the flow from just above K* returning to it (a marginal
        fixed point with C_b + C_W g(K) > K just above it, like K* = 0 of GELU and SWISH at
        C_b = 0, C_W = 4, is unstable).
    phase : str
        "critical", "ordered", "chaotic", "marginal" or "divergent" (module docstring).
    fixed_points : tuple of float
        Every fixed point found in [0, 1e8].
    message : str
        Plain-language statement of the result (why there is no fixed point, etc.).
    """

    activation: str
    C_b: float
    C_W: float
    K_star: float
    chi_parallel: float
    chi_perp: float
    stable: bool
    phase: str
    fixed_points: tuple[float, ...] = ()
    message: str = field(default="", compare=False)


def _phase(chi_par: float, chi_perp: float) -> str:
    par1 = abs(chi_par - 1.0) <= _TOL
    perp1 = abs(chi_perp - 1.0) <= _TOL
    if par1 and perp1:
        return "critical"
    if perp1:
        return "marginal"
    return "ordered" if chi_perp < 1.0 else "chaotic"


def _escapes_above(act: Activation, r: float, C_b: float, C_W: float) -> bool:
    """Whether the flow just above a marginal fixed point r (χ∥ = 1) moves away from it.

    At χ∥ = 1 the linear term of f(K) = C_b + C_W g(K) − K vanishes and the sign of f above r
    decides: f > 0 pushes every K slightly above r upward (GELU and SWISH at C_b = 0,
    C_W = 1/σ₁² = 4, where f ≈ a₁K² with a₁ > 0: K* = 0 attracts no K > 0). The sign is read
    at the first grid point above r where ``|f|`` exceeds its evaluation noise.
    """
    g, _ = _grid_values(act)
    with np.errstate(over="ignore", invalid="ignore"):
        f = C_b + C_W * g - _GRID
        significant = (_GRID > r * (1.0 + 1e-6)) & (np.abs(f) > _noise(g, _GRID, C_b, C_W))
    idx = np.nonzero(significant)[0]
    return bool(idx.size and f[idx[0]] > 0)


def _is_stable(act: Activation, r: float, C_b: float, C_W: float) -> bool:
    """χ∥ < 1, or χ∥ = 1 (within ``_TOL``) with the flow from above returning to r."""
    chi = C_W * _gprime(act, r)
    if chi < 1.0 - _TOL:
        return True
    return chi <= 1.0 + _TOL and not _escapes_above(act, r, C_b, C_W)


def _select(act: Activation, roots: list[float], C_b: float, C_W: float, K0: float | None) -> float:
    """The fixed point the monotone flow reaches from K0; without K0 the smallest stable one."""
    if K0 is not None:
        f0 = C_b + C_W * float(_g(act, K0)) - K0
        if abs(f0) <= 1e-12 * max(K0, 1.0):
            return K0
        if f0 > 0:
            above = [r for r in roots if r >= K0]
            return above[0] if above else math.inf
        below = [r for r in roots if r <= K0]
        return below[-1] if below else 0.0
    for r in roots:
        if _is_stable(act, r, C_b, C_W):
            return r
    # no stable fixed point: the flow from K above the largest one runs away (g overflowing
    # at K_MAX, NaN on the grid, counts as growing)
    g_max = _grid_values(act)[0][-1]
    grows = not np.isfinite(g_max) or C_b + C_W * g_max > _K_MAX
    return math.inf if grows or not roots else roots[0]


def criticality(
    activation: ActivationLike, *, C_b: float, C_W: float, K0: float | None = None
) -> CriticalityResult:
    r"""Fixed point K*, susceptibilities χ∥, χ⊥, stability and phase at (C_b, C_W).

    Parameters
    ----------
    activation : str, callable or Activation
    C_b : float
        Bias variance (>= 0).
    C_W : float
        Weight variance (> 0).
    K0 : float, optional
        Starting kernel K^(1). With K0 the returned K* is the fixed point the recursion flows
        to from K0 (the map is increasing, so the flow is monotone); without it, the smallest
        stable fixed point (χ∥ ≤ 1), or the smallest one if none is stable.

    Returns
    -------
    CriticalityResult

    Notes
    -----
    Fixed points: sign changes of :math:`f(K) = C_b + C_W g(K) - K` on a log grid of [0, 1e8]
    refined by Brent's method, plus double roots (tangencies, which is what a critical point
    with K* > 0 is) found as the zeros of :math:`\chi_\parallel(K) - 1` where ``|f|`` vanishes.
    Sign changes of f within its evaluation noise (1e-10 relative, 1e-15 C_W absolute) are
    not roots, so f grazing zero (GELU at C_b = 0, C_W = 2 as K → ∞; sin near K = 0 at
    criticality) gives no spurious fixed point; values that overflow count as missing.
    For relu-type σ with C_b = 0 and C_W (s₊² + s₋²)/2 = 1, g is linear and every K is a
    fixed point (scale invariance): K* = K0, or nan without K0. If there is no finite fixed
    point in the direction of the flow (relu with C_W > 2, or C_W = 2 and C_b > 0) the result
    has K* = inf, phase "divergent" and says so in ``message``.

    References
    ----------
    arXiv:2106.10165, ch. 5 (sec. 5.1: χ∥ and χ⊥; sec. 5.2: universality classes); seed 000,
    "solving the recursion" (χ∥ only).

    Examples
    --------
    >>> r = criticality("tanh", C_b=0.0, C_W=1.0)
    >>> r.K_star, r.chi_parallel, r.chi_perp, r.phase
    (0.0, 1.0, 1.0, 'critical')
    >>> criticality("relu", C_b=0.0, C_W=3.0).phase
    'divergent'
    """
    act = _check(activation)
    C_b = nonnegative_float(C_b, "C_b")
    C_W = nonnegative_float(C_W, "C_W", strictly_positive=True)
    if K0 is not None:
        K0 = nonnegative_float(K0, "K0")
    roots, line = _fixed_points(act, C_b, C_W)
    if line:
        chi_par = C_W * _gprime(act, 1.0)
        chi_perp = C_W * _perp(act, 1.0)
        k_star = K0 if K0 is not None else math.nan
        return CriticalityResult(
            act.name,
            C_b,
            C_W,
            k_star,
            chi_par,
            chi_perp,
            True,
            _phase(chi_par, chi_perp),
            (),
            "g is linear and C_b = 0: every K >= 0 is a fixed point (scale invariance)",
        )
    k_star = _select(act, roots, C_b, C_W, K0)
    if not math.isfinite(k_star):
        start = "" if K0 is None else f" reached from K0 = {K0}"
        unstable = f" (the fixed points {roots} are unstable)" if roots else ""
        return CriticalityResult(
            act.name,
            C_b,
            C_W,
            math.inf,
            math.nan,
            math.nan,
            False,
            "divergent",
            tuple(roots),
            f"no finite stable fixed point{start}{unstable}: the kernel K^(ℓ) grows without "
            f"bound with depth (C_b + C_W g(K) > K for large K at C_b = {C_b}, C_W = {C_W})",
        )
    chi_par = C_W * _gprime(act, k_star)
    chi_perp = C_W * _perp(act, k_star)
    phase = _phase(chi_par, chi_perp)
    stable = _is_stable(act, k_star, C_b, C_W)
    note = ""
    if not stable and abs(chi_par - 1.0) <= _TOL:
        note = (
            " (marginally unstable: χ∥ = 1 but C_b + C_W g(K) > K just above K*, so every "
            "larger K grows away from it)"
        )
    return CriticalityResult(
        act.name,
        C_b,
        C_W,
        k_star,
        chi_par,
        chi_perp,
        stable,
        phase,
        tuple(roots),
        f"K* = {k_star:.6g}, χ∥ = {chi_par:.6g}, χ⊥ = {chi_perp:.6g}: {phase}{note}",
    )


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
