"""Plots of the effective action against the exact output density (single-layer nets).

Each function takes the dataclass returned by :mod:`fieldnn.effective` (``density_curves``,
``compare_with_density``), draws on ``ax`` (a new figure when ``ax`` is None) and returns the
axes. No ``plt.show()``, no global style changes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["density_figure", "plot_action_errors", "plot_density_vs_action"]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4.0))
    return ax


def plot_density_vs_action(curves: Any, ax: Any = None) -> Any:
    r"""The non-Gaussian part of −log p(f): exact (solid) and from the action at orders 1
    (dashed) and 2 (dotted), i.e. −log p(f) + log p(0) − f²/2K and S(f) − S(0) − f²/2K.

    Parameters
    ----------
    curves : fieldnn.effective.DensityCurves
    ax : matplotlib axes, optional
    """
    import matplotlib.pyplot as plt

    ax = _axes(ax)
    n = len(curves.widths)
    colors = plt.cm.viridis([i / max(n - 1, 1) for i in range(n)])
    g = curves.f_over_sqrt_k
    gp = 0.5 * g * g
    for i, N in enumerate(curves.widths):
        ax.plot(g, curves.exact[i] - gp, "-", color=colors[i], lw=1.6, label=f"exact, N = {N}")
        ax.plot(g, curves.action[i, 0] - gp, "--", color=colors[i], lw=1.0)
        ax.plot(g, curves.action[i, 1] - gp, ":", color=colors[i], lw=1.4)
    ax.plot([], [], "k--", lw=1.0, label="action, order 1/N")
    ax.plot([], [], "k:", lw=1.4, label=r"action, order 1/N$^2$")
    lo, hi = float((curves.exact - gp).min()), float((curves.exact - gp).max())
    pad = 0.3 * max(hi - lo, 1e-12)
    ax.set_ylim(lo - pad, hi + 2 * pad)
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel(r"$f/\sqrt{K(x,x)}$ (dimensionless)")
    ax.set_ylabel(r"$-\log p(f) + \log p(0) - f^2/2K$ (dimensionless)")
    ax.set_title(f"{curves.activation} single-layer net, x = {curves.x.tolist()}")
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    return ax


def plot_action_errors(comparison: Any, ax: Any = None) -> Any:
    r"""Errors ε_k(N) of the action at orders 0 (GP), 1, 2 against the width, log-log.

    Parameters
    ----------
    comparison : fieldnn.effective.DensityComparison
    ax : matplotlib axes, optional
    """
    ax = _axes(ax)
    labels = ("Gaussian process", "action, order 1/N", r"action, order 1/N$^2$")
    for k, (label, style) in enumerate(zip(labels, ("o-", "s-", "^-"), strict=True)):
        ax.loglog(comparison.widths, comparison.errors[:, k], style, ms=3, label=label)
    for k in (1, 2):
        n = comparison.crossover(k)
        if n is not None:
            ax.axvline(n, color=f"C{k}", lw=0.8, ls=":")
    ax.set_xlabel("hidden width N")
    ax.set_ylabel(r"max$_f$ |error of log p(f) − log p(0)| (dimensionless)")
    ax.set_title(f"{comparison.activation} single-layer net, x = {comparison.x.tolist()}")
    ax.legend(fontsize=8)
    return ax


def density_figure(widths: Any = (2, 10, 100, 1000), *, n_grid: int = 57) -> Any:
    """The four-panel density figure of the docs and the report: the non-Gaussian part of
    −log p against the action for the Erf- and ReLU-net at x = 1 and the Gauss-net at x = 0
    (σ_W² = σ_b² = 1), and the Gauss-net errors ε_k(N) on ``n_grid`` widths from 2 to 10⁷ with
    its crossovers."""
    import matplotlib.pyplot as plt
    import numpy as np

    from ..effective import compare_with_density, density_curves

    fig, axes = plt.subplots(2, 2, figsize=(11.0, 8.0))
    for ax, (act, x) in zip(
        axes.ravel()[:3], (("erf", 1.0), ("relu", 1.0), ("gauss", 0.0)), strict=True
    ):
        plot_density_vs_action(density_curves(act, [x], widths), ax=ax)
    grid = np.unique(np.round(np.logspace(np.log10(2.0), 7.0, n_grid)).astype(int))
    plot_action_errors(compare_with_density("gauss", [0.0], grid), ax=axes[1, 1])
    fig.tight_layout()
    return fig
