"""The deep-EFT tutorial notebook (jupytext py:percent) runs top to bottom; its assert cells
compare recursions with sampled networks."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_deep_eft.py"


def test_notebook_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(NOTEBOOK), run_name="__main__")
    assert namespace["sol"].phase == "ordered"
    assert namespace["ri"].mean_rms_distance.shape == (2,)
