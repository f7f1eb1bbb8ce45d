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
    "plot_conditional_variance",
    "plot_depth_asymptotics",
    "plot_fixed_point",
    "plot_gradient_flow",
    "plot_nlo_two_point",
    "plot_ntk",
    "plot_phase_diagram",
    "plot_prior_posterior",
    "plot_vertex_growth",
]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4.0))
    return ax


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
    ax.plot([sol.K_star], [sol.K_star], "o", color="C3",
            label=rf"$K^* = {sol.K_star:.4g}$, $\chi_\parallel = {sol.chi_parallel:.3g}$")
    ax.set_xlim(0, sol.K[-1])
    ax.set_ylim(0, max(sol.K[-1], float(np.max(sol.rhs))))
    ax.set_xlabel(r"$K^{(\ell)}$")
    ax.set_ylabel(r"$K^{(\ell+1)}$")
    ax.set_title(rf"fixed point, $C_b = {sol.C_b:g}$, $C_W = {sol.C_W:g}$")
    ax.legend(fontsize=8)
    return ax


def plot_phase_diagram(pd: Any, ax: Any = None) -> Any:
    """χ⊥ in the (C_b, C_W) plane with the χ∥ = 1 and χ⊥ = 1 lines and the critical point.

    Parameters
    ----------
    pd : fieldnn.experiments.eft.PhaseDiagram
    ax : matplotlib axes, optional
    """
    ax = _axes(ax)
    B, W = np.meshgrid(pd.C_b, pd.C_W, indexing="ij")
    mesh = ax.pcolormesh(B, W, np.log(pd.chi_perp), cmap="coolwarm", shading="auto",
                         vmin=-1.0, vmax=1.0)
    ax.figure.colorbar(mesh, ax=ax, label=r"$\log \chi_\perp$")
    c1 = ax.contour(B, W, pd.chi_parallel, levels=[1.0], colors="k", linestyles="--")
    c2 = ax.contour(B, W, pd.chi_perp, levels=[1.0], colors="k", linestyles="-")
    ax.plot([pd.critical_C_b], [pd.critical_C_W], "*", ms=12, color="gold", mec="k",
            label=f"critical ({pd.universality_class})")
    handles = [c1.legend_elements()[0][0], c2.legend_elements()[0][0],
               ax.get_legend_handles_labels()[0][0]]
    ax.legend(handles, [r"$\chi_\parallel = 1$", r"$\chi_\perp = 1$",
                        f"critical ({pd.universality_class})"], fontsize=8, loc="upper right")
    ax.set_xlabel(r"$C_b$")
    ax.set_ylabel(r"$C_W$")
    ax.set_title(f"{pd.activation}: ordered ($\\chi_\\perp<1$) / chaotic ($\\chi_\\perp>1$)")
    return ax


def plot_depth_asymptotics(da: Any, ax: Any = None) -> Any:
    """K^(ℓ) at criticality against 1/(−a₁ℓ) on log-log axes."""
    ax = _axes(ax)
    ax.loglog(da.depths, da.K, label=f"recursion ({da.activation})")
    ax.loglog(da.depths, da.K_asymptotic, "k--", label=rf"$1/(-a_1\ell)$, $a_1 = {da.a1:.4g}$")
    ax.set_xlabel(r"layer $\ell$")
    ax.set_ylabel(r"$K^{(\ell)}$")
    ax.legend(fontsize=8)
    return ax


