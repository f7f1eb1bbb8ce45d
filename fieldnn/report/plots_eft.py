"""Plots of the deep-network EFT reproduction (seed 000).

Each function takes the dataclass returned by the matching experiment of
:mod:`fieldnn.experiments.eft`, draws on ``ax`` (a new figure when ``ax`` is None) and returns the
axes. No ``plt.show()``, no global style changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "nlo_fit",
    "plot_conditional_variance",
    "plot_correlation_flow",
    "plot_depth_asymptotics",
    "plot_fixed_point",
    "plot_gradient_flow",
    "plot_hidden_shift",
    "plot_nlo_two_point",
    "plot_ntk",
    "plot_phase_diagram",
    "plot_vertex_growth",
]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4.0))
    return ax


def _width_ticks(ax: Any, widths: Any) -> None:
    """Label a logarithmic width axis at the widths used."""
    from matplotlib.ticker import NullLocator

    ax.set_xticks(list(widths), [str(int(n)) for n in widths])
    ax.xaxis.set_minor_locator(NullLocator())  # the y axis keeps its (log) minor labels


def plot_fixed_point(sol: Any, ax: Any = None) -> Any:
    """The graphical solution of K = C_b + C_W g(K) with the cobweb of the iterated recursion.

    Parameters
    ----------
    sol : fieldnn.experiments.eft.FixedPointSolution
    ax : matplotlib axes, optional
    """
    ax = _axes(ax)
    ax.plot(sol.K, sol.rhs, label=rf"$C_b + C_W\,g(K)$ ({sol.activation})")
    ax.plot(sol.K, sol.K, "k--", lw=1, label=r"$K$")
    for row in sol.iterates:
        k = np.repeat(row, 2)
        ax.plot(k[:-1], k[1:], lw=0.8, alpha=0.6)
    ax.plot(
        [sol.K_star],
        [sol.K_star],
        "o",
        color="C3",
        label=rf"$K^* = {sol.K_star:.4g}$, $\chi_\parallel = {sol.chi_parallel:.3g}$",
    )
    ax.set_xlim(0, sol.K[-1])
    ax.set_ylim(0, max(sol.K[-1], float(np.max(sol.rhs))))
    ax.set_xlabel(r"$K^{(\ell)}$")
    ax.set_ylabel(r"$K^{(\ell+1)}$")
    ax.set_title(rf"fixed point, $C_b = {sol.C_b:g}$, $C_W = {sol.C_W:g}$")
    ax.legend(fontsize=8)
    return ax


def plot_phase_diagram(pd: Any, ax: Any = None) -> Any:
    """χ⊥ in the (C_b, C_W) plane with the χ∥ = 1 and χ⊥ = 1 lines and the critical point.

    Where the fixed point runs away (no finite K*, white), its edge is a saddle-node line on
    which χ∥ = 1; it is drawn as the χ∥ = 1 line when χ∥ stays below 1 inside the region. The
    white region has its own legend entry (a white patch with a thin edge) when the grid has one.

    Parameters
    ----------
    pd : fieldnn.experiments.eft.PhaseDiagram
    ax : matplotlib axes, optional
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax = _axes(ax)
    B, W = np.meshgrid(pd.C_b, pd.C_W, indexing="ij")
    finite = np.isfinite(pd.K_star) & np.isfinite(pd.chi_perp) & (pd.chi_perp > 0)
    log_perp = np.where(finite, np.log(np.where(finite, pd.chi_perp, 1.0)), np.nan)
    mesh = ax.pcolormesh(B, W, log_perp, cmap="coolwarm", shading="auto", vmin=-1.0, vmax=1.0)
    ax.figure.colorbar(mesh, ax=ax, label=r"$\log \chi_\perp$")
    chi_par = np.where(finite, pd.chi_parallel, 0.0)
    handles, labels = [], []
    if np.nanmax(chi_par) > 1.0 > np.nanmin(chi_par):
        ax.contour(B, W, chi_par, levels=[1.0], colors="k", linestyles="--")
        handles.append(Line2D([], [], color="k", ls="--"))
        labels.append(r"$\chi_\parallel = 1$")
    elif not np.all(finite):
        ax.contour(B, W, finite.astype(float), levels=[0.5], colors="k", linestyles="--")
        handles.append(Line2D([], [], color="k", ls="--"))
        labels.append(r"$\chi_\parallel = 1$ (edge of finite $K^*$)")
    perp = np.where(finite, pd.chi_perp, np.nan)
    if np.nanmax(perp) > 1.0 > np.nanmin(perp):
        ax.contour(B, W, perp, levels=[1.0], colors="k", linestyles="-")
        handles.append(Line2D([], [], color="k", ls="-"))
        labels.append(r"$\chi_\perp = 1$")
    if not np.all(finite):
        # the unfilled cells of the mesh show the axes background: name them in the legend
        handles.append(Patch(facecolor=ax.get_facecolor(), edgecolor="0.4", lw=0.8))
        labels.append(r"no finite fixed point $K^*$")
    (star,) = ax.plot([pd.critical_C_b], [pd.critical_C_W], "*", ms=12, color="gold", mec="k")
    handles.append(star)
    labels.append(f"critical ({pd.universality_class})")
    ax.legend(handles, labels, fontsize=8, loc="upper right")
    ax.set_xlabel(r"$C_b$")
    ax.set_ylabel(r"$C_W$")
    ax.set_title(f"{pd.activation}: ordered ($\\chi_\\perp<1$) / chaotic ($\\chi_\\perp>1$)")
    return ax


