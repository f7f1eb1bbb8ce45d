"""Sections 1–3 of ``fieldnn reproduce eft``: criticality, the four-point vertex with depth and
the 1/n correction to the two-point function (private; see :mod:`fieldnn.report.eft_report`)."""

from __future__ import annotations

import numpy as np

from ..experiments import eft
from . import plots_eft
from ._eft_common import _DOCS, _fig, _Sizes, _z
from ._writer import ReportWriter, format_number


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
    it_err = w.store(
        "fixed_point.iterate_max_deviation", float(np.max(np.abs(sol.iterates[:, -1] - sol.K_star)))
    )
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
    w.figure(
        "fixed_point",
        fig,
        "Graphical fixed point K* = C_b + C_W g(K*) (tanh, C_b = 1, "
        "C_W = 2) with the cobweb of the iterated recursion.",
    )

    for name, cb_range, cw_range in (
        ("tanh", (0.0, 0.5), (0.5, 3.0)),
        ("gelu", (0.05, 0.3), (1.85, 2.1)),
    ):
        pd = eft.phase_diagram_experiment(
            name, C_b_range=cb_range, C_W_range=cw_range, grid=sz.phase_grid, quick=quick
        )
        w.store(
            f"phase_diagram.{name}",
            {
                "C_b": pd.C_b,
                "C_W": pd.C_W,
                "chi_parallel": pd.chi_parallel,
                "chi_perp": pd.chi_perp,
                "K_star": pd.K_star,
                "critical_C_b": pd.critical_C_b,
                "critical_C_W": pd.critical_C_W,
                "critical_K_star": pd.critical_K_star,
                "class": pd.universality_class,
            },
        )
        fig, ax = _fig()
        plots_eft.plot_phase_diagram(pd, ax=ax)
        w.figure(
            f"phase_diagram_{name}",
            fig,
            f"Phase diagram of {name} networks: χ∥ = 1 "
            "(dashed) and χ⊥ = 1 (solid) lines; colour log χ⊥ (white: no finite fixed "
            "point). Criticality needs both (the star).",
        )
    gelu = w.results["phase_diagram"]["gelu"]
    w.text(
        "**Correction to the talk.** The seed states criticality as χ∥(K*) = 1 only. For the "
        "K* = 0 class (tanh) and the scale-invariant class (ReLU) χ∥ = χ⊥ at the fixed point, "
        "so the one condition happens to suffice (for tanh, χ∥ < 1 everywhere except the "
        "critical point). For the nonzero-K* class (GELU, SWISH) χ∥ = 1 holds on a whole line, "
        "the edge of the region with a finite fixed point (where a stable and an unstable "
        "fixed point merge), and along it the off-diagonal perturbations still grow or decay "
        "as (χ⊥)^ℓ. Criticality is χ∥ = χ⊥ = 1: for GELU the single point (C_b, C_W) = "
        f"({format_number(gelu['critical_C_b'])}, {format_number(gelu['critical_C_W'])}), "
        f"K* = {format_number(gelu['critical_K_star'])}. Derivation: {w.docs_link(_DOCS)}.",
    )

    tab = eft.critical_point_table(quick=quick)
    rows = []
    for i, name in enumerate(tab.activations):
        entry = w.store(
            f"critical_points.{name}",
            {
                "C_b": tab.C_b[i],
                "C_W": tab.C_W[i],
                "K_star": tab.K_star[i],
                "class": tab.universality_class[i],
                "chi_parallel": tab.chi_parallel[i],
                "chi_perp": tab.chi_perp[i],
            },
        )
        entry["default_K_star"] = w.store(
            f"critical_points.{name}.default_K_star", tab.default_K_star[i]
        )
        rows.append(
            [
                name,
                entry["class"],
                entry["C_b"],
                entry["C_W"],
                entry["K_star"],
                entry["chi_parallel"],
                entry["chi_perp"],
                entry["default_K_star"],
            ]
        )
    w.table(
        "critical_points",
        [
            "activation",
            "class",
            "$C_b$",
            "$C_W$",
            "$K^*$",
            r"$\chi_\parallel$",
            r"$\chi_\perp$",
            "default root",
        ],
        rows,
        "Critical initialisations; χ∥ and χ⊥ recomputed at the returned point (both 1); "
        "'default root': the fixed point the recursion reaches from small K at the same "
        "(C_b, C_W) (n/a: every K is a fixed point, the scale-invariant class).",
        digits=6,
    )
    w.text(
        "For GELU and SWISH the critical fixed point is a tangency of K = C_b + C_W g(K) "
        "(a double root, half-stable), and a second, simple root lies close to it ('default "
        "root'): a network initialised at the critical (C_b, C_W) with K^(1) below K* flows to "
        "the other root, where χ∥ and χ⊥ are slightly below 1. The values are checked against an "
        "independent scipy quadrature and 30-digit mpmath (tests); the half-stability is not "
        "mentioned in the talk."
    )

    cf = eft.correlation_flow("tanh", quick=quick)
    for i, (label, cb, cw) in enumerate(cf.settings):
        w.store(
            f"correlation_flow.{label}",
            {
                "C_b": cb,
                "C_W": cw,
                "chi_perp": cf.chi_perp[i],
                "rho_final": cf.rho[i, -1],
                "rho_star": cf.rho_star[i],
                "depth": int(cf.depths[-1]),
            },
        )
    fig, ax = _fig()
    plots_eft.plot_correlation_flow(cf, ax=ax)
    w.figure(
        "correlation_flow",
        fig,
        "Two inputs (1, 0) and (0.6, 0.8): 1 − ρ^(ℓ) from the "
        "coupled "
        "(K11, K22, K12) recursion; dotted: the stable correlation fixed point ρ* < 1 of "
        "the chaotic phase.",
    )
    chaotic = w.results["correlation_flow"]["chaotic"]
    w.text(
        "The seed's coupled equations (off-diagonal H recursion): in the ordered phase the two "
        "inputs become perfectly correlated exponentially fast, at criticality only as a slow "
        "power law, "
        "and in the chaotic phase ρ^(ℓ) converges to ρ* = "
        f"{format_number(chaotic['rho_star'][0] if chaotic['rho_star'] else None)} (recursion "
        f"after {chaotic['depth']} layers: {format_number(chaotic['rho_final'])})."
    )

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
    results = [
        eft.vertex_growth(
            name,
            width=sz.vertex_width,
            depths=sz.vertex_depths,
            n_nets=sz.vertex_nets,
            quick=sz.quick,
            rng=10 * i,
        )
        for i, name in enumerate(("relu", "tanh", "gelu"))
    ]
    rows = []
    for r in results:
        z = _z(r.sampled, r.ratio, r.stderr)
        z2 = _z(r.sampled, r.ratio_nnlo, r.stderr)
        zt = _z(r.tensor_sampled, r.tensor, r.tensor_stderr)
        zt2 = _z(r.tensor_sampled, r.tensor_nnlo, r.tensor_stderr)
        ze = _z(r.sampled, r.exact, r.stderr)
        zk = _z(r.kernel_sampled, r.kernel, r.kernel_stderr)
        zk1 = _z(r.kernel_sampled, r.kernel_nlo, r.kernel_stderr)
        zk2 = _z(r.kernel_sampled, r.kernel_nnlo, r.kernel_stderr)
        w.store(
            f"vertex.{r.activation}",
            {
                "width": r.width,
                "n_nets": r.n_nets,
                "C_b": r.C_b,
                "C_W": r.C_W,
                "X": r.X,
                "depths": r.depths,
                "K": r.K,
                "ratio_recursion": r.ratio,
                "ratio_nnlo": r.ratio_nnlo,
                "ratio_sampled": r.sampled,
                "ratio_stderr": r.stderr,
                "ratio_exact": r.exact,
                "pull": z,
                "pull_nnlo": z2,
                "pull_exact": ze,
                "tensor_max_abs_pull": np.max(np.abs(zt)),
                "tensor_max_abs_pull_by_depth": np.max(np.abs(zt), axis=(1, 2, 3, 4)),
                "tensor_max_abs_pull_NNLO": np.max(np.abs(zt2)),
                "tensor_max_abs_pull_NNLO_by_depth": np.max(np.abs(zt2), axis=(1, 2, 3, 4)),
                "kernel_max_abs_pull_LO": np.max(np.abs(zk)),
                "kernel_max_abs_pull_NLO": np.max(np.abs(zk1)),
                "kernel_max_abs_pull_NNLO": np.max(np.abs(zk2)),
            },
        )
        for j, L in enumerate(r.depths):
            rows.append(
                [
                    r.activation,
                    int(L),
                    r.ratio[j],
                    r.ratio_nnlo[j],
                    r.exact[j],
                    r.sampled[j],
                    r.stderr[j],
                    z[j],
                    z2[j],
                    ze[j],
                ]
            )
    w.table(
        "vertex_growth",
        [
            "activation",
            "L",
            "V/(nK²) recursion",
            "(V + V^{1}/n)/(nK²)",
            "exact finite n",
            "sampled",
            "stderr",
            "pull (LO)",
            "pull (O(1/n²))",
            "pull (exact)",
        ],
        rows,
        "Normalised four-point vertex at criticality, n = "
        f"{results[0].width}: leading-order recursion, its O(1/n²) completion, the exact "
        "finite-width ReLU result ∏(1 + 5/n) − 1, and sampled ensembles.",
    )
    fig, ax = _fig()
    plots_eft.plot_vertex_growth(
        results,
        ax=ax,
        exact={r.activation: r.exact for r in results if np.all(np.isfinite(r.exact))},
    )
    w.figure(
        "vertex_growth",
        fig,
        "V/(nK²) against depth at criticality: leading-order recursion (solid lines), with the "
        "O(1/n²) term added, (V + V^{1}/n)/(nK²) (dashed), and sampled deep ensembles (points, "
        "1σ).",
    )
    for r in results:
        res = w.results["vertex"][r.activation]
        w.text(
            f"{r.activation}: n = {r.width}, {r.n_nets} networks per depth, inputs x = "
            f"{', '.join(format_number(v) for v in r.X[:, 0])}. Multi-input check: the largest "
            "pull over all components of the connected 4-pt tensor is "
            f"{format_number(res['tensor_max_abs_pull'], 3)} against the leading order V/n (by "
            f"depth: {_pulls(res['tensor_max_abs_pull_by_depth'])}) and "
            f"{format_number(res['tensor_max_abs_pull_NNLO'], 3)} against V/n + V^{{1}}/n² (by "
            f"depth: {_pulls(res['tensor_max_abs_pull_NNLO_by_depth'])}); of the 2-pt function "
            f"(all depths and input pairs), {format_number(res['kernel_max_abs_pull_LO'], 3)} "
            f"against K, {format_number(res['kernel_max_abs_pull_NLO'], 3)} against "
            f"K + K^{{1}}/n and {format_number(res['kernel_max_abs_pull_NNLO'], 3)} against "
            "K + K^{1}/n + K^{2}/n²."
        )
    w.text(
        "The leading-order V/(nK²) grows linearly with depth (ReLU: 5(L − 1)/n; K* = 0 class: "
        "→ (2/3) L/n; GELU, started on its critical fixed point K*, close to the ReLU slope). "
        "For ReLU the exact finite-width value ∏(1 + 5/n) − 1 (derived in "
        f"{w.docs_link(_DOCS)}; `fieldnn.kernels.deep.exact_single_input_moment`) departs from "
        "the leading order once L/n is no longer small, and the sampled ensembles follow the "
        "exact value: the 1/n expansion is an expansion in L/n. Its next term V^{1}/n² "
        "(`fieldnn.kernels.multi_input_cumulants`, derived in section 6a of "
        f"{w.docs_link(_DOCS)}; for ReLU 25(L − 1)(L − 2)/(2n²), the second term of the "
        "exact product) brings the largest pull over the three activations and all depths from "
        f"{_worst(w, 'pull')} to {_worst(w, 'pull_nnlo')} at one input and from "
        f"{_worst(w, 'tensor_max_abs_pull')} to {_worst(w, 'tensor_max_abs_pull_NNLO')}"
        " over the components of the tensor."
    )


