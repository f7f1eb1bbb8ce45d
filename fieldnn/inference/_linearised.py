r"""Each network's linearisation around its initialisation, trained by the same gradient descent.

For MSE, :math:`\mathcal L = \tfrac12\sum(z_A - y)^2`, and the model linearised in the
parameters, :math:`z^{\rm lin}(x; \theta) = z(x; \theta_0) + \partial_\theta z(x;
\theta_0)\,(\theta - \theta_0)`, full-batch descent with step η and the learning-rate tensor λ
moves the outputs with the initial empirical NTK :math:`\hat\Theta_0` frozen:

.. math:: z^{\rm lin}(x', T) = z(x', 0) - \hat\Theta_0(x', A)\, g(\hat\Theta_{0,AA})
          \big(z_A(0) - y\big),\qquad g(\lambda) = \frac{1 - (1 - \eta\lambda)^T}{\lambda},

with g(0) = ηT (Lee et al., arXiv:1902.06720, eqs. (8)–(11), there for gradient flow;
RYH arXiv:2106.10165 sec. 10.2.2 for the descent form). At infinite width every network
trains like its linearisation; at width n, E[z(T) − z^lin(T)] keeps exactly the dNTK and ddNTK
terms of the O(1/n) mean (``FiniteWidthPrediction.mean_terms``), while the O(1/√n) per-network
NTK fluctuation cancels in the difference — the control variate of the finite-width checks.
"""

from __future__ import annotations

import numpy as np


def linearised_outputs(
    ntk: np.ndarray, z0: np.ndarray, y: np.ndarray, learning_rate: float, steps: int
) -> np.ndarray:
    r"""Outputs of each network's linearisation after ``steps`` steps of descent.

    Parameters
    ----------
    ntk : ndarray (R, d_out, P + Q, d_out, P)
        Initial empirical NTK (with the learning-rate tensor) on the P training inputs followed
        by the Q test inputs, against the training inputs.
    z0 : ndarray (R, P + Q, d_out)
        Initial outputs at the same inputs.
    y : ndarray (P, d_out) or (R, P, d_out)
        Targets (per network for replica ensembles).
    learning_rate, steps
        η and T.

    Returns
    -------
    ndarray (R, Q, d_out)
        :math:`z^{\rm lin}(x', T)` at the test inputs (module docstring).
    """
    R, d, _, _, P = ntk.shape
    flat = np.moveaxis(ntk, 2, 1).reshape(R, -1, d * P)  # rows (x, i), columns (i, α)
    train = np.moveaxis(flat.reshape(R, -1, d, d * P)[:, :P], 2, 1).reshape(R, d * P, d * P)
    lam, U = np.linalg.eigh(train)
    x = learning_rate * np.maximum(lam, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        small = -np.expm1(steps * np.log1p(-np.minimum(x, 0.5))) / lam
        direct = (1.0 - (1.0 - x) ** steps) / lam
    g = np.where(x == 0.0, learning_rate * steps, np.where(x < 0.5, small, direct))
    eps = np.moveaxis(z0[:, :P] - y, 2, 1).reshape(R, d * P)  # (i, α)
    coef = np.einsum("rij,rj,rkj,rk->ri", U, g, U, eps)
    test = flat.reshape(R, -1, d, d * P)[:, P:]  # (R, Q, d, d·P)
    return z0[:, P:] - np.einsum("rqic,rc->rqi", test, coef)
