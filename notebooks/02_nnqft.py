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
# # NN-QFT: couplings, the 6-point check and Wilsonian running (seed 001)
#
# A single-hidden-layer net $f(x) = W_1\sigma(W_0x + b_0) + b_1$ defines, at finite width $N$,
# a non-Gaussian process. We read its effective action
# $S = S_{GP} + \int_{[-\Lambda,\Lambda]^{d_{in}}}(\lambda f^4 + \kappa f^6)$ (no $1/k!$,
# probability $\propto e^{-S}$) off its exact correlators, check it against sampled ensembles
# and derive the running of $\lambda$ with the cutoff symbolically. Small sizes throughout.

# %%
import numpy as np

import fieldnn.experiments as fx
from fieldnn.ensembles import SingleLayerNet, estimate_correlators
from fieldnn.experiments import nnqft
from fieldnn.symbolic.rg import beta_functions

# %% [markdown]
# ## λ from the 4-point function
# $\lambda_m = (K_{12}K_{34} + K_{13}K_{24} + K_{14}K_{23} - G^{(4)})
#   /(24\int K_{1y}K_{2y}K_{3y}K_{4y})$
# over all multisets of four inputs. The Gauss-net (translation-invariant kernel) has a
# constant λ; the Erf-net does not.

# %%
setup = fx.published_setup("gauss", d_in=1)
net = setup.net(10)
lam = fx.measure_lambda(net, setup.X, cutoff=10.0, legs="full")
print(lam.mean, lam.std, lam.verdict)
assert lam.is_constant and lam.mean < 0

erf = fx.published_setup("erf", d_in=1)
lam_erf = fx.measure_lambda(erf.net(10), erf.X, cutoff=10.0)
print(lam_erf.verdict)
assert not lam_erf.is_constant

# %% [markdown]
# The same measurement from a sampled ensemble, with the standard error propagated from
# $G^{(4)}$ (ReLU-net, σ_b = 0: $f(x) = x F$ exactly in $d_{in} = 1$, so λ is exactly constant).

# %%
relu = SingleLayerNet("relu", 5, sigma_w2=1.0, sigma_b2=0.0)
X = np.array([[0.2], [0.6], [1.0]])
est = estimate_correlators(relu, X, 20_000, orders=(2, 4), rng=1)
exact = fx.measure_lambda(relu, X, cutoff=5.0)
sampled = fx.measure_lambda(est, X, cutoff=5.0, kernel=relu)
print(exact.mean, sampled.mean, "+-", sampled.mean_stderr)
assert abs(sampled.mean - exact.mean) < 4 * sampled.mean_stderr

# %% [markdown]
# ## β-functions: symbolic and measured
# $\beta_\lambda = -\lambda\,\partial\log I/\partial\log\Lambda$: the slope is set by the
# large-|y| power of the legs alone.

# %%
b = beta_functions("relu", couplings=("lambda", "kappa"))
print(b.beta)
flow = nnqft.rg_flow("relu", d_in=1, quick=True)
print(flow.fitted_slope, flow.symbolic_slope)
assert abs(flow.fitted_slope - flow.symbolic_slope) < 1e-6

# %% [markdown]
# ## The 6-point check
# $(G^{(6)}_{GP} + \bar\lambda\ \text{term})/G^{(6)}$ against width and the width at which
# the λ-only action describes every 6-point value to 1 %.

# %%
six = nnqft.six_point_check("relu", widths=(2, 10, 100), sampled_widths=(), n_nets=1000)
print(six.ratio_mean, six.width_1pct_max)
assert six.ratio_mean[-1] > six.ratio_mean[0]
assert 58 < six.width_1pct_max < 59
