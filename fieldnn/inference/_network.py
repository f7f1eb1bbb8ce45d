r"""Batches of explicit MLPs: parameters, forward pass, hand-written backprop, empirical NTK,
full-batch gradient descent — all vectorised over the ensemble (private).

Conventions (Roberts–Yaida–Hanin, arXiv:2106.10165; ``docs/conventions.md``):
:math:`z^{(1)} = b^{(1)} + W^{(1)} x`, :math:`z^{(\ell+1)} = b^{(\ell+1)} + W^{(\ell+1)}
\sigma(z^{(\ell)})`, :math:`W^{(\ell)} \sim \mathcal N(0, C_W^{(\ell)}/n_{\ell-1})`,
:math:`b^{(\ell)} \sim \mathcal N(0, C_b^{(\ell)})`, linear output layer.

Training: the loss of one network on the targets :math:`y_{i\alpha}` is the unnormalised MSE
:math:`\mathcal L = \tfrac12\sum_{i,\alpha}\varepsilon_{i\alpha}^2`,
:math:`\varepsilon = z^{(L)} - y`, and gradient descent uses the learning-rate tensor of the seed
(slide "Forward equation for the NTK", RYH ch. 7)

.. math::

    \Delta b^{(\ell)}_i = -\eta\,\lambda_b^{(\ell)}\,\partial_{b^{(\ell)}_i}\mathcal L, \qquad
    \Delta W^{(\ell)}_{ij} = -\eta\,\frac{\lambda_W^{(\ell)}}{n_{\ell-1}}\,
        \partial_{W^{(\ell)}_{ij}}\mathcal L,

so that to first order in η the outputs move by :math:`-\eta H\varepsilon` with the empirical
NTK :math:`H_{i\alpha,j\beta} = \sum_\mu \lambda_\mu\,\partial_\mu z_{i\alpha}\,\partial_\mu
z_{j\beta}`, whose mean at infinite width is :math:`\delta_{ij}\Theta_{\alpha\beta}`
(:meth:`fieldnn.MLP.ntk`), and gradient descent for ``steps`` steps approximates gradient flow
for the time :math:`t = \eta\,\mathrm{steps}`.

Arrays carry the ensemble as their leading axis R: weights (R, n_ℓ, n_{ℓ−1}), biases (R, n_ℓ),
activations (R, P, n_ℓ). Every operation is a batched matmul or an elementwise op: no Python loop
over networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import input_points
from ..ensembles.architectures import _per_layer
from ..ensembles.sampling import seed_sequence
from ..errors import ArgumentError, ArgumentTypeError, UnsupportedError


def as_generator(rng: Any) -> np.random.Generator:
    """``rng`` as a :class:`numpy.random.Generator` (an int or SeedSequence seeds a new one)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(seed_sequence(rng))


@dataclass(frozen=True)
class MLPSpec:
    """What training needs from an :class:`fieldnn.MLP`: widths, per-layer C's, the activation."""

    widths: tuple[int, ...]
    C_W: np.ndarray
    C_b: np.ndarray
    activation: Any

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @classmethod
    def of(cls, mlp: Any) -> MLPSpec:
        if not all(hasattr(mlp, a) for a in ("widths", "C_W", "C_b", "activation")):
            raise ArgumentTypeError("mlp", f"must be an MLP, got {type(mlp).__name__}")
        widths = tuple(int(w) for w in mlp.widths)
        depth = len(widths) - 1
        act = mlp.activation
        if getattr(act, "normalised", False):
            raise UnsupportedError(
                "mlp",
                f"activation {act.name!r} depends on the pre-activation variance; "
                "explicit training supports unnormalised activations only",
            )
        C_W = np.asarray(_per_layer(tuple(mlp.C_W), "C_W", depth))
        C_b = np.asarray(_per_layer(tuple(mlp.C_b), "C_b", depth))
        return cls(widths, C_W, C_b, act)

    def inputs(self, X: Any, argument: str) -> np.ndarray:
        return input_points(X, argument, d_in=self.widths[0])

    def learning_rates(self, lambda_b: Any, lambda_W: Any) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.asarray(_per_layer(lambda_b, "lambda_b", self.depth)),
            np.asarray(_per_layer(lambda_W, "lambda_W", self.depth)),
        )


