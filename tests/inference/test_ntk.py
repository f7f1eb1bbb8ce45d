"""The public empirical NTK: against a finite-difference Jacobian of an independently written
forward pass, and (ensemble mean) against the infinite-width forward equation."""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.ensembles import MLP
from fieldnn.errors import ArgumentError, ShapeError, UnsupportedError
from fieldnn.inference import empirical_ntk
from fieldnn.kernels.deep import ntk_recursion


def _draw(widths, C_W, C_b, rng):
    """Parameters of one network in the documented draw order W^(1), b^(1), W^(2), …"""
    Ws, bs = [], []
    for ell in range(len(widths) - 1):
        n_in, n_out = widths[ell], widths[ell + 1]
        Ws.append(rng.standard_normal((n_out, n_in)) * np.sqrt(C_W[ell] / n_in))
        bs.append(rng.standard_normal(n_out) * np.sqrt(C_b[ell]))
    return Ws, bs


def _outputs(Ws, bs, X):
    """z^(L) (P, d_out) of one tanh network, written out layer by layer."""
    h = X
    for ell, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        z = h @ W.T + b
        h = np.tanh(z) if ell < len(Ws) - 1 else z
    return h


def test_empirical_ntk_against_finite_difference_jacobian():
    widths, C_W, C_b = [2, 5, 4, 3], [1.3, 1.7, 0.9], [0.2, 0.1, 0.3]
    lb, lw = [0.3, 0.7, 1.1], [1.2, 0.5, 0.8]
    X = np.random.default_rng(1).standard_normal((4, 2))
    mlp = MLP("tanh", widths, C_W=C_W, C_b=C_b)
    H = empirical_ntk(mlp, X, 1, lambda_W=lw, lambda_b=lb, rng=np.random.default_rng(0))[0]
    assert H.shape == (4, 4, 3, 3)  # (P, P, d_out, d_out)
    Ws, bs = _draw(widths, C_W, C_b, np.random.default_rng(0))
    params = Ws + bs
    # learning rate of each parameter: λ_W/n_{ℓ−1} per weight, λ_b per bias
    rates = [lw[k] / widths[k] for k in range(3)] + lb
    P, d_out = X.shape[0], widths[-1]
    J, lam, eps = [], [], 1e-6
    for a, rate in zip(params, rates, strict=True):
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            up = _outputs(Ws, bs, X)
            a[idx] = old - eps
            down = _outputs(Ws, bs, X)
            a[idx] = old
            J.append(((up - down) / (2 * eps)).ravel())  # (P·d_out,) in (α, i) order
            lam.append(rate)
    J = np.array(J).T
    fd = ((J * np.array(lam)) @ J.T).reshape(P, d_out, P, d_out).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-9)
    # a symmetric PSD kernel of the pair (α i), (β j)
    M = H.transpose(0, 2, 1, 3).reshape(P * d_out, P * d_out)
    np.testing.assert_allclose(M, M.T, rtol=1e-12)
    assert np.linalg.eigvalsh(M).min() > -1e-10


@pytest.mark.parametrize(("name", "C_W", "C_b"), [("tanh", 1.0, 0.0), ("relu", 2.0, 0.1)])
def test_empirical_ntk_mean_is_the_forward_recursion(name, C_W, C_b):
    """⟨Ĥ_{αβ;ij}⟩ = δ_ij Θ_αβ + O(1/n); per-layer learning rates, two output neurons."""
    n, n_nets = 200, 150
    X = np.array([[1.0, 0.2], [-0.4, 0.9], [0.3, -0.6]])
    lw, lb = [1.3, 0.6, 0.9], [0.4, 0.8, 0.5]
    mlp = MLP(name, [2, n, n, 2], C_W=C_W, C_b=C_b)
    H = empirical_ntk(mlp, X, n_nets, lambda_W=lw, lambda_b=lb, rng=11, chunk_size=64)
    assert H.shape == (n_nets, 3, 3, 2, 2)
    theta = ntk_recursion(name, X, C_W=C_W, C_b=C_b, lambda_W=lw, lambda_b=lb, depth=3)[-1]
    se = H.std(axis=0, ddof=1) / np.sqrt(n_nets)
    mean = H.mean(axis=0)
    for i in range(2):
        assert np.max(se[..., i, i] / theta) < 0.05  # the comparison is informative
        np.testing.assert_array_less(
            np.abs(mean[..., i, i] - theta), 4.5 * se[..., i, i] + 2.0 / n * np.abs(theta)
        )
    # different output neurons: zero mean
    np.testing.assert_array_less(np.abs(mean[..., 0, 1]), 4.5 * se[..., 0, 1] + 1e-12)


def test_empirical_ntk_draws_and_errors():
    mlp = MLP("erf", [1, 8, 1], C_W=1.5, C_b=0.1)
    X = [[0.5], [-1.0]]
    a = empirical_ntk(mlp, X, 6, rng=3)
    assert a.shape == (6, 2, 2)
    np.testing.assert_array_equal(a, empirical_ntk(mlp, X, 6, rng=3))
    # chunks draw their networks one after the other from the same generator
    gen = np.random.default_rng(3)
    parts = [empirical_ntk(mlp, X, 2, rng=gen) for _ in range(3)]
    np.testing.assert_array_equal(
        empirical_ntk(mlp, X, 6, rng=3, chunk_size=2), np.concatenate(parts)
    )
    assert not np.array_equal(parts[0], parts[1])
    with pytest.raises(ArgumentError, match="n_nets"):
        empirical_ntk(mlp, X, 0)
    with pytest.raises(ShapeError, match="X"):
        empirical_ntk(mlp, np.ones((2, 3)))
    with pytest.raises(ArgumentError, match="lambda_W"):
        empirical_ntk(mlp, X, lambda_W=[1.0, 2.0, 3.0])
    with pytest.raises(UnsupportedError, match="mlp"):
        empirical_ntk(MLP("gauss", [1, 8, 1]), X)
