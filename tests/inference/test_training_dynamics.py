"""The O(1/n) training dynamics: training filters and chain integrals against quadrature and
closed forms, the degree-5 Gaussian rule against Isserlis, the gradient-descent recursion against
exact gradient descent on polynomial models (first order in the coupling), and the closed-form
gradient flow against the descent recursion as η → 0."""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np
import pytest
from scipy import integrate

from fieldnn.inference._spectral import TrainingFilter, chain_integrals, gauss_rule5
from fieldnn.inference._training_dynamics import descent_trajectory, flow_correction


def test_filters_and_their_divided_differences():
    x = np.array([0.7, 1.3, 2.2])
    gf = TrainingFilter(2.0)
    g = lambda v: -np.expm1(-2.0 * v) / v  # noqa: E731
    np.testing.assert_allclose(gf.values(x), g(x), rtol=1e-13)
    np.testing.assert_allclose(gf.divided(x[:2]), (g(0.7) - g(1.3)) / (0.7 - 1.3), rtol=1e-12)
    d3 = ((g(0.7) - g(1.3)) / (0.7 - 1.3) - (g(1.3) - g(2.2)) / (1.3 - 2.2)) / (0.7 - 2.2)
    np.testing.assert_allclose(gf.divided(x), d3, rtol=1e-10)
    # confluent: g[a, a] = g'(a), g[a, a, a] = g''(a)/2, by complex-free central differences
    h = 1e-4
    np.testing.assert_allclose(
        gf.divided(np.array([0.9, 0.9])), (g(0.9 + h) - g(0.9 - h)) / (2 * h), rtol=1e-7
    )
    np.testing.assert_allclose(
        gf.divided(np.array([0.9, 0.9, 0.9])),
        (g(0.9 + h) - 2 * g(0.9) + g(0.9 - h)) / (2 * h * h),
        rtol=1e-5,
    )
    gd = TrainingFilter(4.0, 0.05)
    assert gd.steps == 80
    np.testing.assert_allclose(gd.values(x), (1 - (1 - 0.05 * x) ** 80) / x, rtol=1e-12)
    inf = TrainingFilter(math.inf)
    np.testing.assert_allclose(inf.divided(x), 1 / np.prod(x), rtol=1e-13)


def test_chain_integrals_against_quadrature():
    r, t = [0.5, 1.2, 2.0], 1.7
    f = lambda s2, s1: np.exp(-r[0] * (t - s1) - r[1] * (s1 - s2) - r[2] * s2)  # noqa: E731
    value = integrate.dblquad(f, 0, t, 0, lambda s1: s1, epsabs=1e-13)[0]
    np.testing.assert_allclose(chain_integrals(np.array(r), t), value, rtol=1e-10)
    # a resonant chain (equal rates) is t e^{-λt}
    np.testing.assert_allclose(
        chain_integrals(np.array([0.8, 0.8]), 2.5), 2.5 * np.exp(-2.0), rtol=1e-12
    )
    rates = np.array([[0.0, 1.2, 2.0], [0.3, 1.2, 2.0]])
    np.testing.assert_allclose(chain_integrals(rates, math.inf), [1 / 2.4, 0.0])
    np.testing.assert_allclose(chain_integrals(rates, 80.0), [1 / 2.4, 0.0], atol=1e-10)


def test_gauss_rule5_is_exact_to_degree_five():
    rng = np.random.default_rng(0)
    d = 6
    X, w = gauss_rule5(d)
    assert X.shape == (2 * d * d + 1, d)
    a, b = rng.normal(size=d), rng.normal(size=d)
    ax, bx = X @ a, X @ b
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-13)
    np.testing.assert_allclose(w @ ax**4, 3 * (a @ a) ** 2, rtol=1e-12)
    np.testing.assert_allclose(
        w @ (ax**2 * bx**2), (a @ a) * (b @ b) + 2 * (a @ b) ** 2, rtol=1e-12
    )
    np.testing.assert_allclose(w @ (ax**3 * bx**2), 0.0, atol=1e-12)
    # degree 6 is not integrated exactly: the rule is not trivially "exact for everything"
    assert abs(w @ ax**6 - 15 * (a @ a) ** 3) > 1e-3


def _polynomial_model(seed: int, p: int, N: int, NA: int, smallest: float | None = None):
    rng = np.random.default_rng(seed)
    J = rng.normal(size=(N, p)) / np.sqrt(p)
    if smallest is not None:  # training block with eigenvalues 9, 0.8, smallest
        U, _, V = np.linalg.svd(J[:NA], full_matrices=False)
        J[:NA] = U @ np.diag(np.sqrt([9.0, 0.8, smallest])) @ V
    return rng, J


def _train(J, Q, C, c, y, NA, k, eta, T):
    """Exact GD on z = c + Jθ + (k/2)Qθθ + (k/6)Cθθθ from θ = 0."""
    th = np.zeros(J.shape[1])

    def out(th):
        return (
            c
            + J @ th
            + k / 2 * np.einsum("mab,a,b->m", Q, th, th)
            + k / 6 * np.einsum("mabc,a,b,c->m", C, th, th, th)
        )

    for _ in range(T):
        jac = J + k * np.einsum("mab,b->ma", Q, th) + k / 2 * np.einsum("mabc,b,c->ma", C, th, th)
        th = th - eta * jac[:NA].T @ (out(th)[:NA] - y)
    return out(th)