@dataclass
class Parameters:
    """Weights and biases of R networks: ``W[ℓ]`` (R, n_{ℓ+1}, n_ℓ), ``b[ℓ]`` (R, n_{ℓ+1})."""

    W: list[np.ndarray]
    b: list[np.ndarray]

    @property
    def n_nets(self) -> int:
        return self.W[0].shape[0]


def init_parameters(spec: MLPSpec, n_nets: int, rng: np.random.Generator) -> Parameters:
    """Draw R = ``n_nets`` networks from the initialisation distribution (float64)."""
    W, b = [], []
    for ell in range(spec.depth):
        n_in, n_out = spec.widths[ell], spec.widths[ell + 1]
        W.append(rng.standard_normal((n_nets, n_out, n_in)) * np.sqrt(spec.C_W[ell] / n_in))
        b.append(rng.standard_normal((n_nets, n_out)) * np.sqrt(spec.C_b[ell]))
    return Parameters(W, b)


def forward(spec: MLPSpec, params: Parameters, X: np.ndarray) -> tuple[list, list]:
    """Pre-activations ``z[ℓ]`` (R, P, n_{ℓ+1}) and layer inputs ``h[ℓ]`` (R or 1, P, n_ℓ).

    ``h[0]`` is X (1, P, d_in); ``z[-1]`` are the outputs.
    """
    h = [X[None]]
    z = []
    for ell in range(spec.depth):
        zl = np.matmul(h[-1], np.swapaxes(params.W[ell], 1, 2)) + params.b[ell][:, None, :]
        z.append(zl)
        if ell < spec.depth - 1:
            h.append(spec.activation(zl))
    return z, h


def output_jacobian_factors(
    spec: MLPSpec, params: Parameters, z: list, h: list
) -> list[np.ndarray]:
    r"""Backpropagated :math:`D^{(\ell)}_{r,i,\alpha,u} = \partial z^{(L)}_{i\alpha}/\partial
    z^{(\ell)}_{u\alpha}`, one array (R, d_out, P, n_ℓ) per layer (the last is δ_iu)."""
    R, P = z[-1].shape[:2]
    d_out = spec.widths[-1]
    D = [np.broadcast_to(np.eye(d_out)[None, :, None, :], (R, d_out, P, d_out))]
    for ell in range(spec.depth - 1, 0, -1):
        back = np.matmul(D[0], params.W[ell][:, None])  # (R, d_out, P, n_ell)
        D.insert(0, back * spec.activation.derivative(z[ell - 1])[:, None])
    return D


def empirical_ntk(
    spec: MLPSpec,
    params: Parameters,
    X: np.ndarray,
    lambda_b: np.ndarray,
    lambda_W: np.ndarray,
) -> np.ndarray:
    r"""Empirical NTK :math:`H_{i\alpha,j\beta}` of each network, shape (R, d_out, P, d_out, P).

    .. math::

        H_{i\alpha,j\beta} = \sum_{\ell}\sum_u D^{(\ell)}_{i\alpha u} D^{(\ell)}_{j\beta u}
            \Big(\lambda_b^{(\ell)} + \frac{\lambda_W^{(\ell)}}{n_{\ell-1}}
            \sum_k h^{(\ell-1)}_{\alpha k} h^{(\ell-1)}_{\beta k}\Big),

    since :math:`\partial z^{(L)}_{i\alpha}/\partial W^{(\ell)}_{uk} = D^{(\ell)}_{i\alpha u}
    h^{(\ell-1)}_{\alpha k}` and :math:`\partial z^{(L)}_{i\alpha}/\partial b^{(\ell)}_u =
    D^{(\ell)}_{i\alpha u}` (seed slide "Forward equation for the NTK"; RYH ch. 7–8).
    """
    z, h = forward(spec, params, X)
    D = output_jacobian_factors(spec, params, z, h)
    R, P = z[-1].shape[:2]
    d_out = spec.widths[-1]
    H = np.zeros((R, d_out, P, d_out, P))
    for ell in range(spec.depth):
        flat = D[ell].reshape(R, d_out * P, -1)
        dd = np.matmul(flat, np.swapaxes(flat, 1, 2)).reshape(R, d_out, P, d_out, P)
        gram = np.matmul(h[ell], np.swapaxes(h[ell], 1, 2))  # (R or 1, P, P)
        feat = lambda_b[ell] + lambda_W[ell] / spec.widths[ell] * gram
        H += dd * feat[:, None, :, None, :]
    return H


