"""Sampled networks trained by fieldnn's own gradient descent, measured before and after, each
network's frozen-kernel solution as a control variate, and the two-width extrapolation of a 1/√n
drift: the oracle of the O(1/√n) kink-flux checks (``tests/inference/test_relu_training_*``) and
of :func:`fieldnn.experiments.eft.kinked_training` (private)."""

from __future__ import annotations

import numpy as np

from ..ensembles import MLP
from ..inference._linearised import linearised_outputs
from ..inference._network import (
    MLPSpec,
    empirical_ntk,
    forward,
    gradient_descent,
    init_parameters,
)


def paired(
    mlp: MLP, xs: np.ndarray, y: object, steps: int, R: int, rng: np.random.Generator,
    measure: str, *, eta: float = 0.02, n_train: int = 1,
) -> tuple:  # fmt: skip
    """R networks of ``mlp`` trained (λ_b = λ_W = 1, step ``eta``) on the first ``n_train`` rows
    of ``xs`` with targets ``y``: the measured quantity at ``xs`` before and after, per network
    — ``measure`` "ntk" for Θ̂(x', x_α) (R, len(xs), n_train), "output" for z(x') (R, len(xs)),
    "both" for the pair."""
    spec = MLPSpec.of(mlp)
    lb, lw = spec.learning_rates(1.0, 1.0)
    params = init_parameters(spec, R, rng)

    def value() -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        ntk = lambda: empirical_ntk(spec, params, xs, lb, lw)[:, 0, :, 0, :n_train]  # noqa: E731
        out = lambda: forward(spec, params, xs)[0][-1][:, :, 0]  # noqa: E731
        return {"ntk": ntk, "output": out, "both": lambda: (ntk(), out())}[measure]()

    before = value()
    targets = np.asarray(y, dtype=float).reshape(n_train, 1)
    gradient_descent(
        spec, params, xs[:n_train], targets, steps=steps, learning_rate=eta, lambda_b=lb,
        lambda_W=lw,
    )  # fmt: skip
    return before, value()


def richardson(
    drifts: list[tuple[np.ndarray, np.ndarray]], widths: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """a and its standard error from d(n) = a/√n + b/n + c/n^{3/2} + … (as many terms as
    widths) at two or more widths (means, stderrs): √n d extrapolated to 1/√n = 0 by the
    Lagrange weights w_i = Π_{j≠i} u_j/(u_j − u_i), u = 1/√n, independent errors."""
    u = 1.0 / np.sqrt(np.asarray(widths, dtype=float))
    weights = [
        np.prod([u[j] / (u[j] - u[i]) for j in range(u.size) if j != i]) for i in range(u.size)
    ]
    a = sum(w * d / ui for w, (d, _), ui in zip(weights, drifts, u, strict=True))
    var = sum((w * e / ui) ** 2 for w, (_, e), ui in zip(weights, drifts, u, strict=True))
    return a, np.sqrt(var)


def frozen_shift(
    ntk0: np.ndarray, z0: np.ndarray, z1: np.ndarray, y: np.ndarray, eta: float, steps: int
) -> np.ndarray:
    """z(x', T) minus each network's own frozen-kernel solution (its linearisation trained by
    the same descent, :func:`~fieldnn.inference._linearised.linearised_outputs`), per network
    (R, Q) at the rows after the P training inputs. ``ntk0`` (R, P + Q, P) is the initial
    empirical NTK, ``z0``, ``z1`` (R, P + Q) the outputs before and after. A control variate:
    its mean differs from the infinite-width solution's by O(1/n) (E ΔΘ̂ = O(1/n),
    E ΔΘ̂ z₀ = 0), which the two-width extrapolation removes, and it takes out the O(1/√n)
    per-network NTK fluctuation."""
    P = ntk0.shape[2]
    targets = np.reshape(y, (1, P, 1))
    frozen = linearised_outputs(ntk0[:, None, :, None, :], z0[..., None], targets, eta, steps)
    return z1[:, P:] - frozen[..., 0]


def frozen_cov_shift(
    z1: np.ndarray, shift: np.ndarray, batches: int = 10, part: str = "all"
) -> tuple[np.ndarray, np.ndarray]:
    """Cov z(T) − Cov z_lin (Q, Q) and its standard error by batch means, from the trained
    outputs ``z1`` (R, Q) and ``shift`` = z1 − z_lin (``frozen_shift``): 2 sym Cov(z_lin,
    shift) + Cov(shift), whose mean is Cov z(T) minus the infinite-width covariance up to O(1/n)
    (E Cov z_lin = cov_infinite + O(1/n)), without the sampling noise of Cov z_lin. ``part``
    "cross" keeps the first term only, "scatter" the second: for a kinked σ the first carries
    the O(1/√n) covariance shift, the second the spread of the kink term over the networks,
    O(1/n) through their initial residuals and O(n^{−3/2}) at a fixed one (a sum over the ~√n
    units that reach a kink)."""
    zf, parts = z1 - shift, []
    for idx in np.array_split(np.arange(z1.shape[0]), batches):
        a, b = zf[idx] - zf[idx].mean(0), shift[idx] - shift[idx].mean(0)
        c = a.T @ b / (idx.size - 1)
        cross, scatter = c + c.T, b.T @ b / (idx.size - 1)
        parts.append({"all": cross + scatter, "cross": cross, "scatter": scatter}[part])
    parts = np.array(parts)
    return parts.mean(0), parts.std(0) / np.sqrt(batches)


def residual_scatter(
    shift: np.ndarray, eps0: np.ndarray, covariates: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Var(shift | ε₀) (Q,) and its standard error: the mean square residual of ``shift``
    (R, Q) after least squares on (1, |ε₀|ε₀, ε₀, ε₀²) per network — the kink term's mean and
    its O(1/n) spread over the initial residuals ε₀ (R,) — and, with ``covariates`` c (R,) or
    (R, k), on each c·(1, |ε₀|ε₀, ε₀, ε₀²) too (per-network globals such as Θ̂₀, whose
    O(n^{−1/2}) fluctuation moves the whole kink term and adds O(1/n²)). What is left is the
    noise at a fixed ε₀, O(n^{−3/2}) for a kinked σ (``KinkedNTKChange.scatter``)."""
    basis = np.column_stack([np.ones_like(eps0), np.abs(eps0) * eps0, eps0, eps0**2])
    if covariates is not None:
        c = np.reshape(covariates, (eps0.size, -1))
        c = c - c.mean(axis=0)
        basis = np.column_stack([basis, *(c[:, [k]] * basis for k in range(c.shape[1]))])
    residual = shift - basis @ np.linalg.lstsq(basis, shift, rcond=None)[0]
    squares = residual**2
    return squares.mean(0), squares.std(0) / np.sqrt(eps0.size)