def plot_depth_asymptotics(da: Any, ax: Any = None) -> Any:
    """K^(ℓ) at criticality against 1/(−a₁ℓ) on log-log axes."""
    ax = _axes(ax)
    ax.loglog(da.depths, da.K, label=f"recursion ({da.activation})")
    ax.loglog(da.depths, da.K_asymptotic, "k--", label=rf"$1/(-a_1\ell)$, $a_1 = {da.a1:.4g}$")
    ax.loglog(da.depths, da.K_log, "k:", label="with the log ℓ / ℓ² term")
    ax.set_xlabel(r"layer $\ell$")
    ax.set_ylabel(r"$K^{(\ell)}$")
    ax.legend(fontsize=8)
    return ax


def plot_vertex_growth(
    results: Sequence[Any], ax: Any = None, *, exact: dict[str, np.ndarray] | None = None
) -> Any:
    """V/(nK²) against depth: leading-order recursion (solid lines), its O(1/n²) completion
    (V + V^{1}/n)/(nK²) (dashed) and sampled ensembles (points).

    Parameters
    ----------
    results : sequence of fieldnn.experiments.eft.VertexGrowth
    ax : matplotlib axes, optional
    exact : dict, optional
        activation → exact finite-width values at ``results[i].depths`` (dotted line).
    """
    ax = _axes(ax)
    for i, r in enumerate(results):
        c = f"C{i}"
        ax.plot(r.depths, r.ratio, "-", color=c, label=f"{r.activation}: recursion (LO)")
        ax.plot(r.depths, r.ratio_nnlo, "--", color=c, label=f"{r.activation}: to O(1/n²)")
        ax.errorbar(
            r.depths,
            r.sampled,
            yerr=r.stderr,
            fmt="o",
            color=c,
            ms=4,
            capsize=2,
            label=f"{r.activation}: sampled, n = {r.width}",
        )
        if exact is not None and r.activation in exact:
            ax.plot(
                r.depths,
                exact[r.activation],
                ":",
                color=c,
                label=f"{r.activation}: exact finite width",
            )
    ax.set_xlabel("depth L")
    ax.set_ylabel(r"$V^{(L)}/(n K^2) = \langle z^4\rangle_c / (3K^2)$")
    ax.set_title("four-point vertex at criticality")
    ax.legend(fontsize=7)
    return ax


