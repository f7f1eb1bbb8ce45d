"""docs/errors.md is the generator's output for the current table and library."""

from __future__ import annotations

from .make_errors_doc import DOC, render


def test_errors_doc_is_up_to_date() -> None:
    assert DOC.exists(), "run: python -m tests.reliability.make_errors_doc"
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/errors.md is stale; run: python -m tests.reliability.make_errors_doc"
    )
