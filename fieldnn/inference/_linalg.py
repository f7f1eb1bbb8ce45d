"""Shared pieces of the infinite-width predictions: network dimensions, joint kernels, checked
symmetric solves (private)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validate import input_points, nonnegative_float, real_array
from ..errors import ArgumentError, ArgumentTypeError, ShapeError


def net_dims(net: Any) -> tuple[int, int]:
    """(d_in, d_out) of an :class:`fieldnn.MLP` (``widths``) or a seed-001 net (``d_in``)."""
    if not callable(getattr(net, "kernel", None)) or not (
        hasattr(net, "widths") or hasattr(net, "d_in")
    ):
        raise ArgumentTypeError(
            "mlp", f"must be an MLP or a SingleLayerNet, got {type(net).__name__}"
        )
    widths = getattr(net, "widths", None)
    if widths is not None:
        return int(widths[0]), int(widths[-1])
    return int(net.d_in), int(getattr(net, "d_out", 1))


def train_test_inputs(
    net: Any, X_train: Any, X_test: Any, test_argument: str = "X_test"
) -> tuple[np.ndarray, np.ndarray]:
    """Checked training inputs XA (P, d_in) and test inputs XB (Q, d_in) of ``net``."""
    d_in, _ = net_dims(net)
    return (
        input_points(X_train, "X_train", d_in=d_in),
        input_points(X_test, test_argument, d_in=d_in),
    )


def conditioning_data(
    net: Any, X_train: Any, y_train: Any, X_test: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The checked arguments of an infinite-width prediction (GP posterior, gradient flow):
    XA (P, d_in), XB (Q, d_in), targets y (P, 1 or d_out) and whether y was 1-d."""
    XA, XB = train_test_inputs(net, X_train, X_test)
    _, d_out = net_dims(net)
    y, squeeze = train_targets(y_train, XA.shape[0], d_out)
    return XA, XB, y, squeeze


def train_targets(
    y: Any, n_points: int, d_out: int, argument: str = "y_train"
) -> tuple[np.ndarray, bool]:
    """Targets as (P, d_out) and whether the caller passed a 1-d vector (then outputs squeeze)."""
    arr = real_array(y, argument)
    squeeze = arr.ndim == 1
    if squeeze:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_points or arr.shape[1] not in (1, d_out):
        raise ShapeError(
            argument, f"must have shape ({n_points},) or ({n_points}, {d_out}), got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(argument, "contains NaN or infinite entries")
    return arr, squeeze


def joint(matrix_fn: Any, XA: np.ndarray, XB: np.ndarray) -> tuple[np.ndarray, ...]:
    """Blocks (AA, AB, BB) of ``matrix_fn`` evaluated once on the stacked inputs [XA; XB]."""
    full = np.asarray(matrix_fn(np.concatenate([XA, XB], axis=0)), dtype=np.float64)
    p = XA.shape[0]
    if full.ndim != 2 or full.shape[0] != full.shape[1] or full.shape[0] != p + XB.shape[0]:
        raise ShapeError("mlp", f"kernel of the joint inputs has shape {full.shape}")
    return full[:p, :p], full[:p, p:], full[p:, p:]


def checked_eigh(A: np.ndarray, argument: str, rcond: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a symmetric matrix that must be numerically positive definite.

    Raises :class:`~fieldnn.errors.ArgumentError` naming ``argument`` when
    λ_min ≤ rcond · λ_max (duplicate or nearly collinear inputs), instead of returning NaN or
    an answer dominated by round-off.
    """
    rcond = nonnegative_float(rcond, "rcond")
    if rcond >= 1:
        raise ArgumentError("rcond", f"must be in [0, 1), got {rcond}")
    A = 0.5 * (A + A.T)
    w, U = np.linalg.eigh(A)
    if not np.all(np.isfinite(w)) or w[-1] <= 0 or w[0] <= rcond * w[-1]:
        # below n·ε·λ_max the smallest eigenvalue is rounding (its value and sign depend on
        # the LAPACK build): say so rather than print it
        floor = A.shape[0] * np.finfo(np.float64).eps
        cond = (
            f"{w[-1] / w[0]:.3g}"
            if np.isfinite(w[0]) and w[0] > floor * max(w[-1], 0.0)
            else f"above {1 / floor:.3g}: singular to rounding"
        )
        raise ArgumentError(
            argument,
            f"the matrix on the training inputs is numerically singular (condition number "
            f"{cond}; 1/rcond = {1 / rcond if rcond else math.inf:.3g}): remove duplicate "
            "or nearly collinear training inputs, or add noise/jitter",
        )
    return w, U
