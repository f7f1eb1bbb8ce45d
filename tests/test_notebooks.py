"""The tutorial notebooks run top to bottom and their assert cells hold.

Each notebook is a jupytext py:percent file under ``notebooks/``; the test converts it to an
in-memory notebook with jupytext and executes it in a fresh kernel with nbclient (the same route
nbmake takes for .ipynb files), with warnings turned into errors as in the rest of the suite.
Notebooks write only to the temporary directory they are given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# notebook -> text that must appear in its printed output (beyond the assert cells passing)
EXPECTED_OUTPUT = {
    "01_feynman_rules.py": "K(x_{1}, x_{2})",
    "02_nnqft.py": "λ",
    "03_deep_eft.py": "max |pull|",
    "04_your_own_architecture.py": "measured slope",
    "05_exporting.py": "paper.tex",
}

WARNINGS_AS_ERRORS = "import warnings\nwarnings.simplefilter('error')"


def test_every_notebook_is_tested() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")) == sorted(EXPECTED_OUTPUT)


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT))
def test_notebook_executes(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = NOTEBOOKS / name
    text = path.read_text()
    assert "format_name: percent" in text
    nb = jupytext.read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 5
    assert any("assert " in c.source for c in code), "numeric claims are assert cells"
    nb.cells.insert(0, nbformat.v4.new_code_cell(WARNINGS_AS_ERRORS))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # tempfile in the kernel writes here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert EXPECTED_OUTPUT[name] in printed
