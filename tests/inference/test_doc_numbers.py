"""The numbers quoted in docs/inference.md that are not produced elsewhere.

* The prediction column of the single-datapoint table: n·(E[φ2²|φ̌1] − G) = ½(φ̌1² − G)V/G²
  (``conditional_second_moment``) with G = K = 2 and V = 20 of ReLU [1, n, 2], C_W = 2, C_b = 0,
  x = 1 (the kernel and the vertex from the library, the conditional from the symbolic engine).
* "Seed correction 1": at G = 1.3, V/n = −0.004 the talk's 1/γ(2) misses ⟨φ1²⟩ by 0.00456,
  0.00605, 0.00753 (m = 1, 2, 3) by direct m-dimensional integration; the first-order value
  (m + 2)|V/n|/(2G) is 0.0046, 0.0062, 0.0077. The matched residuals are 1.1–1.8·10⁻⁵
  (two-point) and 4.2–5.1·10⁻⁵ (four-point).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from fieldnn.ensembles import MLP
from fieldnn.symbolic.matching import conditional_second_moment, match_quartic
from tests.symbolic.test_matching import _gh_moments, _numeric


def test_single_datapoint_prediction_column() -> None:
    mlp = MLP("relu", [1, 16, 2], C_W=2.0, C_b=0.0)
    G = float(mlp.kernel([[1.0]])[0, 0])
    V = float(np.asarray(mlp.four_point_vertex([[1.0]])).ravel()[0])
    assert (G, V) == pytest.approx((2.0, 20.0), rel=1e-12)
    g, v, n, phi = sp.symbols("G V n phi_1")
    shift = sp.simplify(n * (conditional_second_moment(2) - g))
    column = [float(shift.subs({g: G, v: V, phi: p})) for p in (0.5, 1.0, 2.0, 3.0)]
    assert [f"{c:.3f}" for c in column[:3]] == ["-4.375", "-2.500", "5.000"]
    assert f"{column[3]:.2f}" == "17.50"


def test_seed_gamma2_misses_and_matched_residuals() -> None:
    g_val, eps = 1.3, -0.004
    misses, two, four = [], [], []
    for m in (1, 2, 3):
        g2, g4 = match_quartic(m)
        gamma2 = _numeric(g2, G=g_val, V=eps, n=1.0)
        gamma4 = _numeric(g4, G=g_val, V=eps, n=1.0)
        t, f, fd = _gh_moments(m, gamma2, gamma4)
        c4 = (fd - 3 * t**2) / 3 if m == 1 else f - t**2
        two.append(t - g_val)
        four.append(c4 - eps)
        seed = _gh_moments(m, 1 / (g_val - (m + 2) * eps / g_val), gamma4)[0] - g_val
        misses.append(seed)
    assert [f"{x:.5f}" for x in misses] == ["0.00456", "0.00605", "0.00753"]
    first_order = [-(m + 2) * eps / (2 * g_val) for m in (1, 2, 3)]
    assert [f"{x:.4f}" for x in first_order] == ["0.0046", "0.0062", "0.0077"]
    assert [f"{x * 1e5:.1f}" for x in (min(two), max(two))] == ["1.1", "1.8"]
    assert [f"{x * 1e5:.1f}" for x in (min(four), max(four))] == ["4.2", "5.1"]
