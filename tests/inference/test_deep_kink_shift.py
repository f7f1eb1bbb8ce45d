"""The O(1/√n) shift of the trained outputs of a deep relu-type net at one training input
(:func:`fieldnn.kinked_training_shift` with two or more hidden layers, gradient flow; derivation in
``fieldnn/inference/_deep_kink_shift.py`` and ``docs/finite_width_training.md``, "Deeper relu
nets: the trained outputs"): the sliding units' term against units moved step by step and against
sampled velocities, the deep code path against the one-hidden-layer closed form, and (slow) the
sliding term and the output shift against fieldnn's gradient descent on sampled [1, n, n, 1] relu
nets."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.inference._deep_kink import _flux_moments, sliding_product
from fieldnn.inference._deep_kink_shift import deep_one_input
from fieldnn.kernels.activations import leaky_relu

X, C_W, C_B = 1.0, 2.0, 0.1
X_TEST = [[1.0], [-1.0], [0.0], [0.5], [2.0]]


def _simulated_own_terms(A: float, B: float, s_minus: float, s_plus: float, steps: int) -> float:
    """∫ dw₀ [σ(w(1)) − σ(w₀) − Σ_k σ'(w_k)Δw_k] over the starting points of units moved by
    ``steps`` equal steps of V₊ = −(s₊A + B) above the kink and V₋ = −(s₋A + B) below it: the
    output the units' own terms of the empirical NTK would move and do not (w₀ stratified, so
    that units on the kink chatter with independent phases)."""
    V_plus, V_minus = -(s_plus * A + B), -(s_minus * A + B)
    reach, cells = 1.5 * max(abs(V_plus), abs(V_minus)), 50_000
    rng = np.random.default_rng(5)
    w0 = -reach + (np.arange(cells) + rng.random(cells)) * (2 * reach / cells)
    sigma = lambda w: np.where(w > 0, s_plus * w, s_minus * w)  # noqa: E731
    w, linear = w0.copy(), np.zeros(cells)
    for _ in range(steps):
        above = w > 0
        dw = np.where(above, V_plus, V_minus) / steps
        linear += np.where(above, s_plus, s_minus) * dw
        w += dw
    return float(np.mean(sigma(w) - sigma(w0) - linear) * 2 * reach)


@pytest.mark.parametrize("slopes", [(0.0, 1.0), (0.2, 1.0), (-0.5, 1.0)])
def test_sliding_units_stop_their_own_terms(slopes: tuple[float, float]) -> None:
    """A unit sliding along the kink holds σ(0) while the empirical NTK counts its own term with
    the chatter average: integrated over the starting points and the time, the output it does not
    move is −(s₊ − s₋)V₊V₋/2 where V₊ < 0 < V₋ and nothing elsewhere (units that cross or are
    repelled: only the in-step overshoot, O(1/steps), removed by two step counts)."""
    s_minus, s_plus = slopes
    cases = [(1.0, 0.3), (1.0, -0.6), (-1.0, -0.2), (-1.0, 0.5), (2.0, -1.5), (1.0, -2.0)]
    slid = 0
    for A, B in cases:
        predicted = -(s_plus - s_minus) * float(sliding_product(A, B, s_minus, s_plus)) / 2
        simulated = [_simulated_own_terms(A, B, s_minus, s_plus, steps) for steps in (200, 400)]
        extrapolated = 2 * simulated[1] - simulated[0]  # the overshoot is O(1/steps)
        assert abs(extrapolated - predicted) < 2e-4 * max(1.0, abs(predicted))
        slid += predicted != 0.0
    assert slid >= 1


@pytest.mark.parametrize("ratio", [0.3, 0.7, 1.5])
def test_sliding_moment_against_sampled_velocities(ratio: float) -> None:
    """E[A V₊V₋ 1{V₊ < 0 < V₋}] by the angular quadrature against 4·10⁶ sampled (A, B), within
    4 standard errors, for relu and leaky relu; zero without an ungated velocity (B = 0)."""
    rng = np.random.default_rng(3)
    A, B = rng.normal(0.0, 1.3, 4_000_000), rng.normal(0.0, 1.3 * ratio, 4_000_000)
    for s_minus in (0.0, 0.2):
        values = A * sliding_product(A, B, s_minus, 1.0)
        quadrature = _flux_moments(1.3, 1.3 * ratio, s_minus, 1.0)[2]
        assert quadrature < 0.0
        assert abs(values.mean() - quadrature) < 4 * values.std() / math.sqrt(values.size)
    assert _flux_moments(1.3, 0.0, 0.0, 1.0)[2] == 0.0


@pytest.mark.parametrize("act", ["relu", leaky_relu(0.2)], ids=["relu", "leaky"])
@pytest.mark.parametrize("t", [0.6, math.inf])
def test_deep_path_on_one_hidden_layer_is_the_closed_form(act: object, t: float) -> None:
    """On [1, n, 1] the deep formula (angular quadrature, κ from kinked_ntk_change) reproduces
    the one-hidden-layer closed form of kinked_training_shift: mean shift, NTK change and
    Cov(ε₀, δz), at the training input and at test inputs, with and without replica noise."""
    mlp = fnn.MLP(act, [1, 64, 1], C_W=C_W, C_b=C_B)
    for C_Y in (None, [[0.3]]):
        closed = fnn.kinked_training_shift(mlp, [[X]], [2.0], X_TEST, t=t, C_Y=C_Y)
        noise = np.zeros((1, 1)) if C_Y is None else np.array(C_Y)
        shift, change, cross = deep_one_input(
            mlp, np.array([[X]]), np.array(X_TEST), np.array([[2.0]]), noise, t, 1.0, 1.0
        )
        np.testing.assert_allclose(shift, closed.mean_shift, rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(change, closed.ntk_change, rtol=1e-9, atol=1e-14)
        # L regresses the infinite-width trained outputs on ε₀ (kinked_training_shift.cov_shift)
        X_all = [[X], *X_TEST]
        K, theta = np.asarray(mlp.kernel(X_all)), np.asarray(mlp.ntk(X_all))
        g = (1.0 - math.exp(-theta[0, 0] * t)) / theta[0, 0]
        L = K[1:, :1] / (K[0, 0] + noise[0, 0]) - theta[1:, :1] * g
        np.testing.assert_allclose(L @ cross + (L @ cross).T, closed.cov_shift, atol=1e-13)


def test_deep_shift_scaling_and_refusals() -> None:
    """Every term is O(1/√n): fourfold widths halve the mean and covariance shifts (``width`` is
    the narrowest layer); the sliding term is zero in the first layer (no ungated velocity) and
    negative above. Descent, several training inputs and proportional test inputs are refused for
    deeper nets, naming the argument."""
    xs = [[X], [-1.0], [0.0]]
    narrow, wide = (
        fnn.kinked_training_shift(
            fnn.MLP("relu", [1, n, n, 1], C_W=C_W, C_b=C_B), [[X]], [2.0], xs, t=1.0
        )
        for n in (64, 256)
    )
    np.testing.assert_allclose(wide.mean_shift, narrow.mean_shift / 2, rtol=1e-10)
    np.testing.assert_allclose(wide.cov_shift, narrow.cov_shift / 2, rtol=1e-10, atol=1e-15)
    assert wide.width == 256 and np.all(wide.mean_shift_stderr == 0.0)
    drift = fnn.kinked_ntk_change(fnn.MLP("relu", [1, 64, 64, 1], C_W=C_W, C_b=C_B), [[X]], [2.0])
    assert drift.sliding[0] == 0.0 and drift.sliding[1] < 0.0
    mixed = fnn.MLP("relu", [1, 64, 256, 1], C_W=C_W, C_b=C_B)
    assert fnn.kinked_training_shift(mixed, [[X]], [2.0], xs, t=1.0).width == 64
    mlp = fnn.MLP("relu", [1, 64, 64, 1], C_W=C_W, C_b=C_B)
    with pytest.raises(UnsupportedError, match="learning_rate"):
        fnn.kinked_training_shift(mlp, [[X]], [2.0], xs, t=1.0, learning_rate=0.02)
    with pytest.raises(UnsupportedError, match="X_train"):
        fnn.kinked_training_shift(mlp, [[X], [-1.0]], [2.0, 0.0], xs, t=1.0)
    bare = fnn.MLP("relu", [1, 64, 64, 1], C_W=C_W, C_b=0.0)
    with pytest.raises(UnsupportedError, match="X_test"):
        fnn.kinked_training_shift(bare, [[X]], [2.0], [[2.0]], t=1.0)
    with pytest.raises(UnsupportedError, match="mlp"):
        fnn.kinked_training_shift(fnn.MLP("tanh", [1, 64, 64, 1]), [[X]], [2.0], xs, t=1.0)
