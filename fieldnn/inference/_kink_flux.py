r"""The kink flux of a relu-type net trained on several inputs, at O(1/√n): a Monte Carlo over
the units of every hidden layer that reach a kink (private; :func:`fieldnn.kinked_training_shift`
with several training inputs, or with test inputs whose preactivations are proportional to a
training input's).

A unit i of hidden layer ℓ (width n_ℓ) near the kink of training input x_γ has
w = √n_ℓ u_i(x_γ) = O(1). At leading order every other input's σ'(u_i(x_β)) is fixed
(u_i(x_β) = O(1) given u_i(x_γ) = 0: Gaussian with the conditional covariance of K_ℓ) unless
u_i(x_β) = c u_i(x_γ) in every network (a *cluster* of proportional inputs under K_ℓ, tracked at
w_β = c w₀). Each tracked coordinate moves per step by

.. math::

    \Delta w_m = -\eta\sum_\beta\big[\Theta_\ell(x_m, x_\beta)\,\sigma'(u_i(x_\beta))\,g(x_\beta)
        + \Xi(x_m, x_\beta)\big]\,\varepsilon_{\beta,k},

with ε_k the infinite-width residuals (1 − ηΘ_AA)^k ε₀, Θ_ℓ the layer NTK, g(x) = √n_ℓ ∂f(x)/∂σ_i
the unit's backward signal, Gaussian with covariance G_ℓ (G_{L−1} = C_W^{(L)},
G_ℓ = C_W^{(ℓ+1)}⟨σ'σ'⟩_{ℓ+1}∘G_{ℓ+1}), and Ξ(a, b) = Σ_{k≠i}Ĥ^{(ℓ)}_{ik}(a, b)σ'_k(b)g_k(b) the
push of the other units through the off-diagonal layer NTK, Gaussian with

.. math::

    \mathrm{Cov}(\Xi(a, b), \Xi(a', b')) = \frac{n_\ell}{n_{\ell-1}}\,B^{(\ell)}_{aa'bb'}\,
        \langle\sigma'_b\sigma'_{b'}\rangle_\ell\,G_\ell(b, b')

(B the NTK variance of :func:`fieldnn.kernels.ntk_fluctuations`, zero at ℓ = 1), all independent
of each other, of the fixed σ' and of ε₀ at leading order (``docs/finite_width_training.md``,
"Deeper relu nets"). The velocity jumps where a tracked training input crosses its kink, so
units pile up on the kink (a relu unit dies) or slide along it (under gradient descent they
chatter across it). The unit's share T of the output NTK (the terms of
Σ_{ik}σ'_ig_iĤ^{(ℓ)}_{ik}σ'_kg_k/n_ℓ that carry its σ') is

.. math::

    n_\ell T(x, x_\alpha) = \sigma'_x\sigma'_\alpha\,g(x)g(x_\alpha)\,\Theta_\ell(x, x_\alpha)
        + \sigma'_x g(x)\,\Xi(x, x_\alpha) + \sigma'_\alpha g(x_\alpha)\,\Xi(x_\alpha, x),

so with p_γ(0) = (2πK_ℓ(x_γ, x_γ))^{−1/2} the density of u(x_γ) at 0,

.. math::

    \mathbb E[\hat\Theta(x, x_\alpha; k) - \hat\Theta(x, x_\alpha; 0)]
        = \sum_{\ell,\gamma}\frac{p_\gamma(0)}{\sqrt{n_\ell}}\,
        \mathbb E\Big[\int dw_0\,\Delta_k\,(n_\ell T)\Big],

summed over the clusters γ of the training inputs in every hidden layer (a cluster without a
training input moves rigidly: its flux is odd in g, Ξ and cancels). The w₀ integral is a
stratified sum over particles with a random offset (unbiased). The integrand is homogeneous of
degree 3 in (g, Ξ), so they are drawn as a direction on the unit sphere of their whitened
coordinates times E|ζ|³ (ζ standard normal of that dimension; one hidden layer: g = ±√C_W);
the expectation over ε₀ ~ N(−Y, K_AA + C_Y), the direction and the fixed σ' is a Monte Carlo
average, returned with its standard error. The mean output shift is the linear response
δz_{k+1} = δz_k − η[Θ_{·A} δz_{A,k} + δΘ_k ε_k] + c_k per sample (the drift of one network is
deterministic given ε₀ at this order), where c_k at a tracked input x_m is the output the
empirical NTK does not account for, p_γ(0) E[g(x_m) ∫dw₀ (σ(w + Δw) − σ(w) − σ'(w)Δw)]/√n_ℓ: the
units that cross its kink within step k (they overshoot it) and those chattering along it
(they hold σ(0): ``KinkedNTKChange.sliding``). Σ_p n_ℓT is linear in the members' particle
sums Σ_p σ'_j and pair sums Σ_p σ'_jσ'_α, so a step updates only those; the particles move in
one numba-compiled loop when numba is installed (:mod:`fieldnn.inference._kink_step`).
Derivation in ``docs/finite_width_training.md``, "Several training inputs" and "Deeper relu
nets: several training inputs".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import gammaln

from ..kernels.gaussian import pair_values
from ._kink_step import step

_PARTICLES = 16
_MEMBER_TOL = 1e-12


@dataclass(frozen=True)
class KinkLayer:
    """One hidden layer's leading-order data on all M inputs (training inputs first)."""

    K: np.ndarray  # (M, M) preactivation kernel K_ℓ
    theta: np.ndarray  # (M, M) layer NTK Θ_ℓ (first layer: h(x, x') = λ_b + λ_W x·x'/n₀)
    signal: np.ndarray  # (M, M) backward-signal covariance G_ℓ
    push: np.ndarray  # (M, M, M, M) Cov(Ξ(a, b), Ξ(a', b')) as [a, b, a', b']
    width: float  # n_ℓ; 1 gives √n times the values of a net of one hidden width n


