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
# # Deep networks at the next order
#
# O(1/n²) cumulants, the order-2 action, the hidden kernel in training.
#
# Three things a deep MLP has beyond leading order, each held against an independent method:
#
# 1. the two-, four- and six-point functions at one input to O(1/n²)
#    (`fnn.kernels.single_input_cumulants`) against the exact finite-width moments of bias-free
#    ReLU nets;
# 2. the effective action of a deep tanh net to O(1/n²) (`fnn.effective_action(mlp, X, order=2)`),
#    whose couplings reproduce those cumulants;
# 3. the same at three inputs (`fnn.kernels.multi_input_cumulants`): the covariance of the
#    output kernel's six components against sampled relu networks, and the order-2 action with
#    its six-point couplings between three inputs;
# 4. the O(1/n) change of the hidden kernels during training (`fnn.hidden_kernel_change`)
#    against trained networks;
# 5. the O(1/n) Bayesian posterior shift of every hidden layer's kernel
#    (`fnn.hidden_kernel_shift(..., layer=ℓ)`) against exact importance weighting.
#
# Conventions: $z^{(\ell+1)} = b + W\sigma(z^{(\ell)})$, $W \sim \mathcal N(0, C_W/n_\ell)$,
# $b \sim \mathcal N(0, C_b)$; the expansion is in 1/n with n the last hidden width. Derivations:
# `docs/eft.md` section 6a and `docs/representation_learning.md`.

# %%
import matplotlib

matplotlib.use("Agg")
import numpy as np

import fieldnn as fnn
from fieldnn.kernels.deep import exact_single_input_moment

# %% [markdown]
# ## 1. How far the 1/n expansion goes
#
# For a bias-free ReLU net (C_W = 2) at one input the exact moments are known at any width:
# E[z⁴]_c = 3K²[∏(1 + 5/n) − 1]. The O(1/n²) recursion must reproduce its 1/n and 1/n²
# coefficients exactly, and the residual must fall like 1/n³.

# %%
L = 5
for n in (64, 128, 256):
    w = [1] + [n] * (L - 1) + [1]
    c = fnn.kernels.single_input_cumulants("relu", [1.0], C_W=2.0, C_b=0.0, widths=w)
    m2, m4 = (exact_single_input_moment([1.0], w, C_W=2.0, order=k) for k in (2, 4))
    exact = m4 - 3 * m2**2
    print(f"n = {n:3d}: exact G4c {exact:.8f}, O(1/n) {c.four(1):.8f}, O(1/n²) {c.four(2):.8f},"
          f" residual {exact - c.four(2):.2e}")  # fmt: skip
h = L - 1
assert np.isclose(c.four(2), 3 * 4 * (5 * h / 256 + 25 * h * (h - 1) / 2 / 256**2), rtol=1e-12)

# %%
res = [
    abs(
        exact_single_input_moment([1.0], [1] + [n] * (L - 1) + [1], C_W=2.0, order=4)
        - 12.0
        - fnn.kernels.single_input_cumulants(
            "relu", [1.0], C_W=2.0, C_b=0.0, widths=[1] + [n] * (L - 1) + [1]
        ).four(2)
    )
    for n in (64, 256)
]
print("residual ratio n = 64 / n = 256:", round(res[0] / res[1], 1), "(1/n³: 64)")
assert 55 < res[0] / res[1] < 70

# %% [markdown]
# ## 2. The action of a deep tanh net at one input to O(1/n²)
#
# At one input the couplings γ(2), γ(4), γ(6) of the action follow from the graded cumulants;
# the action's own predicted correlators, summed over the grades, give them back.

# %%
mlp = fnn.MLP("tanh", [1, 32, 32, 32, 1], C_W=1.5, C_b=0.1)
S = fnn.effective_action(mlp, [[1.0]], order=2)
cum = fnn.kernels.single_input_cumulants("tanh", [1.0], C_W=1.5, C_b=0.1, widths=mlp.widths)
print(S.latex())
print("G2 to O(1/n²):", cum.two(2), " G4c:", cum.four(2), " G6c:", cum.six())
G2, G4, G6 = (float(sum(S.correlators(k, series=True)).item()) for k in (2, 4, 6))
print("from the action's diagrams, summed over the grades:", G2, G4, G6)
assert np.allclose([G2, G4, G6], [cum.two(2), cum.four(2), cum.six()], rtol=1e-9)

