"""Couplings from sampled correlators against the exact ones, with jackknife errors checked."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn

NET = fnn.SingleLayerNet("erf", width=3, sigma_w2=2.0, sigma_b2=0.2)
X = np.array([[0.5], [1.2]])


@pytest.mark.parametrize("order", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_sampled_couplings_pull_against_exact(order):
    """Independent sets (6 at order 1, 8 at order 2) of 5 (order 2: 8) replicas: the pulls
    (sampled − exact)/σ_jackknife are O(1), and σ matches the spread across the sets."""
    exact = fnn.effective_action(NET, X, order=order)
    orders = (2, 4) if order == 1 else (2, 4, 6)
    ks = (2, 4) if order == 1 else (2, 4, 6)
    pulls = {k: [] for k in ks}
    values = {k: [] for k in ks}
    sigmas = {k: [] for k in ks}
    for s in range(6 if order == 1 else 8):
        ests = [
            fnn.estimate_correlators(NET, X, n_nets=20000, orders=orders, rng=[s, r])
            for r in range(5 if order == 1 else 8)
        ]
        S = fnn.effective_action(ests, X, order=order)
        for k in ks:
            pulls[k].append(((S.gamma(k) - exact.gamma(k)) / S.stderr(k)).ravel())
            values[k].append(S.gamma(k).ravel())
            sigmas[k].append(S.stderr(k).ravel())
    for k in ks:
        p = np.array(pulls[k])
        assert np.all(np.abs(p) < 4.5), (k, p)
        assert 0.4 < np.sqrt(np.mean(p**2)) < 1.8, (k, np.sqrt(np.mean(p**2)))
        ratio = np.std(values[k], axis=0, ddof=1) / np.mean(sigmas[k], axis=0)
        # σ of sixth cumulants is itself noisy (heavy tails): a factor ~3 either way
        low = 0.4 if order == 1 else 0.3
        assert np.all((ratio > low) & (ratio < 2.5)), (k, ratio)


def test_single_estimate_has_couplings_but_no_errors():
    est = fnn.estimate_correlators(NET, X, n_nets=20000, orders=(2, 4), rng=1)
    S = fnn.effective_action(est, X, order=1)
    assert S.gamma(4).shape == (2, 2, 2, 2)
    with pytest.raises(fnn.errors.UnsupportedError, match="'k'"):
        S.stderr(4)


def test_estimate_without_six_point_refuses_order_two():
    est = fnn.estimate_correlators(NET, X, n_nets=2000, orders=(2, 4), rng=2)
    with pytest.raises(fnn.errors.UnsupportedError, match=r"'order'.*6"):
        fnn.effective_action(est, X, order=2)
    with pytest.raises(fnn.errors.ShapeError, match="'X'"):
        fnn.effective_action(est, X[:1], order=1)
