"""Writing a reproduction's output directory: ``results.json``, ``report.md``, PNG figures and
LaTeX tables.

Every number that appears in ``report.md`` is first stored in the results tree and formatted from
it, so the report and ``results.json`` cannot disagree. Files are written atomically (temporary
file + :func:`os.replace`); an existing, non-empty output directory is refused unless
``force=True``.

Checkpoint and resume
---------------------
A writer created with ``arguments=`` (a JSON-able description of the run: command, mode,
sections, fieldnn version) keeps its state in ``out/.fieldnn-state/state.json``, rewritten
atomically after every completed :meth:`ReportWriter.step`: the results tree, the report lines
and each step's return value. A run killed at any moment (SIGKILL, Ctrl-C) and restarted with
the same arguments skips the completed steps and finishes with the same ``results.json`` (up to
the wall-clock timings it records). The state directory marks a resumable run: an output
directory that holds one is not "non-empty" for the refusal rule if the arguments match; if they
differ, :class:`~fieldnn.errors.CheckpointError` is raised unless ``force`` (which starts over).
When :meth:`ReportWriter.finish` has written ``results.json`` and ``report.md`` the state is
replaced by ``finished.json`` (the arguments only), so a finished directory is refused again
without ``--force``; :func:`finished_with` lets ``fieldnn reproduce`` (both talks) skip a talk
that an interrupted run had already finished.

Test-only knob: with the environment variable ``FIELDNN_TEST_SIGNAL_AFTER_STEP=NAME:SIG``
(``SIG`` one of ``KILL``, ``INT``) the process sends itself that signal right after the
checkpoint of step ``NAME`` is written (the tests of interrupted runs use it; never set it
otherwise).
"""

from __future__ import annotations

import json
import math
import os
import signal
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._latex import latex_table
from ..errors import ArgumentError, CheckpointError

__all__ = [
    "STATE_DIR",
    "ReportWriter",
    "atomic_write_text",
    "finished_with",
    "format_number",
    "to_jsonable",
]

STATE_DIR = ".fieldnn-state"
_STATE_VERSION = 1


