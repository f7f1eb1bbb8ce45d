"""``eft.hidden_layer_shifts``: every hidden layer's posterior shift against importance
weighting, as the report's section 6.1 runs it (the physics checks are in
tests/inference/test_representation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.ensembles import MLP
from fieldnn.errors import ArgumentError, UnknownNameError
from fieldnn.experiments import eft
from fieldnn.inference import hidden_kernel_shift


@pytest.mark.slow
def test_every_layer_against_importance_weighting():
    """tanh [1, n, n, 1]: the stored prediction is ``hidden_kernel_shift(layer=ℓ)``; pulls within
    4σ at n = 256; the rms of n·(measured − predicted) falls from n = 64 to 256 at each layer."""
    r = eft.hidden_layer_shifts(depth=3, widths=(64, 256), n_samples=20_000, rng=1)
    assert r.predicted.shape == r.measured.shape == r.stderr.shape == (2, 2, 4, 4)
    mlp = MLP("tanh", [1, 256, 256, 1], C_W=1.5, C_b=0.2)
    expected = hidden_kernel_shift(mlp, r.X_train, r.y_train, r.X_probe, layer=1).shift
    np.testing.assert_array_equal(r.predicted[1, 0], expected)
    assert np.max(np.abs(r.pulls[-1])) < 4.0
    assert np.all(r.scaled_residual_rms[1] < r.scaled_residual_rms[0])


def test_bad_input_before_any_sampling():
    with pytest.raises(ArgumentError, match="depth"):
        eft.hidden_layer_shifts(depth=2)
    with pytest.raises(ArgumentError, match="widths"):
        eft.hidden_layer_shifts(widths=())
    with pytest.raises(ArgumentError, match="n_samples"):
        eft.hidden_layer_shifts(n_samples=1)
    with pytest.raises(UnknownNameError):
        eft.hidden_layer_shifts("nope", widths=(8,), n_samples=2)
