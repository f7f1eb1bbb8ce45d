"""TikZ-Feynman drawings of the diagrams of a correlator (explicit coordinates).

Every vertex gets an explicit coordinate and the lines are drawn inside ``\\diagram*``, which
does not call TikZ-Feynman's automatic layout (that needs LuaLaTeX): the code compiles with
pdflatex and lualatex. Lines are dashed (``scalar``), as in the seed's Feynman rule 3.
Self-loops K(y, y) are drawn after the diagram with a plain dashed ``\\draw … loop`` (the graph
syntax of ``\\diagram*`` drops an edge from a vertex to itself).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import sympy as sp

if TYPE_CHECKING:
    from ._correlator import Correlator, Term

PREAMBLE = "\n".join(
    [
        r"\documentclass{article}",
        r"\usepackage[compat=1.1.0]{tikz-feynman}",
        r"\pagestyle{empty}",
        r"\begin{document}",
    ]
)


def _fmt(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _layout(term: Term) -> dict[int, tuple[float, float]]:
    """Coordinates of every vertex row: internal vertices on a circle, legs pointing outwards."""
    n, V = term.n_external, term.order
    A = term.matrix
    pos: dict[int, tuple[float, float]] = {}
    outward: dict[int, float] = {}
    radius = 0.0 if V == 1 else 1.2
    for v in range(V):
        angle = math.pi + 2 * math.pi * v / max(V, 1)
        pos[n + v] = (radius * math.cos(angle), radius * math.sin(angle))
        outward[n + v] = angle if V > 1 else math.pi
    bare = 0
    for a in range(n):
        partner = next(j for j in range(len(A)) if A[a][j])
        if partner < n:
            if partner > a:
                y = -(radius + 1.6) - 0.8 * bare
                pos[a], pos[partner] = (-1.5, y), (1.5, y)
                bare += 1
            continue
    for v in range(n, n + V):
        legs = [a for a in range(n) if A[a][v]]
        if not legs:
            continue
        spread = 2 * math.pi if V == 1 else math.pi * 0.9
        base = math.pi * 0.75 if V == 1 else outward[v]
        step = spread / len(legs) if V == 1 else spread / (len(legs) + 1)
        for k, a in enumerate(legs):
            angle = base + step * k if V == 1 else base - spread / 2 + step * (k + 1)
            x0, y0 = pos[v]
            pos[a] = (x0 + 1.6 * math.cos(angle), y0 + 1.6 * math.sin(angle))
    return pos


def _widest_gap(
    pos: dict[int, tuple[float, float]], i: int, A: list[list[int]]
) -> tuple[float, float]:
    """(start angle, width) in degrees of the widest free sector around vertex i."""
    x0, y0 = pos[i]
    angles = sorted(
        math.degrees(math.atan2(pos[j][1] - y0, pos[j][0] - x0)) % 360.0
        for j in range(len(A))
        if j != i and A[i][j]
    )
    if not angles:
        return 45.0, 360.0
    gaps = [
        ((angles[k + 1] if k + 1 < len(angles) else angles[0] + 360.0) - angles[k], angles[k])
        for k in range(len(angles))
    ]
    width, start = max(gaps)
    return start, width


def term_tikz(term: Term) -> str:
    """One ``tikzpicture`` with a ``feynman`` environment for a single diagram."""
    n = term.n_external
    pos = _layout(term)
    names = term.node_names()
    lines = [r"\begin{tikzpicture}", r"\begin{feynman}"]
    for a in range(n):
        x, y = pos[a]
        lines.append(rf"\vertex ({names[a]}) at ({_fmt(x)}, {_fmt(y)}) {{\(x_{{{a + 1}}}\)}};")
    for v in range(term.order):
        x, y = pos[n + v]
        where = f"({_fmt(x)}, {_fmt(y)})"
        lines.append(
            rf"\vertex[dot, label=below:\(y_{{{v + 1}}}\)] ({names[n + v]}) at {where} {{}};"
        )
    edges: list[str] = []
    loops: list[str] = []
    for i, j, m in term.lines():
        if i == j:
            start, gap = _widest_gap(pos, i, term.matrix)
            for k in range(m):
                mid = (start + gap * (k + 1) / (m + 1)) % 360.0
                loops.append(
                    rf"\draw[dashed] ({names[i]}) to[out={_fmt(mid + 25)}, in={_fmt(mid - 25)}, "
                    rf"looseness=12, min distance=1.2cm] ({names[i]});"
                )
            continue
        for k in range(m):
            bend = (k - (m - 1) / 2) * 30.0
            if bend == 0:
                style = "scalar"
            elif bend > 0:
                style = f"scalar, bend left={_fmt(bend)}"
            else:
                style = f"scalar, bend right={_fmt(-bend)}"
            edges.append(rf"({names[i]}) -- [{style}] ({names[j]})")
    if edges:
        lines.append(r"\diagram* {")
        lines.append(",\n".join(f"  {e}" for e in edges))
        lines.append("};")
    lines += loops
    lines += [r"\end{feynman}", r"\end{tikzpicture}"]
    return "\n".join(lines)


def correlator_tikz(corr: Correlator, *, standalone: bool = False) -> str:
    """All diagrams of ``corr``, each preceded by a comment with its weight."""
    blocks = []
    for k, term in enumerate(corr.terms):
        code = term_tikz(term)
        if standalone:  # one diagram per paragraph, its weight below it
            code += f"\n\n${sp.latex(term.weight)}$\n\\bigskip"
        blocks.append(f"% diagram {k + 1}: weight {sp.sstr(term.weight)}\n{code}")
    body = "\n\n".join(blocks) if blocks else "% no diagrams: the correlator vanishes"
    if standalone:
        return f"{PREAMBLE}\n{body}\n\\end{{document}}\n"
    return body
