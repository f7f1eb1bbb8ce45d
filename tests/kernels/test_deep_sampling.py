"""Deep recursions against independent plain-NumPy Monte Carlo of finite networks.

The sampler below is written from the definition (seed 000 conventions) and shares no code with
fieldnn. Tolerances: k·σ from the spread of batch means, plus, where stated, an explicit
allowance for the next order in 1/n (the recursions are leading order).
"""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.kernels import get_activation
from fieldnn.kernels.deep import (
    exact_single_input_moment,
    four_point_vertex,
    kernel_recursion,
    nlo_kernel_correction,
    ntk_recursion,
)

N_BATCHES = 20


def sample_outputs(act, X, widths, C_W, C_b, n_nets, rng, batch=1000):
    """Outputs z^(L) of n_nets independent MLPs: array (n_nets, d_out, P)."""
    L = len(widths) - 1
    out = []
    for start in range(0, n_nets, batch):
        m = min(batch, n_nets - start)
        h = np.broadcast_to(X.T, (m, *X.T.shape))
        for layer in range(L):
            n_in, n_out = widths[layer], widths[layer + 1]
            W = rng.standard_normal((m, n_out, n_in)) * np.sqrt(C_W / n_in)
            b = rng.standard_normal((m, n_out, 1)) * np.sqrt(C_b)
            z = W @ h + b
            h = act(z)
        out.append(z)
    return np.concatenate(out)


def batch_means(values: np.ndarray) -> np.ndarray:
    return values.reshape(N_BATCHES, -1, *values.shape[1:]).mean(axis=1)


def connected_pairs(z: np.ndarray) -> np.ndarray:
    """Per batch: E z_ia z_ib z_jc z_jd − E z_ia z_ib E z_jc z_jd over output pairs i ≠ j.

    The product of batch means is corrected by the within-batch covariance of the per-network
    means (so each batch estimate is unbiased); batch-wise differences cancel the common
    fluctuation of the two terms. Returns (N_BATCHES, P, P, P, P).
    """
    d = z.shape[1]
    s2 = np.einsum("nia,nib->nab", z, z)
    four = np.einsum("nab,ncd->nabcd", s2, s2) - np.einsum("nia,nib,nic,nid->nabcd", z, z, z, z)
    B = (s2 / d).reshape(N_BATCHES, -1, *s2.shape[1:])
    m = B.shape[1]
    G = B.mean(axis=1)
    dB = B - G[:, None]
    cov = np.einsum("kmab,kmcd->kabcd", dB, dB) / (m - 1)
    return batch_means(four / (d * (d - 1))) - np.einsum("kab,kcd->kabcd", G, G) + cov / m


@pytest.mark.parametrize(
    ("name", "C_W", "C_b"), [("tanh", 1.5, 0.1), ("relu", 2.0, 0.0), ("gelu", 1.8, 0.2)]
)
def test_vertex_against_sampled_networks(name: str, C_W: float, C_b: float) -> None:
    """n_{L−1} × connected 4-pt of sampled nets (n = 40, L = 4, two inputs) vs V^(L)."""
    act = get_activation(name)
    rng = np.random.default_rng(12345)
    X = np.array([[1.0, 0.3], [-0.5, 0.8]])
    n, L = 40, 4
    widths = [2] + [n] * L
    z = sample_outputs(act, X, widths, C_W, C_b, 4000, rng)
    C = connected_pairs(z)
    sampled, err = n * C.mean(axis=0), n * C.std(axis=0, ddof=1) / np.sqrt(N_BATCHES)
    V = four_point_vertex(act, X, C_W=C_W, C_b=C_b, widths=widths)
    scale = np.max(np.abs(V))
    # 4σ plus an O(L/n) allowance for the NLO correction to V (relu, one input, exactly:
    # (5/2)(L − 2)/n = 12.5 % here, see test_relu_exact_finite_width_against_sampling)
    tol = 4 * err + (L / n) * np.abs(V) + 1e-3 * scale
    assert err[0, 1, 0, 1] < 0.1 * abs(V[0, 1, 0, 1])  # the check is informative
    for idx in [(0, 0, 0, 0), (1, 1, 1, 1), (0, 1, 0, 1), (0, 0, 1, 1), (0, 0, 0, 1)]:
        assert abs(sampled[idx] - V[idx]) <= tol[idx], (idx, sampled[idx], V[idx], err[idx])