@pytest.mark.parametrize("eta,T,smallest", [(0.3, 40, None), (0.05, 800, 0.21)])
def test_descent_recursion_is_first_order_gradient_descent_dntk_and_first_ddntk(eta, T, smallest):
    # z = c + Jθ + (k/2)Qθθ + (k/6)Cθθθ: Θ = JJᵀ, dH = k QJJ, ddI = k CJJJ, ddII = O(k²);
    # the recursion must be the exact O(k) coefficient of the trained outputs
    NA, N, p = 3, 5, 8
    rng, J = _polynomial_model(2, p, N, NA, smallest)
    Q = rng.normal(size=(N, p, p))
    Q = Q + Q.transpose(0, 2, 1)
    C = rng.normal(size=(N, p, p, p))
    C = sum(C.transpose((0, *(1 + np.array(s)))) for s in permutations(range(3))) / 6
    c, y = rng.normal(size=N), rng.normal(size=NA)
    dH = np.einsum("mab,ia,jb->mij", Q, J, J)
    ddI = np.einsum("mabc,ia,jb,kc->mijk", C, J, J, J)
    E2 = ddI + ddI.transpose(1, 0, 2, 3)
    z1 = descent_trajectory(
        J @ J.T,
        (c[:NA] - y)[None],
        dH[None][:, :, :NA, :NA],
        dH[None][:, :NA, :, :NA],
        ddI[:, :NA, :NA, :NA],
        ddI[:NA, :, :NA, :NA],
        E2[:, :NA, :NA, :NA],
        ddI[:, :NA, :NA, :NA],
        eta,
        T,
    )[0][0]
    errors = []
    for k in (1e-4, 1e-5):
        coef = (_train(J, Q, C, c, y, NA, k, eta, T) - _train(J, Q, C, c, y, NA, -k, eta, T)) / (
            2 * k
        )
        errors.append(np.max(np.abs(coef - z1)))
    assert errors[1] < 1e-4 * np.max(np.abs(z1))
    assert 80 < errors[0] / errors[1] < 120  # the residual is O(k²): first order is exact


def test_descent_recursion_second_ddntk():
    # z = c + Jθ + (√k/2)Qθθ with Q pairing the row space S of J with its complement: dH = 0,
    # ddII = k Q Q J J, and the trained outputs are even in √k, so their O(k) coefficient is
    # the ddII-driven recursion alone
    NA, N, p = 3, 5, 9
    rng, J = _polynomial_model(3, p, N, NA)
    basis = np.linalg.qr(J.T, mode="complete")[0]
    S, P = basis[:, :N], basis[:, N:]
    Q = np.einsum("mab,ia,jb->mij", rng.normal(size=(N, N, p - N)), S, P)
    Q = Q + Q.transpose(0, 2, 1)
    c, y = rng.normal(size=N), rng.normal(size=NA)
    eta, T = 0.1, 300
    ddII = np.einsum("xab,yac,ib,jc->xyij", Q, Q, J, J)
    DD = ddII + ddII.transpose(0, 2, 1, 3)
    zero = np.zeros((1, N, N, N))
    z1 = descent_trajectory(
        J @ J.T,
        (c[:NA] - y)[None],
        zero[:, :, :NA, :NA],
        zero[:, :NA, :, :NA],
        DD[:, :NA, :NA, :NA],
        DD[:NA, :, :NA, :NA],
        2 * ddII[:, :NA, :NA, :NA],
        np.zeros((N, NA, NA, NA)),
        eta,
        T,
    )[0][0]
    C0 = np.zeros((N, p, p, p))
    base = _train(J, Q, C0, c, y, NA, 0.0, eta, T)
    errors = [
        np.max(np.abs((_train(J, np.sqrt(k) * Q, C0, c, y, NA, 1.0, eta, T) - base) / k - z1))
        for k in (1e-4, 1e-5)
    ]
    assert np.max(np.abs(z1)) > 1.0
    assert 8 < errors[0] / errors[1] < 12  # residual O(k)


def test_flow_closed_form_is_the_small_step_limit_of_descent():
    rng = np.random.default_rng(1)
    NA, N, q = 3, 5, 2
    X = rng.normal(size=(N, N))
    theta = X @ X.T / N + 0.5 * np.eye(N)
    u = rng.normal(size=(q, NA))
    D = rng.normal(size=(q, N, N, N))
    DD = rng.normal(size=(N, N, N, N))
    args = (D[:, :, :NA, :NA], D[:, :NA, :, :NA], DD[:, :NA, :NA, :NA], DD[:NA, :, :NA, :NA])
    E2, ddI = rng.normal(size=(2, N, NA, NA, NA))
    t = 1.3
    flow = sum(flow_correction(theta, u, *args, t))
    err = [
        np.max(np.abs(descent_trajectory(theta, u, *args, E2, ddI, eta, round(t / eta))[0] - flow))
        for eta in (2e-2, 1e-2)
    ]
    assert 1.8 < err[0] / err[1] < 2.2  # O(η) convergence to the closed form
    assert err[1] < 0.02 * np.max(np.abs(flow))
    far = sum(flow_correction(theta, u, *args, 200.0))
    np.testing.assert_allclose(sum(flow_correction(theta, u, *args, math.inf)), far, atol=1e-12)
    # the split is by source: zero dNTK leaves only the ddNTK part, and conversely
    only_dd = flow_correction(theta, u, 0 * args[0], 0 * args[1], *args[2:], t)
    np.testing.assert_allclose(only_dd[0], 0.0, atol=1e-15)
    np.testing.assert_allclose(only_dd[1], flow_correction(theta, u, *args, t)[1], rtol=1e-13)
