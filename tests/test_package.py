"""The package imports with its runtime dependencies alone; optional ones stay lazy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OPTIONAL = ("dask", "distributed", "cupy", "pytest", "hypothesis", "array_api_strict", "jupytext")


def test_import_does_not_pull_optional_dependencies() -> None:
    code = (
        "import sys, fieldnn\n"
        f"bad = [m for m in {OPTIONAL!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """The README's test command stands verbatim in .ci/run, which runs it in a fresh clone."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    command = next(
        line for line in readme.splitlines()[:20] if "pytest" in line and "pip install" in line
    )
    ci = (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci
    assert any(line.startswith("git clone") for line in ci[: ci.index(command)])