# %% [markdown]
# ## 3. Three inputs
#
# At P inputs the kernel Ĝ has P(P + 1)/2 components; `multi_input_cumulants` gives
# Cov(Ĝ_p, Ĝ_q) = V/n + V^{1}/n² and κ₃ = U/n² on them (relu: an exact conical quadrature; smooth
# σ: lattice rules; up to four inputs). Against 2·10⁵ sampled relu nets [3, 8, 8, 1], the
# covariance of the six components of the output layer's kernel (pulls after V/n and after
# V/n + V^{1}/n²):

# %%
X3 = np.array([[0.8, -0.3, 0.1], [0.2, 0.9, -0.4], [-0.5, 0.3, 0.7]])
n, C_W, C_b = 8, 1.8, 0.1
c3 = fnn.kernels.multi_input_cumulants("relu", X3, C_W=C_W, C_b=C_b, widths=[3, n, n, 1])
rng = np.random.default_rng(0)
ia, ib = np.array(c3.pairs).T
G = []
for _ in range(20):  # 20 batches of 10⁴ networks, plain NumPy
    z = rng.standard_normal((10_000, n, 3)) @ X3.T * np.sqrt(C_W / 3)
    z += rng.standard_normal((10_000, n, 1)) * np.sqrt(C_b)
    W = rng.standard_normal((10_000, n, n)) * np.sqrt(C_W / n)
    z = W @ np.maximum(z, 0.0) + rng.standard_normal((10_000, n, 1)) * np.sqrt(C_b)
    s = np.maximum(z, 0.0)
    G.append((C_b + C_W / n * np.einsum("mja,mjb->mab", s, s))[:, ia, ib])
covs = np.array([np.cov(g.T) for g in G])
err = covs.std(axis=0, ddof=1) / np.sqrt(len(covs))
pull_first = (covs.mean(0) - c3.V[-1] / n) / err
pull_second = (covs.mean(0) - c3.V[-1] / n - c3.V1[-1] / n**2) / err
print("components:", c3.pairs)
print("largest |pull| after V/n:", round(float(np.abs(pull_first).max()), 1))
print("largest |pull| after V/n + V1/n²:", round(float(np.abs(pull_second).max()), 1))
assert np.abs(pull_second).max() < 4 < np.abs(pull_first).max()

# %% [markdown]
# The order-2 action of that network on the three inputs: its sextic couplings γ(6) include
# terms that tie all three inputs together, e.g. γ(6)_{001122}.

# %%
mlp3 = fnn.MLP("relu", [3, n, n, 1], C_W=C_W, C_b=C_b)
S3 = fnn.effective_action(mlp3, X3, order=2)
g6 = S3.gamma(6)
print(S3)
print("γ(6)[0,0,1,1,2,2] =", float(g6[0, 0, 1, 1, 2, 2]))
G6 = sum(S3.correlators(6, series=True))
print("G6c[0,0,1,1,2,2] from the action's diagrams:", float(G6[0, 0, 1, 1, 2, 2]))

# %% [markdown]
# ## 4. The last hidden kernel during training
#
# Ĝ′ = (1/n) Σ_j σ(z_j)σ(z_j) of the last hidden layer moves at O(1/n) while the network trains.
# The prediction against the paired change (after − before, per network, so that the spread of
# Ĝ′ at initialisation cancels) of 400 trained networks: erf [1, 128, 128, 1], four points of
# sin 2x, 100 steps at η = 0.05. (At n = 64 the O(1/n²) remainder shows: pulls up to 5.8 with
# 2000 networks, `docs/representation_learning.md`.)

# %%
X = np.linspace(-1.5, 1.5, 4)[:, None]
y = np.sin(2 * X[:, 0])
X_test = np.array([[-1.0], [0.25], [1.0]])
n = 128
mlp = fnn.MLP("erf", [1, n, n, 1], C_W=1.0, C_b=0.1)
pred = fnn.hidden_kernel_change(mlp, X, y, X_test, t=5.0, learning_rate=0.05)
ens = fnn.train_replicas(mlp, X, y, None, 400, steps=100, learning_rate=0.05, rng=1,
                         X_test=X_test, hidden_kernel=True)  # fmt: skip
