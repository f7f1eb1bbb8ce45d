"""Plot of the next order at one input (``fieldnn reproduce eft``, section 8).

Takes the dataclass of :func:`fieldnn.experiments.eft.next_order_scan`, draws on ``ax`` (a new
figure when ``ax`` is None) and returns the axes. No ``plt.show()``, no global style changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .plots_eft import _axes

__all__ = ["plot_next_order"]


def plot_next_order(res: Any, ax: Any = None) -> Any:
    r"""Truncated / exact connected functions of deep ReLU nets against L/n.

    E[z⁴]_c at O(1/n) (V/n) and at O(1/n²) (V/n + V^{1}/n²), and E[z⁶]_c at its leading order
    15U/n², each divided by the exact finite-width value; one line style per width. A
    truncation that holds stays near 1; the expansion parameter is L/n.

    Parameters
    ----------
    res : fieldnn.experiments.eft.NextOrderScan
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    curves = (
        (res.four_lo / res.four_exact, "C0", "4-pt, O(1/n)"),
        (res.four_nlo / res.four_exact, "C1", "4-pt, O(1/n²)"),
        (res.six_lo / res.six_exact, "C2", "6-pt, leading O(1/n²)"),
    )
    styles = ("-", "--", ":", "-.")
    for i, n in enumerate(res.widths):
        ls = styles[i % len(styles)]
        for values, colour, label in curves:
            ok = np.isfinite(res.ratio[i])
            ax.plot(res.ratio[i, ok], values[i, ok], color=colour, ls=ls, lw=1.2,
                    label=f"{label}, n = {int(n)}")  # fmt: skip
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set_ylim(0.0, 1.1)
    ax.set_xlabel("L/n (depth over width)")
    ax.set_ylabel("truncated / exact connected function")
    ax.set_title("ReLU, C_W = 2, C_b = 0, one input: how far the 1/n expansion goes", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", ncol=1)
    return ax
