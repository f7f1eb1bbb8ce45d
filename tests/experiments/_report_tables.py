"""Reading the Markdown tables of a written report (shared by the report tests)."""

from __future__ import annotations


def table_rows(report: str, header_start: str) -> list[list[str]]:
    """Cells of the Markdown table whose header row starts with ``header_start``."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows
