"""sin: the closed pair expectations derived with sympy, against the project's quadrature and
against sampled networks.

⟨sin u sin v⟩ = e^{−(k11+k22)/2} sinh k12 and ⟨cos u cos v⟩ = e^{−(k11+k22)/2} cosh k12 for
(u, v) ~ N(0, [[k11, k12], [k12, k22]]): the pair terms of the NNGP and NTK recursions for
σ = sin (``fieldnn/kernels/activations.py``; σ' = cos, so the second is the NTK's ⟨σ'σ'⟩).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from fieldnn.ensembles import MLP, estimate_correlators
from fieldnn.kernels.activations import get_activation
from fieldnn.kernels.gaussian import _pair_quadrature


def test_closed_forms_derived_by_gaussian_integration() -> None:
    """sin u sin v = [cos(u − v) − cos(u + v)]/2 and cos u cos v = [cos(u − v) + cos(u + v)]/2;
    u ∓ v is centred Gaussian with variance k11 ∓ 2 k12 + k22, and sympy integrates
    ⟨cos(s z)⟩ = e^{−s²/2} for z ~ N(0, 1). Together they give both closed forms exactly, and
    Price's theorem (∂/∂k12 ⟨σσ⟩ = ⟨σ'σ'⟩) links them."""
    u, v, z = sp.symbols("u v z", real=True)
    s = sp.symbols("s", positive=True)
    k11, k22, k12 = sp.symbols("k11 k22 k12", positive=True)
    assert sp.simplify(sp.sin(u) * sp.sin(v) - (sp.cos(u - v) - sp.cos(u + v)) / 2) == 0
    assert sp.simplify(sp.cos(u) * sp.cos(v) - (sp.cos(u - v) + sp.cos(u + v)) / 2) == 0
    gauss_cos = sp.integrate(
        sp.cos(s * z) * sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi), (z, -sp.oo, sp.oo)
    )
    minus = gauss_cos.subs(s, sp.sqrt(k11 - 2 * k12 + k22))  # ⟨cos(u − v)⟩
    plus = gauss_cos.subs(s, sp.sqrt(k11 + 2 * k12 + k22))  # ⟨cos(u + v)⟩
    sin_closed = sp.exp(-(k11 + k22) / 2) * sp.sinh(k12)
    cos_closed = sp.exp(-(k11 + k22) / 2) * sp.cosh(k12)
    assert sp.simplify(((minus - plus) / 2 - sin_closed).rewrite(sp.exp)) == 0
    assert sp.simplify(((minus + plus) / 2 - cos_closed).rewrite(sp.exp)) == 0
    assert sp.simplify(sp.diff(sin_closed, k12) - cos_closed) == 0


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variances 0 … 10 and correlations −1 … 1 (±1 included)."""
    ks = (0.0, 1e-3, 0.5, 2.0, 10.0)
    rows = [
        (k1, k2, rho * np.sqrt(k1 * k2))
        for k1 in ks
        for k2 in ks
        for rho in (-1.0, -0.4, 0.0, 0.9, 1.0)
        if k1 <= k2
    ]
    return tuple(np.array(col) for col in zip(*rows, strict=True))  # type: ignore[return-value]


@pytest.mark.parametrize("order", [0, 1])
def test_closed_forms_match_the_quadrature(order: int) -> None:
    """The registry's closed forms against the project's pair quadrature of sin (order 0) and
    of its derivative cos (order 1): within 1e-12 absolute on the grid."""
    k1, k2, k12 = _grid()
    act = get_activation("sin")
    reference = _pair_quadrature(act, (order, order), k1, k2, k12)
    closed = (act.pair_expectation if order == 0 else act.derivative_pair_expectation)(k1, k2, k12)
    assert np.max(np.abs(closed - reference)) <= 1e-12


def test_sampled_sin_networks_have_the_closed_form_two_point_function() -> None:
    """One hidden layer of width 30: G2 = C_b + C_W ⟨sin z sin z'⟩ exactly at any width."""
    X = np.array([[-1.0], [0.2], [0.9]])
    mlp = MLP("sin", widths=[1, 30, 1], C_W=1.5, C_b=0.2)
    K1 = 0.2 + 1.5 * X @ X.T
    exact = 0.2 + 1.5 * get_activation("sin").pair_expectation(
        np.diag(K1)[:, None], np.diag(K1)[None, :], K1
    )
    est = estimate_correlators(mlp, X, 20_000, orders=(2,), rng=5)
    pulls = np.abs(est.full(2) - exact) / est.stderr(2, connected=False)
    assert np.all(np.isfinite(pulls)) and pulls.max() < 5.0
    # the same formula with another activation's pair term (erf) is rejected
    wrong = 0.2 + 1.5 * get_activation("erf").pair_expectation(
        np.diag(K1)[:, None], np.diag(K1)[None, :], K1
    )
    assert (np.abs(est.full(2) - wrong) / est.stderr(2, connected=False)).max() > 5.0
    np.testing.assert_allclose(mlp.kernel(X), exact, rtol=1e-13)
