"""The NN-QFT report's effective-action section: files, stored numbers, physics."""

from __future__ import annotations

import json
import re

import pytest

from fieldnn.report import format_number
from fieldnn.report._effective_section import effective_section
from fieldnn.report._writer import ReportWriter


@pytest.mark.slow
def test_effective_section_writes_tables_figure_and_results(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    w = ReportWriter(tmp_path / "out", force=False, title="t", arguments=None)
    effective_section(w, ("relu",), quick=True)
    out = w.finish()
    names = {p.name for p in out.iterdir()}
    assert {"effective_density.png", "effective_action.tex", "effective_locality.tex"} <= names
    assert {"effective_density.tex", "effective_kappa_tree.tex"} <= names
    r = json.loads((out / "results.json").read_text())["effective"]
    # the seed ReLU inputs make K singular: the section falls back to σ_b² = 1 on [-1, 1]
    assert len(r["action"]["relu_N10"]["inputs"]) == 6
    # residuals fall with width, the density slopes are -2 and -3
    assert r["action"]["relu_N10000"]["residual_G4c_order2"] < 1e-3
    assert r["density"]["erf"]["slope_order1"] == pytest.approx(-2.0, abs=0.25)
    assert r["density"]["relu"]["slope_order2"] == pytest.approx(-3.0, abs=0.25)
    assert 100 < r["density"]["gauss"]["crossover_order1"] < 300
    # every number in a table is a stored one
    stored = set()

    def collect(tree):
        if isinstance(tree, dict):
            for v in tree.values():
                collect(v)
        elif isinstance(tree, list):
            for v in tree:
                collect(v)
        elif isinstance(tree, int | float) and not isinstance(tree, bool):
            stored.add(format_number(tree))

    collect(r)
    text = (out / "report.md").read_text()
    cells = [
        c.strip()
        for line in text.splitlines()
        if line.startswith("| ")
        for c in line.strip("|").split("|")
    ]
    numeric = [c for c in cells if re.fullmatch(r"-?\d+(\.\d+)?(e[-+]\d+)?", c)]
    assert len(numeric) > 10
    assert [c for c in numeric if c not in stored] == []
