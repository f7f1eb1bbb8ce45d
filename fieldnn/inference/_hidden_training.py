r"""The O(1/n) mean change of a hidden kernel during training (representation learning by
gradient descent; derivation in ``docs/representation_learning.md``, sections "The hidden
kernel during training" and "Earlier hidden layers in training").

Below, the last hidden layer; for an earlier layer ℓ the same statistics of the net cut after
layer ℓ + 1 are carried to the output by the slot derivatives 𝒟, ℰ of the kernel and NTK maps
of the layers above (:mod:`fieldnn.inference._upper_maps`): n E[dG z] = 2𝒟1 q_αα + 𝒟3 q_αβ,
n E[Y] = 𝒟3 (cut net's), n E[X] = 2ℰ1 q_αα + ℰ3 q_αβ + 𝒟3 (cut net's Q^C part).

Conventions as in :mod:`fieldnn.inference._finite_training` and ``docs/finite_width_training.md``
(Roberts–Yaida–Hanin arXiv:2106.10165 ch. 11, ∞): L layers, n = n_{L−1}, learning-rate tensor
λ_b, λ_W/n_{ℓ−1}, MSE loss :math:`\tfrac12\sum_A\varepsilon_A^2`, multi-indices A = (output i,
training input α). The object is

.. math:: \hat G'_{\delta_1\delta_2} = \frac1n\sum_j\sigma(z^{(L-1)}_{j\delta_1})
          \sigma(z^{(L-1)}_{j\delta_2}),

so that the output NTK is :math:`\delta_{i_1i_2}[\lambda_b^{(L)} + \lambda_W^{(L)}\hat G'] +
\sum WW\sigma'\sigma'\hat H^{(L-1)}` and the output kernel :math:`C_b^{(L)} + C_W^{(L)}\hat G'`.
Along a training trajectory :math:`d\hat G'/dt = -\sum_A\widehat{dG}_A\varepsilon_A` and
:math:`d\widehat{dG}_A/dt = -\sum_B\widehat{ddG}_{AB}\varepsilon_B` with

.. math::

    \widehat{dG}_{A;\delta_1\delta_2} = \sum_\mu\lambda_\mu\,\partial_\mu z_A\,\partial_\mu
        \hat G'_{\delta_1\delta_2},\qquad
    \widehat{ddG}_{AB} = X_{AB} + Y_{AB},\quad
    X_{AB} = \sum_{\mu\nu}\lambda_\mu\lambda_\nu\,\partial_\mu\partial_\nu z_A\,
        \partial_\mu\hat G'\,\partial_\nu z_B,\quad
    Y_{AB} = \sum_{\mu\nu}\lambda_\mu\lambda_\nu\,\partial_\mu z_A\,\partial_\nu z_B\,
        \partial_\mu\partial_\nu\hat G';

one gradient-descent step moves :math:`\hat G'` by :math:`-\eta\,\widehat{dG}[\varepsilon] +
\tfrac{\eta^2}2Y[\varepsilon, \varepsilon]` and :math:`\widehat{dG}` by
:math:`-\eta\,\widehat{ddG}[\varepsilon]`. With the last-layer statistics of
:func:`fieldnn.kernels.dntk_statistics` split by their dependence on the last layer's
:math:`\lambda_W = \lambda_W^{(L)}` and :math:`C_W = C_W^{(L)}` — :math:`Q^{(L)} =
\lambda_WQ^G + Q^C`, :math:`R^{(L)} = \lambda_WR^G + R^C`, :math:`S^{(L)} = \lambda_WS^G +
S^C` — and A = (i, α), B = (i', β),

.. math::

    n\,\mathbb E[\widehat{dG}_{A;\delta_1\delta_2}z_B] &= \delta_{ii'}\big(Q^G_{\delta_1\delta_2
        \alpha\beta} + Q^G_{\delta_2\delta_1\alpha\beta}\big),\\
    n\,\mathbb E[Y_{AB;\delta_1\delta_2}] &= \delta_{ii'}\big(R^G_{\delta_1\delta_2\alpha\beta}
        + R^G_{\delta_2\delta_1\alpha\beta} + S^G_{\alpha\beta\delta_1\delta_2}
        + S^G_{\alpha\beta\delta_2\delta_1}\big),\\
    n\,\mathbb E[X_{AB;\delta_1\delta_2}] &= \delta_{ii'}\Big(\frac{\lambda_W}{C_W}
        \big(Q^G_{\delta_1\delta_2\alpha\beta} + Q^G_{\delta_2\delta_1\alpha\beta}\big)
        + \frac1{C_W}\big(Q^C_{\alpha\beta\delta_1\delta_2} + Q^C_{\alpha\beta\delta_2\delta_1}
        \big)\Big),

and :math:`\mathbb E\widehat{dG} = 0` (flip the sign of W^{(L)}). The mean change is then the
accumulated-change part of the training dynamics of
:mod:`fieldnn.inference._training_dynamics` with these tensors in place of the dNTK and ddNTK
ones, driven by the infinite-width error :math:`e_s = (1 - \eta\Theta_{AA})^s\varepsilon_0`:
its part linear in the error needs only :math:`\mathbb E[\widehat{dG}_0\varepsilon_0^T] =
\mathbb E[\widehat{dG}_0z_A^T]`, its quadratic part only :math:`\mathbb E[\varepsilon_0
\varepsilon_0^T] = K_{AA} + C_Y + YY^T`, each reproduced exactly by d_out·P equally weighted
points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._finite_training import training_setup
from ._finite_width import hidden_layer
from ._linalg import conditioning_data
from ._training_dynamics import descent_steps_to_converge, descent_trajectory, flow_ntk_change
from ._upper_maps import UpperMaps, upper_maps

__all__ = ["HiddenKernelChange", "hidden_kernel_change"]


@dataclass(frozen=True)
class HiddenKernelChange:
    r"""The O(1/n) mean change of a hidden kernel :math:`\hat G'` during training.

    Attributes
    ----------
    change : ndarray (Q, Q)
        :math:`\mathbb E[\hat G'(t) - \hat G'(0)]` at the test inputs, to O(1/n) (zero at
        infinite width).
    first_order, second_order : ndarray (Q, Q)
        The parts linear in the error (from :math:`\mathbb E[\widehat{dG}\,z]`) and quadratic
        in it (from the means of X, Y); they sum to ``change``.
    kernel : ndarray (Q, Q)
        The infinite-width :math:`\langle\sigma\sigma\rangle_{K^{(L-1)}}`, the prior mean of
        :math:`\hat G'`.
    cov : ndarray (Q, Q, Q, Q)
        :math:`\mathrm{Cov}[\hat G'_{\delta_1\delta_2}(t), \hat G'_{\delta_3\delta_4}(t)]`
        over the trained ensemble, to O(1/n): :math:`V^{(L)}/n` with :math:`V^{(L)}` the
        four-point vertex of the output layer at :math:`C_W^{(L)} = 1`. Training leaves it
        unchanged at this order (the change of the covariance is O(1/n²); docstring of
        :func:`hidden_kernel_change`).
    width : int
        n = n_ℓ (n_{L−1} for the last hidden layer).
    t, learning_rate : float, float or None
        Training time and step (None: gradient flow).
    layer : int
        ℓ, the hidden layer whose kernel :math:`\hat G'` is followed (L − 1 by default).
    """

    change: np.ndarray
    first_order: np.ndarray
    second_order: np.ndarray
    kernel: np.ndarray
    cov: np.ndarray
    width: int
    t: float
    learning_rate: float | None
    layer: int

    @property
    def scaled_change(self) -> np.ndarray:
        """n · change, (Q, Q): width-independent when all hidden widths scale together."""
        return self.width * self.change


def _split_statistics(net: Any, X: np.ndarray, lambda_W: Any, lambda_b: Any) -> dict:
    r"""The last-layer pieces :math:`Q^G, Q^C/C_W, R^G, S^G` (at the true C_W^{(L)}).

    The last step of each recursion of :func:`fieldnn.kernels.dntk_statistics` is affine in
    :math:`\lambda_W^{(L)}` (Q, R, S: the first-line terms of the forward equations) and
    homogeneous in :math:`C_W^{(L)}` (degree 1 for the λ_W-terms, 2 for :math:`Q^C`), and the
    earlier layers do not depend on either; so the last step at :math:`C_W^{(L)} = 1`,
    :math:`\lambda_W^{(L)} = 1, 0` (one recursion, two last steps) gives every piece.
    """
    from ..ensembles.architectures import _per_layer
    from ..kernels._dntk import last_step_variants

    L = len(net.widths) - 1
    cw = list(_per_layer(tuple(net.C_W), "C_W", L))
    cb = list(_per_layer(tuple(net.C_b), "C_b", L))
    lw = list(_per_layer(lambda_W, "lambda_W", L))
    lb = list(_per_layer(lambda_b, "lambda_b", L))
    one, zero = last_step_variants(
        net.activation, X, C_W=[*cw[:-1], 1.0], C_b=cb, widths=list(net.widths),
        lambda_W=lw, lambda_b=lb, last_lambda_W=(1.0, 0.0),
    )  # fmt: skip
    c = cw[-1]
    return {
        "QG": c * (one.Q[-1] - zero.Q[-1]),
        "QC_over_CW": c * zero.Q[-1],
        "RG": c * (one.R[-1] - zero.R[-1]),
        "SG": c * (one.S[-1] - zero.S[-1]),
        "lambda_W": lw[-1],
        "C_W": c,
        "kernel": (one.ntk.K[-1] - cb[-1]),  # ⟨σσ⟩ at C_W^{(L)} = 1
        "width": int(one.ntk.widths[-2]),
    }


def _hidden_kernel_cov(net: Any, X: np.ndarray) -> np.ndarray:
    r""":math:`n\,\mathrm{Cov}(\hat G'_{12}, \hat G'_{34})` at leading order: the output layer's
    :math:`V^{(L)}` at :math:`C_W^{(L)} = 1` (:math:`V^{(L)}/n_{L-1}` is the covariance of
    :math:`C_b^{(L)} + C_W^{(L)}\hat G'`; :func:`fieldnn.kernels.deep.four_point_vertex`)."""
    from ..kernels.deep import four_point_vertex

    return four_point_vertex(
        net.activation, X, C_W=[*net.C_W[:-1], 1.0], C_b=list(net.C_b), widths=list(net.widths)
    )


def _hidden_statistics(
    s: dict, maps: UpperMaps, PA: int, PB: int, d_out: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""n·E[dG z_A], n·E[X + Y], n·E[Y] as (PB², NA, NA) arrays: rows the test pairs
    (δ1, δ2) flattened, columns the training multi-indices A = (i, α) (output-major).

    ``s`` are the pieces of the net cut after layer ℓ + 1 (:func:`_split_statistics`), ``maps``
    the slot derivatives of the layers above (:func:`upper_maps`; for the last hidden layer
    D1 = E1 = 0, D3 = 1, E3 = λ_W/C_W, which leaves the pieces as they are)."""
    a, b = slice(0, PA), slice(PA, PA + PB)
    QG, QC, RG, SG = s["QG"], s["QC_over_CW"], s["RG"], s["SG"]
    q = QG[b, b, a, a] + QG[b, b, a, a].transpose(1, 0, 2, 3)
    rg = RG[b, b, a, a] + RG[b, b, a, a].transpose(1, 0, 2, 3)
    sg = SG[a, a, b, b] + SG[a, a, b, b].transpose(0, 1, 3, 2)
    qc = QC[a, a, b, b] + QC[a, a, b, b].transpose(0, 1, 3, 2)
    yy = maps.D3 * (rg + sg.transpose(2, 3, 0, 1))
    xx = maps.D3 * qc.transpose(2, 3, 0, 1)
    q_aa = np.einsum("xyaa->xya", q)[..., :, None]  # q_{δ1δ2, αα}, broadcast over β

    def chain(A1: np.ndarray, A3: np.ndarray) -> np.ndarray:  # 2 A1_αβ q_αα + A3_αβ q_αβ
        return 2.0 * A1 * q_aa + A3 * q

    g1 = chain(maps.D1, maps.D3)
    xx = xx + chain(maps.E1, maps.E3)  # (C_W^(ℓ+1) = 0: q = 0, and upper_maps sets E3 = 0)
    eye = np.eye(d_out)

    def lift(T: np.ndarray) -> np.ndarray:
        out = np.einsum("ij,xyab->xyiajb", eye, T).reshape(PB * PB, d_out * PA, d_out * PA)
        return out

    return lift(g1), lift(xx + yy), lift(yy)