delta = ens.posterior_hidden_kernel - ens.prior_hidden_kernel
mean, err = delta.mean(axis=0), delta.std(axis=0, ddof=1) / np.sqrt(delta.shape[0])
pulls = (mean - pred.change) / err
print("n·predicted change:\n", np.round(pred.scaled_change, 4))
print("n·measured change:\n", np.round(n * mean, 4))
print("pulls:\n", np.round(pulls, 2))
print("max |pull|:", round(float(np.max(np.abs(pulls))), 2))
resolution = float(np.max(np.abs(pred.change) / err))
print("resolution of the largest entry, |predicted|/stderr:", round(resolution, 1))
assert np.max(np.abs(pulls)) < 4 and resolution > 5

# %% [markdown]
# The first hidden layer's kernel moves too, at the same order: `layer=1` predicts it from the
# statistics of the net cut after layer 2 and the derivatives of the kernel and NTK maps of the
# layers above (`docs/representation_learning.md`, "Earlier hidden layers in training"), and
# `train_replicas(..., hidden_layer=1)` measures it.

# %%
pred1 = fnn.hidden_kernel_change(mlp, X, y, X_test, t=5.0, learning_rate=0.05, layer=1)
ens1 = fnn.train_replicas(mlp, X, y, None, 400, steps=100, learning_rate=0.05, rng=2,
                          X_test=X_test, hidden_kernel=True, hidden_layer=1)  # fmt: skip
delta1 = ens1.posterior_hidden_kernel - ens1.prior_hidden_kernel
mean1, err1 = delta1.mean(axis=0), delta1.std(axis=0, ddof=1) / np.sqrt(delta1.shape[0])
pulls1 = (mean1 - pred1.change) / err1
print("layer 1, n·predicted change:\n", np.round(pred1.scaled_change, 4))
print("layer 1, n·measured change:\n", np.round(n * mean1, 4))
print("max |pull|:", round(float(np.max(np.abs(pulls1))), 2))
resolution1 = float(np.max(np.abs(pred1.change) / err1))
print("resolution of the largest entry:", round(resolution1, 1))
assert np.max(np.abs(pulls1)) < 4 and resolution1 > 5


# %% [markdown]
# ## 5. Every hidden layer in Bayesian inference
#
# Conditioning on observed outputs moves the kernel K̂^(ℓ) = (1/n) Σ_j z^(ℓ)_j z^(ℓ)_j of every
# hidden layer at O(1/n), not only the last. The prediction chains the mixed vertex
# V^(ℓ,L) = n·Cov(K̂^(ℓ), Ĝ^(L)) through the linearised kernel maps of the layers above ℓ
# (`docs/representation_learning.md`, step 5); the measurement weights 40 000 sampled networks
# by their exact likelihood (`hidden_kernel_posterior(..., layer=ℓ)`). Tanh [1, 256, 256, 256, 1]
# conditioned on two outputs; the shift at the two training and two further inputs.

# %%
from fieldnn.inference import hidden_kernel_posterior

XA, XB, yA = np.array([[-1.0], [0.7]]), np.array([[-0.3], [1.2]]), [1.5, -1.0]
n = 256
mlp = fnn.MLP("tanh", [1, n, n, n, 1], C_W=1.5, C_b=0.2)
for layer in (1, 2, 3):
    pred = fnn.hidden_kernel_shift(mlp, XA, yA, XB, layer=layer)
    meas = hidden_kernel_posterior(mlp, XA, yA, np.concatenate([XA, XB]), n_samples=40_000,
                                   rng=layer, layer=layer)  # fmt: skip
    pulls = (meas.shift - pred.shift) / meas.stderr
    resolved = float(np.max(np.abs(pred.shift) / meas.stderr))
    print(f"layer {layer}: n·predicted diagonal", np.round(np.diag(pred.scaled_shift), 3))
    print("         n·measured diagonal ", np.round(n * np.diag(meas.shift), 3))
    print("         max |pull|", round(float(np.max(np.abs(pulls))), 2),
          " largest |shift|/stderr", round(resolved, 1))  # fmt: skip
    assert np.max(np.abs(pulls)) < 4 and resolved > 10
