"""Compiling exported LaTeX tables (shared by the report tests)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PREAMBLE = "\\documentclass{article}\n\\usepackage{booktabs,adjustbox}\n\\begin{document}\n"


def check_tables_compile(out: Path, tmp: Path) -> None:
    """Every ``*.tex`` table in ``out`` is pure ASCII and compiles with pdflatex (if installed),
    with no overfull box wider than 1pt."""
    tables = sorted(out.glob("*.tex"))
    assert tables, f"no tables in {out}"
    for path in tables:
        text = path.read_text(encoding="utf-8")
        assert text.isascii(), (path.name, [c for c in text if not c.isascii()][:5])
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        return
    body = "".join(f"\\input{{{p.resolve()}}}\n\\clearpage\n" for p in tables)
    (tmp / "tables.tex").write_text(PREAMBLE + body + "\\end{document}\n", encoding="utf-8")
    run = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
        cwd=tmp,
        capture_output=True,
        text=True,
        errors="replace",
    )
    assert run.returncode == 0, run.stdout[-3000:]
    log = (tmp / "tables.log").read_text(errors="replace")
    assert "Missing character" not in log