def hidden_kernel_change(
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
    layer: int | None = None,
) -> HiddenKernelChange:
    r"""The O(1/n) mean change of a hidden kernel of an MLP ensemble trained on the MSE.

    Parameters
    ----------
    mlp : MLP
        The architecture (at least one hidden layer; σ smooth: the second-order part needs
        the ddNTK pieces R, S, and a kinked σ trains outside the O(1/n) expansion, as
        :func:`fieldnn.finite_width_prediction` says).
    X_train : array_like (P, d_in)
    y_train : array_like (P,) or (P, d_out)
    X_test : array_like (Q, d_in)
        Where :math:`\hat G'_{\delta_1\delta_2}` is predicted.
    t, lambda_b, lambda_W, C_Y, learning_rate
        As in :func:`~fieldnn.inference.finite_width_prediction` (gradient flow for a time t,
        or t / learning_rate steps of full-batch gradient descent; replicas y ~ N(Y, C_Y)).
    layer : int, optional
        The hidden layer ℓ, 1 <= ℓ <= L − 1, whose kernel :math:`\hat G'^{(\ell)} =
        n_\ell^{-1}\sum_j\sigma(z^{(\ell)}_j)\sigma(z^{(\ell)}_j)` is followed (default: the
        last, L − 1; the earlier ones are derived in ``docs/representation_learning.md``,
        "Earlier hidden layers in training").

    Returns
    -------
    HiddenKernelChange
        ``.change`` = :math:`\mathbb E[\hat G'(t) - \hat G'(0)]` (Q, Q), ``.scaled_change`` =
        n · change, ``.cov`` the covariance of :math:`\hat G'(t)` (Q, Q, Q, Q) to O(1/n).

    Notes
    -----
    :math:`\hat G'_{\delta_1\delta_2} = n^{-1}\sum_j\sigma(z^{(L-1)}_{j\delta_1})
    \sigma(z^{(L-1)}_{j\delta_2})`, n = n_{L−1}. Under gradient flow, with
    :math:`\Theta_{AA} = U\mathrm{diag}(\lambda)U^T`, :math:`\tilde u = U^T\varepsilon_0` and
    the training slots rotated by U,

    .. math::

        \mathbb E\,\Delta\hat G'(t) = \mathbb E\Big[-\sum_j\widetilde{dG}_j\tilde u_j
            I(0, \lambda_j) + \sum_{jk}\widetilde{ddG}_{jk}\tilde u_j\tilde u_k
            I(0, \lambda_j, \lambda_j{+}\lambda_k)\Big],

    the first term :math:`-n^{-1}\mathrm{tr}\big(\mathbb E[\widehat{dG}z_A^T]\,
    g_t(\Theta_{AA})\big)` with the training filter :math:`g_t(x) = (1 - e^{-xt})/x`; gradient
    descent adds :math:`\tfrac{\eta^2}2Y[e_s, e_s]` per step. The statistics
    :math:`\mathbb E[\widehat{dG}z]`, :math:`\mathbb E[\widehat{ddG}]`, :math:`\mathbb E[Y]`
    are the λ_W^{(L)}-terms of the last step of the Q, R, S recursions of
    :func:`fieldnn.dntk_statistics` (divided by λ_W^{(L)}) and the C_W^{(L)}²-terms of Q
    (divided by C_W^{(L)}), module docstring; derivation in
    ``docs/representation_learning.md``.

    The covariance is not moved at O(1/n). :math:`\widehat{dG}`, X and Y are O(1/n) network
    by network, not only in mean (:math:`\widehat{dG}_A = n^{-1}\sum_{jk}W_{ik}\sigma'_{k\alpha}
    [\ldots]_{jk}` and :math:`\sum_kW_{ik}(\ldots)_k` is of order one), so the change
    :math:`\Delta\hat G'` fluctuates at O(1/n): its variance is O(1/n²), and its covariance
    with :math:`\hat G'(0)` (fluctuation O(n^{-1/2})) is a connected correlator of three unit
    averages, even in :math:`W^{(L)}`, also O(1/n²). Hence

    .. math:: \mathrm{Cov}[\hat G'_{\delta_1\delta_2}(t), \hat G'_{\delta_3\delta_4}(t)] =
              \frac1n V^{(L)}_{(\delta_1\delta_2)(\delta_3\delta_4)}\Big|_{C_W^{(L)}=1}
              + O(1/n^2),

    the covariance at initialisation (RYH eq. (4.90): :math:`V^{(L)}/n_{L-1}` is the
    covariance of the stochastic metric :math:`C_b^{(L)} + C_W^{(L)}\hat G'`).

    References
    ----------
    D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 11 (dNTK, ddNTKs: forward
    equations and statistics), ch. ∞ (training dynamics at O(1/n)).
    """
    XA, XB, y, _ = conditioning_data(mlp, X_train, y_train, X_test)
    net, t, eta, Y, CY, TAA, filt = training_setup(
        mlp, XA, XB, y, t=t, learning_rate=learning_rate, C_Y=C_Y, lambda_W=lambda_W,
        lambda_b=lambda_b,
    )  # fmt: skip
    d_out = int(net.widths[-1])
    PA, PB = XA.shape[0], XB.shape[0]

    layer = hidden_layer(net, layer)
    cut, maps = _cut_at(net, XA, layer, lambda_W, lambda_b)
    s = _split_statistics(cut["net"], np.concatenate([XA, XB]), cut["lambda_W"], cut["lambda_b"])
    n = s["width"]
    g1, dd, yy = _hidden_statistics(s, maps, PA, PB, d_out)
    NA, X2 = PA * d_out, PB * PB
    theta = np.kron(np.eye(d_out), TAA)
    M2 = np.kron(np.eye(d_out), net.kernel(XA)) + np.outer(Y, Y)  # E[ε_0 ε_0ᵀ]
    if CY is not None:
        M2 = M2 + CY
    # The first part is bilinear in (dG_0, ε_0) and needs only E[dG_0 ε_0ᵀ] = E[dG_0 z_Aᵀ]
    # (E dG_0 = 0); the second is quadratic in ε_0 and needs only E[ε_0 ε_0ᵀ]. NA points with
    # weights 1/NA reproduce both moments exactly: ε_k = √NA e_k with dG_k = √NA 𝒬[·, k]/n
    # (𝒬 = n E[dG z_Aᵀ]) for the first, ε_k = √(NA μ_k) v_k (M2 = Σ μ_k v_k v_kᵀ) for the second.
    mu, V = np.linalg.eigh(M2)
    u1 = np.sqrt(NA) * np.eye(NA)
    u2 = (V * np.sqrt(NA * np.clip(mu, 0.0, None))).T
    w = np.full(NA, 1.0 / NA)
    # embed as the NTK rows m = (δ1, δ2) of the dynamics helpers, column slot a = 0 only
    Np = max(X2, NA)
    D1 = np.zeros((NA, Np, NA, NA))
    D1[:, :X2, 0, :] = np.sqrt(NA) * np.moveaxis(g1, 2, 0) / n
    DD1 = np.zeros((Np, NA, NA, NA))
    DD1[:X2, 0] = dd / n
    E2 = np.zeros((Np, NA, NA, NA))
    E2[:X2, 0] = yy / n
    zeros_D2 = np.zeros((NA, NA, Np, NA))
    zeros_DD2 = np.zeros((NA, Np, NA, NA))
    th = np.zeros((Np, Np))
    th[:NA, :NA] = theta
    parts = []
    for u, D, DD, E in ((u1, D1, None, None), (u2, None, DD1, E2)):
        if eta is None:
            D = np.zeros_like(D1) if D is None else D
            DD = np.zeros_like(DD1) if DD is None else DD
            h = flow_ntk_change(th, u, D, zeros_D2, DD, zeros_DD2, t)
        else:
            steps = filt.steps
            if steps is None:
                steps = descent_steps_to_converge(theta, eta)
            if DD is None:
                args = (D, zeros_D2, None, None, None, None)
            else:
                args = (None, None, DD, zeros_DD2, E, np.zeros_like(E))
            _, h = descent_trajectory(th, u, *args, eta, steps)
        parts.append((w @ h[:, :X2, 0]).reshape(PB, PB))
    first, second = (0.5 * (p + p.T) for p in parts)
    return HiddenKernelChange(
        change=first + second,
        first_order=first,
        second_order=second,
        kernel=s["kernel"][PA:, PA:],
        cov=_hidden_kernel_cov(cut["net"], XB) / n,
        width=n,
        t=t,
        learning_rate=eta,
        layer=layer,
    )


