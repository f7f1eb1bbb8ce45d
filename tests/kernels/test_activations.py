"""Activation registry: values, derivatives, closed forms, array-API evaluation, bad input."""

from __future__ import annotations

import array_api_strict as xps
import mpmath
import numpy as np
import pytest
import scipy.special as sc

from fieldnn.errors import ArgumentError, UnknownNameError
from fieldnn.kernels import KNOWN_ACTIVATIONS, Activation, get_activation, leaky_relu
from fieldnn.kernels._erf import erf_array_api

from ._reference import pair_quad

REFERENCE = {
    "erf": sc.erf,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh": np.tanh,
    "sin": np.sin,
    "cos": np.cos,
    "gelu": lambda z: z * sc.ndtr(z),
    "gauss_cdf": sc.ndtr,
    "swish": lambda z: z * sc.expit(z),
    "linear": lambda z: z,
    "gauss": lambda z: np.exp(z - 0.7),
}


def test_registry_names():
    assert set(KNOWN_ACTIVATIONS) == set(REFERENCE)
    for name in KNOWN_ACTIVATIONS:
        act = get_activation(name)
        assert isinstance(act, Activation)
        assert act.name == name
        assert act.normalised is (name == "gauss")
        assert get_activation(act) is act
        assert hash(act) == hash(get_activation(name))


