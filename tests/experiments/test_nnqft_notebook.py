"""notebooks/02_nnqft.py (jupytext py:percent) runs top to bottom; its assert cells hold."""

from __future__ import annotations

import runpy
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_nnqft.py"


def test_notebook_is_jupytext_percent() -> None:
    text = NOTEBOOK.read_text()
    assert "format_name: percent" in text
    assert text.count("# %%") >= 8


def test_notebook_runs(capsys) -> None:
    runpy.run_path(str(NOTEBOOK), run_name="__main__")
    assert "λ" in capsys.readouterr().out
