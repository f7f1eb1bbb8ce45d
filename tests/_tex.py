"""Compiling LaTeX in the tests (skip-guarded by the callers when the engine is missing)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def compile_tex(folder: Path, name: str, text: str, engine: str = "pdflatex") -> str:
    """Write ``folder/name.tex``, compile it with ``engine`` and return the log; a failed
    compilation fails the calling test with the end of the engine's output."""
    (folder / f"{name}.tex").write_text(text, encoding="utf-8")
    run = subprocess.run(
        [engine, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        errors="replace",
    )
    assert run.returncode == 0, run.stdout[-3000:]
    return (folder / f"{name}.log").read_text(errors="replace")