def _file_mode() -> int:
    """The mode a new file gets from open(): 0o666 less this process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()
#: The repository's docs/ (present in a source checkout; absent from an installed wheel).
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _FILE_MODE)  # as open() would create it (mkstemp makes it private)
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
    arguments : mapping, optional
        JSON-able description of the run; enables the checkpoint in ``out/.fieldnn-state``
        (see the module docstring). A checkpoint written with other arguments raises
        :class:`~fieldnn.errors.CheckpointError` unless ``force``.
    """

    def __init__(
        self,
        out: str | os.PathLike[str],
        *,
        force: bool = False,
        title: str,
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise ArgumentError("out", f"{self.out} exists and is not a directory")
        self.results: dict[str, Any] = {}
        self._lines: list[str] = [f"# {title}", ""]
        self._steps: dict[str, Any] = {}
        self._arguments = None if arguments is None else to_jsonable(dict(arguments))
        resumed = self._arguments is not None and self._resume(force)
        if not resumed and self.out.is_dir() and any(self.out.iterdir()) and not force:
            raise ArgumentError(
                "out", f"{self.out} exists and is not empty; pass --force to write into it"
            )
        self.out.mkdir(parents=True, exist_ok=True)
        self.resumed_steps = tuple(self._steps)
        if self._arguments is not None:
            self._save()

    # -- checkpoint ------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        """``out/.fieldnn-state/state.json``."""
        return self.out / STATE_DIR / "state.json"

    def _resume(self, force: bool) -> bool:
        """Load a checkpoint of the same arguments; return whether one was loaded."""
        path = self.state_path
        if not path.is_file():
            return False
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            ok = isinstance(state, dict) and state.get("version") == _STATE_VERSION
        except (OSError, ValueError):
            ok = False
        if not ok:
            if force:
                return False
            raise CheckpointError(
                f"checkpoint {path} is unreadable or from another fieldnn version; "
                "pass --force to start over"
            )
        if state.get("arguments") != self._arguments:
            if force:
                return False
            raise CheckpointError(
                f"{self.out} holds an interrupted run with different arguments "
                f"({_describe(state.get('arguments'))}; now {_describe(self._arguments)}); "
                "rerun with the same arguments to resume, or pass --force to start over"
            )
        self.results = state["results"]
        self._lines = state["lines"]
        self._steps = state["steps"]
        return True

    def _save(self) -> None:
        state = {
            "version": _STATE_VERSION,
            "arguments": self._arguments,
            "results": self.results,
            "lines": self._lines,
            "steps": self._steps,
        }
        atomic_write_text(self.state_path, json.dumps(state, sort_keys=True) + "\n")

    def step(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` once per run and checkpoint; on resume return its stored value instead.

        ``fn`` adds to the results, report lines, figures and tables; its return value must be
        JSON-able (it is returned after a JSON round trip, so a resumed run sees the same value).
        """
        if name not in self._steps:
            value = fn()
            self._steps[name] = json.loads(json.dumps(to_jsonable(value)))
            if self._arguments is not None:
                self._save()
                _test_signal(name)
        return self._steps[name]

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
        tex = latex_table(header, rows, caption, digits=digits)
        filename = f"{name}.tex"
        atomic_write_text(self.out / filename, tex)
        return filename

    def docs_link(self, page: str) -> str:
        """A Markdown link to ``page`` (e.g. ``"docs/eft.md"``) that works from ``out``: relative
        to the output directory when the docs are on this machine (a source checkout), else the
        page named as code."""
        target = DOCS_DIR.parent / page
        if not target.is_file():
            return f"`{page}` (in the fieldnn source)"
        return f"[{page}]({Path(os.path.relpath(target, self.out.resolve())).as_posix()})"

    # -- output ----------------------------------------------------------------------------
    def finish(self) -> Path:
        """Write ``results.json`` and ``report.md``; return the output directory."""
        atomic_write_text(
            self.out / "results.json", json.dumps(self.results, indent=2, sort_keys=True) + "\n"
        )
        atomic_write_text(self.out / "report.md", "\n".join(self._lines).rstrip() + "\n")
        if self._arguments is not None:
            atomic_write_text(
                self.out / STATE_DIR / "finished.json",
                json.dumps({"arguments": self._arguments}, sort_keys=True) + "\n",
            )
            self.state_path.unlink(missing_ok=True)
        return self.out


def finished_with(out: str | os.PathLike[str], arguments: Mapping[str, Any]) -> bool:
    """Whether ``out`` holds a run that finished with exactly these ``arguments``.

    ``fieldnn reproduce`` without a target uses it to skip a talk already reproduced when an
    interrupted run of both is restarted.
    """
    state = Path(out) / STATE_DIR
    if (state / "state.json").exists():
        return False
    try:
        done = json.loads((state / "finished.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(done, dict) and done.get("arguments") == to_jsonable(dict(arguments))


def _describe(arguments: Any) -> str:
    if not isinstance(arguments, dict):
        return repr(arguments)
    return ", ".join(f"{k}={v}" for k, v in sorted(arguments.items()))


def _test_signal(step: str) -> None:
    """The test-only knob ``FIELDNN_TEST_SIGNAL_AFTER_STEP=NAME:KILL|INT`` (module docstring)."""
    spec = os.environ.get("FIELDNN_TEST_SIGNAL_AFTER_STEP", "")
    name, _, sig = spec.partition(":")
    if name == step and sig == "KILL":
        os.kill(os.getpid(), signal.SIGKILL)
    elif name == step and sig == "INT":
        # a process started in the background by a shell inherits SIGINT ignored, and Python
        # then installs no KeyboardInterrupt handler: restore it, so the knob acts as a Ctrl-C
        # whatever launched the run
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.kill(os.getpid(), signal.SIGINT)
