r"""Exact gradient and Hessian of the pair functions of a piecewise-linear σ (private).

For σ(z) = s₋z + Δ relu(z), Δ = s₊ − s₋, and (z_a, z_b) ~ N(0, [[k₁₁, k₁₂], [k₁₂, k₂₂]]),
with m = √(k₁₁k₂₂), ρ = k₁₂/m and θ = arccos ρ (Cho–Saul arc-cosine kernels):

.. math::

    \langle\sigma_a\sigma_b\rangle = (s_-^2 + s_-\Delta)\,k_{12}
        + \frac{\Delta^2}{2\pi}\,m\,J(\rho),\qquad J(\rho) = \sqrt{1 - \rho^2} + (\pi - \theta)\rho,

    \langle\sigma'_a\sigma'_b\rangle = s_-^2 + s_-\Delta + \frac{\Delta^2}{2\pi}\,(\pi - \theta),

with J′ = π − θ, J″ = (1 − ρ²)^{−1/2}, (π − θ)′ = (1 − ρ²)^{−1/2}, (π − θ)″ = ρ(1 − ρ²)^{−3/2}.
Near |ρ| = 1 these derivatives diverge, and in the O(1/n) sources
½ Σ ∂_i∂_j h V_ij the divergence cancels against the kernel covariance V (the correlation of
two nearly collinear inputs fluctuates by O(1 − |ρ|)); central differences, whose truncation
error grows like (step/(1 − |ρ|))², cannot resolve that cancellation, so the recursions use
these closed forms for every σ with a kink (``docs/finite_width_training.md``, "Numerics").
"""

from __future__ import annotations

import math

import numpy as np


def kinked_pair_derivatives(
    slopes: tuple[float, float], derivative: int, k11: np.ndarray, k22: np.ndarray,
    k12: np.ndarray,
) -> tuple[list[np.ndarray], dict[tuple[int, int], np.ndarray]]:  # fmt: skip
    """Gradient [∂/∂k₁₁, ∂/∂k₂₂, ∂/∂k₁₂] and Hessian {(i, j): ∂²/∂k_i∂k_j, i ≤ j} of
    ⟨σ_aσ_b⟩ (``derivative`` 0) or ⟨σ'_aσ'_b⟩ (1), elementwise, for |ρ| < 1 (module
    docstring)."""
    s_minus, s_plus = slopes
    delta = s_plus - s_minus
    b = delta * delta / (2.0 * math.pi)
    m = np.sqrt(k11 * k22)
    rho = k12 / m
    w = 1.0 / np.sqrt(1.0 - rho * rho)
    zero = np.zeros_like(rho)
    # ρ and m as functions of (k11, k22, k12)
    d_rho = [-rho / (2.0 * k11), -rho / (2.0 * k22), 1.0 / m]
    dd_rho = {
        (0, 0): 3.0 * rho / (4.0 * k11 * k11),
        (1, 1): 3.0 * rho / (4.0 * k22 * k22),
        (2, 2): zero,
        (0, 1): rho / (4.0 * k11 * k22),
        (0, 2): -1.0 / (2.0 * k11 * m),
        (1, 2): -1.0 / (2.0 * k22 * m),
    }
    if derivative:
        f1, f2 = b * w, b * rho * w**3  # of (π − θ)
        grad = [f1 * d for d in d_rho]
        hess = {ij: f2 * d_rho[ij[0]] * d_rho[ij[1]] + f1 * dd_rho[ij] for ij in dd_rho}
        return grad, hess
    phi = np.sqrt(1.0 - rho * rho) + (math.pi - np.arccos(np.clip(rho, -1.0, 1.0))) * rho
    f1, f2 = math.pi - np.arccos(np.clip(rho, -1.0, 1.0)), w  # J′, J″
    d_m = [m / (2.0 * k11), m / (2.0 * k22), zero]
    dd_m = {
        (0, 0): -m / (4.0 * k11 * k11),
        (1, 1): -m / (4.0 * k22 * k22),
        (2, 2): zero,
        (0, 1): m / (4.0 * k11 * k22),
        (0, 2): zero,
        (1, 2): zero,
    }
    linear = s_minus * s_minus + s_minus * delta
    grad = [b * (phi * dm + m * f1 * dr) for dm, dr in zip(d_m, d_rho, strict=True)]
    grad[2] = grad[2] + linear
    hess = {
        (i, j): b * (
            phi * dd_m[i, j]
            + f1 * (d_m[i] * d_rho[j] + d_rho[i] * d_m[j])
            + m * f2 * d_rho[i] * d_rho[j]
            + m * f1 * dd_rho[i, j]
        )
        for i, j in dd_rho
    }  # fmt: skip
    return grad, hess
