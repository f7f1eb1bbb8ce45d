r"""Where the effective action holds: S at orders 0, 1, 2 against the exact output density.

For a single-hidden-layer net at one input x the exact density p(f) is known at every width
(:func:`~fieldnn.effective.exact_density`), so the effective action S(f) of
:func:`~fieldnn.effective.effective_action` (probability ∝ e^{−S}) can be held against it
without sampling. The constant of S drops out of differences, and the error at width N is

.. math:: \epsilon_k(N) = \max_{f\in F}\Big|\big[\log p(f) - \log p(0)\big]
          + \big[S_k(f) - S_k(0)\big]\Big|,

with :math:`S_0 = f^2/(2K)` the Gaussian process, :math:`S_1, S_2` the action to order 1/N and
1/N² and F a grid of outputs (default :math:`f/\sqrt K \in \{0.25, 0.5, \dots, 2\}`). Since
log p has an asymptotic expansion in 1/N at fixed f (Edgeworth), :math:`\epsilon_k = O(N^{-k-1})`
— once N is large enough that the series is asymptotic. The Gauss-net, whose unit moments are
:math:`\langle s^k\rangle = e^{k(k-2)q/2}`, shows how large that is
(docs/effective_action.md, "Where the effective action holds").

References
----------
Demirtas, Halverson, Maiti, Schwartz, Stoner, arXiv:2307.03223, sec. 3 (the Edgeworth-motivated
action); Halverson, Maiti, Stoner, arXiv:2008.08601, sec. 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import input_points, positive_int, real_array
from ..errors import ArgumentError, ShapeError

__all__ = ["DensityComparison", "DensityCurves", "compare_with_density", "density_curves"]

_DEFAULT_F = np.linspace(0.25, 2.0, 8)


@dataclass(frozen=True)
class DensityComparison:
    r"""Errors :math:`\epsilon_k(N)` of the effective action at orders k = 0, 1, 2.

    Attributes
    ----------
    activation : str
    x : ndarray (d_in,)
        The input.
    sigma_w2, sigma_b2 : float
    widths : ndarray (W,)
    f_over_sqrt_k : ndarray (F,)
        The outputs compared, in units of √K(x, x).
    errors : ndarray (W, 3)
        :math:`\epsilon_0, \epsilon_1, \epsilon_2` per width (module docstring).
    """

    activation: str
    x: np.ndarray
    sigma_w2: float
    sigma_b2: float
    widths: np.ndarray
    f_over_sqrt_k: np.ndarray
    errors: np.ndarray

    def crossover(self, order: int) -> float | None:
        """Smallest width of the grid from which on order ``order`` (1 or 2) beats order − 1 at
        every larger width of the grid; None if it never does."""
        k = _order(order)
        better = self.errors[:, k] < self.errors[:, k - 1]
        for i in range(len(better)):
            if np.all(better[i:]):
                return float(self.widths[i])
        return None

    def exponent(self, order: int, *, widths: tuple[float, float] | None = None) -> float:
        """Least-squares slope of log ε_order against log N over the widths in [lo, hi]."""
        k = _order(order, allow_zero=True)
        lo, hi = (self.widths[0], self.widths[-1]) if widths is None else widths
        keep = (self.widths >= lo) & (self.widths <= hi)
        if keep.sum() < 2:
            raise ArgumentError("widths", f"needs two widths of the grid in [{lo}, {hi}]")
        return float(np.polyfit(np.log(self.widths[keep]), np.log(self.errors[keep, k]), 1)[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record (errors per order, crossovers, convention)."""
        return {
            "activation": self.activation,
            "x": self.x.tolist(),
            "sigma_w2": self.sigma_w2,
            "sigma_b2": self.sigma_b2,
            "widths": self.widths.tolist(),
            "f_over_sqrt_K": self.f_over_sqrt_k.tolist(),
            "error_order0": self.errors[:, 0].tolist(),
            "error_order1": self.errors[:, 1].tolist(),
            "error_order2": self.errors[:, 2].tolist(),
            "crossover_order1": self.crossover(1),
            "crossover_order2": self.crossover(2),
            "error": "max_f |[log p(f) - log p(0)] + [S(f) - S(0)]|",
        }


def _order(order: Any, *, allow_zero: bool = False) -> int:
    k = positive_int(order, "order", minimum=0 if allow_zero else 1)
    if k > 2:
        raise ArgumentError("order", f"must be {'0, ' if allow_zero else ''}1 or 2, got {k}")
    return k