@dataclass(frozen=True)
class KinkProblem:
    """The data of the flux: the hidden layers, the output NTK Θ(x, x_α) (M, N), ε₀'s mean
    −Y (N,) and covariance K_AA + C_Y (N, N), and the slopes (s₋, s₊) at the kink."""

    layers: tuple[KinkLayer, ...]
    theta: np.ndarray
    eps_mean: np.ndarray
    eps_cov: np.ndarray
    slopes: tuple[float, float]

    @classmethod
    def one_layer(
        cls, K1: np.ndarray, H: np.ndarray, theta: np.ndarray, eps_mean: np.ndarray,
        eps_cov: np.ndarray, slopes: tuple[float, float], C_W: float,
    ) -> KinkProblem:  # fmt: skip
        """A net [d, n, 1] (values × √n): first-layer kernel K1 and learning-rate kernel H, the
        output layer's C_W (g = √n W⁽²⁾_i at every input, Ξ = 0)."""
        M = K1.shape[0]
        layer = KinkLayer(K1, H, np.full((M, M), float(C_W)), np.zeros((M,) * 4), 1.0)
        return cls((layer,), theta, eps_mean, eps_cov, slopes)


@dataclass(frozen=True)
class KinkFlux:
    """Monte Carlo values (times √n) at the test inputs and their standard errors."""

    ntk_change: np.ndarray  # (Q, N)
    ntk_change_stderr: np.ndarray
    output_shift: np.ndarray  # (Q,)
    output_shift_stderr: np.ndarray
    cov_shift: np.ndarray  # (Q, Q)
    cov_shift_stderr: np.ndarray

    @classmethod
    def of(cls, dtheta: np.ndarray, dz: np.ndarray, eps: np.ndarray, L: np.ndarray) -> KinkFlux:
        """Means and standard errors over the samples (first axis) at the test inputs (the rows
        after the N training ones): the NTK change, the output shift, and the covariance shift
        L Cov(ε₀, δz) + transpose, where L (Q, N) regresses the infinite-width trained outputs
        on ε₀ (the shift of a network is a function of ε₀, at this order)."""
        N = eps.shape[1]
        root = math.sqrt(dz.shape[0])
        d = dz[:, N:] - dz[:, N:].mean(0)
        c = np.einsum("qa,sa,sr->sqr", L, eps - eps.mean(0), d) * (d.shape[0] / (d.shape[0] - 1))
        c = c + c.transpose(0, 2, 1)
        return cls(
            dtheta[:, N:].mean(0), dtheta[:, N:].std(0) / root, dz[:, N:].mean(0),
            dz[:, N:].std(0) / root, c.mean(0), c.std(0) / root,
        )  # fmt: skip


