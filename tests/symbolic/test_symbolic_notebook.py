"""The tutorial notebooks/01_feynman_rules.py runs (jupytext → nbclient) and its asserts hold."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_feynman_rules.py"


def test_notebook_executes():
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    nb = jupytext.read(NOTEBOOK)
    assert sum(c.cell_type == "code" for c in nb.cells) >= 6
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("K(x_{1}, x_{2})" in o.get("text", "") for o in outputs)
