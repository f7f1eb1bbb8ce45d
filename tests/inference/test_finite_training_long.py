"""The dNTK and ddNTK terms of the trained mean (``FiniteWidthPrediction.mean_terms``) at long
training times, against trained networks minus their own frozen-kernel solutions (a control
variate, ``frozen_shift``, whose mean keeps exactly those terms at O(1/n)): where the expansion
is reached (one hidden layer at n = 1024; two hidden layers, extrapolated from n = 32 … 256) and
where, at the widths one can sample, it is not (the issue's example, t = 40, whose frozen-kernel
part holds while its training part misses). Numbers quoted in
``docs/finite_width_training.md``, "Where the expansion holds".
"""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.experiments import eft
from fieldnn.experiments._eft_training import _moments, _paired_var
from fieldnn.experiments._paired_training import frozen_shift, paired

X = np.linspace(-1.5, 1.5, 4)[:, None]
Y = np.sin(2 * X[:, 0])
XT = np.array([[-1.0], [0.25], [1.0]])
ETA = 0.05


def _scaled_shift(mlp: fnn.MLP, steps: int, R: int, seed: int) -> tuple[np.ndarray, dict]:
    """n·(z(T) − z_lin) at XT per network (R, 3), R networks in chunks of 1000, and the
    predicted n·(dNTK term) and n·(ddNTK term) of the mean ("dntk", "ddntk", each (3,)); with
    them, under "trained", the trained outputs z(T) at XT (R, 3) and, under "var", the predicted
    n·(dNTK + ddNTK terms) of the variance (3,)."""
    n = mlp.widths[-2]
    xs, shifts, trained = np.concatenate([X, XT]), [], []
    for c in range(-(-R // 1000)):
        rng = np.random.default_rng(seed + c)
        (k0, z0), (_, z1) = paired(mlp, xs, Y, steps, min(1000, R - 1000 * c), rng, "both",
                                   eta=ETA, n_train=4)  # fmt: skip
        shifts.append(frozen_shift(k0, z0, z1, Y, ETA, steps))
        trained.append(z1[:, 4:])
    pred = fnn.finite_width_prediction(mlp, X, Y, XT, t=ETA * steps, learning_rate=ETA)
    terms = {k: n * np.ravel(pred.mean_terms[k]) for k in ("dntk", "ddntk")}
    terms["trained"] = np.concatenate(trained)
    terms["var"] = n * np.diag(pred.cov_terms["dntk"] + pred.cov_terms["ddntk"])
    return n * np.concatenate(shifts), terms


def _mean_err(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _moments(d)[:2]


@pytest.mark.slow
def test_one_hidden_layer_reaches_the_dntk_terms_at_long_time() -> None:
    """erf [1, n, 1], C_W = 2, C_b = 0.1, 200 steps (t = 10), 4000 networks at n = 1024: the
    measured n·(z(T) − z_lin) agrees with n·(dNTK + ddNTK) within 3σ at the three test
    inputs, and the term at x = 0.25 is resolved at > 5σ."""
    mlp = fnn.MLP("erf", [1, 1024, 1], C_W=2.0, C_b=0.1)
    d, terms = _scaled_shift(mlp, 200, 4000, 1024)
    (measured, err), predicted = _mean_err(d), terms["dntk"] + terms["ddntk"]
    assert np.all(np.abs(measured - predicted) < 3 * err)
    assert abs(predicted[1]) > 5 * err[1]


@pytest.mark.slow
def test_issue_example_is_pre_asymptotic_at_sampled_widths() -> None:
    """tanh [1, n, n, 1], C_W = 1, C_b = 0, 800 steps (t = 40): at x = −1 the measured
    n·(z(T) − z_lin) rises by about the same amount at each doubling of n from 16 to 64
    (0.3–0.45, where an O(1/n²) remainder would halve it) and stays below the predicted
    coefficient — the widths one can sample are short of the expansion's range at this t. The
    quadratic extrapolation in 1/n through n = 32, 64, 128 is within 3σ of the prediction."""
    rows = [
        _scaled_shift(fnn.MLP("tanh", [1, n, n, 1], C_W=1.0, C_b=0.0), 800, R, n)
        for n, R in ((16, 2000), (32, 2000), (64, 1500), (128, 1500))
    ]
    at, err = np.array([_mean_err(d[:, 0]) for d, _ in rows]).T
    predicted = rows[0][1]["dntk"][0] + rows[0][1]["ddntk"][0]
    rises, rise_err = np.diff(at), np.hypot(err[1:], err[:-1])
    assert np.all((rises[:2] > 0.3) & (rises[:2] < 0.45)), (at, err)
    assert np.all(rise_err[:2] < 0.06)
    assert np.all(at + 3 * err < predicted)
    # Lagrange extrapolation to 1/n = 0 through 1/32, 1/64, 1/128
    weights = np.array([1 / 3, -2.0, 8 / 3])
    a, a_err = weights @ at[1:], np.sqrt(weights**2 @ err[1:] ** 2)
    assert abs(a - predicted) < 3 * a_err, (at, err, a, a_err, predicted)


@pytest.mark.slow
def test_two_hidden_layers_approach_the_dntk_terms() -> None:
    """erf [1, n, n, 1], C_W = 1, C_b = 0.1 (section 7's problem), 100 steps (t = 5), 8000
    networks at n = 32, 64, 128, 256. The weighted fit n·(z(T) − z_lin) = a + c/n + d/n²
    gives a within 3σ of n·(dNTK + ddNTK) at x = 0.25 and for the odd part
    (z(−1) − z(1))/2 (odd σ and odd targets make the trained mean odd in x), and rejects the
    prediction without its ddNTK term, or without its dNTK term, by more than 3σ. The
    variance's training part n·(s²(z) − s²(z_lin)) at n = 256 is within 3σ of its dNTK + ddNTK
    terms at every test input, and the same fit of it within 3σ at x = 0.25."""
    widths = np.array([32, 64, 128, 256])
    rows = [_scaled_shift(fnn.MLP("erf", [1, n, n, 1], C_W=1.0, C_b=0.1), 100, 8000, 9 * n)
            for n in widths]  # fmt: skip
    terms = rows[0][1]
    for pick in (lambda v: v[..., 1], lambda v: (v[..., 0] - v[..., 2]) / 2):
        m, e = np.array([_mean_err(pick(d)) for d, _ in rows]).T
        design = np.stack([widths**-k for k in (0.0, 1.0, 2.0)], axis=1) / e[:, None]
        cov = np.linalg.inv(design.T @ design)
        a, a_err = (cov @ design.T @ (m / e))[0], np.sqrt(cov[0, 0])
        dntk, ddntk = pick(terms["dntk"]), pick(terms["ddntk"])
        assert abs(a - dntk - ddntk) < 3 * a_err, (m, e, a, a_err, dntk, ddntk)
        assert abs(a - dntk) > 3 * a_err
        if abs(dntk) > 0.1:
            assert abs(a - ddntk) > 3 * a_err
    var = np.array([_paired_var(t["trained"], t["trained"] - d / n)
                    for n, (d, t) in zip(widths, rows, strict=True)])  # fmt: skip
    m, e = widths[:, None] * var[:, 0], widths[:, None] * var[:, 1]  # (widths, 3)
    predicted = rows[0][1]["var"]
    assert np.all(np.abs(m[-1] - predicted) < 3 * e[-1]), (m, e, predicted)
    design = np.stack([widths**-k for k in (0.0, 1.0, 2.0)], axis=1) / e[:, 1, None]
    cov = np.linalg.inv(design.T @ design)
    a, a_err = (cov @ design.T @ (m[:, 1] / e[:, 1]))[0], np.sqrt(cov[0, 0])
    assert abs(a - predicted[1]) < 3 * a_err, (m, e, a, a_err, predicted)


@pytest.mark.slow
def test_issue_example_misses_only_in_its_training_part() -> None:
    """The issue's example (tanh [1, n, n, 1], C_W = 1, C_b = 0, η = 0.05, 800 steps), 1500
    networks at n = 16, 32, 64, each also trained as its own linearisation: the frozen-kernel
    part of the mean agrees with the NTK mean-shift and fluctuation terms (every pull < 4),
    while the training part misses the dNTK + ddNTK terms by an rms pull > 10 that falls with
    n — the O(1/n) failure of this example is the training dynamics' O(1/n²) remainder."""
    r = eft.finite_width_training("tanh", C_b=0.0, C_W=1.0, widths=(16, 32, 64), n_replicas=1500,
                                  steps=800, learning_rate=0.05, rng=1)  # fmt: skip
    rms = {k: np.sqrt(np.mean(v**2, axis=1)) for k, v in
           (("inf", r.z_infinite), ("lin", r.z_linearised), ("train", r.z_training))}  # fmt: skip
    assert np.all(np.abs(r.z_linearised) < 4), r.z_linearised
    assert np.all(rms["train"] > 10) and np.all(np.diff(rms["train"]) < 0), rms
    assert np.all(rms["inf"] > 10), rms


@pytest.mark.slow
def test_one_hidden_layer_variance_parts_reach_their_terms() -> None:
    """erf [1, n, 1], C_W = 2, C_b = 0.1, 100 steps (t = 5), 8000 networks at n = 32 and 512:
    the variance's paired parts (``var_part``: the linearised networks' s²(z_lin) − s²(B z₀)
    against the NTK terms of ``cov_terms``, s²(z) − s²(z_lin) against the dNTK + ddNTK terms)
    miss by > 5σ at n = 32 (their O(1/n²) remainders are resolved) and agree within 3.5σ at
    n = 512, where every predicted part is resolved at > 8σ (9.1σ and more)."""
    r = eft.finite_width_training(depth=2, C_W=2.0, widths=(32, 512), n_replicas=8000,
                                  steps=100, rng=3, chunk_size=1000)  # fmt: skip
    for part in ("frozen", "training"):
        measured, err, predicted = r.var_part(part)
        pulls = (measured - predicted) / err
        assert np.max(np.abs(pulls[0])) > 5, (part, pulls)
        assert np.all(np.abs(pulls[1]) < 3.5), (part, pulls)
        assert np.all(np.abs(predicted[1]) > 8 * err[1]), (part, predicted, err)
