"""``fieldnn reproduce eft``: the deep-network EFT talk (seed 000) end to end.

:func:`run` calls the experiments of :mod:`fieldnn.experiments.eft`, draws the figures of
:mod:`fieldnn.report.plots_eft` and writes ``report.md``, ``results.json``, PNG figures and
LaTeX tables through :class:`fieldnn.report.ReportWriter`. Every number of the report is stored
in the results tree first and formatted from there, so ``report.md`` and ``results.json`` agree.
"""

from __future__ import annotations

import os
import platform
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ._writer import ReportWriter, finished_with, format_number

__all__ = ["run"]

from ._eft_common import _DOCS, _FULL, _QUICK, _TINY, _Sizes
from ._eft_hidden_layers_section import _hidden_layers
from ._eft_inference_sections import _inference, _matching, _ntk
from ._eft_kernel_sections import _criticality, _nlo, _vertex
from ._eft_kinked_section import _deep_kinked_training, _kinked_training
from ._eft_next_order_section import _next_order
from ._eft_training_section import _training


def _summary(w: ReportWriter) -> None:
    """One table of every cross-check, read back from the stored results."""
    w.heading("Summary of the cross-checks")
    r = w.results

    def worst(values: Any) -> float:
        arr = np.abs(np.asarray(values, dtype=float))
        return float(np.nanmax(arr)) if np.any(np.isfinite(arr)) else float("nan")

    crit = r["critical_points"].values()
    cond = r["conditional"]
    n_cond = sorted(int(k[1:]) for k in cond if k.startswith("n") and k[1:].isdigit())
    # the hidden layer whose trained kernel change misses most at the widest width
    trained_layer = int(np.argmax(r["training"]["hidden"]["rms_scaled_residual"][-1]))
    rows = [
        [
            "K* (tanh, C_b = 1, C_W = 2)",
            "root of K = C_b + C_W g(K)",
            "iterated recursion",
            "max deviation",
            r["fixed_point"]["iterate_max_deviation"],
        ],
        [
            "critical points",
            "critical_point",
            "criticality at (C_b, C_W, K*)",
            "max abs(χ − 1)",
            max(max(abs(c["chi_parallel"] - 1), abs(c["chi_perp"] - 1)) for c in crit),
        ],
        *(
            [
                f"V/(nK²), {act}",
                "exact finite width",
                "sampled",
                "max abs. pull",
                worst(v["pull_exact"]),
            ]
            if np.any(np.isfinite(np.asarray(v["pull_exact"], dtype=float)))
            else [
                f"V/(nK²), {act}",
                "(V + V^{1}/n)/(nK²), O(1/n²)",
                "sampled",
                f"max abs. pull; leading order V/(nK²): {format_number(worst(v['pull']), 3)}",
                worst(v["pull_nnlo"]),
            ]
            for act, v in r["vertex"].items()
        ),
        [
            "G4c, 2 inputs, relu, tanh, gelu",
            "V/n + V^{1}/n², O(1/n²)",
            "sampled",
            "max abs. pull; leading order V/n: "
            + format_number(max(v["tensor_max_abs_pull"] for v in r["vertex"].values()), 3),
            max(v["tensor_max_abs_pull_NNLO"] for v in r["vertex"].values()),
        ],
        [
            "2-pt function, 2 inputs, relu, tanh, gelu",
            "K + K^{1}/n + K^{2}/n²",
            "sampled",
            "max abs. pull; K + K^{1}/n: "
            + format_number(max(v["kernel_max_abs_pull_NLO"] for v in r["vertex"].values()), 3),
            max(v["kernel_max_abs_pull_NNLO"] for v in r["vertex"].values()),
        ],
        ["NLO 2-pt, tanh", "G^{1}/n", "sampled", "max abs. pull", worst(r["nlo"]["pull"])],
        [
            "NLO 2-pt, tanh (fit)",
            "G^{1}",
            "intercept a of the fit a + b/n",
            "pull",
            r["nlo"]["fit"]["intercept_pull"],
        ],
        [
            "⟨φ2² ∣ φ1⟩ − G",
            "½(φ1² − G)V/(nG²)",
            "importance weighting",
            f"residual(n = {n_cond[0]}) / residual(n = {n_cond[-1]}); O(1/n²): "
            f"{format_number((n_cond[-1] / n_cond[0]) ** 2)}",
            cond["residual_ratio"],
        ],
        [
            "NTK",
            "forward recursion Θ",
            "empirical NTK",
            "max abs. pull",
            worst(r["ntk"]["max_abs_pull"]),
        ],
        [
            "trained replicas",
            "gradient flow, n → ∞",
            "trained ensemble",
            "rms z (cov), largest n",
            r["inference"]["cov_z_rms"][-1],
        ],
        [
            "trained replicas, finite width",
            "finite_width_prediction, O(1/n)",
            "trained ensemble",
            f"rms z (mean), n = {r['training']['widths'][-1]}; n → ∞ prediction: "
            f"{format_number(r['training']['z_rms_infinite'][-1], 3)}",
            r["training"]["z_rms_finite"][-1],
        ],
        *(
            [
                label,
                method,
                "trained ensemble (paired, 1/√n extrapolated)",
                f"max abs. pull of the coefficient, n = "
                f"{', '.join(str(k) for k in r[key]['widths'][-2:])}",
                worst(r[key]["z_extrapolated"]),
            ]
            for key, label, method in (
                ("kinked_training", "relu nets in training", "kinked_training_shift, O(1/√n)"),
                (
                    "deep_kinked_training",
                    "relu nets [1, n, n, 1] in training",
                    "kinked_training_shift, every layer, O(1/√n)",
                ),
            )
        ),
        [
            "scatter of the kink term, relu [1, n, n, 1]",
            "KinkedNTKChange.scatter, O(n^{−3/2})",
            "trained ensemble (variance at fixed ε₀, s + c/√n)",
            f"max abs. pull of s, n = "
            f"{', '.join(str(k) for k in r['deep_kinked_training']['widths'][-2:])}",
            worst(r["deep_kinked_training"]["z_scatter"]),
        ],
        [
            "hidden kernels, every layer",
            "hidden_kernel_shift(layer=ℓ), O(1/n)",
            "importance weighting",
            f"max abs. pull, n = {r['hidden_layers']['widths'][-1]}",
            worst(r["hidden_layers"]["max_abs_pull"][-1]),
        ],
        [
            "hidden kernels in training, every layer",
            "hidden_kernel_change(layer=ℓ), O(1/n)",
            "trained ensemble (paired change)",
            f"rms n·(measured − predicted), worst layer (ℓ = {trained_layer + 1}), n = "
            f"{r['training']['widths'][-1]}; n·stderr: "
            f"{format_number(r['training']['hidden']['rms_scaled_stderr'][-1][trained_layer], 3)}",
            r["training"]["hidden"]["rms_scaled_residual"][-1][trained_layer],
        ],
        *(
            [
                f"E[z⁴]_c, relu, L/n = {row['L_over_n']:g} (n = {row['n']})",
                "O(1/n²) truncation",
                "exact ∏(1 + 5/n) − 1",
                "ratio",
                row["values"][2] / row["values"][0],
            ]
            for row in r["next_order"]["rows"]
            if row["n"] == max(q["n"] for q in r["next_order"]["rows"])
            and row["L_over_n"] in (0.1, 0.2)
        ),
        [
            f"G4c, relu, three inputs (n = {int(r['three_inputs']['widths'][-1])})",
            "O(1/n²) action (multi_input_cumulants)",
            "sampled",
            "max abs. pull",
            r["three_inputs"]["four_nlo"][-1],
        ],
        [
            "dL/dt",
            "−ε·H·ε",
            "trained networks",
            "max rel. deviation",
            r["inference"]["loss_rate_max_rel_error"],
        ],
    ]
    w.store("summary", [{"check": row[0], "value": row[4]} for row in rows])
    w.table(
        "summary",
        ["quantity", "method 1", "method 2", "measure", "value"],
        rows,
        "Every check of the report in one place (pulls are (sampled − theory)/stderr).",
    )


