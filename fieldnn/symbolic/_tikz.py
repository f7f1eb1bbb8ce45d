"""TikZ-Feynman drawings of diagrams (explicit coordinates, pdflatex and lualatex).

Every vertex gets an explicit coordinate from :mod:`._tikz_layout` (planar graphs without
crossings, external points on the outer face, labels in the widest free sector of their vertex),
and the lines are drawn inside ``\\diagram*``, which does not call TikZ-Feynman's automatic layout
(that needs LuaLaTeX): the code compiles with pdflatex and lualatex. Lines are dashed
(``scalar``, the seed's Feynman rule 3) or solid (``plain``). Self-loops K(y, y) are drawn after
the diagram with ``\\draw … to[out, in]`` (the graph syntax of ``\\diagram*`` drops an edge from a
vertex to itself). The weight stands to the left of its drawing, inside the same picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sympy as sp

from ..errors import ArgumentError
from ._tikz_layout import LOOP_OPENING, LOOP_SIZE, bends, layout, loop_directions

if TYPE_CHECKING:
    from ._correlator import Correlator, Term

#: line_style -> (TikZ-Feynman edge style, ``\\draw`` option for self-loops)
LINE_STYLES = {"scalar": ("scalar", "dashed"), "plain": ("plain", "")}

PREAMBLE = "\n".join(
    [
        r"\documentclass[tikz, border=4pt]{standalone}",
        r"\usepackage[compat=1.1.0]{tikz-feynman}",
        r"\begin{document}",
    ]
)


def _fmt(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _xy(point: tuple[float, float]) -> str:
    return f"({_fmt(point[0])}, {_fmt(point[1])})"


def term_tikz(term: Term, *, weight: sp.Expr | None = None, line_style: str = "scalar") -> str:
    """One ``tikzpicture`` of a single diagram, with ``weight`` (if given) to its left."""
    if line_style not in LINE_STYLES:
        raise ArgumentError(
            "line_style", f"must be one of {sorted(LINE_STYLES)}, got {line_style!r}"
        )
    edge_style, loop_option = LINE_STYLES[line_style]
    n = term.n_external
    A = term.matrix
    lay = layout(A, n)
    names = term.node_names()
    lines = [r"\begin{tikzpicture}", r"\begin{feynman}"]
    for a in range(n):
        lines.append(rf"\vertex ({names[a]}) at {_xy(lay.pos[a])} {{\(x_{{{a + 1}}}\)}};")
    for v in range(term.order):
        lines.append(rf"\vertex[dot] ({names[n + v]}) at {_xy(lay.pos[n + v])} {{}};")
    edges: list[str] = []
    for i, j, m in term.lines():
        if i == j:
            continue
        for bend in bends(m):
            style = edge_style
            if bend:
                style += f", bend {'left' if bend > 0 else 'right'}={_fmt(abs(bend))}"
            edges.append(rf"({names[i]}) -- [{style}] ({names[j]})")
    if edges:
        lines.append(r"\diagram* {")
        lines.append(",\n".join(f"  {e}" for e in edges))
        lines.append("};")
    draw = rf"\draw[{loop_option}]" if loop_option else r"\draw"
    for v in range(n, len(A)):
        neighbours = [u for u in range(len(A)) if u != v and A[v][u]]
        for direction in loop_directions(lay.pos, v, neighbours, A[v][v]):
            mid = math.degrees(direction)
            lines.append(
                rf"{draw} ({names[v]}) to[out={_fmt(mid + LOOP_OPENING)}, "
                rf"in={_fmt(mid - LOOP_OPENING)}, looseness=12, "
                rf"min distance={_fmt(LOOP_SIZE)}cm] ({names[v]});"
            )
    for v in range(term.order):
        at = _xy(lay.label_pos[n + v])
        lines.append(rf"\node[font=\footnotesize] at {at} {{\(y_{{{v + 1}}}\)}};")
    lines.append(r"\end{feynman}")
    if weight is not None:
        left = min(x for x, _ in [*lay.pos.values(), *lay.label_pos.values()]) - 0.5
        lines.append(rf"\node[anchor=east] at ({_fmt(left)}, 0) {{\({sp.latex(weight)}\)}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def terms_tikz(
    items: Sequence[tuple[sp.Expr, Term]],
    *,
    standalone: bool = False,
    line_style: str = "scalar",
    comment: str = "diagram",
) -> str:
    """Pictures of (weight, diagram) pairs; ``standalone``: a cropped document, one page each."""
    blocks = [
        f"% {comment} {k + 1}: weight {sp.sstr(w)}\n{term_tikz(t, weight=w, line_style=line_style)}"
        for k, (w, t) in enumerate(items)
    ]
    body = "\n\n".join(blocks) if blocks else "% no diagrams: the correlator vanishes"
    if standalone:
        return f"{PREAMBLE}\n{body}\n\\end{{document}}\n"
    return body


def correlator_tikz(
    corr: Correlator,
    *,
    standalone: bool = False,
    by_topology: bool = False,
    line_style: str = "scalar",
) -> str:
    """Every diagram of ``corr`` with its weight, or one per topology with its total weight."""
    if by_topology:
        return terms_tikz(
            corr.topologies(), standalone=standalone, line_style=line_style, comment="topology"
        )
    return terms_tikz(
        [(t.weight, t) for t in corr.terms], standalone=standalone, line_style=line_style
    )
