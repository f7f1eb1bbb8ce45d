"""GELU closed-form pair expectations against the quadrature and the symbolic derivative."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

from fieldnn.kernels._gelu import gelu_derivative_pair, gelu_pair
from fieldnn.kernels.activations import get_activation
from fieldnn.kernels.deep import kernel_and_ntk
from fieldnn.kernels.gaussian import _pair_quadrature


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variances 0 … 10 and correlations −1 … 1 (±1 and ±(1 − 1e-6) included)."""
    ks = (0.0, 1e-3, 0.5, 2.0, 10.0)
    rows = [
        (k1, k2, rho * np.sqrt(k1 * k2))
        for k1 in ks
        for k2 in ks
        for rho in (-1.0, -0.999999, -0.4, 0.0, 0.9, 1.0)
        if k1 <= k2
    ]
    return tuple(np.array(col) for col in zip(*rows, strict=True))  # type: ignore[return-value]


@pytest.mark.parametrize(("order", "closed"), [(0, gelu_pair), (1, gelu_derivative_pair)])
def test_closed_form_matches_quadrature(order, closed):
    a, b, c = _grid()
    act = get_activation("gelu")
    reference = _pair_quadrature(act, (order, order), a, b, c)
    value = closed(a, b, c, ())
    # measured: ≤ 2.1e-14 relative on this grid; exact zeros where a variance vanishes
    np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-300)
    assert np.all(value[(a == 0) & (order == 0)] == 0.0)


def test_closed_forms_are_the_derivation():
    # the form first derived (N = k11 k22 + k12²(1/A + 1/B − 1)) equals the cancellation-free
    # one, and by Price's theorem ⟨σ'σ'⟩ = ∂⟨σσ⟩/∂k12 (sympy, exactly)
    k11, k22 = sp.symbols("k11 k22", positive=True)
    k12 = sp.Symbol("k12", real=True)
    A, B = 1 + k11, 1 + k22
    D = A * B - k12**2
    det = k11 * k22 - k12**2
    head = k12 / 4 + k12 * sp.asin(k12 / sp.sqrt(A * B)) / (2 * sp.pi)
    derived = head + (k11 * k22 + k12**2 * (1 / A + 1 / B - 1)) / (2 * sp.pi * sp.sqrt(D))
    F = head + (det + k12**2 * (1 / A + 1 / B)) / (2 * sp.pi * sp.sqrt(D))
    M = 3 + (k11 + det) / B + (k22 + det) / A
    G = sp.Rational(1, 4) + sp.asin(k12 / sp.sqrt(A * B)) / (2 * sp.pi)
    G += k12 * M / (2 * sp.pi * D ** sp.Rational(3, 2))
    assert sp.simplify(F - derived) == 0
    assert sp.simplify(sp.diff(F, k12) - G) == 0
    for point in ((1.0, 2.0, 0.5), (0.3, 3.0, -0.9), (4.0, 4.0, 3.999)):
        subs = dict(zip((k11, k22, k12), point, strict=True))
        args = (*map(np.array, point), ())
        assert float(gelu_pair(*args)) == pytest.approx(float(F.subs(subs).evalf(30)), rel=1e-14)
        assert float(gelu_derivative_pair(*args)) == pytest.approx(
            float(G.subs(subs).evalf(30)), rel=1e-14
        )


def test_huge_variances_stay_finite():
    k = np.array([1e300, 1e-300, 1.0])
    for f in (gelu_pair, gelu_derivative_pair):
        assert np.all(np.isfinite(f(k, k, k, ())))
    # a huge variance: gelu → relu, ⟨gelu(z)²⟩ → k/2 and ⟨gelu'(z)²⟩ → 1/2 (relative O(k^{-1/2}))
    for k in (1e12, 1e200):
        k = np.array(k)
        assert gelu_pair(k, k, k, ()) == pytest.approx(0.5 * k, rel=1e-5)
        assert gelu_derivative_pair(k, k, k, ()) == pytest.approx(0.5, rel=1e-5)
        assert gelu_derivative_pair(k, k, -k, ()) == pytest.approx(0.0, abs=1e-5)


def test_deep_gelu_kernel_equals_the_quadrature_path():
    X = np.random.default_rng(0).normal(size=(4, 2))
    act = get_activation("gelu")
    no_closed = dataclasses.replace(act, _pair=None, _derivative_pair=None)
    for a in (act, no_closed):
        assert a.name == "gelu"
    K, T = kernel_and_ntk(act, X, C_W=1.5, C_b=0.1, lambda_W=1.0, lambda_b=0.2, depth=4)
    Kq, Tq = kernel_and_ntk(no_closed, X, C_W=1.5, C_b=0.1, lambda_W=1.0, lambda_b=0.2, depth=4)
    np.testing.assert_allclose(K, Kq, rtol=1e-12)
    np.testing.assert_allclose(T, Tq, rtol=1e-12)


@pytest.mark.parametrize("k", [1e2, 1e4, 1e8])
@pytest.mark.parametrize("rho", [-1.0, -0.999])
def test_anticorrelated_large_variance_matches_quadrature(k, rho):
    # the cancellation regime: ⟨σσ⟩ by the conditioned 1-d integral, ⟨σ'σ'⟩ with the
    # accurate arccos(−ρ); measured ≤ 1.5e-13 relative against the quadrature
    a, b, c = np.array([k]), np.array([4 * k]), np.array([2 * k * rho])
    act = get_activation("gelu")
    for order, closed in ((0, gelu_pair), (1, gelu_derivative_pair)):
        reference = _pair_quadrature(act, (order, order), a, b, c)
        np.testing.assert_allclose(closed(a, b, c, ()), reference, rtol=1e-12)


def test_compiled_layer_matches_closed_form_and_quadrature():
    # one layer with C_W = 1, C_b = λ_W = λ_b = 0 and Θ = 1 returns ⟨σσ⟩ and ⟨σ'σ'⟩ themselves
    from fieldnn.kernels import _pairs

    loop = _pairs.smooth_loop()
    if loop is None:
        pytest.skip("numba not available: only the NumPy closed forms exist")
    a, b, c = _grid()
    act = get_activation("gelu")
    one, zero = np.ones(1), np.zeros(1)
    got = np.array(
        [
            [
                v[0, 0]
                for v in _pairs._run_smooth(
                    loop,
                    act,
                    np.array([k11]),
                    np.array([k22]),
                    np.array([[k12]]),
                    np.ones((1, 1)),
                    one,
                    zero,
                    zero,
                    zero,
                    square=False,
                    start=0,
                    stop=1,
                )[1:3]
            ]
            for k11, k22, k12 in zip(a, b, c, strict=True)
        ]
    )
    # measured: ≤ 3.3e-16 relative to the NumPy closed forms (libm's asin for NumPy's
    # arcsin); against the quadrature as the closed forms themselves (≤ 1.5e-14)
    for order, closed in ((0, gelu_pair), (1, gelu_derivative_pair)):
        np.testing.assert_allclose(got[:, order], closed(a, b, c, ()), rtol=1e-14, atol=0)
        reference = _pair_quadrature(act, (order, order), a, b, c)
        np.testing.assert_allclose(got[:, order], reference, rtol=1e-12, atol=1e-300)
