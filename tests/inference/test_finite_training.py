"""finite_width_prediction: exact limits (t = 0 is the NLO prior; at t = ∞ the training points
are reproduced with every O(1/n) term cancelling), the infinite-width part equals
gradient_flow_prediction, descent → flow as η → 0, the kernel part against sampled empirical
NTKs, and the whole prediction against trained replica ensembles (slow)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import ArgumentError, UnsupportedError
from fieldnn.experiments._paired_training import frozen_cov_shift
from fieldnn.inference import empirical_ntk, gradient_flow_prediction, train_replicas
from fieldnn.inference._finite_training import _kernel_terms, _multi_index, _statistics
from fieldnn.inference._network import MLPSpec, init_parameters
from fieldnn.inference._spectral import TrainingFilter
from fieldnn.kernels import dntk_statistics

from ._linearised_sample import linearised_sample

XA = np.linspace(-1.5, 1.5, 4)[:, None]
Y = np.sin(2 * XA[:, 0])
XB = np.array([[-1.0], [0.25], [1.0]])


def _mlp(n: int, d_out: int = 1) -> fnn.MLP:
    return fnn.MLP("erf", [1, n, n, d_out], C_W=1.0, C_b=0.1)


def test_training_points_are_reproduced_at_infinite_time():
    # z_A(∞) = y exactly at every width: all O(1/n) terms must cancel on the training inputs
    CY = 0.01 * np.eye(4) + 0.002
    r = fnn.finite_width_prediction(_mlp(32), XA, Y, XA, C_Y=CY)
    np.testing.assert_allclose(r.mean, Y, atol=1e-12)
    np.testing.assert_allclose(r.cov, CY, atol=1e-12)
    assert np.max(np.abs(r.mean_terms["dntk"])) < 1e-12
    # origin by origin: the linearised networks interpolate too (B = 1 − M_0Π_A vanishes on
    # the training rows) and z^{(1)}_A = 0
    for key, term in r.cov_terms.items():
        assert np.max(np.abs(term)) < 1e-12, key


def test_zero_time_is_the_nlo_prior():
    mlp = _mlp(24)
    X = np.concatenate([XA, XB])
    stats = dntk_statistics(mlp, X)
    n = mlp.widths[-2]
    prior = (stats.ntk.K[-1] + stats.ntk.K1[-1] / n)[4:, 4:]
    for eta in (None, 0.05):
        r = fnn.finite_width_prediction(mlp, XA, Y, XB, t=0.0, learning_rate=eta)
        np.testing.assert_allclose(r.mean, 0.0, atol=1e-14)
        np.testing.assert_allclose(r.cov, prior, rtol=1e-11, atol=1e-14)
        assert np.max(np.abs(r.cov - r.cov_infinite)) > 1e-4  # K^{1} is there
        # … and it is all there is: the "kernel" term, every other origin zero
        np.testing.assert_allclose(r.cov_terms["kernel"], r.cov - r.cov_infinite, atol=1e-15)
        assert max(np.max(np.abs(v)) for k, v in r.cov_terms.items() if k != "kernel") < 1e-15


@pytest.mark.parametrize("t,eta", [(math.inf, None), (2.5, None), (2.5, 0.05), (math.inf, 0.1)])
def test_infinite_width_part_is_gradient_flow_prediction(t, eta):
    CY = 0.02 * np.eye(4)
    r = fnn.finite_width_prediction(_mlp(32), XA, Y, XB, t=t, learning_rate=eta, C_Y=CY)
    m, c = gradient_flow_prediction(_mlp(32), XA, Y, XB, t=t, learning_rate=eta, C_Y=CY)
    np.testing.assert_allclose(r.mean_infinite, m, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(r.cov_infinite, c, rtol=1e-9, atol=1e-13)
    total = sum(r.mean_terms.values())
    np.testing.assert_allclose(r.mean - r.mean_infinite, total, atol=1e-14)
    np.testing.assert_allclose(r.cov - r.cov_infinite, sum(r.cov_terms.values()), atol=1e-14)
    assert all(v.shape == r.cov.shape for v in r.cov_terms.values())
    # the correction is O(1/n): doubling the width halves it
    r2 = fnn.finite_width_prediction(_mlp(64), XA, Y, XB, t=t, learning_rate=eta, C_Y=CY)
    np.testing.assert_allclose(
        32 * (r.mean - r.mean_infinite), 64 * (r2.mean - r2.mean_infinite), rtol=1e-8
    )
    np.testing.assert_allclose(32 * (r.cov - c), 64 * (r2.cov - c), rtol=1e-7, atol=1e-12)


def test_descent_tends_to_flow_as_the_step_shrinks():
    mlp, t = _mlp(32), 2.0
    flow = fnn.finite_width_prediction(mlp, XA, Y, XB, t=t)
    dev, dev_ntk = [], []
    for eta in (0.04, 0.02):
        gd = fnn.finite_width_prediction(mlp, XA, Y, XB, t=t, learning_rate=eta)
        dev.append(np.max(np.abs((gd.mean - gd.mean_infinite) - (flow.mean - flow.mean_infinite))))
        dev_ntk.append(np.max(np.abs(gd.ntk_change - flow.ntk_change)))
    assert 1.7 < dev[0] / dev[1] < 2.3
    assert 1.7 < dev_ntk[0] / dev_ntk[1] < 2.3
    # the NTK change on the training block is symmetric, and zero before training
    np.testing.assert_allclose(flow.ntk_change[:4], flow.ntk_change[:4].T, atol=1e-15)
    assert np.max(np.abs(flow.ntk_change)) > 1e-3
    still = fnn.finite_width_prediction(mlp, XA, Y, XB, t=0.0)
    np.testing.assert_allclose(still.ntk_change, 0.0, atol=1e-15)


def test_two_outputs_shapes_and_channel_symmetry():
    mlp = _mlp(32, d_out=2)
    y2 = np.stack([Y, 0.5 * Y[::-1]], axis=1)
    r = fnn.finite_width_prediction(mlp, XA, y2, XB, t=3.0)
    assert r.mean.shape == (3, 2) and r.cov.shape == (3, 2, 3, 2)
    swapped = fnn.finite_width_prediction(mlp, XA, y2[:, ::-1], XB, t=3.0)
    np.testing.assert_allclose(swapped.mean, r.mean[:, ::-1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(swapped.cov, r.cov[:, ::-1][:, :, :, ::-1], rtol=1e-9, atol=1e-14)
    # the targets couple the output channels at O(1/n) only
    assert np.max(np.abs(r.cov_infinite[:, 0, :, 1])) == 0.0
    assert np.max(np.abs(r.cov[:, 0, :, 1])) > 1e-7


def test_bad_input_is_named_before_any_statistics():
    mlp = _mlp(32)
    with pytest.raises(ArgumentError, match="learning_rate"):
        fnn.finite_width_prediction(mlp, XA, Y, XB, t=1.0, learning_rate=0.25)
    with pytest.raises(ArgumentError, match="'t'"):
        fnn.finite_width_prediction(mlp, XA, Y, XB, t=1.01, learning_rate=0.05)
    with pytest.raises(ArgumentError, match="'t'"):
        fnn.finite_width_prediction(mlp, XA, Y, XB, learning_rate=1e-6)
    with pytest.raises(ArgumentError, match="C_Y"):
        fnn.finite_width_prediction(mlp, XA, Y, XB, C_Y=np.eye(3))
    with pytest.raises(UnsupportedError, match=r"kink.*O\(1/√n\)"):
        fnn.finite_width_prediction(fnn.MLP("relu", [1, 32, 32, 1]), XA, Y, XB)


@pytest.mark.slow
def test_kernel_part_against_sampled_empirical_ntks():
    # E[M(Ĥ)] y over sampled networks' own NTKs = M_0 y + M'[Θ^{1}]/n y + E M_2 y + O(1/n²)
    n, steps, eta = 64, 100, 0.05
    mlp = _mlp(n)
    X = np.concatenate([XA, XB])
    filt = TrainingFilter(eta * steps, eta)
    H = empirical_ntk(mlp, X, 40000, rng=3)
    lam, U = np.linalg.eigh(H[:, :4, :4])
    G = np.einsum("rai,ri,rbi->rab", U, filt.values(lam), U)
    sampled = np.einsum("rma,rab,b->rm", H[:, 4:, :4], G, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = _statistics(dntk_statistics(mlp, X), *_multi_index(4, 3, 1))
    M0, jac, EM2 = _kernel_terms(s["Theta"], s["covH"], 4, filt)
    pred = (M0 + np.einsum("macd,cd->ma", jac, s["Theta1"]) + EM2)[4:] @ Y
    shift = sampled.mean(0) - (M0[4:] @ Y)
    se = sampled.std(0) / np.sqrt(len(sampled))
    assert np.all(np.abs(shift) > 6 * se)  # the O(1/n) kernel effect is resolved
    assert np.all(np.abs(sampled.mean(0) - pred) < 4 * se)


def _frozen_covariance_sample(n: int, R: int = 40000, steps: int = 100, eta: float = 0.05):
    """Cov z_lin − Cov(B z_0) over R sampled networks (z_lin: each network's own initial NTK
    frozen, ``steps`` steps of η; B z_0 the n → ∞ map of the same outputs), its batch-means
    error, the ratio of that error to the influence-function one, and the "ntk_mean" +
    "ntk_preactivation" + "ntk_variance" covariance terms it estimates (+ O(1/n²))."""
    mlp = _mlp(n)
    r = fnn.finite_width_prediction(mlp, XA, Y, XB, t=eta * steps, learning_rate=eta)
    pred = sum(r.cov_terms[k] for k in ("ntk_mean", "ntk_preactivation", "ntk_variance"))
    z_lin, z_inf, _ = linearised_sample(mlp, XA, XB, Y, eta, steps, R, 1)
    shift, err = frozen_cov_shift(z_lin, z_lin - z_inf, 20)
    a, b = z_lin - z_lin.mean(0), z_inf - z_inf.mean(0)
    phi = np.einsum("ri,rj->rij", a, a) - np.einsum("ri,rj->rij", b, b)
    return shift, err, err / (phi.std(0) / np.sqrt(R)), pred


@pytest.mark.slow
def test_frozen_covariance_against_sampled_linearised_networks():
    # the frozen-kernel covariance terms against 40 000 sampled linearised networks, paired with
    # the n → ∞ map of their own outputs, so the O(1) noise of a sample covariance cancels: at
    # n = 128 within 4σ with the terms resolved at > 20σ; at n = 32 the O(1/n²) remainder is
    # resolved (> 5σ), so the check has the power to see a wrong O(1/n) term
    iu = np.triu_indices(3)
    shift, err, ratio, pred = _frozen_covariance_sample(128)
    assert np.all((ratio > 0.6) & (ratio < 1.6))  # batch means vs influence: 0.87–1.08
    assert np.all(np.abs(np.diag(pred)) > 20 * np.diag(err))
    assert np.max(np.abs((shift - pred) / err)[iu]) < 4  # largest 3.13, at (1, 1)
    shift, err, ratio, pred = _frozen_covariance_sample(32)
    assert np.max(np.abs((shift - pred) / err)[iu]) > 5  # 13.8 at (0.25, 0.25)


@pytest.mark.slow
def test_trained_replicas_at_finite_width():
    # 100 steps of GD: the infinite-width mean misses by ≥ 10σ (rms); the O(1/n) one within 5σ
    # rms, and the variances move to the O(1/n) prediction
    n, steps, eta, R = 64, 100, 0.05, 8000
    mlp = _mlp(n)
    r = fnn.finite_width_prediction(mlp, XA, Y, XB, t=eta * steps, learning_rate=eta)
    ens = train_replicas(mlp, XA, Y, None, R, steps=steps, learning_rate=eta, rng=65, X_test=XB)
    m, c = ens.mean()[:, 0], ens.cov()
    se = np.sqrt(np.diag(c) / R)
    z_inf = np.sqrt(np.mean(((m - r.mean_infinite) / se) ** 2))
    z_fin = np.sqrt(np.mean(((m - r.mean) / se) ** 2))
    assert z_inf > 10 and z_fin < z_inf / 2.5
    var_se = np.diag(c) * np.sqrt(2 / R)
    var_pull = (np.diag(c) - np.diag(r.cov)) / var_se
    var_pull_inf = (np.diag(c) - np.diag(r.cov_infinite)) / var_se
    assert np.max(np.abs(var_pull)) < 4 and np.max(np.abs(var_pull_inf)) > 10


@pytest.mark.slow
def test_long_training_outside_the_expansion():
    # t = 40 (800 steps) at n = 16 on the same problem: the O(1/n) coefficients grow with t and
    # 1/λ_min(Θ_AA) = 4.8, and the O(1/n) mean lands farther from the trained ensemble than the
    # n → ∞ one (docs/finite_width_training.md, "Where the expansion holds")
    n, steps, eta, R = 16, 800, 0.05, 2000
    mlp = _mlp(n)
    r = fnn.finite_width_prediction(mlp, XA, Y, XB, t=eta * steps, learning_rate=eta)
    ens = train_replicas(mlp, XA, Y, None, R, steps=steps, learning_rate=eta, rng=17, X_test=XB)
    m, se = ens.mean()[:, 0], np.sqrt(np.diag(ens.cov()) / R)
    z_inf = np.sqrt(np.mean(((m - r.mean_infinite) / se) ** 2))
    z_fin = np.sqrt(np.mean(((m - r.mean) / se) ** 2))
    assert z_inf > 5 and z_fin > 2 * z_inf


@pytest.mark.slow
def test_ntk_change_during_training_against_trained_networks():
    # the same networks' empirical NTK before and after 100 steps (paired): E[Ĥ(t) − Ĥ(0)] is
    # zero at infinite width and O(1/n) here; n = 256 resolves it at ≥ 6σ
    from fieldnn.inference._network import empirical_ntk as network_ntk
    from fieldnn.inference._network import gradient_descent

    n, R, steps, eta = 256, 1000, 100, 0.05
    mlp = _mlp(n)
    spec = MLPSpec.of(mlp)
    lb, lw = spec.learning_rates(1.0, 1.0)
    params = init_parameters(spec, R, np.random.default_rng(n))
    X = np.concatenate([XA, XB])
    H0 = network_ntk(spec, params, X, lb, lw)[:, 0, :, 0, :4]
    gradient_descent(
        spec, params, XA, Y[:, None], steps=steps, learning_rate=eta, lambda_b=lb, lambda_W=lw
    )
    change = network_ntk(spec, params, X, lb, lw)[:, 0, :, 0, :4] - H0
    se = change.std(0) / np.sqrt(R)
    pred = fnn.finite_width_prediction(mlp, XA, Y, XB, t=eta * steps, learning_rate=eta)
    assert np.max(np.abs(pred.ntk_change) / se) > 6
    assert np.max(np.abs(change.mean(0) - pred.ntk_change) / se) < 4
