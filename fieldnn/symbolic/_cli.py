"""``fieldnn derive``: Feynman diagrams of a correlator from the command line.

Example::

    fieldnn derive --interaction lambda:4 --interaction kappa:6 --points 6 --order 1 \\
        --exact-propagator

prints the LaTeX of G^(6) up to first order in the couplings with the seed's rule 4.5
(arXiv:2008.08601, eq. 3.19); ``--style paper`` groups it by topology, ``--tikz`` prints
TikZ-Feynman code instead and ``--json`` a machine-readable description (terms, weights, lines,
topologies).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import sympy as sp

from ..errors import DiagramError
from ._theory import Theory


def add_derive_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``fieldnn derive`` to ``parser``."""
    parser.add_argument(
        "--interaction",
        action="append",
        required=True,
        metavar="NAME:DEGREE",
        help="coupling and vertex degree, e.g. lambda:4 (repeat for several interactions)",
    )
    parser.add_argument(
        "--points",
        required=True,
        help="number of external points n, or "
        "comma-separated species labels (e.g. i,j,k,l) with --species",
    )
    parser.add_argument(
        "--order", type=int, default=1, help="highest order in the couplings (default: 1)"
    )
    parser.add_argument("--connected", action="store_true", help="connected diagrams only")
    parser.add_argument(
        "--exact-propagator",
        action="store_true",
        help="seed rule 4.5: drop corrections to 2-point functions (K is exact)",
    )
    parser.add_argument("--one-pi", action="store_true", help="1PI diagrams only")
    parser.add_argument(
        "--amputated", action="store_true", help="amputate the external legs (implies connected)"
    )
    parser.add_argument(
        "--species", default="1", help="number of field components: an integer or a symbol (N)"
    )
    parser.add_argument(
        "--style",
        choices=("full", "paper"),
        default="full",
        help="LaTeX: every diagram (full), or one per topology with '+ n perms' (paper); "
        "with --tikz, paper draws one diagram per topology with its total weight "
        "(default: full)",
    )
    parser.add_argument(
        "--subscripts", action="store_true", help="LaTeX: write K_{12} for K(x_1, x_2)"
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--tikz", action="store_true", help="print TikZ-Feynman code")
    out.add_argument("--json", action="store_true", help="print a JSON description")


def _parse_interactions(items: list[str]) -> dict[sp.Expr, int]:
    inter: dict[sp.Expr, int] = {}
    for item in items:
        name, sep, degree = item.partition(":")
        name = name.strip()
        # restricted parser: a coupling name is a plain identifier (lambda, kappa, g_6), made a
        # Symbol by name; nothing is ever evaluated
        if not sep or not name.isidentifier() or not degree.strip().lstrip("-").isdigit():
            raise DiagramError(
                "--interaction",
                f"expected NAME:DEGREE with NAME an identifier, such as lambda:4, got {item!r}",
            )
        symbol = sp.Symbol(name)
        if symbol in inter:
            raise DiagramError("--interaction", f"coupling {name!r} is given twice")
        inter[symbol] = int(degree)
    return inter


def _parse_species(text: str) -> int | sp.Expr:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if not text.isidentifier():
        raise DiagramError("--species", f"expected an integer or a symbol name, got {text!r}")
    return sp.Symbol(text)


def _parse_points(text: str) -> int | tuple[str | int, ...]:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    labels = [s.strip() for s in text.split(",")]
    if not all(labels):
        raise DiagramError(
            "--points", f"expected an integer or comma-separated labels, got {text!r}"
        )
    return tuple(int(s) if s.isdigit() else s for s in labels)


def run_derive(args: argparse.Namespace) -> int:
    """Run ``fieldnn derive``; returns the exit status (0 on success, 2 on bad input)."""
    try:
        species = _parse_species(args.species)
        points = _parse_points(args.points)
        if isinstance(points, tuple) and species == 1:
            print(
                "fieldnn derive: warning: --points gives species labels but --species is 1, "
                "so every Kronecker delta is 1; pass --species N for O(N) index structure",
                file=sys.stderr,
            )
        theory = Theory(_parse_interactions(args.interaction), species=species)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            corr = theory.correlator(
                points,
                args.order,
                connected=args.connected or args.amputated,
                exact_propagator=args.exact_propagator,
                one_pi=args.one_pi,
                amputated=args.amputated,
            )
        for w in caught:
            print(f"fieldnn derive: warning: {w.message}", file=sys.stderr)
        if args.tikz:
            text = corr.tikz(standalone=True, by_topology=args.style == "paper")
        elif args.json:
            text = json.dumps(corr.to_dict(), indent=2)
        else:
            text = corr.latex(args.style, subscripts=args.subscripts)
    except DiagramError as exc:
        print(f"fieldnn derive: error: {exc}", file=sys.stderr)
        return 2
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `fieldnn derive … | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
