"""Public surface of fieldnn.symbolic: input checks, expressions, LaTeX (exact strings), TikZ."""

from __future__ import annotations

import shutil
import subprocess

import networkx as nx
import pytest
import sympy as sp

from fieldnn.errors import DiagramError
from fieldnn.symbolic import CUTOFF, K, Theory

lam, kap, g3 = sp.symbols("lambda kappa g3")
N = sp.Symbol("N")


@pytest.mark.parametrize(
    ("interactions", "species", "argument"),
    [
        ({lam: 2}, 1, "interactions"),
        ({lam: 4.0}, 1, "interactions"),
        ({lam: True}, 1, "interactions"),
        ({"lambda": 4}, 1, "interactions"),
        ({4: 4}, 1, "interactions"),
        ({}, 1, "interactions"),
        ({g3: 3}, N, "interactions"),
        ({g3: 3}, 2, "interactions"),
        ({lam: 4}, 0, "species"),
        ({lam: 4}, 2.5, "species"),
        ({lam: 4}, sp.Integer(3) / 2, "species"),
    ],
)
def test_bad_theory(interactions, species, argument):
    with pytest.raises(DiagramError) as err:
        Theory(interactions, species=species)
    assert err.value.argument == argument
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("points", "order", "argument"),
    [
        (-1, 1, "points"),
        (2.0, 1, "points"),
        (True, 1, "points"),
        ("ij", 1, "points"),
        ((1, 5), 1, "points"),
        ((0, 1), 1, "points"),
        (("i", 1.5), 1, "points"),
        (4, -1, "order"),
        (4, 1.0, "order"),
    ],
)
def test_bad_correlator_input(points, order, argument):
    th = Theory({lam: 4}, species=3)
    with pytest.raises(DiagramError) as err:
        th.correlator(points, order)
    assert err.value.argument == argument


def test_bad_flag():
    with pytest.raises(DiagramError) as err:
        Theory({lam: 4}).correlator(2, 1, connected="yes")
    assert err.value.argument == "connected"


def test_odd_points_exact_zero_and_phi3_nonzero():
    c = Theory({lam: 4, kap: 6}).correlator(5, 2)
    assert c.terms == [] and c.expr == 0 and c.zero_dim() == 0 and c.topologies() == []
    assert Theory({lam: 4}, species=N).correlator(("i", "j", "k"), 2).zero_dim() == 0
    c3 = Theory({g3: 3}).correlator(3, 1)
    assert sorted(w / g3 for w, _ in c3.topologies()) == [-9, -6]


def test_species_labels_default_and_integers():
    th = Theory({lam: 4}, species=2)
    c = th.correlator(2, 1)
    i1, i2 = sp.symbols("i_1 i_2")
    assert c.labels == (i1, i2)
    assert th.correlator((1, 2), 1).zero_dim() == 0
    assert th.correlator((2, 2), 1).zero_dim() == 1 - 16 * lam  # -4λ(N+2) at N = 2


def test_term_graph_structure():
    c = Theory({lam: 4, kap: 6}).correlator(4, 1, exact_propagator=True)
    t = c.terms[-1]
    assert t.weight == -360 * kap and t.connected
    G = t.graph
    assert isinstance(G, nx.MultiGraph)
    assert {n for n, k in G.nodes(data="kind") if k == "external"} == {"x1", "x2", "x3", "x4"}
    assert G.nodes["y1"] == {"kind": "vertex", "coupling": kap, "degree": 6}
    assert G.number_of_edges("y1", "y1") == 1 and G.degree("y1") == 6
    assert not c.terms[0].connected


def test_expr_structure():
    c = Theory({lam: 4}).correlator(2, 1)
    x1, x2, y1 = sp.symbols("x_1 x_2 y_1")
    expected = K(x1, x2) - 12 * lam * sp.Integral(
        K(x1, y1) * K(x2, y1) * K(y1, y1), (y1, -CUTOFF, CUTOFF)
    )
    assert c.expr == expected


