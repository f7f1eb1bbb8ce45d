"""The action's own round-off: measured, reported, and refused where it would be a wrong number."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.experiments import published_setup

SEED = published_setup("erf")
WIDE = SEED.net(10**8)  # at this width the O(1/n³) residual is far below the round-off


def _residual6(S, X) -> float:
    G6 = WIDE.exact_connected(X, 6)
    return float(np.max(np.abs(S.correlators(6) - G6)) / np.max(np.abs(G6)))


def test_well_separated_inputs_keep_full_precision():
    X = SEED.X[[0, 2, 4]]  # cond(K) = 161
    S = fnn.effective_action(WIDE, X, order=2)
    assert max(S.precision.values()) < 1e-6
    assert _residual6(S, X) < 1e-5
    assert S.to_dict()["precision"]["6"] == S.precision[6]


def test_the_round_off_estimate_is_the_residual_it_causes():
    X = SEED.X[[0, 1, 2]]  # cond(K) = 1.9e3: six legs of K^-1 cost ~5 digits
    with pytest.warns(RuntimeWarning, match="cond"):
        S = fnn.effective_action(WIDE, X, order=2)
    assert 1e-4 < S.precision[6] < 1e-2
    assert S.precision[6] / 3 < _residual6(S, X) < 3 * S.precision[6]


def test_nearly_degenerate_inputs_are_refused_naming_X():
    with pytest.raises(UnsupportedError) as err:
        fnn.effective_action(WIDE, SEED.X, order=2)  # the seed's six inputs: cond(K) = 3.4e4
    assert err.value.argument == "X" and "cond(K)" in str(err.value)
    S1 = fnn.effective_action(WIDE, SEED.X, order=1)  # order 1 keeps ~5 digits there
    assert max(S1.precision.values()) < 1e-4