def action_differences(net: Any, X: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(3, M): S_k(f) − S_k(0) for k = 0 (GP), 1, 2 at the one input X (1, d_in)."""
    from ._action import effective_action

    K = float(net.kernel(X)[0, 0])
    grid = np.concatenate([[0.0], f])[:, None]
    rows = [f * f / (2.0 * K)]
    for k in (1, 2):
        s = effective_action(net, X, order=k)(grid)
        rows.append(s[1:] - s[0])
    return np.array(rows)


def compare_with_density(
    activation: Any,
    x: Any,
    widths: Any,
    *,
    sigma_w2: float = 1.0,
    sigma_b2: float = 1.0,
    f_over_sqrt_k: Any = None,
) -> DensityComparison:
    r"""Errors of the effective action at orders 0, 1, 2 against the exact density, per width.

    Parameters
    ----------
    activation : str or callable
        Activation of the single-hidden-layer net (seed-001 convention, zero means).
    x : array_like (d_in,) or (1, d_in)
        The one input.
    widths : sequence of int
        Hidden widths N (increasing).
    sigma_w2, sigma_b2 : float
    f_over_sqrt_k : array_like (F,), optional
        Outputs compared, in units of √K(x, x); default 0.25, 0.5, …, 2.

    Returns
    -------
    DensityComparison

    Notes
    -----
    :math:`\epsilon_k(N) = \max_f |[\log p(f) - \log p(0)] + [S_k(f) - S_k(0)]|`, p from
    :func:`~fieldnn.effective.exact_density`, :math:`S_k` from
    :func:`~fieldnn.effective.effective_action` (:math:`S_0 = f^2/2K`).

    Examples
    --------
    >>> cmp = compare_with_density("erf", [1.0], [20, 40, 80])
    >>> round(cmp.exponent(1), 1), round(cmp.exponent(2), 1)
    (-2.0, -3.0)
    """
    from ..ensembles.architectures import SingleLayerNet

    X = input_points(np.atleast_2d(real_array(x, "x")), "x")
    if X.shape[0] != 1:
        raise ShapeError("x", f"must be one input, got shape {X.shape}")
    Ns = real_array(widths, "widths")
    if Ns.ndim != 1 or Ns.size < 1:
        raise ShapeError("widths", f"must be a 1-d sequence of widths, got shape {Ns.shape}")
    Ns = np.array([positive_int(int(n), "widths") for n in Ns if n == int(n)])
    if Ns.size != np.asarray(widths).size or np.any(np.diff(Ns) <= 0):
        raise ArgumentError("widths", "must be increasing integers >= 1")
    g = _DEFAULT_F if f_over_sqrt_k is None else real_array(f_over_sqrt_k, "f_over_sqrt_k")
    errors = np.empty((Ns.size, 3))
    act = None
    for i, N in enumerate(Ns):
        net = SingleLayerNet(
            activation, width=int(N), d_in=X.shape[1], sigma_w2=sigma_w2, sigma_b2=sigma_b2
        )
        act = net.activation.name
        f = g * np.sqrt(float(net.kernel(X)[0, 0]))
        logp = net.exact_density(X, np.concatenate([[0.0], f]), log=True)
        exact = logp[1:] - logp[0]
        errors[i] = np.max(np.abs(exact[None, :] + action_differences(net, X, f)), axis=1)
    return DensityComparison(
        str(act), X[0].copy(), float(sigma_w2), float(sigma_b2), Ns, np.asarray(g), errors
    )


@dataclass(frozen=True)
class DensityCurves:
    r"""−log p(f) + log p(0) (exact) and S_k(f) − S_k(0) (k = 1, 2) over f, per width.

    Attributes
    ----------
    activation : str
    x : ndarray (d_in,)
    widths : ndarray (W,)
    f_over_sqrt_k : ndarray (F,)
        Outputs in units of √K(x, x) (K does not depend on the width).
    exact : ndarray (W, F)
    action : ndarray (W, 2, F)
        Orders 1 and 2.
    """

    activation: str
    x: np.ndarray
    widths: np.ndarray
    f_over_sqrt_k: np.ndarray
    exact: np.ndarray
    action: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record."""
        return {
            "activation": self.activation,
            "x": self.x.tolist(),
            "widths": self.widths.tolist(),
            "f_over_sqrt_K": self.f_over_sqrt_k.tolist(),
            "minus_log_p_exact": self.exact.tolist(),
            "S_order1": self.action[:, 0].tolist(),
            "S_order2": self.action[:, 1].tolist(),
        }


def density_curves(
    activation: Any,
    x: Any,
    widths: Any = (2, 10, 100, 1000),
    *,
    sigma_w2: float = 1.0,
    sigma_b2: float = 1.0,
    f_over_sqrt_k: Any = None,
) -> DensityCurves:
    r"""−log p(f) exact against the action S(f) at orders 1 and 2, both zero at f = 0.

    Parameters
    ----------
    activation, x, sigma_w2, sigma_b2
        As in :func:`compare_with_density`.
    widths : sequence of int
        Default 2, 10, 100, 1000.
    f_over_sqrt_k : array_like (F,), optional
        Default 121 points on [−3, 3].

    Returns
    -------
    DensityCurves
    """
    from ..ensembles.architectures import SingleLayerNet

    X = input_points(np.atleast_2d(real_array(x, "x")), "x")
    if X.shape[0] != 1:
        raise ShapeError("x", f"must be one input, got shape {X.shape}")
    g = np.linspace(-3.0, 3.0, 121) if f_over_sqrt_k is None else real_array(f_over_sqrt_k, "f")
    Ns = [positive_int(n, "widths") for n in widths]
    exact, action = [], []
    act = None
    for N in Ns:
        net = SingleLayerNet(
            activation, width=N, d_in=X.shape[1], sigma_w2=sigma_w2, sigma_b2=sigma_b2
        )
        act = net.activation.name
        f = g * np.sqrt(float(net.kernel(X)[0, 0]))
        logp = net.exact_density(X, np.concatenate([[0.0], f]), log=True)
        exact.append(logp[0] - logp[1:])
        action.append(action_differences(net, X, f)[1:])
    return DensityCurves(
        str(act), X[0].copy(), np.array(Ns), np.asarray(g), np.array(exact), np.array(action)
    )
