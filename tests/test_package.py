"""The package imports with its runtime dependencies alone; optional ones stay lazy."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ("dask", "distributed", "cupy", "pytest", "hypothesis", "array_api_strict", "jupytext")


def test_import_does_not_pull_optional_dependencies() -> None:
    code = (
        "import sys, fieldnn\n"
        f"bad = [m for m in {OPTIONAL!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
