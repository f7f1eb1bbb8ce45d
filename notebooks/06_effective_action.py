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
# # The effective action of a network
#
# The outputs of an ensemble of networks on P inputs are distributed as $e^{-S}/Z$ with
#
# $$S(f) = \tfrac12\gamma^{(2)}_{ab}\,f_a\cdot f_b - \tfrac18\gamma^{(4)}_{ab,cd}
#   (f_a\cdot f_b)(f_c\cdot f_d) - \tfrac1{48}\gamma^{(6)}_{ab,cd,ef}(f_a\cdot f_b)(f_c\cdot f_d)
#   (f_e\cdot f_f),$$
#
# couplings as series in $1/n$ fixed by matching the connected 2-, 4- and 6-point functions
# (docs: "The effective action"). Here we build $S$ for a single-layer Erf-net from its exact
# finite-width cumulants, check what it predicts against the network, and look at the symbolic
# form of the reconstruction.

# %%
import numpy as np
import sympy as sp

import fieldnn as fnn
from fieldnn.symbolic import reconstruct_couplings

X = np.array([[-0.7], [0.2], [1.1]])

# %% [markdown]
# ## Couplings on three inputs
# `term=g` picks the $1/n^g$ term of a coupling. At one input $\gamma^{(4)}$ would be
# $V/(nG^4)$; on several inputs it is the four-point vertex amputated with $K^{-1}$.

# %%
net = fnn.SingleLayerNet("erf", width=100, sigma_b2=0.5, sigma_w2=1.5)
S = fnn.effective_action(net, X, order=2)
print(S)
print("γ(4) diagonal, O(1/n):  ", np.round([S.gamma(4, term=1)[a, a, a, a] for a in range(3)], 6))
print("γ(4) diagonal, O(1/n²): ", np.round([S.gamma(4, term=2)[a, a, a, a] for a in range(3)], 7))
print("γ(6) diagonal:          ", np.round([S.gamma(6)[(a,) * 6] for a in range(3)], 8))
assert np.allclose(S.gamma(2, term=0), np.linalg.inv(net.kernel(X)))

# %% [markdown]
# ## What the action predicts, against the network
# `S.correlators(n)` evaluates the engine's Feynman diagrams of $e^{-S}$ (coupling tensors on the
# vertices, $D = (\gamma^{(2)})^{-1}$ on the lines). Against the exact finite-width correlators
# the residuals must fall like $N^{-2}$ at order 1 and $N^{-3}$ at order 2.

# %%
widths = np.array([200, 800, 3200])
for order in (1, 2):
    residual = []
    for N in widths:
        net_N = fnn.SingleLayerNet("erf", width=int(N), sigma_b2=0.5, sigma_w2=1.5)
        S_N = fnn.effective_action(net_N, X, order=order)
        residual.append(np.max(np.abs(S_N.correlators(4) - net_N.exact_connected(X, 4))))
    slope = np.polyfit(np.log(widths), np.log(residual), 1)[0]
    print(f"order {order}: G4c residuals {np.array(residual)}, residual exponent {slope:.2f}")
    assert abs(slope + order + 1) < 0.25

# %% [markdown]
# ## The reconstruction, symbolically
# At one input with $N$ outputs the couplings are sympy series in $G$, $V$ (four-point) and $U$
# (six-point pairing coefficient). The first-order case is `match_quartic(m)`.

# %%
N = sp.Symbol("N")
couplings = reconstruct_couplings(2, species=N)
for k in (2, 4, 6):
    print(f"γ({k}) =", sp.collect(couplings[k], sp.Symbol("n")))
G, V, n = sp.symbols("G V n")
assert sp.expand(fnn.match_quartic(N)[0] - (1 / G + (N + 2) * V / (2 * n * G**3))) == 0

# %% [markdown]
# ## From samples, with error bars
# A list of independent estimates gives each coupling a jackknife error; the pulls against the
# exact couplings of the same net should be of order one.

# %%
small = fnn.SingleLayerNet("erf", width=3, sigma_w2=2.0, sigma_b2=0.2)
X2 = np.array([[0.5], [1.2]])
estimates = [
    fnn.estimate_correlators(small, X2, n_nets=20000, orders=(2, 4), rng=[0, r]) for r in range(5)
]
sampled = fnn.effective_action(estimates, X2, order=1)
exact = fnn.effective_action(small, X2, order=1)
pull = (sampled.gamma(4) - exact.gamma(4)) / sampled.stderr(4)
print(
    "γ(4) sampled:",
    np.round(sampled.gamma(4)[0, 0, 0, 0], 2),
    "±",
    np.round(sampled.stderr(4)[0, 0, 0, 0], 2),
    " exact:",
    np.round(exact.gamma(4)[0, 0, 0, 0], 2),
)
print(f"max |pull| = {np.max(np.abs(pull)):.2f}")
assert np.max(np.abs(pull)) < 4.5

# %% [markdown]
# ## LaTeX
# One input prints its numbers; several inputs print the tensor form.

# %%
print(fnn.effective_action(net, X[:1], order=2).latex())
print(S.latex())
