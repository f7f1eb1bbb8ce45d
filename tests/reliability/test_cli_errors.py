"""The command line never shows a traceback: usage errors and library errors are one message
and a non-zero exit status (argparse: 2, fieldnn errors: 2, OS errors: 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldnn.cli import main


def _cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDNN_")}
    return subprocess.run(
        [sys.executable, "-m", "fieldnn", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


@pytest.mark.parametrize(
    ("argv", "status", "fragment"),
    [
        (("reproduce", "qed"), 2, "invalid choice: 'qed'"),
        (("reproduce", "--quick", "--bogus"), 2, "unrecognized arguments: --bogus"),
        (("derive", "--interaction", "lambda", "--points", "4"), 2, "NAME:DEGREE"),
        (("derive", "--interaction", "lambda:x", "--points", "4"), 2, "NAME:DEGREE"),
    ],
)
def test_subprocess_bad_arguments(argv, status, fragment) -> None:
    proc = _cli(*argv)
    assert proc.returncode == status, proc.stderr
    assert fragment in proc.stderr
    _no_traceback(proc)


def test_subprocess_bad_out_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    proc = _cli("reproduce", "nnqft", "--quick", "--out", str(target))
    assert proc.returncode == 2
    assert "error: argument 'out'" in proc.stderr and "not a directory" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert target.read_text() == "mine"
    _no_traceback(proc)


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["derive", "--points", "4"], "--interaction"),
        (["derive", "--interaction", "lambda:1", "--points", "4"], "interactions"),
        (
            ["derive", "--interaction", "lambda:4", "--interaction", "lambda:6", "--points", "4"],
            "given twice",
        ),
        (["derive", "--interaction", ":4", "--points", "4"], "NAME:DEGREE"),
        (["derive", "--interaction", "lambda:4", "--points", "-2"], "points"),
        (["derive", "--interaction", "lambda:4", "--points", "4", "--order", "-1"], "order"),
        (
            ["derive", "--interaction", "lambda:4", "--points", "4", "--order", "x"],
            "invalid int value",
        ),
        (["derive", "--interaction", "lambda:4", "--points", "4", "--species", "0"], "species"),
        (["derive", "--interaction", "lambda:4", "--points", "4", "--species", "2 N"], "species"),
        (["derive", "--interaction", "lambda:4", "--points", "i,,j"], "points"),
        (
            ["derive", "--interaction", "lambda:4", "--points", "4", "--tikz", "--json"],
            "not allowed with",
        ),
        (["reproduce", "--out", ""], "--out"),
        (["reproduce", "nnqft", "--out", "   "], "--out"),
    ],
)
def test_bad_arguments_in_process(argv, fragment, capsys) -> None:
    code, err = _main(argv, capsys)
    assert code == 2
    assert fragment in err


def test_non_empty_out_is_refused_without_force(tmp_path: Path, capsys) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    code, err = _main(["reproduce", "nnqft", "--quick", "--out", str(tmp_path)], capsys)
    assert code == 2 and "not empty; pass --force" in err
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_unwritable_out_is_one_line(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = _main(["reproduce", "nnqft", "--quick", "--out", str(blocker / "sub")], capsys)
    assert code in (1, 2)
    assert err.startswith("fieldnn reproduce: error:") and len(err.strip().splitlines()) == 1
