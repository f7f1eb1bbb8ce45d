"""The kink-flux Monte Carlo of deep relu-type nets (:mod:`fieldnn.inference._kink_flux` through
:func:`fieldnn.kinked_training_shift` with two or more hidden layers and several training
inputs, or test inputs proportional to the training input; derivation in
``docs/finite_width_training.md``, "Deeper relu nets: several training inputs"): against the
deep closed form at one training input, against the exact homogeneity of relu nets without
biases, and (slow) against fieldnn's gradient descent on sampled [1, n, n, 1] nets."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.inference._deep_kink import _check_inputs
from fieldnn.inference._deep_kink_shift import deep_one_input
from fieldnn.inference._flow import _with_ntk
from fieldnn.inference._kink_flux import KinkProblem, deep_layers
from fieldnn.inference._kinked_training import _flux
from fieldnn.kernels import ntk_fluctuations
from fieldnn.kernels.activations import leaky_relu

# the theory against itself, its closed forms and sampled networks at the inputs its docs
# tables use, several nearly proportional to a training input: the warning about them is
# tested in test_kink_window.py
pytestmark = pytest.mark.filterwarnings("ignore:.*nearly proportional preactivations")

C_W, C_B = 2.0, 0.1


@pytest.mark.parametrize(
    "act, hidden, eta",
    [("relu", 2, 0.01), ("relu", 2, None), (leaky_relu(0.2), 2, 0.01), ("relu", 3, 0.01)],
    ids=["relu-descent", "relu-flow", "leaky-descent", "relu-three-layers"],
)
def test_monte_carlo_reproduces_the_deep_closed_form(act: object, hidden: int, eta) -> None:
    """One training input x = 1 (y = 2), test inputs x, −1, 0, 2, t = 0.5: the particles of every
    hidden layer (units crossing, dying and sliding along the kink, with the push Ξ of the other
    units; under descent their chatter and in-step overshoot) against the closed form of
    :func:`fieldnn.kinked_ntk_change` and ``deep_one_input`` (angular quadratures of the velocity
    distribution), for the NTK change, the output shift and the covariance shift (an arbitrary
    regression matrix L), within 4 standard errors of 2·10⁴ samples; the Monte Carlo resolves
    every value it is checked on to 12 % of the largest."""
    net = _with_ntk(fnn.MLP(act, [1, *[64] * hidden, 1], C_W=C_W, C_b=C_B))
    XA, XB, y = np.array([[1.0]]), np.array([[1.0], [-1.0], [0.0], [2.0]]), np.array([[2.0]])
    X = np.concatenate([XA, XB])
    theta, K = np.asarray(net.ntk(X)), np.asarray(net.kernel(X))
    slopes = tuple(float(s) for s in net.activation.piecewise_linear_slopes)
    prob = KinkProblem(
        deep_layers(net, ntk_fluctuations(net, X)), theta[:, :1], -y[:, 0], K[:1, :1], slopes
    )
    L = np.array([[0.3], [-1.2], [0.7], [0.5]])
    mc = _flux(prob, 0.5, eta, 20_000, 1, L)
    shift, change, cross = deep_one_input(
        net, ntk_fluctuations(net, X), _check_inputs(net, X), 2.0, 0.0, 0.5, eta
    )
    for got, err, want in (
        (mc.ntk_change[:, 0], mc.ntk_change_stderr[:, 0], change[:, 0]),
        (mc.output_shift, mc.output_shift_stderr, shift),
        (mc.cov_shift, mc.cov_shift_stderr, L @ cross + (L @ cross).T),
    ):
        assert np.all(np.abs(got - want) < 4 * err)
        assert np.all(err < 0.12 * np.abs(want).max())


def test_homogeneous_nets_scale_exactly() -> None:
    """relu [1, 64, 64, 1] with C_b = 0 and λ_b = 0 (no bias at initialisation, none learned):
    every network is positively homogeneous throughout training, z(cx) = c z(x), so at the test
    inputs 2x and x/2 (tracked by the Monte Carlo at w = c w₀ in both layers) the NTK change and
    the output shift are c times those at x, sample by sample (to rounding); at −x (u(−x) = −u(x)
    in the first layer only) they are not proportional, and the closed form of
    kinked_ntk_change, which does not track such inputs, refuses them."""
    mlp = fnn.MLP("relu", [1, 64, 64, 1], C_W=2.0, C_b=0.0)
    X_test = [[1.0], [2.0], [0.5], [-1.0]]
    r = fnn.kinked_training_shift(
        mlp, [[1.0]], [2.0], X_test, t=0.5, learning_rate=0.01, lambda_b=0.0, samples=4000
    )
    np.testing.assert_allclose(
        r.ntk_change[1:3, 0], np.array([2.0, 0.5]) * r.ntk_change[0, 0], rtol=1e-9
    )
    np.testing.assert_allclose(r.mean_shift[1:3], np.array([2.0, 0.5]) * r.mean_shift[0], rtol=1e-9)
    assert abs(r.ntk_change[0, 0]) > 10 * r.ntk_change_stderr[0, 0]
    assert abs(r.ntk_change[3, 0] + r.ntk_change[0, 0]) > 4 * r.ntk_change_stderr[0, 0]
    with pytest.raises(UnsupportedError, match="X_test"):
        fnn.kinked_ntk_change(mlp, [[1.0]], [2.0], X_test, t=0.5, lambda_b=0.0)
