"""Helpers shared by the O(1/√n) theories of kinked-σ training (private): the slopes at the
kink, the replica noise, the folded-normal moments of the initial residual and the time integrals
of the one-training-input shift, and the angular quadrature of the deep theories' moments."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy import integrate
from scipy.special import erf

from .._validate import symmetric_psd
from ..errors import ShapeError, UnsupportedError


def has_kink(act: Any) -> bool:
    """Whether σ is piecewise linear with different slopes on the two sides of 0."""
    slopes = getattr(act, "piecewise_linear_slopes", None)
    return slopes is not None and slopes[0] != slopes[1]


def kink_slopes(net: Any) -> tuple[float, float]:
    """The slopes (s₋, s₊) of the net's σ below and above its kink; refuses a smooth σ."""
    if not has_kink(net.activation):
        raise UnsupportedError(
            "mlp",
            "needs σ with a kink (relu, leaky relu); a smooth σ has no O(1/√n) term: use "
            "finite_width_prediction",
        )
    s_minus, s_plus = net.activation.piecewise_linear_slopes
    return float(s_minus), float(s_plus)


def replica_noise(C_Y: Any, N: int) -> np.ndarray:
    """The replica covariance C_Y (N, N), checked (zeros when None)."""
    if C_Y is None:
        return np.zeros((N, N))
    cov = symmetric_psd(C_Y, "C_Y")
    if cov.shape != (N, N):
        raise ShapeError("C_Y", f"must be ({N}, {N}) for {N} training inputs, got {cov.shape}")
    return cov


def folded_moments(mu: float, var: float) -> tuple[float, float, float]:
    """E|ε|, E|ε|ε and E|ε|³ for ε ~ N(μ, var)."""
    s = math.sqrt(var)
    a, phi = erf(mu / (s * math.sqrt(2))), math.exp(-(mu**2) / (2 * var)) * math.sqrt(2 / math.pi)
    e_abs = s * phi + mu * a
    e_abs_e = (mu**2 + var) * a + mu * s * phi
    e_abs3 = (mu**3 + 3 * mu * var) * a + s * (mu**2 + 2 * var) * phi
    return e_abs, e_abs_e, e_abs3


def residual_shift(coef: np.ndarray, mu: float, var: float) -> tuple[np.ndarray, np.ndarray]:
    """The mean shift E[|ε₀|ε₀] coef (Q,) and Cov(ε₀, δz) = (E|ε₀|³ − μE|ε₀|ε₀) coef (1, Q) of
    per-network output shifts δz = |ε₀|ε₀ coef, ε₀ ~ N(μ, var) (one training input)."""
    _, e_abs_e, e_abs3 = folded_moments(mu, var)
    return e_abs_e * coef, ((e_abs3 - mu * e_abs_e) * coef)[None, :]


def time_factors(theta: float, t: float, eta: float | None) -> tuple[float, float, float, float]:
    """∫₀ᵗ g e^{−Θs} ds and ∫₀ᵗ e^{−Θs} ∫₀ˢ g dr ds with g(s) = (1 − e^{−Θs})/Θ (gradient
    flow), or their sums over steps k < T = t/η with q = 1 − ηΘ, g_k = (1 − q^k)/Θ (descent);
    then the two sums of the in-step curvature (zero for the flow): its injections at the
    training input Σ_k (q|q|)^k and their propagation η Σ_k (q|q|)^k Σ_{m=k+1}^{T−1} q^{m−k−1}."""
    if eta is None:
        e1 = 0.0 if math.isinf(t) else math.exp(-theta * t)
        te1 = 0.0 if math.isinf(t) else t * e1
        first = ((1 - e1) / theta - (1 - e1 * e1) / (2 * theta)) / theta
        second = ((1 - e1 - theta * te1) / theta**2 - first) / theta
        return first, second, 0.0, 0.0
    q = 1.0 - eta * theta
    if not math.isinf(t):
        steps = round(t / eta)
    elif q == 0.0:
        steps = 1
    else:  # to where q^k has decayed below double precision
        steps = math.ceil(math.log(1e-18) / math.log(abs(q)))
    k = np.arange(steps, dtype=float)
    gk = (1.0 - q**k) / theta
    first = eta * float(np.sum(gk * q**k))
    second = eta**2 * float(np.sum(q ** (k - 1.0) * (np.cumsum(gk) - gk))) if q != 0.0 else 0.0
    sq = (q * abs(q)) ** k
    third = float(np.sum(sq))
    fourth = eta * float(np.sum(sq * (1.0 - q ** (steps - 1.0 - k)) / (1.0 - q)))
    return first, second, third, fourth


def shift_coefficient(
    kappa_t: np.ndarray,
    kappa: float,
    overshoot: float,
    direct: np.ndarray,
    theta: float,
    theta_t: np.ndarray,
    t: float,
    eta: float | None,
) -> np.ndarray:
    """The coefficient of a network's output shift δz(x') = |ε₀|ε₀ coef at one training input x
    (the drifts −κ|ε₀|g of the kernel driving x and −κ'|ε₀|g of Θ̂(x', x), ``kappa_t`` (Q,)):
    κ' ∫g e^{−Θs} − Θ(x', x) κ ∫e^{−Θs}∫g, plus under descent the in-step overshoot injecting
    o η²ε_k|ε_k|/2 at x per step, ``direct`` (Q,) times at x' itself, propagated through the
    residual: (o η²/2)(d Σ_k (q|q|)^k − Θ(x', x) η Σ_k (q|q|)^k Σ_{m>k} q^{m−k−1})
    (:func:`time_factors`; ``theta`` = Θ(x, x), ``theta_t`` = Θ(x', x))."""
    first, second, third, fourth = time_factors(theta, t, eta)
    curvature = 0.5 * overshoot * (eta or 0.0) ** 2 * (direct * third - theta_t * fourth)
    return kappa_t * first - theta_t * kappa * second + curvature


def angular_pieces(
    sd_A: float, sd_B: float, s_minus: float, s_plus: float
) -> list[tuple[float, float]]:
    """The arcs of φ ∈ [0, 2π) (A = sd_A cos φ, B = sd_B sin φ) between the angles where
    s±A + B = 0: on each, every unit of a deep layer keeps its case (crossing, sliding) and the
    integrands of its moments (:mod:`fieldnn.inference._deep_kink`) are trigonometric
    polynomials."""
    kinks = sorted(
        math.atan2(-s * sd_A * sign, sd_B * sign) % (2 * math.pi)
        for s in (s_minus, s_plus)
        for sign in (1.0, -1.0)
    )
    edges = [0.0, *kinks, 2 * math.pi]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def angular_mean(integrand: Any, pieces: list[tuple[float, float]]) -> Any:
    """(1/2π)∫ integrand dφ by 32-node Gauss–Legendre on each arc (exact to rounding for the
    trigonometric polynomials of degree ≤ 5 here: tested against adaptive quadrature)."""
    total = sum(integrate.fixed_quad(integrand, a, b, n=32)[0] for a, b in pieces)
    return total / (2.0 * math.pi)
