r"""The O(1/n) change of trained outputs driven by the dNTK and the ddNTKs (private).

Conventions as in :mod:`fieldnn.kernels._dntk` (Roberts–Yaida–Hanin arXiv:2106.10165 sec. 11.1,
∞.1). Multi-indices m = (output i, input δ) run over the training entries A first (NA of them),
then the test entries. One full-batch gradient-descent step on
:math:`\mathcal L = \tfrac12\sum_A\varepsilon_A^2` changes, exactly to the order that matters at
O(1/n),

.. math::

    \Delta z_m &= -\eta H_{mA}\varepsilon_A + \tfrac{\eta^2}2\,dH_{mAB}\varepsilon_A\varepsilon_B
        - \tfrac{\eta^3}6\,ddI_{mABC}\varepsilon_A\varepsilon_B\varepsilon_C,\\
    \Delta H_{m_1m_2} &= -\eta(dH_{m_1m_2A} + dH_{m_2m_1A})\varepsilon_A
        + \tfrac{\eta^2}2\,E_{m_1m_2AB}\varepsilon_A\varepsilon_B,\qquad
        E_{m_1m_2ab} = ddI_{m_1m_2ab} + ddI_{m_2m_1ab} + 2\,ddII_{m_1m_2ab},\\
    \Delta dH_{m_0m_1m_2} &= -\eta\,\mathcal D_{m_0m_1m_2A}\varepsilon_A,\qquad
        \mathcal D_{m_0m_1m_2a} = ddI_{m_0m_1m_2a} + ddII_{m_0m_1m_2a} + ddII_{m_0m_2m_1a}.

dH and the ddNTKs are O(1/n) and the NTK fluctuation O(1/√n), so at O(1/n) the leading error
:math:`e_s = (1-\eta\Theta_{AA})^s\varepsilon_0` drives these updates and the kernel in front of
the correction is the infinite-width Θ. The O(1/n) output change :math:`z^{(1)}` obeys

.. math::

    z^{(1)}_{s+1} = z^{(1)}_s - \eta\big[\Theta_{mA}z^{(1)}_{A,s} + h_{mA,s}e_s\big]
        + \tfrac{\eta^2}2\,dH_s[e_s, e_s] - \tfrac{\eta^3}6\,ddI[e_s, e_s, e_s],

with h the accumulated NTK change and :math:`dH_s = dH_0 + g_s` the evolved dNTK. Gradient
flow (η → 0, t = ηs fixed) drops the η², η³ terms; its solution is a sum of nested exponential
integrals (:func:`~fieldnn.inference._spectral.chain_integrals`) in the eigenbasis
:math:`\Theta_{AA} = U\,\mathrm{diag}(\lambda)\,U^T`, with :math:`\tilde u = U^T\varepsilon_0`
and every training slot rotated by U, rates :math:`r_m = \lambda_p` for a training entry
(mode p) and 0 for a test entry:

.. math::

    \tilde z^{(1)}_m(t) = \sum_{ij}(\tilde D_{mij} + \tilde D_{imj})\tilde u_i\tilde u_j
        I(r_m, \lambda_i, \lambda_i{+}\lambda_j)
        - \sum_{ijk}(\tilde{\mathcal D}_{mijk} + \tilde{\mathcal D}_{imjk})
        \tilde u_i\tilde u_j\tilde u_k I(r_m, \lambda_i, \lambda_i{+}\lambda_j,
        \lambda_i{+}\lambda_j{+}\lambda_k),

plus, for a test entry, :math:`-\sum_p\tilde\Theta_{mp}J_p` with :math:`J_p` the same sums with
the rate 0 prepended to the chains of training mode p (:math:`\int_0^t\tilde z^{(1)}_p`).
Both forms are implemented; the tests check one against the other (η → 0) and the descent
recursion against exact gradient descent on polynomial models.

Arrays (leading axis q: one row per evaluation point): ``u`` (q, NA) = ε_0;
``D1`` (q, N, NA, NA) = dH_0[:, A, A]; ``D2`` (q, NA, N, NA) = dH_0[A, :, A];
``DD1`` (N, NA, NA, NA) = 𝒟[:, A, A, A]; ``DD2`` (NA, N, NA, NA) = 𝒟[A, :, A, A];
``E2`` (N, NA, NA, NA) = E[:, A, A, A]; ``ddI1`` (N, NA, NA, NA) = ddI[:, A, A, A].
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentError
from ._spectral import chain_integrals

__all__ = [
    "descent_steps_to_converge",
    "descent_trajectory",
    "flow_correction",
    "flow_ntk_change",
]


def _chain_table(prefix: np.ndarray, lam: np.ndarray, depth: int, t: float) -> np.ndarray:
    r"""Chains :math:`I(\text{prefix}_m, \lambda_i, \lambda_i{+}\lambda_j, \dots; t)` for
    ``depth`` partial sums of eigenvalues: array (M, NA, …, NA) for ``prefix`` (M, k0)."""
    NA = lam.shape[0]
    grid = np.stack(np.meshgrid(*([lam] * depth), indexing="ij"))
    partial = np.moveaxis(np.cumsum(grid, axis=0), 0, -1)[None]
    lead = prefix.reshape((prefix.shape[0],) + (1,) * depth + (prefix.shape[1],))
    lead = np.broadcast_to(lead, (prefix.shape[0],) + (NA,) * depth + (prefix.shape[1],))
    partial = np.broadcast_to(partial, (prefix.shape[0],) + (NA,) * depth + (depth,))
    return chain_integrals(np.concatenate([lead, partial], axis=-1), t)


def flow_correction(
    theta: np.ndarray,
    u: np.ndarray,
    D1: np.ndarray,
    D2: np.ndarray,
    DD1: np.ndarray,
    DD2: np.ndarray,
    t: float,
) -> tuple[np.ndarray, np.ndarray]:
    """z^{(1)}(t) under gradient flow (closed form in the eigenbasis of Θ_AA), split into the
    dNTK-driven part (terms in D) and the ddNTK-driven part (terms in 𝒟): two (q, N) arrays."""
    NA = u.shape[-1]
    N = theta.shape[0]
    lam, U = np.linalg.eigh(theta[:NA, :NA])
    if lam[0] <= 0.0:
        raise ArgumentError("X_train", "Θ_AA is not positive definite")
    Rf = np.eye(N)
    Rf[:NA, :NA] = U
    ut = u @ U
    Dt1 = np.einsum("qmab,mp,ai,bj->qpij", D1, Rf, U, U, optimize=True)
    Dt2 = np.einsum("qamb,ai,mp,bj->qipj", D2, U, Rf, U, optimize=True)
    DDt1 = np.einsum("mabc,mp,ai,bj,ck->pijk", DD1, Rf, U, U, U, optimize=True)
    DDt2 = np.einsum("ambc,ai,mp,bj,ck->ipjk", DD2, U, Rf, U, U, optimize=True)
    rates = np.concatenate([lam, np.zeros(N - NA)])[:, None]
    coef2 = Dt1 + np.swapaxes(Dt2, 1, 2)
    coef3 = DDt1 + np.swapaxes(DDt2, 0, 1)
    C3, C4 = (_chain_table(rates, lam, depth, t) for depth in (2, 3))
    uu = ut[:, :, None] * ut[:, None, :]
    uuu = uu[:, :, :, None] * ut[:, None, None, :]
    z2 = np.einsum("qmij,qij->qm", coef2 * C3, uu, optimize=True)
    z3 = -np.einsum("mijk,qijk->qm", coef3 * C4, uuu, optimize=True)
    if N > NA:
        prefix = np.stack([np.zeros(NA), lam], axis=-1)
        J3, J4 = (_chain_table(prefix, lam, depth, t) for depth in (2, 3))
        tilt = (theta[NA:, :NA] @ U).T
        z2[:, NA:] -= np.einsum("qpij,qij->qp", coef2[:, :NA] * J3, uu, optimize=True) @ tilt
        z3[:, NA:] += np.einsum("pijk,qijk->qp", coef3[:NA] * J4, uuu, optimize=True) @ tilt
    z2[:, :NA] = z2[:, :NA] @ U.T
    z3[:, :NA] = z3[:, :NA] @ U.T
    return z2, z3


def flow_ntk_change(
    theta: np.ndarray,
    u: np.ndarray,
    D1: np.ndarray,
    D2: np.ndarray,
    DD1: np.ndarray,
    DD2: np.ndarray,
    t: float,
) -> np.ndarray:
    r"""The accumulated NTK change :math:`h_{mA}(t)` (q, N, NA) under gradient flow:
    :math:`h_{ma} = -\sum_j(\tilde D_{maj} + \tilde D_{amj})\tilde u_j I(0, \lambda_j)
    + \sum_{jk}(\tilde{\mathcal D}_{majk} + \tilde{\mathcal D}_{amjk})\tilde u_j\tilde u_k
    I(0, \lambda_j, \lambda_j{+}\lambda_k)`, only the contracted slots rotated."""
    NA = u.shape[-1]
    lam, U = np.linalg.eigh(theta[:NA, :NA])
    ut = u @ U
    d = D1 @ U + np.swapaxes(D2, 1, 2) @ U
    dd = np.einsum("majk,jp,kr->mapr", DD1 + np.swapaxes(DD2, 0, 1), U, U, optimize=True)
    I1 = _chain_table(np.zeros((1, 1)), lam, 1, t)[0]
    I2 = _chain_table(np.zeros((1, 1)), lam, 2, t)[0]
    h = -np.einsum("qmaj,qj->qma", d * I1, ut, optimize=True)
    h += np.einsum("majk,qj,qk->qma", dd * I2, ut, ut, optimize=True)
    return h


def descent_steps_to_converge(theta_AA: np.ndarray, learning_rate: float) -> int:
    """Steps after which gradient descent at t = ∞ has converged to round-off (ρ^s s² < 1e-16,
    ρ = max |1 − ηλ|)."""
    lam = np.linalg.eigvalsh(theta_AA)
    rho = float(np.max(np.abs(1.0 - learning_rate * lam)))
    return math.ceil(60.0 / -math.log(rho))


def descent_trajectory(
    theta: np.ndarray,
    u: np.ndarray,
    D1: np.ndarray | None,
    D2: np.ndarray | None,
    DD1: np.ndarray | None,
    DD2: np.ndarray | None,
    E2: np.ndarray | None,
    ddI1: np.ndarray | None,
    learning_rate: float,
    steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """z^{(1)} (q, N) and the accumulated NTK change h_{mA} (q, N, NA) after ``steps`` steps of
    gradient descent (the recursion above); a source given as None (the dNTK pair D1, D2, or
    the ddNTK set DD1, DD2, E2, ddI1) is zero."""
    eta = learning_rate
    q, NA = u.shape
    N = theta.shape[0]
    Q = np.eye(NA) - eta * theta[:NA, :NA]
    thA = theta[:, :NA]
    e = u.copy()
    z = np.zeros((q, N))
    h = np.zeros((q, N, NA))
    with_d = D1 is not None
    with_dd = DD1 is not None
    dH1 = np.array(D1, dtype=np.float64) if with_d else np.zeros((q, N, NA, NA))
    dH2 = np.array(D2, dtype=np.float64) if with_d else np.zeros((q, NA, N, NA))
    if with_dd:
        E2f = E2.reshape(N, NA, NA * NA)
    for _ in range(steps):
        ee = (e[:, :, None] * e[:, None, :]).reshape(q, NA * NA)
        col = e[:, None, :, None]
        dz = -eta * (z[:, :NA] @ thA.T + (h @ e[:, :, None])[..., 0])
        dz += 0.5 * eta**2 * (dH1.reshape(q, N, NA * NA) @ ee[:, :, None])[..., 0]
        dh = -eta * ((dH1 @ col)[..., 0] + np.swapaxes((dH2 @ col)[..., 0], 1, 2))
        if with_dd:
            third = np.tensordot(e, ddI1, axes=([1], [3])).reshape(q, N, NA * NA)
            dz -= eta**3 / 6.0 * (third @ ee[:, :, None])[..., 0]
            dh += 0.5 * eta**2 * np.tensordot(ee, E2f, axes=([1], [2]))
            dH1 -= eta * np.tensordot(e, DD1, axes=([1], [3]))
            dH2 -= eta * np.tensordot(e, DD2, axes=([1], [3]))
        z += dz
        h += dh
        e = e @ Q.T
    return z, h
