r"""Training at finite width: trained replica ensembles against the O(1/n) prediction of
:func:`fieldnn.finite_width_prediction` (private; public names in :mod:`fieldnn.experiments.eft`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import nonnegative_float, positive_int
from ..ensembles import MLP
from ..errors import ArgumentError
from ..inference import finite_width_prediction, hidden_kernel_change, train_replicas
from ..inference._flow import flow_operator
from ._nnqft_common import _partial_on_failure

__all__ = ["FiniteWidthTraining", "finite_width_training"]

_MEAN_TERMS = ("ntk_mean", "ntk_variance", "dntk", "ddntk")
_COV_TERMS = ("kernel", "ntk_mean", "ntk_preactivation", "ntk_variance", "dntk", "ddntk")
_NTK_TERMS = ("ntk_mean", "ntk_preactivation", "ntk_variance")  # Var z_lin − Var(B z_0)


@dataclass(frozen=True)
class _TrainedEnsembles:
    r"""What every trained-ensemble experiment holds: the problem, the widths, and the measured
    mean of the trained outputs at the test inputs against the n → ∞ mean (subclassed by
    :class:`FiniteWidthTraining` and :class:`~fieldnn.experiments.eft.KinkedTraining`, whose
    docstrings list every attribute)."""

    activation: str
    C_b: float
    C_W: float
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    learning_rate: float
    steps: int
    t: float
    widths: np.ndarray
    n_replicas: int
    measured_mean: np.ndarray
    mean_stderr: np.ndarray
    infinite_mean: np.ndarray

    @property
    def z_infinite(self) -> np.ndarray:
        """(w, Q) pulls of the measured mean against the n → ∞ mean."""
        return (self.measured_mean - self.infinite_mean) / self.mean_stderr


@dataclass(frozen=True)
class FiniteWidthTraining(_TrainedEnsembles):
    r"""Replica ensembles trained by gradient descent at several widths against the n → ∞ and
    the O(1/n) predictions of their mean and variance at the test inputs.

    Attributes
    ----------
    activation : str
    C_b, C_W, lambda_b, lambda_W : float
    depth : int
        Number of layers L (widths [1, n, …, n, 1], L − 1 hidden layers of width n).
    X_train : ndarray (P, 1)
    y_train : ndarray (P,)
    X_test : ndarray (Q, 1)
    learning_rate : float
        η of full-batch gradient descent.
    steps : int
    t : float
        η · steps.
    widths : ndarray (w,) of int
    n_replicas : int
        Networks trained per width (no replica noise: every network sees ``y_train``).
    measured_mean, mean_stderr : ndarray (w, Q)
        Ensemble mean of the trained outputs and its standard error √(s²/R).
    measured_var, var_stderr : ndarray (w, Q)
        Ensemble variance s² (ddof = 1) and its standard error √((m₄ − s⁴)/R), m₄ the fourth
        central moment of the sample.
    predicted_mean, predicted_var : ndarray (w, Q)
        ``.mean`` and the diagonal of ``.cov`` of :func:`fieldnn.finite_width_prediction`
        (O(1/n)-corrected).
    infinite_mean, infinite_var : ndarray (Q,)
        Their n → ∞ values (``.mean_infinite``, ``diag(.cov_infinite)``; the same at every width).
    mean_terms : dict of str to ndarray (w, Q)
        The O(1/n) mean correction split by origin (``.mean_terms``): ``"ntk_mean"``,
        ``"ntk_variance"``, ``"dntk"``, ``"ddntk"``.
    layer_change, layer_change_stderr : ndarray (w, L − 1, Q, Q)
        Mean over the networks of the paired change Ĝ^(ℓ)(t) − Ĝ^(ℓ)(0) of every hidden
        layer's kernel :math:`\hat G^{(\ell)}_{\delta_1\delta_2} = n^{-1}\sum_j
        \sigma(z^{(\ell)}_{j\delta_1})\sigma(z^{(\ell)}_{j\delta_2})` at the test inputs
        (axis 1: ℓ = 1 … L − 1), and its standard error.
    layer_predicted : ndarray (w, L − 1, Q, Q)
        ``.change`` of :func:`fieldnn.hidden_kernel_change` with ``layer=ℓ`` (O(1/n)).
    hidden_change, hidden_change_stderr, hidden_predicted : ndarray (w, Q, Q)
        The same of the last hidden layer, Ĝ′ = Ĝ^(L−1) (properties).
    hidden_var, hidden_var_stderr : ndarray (w, Q)
        Variance s² (ddof = 1) over the trained networks of the diagonal
        :math:`\hat G'_{\delta\delta}(t)` and its standard error.
    hidden_var_predicted : ndarray (w, Q)
        Its O(1/n) prediction, the diagonal of ``.cov`` of :func:`fieldnn.hidden_kernel_change`:
        :math:`V^{(L)}_{(\delta\delta)(\delta\delta)}/n` at :math:`C_W^{(L)} = 1`, the
        variance at initialisation.
    hidden_var_shift, hidden_var_shift_stderr : ndarray (w, Q)
        s²(Ĝ′_δδ(t)) − s²(Ĝ′_δδ(0)), paired over the same networks, and its standard error:
        the change of the variance during training, O(1/n²).
    training_shift, training_shift_stderr : ndarray (w, Q)
        Mean over the networks of z(T) minus each network's linearisation trained by the same
        descent (``ReplicaEnsemble.linearised_posterior``), and its standard error: a control
        variate that keeps, at O(1/n), only the dNTK and ddNTK terms of the mean
        (``mean_terms["dntk"] + mean_terms["ddntk"]``) and drops the O(1) output noise.
    linearised_mean, linearised_stderr : ndarray (w, Q)
        Mean of the linearised networks' outputs (``measured_mean − training_shift``) and its
        standard error: the frozen-kernel part, whose O(1/n) prediction is the n → ∞ mean plus
        ``mean_terms["ntk_mean"] + mean_terms["ntk_variance"]``.
    var_terms : dict of str to ndarray (w, Q)
        The diagonal of ``.cov_terms``: the O(1/n) variance correction split by origin,
        ``"kernel"``, ``"ntk_mean"``, ``"ntk_preactivation"``, ``"ntk_variance"``, ``"dntk"``,
        ``"ddntk"``.
    frozen_var_shift, frozen_var_stderr : ndarray (w, Q)
        s²(z_lin) − s²(B z_0), paired over the same networks, and its standard error (per-network
        influence function): the linearised networks' variance minus that of the n → ∞ map
        :math:`B z_0 = z_0 - \Theta_{\cdot A}g(\Theta_{AA})z_{0,A}` of their own initial
        outputs. Its O(1/n) prediction is the ``"ntk_mean"``, ``"ntk_preactivation"`` and
        ``"ntk_variance"`` terms (the ``"kernel"`` term is in E s²(B z_0), measured only with
        the O(1) noise of a sample variance).
    training_var_shift, training_var_stderr : ndarray (w, Q)
        s²(z) − s²(z_lin), paired, and its standard error: the ``"dntk"`` + ``"ddntk"`` terms.

    Notes
    -----
    Pulls use the measured standard errors: (measured − theory)/stderr; ``z_infinite`` and
    ``z_finite`` below are those of the mean, ``z_linearised`` and ``z_training`` those of its
    frozen-kernel and training parts.
    """

    lambda_b: float
    lambda_W: float
    depth: int
    measured_var: np.ndarray
    var_stderr: np.ndarray
    predicted_mean: np.ndarray
    predicted_var: np.ndarray
    infinite_var: np.ndarray
    mean_terms: dict[str, np.ndarray]
    layer_change: np.ndarray
    layer_change_stderr: np.ndarray
    layer_predicted: np.ndarray
    hidden_var: np.ndarray
    hidden_var_stderr: np.ndarray
    hidden_var_predicted: np.ndarray
    hidden_var_shift: np.ndarray
    hidden_var_shift_stderr: np.ndarray
    training_shift: np.ndarray
    training_shift_stderr: np.ndarray
    linearised_mean: np.ndarray
    linearised_stderr: np.ndarray
    var_terms: dict[str, np.ndarray]
    frozen_var_shift: np.ndarray
    frozen_var_stderr: np.ndarray
    training_var_shift: np.ndarray
    training_var_stderr: np.ndarray

    @property
    def hidden_change(self) -> np.ndarray:
        """(w, Q, Q) the paired change of the last hidden kernel Ĝ′."""
        return self.layer_change[:, -1]

    @property
    def hidden_change_stderr(self) -> np.ndarray:
        """(w, Q, Q) its standard error."""
        return self.layer_change_stderr[:, -1]

    @property
    def hidden_predicted(self) -> np.ndarray:
        """(w, Q, Q) its O(1/n) prediction."""
        return self.layer_predicted[:, -1]

    @property
    def z_finite(self) -> np.ndarray:
        """(w, Q) pulls of the measured mean against the O(1/n) mean."""
        return (self.measured_mean - self.predicted_mean) / self.mean_stderr

    @property
    def training_predicted(self) -> np.ndarray:
        """(w, Q) the dNTK + ddNTK terms of the O(1/n) mean: the prediction of
        ``training_shift``."""
        return self.mean_terms["dntk"] + self.mean_terms["ddntk"]

    @property
    def linearised_predicted(self) -> np.ndarray:
        """(w, Q) the n → ∞ mean plus the NTK mean-shift and NTK-fluctuation terms of the
        O(1/n) mean: the prediction of ``linearised_mean``."""
        terms = self.mean_terms["ntk_mean"] + self.mean_terms["ntk_variance"]
        return self.infinite_mean + terms

    @property
    def z_linearised(self) -> np.ndarray:
        """(w, Q) pulls of ``linearised_mean`` against ``linearised_predicted``."""
        return (self.linearised_mean - self.linearised_predicted) / self.linearised_stderr

    def mean_part(self, part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(measured, stderr, predicted), each (w, Q), of one part of the trained mean:
        ``"total"`` (the mean), ``"frozen"`` (the linearised networks' mean), both measured
        from the n → ∞ mean, or ``"training"`` (the mean of z − z_lin, which has no n → ∞
        part)."""
        m_inf = self.infinite_mean
        parts = {
            "total": (self.measured_mean - m_inf, self.mean_stderr, self.predicted_mean - m_inf),
            "frozen": (self.linearised_mean - m_inf, self.linearised_stderr,
                       self.linearised_predicted - m_inf),
            "training": (self.training_shift, self.training_shift_stderr,
                         self.training_predicted),
        }  # fmt: skip
        if part not in parts:
            raise ArgumentError("part", f"must be one of {sorted(parts)}, got {part!r}")
        return parts[part]

    def var_part(self, part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(measured, stderr, predicted), each (w, Q), of one part of the variance's shift from
        its n → ∞ value: ``"total"`` (s²(z) − Σ∞), ``"frozen"`` (``frozen_var_shift``, the
        NTK's terms) or ``"training"`` (``training_var_shift``, the dNTK and ddNTK terms)."""
        terms = self.var_terms
        parts = {
            "total": (self.measured_var - self.infinite_var, self.var_stderr,
                      self.predicted_var - self.infinite_var),
            "frozen": (self.frozen_var_shift, self.frozen_var_stderr,
                       sum(terms[k] for k in _NTK_TERMS)),
            "training": (self.training_var_shift, self.training_var_stderr,
                         terms["dntk"] + terms["ddntk"]),
        }  # fmt: skip
        if part not in parts:
            raise ArgumentError("part", f"must be one of {sorted(parts)}, got {part!r}")
        return parts[part]

    @property
    def z_training(self) -> np.ndarray:
        """(w, Q) pulls of ``training_shift`` against ``training_predicted``."""
        return (self.training_shift - self.training_predicted) / self.training_shift_stderr


def _moments(outputs: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean, its stderr, variance (ddof 1) and its stderr of ``outputs`` (R, …), per entry."""
    R = outputs.shape[0]
    mean = outputs.mean(axis=0)
    c = outputs - mean
    var = (c**2).sum(axis=0) / (R - 1)
    m4 = (c**4).mean(axis=0)
    return mean, np.sqrt(var / R), var, np.sqrt(np.maximum(m4 - var**2, 0.0) / R)


def _paired_var(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s²(u) − s²(v) (ddof 1) over paired samples (R, Q) and its standard error std(φ)/√R,
    φ_r = (u_r − ū)² − (v_r − v̄)² the per-sample influence: the O(1) noise common to u and v
    cancels."""
    a, b = u - u.mean(axis=0), v - v.mean(axis=0)
    phi = a**2 - b**2
    return phi.sum(axis=0) / (u.shape[0] - 1), phi.std(axis=0, ddof=1) / np.sqrt(u.shape[0])


def finite_width_training(
    activation: str = "erf",
    *,
    C_b: float = 0.1,
    C_W: float = 1.0,
    depth: int = 3,
    widths: tuple[int, ...] | None = None,
    n_replicas: int | None = None,
    steps: int = 100,
    learning_rate: float = 0.05,
    chunk_size: int = 2000,
    rng: int = 0,
    quick: bool = False,
) -> FiniteWidthTraining:
    r"""Trained replica ensembles at several widths against :func:`fieldnn.finite_width_prediction`.

    The toy problem y = sin(2x) at 4 points of [−1.5, 1.5], tested at x = −1, 0.25, 1; every
    network is trained on the same targets (no replica noise) with learning rates λ_b = λ_W = 1.
    The same networks also give the paired change of every hidden layer's kernel, held against
    :func:`fieldnn.hidden_kernel_change`.

    Parameters
    ----------
    activation : str
        A smooth activation (the dNTK needs σ''; ReLU is refused by the prediction).
    C_b, C_W : float
        Initialisation.
    depth : int
        Number of layers L ≥ 2.
    widths : tuple of int, optional
        Hidden widths n (default 16, 32, 64, 128; quick 16, 64).
    n_replicas : int, optional
        Networks per width (default 8000; quick 2000).
    steps : int
        Full-batch gradient-descent steps.
    learning_rate : float
        η (t = η · steps).
    chunk_size : int
        Networks trained at once: chunks of ``chunk_size`` to 2 · ``chunk_size`` − 1
        (memory grows like chunk_size · n² per layer).
    rng : int
        Seed; width i, chunk j train with ``SeedSequence(rng).spawn`` child i·J + j.
    quick : bool

    Returns
    -------
    FiniteWidthTraining
        If a width fails or is interrupted, the exception carries ``partial_result``: a dict with
        the predictions and the moments of the widths finished before it.

    Notes
    -----
    The trained ensemble's mean is :math:`m_\infty + m^{\{1\}}/n + O(1/n^2)`, so
    :math:`n\,(m_{\rm measured} - m_\infty) \to m^{\{1\}}` as n → ∞; the prediction gives
    :math:`m^{\{1\}}` (and the same for the covariance). The predictions of every width are
    computed (and the arguments checked by them) before any network is trained.

    References
    ----------
    D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. ∞ (training at finite width);
    ``docs/finite_width_training.md``.
    """
    if widths is None:
        widths = (16, 64) if quick else (16, 32, 64, 128)
    widths = tuple(positive_int(n, "widths") for n in widths)
    n_replicas = positive_int(
        n_replicas if n_replicas is not None else (2000 if quick else 8000),
        "n_replicas",
        minimum=2,
    )
    depth = positive_int(depth, "depth", minimum=2)
    steps = positive_int(steps, "steps")
    eta = nonnegative_float(learning_rate, "learning_rate", strictly_positive=True)
    chunk_size = positive_int(chunk_size, "chunk_size", minimum=2)
    rng = positive_int(rng, "rng", minimum=0)
    C_b, C_W = float(C_b), float(C_W)
    X = np.linspace(-1.5, 1.5, 4)[:, None]
    y = np.sin(2 * X[:, 0])
    X_test = np.array([[-1.0], [0.25], [1.0]])

    def mlp(n: int) -> MLP:
        return MLP(activation, [1, *([n] * (depth - 1)), 1], C_W=C_W, C_b=C_b)

    # every prediction first: cheap, and it refuses a bad activation or learning rate
    preds = [
        finite_width_prediction(mlp(n), X, y, X_test, t=eta * steps, learning_rate=eta)
        for n in widths
    ]
    layers = tuple(range(1, depth))
    hidden = [
        [
            hidden_kernel_change(mlp(n), X, y, X_test, t=eta * steps, learning_rate=eta, layer=k)
            for k in layers
        ]
        for n in widths
    ]
    # M_0 = Θ_{BA} g(Θ_AA) (n-independent): the n → ∞ trained output is B z_0 + M_0 y
    theta = mlp(widths[0]).ntk(np.concatenate([X, X_test]))
    P = len(X)
    m0_test = theta[P:, :P] @ flow_operator(theta[:P, :P], eta * steps, eta)
    # chunks of chunk_size … 2·chunk_size − 1 networks (each at least 2)
    sizes = [
        len(c) for c in np.array_split(np.arange(n_replicas), max(1, n_replicas // chunk_size))
    ]
    seeds = np.random.SeedSequence(rng).spawn(len(widths) * len(sizes))
    moments: list[tuple[np.ndarray, ...]] = []
    changes: list[tuple[np.ndarray, np.ndarray]] = []
    hidden_vars: list[tuple[np.ndarray, ...]] = []
    shifts: list[tuple[np.ndarray, ...]] = []
    var_shifts: list[tuple[np.ndarray, ...]] = []

    def done() -> dict:
        return {"widths": widths[: len(moments)], "moments": list(moments), "predictions": preds}

    with _partial_on_failure("finite_width_training", done):
        for i, n in enumerate(widths):
            ensembles = [
                train_replicas(
                    mlp(n),
                    X,
                    y,
                    None,
                    size,
                    steps=steps,
                    learning_rate=eta,
                    rng=np.random.default_rng(seeds[i * len(sizes) + j]),
                    X_test=X_test,
                    hidden_kernel=True,
                    hidden_layer=layers,
                    linearised=True,
                )
                for j, size in enumerate(sizes)
            ]
            moments.append(_moments(np.concatenate([e.posterior[:, :, 0] for e in ensembles])))
            delta = np.concatenate(
                [e.posterior_hidden_kernel - e.prior_hidden_kernel for e in ensembles]
            )
            err = delta.std(axis=0, ddof=1) / np.sqrt(delta.shape[0])
            changes.append((delta.mean(axis=0), err))
            g_t, g_0 = (
                np.concatenate(
                    [np.diagonal(getattr(e, k)[:, -1], axis1=1, axis2=2) for e in ensembles]
                )
                for k in ("posterior_hidden_kernel", "prior_hidden_kernel")
            )
            hidden_vars.append((*_moments(g_t)[2:], *_paired_var(g_t, g_0)))
            lin, z, z0, z0A = (
                np.concatenate([getattr(e, k)[:, :, 0] for e in ensembles])
                for k in ("linearised_posterior", "posterior", "prior", "prior_train")
            )
            shifts.append((*_moments(z - lin)[:2], *_moments(lin)[:2]))
            z_inf = z0 - z0A @ m0_test.T  # the n → ∞ map of each network's own outputs
            var_shifts.append((*_paired_var(lin, z_inf), *_paired_var(z, lin)))
    m, m_err, v, v_err = (np.array([mo[k] for mo in moments]) for k in range(4))
    return FiniteWidthTraining(
        activation=activation,
        C_b=C_b,
        C_W=C_W,
        lambda_b=1.0,
        lambda_W=1.0,
        depth=depth,
        X_train=X,
        y_train=y,
        X_test=X_test,
        learning_rate=eta,
        steps=steps,
        t=eta * steps,
        widths=np.array(widths),
        n_replicas=n_replicas,
        measured_mean=m,
        mean_stderr=m_err,
        measured_var=v,
        var_stderr=v_err,
        predicted_mean=np.array([np.asarray(p.mean).reshape(-1) for p in preds]),
        predicted_var=np.array([np.diag(p.cov) for p in preds]),
        infinite_mean=np.asarray(preds[0].mean_infinite).reshape(-1),
        infinite_var=np.diag(preds[0].cov_infinite).copy(),
        mean_terms={
            k: np.array([np.asarray(p.mean_terms[k]).reshape(-1) for p in preds])
            for k in _MEAN_TERMS
        },
        layer_change=np.array([c[0] for c in changes]),
        layer_change_stderr=np.array([c[1] for c in changes]),
        layer_predicted=np.array([[h.change for h in per_layer] for per_layer in hidden]),
        hidden_var=np.array([h[0] for h in hidden_vars]),
        hidden_var_stderr=np.array([h[1] for h in hidden_vars]),
        hidden_var_predicted=np.array([np.einsum("aaaa->a", h[-1].cov) for h in hidden]),
        hidden_var_shift=np.array([h[2] for h in hidden_vars]),
        hidden_var_shift_stderr=np.array([h[3] for h in hidden_vars]),
        training_shift=np.array([s[0] for s in shifts]),
        training_shift_stderr=np.array([s[1] for s in shifts]),
        linearised_mean=np.array([s[2] for s in shifts]),
        linearised_stderr=np.array([s[3] for s in shifts]),
        var_terms={
            k: np.array([np.diag(np.asarray(p.cov_terms[k])) for p in preds]) for k in _COV_TERMS
        },
        frozen_var_shift=np.array([s[0] for s in var_shifts]),
        frozen_var_stderr=np.array([s[1] for s in var_shifts]),
        training_var_shift=np.array([s[2] for s in var_shifts]),
        training_var_stderr=np.array([s[3] for s in var_shifts]),
    )
