r"""The O(1/√n) drift of the mean NTK of a deep relu-type network trained on one input.

A hidden unit i of layer ℓ sits at its kink with probability density p_ℓ(0) = (2πK_ℓ)^{−1/2}
(K_ℓ = K^{(ℓ)}(x, x)). Under gradient flow on MSE at one training input x with residual
ε(t) = e^{−Θt}ε₀, ε₀ = z^{(L)}(x) − y ~ N(−y, K_L + C_Y), its preactivation moves with

.. math::

    \dot z_i = -\varepsilon(t)\sum_k \hat H^{(\ell)}_{ik}\,\sigma'_k\,\partial f/\partial\sigma_k
        = -\frac{\varepsilon(t)}{\sqrt{n_\ell}}\big(\Theta_\ell\, g_i\,\sigma'_i + \xi_i\big),

g_i = √n_ℓ ∂f/∂σ(z_i) ~ N(0, G_ℓ) the backward signal, Θ_ℓ = Θ^{(ℓ)}(x, x) the diagonal of the
layer NTK Ĥ^{(ℓ)} and ξ_i = Σ_{k≠i} Ĥ^{(ℓ)}_{ik} σ'_k g_k its off-diagonal part, ungated by
σ'_i, N(0, Ξ_ℓ) at leading order and independent of g_i, z_i and ε₀, with

.. math::

    G_{L-1} = C_W^{(L)},\quad G_{\ell} = C_W^{(\ell+1)}\langle\sigma'^2\rangle_{\ell+1}G_{\ell+1},
    \qquad \Xi_\ell = \frac{n_\ell}{n_{\ell-1}}\,B^{(\ell)}\,\langle\sigma'^2\rangle_\ell\, G_\ell,

B^{(ℓ)} the NTK variance, E[Ĥ_{ik}²] = B^{(ℓ)}/n_{ℓ−1} for i ≠ k (RYH arXiv:2106.10165 sec. 8.3;
:func:`fieldnn.kernels.ntk_fluctuations`), zero at ℓ = 1. Both velocities are the common factor
ε(t) times constants, so in the scaled time τ = ∫ε/(ε₀g(t)) ∈ [0, 1], g(t) = (1 − e^{−Θt})/Θ
(after T steps of descent (1 − (1 − ηΘ)^T)/Θ), a unit above the kink moves by
V₊ = −(s₊A + B) and one below by V₋ = −(s₋A + B) (units of ε₀g/√n_ℓ, ε₀ > 0; A = Θ_ℓ g_i,
B = ξ_i, slopes s₋, s₊). Counting the units that reach the kink: those above cross when V₊, V₋ < 0,
those below when V₊, V₋ > 0, and for V₊ < 0 < V₋ both sides slide into the kink, where a unit
stays with the fraction f = V₋/(V₋ − V₊) of its time above (descent chatters across it); the net
change of the fraction above, integrated over the starting points, is

.. math::

    M(A, B) = \min(V_+, 0) + \max(V_-, 0).

Flipping σ'_i changes the output NTK Σ_{ik} σ'_i g_i Ĥ_{ik} σ'_k g_k/n_ℓ by
(Θ_ℓ g_i²Δσ'² + 2g_iξ_iΔσ')/n_ℓ, so with Δ⟨σ'⟩ = (s₊ − s₋)Δf and Δ⟨σ'²⟩ = (s₊² − s₋²)Δf

.. math::

    \mathbb E[\hat\Theta(t) - \hat\Theta(0)] = \sum_{\ell=1}^{L-1}
        \frac{p_\ell(0)\,\mathbb E|\varepsilon_0|\,g(t)}{\Theta_\ell\sqrt{n_\ell}}\,
        \mathbb E\big[\big((s_+^2 - s_-^2)A^2 + 2(s_+ - s_-)AB\big)M(A, B)\big] + O(1/n),

A ~ N(0, Θ_ℓ²G_ℓ), B ~ N(0, Ξ_ℓ). The expectation is homogeneous of degree 3: E[r³] = 3√(π/2)
times an angular quadrature. At ℓ = 1 (B = 0) it is the one-hidden-layer closed form of
:func:`fieldnn.kinked_training_shift`, −(s₊² − s₋²)(s₊ − s₋)h₁²G^{3/2}E|ε₀|g/(π√(K₁n)).
Derivation in ``docs/finite_width_training.md``, "Deeper relu nets".
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate

from ..errors import UnsupportedError
from ..kernels import ntk_fluctuations
from ._finite_training import _check_learning_rate, _check_time
from ._flow import _with_ntk
from ._kinked_training import _folded_moments, _noise, kink_slopes
from ._linalg import conditioning_data
from ._spectral import TrainingFilter

__all__ = ["KinkedNTKChange", "kinked_ntk_change"]


@dataclass(frozen=True)
class KinkedNTKChange:
    r"""The O(1/√n) mean change of the NTK at the training input, layer by layer.

    Attributes
    ----------
    ntk_change : float
        E[Θ̂(x, x; t) − Θ̂(x, x; 0)] at the network's widths (the sum of ``layers``).
    layers : ndarray (L − 1,)
        The contribution of the units of hidden layer ℓ = 1..L−1 (each ∝ 1/√n_ℓ).
    coefficients : ndarray (L − 1,)
        √n_ℓ times each contribution: the width-independent coefficients.
    ungated : ndarray (L − 1,)
        Ξ_ℓ/(Θ_ℓ² G_ℓ), the variance of the ungated velocity relative to the gated one (0 at
        ℓ = 1, and where the layer does not move: Θ_ℓ G_ℓ = 0).
    widths : tuple of int
        ``[d_in, n_1, …, n_{L−1}, 1]``.
    """

    ntk_change: float
    layers: np.ndarray
    coefficients: np.ndarray
    ungated: np.ndarray
    widths: tuple[int, ...]


def kinked_ntk_change(
    mlp: Any,
    X_train: Any,
    y_train: Any,
    *,
    t: float = math.inf,
    lambda_b: Any = 1.0,
    lambda_W: Any = 1.0,
    C_Y: Any = None,
    learning_rate: float | None = None,
) -> KinkedNTKChange:
    r"""The O(1/√n) mean NTK drift of a deep relu-type MLP trained on MSE at one input.

    Parameters
    ----------
    mlp : MLP
        Any depth, one output, σ with a kink (relu, leaky relu).
    X_train : array_like (1, d_in)
        The training input (u ≠ 0 in some network: not x = 0 at C_b = 0).
    y_train : array_like (1,)
        Its target (the mean of the data replicas when ``C_Y`` is given).
    t, lambda_b, lambda_W, C_Y, learning_rate
        As :func:`kinked_training_shift` (learning-rate tensor λ_b, λ_W/n_{ℓ−1}, per layer or
        one number; gradient flow when ``learning_rate`` is None, else t/η steps of descent).

    Returns
    -------
    KinkedNTKChange

    Notes
    -----
    Formula and derivation in the module docstring and ``docs/finite_width_training.md``,
    "Deeper relu nets"; checked against fieldnn's gradient descent on sampled [1, n, n, 1] and
    [1, n, n, n, 1] relu nets (``tests/inference/test_deep_kink.py``).
    """
    XA, _, y, _ = conditioning_data(mlp, X_train, y_train, X_train)
    t, eta = _check_time(t, learning_rate)
    net = _with_ntk(mlp)
    s_minus, s_plus = kink_slopes(net)
    widths = tuple(int(w) for w in net.widths)
    if widths[-1] != 1:
        raise UnsupportedError("mlp", f"one output only, got widths {widths}")
    if XA.shape[0] != 1:
        raise UnsupportedError(
            "X_train", f"one training input only, got {XA.shape[0]} (several: with one hidden "
            "layer, kinked_training_shift)",
        )  # fmt: skip
    C_Y = _noise(C_Y, 1)
    if float(net.C_b[0]) + float(net.C_W[0]) * float(XA[0] @ XA[0]) / widths[0] <= 0.0:
        raise UnsupportedError(
            "X_train", "u = 0 in every network (x = 0 with C_b = 0): every unit sits on the kink"
        )
    stats = ntk_fluctuations(net, XA, lambda_W=lambda_W, lambda_b=lambda_b)
    theta = float(stats.Theta[-1][0, 0])
    _check_learning_rate(np.array([[theta]]), eta, t)
    K = np.array([float(k[0, 0]) for k in stats.K])  # K^{(ℓ)}(x, x), ℓ = 1..L
    mean_sq = 0.5 * (s_minus**2 + s_plus**2)  # ⟨σ'²⟩ over a centred Gaussian
    C_W = [float(c) for c in net.C_W]
    depth = len(widths) - 1
    G = np.empty(depth - 1)  # Var of the backward signal of hidden layer ℓ (index ℓ − 1)
    G[-1] = C_W[-1]
    for ell in range(depth - 2, 0, -1):
        G[ell - 1] = C_W[ell] * mean_sq * G[ell]
    e_abs = _folded_moments(-float(y[0, 0]), float(K[-1] + C_Y[0, 0]))[0]
    g = float(TrainingFilter(t, eta).values(np.array(theta)))
    coefficients, ungated = np.empty(depth - 1), np.empty(depth - 1)
    for ell in range(1, depth):
        th = float(stats.Theta[ell - 1][0, 0])
        if th * G[ell - 1] == 0.0:  # the layer's units do not move (λ = 0 up to ℓ, or C_W = 0)
            coefficients[ell - 1] = ungated[ell - 1] = 0.0
            continue
        Xi = widths[ell] / widths[ell - 1] * float(stats.B[ell - 1][0, 0, 0, 0]) * mean_sq
        Xi *= G[ell - 1]
        ungated[ell - 1] = Xi / (th**2 * G[ell - 1])
        flux = _flux_moment(th * math.sqrt(G[ell - 1]), math.sqrt(Xi), s_minus, s_plus)
        p0 = 1.0 / math.sqrt(2.0 * math.pi * K[ell - 1])
        coefficients[ell - 1] = p0 * e_abs * g * flux / th
    layers = coefficients / np.sqrt(np.asarray(widths[1:-1], dtype=float))
    return KinkedNTKChange(
        ntk_change=float(layers.sum()),
        layers=layers,
        coefficients=coefficients,
        ungated=ungated,
        widths=widths,
    )


def net_crossings(A: Any, B: Any, s_minus: float, s_plus: float) -> Any:
    """M(A, B) = min(V₊, 0) + max(V₋, 0), V± = −(s±A + B): the change of the fraction of time
    above the kink, integrated over the starting points of the units that reach it."""
    return np.minimum(-(s_plus * A + B), 0.0) + np.maximum(-(s_minus * A + B), 0.0)


def flux_integrand(A: Any, B: Any, s_minus: float, s_plus: float) -> Any:
    """((s₊² − s₋²)A² + 2(s₊ − s₋)AB) M(A, B): the NTK change carried by the units of one
    (A, B) (module docstring)."""
    jump = (s_plus**2 - s_minus**2) * A * A + 2.0 * (s_plus - s_minus) * A * B
    return jump * net_crossings(A, B, s_minus, s_plus)


def _flux_moment(sd_A: float, sd_B: float, s_minus: float, s_plus: float) -> float:
    """E[flux_integrand(A, B)] for independent A ~ N(0, sd_A²), B ~ N(0, sd_B²): degree 3, so
    E[r³] = 3√(π/2) times the mean over the angle (quadrature split where V₊ or V₋ vanish)."""

    def angular(phi: float) -> float:
        return float(flux_integrand(sd_A * math.cos(phi), sd_B * math.sin(phi), s_minus, s_plus))

    kinks = sorted(
        math.atan2(-s * sd_A * sign, sd_B * sign) % (2 * math.pi)
        for s in (s_minus, s_plus)
        for sign in (1.0, -1.0)
    )  # the angles where s·A + B = 0
    edges = [0.0, *kinks, 2 * math.pi]
    total = sum(
        integrate.quad(angular, a, b, epsabs=0.0, epsrel=1e-12)[0]
        for a, b in itertools.pairwise(edges)
        if b > a
    )
    return 3.0 * math.sqrt(math.pi / 2.0) * total / (2.0 * math.pi)
