"""gp_posterior against independent linear algebra on a hand-built joint Gaussian."""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.ensembles import MLP
from fieldnn.errors import ArgumentError, ShapeError
from fieldnn.inference import gp_posterior

from ._reference import kernels

XA = np.array([[-1.2, 0.3], [0.1, -0.8], [0.9, 1.1], [1.5, -0.2]])
XB = np.array([[0.0, 0.0], [-0.5, 1.0], [2.0, 0.4]])
Y = np.array([0.3, -1.1, 0.7, 0.2])


@pytest.fixture(params=["erf", "relu"])
def mlp(request):
    return MLP(request.param, [2, 64, 64, 1], C_W=[1.5, 1.8, 1.2], C_b=[0.2, 0.1, 0.3])


def _joint(mlp):
    X = np.concatenate([XA, XB])
    K, _ = kernels(mlp.activation.name, X, mlp.widths, mlp.C_W, mlp.C_b)
    p = XA.shape[0]
    return K, K[:p, :p], K[:p, p:], K[p:, p:]


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_conditioning_formula(mlp, noise):
    K, KAA, KAB, KBB = _joint(mlp)
    A = KAA + noise * np.eye(len(XA))
    mean, cov = gp_posterior(mlp, XA, Y, XB, noise=noise)
    np.testing.assert_allclose(mean, KAB.T @ np.linalg.solve(A, Y), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cov, KBB - KAB.T @ np.linalg.solve(A, KAB), rtol=1e-8, atol=1e-12)
    # the seed's block-inverse form: the precision matrix of the joint Gaussian
    J = K.copy()
    J[: len(XA), : len(XA)] = A
    prec = np.linalg.inv(J)
    pbb, pba = prec[len(XA) :, len(XA) :], prec[len(XA) :, : len(XA)]
    np.testing.assert_allclose(cov, np.linalg.inv(pbb), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(mean, -np.linalg.solve(pbb, pba @ Y), rtol=1e-7, atol=1e-10)


def test_interpolates_training_points(mlp):
    mean, cov = gp_posterior(mlp, XA, Y, XA)
    np.testing.assert_allclose(mean, Y, atol=1e-9)
    np.testing.assert_allclose(cov, 0.0, atol=1e-9)


def test_posterior_by_sampling_the_joint_gaussian():
    """Monte Carlo: condition samples of the joint GP by the regression trick
    z_B − K_BA K_AA⁻¹ (z_A − y), an exact posterior sample (Matheron's rule)."""
    mlp = MLP("erf", [2, 8, 1], C_W=2.0, C_b=0.1)
    K, KAA, KAB, _ = _joint(mlp)
    rng = np.random.default_rng(3)
    z = rng.multivariate_normal(np.zeros(len(K)), K, size=40_000)
    zA, zB = z[:, : len(XA)], z[:, len(XA) :]
    post = zB - (zA - Y) @ np.linalg.solve(KAA, KAB)
    mean, cov = gp_posterior(mlp, XA, Y, XB)
    se = np.sqrt(np.diag(cov) / len(post))
    assert np.all(np.abs(post.mean(axis=0) - mean) < 4.5 * se)
    np.testing.assert_allclose(np.cov(post.T), cov, atol=5 * np.sqrt(2 / len(post)) * cov.max())


def test_several_outputs():
    mlp = MLP("erf", [2, 16, 3], C_W=1.5, C_b=0.1)
    Y3 = np.stack([Y, 2 * Y, -Y], axis=1)
    mean, cov = gp_posterior(mlp, XA, Y3, XB)
    assert mean.shape == (3, 3) and cov.shape == (3, 3)
    m1, c1 = gp_posterior(mlp, XA, Y, XB)
    np.testing.assert_allclose(mean, np.stack([m1, 2 * m1, -m1], axis=1), rtol=1e-12)
    np.testing.assert_allclose(cov, c1, rtol=1e-12)


def test_singular_kernel_is_an_error_not_nan():
    mlp = MLP("erf", [2, 16, 1], C_W=1.5, C_b=0.1)
    X = np.concatenate([XA, XA[:1]])
    y = np.concatenate([Y, Y[:1]])
    with pytest.raises(ArgumentError, match=r"X_train.*singular"):
        gp_posterior(mlp, X, y, XB)
    mean, cov = gp_posterior(mlp, X, y, XB, noise=1e-3)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))
    mean_j, _ = gp_posterior(mlp, X, y, XB, jitter=1e-6)
    assert np.all(np.isfinite(mean_j))


def test_bad_arguments():
    mlp = MLP("erf", [2, 16, 1])
    with pytest.raises(ShapeError, match="y_train"):
        gp_posterior(mlp, XA, Y[:2], XB)
    with pytest.raises(ShapeError, match="X_test"):
        gp_posterior(mlp, XA, Y, np.ones((2, 3)))
    with pytest.raises(ArgumentError, match="noise"):
        gp_posterior(mlp, XA, Y, XB, noise=-1.0)


def test_docstring_examples():
    import doctest

    from fieldnn.inference import _flow, _gp

    for module in (_gp, _flow):
        assert doctest.testmod(module).failed == 0


def test_rcond_zero_never_divides_by_zero() -> None:
    """rcond = 0 with duplicated training inputs: an ArgumentError naming X_train (or a finite
    answer when round-off leaves the matrix positive definite), never ZeroDivisionError."""
    from fieldnn.inference._linalg import checked_eigh

    with pytest.raises(ArgumentError, match=r"X_train.*1/rcond = inf"):
        checked_eigh(np.ones((2, 2)), "X_train", 0.0)
    # an exactly singular matrix: its smallest eigenvalue is rounding, whose value (and so a
    # printed condition number) depends on the LAPACK build; a merely ill-conditioned one
    # prints its condition number
    with pytest.raises(ArgumentError, match=r"above 2\.25e\+15: singular to rounding;"):
        checked_eigh(np.ones((2, 2)), "X_train", 1e-12)
    near = np.array([[1.0, 1.0 - 1e-13], [1.0 - 1e-13, 1.0]])
    with pytest.raises(ArgumentError, match=r"condition number 2e\+13; 1/rcond = 1e\+12"):
        checked_eigh(near, "X_train", 1e-12)
    mlp = MLP("tanh", [2, 4, 1])
    XD = np.vstack([XA, XA[:1]])
    try:
        mean, cov = gp_posterior(mlp, XD, np.append(Y, Y[0]), XB, rcond=0.0)
    except ArgumentError as exc:
        assert "X_train" in str(exc)
    else:
        assert np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))
    with pytest.raises(ArgumentError, match="X_train"):
        gp_posterior(mlp, XD, np.append(Y, Y[0]), XB)