def test_latex_exact_strings():
    th = Theory({lam: 4, kap: 6})
    assert th.correlator(2, 1).latex() == (
        r"K(x_{1}, x_{2})"
        r" - 12 \lambda \int d^{d_{\mathrm{in}}}y_{1}\,"
        r" K(x_{1}, y_{1}) K(x_{2}, y_{1}) K(y_{1}, y_{1})"
        r" - 90 \kappa \int d^{d_{\mathrm{in}}}y_{1}\, K(x_{1}, y_{1}) K(x_{2}, y_{1})"
        r" K(y_{1}, y_{1})^{2}"
    )
    assert th.correlator(4, 1, exact_propagator=True).latex() == (
        r"K(x_{1}, x_{2}) K(x_{3}, x_{4}) + K(x_{1}, x_{3}) K(x_{2}, x_{4})"
        r" + K(x_{1}, x_{4}) K(x_{2}, x_{3})"
        r" - 24 \lambda \int d^{d_{\mathrm{in}}}y_{1}\,"
        r" K(x_{1}, y_{1}) K(x_{2}, y_{1}) K(x_{3}, y_{1}) K(x_{4}, y_{1})"
        r" - 360 \kappa \int d^{d_{\mathrm{in}}}y_{1}\,"
        r" K(x_{1}, y_{1}) K(x_{2}, y_{1}) K(x_{3}, y_{1}) K(x_{4}, y_{1}) K(y_{1}, y_{1})"
    )
    on = Theory({lam: 4}, species=N).correlator(("i", "j", "k", "l"), 1, connected=True)
    assert on.latex() == (
        r"-8 \lambda \left(\delta_{i j} \delta_{k l} + \delta_{i k} \delta_{j l}"
        r" + \delta_{i l} \delta_{j k}\right) \int d^{d_{\mathrm{in}}}y_{1}\,"
        r" K(x_{1}, y_{1}) K(x_{2}, y_{1}) K(x_{3}, y_{1}) K(x_{4}, y_{1})"
    )
    assert on._repr_latex_() == r"$\displaystyle " + on.latex() + "$"
    assert th.action_latex() == (
        r"S = S_{\mathrm{GP}} + \int d^{d_{\mathrm{in}}}y\, "
        r"\left[\lambda f(y)^{4} + \kappa f(y)^{6}\right]"
    )


def test_latex_two_loop_measure():
    c = Theory({lam: 4}).correlator(4, 2, connected=True, exact_propagator=True)
    s_channel = next(t for t in c.terms if t.order == 2 and t.matrix[0][4] and t.matrix[1][4])
    assert s_channel.latex_body() == (
        r"\int d^{d_{\mathrm{in}}}y_{1}\, d^{d_{\mathrm{in}}}y_{2}\,"
        r" K(x_{1}, y_{1}) K(x_{2}, y_{1})"
        r" K(x_{3}, y_{2}) K(x_{4}, y_{2}) K(y_{1}, y_{2})^{2}"
    )
    assert s_channel.weight == 288 * lam**2


def test_one_pi_and_amputated():
    th = Theory({lam: 4})
    full = th.correlator(4, 2, connected=True)
    opi = th.correlator(4, 2, one_pi=True)
    # 1PI at order λ²: the tree and the three bubbles; the leg tadpoles are not 1PI
    assert len(full.terms) == 8 and len(opi.terms) == 4
    amp = th.correlator(4, 1, amputated=True)
    x = sp.symbols("x_1:5")
    # the four legs hang on one vertex: y1 -> x1 and δ(x_a - x_1) for the others
    assert amp.expr == -24 * lam * sp.Mul(*(sp.DiracDelta(x[a] - x[0]) for a in (1, 2, 3)))
    two = th.correlator(2, 2, amputated=True)
    assert len(two.terms) == len(th.correlator(2, 2, connected=True).terms) - 1 == 4
    with pytest.raises(DiagramError) as err:
        th.correlator(2, 0).terms[0].expr(amputated=True)
    assert err.value.argument == "amputated"
    tadpole = two.terms[0]
    assert tadpole.expr(amputated=True) == -12 * lam * sp.DiracDelta(x[1] - x[0]) * K(x[0], x[0])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_tikz_compiles(tmp_path):
    c = Theory({lam: 4, kap: 6}).correlator(4, 2, connected=True, exact_propagator=True)
    (tmp_path / "d.tex").write_text(c.tikz(standalone=True))
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "d.tex"], cwd=tmp_path, capture_output=True
    )
    assert run.returncode == 0, run.stdout[-2000:]


def test_docstring_examples():
    import doctest

    from fieldnn.symbolic import _theory, _wick

    for module in (_theory, _wick):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
