r"""The ensemble of finite-width MLPs trained on the MSE, to O(1/n): mean and covariance of the
trained outputs (Roberts–Yaida–Hanin arXiv:2106.10165 ch. ∞; derivation in
``docs/finite_width_training.md``, section "Training at finite width").

Write the trained outputs on all inputs (training entries A first) as

.. math::

    z(t) = z_0 - M(\hat H)\,\varepsilon_0 + z^{(1)}(t),\qquad
    M(H) = H_{\cdot A}\,g(H_{AA}),\qquad \varepsilon_0 = z_{0,A} - y,

with g the training filter of :mod:`fieldnn.inference._spectral` (exact for a frozen kernel)
and :math:`z^{(1)}` the O(1/n) change driven by the dNTK and the ddNTKs
(:mod:`fieldnn.inference._training_dynamics`). With :math:`\hat H = \Theta + \Theta^{\{1\}}/n
+ \Delta\hat H`, the statistics of :func:`fieldnn.dntk_statistics` (Θ^{1}, A, B, D, F, P, Q,
R, S, T, U, K^{1} of the last layer, normalised by :math:`1/n = 1/n_{L-1}`) give, exactly at
O(1/n) and with :math:`M_0 = M(\Theta)`, :math:`M'`, :math:`M_2` the first and second order of
M in the kernel (Daleckii–Krein, divided differences of g):

* mean :math:`\big[M_0 + M'[\Theta^{\{1\}}]/n + E\,M_2[\Delta\hat H]\big]y + E\,z^{(1)}`
  (:math:`E[\Delta\hat H z_0] = 0` by the sign flip of the last layer);
* covariance :math:`B(K + K^{\{1\}}/n)B^T + M_0C_YM_0^T - [C_{w\varepsilon}(M'[\Theta^{\{1\}}]/n
  + E M_2)^T + E(Bz_0)(M'[\Delta\hat H]z_{0,A})^T + \text{transp.}] + E(M'[\Delta\hat H]
  \varepsilon_0)(M'[\Delta\hat H]\varepsilon_0)^T + [\mathrm{Cov}(Bz_0 + M_0\xi, z^{(1)})
  + \text{transp.}]`, with :math:`B = 1 - M_0\Pi_A`, ξ the replica noise and
  :math:`C_{w\varepsilon} = BK_{\cdot A} - M_0C_Y`.

The ΔĤ–z_0 moments enter through D, F, the ΔĤ–ΔĤ moments through A, B. :math:`z^{(1)}` is
linear in dH_0 and the ddNTKs and cubic in ε_0; at O(1/n) the joint moments it needs are
those of the Gaussian model :math:`dH_0 = E[dH_0z_0^T]K^{-1}z_0`, ddNTKs at their means, so
its mean (cubic) and its covariance with the linear part (quartic) are exact Gaussian integrals,
evaluated by the degree-5 rule of :func:`~fieldnn.inference._spectral.gauss_rule5`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import nonnegative_float, symmetric_psd
from ..errors import ArgumentError, UnsupportedError
from ._flow import _with_ntk
from ._kink_common import has_kink
from ._linalg import checked_eigh, conditioning_data, joint
from ._spectral import TrainingFilter, gauss_rule5
from ._training_dynamics import (
    descent_steps_to_converge,
    descent_trajectory,
    flow_correction,
    flow_ntk_change,
)

__all__ = ["FiniteWidthPrediction", "finite_width_prediction"]

_MAX_STEPS = 200_000
# kinked σ: fewest units of a hidden layer whose σ' differs between two inputs before a warning
_SEPARATING_UNITS = 10.0


@dataclass(frozen=True)
class FiniteWidthPrediction:
    r"""Mean and covariance of the trained ensemble at the test inputs, to O(1/n).

    Attributes
    ----------
    mean, mean_infinite : ndarray (Q,) or (Q, d_out)
        With and without the O(1/n) correction (the latter is
        :func:`~fieldnn.inference.gradient_flow_prediction`).
    cov, cov_infinite : ndarray (Q, Q), or (Q, d_out, Q, d_out) when d_out > 1
        Covariance over the ensemble (initialisation and data replicas). At infinite width the
        output components are independent; at O(1/n) the targets couple them.
    mean_terms : dict of ndarray
        The O(1/n) mean correction split by origin: ``"ntk_mean"`` (Θ^{1}), ``"ntk_variance"``
        (A, B), ``"dntk"`` (P, Q), ``"ddntk"`` (R, S, T, U); they sum to mean − mean_infinite.
    cov_terms : dict of ndarray
        The O(1/n) covariance correction split the same way, shaped as ``cov``: ``"kernel"``
        (K^{1} of the initial outputs), ``"ntk_mean"``, ``"ntk_preactivation"`` (D, F: the
        NTK's correlation with the initial outputs), ``"ntk_variance"``, ``"dntk"``,
        ``"ddntk"``; they sum to cov − cov_infinite. The first four are the covariance of the
        networks trained with their initial NTK frozen (the linearised networks), the last two
        that of the NTK's motion: 2 sym Cov(z_lin, z^{(1)}).
    ntk_change : ndarray (P + Q, P), or (P + Q, d_out, P, d_out) when d_out > 1
        :math:`E[\hat H(t) - \hat H(0)]` to O(1/n), rows the training then the test inputs,
        columns the training inputs: the NTK's own motion during training (zero at infinite
        width), from the dNTK and the ddNTKs.
    width : int
        n = n_{L−1}, the width the O(1/n) terms are normalised by.
    t, learning_rate : float, float or None
        Training time and step (None: gradient flow).
    """

    mean: np.ndarray
    cov: np.ndarray
    mean_infinite: np.ndarray
    cov_infinite: np.ndarray
    mean_terms: dict[str, np.ndarray] = field(repr=False)
    cov_terms: dict[str, np.ndarray] = field(repr=False)
    ntk_change: np.ndarray = field(repr=False)
    width: int
    t: float
    learning_rate: float | None


def _lift(T: np.ndarray, inp: np.ndarray, delta: np.ndarray, terms: list) -> np.ndarray:
    """Σ over (index map, delta pairing) of δδ · T[inputs permuted]: multi-index tensors."""
    Tm = T[np.ix_(inp, inp, inp, inp)]
    out = np.zeros(Tm.shape)
    for perm, pairing in terms:
        out += np.einsum(pairing, delta, delta) * np.einsum(perm, Tm)
    return out


def _statistics(stats: Any, inp: np.ndarray, ch: np.ndarray) -> dict[str, np.ndarray]:
    """Last-layer statistics as multi-index tensors (already divided by n): those of the NTK
    from :class:`~fieldnn.kernels.NTKFluctuations` or :class:`~fieldnn.kernels.DNTKStatistics`,
    the dNTK and ddNTK ones ("PQ", "ddI", "ddII") from the latter only."""
    ntk = getattr(stats, "ntk", stats)
    n = ntk.widths[-2]
    dl = (ch[:, None] == ch[None, :]).astype(np.float64)
    two = np.ix_(inp, inp)
    plain, pair = "abcd->abcd", [("abcd->abcd", "ab,cd->abcd")]
    pairs3 = [
        ("abcd->abcd", "ab,cd->abcd"),
        ("acbd->abcd", "ac,bd->abcd"),
        ("adbc->abcd", "ad,bc->abcd"),
    ]
    s = {
        "K": dl * ntk.K[-1][two],
        "K1": dl * ntk.K1[-1][two] / n,
        "Theta": dl * ntk.Theta[-1][two],
        "Theta1": dl * ntk.Theta1[-1][two] / n,
        "covH": _lift(ntk.A[-1], inp, dl, pair) / n + _lift(ntk.B[-1], inp, dl, pairs3[1:]) / n,
        "DF": _lift(ntk.D[-1], inp, dl, pair) / n + _lift(ntk.F[-1], inp, dl, pairs3[1:]) / n,
    }
    if stats is ntk:
        return s
    s["PQ"] = (
        _lift(stats.P[-1], inp, dl, [(plain, "ad,bc->abcd")])
        + _lift(stats.Q[-1], inp, dl, [(plain, "ab,cd->abcd"), ("acbd->abcd", "ac,bd->abcd")])
    ) / n
    s["ddI"] = _lift(stats.R[-1], inp, dl, pairs3) / n
    s["ddII"] = (
        _lift(stats.S[-1], inp, dl, [(plain, "ab,cd->abcd")])
        + _lift(stats.T[-1], inp, dl, [(plain, "ac,bd->abcd")])
        + _lift(stats.U[-1], inp, dl, [(plain, "ad,bc->abcd")])
    ) / n
    return s


def _kernel_terms(theta: np.ndarray, covH: np.ndarray, NA: int, filt: TrainingFilter) -> tuple:
    r"""M_0 (N, NA), the Jacobian ∂M_{ma}/∂H_{cd} (N, NA, N, N) and E M_2[ΔĤ] (N, NA).

    Daleckii–Krein: with :math:`\Theta_{AA} = U\mathrm{diag}(\lambda)U^T`,
    :math:`g'[X] = U(g[\lambda_i,\lambda_j]\circ U^TXU)U^T` and the second-order part of
    :math:`g(\Theta_{AA}+X)` is :math:`U\big(\sum_k g[\lambda_i,\lambda_k,\lambda_j]\tilde X_{ik}
    \tilde X_{kj}\big)U^T`, :math:`\tilde X = U^TXU`.
    """
    N = theta.shape[0]
    lam, U = np.linalg.eigh(theta[:NA, :NA])
    G0 = (U * filt.values(lam)) @ U.T
    g1 = filt.divided(np.stack(np.broadcast_arrays(lam[:, None], lam[None, :]), -1))
    g2 = filt.divided(
        np.stack(
            np.broadcast_arrays(lam[:, None, None], lam[None, :, None], lam[None, None, :]), -1
        )
    )
    thA = theta[:, :NA]
    M0 = thA @ G0
    jac = np.zeros((N, NA, N, N))
    jac[:, :, :, :NA] += np.einsum("mc,da->macd", np.eye(N), G0)
    jac[:, :, :NA, :NA] += np.einsum("mb,bi,ij,ci,dj,aj->macd", thA, U, g1, U, U, U, optimize=True)
    first = np.einsum(
        "bi,ij,ci,dj,aj,mbcd->ma", U, g1, U, U, U, covH[:, :NA, :NA, :NA], optimize=True
    )
    W = np.einsum("ci,dk,ek,fj,cdef->ikj", U, U, U, U, covH[:NA, :NA, :NA, :NA], optimize=True)
    second = U @ np.einsum("ikj,ikj->ij", g2, W) @ U.T
    return M0, jac, first + thA @ second


def _gaussian_points(K: np.ndarray, CY: np.ndarray | None) -> tuple:
    """Degree-5 rule for z_0 ~ N(0, K) (and the replica noise ξ ~ N(0, C_Y)): nodes of z_0,
    of ξ (None without C_Y), the weights, the standard-normal nodes ζ of z_0 = Lζ, and the
    pseudo-inverse map (N, r) that pairs dH_0 with ζ."""

    def root(C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, V = np.linalg.eigh(C)
        keep = w > 1e-12 * max(float(w[-1]), 1e-300)
        return V[:, keep] * np.sqrt(w[keep]), V[:, keep], w[keep]

    Lz, Vz, wz = root(K)
    Lxi = None if CY is None else root(CY)[0]
    r = Lz.shape[1]
    nodes, weights = gauss_rule5(r + (0 if Lxi is None else Lxi.shape[1]))
    xi = None if Lxi is None else nodes[:, r:] @ Lxi.T
    return nodes[:, :r] @ Lz.T, xi, weights, nodes[:, :r], Vz / np.sqrt(wz)


def _check_time(t: Any, learning_rate: Any) -> tuple[float, float | None]:
    t = math.inf if t == math.inf else nonnegative_float(t, "t")
    if learning_rate is None:
        return t, None
    eta = nonnegative_float(learning_rate, "learning_rate", strictly_positive=True)
    if not math.isinf(t):
        steps = t / eta
        if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            raise ArgumentError(
                "t",
                f"must be a whole number of steps of learning_rate = {eta}; "
                f"t / learning_rate = {steps!r}",
            )
        if steps > _MAX_STEPS:
            raise ArgumentError(
                "t",
                f"{round(steps)} gradient-descent steps exceed the limit "
                f"{_MAX_STEPS}; use gradient flow (learning_rate=None)",
            )
    return t, eta


def _check_learning_rate(theta_AA: np.ndarray, eta: float | None, t: float) -> None:
    """Refuse steps for which training at infinite width diverges (η λ_max(Θ_AA) ≥ 2)."""
    if eta is None:
        return
    lam = np.linalg.eigvalsh(theta_AA)
    if eta * lam[-1] >= 2.0:
        raise ArgumentError(
            "learning_rate",
            f"learning_rate · λ_max(Θ_AA) = {eta * lam[-1]:.4g} ≥ 2: gradient descent on the "
            "infinite-width kernel diverges, and the 1/n expansion around it does not describe "
            "training (finite networks may still converge by moving their NTK at O(1), outside "
            f"this theory); use learning_rate < {2.0 / lam[-1]:.4g}",
        )
    if math.isinf(t) and descent_steps_to_converge(theta_AA, eta) > _MAX_STEPS:
        raise ArgumentError(
            "t",
            f"gradient descent at t = inf needs more than {_MAX_STEPS} steps to converge "
            "(small learning_rate · λ_min(Θ_AA)); give a finite t or use gradient flow",
        )


def _multi_index(PA: int, PB: int, d_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Input and channel of each multi-index: training entries (i, α) first, then test."""
    inp = np.concatenate([np.tile(np.arange(PA), d_out), PA + np.tile(np.arange(PB), d_out)])
    ch = np.concatenate([np.repeat(np.arange(d_out), PA), np.repeat(np.arange(d_out), PB)])
    return inp, ch


