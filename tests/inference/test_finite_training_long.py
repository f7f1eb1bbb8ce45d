"""The dNTK and ddNTK terms of the trained mean (``FiniteWidthPrediction.mean_terms``) at long
training times, against trained networks minus their own frozen-kernel solutions (a control
variate, ``frozen_shift``, whose mean keeps exactly those terms at O(1/n)): where the expansion
is reached (one hidden layer, n = 1024) and where, at the widths one can sample, it is not (the
issue's example, t = 40). Numbers quoted in ``docs/finite_width_training.md``, "Where the
expansion holds".
"""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.experiments._paired_training import frozen_shift, paired

X = np.linspace(-1.5, 1.5, 4)[:, None]
Y = np.sin(2 * X[:, 0])
XT = np.array([[-1.0], [0.25], [1.0]])
ETA = 0.05


def _scaled_shift(mlp: fnn.MLP, steps: int, R: int, seed: int) -> tuple[np.ndarray, ...]:
    """n·mean of z(T) − z_frozen at XT over R networks (chunks of 1000), its n·stderr, and the
    predicted n·(dNTK + ddNTK) mean terms."""
    n = mlp.widths[-2]
    xs, shifts = np.concatenate([X, XT]), []
    for c in range(-(-R // 1000)):
        rng = np.random.default_rng(seed + c)
        (k0, z0), (_, z1) = paired(mlp, xs, Y, steps, min(1000, R - 1000 * c), rng, "both",
                                   eta=ETA, n_train=4)  # fmt: skip
        shifts.append(frozen_shift(k0, z0, z1, Y, ETA, steps))
    d = np.concatenate(shifts)
    pred = fnn.finite_width_prediction(mlp, X, Y, XT, t=ETA * steps, learning_rate=ETA)
    terms = np.ravel(pred.mean_terms["dntk"]) + np.ravel(pred.mean_terms["ddntk"])
    return n * d.mean(0), n * d.std(0, ddof=1) / np.sqrt(d.shape[0]), n * terms


@pytest.mark.slow
def test_one_hidden_layer_reaches_the_dntk_terms_at_long_time() -> None:
    """erf [1, n, 1], C_W = 2, C_b = 0.1, 200 steps (t = 10), 4000 networks at n = 1024: the
    measured n·(z(T) − z_frozen) agrees with n·(dNTK + ddNTK) within 3σ at the three test
    inputs, and the term at x = 0.25 is resolved at > 5σ."""
    mlp = fnn.MLP("erf", [1, 1024, 1], C_W=2.0, C_b=0.1)
    measured, err, predicted = _scaled_shift(mlp, 200, 4000, 1024)
    assert np.all(np.abs(measured - predicted) < 3 * err)
    assert abs(predicted[1]) > 5 * err[1]


@pytest.mark.slow
def test_issue_example_is_pre_asymptotic_at_sampled_widths() -> None:
    """tanh [1, n, n, 1], C_W = 1, C_b = 0, 800 steps (t = 40): at x = −1 the measured
    n·(z(T) − z_frozen) rises by about the same amount at each doubling of n from 16 to 64
    (0.3–0.45, where an O(1/n²) remainder would halve it) and stays below the predicted
    coefficient — the widths one can sample are short of the expansion's range at this t."""
    rows = [
        _scaled_shift(fnn.MLP("tanh", [1, n, n, 1], C_W=1.0, C_b=0.0), 800, R, n)
        for n, R in ((16, 2000), (32, 2000), (64, 1500))
    ]
    at = np.array([r[0][0] for r in rows])
    err = np.array([r[1][0] for r in rows])
    predicted = rows[0][2][0]
    rises = np.diff(at)
    assert np.all((rises > 0.3) & (rises < 0.45)), (at, err)
    assert np.all(np.hypot(err[1:], err[:-1]) < 0.06)
    assert np.all(at + 3 * err < predicted)
