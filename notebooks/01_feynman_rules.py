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
# # Feynman rules of neural-network field theory
#
# This notebook derives equations (3.17)–(3.19) and the SO(d_out) four-point function of the
# NN-QFT talk (Halverson, Maiti, Stoner, arXiv:2008.08601) with `fieldnn.symbolic`.
#
# The finite-width network is described by the effective action
# $S = S_{\mathrm{GP}} + \int d^{d_{\mathrm{in}}}y\,[\lambda f(y)^4 + \kappa f(y)^6]$ with
# probability $\propto e^{-S}$ and *no* $1/k!$ in the couplings. Every correlator is a sum of
# Feynman diagrams; the weight of a diagram is its sign, couplings and number of Wick
# contractions (divided by the $n_k!$ of the exponential), i.e. $(-g)^{n}(k!)^{n}/|\mathrm{Aut}|$.

# %%
import sympy as sp

from fieldnn.symbolic import Theory

lam, kap = sp.symbols("lambda kappa")
theory = Theory({lam: 4, kap: 6})
print(theory.action_latex())

# %% [markdown]
# ## All diagrams to first order, grouped by topology
# `topologies()` sums the weights of the diagrams that differ only by relabelling the external
# points: these sums are the seed's combinatoric factors.

# %%
factors = {}
for n in (2, 4, 6):
    tops = theory.correlator(n, 1).topologies()
    factors[n] = [w for w, _ in tops]
    print(f"G{n}:", factors[n])

assert factors[2] == [1, -12 * lam, -90 * kap]
assert set(factors[4]) == {3, -72 * lam, -24 * lam, -540 * kap, -360 * kap}
assert set(factors[6]) == {15, -540 * lam, -360 * lam, -720 * kap, -5400 * kap, -4050 * kap}

# %% [markdown]
# ## Rule 4.5: the GP kernel is the exact 2-point function
# `exact_propagator=True` drops every diagram in which a set of internal vertices is joined to
# the rest by exactly two lines (a correction to a 2-point function). What remains is the
# seed's (3.17)–(3.19):

# %%
g2 = theory.correlator(2, 1, exact_propagator=True)
g4 = theory.correlator(4, 1, exact_propagator=True)
g6 = theory.correlator(6, 1, exact_propagator=True)
print(g2.latex())
print(g4.latex())
assert [w for w, _ in g2.topologies()] == [1]  # (3.17): G2 = K(x1, x2)
assert [w for w, _ in g4.topologies()] == [3, -24 * lam, -360 * kap]  # (3.18)
assert set(w for w, _ in g6.topologies()) == {15, -360 * lam, -720 * kap, -5400 * kap}  # (3.19)

# %% [markdown]
# The κ tadpole $-360\kappa\int K_{1z}K_{2z}K_{3z}K_{4z}K_{zz}$ survives: its vertex carries four
# external lines, so it is not a 2-point correction. In (3.19) the factor 360 of the λ tree
# and of the κ tadpole is spread over 15 labelled terms each: 15 × 24 = 360 and 15 × 360 = 5400.

# %%
lam_trees = [t for t in g6.terms if t.orders == (1, 0)]
kap_tadpoles = [t for t in g6.terms if t.orders == (0, 1) and t.weight == -360 * kap]
assert len(lam_trees) == 15 and all(t.weight == -24 * lam for t in lam_trees)
assert len(kap_tadpoles) == 15
print(g4.expr)

# %% [markdown]
# ## Zero dimensions
# With $K \equiv 1$ and $\int \equiv 1$ the diagram sum must reproduce the moments of
# $e^{-\phi^2/2 - \lambda\phi^4}$: $\langle\phi^4\rangle = 3 - 96\lambda + O(\lambda^2)$
# (Gaussian moments: $-\lambda(\langle\phi^8\rangle - \langle\phi^4\rangle^2) = -\lambda(105 - 9)$).

# %%
z4 = Theory({lam: 4}).correlator(4, 1).zero_dim()
assert z4 == 3 - 96 * lam
print(z4)

# %% [markdown]
# ## SO(d_out): several outputs
# With $d_{\mathrm{out}}$ outputs the interaction is $\lambda\int (f\cdot f)^2$. The vertex tensor
# is the symmetrised $\frac{1}{3}(\delta\delta + \delta\delta + \delta\delta)$, so the tree is
# $-8\lambda(\delta_{ij}\delta_{kl} + \delta_{ik}\delta_{jl} + \delta_{il}\delta_{jk})$ and each
# one-loop bubble carries $32\lambda^2[(d_{\mathrm{out}} + 4)\delta\delta + 2(\delta\delta +
# \delta\delta)]$ — the seed's $32 \cdot \frac{\lambda^2}{2}(\ldots + x\leftrightarrow y)$.

# %%
d_out = sp.Symbol("d_out")
i, j, k, l = sp.symbols("i j k l")
d = sp.KroneckerDelta
so = Theory({lam: 4}, species=d_out).correlator(
    (i, j, k, l), 2, connected=True, exact_propagator=True
)
tree, loop = so.topologies()
S = d(i, j) * d(k, l) + d(i, k) * d(j, l) + d(i, l) * d(j, k)
assert sp.expand(tree[0] + 8 * lam * S) == 0
s_channel = next(t for t in so.terms if t.order == 2 and t.matrix[0][4] and t.matrix[1][4])
seed = 32 * lam**2 * ((d_out + 4) * d(i, j) * d(k, l) + 2 * (d(i, k) * d(j, l) + d(i, l) * d(j, k)))
assert sp.expand(s_channel.weight - seed) == 0
print(so.latex())

# %% [markdown]
# ## Drawing the diagrams
# `tikz()` writes TikZ-Feynman code with explicit coordinates (compiles with pdflatex).

# %%
print(so.tikz().split("\n\n")[1])
