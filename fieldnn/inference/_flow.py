r"""The infinitely wide ensemble trained by gradient flow (or gradient descent) on the MSE loss
(seed 000, slide "Gradient training at infinite width"; Lee et al. arXiv:1902.06720 eq. 16;
Roberts–Yaida–Hanin arXiv:2106.10165 ch. 10)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validate import nonnegative_float, symmetric_psd
from ..errors import ArgumentError, UnsupportedError
from ._linalg import checked_eigh, conditioning_data, joint

__all__ = ["flow_operator", "gradient_flow_prediction"]


def _with_ntk(net: Any) -> Any:
    """``net`` if it has an NTK; a seed-001 net as the equal MLP [d_in, N, d_out] with
    C_W = σ_W², C_b = σ_b² (the two conventions coincide, docs/conventions.md)."""
    if callable(getattr(net, "ntk", None)):
        return net
    if getattr(net.activation, "normalised", False) or net.mu_w != 0.0 or net.mu_b != 0.0:
        raise UnsupportedError(
            "mlp",
            f"the NTK of {net!r} is not available: a variance-normalised unit (Gauss-net) or "
            "nonzero weight/bias means have no MLP equivalent",
        )
    from ..ensembles import MLP

    return MLP(net.activation, [net.d_in, net.width, net.d_out], C_W=net.sigma_w2, C_b=net.sigma_b2)


def flow_operator(
    theta_AA: np.ndarray,
    t: float,
    learning_rate: float | None = None,
    *,
    rcond: float = 1e-12,
) -> np.ndarray:
    r"""The matrix :math:`\Theta_{AA}^{-1}(1 - e^{-\Theta_{AA} t})` (P, P), or its
    gradient-descent analogue :math:`\Theta_{AA}^{-1}(1 - (1 - \eta\Theta_{AA})^{t/\eta})`.

    Evaluated in the eigenbasis of :math:`\Theta_{AA}` as :math:`g(\theta) =
    -\mathrm{expm1}(-\theta t)/\theta` (→ t as θ → 0, so finite t needs no inverse); at
    t = ∞ it is :math:`\Theta_{AA}^{-1}`, which requires a well-conditioned Θ_AA.
    """
    if math.isinf(t):
        w, U = checked_eigh(theta_AA, "X_train", rcond)
        if learning_rate is not None and learning_rate * w[-1] >= 2.0:
            raise ArgumentError(
                "learning_rate",
                f"gradient descent diverges: learning_rate · λ_max(Θ_AA) = "
                f"{learning_rate * w[-1]:.4g} ≥ 2",
            )
        g = 1.0 / w
    else:
        w, U = np.linalg.eigh(0.5 * (theta_AA + theta_AA.T))
        w = np.clip(w, 0.0, None)
        if learning_rate is None:
            tw = w * t
            g = np.where(tw > 1e-300, -np.expm1(-tw) / np.where(w > 0, w, 1.0), t)
        else:
            steps = t / learning_rate
            if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
                raise ArgumentError("t", f"t / learning_rate = {steps} must be an integer")
            steps = round(steps)
            base = 1.0 - learning_rate * w
            power = np.power(base, steps)
            g = np.where(w > 0, (1.0 - power) / np.where(w > 0, w, 1.0), learning_rate * steps)
    return (U * g) @ U.T


def gradient_flow_prediction(
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
    rcond: float = 1e-12,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and covariance at ``X_test`` of the infinitely wide ensemble trained for time t.

    Parameters
    ----------
    mlp : MLP or SingleLayerNet
        Provides ``.kernel(X)`` (K) and ``.ntk(X, lambda_W=, lambda_b=)`` (Θ). A seed-001
        ``SingleLayerNet`` (zero means, not the Gauss-net) is used as the equal
        ``MLP(activation, [d_in, width, d_out], C_W=sigma_w2, C_b=sigma_b2)``.
    X_train : array_like (P, d_in)
    y_train : array_like (P,) or (P, d_out)
        Targets Y (the mean of the data replicas when ``C_Y`` is given).
    X_test : array_like (Q, d_in)
    t : float, default inf
        Training time; gradient flow :math:`dz/dt = -\Theta\varepsilon` on
        :math:`\mathcal L = \tfrac12\sum_\alpha\varepsilon_\alpha^2`, ε = z − y, so that
        gradient descent with learning rate η for s steps is t = η s.
    lambda_b, lambda_W : float or sequence of length L
        The learning-rate tensor (seed slide "Forward equation for the NTK";
        :math:`\lambda_{W}/n_{\ell-1}` per weight).
    C_Y : array_like (P, P), optional
        Covariance of Monte Carlo data replicas :math:`y^{(k)} \sim \mathcal N(Y, C_Y)`, one
        per network (NNPDF-style; the same C_Y for each output component, independent of the
        initialisation). Adds :math:`T C_Y T^T` to the covariance.
    learning_rate : float, optional
        If given, the prediction for discrete full-batch gradient descent with this η and
        t/η steps (exact at infinite width, where the model is linear in its parameters):
        :math:`e^{-\Theta t} \to (1 - \eta\Theta)^{t/\eta}`.
    rcond : float
        Condition threshold for :math:`\Theta_{AA}` at t = ∞ (see :func:`gp_posterior`).

    Returns
    -------
    mean : ndarray (Q,) or (Q, d_out)
        :math:`T Y` with :math:`T = \Theta_{BA}\Theta_{AA}^{-1}(1 - e^{-\Theta_{AA}t})`; at
        t = ∞ the seed's :math:`m^\infty = \Theta_{BA}\Theta_{AA}^{-1}y`.
    cov : ndarray (Q, Q)
        :math:`K_{BB} - T K_{AB} - K_{BA}T^T + T (K_{AA} + C_Y) T^T` (per output component).

    Notes
    -----
    At infinite width Θ is deterministic and constant in training, so with
    :math:`\varepsilon_A(0) = z_A(0) - y`:
    :math:`z_A(t) = y + e^{-\Theta_{AA}t}\varepsilon_A(0)` and
    :math:`z_B(t) = z_B(0) - T\,(z_A(0) - y)`. The initial outputs are the GP with kernel K
    (zero mean), independent of the replica noise, which gives the mean and covariance above.

    References
    ----------
    Lee et al., arXiv:1902.06720, eqs. (15)–(16); Roberts, Yaida, Hanin, arXiv:2106.10165,
    ch. 10; seed 000 slide "Gradient training at infinite width".

    Examples
    --------
    >>> import numpy as np
    >>> from fieldnn.ensembles import MLP
    >>> mlp = MLP("erf", [1, 100, 1], C_W=1.5, C_b=0.1)
    >>> X, y = [[-1.0], [1.0]], [0.5, -0.5]
    >>> m0, c0 = gradient_flow_prediction(mlp, X, y, X, t=0.0)
    >>> m_inf, c_inf = gradient_flow_prediction(mlp, X, y, X)
    >>> (np.round(m0, 6) + 0.0).tolist(), (np.round(m_inf, 6) + 0.0).tolist()
    ([0.0, 0.0], [0.5, -0.5])
    >>> bool(np.allclose(c0, mlp.kernel(X))), bool(np.allclose(c_inf, 0.0, atol=1e-12))
    (True, True)
    """
    XA, XB, y, squeeze = conditioning_data(mlp, X_train, y_train, X_test)
    t = math.inf if t == math.inf else nonnegative_float(t, "t")
    if learning_rate is not None:
        learning_rate = nonnegative_float(learning_rate, "learning_rate", strictly_positive=True)
    net = _with_ntk(mlp)
    KAA, KAB, KBB = joint(mlp.kernel, XA, XB)
    TAA, TAB, _ = joint(lambda X: net.ntk(X, lambda_W=lambda_W, lambda_b=lambda_b), XA, XB)
    T = TAB.T @ flow_operator(TAA, t, learning_rate, rcond=rcond)
    mean = T @ y
    source = KAA
    if C_Y is not None:
        C = symmetric_psd(C_Y, "C_Y")
        if C.shape != KAA.shape:
            raise ArgumentError("C_Y", f"must have shape {KAA.shape}, got {C.shape}")
        source = KAA + C
    TKAB = T @ KAB
    cov = KBB - TKAB - TKAB.T + T @ source @ T.T
    cov = 0.5 * (cov + cov.T)
    return (mean[:, 0] if squeeze else mean), cov
