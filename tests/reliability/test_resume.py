"""Checkpoint and resume of ``fieldnn reproduce`` (fieldnn.report._writer).

The NN-QFT end-to-end test runs the tiny configuration restricted to two sections (the
test-only knobs FIELDNN_REPRODUCE_SIZE / FIELDNN_REPRODUCE_SECTIONS), kills it with SIGKILL after
the first step, interrupts the restart with SIGINT after the second (exit 130, one line),
checks that other arguments are refused, and resumes to the end: results.json equals the one of
an uninterrupted run except for the wall-clock timings. The EFT one (slow) does the same with
the whole tiny EFT report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fieldnn.cli import main
from fieldnn.errors import ArgumentError, CheckpointError
from fieldnn.report import ReportWriter, eft_report
from fieldnn.report._writer import STATE_DIR, finished_with
from fieldnn.report.nnqft_report import _TINY, _run

SECTIONS = ("lambda", "so")
ARGS = {"command": "test", "mode": "tiny"}


def _cli(out: Path, *, signal_after: str | None = None, sections=SECTIONS, talk: str = "nnqft"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDNN_")}
    env["FIELDNN_REPRODUCE_SIZE"] = "tiny"
    if talk == "nnqft":
        env["FIELDNN_REPRODUCE_SECTIONS"] = ",".join(sections)
    if signal_after:
        env["FIELDNN_TEST_SIGNAL_AFTER_STEP"] = signal_after
    return subprocess.run(
        [sys.executable, "-m", "fieldnn", "reproduce", talk, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _kill_then_interrupt(out: Path, first: str, second: str, talk: str = "nnqft") -> None:
    """SIGKILL the run after step ``first``, SIGINT its restart after step ``second`` (exit
    130, one line on stderr); the checkpoint holds exactly the finished steps each time."""
    killed = _cli(out, signal_after=f"{first}:KILL", talk=talk)
    assert killed.returncode == -signal.SIGKILL
    state = json.loads((out / STATE_DIR / "state.json").read_text())
    assert list(state["steps"]) == [first]

    interrupted = _cli(out, signal_after=f"{second}:INT", talk=talk)
    assert interrupted.returncode == 130
    lines = interrupted.stderr.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and "resume" in lines[0]
    state = json.loads((out / STATE_DIR / "state.json").read_text())
    assert sorted(state["steps"]) == sorted([first, second])


def _without_timings(path: Path) -> dict:
    tree = json.loads(path.read_text())
    tree["meta"].pop("seconds")
    tree["meta"].pop("section_seconds")
    return tree


def test_killed_and_interrupted_run_resumes_to_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = _run(tmp_path / "ref", _TINY, force=False, progress=False, sections=SECTIONS)
    out = tmp_path / "out"

    _kill_then_interrupt(out, "intro", "lambda")

    # the same command line in-process (the knobs are environment variables)
    for key in [k for k in os.environ if k.startswith("FIELDNN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FIELDNN_REPRODUCE_SIZE", "tiny")
    monkeypatch.setenv("FIELDNN_REPRODUCE_SECTIONS", "lambda")
    assert main(["reproduce", "nnqft", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "different arguments" in err and len(err.strip().splitlines()) == 1

    monkeypatch.setenv("FIELDNN_REPRODUCE_SECTIONS", ",".join(SECTIONS))
    assert main(["reproduce", "nnqft", "--out", str(out)]) == 0
    assert [p.name for p in (out / STATE_DIR).iterdir()] == ["finished.json"]
    assert _without_timings(out / "results.json") == _without_timings(reference / "results.json")
    report = [ln for ln in (out / "report.md").read_text().splitlines() if "Wall time" not in ln]
    ref = [ln for ln in (reference / "report.md").read_text().splitlines() if "Wall time" not in ln]
    assert report == ref
    assert {p.name for p in out.iterdir()} == {p.name for p in reference.iterdir()}


@pytest.mark.slow
def test_killed_and_interrupted_eft_run_resumes_to_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The EFT report at its tiny size (about 35 s a run, so ~75 s in all): SIGKILL after the
    intro, SIGINT after the criticality section, then resumed in-process to the end: the same
    results.json (but for the wall time), report.md and files as an uninterrupted run, and the
    warnings caught per section survive the checkpoint."""
    reference = eft_report._write(tmp_path / "ref", eft_report._TINY, force=False, progress=False)
    out = tmp_path / "out"

    _kill_then_interrupt(out, "intro", "criticality", talk="eft")

    for key in [k for k in os.environ if k.startswith("FIELDNN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FIELDNN_REPRODUCE_SIZE", "tiny")
    assert main(["reproduce", "eft", "--out", str(out)]) == 0
    assert [p.name for p in (out / STATE_DIR).iterdir()] == ["finished.json"]

    def without_timing(path: Path) -> dict:
        tree = json.loads(path.read_text())
        tree["run"].pop("seconds")
        return tree

    assert without_timing(out / "results.json") == without_timing(reference / "results.json")
    report = [ln for ln in (out / "report.md").read_text().splitlines() if " run, " not in ln]
    ref = [ln for ln in (reference / "report.md").read_text().splitlines() if " run, " not in ln]
    assert report == ref
    assert {p.name for p in out.iterdir()} == {p.name for p in reference.iterdir()}


def test_finished_run_is_not_overwritten(tmp_path: Path) -> None:
    w = ReportWriter(tmp_path / "o", title="t", arguments=ARGS)
    w.step("a", lambda: w.store("x", 1.5))
    w.finish()
    with pytest.raises(ArgumentError, match="not empty; pass --force"):
        ReportWriter(tmp_path / "o", title="t", arguments=ARGS)


def test_user_directory_without_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ArgumentError, match="not empty"):
        ReportWriter(tmp_path, title="t", arguments=ARGS)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_resume_skips_completed_steps_and_restores_state(tmp_path: Path) -> None:
    calls: list[str] = []

    def first(w: ReportWriter) -> list[float]:
        calls.append("first")
        w.store("a.value", 0.1 + 0.2)
        w.text("first paragraph")
        return [0.1, (1, 2)]

    w = ReportWriter(tmp_path, title="t", arguments=ARGS)
    value = w.step("first", lambda: first(w))
    assert value == [0.1, [1, 2]]  # the JSON round trip, as a resumed run sees it
    # a new writer on the same directory and arguments resumes (no --force needed)
    w2 = ReportWriter(tmp_path, title="t", arguments=ARGS)
    assert w2.resumed_steps == ("first",)
    assert w2.step("first", lambda: first(w2)) == value
    assert calls == ["first"]
    assert w2.results == {"a": {"value": 0.1 + 0.2}}
    w2.step("second", lambda: w2.store("b", 2))
    w2.finish()
    assert json.loads((tmp_path / "results.json").read_text()) == {
        "a": {"value": 0.30000000000000004},
        "b": 2,
    }
    assert (tmp_path / "report.md").read_text().count("first paragraph") == 1


