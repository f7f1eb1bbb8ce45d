"""The last hidden kernel during training: the per-network measurement of train_replicas, the
dG / ddG statistics against their definitions on sampled networks (finite differences of the
hidden kernel along tangent directions, no forward equation), and hidden_kernel_change against
trained replicas (slow)."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import ArgumentError
from fieldnn.inference import train_replicas
from fieldnn.inference._network import MLPSpec, init_parameters

XA = np.linspace(-1.5, 1.5, 4)[:, None]
Y = np.sin(2 * XA[:, 0])
XB = np.array([[-1.0], [0.25], [1.0]])


def test_train_replicas_records_the_hidden_kernel():
    mlp = fnn.MLP("tanh", [1, 16, 12, 1], C_W=1.2, C_b=0.1)
    kw = {"steps": 5, "learning_rate": 0.05, "rng": 3, "X_test": XB}
    plain = train_replicas(mlp, XA, Y, None, 6, **kw)
    ens = train_replicas(mlp, XA, Y, None, 6, hidden_kernel=True, **kw)
    assert plain.prior_hidden_kernel is None and plain.posterior_hidden_kernel is None
    np.testing.assert_array_equal(plain.posterior, ens.posterior)  # default values unchanged
    # the prior kernel from the same draws, by hand: σ(z^(2)) of W2 σ(W1 x + b1) + b2
    gen = np.random.default_rng(np.random.SeedSequence(3))
    spec = MLPSpec.of(mlp)
    gen.standard_normal((6, 4, 1))  # the replica draws come first (no C_Y: zero noise)
    p = init_parameters(spec, 6, gen)
    h1 = np.tanh(XB[None] @ np.swapaxes(p.W[0], 1, 2) + p.b[0][:, None])
    h2 = np.tanh(h1 @ np.swapaxes(p.W[1], 1, 2) + p.b[1][:, None])
    np.testing.assert_allclose(ens.prior_hidden_kernel, h2 @ np.swapaxes(h2, 1, 2) / 12)
    assert ens.posterior_hidden_kernel.shape == (6, 3, 3)
    assert np.max(np.abs(ens.posterior_hidden_kernel - ens.prior_hidden_kernel)) > 1e-4
    with pytest.raises(ArgumentError, match="hidden_kernel"):
        train_replicas(
            fnn.MLP("tanh", [1, 1], C_W=1.0, C_b=0.0),
            XA,
            Y,
            None,
            2,
            steps=1,
            learning_rate=0.1,
            hidden_kernel=True,
        )
