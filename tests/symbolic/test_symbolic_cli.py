"""``fieldnn derive`` through add_derive_arguments / run_derive."""

from __future__ import annotations

import argparse
import json

import pytest

from fieldnn.symbolic._cli import add_derive_arguments, run_derive


def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="fieldnn derive")
    add_derive_arguments(parser)
    code = run_derive(parser.parse_args(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


SEED = [
    "--interaction",
    "lambda:4",
    "--interaction",
    "kappa:6",
    "--points",
    "6",
    "--order",
    "1",
    "--exact-propagator",
]


def test_latex_default(capsys):
    code, out, _ = _run(SEED, capsys)
    assert code == 0
    assert out.count(r"- 24 \lambda") == 15 and out.count(r"- 360 \kappa") == 15
    assert out.count(r"- 720 \kappa") == 1


def test_json(capsys):
    code, out, _ = _run([*SEED, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["points"] == 6 and data["exact_propagator"]
    assert sorted(t["weight"] for t in data["topologies"]) == sorted(
        ["15", "-360*lambda", "-720*kappa", "-5400*kappa"]
    )
    assert len(data["terms"]) == 15 + 15 + 1 + 15


def test_tikz_and_species(capsys):
    code, out, _ = _run(
        [
            "--interaction",
            "lambda:4",
            "--points",
            "i,j,k,l",
            "--species",
            "N",
            "--order",
            "1",
            "--connected",
            "--tikz",
        ],
        capsys,
    )
    assert code == 0 and out.count(r"\begin{feynman}") == 1 and r"\documentclass" in out
    assert "weight -8*lambda*(KroneckerDelta(i, j)" in out


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["--interaction", "lambda4", "--points", "4"], "--interaction"),
        (["--interaction", "lambda:2", "--points", "4"], "interactions"),
        (["--interaction", "lambda:4", "--points", "-2"], "points"),
        (["--interaction", "lambda:4", "--points", "4", "--order", "-1"], "order"),
        (["--interaction", "lambda:4", "--points", "4", "--species", "1.5"], "--species"),
    ],
)
def test_bad_input_exit_code(argv, name, capsys):
    code, _, err = _run(argv, capsys)
    assert code == 2 and f"'{name}'" in err


def test_paper_style_amputated_and_subscripts(capsys):
    code, out, _ = _run([*SEED, "--style", "paper", "--subscripts"], capsys)
    assert code == 0
    assert r"\Big[K_{12} K_{34} K_{56} + 14\ \text{perms}\Big]" in out
    assert out.count(r"\text{perms}") == 3  # GP, λ tree and κ tadpole orbits; κ tree is one
    code, out, _ = _run(["--interaction", "lambda:4", "--points", "4", "--amputated"], capsys)
    assert code == 0
    assert out.strip() == (
        r"-24 \lambda \delta(x_{2} - x_{1}) \delta(x_{3} - x_{1}) \delta(x_{4} - x_{1})"
    )


def test_tikz_paper_style_draws_one_diagram_per_topology(capsys):
    code, out, _ = _run([*SEED, "--tikz", "--style", "paper"], capsys)
    assert code == 0 and out.count(r"\begin{tikzpicture}") == 4
    assert r"\(- 5400 \kappa\)" in out


def test_labels_without_species_warn(capsys):
    code, _, err = _run(["--interaction", "lambda:4", "--points", "i,j,k,l"], capsys)
    assert code == 0 and "--species" in err and "warning" in err


def test_help_shows_the_default_order():
    parser = argparse.ArgumentParser(prog="fieldnn derive")
    add_derive_arguments(parser)
    assert "(default: 1)" in " ".join(parser.format_help().split())