def _worst(w: ReportWriter, key: str) -> str:
    """Largest |value| of a stored vertex entry over the activations, formatted."""
    stored = w.results["vertex"].values()
    return format_number(max(float(np.max(np.abs(np.asarray(v[key])))) for v in stored), 3)


def _pulls(values: np.ndarray) -> str:
    return ", ".join(format_number(p, 3) for p in values)


def _nlo(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("3. The 1/n correction to the two-point function")
    r = eft.nlo_two_point("tanh", widths=sz.nlo_widths, n_nets=sz.nlo_nets, quick=sz.quick)
    z = _z(r.sampled, r.G1 / r.widths, r.stderr)
    w.store(
        "nlo",
        {
            "activation": r.activation,
            "depth": r.depth,
            "C_b": r.C_b,
            "C_W": r.C_W,
            "K": r.K,
            "G1": r.G1,
            "widths": r.widths,
            "sampled": r.sampled,
            "stderr": r.stderr,
            "pull": z,
            "n_nets": r.n_nets,
        },
    )
    fit = plots_eft.nlo_fit(r)
    w.store("nlo.fit", fit)
    rows = [[int(n), r.G1 / n, r.sampled[i], r.stderr[i], z[i]] for i, n in enumerate(r.widths)]
    w.table(
        "nlo_two_point",
        ["n", "G^{1}/n (recursion)", "E[z²] − K sampled", "stderr", "pull"],
        rows,
        f"NLO two-point correction, {r.activation}, L = {r.depth}, K = "
        f"{format_number(r.K)}, {r.n_nets} networks per width.",
    )
    if fit["intercept_stderr"] is None:
        w.text("Fewer than three widths: the 1/n dependence is not fitted.")
    else:
        agrees = abs(fit["intercept_pull"]) < 3
        w.text(
            f"A weighted fit n (E[z²] − K) = a + b/n over the widths gives a = "
            f"{format_number(fit['intercept'])} ± {format_number(fit['intercept_stderr'], 2)} "
            f"against the NLO coefficient G^{{1}} = {format_number(r.G1)} (pull "
            f"{format_number(fit['intercept_pull'], 2)}): the sampled correction "
            + ("is consistent with G^{1}/n" if agrees else "is not consistent with G^{1}/n")
            + f" at 3σ once the next term, b/n² with b = {format_number(fit['slope'])} ± "
            f"{format_number(fit['slope_stderr'], 2)}, is allowed for (χ²/dof = "
            f"{format_number(fit['chi2_dof'], 2)})."
        )
    fig, ax = _fig()
    plots_eft.plot_nlo_two_point(r, ax=ax)
    w.figure(
        "nlo_two_point",
        fig,
        "n (E[z²] − K) of sampled ensembles against 1/n, the weighted fit a + b/n and the NLO "
        "coefficient G^{1} (its value at 1/n = 0).",
    )