def _cut_at(
    net: Any, XA: np.ndarray, layer: int, lambda_W: Any, lambda_b: Any
) -> tuple[dict, UpperMaps]:
    """The net cut after layer ℓ + 1 (one output; its statistics give those of layer ℓ's
    kernel, which do not depend on the output width) with its learning rates, and the slot
    derivatives of the layers above at the training inputs."""
    from ..ensembles import MLP
    from ..ensembles.architectures import _per_layer
    from ..kernels.deep import kernel_recursion, ntk_recursion

    L = len(net.widths) - 1
    cw = list(_per_layer(tuple(net.C_W), "C_W", L))
    cb = list(_per_layer(tuple(net.C_b), "C_b", L))
    lw = list(_per_layer(lambda_W, "lambda_W", L))
    lb = list(_per_layer(lambda_b, "lambda_b", L))
    widths = [*net.widths[: layer + 1], 1]
    cut = MLP(net.activation, widths, C_W=cw[: layer + 1], C_b=cb[: layer + 1])
    Ks = kernel_recursion(net.activation, XA, C_W=cw, C_b=cb, depth=L)
    top = layer + 1
    ntk = ntk_recursion(
        net.activation, XA, C_W=cw[:top], C_b=cb[:top], lambda_W=lw[:top], lambda_b=lb[:top],
        depth=top,
    )[-1]  # fmt: skip
    maps = upper_maps(
        net.activation, Ks[layer - 1 : L - 1], cw[layer:], ntk=ntk, lambda_W=lw[layer:],
        lambda_b=lb[layer:],
    )  # fmt: skip
    return {"net": cut, "lambda_W": lw[: layer + 1], "lambda_b": lb[: layer + 1]}, maps
