"""Representation learning at every hidden layer: the O(1/n) posterior shift of each hidden
kernel against exact importance weighting, at growing width (private; public surface
:mod:`fieldnn.experiments.eft`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import positive_int
from ..ensembles import MLP
from ..errors import ArgumentError
from ..inference import hidden_kernel_posterior, hidden_kernel_shift

__all__ = ["HiddenLayerShifts", "hidden_layer_shifts"]

# two observed outputs and two further probe inputs, as in tests/inference/test_representation.py
_X_TRAIN = np.array([[-1.0], [0.7]])
_Y_TRAIN = np.array([1.5, -1.0])
_X_PROBE = np.array([[-0.3], [1.2]])


@dataclass(frozen=True)
class HiddenLayerShifts:
    r"""Posterior − prior of the hidden kernels :math:`\hat K^{(\ell)}`, ℓ = 1 … L − 1, at the
    inputs [X_train; X_probe] (Q of them), for each width.

    Attributes
    ----------
    activation : str
    C_W, C_b : float
        Every layer's initialisation.
    depth : int
        L (L − 1 hidden layers, all of width n).
    widths : ndarray (W,)
    X_train, y_train, X_probe : ndarray
        Observed outputs y_train at X_train (d_out = 1); further inputs X_probe.
    predicted : ndarray (W, L − 1, Q, Q)
        The O(1/n) shift (:func:`~fieldnn.inference.hidden_kernel_shift` with ``layer=ℓ``).
    measured, stderr : ndarray (W, L − 1, Q, Q)
        Exact Bayesian conditioning by importance weighting
        (:func:`~fieldnn.inference.hidden_kernel_posterior`) and its standard error.
    n_samples : int
        Networks per width and layer.
    """

    activation: str
    C_W: float
    C_b: float
    depth: int
    widths: np.ndarray
    X_train: np.ndarray
    y_train: np.ndarray
    X_probe: np.ndarray
    predicted: np.ndarray
    measured: np.ndarray
    stderr: np.ndarray
    n_samples: int

    @property
    def pulls(self) -> np.ndarray:
        """(measured − predicted)/stderr, (W, L − 1, Q, Q)."""
        return (self.measured - self.predicted) / self.stderr

    @property
    def scaled_residual_rms(self) -> np.ndarray:
        """rms over the Q × Q entries of n·(measured − predicted), (W, L − 1): O(1/n) if the
        prediction is right at O(1/n)."""
        n = self.widths[:, None, None, None]
        return np.sqrt(np.mean((n * (self.measured - self.predicted)) ** 2, axis=(2, 3)))


def hidden_layer_shifts(
    activation: str = "tanh",
    *,
    depth: int = 4,
    widths: tuple[int, ...] = (16, 64, 256),
    C_W: float = 1.5,
    C_b: float = 0.2,
    n_samples: int | None = None,
    rng: int = 0,
    quick: bool = False,
) -> HiddenLayerShifts:
    r"""The posterior shift of every hidden layer's kernel: O(1/n) prediction against exact
    importance weighting of sampled networks, at each width.

    Parameters
    ----------
    activation : str
    depth : int
        Number of layers L >= 3 (so that there is a hidden layer below the last).
    widths : tuple of int
        The common hidden width n of each run.
    C_W, C_b : float
        Initialisation of every layer.
    n_samples : int, optional
        Networks per width and layer (default 40 000 quick, 200 000 full).
    rng : int
        Seed; width i and layer ℓ use ``rng + 10 i + ℓ``.
    quick : bool

    Notes
    -----
    :math:`\mathbb E[\hat K^{(\ell)}\mid y] - \mathbb E\hat K^{(\ell)} = (1/2n)\sum_{ab}
    V^{(\ell,L)}_{(\cdot\cdot)(ab)}M_{ab} + O(1/n^2)`, the mixed vertex chained through the
    linearised kernel maps of the layers above ℓ (``docs/representation_learning.md``, step 5;
    arXiv:2106.10165 sec. 6.4 for the last layer).
    """
    depth = positive_int(depth, "depth", minimum=3)
    widths = tuple(positive_int(n, "widths") for n in widths)
    if not widths:
        raise ArgumentError("widths", "needs at least one width")
    n_samples = positive_int(
        n_samples if n_samples is not None else (40_000 if quick else 200_000),
        "n_samples",
        minimum=2,
    )
    probe = np.concatenate([_X_TRAIN, _X_PROBE])
    predicted, measured, stderr = [], [], []
    for i, n in enumerate(widths):
        mlp = MLP(activation, [1, *[n] * (depth - 1), 1], C_W=C_W, C_b=C_b)
        rows = [
            (
                hidden_kernel_shift(mlp, _X_TRAIN, _Y_TRAIN, _X_PROBE, layer=layer),
                hidden_kernel_posterior(
                    mlp,
                    _X_TRAIN,
                    _Y_TRAIN,
                    probe,
                    n_samples=n_samples,
                    rng=rng + 10 * i + layer,
                    layer=layer,
                ),
            )
            for layer in range(1, depth)
        ]
        predicted.append([p.shift for p, _ in rows])
        measured.append([m.shift for _, m in rows])
        stderr.append([m.stderr for _, m in rows])
    return HiddenLayerShifts(
        activation=str(activation),
        C_W=float(C_W),
        C_b=float(C_b),
        depth=depth,
        widths=np.array(widths),
        X_train=_X_TRAIN,
        y_train=_Y_TRAIN,
        X_probe=_X_PROBE,
        predicted=np.array(predicted),
        measured=np.array(measured),
        stderr=np.array(stderr),
        n_samples=n_samples,
    )
