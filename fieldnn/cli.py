"""The ``fieldnn`` command line.

Subcommands
-----------
``fieldnn reproduce [nnqft|eft] [--quick] [--out DIR] [--force] [--progress]``
    Reproduce a seed talk (both when no target is named): ``report.md``, PNG figures, LaTeX
    tables and ``results.json`` in ``DIR`` (``DIR/nnqft`` and ``DIR/eft`` for both). An existing,
    non-empty output directory is never written into without ``--force``.
``fieldnn derive``
    Correlators of an effective action by Feynman diagrams, printed as LaTeX, TikZ-Feynman or
    JSON (see :mod:`fieldnn.symbolic`).

Bad arguments give argparse's usage message and exit status 2, never a traceback; errors of the
library (:class:`fieldnn.errors.FieldnnError`) are printed as one line with exit status 2, and
operating-system errors (an output directory that cannot be created) as one line with status 1.

``fieldnn reproduce`` checkpoints after every section in ``DIR/.fieldnn-state``: a run that is
killed or interrupted (Ctrl-C: one line on stderr, exit status 130) resumes when the same command
is run again; a checkpoint of different arguments is refused (``--force`` starts over). Without
a target, a talk that the interrupted run had already finished (same arguments) is skipped. See
:mod:`fieldnn.report._writer`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import ArgumentError, FieldnnError

REPRODUCTIONS = ("nnqft", "eft")


def _run_reproduce(args: argparse.Namespace) -> int:
    """Run the requested reproductions and print where each report was written."""
    from pathlib import Path

    from .report import eft_report, nnqft_report

    runners = {"nnqft": nnqft_report.run, "eft": eft_report.run}
    targets = [args.target] if args.target else list(REPRODUCTIONS)
    if not args.out.strip():
        raise ArgumentError("--out", "must be a directory path, got an empty string")
    out = Path(args.out)
    for target in targets:
        where = out if args.target else out / target
        path = runners[target](
            where,
            quick=args.quick,
            force=args.force,
            progress=args.progress,
            skip_finished=not args.target,
        )
        print(f"fieldnn reproduce {target}: report in {path / 'report.md'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``fieldnn`` command."""
    from .symbolic._cli import add_derive_arguments

    parser = argparse.ArgumentParser(
        prog="fieldnn",
        description="Ensembles of neural networks as Euclidean field theories.",
    )
    parser.add_argument("--version", action="version", version=f"fieldnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    reproduce = sub.add_parser(
        "reproduce",
        help="reproduce the seed talks: report, figures, tables, results.json",
        description="Reproduce the NN-QFT talk (nnqft), the deep-network EFT talk (eft), or both.",
    )
    reproduce.add_argument(
        "target", nargs="?", choices=REPRODUCTIONS, help="which talk (default: both)"
    )
    reproduce.add_argument("--quick", action="store_true", help="small built-in sizes (minutes)")
    reproduce.add_argument(
        "--out", default="fieldnn-out", help="output directory (default: fieldnn-out)"
    )
    reproduce.add_argument(
        "--force", action="store_true", help="write into an existing non-empty directory"
    )
    reproduce.add_argument("--progress", action="store_true", help="show progress bars")
    reproduce.set_defaults(run="reproduce")
    derive = sub.add_parser(
        "derive",
        help="correlators of an effective action by Feynman diagrams",
        description="Correlators of S = S_GP + ∫ Σ g f^k by Feynman diagrams.",
    )
    add_derive_arguments(derive)
    derive.set_defaults(run="derive")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.run == "reproduce":
            return _run_reproduce(args)
        if args.run == "derive":
            from .symbolic._cli import run_derive

            return run_derive(args)
    except FieldnnError as exc:
        print(f"fieldnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"fieldnn {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = (
            f"; the completed sections are checkpointed in {args.out}: rerun the same command "
            "to resume"
            if args.run == "reproduce"
            else ""
        )
        print(f"fieldnn {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2  # pragma: no cover  (parser.error exits)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
