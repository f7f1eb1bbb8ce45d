"""The single-input kernel map g(K) = ⟨σ²⟩_K, its derivative, and the search for its fixed
points (private; see :mod:`fieldnn.kernels.criticality`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.optimize import brentq

from ..errors import UnsupportedError
from .activations import Activation, get_activation
from .gaussian import gaussian_expectation, single_expectation

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
