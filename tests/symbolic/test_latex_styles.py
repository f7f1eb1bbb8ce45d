"""Correlator.latex: the "full" and "paper" styles, subscripts, line breaks, environments."""

from __future__ import annotations

import re
import shutil

import pytest
import sympy as sp

from fieldnn import Theory
from fieldnn.errors import ArgumentError

from .._tex import compile_tex

lam, kap, N = sp.symbols("lambda kappa N")
PERMS = re.compile(r"\+ (\d+)\\ \\text\{perms?\}")


def test_paper_style_exact_string():
    c = Theory({lam: 4}).correlator(4, 1, exact_propagator=True)
    assert c.latex("paper") == (
        r"\Big[K(x_{1}, x_{2}) K(x_{3}, x_{4}) + 2\ \text{perms}\Big]"
        r" - 24 \lambda \int d^{d_{\mathrm{in}}}y_{1}\,"
        r" K(x_{1}, y_{1}) K(x_{2}, y_{1}) K(x_{3}, y_{1}) K(x_{4}, y_{1})"
    )
    assert c.latex("paper", subscripts=True) == (
        r"\Big[K_{12} K_{34} + 2\ \text{perms}\Big]"
        r" - 24 \lambda \int d^{d_{\mathrm{in}}}y_{1}\, K_{1y_{1}} K_{2y_{1}} K_{3y_{1}} K_{4y_{1}}"
    )


def test_disconnected_factors_stand_before_the_integral():
    c = Theory({lam: 4}).correlator(4, 1)
    tadpole = next(t for t in c.terms if t.order == 1 and not t.connected)
    body = tadpole.latex_body()
    assert body.startswith("K(x_{") and r"\int" in body
    assert body.index(r"\int") > body.index("K(x_{")
    assert body == (
        r"K(x_{1}, x_{2}) \int d^{d_{\mathrm{in}}}y_{1}\, K(x_{3}, y_{1}) K(x_{4}, y_{1})"
        r" K(y_{1}, y_{1})"
    )


def test_two_disconnected_integrals_are_separate():
    c = Theory({lam: 4}).correlator(4, 2)
    double = next(
        t
        for t in c.terms
        if t.order == 2
        and not t.connected
        and not any(t.matrix[a][b] for a in range(4) for b in range(4))
    )
    assert double.latex_body().count(r"\int") == 2


@pytest.mark.parametrize(
    ("theory", "points", "order", "connected"),
    [
        (Theory({lam: 4, kap: 6}), 6, 1, False),
        (Theory({lam: 4}), 4, 3, True),
        (Theory({lam: 4}, species=N), ("i", "j", "k", "l"), 2, True),
    ],
)
def test_paper_style_accounts_for_every_diagram(theory, points, order, connected):
    c = theory.correlator(points, order, connected=connected)
    paper = c.latex("paper")
    groups = len(c.topologies())
    perms = sum(int(m) for m in PERMS.findall(paper))
    # each topology is printed once; "+ m perms" stands for the m other diagrams of its orbit
    assert paper.count(r"\Big[") <= groups
    single = groups - len(PERMS.findall(paper))
    assert single + len(PERMS.findall(paper)) + perms == len(c.terms)
    full_bodies = {t.latex_body() for t in c.terms}
    orbits = c.latex("paper", orbits=True)
    assert all(b in orbits for b in full_bodies)
    assert not PERMS.search(orbits)


def test_line_breaks_and_environments():
    c = Theory({lam: 4, kap: 6}).correlator(2, 1)
    assert c.latex(per_line=1) == (
        "K(x_{1}, x_{2}) \\\\\n"
        r"- 12 \lambda \int d^{d_{\mathrm{in}}}y_{1}\, K(x_{1}, y_{1}) K(x_{2}, y_{1})"
        " K(y_{1}, y_{1}) \\\\\n"
        r"- 90 \kappa \int d^{d_{\mathrm{in}}}y_{1}\, K(x_{1}, y_{1}) K(x_{2}, y_{1})"
        r" K(y_{1}, y_{1})^{2}"
    )
    aligned = c.latex(environment="align*", lhs="G^{(2)}", per_line=2)
    assert aligned.startswith("\\begin{align*}\nG^{(2)} &= K(x_{1}, x_{2}) - 12 \\lambda")
    assert "\\\\\n&\\quad - 90 \\kappa" in aligned and aligned.endswith("\\end{align*}")
    multline = c.latex("paper", environment="multline")
    assert multline.startswith("\\begin{multline}\n") and multline.count("\\\\") == 0


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"style": "compact"}, "style"),
        ({"per_line": 0}, "per_line"),
        ({"per_line": 1.5}, "per_line"),
        ({"orbits": True}, "orbits"),
        ({"environment": "equation"}, "environment"),
    ],
)
def test_bad_latex_options_name_the_argument(kwargs, argument):
    c = Theory({lam: 4}).correlator(2, 1)
    with pytest.raises(ArgumentError) as err:
        c.latex(**kwargs)
    assert err.value.argument == argument


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_paper_style_compiles(tmp_path):
    c = Theory({lam: 4, kap: 6}).correlator(6, 1)
    eq = c.latex("paper", environment="multline*", lhs=r"G^{(6)}", per_line=2, subscripts=True)
    tex = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        f"{eq}\n\\end{{document}}\n"
    )
    compile_tex(tmp_path, "eq", tex)
