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
# # Your own architecture: a user-defined activation, end to end
#
# fieldnn is not limited to its registry of activations. Any NumPy callable σ can be put into a
# single-hidden-layer net $f(x) = W_1\sigma(W_0x + b_0) + b_1$ (seed-001 conventions:
# $W_0 \sim \mathcal N(0, \sigma_W^2/d_{in})$, $W_1 \sim \mathcal N(0, \sigma_W^2/N)$,
# $b_0, b_1 \sim \mathcal N(0, \sigma_b^2)$) and taken through the whole pipeline: GP kernel,
# exact finite-width correlators, the quartic coupling λ and its β-function. Every step is
# checked by a second, independent method.
#
# Our unit is the odd, monotone cubic $\sigma(z) = z + a z^3$ with $a = 0.1$ — a polynomial, so
# that every Gaussian expectation also has a closed form by Wick's theorem, which we use as the
# independent check. (The same code runs for any callable, e.g. `lambda z: np.tanh(z) + 0.1 * z`;
# there the checks are quadrature against sampling.)

# %%
import numpy as np
from numpy.polynomial.hermite_e import hermegauss

import fieldnn as fnn
from fieldnn.experiments.nnqft import loglog_slope

a = 0.1
act = fnn.get_activation(lambda z: z + a * z**3)
z = np.linspace(-3.0, 3.0, 13)
# no derivative was given: fieldnn finds σ' by the complex step, exact to rounding here
assert np.allclose(act.derivative(z), 1 + 3 * a * z**2, rtol=1e-12, atol=0)
print(act)

# %% [markdown]
# ## 1. The GP kernel
#
# $K(x, x') = \sigma_b^2 + \sigma_W^2\langle\sigma(z)\sigma(z')\rangle_C$ with the
# pre-activation covariance $C(x, x') = \sigma_b^2 + \sigma_W^2\,x\cdot x'/d_{in}$. fieldnn
# evaluates the Gaussian expectation by quadrature (there is no closed form in its registry for a
# user callable). Wick's theorem gives, with $k_{11} = C(x,x)$, $k_{22} = C(x',x')$,
# $k_{12} = C(x,x')$:
#
# $$\langle\sigma\sigma\rangle = k_{12} + 3a\,k_{12}(k_{11} + k_{22})
#   + a^2(9k_{11}k_{22}k_{12} + 6k_{12}^3).$$

# %%
sigma_w2, sigma_b2, width = 1.0, 1.0, 20
net = fnn.SingleLayerNet(act, width, d_in=1, sigma_w2=sigma_w2, sigma_b2=sigma_b2)
X = np.array([[-1.0], [-0.5], [0.5], [1.0]])

C = sigma_b2 + sigma_w2 * X @ X.T
k11, k22 = np.diag(C)[:, None], np.diag(C)[None, :]
wick = C + 3 * a * C * (k11 + k22) + a**2 * (9 * k11 * k22 * C + 6 * C**3)
K = net.kernel(X)
print(np.round(K, 6))
assert np.allclose(K, sigma_b2 + sigma_w2 * wick, rtol=1e-12)

# %% [markdown]
# ## 2. Exact finite-width correlators
#
# $f - b_1$ is a sum of $N$ iid terms $W_{1,i}\sigma(z_i)$, so every connected correlator of
# order $n \ge 4$ is exactly $N$ times a single-unit cumulant. At one input the 4-point
# cumulant is $3\sigma_W^4(\langle\sigma^4\rangle - \langle\sigma^2\rangle^2)/N$; we evaluate the
# moments with our own Gauss–Hermite rule (exact for polynomials) and compare.

# %%
G4c = net.exact_connected(X, 4)  # shape (P, P, P, P)
nodes, weights = hermegauss(40)
weights = weights / weights.sum()  # E over z ~ N(0, 1)


def moment(power, variance):
    s = act(np.sqrt(variance) * nodes)
    return float(np.sum(weights * s**power))


