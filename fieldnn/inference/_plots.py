"""Plot helpers for inference results (matplotlib; ``ax=None`` creates a figure; each returns
its axes; no global style changes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ArgumentError

__all__ = ["plot_conditional_moment", "plot_replica_bands"]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    return ax


def plot_replica_bands(
    result: Any,
    *,
    mlp: Any = None,
    output: int = 0,
    coordinate: int = 0,
    ax: Any = None,
) -> Any:
    """Prior (initialisation) and posterior (trained) 1σ bands of a :class:`ReplicaEnsemble`.

    Parameters
    ----------
    result : ReplicaEnsemble
    mlp : MLP, optional
        If given, the infinite-width gradient-flow prediction (mean ± 1σ) is drawn too.
    output : int
        Output component shown.
    coordinate : int
        Input coordinate used as the horizontal axis.
    ax : matplotlib axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    d_out = result.posterior.shape[2]
    if not 0 <= output < d_out:
        raise ArgumentError("output", f"must be in [0, {d_out}), got {output}")
    ax = _axes(ax)
    x = result.X_test[:, coordinate]
    order = np.argsort(x)
    x = x[order]
    for label, outs, color in (
        ("prior (initialisation)", result.prior, "C7"),
        ("posterior (trained)", result.posterior, "C0"),
    ):
        vals = outs[:, order, output]
        mean, std = vals.mean(axis=0), vals.std(axis=0, ddof=1)
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.35, label=label)
        ax.plot(x, mean, color=color, lw=1)
    if mlp is not None:
        mean, cov = result.flow_prediction(mlp)
        m, s = mean[order, output], np.sqrt(np.clip(np.diag(cov)[order], 0, None))
        ax.plot(x, m, "k--", lw=1, label=r"gradient flow, $n\to\infty$")
        ax.plot(x, m + s, "k:", lw=1)
        ax.plot(x, m - s, "k:", lw=1)
    err = np.sqrt(np.clip(np.diag(result.C_Y), 0, None))
    ax.errorbar(
        result.X_train[:, coordinate],
        result.Y[:, output],
        yerr=err,
        fmt="o",
        color="C3",
        ms=4,
        capsize=2,
        label="data",
    )
    ax.set_xlabel(f"$x_{{{coordinate}}}$")
    ax.set_ylabel("$f(x)$")
    ax.set_title(f"{result.posterior.shape[0]} replicas, widths {list(result.widths)}")
    ax.legend(fontsize=7)
    return ax


def plot_conditional_moment(result: Any, ax: Any = None) -> Any:
    r"""Sampled :math:`\langle\phi_2^2\mid\phi_1^{\mathrm{obs}}\rangle` against the NLO
    formula, from a :class:`ConditionalSecondMoment`; returns the axes."""
    ax = _axes(ax)
    ax.errorbar(
        result.phi1,
        result.sampled,
        yerr=result.stderr,
        fmt="o",
        ms=4,
        capsize=2,
        label=f"importance-weighted samples, n = {result.width}",
    )
    ax.plot(
        result.phi1,
        result.predicted,
        "k-",
        label=r"$G + \frac{1}{2}((\phi_1^{\mathrm{obs}})^2 - G)\,V/(nG^2)$",
    )
    ax.axhline(result.G, color="k", ls=":", lw=1, label=r"$G$")
    ax.set_xlabel(r"$\phi_1^{\mathrm{obs}}$")
    ax.set_ylabel(r"$\langle\phi_2^2\mid\phi_1^{\mathrm{obs}}\rangle$")
    ax.legend(fontsize=7)
    return ax
