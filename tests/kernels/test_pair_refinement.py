"""The 2-d pair rule of a σ without closed forms: nested lattice refinement, per-element
convergence and the early hand-over of wide pairs to the nested sinh rule, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from fieldnn.kernels import gaussian, get_activation, pair_expectation
from fieldnn.kernels._quadrature import TRAPEZOID_STEPS, half_trapezoid_rule, trapezoid_rule


def _plain_gelu(z):
    """GELU as a plain callable: no closed pair form, so the quadrature path runs."""
    return z * ndtr(z)


@pytest.mark.parametrize("even", [False, True])
@pytest.mark.parametrize("h", TRAPEZOID_STEPS[1:])
def test_refinement_adds_exactly_the_new_lattice_points(h, even):
    rule = half_trapezoid_rule if even else trapezoid_rule
    fine, w_fine = rule(2, h)
    coarse, w_coarse = rule(2, 2 * h)
    new, w_new, u1, column = gaussian._refinement(h, even, first=False)
    # the fine lattice is the coarse one (weights h² φ = (2h)² φ / 4) plus the new points
    assert new.shape[0] + coarse.shape[0] == fine.shape[0]
    merged = np.vstack([coarse, new])
    order_merged, order_fine = np.lexsort(merged.T), np.lexsort(fine.T)
    np.testing.assert_array_equal(merged[order_merged], fine[order_fine])
    weights = np.concatenate([w_coarse / 4.0, w_new])[order_merged]
    np.testing.assert_allclose(weights, w_fine[order_fine], rtol=1e-15, atol=0.0)
    np.testing.assert_array_equal(u1[column], new[:, 0])  # distinct first coordinates
    first, w_first, _, _ = gaussian._refinement(h, even, first=True)
    np.testing.assert_array_equal(first, fine)
    np.testing.assert_array_equal(w_first, w_fine)


def _wide_pairs():
    """K(x, y) blocks of a single-layer net at σ_b² = σ_W² = 1, x ∈ {−1, 0.5}, |y| up to 1e3."""
    y = np.concatenate([-np.geomspace(0.1, 1e3, 15), np.geomspace(0.1, 1e3, 15)])
    x = np.array([-1.0, 0.5])[:, None]
    k11 = np.broadcast_to(1.0 + x * x, (2, y.size))
    k22 = np.broadcast_to(1.0 + y * y, (2, y.size))
    return k11, k22, 1.0 + x * y


@pytest.mark.parametrize("derivatives", [(0, 0), (1, 1)])
def test_wide_and_narrow_pairs_against_the_gelu_closed_form(derivatives):
    k11, k22, k12 = _wide_pairs()
    gelu = get_activation("gelu")
    closed = (gelu.pair_expectation if derivatives == (0, 0) else gelu.derivative_pair_expectation)(
        k11, k22, k12
    )
    got = pair_expectation(_plain_gelu, k11, k22, k12, derivatives=derivatives)
    np.testing.assert_allclose(got, closed, rtol=2e-10, atol=0.0)


def test_wide_pairs_leave_the_lattice_early(monkeypatch):
    # σ evaluations of the whole batch: the lattice used to run every element down to
    # h = 1/64 (~1.4e6 points each) before the wide ones went to the nested rule anyway
    calls = {"points": 0}
    evaluate = gaussian._evaluate

    def counting(act, order, z, q):
        calls["points"] += np.size(z)
        return evaluate(act, order, z, q)

    monkeypatch.setattr(gaussian, "_evaluate", counting)
    k11, k22, k12 = _wide_pairs()
    pair_expectation(_plain_gelu, k11, k22, k12)
    assert calls["points"] < 2e5 * k11.size
