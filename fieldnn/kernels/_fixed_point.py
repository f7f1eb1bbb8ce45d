"""The fixed point of the single-input kernel recursion, its susceptibilities and phase:
:func:`criticality` (private module; public through :mod:`fieldnn.kernels.criticality`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._validate import nonnegative_float
from ._criticality_core import (
    _GRID,
    _K_MAX,
    _TOL,
    ActivationLike,
    _check,
    _fixed_points,
    _g,
    _gprime,
    _grid_values,
    _noise,
    _perp,
)
from .activations import Activation


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
