"""``fieldnn reproduce eft``: the files are written, and every number of report.md is the one in
results.json (formatted from the same stored value)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from fieldnn.errors import ArgumentError
from fieldnn.report import eft_report, format_number

from ._latex_tables import check_tables_compile
from ._report_tables import table_rows

FIGURES = (
    "fixed_point",
    "phase_diagram_tanh",
    "phase_diagram_gelu",
    "correlation_flow",
    "depth_asymptotics",
    "vertex_growth",
    "nlo_two_point",
    "conditional_variance",
    "ntk",
    "gradient_flow",
    "hidden_shift",
    "finite_width_mean",
    "finite_width_split",
    "kinked_training_shift",
    "deep_kinked_training_shift",
    "deep_kinked_training_scatter",
    "next_order",
)
TABLES = (
    "critical_points",
    "vertex_growth",
    "nlo_two_point",
    "matching",
    "conditional",
    "ntk",
    "replicas",
    "hidden_layers",
    "finite_training",
    "finite_training_variance",
    "finite_training_terms",
    "finite_training_frozen",
    "finite_training_dynamics",
    "kinked_training_shift",
    "kinked_training_ntk",
    "kinked_training_raw",
    "deep_kinked_training_shift",
    "deep_kinked_training_ntk",
    "deep_kinked_training_raw",
    "deep_kinked_training_scatter",
    "next_order",
    "three_inputs",
    "summary",
)


def _check_output(out: Path) -> None:
    for name in FIGURES:
        assert (out / f"{name}.png").stat().st_size > 1000, name
    for name in TABLES:
        tex = (out / f"{name}.tex").read_text()
        assert r"\begin{tabular}" in tex and r"\bottomrule" in tex, name
    report = (out / "report.md").read_text()
    results = json.loads((out / "results.json").read_text())
    for png in re.findall(r"\]\(([^)]+\.png)\)", report):
        assert (out / png).exists(), png
    assert "docs/eft.md" in report
    # every Markdown table row has as many cells as its header (no stray "|" in a cell)
    lines = report.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---"):
            width = lines[i - 1].count("|")
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].count("|") == width, lines[j]
                j += 1
    # the seed's fixed point
    fp = results["fixed_point"]
    assert f"K* = {format_number(fp['K_star'], 8)}" in report
    assert f"χ∥ = {format_number(fp['chi_parallel'])}" in report
    # the vertex table is results.json, row by row
    rows = table_rows(report, "| activation | L |")
    expected = []
    for act in ("relu", "tanh", "gelu"):
        v = results["vertex"][act]
        for j, L in enumerate(v["depths"]):
            expected.append(
                [act, str(L)]
                + [
                    format_number(v[key][j])
                    for key in (
                        "ratio_recursion",
                        "ratio_nnlo",
                        "ratio_exact",
                        "ratio_sampled",
                        "ratio_stderr",
                        "pull",
                        "pull_nnlo",
                        "pull_exact",
                    )
                ]
            )
    assert rows == expected
    # NLO table and the critical-point table
    nlo = results["nlo"]
    rows = table_rows(report, "| n | G^{1}/n")
    assert [r[0] for r in rows] == [str(n) for n in nlo["widths"]]
    assert [r[2] for r in rows] == [format_number(x) for x in nlo["sampled"]]
    rows = table_rows(report, "| activation | class |")
    tanh = results["critical_points"]["tanh"]
    assert rows[0][:4] == [
        "tanh",
        tanh["class"],
        format_number(tanh["C_b"], 6),
        format_number(tanh["C_W"], 6),
    ]
    # the next-order table is results.json, and its exact column is ∏(1 + 5/n) − 1
    rows = table_rows(report, "| n | L | L/n |")
    stored = results["next_order"]["rows"]
    assert [r[3:] for r in rows] == [[format_number(v, 3) for v in e["values"]] for e in stored]
    for e in stored:
        assert e["values"][0] == pytest.approx((1 + 5 / e["n"]) ** (e["L"] - 1) - 1, rel=1e-12)
    # the three-input table is results.json
    three = results["three_inputs"]
    rows = table_rows(report, "| n | G4c: O(1/n) |")
    keys = ("four_lo", "four_nlo", "four_resolution", "six_lo", "six_resolution")
    assert rows == [
        [str(n), *(format_number(three[k][i], 3) for k in keys)]
        for i, n in enumerate(three["widths"])
    ]
    # the relu training tables (one hidden layer, then two) are results.json
    for key, heading in (("kinked_training", "### 7.1"), ("deep_kinked_training", "### 7.2")):
        kink, section = results[key], report[report.index(heading) :]
        rows = table_rows(section, "| n | rms z vs n → ∞ | rms z vs n → ∞ + a/√n |")
        assert [r[:3] for r in rows] == [
            [
                str(n),
                format_number(kink["z_rms_infinite"][i], 3),
                format_number(kink["z_rms_kinked"][i], 3),
            ]
            for i, n in enumerate(kink["widths"])
        ]
        rows = table_rows(section, "|  | x′ = ")
        assert rows[-2][1::2] == [format_number(a, 3) for a in kink["coefficient"]]
        assert rows[-3][1::2] == [format_number(a, 3) for a in kink["extrapolated"]]
        # a closed-form theory is not captioned with a Monte Carlo error
        exact = not np.any(kink["coefficient_stderr"])
        caption = section[: section.index("| n | rms z vs n → ∞ |")]
        assert ("kinked_training_shift (closed form)" in caption) == exact
        assert ("Monte Carlo error" in caption) != exact
    assert "[1, n, n, 1]" in report[report.index("### 7.2") :]
    # the scatter at the test inputs (one training input: the deeper net only) is results.json
    deep = results["deep_kinked_training"]
    rows = table_rows(report[report.index("### 7.2") :], "| scatter | x′ = ")
    assert [r[1::2] for r in rows[:-3]] == [[format_number(v, 3) for v in row] for row in
                                            deep["scatter"]]  # fmt: skip
    assert rows[-3][1::2] == [format_number(v, 3) for v in deep["scatter_extrapolated"]]
    assert rows[-2][1::2] == [format_number(v, 3) for v in deep["scatter_predicted"]]
    assert "scatter" not in results["kinked_training"]
    # the summary table repeats stored values
    summary = {row[0]: row[4] for row in table_rows(report, "| quantity | method 1 |")}
    for entry in results["summary"]:
        assert summary[entry["check"]] == format_number(entry["value"])
    # corrections and timing
    assert "(m+2)V/(2nG)" in report
    assert f"{format_number(results['run']['seconds'], 3)} s" in report


def test_reduced_run_writes_consistent_files(tmp_path: Path) -> None:
    out = eft_report._write(tmp_path / "eft", eft_report._TINY, force=False, progress=False)
    _check_output(out)
    (tmp_path / "tex").mkdir()
    check_tables_compile(out, tmp_path / "tex")
    with pytest.raises(ArgumentError, match="not empty"):
        eft_report.run(out, quick=True)


@pytest.mark.slow
def test_quick_run(tmp_path: Path) -> None:
    out = eft_report.run(tmp_path / "eft", quick=True)
    _check_output(out)
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["quick"] is True
    # the headline checks of the quick run
    relu = results["vertex"]["relu"]
    assert max(abs(p) for p in relu["pull_exact"]) < 4.5
    for v in results["vertex"].values():  # the O(1/n²) four-point function
        assert max(abs(p) for p in v["pull_nnlo"]) < 4.5
        assert v["tensor_max_abs_pull_NNLO"] < 4.5
    assert results["ntk"]["offdiag_max_abs_pull"] < 4.5
    hidden = results["hidden_layers"]  # every hidden kernel's shift at n = 256
    assert max(hidden["max_abs_pull"][-1]) < 4.5
    kink = results["kinked_training"]  # the relu kink term, extrapolated from n = 64, 256
    assert max(abs(z) for z in kink["z_extrapolated"] + kink["z_ntk_extrapolated"]) < 4.5
    deep = results["deep_kinked_training"]  # [1, n, n, 1]: the pulls the docs quote
    np.testing.assert_allclose(deep["z_extrapolated"], [3.62, 3.58, 1.84], atol=0.02)
    np.testing.assert_allclose(deep["z_ntk_extrapolated"], [-2.73], atol=0.02)
    np.testing.assert_allclose(deep["z_scatter"], [1.75, 1.38, 2.08], atol=0.02)
    assert deep["scaled_paired_shift"][-1][0] == pytest.approx(0.268, abs=6e-4)
