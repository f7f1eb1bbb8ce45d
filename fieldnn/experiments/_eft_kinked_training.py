r"""A relu net trained at finite width: sampled ensembles against the O(1/√n) kink term of
:func:`fieldnn.kinked_training_shift` (private; public names in :mod:`fieldnn.experiments.eft`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .._validate import nonnegative_float, positive_int
from ..ensembles import MLP
from ..errors import ArgumentError
from ..inference import finite_width_prediction, kinked_ntk_change, kinked_training_shift
from ._eft_training import _moments, _TrainedEnsembles
from ._nnqft_common import _partial_on_failure
from ._paired_training import frozen_shift, paired, residual_scatter, richardson

__all__ = ["KinkedTraining", "kinked_training"]


@dataclass(frozen=True)
class KinkedTraining(_TrainedEnsembles):
    r"""Relu-type networks [1, n, 1] (or [1, n, …, n, 1]) trained by gradient descent at several
    widths against the n → ∞ prediction and its O(1/√n) kink term.

    Attributes
    ----------
    activation : str
    C_b, C_W : float
    hidden_layers : int
        Number of hidden layers, each of width n.
    X_train : ndarray (P, 1)
    y_train : ndarray (P,)
    X_test : ndarray (Q, 1)
    learning_rate : float
        η of full-batch gradient descent (λ_b = λ_W = 1).
    steps : int
    t : float
        η · steps.
    widths : ndarray (w,) of int
    n_replicas : int
        Networks trained per width (every one on ``y_train``, no replica noise).
    infinite_mean : ndarray (Q,)
        ``.mean_infinite`` of :func:`fieldnn.kinked_training_shift` (n → ∞, the same at every
        width).
    coefficient, coefficient_stderr : ndarray (Q,)
        √n · ``.mean_shift`` (independent of n) and √n times its Monte Carlo standard error.
    ntk_coefficient, ntk_coefficient_stderr : ndarray (P, P)
        √n · ``.ntk_change`` at the training inputs, Θ(x_α, x_β, t) − Θ(x_α, x_β, 0), and its
        Monte Carlo standard error.
    measured_mean, mean_stderr : ndarray (w, Q)
        Mean of the trained outputs over the networks and its standard error.
    paired_shift, paired_stderr : ndarray (w, Q)
        Mean over the networks of z(x′, T) minus the network's own frozen-kernel solution
        (:func:`fieldnn.experiments._paired_training.frozen_shift`) and its standard error: the
        kink term plus O(1/n), without the O(1/√n) sampling noise of z itself.
    ntk_change, ntk_change_stderr : ndarray (w, P, P)
        Mean over the networks of the paired change Θ̂(T) − Θ̂(0) at the training inputs.
    extrapolated, extrapolated_stderr : ndarray (Q,)
        a of paired_shift = a/√n + b/n fitted exactly at the two widest widths, and its error.
    ntk_extrapolated, ntk_extrapolated_stderr : ndarray (P, P)
        The same for ``ntk_change``.
    scatter, scatter_stderr : ndarray (w, Q) or None
        n^{3/2} times the variance of ``paired_shift``'s per-network values at a fixed initial
        residual ε₀ (:func:`~fieldnn.experiments._paired_training.residual_scatter`: the mean
        square residual after least squares on 1, ε₀, ε₀², :math:`|\varepsilon_0|\varepsilon_0`
        and on the same times the network's Θ̂₀(x, x)) and its standard error; None with two
        training inputs (one hidden layer), for which no prediction is derived.
    scatter_predicted : ndarray (Q,) or None
        Σ_ℓ ``KinkedNTKChange.scatter``: n^{3/2} E Var(z(x′, t) | ε₀) of the units that reach or
        cross a kink (gradient flow at t = η·steps).
    scatter_extrapolated, scatter_extrapolated_stderr : ndarray (Q,) or None
        s of ``scatter`` = s + c/√n at the two widest widths (the O(n^{−1/2}) relative
        correction removed) and its standard error.
    frozen_mean, frozen_stderr : ndarray (w, Q)
        Mean over the same networks of their frozen-kernel solution z_lin (each network's
        linearisation trained by the same descent) and its standard error.
    frozen_predicted : ndarray (w, Q)
        ``.mean`` of :func:`fieldnn.finite_width_prediction` with ``linearised=True`` at each
        width: E z_lin to O(1/n) (the NTK's O(1/n) mean shift and its fluctuations; no kink
        term, the gates being frozen).
    window : ndarray (w, Q)
        The window ratio q of each test input at each width, largest over hidden layers and
        training inputs: the fraction of the units crossing a training input's kink that also
        cross the kink at x′, which the O(1/√n) theory leaves out
        (:mod:`fieldnn.inference._kink_window`; ∝ 1/√n; kinked_training_shift warns above 0.1).
    """

    coefficient: np.ndarray
    coefficient_stderr: np.ndarray
    ntk_coefficient: np.ndarray
    ntk_coefficient_stderr: np.ndarray
    paired_shift: np.ndarray
    paired_stderr: np.ndarray
    ntk_change: np.ndarray
    ntk_change_stderr: np.ndarray
    extrapolated: np.ndarray
    extrapolated_stderr: np.ndarray
    ntk_extrapolated: np.ndarray
    ntk_extrapolated_stderr: np.ndarray
    frozen_mean: np.ndarray
    frozen_stderr: np.ndarray
    frozen_predicted: np.ndarray
    scatter: np.ndarray | None = None
    scatter_stderr: np.ndarray | None = None
    scatter_predicted: np.ndarray | None = None
    scatter_extrapolated: np.ndarray | None = None
    scatter_extrapolated_stderr: np.ndarray | None = None
    window: np.ndarray | None = None
    hidden_layers: int = 1

    @property
    def architecture(self) -> str:
        """The widths as text, "[1, n, 1]" or "[1, n, n, 1]", …"""
        return "[" + ", ".join(["1", *["n"] * self.hidden_layers, "1"]) + "]"

    @property
    def z_kinked(self) -> np.ndarray:
        """(w, Q) pulls of the measured mean against the n → ∞ mean plus the kink term."""
        root = np.sqrt(self.widths.astype(float))[:, None]
        return (self.measured_mean - self.infinite_mean - self.coefficient / root) / (
            self.mean_stderr
        )

    @property
    def z_frozen(self) -> np.ndarray:
        """(w, Q) pulls of the measured frozen-kernel mean against its O(1/n) prediction."""
        return (self.frozen_mean - self.frozen_predicted) / self.frozen_stderr

    @property
    def z_complete(self) -> np.ndarray:
        """(w, Q) pulls of the measured mean against every term fieldnn computes: the
        linearised networks' mean to O(1/n) plus the kink term a/√n (missing: the O(1/n) part
        of the NTK's motion)."""
        root = np.sqrt(self.widths.astype(float))[:, None]
        return (self.measured_mean - self.frozen_predicted - self.coefficient / root) / (
            self.mean_stderr
        )

    @property
    def z_extrapolated(self) -> np.ndarray:
        """(Q,) pulls of the extrapolated 1/√n coefficient against the predicted one (both
        errors)."""
        err = np.hypot(self.extrapolated_stderr, self.coefficient_stderr)
        return (self.extrapolated - self.coefficient) / err

    @property
    def z_scatter(self) -> np.ndarray | None:
        """(Q,) pulls of the extrapolated scatter against the prediction, or None."""
        if self.scatter_extrapolated is None:
            return None
        return (self.scatter_extrapolated - self.scatter_predicted) / (
            self.scatter_extrapolated_stderr
        )

    @property
    def z_ntk_extrapolated(self) -> np.ndarray:
        """(P, P) the same for the NTK change at the training inputs."""
        err = np.hypot(self.ntk_extrapolated_stderr, self.ntk_coefficient_stderr)
        return (self.ntk_extrapolated - self.ntk_coefficient) / err


def kinked_training(
    activation: str = "relu",
    *,
    C_b: float = 0.1,
    C_W: float = 2.0,
    hidden_layers: int = 1,
    widths: tuple[int, ...] | None = None,
    n_replicas: int = 20_000,
    steps: int = 30,
    learning_rate: float = 0.02,
    chunk_size: int | None = None,
    rng: int = 0,
    quick: bool = False,
) -> KinkedTraining:
    r"""Sampled relu-type networks [1, n, 1] trained on two points, or deeper ones on one point,
    against :func:`fieldnn.kinked_training_shift`.

    One hidden layer: training inputs x = 1, −0.5 with targets 2, −1; test inputs
    x′ = 0.25, 2, −1.5 (the first two have preactivations nearly proportional to those at x = 1:
    correlation 0.87 and 0.995, where the 1/n remainder is largest). Deeper nets (one training
    input, where the theory is in closed form and predicts the scatter too): x = 1 with target
    2; test inputs x′ = −1.5, −1, 0, away from proportionality to x, where the 1/n remainder at
    the widths a deep ensemble affords (n ≤ 256) is small. Every network is measured before and
    after training: its output, and its empirical NTK at the training inputs.

    Parameters
    ----------
    activation : str
        A relu-type activation (relu, leaky relu); a smooth one is refused by the prediction
        (it has no O(1/√n) term: :func:`fieldnn.experiments.eft.finite_width_training`).
    C_b, C_W : float
        Initialisation.
    hidden_layers : int
        Hidden layers of width n (1: [1, n, 1]; 2: [1, n, n, 1], …).
    widths : tuple of int, optional
        At least two increasing hidden widths (default 16, 64, 256, 1024; quick, or more than one
        hidden layer, 16, 64, 256); the 1/√n coefficient is extrapolated from the two widest.
    n_replicas : int
        Networks per width.
    steps : int
        Full-batch gradient-descent steps.
    learning_rate : float
        η (t = η · steps).
    chunk_size : int, optional
        Networks trained at once (memory grows like chunk_size · n for one hidden layer and
        chunk_size · n² for deeper nets; default 5000 and 1000).
    rng : int
        Seed; width i, chunk j train with ``SeedSequence(rng).spawn`` child i·J + j.
    quick : bool

    Returns
    -------
    KinkedTraining
        If a width fails or is interrupted, the exception carries ``partial_result``: a dict with
        the widths finished and their measurements.

    Notes
    -----
    The trained mean is :math:`m_\infty + a/\sqrt n + O(1/n)` for relu-type σ (units near the
    kink cross it during training), and the paired shift z(T) − z_lin has the same a. With
    d(n) = a/√n + b/n at two widths n₁ < n₂, a = (n₂d₂ − n₁d₁)/(√n₂ − √n₁). The prediction is
    computed (and its arguments checked) before any network is trained.

    References
    ----------
    ``docs/finite_width_training.md``, "Kinked activations in training" and "Several training
    inputs"; D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. ∞ (the smooth case).
    """
    hidden_layers = positive_int(hidden_layers, "hidden_layers")
    deep = hidden_layers > 1
    if widths is None:
        widths = (16, 64, 256) if quick or deep else (16, 64, 256, 1024)
    widths = tuple(positive_int(n, "widths") for n in widths)
    if len(widths) < 2 or any(a >= b for a, b in pairwise(widths)):
        raise ArgumentError("widths", f"must be at least two increasing widths, got {widths}")
    n_replicas = positive_int(n_replicas, "n_replicas", minimum=2)
    steps = positive_int(steps, "steps")
    eta = nonnegative_float(learning_rate, "learning_rate", strictly_positive=True)
    chunk_size = positive_int(
        chunk_size if chunk_size is not None else (1000 if deep else 5000), "chunk_size", minimum=2
    )
    rng = positive_int(rng, "rng", minimum=0)
    C_b, C_W = float(C_b), float(C_W)
    if deep:
        X, y, X_test = np.array([[1.0]]), np.array([2.0]), np.array([[-1.5], [-1.0], [0.0]])
    else:
        X, y = np.array([[1.0], [-0.5]]), np.array([2.0, -1.0])
        X_test = np.array([[0.25], [2.0], [-1.5]])
    P = len(X)

    def mlp(n: int) -> MLP:
        return MLP(activation, [1, *([n] * hidden_layers), 1], C_W=C_W, C_b=C_b)

    # the prediction first: it refuses a smooth activation or a diverging learning rate; its
    # warning at test inputs nearly proportional to a training input is the window table of
    # the report (``window``, every width)
    n0 = widths[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".* nearly proportional preactivations", RuntimeWarning)
        pred = kinked_training_shift(
            mlp(n0), X, y, np.concatenate([X, X_test]), t=eta * steps, learning_rate=eta
        )
    # every hidden width is n: q ∝ 1/√n
    window = pred.window[None, P:] * np.sqrt(n0 / np.asarray(widths, dtype=float))[:, None]
    root0 = np.sqrt(n0)
    # the linearised mean: every hidden width is n, so its O(1/n) terms scale exactly as n0/n
    # (test inputs nearly collinear with a training one warn of the covariance's 1/(nθ)
    # remainder; only the mean is used, and it is measured against sampled networks below)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".* nearly collinear inputs", RuntimeWarning)
        lin = finite_width_prediction(mlp(n0), X, y, X_test, t=eta * steps, learning_rate=eta,
                                      linearised=True)  # fmt: skip
    lin_shift = n0 * (np.asarray(lin.mean) - np.asarray(lin.mean_infinite))
    frozen_predicted = lin.mean_infinite + lin_shift / np.asarray(widths, dtype=float)[:, None]
    scatter_predicted = None
    if P == 1:
        with warnings.catch_warnings():  # as above: the window table
            warnings.filterwarnings(
                "ignore", ".* nearly proportional preactivations", RuntimeWarning
            )
            drift = kinked_ntk_change(mlp(n0), X, y, X_test, t=eta * steps, learning_rate=eta)
        scatter_predicted = drift.scatter.sum(axis=0)
    sizes = [len(c) for c in np.array_split(np.arange(n_replicas), -(-n_replicas // chunk_size))]
    seeds = np.random.SeedSequence(rng).spawn(len(widths) * len(sizes))
    rows: list[tuple[np.ndarray, ...]] = []

    scatters: list[tuple[np.ndarray, np.ndarray]] = []

    def done() -> dict:
        return {"widths": widths[: len(rows)], "measurements": list(rows), "scatter": scatters}

    xs = np.concatenate([X, X_test])
    with _partial_on_failure("kinked_training", done):
        for i, n in enumerate(widths):
            outputs, shifts, changes, residuals, kernels, frozen = [], [], [], [], [], []
            for j, size in enumerate(sizes):
                gen = np.random.default_rng(seeds[i * len(sizes) + j])
                (k0, z0), (k1, z1) = paired(mlp(n), xs, y, steps, size, gen, "both", eta=eta,
                                            n_train=P)  # fmt: skip
                outputs.append(z1[:, P:])
                shifts.append(frozen_shift(k0, z0, z1, y, eta, steps))
                frozen.append(z1[:, P:] - shifts[-1])
                changes.append((k1 - k0)[:, :P])
                residuals.append(z0[:, 0] - y[0])
                kernels.append(k0[:, 0, 0])
            measured = (outputs, shifts, changes, frozen)
            rows.append(tuple(_moments(np.concatenate(v))[:2] for v in measured))
            if P == 1:
                var, err = residual_scatter(*map(np.concatenate, (shifts, residuals, kernels)))
                scatters.append((n**1.5 * var, n**1.5 * err))
    (m, m_err), (s, s_err), (c, c_err), (f, f_err) = (
        tuple(np.array([row[k][e] for row in rows]) for e in range(2)) for k in range(4)
    )
    a, a_err = richardson([(s[k], s_err[k]) for k in (-2, -1)], widths[-2:])
    b, b_err = richardson([(c[k], c_err[k]) for k in (-2, -1)], widths[-2:])
    scatter = dict.fromkeys(("scatter", "scatter_stderr", "scatter_extrapolated",
                             "scatter_extrapolated_stderr"))  # fmt: skip
    if scatters:
        scatter["scatter"], scatter["scatter_stderr"] = map(np.array, zip(*scatters, strict=True))
        scatter["scatter_extrapolated"], scatter["scatter_extrapolated_stderr"] = richardson(
            [(v / np.sqrt(k), e / np.sqrt(k)) for (v, e), k in zip(scatters[-2:], widths[-2:],
                                                                    strict=True)],
            widths[-2:],
        )  # fmt: skip
    return KinkedTraining(
        activation=str(activation),
        C_b=C_b,
        C_W=C_W,
        hidden_layers=hidden_layers,
        X_train=X,
        y_train=y,
        X_test=X_test,
        learning_rate=eta,
        steps=steps,
        t=eta * steps,
        widths=np.array(widths),
        n_replicas=n_replicas,
        infinite_mean=np.asarray(pred.mean_infinite, dtype=float).reshape(-1)[P:],
        coefficient=root0 * np.asarray(pred.mean_shift)[P:],
        coefficient_stderr=root0 * np.asarray(pred.mean_shift_stderr)[P:],
        ntk_coefficient=root0 * np.asarray(pred.ntk_change)[:P],
        ntk_coefficient_stderr=root0 * np.asarray(pred.ntk_change_stderr)[:P],
        measured_mean=m,
        mean_stderr=m_err,
        paired_shift=s,
        paired_stderr=s_err,
        ntk_change=c,
        ntk_change_stderr=c_err,
        extrapolated=a,
        extrapolated_stderr=a_err,
        ntk_extrapolated=b,
        ntk_extrapolated_stderr=b_err,
        scatter_predicted=scatter_predicted,
        **scatter,
        frozen_mean=f,
        frozen_stderr=f_err,
        frozen_predicted=frozen_predicted,
        window=window,
    )