def plot_vertex_growth(
    results: Sequence[Any], ax: Any = None, *, exact: dict[str, np.ndarray] | None = None
) -> Any:
    """V/(nK²) against depth: leading-order recursion (lines) and sampled ensembles (points).

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
        ax.errorbar(r.depths, r.sampled, yerr=r.stderr, fmt="o", color=c, ms=4, capsize=2,
                    label=f"{r.activation}: sampled, n = {r.width}")
        if exact is not None and r.activation in exact:
            ax.plot(r.depths, exact[r.activation], ":", color=c,
                    label=f"{r.activation}: exact finite width")
    ax.set_xlabel("depth L")
    ax.set_ylabel(r"$V^{(L)}/(n K^2) = \langle z^4\rangle_c / (3K^2)$")
    ax.set_title("four-point vertex at criticality")
    ax.legend(fontsize=7)
    return ax


def plot_nlo_two_point(nlo: Any, ax: Any = None) -> Any:
    """Sampled n (E[z²] − K) against width with the NLO prediction G^{1}."""
    ax = _axes(ax)
    n = nlo.widths.astype(float)
    ax.errorbar(n, n * nlo.sampled, yerr=n * nlo.stderr, fmt="o", capsize=3,
                label="sampled $n\\,(E[z^2] - K)$")
    ax.axhline(nlo.G1, color="k", ls="--", label=rf"NLO recursion $G^{{\{{1\}}}} = {nlo.G1:.4g}$")
    ax.set_xscale("log")
    ax.set_xlabel("hidden width n")
    ax.set_ylabel(r"$n\,(G - K)$")
    ax.set_title(f"1/n correction to the 2-pt function ({nlo.activation}, L = {nlo.depth})")
    ax.legend(fontsize=8)
    return ax


def plot_ntk(res: Any, ax: Any = None) -> Any:
    """NTK forward recursion Θ against the ensemble-averaged empirical NTK (per matrix entry)."""
    ax = _axes(ax)
    theory = np.asarray(res.theta).ravel()
    ax.errorbar(theory, np.asarray(res.empirical).ravel(), yerr=np.asarray(res.stderr).ravel(),
                fmt="o", ms=4, capsize=2, label=f"empirical, n = {res.width}")
    lim = [float(theory.min()), float(theory.max())]
    ax.plot(lim, lim, "k--", lw=1, label="y = x")
    ax.set_xlabel(r"$\Theta_{\alpha\beta}$ (forward recursion)")
    ax.set_ylabel(r"$\langle \hat H_{\alpha\beta}\rangle$ (sampled networks)")
    ax.set_title(f"NTK, {res.activation}, L = {res.depth}")
    ax.legend(fontsize=8)
    return ax


def plot_prior_posterior(res: Any, ax: Any = None) -> Any:
    """Prior (initialisation) and posterior (trained) 1σ bands of a replica ensemble, with the
    infinite-width gradient-flow prediction and the training data."""
    ax = _axes(ax)
    x = np.asarray(res.x_test).ravel()
    for label, mean, std, c in (
        ("prior (init)", res.prior_mean, res.prior_std, "C7"),
        ("posterior (trained)", res.post_mean, res.post_std, "C0"),
    ):
        ax.fill_between(x, mean - std, mean + std, color=c, alpha=0.35, label=label)
        ax.plot(x, mean, color=c, lw=1)
    ax.plot(x, res.flow_mean, "k--", lw=1, label="gradient flow, n → ∞")
    ax.plot(x, res.flow_mean + res.flow_std, "k:", lw=1)
    ax.plot(x, res.flow_mean - res.flow_std, "k:", lw=1)
    ax.errorbar(np.asarray(res.x_train).ravel(), res.y_train, yerr=res.y_err, fmt="o",
                color="C3", ms=4, capsize=2, label="data")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(f"replica ensemble, n = {res.width}")
    ax.legend(fontsize=7)
    return ax


def plot_gradient_flow(res: Any, ax: Any = None) -> Any:
    """Distance of the trained ensemble's mean and covariance to the gradient-flow prediction
    against width (should fall like 1/n plus sampling noise)."""
    ax = _axes(ax)
    ax.errorbar(res.widths, res.mean_distance, yerr=res.mean_distance_err, fmt="o-", capsize=2,
                label="mean: |m_trained − m_flow| (rms)")
    ax.plot(res.widths, res.cov_distance, "s-", label="cov: ‖C_trained − C_flow‖ / ‖C_flow‖")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width n")
    ax.set_ylabel("distance to the infinite-width prediction")
    ax.legend(fontsize=8)
    return ax


def plot_conditional_variance(res: Any, ax: Any = None) -> Any:
    """⟨φ2² | φ1⟩ of sampled finite-width networks against the NLO formula."""
    ax = _axes(ax)
    ax.errorbar(res.phi1, res.sampled, yerr=res.stderr, fmt="o", ms=4, capsize=2,
                label=f"sampled, n = {res.width}")
    ax.plot(res.phi1, res.predicted, "k-", label=r"$G + \frac{1}{2}(\phi_1^2 - G)V/(nG^2)$")
    ax.axhline(res.G, color="k", ls=":", lw=1, label=r"$G$ (infinite width)")
    ax.set_xlabel(r"$\phi_1$")
    ax.set_ylabel(r"$\langle \phi_2^2 \mid \phi_1 \rangle$")
    ax.legend(fontsize=8)
    return ax
