"""gradient_flow_prediction against the NTK formula (t = ∞), the numerically integrated linear
ODE (finite t), the iterated linearised gradient descent, and Lee et al. eq. 16."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, linalg

from fieldnn.ensembles import MLP
from fieldnn.errors import ArgumentError
from fieldnn.inference import gp_posterior, gradient_flow_prediction

from ._reference import kernels

XA = np.linspace(-1.5, 1.5, 5)[:, None]
XB = np.array([[-2.0], [-0.4], [0.55], [1.9]])
Y = np.array([0.4, -0.3, 0.8, 0.1, -0.6])
LW, LB = [0.7, 1.3, 0.9], [0.2, 0.5, 0.1]


@pytest.fixture
def mlp():
    return MLP("erf", [1, 32, 32, 1], C_W=[1.5, 1.6, 1.2], C_b=[0.1, 0.2, 0.05])


def _blocks(mlp):
    X = np.concatenate([XA, XB])
    K = mlp.kernel(X)
    T = mlp.ntk(X, lambda_W=LW, lambda_b=LB)
    p = len(XA)
    return K[:p, :p], K[:p, p:], K[p:, p:], T[:p, :p], T[:p, p:]


def test_ntk_of_reference_activation():
    """The NTK used here is the forward recursion of the seed (cross-check of mlp.ntk)."""
    mlp = MLP("erf", [1, 8, 8, 1], C_W=[1.5, 1.6, 1.2], C_b=[0.1, 0.2, 0.05])
    X = np.concatenate([XA, XB])
    _, T = kernels("erf", X, mlp.widths, mlp.C_W, mlp.C_b, LW, LB)
    np.testing.assert_allclose(mlp.ntk(X, lambda_W=LW, lambda_b=LB), T, rtol=1e-10)


def test_infinite_time(mlp):
    KAA, KAB, KBB, TAA, TAB = _blocks(mlp)
    mean, cov = gradient_flow_prediction(mlp, XA, Y, XB, t=math.inf, lambda_W=LW, lambda_b=LB)
    np.testing.assert_allclose(mean, TAB.T @ np.linalg.solve(TAA, Y), rtol=1e-8, atol=1e-12)
    # Lee et al. (2019) eq. 16 at t = ∞, written out term by term
    A = TAB.T @ np.linalg.inv(TAA)
    lee = KBB + A @ KAA @ A.T - (A @ KAB + KAB.T @ A.T)
    np.testing.assert_allclose(cov, lee, rtol=1e-7, atol=1e-10)
    # interpolation of the training data at t = ∞
    m_train, c_train = gradient_flow_prediction(mlp, XA, Y, XA, lambda_W=LW, lambda_b=LB)
    np.testing.assert_allclose(m_train, Y, atol=1e-9)
    np.testing.assert_allclose(c_train, 0, atol=1e-8)


@pytest.mark.parametrize("t", [0.0, 0.3, 2.5, 40.0])
def test_finite_time_against_ode(mlp, t):
    KAA, KAB, KBB, TAA, TAB = _blocks(mlp)
    p = len(XA)

    # the mean: dz_A/dt = −Θ_AA (z_A − y), dz_B/dt = −Θ_BA (z_A − y), z(0) = 0
    def rhs(_, z):
        eps = z[:p] - Y
        return -np.concatenate([TAA @ eps, TAB.T @ eps])

    sol = integrate.solve_ivp(
        rhs, (0, t), np.zeros(p + len(XB)), method="LSODA", rtol=1e-11, atol=1e-13
    )
    mean, cov = gradient_flow_prediction(mlp, XA, Y, XB, t=t, lambda_W=LW, lambda_b=LB)
    np.testing.assert_allclose(mean, sol.y[p:, -1], rtol=1e-7, atol=1e-9)
    # the covariance with the matrix exponential
    T = TAB.T @ np.linalg.solve(TAA, np.eye(p) - linalg.expm(-TAA * t))
    expected = KBB - T @ KAB - KAB.T @ T.T + T @ KAA @ T.T
    np.testing.assert_allclose(cov, expected, rtol=1e-7, atol=1e-10)
    if t == 0.0:
        np.testing.assert_allclose(cov, KBB, rtol=1e-12)


def test_large_time_limit(mlp):
    m_inf, c_inf = gradient_flow_prediction(mlp, XA, Y, XB, lambda_W=LW, lambda_b=LB)
    m_t, c_t = gradient_flow_prediction(mlp, XA, Y, XB, t=1e7, lambda_W=LW, lambda_b=LB)
    np.testing.assert_allclose(m_t, m_inf, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(c_t, c_inf, rtol=1e-5, atol=1e-9)


def test_gradient_descent_version_iterates_linear_model(mlp):
    KAA, KAB, KBB, TAA, TAB = _blocks(mlp)
    eta, steps = 0.05, 37
    p = len(XA)
    # transfer matrix M with z_B(s) = z_B(0) − M (z_A(0) − y), by iterating GD explicitly
    E, M = np.eye(p), np.zeros((len(XB), p))
    for _ in range(steps):
        M += eta * TAB.T @ E
        E -= eta * TAA @ E
    mean, cov = gradient_flow_prediction(
        mlp, XA, Y, XB, t=eta * steps, lambda_W=LW, lambda_b=LB, learning_rate=eta
    )
    np.testing.assert_allclose(mean, M @ Y, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        cov, KBB - M @ KAB - KAB.T @ M.T + M @ KAA @ M.T, rtol=1e-8, atol=1e-12
    )
    with pytest.raises(ArgumentError, match="'t'"):
        gradient_flow_prediction(mlp, XA, Y, XB, t=0.123, learning_rate=eta)


def test_replica_noise(mlp):
    rng = np.random.default_rng(0)
    B = rng.standard_normal((len(XA), len(XA)))
    C = 0.01 * B @ B.T
    t = 3.0
    m0, c0 = gradient_flow_prediction(mlp, XA, Y, XB, t=t, lambda_W=LW, lambda_b=LB)
    m1, c1 = gradient_flow_prediction(mlp, XA, Y, XB, t=t, lambda_W=LW, lambda_b=LB, C_Y=C)
    _, _, _, TAA, TAB = _blocks(mlp)
    T = TAB.T @ np.linalg.solve(TAA, np.eye(len(XA)) - linalg.expm(-TAA * t))
    np.testing.assert_allclose(m1, m0, rtol=1e-12)
    np.testing.assert_allclose(c1 - c0, T @ C @ T.T, rtol=1e-7, atol=1e-12)


def test_errors(mlp):
    with pytest.raises(ArgumentError, match="'t'"):
        gradient_flow_prediction(mlp, XA, Y, XB, t=-1.0)
    with pytest.raises(ArgumentError, match="'t'"):
        gradient_flow_prediction(mlp, XA, Y, XB, t=-math.inf)
    X2 = np.concatenate([XA, XA[:1]])
    with pytest.raises(ArgumentError, match=r"X_train.*singular"):
        gradient_flow_prediction(mlp, X2, np.append(Y, Y[0]), XB)
    # finite t needs no inverse: duplicate inputs are fine
    mean, _ = gradient_flow_prediction(mlp, X2, np.append(Y, Y[0]), XB, t=1.0)
    assert np.all(np.isfinite(mean))
    with pytest.raises(ArgumentError, match="learning_rate"):
        gradient_flow_prediction(mlp, XA, Y, XB, learning_rate=100.0)
    with pytest.raises(ArgumentError, match="C_Y"):
        gradient_flow_prediction(mlp, XA, Y, XB, C_Y=np.eye(2))


def test_training_only_the_last_layer_is_exact_bayesian_inference():
    """λ = 0 except λ_b^(L) = C_b^(L), λ_W^(L) = C_W^(L): then Θ = K and the t = ∞ ensemble is
    the GP posterior (RYH ch. 10: readout-only training at infinite width is Bayesian)."""
    mlp = MLP("erf", [1, 32, 32, 1], C_W=[1.5, 1.6, 1.2], C_b=[0.1, 0.2, 0.05])
    lb, lw = [0.0, 0.0, 0.05], [0.0, 0.0, 1.2]
    m_flow, c_flow = gradient_flow_prediction(mlp, XA, Y, XB, lambda_b=lb, lambda_W=lw)
    m_gp, c_gp = gp_posterior(mlp, XA, Y, XB)
    np.testing.assert_allclose(m_flow, m_gp, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(c_flow, c_gp, rtol=1e-7, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(
    xs=st.lists(st.floats(-3, 3), min_size=2, max_size=5, unique=True),
    ys=st.lists(st.floats(-2, 2), min_size=5, max_size=5),
    t=st.one_of(st.floats(0, 50), st.just(math.inf)),
)
def test_prediction_covariances_are_psd(xs, ys, t):
    xs = np.array(xs)
    assume(np.min(np.diff(np.sort(xs))) >= 0.3)  # nearly coincident inputs: ill-conditioned
    mlp = MLP("erf", [1, 16, 1], C_W=1.5, C_b=0.2)
    XA_, y_ = xs[:, None], np.array(ys[: len(xs)])
    K = mlp.kernel(XB)
    _, c_gp = gp_posterior(mlp, XA_, y_, XB)
    # conditioning reduces uncertainty: 0 ≤ Σ_B ≤ K_BB (Loewner order)
    assert np.linalg.eigvalsh(c_gp)[0] > -1e-9 * K.max()
    assert np.linalg.eigvalsh(K - c_gp)[0] > -1e-9 * K.max()
    _, c_flow = gradient_flow_prediction(mlp, XA_, y_, XB, t=t)
    assert np.linalg.eigvalsh(c_flow)[0] > -1e-8 * K.max()


def test_single_layer_net_is_accepted_as_its_mlp() -> None:
    """A seed-001 SingleLayerNet trains as MLP [d_in, N, d_out] with C_W = σ_W², C_b = σ_b²:
    at t = 0 the covariance is the net's own closed-form kernel (independent of the MLP
    recursion), at t = ∞ the training targets are interpolated; the Gauss-net is refused."""
    from fieldnn.ensembles import SingleLayerNet
    from fieldnn.errors import UnsupportedError

    net = SingleLayerNet("erf", 50, d_in=1, sigma_w2=1.3, sigma_b2=0.2)
    XB = np.array([[-0.7], [0.4]])
    y = np.sin(XA[:, 0])
    _, c0 = gradient_flow_prediction(net, XA, y, XB, t=0.0)
    np.testing.assert_allclose(c0, net.kernel(XB), rtol=1e-10, atol=1e-12)
    m_inf, _ = gradient_flow_prediction(net, XA, y, XA)
    np.testing.assert_allclose(m_inf, y, atol=1e-8)
    twin = MLP("erf", [1, 50, 1], C_W=1.3, C_b=0.2)
    for t in (0.3, math.inf):
        a = gradient_flow_prediction(net, XA, y, XB, t=t)
        b = gradient_flow_prediction(twin, XA, y, XB, t=t)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    with pytest.raises(UnsupportedError, match="'mlp'"):
        gradient_flow_prediction(SingleLayerNet("gauss", 5), XA, y, XB)
