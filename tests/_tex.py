"""Compiling LaTeX in the tests (skip-guarded by the callers when the engine is missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

TIKZ_FEYNMAN = ("standalone.cls", "tikz-feynman.sty")  # what the standalone diagrams load
LUALATEX = ("luatex85.sty", "luaotfload-main.lua")  # lualatex's own support files


def tex_unavailable(engine: str, files: tuple[str, ...]) -> str | None:
    """Why ``engine`` cannot compile a document that needs ``files`` here, or None if it can.

    A TeX installation can have an engine without the files it needs (``texlive-latex-base``
    installs the ``lualatex`` binary without luaotfload): that is a missing dependency of the
    machine, skipped like a missing engine, not a failure of fieldnn's output."""
    if shutil.which(engine) is None:
        return f"{engine} not installed"
    kpse = shutil.which("kpsewhich")
    if kpse is None:
        return f"{engine} without kpsewhich"
    found = subprocess.run([kpse, *files], capture_output=True, text=True).stdout.split()
    missing = [f for f in files if not any(Path(x).name == f for x in found)]
    return f"{engine} without {', '.join(missing)}" if missing else None


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
