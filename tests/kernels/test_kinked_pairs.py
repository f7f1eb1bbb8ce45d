"""Exact derivatives of the relu-type slope pair function ⟨σ'σ'⟩: against central differences
where those are accurate (|ρ| well below 1), and, through ntk_fluctuations, the O(1/n) NTK mean
of a relu net between nearly collinear inputs, where differences failed (Θ^{1} = −238 at
first-layer correlation 0.99934, against +0.91 ± 0.53 from sampled networks), against sampled
networks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.inference._network import MLPSpec, init_parameters
from fieldnn.inference._network import empirical_ntk as empirical_ntk_of
from fieldnn.kernels import ntk_fluctuations
from fieldnn.kernels._kinked_pairs import kinked_pair_derivatives
from fieldnn.kernels.activations import get_activation
from fieldnn.kernels.gaussian import pair_values


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
@pytest.mark.parametrize("k12", [0.4, -0.6])
def test_closed_form_derivatives_match_differences(name: str, k12: float):
    act = get_activation(name)
    k = np.array([1.3, 0.7, k12])

    def f(u: np.ndarray) -> float:
        args = [np.array([v]) for v in u]
        return float(pair_values(act, *args, (1, 1))[0])

    grad, hess = kinked_pair_derivatives(act.piecewise_linear_slopes, *[np.array([v]) for v in k])
    E, h, hh = np.eye(3), 1e-5, 1e-3
    for i in range(3):
        fd = (f(k + h * E[i]) - f(k - h * E[i])) / (2 * h)
        assert grad[i][0] == pytest.approx(fd, abs=1e-8)
    for (i, j), value in hess.items():
        fd = (
            f(k + hh * (E[i] + E[j])) - f(k + hh * (E[i] - E[j]))
            - f(k - hh * (E[i] - E[j])) + f(k - hh * (E[i] + E[j]))
        ) / (4 * hh * hh)  # fmt: skip
        assert value[0] == pytest.approx(fd, abs=1e-5)  # difference truncation ~2e-6


def _theta1(mlp: fnn.MLP, x2: float) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(ntk_fluctuations(mlp, np.array([[-1.5], [x2]])).Theta1[-1][0, 1])


def test_ntk_mean_shift_is_continuous_towards_collinear_inputs():
    # relu [1, n, n, n, 1]: Θ^{1}(x, x) = 0 at one input (⟨σσ⟩ linear, ⟨σ'σ'⟩ constant), and
    # Θ^{1}(x, x') → 0 smoothly as x' → x (first-layer correlation 0.9974 … 0.99999)
    mlp = fnn.MLP("relu", [1, 64, 64, 64, 1], C_W=2.0, C_b=0.1)
    values = [_theta1(mlp, x2) for x2 in (-1.0, -1.2, -1.4, -1.45)]
    assert values == pytest.approx([0.2572, 0.1442, 0.0461, 0.0229], abs=1e-3)
    assert np.all(np.diff(values) < 0)


def test_ntk_mean_between_nearly_collinear_inputs_against_sampled_networks():
    # x = −1.5, −1.2, C_b = 0.1: first-layer correlation 0.99934
    n, R = 32, 40000
    mlp = fnn.MLP("relu", [1, n, n, 1], C_W=2.0, C_b=0.1)
    X = np.array([[-1.5], [-1.2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        st = ntk_fluctuations(mlp, X)
    spec, rng = MLPSpec.of(mlp), np.random.default_rng(5)
    H = np.concatenate([
        empirical_ntk_of(spec, init_parameters(spec, R // 8, rng), X,
                         *spec.learning_rates(1.0, 1.0))[:, 0, :, 0, :]
        for _ in range(8)
    ])  # fmt: skip
    shift = n * (H.mean(0) - st.Theta[-1])[0, 1]
    err = n * H[:, 0, 1].std() / np.sqrt(R)
    assert abs(shift - st.Theta1[-1][0, 1]) < 4 * err  # 0.913 ± 0.526 against 0.030
