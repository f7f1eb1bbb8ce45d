r"""Gaussian-process kernels of the single-hidden-layer (seed-001) networks.

Convention (seed 001, ``docs/conventions.md``): f(x) = W1 σ(W0 x + b0) + b1,
W0 ~ N(0, σ_W²/d_in), W1 ~ N(0, σ_W²/N), b0, b1 ~ N(0, σ_b²).

.. math:: C(x, y) = \sigma_b^2 + \sigma_W^2\, \frac{x\cdot y}{d_{in}}, \qquad
          K(x, y) = \sigma_b^2 + \sigma_W^2\, \langle \sigma(z_x)\sigma(z_y)\rangle_C .

References
----------
J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, eqs. (2.18)–(2.20) (seed 001: K_Erf,
K_Gauss, K_ReLU); R. M. Neal, "Bayesian learning for neural networks" (1996).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._compat import renamed_argument
from .._validate import input_points, nonnegative_float
from ..errors import ArgumentError
from .activations import Activation, get_activation
from .gaussian import pair_expectation

__all__ = ["preactivation_covariance", "single_layer_kernel"]


def _points(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = input_points(X, "X")
    Y = X if Y is None else input_points(Y, "Y", d_in=X.shape[1])
    return X, Y


def preactivation_covariance(
    X: Any, Y: Any = None, *, sigma_w2: float, sigma_b2: float
) -> np.ndarray:
    r"""Pre-activation covariance C(x, y) = σ_b² + σ_W² x·y/d_in of the hidden units.

    Parameters
    ----------
    X : array_like (P, d_in)
        Inputs (a 1-d array is P scalar inputs).
    Y : array_like (Q, d_in), optional
        Second set of inputs; default X.
    sigma_w2, sigma_b2 : float
        σ_W² and σ_b² (>= 0).

    Returns
    -------
    ndarray (P, Q)

    Examples
    --------
    >>> preactivation_covariance([[1.0], [2.0]], sigma_w2=1.0, sigma_b2=0.5).tolist()
    [[1.5, 2.5], [2.5, 4.5]]
    """
    sw = nonnegative_float(sigma_w2, "sigma_w2")
    sb = nonnegative_float(sigma_b2, "sigma_b2")
    return _covariance(*_points(X, Y), sw, sb)


def variance_argument(X: np.ndarray, sw: float, sb: float = 0.0) -> str:
    """The argument to name when the variance σ_b² + σ_W² ``|x|²``/d_in is out of range: the
    largest of its factors — "X" if max ``|x|²``/d_in >= σ_W², else "sigma_w2" — or
    "sigma_b2" when σ_b² alone exceeds the σ_W² term."""
    with np.errstate(over="ignore"):
        x2 = float(np.max(np.sum(X * X, axis=1))) / X.shape[1]
        weight_term = sw * x2
    if sb > weight_term:
        return "sigma_b2"
    return "X" if x2 >= sw else "sigma_w2"


def _covariance(X: np.ndarray, Y: np.ndarray, sw: float, sb: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        C = sb + sw * (X @ Y.T) / X.shape[1]
    if not np.all(np.isfinite(C)):
        raise ArgumentError(
            variance_argument(np.vstack([X, Y]), sw, sb),
            "the pre-activation covariance σ_b² + σ_W² x·y/d_in overflows float64 "
            f"(max |x| = {float(np.max(np.abs(np.vstack([X, Y])))):.3g}, σ_W² = {sw:.3g}); "
            "rescale the inputs or σ_W²",
        )
    return C


@renamed_argument("act", "activation")
def single_layer_kernel(
    activation: str | Callable | Activation,
    X: Any,
    Y: Any = None,
    *,
    sigma_w2: float,
    sigma_b2: float,
) -> np.ndarray:
    r"""GP kernel K(x, y) = σ_b² + σ_W² ⟨σ(z_x)σ(z_y)⟩ of the seed-001 single-layer net.

    Parameters
    ----------
    activation : str, callable or Activation
        "erf", "relu", "gauss" (Gauss-net unit e^{z − q(x)}), any registry name or callable.
    X : array_like (P, d_in)
    Y : array_like (Q, d_in), optional
    sigma_w2, sigma_b2 : float

    Returns
    -------
    ndarray (P, Q)

    Notes
    -----
    With q(x) = C(x, x): Erf-net :math:`\tfrac{2}{\pi}\arcsin\frac{2C(x,y)}{\sqrt{(1+2q(x))
    (1+2q(y))}}`; ReLU-net :math:`\frac{\sqrt{q(x)q(y)}}{2\pi}(\sin\theta+(\pi-\theta)\cos\theta)`;
    Gauss-net :math:`e^{C(x,y) - (q(x)+q(y))/2} = e^{-\sigma_W^2|x-y|^2/(2 d_{in})}`; others by
    :func:`~fieldnn.kernels.pair_expectation`.

    Examples
    --------
    >>> import numpy as np
    >>> K = single_layer_kernel("gauss", [[0.0], [1.0]], sigma_w2=1.0, sigma_b2=1.0)
    >>> bool(np.isclose(K[0, 1], 1.0 + np.exp(-0.5)))
    True
    """
    act = get_activation(activation)
    sw = nonnegative_float(sigma_w2, "sigma_w2")
    sb = nonnegative_float(sigma_b2, "sigma_b2")
    X, Y = _points(X, Y)
    C = _covariance(X, Y, sw, sb)
    qx = sb + sw * np.sum(X * X, axis=1) / X.shape[1]  # q(x) = C(x, x), finite with C
    qy = sb + sw * np.sum(Y * Y, axis=1) / Y.shape[1]
    # clip |C| <= √(qx qy) against rounding before the PSD check of pair_expectation
    # (√qx √qy where the product qx qy overflows)
    with np.errstate(over="ignore"):
        bound = np.sqrt(np.outer(qx, qy))
    bound = np.where(np.isfinite(bound), bound, np.outer(np.sqrt(qx), np.sqrt(qy)))
    C = np.clip(C, -bound, bound)
    with np.errstate(over="ignore"):
        K = sb + sw * pair_expectation(act, qx[:, None], qy[None, :], C)
    if not np.all(np.isfinite(K)):
        raise ArgumentError(
            variance_argument(np.vstack([X, Y]), sw, sb),
            f"the kernel of activation {act.name!r} overflows float64 at these inputs "
            f"(max pre-activation variance {float(max(qx.max(), qy.max())):.3g}); "
            "rescale the inputs or σ_W²",
        )
    return K
