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

A sliding unit (V₊ < 0 < V₋) holds σ(0): its own term g_iσ'_iż_i/√n of the output's velocity,
which the empirical NTK counts with its chatter average −(g_i/n)(s₊ − s₋)fV₊ (in units of ε), does
not move the output at x. The other units' terms are linear in σ'_i and averaged correctly. With
fV₊(V₋ − V₊) = V₊V₋ the kernel that drives the output at x is

.. math::

    \mathbb E[\Theta_{\rm drive} - \hat\Theta](t) = \sum_\ell
        \frac{p_\ell(0)\,\mathbb E|\varepsilon_0|\,g(t)}{\Theta_\ell\sqrt{n_\ell}}\,
        (s_+ - s_-)\,\mathbb E\big[A\,V_+V_-\,\mathbb 1\{V_+ < 0 < V_-\}\big]

(``KinkedNTKChange.sliding``; zero at ℓ = 1, where B = 0 and nothing slides). At a test input the
driving kernel is the empirical one: it is linear in σ'_i(x).

Under descent (steps λ_k = ηq^k in units of |ε₀|/√n_ℓ, q = 1 − ηΘ > 0, Λ_k = Σ_{j<k}λ_j = g_k)
a sliding unit chatters in a band (λ_kV₊, λ_kV₋) that shrinks with the steps; from
Λ_aV₊ + Λ_bV₋ = u_k − u₀ and Λ_a + Λ_b = Λ_k (Λ_a, Λ_b the step sums spent above and below) the
number above changes by (V₊ + V₋)Λ_k(1 + 1/q)/2 instead of (V₊ + V₋)Λ_k, and its own terms by
the flow's plus (s₊ − s₋)(V₊² + V₊V₋ + V₋²)Λ_k(λ_k − λ_{k−1})/2: both are drifts ∝ g_k with
weight ηΘ/(2q) on the moments E[(…)(V₊ + V₋)1] and E[A(V₊² + V₊V₋ + V₋²)1]. Units crossing or
entering the kink within a step overshoot it, which injects Σ_ℓ o_ℓ η²ε_k|ε_k|/(2√n_ℓ) at x per
step, o_ℓ = p_ℓ(0)(s₊ − s₋)E[A(V₊²1{V₊ < 0} + V₋²1{V₋ > 0})]/Θ_ℓ (``overshoot``). Refused for
η·Θ ≥ 1 with two or more hidden layers (the residual changes sign every step).

The same units make the output at x scatter from network to network at a fixed ε₀: each
changes the driving kernel by d = c/(Θ_ℓn_ℓ) from the time t* it reaches the kink, and so moves
z(x, t) by −ε₀ d (t − t*)e^{−Θt} (to first order; Θ = Θ(x, x) of the output). Counted
independently (a Poisson sum; units arrive at the rate n_ℓp_ℓ(0)|V||ε₀|e^{−Θt*}/√n_ℓ), with
c = ∓Δ, Δ = (s₊² − s₋²)A² + 2(s₊ − s₋)AB, for a unit crossing down (weight |V₊|) or up (V₋),
and for a sliding one c = B V₋ + s₋AB − s_±(s_±A² + 2AB) arriving from above (+, weight |V₊|)
or below (−, V₋) (its own term stops; the others see the chatter average of σ'),

.. math::

    \mathrm{Var}(z(x, t)\,|\,\varepsilon_0) = \sum_\ell
        \frac{p_\ell(0)\,|\varepsilon_0|^3}{\Theta_\ell^2\, n_\ell^{3/2}}\,
        \mathbb E\Big[\sum_{\rm cases}|V|\,c^2\Big]\, e^{-2\Theta t}\int_0^t
        e^{-\Theta s}(t - s)^2\,ds,

a degree-5 angular quadrature (``scatter``; Σ|V|c, the same sum with c to the first power, is the
mean drift of the driving kernel above, which checks the cases). At a test input x′ the same units,
and those whose u_i(x′) crosses its kink, scatter z(x′, t) too, with Θ̂(x′, x) and the residual
(:mod:`fieldnn.inference._deep_kink_scatter`). Under descent the flow's value at t = ηT (O(η)
not included).

