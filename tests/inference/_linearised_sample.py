"""Sampled linearised networks for the frozen-kernel checks of finite_width_prediction."""

from __future__ import annotations

from typing import Any

import numpy as np

from fieldnn.inference._flow import flow_operator
from fieldnn.inference._linearised import linearised_outputs
from fieldnn.inference._network import MLPSpec, forward, init_parameters
from fieldnn.inference._network import empirical_ntk as empirical_ntk_of


def linearised_sample(
    mlp: Any, XA: np.ndarray, XB: np.ndarray, Y: np.ndarray, eta: float, steps: int, R: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(z_lin, B z_0, M_0 Y) at the test inputs over R sampled networks of one output (8 chunks
    from ``default_rng(seed)``): each network's linearisation (its initial empirical NTK frozen)
    after ``steps`` steps of η on the targets Y, the n → ∞ map z_0 − M_0 z_{0,A} of the same
    networks' initial outputs, and the n → ∞ mean M_0 Y (M_0 = Θ_{·A} g(Θ_AA))."""
    P, X = len(XA), np.concatenate([XA, XB])
    th = mlp.ntk(X)
    M0 = th[P:, :P] @ flow_operator(th[:P, :P], eta * steps, eta)
    spec, rng = MLPSpec.of(mlp), np.random.default_rng(seed)
    z_lin, z_inf = [], []
    for _ in range(8):
        params = init_parameters(spec, R // 8, rng)
        z0 = forward(spec, params, X)[0][-1]
        H = empirical_ntk_of(spec, params, X, *spec.learning_rates(1.0, 1.0))
        z_lin.append(linearised_outputs(H[..., :P], z0, Y[:, None], eta, steps)[..., 0])
        z_inf.append(z0[:, P:, 0] - z0[:, :P, 0] @ M0.T)
    return np.concatenate(z_lin), np.concatenate(z_inf), M0 @ Y
