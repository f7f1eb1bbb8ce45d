"""The documentation site builds with warnings as errors, and every page is reachable."""

from __future__ import annotations

import doctest
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_page_is_in_a_toctree() -> None:
    index = (DOCS / "index.md").read_text()
    listed = set(re.findall(r"^([a-z_/]+)$", index, flags=re.MULTILINE))
    pages = {p.stem for p in DOCS.glob("*.md") if not p.name.startswith("_")} - {"index"}
    assert pages <= listed, f"pages missing from the toctree of docs/index.md: {pages - listed}"
    assert not (DOCS / "_numerics_sampling.md").exists()  # merged into numerics.md


def test_getting_started_code_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = (DOCS / "getting_started.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1
    exec(compile(blocks[0], "getting_started.md", "exec"), {})
    assert "24 \\lambda \\int" in capsys.readouterr().out


def test_sphinx_build_has_no_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert not result.stderr.strip(), result.stderr[-5000:]
    html = tmp_path / "html"
    api = (html / "api" / "kernels.html").read_text()
    # autodoc really ran: the public functions appear with their docstrings
    assert 'id="fieldnn.kernels.gp.single_layer_kernel"' in api
    numerics = (html / "numerics.html").read_text()
    assert "Seeding and chunking" in numerics


# Modules whose docstring Examples are run as doctests (the main public functions:
# Theory.correlator, SingleLayerNet, MLP.kernel, estimate_correlators, measure_lambda,
# criticality, vertex_integral, gp_posterior, and their neighbours).
DOCTEST_MODULES = [
    "fieldnn._compat",
    "fieldnn._latex",
    "fieldnn.symbolic._theory",
    "fieldnn.symbolic._wick",
    "fieldnn.symbolic.matching",
    "fieldnn.kernels.activations",
    "fieldnn.kernels.gaussian",
    "fieldnn.kernels.gp",
    "fieldnn.kernels.deep",
    "fieldnn.kernels._fixed_point",
    "fieldnn.kernels._criticality_maps",
    "fieldnn.kernels._dntk",
    "fieldnn.kernels._single_input_nnlo",
    "fieldnn.ensembles.architectures",
    "fieldnn.ensembles.sampling",
    "fieldnn.ensembles.estimate",
    "fieldnn.ensembles.exact",
    "fieldnn.experiments.couplings",
    "fieldnn.experiments._eft_next_order",
    "fieldnn.experiments._eft_three_inputs",
    "fieldnn.effective._deep_density",
    "fieldnn.integrals._vertex",
    "fieldnn.integrals._two_vertex",
    "fieldnn.inference._gp",
    "fieldnn.inference._flow",
    "fieldnn.inference._ntk",
]


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, report=True, verbose=False)
    assert result.attempted > 0, f"{name} has no doctested Examples"
    assert result.failed == 0, f"{result.failed} doctest failure(s) in {name} (printed above)"
