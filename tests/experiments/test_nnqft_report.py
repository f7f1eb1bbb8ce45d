"""fieldnn.report.nnqft_report at tiny size: files, refusal to overwrite, report == results.json."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from fieldnn.errors import ArgumentError
from fieldnn.report import format_number
from fieldnn.report.nnqft_report import _TINY, _run

from ._latex_tables import check_tables_compile
from ._report_tables import table_rows


def _numbers(tree) -> set[str]:
    """Every number of the results tree, formatted as the report formats it."""
    out: set[str] = set()
    if isinstance(tree, dict):
        for v in tree.values():
            out |= _numbers(v)
    elif isinstance(tree, list):
        for v in tree:
            out |= _numbers(v)
    elif isinstance(tree, bool) or tree is None:
        pass
    elif isinstance(tree, int | float):
        out.add(format_number(tree))
    return out


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("nnqft") / "out", _TINY, force=False, progress=False)


def test_writes_all_outputs(report_dir: Path) -> None:
    names = {p.name for p in report_dir.iterdir()}
    assert {"report.md", "results.json"} <= names
    assert {
        "falloff.png",
        "lambda_tuples.png",
        "six_point.png",
        "rg_flow.png",
        "c_lambda.png",
        "dout.png",
    } <= names
    assert {"falloff_slopes.tex", "lambda.tex", "six_point.tex", "rg.tex", "so_dout.tex"} <= names
    tex = (report_dir / "rg.tex").read_text()
    assert r"\begin{tabular}" in tex and "\t" not in tex


def test_tables_are_pure_latex_and_compile(report_dir: Path, tmp_path: Path) -> None:
    check_tables_compile(report_dir, tmp_path)


def test_table_numbers_are_the_stored_ones(report_dir: Path) -> None:
    results = json.loads((report_dir / "results.json").read_text())
    stored = _numbers(results)
    text = (report_dir / "report.md").read_text()
    cells = [
        c.strip()
        for line in text.splitlines()
        if line.startswith("| ")
        for c in line.strip("|").split("|")
    ]
    numeric = [c for c in cells if re.fullmatch(r"-?\d+(\.\d+)?(e[-+]\d+)?", c)]
    assert len(numeric) > 30
    missing = [c for c in numeric if c not in stored]
    assert missing == []


def test_physics_in_results(report_dir: Path) -> None:
    r = json.loads((report_dir / "results.json").read_text())
    rg = r["rg"]["relu_d1_full"]
    assert rg["fitted_slope"] == pytest.approx(-5.0, abs=1e-6)
    assert rg["symbolic_slope"] == -5.0
    assert r["falloff"]["relu"]["slopes_exact"]["4"] == pytest.approx(-1.0, abs=1e-9)
    assert 58 < r["six_point"]["relu"]["width_1pct_max"] < 59
    assert "section_seconds" in r["meta"]


def test_refuses_to_overwrite(report_dir: Path) -> None:
    with pytest.raises(ArgumentError, match="out"):
        _run(report_dir, _TINY, force=False, progress=False)


def test_six_point_table_with_several_sampled_widths(tmp_path: Path) -> None:
    """The full run samples N = 10 and N = 100 (the quick one only N = 10): the table must take
    the sampled N = 10 ratio by width, also when 10 is not the first sampled width, and show
    "—" when N = 10 is not sampled."""
    sizes = replace(_TINY, nets=("relu",), six_sampled_widths=(30, 10), six_nets=1_000)
    out = _run(tmp_path / "two", sizes, force=False, progress=False, sections=("six_point",))
    r = json.loads((out / "results.json").read_text())["six_point"]["relu"]
    assert r["sampled_widths"] == [30.0, 10.0]
    assert len(r["sampled_ratio_mean"]) == 2
    rows = table_rows((out / "report.md").read_text(), "| net | ratio N=10")
    assert [row[0] for row in rows] == ["relu"]
    assert rows[0][-1] == ("yes" if r["sampled_reliable"][1] else "no")
    assert rows[0][-3:-1] == [
        format_number(r["sampled_ratio_mean"][1]),
        format_number(r["sampled_ratio_stderr"][1]),
    ]
    assert rows[0][-3] != format_number(r["sampled_ratio_mean"][0])
    assert "sampled ratio N=10" in (out / "six_point.tex").read_text()
    assert (out / "six_point.png").is_file()

    sizes = replace(sizes, six_sampled_widths=(20, 40), six_nets=500)
    out = _run(tmp_path / "no10", sizes, force=False, progress=False, sections=("six_point",))
    rows = table_rows((out / "report.md").read_text(), "| net | ratio N=10")
    assert rows[0][-3:] == ["—", "—", "—"]