def gradients(
    spec: MLPSpec, params: Parameters, X: np.ndarray, Y: np.ndarray
) -> tuple[list, list, np.ndarray]:
    r"""∂L/∂W, ∂L/∂b of :math:`\mathcal L = \tfrac12\sum(z^{(L)} - Y)^2` for each network, and
    the residuals ε (R, P, d_out). ``Y`` is (R, P, d_out) or (P, d_out)."""
    z, h = forward(spec, params, X)
    eps = z[-1] - Y
    gW: list[np.ndarray] = [np.empty(0)] * spec.depth
    gb: list[np.ndarray] = [np.empty(0)] * spec.depth
    delta = eps
    for ell in range(spec.depth - 1, -1, -1):
        hl = np.broadcast_to(h[ell], (delta.shape[0], *h[ell].shape[1:]))
        gW[ell] = np.matmul(np.swapaxes(delta, 1, 2), hl)
        gb[ell] = delta.sum(axis=1)
        if ell > 0:
            delta = np.matmul(delta, params.W[ell]) * spec.activation.derivative(z[ell - 1])
    return gW, gb, eps


def apply_update(
    spec: MLPSpec,
    params: Parameters,
    gW: list,
    gb: list,
    learning_rate: float,
    lambda_b: np.ndarray,
    lambda_W: np.ndarray,
) -> None:
    """One gradient-descent step in place with the NTK learning-rate tensor (λ_W/n_{ℓ−1})."""
    for ell in range(spec.depth):
        params.W[ell] -= learning_rate * lambda_W[ell] / spec.widths[ell] * gW[ell]
        params.b[ell] -= learning_rate * lambda_b[ell] * gb[ell]


def gradient_descent(
    spec: MLPSpec,
    params: Parameters,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    steps: int,
    learning_rate: float,
    lambda_b: np.ndarray,
    lambda_W: np.ndarray,
) -> np.ndarray:
    """Train ``params`` in place by full-batch GD; return the loss history (steps + 1, R).

    Entry k of the history is the loss before step k (the last one after training).
    """
    losses = np.empty((steps + 1, params.n_nets))
    for k in range(steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            gW, gb, eps = gradients(spec, params, X, Y)
            losses[k] = 0.5 * np.einsum("rpi,rpi->r", eps, eps)
        check_finite(losses[k], learning_rate)
        if k < steps:
            apply_update(spec, params, gW, gb, learning_rate, lambda_b, lambda_W)
    return losses


def check_finite(losses: np.ndarray, learning_rate: float) -> None:
    """Raise (naming ``learning_rate``) as soon as a loss overflows: GD has diverged."""
    if not np.all(np.isfinite(losses)) or np.any(losses > 1e150):
        raise ArgumentError(
            "learning_rate",
            f"gradient descent diverged at learning_rate = {learning_rate}; "
            "it must be below 2/λ_max(H) (H: the NTK on the training inputs)",
        )
