r"""Exact gradient and Hessian of the slope pair function of a piecewise-linear σ (private).

For σ(z) = s₋z + Δ relu(z), Δ = s₊ − s₋, and (z_a, z_b) ~ N(0, [[k₁₁, k₁₂], [k₁₂, k₂₂]]),
with ρ = k₁₂/√(k₁₁k₂₂) and θ = arccos ρ (the arc-cosine kernel of order 0),

.. math::

    \langle\sigma'_a\sigma'_b\rangle = s_-^2 + s_-\Delta + \frac{\Delta^2}{2\pi}\,(\pi - \theta),
    \qquad (\pi - \theta)' = (1 - \rho^2)^{-1/2},\quad (\pi - \theta)'' = \rho(1 - \rho^2)^{-3/2}.

Near |ρ| = 1 these derivatives diverge, and in the O(1/n) source ½ Σ ∂_i∂_j T V_ij of the NTK
recursions the divergence cancels against the kernel covariance V (the correlation of two
nearly collinear inputs fluctuates by O(1 − |ρ|)); central differences, whose truncation error
grows like (step/(1 − |ρ|))², cannot resolve that cancellation, so the recursions use this
closed form for every σ with a kink (``docs/finite_width_training.md``, "Numerics"). ⟨σ_aσ_b⟩
of such σ needs no differences: its source comes from the exact Gaussian identities of the V
recursion.
"""

from __future__ import annotations

import math

import numpy as np


def kinked_pair_derivatives(
    slopes: tuple[float, float], k11: np.ndarray, k22: np.ndarray, k12: np.ndarray
) -> tuple[list[np.ndarray], dict[tuple[int, int], np.ndarray]]:
    """Gradient [∂/∂k₁₁, ∂/∂k₂₂, ∂/∂k₁₂] and Hessian {(i, j): ∂²/∂k_i∂k_j, i ≤ j} of
    ⟨σ'_aσ'_b⟩, elementwise, for |ρ| < 1 (module docstring): the chain rule through ρ."""
    s_minus, s_plus = slopes
    b = (s_plus - s_minus) ** 2 / (2.0 * math.pi)
    m = np.sqrt(k11 * k22)
    rho = k12 / m
    w = 1.0 / np.sqrt(1.0 - rho * rho)
    d_rho = [-rho / (2.0 * k11), -rho / (2.0 * k22), 1.0 / m]
    dd_rho = {
        (0, 0): 3.0 * rho / (4.0 * k11 * k11),
        (1, 1): 3.0 * rho / (4.0 * k22 * k22),
        (2, 2): np.zeros_like(rho),
        (0, 1): rho / (4.0 * k11 * k22),
        (0, 2): -1.0 / (2.0 * k11 * m),
        (1, 2): -1.0 / (2.0 * k22 * m),
    }
    f1, f2 = b * w, b * rho * w**3
    grad = [f1 * d for d in d_rho]
    hess = {(i, j): f2 * d_rho[i] * d_rho[j] + f1 * dd for (i, j), dd in dd_rho.items()}
    return grad, hess