def training_setup(
    mlp: Any,
    XA: np.ndarray,
    XB: np.ndarray,
    y: np.ndarray,
    *,
    t: float,
    learning_rate: float | None,
    C_Y: Any,
    lambda_W: Any,
    lambda_b: Any,
    kinked: bool = False,
) -> tuple[Any, float, float | None, np.ndarray, np.ndarray | None, np.ndarray, TrainingFilter]:
    """The checks and ingredients every O(1/n) training prediction starts from.

    Returns (net with an NTK, t, η or None, Y (d_out·P_A,) channel-major, the replica
    covariance on that index or None, Θ_AA, the training filter); raises, naming the argument,
    for a bad t / learning_rate, a net without a hidden layer, a C_Y of the wrong shape, a
    singular Θ_AA and η·λmax(Θ_AA) ≥ 2, and, unless ``kinked``, a σ with a kink.
    """
    t, eta = _check_time(t, learning_rate)
    net = _with_ntk(mlp)
    if len(net.widths) < 3:
        raise UnsupportedError(
            "mlp", "needs at least one hidden layer (widths [d_in, n, …, d_out])"
        )
    if not kinked:
        _refuse_kink(net.activation)
    d_out, PA = int(net.widths[-1]), XA.shape[0]
    Y = np.broadcast_to(y, (PA, d_out)).T.reshape(-1)
    CY = None
    if C_Y is not None:
        C = symmetric_psd(C_Y, "C_Y")
        if C.shape != (PA, PA):
            raise ArgumentError("C_Y", f"must have shape {(PA, PA)}, got {C.shape}")
        CY = np.kron(np.eye(d_out), C)
    TAA, _, _ = joint(lambda X: net.ntk(X, lambda_W=lambda_W, lambda_b=lambda_b), XA, XB)
    checked_eigh(TAA, "X_train", 1e-12)
    _check_learning_rate(TAA, eta, t)
    return net, t, eta, Y, CY, TAA, TrainingFilter(t, eta)


