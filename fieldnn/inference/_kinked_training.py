r"""The leading finite-width shift of a relu-type ensemble trained at one input: O(1/√n).

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

κ' = κ h(x', x)/(2h₁) (κ' = κ h(x', x)/h₁ when u(x') = c u(x) with c > 0, 0 when c < 0), and
the mean output at x' leaves the infinite-width one Θ(x', x) y g(t) by

.. math::

    \mathbb E[|\varepsilon_0|\varepsilon_0]\,\Big[\kappa'\!\int_0^t g(s)e^{-\Theta s}ds
        - \Theta(x', x)\,\kappa\!\int_0^t e^{-\Theta s}\!\int_0^s g(r)\,dr\,ds\Big]/\sqrt n

(sums over steps for gradient descent), both + O(1/n). The O(1/n) terms are not computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import erf

from ..ensembles.architectures import _per_layer
from ..errors import UnsupportedError
from ._finite_training import _check_learning_rate, _check_time
from ._flow import _with_ntk
from ._linalg import conditioning_data
from ._spectral import TrainingFilter

__all__ = ["KinkedTrainingShift", "kinked_training_shift"]


@dataclass(frozen=True)
class KinkedTrainingShift:
    r"""Leading finite-width terms (order 1/√n) of a kinked-σ ensemble trained at one input.

    Attributes
    ----------
    mean : ndarray (Q,)
        E z(x', t) to O(1/√n): ``mean_infinite + mean_shift``.
    mean_infinite : ndarray (Q,)
        The n → ∞ mean Θ(x', x) y g(t).
    mean_shift : ndarray (Q,)
        The O(1/√n) shift (module docstring).
    ntk_change : ndarray (Q,)
        E[Θ̂(x', x; t) − Θ̂(x', x; 0)] at O(1/√n).
    width : int
        n, the hidden width the values are evaluated at (each scales as 1/√n).
    """

    mean: np.ndarray
    mean_infinite: np.ndarray
    mean_shift: np.ndarray
    ntk_change: np.ndarray
    width: int


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
) -> KinkedTrainingShift:
    r"""The O(1/√n) NTK drift and mean shift of a relu-type ensemble trained at one input.

    Parameters
    ----------
    mlp : MLP
        One hidden layer, one output, σ with a kink (relu, leaky relu). Smooth σ have no O(1/√n)
        term: use :func:`finite_width_prediction`.
    X_train : array_like (1, d_in)
        The one training input x (with several, units slide along the kink hyperplanes of
        the others: not derived, refused).
    y_train : array_like (1,)
        Its target y (the mean of the data replicas when ``C_Y`` is given).
    X_test : array_like (Q, d_in)
    t, lambda_b, lambda_W, C_Y, learning_rate
        As :func:`finite_width_prediction` (learning-rate tensor λ_b, λ_W/n_{ℓ−1}; gradient flow
        when ``learning_rate`` is None, else t/η steps of descent; C_Y (1, 1)).

    Returns
    -------
    KinkedTrainingShift

    Notes
    -----
    Module docstring; ``docs/finite_width_training.md``, "Kinked activations in training".
    Checked against fieldnn's gradient descent on sampled networks at n = 64 … 1024
    (``tests/inference/test_relu_training_drift.py``).
    """
    XA, XB, y, _ = conditioning_data(mlp, X_train, y_train, X_test)
    t, eta = _check_time(t, learning_rate)
    net = _with_ntk(mlp)
    slopes = getattr(net.activation, "piecewise_linear_slopes", None)
    if slopes is None or slopes[0] == slopes[1]:
        raise UnsupportedError(
            "mlp",
            "needs σ with a kink (relu, leaky relu); a smooth σ has no O(1/√n) term: use "
            "finite_width_prediction",
        )
    widths = tuple(int(w) for w in net.widths)
    if len(widths) != 3 or widths[-1] != 1:
        raise UnsupportedError("mlp", f"one hidden layer and one output only, got {widths}")
    if XA.shape[0] != 1:
        raise UnsupportedError(
            "X_train",
            f"one training input only, got {XA.shape[0]}: with several, a unit stopped at one "
            "input's kink keeps moving at the others (not derived)",
        )
    var_y = 0.0
    if C_Y is not None:
        var_y = float(np.asarray(C_Y, dtype=float).reshape(-1)[0])
        if np.asarray(C_Y).size != 1 or not var_y >= 0.0:
            raise UnsupportedError("C_Y", "must be one nonnegative variance (1, 1)")
    X = np.concatenate([XA, XB])
    lb, lw = _per_layer(lambda_b, "lambda_b", 2), _per_layer(lambda_W, "lambda_W", 2)
    theta_all = np.asarray(net.ntk(X, lambda_W=lambda_W, lambda_b=lambda_b), dtype=float)
    _check_learning_rate(theta_all[:1, :1], eta, t)
    theta, theta_t = float(theta_all[0, 0]), theta_all[1:, 0]

    C_W, C_b = _per_layer(tuple(net.C_W), "C_W", 2), _per_layer(tuple(net.C_b), "C_b", 2)
    n0, n = widths[0], widths[1]
    K1 = C_b[0] + C_W[0] * (X @ X.T) / n0  # first-layer kernel on [x; X_test]
    h = lb[0] + lw[0] * (X @ X[0]) / n0  # h(x', x), first layer
    s_minus, s_plus = float(slopes[0]), float(slopes[1])
    kappa = (
        (s_plus**2 - s_minus**2) * (s_plus - s_minus) * h[0] ** 2 * C_W[1] ** 1.5
        / (math.pi * math.sqrt(K1[0, 0]))
    )  # fmt: skip
    kappa_t = _test_factors(K1, h) * kappa

    K2 = float(net.kernel(XA)[0, 0])
    mu, s = -float(y[0, 0]), math.sqrt(K2 + var_y)
    e_abs = s * math.sqrt(2 / math.pi) * math.exp(-(mu**2) / (2 * s**2)) + mu * erf(
        mu / (s * math.sqrt(2))
    )
    e_abs_e = (mu**2 + s**2) * erf(mu / (s * math.sqrt(2))) + 2 * mu * s * math.exp(
        -(mu**2) / (2 * s**2)
    ) / math.sqrt(2 * math.pi)
    g = float(TrainingFilter(t, eta).values(np.array(theta)))  # the n → ∞ filter g(Θ)
    first, second = _time_factors(theta, t, eta)
    root = math.sqrt(n)
    shift = e_abs_e * (kappa_t * first - theta_t * kappa * second) / root
    mean_inf = theta_t * float(y[0, 0]) * g
    return KinkedTrainingShift(
        mean=mean_inf + shift,
        mean_infinite=mean_inf,
        mean_shift=shift,
        ntk_change=-kappa_t * e_abs * g / root,
        width=n,
    )


def _test_factors(K1: np.ndarray, h: np.ndarray) -> np.ndarray:
    """κ'/κ at each test input: h(x', x)/(2h₁), or h(x', x)/h₁ · [c > 0] when the first-layer
    preactivation at x' is c times the one at x in every network."""
    k_xx = K1[0, 0]
    out = np.empty(K1.shape[0] - 1)
    for q in range(1, K1.shape[0]):
        c = K1[q, 0] / k_xx
        residual = K1[q, q] - c * K1[q, 0]
        if residual <= 1e-12 * max(K1[q, q], k_xx):
            out[q - 1] = h[q] / h[0] if c > 0 else 0.0
        else:
            out[q - 1] = h[q] / (2 * h[0])
    return out


def _time_factors(theta: float, t: float, eta: float | None) -> tuple[float, float]:
    """∫₀ᵗ g e^{−Θs} ds and ∫₀ᵗ e^{−Θs} ∫₀ˢ g dr ds with g(s) = (1 − e^{−Θs})/Θ (gradient
    flow), or their sums over steps k < t/η with q = 1 − ηΘ, g_k = (1 − q^k)/Θ (descent)."""
    if eta is None:
        e1 = 0.0 if math.isinf(t) else math.exp(-theta * t)
        te1 = 0.0 if math.isinf(t) else t * e1
        first = ((1 - e1) / theta - (1 - e1 * e1) / (2 * theta)) / theta
        second = ((1 - e1 - theta * te1) / theta**2 - first) / theta
        return first, second
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
    return first, second
