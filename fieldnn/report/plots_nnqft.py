"""Plots of the NN-QFT experiments (:mod:`fieldnn.experiments.nnqft`).

Every function takes the experiment's result, draws on ``ax`` (a new figure if None) and returns
the axes; no ``plt.show()``, no global style changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "net_label",
    "plot_c_lambda",
    "plot_dout",
    "plot_falloff",
    "plot_lambda_tuples",
    "plot_rg_flow",
    "plot_six_point",
]


_NET_NAMES = {"erf": "Erf-net", "relu": "ReLU-net", "gauss": "Gauss-net"}
_LEGS = {"full": "full $K$ on legs", "subtract_bias": r"$K - \sigma_b^2$ on legs"}


def net_label(activation: Any, d_in: int | None = None, legs: str | None = None) -> str:
    """'Erf-net, $d_{in} = 1$ (full $K$ on legs)': a legend label that names the physics."""
    from .plots import activation_label

    name = activation_label(activation)
    text = _NET_NAMES.get(name, f"{name}-net")
    if d_in is not None:
        text += f", $d_{{in}} = {d_in}$"
    if legs is not None:
        text += f" ({_LEGS.get(legs, legs)})"
    return text


#: How a point whose error bar the tail diagnostic rejects is drawn, and its legend text.
FLAGGED = {"marker": "X", "ms": 8, "mfc": "none", "mec": "C3", "ls": "none"}
FLAGGED_LABEL = "error bar rejected by the tail diagnostic"


def _flag(ax: Any, x: Any, y: Any, reliable: Any, labelled: list[bool]) -> None:
    """Ring the points whose error bars are not to be trusted (one legend entry per axes)."""
    if reliable is None or len(reliable) == 0:
        return
    bad = ~np.asarray(reliable, dtype=bool)
    if bad.any():
        ax.plot(np.asarray(x)[bad], np.asarray(y)[bad], **FLAGGED,
                label=None if labelled[0] else FLAGGED_LABEL)  # fmt: skip
        labelled[0] = True


def _log_errorbar(ax: Any, x: Any, y: Any, e: Any, color: str, label: str) -> None:
    """Error bars on a log axis: a bar that would cross zero is cut at y/10 and its point drawn
    hollow (the value is consistent with zero at 1σ), instead of a bar running to −∞."""
    x, y, e = (np.asarray(a, dtype=float) for a in (x, y, e))
    cut = y - e <= 0
    lower = np.where(cut, 0.9 * y, e)
    ax.errorbar(x[~cut], y[~cut], yerr=[lower[~cut], e[~cut]], fmt="o", color=color, ms=4,
                capsize=2, label=label)  # fmt: skip
    if cut.any():
        ax.errorbar(x[cut], y[cut], yerr=[lower[cut], e[cut]], fmt="o", mfc="none", color=color,
                    ms=5, capsize=2,
                    label=f"{label}: consistent with 0 at 1σ")  # fmt: skip


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4.0))
    return ax


def plot_falloff(result: Any, ax: Any = None) -> Any:
    """m_n against width: exact lines, sampled points with the pooled standard error, and the
    seed's background (dotted)."""
    ax = _axes(ax)
    colors = {4: "C0", 6: "C1"}
    labelled = [False]
    for n, c in colors.items():
        ax.loglog(result.widths, result.exact[n], "-", color=c, label=f"$m_{n}$ exact")
        y, e, bg = (np.asarray(d[n]) for d in (result.sampled, result.stderr, result.background))
        _log_errorbar(ax, result.sampled_widths, y, e, c, f"$m_{n}$ sampled")
        _flag(ax, result.sampled_widths, y, getattr(result, "sampled_reliable", {}).get(n),
              labelled)  # fmt: skip
        ax.loglog(result.sampled_widths, bg, ":", color=c, label=f"background $n={n}$")
    ax.loglog(
        result.widths,
        result.exact_connected6,
        "--",
        color="C2",
        label=r"$|G^{(6)}_c|/G^{(6)}_{GP}$ exact",
    )
    ax.set_xlabel("width $N$")
    ax.set_ylabel(r"$m_n = |\Delta G^{(n)}/G^{(n)}_{GP}|$ (dimensionless)")
    ax.set_title(net_label(result.activation, result.d_in))
    ax.legend(fontsize=7)
    return ax


def plot_lambda_tuples(survey: Any, keys: Sequence[str], ax: Any = None) -> Any:
    """λ_m per tuple (index of the multiset) for the given survey keys, with error bars for
    sampled ones and the mean as a horizontal line."""
    ax = _axes(ax)
    labelled = [False]
    for i, key in enumerate(keys):
        vals = np.asarray(survey.values[key])
        x = np.arange(len(vals))
        err = survey.errors.get(key)
        source = key.rsplit("/", 1)[-1]
        label = "exact" if source == "exact" else f"{source} ($\\pm 1\\sigma$)"
        if err is None:
            ax.plot(x, vals, "o", ms=3, color=f"C{i}", label=label)
        else:
            ax.errorbar(
                x,
                vals,
                yerr=np.asarray(err),
                fmt="s",
                ms=2,
                color=f"C{i}",
                capsize=1,
                alpha=0.6,
                label=label,
            )
        _flag(ax, x, vals, getattr(survey, "reliable", {}).get(key), labelled)
        ax.axhline(float(np.mean(vals)), color=f"C{i}", lw=0.8, label=f"mean, {source}")
    ax.set_xlabel("tuple (multiset of four inputs)")
    ax.set_ylabel(r"$\lambda_m$ (dimensionless)")
    ax.legend(fontsize=7)
    return ax


