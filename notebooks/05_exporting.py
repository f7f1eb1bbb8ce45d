# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exporting to a paper: LaTeX and TikZ-Feynman
#
# Everything fieldnn derives prints itself as LaTeX: effective actions, correlators as sums of
# diagrams, β-functions, matched couplings; and every diagram as TikZ-Feynman code with explicit
# coordinates (it compiles with plain pdflatex — no LuaLaTeX layout engine needed). In this
# notebook we collect them into a short `.tex` file, add a measured number, and compile it when
# `pdflatex` is installed.

# %%
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import sympy as sp

import fieldnn as fnn
from fieldnn.experiments import published_setup
from fieldnn.report import format_number

lam, kap = sp.symbols("lambda kappa")

# %% [markdown]
# ## Effective actions
# `Theory.action_latex()` gives the interaction part of $S$ (probability $\propto e^{-S}$, no
# $1/k!$ in the couplings; one species, or $O(N)$ with `species=`).

# %%
theory = fnn.Theory({lam: 4, kap: 6})
action = theory.action_latex()
action_on = fnn.Theory({lam: 4}, species=sp.Symbol("N")).action_latex()
print(action)
print(action_on)
assert action == (
    r"S = S_{\mathrm{GP}} + \int d^{d_{\mathrm{in}}}y\, "
    r"\left[\lambda f(y)^{4} + \kappa f(y)^{6}\right]"
)
assert r"(f(y) \cdot f(y))^{2}" in action_on

# %% [markdown]
# ## Correlators
# `Correlator.latex()` writes the sum of its diagrams, with the internal points integrated over
# the cutoff box. Here the seed's eq. (3.18), the 4-point function to first order with the
# GP kernel as the exact propagator (rule 4.5).

# %%
g4 = theory.correlator(4, 1, exact_propagator=True)
g4_tex = g4.latex()
print(g4_tex)
gp_part = (
    "K(x_{1}, x_{2}) K(x_{3}, x_{4}) + K(x_{1}, x_{3}) K(x_{2}, x_{4}) "
    "+ K(x_{1}, x_{4}) K(x_{2}, x_{3})"
)
assert g4_tex.startswith(gp_part + r" - 24 \lambda \int d^{d_{\mathrm{in}}}y_{1}\, ")
assert r" - 360 \kappa \int" in g4_tex and g4_tex.endswith("K(y_{1}, y_{1})")
assert len(g4.terms) == 5  # three Wick pairings, one λ tree, one κ tadpole

# %% [markdown]
# ## β-functions and matched couplings
# Any sympy result goes through `sympy.latex`. The β-functions of the ReLU-net
# (seed: $\beta_\lambda = -(d_{in} + 4)\lambda$) and the couplings of the zero-dimensional
# $O(m)$ quartic theory matched to the deep-network kernel $G$ and vertex $V$ at $O(1/n)$.

# %%
beta = fnn.beta_functions("relu")
beta_tex = r",\quad ".join(
    rf"\beta_{{{sp.latex(g)}}} = {sp.latex(b)}" for g, b in beta.beta.items()
)
gamma2, gamma4 = fnn.match_quartic(2)
match_tex = rf"\gamma_2 = {sp.latex(gamma2)},\quad \gamma_4 = {sp.latex(gamma4)}"
print(beta_tex)
print(match_tex)
assert beta_tex == (
    r"\beta_{\lambda} = - \lambda \left(d_{in} + 4\right),\quad "
    r"\beta_{\kappa} = - \kappa \left(d_{in} + 6\right)"
)
assert match_tex == (
    r"\gamma_2 = \frac{1}{G} + \frac{2 V}{G^{3} n},\quad \gamma_4 = \frac{V}{G^{4} n}"
)

# %% [markdown]
# ## A measured number
# λ of the Gauss-net at width 10 (published setup, $\Lambda = 10$), quoted with its spread over
# the input tuples — exported the same way the reports do.

# %%
setup = published_setup("gauss", d_in=1)
meas = fnn.measure_lambda(setup.net(10), setup.X, cutoff=10.0, legs="full")
lam_tex = rf"\lambda = {format_number(meas.mean)} \pm {format_number(meas.std, 2)}"
print(lam_tex, "|", meas.verdict)
assert meas.is_constant and meas.mean < 0
assert np.isclose(float(format_number(meas.mean)), meas.mean, rtol=1e-3)

# %% [markdown]
# ## TikZ-Feynman diagrams
# `Correlator.tikz()` gives one `tikzpicture` per diagram, each preceded by a comment with its
# weight (`tikz(standalone=True)` wraps them in a complete document). The connected part of
# $G^{(4)}$ is the λ tree and the κ tadpole:

# %%
g4c = theory.correlator(4, 1, connected=True, exact_propagator=True)
diagrams = g4c.tikz()
print(diagrams)
assert diagrams.count(r"\begin{tikzpicture}") == len(g4c.terms) == 2
assert "% diagram 1: weight -24*lambda" in diagrams

# %% [markdown]
# ## The paper
# Everything above, in one file (written to a temporary directory).

# %%
paper = rf"""\documentclass{{article}}
\usepackage{{amsmath}}
\usepackage[compat=1.1.0]{{tikz-feynman}}
\begin{{document}}
\section*{{A neural-network field theory}}
The finite-width network is described by the effective action
\begin{{equation}}
{action}
\end{{equation}}
whose four-point function to first order in the couplings is
\begin{{multline}}
G^{{(4)}} = {gp_part} \\
{g4_tex[len(gp_part) :]}
\end{{multline}}
The connected diagrams:
\begin{{center}}
{diagrams}
\end{{center}}
Under a change of the cutoff, ${beta_tex}$. At one input the $O(2)$ theory matched to the deep
network has ${match_tex}$. For the Gauss-net of width 10 we measure ${lam_tex}$.
\end{{document}}
"""
out = Path(tempfile.mkdtemp(prefix="fieldnn-paper-"))
tex = out / "paper.tex"
tex.write_text(paper)
print(tex)

# %% [markdown]
# Compile it if `pdflatex` is on the machine (skipped gracefully otherwise).

# %%
pdflatex = shutil.which("pdflatex")
if pdflatex is None:
    print("pdflatex not found: paper.tex written, not compiled")
else:
    run = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    pdf = out / "paper.pdf"
    assert pdf.stat().st_size > 0
    print("compiled:", pdf)
