r"""The kink flux of a one-hidden-layer kinked-σ net trained on several inputs, at O(1/√n).

Scaled variables: a unit with first-layer preactivation u_γ = u(x_γ) within O(1/√n) of the kink
has w = √n u_γ, output weight W2 = ω/√n, ω ~ N(0, C_W). At leading order every other input's
σ'(u(x_β)) is fixed (u(x_β) = O(1) given u_γ = 0) unless u(x_β) = c u(x_γ) in every network (a
*cluster* of proportional inputs, tracked at w_β = c w₀). Each tracked coordinate moves per step by

    Δw_m = −η ω Σ_β h(x_m, x_β) σ'(u(x_β)) ε_β,k,

with ε_k the infinite-width residuals (1 − ηΘ_AA)^k ε₀ and h the first-layer learning-rate kernel
λ_b + λ_W x·x'/n₀; the velocity jumps where a tracked training input crosses its kink, so units
pile up on the kink (a relu unit dies) or slide along it (Filippov; under gradient descent they
chatter across it). With p_γ(0) = (2πK₁(x_γ, x_γ))^{−1/2} the density of u_γ at 0,

    E[Θ̂(x, x_α; k) − Θ̂(x, x_α; 0)] = Σ_γ h(x, x_α) p_γ(0) E[ω² ∫dw₀ Δ_k(σ'(u(x))σ'(u(x_α)))]/√n,

summed over the clusters γ of the training inputs (a cluster without a training input moves
rigidly: its flux is odd in ω and cancels). The w₀ integral is a stratified sum over particles
with a random offset (unbiased), and the expectation over ε₀ ~ N(−Y, K_AA + C_Y), ω and the fixed
σ' (Gaussian given u_γ = 0) is a Monte Carlo average, returned with its standard error. The
mean output shift is the linear response δz_{k+1} = δz_k − η[Θ_{·A} δz_{A,k} + δΘ_k ε_k] + c_k per
sample (the drift of one network is deterministic given ε₀ at this order), where c_k at a tracked
input is the in-step curvature p_γ(0) E[ω ∫dw₀ (σ(w + Δw) − σ(w) − σ'(w)Δw)]/√n of the units
that cross its kink within step k (the NTK update overshoots them). Derivation in
``docs/finite_width_training.md``, "Several training inputs".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_PARTICLES = 16
_MEMBER_TOL = 1e-12


@dataclass(frozen=True)
class KinkProblem:
    """The n-independent data of the flux: all inputs M = training (first N) then test."""

    K1: np.ndarray  # (M, M) first-layer kernel
    H: np.ndarray  # (M, M) first-layer learning-rate kernel h(x, x')
    theta: np.ndarray  # (M, N) infinite-width NTK Θ(x, x_α)
    eps_mean: np.ndarray  # (N,) E ε₀ = −Y
    eps_cov: np.ndarray  # (N, N) K_AA + C_Y
    slopes: tuple[float, float]  # (s₋, s₊)
    C_W: float  # output layer


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
    """Per sample, √n × the NTK change (S, M, N) and the output shift (S, M) after ``steps``
    steps of size ``eta`` (gradient descent; a fine step approximates the flow), and ε₀ (S, N),
    by ``samples`` Monte Carlo samples (module docstring); :meth:`KinkFlux.of` averages them."""
    rng = np.random.default_rng(seed)
    M, N = prob.theta.shape
    s_lo, s_hi = prob.slopes
    eps = prob.eps_mean + _gaussian(rng, prob.eps_cov, samples)
    decay = np.eye(N) - eta * prob.theta[:N]
    eps_k = np.empty((steps + 1, samples, N))
    eps_k[0] = eps
    for k in range(steps):
        eps_k[k + 1] = eps_k[k] @ decay.T
    e_abs_w3 = 2.0 * math.sqrt(2.0 / math.pi) * prob.C_W**1.5  # E|ω|³
    states = [
        _ClusterState(prob, g, mem, c, eps_k, eta, rng, s_lo, s_hi)
        for g, mem, c in clusters(prob.K1, N)
    ]
    dz = np.zeros((samples, M))
    for k in range(steps):
        dtheta = e_abs_w3 * sum(st.change() for st in states)
        dz -= eta * (dz[:, :N] @ prob.theta.T + np.einsum("sma,sa->sm", dtheta, eps_k[k]))
        for st in states:
            dz[:, st.mem] += e_abs_w3 * st.step(eps_k[k])
    return e_abs_w3 * sum(st.change() for st in states), dz, eps


def _gaussian(rng: np.random.Generator, cov: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws of N(0, cov) (size, m); cov positive semidefinite, possibly singular."""
    lam, vec = np.linalg.eigh(cov)
    return rng.standard_normal((size, cov.shape[0])) @ (vec * np.sqrt(np.clip(lam, 0, None))).T


