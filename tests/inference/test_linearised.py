"""Each network's linearisation trained by the same descent (``train_replicas(...,
linearised=True)``): exact for a model linear in its parameters, O(η²) off after one step of a
nonlinear one, and the helper the finite-width checks use (``frozen_shift``) is the same map."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.experiments._paired_training import frozen_shift
from fieldnn.inference._network import MLPSpec, empirical_ntk, forward, init_parameters

X = np.array([[0.3, -1.0], [1.2, 0.4], [-0.7, 0.9]])
XT = np.array([[0.0, 0.5], [-1.1, -0.2]])


@pytest.mark.parametrize(("C_Y", "eta"), [(None, 0.1), (0.05 * np.eye(3), 0.1), (None, 0.7)])
def test_a_model_linear_in_its_parameters_is_its_own_linearisation(C_Y: object, eta: float) -> None:
    """[2, 2] (no hidden layer: z = W x/√2 + b), two outputs, learning-rate tensors and replica
    noise: the trained outputs equal the linearised ones to rounding, for a run that has not
    converged (the closed form's g(λ) is tested away from its t = ∞ limit). The NTK's
    eigenvalues are 0.954, 1.996, 2.54: η = 0.1 keeps ηλ < 0.5 (g by expm1/log1p), η = 0.7
    puts every ηλ in [0.5, 2) (g by the direct power, oscillating steps above 1)."""
    mlp = fnn.MLP("tanh", [2, 2], C_W=1.5, C_b=0.2)
    Y = np.array([[0.5, -1.0], [1.0, 0.2], [-0.3, 0.7]])
    e = fnn.train_replicas(mlp, X, Y, C_Y, 6, steps=7, learning_rate=eta, rng=3,
                           lambda_b=0.5, lambda_W=2.0, X_test=XT, linearised=True)  # fmt: skip
    assert np.max(np.abs(e.posterior - e.prior)) > 0.1
    np.testing.assert_allclose(e.linearised_posterior, e.posterior, rtol=0, atol=1e-12)


def test_one_step_of_a_nonlinear_net_is_linear_to_second_order_in_the_step() -> None:
    """tanh [2, 8, 8, 2]: after one step, z − z_lin = O(η²) (the one-step change is −ηΘ̂ε plus
    a term quadratic in the step): the ratio at η and η/2 is 4 up to O(η), and the difference
    is not zero."""
    mlp = fnn.MLP("tanh", [2, 8, 8, 2], C_W=1.5, C_b=0.1)
    Y = np.array([[0.5, -1.0], [1.0, 0.2], [-0.3, 0.7]])
    gaps = []
    for eta in (0.002, 0.001):
        e = fnn.train_replicas(mlp, X, Y, None, 4, steps=1, learning_rate=eta, rng=5,
                               X_test=XT, linearised=True)  # fmt: skip
        gaps.append(e.posterior - e.linearised_posterior)
    assert np.min(np.abs(gaps[1])) > 1e-9
    np.testing.assert_allclose(gaps[0] / gaps[1], 4.0, rtol=0.02)


def test_frozen_shift_is_the_trained_minus_the_linearised_output() -> None:
    """The scalar-output helper of the finite-width checks agrees with ``linearised_posterior``
    computed inside ``train_replicas`` (the same networks: equal seeds; the replica draws come
    first)."""
    mlp = fnn.MLP("erf", [2, 16, 1], C_W=1.0, C_b=0.1)
    y = np.array([0.5, -1.0, 0.3])
    e = fnn.train_replicas(mlp, X, y, None, 5, steps=20, learning_rate=0.1, rng=9, X_test=XT,
                           linearised=True)  # fmt: skip
    spec = MLPSpec.of(mlp)
    gen = np.random.default_rng(9)
    gen.standard_normal((5, 3, 1))
    params = init_parameters(spec, 5, gen)
    xs = np.concatenate([X, XT])
    lb, lw = spec.learning_rates(1.0, 1.0)
    ntk0 = empirical_ntk(spec, params, xs, lb, lw)[:, 0, :, 0, :3]
    z0 = forward(spec, params, xs)[0][-1][:, :, 0]
    z1 = np.concatenate([e.posterior_train, e.posterior], axis=1)[:, :, 0]
    shift = frozen_shift(ntk0, z0, z1, y, 0.1, 20)
    np.testing.assert_allclose(shift, (e.posterior - e.linearised_posterior)[:, :, 0], atol=1e-12)
