"""ReportWriter: links that work wherever the output goes, and ordinary file permissions."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fieldnn.report import ReportWriter
from fieldnn.report._writer import DOCS_DIR


def test_docs_links_resolve_from_an_output_directory_anywhere(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "report"  # outside the repository
    link = ReportWriter(out, title="t").docs_link("docs/eft.md")
    target = re.fullmatch(r"\[docs/eft\.md\]\((.+)\)", link).group(1)
    assert not Path(target).is_absolute()
    assert (out / target).resolve() == (DOCS_DIR / "eft.md").resolve()


def test_missing_docs_are_named_not_linked(tmp_path: Path) -> None:
    w = ReportWriter(tmp_path / "r", title="t")
    assert w.docs_link("docs/no-such-page.md") == "`docs/no-such-page.md` (in the fieldnn source)"


def test_written_files_have_the_permissions_of_open(tmp_path: Path) -> None:
    w = ReportWriter(tmp_path / "r", title="t")
    w.table("t", ["a"], [[1.5]], "caption")
    w.finish()
    (tmp_path / "plain.txt").write_text("x")
    expected = (tmp_path / "plain.txt").stat().st_mode & 0o777
    for name in ("t.tex", "report.md", "results.json"):
        assert (tmp_path / "r" / name).stat().st_mode & 0o777 == expected, name
    assert expected == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