def _corrections(w: ReportWriter) -> None:
    w.heading("Where the talk needed correcting")
    relu = w.results["vertex"]["relu"]
    L, lo, ex = relu["depths"][-1], relu["ratio_recursion"][-1], relu["ratio_exact"][-1]
    factor = w.store("vertex.relu.exact_over_LO_at_max_depth", ex / lo if lo else None)
    w.text(
        f'The derivations are in {w.docs_link(_DOCS)}, section 8 ("Corrections to the seed '
        'talk"), and `docs/inference.md`. The ones this reproduction shows numerically:',
        "1. Criticality is χ∥ = χ⊥ = 1, not χ∥ = 1 alone (section 1: phase diagram, table of "
        "critical points).",
        "2. 1/γ(2) = G − (m+2)V/(2nG): the talk drops a factor 1/2 (section 4); its "
        "conditional ⟨φ2²|φ1⟩ = G + ½(φ1² − G)V/(nG²) is right only with the corrected γ(2), "
        "and is confirmed by sampled networks with an O(1/n²) residual.",
        '3. "⟹ λ_b = C_b, λ_W = C_W" on the NTK slide is a choice of learning rates, not '
        "an implication (section 5); the weight term of H^(ℓ+1) carries λ_W/n_ℓ.",
        "4. The slide's ⟨ΔĜΔĜ⟩ = (C_W²/n)[⟨σσσσ⟩ − ⟨σσ⟩⟨σσ⟩] evaluated at leading order "
        "misses the propagated V^(ℓ) term (different-neuron pairs correlated through Ĝ^(ℓ)); "
        "with it, V/(nK²) grows linearly with depth as measured in section 2.",
        f"5. The 1/n expansion is one in L/n: at n = {relu['width']} and L = {L} the ReLU "
        f"vertex is ∏(1 + 5/n) − 1 = {format_number(factor)} × its leading order 5(L − 1)/n "
        "(section 2), and the sampled ensembles follow the exact value.",
        "Further corrections of notation (sign convention of the quartic term, layer labels, "
        f"the Schur complement on the Bayesian slide) are listed in {w.docs_link(_DOCS)}.",
    )


