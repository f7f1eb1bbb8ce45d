"""Explicit networks: hand-written backprop vs finite differences, the loss identity
dL/dt = −ε·H·ε, and trained replica ensembles vs the infinite-width gradient flow (the empirical
NTK itself: test_ntk.py)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from fieldnn.ensembles import MLP
from fieldnn.errors import ArgumentError, UnsupportedError
from fieldnn.inference import _network as net
from fieldnn.inference import (
    gradient_flow_prediction,
    loss_rate_check,
    plot_replica_bands,
    train_replicas,
)
from fieldnn.inference._training import _replica_draws

matplotlib.use("Agg")

XA = np.linspace(-1.5, 1.5, 6)[:, None]
YA = np.sin(2 * XA[:, 0])
XB = np.linspace(-2.0, 2.0, 5)[:, None]


def _flat(params):
    return np.concatenate([a.ravel() for a in params.W + params.b])


def _unflat(vec, like):
    out, k = [], 0
    for a in like.W + like.b:
        out.append(vec[k : k + a.size].reshape(a.shape))
        k += a.size
    n = len(like.W)
    return net.Parameters(out[:n], out[n:])


def _small():
    mlp = MLP("tanh", [2, 5, 4, 2], C_W=[1.3, 1.7, 0.9], C_b=[0.2, 0.1, 0.3])
    spec = net.MLPSpec.of(mlp)
    params = net.init_parameters(spec, 1, np.random.default_rng(0))
    X = np.random.default_rng(1).standard_normal((3, 2))
    return spec, params, X


def test_backprop_against_finite_differences():
    spec, params, X = _small()
    Y = np.random.default_rng(2).standard_normal((3, 2))
    gW, gb, _ = net.gradients(spec, params, X, Y)
    grad = np.concatenate([g.ravel() for g in gW + gb])
    theta = _flat(params)

    def loss(v):
        z, _ = net.forward(spec, _unflat(v, params), X)
        return 0.5 * np.sum((z[-1] - Y) ** 2)

    h = 1e-6
    fd = np.array(
        [(loss(theta + h * e) - loss(theta - h * e)) / (2 * h) for e in np.eye(theta.size)]
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_vectorised_training_equals_one_network_at_a_time():
    mlp = MLP("tanh", [1, 16, 16, 1], C_W=1.5, C_b=0.1)
    spec = net.MLPSpec.of(mlp)
    params = net.init_parameters(spec, 3, np.random.default_rng(0))
    singles = [
        net.Parameters(
            [w[k : k + 1].copy() for w in params.W], [b[k : k + 1].copy() for b in params.b]
        )
        for k in range(3)
    ]
    Y = np.random.default_rng(1).standard_normal((3, len(XA), 1))
    lam = np.ones(3)
    net.gradient_descent(
        spec, params, XA, Y, steps=20, learning_rate=0.05, lambda_b=lam, lambda_W=lam
    )
    for k, p in enumerate(singles):
        net.gradient_descent(
            spec, p, XA, Y[k], steps=20, learning_rate=0.05, lambda_b=lam, lambda_W=lam
        )
        for a, b in zip(p.W + p.b, params.W + params.b, strict=True):
            np.testing.assert_allclose(a[0], b[k], rtol=1e-12, atol=1e-14)


def test_loss_rate_identity_on_trained_networks():
    mlp = MLP("tanh", [1, 32, 32, 1], C_W=1.5, C_b=0.1)
    kw = dict(n_nets=4, rng=3, lambda_b=0.5, lambda_W=1.5)
    a = loss_rate_check(mlp, XA, YA, steps=30, learning_rate=0.02, **kw)
    b = loss_rate_check(mlp, XA, YA, steps=60, learning_rate=0.01, **kw)
    # training makes progress, and the loss falls at the rate −ε·H·ε up to O(η)
    assert np.all(np.diff(a.losses, axis=0) < 0)
    assert np.all(a.predicted < 0)
    assert a.relative_error.max() < 0.1
    # halving η halves the discrepancy (compare the same training times)
    ratio = a.relative_error.mean(axis=1) / b.relative_error[::2].mean(axis=1)
    np.testing.assert_allclose(ratio, 2.0, rtol=0.15)


def test_replica_draws_have_the_data_covariance():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((4, 4))
    C = B @ B.T / 4
    Y = rng.standard_normal((4, 2))
    r = _replica_draws(Y, C, 20_000, np.random.default_rng(1))
    np.testing.assert_allclose(r.mean(axis=0), Y, atol=4.5 * np.sqrt(C.diagonal().max() / 2e4))
    for i in range(2):
        np.testing.assert_allclose(np.cov(r[:, :, i].T), C, atol=5 * C.max() / np.sqrt(1e4))


# well-conditioned training set (κ(Θ_AA) ≈ 18): the 1/n expansion of the trained ensemble is
# accurate at moderate width (for κ ≈ 200 it needs far wider nets; docs/inference.md)
XW = np.array([[-2.0], [-0.7], [0.7], [2.0]])
YW = np.sin(1.5 * XW[:, 0])
XT = np.linspace(-2.5, 2.5, 6)[:, None]
C_W_DATA = 0.02 * np.exp(-(np.subtract.outer(XW[:, 0], XW[:, 0]) ** 2))


def test_wide_replica_ensemble_matches_gradient_flow():
    mlp = MLP("erf", [1, 256, 1], C_W=1.5, C_b=0.5)
    res = train_replicas(mlp, XW, YW, C_W_DATA, 300, steps=100, learning_rate=0.2, rng=7, X_test=XT)
    assert res.prior.shape == (300, 6, 1) and res.losses.shape == (101, 300)
    assert res.t == pytest.approx(20.0)
    # prior: the GP with kernel K (mean 0, covariance K)
    K = mlp.kernel(XT)
    z_prior = res.mean("prior")[:, 0] / np.sqrt(np.diag(K) / 300)
    assert np.all(np.abs(z_prior) < 4.5)
    d = np.diag(K)
    z_prior_cov = (res.cov("prior") - K) / np.sqrt((np.outer(d, d) + K**2) / 299)
    assert np.all(np.abs(z_prior_cov) < 4.5)
    # posterior: mean and covariance of the infinite-width gradient-descent prediction
    z_mean, z_cov = res.flow_zscores(mlp)
    assert np.all(np.abs(z_mean) < 4.5)
    assert np.all(np.abs(z_cov) < 4.5)
    # the replica noise is resolved: without C_Y the predicted spread would be too narrow
    _, cov0 = gradient_flow_prediction(mlp, XW, YW, XT, t=res.t, learning_rate=0.2)
    _, cov1 = res.flow_prediction(mlp)
    assert np.trace(cov1 - cov0) > 0.3 * np.trace(cov0)
    z0 = (res.cov() - cov0) / np.sqrt((np.outer(np.diag(cov0), np.diag(cov0)) + cov0**2) / 299)
    assert np.abs(z0).max() > 6
    dist = res.flow_distance(mlp)
    assert dist["mean_distance"] < 4.5 * dist["mean_distance_err"]
    assert dist["cov_distance"] < 0.5
    ax = plot_replica_bands(res, mlp=mlp)
    assert ax.get_xlabel() == "$x_{0}$"
    assert len(ax.collections) >= 2


def test_training_errors():
    mlp = MLP("erf", [1, 8, 1])
    with pytest.raises(ArgumentError, match="learning_rate"):
        train_replicas(mlp, XA, YA, None, 4, steps=50, learning_rate=50.0)
    with pytest.raises(ArgumentError, match="C_Y"):
        train_replicas(mlp, XA, YA, np.eye(2), 4, steps=5, learning_rate=0.1)
    with pytest.raises(UnsupportedError, match="mlp"):
        train_replicas(MLP("gauss", [1, 8, 1]), XA, YA, None, 4, steps=5, learning_rate=0.1)


@pytest.mark.slow
def test_replica_ensembles_approach_gradient_flow_with_width():
    """Deep tanh nets: the distance to the infinite-width prediction shrinks with width."""
    dist = []
    for n in (32, 96, 256):
        mlp = MLP("tanh", [1, n, n, 1], C_W=1.5, C_b=0.5)
        res = train_replicas(
            mlp, XW, YW, C_W_DATA, 200, steps=100, learning_rate=0.1, rng=n, X_test=XT
        )
        z_mean, z_cov = res.flow_zscores(mlp)
        dist.append(res.flow_distance(mlp)["mean_distance"])
    assert dist[-1] < dist[0]
    assert np.all(np.abs(z_mean) < 4.5)
    assert np.all(np.abs(z_cov) < 4.5)
