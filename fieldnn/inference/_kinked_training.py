r"""The leading finite-width shift of a relu-type ensemble trained on MSE: O(1/√n).

For σ with slopes s₋ < s₊ at a kink (relu: 0, 1), the velocity of a hidden preactivation carries
the unit's own σ'(u), so it jumps at the kink and the flux through it is one-sided: a relu unit
pushed onto the kink at the training input stops there. For one hidden layer [d, n, 1] trained on
one input x with target y (derivation in ``docs/finite_width_training.md``, "Kinked activations
in training"), with h(x', x) = λ_b + λ_W x'·x/n₀ and h₁ = h(x, x) of the first layer, K₁ its
kernel at x, C_W that of the output layer, ε₀ = z₀(x) − y ~ N(−y, K₂ + C_Y) and
g(s) = (1 − e^{−Θs})/Θ (gradient flow; (1 − (1 − ηΘ)^s)/Θ after s steps of descent), Θ = Θ(x, x):

.. math::

    \mathbb E[\hat\Theta(x', x; t) - \hat\Theta(x', x; 0)] = -\kappa' \,
        \mathbb E|\varepsilon_0|\, g(t)/\sqrt n,\qquad
    \kappa = \frac{(s_+^2 - s_-^2)(s_+ - s_-)\,h_1^2 C_W^{3/2}}{\pi\sqrt{K_1}},

κ' = κ h(x', x)/(2h₁) (κ h(x', x)/h₁ or 0 for a test input with u(x') = c u(x), c > 0 or
c < 0, in every network and throughout training, h(x', x) = c h₁; one with u(x') = c u(x) only
at initialisation goes to the Monte Carlo below), and the mean output at x' leaves the
infinite-width one Θ(x', x) y g(t) by

.. math::

    \mathbb E[|\varepsilon_0|\varepsilon_0]\,\Big[\kappa'\!\int_0^t g(s)e^{-\Theta s}ds
        - \Theta(x', x)\,\kappa\!\int_0^t e^{-\Theta s}\!\int_0^s g(r)\,dr\,ds\Big]/\sqrt n

(sums over steps for gradient descent), plus for gradient descent the in-step curvature: units
crossing the kink within a step overshoot the NTK update, and the output at x gains
c_k = κη²ε_k|ε_k|/(2√n) per step (|c| c_k at x' = c x), propagated through the residual:

.. math::

    \mathbb E[|\varepsilon_0|\varepsilon_0]\,\frac{\kappa\eta^2}{2\sqrt n}\Big[d(x')
        \sum_k (q|q|)^k - \Theta(x', x)\,\eta\sum_k (q|q|)^k \sum_{m=k+1}^{T-1} q^{m-k-1}\Big],

q = 1 − ηΘ, d(x') = |c| for x' = c x, else 0. The shift of one network is a function of its ε₀,
so the covariance of the trained outputs moves by L Cov(ε₀, δz) + transpose, L the regression of
the infinite-width trained outputs on ε₀ (``KinkedTrainingShift.cov_shift``). All + O(1/n).
With several training inputs a unit stopped at one input's kink is still moved by the others:
it slides along the kink, and the flux is computed by the Monte Carlo of
:mod:`fieldnn.inference._kink_flux` (its docstring has the formula), for one hidden layer and for
deeper nets (every hidden layer's units, pushed also by the others through the off-diagonal
layer NTK); the same Monte Carlo takes test inputs proportional to the training input in a deep
net. The O(1/n) terms are not computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import positive_int
from ..ensembles.architectures import _per_layer
from ..errors import ArgumentError, UnsupportedError
from ..kernels import ntk_fluctuations
from ._deep_kink import _check_inputs, proportional_inputs
from ._deep_kink_shift import deep_one_input
from ._finite_training import _check_learning_rate, _check_time
from ._flow import _with_ntk, gradient_flow_prediction
from ._kink_common import (
    folded_moments,
    kink_slopes,
    replica_noise,
    residual_shift,
    shift_coefficient,
)
from ._kink_flux import (
    KinkFlux,
    KinkProblem,
    clusters,
    deep_layers,
    first_layer_kernel,
    kink_flux,
)
from ._kink_window import largest_ratio, warn_nearby_kinks, window_ratios
from ._linalg import conditioning_data
from ._spectral import TrainingFilter

__all__ = ["KinkedTrainingShift", "kinked_training_shift"]

_MAX_FLUX_STEPS = 20_000


@dataclass(frozen=True)
class KinkedTrainingShift:
    r"""Leading finite-width terms (order 1/√n) of a kinked-σ ensemble trained on MSE.

    Attributes
    ----------
    mean : ndarray (Q,)
        E z(x', t) to O(1/√n): ``mean_infinite + mean_shift``.
    mean_infinite : ndarray (Q,)
        The n → ∞ mean Θ(x', A) g(Θ_AA) y (``gradient_flow_prediction``'s).
    mean_shift : ndarray (Q,)
        The O(1/√n) shift.
    mean_shift_stderr : ndarray (Q,)
        Its Monte Carlo standard error (0 where it is in closed form: one training input).
    cov : ndarray (Q, Q)
        Cov z(x', t) to O(1/√n): ``cov_infinite + cov_shift``.
    cov_infinite : ndarray (Q, Q)
        The n → ∞ covariance (``gradient_flow_prediction``'s, replica noise C_Y included).
    cov_shift : ndarray (Q, Q)
        The O(1/√n) covariance shift L Cov(ε₀, δz) + transpose: the shift δz of one network is
        a function of its ε₀ = z₀(A) − y, and L = K(x', A)(K_AA + C_Y)⁻¹ − Θ(x', A)g(Θ_AA)
        regresses the infinite-width trained outputs on ε₀.
    cov_shift_stderr : ndarray (Q, Q)
        Its Monte Carlo standard error (0 in closed form).
    ntk_change : ndarray (Q, P)
        E[Θ̂(x', x_α; t) − Θ̂(x', x_α; 0)] at O(1/√n), test inputs × training inputs.
    ntk_change_stderr : ndarray (Q, P)
        Its Monte Carlo standard error (0 in closed form).
    width : int
        n, the hidden width the values are evaluated at (each scales as 1/√n; deeper nets: the
        narrowest hidden layer, each layer's share scaling with its own width).
    window : ndarray (Q,)
        The window ratio q of each test input, the largest over the hidden layers and training
        inputs: up to a factor of order one the fraction of the units crossing a training
        input's kink that also cross the kink at x′, which this order leaves out (0 at an input
        exactly proportional to a training input, or equal to one; ∝ 1/√n). Above 0.1 the
        prediction warns (:mod:`fieldnn.inference._kink_window`).
    """

    mean: np.ndarray
    mean_infinite: np.ndarray
    mean_shift: np.ndarray
    mean_shift_stderr: np.ndarray
    cov: np.ndarray
    cov_infinite: np.ndarray
    cov_shift: np.ndarray
    cov_shift_stderr: np.ndarray
    ntk_change: np.ndarray
    ntk_change_stderr: np.ndarray
    width: int
    window: np.ndarray


def kinked_training_shift(
    mlp: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    *,
    t: float = math.inf,
    lambda_b: Any = 1.0,
    lambda_W: Any = 1.0,
    C_Y: Any = None,
    learning_rate: float | None = None,
    samples: int = 20_000,
    seed: int = 0,
) -> KinkedTrainingShift:
    r"""The O(1/√n) NTK drift and mean shift of a relu-type ensemble trained on MSE.

    Parameters
    ----------
    mlp : MLP
        One output, σ with a kink (relu, leaky relu); any depth (deeper nets at one training
        input, in closed form, under gradient flow or descent with η·Θ(x, x) < 1:
        :mod:`fieldnn.inference._deep_kink_shift`). Smooth σ have no O(1/√n) term: use
        :func:`finite_width_prediction`.
    X_train : array_like (P, d_in)
        Training inputs (none with u = 0 in every network, i.e. x = 0 at C_b = 0).
    y_train : array_like (P,)
        Targets (the mean of the data replicas when ``C_Y`` is given).
    X_test : array_like (Q, d_in)
    t, lambda_b, lambda_W, C_Y, learning_rate
        As :func:`finite_width_prediction` (learning-rate tensor λ_b, λ_W/n_{ℓ−1}; gradient flow
        when ``learning_rate`` is None, else t/η steps of descent; C_Y (P, P)).
    samples : int
        Monte Carlo samples of the kink flux (several training inputs, or test inputs with
        u(x') ∝ u(x) in every network, at any depth); one training input otherwise is in closed
        form.
    seed : int
        Seed of that Monte Carlo.

    Returns
    -------
    KinkedTrainingShift

    Warns
    -----
    RuntimeWarning
        When an input's preactivations are nearly proportional to a training input's in some
        hidden layer, so that the window ratio q (the fraction of the units crossing that
        input's kink which also cross the other's, left out at this order) exceeds 0.1; the
        output shift there then has a remainder of about 2q times that at the training input
        (:mod:`fieldnn.inference._kink_window`; ``docs/finite_width_training.md``, "The window
        ratio, and the warning").

    Notes
    -----
    One training input: closed form (module docstring); deeper nets through the drift of
    :func:`kinked_ntk_change` and the units that slide along a kink (their own NTK terms move no
    output; under descent they lag and units overshoot the kink within a step), values at the
    net's widths (``width`` is then the narrowest). Several training inputs (any depth):
    units sliding along a kink hyperplane, by the Monte Carlo of
    :mod:`fieldnn.inference._kink_flux`; gradient flow by two Euler step sizes extrapolated.
    Derivation in ``docs/finite_width_training.md``, "Kinked activations in training",
    "Deeper relu nets: the trained outputs" and "Deeper relu nets: several training inputs".
    Checked against fieldnn's gradient descent on sampled networks
    (``tests/inference/test_relu_training_drift.py``, ``test_relu_training_several_inputs.py``,
    ``test_deep_kink_shift.py``, ``test_deep_kink_flux.py``), and the deep Monte Carlo against
    the deep closed form at one training input.
    """
    XA, XB, y, _ = conditioning_data(mlp, X_train, y_train, X_test)
    t, eta = _check_time(t, learning_rate)
    samples = positive_int(samples, "samples")
    seed = positive_int(seed, "seed", minimum=0)
    net = _with_ntk(mlp)
    slopes = kink_slopes(net)
    widths = tuple(int(w) for w in net.widths)
    if len(widths) < 3 or widths[-1] != 1:
        raise UnsupportedError("mlp", f"needs a hidden layer and one output, got {widths}")
    N, deep = XA.shape[0], len(widths) > 3
    C_Y = replica_noise(C_Y, N)
    X = np.concatenate([XA, XB])
    # deeper nets: the closed form at one training input, the Monte Carlo at several or with
    # test inputs proportional to the training input (u(x') = c u(x), c ≠ 1, in every network)
    monte_carlo = deep and (N > 1 or proportional_inputs(net, X))
    closed_deep = deep and not monte_carlo  # the closed form (ntk_drift) warns there itself
    if closed_deep:  # refuses a test input the closed form does not follow
        same = _check_inputs(net, X)
    else:  # u = 0 in every network at an input of the first layer: refused
        _check_positive(np.diag(first_layer_kernel(net, X)), N)
    theta_all = np.asarray(net.ntk(X, lambda_W=lambda_W, lambda_b=lambda_b), dtype=float)
    _check_learning_rate(theta_all[:N, :N], eta, t)
    K = np.asarray(net.kernel(X), dtype=float)
    sigma = K[:N, :N] + C_Y  # Cov ε₀
    stats = ntk_fluctuations(net, X, lambda_W=lambda_W, lambda_b=lambda_b)
    window = window_ratios(net, stats, N, -y[:, 0], sigma, t, eta)
    if not closed_deep:
        warn_nearby_kinks(window, N)
    # E[w | ε₀] = L (ε₀ − E ε₀) for the infinite-width trained outputs w at the test inputs
    g_AA = TrainingFilter(t, eta).matrix(theta_all[:N, :N])
    L = K[N:, :N] @ np.linalg.pinv(sigma, rcond=1e-12) - theta_all[N:, :N] @ g_AA
    mean_inf, cov_inf = gradient_flow_prediction(
        net, XA, y[:, 0], XB, t=t, lambda_b=lambda_b, lambda_W=lambda_W, C_Y=C_Y,
        learning_rate=eta,
    )  # fmt: skip
    if monte_carlo:  # at the network's own widths
        prob = KinkProblem(deep_layers(net, stats), theta_all[:, :N], -y[:, 0], sigma, slopes)
        root, flux = 1.0, _flux(prob, t, eta, samples, seed, L)
    elif deep:  # at the network's own widths
        deep_terms = deep_one_input(net, stats, same, float(y[0, 0]), float(C_Y[0, 0]), t, eta)
        root, flux = 1.0, _closed_form(*deep_terms, L)
    else:
        prob = KinkProblem.one_layer(
            K1=first_layer_kernel(net, X), H=_first_layer_h(lambda_b, lambda_W, X),
            theta=theta_all[:, :N], eps_mean=-y[:, 0], eps_cov=sigma, slopes=slopes,
            C_W=_per_layer(tuple(net.C_W), "C_W", 2)[1],
        )  # fmt: skip
        one = clusters(prob.layers[0].K, 1)[0] if N == 1 else None
        if one is not None and _rigid(one, prob.layers[0].theta):
            flux = _closed_form(*_one_input(prob, one, t, eta), L)
        else:
            flux = _flux(prob, t, eta, samples, seed, L)
        root = math.sqrt(widths[1])
    return KinkedTrainingShift(
        mean=mean_inf + flux.output_shift / root,
        mean_infinite=mean_inf,
        mean_shift=flux.output_shift / root,
        mean_shift_stderr=flux.output_shift_stderr / root,
        cov=cov_inf + flux.cov_shift / root,
        cov_infinite=cov_inf,
        cov_shift=flux.cov_shift / root,
        cov_shift_stderr=flux.cov_shift_stderr / root,
        ntk_change=flux.ntk_change / root,
        ntk_change_stderr=flux.ntk_change_stderr / root,
        width=min(widths[1:-1]),
        window=largest_ratio(window, N),
    )


def _check_positive(variances: np.ndarray, N: int) -> None:
    """Refuses an input (training ones first, N of them) whose preactivations in a hidden layer
    have zero variance: u = 0 in every network (x = 0 with C_b = 0), on the kink."""
    for argument, rows in (("X_train", range(N)), ("X_test", range(N, variances.size))):
        bad = [r for r in rows if variances[r] <= 0.0]
        if bad:
            raise UnsupportedError(
                argument,
                f"input {bad[0] - (0 if argument == 'X_train' else N)} has u = 0 in every "
                "network (x = 0 with C_b = 0): every unit sits on the kink there",
            )


def _first_layer_h(lambda_b: Any, lambda_W: Any, X: np.ndarray) -> np.ndarray:
    """h(x, x') = λ_b + λ_W x·x'/n₀ of the first layer."""
    lb, lw = _per_layer(lambda_b, "lambda_b", 2), _per_layer(lambda_W, "lambda_W", 2)
    return lb[0] + lw[0] * (X @ X.T) / X.shape[1]


def _closed_form(
    shift: np.ndarray, change: np.ndarray, cross: np.ndarray, L: np.ndarray
) -> KinkFlux:
    """The flux result of a closed form (zero standard errors), with the covariance shift
    L Cov(ε₀, δz) + transpose."""
    cov_shift = L @ cross + (L @ cross).T
    zero = np.zeros_like
    return KinkFlux(change, zero(change), shift, zero(shift), cov_shift, zero(cov_shift))


def _one_input(
    prob: KinkProblem, cluster: tuple[int, np.ndarray, np.ndarray], t: float, eta: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """√n × (mean shift (Q,), NTK change (Q, 1), Cov(ε₀, δz(x')) (1, Q)) in closed form (module
    docstring): one training input x; a test input with u(x') = c u(x) keeps it throughout
    (``_rigid``). The shift of one network is |ε₀|ε₀ times a coefficient of x'."""
    s_minus, s_plus = prob.slopes
    layer = prob.layers[0]
    K1, h, C_W = layer.K, layer.theta[:, 0], float(layer.signal[0, 0])
    theta, theta_t = float(prob.theta[0, 0]), prob.theta[1:, 0]
    kappa = (
        (s_plus**2 - s_minus**2) * (s_plus - s_minus) * h[0] ** 2 * C_W**1.5
        / (math.pi * math.sqrt(K1[0, 0]))
    )  # fmt: skip
    _, mem, c = cluster  # the inputs with u(x') = c u(x)
    factor = np.full(K1.shape[0], 0.5)  # a dying unit is active at x' with probability ½
    factor[mem] = c > 0  # u(x') = c u(x) throughout: σ'(u(x')) flips with σ'(u(x)) or never
    kappa_t = kappa * factor[1:] * h[1:] / h[0]
    mu, var = float(prob.eps_mean[0]), float(prob.eps_cov[0, 0])
    g = float(TrainingFilter(t, eta).values(np.array(theta)))  # the n → ∞ filter g(Θ)
    direct = np.zeros(K1.shape[0])
    direct[mem] = np.abs(c)  # a unit crossing at x crosses at x' = c x within the same step
    # one hidden layer: the overshoot coefficient is κ itself
    coef = shift_coefficient(kappa_t, kappa, kappa, direct[1:], theta, theta_t, t, eta)
    shift, cross = residual_shift(coef, mu, var)
    return shift, (-kappa_t * folded_moments(mu, var)[0] * g)[:, None], cross


def _rigid(cluster: tuple[int, np.ndarray, np.ndarray], H: np.ndarray) -> bool:
    """Whether every input with u(x') = c u(x) at initialisation (``cluster`` of the one
    training input x) keeps it during training: its velocity h(x', x) equals c h(x, x)."""
    _, mem, c = cluster
    return bool(np.all(np.abs(H[mem, 0] - c * H[0, 0]) <= 1e-12 * abs(H[0, 0])))


def _flux(
    prob: KinkProblem, t: float, eta: float | None, samples: int, seed: int, L: np.ndarray
) -> KinkFlux:
    """kink_flux for descent (t/η steps; t = ∞ until the residuals have decayed by 1e-9), or
    for the flow by two step sizes τ and τ/2 (τλ_max(Θ_AA) ≤ 0.05 and 0.025), extrapolated
    (Richardson: the Euler error is O(τ)); the flow at t = ∞ stops where ε has decayed by 1e-6.
    At the test inputs, with the covariance shift L Cov(ε₀, δz) + transpose."""
    lam = np.linalg.eigvalsh(prob.theta[: prob.theta.shape[1]])
    if eta is not None:
        if math.isinf(t):
            steps = math.ceil(math.log(1e-9) / math.log(np.max(np.abs(1.0 - eta * lam))))
        else:
            steps = round(t / eta)
        _check_steps(steps)
        return KinkFlux.of(*kink_flux(prob, steps, eta, samples, seed), L)
    horizon = math.log(1e6) / lam[0] if math.isinf(t) else t  # ε decayed by 1e-6 at t = ∞
    coarse = max(50, math.ceil(horizon * lam[-1] / 0.05))
    _check_steps(2 * coarse)
    t1, z1, eps = kink_flux(prob, coarse, horizon / coarse, samples, seed)
    t2, z2, _ = kink_flux(prob, 2 * coarse, horizon / (2 * coarse), samples, seed)
    return KinkFlux.of(2 * t2 - t1, 2 * z2 - z1, eps, L)  # common random numbers


def _check_steps(steps: int) -> None:
    if steps > _MAX_FLUX_STEPS:
        raise ArgumentError(
            "t",
            f"the kink flux needs {steps} steps (limit {_MAX_FLUX_STEPS}): slow modes of Θ_AA "
            "or a long time; give a smaller finite t",
        )
