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


@pytest.mark.parametrize("h", TRAPEZOID_STEPS[1:4])
def test_shifted_check_lattices_are_shifted_trapezoid_rules(h):
    u, weight, u1, column = gaussian._shifted_check(h)
    assert weight.shape == (u.shape[0], len(gaussian._CHECK_SHIFTS))
    np.testing.assert_array_equal(u1[column], u[:, 0])
    for j, shift in enumerate(gaussian._CHECK_SHIFTS):
        on = weight[:, j] > 0
        # the points of 2hℤ² + h(α_j, β_j), none on the lattice hℤ² of the sums they check
        v = u[on] - h * np.array(shift)
        assert np.all(np.abs(v / (2 * h) - np.rint(v / (2 * h))) < 1e-9)
        assert not np.any(np.all(np.abs(u[on] / h - np.rint(u[on] / h)) < 1e-9, axis=1))
        # a trapezoid rule for N(0, I₂): moments to rounding at 2h ≤ 1/2
        w = weight[on, j]
        assert abs(w.sum() - 1.0) < 1e-14
        np.testing.assert_allclose(w @ (u[on] ** 2), [1.0, 1.0], rtol=1e-13)
        assert abs(w @ u[on, 0]) < 1e-15 and abs(w @ np.prod(u[on], axis=1)) < 1e-15


def test_shifted_check_sees_the_alias_the_nested_lattices_share():
    # cos(10 u1) cos(9.9 u1 + 1.41 u2) (cos at k = 100, ρ = 0.99): the alias at 2π·2 = 25.1 of
    # the frequency 19.9 is the same in Q(1/2) and Q(1/4), so they agree to 4e-13 while both
    # are 2e-7 off; the shifted lattices of step 1/2 differ from Q(1/4) by > 1e-8
    l11, l21 = 10.0, 9.9
    l22 = np.sqrt(100.0 - l21 * l21)

    def F(v):
        return np.cos(l11 * v[:, 0]) * np.cos(l21 * v[:, 0] + l22 * v[:, 1])

    q = {h: F(trapezoid_rule(2, h)[0]) @ trapezoid_rule(2, h)[1] for h in (0.5, 0.25, 0.125)}
    exact = 0.5 * (np.exp(-(200.0 - 2 * 99.0) / 2) + np.exp(-(200.0 + 2 * 99.0) / 2))
    assert abs(q[0.25] - q[0.5]) < 1e-12 < 1e-7 < abs(q[0.25] - exact)
    assert abs(q[0.125] - exact) < 1e-14
    u, weight, _, _ = gaussian._shifted_check(0.25)
    assert np.max(np.abs(F(u) @ weight - q[0.25])) > 1e-8
