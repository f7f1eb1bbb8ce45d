"""Compiling exported LaTeX tables (shared by the report tests)."""

from __future__ import annotations

import shutil
from pathlib import Path

from .._tex import compile_tex

PREAMBLE = "\\documentclass{article}\n\\usepackage{booktabs,adjustbox}\n\\begin{document}\n"


def check_tables_compile(out: Path, tmp: Path) -> None:
    """Every ``*.tex`` table in ``out`` is pure ASCII and compiles with pdflatex (if installed)
    without a missing character."""
    tables = sorted(out.glob("*.tex"))
    assert tables, f"no tables in {out}"
    for path in tables:
        text = path.read_text(encoding="utf-8")
        assert text.isascii(), (path.name, [c for c in text if not c.isascii()][:5])
    if shutil.which("pdflatex") is None:
        return
    body = "".join(f"\\input{{{p.resolve()}}}\n\\clearpage\n" for p in tables)
    log = compile_tex(tmp, "tables", PREAMBLE + body + "\\end{document}\n")
    assert "Missing character" not in log