def _refuse_kink(act: Any) -> None:
    """A kinked σ is outside the O(1/n) expansion of training (before any statistics)."""
    if has_kink(act):
        raise UnsupportedError(
            "mlp",
            f"{getattr(act, 'name', act)!r} has a kink: in training, units whose preactivation "
            "at a training input reaches the kink cross it one way only, and the ensemble-mean "
            "NTK moves at O(1/√n), outside the O(1/n) expansion this prediction is "
            "(docs/finite_width_training.md, 'Kinked activations in training'); for one "
            "hidden layer, kinked_training_shift gives the O(1/√n) terms; the linearised "
            "networks (their NTK frozen) are linearised=True",
        )


def _warn_separating_units(net: Any, kernels: list[np.ndarray], PA: int) -> None:
    r"""Warns when a kinked σ meets two nearly collinear inputs a, b (b a training input): of the
    n_ℓ units of hidden layer ℓ, N = n_ℓθ_ℓ/π have σ' differing between them (θ_ℓ = arccos ρ_ℓ,
    ρ_ℓ the correlation of their preactivations). The NTK's Gram matrix then has an eigenvalue
    O(θ) carried by those few units, whose count fluctuates like a Poisson number: the 1/n
    expansion of the linearised ensemble is one in 1/N, and its O(1/n) terms leave a remainder
    of relative size ≈ 0.4/N in the covariance where measured (``docs/finite_width_training.md``,
    "Linearised networks"). Exactly collinear pairs (ρ = 1: the same or proportional inputs in
    every network) do not fluctuate and are skipped."""
    if not has_kink(net.activation):
        return
    fewest, where = math.inf, (0, 0, 0)
    for ell, K in enumerate(kernels[:-1], start=1):
        d = np.sqrt(np.diag(K))
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = K[:, :PA] / np.outer(d, d[:PA])
        near = (rho > 0.0) & (rho < 1.0 - 1e-12)
        angle = np.arccos(np.where(near, rho, 0.0))
        units = np.where(near, net.widths[ell] * angle / np.pi, np.inf)
        a, b = np.unravel_index(np.argmin(units), units.shape)
        if units[a, b] < fewest:
            fewest, where = float(units[a, b]), (ell, int(a), int(b))
    if fewest < _SEPARATING_UNITS:
        ell, a, b = where
        first = f"X_train[{a}]" if a < PA else f"X_test[{a - PA}]"
        warnings.warn(
            f"{getattr(net.activation, 'name', 'σ')} with nearly collinear inputs: {first} and "
            f"X_train[{b}] are told apart by N = n·θ/π = {fewest:.2g} units of hidden layer "
            f"{ell} (those whose σ' differs between them), below {_SEPARATING_UNITS:g}: the "
            "O(1/n) terms are then an expansion in 1/N and leave a remainder of relative size "
            "≈ 0.4/N in the covariance (docs/finite_width_training.md, 'Linearised networks')",
            RuntimeWarning,
            stacklevel=3,
        )


