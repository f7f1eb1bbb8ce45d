r"""Where the O(1/√n) kink theory of training holds: the window a unit crosses against the
spread of the other inputs' preactivations (private; a warning of
:func:`fieldnn.kinked_training_shift` and :func:`fieldnn.kinked_ntk_change`).

The theory holds σ'(u(x')) fixed while a unit's preactivation at a training input x_γ crosses
its kink. During training the unit's preactivation at x' moves by (``_kink_flux``)

.. math::

    \Delta u(x') = -\frac{1}{\sqrt{n_\ell}}\sum_\beta\big[\Theta_\ell(x', x_\beta)\,
        \sigma'_\beta\, g(x_\beta) + \Xi(x', x_\beta)\big]\,E_\beta,\qquad E = F\varepsilon_0,

F = g(Θ_AA) the training filter (Θ_AA^{−1}(1 − e^{−Θ_AA t}) for gradient flow), so over units and
networks

.. math::

    D_\ell(x')^2 = \frac{1}{n_\ell}\sum_{\alpha\beta} M_{\alpha\beta}\,
        \langle\sigma'_\alpha\sigma'_\beta\rangle_\ell G_\ell(x_\alpha, x_\beta)\,
        \Big[\Theta_\ell(x', x_\alpha)\Theta_\ell(x', x_\beta)
        + \frac{n_\ell}{n_{\ell-1}} B^{(\ell)}_{x'x'\alpha\beta}\Big],\qquad
    M = F\,(K_{AA} + C_Y + YY^\top)\,F^\top .

Given u(x_γ) = 0, u(x') is Gaussian with spread s = √(K_ℓ(x', x')(1 − ρ²)), ρ the correlation
of the two preactivations; a fraction ≈ q = D_ℓ(x')/s of the units that cross the kink at x_γ
also cross the kink at x', which the leading order leaves out. Measured on relu [1, n, 1] and
[1, n, n, 1] (C_W = 2, C_b = 0.1, two training inputs, n = 64 … 1024): the NTK change at x' has
a remainder of (0.1–1.6)·q·|ΔΘ(x_γ, x_γ)| and the output shift one of (1.2–2.4)·q·|δz(x_γ)|,
falling like q ∝ 1/√n where q ≲ 0.5 (``docs/finite_width_training.md``, "The window ratio, and the
warning"). Inputs exactly proportional in every network (ρ = ±1) are tracked by the theory and
skipped.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np

from ._kink_flux import backward_signals
from ._spectral import TrainingFilter

WINDOW = 0.1  # q above which kinked_training_shift and kinked_ntk_change warn


def preactivation_displacements(
    net: Any, stats: Any, N: int, eps_mean: np.ndarray, eps_cov: np.ndarray, t: float,
    eta: float | None,
) -> np.ndarray:  # fmt: skip
    """D_ℓ(x') (module docstring), the rms over units and networks of a hidden preactivation's
    change during training at leading order, per hidden layer ℓ (axis 0) and input x' (axis 1,
    training inputs first).

    ``stats`` is :func:`fieldnn.kernels.ntk_fluctuations` on the inputs, ε₀ ~ N(eps_mean,
    eps_cov) the initial residuals, (t, η) the training time and step (η None: gradient flow)."""
    theta = np.asarray(stats.Theta[-1], dtype=float)
    F = TrainingFilter(t, eta).matrix(theta[:N, :N])
    M = F @ (eps_cov + np.outer(eps_mean, eps_mean)) @ F.T
    slopes, signal = backward_signals(net, stats.K)
    widths = [int(w) for w in net.widths]
    out = []
    for ell in range(1, len(widths) - 1):
        H, B = np.asarray(stats.Theta[ell - 1]), np.asarray(stats.B[ell - 1])
        Msg = M * (slopes[ell - 1] * signal[ell - 1])[:N, :N]
        own = np.einsum("ab,xa,xb->x", Msg, H[:, :N], H[:, :N])
        push = widths[ell] / widths[ell - 1] * np.einsum("ab,xxab->x", Msg, B[:, :, :N, :N])
        out.append(np.sqrt(np.maximum(own + push, 0.0) / widths[ell]))
    return np.array(out)


def window_ratios(
    net: Any, stats: Any, N: int, eps_mean: np.ndarray, eps_cov: np.ndarray, t: float,
    eta: float | None,
) -> np.ndarray:  # fmt: skip
    """q_ℓ(x', x_γ) = D_ℓ(x')/s_ℓ(x' | x_γ) (module docstring) per hidden layer ℓ (axis 0),
    input x' (axis 1) and training input x_γ (axis 2, N of them); 0 where x' is exactly
    proportional to x_γ (or has zero variance). Arguments as
    :func:`preactivation_displacements`."""
    D = preactivation_displacements(net, stats, N, eps_mean, eps_cov, t, eta)
    out = []
    for ell, K in enumerate(stats.K[:-1]):
        d = np.sqrt(np.diag(np.asarray(K)))
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.asarray(K)[:, :N] / np.outer(d, d[:N])
            q = D[ell][:, None] / (d[:, None] * np.sqrt(1.0 - rho**2))
        out.append(np.where((np.abs(rho) < 1.0 - 1e-12) & (d[:, None] > 0), q, 0.0))
    return np.array(out)


def largest_ratio(q: np.ndarray, N: int) -> np.ndarray:
    """The window ratio of each test input (rows N.. of :func:`window_ratios`), the largest over
    the hidden layers and training inputs."""
    return q[:, N:, :].max(axis=(0, 2), initial=0.0)


def warn_nearby_kinks(q: np.ndarray, N: int) -> None:
    """Warns (RuntimeWarning) when the largest of the :func:`window_ratios` ``q`` (N training
    inputs) exceeds ``WINDOW``, naming the pair of inputs, the layer and q."""
    if q.size == 0 or q.max() <= WINDOW:
        return
    ell, a, g = np.unravel_index(np.argmax(q), q.shape)
    first = f"X_train[{a}]" if a < N else f"X_test[{a - N}]"
    warnings.warn(
        f"{first} and X_train[{g}] have nearly proportional preactivations in hidden layer "
        f"{ell + 1}: during training a unit's preactivation at {first} moves by "
        f"q = {q[ell, a, g]:.2g} times its spread when X_train[{g}]'s is at the kink (warned "
        f"above {WINDOW:g}), so units crossing one kink also cross the other, which the "
        f"O(1/√n) theory leaves out. The output shift at {first} then misses by about 2q "
        f"times the shift at X_train[{g}], and the NTK change by up to 1.6q times ΔΘ at "
        f"X_train[{g}]; the miss falls like 1/√n (docs/finite_width_training.md, 'The window "
        "ratio, and the warning')",
        RuntimeWarning,
        stacklevel=_outside_package(),
    )


def _outside_package() -> int:
    """The ``stacklevel`` of the first caller outside fieldnn (counted from the ``warn`` call
    in :func:`warn_nearby_kinks`), so the warning points at the user's line whichever public
    function reached it."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("fieldnn."):
        frame, level = frame.f_back, level + 1
    return level
