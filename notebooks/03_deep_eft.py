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
# # The effective theory of deep networks
#
# A tour of the Roberts–Yaida–Hanin programme (arXiv:2106.10165) as presented in the seed talk
# "Field Theories and Machine Learning": criticality, fixed points, the growth of the
# four-point vertex with depth, the neural tangent kernel, and inference — each number computed
# twice, by a recursion and by sampling networks. Derivations and the corrections to the talk:
# `docs/eft.md`. The full reproduction is `fieldnn reproduce eft`.
#
# Conventions: $z^{(\ell+1)} = b^{(\ell+1)} + W^{(\ell+1)}\sigma(z^{(\ell)})$,
# $W \sim \mathcal N(0, C_W/n_{\ell-1})$, $b \sim \mathcal N(0, C_b)$, linear output layer.

# %%
import matplotlib.pyplot as plt
import numpy as np

from fieldnn.ensembles import MLP, estimate_correlators
from fieldnn.experiments import eft
from fieldnn.kernels.criticality import critical_point, criticality
from fieldnn.report import plots_eft

# %% [markdown]
# ## 1. Fixed points and criticality
#
# The single-input kernel obeys $K^{(\ell+1)} = C_b + C_W g(K^{(\ell)})$ with
# $g(K) = \langle\sigma(z)^2\rangle_{z\sim\mathcal N(0,K)}$. The talk's example: tanh at
# $C_b = 1$, $C_W = 2$. The fixed point is where the curve crosses the diagonal; iterating the
# recursion (the cobweb) converges to it because $\chi_\parallel = C_W g'(K^*) < 1$.

# %%
sol = eft.fixed_point_solution("tanh", C_b=1.0, C_W=2.0, quick=True)
print(f"K* = {sol.K_star:.8f}, chi_par = {sol.chi_parallel:.4f}, chi_perp = {sol.chi_perp:.4f}")
# the curve C_b + C_W g(K) crosses the diagonal at K* (up to the grid's interpolation error)
assert abs(np.interp(sol.K_star, sol.K, sol.rhs) - sol.K_star) < 1e-3
assert np.allclose(sol.iterates[:, -1], sol.K_star, atol=1e-6)
ax = plots_eft.plot_fixed_point(sol)
plt.close(ax.figure)

# %% [markdown]
# Criticality needs both susceptibilities at one: $\chi_\parallel = 1$ (the diagonal of the
# kernel is marginal) **and** $\chi_\perp = C_W\langle\sigma'^2\rangle_{K^*} = 1$ (so are the
# off-diagonal entries). The talk states only the first. For tanh the two conditions select
# $(C_b, C_W) = (0, 1)$ with $K^* = 0$.

# %%
cp = critical_point("tanh")
crit = criticality("tanh", C_b=cp.C_b, C_W=cp.C_W)
print(cp)
assert (cp.C_b, cp.C_W, cp.K_star) == (0.0, 1.0, 0.0)
assert abs(crit.chi_parallel - 1) < 1e-9 and abs(crit.chi_perp - 1) < 1e-9

pd = eft.phase_diagram_experiment("tanh", C_b_range=(0.0, 0.3), C_W_range=(0.6, 2.0), quick=True)
ax = plots_eft.plot_phase_diagram(pd)
plt.close(ax.figure)

# %% [markdown]
# At criticality the K* = 0 class approaches zero as a power law, $K^{(\ell)} \simeq
# 1/(-a_1\ell)$, with $a_1 = -2$ for tanh.

# %%
da = eft.depth_asymptotics_experiment("tanh", quick=True)
print(f"a1 = {da.a1}, K(100) * 2 * 100 = {da.K[-1] * 2 * 100:.4f}")
assert da.a1 == -2.0 or abs(da.a1 + 2.0) < 1e-9
assert abs(da.K[-1] * 2 * da.depths[-1] - 1) < 0.05

# %% [markdown]
# ## 2. The four-point vertex grows with depth
#
# For one output, $E[z^4]_c = 3V/n$, so $V/(nK^2) = E[z^4]_c/(3K^2)$. At criticality the
# leading order is $5(L-1)/n$ for ReLU; the exact finite-width ReLU value is
# $\prod_\ell(1 + 5/n) - 1$, and its expansion to $O(1/n^2)$, $(V + V^{\{1\}}/n)/(nK^2)$
# (`fieldnn.kernels.multi_input_cumulants`; notebook 10), is $5(L-1)/n + 25(L-1)(L-2)/(2n^2)$.
# We sample 20 000 networks of width 20 per depth.