def plot_rg_flow(results: Sequence[Any], ax: Any = None) -> Any:
    """``|λ̄(Λ)|`` against Λ (log-log) with the fitted and the symbolic slopes in the legend."""
    ax = _axes(ax)
    for i, r in enumerate(results):
        lab = (
            f"{net_label(r.activation, r.d_in)}: slope {r.fitted_slope:.3f}, "
            f"$\\beta/\\lambda = {r.symbolic_slope:g}$"
        )
        ax.loglog(r.cutoffs, np.abs(r.lambda_mean), "o-", ms=3, color=f"C{i % 10}", label=lab)
        fit = r.cutoffs >= r.fit_from
        if fit.any():
            c0, l0 = r.cutoffs[fit][-1], abs(r.lambda_mean[fit][-1])
            xs = r.cutoffs[fit]
            ax.loglog(xs, l0 * (xs / c0) ** r.symbolic_slope, "k:", lw=0.8,
                      label="symbolic β slope" if i == 0 else None)  # fmt: skip
    ax.set_xlabel(r"cutoff $\Lambda$")
    ax.set_ylabel(r"$|\bar\lambda(\Lambda)|$")
    ax.legend(fontsize=6)
    return ax


def plot_c_lambda(results: Sequence[Any], ax: Any = None) -> Any:
    """Dimensionless c_λ = λ̄Λ^{d_in} against Λ with its UV/IR fixed-point values (dashed)."""
    ax = _axes(ax)
    for i, r in enumerate(results):
        ax.semilogx(
            r.cutoffs,
            r.c_lambda,
            "o-",
            ms=3,
            color=f"C{i % 10}",
            label=net_label(r.activation, r.d_in, r.legs),
        )
        for cstar in (r.c_star_uv, r.c_star_ir):
            if cstar is not None:
                ax.axhline(cstar, color=f"C{i % 10}", ls="--", lw=0.8)
    ax.plot([], [], "k--", lw=0.8, label=r"fixed-point values $c^*_{UV}$, $c^*_{IR}$")
    ax.set_xlabel(r"cutoff $\Lambda$")
    ax.set_ylabel(r"$c_\lambda = \bar\lambda\Lambda^{d_{in}}$ (dimensionless)")
    ax.legend(fontsize=6)
    return ax


def plot_six_point(results: Sequence[Any], ax: Any = None) -> Any:
    """(GP + λ̄ term)/G⁽⁶⁾ (mean over 6-multisets) against width: exact lines, sampled points."""
    ax = _axes(ax)
    labelled = [False]
    for i, r in enumerate(results):
        ax.semilogx(
            r.widths, r.ratio_mean, "-", color=f"C{i}", label=f"{net_label(r.activation)}, exact"
        )
        if len(r.sampled_widths):
            ax.errorbar(
                r.sampled_widths,
                r.sampled_ratio_mean,
                yerr=r.sampled_ratio_stderr,
                fmt="o",
                color=f"C{i}",
                ms=4,
                capsize=2,
                label=f"{net_label(r.activation)}, sampled",
            )
            _flag(ax, r.sampled_widths, r.sampled_ratio_mean,
                  getattr(r, "sampled_reliable", None), labelled)  # fmt: skip
    ax.axhspan(0.99, 1.01, color="0.85", label="±1 %")
    ax.set_xlabel("width $N$")
    ax.set_ylabel(r"$(G^{(6)}_{GP} + \bar\lambda\ \mathrm{term})/G^{(6)}$")
    ax.legend(fontsize=7)
    return ax


def plot_dout(result: Any, ax: Any = None) -> Any:
    """λ (signed) at tree level and at O(λ²) against d_out, with the sampled tree-level point.

    When the sampled point's error bar is much larger than the spread of the computed curves,
    the axis keeps the curves' range and the bar runs off it; its size is in the legend.
    """
    ax = _axes(ax)
    d = result.d_outs
    ax.plot(d, result.lambda_tree, "o-", label=r"tree level, $\lambda_{iiii}$")
    ax.plot(d, result.lambda_one_loop, "s-", label=r"$O(\lambda^2)$, $\lambda_{iiii}$")
    ok = np.isfinite(result.lambda_tree_iijj)
    ax.plot(d[ok], result.lambda_tree_iijj[ok], "^-", label=r"tree level, $\lambda_{iijj}$")
    curves = np.concatenate([result.lambda_tree, result.lambda_one_loop,
                             result.lambda_tree_iijj[ok]])  # fmt: skip
    lo, hi = float(np.min(curves)), float(np.max(curves))
    pad = max(hi - lo, 0.05 * max(abs(lo), abs(hi)), 1e-300)
    err = float(result.sampled_lambda_tree_stderr)
    ax.errorbar([result.sampled_d_out], [result.sampled_lambda_tree], yerr=[err], fmt="kx",
                capsize=3, label=rf"sampled, tree level ($\pm 1\sigma = {err:.2g}$)")  # fmt: skip
    if err > 5 * pad:
        ax.set_ylim(lo - 2 * pad, hi + 2 * pad)
    ax.set_xlabel(r"$d_{out}$")
    ax.set_ylabel(r"$\lambda$ (dimensionless)")
    ax.set_title(f"{net_label(result.activation)}, $N = {result.width}$, "
                 f"$\\Lambda = {result.cutoff:g}$")  # fmt: skip
    ax.legend(fontsize=7)
    return ax