def deep_layers(net: Any, stats: Any) -> tuple[KinkLayer, ...]:
    """The :class:`KinkLayer` of every hidden layer of ``net`` (at its widths) from
    ``stats``, :func:`fieldnn.kernels.ntk_fluctuations` on the inputs (module docstring)."""
    widths = [int(w) for w in net.widths]
    slopes, signal = backward_signals(net, stats.K)
    layers = []
    for ell in range(1, len(widths) - 1):
        r = widths[ell] / widths[ell - 1]
        sg = slopes[ell - 1] * signal[ell - 1]  # ⟨σ'_bσ'_b'⟩ G(b, b')
        push = r * np.einsum("acbd,bd->abcd", stats.B[ell - 1], sg)
        layers.append(
            KinkLayer(stats.K[ell - 1], stats.Theta[ell - 1], signal[ell - 1], push, widths[ell])
        )
    return tuple(layers)


def backward_signals(
    net: Any, kernels: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per hidden layer ℓ = 1..L−1 (list index ℓ − 1), on the inputs of the kernels K_ℓ: the
    slope pairs ⟨σ'_aσ'_b⟩_ℓ (M, M) and the covariance G_ℓ(a, b) of a unit's backward signal
    g(x) = √n_ℓ ∂f(x)/∂σ_i: G_{L−1} = C_W^{(L)}, G_ℓ = C_W^{(ℓ+1)}⟨σ'σ'⟩_{ℓ+1}G_{ℓ+1}."""
    C_W = [float(c) for c in net.C_W]
    slopes = []
    for K in kernels[:-1]:
        d = np.diag(K)
        slopes.append(
            pair_values(net.activation, *np.broadcast_arrays(d[:, None], d[None, :]), K, (1, 1))
        )
    signal = [np.full(kernels[0].shape, C_W[-1])]
    for ell in range(len(slopes) - 1, 0, -1):
        signal.insert(0, C_W[ell] * slopes[ell] * signal[0])
    return slopes, signal


def first_layer_kernel(net: Any, X: np.ndarray) -> np.ndarray:
    """K₁(x, x') = C_b + C_W x·x'/d_in of the first layer on the rows of X."""
    return float(net.C_b[0]) + float(net.C_W[0]) * (X @ X.T) / X.shape[1]


def clusters(K1: np.ndarray, n_train: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(representative γ, member indices, ratios c) for each class of inputs with
    u(x) = c u(x_γ) in every network that contains a training input."""
    out, seen = [], set()
    for g in range(n_train):
        if g in seen:
            continue
        c = K1[:, g] / K1[g, g]
        resid = np.diag(K1) - c * K1[:, g]
        mem = np.flatnonzero(resid <= _MEMBER_TOL * np.maximum(np.diag(K1), K1[g, g]))
        seen.update(int(m) for m in mem if m < n_train)
        out.append((g, mem, c[mem]))
    return out


def kink_flux(
    prob: KinkProblem, steps: int, eta: float, samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sample, the NTK change (S, M, N) and the output shift (S, M) after ``steps`` steps
    of size ``eta`` (gradient descent; a fine step approximates the flow), and ε₀ (S, N), by
    ``samples`` Monte Carlo samples (module docstring); :meth:`KinkFlux.of` averages them."""
    rng = np.random.default_rng(seed)
    M, N = prob.theta.shape
    eps = prob.eps_mean + _gaussian(rng, prob.eps_cov, samples)
    decay = np.eye(N) - eta * prob.theta[:N]
    eps_k = np.empty((steps + 1, samples, N))
    eps_k[0] = eps
    for k in range(steps):
        eps_k[k + 1] = eps_k[k] @ decay.T
    states = [
        _ClusterState(layer, g, mem, c, eps_k, eta, rng, prob.slopes)
        for layer in prob.layers
        for g, mem, c in clusters(layer.K, N)
    ]
    dz = np.zeros((samples, M))
    for k in range(steps):
        pulled = sum(st.pull(eps_k[k]) for st in states)  # δΘ_k ε_k
        dz -= eta * (dz[:, :N] @ prob.theta.T + pulled)
        for st in states:
            dz[:, st.mem] += st.step(eps_k[k])
    return sum(st.change() for st in states), dz, eps


def _gaussian(rng: np.random.Generator, cov: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws of N(0, cov) (size, m); cov positive semidefinite, possibly singular."""
    return rng.standard_normal((size, cov.shape[0])) @ _root(cov, 0.0).T


def _root(cov: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """R (m, r) with R Rᵀ = cov: the r eigenvalues above tol·max (tol = 0: all, clipped at 0)."""
    lam, vec = np.linalg.eigh(cov)
    keep = lam > tol * lam.max(initial=0.0) if tol > 0 else np.full(lam.size, True)
    return vec[:, keep] * np.sqrt(np.clip(lam[keep], 0.0, None))


def _directions(rng: np.random.Generator, size: int, r: int) -> np.ndarray:
    """``size`` uniform directions in r dimensions (size, r): signs for r = 1."""
    if r == 1:
        return rng.choice([-1.0, 1.0], size=size)[:, None]
    zeta = rng.standard_normal((size, r))
    return zeta / np.linalg.norm(zeta, axis=1, keepdims=True)


def _abs_cube(r: int) -> float:
    """E|ζ|³ for ζ standard normal in r dimensions (the χ_r distribution)."""
    return math.exp(1.5 * math.log(2.0) + gammaln((r + 3) / 2) - gammaln(r / 2))


class _ClusterState:
    """Particles of one cluster of one layer: members' coordinates (S, m, P), fixed σ' of the
    other inputs, and each sample's backward signals g (S, M) and pushes Ξ (S, M, M)."""

    def __init__(
        self, layer: KinkLayer, g: int, mem: np.ndarray, c: np.ndarray, eps_k: np.ndarray,
        eta: float, rng: np.random.Generator, slopes: tuple[float, float],
    ) -> None:  # fmt: skip
        M, (S, N) = layer.K.shape[0], eps_k.shape[1:]
        self.mem, self.N, self.eta = mem, N, eta
        self.s_lo, self.s_hi = slopes
        # g and Ξ: a direction of their whitened coordinates, the |ζ|³ of the homogeneity apart
        roots = _root(layer.signal), _root(layer.push.reshape(M * M, M * M))
        r_g, r = roots[0].shape[1], roots[0].shape[1] + roots[1].shape[1]
        zeta = _directions(rng, S, r)
        self.g = zeta[:, :r_g] @ roots[0].T
        self.xi = (zeta[:, r_g:] @ roots[1].T).reshape(S, M, M)
        density = (2.0 * math.pi * layer.K[g, g]) ** -0.5  # p_γ(0)
        self.scale = _abs_cube(r) * density / math.sqrt(layer.width)
        # σ' of the non-members, Gaussian given u_γ = 0
        rest = np.setdiff1d(np.arange(M), mem)
        K = layer.K
        cond = K[np.ix_(rest, rest)] - np.outer(K[rest, g], K[g, rest]) / K[g, g]
        self.fixed = np.zeros((S, M))
        self.fixed[:, rest] = np.where(_gaussian(rng, cond, S) > 0, self.s_hi, self.s_lo)
        self.pushed = roots[1].shape[1] > 0  # Ξ ≠ 0 (not in the first hidden layer)
        # velocities of the members: fixed part (S, m, N), and the tracked training members'
        # coefficients of their own σ' (S, m, t)
        self.train_mem = np.flatnonzero(mem < N)  # positions in mem that are training inputs
        self.train_idx = mem[self.train_mem]
        gate = self.g[:, :N] * self.fixed[:, :N]  # zero at the tracked training members
        self.vel_fixed = layer.theta[mem, :N] * gate[:, None, :] + self.xi[:, mem, :N]
        self.vel_tracked = (
            layer.theta[np.ix_(mem, self.train_idx)] * self.g[:, None, self.train_idx]
        )
        # window: no particle beyond it changes side within the run
        s_max = max(abs(self.s_lo), abs(self.s_hi))
        bound = s_max * np.abs(layer.theta[mem, :N] * self.g[:, None, :N]) + np.abs(
            self.xi[:, mem, :N]
        )
        reach = eta * np.einsum("smb,sb->sm", bound, np.abs(eps_k[:-1]).sum(0))
        width = np.max(reach / np.abs(c), axis=1) + 1e-300
        self.delta = 2.0 * width / _PARTICLES
        offs = rng.random(S)
        w0 = -width[:, None] + (np.arange(_PARTICLES) + offs[:, None]) * self.delta[:, None]
        self.w = c[None, :, None] * w0[:, None, :]  # (S, m, P)
        self.sig = np.where(self.w > 0, self.s_hi, self.s_lo)
        self._coefficients(layer.theta[:, :N])

    def _coefficients(self, theta: np.ndarray) -> None:
        """Σ over particles of n_ℓT(x, x_α) (module docstring) is linear in the members'
        particle sums Σ_p σ'_j (S, m) and, where x and x_α are both members, in the pair sums
        Σ_p σ'_jσ'_α (S, m, t); every other entry does not change. Its coefficients: rows of
        the members (S, m, N), columns of the tracked training members (S, M, t), and their
        intersection (S, m, t); σ' of the members is 0 in ``fixed``, so the three are disjoint
        in the pair terms and add."""
        mem, tidx, g, xi, f = self.mem, self.train_idx, self.g, self.xi, self.fixed
        N = self.N
        self.row = f[:, None, :N] * g[:, mem, None] * g[:, None, :N] * theta[None, mem]
        self.col = f[:, :, None] * g[:, :, None] * g[:, None, tidx] * theta[None, :, tidx]
        self.inter = g[:, mem, None] * g[:, None, tidx] * theta[None][:, mem][:, :, tidx]
        if self.pushed:
            self.row += g[:, mem, None] * xi[:, mem, :N]
            self.col += g[:, None, tidx] * xi[:, tidx, :].transpose(0, 2, 1)
        self.weight = self.delta * self.scale  # (S,)
        self.sums0 = self.sig.sum(2)  # Σ_p σ'_j (S, m)
        self.both0 = np.einsum("smp,stp->smt", self.sig, self.sig[:, self.train_mem])
        self.sums, self.both = self.sums0, self.both0

    def _deltas(self) -> tuple[np.ndarray, np.ndarray]:
        w = self.weight
        return (self.sums - self.sums0) * w[:, None], (self.both - self.both0) * w[:, None, None]

    def change(self) -> np.ndarray:
        """This cluster's share of E[Θ̂(x, x_α) change] for every sample (S, M, N)."""
        d_sums, d_both = self._deltas()
        S, M = self.col.shape[:2]
        full = np.zeros((S, M, self.N))
        full[:, :, self.train_idx] = self.col * d_sums[:, None, self.train_mem]
        full[:, self.mem] += d_sums[:, :, None] * self.row
        full[np.ix_(np.arange(S), self.mem, self.train_idx)] += d_both * self.inter
        return full

    def pull(self, eps: np.ndarray) -> np.ndarray:
        """:meth:`change` contracted with the residuals ``eps`` (S, N) over x_α: (S, M)."""
        d_sums, d_both = self._deltas()
        e_t = eps[:, self.train_idx]
        out = np.einsum("sip,sp->si", self.col, d_sums[:, self.train_mem] * e_t)
        out[:, self.mem] += d_sums * np.einsum("sja,sa->sj", self.row, eps)
        out[:, self.mem] += np.einsum("sjp,sjp,sp->sj", d_both, self.inter, e_t)
        return out

    def step(self, eps: np.ndarray) -> np.ndarray:
        """One step of every particle under residuals ``eps`` (S, N); returns the members'
        output change beyond the NTK update (S, m) (module docstring)."""
        curv, self.sums, self.both = step(
            self.w, self.sig, self.vel_fixed, self.vel_tracked, self.train_mem,
            self.train_idx, eps, self.eta, (self.s_lo, self.s_hi),
        )  # fmt: skip
        # σ(w + Δw) − σ(w) − σ'(w)Δw = (σ'(w + Δw) − σ'(w))(w + Δw) for σ(w) = σ'(w)w: the
        # particles that crossed in this step
        return self.g[:, self.mem] * curv * self.weight[:, None]
