"""Renamed arguments: the old keyword works with a DeprecationWarning, both at once is an error."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import ArgumentError
from fieldnn.kernels import pair_expectation, product_moments, single_expectation

X = np.array([[0.3], [-0.5]])


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (fnn.single_layer_kernel, {"X": X, "sigma_w2": 1.0, "sigma_b2": 0.5}),
        (fnn.exact_connected, {"X": X, "order": 4, "width": 3, "sigma_w2": 1.0, "sigma_b2": 0.5}),
        (single_expectation, {"k": np.array([0.7])}),
        (pair_expectation, {"k11": 1.0, "k22": 2.0, "k12": 0.3}),
        (product_moments, {"C": np.eye(2), "order": 2}),
    ],
)
def test_act_is_accepted_as_activation_with_a_deprecation_warning(call, args):
    new = call(activation="erf", **args)
    with pytest.warns(DeprecationWarning, match="'act' .* now called 'activation'"):
        old = call(act="erf", **args)
    np.testing.assert_array_equal(np.asarray(old), np.asarray(new))
    with pytest.raises(ArgumentError) as err:
        call(act="erf", activation="erf", **args)
    assert err.value.argument == "activation"
