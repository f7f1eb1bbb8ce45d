"""Plots of training at finite width (``fieldnn reproduce eft``, section 7).

Each function takes the dataclass of :func:`fieldnn.experiments.eft.finite_width_training`, draws
on ``ax`` (a new figure when ``ax`` is None) and returns the axes. No ``plt.show()``, no global
style changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_finite_width_mean"]


def plot_finite_width_mean(res: Any, ax: Any = None) -> Any:
    r"""n·(measured mean − n → ∞ mean) against 1/n, with the predicted O(1/n) coefficient.

    One colour per test input: points with error bars n·stderr are the trained ensembles; the
    dashed line at the same colour is n·(O(1/n) mean − n → ∞ mean) of
    :func:`fieldnn.finite_width_prediction`, independent of n. The O(1/n) coefficient is the
    limit of the points as 1/n → 0, so the plot shows how (and whether) they approach it.

    Parameters
    ----------
    res : fieldnn.experiments.eft.FiniteWidthTraining
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    n = np.asarray(res.widths, dtype=float)
    measured = n[:, None] * (res.measured_mean - res.infinite_mean)
    predicted = n[:, None] * (res.predicted_mean - res.infinite_mean)
    errors = n[:, None] * res.mean_stderr
    for q, x in enumerate(np.asarray(res.X_test)[:, 0]):
        colour = f"C{q}"
        ax.errorbar(1 / n, measured[:, q], yerr=errors[:, q], fmt="o", ms=4, capsize=2,
                    color=colour, label=f"trained, x = {x:g}")  # fmt: skip
        ax.axhline(float(np.mean(predicted[:, q])), color=colour, ls="--", lw=1,
                   label=f"O(1/n) prediction, x = {x:g}")  # fmt: skip
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlim(0.0, 1.1 / n.min())
    ax.set_xlabel("1/n (dimensionless)")
    ax.set_ylabel("n · (mean − mean at n → ∞) (output units)")
    ax.set_title(
        f"trained mean at finite width ({res.activation}, L = {res.depth}, "
        f"t = {res.t:g}, {res.n_replicas} networks)",
        fontsize=9,
    )
    ax.margins(y=0.3)  # room for the legend inside the axes
    ax.legend(fontsize=7, loc="best", ncol=2)
    return ax
