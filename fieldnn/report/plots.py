"""Plots of what users compute themselves: a λ measurement, a sampled correlator estimate against
the exact one, a criticality result.

Each function draws on ``ax`` (a new figure when None) and returns the axes; no ``plt.show()``,
no global style changes. Legends name physics, not internal keys; error bars that the estimate's
tail diagnostic rejects (:meth:`CorrelatorEstimate.reliable`) are drawn hollow and say so.
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from typing import Any

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError

__all__ = ["activation_label", "plot_correlators", "plot_criticality", "plot_lambda"]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4.0))
    return ax


def activation_label(activation: Any) -> str:
    """A readable name of an activation for titles and legends: the registry name, the
    ``Activation``'s name, or a callable's ``__name__`` (never ``<function f at 0x…>``)."""
    if isinstance(activation, str):
        return activation
    name = getattr(activation, "name", None) or getattr(activation, "__name__", None)
    return str(name) if name else type(activation).__name__


def plot_lambda(meas: Any, ax: Any = None) -> Any:
    """λ_m per input tuple with its standard error (sampled input), the mean λ̄ and the band of
    ±1 spread over tuples.

    Parameters
    ----------
    meas : fieldnn.LambdaMeasurement
    ax : matplotlib axes, optional
    """
    values = getattr(meas, "values", None)
    if values is None or not hasattr(meas, "mean"):
        raise ArgumentTypeError("meas", "expected a LambdaMeasurement (fnn.measure_lambda)")
    ax = _axes(ax)
    x = np.arange(len(values))
    if meas.stderr is None:
        ax.plot(x, values, "o", ms=3, color="C0", label=r"$\lambda_m$ per tuple (exact)")
    else:
        ax.errorbar(x, values, yerr=meas.stderr, fmt="o", ms=3, color="C0", capsize=1,
                    label=r"$\lambda_m$ per tuple (sampled, $\pm 1\sigma$)")  # fmt: skip
    ax.axhline(meas.mean, color="C1", lw=1.2, label=rf"$\bar\lambda = {meas.mean:.4g}$")
    ax.axhspan(meas.mean - meas.std, meas.mean + meas.std, color="C1", alpha=0.15,
               label=rf"spread over tuples ({100 * meas.relative_spread:.3g} %)")  # fmt: skip
    ax.set_xlabel("input tuple (multiset of four inputs)")
    ax.set_ylabel(r"$\lambda_m$ (dimensionless)")
    ax.set_title(rf"{'constant' if meas.is_constant else 'not a constant'}: "
                 rf"$\Lambda = {meas.cutoff:g}$, legs: {meas.legs}", fontsize=9)  # fmt: skip
    ax.legend(fontsize=7)
    return ax


def plot_correlators(
    estimate: Any, n: int, exact: Any = None, *, connected: bool = True, ax: Any = None
) -> Any:
    """Every distinct entry (multiset of inputs) of a sampled correlator with its standard error,
    against the exact values when given.

    Entries whose error bar the tail diagnostic rejects (``estimate.reliable(n)`` False) are drawn
    hollow and counted in the legend, so a heavy-tailed miss is never shown as agreement.

    Parameters
    ----------
    estimate : fieldnn.CorrelatorEstimate
    n : int
        The order.
    exact : array_like, optional
        The exact tensor of the same shape (e.g. ``net.exact_connected(X, n)``).
    connected : bool
        Connected (default) or full correlator.
    ax : matplotlib axes, optional
    """
    if not hasattr(estimate, "reliable"):
        raise ArgumentTypeError("estimate", "expected a CorrelatorEstimate")
    value = estimate.connected(n) if connected else estimate.full(n)
    error = estimate.stderr(n, connected=connected)
    ok = estimate.reliable(n, connected=connected)
    if value.ndim != n:
        raise ArgumentError("n", "plot_correlators draws one output (d_out = 1)")
    P = value.shape[0]
    index = list(combinations_with_replacement(range(P), n))
    v = np.array([value[i] for i in index])
    e = np.array([error[i] for i in index])
    good = np.array([bool(ok[i]) for i in index])
    ax = _axes(ax)
    x = np.arange(len(index))
    kind = "connected" if connected else "full"
    ax.errorbar(x[good], v[good], yerr=e[good], fmt="o", ms=3, color="C0", capsize=1,
                label=rf"sampled $G^{{({n})}}$ ({kind}), $\pm 1\sigma$")  # fmt: skip
    if (~good).any():
        ax.errorbar(x[~good], v[~good], yerr=e[~good], fmt="o", ms=4, mfc="none", color="C3",
                    capsize=1, label=f"error bar rejected by the tail diagnostic "
                    f"({int((~good).sum())} of {len(index)})")  # fmt: skip
    if exact is not None:
        ex = np.asarray(exact, dtype=float)
        if ex.shape != value.shape:
            raise ArgumentError("exact", f"must have shape {value.shape}, got {ex.shape}")
        ax.plot(x, [ex[i] for i in index], "_", ms=10, mew=1.5, color="k", label="exact")
    ax.set_xlabel(f"entry (multiset of {n} of the {P} inputs)")
    ax.set_ylabel(rf"$G^{{({n})}}$ (output units$^{{{n}}}$)")
    ax.legend(fontsize=7)
    return ax


def plot_criticality(result: Any, activation: Any = None, ax: Any = None) -> Any:
    """The single-input kernel map K → C_b + C_W⟨σ²⟩_K against the diagonal, with the fixed
    point of a :func:`fieldnn.criticality` result and its susceptibilities in the legend.

    Parameters
    ----------
    result : fieldnn.CriticalityResult
    activation : str or callable, optional
        The activation, when ``result.activation`` is not a registry name (a user callable).
    ax : matplotlib axes, optional
    """
    from ..kernels.criticality import fixed_point_curve

    if not hasattr(result, "chi_parallel"):
        raise ArgumentTypeError("result", "expected a CriticalityResult (fnn.criticality)")
    act = result.activation if activation is None else activation
    k_star = result.K_star
    top = 2.0 * max(k_star, 1.0) if np.isfinite(k_star) else 10.0
    curve = fixed_point_curve(act, result.C_b, result.C_W, np.linspace(0.0, top, 201))
    ax = _axes(ax)
    ax.plot(curve.K, curve.map_values, color="C0",
            label=rf"$C_b + C_W\langle\sigma^2\rangle_K$ ({activation_label(act)})")  # fmt: skip
    ax.plot(curve.K, curve.K, "k--", lw=1, label=r"$K^{(\ell+1)} = K^{(\ell)}$")
    if np.isfinite(k_star):
        ax.plot([k_star], [k_star], "o", color="C3",
                label=rf"$K^* = {k_star:.4g}$: $\chi_\parallel = {result.chi_parallel:.3g}$, "
                rf"$\chi_\perp = {result.chi_perp:.3g}$")  # fmt: skip
    ax.set_xlabel(r"$K^{(\ell)}$ (pre-activation variance)")
    ax.set_ylabel(r"$K^{(\ell+1)}$")
    ax.set_title(rf"{result.phase}: $C_b = {result.C_b:g}$, $C_W = {result.C_W:g}$", fontsize=9)
    ax.legend(fontsize=7)
    return ax
