"""The ``fieldnn`` command line.

Subcommands
-----------
``fieldnn derive``
    Correlators of an effective action by Feynman diagrams, printed as LaTeX, TikZ-Feynman or
    JSON (see :mod:`fieldnn.symbolic`).

Bad arguments give argparse's usage message and exit status 2, never a traceback; errors of the
library (:class:`fieldnn.errors.FieldnnError`) are printed as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import FieldnnError


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
        if args.run == "derive":
            from .symbolic._cli import run_derive

            return run_derive(args)
    except FieldnnError as exc:
        print(f"fieldnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fieldnn {args.command}: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2  # pragma: no cover  (parser.error exits)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
