"""Single-layer GP kernels against the seed-001 formulas, quadrature and sampled networks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from fieldnn.errors import ArgumentError, ShapeError
from fieldnn.kernels import get_activation, preactivation_covariance, single_layer_kernel

from ._reference import pair_quad


def seed_erf(x, y, sw, sb, d):
    # seed 001, "Erf-net" (as printed)
    num = 2 * (sb + sw / d * x @ y)
    den = np.sqrt((1 + 2 * (sb + sw / d * x @ x)) * (1 + 2 * (sb + sw / d * y @ y)))
    return sb + sw * 2 / np.pi * np.arcsin(num / den)


def seed_gauss(x, y, sw, sb, d):
    return sb + sw * np.exp(-sw * np.sum((x - y) ** 2) / (2 * d))


def seed_relu(x, y, sw, sb, d):
    qx, qy = sb + sw / d * x @ x, sb + sw / d * y @ y
    theta = np.arccos(np.clip((sb + sw / d * x @ y) / np.sqrt(qx * qy), -1, 1))
    return sb + sw / (2 * np.pi) * np.sqrt(qx * qy) * (
        np.sin(theta) + (np.pi - theta) * np.cos(theta)
    )


SEED = {"erf": seed_erf, "gauss": seed_gauss, "relu": seed_relu}


@pytest.mark.parametrize("name", ["erf", "gauss", "relu"])
@pytest.mark.parametrize("d_in,sw,sb", [(1, 1.0, 1.0), (2, 1.7, 0.3), (3, 0.6, 0.0)])
def test_kernel_matches_seed_formulas(name, d_in, sw, sb):
    rng = np.random.default_rng(d_in)
    X = rng.normal(size=(5, d_in))
    Y = rng.normal(size=(3, d_in))
    K = single_layer_kernel(name, X, Y, sigma_w2=sw, sigma_b2=sb)
    expect = np.array([[SEED[name](x, y, sw, sb, d_in) for y in Y] for x in X])
    np.testing.assert_allclose(K, expect, rtol=1e-13)
    # symmetric with Y omitted, diagonal = σ_b² + σ_W² ⟨σ²⟩
    KXX = single_layer_kernel(name, X, sigma_w2=sw, sigma_b2=sb)
    np.testing.assert_allclose(KXX, KXX.T, rtol=1e-15)


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_kernel_without_closed_form_against_dblquad(name):
    X = np.array([[0.4, -1.0], [1.2, 0.3]])
    K = single_layer_kernel(name, X, sigma_w2=1.5, sigma_b2=0.2)
    C = preactivation_covariance(X, sigma_w2=1.5, sigma_b2=0.2)
    act = get_activation(name)
    ref = 0.2 + 1.5 * pair_quad(act, act, C[0, 0], C[1, 1], C[0, 1])
    np.testing.assert_allclose(K[0, 1], ref, rtol=1e-9)


def test_kernel_against_sampled_networks():
    # K(x, y) = E[f(x) f(y)], with f sampled directly (width 1: f = W1 σ(W0 x + b0) + b1)
    rng = np.random.default_rng(11)
    X = np.array([[-1.0, 0.5], [0.2, 0.2], [1.0, -0.6]])
    sw, sb, n = 1.3, 0.4, 400_000
    W0 = rng.normal(0, np.sqrt(sw / 2), size=(n, 2))
    b0 = rng.normal(0, np.sqrt(sb), size=(n, 1))
    W1 = rng.normal(0, np.sqrt(sw), size=(n, 1))
    b1 = rng.normal(0, np.sqrt(sb), size=(n, 1))
    f = W1 * erf(W0 @ X.T + b0) + b1
    products = f[:, :, None] * f[:, None, :]
    mean = products.mean(axis=0)
    se = products.std(axis=0) / np.sqrt(n)
    K = single_layer_kernel("erf", X, sigma_w2=sw, sigma_b2=sb)
    assert np.all(np.abs(mean - K) < 5 * se)


def test_preactivation_covariance():
    X = np.array([[1.0, 2.0], [0.0, -1.0]])
    C = preactivation_covariance(X, sigma_w2=2.0, sigma_b2=0.5)
    np.testing.assert_allclose(C, 0.5 + 2.0 * (X @ X.T) / 2)
    np.testing.assert_allclose(
        preactivation_covariance(np.array([0.0, 1.0]), sigma_w2=1.0, sigma_b2=0.0), [[0, 0], [0, 1]]
    )


def test_bad_input():
    with pytest.raises(ArgumentError, match="sigma_w2"):
        single_layer_kernel("erf", [[0.0]], sigma_w2=-1.0, sigma_b2=1.0)
    with pytest.raises(ShapeError, match="'Y'"):
        single_layer_kernel("erf", [[0.0, 1.0]], [[1.0]], sigma_w2=1.0, sigma_b2=1.0)
    with pytest.raises(ArgumentError, match="'X'"):
        preactivation_covariance([[np.nan]], sigma_w2=1.0, sigma_b2=1.0)
    with pytest.raises(ArgumentError, match="activation"):
        single_layer_kernel("nope", [[0.0]], sigma_w2=1.0, sigma_b2=1.0)