for p in range(len(X)):
    q = C[p, p]
    one_input = 3 * sigma_w2**2 * (moment(4, q) - moment(2, q) ** 2) / width
    assert abs(G4c[p, p, p, p] - one_input) < 1e-10 * one_input
print("G4c at x = 1:", G4c[3, 3, 3, 3])

# %% [markdown]
# The whole tensor against a sampled ensemble of 50 000 networks (standard errors from the
# spread between chunks; the sampler and the exact formula share no code). The largest pull is
# taken over all 4⁴ correlated entries, and the cubic unit's high moments ($z^{12}$ enters the
# variance of the 4-point estimate) are heavy-tailed, so we allow 5σ.

# %%
est = fnn.estimate_correlators(net, X, 50_000, orders=(2, 4), rng=1)
pull4 = (est.connected(4) - G4c) / est.stderr(4)
pull2 = (est.connected(2) - K) / est.stderr(2)
print("max |pull|: K", np.abs(pull2).max().round(2), " G4c", np.abs(pull4).max().round(2))
assert np.abs(pull2).max() < 5 and np.abs(pull4).max() < 5

# %% [markdown]
# ## 3. The quartic coupling λ
#
# $\lambda_m(x_1..x_4) = (K_{12}K_{34} + K_{13}K_{24} + K_{14}K_{23} - G^{(4)}_{1234})
#  /(24\int_{[-\Lambda,\Lambda]}K_{1y}K_{2y}K_{3y}K_{4y})$ over the 35 multisets of four
# inputs. A single λ describes the net only if its spread over the tuples is small; fieldnn
# says so in `verdict`.

# %%
lam = fnn.measure_lambda(net, X, cutoff=10.0, legs="full")
print(lam.mean, lam.std)
print(lam.verdict)
assert lam.values.shape == (35,)
assert not lam.is_constant

# %% [markdown]
# The same measurement from the sampled ensemble: the standard error of each $\lambda_m$ is
# propagated from that of $G^{(4)}$ (the kernel is exact).

# %%
lam_sampled = fnn.measure_lambda(est, X, cutoff=10.0, kernel=net)
pulls = (lam_sampled.values - lam.values) / lam_sampled.stderr
print("max |pull| over tuples:", np.abs(pulls).max().round(2))
assert np.abs(pulls).max() < 5

# %% [markdown]
# ## 4. The β-function
#
# The numerator of $\lambda_m$ does not depend on Λ, so
# $\beta_\lambda/\lambda = d\log\lambda/d\log\Lambda = -d\log I/d\log\Lambda$: the running is set
# by how fast the legs $K(x, y)$ grow at large $|y|$. For the cubic unit $K(x, y) \propto |y|^3$
# (at every $x \neq 0$ — which is why the inputs avoid $x = 0$), so $I \propto \Lambda^{d + 4p}$
# and $\beta_\lambda = -(d_{in} + 12)\lambda$. We measure the leg power $p$ from the kernel,
# derive β symbolically from it, and compare with the slope of the measured λ(Λ).

# %%
R = np.array([[1.0e3], [1.0e4]])
legs = net.kernel(X, R)  # (P, 2)
p = float(np.mean(np.log(legs[:, 1] / legs[:, 0]) / np.log(10.0)))
print("leg power p =", round(p, 6))
assert abs(p - 3) < 1e-3

beta = fnn.beta_functions(leg_power=round(p), d_in=1, couplings=("lambda",))
print(beta.beta)
slope_symbolic = float(beta.slope("lambda"))
assert slope_symbolic == -13

cutoffs = (30.0, 100.0)
runs = [fnn.measure_lambda(net, X, cutoff=c) for c in cutoffs]
assert np.allclose(runs[0].numerators, runs[1].numerators)  # Λ-independent numerator
slope_measured = loglog_slope(cutoffs, [r.mean for r in runs])
print("measured slope:", round(slope_measured, 3), " symbolic:", slope_symbolic)
assert abs(slope_measured - slope_symbolic) < 0.2