def finite_width_prediction(
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
    linearised: bool = False,
) -> FiniteWidthPrediction:
    r"""Mean and covariance at ``X_test`` of the finite-width ensemble trained on the MSE to O(1/n).

    Parameters
    ----------
    mlp : MLP or SingleLayerNet
        The architecture (widths, C_W, C_b, activation) the ensemble is initialised from. σ
        must be smooth: the ddNTK means need σ'''. Kinked σ (relu, leaky relu) are refused: their
        trained ensemble departs from the infinite-width one at O(1/√n) (the mean NTK falls as
        units cross the kink one way), not O(1/n) (``docs/finite_width_training.md``, "Kinked
        activations in training"); with ``linearised=True`` they are allowed.
    X_train : array_like (P, d_in)
    y_train : array_like (P,) or (P, d_out)
        Targets Y (the mean of the data replicas when ``C_Y`` is given).
    X_test : array_like (Q, d_in)
    t : float, default inf
        Training time: gradient flow for t, or ``t / learning_rate`` steps of gradient descent.
    lambda_b, lambda_W : float or sequence of length L
        The learning-rate tensor (as :func:`gradient_flow_prediction` and
        :func:`train_replicas`: λ_W/n_{ℓ−1} per weight).
    C_Y : array_like (P, P), optional
        Covariance of the data replicas :math:`y \sim \mathcal N(Y, C_Y)` (per output).
    learning_rate : float, optional
        η of full-batch gradient descent; None is gradient flow. Must satisfy
        :math:`\eta\lambda_{max}(\Theta_{AA}) < 2` (else the infinite-width dynamics the
        expansion is built on diverges: refused, naming ``learning_rate``).
    linearised : bool, default False
        The ensemble of linearised networks instead, each trained with its initial empirical
        NTK frozen (:func:`train_replicas` with ``linearised=True``):
        :math:`z_{lin}(t) = z_0 - M(\hat H)\varepsilon_0`, whose O(1/n) terms are the
        frozen-kernel ones (Θ^{1}, A, B, D, F of :func:`fieldnn.kernels.ntk_fluctuations`).
        The ``"dntk"`` and ``"ddntk"`` terms and ``ntk_change`` are zero (the NTK does not
        move), and every σ the NTK statistics take is allowed, relu-type included (the gates
        are frozen with the kernel). For relu-type σ a RuntimeWarning names a test or training
        input and a training input that fewer than 10 units of a hidden layer tell apart
        (N = n_ℓθ_ℓ/π, θ_ℓ their angle there): the expansion is then one in 1/N.

    Returns
    -------
    FiniteWidthPrediction
        ``.mean``, ``.cov`` (O(1/n)-corrected), ``.mean_infinite``, ``.cov_infinite`` and the
        corrections of both split by origin (``.mean_terms``, ``.cov_terms``).

    Notes
    -----
    Exact at O(1/n) (module docstring): the trained output is expanded around the
    infinite-width kernel in the NTK fluctuation (to second order), its O(1/n) mean shift, the
    dNTK and the two ddNTKs (to first order), with the one-step updates of RYH sec. 11.1/∞.1
    (gradient descent keeps the η², η³ terms; gradient flow drops them). The expansion needs
    depth/width small (a warning names L/n) and the infinite-width training to converge.

    References
    ----------
    D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 8 (NTK fluctuations), ch. 11
    (dNTK, ddNTKs), ch. ∞ (training at finite width); seed 000, last slides.
    """
    if not isinstance(linearised, (bool, np.bool_)):
        raise ArgumentError("linearised", f"must be True or False, got {linearised!r}")
    XA, XB, y, squeeze = conditioning_data(mlp, X_train, y_train, X_test)
    net, t, eta, Y, CY, _, filt = training_setup(
        mlp, XA, XB, y, t=t, learning_rate=learning_rate, C_Y=C_Y, lambda_W=lambda_W,
        lambda_b=lambda_b, kinked=bool(linearised),
    )  # fmt: skip
    d_out = int(net.widths[-1])
    PA, PB = XA.shape[0], XB.shape[0]

    from ..kernels import dntk_statistics, ntk_fluctuations

    statistics = ntk_fluctuations if linearised else dntk_statistics
    stats = statistics(net, np.concatenate([XA, XB]), lambda_W=lambda_W, lambda_b=lambda_b)
    if linearised:
        _warn_separating_units(net, stats.K, PA)
    inp, ch = _multi_index(PA, PB, d_out)
    s = _statistics(stats, inp, ch)
    NA, N = PA * d_out, (PA + PB) * d_out
    theta = s["Theta"]
    M0, jac, EM2 = _kernel_terms(theta, s["covH"], NA, filt)
    M1 = np.einsum("macd,cd->ma", jac, s["Theta1"])
    B = np.eye(N)
    B[:, :NA] -= M0
    CYf = np.zeros((NA, NA)) if CY is None else CY

    # dNTK / ddNTK-driven change at the Gaussian points
    z0, xi, w, zeta, pinv = _gaussian_points(s["K"], CY)
    if linearised:  # the NTK is frozen: no motion
        z_dntk = z_ddntk = np.zeros((w.size, N))
        h = np.zeros((w.size, N, NA))
    else:
        z_dntk, z_ddntk, h = _motion(s, z0, xi, zeta, pinv, Y, NA, eta, filt)
    change = np.zeros((PA + PB, d_out, PA, d_out))
    change[inp[:, None], ch[:, None], inp[None, :NA], ch[None, :NA]] = np.einsum("q,qma->ma", w, h)
    a0c = z0 @ B.T + (0.0 if xi is None else xi @ M0.T)

    def cross(z1: np.ndarray) -> np.ndarray:
        """Cov(B z_0 + M_0 ξ, z^{(1)}) + transposed."""
        c = np.einsum("q,qb,qg->bg", w, a0c, z1)
        return c + c.T

    # mean
    terms = {"ntk_mean": M1 @ Y, "ntk_variance": EM2 @ Y, "dntk": w @ z_dntk, "ddntk": w @ z_ddntk}
    mean0 = M0 @ Y
    mean = mean0 + sum(terms.values())

    # covariance
    K = s["K"]
    cov0 = B @ K @ B.T + M0 @ CYf @ M0.T
    Cwe = B @ K[:, :NA] - M0 @ CYf
    ii = Cwe @ M1.T
    DF = np.einsum("bm,gaxy,xyma->bg", B, jac, s["DF"][:, :, :, :NA], optimize=True)
    Keps = K[:NA, :NA] + CYf + np.outer(Y, Y)
    iii = np.einsum("baxy,gcXY,xyXY,ac->bg", jac, jac, s["covH"], Keps, optimize=True)
    iv = Cwe @ EM2.T
    cov_terms = {
        "kernel": B @ s["K1"] @ B.T,
        "ntk_mean": -ii - ii.T,
        "ntk_preactivation": -DF - DF.T,
        "ntk_variance": iii - iv - iv.T,
        "dntk": cross(z_dntk),
        "ddntk": cross(z_ddntk),
    }
    cov = cov0 + sum(cov_terms.values())

    def out_mean(v: np.ndarray) -> np.ndarray:
        m = v[NA:].reshape(d_out, PB).T
        return m[:, 0] if squeeze else m

    def out_cov(c: np.ndarray) -> np.ndarray:
        c = 0.5 * (c + c.T)[NA:, NA:].reshape(d_out, PB, d_out, PB)
        return c[0, :, 0, :] if d_out == 1 else c.transpose(1, 0, 3, 2)

    return FiniteWidthPrediction(
        mean=out_mean(mean),
        cov=out_cov(cov),
        mean_infinite=out_mean(mean0),
        cov_infinite=out_cov(cov0),
        mean_terms={k: out_mean(v) for k, v in terms.items()},
        cov_terms={k: out_cov(v) for k, v in cov_terms.items()},
        ntk_change=change[:, 0, :, 0] if d_out == 1 else change,
        width=int(getattr(stats, "ntk", stats).widths[-2]),
        t=t,
        learning_rate=eta,
    )