# %%
vg = eft.vertex_growth("relu", width=20, depths=(2, 3, 4), n_nets=20_000, rng=1)
rows = zip(vg.depths, vg.ratio, vg.ratio_nnlo, vg.exact, vg.sampled, vg.stderr, strict=True)
for L, lo, nnlo, ex, s, e in rows:
    print(f"L = {L}: LO {lo:.3f}  O(1/n²) {nnlo:.3f}  exact {ex:.3f}  sampled {s:.3f} ± {e:.3f}")
assert np.allclose(vg.ratio, 5 * (vg.depths - 1) / 20)
L = vg.depths
assert np.allclose(vg.ratio_nnlo, 5 * (L - 1) / 20 + 25 * (L - 1) * (L - 2) / (2 * 20**2))
assert np.all(np.abs(vg.sampled - vg.exact) < 4.5 * vg.stderr)
ax = plots_eft.plot_vertex_growth([vg], exact={"relu": vg.exact})
plt.close(ax.figure)

# %% [markdown]
# The same check by hand with the library's sampler: the connected four-point function of a
# deep tanh network, against the recursion's vertex.

# %%
mlp = MLP("tanh", widths=[1, 20, 20, 20, 1], C_W=1.0, C_b=0.0)
X = np.array([[1.0]])
est = estimate_correlators(mlp, X, 20_000, orders=(2, 4), rng=2, chunk_size=500)
V = mlp.four_point_vertex(X)[0, 0, 0, 0]
K = mlp.kernel(X)[0, 0]
c4, e4 = est.connected(4)[0, 0, 0, 0], est.stderr(4)[0, 0, 0, 0]
print(f"3V/n = {3 * V / 20:.5f}, sampled {c4:.5f} ± {e4:.5f}")
assert abs(c4 - 3 * V / 20) < 4.5 * e4 + 3 * V / 20 * 4 / 20

# %% [markdown]
# ## 3. The neural tangent kernel
#
# The forward equation $\Theta^{(\ell+1)} = \lambda_b + \lambda_W\langle\sigma\sigma\rangle +
# C_W\langle\sigma'\sigma'\rangle\Theta^{(\ell)}$ against the mean empirical NTK of sampled
# networks (Jacobians by backpropagation).

# %%
ntk = eft.ntk_check("tanh", depth=3, widths=(64,), n_nets=100, rng=3)
pulls = (ntk.empirical[0] - ntk.theta) / ntk.stderr[0]
print(np.round(ntk.theta, 4), "max |pull| =", np.abs(pulls).max().round(2))
assert np.all(np.abs(pulls) < 4.5)

# %% [markdown]
# ## 4. Inference
#
# At one input, observing one output neuron $\phi_1$ changes the expected square of another,
# $\langle\phi_2^2|\phi_1\rangle = G + \tfrac12(\phi_1^2 - G)V/(nG^2)$ — the talk's formula,
# which holds with the corrected $1/\gamma^{(2)} = G - (m+2)V/(2nG)$. At infinite width the
# shift vanishes (no representation learning).

# %%
mt = eft.quartic_matching((2,))
print("1/gamma2 =", mt.inverse_gamma2[0], "  seed:", mt.seed_inverse_gamma2[0])
cv = eft.conditional_variance("relu", width=50, n_nets=20_000, n_bins=6, rng=4)
print("shift / stderr:", np.round(cv.weighted.shift / cv.weighted.shift_stderr, 1))
assert np.all(np.abs(cv.sampled - cv.predicted) < 4.5 * cv.stderr)
ax = plots_eft.plot_conditional_variance(cv)
plt.close(ax.figure)

# %% [markdown]
# Replica ensembles (one network per Monte Carlo replica of the data, trained by gradient
# descent) approach the infinite-width gradient-flow prediction as the width grows.

# %%
ri = eft.replica_inference(
    widths=(8, 64), n_replicas=50, steps=30, n_hidden_samples=2000, depth=2, rng=5
)
print("rms distance to the flow prediction:", np.round(ri.mean_rms_distance, 4))
assert ri.mean_rms_distance[1] < ri.mean_rms_distance[0]
ax = plots_eft.plot_gradient_flow(ri)
plt.close(ax.figure)
