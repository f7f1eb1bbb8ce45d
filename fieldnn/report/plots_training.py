"""Plots of training at finite width (``fieldnn reproduce eft``, section 7).

Each function takes the dataclass of :func:`fieldnn.experiments.eft.finite_width_training` (or
:func:`~fieldnn.experiments.eft.kinked_training` for the relu plots), draws
on ``ax`` (a new figure when ``ax`` is None) and returns the axes. No ``plt.show()``, no global
style changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ArgumentError

__all__ = [
    "plot_finite_width_mean",
    "plot_finite_width_variance",
    "plot_kinked_scatter",
    "plot_kinked_shift",
]


_PARTS = {  # (moment, part): title, y label, label of the dashed prediction
    ("mean", "total"): ("trained mean at finite width", "n · (mean − mean at n → ∞)",
                        "O(1/n) prediction"),
    ("mean", "frozen"): ("linearised networks", "n · (mean of z_lin − mean at n → ∞)",
                         "NTK mean + fluctuation terms"),
    ("mean", "training"): ("trained minus linearised", "n · mean of (z − z_lin)",
                           "dNTK + ddNTK terms"),
    ("var", "total"): ("trained variance at finite width", "n · (s² − variance at n → ∞)",
                       "O(1/n) prediction"),
    ("var", "frozen"): ("linearised networks", "n · (s²(z_lin) − s²(B z₀))",
                        "NTK mean, cross-corr., fluct. terms"),
    ("var", "training"): ("trained minus linearised", "n · (s²(z) − s²(z_lin))",
                          "dNTK + ddNTK terms"),
}  # fmt: skip


def plot_finite_width_mean(res: Any, ax: Any = None, part: str = "total") -> Any:
    r"""n·(measured mean − n → ∞ mean) against 1/n, with the predicted O(1/n) coefficient.

    One colour per test input: points with error bars n·stderr are the trained ensembles; the
    dashed line at the same colour is n·(O(1/n) mean − n → ∞ mean) of
    :func:`fieldnn.finite_width_prediction`, independent of n. The O(1/n) coefficient is the
    limit of the points as 1/n → 0, so the plot shows how (and whether) they approach it.

    Parameters
    ----------
    res : fieldnn.experiments.eft.FiniteWidthTraining
    ax : matplotlib.axes.Axes, optional
    part : {"total", "frozen", "training"}
        The whole mean; the mean of each network's linearisation (``res.linearised_mean``,
        against the NTK mean-shift and fluctuation terms); or the mean of z − z_lin
        (``res.training_shift``, against the dNTK + ddNTK terms, no n → ∞ part).

    Returns
    -------
    matplotlib.axes.Axes
    """
    return _scan(res, ax, "mean", part, res.mean_part(part))  # refuses an unknown part


def plot_finite_width_variance(res: Any, ax: Any = None, part: str = "total") -> Any:
    r"""n·(measured variance − n → ∞ variance) against 1/n, with the predicted O(1/n)
    coefficient: the variance's counterpart of :func:`plot_finite_width_mean`.

    Parameters
    ----------
    res : fieldnn.experiments.eft.FiniteWidthTraining
    ax : matplotlib.axes.Axes, optional
    part : {"total", "frozen", "training"}
        The whole variance shift s² − Σ∞ (against ``.cov_terms`` summed); the linearised
        networks' variance paired against the n → ∞ map of their own initial outputs,
        s²(z_lin) − s²(B z₀) (``res.frozen_var_shift``, against the NTK mean, NTK–preactivation
        and NTK-fluctuation terms); or s²(z) − s²(z_lin) (``res.training_var_shift``, against
        the dNTK + ddNTK terms). See ``FiniteWidthTraining.var_part``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    return _scan(res, ax, "var", part, res.var_part(part))  # refuses an unknown part


