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
# # Where the effective action stops describing the network
#
# At one input the output of a single-hidden-layer net is a sum of N iid units plus a Gaussian
# bias, so its density is known exactly at every width: the cosine transform of
# $e^{-\sigma_b^2t^2/2}\psi(t)^N$ (docs: "Exact densities and the reach of the effective
# action"). We check it against sampled networks, hold the effective action against it order by
# order, find the width where the Gauss-net's $1/N$ series starts to work, and ask whether the
# quartic coupling of the seed is a constant.

# %%
import matplotlib

matplotlib.use("Agg")
import numpy as np

import fieldnn as fnn

# %% [markdown]
# ## The exact density against 200 000 sampled networks
# Bin counts against $\int_{\rm bin} p$; the pulls are (count − expected)/√expected.

# %%
net = fnn.SingleLayerNet("erf", width=3, sigma_w2=1.0, sigma_b2=0.5)
x = [[0.7]]
y = fnn.sample_outputs(net, x, 200_000, rng=3)[:, 0, 0]
edges = np.linspace(-4.0, 4.0, 21)
a, b = edges[:-1], edges[1:]
nodes, weights = np.polynomial.legendre.leggauss(8)
points = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * nodes
prob = net.exact_density(x, points.ravel()).reshape(points.shape) @ weights * 0.5 * (b - a)
counts, _ = np.histogram(y, edges)
pulls = (counts - prob * y.size) / np.sqrt(prob * y.size)
print(f"max |pull| over {len(pulls)} bins: {np.max(np.abs(pulls)):.2f}")
assert np.max(np.abs(pulls)) < 5

# %% [markdown]
# ## The action order by order
# $\epsilon_k(N) = \max_f |[\log p(f) - \log p(0)] + [S_k(f) - S_k(0)]|$ with $S_0 = f^2/2K$
# (the Gaussian process) and $S_1, S_2$ from `effective_action`. For the Erf-net it falls like
# $N^{-k-1}$.

# %%
cmp = fnn.compare_with_density("erf", [1.0], [20, 40, 80, 160, 320])
slopes = [cmp.exponent(k) for k in (0, 1, 2)]
print("fitted slopes of the error against N:", np.round(slopes, 2))
assert abs(slopes[1] + 2) < 0.25 and abs(slopes[2] + 3) < 0.25

# %% [markdown]
# ## The Gauss-net: an asymptotic series that needs large widths
# Its unit is lognormal, $\langle s^k\rangle = e^{k(k-2)q/2}$. Below the crossovers adding an
# order makes the description worse.

# %%
widths = np.unique(np.round(np.logspace(np.log10(2), 5, 31)).astype(int))
gauss = fnn.compare_with_density("gauss", [0.0], widths)
print(f"order 1 beats the GP from N = {gauss.crossover(1):.0f}")
print(f"order 2 beats order 1 from N = {gauss.crossover(2):.0f}")
assert gauss.errors[0, 2] > gauss.errors[0, 1] > gauss.errors[0, 0]  # N = 2: each order worse
assert 50 < gauss.crossover(1) < 300 and 3000 < gauss.crossover(2) < 30000

# %%
from fieldnn.report.plots_effective import plot_density_vs_action

ax = plot_density_vs_action(fnn.density_curves("gauss", [0.0], (2, 100, 10_000)))
ax.figure.savefig("gauss_density.png", dpi=80)

# %% [markdown]
# ## Is λ a constant?
# Least-squares fits of the exact connected 4-point function of a ReLU-net with a constant
# λ, with λ(y) = λ₀ + λ₂y² + λ₄y⁴, on training inputs, tested on held-out ones.

# %%
relu = fnn.SingleLayerNet("relu", width=10)
X_train = np.linspace(-1, 1, 5)[:, None]
X_test = 0.5 * (X_train[1:] + X_train[:-1])
const = fnn.fit_locality(relu, X_train, X_test, cutoff=5.0, operators=("lambda0",))
poly = fnn.fit_locality(
    relu, X_train, X_test, cutoff=5.0, operators=("lambda0", "lambda2", "lambda4")
)
print(f"test error, constant λ: {const.test_error:.3f}; λ(y) to y⁴: {poly.test_error:.3f}")
print({k: f"{v:.3g} ± {poly.stderr[k]:.1g}" for k, v in poly.couplings.items()})
assert poly.test_error < const.test_error