At a test input x' (u(x') not ∝ u(x)) σ'_i(x') stays fixed, with mean (s₊ + s₋)/2 given
u_i(x) = 0; g_i(x') regresses on g_i(x) with G_ℓ(x', x)/G_ℓ (the same chain with
⟨σ'(x')σ'(x)⟩) and ξ'_i = Σ_{m≠i} σ'_m(x')g_m(x')Ĥ_{mi}(x', x) on ξ_i with
ρ = B_{x'xxx}⟨σ'(x')σ'(x)⟩_ℓG_ℓ(x', x)/(B_{xxxx}⟨σ'²⟩_ℓG_ℓ), so the bracket becomes
(s₊ − s₋)(½(s₊ + s₋)Θ_ℓ(x', x)G_ℓ(x', x)A²/(Θ_ℓG_ℓ) + ρAB). Derivation in
``docs/finite_width_training.md``, "Deeper relu nets".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import UnsupportedError
from ..kernels import ntk_fluctuations
from ._deep_kink_scatter import (
    ProbeCovariances,
    arrival_moments,
    lag_moments,
    lag_squares,
    probe_scatter,
)
from ._finite_training import _check_learning_rate, _check_time
from ._flow import _with_ntk
from ._kink_common import angular_mean, angular_pieces, folded_moments, kink_slopes, replica_noise
from ._kink_flux import backward_signals, clusters, first_layer_kernel
from ._kink_window import warn_nearby_kinks, window_ratios
from ._linalg import conditioning_data
from ._spectral import TrainingFilter

__all__ = ["KinkedNTKChange", "kinked_ntk_change"]


@dataclass(frozen=True)
class KinkedNTKChange:
    r"""The O(1/√n) mean change of the NTK Θ̂(x', x) at the training input x, layer by layer.

    Attributes
    ----------
    ntk_change : ndarray (Q,)
        E[Θ̂(x', x; t) − Θ̂(x', x; 0)] at the network's widths, for each test input x' (the sum
        of ``layers`` over the layers).
    layers : ndarray (L − 1, Q)
        The contribution of the units of hidden layer ℓ = 1..L−1 (each ∝ 1/√n_ℓ).
    coefficients : ndarray (L − 1, Q)
        √n_ℓ times each contribution (it depends on the widths only through their ratios).
    ungated : ndarray (L − 1,)
        Ξ_ℓ/(Θ_ℓ² G_ℓ), the variance of the ungated velocity relative to the gated one (0 at
        ℓ = 1, and where the layer does not move: Θ_ℓ G_ℓ = 0).
    sliding : ndarray (L − 1,)
        √n_ℓ times E[Θ_drive(x, x; t) − Θ̂(x, x; t)], layer by layer (≤ 0 under gradient flow;
        0 at ℓ = 1): the units sliding along the kink hold σ(0), so their own share of the
        empirical NTK does not move the output at x. The kernel that drives the output at the
        training input is Θ̂ + Σ_ℓ sliding_ℓ/√n_ℓ (under descent, averaged over the chatter
        across the kink, with the O(η) lag of the shrinking steps).
    overshoot : ndarray (L − 1,)
        √n_ℓ times the coefficient o_ℓ of the in-step overshoot of descent: units that cross or
        enter a kink within a step move the output at x by Σ_ℓ o_ℓ η²ε_k|ε_k|/(2√n_ℓ) in step k
        beyond what the empirical NTK accounts for (nothing under gradient flow). Independent of
        t and η.
    scatter : ndarray (L − 1, Q)
        n_ℓ^{3/2} times layer ℓ's share of E_ε₀ Var(z(x', t) | ε₀) at each test input: the
        network-to-network noise, at a fixed initial residual, of the units that reach a kink
        (a Poisson sum over ~√n_ℓ units, each moving z(x', t) by O(1/n_ℓ)), O(n^{−3/2}) against
        the O(1/√n) covariance shift: at the training input the units that reach its kink
        (0 at t = ∞, where z(x) = y in every network); at x' ≠ x these and the units whose
        u(x') crosses its kink (finite at t = ∞). Conditional on ε₀ it is
        :math:`\propto|\varepsilon_0|^3` (divide by :math:`E|\varepsilon_0|^3`).
        Gradient flow; under descent the flow's value at t = η·steps.
    widths : tuple of int
        ``[d_in, n_1, …, n_{L−1}, 1]``.
    """

    ntk_change: np.ndarray
    layers: np.ndarray
    coefficients: np.ndarray
    ungated: np.ndarray
    sliding: np.ndarray
    overshoot: np.ndarray
    scatter: np.ndarray
    widths: tuple[int, ...]


def kinked_ntk_change(
    mlp: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any = None,
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
    X_test : array_like (Q, d_in), optional
        Inputs x' of Θ̂(x', x) (default: the training input). Each is the training input itself
        or has first-layer preactivations not proportional to it (x' ≠ c x at C_b = 0).
    t, lambda_b, lambda_W, C_Y, learning_rate
        As :func:`kinked_training_shift` (learning-rate tensor λ_b, λ_W/n_{ℓ−1}, per layer or
        one number; gradient flow when ``learning_rate`` is None, else t/η steps of descent).

    Returns
    -------
    KinkedNTKChange

    Warns
    -----
    RuntimeWarning
        At a test input nearly proportional to the training input, as
        :func:`kinked_training_shift` (window ratio q > 0.1).

    Notes
    -----
    Formula and derivation in the module docstring and ``docs/finite_width_training.md``,
    "Deeper relu nets"; checked against :func:`kinked_training_shift` with one hidden layer and
    against fieldnn's gradient descent on sampled [1, n, n, 1] and [1, n, n, n, 1] relu nets
    (``tests/inference/test_deep_kink.py``).
    """
    XA, XB, y, _ = conditioning_data(mlp, X_train, y_train, X_train if X_test is None else X_test)
    t, eta = _check_time(t, learning_rate)
    net = _with_ntk(mlp)
    kink_slopes(net)  # refuses an activation without a kink
    widths = tuple(int(w) for w in net.widths)
    if widths[-1] != 1:
        raise UnsupportedError("mlp", f"one output only, got widths {widths}")
    if XA.shape[0] != 1:
        raise UnsupportedError(
            "X_train", f"one training input only, got {XA.shape[0]} (several: "
            "kinked_training_shift, by its Monte Carlo)",
        )  # fmt: skip
    C_Y = replica_noise(C_Y, 1)
    X = np.concatenate([XA, XB])
    same = _check_inputs(net, X)
    stats = ntk_fluctuations(net, X, lambda_W=lambda_W, lambda_b=lambda_b)
    return ntk_drift(net, stats, same, float(y[0, 0]), float(C_Y[0, 0]), t, eta)[0]


def ntk_drift(
    net: Any, stats: Any, same: np.ndarray, target: float, noise: float, t: float,
    eta: float | None,
) -> tuple[KinkedNTKChange, float]:  # fmt: skip
    """:func:`kinked_ntk_change` from the checked pieces: the net (with its NTK), its
    ``ntk_fluctuations`` on [x; x'₁ … x'_Q], which test inputs are x (``_check_inputs``), the
    target y, the replica noise C_Y, the time and the step (None: gradient flow); and the
    change E[Θ̂(x, x; t) − Θ̂(x, x; 0)] at the training input itself."""
    s_minus, s_plus = kink_slopes(net)
    widths = tuple(int(w) for w in net.widths)
    Q = same.size
    theta = float(stats.Theta[-1][0, 0])
    _check_learning_rate(np.array([[theta]]), eta, t)
    sigma = float(stats.K[-1][0, 0]) + noise  # Var ε₀
    depth = len(widths) - 1
    if eta is not None and depth > 2 and eta * theta >= 1.0:
        raise UnsupportedError(
            "learning_rate",
            f"deeper nets: descent needs η·Θ(x, x) < 1, got {eta * theta:.4g}: above it the "
            "residual changes sign every step and units sliding along a kink are pushed back and "
            "forth across it, which the O(1/√n) theory does not follow",
        )
    window = window_ratios(net, stats, 1, np.array([-target]), np.array([[sigma]]), t, eta)
    warn_nearby_kinks(window, 1)
    # per hidden layer ℓ (row ℓ − 1): ⟨σ'(u(x))σ'(u(x'))⟩ and ⟨σ'(u(x'))²⟩, the backward-signal
    # covariances G_ℓ(x', x) and variances G_ℓ(x', x') (column 0: x' = x)
    slopes, signal = backward_signals(net, stats.K)
    slope_pairs, slope_squares = (
        np.array([S[0] for S in slopes]),
        np.array([np.diag(S) for S in slopes]),
    )
    G, G_diag = np.array([S[0] for S in signal]), np.array([np.diag(S) for S in signal])
    e_abs, _, e_abs3 = folded_moments(-target, sigma)
    g = float(TrainingFilter(t, eta).values(np.array(theta)))
    coefficients, at_train = np.zeros((depth - 1, Q)), np.zeros(depth - 1)
    ungated, sliding, overshoot = (np.zeros(depth - 1) for _ in range(3))
    scatter = np.zeros((depth - 1, Q))
    at_x, lags = lag_squares(theta, t), lag_moments(theta, t)
    # descent: the sliding units' lag (units slide only from the second hidden layer on)
    lag = 0.0 if eta is None or depth == 2 else 0.5 * eta * theta / (1.0 - eta * theta)
    for ell in range(1, depth):
        H, B = stats.Theta[ell - 1], stats.B[ell - 1]
        th, Gx = float(H[0, 0]), float(G[ell - 1, 0])
        if th * Gx == 0.0:  # the layer's units do not move (λ = 0 up to ℓ, or C_W = 0)
            continue
        # Cov(ξ'_i, ξ_i) at every x' (column 0: Var ξ_i = Ξ_ℓ)
        cov_xi = widths[ell] / widths[ell - 1] * B[:, 0, 0, 0] * slope_pairs[ell - 1] * G[ell - 1]
        Xi = float(cov_xi[0])
        ungated[ell - 1] = Xi / (th**2 * Gx)
        m = _flux_moments(th * math.sqrt(Gx), math.sqrt(Xi), s_minus, s_plus)
        density = 1.0 / (math.sqrt(2.0 * math.pi * float(stats.K[ell - 1][0, 0])) * th)
        scale = e_abs * g * density
        # descent: the sliding units' share of time above the kink lags f by ηΘ/(2q)
        AA, AB = m.aa + lag * m.slide_aa, m.ab + lag * m.slide_ab
        own = scale * ((s_plus**2 - s_minus**2) * AA + 2.0 * (s_plus - s_minus) * AB)
        sliding[ell - 1] = scale * (s_plus - s_minus) * (m.slide + lag * m.slide_square)
        overshoot[ell - 1] = density * (s_plus - s_minus) * m.overshoot
        rho = cov_xi[1:] / Xi if Xi else np.zeros(Q)
        arrivals = arrival_moments(th * math.sqrt(Gx), math.sqrt(Xi), s_minus, s_plus)
        # Var ξ'_i and Var η_i: B_{x'x'xx} with ⟨σ'(x')²⟩G_ℓ(x', x') and ⟨σ'(x)²⟩G_ℓ(x, x)
        q = np.arange(1, Q + 1)
        off = widths[ell] / widths[ell - 1] * B[q, q, 0, 0]
        probe = ProbeCovariances(
            theta=H[1:, 0],
            regression=G[ell - 1, 1:] / Gx,
            signal_residual=G_diag[ell - 1, 1:] - G[ell - 1, 1:] ** 2 / Gx,
            rho=rho,
            ungated_residual=off * slope_squares[ell - 1, 1:] * G_diag[ell - 1, 1:] - rho**2 * Xi,
            crossing_velocity=off * slope_squares[ell - 1, 0] * Gx,
            density=1.0 / np.sqrt(2.0 * math.pi * np.diag(stats.K[ell - 1])[1:]),
        )
        elsewhere = probe_scatter(
            arrivals, probe, theta_layer=th, signal=Gx, density=density * th,
            slopes=(s_minus, s_plus), theta_out=stats.Theta[-1][1:, 0], lags=lags,
        )  # fmt: skip
        scatter[ell - 1] = e_abs3 * np.where(same, density / th * arrivals.cc * at_x, elsewhere)
        # σ'(x') is fixed while σ'(x) flips, active with mean slope (s₋ + s₊)/2 given u(x) = 0
        other = (s_plus - s_minus) * scale * (
            0.5 * (s_plus + s_minus) * H[1:, 0] * G[ell - 1, 1:] / (th * Gx) * AA + rho * AB
        )  # fmt: skip
        coefficients[ell - 1], at_train[ell - 1] = np.where(same, own, other), own
    root = np.sqrt(np.asarray(widths[1:-1], dtype=float))
    layers = coefficients / root[:, None]
    change = KinkedNTKChange(
        ntk_change=layers.sum(axis=0),
        layers=layers,
        coefficients=coefficients,
        ungated=ungated,
        sliding=sliding,
        overshoot=overshoot,
        scatter=scatter,
        widths=widths,
    )
    return change, float(np.sum(at_train / root))


def _check_inputs(net: Any, X: np.ndarray) -> np.ndarray:
    """Which test inputs (rows 1..) are the training input (row 0); refuses a training input
    with u = 0 in every network and a test input with u(x') = c u(x), c ≠ 1, in every network
    (x' = c x at C_b = 0, or x' = 0; the ``clusters`` of the kink flux): σ'(u(x')) then flips
    with σ'(u(x)) or never, which the closed form does not follow (the Monte Carlo of
    :func:`fieldnn.kinked_training_shift` does)."""
    members, ratios = _first_layer_cluster(net, X)
    same = np.zeros(X.shape[0], dtype=bool)
    same[members] = np.isclose(ratios, 1.0, rtol=0.0, atol=1e-12)
    if not np.all(same[members]):
        q = int(members[~same[members]][0]) - 1
        raise UnsupportedError(
            "X_test",
            f"input {q} has u(x') = c u(x) in every network (x' = c x at C_b = 0, or x' = 0): "
            "its σ' flips with the training input's or never; kinked_training_shift follows it "
            "(by its Monte Carlo), kinked_ntk_change does not",
        )
    return same[1:]


def proportional_inputs(net: Any, X: np.ndarray) -> bool:
    """Whether a test input (rows 1..) has first-layer preactivations u(x') = c u(x), c ≠ 1, in
    every network, x the training input (row 0)."""
    _, ratios = _first_layer_cluster(net, X)
    return bool(np.any(~np.isclose(ratios, 1.0, rtol=0.0, atol=1e-12)))


def _first_layer_cluster(net: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inputs with u(x') = c u(x) in every network (rows of X, row 0 the training input x,
    itself included) and their ratios c; refuses u(x) = 0 in every network."""
    K1 = first_layer_kernel(net, X)
    if K1[0, 0] <= 0.0:
        raise UnsupportedError(
            "X_train", "u = 0 in every network (x = 0 with C_b = 0): every unit sits on the kink"
        )
    _, members, ratios = clusters(K1, 1)[0]
    return members, ratios


def net_crossings(A: Any, B: Any, s_minus: float, s_plus: float) -> Any:
    """M(A, B) = min(V₊, 0) + max(V₋, 0), V± = −(s±A + B): the change of the fraction of time
    above the kink, integrated over the starting points of the units that reach it."""
    return np.minimum(-(s_plus * A + B), 0.0) + np.maximum(-(s_minus * A + B), 0.0)


def sliding_product(A: Any, B: Any, s_minus: float, s_plus: float) -> Any:
    """V₊V₋ where a unit slides into the kink from both sides (V₊ < 0 < V₋), else 0: the count
    (V₋ − V₊) of the units that reach it times f V₊, f = V₋/(V₋ − V₊) their share of time above."""
    v_plus, v_minus = -(s_plus * A + B), -(s_minus * A + B)
    return np.where((v_plus < 0.0) & (v_minus > 0.0), v_plus * v_minus, 0.0)


class FluxMoments(NamedTuple):
    """Degree-3 moments over A ~ N(0, sd_A²), B ~ N(0, sd_B²) of a layer's units
    (V± = −(s±A + B), 1 = 1{V₊ < 0 < V₋} the sliding units): ``aa`` E[A²M], ``ab`` E[AB M]
    (M = ``net_crossings``), ``slide`` E[A V₊V₋ 1], ``slide_aa`` E[A²(V₊ + V₋) 1],
    ``slide_ab`` E[AB(V₊ + V₋) 1], ``slide_square`` E[A(V₊² + V₊V₋ + V₋²) 1] and ``overshoot``
    E[A(V₊² 1{V₊ < 0} + V₋² 1{V₋ > 0})]."""

    aa: float
    ab: float
    slide: float
    slide_aa: float
    slide_ab: float
    slide_square: float
    overshoot: float


def _flux_moments(sd_A: float, sd_B: float, s_minus: float, s_plus: float) -> FluxMoments:
    """The :class:`FluxMoments` of a layer: each is homogeneous of degree 3 in (A, B), so
    E[r³] = 3√(π/2) times the mean over the angle φ, A = sd_A cos φ, B = sd_B sin φ. Between the
    angles where V₊ or V₋ vanish every integrand is a trigonometric polynomial of degree 3, which
    Gauss–Legendre quadrature with 32 nodes integrates to 1e-10 or better (tested against adaptive
    quadrature)."""

    def angular(phi: np.ndarray) -> np.ndarray:
        A, B = sd_A * np.cos(phi), sd_B * np.sin(phi)
        v_plus, v_minus = -(s_plus * A + B), -(s_minus * A + B)
        # the side of each kink from the middle of the piece: exact on the piece
        slide = np.mean((v_plus < 0.0) & (v_minus > 0.0)) > 0.5
        down, up = np.mean(v_plus < 0.0) > 0.5, np.mean(v_minus > 0.0) > 0.5
        M = np.minimum(v_plus, 0.0) * down + np.maximum(v_minus, 0.0) * up
        return np.array([
            A * A * M,
            A * B * M,
            A * v_plus * v_minus * slide,
            A * A * (v_plus + v_minus) * slide,
            A * B * (v_plus + v_minus) * slide,
            A * (v_plus**2 + v_plus * v_minus + v_minus**2) * slide,
            A * (v_plus**2 * down + v_minus**2 * up),
        ])  # fmt: skip

    mean = angular_mean(angular, angular_pieces(sd_A, sd_B, s_minus, s_plus))
    moments = 3.0 * math.sqrt(math.pi / 2.0) * mean
    return FluxMoments(*(float(m) for m in moments))
