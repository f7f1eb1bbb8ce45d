"""docs/errors.md is the generator's output for the current table and library, on any machine."""

from __future__ import annotations

import os

import pytest

from .make_errors_doc import DOC, render


def test_errors_doc_is_up_to_date() -> None:
    assert DOC.exists(), "run: python -m tests.reliability.make_errors_doc"
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/errors.md is stale; run: python -m tests.reliability.make_errors_doc"
    )


@pytest.mark.parametrize("pages", [1, 3_000_000, 6_160_000, 10**9])
def test_errors_doc_does_not_depend_on_the_machine_memory(
    monkeypatch: pytest.MonkeyPatch, pages: int
) -> None:
    """A machine with another memory size (4 KiB pages × ``pages``) renders the same file."""
    real = os.sysconf

    def fake(name: str) -> int:
        if name == "SC_PHYS_PAGES":
            return pages
        if name == "SC_PAGE_SIZE":
            return 4096
        return real(name)

    monkeypatch.setattr(os, "sysconf", fake)
    assert DOC.read_text(encoding="utf-8") == render()