def nlo_fit(nlo: Any) -> dict[str, float | None]:
    """Weighted least-squares fit n (E[z²] − K) = a + b/n over the sampled widths.

    The intercept a estimates the NLO coefficient G^{1}; b the next, O(1/n²), term. Returns
    a, b, their standard errors, the pull (a − G^{1})/σ_a and χ²/dof (errors None with fewer
    than three widths, where the fit has no degrees of freedom left to check it).
    """
    n = np.asarray(nlo.widths, dtype=float)
    y, e = n * np.asarray(nlo.sampled), n * np.asarray(nlo.stderr)
    if len(n) < 2:
        return {"intercept": float(y[0]), "slope": None, "intercept_stderr": None,
                "slope_stderr": None, "intercept_pull": None, "chi2_dof": None}  # fmt: skip
    A = np.stack([np.ones_like(n), 1.0 / n], axis=1) / e[:, None]
    coef, *_ = np.linalg.lstsq(A, y / e, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    dof = len(n) - 2
    chi2 = float(np.sum((A @ coef - y / e) ** 2))
    if dof < 1:
        return {"intercept": float(coef[0]), "slope": float(coef[1]), "intercept_stderr": None,
                "slope_stderr": None, "intercept_pull": None, "chi2_dof": None}  # fmt: skip
    sa, sb = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
    return {
        "intercept": float(coef[0]),
        "slope": float(coef[1]),
        "intercept_stderr": sa,
        "slope_stderr": sb,
        "intercept_pull": float((coef[0] - nlo.G1) / sa),
        "chi2_dof": chi2 / dof,
    }


def plot_nlo_two_point(nlo: Any, ax: Any = None) -> Any:
    """Sampled n (E[z²] − K) against 1/n with the weighted fit a + b/n; the NLO coefficient
    G^{1} is the value at 1/n = 0."""
    ax = _axes(ax)
    n = nlo.widths.astype(float)
    ax.errorbar(1.0 / n, n * nlo.sampled, yerr=n * nlo.stderr, fmt="o", capsize=3,
                label=r"sampled $n\,(E[z^2] - K)$, $\pm 1\sigma$")  # fmt: skip
    fit = nlo_fit(nlo)
    xs = np.linspace(0.0, 1.05 / n.min(), 50)
    if fit["slope"] is not None:
        ax.plot(xs, fit["intercept"] + fit["slope"] * xs, "C0-", lw=1,
                label=r"fit $a + b/n$")  # fmt: skip
    ax.plot([0.0], [nlo.G1], "k*", ms=10, label=rf"NLO recursion $G^{{\{{1\}}}} = {nlo.G1:.4g}$")
    ax.set_xlim(left=-0.02 / n.min())
    ax.set_xlabel("1 / hidden width")
    ax.set_ylabel(r"$n\,(G - K)$ (output units$^2$)")
    ax.set_title(f"1/n correction to the 2-pt function ({nlo.activation}, L = {nlo.depth})")
    ax.legend(fontsize=8)
    return ax


def plot_correlation_flow(cf: Any, ax: Any = None) -> Any:
    """1 − ρ^(ℓ) of two inputs against depth in the ordered, critical and chaotic phases, with
    the stable correlation fixed points (dotted)."""
    ax = _axes(ax)
    for i, (label, cb, cw) in enumerate(cf.settings):
        c = f"C{i}"
        ax.loglog(
            cf.depths,
            1.0 - cf.rho[i],
            color=c,
            label=rf"{label}: $C_b = {cb:g}$, $C_W = {cw:g}$, $\chi_\perp = "
            rf"{cf.chi_perp[i]:.3g}$",
        )
        for r in cf.rho_star[i]:
            if r < 1.0:
                ax.axhline(1.0 - r, color=c, ls=":", lw=1)
    ax.set_xlabel(r"layer $\ell$")
    ax.set_ylabel(r"$1 - \rho^{(\ell)}$")
    ax.set_title(f"two-input correlation ({cf.activation})")
    ax.legend(fontsize=7)
    return ax


def plot_ntk(res: Any, ax: Any = None) -> Any:
    """Relative deviation of the ensemble-averaged empirical NTK from the forward recursion Θ,
    per matrix entry, against width (points with 1σ errors); the O(1/n) trend is visible
    where it exceeds the errors."""
    ax = _axes(ax)
    P = res.theta.shape[0]
    iu = np.triu_indices(P)
    for k, (a, b) in enumerate(zip(*iu, strict=True)):
        rel = res.empirical[:, a, b] / res.theta[a, b] - 1.0
        err = res.stderr[:, a, b] / abs(res.theta[a, b])
        ax.errorbar(
            res.widths * (1 + 0.04 * k),
            rel,
            yerr=err,
            fmt="o",
            ms=3,
            capsize=2,
            label=rf"$\Theta_{{{a + 1}{b + 1}}} = {res.theta[a, b]:.4g}$",
        )
    ax.axhline(0.0, color="k", lw=1)
    ax.set_xscale("log")
    _width_ticks(ax, res.widths)
    ax.set_xlabel("hidden width n")
    ax.set_ylabel(r"$\langle \hat H_{\alpha\beta}\rangle / \Theta_{\alpha\beta} - 1$")
    ax.set_title(
        f"empirical NTK vs forward equation ({res.activation}, L = {res.depth}, {res.n_nets} nets)"
    )
    ax.legend(fontsize=7)
    return ax


def plot_gradient_flow(res: Any, ax: Any = None) -> Any:
    """Trained replica ensembles against the infinite-width gradient-flow prediction, against
    width: the rms distance of the means on the left axis (output units), the rms z-scores of
    mean and covariance on the right axis (dimensionless; 1 = agreement within the errors)."""
    ax = _axes(ax)
    ax.loglog(res.widths, res.mean_rms_distance, "o-", color="C0",
              label="rms |mean − flow mean| (left)")  # fmt: skip
    ref = res.mean_rms_distance[0] * res.widths[0] / res.widths
    ax.loglog(res.widths, ref, "C0:", lw=1, label="∝ 1/n (left)")
    ax.set_ylabel("rms |mean − flow mean| (output units)", color="C0")
    right = ax.twinx()
    right.loglog(res.widths, res.mean_z_rms, "s-", color="C1", label="rms z-score, mean (right)")
    right.loglog(res.widths, res.cov_z_rms, "^-", color="C2",
                 label="rms z-score, covariance (right)")  # fmt: skip
    right.axhline(1.0, color="0.5", lw=0.8, ls="--", label="z = 1 (right)")
    right.set_ylabel("rms z-score (dimensionless)")
    _width_ticks(ax, res.widths)
    ax.set_xlabel("hidden width n")
    ax.set_title(f"replicas vs gradient flow ({res.activation}, L = {res.depth})")
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="upper right")
    return ax


