r"""Bayesian inference with the infinitely wide network: the GP posterior (seed 000, slide
"Bayesian learning at ∞ width"; Roberts–Yaida–Hanin arXiv:2106.10165 ch. 6)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg

from .._validate import nonnegative_float
from ..errors import ArgumentError
from ._linalg import checked_eigh, conditioning_data, joint

__all__ = ["gp_posterior"]


def gp_posterior(
    mlp: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    noise: float = 0.0,
    *,
    jitter: float = 0.0,
    rcond: float = 1e-12,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Posterior mean and covariance of the infinitely wide network's outputs at ``X_test``.

    Parameters
    ----------
    mlp : MLP or SingleLayerNet
        Anything with ``.kernel(X) -> (P, P)`` (the output kernel K of the infinite-width GP).
    X_train : array_like (P, d_in)
        Training inputs (the set A).
    y_train : array_like (P,) or (P, d_out)
        Observed outputs. The d_out output components are independent and identically
        distributed at infinite width, so each column is conditioned with the same kernel.
    X_test : array_like (Q, d_in)
        Test inputs (the set B).
    noise : float, default 0
        Variance of Gaussian observation noise added to :math:`K_{AA}` (0: exact conditioning
        on the observed outputs).
    jitter : float, default 0
        Extra diagonal :math:`\text{jitter}\cdot\overline{\operatorname{diag} K_{AA}}` added to
        :math:`K_{AA}` (a documented regulator for nearly singular kernels).
    rcond : float, default 1e-12
        :math:`K_{AA} + (\text{noise} + \ldots)\,1` must have λ_min > rcond · λ_max; otherwise
        an :class:`~fieldnn.errors.ArgumentError` naming ``X_train`` is raised (never NaN).

    Returns
    -------
    mean : ndarray (Q,) or (Q, d_out)
        :math:`m_B = K_{BA}(K_{AA} + \text{noise}\,1)^{-1} y_A`, same trailing shape as y_train.
    cov : ndarray (Q, Q)
        :math:`K_{BB} - K_{BA}(K_{AA} + \text{noise}\,1)^{-1}K_{AB}` (the same for every
        output component).

    Notes
    -----
    At infinite width the joint distribution of the outputs at A ∪ B is Gaussian with
    covariance K (a zero-mean GP), so :math:`p(z_B\mid y_A)` is Gaussian with the mean and
    covariance above (Schur complement). Solves use a Cholesky factorisation of
    :math:`K_{AA}` after the condition-number check.

    References
    ----------
    Roberts, Yaida, Hanin, arXiv:2106.10165, ch. 6 (Bayesian inference); seed 000 slide "Bayesian
    learning at ∞ width" (:math:`m^\infty_\beta = K_{\beta\alpha}(K_{\alpha\alpha})^{-1}y_\alpha`).

    Examples
    --------
    >>> import numpy as np
    >>> from fieldnn.ensembles import MLP
    >>> mlp = MLP("erf", [1, 100, 1], C_W=1.5, C_b=0.1)
    >>> mean, cov = gp_posterior(mlp, [[-1.0], [1.0]], [0.5, -0.5], [[-1.0], [0.0]])
    >>> (np.round(mean, 6) + 0.0).tolist(), bool(abs(cov[0, 0]) < 1e-12)
    ([0.5, 0.0], True)
    """
    XA, XB, y, squeeze = conditioning_data(mlp, X_train, y_train, X_test)
    noise = nonnegative_float(noise, "noise")
    jitter = nonnegative_float(jitter, "jitter")
    KAA, KAB, KBB = joint(mlp.kernel, XA, XB)
    A = KAA + (noise + jitter * float(np.mean(np.diag(KAA)))) * np.eye(XA.shape[0])
    checked_eigh(A, "X_train", rcond)
    try:
        factor = linalg.cho_factor(A, lower=True)
    except linalg.LinAlgError:  # rcond ≈ 0 let a round-off-singular matrix through
        raise ArgumentError(
            "X_train",
            "the kernel matrix on the training inputs is not numerically positive definite "
            "(Cholesky failed): remove duplicate inputs, add noise/jitter or raise rcond",
        ) from None
    alpha = linalg.cho_solve(factor, y)
    mean = KAB.T @ alpha
    cov = KBB - KAB.T @ linalg.cho_solve(factor, KAB)
    cov = 0.5 * (cov + cov.T)
    return (mean[:, 0] if squeeze else mean), cov
