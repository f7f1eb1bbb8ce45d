"""Writing a reproduction's output directory: ``results.json``, ``report.md``, PNG figures and
LaTeX tables.

Every number that appears in ``report.md`` is first stored in the results tree and formatted from
it, so the report and ``results.json`` cannot disagree. Files are written atomically (temporary
file + :func:`os.replace`); an existing, non-empty output directory is refused unless
``force=True``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArgumentError

__all__ = ["ReportWriter", "atomic_write_text", "format_number", "to_jsonable"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and paths to plain JSON types (NaN/inf → None)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def format_number(value: float | int | None, digits: int = 4) -> str:
    """Format a number for the report: integers as is, floats with ``digits`` significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, bool | int | np.integer):
        return str(int(value))
    x = float(value)
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}g}"


class ReportWriter:
    """Collects results, figures and tables of one run and writes them to ``out``.

    Parameters
    ----------
    out : path
        Output directory. Created if missing; if it exists and is not empty, ``force`` must be
        True (existing files are then replaced, others left alone).
    force : bool
        Allow writing into a non-empty directory.
    title : str
        First heading of ``report.md``.
    """

    def __init__(self, out: str | os.PathLike[str], *, force: bool = False, title: str) -> None:
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise ArgumentError("out", f"{self.out} exists and is not a directory")
        if self.out.is_dir() and any(self.out.iterdir()) and not force:
            raise ArgumentError(
                "out", f"{self.out} exists and is not empty; pass --force to write into it"
            )
        self.out.mkdir(parents=True, exist_ok=True)
        self.results: dict[str, Any] = {}
        self._lines: list[str] = [f"# {title}", ""]

    # -- content ---------------------------------------------------------------------------
    def store(self, key: str, value: Any) -> Any:
        """Store ``value`` under the dotted ``key`` in the results tree and return it."""
        node = self.results
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = to_jsonable(value)
        return value

    def text(self, *lines: str) -> None:
        """Append paragraphs of Markdown to the report."""
        self._lines.extend([*lines, ""])

    def heading(self, title: str, level: int = 2) -> None:
        """Append a Markdown heading."""
        self._lines.extend(["#" * level + " " + title, ""])

    def figure(self, name: str, fig: Any, caption: str) -> str:
        """Save a matplotlib figure as ``name.png``, reference it in the report, close it."""
        import matplotlib.pyplot as plt

        filename = f"{name}.png"
        fig.savefig(self.out / filename, dpi=120, bbox_inches="tight")
        plt.close(fig)
        self._lines.extend([f"![{caption}]({filename})", "", f"*{caption}*", ""])
        return filename

    def table(
        self,
        name: str,
        header: Sequence[str],
        rows: Sequence[Sequence[Any]],
        caption: str,
        *,
        digits: int = 4,
    ) -> str:
        """Add a table: Markdown in the report, LaTeX (booktabs) in ``name.tex``.

        Numbers are formatted with :func:`format_number`; store them with :meth:`store` too.
        """
        cells = [[c if isinstance(c, str) else format_number(c, digits) for c in r] for r in rows]
        md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        md += ["| " + " | ".join(r) + " |" for r in cells]
        self._lines.extend([f"*{caption}*", "", *md, ""])
        tex = [
            r"\begin{table}[ht]",
            r"\centering",
            r"\begin{tabular}{" + "l" * len(header) + "}",
            r"\toprule",
            " & ".join(_tex_escape(h) for h in header) + r" \\",
            r"\midrule",
            *(" & ".join(_tex_escape(c) for c in r) + r" \\" for r in cells),
            r"\bottomrule",
            r"\end{tabular}",
            r"\caption{" + _tex_escape(caption) + "}",
            r"\end{table}",
            "",
        ]
        filename = f"{name}.tex"
        atomic_write_text(self.out / filename, "\n".join(tex))
        return filename

    # -- output ----------------------------------------------------------------------------
    def finish(self) -> Path:
        """Write ``results.json`` and ``report.md``; return the output directory."""
        atomic_write_text(
            self.out / "results.json", json.dumps(self.results, indent=2, sort_keys=True) + "\n"
        )
        atomic_write_text(self.out / "report.md", "\n".join(self._lines).rstrip() + "\n")
        return self.out


_TEX_SPECIAL = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_"}


def _tex_escape(text: str) -> str:
    """Escape the characters that break a LaTeX table cell (math in ``$…$`` is kept)."""
    if text.startswith("$") and text.endswith("$"):
        return text
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)
