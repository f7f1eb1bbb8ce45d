r"""Trained ensembles of explicit networks: NNPDF-style replica ensembles and the loss identity
:math:`d\mathcal L/dt = -\varepsilon\cdot H\cdot\varepsilon` (seed 000, slides "NNPDF-like
analysis", "training and NTK", "EFT again")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import nonnegative_float, positive_int, symmetric_psd
from ..errors import ArgumentError
from ._flow import gradient_flow_prediction
from ._linalg import train_targets
from ._linearised import linearised_outputs
from ._network import (
    MLPSpec,
    apply_update,
    as_generator,
    check_finite,
    empirical_ntk,
    forward,
    gradient_descent,
    gradients,
    init_parameters,
)

__all__ = ["LossRateCheck", "ReplicaEnsemble", "loss_rate_check", "train_replicas"]


@dataclass(frozen=True)
class ReplicaEnsemble:
    r"""An ensemble of networks, one per Monte Carlo data replica, before and after training.

    Attributes
    ----------
    X_train : ndarray (P, d_in)
    Y : ndarray (P, d_out)
        Central data.
    C_Y : ndarray (P, P)
        Replica covariance (zeros: every network sees Y).
    replicas : ndarray (R, P, d_out)
        :math:`Y^{(k)} \sim \mathcal N(Y, C_Y)`, independently for each output component.
    X_test : ndarray (Q, d_in)
    prior, posterior : ndarray (R, Q, d_out)
        Outputs at X_test at initialisation (the prior) and after training (the posterior).
    prior_train, posterior_train : ndarray (R, P, d_out)
        The same at the training inputs.
    losses : ndarray (steps + 1, R)
        :math:`\tfrac12\sum(z - Y^{(k)})^2` before each step and after the last.
    widths : tuple of int
    steps : int
    learning_rate : float
    lambda_b, lambda_W : ndarray (L,)
    t : float
        Equivalent gradient-flow time η · steps.
    provenance : dict
        ``rng`` seed (if an int was passed), the order of the draws, dtype.
    prior_hidden_kernel, posterior_hidden_kernel : ndarray (R, Q, Q) or None
        With ``train_replicas(..., hidden_kernel=True)``: the last hidden kernel
        :math:`\hat G'_{\delta_1\delta_2} = n^{-1}\sum_j\sigma(z^{(L-1)}_{j\delta_1})
        \sigma(z^{(L-1)}_{j\delta_2})` (n = n_{L−1}; layer ℓ's with ``hidden_layer=ℓ``) of
        each network at X_test, before and after training; None otherwise. With a sequence
        ``hidden_layer=(ℓ_1, …, ℓ_k)``: (R, k, Q, Q), the layers in that order.
    linearised_posterior : ndarray (R, Q, d_out) or None
        With ``train_replicas(..., linearised=True)``: each network's linearisation around its
        initialisation (initial empirical NTK frozen), trained by the same descent on the same
        replica, at X_test — :math:`z(x', 0) - \hat\Theta_0(x', A)\,g(\hat\Theta_{0,AA})
        (z_A(0) - Y^{(k)})`, :math:`g(\lambda) = (1 - (1 - \eta\lambda)^T)/\lambda`
        (Lee et al. arXiv:1902.06720). ``posterior − linearised_posterior`` is a control
        variate whose ensemble mean is the dNTK + ddNTK part of the O(1/n) mean
        (``FiniteWidthPrediction.mean_terms``); None otherwise.
    """

    X_train: np.ndarray
    Y: np.ndarray
    C_Y: np.ndarray
    replicas: np.ndarray
    X_test: np.ndarray
    prior: np.ndarray
    posterior: np.ndarray
    prior_train: np.ndarray
    posterior_train: np.ndarray
    losses: np.ndarray
    widths: tuple[int, ...]
    steps: int
    learning_rate: float
    lambda_b: np.ndarray
    lambda_W: np.ndarray
    t: float
    provenance: dict = field(default_factory=dict)
    prior_hidden_kernel: np.ndarray | None = field(default=None, repr=False)
    posterior_hidden_kernel: np.ndarray | None = field(default=None, repr=False)
    linearised_posterior: np.ndarray | None = field(default=None, repr=False)

    def mean(self, which: str = "posterior") -> np.ndarray:
        """Ensemble mean (Q, d_out) of ``"prior"`` or ``"posterior"`` outputs at X_test."""
        return self._outputs(which).mean(axis=0)

    def cov(self, which: str = "posterior") -> np.ndarray:
        """Ensemble covariance (Q, Q) over networks, averaged over the output components."""
        out = self._outputs(which)
        c = out - out.mean(axis=0)
        return np.einsum("rpi,rqi->pq", c, c) / ((out.shape[0] - 1) * out.shape[2])

    def _outputs(self, which: str) -> np.ndarray:
        if which not in ("prior", "posterior"):
            raise ArgumentError("which", f"must be 'prior' or 'posterior', got {which!r}")
        return self.prior if which == "prior" else self.posterior

    def flow_prediction(self, mlp: Any) -> tuple[np.ndarray, np.ndarray]:
        """:func:`gradient_flow_prediction` for this training (same t, η, λ's and C_Y):
        mean (Q, d_out), covariance (Q, Q)."""
        return gradient_flow_prediction(
            mlp,
            self.X_train,
            self.Y,
            self.X_test,
            t=self.t,
            lambda_b=list(self.lambda_b),
            lambda_W=list(self.lambda_W),
            C_Y=self.C_Y,
            learning_rate=self.learning_rate,
        )

    def flow_zscores(self, mlp: Any) -> tuple[np.ndarray, np.ndarray]:
        r"""z-scores of the trained ensemble against the infinite-width prediction.

        Returns (mean z (Q, d_out), covariance z (Q, Q)): the mean uses the predicted variance
        :math:`\Sigma_{qq}/R`; the covariance (averaged over d_out outputs) the Gaussian
        sampling variance :math:`(\Sigma_{pp}\Sigma_{qq} + \Sigma_{pq}^2)/(d_{out}(R-1))`.
        """
        mean, cov = self.flow_prediction(mlp)
        R, _, d_out = self.posterior.shape
        z_mean = (self.mean() - mean) / np.sqrt(np.diag(cov) / R)[:, None]
        d = np.diag(cov)
        var = (np.outer(d, d) + cov**2) / (d_out * (R - 1))
        return z_mean, (self.cov() - cov) / np.sqrt(var)

    def flow_distance(self, mlp: Any) -> dict[str, float]:
        r"""Distances of the trained ensemble to the infinite-width prediction (width scans).

        Returns a dict with ``mean_distance`` (rms over test points and outputs of
        mean − predicted mean), ``mean_distance_err`` (rms of the standard errors
        :math:`\sqrt{\Sigma_{qq}/R}`, the size of pure noise) and ``cov_distance``
        (:math:`\lVert C_{trained} - C_{flow}\rVert_F / \lVert C_{flow}\rVert_F`).
        """
        mean, cov = self.flow_prediction(mlp)
        R = self.posterior.shape[0]
        return {
            "mean_distance": float(np.sqrt(np.mean((self.mean() - mean) ** 2))),
            "mean_distance_err": float(np.sqrt(np.mean(np.diag(cov) / R))),
            "cov_distance": float(np.linalg.norm(self.cov() - cov) / np.linalg.norm(cov)),
        }


def _replica_draws(
    Y: np.ndarray, C: np.ndarray, n_replicas: int, rng: np.random.Generator
) -> np.ndarray:
    """Y^(k) = Y + C^{1/2} ξ, ξ ~ N(0, 1), per output component (PSD square root by eigh)."""
    w, U = np.linalg.eigh(C)
    root = U * np.sqrt(np.clip(w, 0.0, None))
    xi = rng.standard_normal((n_replicas, *Y.shape))
    return Y[None] + np.einsum("pq,rqi->rpi", root, xi)


def _training_arguments(
    mlp: Any,
    X: Any,
    Y: Any,
    steps: Any,
    learning_rate: Any,
    lambda_b: Any,
    lambda_W: Any,
    *,
    min_steps: int,
) -> tuple[MLPSpec, np.ndarray, np.ndarray, int, float, np.ndarray, np.ndarray]:
    """The checked arguments shared by the training entry points: the architecture, inputs X
    (P, d_in), targets Y (P, 1 or d_out), ``steps``, ``learning_rate`` and the per-layer
    learning-rate factors (λ_b, λ_W)."""
    spec = MLPSpec.of(mlp)
    XA = spec.inputs(X, "X")
    y, _ = train_targets(Y, XA.shape[0], spec.widths[-1], "Y")
    steps = positive_int(steps, "steps", minimum=min_steps)
    learning_rate = nonnegative_float(learning_rate, "learning_rate", strictly_positive=True)
    lb, lw = spec.learning_rates(lambda_b, lambda_W)
    return spec, XA, y, steps, learning_rate, lb, lw


def train_replicas(
    mlp: Any,
    X: Any,
    Y: Any,
    C_Y: Any,
    n_replicas: int,
    *,
    steps: int,
    learning_rate: float,
    rng: Any = 0,
    lambda_b: Any = 1.0,
    lambda_W: Any = 1.0,
    X_test: Any = None,
    hidden_kernel: bool = False,
    linearised: bool = False,
    hidden_layer: int | Sequence[int] | None = None,
) -> ReplicaEnsemble:
    r"""Train one network per Monte Carlo data replicum by full-batch gradient descent.

    Parameters
    ----------
    mlp : MLP
        Architecture and initialisation (widths, C_W, C_b, activation).
    X : array_like (P, d_in)
        Training inputs.
    Y : array_like (P,) or (P, d_out)
        Central values of the data.
    C_Y : array_like (P, P) or None
        Data covariance; replicas :math:`Y^{(k)} \sim \mathcal N(Y, C_Y)` (each output
        component independently). None: no replica noise.
    n_replicas : int
        R, the number of replicas = networks.
    steps : int
        Full-batch gradient-descent steps.
    learning_rate : float
        η; parameters move by :math:`-\eta\lambda_b\,\partial_b\mathcal L` and
        :math:`-\eta(\lambda_W/n_{\ell-1})\,\partial_W\mathcal L` (NTK learning-rate tensor), on
        :math:`\mathcal L = \tfrac12\sum_{\alpha,i}(z_{i\alpha} - Y^{(k)}_{i\alpha})^2`.
        Stability needs :math:`\eta\,\lambda_{max}(\Theta_{AA}) < 2`.
    rng : int or numpy.random.Generator
        Replicas are drawn first, then the parameters (layer by layer: W, then b).
    lambda_b, lambda_W : float or sequence of L floats
    X_test : array_like (Q, d_in), optional
        Where prior and posterior are evaluated (default: X).
    hidden_kernel : bool, default False
        Also record the last hidden kernel :math:`\hat G' = n^{-1}\sigma(z^{(L-1)})
        \sigma(z^{(L-1)})^T` of every network at X_test before and after training
        (``prior_hidden_kernel``, ``posterior_hidden_kernel``; needs a hidden layer).
    linearised : bool, default False
        Also train each network's linearisation around its initialisation (frozen empirical
        NTK, closed form) and record it at X_test (``linearised_posterior``).
    hidden_layer : int or sequence of int, optional
        With ``hidden_kernel=True``: record the kernel :math:`n_\ell^{-1}\sigma(z^{(\ell)})
        \sigma(z^{(\ell)})^T` of hidden layer ℓ = ``hidden_layer`` (1 <= ℓ <= L − 1) instead
        of the last one; a sequence of layers records each of them, from the same networks
        (an axis of length k after the network axis).

    Returns
    -------
    ReplicaEnsemble

    Notes
    -----
    All R networks are trained at once: weights are (R, n_ℓ, n_{ℓ−1}) arrays, the forward pass
    and the hand-written backpropagation are batched matmuls (no loop over networks). At
    infinite width the trained ensemble is Gaussian with the mean and covariance of
    :func:`gradient_flow_prediction` (with ``C_Y`` and ``learning_rate``): the replica noise
    adds :math:`T C_Y T^T`, T the flow operator (see ``docs/inference.md``).

    References
    ----------
    NNPDF methodology (Monte Carlo replicas), e.g. arXiv:2109.02653; seed 000 slide "NNPDF-like
    analysis"; Roberts, Yaida, Hanin, arXiv:2106.10165 ch. 7 (learning-rate tensor).
    """
    spec, XA, y, steps, learning_rate, lb, lw = _training_arguments(
        mlp, X, Y, steps, learning_rate, lambda_b, lambda_W, min_steps=0
    )
    XB = XA if X_test is None else spec.inputs(X_test, "X_test")
    y = np.broadcast_to(y, (XA.shape[0], spec.widths[-1])).copy()
    P = XA.shape[0]
    C = np.zeros((P, P)) if C_Y is None else symmetric_psd(C_Y, "C_Y")
    if C.shape != (P, P):
        raise ArgumentError("C_Y", f"must have shape ({P}, {P}), got {C.shape}")
    n_replicas = positive_int(n_replicas, "n_replicas", minimum=2)
    if hidden_kernel and spec.depth < 2:
        raise ArgumentError("hidden_kernel", "needs a hidden layer (len(widths) >= 3)")
    if hidden_layer is not None:
        if not hidden_kernel:
            raise ArgumentError("hidden_layer", "is used only with hidden_kernel=True")
        hidden_layer = _hidden_layers(hidden_layer, spec.depth)
    gen = as_generator(rng)
    replicas = _replica_draws(y, C, n_replicas, gen)
    params = init_parameters(spec, n_replicas, gen)
    prior = forward(spec, params, XB)[0][-1]
    prior_hidden = _hidden_kernel(spec, params, XB, hidden_layer) if hidden_kernel else None
    prior_train = forward(spec, params, XA)[0][-1]
    if linearised:
        both = np.concatenate([XA, XB])
        ntk0 = empirical_ntk(spec, params, both, lb, lw)[..., :P]
        z_both = np.concatenate([prior_train, prior], axis=1)
    losses = gradient_descent(
        spec,
        params,
        XA,
        replicas,
        steps=steps,
        learning_rate=learning_rate,
        lambda_b=lb,
        lambda_W=lw,
    )
    return ReplicaEnsemble(
        X_train=XA,
        Y=y,
        C_Y=C,
        replicas=replicas,
        X_test=XB,
        prior=prior,
        posterior=forward(spec, params, XB)[0][-1],
        prior_train=prior_train,
        posterior_train=forward(spec, params, XA)[0][-1],
        losses=losses,
        widths=spec.widths,
        steps=steps,
        learning_rate=learning_rate,
        lambda_b=lb,
        lambda_W=lw,
        t=learning_rate * steps,
        provenance={
            "rng": rng if isinstance(rng, int) else None,
            "draw_order": "replicas, then W^(1), b^(1), W^(2), ...",
            "dtype": "float64",
            "activation": spec.activation.name,
            "C_W": spec.C_W.tolist(),
            "C_b": spec.C_b.tolist(),
        },
        prior_hidden_kernel=prior_hidden,
        posterior_hidden_kernel=(
            _hidden_kernel(spec, params, XB, hidden_layer) if hidden_kernel else None
        ),
        linearised_posterior=(
            linearised_outputs(ntk0, z_both, replicas, learning_rate, steps) if linearised else None
        ),
    )


def _hidden_layers(layer: Any, depth: int) -> int | tuple[int, ...]:
    """``hidden_layer`` checked: one layer 1 … depth − 1, or a non-empty sequence of them."""
    if isinstance(layer, Sequence) and not isinstance(layer, str):
        if not layer:
            raise ArgumentError("hidden_layer", "must name at least one layer, got ()")
        return tuple(positive_int(k, "hidden_layer", maximum=depth - 1) for k in layer)
    return positive_int(layer, "hidden_layer", maximum=depth - 1)


def _hidden_kernel(
    spec: MLPSpec, params: Any, X: np.ndarray, layer: int | tuple[int, ...] | None = None
) -> np.ndarray:
    r""":math:`n_\ell^{-1}\sigma(z^{(\ell)})\sigma(z^{(\ell)})^T` per network, (R, Q, Q);
    ℓ = ``layer``, by default the last hidden layer L − 1; a tuple of layers: (R, k, Q, Q)."""
    h = forward(spec, params, X)[1]

    def gram(k: int) -> np.ndarray:
        return np.matmul(h[k], np.swapaxes(h[k], 1, 2)) / spec.widths[k]

    if isinstance(layer, tuple):
        return np.stack([gram(k) for k in layer], axis=1)
    return gram(spec.depth - 1 if layer is None else layer)


@dataclass(frozen=True)
class LossRateCheck:
    r"""Loss decrease per gradient-descent step against the NTK quadratic form.

    Attributes
    ----------
    observed : ndarray (steps, R)
        :math:`(\mathcal L_{k+1} - \mathcal L_k)/\eta`, from the actual parameter updates.
    predicted : ndarray (steps, R)
        :math:`-\varepsilon_k\cdot H_k\cdot\varepsilon_k` with the empirical NTK of step k.
    losses : ndarray (steps + 1, R)
    learning_rate : float
    """

    observed: np.ndarray
    predicted: np.ndarray
    losses: np.ndarray
    learning_rate: float

    @property
    def relative_error(self) -> np.ndarray:
        """``|observed − predicted|`` / ``|predicted|`` per step and network; O(η)."""
        return np.abs(self.observed - self.predicted) / np.abs(self.predicted)


def loss_rate_check(
    mlp: Any,
    X: Any,
    Y: Any,
    *,
    steps: int,
    learning_rate: float,
    n_nets: int = 1,
    rng: Any = 0,
    lambda_b: Any = 1.0,
    lambda_W: Any = 1.0,
) -> LossRateCheck:
    r"""Verify :math:`d\mathcal L/dt = -\varepsilon\cdot H\cdot\varepsilon` on finite networks.

    Trains ``n_nets`` networks of the architecture ``mlp`` by full-batch gradient descent and
    records, per step k, the loss change :math:`(\mathcal L_{k+1}-\mathcal L_k)/\eta` and
    :math:`-\varepsilon_k^T H_k\varepsilon_k`, with :math:`H_k` the empirical NTK of the
    current parameters (per-example Jacobians, as in :func:`empirical_ntk`). The two
    agree up to O(η): :math:`\Delta\mathcal L = -\eta\,\varepsilon H\varepsilon +
    O(\eta^2)`.

    Parameters
    ----------
    mlp : MLP
    X : array_like (P, d_in)
    Y : array_like (P,) or (P, d_out)
    steps, learning_rate, rng, lambda_b, lambda_W
        As in :func:`train_replicas`.
    n_nets : int
        Networks trained at once (vectorised).

    References
    ----------
    Seed 000 slide "EFT again" (:math:`d\mathcal L_A/dt = -\varepsilon H\varepsilon`);
    Roberts, Yaida, Hanin, arXiv:2106.10165 ch. 7.
    """
    spec, XA, y, steps, learning_rate, lb, lw = _training_arguments(
        mlp, X, Y, steps, learning_rate, lambda_b, lambda_W, min_steps=1
    )
    n_nets = positive_int(n_nets, "n_nets")
    params = init_parameters(spec, n_nets, as_generator(rng))
    losses = np.empty((steps + 1, n_nets))
    predicted = np.empty((steps, n_nets))
    for k in range(steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            gW, gb, eps = gradients(spec, params, XA, y)
            losses[k] = 0.5 * np.einsum("rpi,rpi->r", eps, eps)
        check_finite(losses[k], learning_rate)
        if k == steps:
            break
        H = empirical_ntk(spec, params, XA, lb, lw)  # (R, d_out, P, d_out, P)
        e = np.swapaxes(eps, 1, 2)  # (R, d_out, P)
        predicted[k] = -np.einsum("rip,ripjq,rjq->r", e, H, e)
        apply_update(spec, params, gW, gb, learning_rate, lb, lw)
    observed = np.diff(losses, axis=0) / learning_rate
    return LossRateCheck(observed, predicted, losses, learning_rate)
