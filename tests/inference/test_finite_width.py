"""Finite-width Bayesian inference by importance weighting of sampled networks: the seed's
single-datapoint correction and the absence of representation learning at infinite width."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest

from fieldnn.ensembles import MLP
from fieldnn.errors import UnsupportedError
from fieldnn.inference import (
    conditional_second_moment_sampled,
    gp_posterior,
    hidden_kernel_posterior,
    plot_conditional_moment,
    sampled_posterior,
)

matplotlib.use("Agg")

PHI = np.array([0.5, 1.0, 2.0, 3.0])


def test_single_datapoint_correction_is_leading_order_in_one_over_n():
    """n·(E[φ2²|φ̌1] − G) → ½(φ̌1² − G) V/G² with an O(1/n) remainder (ReLU, one hidden layer:
    G = K and V = (5/4) C_W² K1² exactly)."""
    dev = {}
    for n in (24, 96):
        mlp = MLP("relu", [1, n, 2], C_W=2.0, C_b=0.0)
        r = conditional_second_moment_sampled(mlp, [1.0], PHI, n_samples=150_000, rng=n)
        assert r.V == pytest.approx(1.25 * 4.0 * 4.0)
        assert r.G == pytest.approx(2.0, rel=5 * np.sqrt(2.0 / 150_000 / n) + 1e-3)
        assert np.all(r.ess > 0.5 * r.n_samples)
        dev[n] = n * (r.shift - r.predicted_shift)
        assert np.all(np.abs(dev[n]) < 4.5 * n * r.shift_stderr + 15.0 / n * (1 + PHI**2))
    # the remainder of n·shift is O(1/n) (→ ratio 4 asymptotically; an O(1/n) error in the
    # formula would leave it constant, ratio 1)
    big = PHI >= 1.0
    ratio = dev[24][big] / dev[96][big]
    assert np.all((ratio > 2.0) & (ratio < 8.0))


def test_importance_weighting_against_rejection():
    """Direct rejection on sampled two-output networks (bins in |φ1|) agrees with the
    importance-weighted conditional evaluated at the bins' mean φ1² (it is linear in φ1² at
    this order, so bin averaging is exact to O(1/n²))."""
    mlp = MLP("relu", [1, 12, 2], C_W=2.0, C_b=0.2)
    out = mlp.sample_batch(np.array([[0.8]]), 400_000, np.random.default_rng(0))[:, 0, :]
    phi1, phi2 = out[:, 0], out[:, 1]
    edges = np.array([0.0, 0.5, 1.5, 2.5, 4.0])
    centres, direct, direct_se = [], [], []
    for lo, hi in itertools.pairwise(edges):
        sel = (np.abs(phi1) >= lo) & (np.abs(phi1) < hi)
        centres.append(np.sqrt(np.mean(phi1[sel] ** 2)))
        direct.append(np.mean(phi2[sel] ** 2))
        direct_se.append(np.std(phi2[sel] ** 2) / np.sqrt(sel.sum()))
    r = conditional_second_moment_sampled(mlp, [0.8], centres, n_samples=200_000, rng=1)
    z = (np.array(direct) - r.sampled) / np.hypot(direct_se, r.stderr)
    assert np.all(np.abs(z) < 4.5)
    # and the effect is resolved: the conditional rises with |φ1| beyond the noise
    assert direct[-1] - direct[0] > 10 * np.hypot(direct_se[-1], direct_se[0])
    ax = plot_conditional_moment(r)
    assert ax.get_ylabel() == r"$\langle\phi_2^2\mid\phi_1^{\mathrm{obs}}\rangle$"


def _linear_prediction(mlp, XA, y, XB):
    """Leading-order shift of the hidden kernel for a linear single-hidden-layer net:
    (C_W/n) K_δA M K_Aδ', M = G⁻¹ y yᵀ G⁻¹ − d_out G⁻¹, G = C_b + C_W K_AA (see docs)."""
    X = np.concatenate([XA, XB])
    K1 = mlp.C_b[0] + mlp.C_W[0] * X @ X.T / X.shape[1]
    p = len(XA)
    G = mlp.C_b[1] + mlp.C_W[1] * K1[:p, :p]
    Gi = np.linalg.inv(G)
    M = Gi @ np.outer(y, y) @ Gi - Gi
    return mlp.C_W[1] * K1[p:, :p] @ M @ K1[:p, p:]


