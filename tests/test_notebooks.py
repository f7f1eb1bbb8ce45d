"""The tutorial notebooks run top to bottom and their assert cells hold.

Each notebook is a jupytext py:percent file under ``notebooks/``. The test reads it with jupytext
(so it must parse as a notebook) and executes its code cells in order, in-process, in a fresh
namespace inside a temporary working directory — the same cells a kernel would run, without the
few seconds of kernel start-up per notebook. Warnings are errors, as in the rest of the suite
(pyproject ``filterwarnings``). To run one as a notebook: ``jupytext --to ipynb notebooks/X.py``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# notebook -> text that must appear in its printed output (beyond the assert cells passing)
EXPECTED_OUTPUT = {
    "01_feynman_rules.py": "K(x_{1}, x_{2})",
    "02_nnqft.py": "λ",
    "03_deep_eft.py": "max |pull|",
    "04_your_own_architecture.py": "measured slope",
    "05_exporting.py": "paper.tex",
    "06_effective_action.py": "residual exponent",
    "07_writing_it_up.py": "overfull boxes: 0",
    "08_exact_density.py": "order 2 beats order 1 from N =",
    "09_finite_width_training.py": "rms z vs O(1/n)",
    "10_next_order.py": "residual ratio n = 64 / n = 256",
}


def test_every_notebook_is_tested() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")) == sorted(EXPECTED_OUTPUT)


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT))
def test_notebook_executes(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = NOTEBOOKS / name
    assert "format_name: percent" in path.read_text()
    nb = jupytext.read(path)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 5
    assert any("assert " in c for c in code), "numeric claims are assert cells"
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3, "a tutorial explains itself"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the notebook writes only here
    namespace: dict = {"__name__": "__main__"}
    for k, source in enumerate(code):
        exec(compile(source, f"{name} [code cell {k + 1}]", "exec"), namespace)
    printed = capsys.readouterr().out
    if name == "07_writing_it_up.py" and not shutil.which("pdflatex"):
        assert "pdflatex not found: paper.tex written, not compiled" in printed
    else:
        assert EXPECTED_OUTPUT[name] in printed
    if name == "05_exporting.py" and shutil.which("pdflatex"):
        assert "compiled:" in printed
        assert list(tmp_path.glob("*/paper.pdf")), "the PDF is written under the temporary dir"