def test_checkpoint_of_other_arguments_is_refused_unless_force(tmp_path: Path) -> None:
    w = ReportWriter(tmp_path, title="t", arguments=ARGS)
    w.step("a", lambda: w.store("x", 1))
    other = {**ARGS, "mode": "quick"}
    with pytest.raises(CheckpointError, match=r"different arguments.*mode=tiny.*mode=quick"):
        ReportWriter(tmp_path, title="t", arguments=other)
    fresh = ReportWriter(tmp_path, title="t", arguments=other, force=True)
    assert fresh.resumed_steps == () and fresh.results == {}


def test_corrupt_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / STATE_DIR).mkdir()
    (tmp_path / STATE_DIR / "state.json").write_text('{"version": 1, "argu')
    with pytest.raises(CheckpointError, match="unreadable"):
        ReportWriter(tmp_path, title="t", arguments=ARGS)
    assert ReportWriter(tmp_path, title="t", arguments=ARGS, force=True).results == {}


def test_checkpoint_leaves_no_temporary_files(tmp_path: Path) -> None:
    w = ReportWriter(tmp_path, title="t", arguments=ARGS)
    for i in range(3):
        w.step(f"s{i}", lambda i=i: w.store(f"v{i}", i))
    assert [p.name for p in (tmp_path / STATE_DIR).iterdir()] == ["state.json"]


def test_both_talks_resume_skips_the_finished_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith("FIELDNN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FIELDNN_REPRODUCE_SIZE", "tiny")
    monkeypatch.setenv("FIELDNN_REPRODUCE_SECTIONS", "lambda")
    calls: list[bool] = []

    def eft_stub(out, *, quick, force, progress, skip_finished):  # interrupted the first time
        calls.append(skip_finished)
        if len(calls) == 1:
            raise KeyboardInterrupt
        w = ReportWriter(out, force=force, title="eft", arguments={"command": "stub"})
        return w.finish()

    monkeypatch.setattr(eft_report, "run", eft_stub)
    assert main(["reproduce", "--out", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err
    first = (tmp_path / "nnqft" / "results.json").read_bytes()
    assert main(["reproduce", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "nnqft" / "results.json").read_bytes() == first  # skipped, not rerun
    assert calls == [True, True]
    assert (tmp_path / "eft" / "report.md").exists()
    # other arguments for the finished talk: refused, not skipped
    monkeypatch.setenv("FIELDNN_REPRODUCE_SECTIONS", "so")
    assert main(["reproduce", "nnqft", "--out", str(tmp_path / "nnqft")]) == 2
    assert "not empty" in capsys.readouterr().err


def test_finished_with(tmp_path: Path) -> None:
    assert not finished_with(tmp_path, ARGS)
    w = ReportWriter(tmp_path, title="t", arguments=ARGS)
    assert not finished_with(tmp_path, ARGS)
    w.finish()
    assert finished_with(tmp_path, ARGS)
    assert not finished_with(tmp_path, {**ARGS, "mode": "quick"})
