r"""The O(1/√n) mean and covariance shift of a deep relu-type ensemble trained by gradient flow on
one input (private; public through :func:`fieldnn.kinked_training_shift`).

Per network the drift of the NTK is deterministic given ε₀ = z₀(x) − y at leading order (a sum
over the ~√n units that reach a kink), ∝ |ε₀| g(t), g(t) = (1 − e^{−Θt})/Θ
(:func:`fieldnn.kinked_ntk_change`). Write the drift of the kernel that drives the output at x as
−κ|ε₀|g(t) and that of Θ̂(x', x) as −κ'|ε₀|g(t) (at the network's widths): κ from the empirical
drift plus the sliding units, which hold σ(0) and move no output (``KinkedNTKChange.sliding``),
κ' the empirical drift at x' (linear in σ'(x): nothing to correct), κ' = κ at x' = x. To first
order in the drift, ε(t) = ε₀e^{−Θt}(1 − ∫₀ᵗδ) and ż(x') = −(Θ(x', x) + δ')ε, so

.. math::

    \mathbb E z(x', t) - \mathbb E z_\infty(x', t) = \mathbb E[|\varepsilon_0|\varepsilon_0]\,
        \Big[\kappa'\!\int_0^t g(s)e^{-\Theta s}ds
        - \Theta(x', x)\,\kappa\!\int_0^t e^{-\Theta s}\!\int_0^s g(r)\,dr\,ds\Big] + O(1/n),

the one-hidden-layer formula of :mod:`fieldnn.inference._kinked_training` with the deep κ, κ'.
The covariance shift is L Cov(ε₀, δz) + transpose, Cov(ε₀, |ε₀|ε₀) = E|ε₀|³ − E ε₀ E|ε₀|ε₀.
Under t/η steps of descent (η·Θ(x, x) < 1) the integrals are sums over steps with
g_k = (1 − q^k)/Θ, q = 1 − ηΘ; the sliding units' lag and the shrinking chatter band enter κ and
κ' through :func:`fieldnn.kinked_ntk_change` (their time dependence is that of g_k), and units
that cross or enter a kink within a step inject o η²ε_k|ε_k|/2 at x per step
(``KinkedNTKChange.overshoot``), propagated through the residual as at one hidden layer.
Derivation in ``docs/finite_width_training.md``, "Deeper relu nets: the trained outputs".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._deep_kink import ntk_drift
from ._kink_common import folded_moments, residual_shift, shift_coefficient
from ._spectral import TrainingFilter


def deep_one_input(
    net: Any, stats: Any, same: np.ndarray, target: float, noise: float, t: float,
    eta: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Mean shift (Q,), NTK change (Q, 1) and Cov(ε₀, δz(x')) (1, Q) at the net's widths, for
    the training input x with target y and replica noise C_Y, and Q test inputs, under gradient
    flow for a time t (``eta`` None) or t/η steps of descent (module docstring), from the net's
    ``ntk_fluctuations`` on [x; x'₁ … x'_Q] and which test inputs are x (``_check_inputs``)."""
    r, at_x = ntk_drift(net, stats, same, target, noise, t, eta)
    theta = np.asarray(stats.Theta[-1][:, 0], dtype=float)
    var = float(stats.K[-1][0, 0]) + noise  # Var ε₀
    mu, Q = -target, same.size
    unit = folded_moments(mu, var)[0] * float(TrainingFilter(t, eta).values(theta[:1])[0])
    if unit == 0.0:  # t = 0: nothing has moved (E|ε₀| g(t) = 0)
        return np.zeros(Q), np.zeros((Q, 1)), np.zeros((1, Q))
    root = np.sqrt(np.asarray(r.widths[1:-1], dtype=float))
    kappa = -(at_x + float(np.sum(r.sliding / root))) / unit
    kappa_t = np.where(same, kappa, -r.ntk_change / unit)
    overshoot = float(np.sum(r.overshoot / root))  # injected at x only
    coef = shift_coefficient(kappa_t, kappa, overshoot, same, float(theta[0]), theta[1:], t, eta)
    shift, cross = residual_shift(coef, mu, var)
    return shift, r.ntk_change[:, None], cross
