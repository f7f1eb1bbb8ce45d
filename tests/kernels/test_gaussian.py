"""Gaussian expectations: quadrature paths against independent scipy quadrature and closed forms."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import erf as scipy_erf
from scipy.stats import norm

from fieldnn.errors import ArgumentError, ShapeError, UnsupportedError
from fieldnn.kernels import (
    gaussian_expectation,
    get_activation,
    leaky_relu,
    pair_expectation,
    single_expectation,
)

from ._reference import pair_quad


@pytest.mark.parametrize(
    "name,k11,k22,k12",
    [("tanh", 1.0, 1.0, 0.3), ("gelu", 2.0, 0.5, -0.7), ("swish", 0.4, 1.7, 0.8)],
)
def test_pair_quadrature_path_against_dblquad(name, k11, k22, k12):
    act = get_activation(name)
    ref = pair_quad(act, act, k11, k22, k12)
    np.testing.assert_allclose(pair_expectation(act, k11, k22, k12), ref, rtol=1e-9)
    ref = pair_quad(act, act.derivative, k11, k22, k12)
    got = pair_expectation(act, k11, k22, k12, derivatives=(0, 1))
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-13)  # tanh: odd × even = 0


def test_pair_quadrature_matches_closed_forms_vectorised():
    # the quadrature path (mixed derivative orders force it) against closed forms by symmetry:
    # ⟨σ'(z1) σ'(z2)⟩ for erf via (1, 1) closed form vs a user callable without closed forms
    k11 = np.array([0.5, 1.0, 3.0, 2.0, 0.0])
    k22 = np.array([1.5, 1.0, 0.2, 2.0, 1.0])
    k12 = np.array([0.3, 1.0, -0.7, -2.0, 0.0])  # includes rank 1 (±) and a zero variance
    for name in ("erf", "sin", "gauss"):
        act = get_activation(name)
        user = get_activation(
            (lambda z, a=act: a(z, variance=1.0)) if name != "gauss" else (lambda z: np.exp(z))
        )
        closed = act.pair_expectation(k11, k22, k12)
        if name == "gauss":  # user callable exp(z): ⟨e^{z1+z2}⟩ = e^{(k11+k22)/2 + k12}
            closed = closed * np.exp(k11 + k22)
        np.testing.assert_allclose(pair_expectation(user, k11, k22, k12), closed, rtol=1e-10)


def test_pair_expectation_bad_input():
    with pytest.raises(ArgumentError, match="k12"):
        pair_expectation("erf", 1.0, 1.0, 1.5)
    with pytest.raises(ArgumentError, match="k11"):
        pair_expectation("erf", -1.0, 1.0, 0.0)
    with pytest.raises(UnsupportedError, match="derivatives"):
        pair_expectation("erf", 1.0, 1.0, 0.0, derivatives=(2, 0))


@pytest.mark.parametrize("name", ["tanh", "gelu", "swish", "erf", "relu", "sin", "gauss"])
@pytest.mark.parametrize("power,derivative", [(1, 0), (2, 0), (4, 0), (3, 1)])
def test_single_expectation_against_quad(name, power, derivative):
    act = get_activation(name)
    k = 1.7
    f = act if derivative == 0 else act.derivative

    def integrand(u):
        return f(np.sqrt(k) * u, variance=k) ** power * np.exp(-u * u / 2) / np.sqrt(2 * np.pi)

    ref = quad(integrand, -12, 0, epsabs=1e-14)[0] + quad(integrand, 0, 12, epsabs=1e-14)[0]
    got = single_expectation(act, np.array([k]), power=power, derivative=derivative)[0]
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-13)


def test_single_expectation_piecewise_closed_forms():
    a = leaky_relu(0.3)
    k = np.array([0.5, 2.0])
    # ⟨σ^3⟩ = k^{3/2} E[g³; g>0] (1 − a³), E[g³; g>0] = 2/√(2π)
    expect = k**1.5 * (2 / np.sqrt(2 * np.pi)) * (1 - 0.3**3)
    np.testing.assert_allclose(single_expectation(a, k, power=3), expect, rtol=1e-14)
    np.testing.assert_allclose(single_expectation(a, k, power=2, derivative=1), (1 + 0.09) / 2)


def test_gaussian_expectation_polynomials_exact():
    K = np.array([[2.0, 1.0, 0.5], [1.0, 1.5, -0.2], [0.5, -0.2, 1.0]])

    def F(z):  # ⟨z1² z2 z3⟩ = K11 K23 + 2 K12 K13, and a vector-valued output
        return np.stack([z[:, 0] ** 2 * z[:, 1] * z[:, 2], z[:, 1] ** 4], axis=1)

    value, error = gaussian_expectation(F, K, return_error=True)
    np.testing.assert_allclose(value, [2.0 * -0.2 + 2 * 1.0 * 0.5, 3 * 1.5**2], rtol=1e-13)
    assert np.all(error < 1e-12)
    # fixed node count: 3 nodes are exact for degree <= 5 in each direction
    np.testing.assert_allclose(gaussian_expectation(F, K, n_nodes=3), value, rtol=1e-13)


def test_gaussian_expectation_rank_reduction():
    # rank-1 K in 4 dimensions: z = v g; ⟨cos(z·1)⟩ = exp(-(Σv)²/2)
    v = np.array([0.3, -0.5, 0.8, 0.1])
    K = np.outer(v, v)
    value, error = gaussian_expectation(lambda z: np.cos(z.sum(axis=1)), K, return_error=True)
    np.testing.assert_allclose(value, np.exp(-(v.sum() ** 2) / 2), rtol=1e-13)
    assert error < 1e-10
    assert gaussian_expectation(lambda z: 1.0 + z[:, 0], np.zeros((2, 2))) == 1.0


def test_gaussian_expectation_error_estimate_is_honest():
    # a kink (|z|) converges slowly: the reported error must bound the true one
    K = np.array([[1.0]])
    value, error = gaussian_expectation(lambda z: np.abs(z[:, 0]), K, n_nodes=10, return_error=True)
    true = np.sqrt(2 / np.pi)
    assert abs(value - true) <= error
    assert error > 1e-4


def test_gaussian_expectation_bad_input():
    with pytest.raises(ArgumentError, match=r"'K'.*symmetric"):
        gaussian_expectation(lambda z: z[:, 0], np.array([[1.0, 0.5], [0.2, 1.0]]))
    with pytest.raises(ArgumentError, match=r"'K'.*positive semidefinite"):
        gaussian_expectation(lambda z: z[:, 0], np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ShapeError, match="'K'"):
        gaussian_expectation(lambda z: z[:, 0], np.ones((2, 3)))
    with pytest.raises(TypeError, match="'F'"):
        gaussian_expectation(3.0, np.eye(2))


@settings(max_examples=15, deadline=None)
@given(
    k11=st.floats(0.01, 4.0),
    k22=st.floats(0.01, 4.0),
    rho=st.floats(-1.0, 1.0),
)
def test_relu_pair_positive_homogeneity_and_symmetry(k11, k22, rho):
    # ⟨relu relu⟩(λ²K) = λ² ⟨relu relu⟩(K); symmetric in 1 <-> 2; bounded by Cauchy–Schwarz
    k12 = rho * np.sqrt(k11 * k22)
    value = pair_expectation("relu", k11, k22, k12)
    # atol: near ρ = −1 the value ~ φ³ is as sensitive as that to the last bit of k12
    scale = np.sqrt(k11 * k22)
    np.testing.assert_allclose(
        pair_expectation("relu", 3 * k11, 3 * k22, 3 * k12), 3 * value, atol=1e-15 * scale
    )
    np.testing.assert_allclose(pair_expectation("relu", k22, k11, k12), value, rtol=1e-14)
    assert 0 <= value <= 0.5 * np.sqrt(k11 * k22) * (1 + 1e-14)
    # erf: odd σ, so ⟨σσ⟩(−k12) = −⟨σσ⟩(k12)
    np.testing.assert_allclose(
        pair_expectation("erf", k11, k22, -k12), -pair_expectation("erf", k11, k22, k12), atol=1e-16
    )
    np.testing.assert_allclose(
        pair_expectation("sin", k11, k22, k12),
        0.5 * (np.exp(-(k11 + k22 - 2 * k12) / 2) - np.exp(-(k11 + k22 + 2 * k12) / 2)),
        rtol=1e-12,
        atol=1e-15,
    )


def test_relu_pair_near_antipodal_inputs_against_mpmath():
    # the series branch (φ = π − θ < 1/4) keeps full relative accuracy where sin φ − φ cos φ
    # cancels; 40-digit reference from the arc-cosine formula itself
    mp.mp.dps = 40
    for c in (-1 + 1e-15, -1 + 1e-9, -1 + 1e-4, -0.97, -0.95, 0.3):
        cm = mp.mpf(c)
        exact = (mp.sqrt(1 - cm * cm) + (mp.pi - mp.acos(cm)) * cm) / (2 * mp.pi)
        got = pair_expectation("relu", 1.0, 1.0, c)
        assert got > 0
        assert abs(float((mp.mpf(float(got)) - exact) / exact)) < 1e-13


def test_unconverged_quadrature_warns():
    # a user relu has a kink: the trapezoid rule converges only algebraically and says so
    kinked = get_activation(lambda z: np.maximum(z, 0.0))
    with pytest.warns(RuntimeWarning, match="converged only"):
        value = pair_expectation(kinked, 1.0, 1.0, 0.3)
    np.testing.assert_allclose(value, pair_expectation("relu", 1.0, 1.0, 0.3), rtol=1e-4)


@pytest.mark.parametrize("k", [1e-6, 1e2, 1e8])
def test_single_expectation_saturating_at_extreme_variance(k):
    # tanh saturates on |z| ~ 1 while the Gaussian has width √k: the sinh-substituted rule
    # resolves both scales. Reference by scipy quad: ⟨tanh²⟩ directly for small k, and as
    # 1 − ⟨sech²⟩ (sech² negligible beyond |z| = 40) for large k
    density = norm(scale=np.sqrt(k)).pdf
    if k < 1:
        lim, sign, offset = 12 * np.sqrt(k), 1.0, 0.0
        f = np.tanh
    else:
        lim, sign, offset = 40.0, -1.0, 1.0

        def f(z):
            return 1.0 / np.cosh(z)

    ref = offset + sign * sum(
        quad(lambda z: f(z) ** 2 * density(z), lo, hi, epsabs=0, epsrel=1e-13, limit=200)[0]
        for lo, hi in [(-lim, 0.0), (0.0, lim)]
    )
    np.testing.assert_allclose(single_expectation("tanh", k), ref, rtol=1e-12)


def test_sin_pair_full_relative_accuracy_near_zero_and_large_k():
    # ⟨sin z1 sin z2⟩ = e^{−(k11+k22)/2} sinh k12 (40-digit reference): the expm1 form keeps
    # full relative accuracy at small k (the difference of exponentials lost ~|log10 k| digits)
    mp.mp.dps = 40
    for k11, k22, rho in [
        (1e-12, 1e-12, -0.2),
        (1e-8, 2e-8, 0.5),
        (1.0, 1.0, 0.3),
        (3.0, 0.5, -0.7),
        (400.0, 500.0, 0.99),
    ]:
        k12 = rho * np.sqrt(k11 * k22)
        exact = mp.exp(-(mp.mpf(k11) + k22) / 2) * mp.sinh(mp.mpf(k12))
        got = pair_expectation("sin", k11, k22, k12)
        assert abs(float((mp.mpf(float(got)) - exact) / exact)) < 1e-14


def _plain_gelu(z):
    """GELU as a plain callable: no closed pair form, so the quadrature rules are exercised."""
    return 0.5 * z * (1.0 + scipy_erf(z / np.sqrt(2.0)))


@pytest.mark.parametrize("name", ["tanh", "gelu", "swish"])
@pytest.mark.parametrize("k", [1e4, 1e8, 1e200])
def test_collinear_pair_at_large_variance(name, k):
    # the diagonal ⟨σ(z)²⟩ through the pair rule: the 2-d lattice cannot resolve σ at
    # |z| ~ 1 when √k ≫ 1 (tanh at k = 1e200 gave 1.99 for 2 − … with a warning in the kernel);
    # collinear pairs now take the 1-d rules, checked against single_expectation and mpmath
    act = _plain_gelu if name == "gelu" else name
    value = float(pair_expectation(act, k, k, k))
    assert value == pytest.approx(float(single_expectation(act, k, power=2)), rel=1e-14)
    anti = float(pair_expectation(act, k, 4 * k, -2 * k))  # z2 = −2 z1
    f = {
        "tanh": mp.tanh,
        "gelu": lambda z: z * (1 + mp.erf(z / mp.sqrt(2))) / 2,
        "swish": lambda z: z / (1 + mp.exp(-z)),
    }[name]
    with mp.workdps(30):
        s = mp.sqrt(mp.mpf(k))
        cuts = sorted({-12, -1, -10 / s, -1 / s, 0, 1 / s, 10 / s, 1, 12})
        reference = mp.quad(lambda u: f(s * u) * f(-2 * s * u) * mp.npdf(u), cuts)
    assert anti == pytest.approx(float(reference), rel=1e-12)


def _tanh_pair_mp(k11: float, k22: float, k12: float) -> float:
    """⟨tanh z1 tanh z2⟩ by nested mpmath quadrature (20 digits), conditioning on z2."""
    with mp.workdps(20):
        k11, k22, k12 = mp.mpf(k11), mp.mpf(k22), mp.mpf(k12)
        s = mp.sqrt(k11 - k12**2 / k22)

        def inner(z2):
            mu = k12 / k22 * z2
            c = -mu / s
            cuts = [-mp.inf, -12, c - 10 / s, c - 1 / s, c, c + 1 / s, c + 10 / s, 12, mp.inf]
            return mp.quad(lambda x: mp.tanh(mu + s * x) * mp.npdf(x), sorted(cuts))

        r = mp.sqrt(k22)
        return float(
            mp.quad(
                lambda v: mp.tanh(r * v) * inner(r * v) * mp.npdf(v), [-12, -3, -1, 0, 1, 3, 12]
            )
        )


@pytest.mark.slow
def test_wide_pair_at_large_variance_against_mpmath():
    # one input at variance 1e8, one at 2: the 2-d lattice stopped at ~1e-5 with a warning
    # (and scipy's dblquad is off by 2e-9 here); the nested sinh rule matches mpmath, in both
    # orders of the arguments
    reference = _tanh_pair_mp(1e8 + 1, 2.0, 1e4 + 1)
    for args in ((1e8 + 1, 2.0, 1e4 + 1), (2.0, 1e8 + 1, 1e4 + 1)):
        assert float(pair_expectation("tanh", *args)) == pytest.approx(reference, rel=1e-14)


@pytest.mark.parametrize("name", ["tanh", "gelu", "swish"])
def test_wide_pair_converges_without_warning(name):
    # a large and a moderate variance, not collinear: converged (filterwarnings = error) and
    # consistent under exchange of the two variables
    k11, k22, k12 = 1e200, 2.0, 1e100
    forward = float(pair_expectation(name, k11, k22, k12))
    backward = float(pair_expectation(name, k22, k11, k12))
    assert forward == pytest.approx(backward, rel=1e-12)
    assert np.isfinite(forward)


@pytest.mark.parametrize(
    ("k11", "k22", "k12"),
    [(1e8 + 1, 2.0, 1e4 + 1), (2.0, 1e8 + 1, -1e4 + 1), (1e200, 2.0, 1e100), (9e4, 4e4, -5e4)],
)
def test_wide_pair_rule_against_the_erf_closed_form(k11, k22, k12):
    # erf given as a plain callable has no closed pair form, so it takes the quadrature (the
    # nested sinh rule where the lattice fails); Williams' arcsin form is the reference
    def plain_erf(z):
        return scipy_erf(z)

    value = float(pair_expectation(plain_erf, k11, k22, k12))
    assert value == pytest.approx(float(pair_expectation("erf", k11, k22, k12)), rel=1e-13)


def test_internal_pair_values_refuses_higher_derivatives():
    # the lattice evaluates σ or σ' only: an order of 2 or 3 must not be read as 1
    from fieldnn.kernels.activations import get_activation
    from fieldnn.kernels.gaussian import pair_values

    one = np.ones(1)
    for orders in ((2, 0), (2, 2), (3, 1)):
        with pytest.raises(ArgumentError, match="derivatives"):
            pair_values(get_activation("tanh"), one, one, 0.3 * one, orders)