def _scan(res: Any, ax: Any, moment: str, part: str, values: tuple) -> Any:
    """Points n·measured ± n·stderr against 1/n and the dashed n·prediction, per test input."""
    measured, errors, predicted = values
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    n = np.asarray(res.widths, dtype=float)
    title, label, theory = _PARTS[moment, part]
    for q, x in enumerate(np.asarray(res.X_test)[:, 0]):
        colour = f"C{q}"
        ax.errorbar(1 / n, n * measured[:, q], yerr=n * errors[:, q], fmt="o", ms=4, capsize=2,
                    color=colour, label=f"trained, x = {x:g}")  # fmt: skip
        ax.axhline(float(np.mean(n * predicted[:, q])), color=colour, ls="--", lw=1,
                   label=f"{theory}, x = {x:g}")  # fmt: skip
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlim(0.0, 1.1 / n.min())
    ax.set_xlabel("1/n (dimensionless)")
    ax.set_ylabel(f"{label} (output units{'²' if moment == 'var' else ''})")
    ax.set_title(
        f"{title}\n({res.activation}, L = {res.depth}, t = {res.t:g}, {res.n_replicas} networks)",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return ax


def plot_kinked_shift(res: Any, ax: Any = None) -> Any:
    r"""√n·(paired output shift) of trained relu nets against 1/√n, with the predicted kink term.

    One colour per test input: points with error bars √n·stderr are the trained ensembles'
    mean of z(T) − z_lin (each network's own frozen-kernel solution subtracted); the dashed
    line at the same colour is the O(1/√n) coefficient a of :func:`fieldnn.kinked_training_shift`
    (its Monte Carlo error as a band; none for a closed form); the dotted line is a + b/√n
    through the two widest widths, whose intercept at 1/√n = 0 (open marker, with its error) is
    the measured a. O(1/n) remainders make the points approach the intercept linearly in 1/√n.

    Parameters
    ----------
    res : fieldnn.experiments.eft.KinkedTraining
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    root = np.sqrt(np.asarray(res.widths, dtype=float))
    scaled = root[:, None] * res.paired_shift
    errors = root[:, None] * res.paired_stderr
    for q, x in enumerate(np.asarray(res.X_test)[:, 0]):
        colour = f"C{q}"
        ax.errorbar(1 / root, scaled[:, q], yerr=errors[:, q], fmt="o", ms=4, capsize=2,
                    color=colour, label=f"trained, x′ = {x:g}")  # fmt: skip
        a, da = res.coefficient[q], res.coefficient_stderr[q]
        ax.axhline(a, color=colour, ls="--", lw=1, label=f"predicted a, x′ = {x:g}")
        ax.axhspan(a - da, a + da, color=colour, alpha=0.15, lw=0)
        ax.plot([0.0, 1 / root[-2]], [res.extrapolated[q], scaled[-2, q]], color=colour,
                ls=":", lw=1)  # fmt: skip
        ax.errorbar([0.0], [res.extrapolated[q]], yerr=[res.extrapolated_stderr[q]], fmt="o",
                    mfc="white", ms=4, capsize=2, color=colour)  # fmt: skip
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlim(-0.01, 1.1 / root.min())
    ax.set_xlabel("1/√n (dimensionless)")
    ax.set_ylabel(r"$\sqrt{n}\,\langle z(T) - z_{\rm frozen}\rangle$ (output units)")
    ax.set_title(
        f"trained {res.activation} nets {res.architecture}: the kink term (t = {res.t:g}, "
        f"{res.n_replicas} networks)",
        fontsize=9,
    )
    ax.margins(y=0.3)
    ax.legend(fontsize=7, loc="best", ncol=2)
    return ax


def plot_kinked_scatter(res: Any, ax: Any = None) -> Any:
    r"""The scatter of the kink term over the networks, measured over predicted, against 1/√n.

    One colour per test input: points with error bars are n^{3/2}·Var of the per-network shifts
    at a fixed initial residual (``res.scatter``) divided by Σ_ℓ ``KinkedNTKChange.scatter``
    (``res.scatter_predicted``); the dotted line is s + c/√n through the two widest widths, its
    intercept (open marker, with its error) the extrapolated s; the prediction is 1 (dashed).

    Parameters
    ----------
    res : fieldnn.experiments.eft.KinkedTraining
        A run with one training input (``res.scatter`` not None).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if res.scatter is None:
        raise ArgumentError("res", "has no scatter (two training inputs: no prediction)")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    root = np.sqrt(np.asarray(res.widths, dtype=float))
    ratio = res.scatter / res.scatter_predicted
    errors = res.scatter_stderr / res.scatter_predicted
    s = res.scatter_extrapolated / res.scatter_predicted
    ds = res.scatter_extrapolated_stderr / res.scatter_predicted
    for q, x in enumerate(np.asarray(res.X_test)[:, 0]):
        colour = f"C{q}"
        ax.errorbar(1 / root, ratio[:, q], yerr=errors[:, q], fmt="o", ms=4, capsize=2,
                    color=colour, label=f"trained, x′ = {x:g}")  # fmt: skip
        ax.plot([0.0, 1 / root[-2]], [s[q], ratio[-2, q]], color=colour, ls=":", lw=1)
        ax.errorbar([0.0], [s[q]], yerr=[ds[q]], fmt="o", mfc="white", ms=4, capsize=2,
                    color=colour)  # fmt: skip
    ax.axhline(1.0, color="0.3", ls="--", lw=1, label="predicted (leading order)")
    ax.set_xlim(-0.01, 1.1 / root.min())
    ax.set_xlabel("1/√n (dimensionless)")
    ax.set_ylabel(r"$n^{3/2}\,\mathrm{Var}(\delta z\,|\,\varepsilon_0)$ / prediction")
    ax.set_title(
        f"trained {res.activation} nets {res.architecture}: the scatter of the kink term "
        f"({res.n_replicas} networks per width)",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="best")
    return ax