def test_no_representation_learning_at_infinite_width():
    XA = np.array([[-1.0], [0.7]])
    y = np.array([2.2, -1.5])  # atypical outputs: a visible pull on the hidden layer
    XB = np.array([[-0.3], [1.2]])
    shifts = {}
    for n in (8, 32):
        mlp = MLP("linear", [1, n, 1], C_W=[1.0, 1.2], C_b=[0.2, 0.1])
        r = hidden_kernel_posterior(mlp, XA, y, XB, n_samples=120_000, rng=n)
        pred = _linear_prediction(mlp, XA, y, XB)
        assert r.width == n
        shifts[n] = (r.shift, r.stderr, pred)
        # the prior is the infinite-width kernel K^(1) (exact for the first layer)
        K1 = mlp.C_b[0] + mlp.C_W[0] * XB @ XB.T
        se_prior = np.sqrt((np.diag(K1)[:, None] * np.diag(K1)[None] + K1**2) / n / 120_000)
        assert np.all(np.abs(r.prior - K1) < 4.5 * se_prior)
    s8 = shifts[8][0]
    s32, e32, p32 = shifts[32]
    # at finite width the posterior kernel moves (resolved), by the O(1/n) prediction
    assert np.all(np.abs(s32) > 5 * e32)
    assert np.all(np.abs(s32 - p32 / 32) < 4.5 * e32 + 0.35 * np.abs(p32) / 32)
    # and the shift falls like 1/n: it vanishes at infinite width
    np.testing.assert_allclose(s8 / s32, 4.0, rtol=0.35)


def test_errors():
    with pytest.raises(UnsupportedError, match="mlp"):
        conditional_second_moment_sampled(MLP("relu", [1, 1]), [1.0], [0.5])
    with pytest.raises(UnsupportedError, match="phi1"):
        conditional_second_moment_sampled(
            MLP("relu", [1, 2, 2], C_b=0.0), [1.0], [0.0], n_samples=2000
        )


def test_sampled_posterior_tends_to_the_gp_posterior_like_one_over_n():
    """Exact finite-width Bayesian posterior (importance weighting) vs gp_posterior: the
    difference of the means is O(1/n) (n·Δ constant) and resolved; variances shrink too."""
    XA = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -0.5]])
    XB = np.array([[1.0, 1.0], [-0.5, 0.8], [0.3, -1.0]])
    K = MLP("relu", [2, 8, 1], C_W=1.5, C_b=0.2).kernel(XA)
    y = np.linalg.cholesky(K) @ np.array([1.0, -0.7, 0.5])  # typical outputs
    delta, err, dvar = {}, {}, {}
    for n in (12, 48):
        mlp = MLP("relu", [2, n, 1], C_W=1.5, C_b=0.2)
        r = sampled_posterior(mlp, XA, y, XB, n_samples=80_000, rng=n)
        m, c = gp_posterior(mlp, XA, y, XB)
        assert r.mean.shape == (3, 1) and r.cov.shape == (3, 3) and r.width == n
        assert r.ess > 0.5 * r.n_samples
        delta[n], err[n] = r.mean[:, 0] - m, r.mean_stderr[:, 0]
        dvar[n] = np.diag(r.cov) - np.diag(c)
    big = np.abs(delta[12]) > 10 * err[12]
    assert big.sum() >= 2
    np.testing.assert_allclose(12 * delta[12][big], 48 * delta[48][big], rtol=0.3)
    assert np.sum(np.abs(dvar[48])) < np.sum(np.abs(dvar[12]))
