"""The four-point vertex of a smooth σ at four or more inputs: ⟨σσσσ⟩ by the measured rank-4
lattice rule of :mod:`fieldnn.kernels._moment_lattice`, the same as the NTK-fluctuation
recursion's."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from scipy import special

import fieldnn as fnn
from fieldnn.kernels._deep_gaussian import connected_four
from fieldnn.kernels._erf_four import erf_four_moments
from fieldnn.kernels.activations import get_activation
from fieldnn.kernels.gaussian import pair_values

X = np.linspace(-1.1, 1.0, 5)[:, None]


@pytest.mark.parametrize("act", ["tanh", "gelu"])
def test_vertex_equals_the_ntk_fluctuation_vertex(act: str) -> None:
    mlp = fnn.MLP(act, [1, 64, 64, 1], C_W=1.0, C_b=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a finite measured accuracy within 1e-6: no warning
        V = mlp.four_point_vertex(X)
    W = fnn.ntk_fluctuations(mlp, X).V[-1]
    np.testing.assert_allclose(V, W, rtol=0, atol=1e-10 * np.abs(W).max())


def test_lattice_four_point_moments_against_erf_plackett() -> None:
    """The lattice path of :func:`connected_four` (taken for a σ without closed forms) on erf
    at a full-rank 4×4 first-layer kernel (three-dimensional inputs), against the
    one-dimensional Plackett integrals."""
    erf = get_activation("erf")

    def plain_erf(z):
        return special.erf(z)

    inputs = np.random.default_rng(3).normal(size=(4, 3))
    K = fnn.kernel_recursion("erf", inputs, C_W=1.0, C_b=0.1, depth=1)[-1]
    assert np.linalg.eigvalsh(K)[0] > 1e-2  # rank 4
    d = np.diag(K)
    M2 = pair_values(erf, d[:, None] + 0 * K, d[None, :] + 0 * K, K)
    exact = erf_four_moments(K) - np.einsum("ab,cd->abcd", M2, M2)
    lattice = connected_four(get_activation(plain_erf), K)
    np.testing.assert_allclose(lattice, exact, rtol=0, atol=1e-10 * np.abs(exact).max())


def test_kinked_callable_warns_with_its_measured_accuracy() -> None:
    def kink(z):
        return np.abs(z) + 0.1 * z

    K = fnn.kernel_recursion("tanh", X[:4], C_W=1.0, C_b=0.1, depth=1)[-1]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        connected_four(get_activation(kink), K)
    messages = [str(r.message) for r in record]
    assert any(re.match(r"four-point moments of .* converged only to ~\d", m) for m in messages)
    assert not any("unknown accuracy" in m for m in messages)