def _motion(
    s: dict[str, np.ndarray],
    z0: np.ndarray,
    xi: np.ndarray | None,
    zeta: np.ndarray,
    pinv: np.ndarray,
    Y: np.ndarray,
    NA: int,
    eta: float | None,
    filt: TrainingFilter,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z^{(1)} at the Gaussian points of :func:`_gaussian_points`, its dNTK- and ddNTK-driven
    parts, and the accumulated NTK change h (module docstring;
    :mod:`fieldnn.inference._training_dynamics`)."""
    theta, t = s["Theta"], filt.t
    u = z0[:, :NA] - Y - (0.0 if xi is None else xi)
    PQz = np.einsum("abcm,mk->abck", s["PQ"], pinv)  # E[dH_0 ζ_k]
    DD = s["ddI"] + s["ddII"] + s["ddII"].transpose(0, 2, 1, 3)
    E2 = s["ddI"] + s["ddI"].transpose(1, 0, 2, 3) + 2.0 * s["ddII"]
    args = tuple(
        np.einsum("abck,qk->qabc", block, zeta) for block in (PQz[:, :NA, :NA], PQz[:NA, :, :NA])
    )
    dd = (DD[:, :NA, :NA, :NA], DD[:NA, :, :NA, :NA])
    if eta is None:
        z_dntk, z_ddntk = flow_correction(theta, u, *args, *dd, t)
        h = flow_ntk_change(theta, u, *args, *dd, t)
    else:
        steps = filt.steps
        if steps is None:
            steps = descent_steps_to_converge(theta[:NA, :NA], eta)
        extra = (E2[:, :NA, :NA, :NA], s["ddI"][:, :NA, :NA, :NA])
        z_dntk, h_d = descent_trajectory(theta, u, *args, None, None, None, None, eta, steps)
        z_ddntk, h_dd = descent_trajectory(theta, u, None, None, *dd, *extra, eta, steps)
        h = h_d + h_dd
    return z_dntk, z_ddntk, h