class _ClusterState:
    """Particles of one cluster: members' coordinates (S, m, P), fixed σ' of the others."""

    def __init__(
        self, prob: KinkProblem, g: int, mem: np.ndarray, c: np.ndarray, eps_k: np.ndarray,
        eta: float, rng: np.random.Generator, s_lo: float, s_hi: float,
    ) -> None:  # fmt: skip
        M, N = prob.theta.shape
        S = eps_k.shape[1]
        self.mem, self.s_lo, self.s_hi, self.eta = mem, s_lo, s_hi, eta
        self.omega = rng.choice([-1.0, 1.0], size=S)
        # σ' of the non-members, Gaussian given u_γ = 0
        rest = np.setdiff1d(np.arange(M), mem)
        K1 = prob.K1
        cond = K1[np.ix_(rest, rest)] - np.outer(K1[rest, g], K1[g, rest]) / K1[g, g]
        u = _gaussian(rng, cond, S)
        self.fixed = np.empty((S, M))
        self.fixed[:, rest] = np.where(u > 0, s_hi, s_lo)
        self.fixed[:, mem] = np.nan  # tracked
        # velocity coefficients: members × training, split into tracked and fixed σ'
        self.Hm = prob.H[np.ix_(mem, np.arange(N))]  # (m, N)
        self.train_mem = np.flatnonzero(mem < N)  # positions in mem that are training inputs
        self.train_idx = mem[self.train_mem]
        self.fixed_train = np.nan_to_num(self.fixed[:, :N])  # tracked ones enter separately
        # window: no particle beyond it changes side within the run
        s_max = max(abs(s_lo), abs(s_hi))
        reach = eta * s_max * np.einsum("mb,ksb->sm", np.abs(self.Hm), np.abs(eps_k[:-1]))
        width = np.max(reach / np.abs(c), axis=1) + 1e-300
        self.delta = 2.0 * width / _PARTICLES
        offs = rng.random(S)
        w0 = -width[:, None] + (np.arange(_PARTICLES) + offs[:, None]) * self.delta[:, None]
        self.w = c[None, :, None] * w0[:, None, :]  # (S, m, P)
        self.density = (2.0 * math.pi * prob.K1[g, g]) ** -0.5  # p_γ(0)
        self.weight = prob.H * self.density  # h(x, x_α) p_γ(0)
        self.N = N
        self.base = self._pairs()

    def _sig(self) -> np.ndarray:
        return np.where(self.w > 0, self.s_hi, self.s_lo)

    def _pairs(self) -> np.ndarray:
        """Σ over particles of σ'(u(x))σ'(u(x_α)) (S, M, N), Δ-weighted, for all pairs that
        involve a member (the others are constant and dropped)."""
        sig = self._sig()
        S, M = self.fixed.shape
        out = np.zeros((S, M, self.N))
        sums = sig.sum(2)  # (S, m)
        tm = self.train_mem
        # member x, non-member α: s_α Σ_p σ'_x
        out[:, self.mem, :] = sums[:, :, None] * np.nan_to_num(self.fixed[:, None, : self.N])
        # non-member x, member α (training members only)
        out[:, :, self.train_idx] += np.nan_to_num(self.fixed)[:, :, None] * sums[:, None, tm]
        # both members
        both = np.einsum("smp,snp->smn", sig, sig[:, tm])
        out[np.ix_(np.arange(S), self.mem, self.train_idx)] = both
        return out * self.delta[:, None, None]

    def change(self) -> np.ndarray:
        """Θ̂(x, x_α) change × √n / E|ω|³ for every sample (S, M, N)."""
        return (self._pairs() - self.base) * self.weight[None, :, : self.N]

    def step(self, eps: np.ndarray) -> np.ndarray:
        """One step of every particle under residuals ``eps`` (S, N); returns the members'
        output change beyond the NTK update, (S, m) × √n / E|ω|³ (module docstring)."""
        fixed_part = np.einsum("mb,sb->sm", self.Hm, self.fixed_train * eps)
        sig = self._sig()
        tracked = np.einsum(
            "mt,stp->smp",
            self.Hm[:, self.train_idx],
            sig[:, self.train_mem] * eps[:, self.train_idx, None],
        )
        move = -self.eta * self.omega[:, None, None] * (fixed_part[:, :, None] + tracked)
        old = self.w
        self.w = old + move
        # σ(w + Δw) − σ(w) − σ'(w)Δw, nonzero only for particles that crossed in this step
        curv = self._act(self.w) - self._act(old) - sig * move
        return self.omega[:, None] * curv.sum(2) * self.delta[:, None] * self.density

    def _act(self, w: np.ndarray) -> np.ndarray:
        return np.where(w > 0, self.s_hi, self.s_lo) * w