@pytest.mark.parametrize("name", KNOWN_ACTIVATIONS)
def test_values_and_derivatives(name):
    act = get_activation(name)
    z = np.linspace(-3.0, 3.0, 61) + 0.013  # avoid the kink at 0
    np.testing.assert_allclose(act(z, variance=0.7), REFERENCE[name](z), rtol=1e-14, atol=1e-15)
    h = 1e-5
    numeric = (REFERENCE[name](z + h) - REFERENCE[name](z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z, variance=0.7), numeric, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", KNOWN_ACTIVATIONS)
def test_array_api_strict_matches_numpy(name):
    act = get_activation(name)
    z = np.linspace(-6.0, 6.0, 241)
    value = act(xps.asarray(z), variance=0.7)
    deriv = act.derivative(xps.asarray(z), variance=0.7)
    assert type(value) is type(xps.asarray(0.0)) and value.dtype == xps.float64
    # full double precision, except where 1 + erf or 1/(1 + e) round differently (Φ in gelu and
    # gauss_cdf, swish)
    rtol = 1e-13 if name in ("gelu", "gauss_cdf", "swish") else 2e-15
    np.testing.assert_allclose(np.asarray(value), act(z, variance=0.7), rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(np.asarray(deriv), act.derivative(z, variance=0.7), rtol=rtol)


def test_erf_array_api_full_double_precision():
    # against 40-digit mpmath, on both branches (series |x| < 2, continued fraction beyond)
    mpmath.mp.dps = 40
    x = np.concatenate([np.geomspace(1e-300, 1e-3, 50), np.linspace(1e-3, 7.0, 4001)])
    ref = np.array([float(mpmath.erf(mpmath.mpf(float(v)))) for v in x])
    got = erf_array_api(np.concatenate([x, -x]), np)
    rel = np.abs(got - np.concatenate([ref, -ref])) / np.abs(np.concatenate([ref, ref]))
    assert rel.max() < 1.5e-15
    np.testing.assert_allclose(erf_array_api(x, np), sc.erf(x), rtol=1.5e-15, atol=0)
    special = np.asarray(erf_array_api(xps.asarray([np.inf, -np.inf, 1e300, 0.0]), xps))
    np.testing.assert_array_equal(special, [1.0, -1.0, 1.0, 0.0])
    assert np.isnan(np.asarray(erf_array_api(xps.asarray([np.nan]), xps)))[0]


def test_gauss_unit_needs_variance():
    with pytest.raises(ArgumentError, match="variance"):
        get_activation("gauss")(np.zeros(3))


def test_unknown_name_lists_known():
    with pytest.raises(UnknownNameError, match="activation") as info:
        get_activation("softplusx")
    assert "erf" in str(info.value) and "gauss" in str(info.value)
    with pytest.raises(ArgumentError, match="derivative"):
        get_activation("erf", derivative=np.cos)
    with pytest.raises(TypeError):
        get_activation(3.0)


def test_leaky_relu_factory():
    a = leaky_relu(0.2)
    assert a == leaky_relu(0.2) and a != leaky_relu(0.3) and a != get_activation("leaky_relu")
    np.testing.assert_allclose(a(np.array([-2.0, 3.0])), [-0.4, 3.0])
    assert get_activation("leaky_relu").parameters == (0.01,)
    with pytest.raises(ArgumentError, match="slope"):
        leaky_relu(float("nan"))


def test_user_callable_derivatives():
    # complex step (analytic, accepts complex): machine precision
    act = get_activation(np.tanh)
    z = np.linspace(-3, 3, 31)
    np.testing.assert_allclose(act.derivative(z), 1 / np.cosh(z) ** 2, rtol=1e-14)
    # not analytic under complex input (abs): falls back to the five-point difference
    act = get_activation(lambda z: np.abs(z) ** 3)
    z = np.linspace(0.3, 2.0, 11)
    np.testing.assert_allclose(act.derivative(z), 3 * z**2, rtol=1e-10)
    np.testing.assert_allclose(act.derivative(-z), -3 * z**2, rtol=1e-10)
    # supplied derivative is used verbatim
    act = get_activation(np.sin, derivative=lambda z: 2 * np.cos(z))
    np.testing.assert_allclose(act.derivative(np.array([0.0])), [2.0])
    assert act.pair_expectation(1.0, 1.0, 0.5) is None


CASES = [(1.0, 1.0, 0.3), (2.0, 0.5, -0.7), (0.4, 1.7, 0.8)]
CLOSED = ["erf", "relu", "leaky_relu", "sin", "cos", "gauss_cdf", "linear", "gauss"]
# every closed form once in the default suite, the full grid under -m slow
PAIR_GRID = [
    pytest.param(name, *case, marks=() if (i + j) % 3 == 0 else pytest.mark.slow)
    for i, name in enumerate(CLOSED)
    for j, case in enumerate(CASES)
]


@pytest.mark.parametrize("name,k11,k22,k12", PAIR_GRID)
def test_pair_closed_forms_against_quadrature(name, k11, k22, k12):
    act = get_activation(name)

    def f(z, q):
        return act(np.asarray(z), variance=q)

    def fp(z, q):
        return act.derivative(np.asarray(z), variance=q)

    ref = pair_quad(lambda z: f(z, k11), lambda z: f(z, k22), k11, k22, k12)
    np.testing.assert_allclose(act.pair_expectation(k11, k22, k12), ref, rtol=1e-9, atol=1e-12)
    ref = pair_quad(lambda z: fp(z, k11), lambda z: fp(z, k22), k11, k22, k12)
    np.testing.assert_allclose(
        act.derivative_pair_expectation(k11, k22, k12), ref, rtol=1e-9, atol=1e-12
    )


def test_pair_closed_forms_degenerate():
    relu = get_activation("relu")
    # rank 1 (θ = 0): ⟨relu(z)²⟩ = k/2 and ⟨H H⟩ = 1/2; anti-aligned: 0 and 0
    assert relu.pair_expectation(2.0, 2.0, 2.0) == pytest.approx(1.0, rel=1e-15)
    assert relu.pair_expectation(2.0, 2.0, -2.0) == pytest.approx(0.0, abs=1e-15)
    assert relu.derivative_pair_expectation(2.0, 2.0, 2.0) == pytest.approx(0.5, rel=1e-15)
    # a vanishing variance: relu(0) = 0; relu'(0) = 0 so ⟨H(z1) H(0)⟩ = 0
    assert relu.pair_expectation(0.0, 2.0, 0.0) == 0.0
    assert relu.derivative_pair_expectation(0.0, 2.0, 0.0) == 0.0
    leaky = leaky_relu(0.2)  # σ'(0) = a
    assert leaky.derivative_pair_expectation(0.0, 2.0, 0.0) == pytest.approx(0.2 * 0.6)
    # broadcasting
    out = get_activation("erf").pair_expectation(np.ones((3, 1)), np.ones((1, 4)), 0.5)
    assert out.shape == (3, 4)
