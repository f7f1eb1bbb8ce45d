"""``fieldnn reproduce eft``: the deep-network EFT talk (seed 000) end to end.

:func:`run` calls the experiments of :mod:`fieldnn.experiments.eft`, draws the figures of
:mod:`fieldnn.report.plots_eft` and writes ``report.md``, ``results.json``, PNG figures and
LaTeX tables through :class:`fieldnn.report.ReportWriter`. Every number of the report is stored
in the results tree first and formatted from there, so ``report.md`` and ``results.json`` agree.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from .. import __version__
from ..experiments import eft
from . import plots_eft
from ._writer import ReportWriter, format_number

__all__ = ["run"]

_DOCS = "docs/eft.md"


@dataclass(frozen=True)
class _Sizes:
    """Sizes of one run mode (full, quick, and the tiny one of the fast test)."""

    quick: bool
    vertex_width: int
    vertex_depths: tuple[int, ...]
    vertex_nets: int
    nlo_widths: tuple[int, ...]
    nlo_nets: int
    cond_width: int
    cond_nets: int


_FULL = _Sizes(quick=False, vertex_width=50, vertex_depths=tuple(range(2, 11)),
               vertex_nets=200_000, nlo_widths=(4, 8, 16, 32), nlo_nets=1_000_000,
               cond_width=100, cond_nets=2_000_000)
_QUICK = _Sizes(quick=True, vertex_width=50, vertex_depths=(2, 4, 6, 8, 10),
                vertex_nets=20_000, nlo_widths=(4, 8, 16), nlo_nets=200_000,
                cond_width=100, cond_nets=200_000)
_TINY = _Sizes(quick=True, vertex_width=10, vertex_depths=(2, 3), vertex_nets=2_000,
               nlo_widths=(4,), nlo_nets=5_000, cond_width=10, cond_nets=5_000)


def _fig() -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5.5, 4.0))


def _z(sampled: np.ndarray, theory: np.ndarray, stderr: np.ndarray) -> np.ndarray:
    """Pulls (sampled − theory)/stderr."""
    return (np.asarray(sampled) - np.asarray(theory)) / np.asarray(stderr)


def _criticality(w: ReportWriter, sz: _Sizes) -> None:
    quick = sz.quick
    w.heading("1. Criticality: fixed points, χ∥ and χ⊥, phase diagram")
    sol = eft.fixed_point_solution("tanh", C_b=1.0, C_W=2.0, quick=quick)
    k_star = w.store("fixed_point.K_star", sol.K_star)
    chi_par = w.store("fixed_point.chi_parallel", sol.chi_parallel)
    chi_perp = w.store("fixed_point.chi_perp", sol.chi_perp)
    w.store("fixed_point.phase", sol.phase)
    w.store("fixed_point.C_b", sol.C_b)
    w.store("fixed_point.C_W", sol.C_W)
    it_err = w.store("fixed_point.iterate_max_deviation",
                     float(np.max(np.abs(sol.iterates[:, -1] - sol.K_star))))
    w.store("fixed_point.iterate_depth", int(sol.iterates.shape[1]))
    w.text(
        f"The seed's graphical solution for tanh at C_b = {format_number(sol.C_b)}, "
        f"C_W = {format_number(sol.C_W)}: K* = {format_number(k_star, 8)}, "
        f"χ∥ = {format_number(chi_par)}, χ⊥ = {format_number(chi_perp)} ({sol.phase} phase). "
        f"Independent check: the kernel recursion iterated for {sol.iterates.shape[1]} layers "
        f"from K^(1) = {', '.join(format_number(s) for s in sol.start)} ends within "
        f"{format_number(it_err, 2)} of the root.",
    )
    fig, ax = _fig()
    plots_eft.plot_fixed_point(sol, ax=ax)
    w.figure("fixed_point", fig, "Graphical fixed point K* = C_b + C_W g(K*) (tanh, C_b = 1, "
             "C_W = 2) with the cobweb of the iterated recursion.")

    pd = eft.phase_diagram_experiment("tanh", quick=quick)
    w.store("phase_diagram.critical", {"C_b": pd.critical_C_b, "C_W": pd.critical_C_W,
                                        "K_star": pd.critical_K_star,
                                        "class": pd.universality_class})
    fig, ax = _fig()
    plots_eft.plot_phase_diagram(pd, ax=ax)
    w.figure("phase_diagram", fig, "Phase diagram of tanh networks: χ∥ = 1 (dashed) and χ⊥ = 1 "
             "(solid) lines; colour log χ⊥. Criticality needs both (the star).")
    w.text(
        "**Correction to the talk.** The seed states criticality as χ∥(K*) = 1 only. For tanh "
        "the χ∥ = 1 line is a whole curve in (C_b, C_W); along it the off-diagonal "
        "perturbations still grow or decay as (χ⊥)^ℓ. Criticality is χ∥ = χ⊥ = 1, which for "
        f"tanh selects the single point (C_b, C_W) = ({format_number(pd.critical_C_b)}, "
        f"{format_number(pd.critical_C_W)}) with K* = {format_number(pd.critical_K_star)} "
        f"({pd.universality_class} class). Derivation: [{_DOCS}](../{_DOCS}).",
    )

    tab = eft.critical_point_table(quick=quick)
    rows = []
    for i, name in enumerate(tab.activations):
        entry = w.store(f"critical_points.{name}", {
            "C_b": tab.C_b[i], "C_W": tab.C_W[i], "K_star": tab.K_star[i],
            "class": tab.universality_class[i], "chi_parallel": tab.chi_parallel[i],
            "chi_perp": tab.chi_perp[i]})
        rows.append([name, entry["class"], entry["C_b"], entry["C_W"], entry["K_star"],
                     entry["chi_parallel"], entry["chi_perp"]])
    w.table("critical_points", ["activation", "class", "$C_b$", "$C_W$", "$K^*$",
                                r"$\chi_\parallel$", r"$\chi_\perp$"], rows,
            "Critical initialisations; χ∥ and χ⊥ recomputed at the returned point (both 1).",
            digits=6)

    da = eft.depth_asymptotics_experiment("tanh", quick=quick)
    last = w.store("depth_asymptotics.ratio_at_max_depth", float(da.K[-1] / da.K_asymptotic[-1]))
    w.store("depth_asymptotics.a1", da.a1)
    w.store("depth_asymptotics.max_depth", int(da.depths[-1]))
    fig, ax = _fig()
    plots_eft.plot_depth_asymptotics(da, ax=ax)
    w.figure("depth_asymptotics", fig, "K^(ℓ) of critical tanh against 1/(−a₁ℓ).")
    w.text(
        f"K* = 0 class (tanh at criticality): a₁ = {format_number(da.a1)}; at ℓ = "
        f"{int(da.depths[-1])} the recursion is {format_number(last)} × 1/(−a₁ℓ) (the "
        "approach to 1 is logarithmic, as the next term of the asymptotic series says)."
    )


def _vertex(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("2. Four-point vertex: V/(nK²) growth with depth")
    results = [eft.vertex_growth(name, width=sz.vertex_width, depths=sz.vertex_depths,
                                 n_nets=sz.vertex_nets, quick=sz.quick, rng=10 * i)
               for i, name in enumerate(("relu", "tanh"))]
    rows = []
    for r in results:
        z = _z(r.sampled, r.ratio, r.stderr)
        zt = _z(r.tensor_sampled, r.tensor, r.tensor_stderr)
        w.store(f"vertex.{r.activation}", {
            "width": r.width, "n_nets": r.n_nets, "C_b": r.C_b, "C_W": r.C_W,
            "depths": r.depths, "K": r.K, "ratio_recursion": r.ratio, "ratio_sampled": r.sampled,
            "ratio_stderr": r.stderr, "pull": z, "tensor_max_abs_pull": np.max(np.abs(zt))})
        for j, L in enumerate(r.depths):
            rows.append([r.activation, int(L), r.ratio[j], r.sampled[j], r.stderr[j], z[j]])
    w.table("vertex_growth", ["activation", "L", "V/(nK²) recursion", "sampled", "stderr",
                              "pull"], rows,
            "Normalised four-point vertex at criticality, n = "
            f"{results[0].width}: leading-order recursion vs sampled ensembles.")
    fig, ax = _fig()
    plots_eft.plot_vertex_growth(results, ax=ax)
    w.figure("vertex_growth", fig, "V/(nK²) against depth at criticality: recursion (lines) "
             "and sampled deep ensembles (points, 1σ).")
    for r in results:
        mp = w.results["vertex"][r.activation]["tensor_max_abs_pull"]
        w.text(
            f"{r.activation}: n = {r.width}, {r.n_nets} networks per depth; multi-input "
            f"check on P = {r.X.shape[0]} inputs: the largest pull over all components of the "
            f"connected 4-pt tensor (LO V vs sampled) is {format_number(mp, 3)}."
        )


def _nlo(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("3. The 1/n correction to the two-point function")
    r = eft.nlo_two_point("tanh", widths=sz.nlo_widths, n_nets=sz.nlo_nets, quick=sz.quick)
    z = _z(r.sampled, r.G1 / r.widths, r.stderr)
    w.store("nlo", {"activation": r.activation, "depth": r.depth, "C_b": r.C_b, "C_W": r.C_W,
                    "K": r.K, "G1": r.G1, "widths": r.widths, "sampled": r.sampled,
                    "stderr": r.stderr, "pull": z, "n_nets": r.n_nets})
    rows = [[int(n), r.G1 / n, r.sampled[i], r.stderr[i], z[i]] for i, n in enumerate(r.widths)]
    w.table("nlo_two_point", ["n", "G^{1}/n (recursion)", "E[z²] − K sampled", "stderr", "pull"],
            rows, f"NLO two-point correction, {r.activation}, L = {r.depth}, K = "
            f"{format_number(r.K)}, {r.n_nets} networks per width.")
    fig, ax = _fig()
    plots_eft.plot_nlo_two_point(r, ax=ax)
    w.figure("nlo_two_point", fig, "n (E[z²] − K) of sampled ensembles against the NLO "
             "coefficient G^{1}.")


def _matching(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("4. EFT couplings by matching; finite-width inference at one input")
    mt = eft.quartic_matching(quick=sz.quick)
    rows = []
    for i, m in enumerate(mt.m):
        w.store(f"matching.m{m}", {
            "gamma2": str(mt.gamma2[i]), "gamma4": str(mt.gamma4[i]),
            "inverse_gamma2": str(mt.inverse_gamma2[i]),
            "seed_inverse_gamma2": str(mt.seed_inverse_gamma2[i]),
            "seed_minus_ours": str(mt.discrepancy[i])})
        rows.append([str(m), f"${sp.latex(mt.inverse_gamma2[i])}$",
                     f"${sp.latex(mt.gamma4[i])}$", f"${sp.latex(mt.seed_inverse_gamma2[i])}$"])
    w.table("matching", ["m", r"$1/\gamma^{(2)}$", r"$\gamma^{(4)}$", r"seed's $1/\gamma^{(2)}$"],
            rows, "Couplings of the O(m) quartic theory matched to (G, V) at O(1/n).")
    w.store("matching.conditional", str(mt.conditional))
    w.text(
        "**Correction to the talk.** The seed's 1/γ(2) = G − (m+2)V/(nG) drops a factor 1/2: "
        "matching ⟨φ1²⟩ = 1/γ2 + (m+2)γ4/(2γ2³) gives 1/γ(2) = G − (m+2)V/(2nG). The seed's "
        "conditional ⟨φ2²|φ1⟩ = G + ½(φ1² − G)V/(nG²) is right, and follows only with the "
        f"corrected γ(2) (symbolic result: `{mt.conditional}`). Derivation: "
        f"[{_DOCS}](../{_DOCS}) and `docs/inference.md`."
    )
    cv = eft.conditional_variance("relu", width=sz.cond_width, n_nets=sz.cond_nets,
                                  quick=sz.quick, rng=7)
    z = _z(cv.sampled, cv.predicted, cv.stderr)
    z0 = _z(cv.sampled, np.full_like(cv.sampled, cv.G), cv.stderr)
    chi2 = w.store("conditional.chi2", float(np.sum(z**2)))
    chi2_0 = w.store("conditional.chi2_infinite_width", float(np.sum(z0**2)))
    w.store("conditional", {"activation": cv.activation, "width": cv.width, "depth": cv.depth,
                            "G": cv.G, "V": cv.V, "phi1": cv.phi1, "sampled": cv.sampled,
                            "stderr": cv.stderr, "predicted": cv.predicted, "pull": z,
                            "n_nets": cv.n_nets, "bins": len(cv.phi1),
                            "chi2": chi2, "chi2_infinite_width": chi2_0})
    fig, ax = _fig()
    plots_eft.plot_conditional_variance(cv, ax=ax)
    w.figure("conditional_variance", fig, "⟨φ2²|φ1⟩ of sampled ReLU networks (two outputs) "
             "against the seed's finite-width formula and the infinite-width value G.")
    w.text(
        f"Sampled check ({cv.activation}, n = {cv.width}, L = {cv.depth}, {cv.n_nets} "
        f"networks, {len(cv.phi1)} equal-count bins of φ1): χ² = {format_number(chi2, 3)} "
        f"for the NLO formula against χ² = {format_number(chi2_0, 3)} for the infinite-width "
        "statement ⟨φ2²|φ1⟩ = G (no representation learning): at finite width, observing one "
        "output neuron changes the others."
    )


def _run_info(w: ReportWriter, quick: bool, seconds: float) -> None:
    w.heading("Run")
    w.store("run", {"quick": quick, "seconds": seconds, "fieldnn": __version__,
                    "numpy": np.__version__, "python": platform.python_version(),
                    "cpus": os.cpu_count()})
    w.text(f"{'Quick' if quick else 'Full'} run, {format_number(seconds, 3)} s; fieldnn "
           f"{__version__}, numpy {np.__version__}, Python {platform.python_version()}.")


def run(
    out: str | os.PathLike[str],
    *,
    quick: bool = False,
    force: bool = False,
    progress: bool = False,
) -> Path:
    """Reproduce the deep-network EFT talk and write the report to ``out``.

    Parameters
    ----------
    out : path
        Output directory (refused if it exists and is not empty, unless ``force``).
    quick : bool
        Small sizes (under five minutes on two cores).
    force : bool
        Write into a non-empty directory.
    progress : bool
        Show a progress bar over the sections.

    Returns
    -------
    pathlib.Path
        The output directory, containing ``report.md``, ``results.json``, ``*.png``, ``*.tex``.
    """
    return _write(out, _QUICK if quick else _FULL, force=force, progress=progress)


def _write(out: str | os.PathLike[str], sz: _Sizes, *, force: bool, progress: bool) -> Path:
    """Run every section at sizes ``sz`` and write the report (see :func:`run`)."""
    quick = sz.quick
    t0 = time.perf_counter()
    w = ReportWriter(out, force=force, title="Deep-network EFT: reproduction of the seed-000 talk")
    w.text(
        "Roberts–Yaida–Hanin effective theory of deep networks (arXiv:2106.10165), as presented "
        "in the seed talk: criticality, the four-point vertex, the 1/n expansion, EFT couplings "
        "by matching, the NTK and inference. Every number is computed two independent ways "
        "(recursion or closed form against sampled ensembles with standard errors; 'pull' = "
        "(sampled − theory)/stderr). Conventions: z^(ℓ+1) = b + W σ(z^(ℓ)), "
        "W ~ N(0, C_W/n), b ~ N(0, C_b), linear output; "
        f"derivations and the corrections to the talk: [{_DOCS}](../{_DOCS}).",
        f"Mode: {'quick' if quick else 'full'}.",
    )
    sections: list[Callable[[], None]] = [
        lambda: _criticality(w, sz),
        lambda: _vertex(w, sz),
        lambda: _nlo(w, sz),
        lambda: _matching(w, sz),
    ]
    if progress:
        from tqdm.auto import tqdm

        sections = tqdm(sections, desc="reproduce eft")
    for section in sections:
        section()
    _run_info(w, quick, time.perf_counter() - t0)
    return w.finish()
