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
# # Writing it up: from a derivation and a measurement to a page of a paper
#
# This tutorial takes one derivation (the connected four-point function of the NN-QFT action to
# one loop) and one measurement (the quartic coupling of the seed's Erf-net, exact and sampled)
# into a `paper.tex` that compiles with pdflatex: the equation grouped as a paper prints it, the
# diagrams with their weights, and a table whose numbers carry their uncertainties in the last
# digits. Every piece is pure LaTeX; nothing needs retyping.

# %%
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import sympy as sp

import fieldnn as fnn
from fieldnn.experiments import published_setup
from fieldnn.report import latex_number, latex_table, latex_uncertain

lam = sp.Symbol("lambda")

# %% [markdown]
# ## The derivation
# The connected four-point function of $S = S_{\mathrm{GP}} + \int \lambda f^4$ to order
# $\lambda^2$, with the GP kernel as the exact propagator (the seed's rule 4.5). `style="paper"`
# prints one summand per topology, "+ n perms" for its relabelings, $K_{12}$ subscripts, and
# breaks the lines for `multline`.

# %%
g4c = fnn.Theory({lam: 4}).correlator(4, 2, connected=True, exact_propagator=True)
equation = g4c.latex(
    "paper", subscripts=True, environment="multline", lhs=r"G^{(4)}_{\mathrm{c}}", per_line=1
)
print(equation)
assert equation.count(r"\\") == len(g4c.topologies()) - 1 == 1
perms = [int(m) for m in re.findall(r"\+ (\d+)\\ \\text\{perms?\}", equation)]
assert perms == [2] and len(g4c.terms) == 1 + (1 + 2)  # the tree and the three bubble channels
assert r"-24 \lambda \int" in equation and r"288 \lambda^{2}" in equation

# %% [markdown]
# ## The diagrams
# One drawing per topology, its total weight beside it (the seed's $-24\lambda$ and
# $864\lambda^2 = 3 \times 288\lambda^2$). The layout is planar, with the external points in
# order on the outer face.

# %%
diagrams = g4c.tikz(by_topology=True)
print(diagrams)
weights = [sp.latex(w) for w, _ in g4c.topologies()]
assert weights == [r"- 24 \lambda", r"864 \lambda^{2}"]
assert all(rf"\({w}\)" in diagrams for w in weights)

# %% [markdown]
# ## The measurement
# The Erf-net of the seed (width $N = 10$, $\sigma_W^2 = \sigma_b^2 = 1$): the exact connected
# four-point function at the first input, $G^{(4)}_{\mathrm{c}}(x_1,x_1,x_1,x_1)$, against a
# sampled ensemble with its standard error, and the quartic coupling $\bar\lambda$ over the
# input tuples (exact correlators, cutoff $\Lambda = 10$).

# %%
setup = published_setup("erf")
net = setup.net(10)
X = setup.X[:3]
exact = net.exact_connected(X, 4)[0, 0, 0, 0]
est = fnn.estimate_correlators(net, X, 40_000, orders=(2, 4), rng=1)
sampled, error = est.connected(4)[0, 0, 0, 0], est.stderr(4)[0, 0, 0, 0]
pull = (sampled - exact) / error
meas = fnn.measure_lambda(net, X, cutoff=10.0, legs="full")
print(f"exact {exact:.6g}, sampled {sampled:.6g} ± {error:.2g} (pull {pull:+.2f})")
print(f"lambda = {meas.mean:.6g}, spread {meas.std:.2g}")
assert abs(pull) < 4 and bool(est.reliable(4)[0, 0, 0, 0])
assert meas.mean < 0

# %% [markdown]
# The table: numbers as $a\times10^{k}$, the sampled value as $1.23(4)\times10^{-5}$ (the
# error in the last digits), text through the same Unicode-to-LaTeX conversion as the reports.
# The sampled connected part is honest about its size: it is $1/N$-small against the spread of
# the fourth moment, so 40 000 networks resolve it only to about one standard error.

# %%
table = latex_table(
    ["quantity", "exact", "sampled (40 000 nets)", "pull"],
    [
        [
            "$G^{(4)}_{\\mathrm{c}}(x_1,x_1,x_1,x_1)$",
            f"${latex_number(exact, 6)}$",
            f"${latex_uncertain(sampled, error)}$",
            f"${pull:+.2f}$",
        ],
        ["λ̄ over input tuples (Λ = 10)", f"${latex_number(meas.mean, 4)}$", "—", "—"],
        ["spread of λ over tuples", f"${latex_number(meas.std, 2)}$", "—", "—"],
    ],
    "The Erf-net of width N = 10: exact finite-width values against a sampled ensemble.",
    label="tab:erf",
)
print(table)
assert table.isascii() and "\\begin{tabular}{llll}" in table

# %% [markdown]
# ## The page
# Everything above in one file, written to a temporary directory and compiled if pdflatex is
# installed. A page a referee would accept has no overfull lines: the log is checked for them.

# %%
paper = rf"""\documentclass{{article}}
\usepackage{{amsmath,booktabs,adjustbox}}
\usepackage[margin=2.5cm]{{geometry}}
\usepackage[compat=1.1.0]{{tikz-feynman}}
\begin{{document}}
\section*{{The four-point function of an Erf-net}}
To one loop, the connected four-point function of the action
$S = S_{{\mathrm{{GP}}}} + \int d^{{d_{{\mathrm{{in}}}}}}y\,\lambda f(y)^4$ is
{equation}
with the diagrams of Fig.~\ref{{fig:diagrams}}. For the Erf-net of the seed, the exact and sampled
values are in Table~\ref{{tab:erf}}.
\begin{{figure}}[ht]
\centering
{diagrams}
\caption{{The connected diagrams to order $\lambda^2$ with their total weights.}}
\label{{fig:diagrams}}
\end{{figure}}
{table}
\end{{document}}
"""
out = Path(tempfile.mkdtemp(prefix="fieldnn-paper-"))
tex = out / "paper.tex"
tex.write_text(paper)
print(tex)

# %%
pdflatex = shutil.which("pdflatex")
if pdflatex is None:
    print("pdflatex not found: paper.tex written, not compiled")
else:
    for _ in range(2):  # twice, for the references
        run = subprocess.run(
            [pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name],
            cwd=out,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=300,
        )
        assert run.returncode == 0, run.stdout[-3000:]
    log = (out / "paper.log").read_text(errors="replace")
    overfull = log.count("Overfull \\hbox")
    print("compiled:", out / "paper.pdf", "| overfull boxes:", overfull)
    assert overfull == 0 and "undefined" not in log.lower()