def test_relu_exact_finite_width_against_sampling() -> None:
    """Exact E z², E z⁴ at n = 6 (where V/n is far from perturbative) vs sampled nets."""
    act = get_activation("relu")
    rng = np.random.default_rng(7)
    x = np.array([0.5, -1.0, 0.25])
    widths = [3, 6, 6, 6, 6]
    z = sample_outputs(act, x[None, :], widths, 2.0, 0.0, 40000, rng, batch=4000)[..., 0]
    m2 = batch_means((z**2).mean(axis=1))
    m4 = batch_means((z**4).mean(axis=1))
    for m, order in ((m2, 2), (m4, 4)):
        exact = exact_single_input_moment(x, widths, C_W=2.0, order=order)
        err = m.std(ddof=1) / np.sqrt(N_BATCHES)
        assert abs(m.mean() - exact) < 4 * err, (order, m.mean(), exact, err)
    # exact connected 3K²[(1 + 5/n)³ − 1] vs leading order 3V/n, V = 15 K²
    K = 2.0 * float(x @ x) / 3
    exact_c = exact_single_input_moment(x, widths, C_W=2.0, order=4) - 3 * K**2
    V = four_point_vertex(act, x[None, :], C_W=2.0, C_b=0.0, widths=widths)[0, 0, 0, 0]
    assert V == pytest.approx(15 * K**2, rel=1e-12)
    assert exact_c / (3 * V / 6) == pytest.approx(((1 + 5 / 6) ** 3 - 1) / (15 / 6), rel=1e-12)


@pytest.mark.parametrize("name", ["tanh", "sin", "erf"])
def test_nlo_kernel_against_sampled_networks(name: str) -> None:
    """n (E z_a z_b − K_ab) of sampled nets (n = 15, L = 6, N = 20000) vs K^{1}, two inputs."""
    act = get_activation(name)
    rng = np.random.default_rng(2024)
    X = np.array([[1.0, 0.0], [0.6, 0.8]])
    n, L = 15, 6
    widths = [2] + [n] * L
    z = sample_outputs(act, X, widths, 1.0, 0.0, 20000, rng, batch=5000)
    g = batch_means(np.einsum("nia,nib->nab", z, z) / n)
    K = kernel_recursion(act, X, C_W=1.0, C_b=0.0, depth=L)[-1]
    K1 = nlo_kernel_correction(act, X, C_W=1.0, C_b=0.0, widths=widths)
    sampled = n * (g.mean(axis=0) - K)
    err = n * g.std(axis=0, ddof=1) / np.sqrt(N_BATCHES)
    assert np.all(np.abs(sampled) > 5 * err)  # the 1/n shift is resolved, also off-diagonal
    np.testing.assert_array_less(np.abs(sampled - K1), 4 * err + 0.1 * np.abs(K1))


def _empirical_ntk(act, X, widths, C_W, C_b, lam_W, lam_b, rng):
    """Θ̂ of one network for output neuron 0, by hand-written backpropagation."""
    L = len(widths) - 1
    hs, zs, Ws = [X.T], [], []
    for layer in range(L):
        n_in, n_out = widths[layer], widths[layer + 1]
        W = rng.standard_normal((n_out, n_in)) * np.sqrt(C_W / n_in)
        z = W @ hs[-1] + rng.standard_normal((n_out, 1)) * np.sqrt(C_b)
        Ws.append(W)
        zs.append(z)
        hs.append(act(z))
    delta = np.zeros_like(zs[-1])
    delta[0] = 1.0  # ∂ f_α / ∂ z^(L)_i for f = z^(L)_0
    theta = np.zeros((X.shape[0],) * 2)
    for layer in range(L - 1, -1, -1):
        dd = delta.T @ delta  # Σ_i δ_iα δ_iβ
        theta += lam_b * dd + lam_W / widths[layer] * dd * (hs[layer].T @ hs[layer])
        if layer:
            delta = act.derivative(zs[layer - 1]) * (Ws[layer].T @ delta)
    return theta


@pytest.mark.parametrize(("name", "C_W", "C_b"), [("tanh", 1.2, 0.1), ("relu", 2.0, 0.05)])
def test_ntk_against_empirical_kernel(name: str, C_W: float, C_b: float) -> None:
    """Ensemble mean of the empirical NTK at width 500 vs the forward recursion."""
    act = get_activation(name)
    rng = np.random.default_rng(99)
    X = np.array([[1.0, 0.3, -0.2], [-0.5, 0.8, 0.1], [0.2, 0.2, 0.9]])
    widths = [3, 500, 500, 500, 1]
    lam_W, lam_b = 0.7, 0.4
    thetas = np.array(
        [_empirical_ntk(act, X, widths, C_W, C_b, lam_W, lam_b, rng) for _ in range(20)]
    )
    mean, err = thetas.mean(axis=0), thetas.std(axis=0, ddof=1) / np.sqrt(len(thetas))
    theta = ntk_recursion(act, X, C_W=C_W, C_b=C_b, lambda_W=lam_W, lambda_b=lam_b, depth=4)[-1]
    np.testing.assert_array_less(np.abs(mean - theta), 4 * err + 0.01 * np.abs(theta))
    assert np.max(err / np.abs(theta)) < 0.05  # the comparison is informative