def _warnings(w: ReportWriter, messages: list[str]) -> None:
    """List the numerical warnings the library raised during the run (recorded, not hidden).

    Messages that differ only in their numbers are merged: count and largest number shown.
    """
    number = r"\d+(?:\.\d+)?(?:e[-+]?\d+)?"
    groups: dict[str, list[str]] = {}
    for m in messages:
        groups.setdefault(re.sub(number, "#", m), []).append(m)
    summary = []
    for key, members in sorted(groups.items()):
        values = [float(x) for m in members for x in re.findall(number, m)]
        summary.append(
            {"message": key, "count": len(members), "largest": max(values) if values else None}
        )
    w.store("warnings", summary)
    if summary:
        w.heading("Numerical warnings raised by the library")
        w.text(
            *[
                f"- {g['message']} (× {g['count']}; largest # = {format_number(g['largest'], 2)})"
                for g in summary
            ]
        )


def _run_info(w: ReportWriter, quick: bool, seconds: float) -> None:
    w.heading("Run")
    w.store(
        "run",
        {
            "quick": quick,
            "seconds": seconds,
            "fieldnn": __version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
    )
    w.text(
        f"{'Quick' if quick else 'Full'} run, {format_number(seconds, 3)} s; fieldnn "
        f"{__version__}, numpy {np.__version__}, Python {platform.python_version()}."
    )


def run(
    out: str | os.PathLike[str],
    *,
    quick: bool = False,
    force: bool = False,
    progress: bool = False,
    skip_finished: bool = False,
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
    skip_finished : bool
        Return ``out`` untouched if it holds a run finished with the same arguments (used by
        ``fieldnn reproduce`` for both talks, so that an interrupted run of both resumes).

    Returns
    -------
    pathlib.Path
        The output directory, containing ``report.md``, ``results.json``, ``*.png``, ``*.tex``.
    """
    sz = (
        _TINY
        if os.environ.get("FIELDNN_REPRODUCE_SIZE") == "tiny"
        else (_QUICK if quick else _FULL)
    )
    return _write(out, sz, force=force, progress=progress, skip_finished=skip_finished)


def _write(
    out: str | os.PathLike[str],
    sz: _Sizes,
    *,
    force: bool,
    progress: bool,
    skip_finished: bool = False,
) -> Path:
    """Run every section at sizes ``sz`` and write the report (see :func:`run`).

    Checkpointed after every section in ``out/.fieldnn-state`` (:mod:`fieldnn.report._writer`):
    an interrupted run restarted with the same arguments resumes.
    """
    quick = sz.quick
    t0 = time.perf_counter()
    mode = "tiny" if sz == _TINY else ("quick" if quick else "full")
    arguments = {"command": "reproduce eft", "mode": mode, "fieldnn": __version__}
    if skip_finished and not force and finished_with(out, arguments):
        return Path(out)
    w = ReportWriter(
        out,
        force=force,
        title="Deep-network EFT: reproduction of the seed-000 talk",
        arguments=arguments,
    )
    w.step("intro", lambda: _intro(w, quick))
    sections: list[tuple[str, Callable[[], None]]] = [
        ("criticality", lambda: _criticality(w, sz)),
        ("vertex", lambda: _vertex(w, sz)),
        ("nlo", lambda: _nlo(w, sz)),
        ("matching", lambda: _matching(w, sz)),
        ("ntk", lambda: _ntk(w, sz)),
        ("inference", lambda: _inference(w, sz)),
        ("hidden_layers", lambda: _hidden_layers(w, sz)),
        ("training", lambda: _training(w, sz)),
        ("kinked_training", lambda: _kinked_training(w, sz)),
        ("deep_kinked_training", lambda: _deep_kinked_training(w, sz)),
        ("next_order", lambda: _next_order(w, sz)),
        ("summary", lambda: _summary(w)),
        ("corrections", lambda: _corrections(w)),
    ]
    if progress:
        from tqdm.auto import tqdm

        sections = tqdm(sections, desc="reproduce eft")
    caught: list[str] = []  # every occurrence (one per section and message)
    for name, section in sections:
        caught += w.step(name, lambda section=section: _caught_warnings(section))
    _warnings(w, caught)
    _run_info(w, quick, time.perf_counter() - t0)
    return w.finish()


def _caught_warnings(section: Callable[[], None]) -> list[str]:
    """Run ``section``; return the distinct warnings it raised, as "Category: message"."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        section()
    return sorted({f"{r.category.__name__}: {r.message}" for r in record})


def _intro(w: ReportWriter, quick: bool) -> None:
    w.text(
        "Roberts–Yaida–Hanin effective theory of deep networks (arXiv:2106.10165), as presented "
        "in the seed talk: criticality, the four-point vertex, the 1/n expansion, EFT couplings "
        "by matching, the NTK and inference. Every number is computed two independent ways "
        "(recursion or closed form against sampled ensembles with standard errors; 'pull' = "
        "(sampled − theory)/stderr). Conventions: z^(ℓ+1) = b + W σ(z^(ℓ)), "
        "W ~ N(0, C_W/n), b ~ N(0, C_b), linear output; "
        f"derivations and the corrections to the talk: {w.docs_link(_DOCS)}.",
        f"Mode: {'quick' if quick else 'full'}.",
    )
