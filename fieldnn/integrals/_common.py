"""Shared parts of the cutoff-box integrals: the result type, argument checks, leg products,
the axis subdivision and the decay checks (private; see :mod:`fieldnn.integrals`)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import nonnegative_float
from ..errors import (
    ArgumentError,
    ArgumentTypeError,
    ShapeError,
)
from . import _rules

Kernel = Callable[[np.ndarray, np.ndarray], Any]


@dataclass(frozen=True)
class IntegralResult:
    """Values of T integrals with their error estimates.

    Attributes
    ----------
    values : ndarray, shape (T,)
        The integrals, one per tuple of external points.
    errors : ndarray, shape (T,)
        Error estimates. Deterministic quadrature: the sum over boxes of ``|Kronrod − Gauss|``, an
        upper estimate of the error of the returned (Kronrod) value. Quasi-Monte Carlo: one
        standard error (σ/√R over R independent scramblings).
    method : str
        The rule used (``"gauss-kronrod-15 tensor adaptive"``, ``"... + duffy diagonal"``,
        ``"rqmc-sobol"`` …).
    cutoff : float
        Λ (``math.inf`` for the whole space).
    d_in : int
        Dimension of the input space (of each integration variable).
    n_evaluations : int
        Integration nodes used (points y, or pairs (y, z) for two-vertex integrals); each node
        costs one kernel evaluation per distinct external point.
    converged : bool
        Whether every requested tolerance was met (if not, an ``IntegrationWarning`` was issued).
    """

    values: np.ndarray
    errors: np.ndarray
    method: str
    cutoff: float
    d_in: int
    n_evaluations: int
    converged: bool = True


# ----------------------------------------------------------------------------- validation


def _check_kernel(kernel: Any) -> None:
    if not callable(kernel):
        raise ArgumentTypeError(
            "kernel", f"must be a callable kernel(X (P, d), Y (Q, d)) -> (P, Q), got {kernel!r}"
        )


def _points(value: Any, argument: str, d_in: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(argument, f"must be an array of real numbers ({exc})") from None
    if arr.ndim != 3:
        raise ShapeError(
            argument,
            f"must have shape (T, k, d_in) (T tuples of k points; use x[None] for one tuple), "
            f"got shape {arr.shape}",
        )
    if min(arr.shape) < 1:
        raise ShapeError(argument, f"needs T >= 1, k >= 1 and d_in >= 1, got shape {arr.shape}")
    if d_in is not None and arr.shape[2] != d_in:
        raise ShapeError(argument, f"must have d_in = {d_in} in its last axis, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(argument, "contains NaN or infinite entries")
    return arr


def _cutoff(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError("cutoff", f"must be a real number > 0 or math.inf, got {value!r}")
    x = float(value)
    if math.isnan(x) or x <= 0:
        raise ArgumentError("cutoff", f"must be > 0 (or math.inf), got {x}")
    return x


def _tolerances(rtol: Any, atol: Any) -> tuple[float, float]:
    r = nonnegative_float(rtol, "rtol")
    a = nonnegative_float(atol, "atol")
    if r == 0 and a == 0:
        raise ArgumentError("rtol", "rtol and atol cannot both be 0")
    return r, a


class _KernelCalls:
    """The user's kernel with its output checked (shape (P, Q), finite) on every call."""

    def __init__(self, kernel: Kernel, kernel_diagonal: Callable | None = None) -> None:
        self.kernel = kernel
        self.kernel_diagonal = kernel_diagonal

    def matrix(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        out = np.asarray(self.kernel(X, Y), dtype=np.float64)
        if out.shape != (X.shape[0], Y.shape[0]):
            raise ShapeError(
                "kernel",
                f"kernel(X, Y) must return shape (P, Q) = ({X.shape[0]}, {Y.shape[0]}) for X of "
                f"shape {X.shape} and Y of shape {Y.shape}, got {out.shape}",
            )
        if not np.all(np.isfinite(out)):
            raise ArgumentError("kernel", "returned NaN or infinite values")
        return out

    def diagonal(self, Y: np.ndarray) -> np.ndarray:
        if self.kernel_diagonal is not None:
            out = np.asarray(self.kernel_diagonal(Y), dtype=np.float64)
            if out.shape != (Y.shape[0],) or not np.all(np.isfinite(out)):
                raise ShapeError(
                    "kernel_diagonal", f"must return finite values of shape ({Y.shape[0]},)"
                )
            return out
        step = 64  # the matrix-only kernel API: 64 × the entries needed, few Python calls
        return np.concatenate(
            [
                np.diagonal(self.matrix(Y[s : s + step], Y[s : s + step]))
                for s in range(0, Y.shape[0], step)
            ]
        )


def _union(*arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Distinct points of several (T, k, d) arrays and, per array, indices (T, k) into them."""
    d = arrays[0].shape[2]
    flat = np.concatenate([a.reshape(-1, d) for a in arrays])
    Xu, inv = np.unique(flat, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    out, start = [], 0
    for a in arrays:
        n = a.shape[0] * a.shape[1]
        out.append(inv[start : start + n].reshape(a.shape[0], a.shape[1]))
        start += n
    return Xu, out


class _LegProduct:
    """Π_a D[idx[t, a], :] for every tuple t, shape (T, N), by binary splitting.

    The legs of each tuple are sorted and split into two halves; the distinct half-multisets are
    multiplied out once (recursively) and shared by all tuples containing them. For the 126
    multisets of four of six inputs that is 21 + 21 pair products and 126 final products per
    node instead of 126 × 3.
    """

    def __init__(self, idx: np.ndarray) -> None:
        idx = np.sort(idx, axis=1)
        self.leaf = idx[:, 0] if idx.shape[1] == 1 else None
        if self.leaf is None:
            h = idx.shape[1] // 2
            left, li = np.unique(idx[:, :h], axis=0, return_inverse=True)
            right, ri = np.unique(idx[:, h:], axis=0, return_inverse=True)
            self.left, self.right = _LegProduct(left), _LegProduct(right)
            self.li, self.ri = li.reshape(-1), ri.reshape(-1)

    def __call__(self, D: np.ndarray) -> np.ndarray:
        if self.leaf is not None:
            return np.take(D, self.leaf, axis=0)
        out = np.take(self.left(D), self.li, axis=0)
        out *= np.take(self.right(D), self.ri, axis=0)
        return out


def _axis_edges(
    breakpoints: Any, Xu: np.ndarray, cutoff: float, amap: _rules.AxisMap | None
) -> list[np.ndarray]:
    """Per-axis panel edges in the integration variable (y, or t when Λ = ∞)."""
    d = Xu.shape[1]
    if isinstance(breakpoints, str) and breakpoints == "auto":
        ladder = np.zeros(1)
        if math.isfinite(cutoff):
            top = 10.0 ** np.arange(0, math.floor(math.log10(cutoff)) + 1)
            ladder = np.concatenate([[0.0], top, -top])
        per_axis = [np.concatenate([ladder, Xu[:, 0]])] if d == 1 else [ladder] * d
    elif breakpoints is None:
        per_axis = [np.zeros(0)] * d
    elif isinstance(breakpoints, str):
        raise ArgumentError("breakpoints", f"must be 'auto', None or numbers, got {breakpoints!r}")
    else:
        try:
            seq = list(breakpoints)
            if all(isinstance(b, numbers.Real) for b in seq):
                per_axis = [np.asarray(seq, dtype=np.float64)] * d
            else:
                per_axis = [np.asarray(b, dtype=np.float64).reshape(-1) for b in seq]
        except (TypeError, ValueError) as exc:
            raise ArgumentTypeError(
                "breakpoints", f"must be 'auto', None, or sequence(s) of numbers ({exc})"
            ) from None
        if len(per_axis) != d:
            raise ShapeError(
                "breakpoints", f"must be one sequence of numbers or {d} sequences (one per axis)"
            )
        if not all(np.all(np.isfinite(b)) for b in per_axis):
            raise ArgumentError("breakpoints", "contains NaN or infinite entries")
    edges = []
    for b in per_axis:
        inside = b[np.abs(b) < cutoff]
        if amap is None:
            e = np.concatenate([[-cutoff], inside, [cutoff]])
        else:
            e = np.concatenate([[-1.0], amap.t(inside), [1.0]])
        e = np.unique(e)
        keep = np.concatenate([[True], np.diff(e) > 1e-12 * np.maximum(1.0, np.abs(e[1:]))])
        edges.append(e[keep])
    return edges


def _directions(d: int) -> np.ndarray:
    """Fixed directions for the decay test: ± axes, the 2^d diagonals (d ≤ 6), 16 random ones."""
    dirs = [np.eye(d), -np.eye(d)]
    if d <= 6:
        signs = np.array(np.meshgrid(*([[-1.0, 1.0]] * d), indexing="ij")).reshape(d, -1).T
        dirs.append(signs / np.sqrt(d))
    rnd = np.random.default_rng(20080818).standard_normal((16, d))
    dirs.append(rnd / np.linalg.norm(rnd, axis=1, keepdims=True))
    return np.concatenate(dirs)


def _check_decay(f: Callable[[np.ndarray], np.ndarray], d: int, scale: float, what: str) -> None:
    r"""Raise if the integrand does not decay faster than |y|^{−d − 1/2} along some direction.

    Along each test direction the decay exponent p = log(|f(R1 u)| / |f(R2 u)|) / log(R2 / R1)
    is measured at R1 = 10³ s, R2 = 10⁶ s (s the scale of the external points); p ≤ d + 1/2
    means the integral over ℝ^d diverges (or converges too slowly to be computed).
    """
    u = _directions(d)
    r1, r2 = 1e3 * scale, 1e6 * scale
    try:
        f1, f2 = np.abs(f(r1 * u)), np.abs(f(r2 * u))
    except ArgumentError as exc:
        if exc.argument != "kernel":
            raise
        raise ArgumentError(
            "cutoff",
            f"the kernel is not finite at |y| = {r2:.3g} ({exc}), so the integral over the whole "
            "space (cutoff=inf) cannot converge; use a finite cutoff Λ",
        ) from None
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.log(f1 / f2) / np.log(r2 / r1)
    slow = (f2 > 0) & ~(p > d + 0.5)
    bad = np.flatnonzero(slow.any(axis=1))
    if bad.size:
        worst = float(np.nanmin(np.where(slow, p, np.nan)))
        raise ArgumentError(
            "cutoff",
            f"the integral over the whole space (cutoff=inf) diverges for these legs: {what} "
            f"{bad[:10].tolist()}{' …' if bad.size > 10 else ''} decay(s) only like |y|^{{-p}} "
            f"with p ≈ {worst:.3g} along some direction (convergence needs p > d_in = {d}); use "
            "a finite cutoff Λ, or "
            "legs K − σ_b² (subtract=σ_b², i.e. legs='subtract_bias') where they decay "
            "(Gauss-net)",
        )


def _finish(cub: _rules.Cubature, method: str, cutoff: float, d: int, what: str):
    if not cub.converged:
        _rules.not_converged_warning(what, cub.errors, cub.values)
    return IntegralResult(
        values=cub.values,
        errors=cub.errors,
        method=method,
        cutoff=cutoff,
        d_in=d,
        n_evaluations=int(cub.n_nodes),
        converged=cub.converged,
    )
