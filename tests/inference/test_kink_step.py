"""The kink-flux particle step: the compiled loop against the NumPy reference, the reference
against the step written out particle by particle, and a cluster's NTK change, updated from
particle and pair sums, against its definition summed over particles."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.inference import _kink_step
from fieldnn.inference._kink_flux import _ClusterState, clusters, deep_layers
from fieldnn.kernels import ntk_fluctuations


def _state(rng: np.random.Generator, S: int, m: int, P: int, N: int, t: int) -> tuple:
    w = rng.standard_normal((S, m, P)) * 0.2
    sig = np.where(w > 0, 1.0, -0.3)
    train_mem = np.sort(rng.choice(m, size=t, replace=False))
    train_idx = rng.choice(N, size=t, replace=False)
    return (
        w, sig, rng.standard_normal((S, m, N)), rng.standard_normal((S, m, t)),
        train_mem, train_idx, rng.standard_normal((S, N)), 0.07,
    )  # fmt: skip


@pytest.mark.parametrize(("m", "N", "t"), [(1, 1, 1), (2, 3, 1), (3, 4, 2), (3, 3, 3), (2, 2, 0)])
def test_compiled_step_agrees_with_numpy(m: int, N: int, t: int) -> None:
    if _kink_step._compiled() is None:
        pytest.skip("numba not available or FIELDNN_NUMBA=0")
    rng = np.random.default_rng(m * 10 + N + t)
    args = _state(rng, 500, m, 16, N, t)
    w1, s1, w2, s2 = args[0].copy(), args[1].copy(), args[0].copy(), args[1].copy()
    ref = _kink_step.step_numpy(w1, s1, *args[2:], (-0.3, 1.0))
    out = _kink_step.step(w2, s2, *args[2:], (-0.3, 1.0))
    for a, b in zip((*ref, w1, s1), (*out, w2, s2), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-13)
    assert np.any(s1 != args[1])  # some particles crossed the kink


def test_numpy_step_particle_by_particle() -> None:
    rng = np.random.default_rng(5)
    w, sig, vel_fixed, vel_tracked, train_mem, train_idx, eps, eta = _state(rng, 30, 3, 8, 4, 2)
    w0, sig0 = w.copy(), sig.copy()
    curv, sums, both = _kink_step.step_numpy(
        w, sig, vel_fixed, vel_tracked, train_mem, train_idx, eps, eta, (-0.3, 1.0)
    )
    for s in range(30):
        for j in range(3):
            over = 0.0
            for p in range(8):
                v = vel_fixed[s, j] @ eps[s] + sum(
                    vel_tracked[s, j, q] * sig0[s, train_mem[q], p] * eps[s, train_idx[q]]
                    for q in range(2)
                )
                x = w0[s, j, p] - eta * v
                assert w[s, j, p] == pytest.approx(x, rel=1e-12, abs=1e-14)
                assert sig[s, j, p] == (1.0 if x > 0 else -0.3)
                over += ((1.0 if x > 0 else -0.3) - sig0[s, j, p]) * x
            assert curv[s, j] == pytest.approx(over, abs=1e-14)
            assert sums[s, j] == pytest.approx(sig[s, j].sum())
            for q in range(2):
                assert both[s, j, q] == pytest.approx(sig[s, j] @ sig[s, train_mem[q]])


def _share(st: _ClusterState, sig: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Σ over particles of n_ℓT(x, x_α) (S, M, N) from its definition (``_kink_flux`` module
    docstring): σ'_xσ'_α g(x)g(x_α)Θ_ℓ(x, x_α) + σ'_x g(x)Ξ(x, x_α) + σ'_α g(x_α)Ξ(x_α, x),
    σ' of a member from its particle, of every other input the fixed one."""
    P = sig.shape[2]
    full = np.repeat(st.fixed[:, :, None], P, axis=2)  # σ' (S, M, P)
    full[:, st.mem] = sig
    N = st.N
    gs = full * st.g[:, :, None]  # σ'g (S, M, P)
    pair = np.einsum("sip,sap->sia", gs, gs[:, :N]) * theta[None, :, :N]
    pushed = np.einsum("sip,sia->sia", gs, st.xi[:, :, :N])
    pushed += np.einsum("sap,sai->sia", gs[:, :N], st.xi[:, :N, :])
    return pair + pushed


def test_cluster_share_against_its_definition() -> None:
    """relu [1, 16, 16, 1], two training inputs and three test inputs, both hidden layers (the
    second pushed through the off-diagonal layer NTK): after 20 steps of every cluster's
    particles, the NTK change the Monte Carlo updates from particle and pair sums equals the
    definition summed over particles, and its contraction with the residuals (``pull``) the
    change contracted."""
    mlp = fnn.MLP("relu", [1, 16, 16, 1], C_W=2.0, C_b=0.1)
    X = np.array([[1.0], [-0.5], [0.25], [2.0], [-1.5]])
    stats = ntk_fluctuations(mlp, X)
    theta_out = np.asarray(mlp.ntk(X[:2]), dtype=float)
    rng = np.random.default_rng(1)
    S, N, eta, steps = 300, 2, 0.05, 20
    eps_k = np.empty((steps + 1, S, N))
    eps_k[0] = np.array([-2.0, 1.0]) + rng.standard_normal((S, N))
    for k in range(steps):
        eps_k[k + 1] = eps_k[k] @ (np.eye(N) - eta * theta_out).T
    checked = 0
    for layer in deep_layers(mlp, stats):
        for g, mem, c in clusters(layer.K, N):
            st = _ClusterState(layer, g, mem, c, eps_k, eta, rng, (0.0, 1.0))
            sig0 = st.sig.copy()
            for k in range(steps):
                st.step(eps_k[k])
            assert np.any(st.sig != sig0)  # particles crossed
            theta = layer.theta
            want = st.weight[:, None, None] * (_share(st, st.sig, theta) - _share(st, sig0, theta))
            got = st.change()
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())
            pulled = np.einsum("sma,sa->sm", got, eps_k[steps])
            np.testing.assert_allclose(st.pull(eps_k[steps]), pulled, rtol=1e-10, atol=1e-12)
            checked += st.pushed
    assert checked > 0  # a pushed layer was among them