def plot_hidden_shift(res: Any, ax: Any = None) -> Any:
    """Posterior − prior of the last hidden layer's kernel (diagonal entries) against width:
    representation learning at finite width, vanishing like 1/n."""
    ax = _axes(ax)
    shifts = np.array([np.diagonal(h.shift) for h in res.hidden])
    errs = np.array([np.diagonal(h.stderr) for h in res.hidden])
    for q in range(shifts.shape[1]):
        ax.errorbar(
            res.widths,
            np.abs(shifts[:, q]),
            yerr=errs[:, q],
            fmt="o-",
            ms=4,
            capsize=2,
            label=f"probe input {q + 1}",
        )
    if getattr(res, "hidden_predicted", ()):  # the O(1/n) prediction, same colours, dashed
        pred = np.array([np.diagonal(p.shift)[p.n_train :] for p in res.hidden_predicted])
        for q, line in enumerate(ax.containers):
            ax.plot(res.widths, np.abs(pred[:, q]), "--", lw=1, color=line.lines[0].get_color())
        ax.plot([], [], "k--", lw=1, label="O(1/n) prediction")
    ref = np.abs(shifts[0]).max() * res.widths[0] / res.widths
    ax.plot(res.widths, ref, "k:", lw=1, label="∝ 1/n")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _width_ticks(ax, res.widths)
    ax.set_xlabel("hidden width n")
    ax.set_ylabel(r"$|E[\hat K^{(L-1)}_{\delta\delta} | y_A] - E[\hat K^{(L-1)}_{\delta\delta}]|$")
    ax.set_title("representation learning vanishes at infinite width")
    ax.legend(fontsize=7)
    return ax


def plot_conditional_variance(res: Any, ax: Any = None) -> Any:
    """⟨φ2² | φ1⟩ of sampled finite-width networks against the NLO formula: importance-weighted
    exact conditioning (:func:`fieldnn.inference.plot_conditional_moment`) and, independently,
    bin averages of directly sampled outputs."""
    from ..inference import plot_conditional_moment

    ax = plot_conditional_moment(res.weighted, ax=_axes(ax))
    ax.errorbar(
        res.phi1,
        res.sampled,
        yerr=res.stderr,
        fmt="s",
        mfc="none",
        ms=5,
        capsize=2,
        color="C1",
        label=f"bins of sampled outputs ({res.n_nets} nets)",
    )
    ax.set_title(f"{res.activation}, n = {res.width}, L = {res.depth}")
    ax.legend(fontsize=7)
    return ax
