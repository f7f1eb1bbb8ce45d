"""Single-layer GP kernels against the seed-001 formulas, quadrature and sampled networks."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy.special import erf

from fieldnn.errors import ArgumentError, ShapeError
from fieldnn.kernels import get_activation, preactivation_covariance, single_layer_kernel
from fieldnn.kernels.gaussian import pair_expectation

from ._reference import erf_pair_mp, pair_quad


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


# --- extreme variances: the right number or an error naming the argument (issue 14) ---------
@pytest.mark.parametrize(
    ("k11", "k22", "k12"),
    [
        (1e6, 1e6, 1e6),
        (1e12, 1e12, 1e12),
        (1e12, 4e12, 2e12),
        (3.0, 3.0, 2.9),
        (1e200, 1e200, 1e200),
    ],
)
def test_erf_pair_keeps_its_distance_to_one(k11, k22, k12):
    # the product moment 1 − O(q^{-1/2}) at variance q ≫ 1 enters the exact cumulants through
    # differences; 1 − ⟨erf erf⟩ was off by 2e-4 relative at q = 1e12 and 0 at q = 1e200
    value = pair_expectation("erf", k11, k22, k12)
    reference = erf_pair_mp(k11, k22, k12)
    with mpmath.workdps(50):
        gap = float(1 - reference)
    assert float(value) == pytest.approx(float(reference), rel=1e-15)
    assert 1.0 - float(value) == pytest.approx(gap, rel=1e-9, abs=1e-16)


def test_kernels_at_huge_but_finite_variance():
    # Erf-net at σ_W² = 1e160 (was 1.0) and at x = 1e100 with σ_b = 0 (was 0);
    # ReLU-net at x = 1e154: σ_b² + σ_W² q/2 = 5e307 (was inf)
    K = single_layer_kernel("erf", [[0.1]], sigma_w2=1e160, sigma_b2=1.0)
    q = 1.0 + 1e160 * 0.01
    assert K[0, 0] == pytest.approx(1.0 + 1e160 * float(erf_pair_mp(q, q, q)), rel=1e-14)
    assert single_layer_kernel("erf", [[1e100]], sigma_w2=1.0, sigma_b2=0.0)[0, 0] == 1.0
    K = single_layer_kernel("relu", [[1e154], [-1e154]], sigma_w2=1.0, sigma_b2=1.0)
    np.testing.assert_allclose(K, [[5e307, 1.0], [1.0, 5e307]], rtol=1e-14)


@pytest.mark.parametrize(
    ("X", "kw", "argument"),
    [
        ([[1e300]], {"sigma_w2": 1.0, "sigma_b2": 1.0}, "'X'"),
        ([[0.5]], {"sigma_w2": 1.7e308, "sigma_b2": 1.7e308}, "'sigma_b2'"),
        ([[2.0]], {"sigma_w2": 1e308, "sigma_b2": 0.0}, "'sigma_w2'"),
    ],
)
def test_overflowing_covariance_names_its_argument(X, kw, argument):
    # was ArgumentError('k11') after numpy overflow warnings
    with pytest.raises(ArgumentError, match=argument):
        single_layer_kernel("erf", X, **kw)
    with pytest.raises(ArgumentError, match=argument):
        preactivation_covariance(X, **kw)


def test_overflowing_kernel_names_sigma_w2():
    # relu at σ_W² = 1e300: C = 2.5e299 is finite, K = σ_W² C/2 is not
    with pytest.raises(ArgumentError, match="'sigma_w2'"):
        single_layer_kernel("relu", [[0.5]], sigma_w2=1e300, sigma_b2=0.0)


@pytest.mark.parametrize(
    ("X", "error", "fragment"),
    [([[1.0], [1.0, 2.0]], ShapeError, "ragged"), (np.zeros((2, 0)), ShapeError, "d_in >= 1")],
)
def test_malformed_inputs_name_X(X, error, fragment):
    with pytest.raises(error, match=fragment):
        single_layer_kernel("erf", X, sigma_w2=1.0, sigma_b2=1.0)


def test_user_activation_must_act_elementwise():
    with pytest.raises(ArgumentError, match=r"'activation'.*elementwise"):
        single_layer_kernel(lambda z: 1.0, [[0.1], [0.2]], sigma_w2=1.0, sigma_b2=1.0)
    act = get_activation(lambda z: 0.0 * z + 1.0, derivative=lambda z: 0.0)
    with pytest.raises(ArgumentError, match=r"'derivative'.*elementwise"):
        act.derivative(np.ones(3))
