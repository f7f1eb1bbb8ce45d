"""Diagram drawings: planar graphs without crossings, labels off the lines, compiled output."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from fieldnn import Theory
from fieldnn.errors import ArgumentError
from fieldnn.symbolic._tikz_layout import layout

from .._tex import LUALATEX, TIKZ_FEYNMAN, compile_tex, tex_unavailable
from ._layout_checks import crossings, label_clearance, vertex_separation

_PDF = tex_unavailable("pdflatex", TIKZ_FEYNMAN)
_LUA = tex_unavailable("lualatex", TIKZ_FEYNMAN + LUALATEX)

lam, kap = sp.symbols("lambda kappa")

#: Every diagram up to three loops of these correlators (4-point at order λ³ has three loops).
CASES = [
    (Theory({lam: 4}), 4, 3, True),
    (Theory({lam: 4}), 2, 3, True),
    (Theory({lam: 4, kap: 6}), 4, 2, False),
    (Theory({lam: 4, kap: 6}), 6, 1, False),
]


def _diagrams():
    for theory, points, order, connected in CASES:
        yield from theory.correlator(points, order, connected=connected).terms


def test_planar_diagrams_are_drawn_without_crossings_and_labels_clear_the_lines():
    n_planar = 0
    for term in _diagrams():
        lay = layout(term.matrix, term.n_external)
        if lay.planar:
            n_planar += 1
            assert crossings(term.matrix, lay, term.n_external) == 0, term.matrix
        assert label_clearance(term.matrix, lay, term.n_external) >= 0.15, term.matrix
        assert vertex_separation(lay) >= 0.4, term.matrix
    assert n_planar > 200


def test_external_points_keep_their_order_when_that_is_planar():
    c = Theory({lam: 4}).correlator(4, 2, connected=True, exact_propagator=True)
    s_channel = next(t for t in c.terms if t.order == 2 and t.matrix[0][4] and t.matrix[1][4])
    lay = layout(s_channel.matrix, 4)
    angles = [math.degrees(math.atan2(lay.pos[a][1], lay.pos[a][0])) for a in range(4)]
    # clockwise from the upper left: x1, x2, x3, x4
    assert angles == pytest.approx([135.0, 45.0, -45.0, -135.0])
    assert lay.planar and crossings(s_channel.matrix, lay, 4) == 0


def test_tikz_options_and_structure():
    c = Theory({lam: 4}).correlator(4, 2, connected=True, exact_propagator=True)
    code = c.tikz()
    assert code.count(r"\begin{feynman}") == len(c.terms) == 4
    assert code.count(r"\diagram*") == 4 and r"\feynmandiagram" not in code
    assert r"(y1) -- [scalar, bend right=25] (y2)" in code
    by_topology = c.tikz(by_topology=True)
    assert by_topology.count(r"\begin{tikzpicture}") == len(c.topologies()) == 2
    assert r"\(864 \lambda^{2}\)" in by_topology  # the total weight beside its drawing
    plain = c.tikz(line_style="plain")
    assert "scalar" not in plain and "[plain" in plain
    doc = c.tikz(standalone=True)
    assert doc.startswith(r"\documentclass[tikz, border=4pt]{standalone}")
    assert doc.rstrip().endswith(r"\end{document}")
    one = c.terms[0].tikz()
    assert one.count(r"\begin{tikzpicture}") == 1 and r"\(- 24 \lambda\)" in one
    loop = Theory({lam: 4}).correlator(2, 1).tikz()
    assert r"\draw[dashed] (y1) to[out=" in loop and "min distance=1.2cm] (y1);" in loop
    with pytest.raises(ArgumentError) as err:
        c.tikz(line_style="wavy")
    assert err.value.argument == "line_style"


@pytest.mark.skipif(bool(_PDF), reason=str(_PDF))
def test_diagrams_compile_with_pdflatex(tmp_path):
    c = Theory({lam: 4}).correlator(4, 3, connected=True)
    compile_tex(tmp_path, "d", c.tikz(by_topology=True, standalone=True))


@pytest.mark.slow
@pytest.mark.skipif(bool(_LUA), reason=str(_LUA))
def test_diagrams_compile_with_lualatex(tmp_path):
    c = Theory({lam: 4, kap: 6}).correlator(4, 2, connected=True)
    compile_tex(tmp_path, "d", c.tikz(standalone=True), engine="lualatex")
