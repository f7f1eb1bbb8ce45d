"""Argument checks shared by the public entry points (private)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .errors import ArgumentError, ArgumentTypeError, ShapeError

MAX_WIDTH = 10**300  # widths enter as float64 factors (σ_W²/N, ratios n_ℓ/n_{ℓ−1})


def positive_int(value: Any, argument: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``argument`` if it is not an int >= minimum
    (and <= ``maximum`` if given; e.g. :data:`MAX_WIDTH` for layer widths)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(argument, f"must be an integer, got {value!r}")
    if value < minimum:
        raise ArgumentError(argument, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        size = f"~10**{len(str(int(value))) - 1}" if value > 10**15 else str(int(value))
        bound = "10**300" if maximum == MAX_WIDTH else str(maximum)
        raise ArgumentError(argument, f"must be <= {bound}, got {size}")
    return int(value)


def nonnegative_float(value: Any, argument: str, *, strictly_positive: bool = False) -> float:
    """Return ``value`` as a finite float >= 0 (> 0 if ``strictly_positive``), or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(argument, f"must be a real number, got {value!r}")
    x = float(value)
    if not np.isfinite(x):
        raise ArgumentError(argument, f"must be finite, got {x}")
    if x < 0 or (strictly_positive and x == 0):
        bound = "> 0" if strictly_positive else ">= 0"
        raise ArgumentError(argument, f"must be {bound}, got {x}")
    return x


def finite_float(value: Any, argument: str) -> float:
    """Return ``value`` as a finite float, or raise naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(argument, f"must be a real number, got {value!r}")
    x = float(value)
    if not np.isfinite(x):
        raise ArgumentError(argument, f"must be finite, got {x}")
    return x


def real_array(value: Any, argument: str) -> np.ndarray:
    """Return ``value`` as a float64 array, refusing None, strings and complex numbers (which a
    plain ``np.asarray(value, float)`` would turn into NaN, a bare ``ValueError`` or a silent cast
    that drops the imaginary part)."""
    if value is None or isinstance(value, str | bytes):
        raise ArgumentTypeError(argument, f"must be an array of real numbers, got {value!r}")
    try:
        if np.iscomplexobj(value):
            raise ArgumentTypeError(argument, f"must be an array of real numbers, got {value!r}")
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ArgumentTypeError):
            raise
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            raise ShapeError(
                argument, "is ragged: every row must have the same length (an array (P, d_in))"
            ) from None
        raise ArgumentTypeError(argument, f"must be an array of real numbers ({exc})") from None


def input_points(X: Any, argument: str = "X", *, d_in: int | None = None) -> np.ndarray:
    """Return inputs as a float64 array of shape (P, d_in), checked for shape and finiteness.

    A 1-d array is read as P scalar inputs (d_in = 1) only when ``d_in`` is 1 or None.
    """
    arr = real_array(X, argument)
    if arr.ndim == 1 and d_in in (None, 1):
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ShapeError(argument, f"must have shape (P, d_in), got shape {arr.shape}")
    if arr.shape[0] < 1:
        raise ShapeError(argument, "must contain at least one input point")
    if arr.shape[1] < 1:
        raise ShapeError(argument, f"must have d_in >= 1 columns, got shape {arr.shape}")
    if d_in is not None and arr.shape[1] != d_in:
        raise ShapeError(argument, f"must have d_in = {d_in} columns, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(argument, "contains NaN or infinite entries")
    return arr


def symmetric_psd(K: Any, argument: str, *, rtol: float = 1e-10) -> np.ndarray:
    """Return ``K`` as a float64 symmetric positive-semidefinite matrix, or raise naming it."""
    arr = real_array(K, argument)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ShapeError(argument, f"must be a square matrix, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(argument, "contains NaN or infinite entries")
    scale = max(float(np.max(np.abs(arr))), 1e-300)
    if not np.allclose(arr, arr.T, rtol=0.0, atol=rtol * scale):
        raise ArgumentError(argument, "must be symmetric")
    arr = 0.5 * (arr + arr.T)
    if arr.shape[0] and np.linalg.eigvalsh(arr)[0] < -1e-9 * scale:
        raise ArgumentError(argument, "must be positive semidefinite")
    return arr
