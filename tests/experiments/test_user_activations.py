"""A user's own σ (a plain callable) through four_point_vertex and measure_lambda: the same
numbers as the registry activation of the same function, and a progress bar when asked."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

import fieldnn as fnn
from fieldnn.errors import ArgumentTypeError
from fieldnn.kernels.deep import four_point_vertex

X = np.array([[-1.0], [-0.5], [0.5], [1.0]])


def plain_gelu(z):
    """GELU as a plain callable: no closed pair forms, every expectation by quadrature."""
    return z * ndtr(z)


@pytest.mark.parametrize("cutoff", [30.0, pytest.param(1000.0, marks=pytest.mark.slow)])
def test_measure_lambda_of_a_callable_matches_the_registry_closed_forms(cutoff):
    # registry gelu: K(x, y) in closed form; the callable: the 2-d pair rule (at Λ = 1000 the
    # legs reach variance 1e6, where the nested sinh rule takes over)
    kw = {"width": 20, "d_in": 1, "sigma_w2": 1.0, "sigma_b2": 1.0}
    registry = fnn.measure_lambda(fnn.SingleLayerNet("gelu", **kw), X, cutoff=cutoff)
    user = fnn.measure_lambda(fnn.SingleLayerNet(plain_gelu, **kw), X, cutoff=cutoff)
    np.testing.assert_allclose(user.integrals, registry.integrals, rtol=1e-9)
    np.testing.assert_allclose(user.values, registry.values, rtol=1e-9)


def test_four_point_vertex_of_a_callable_matches_the_registry():
    # registry gelu: pair terms (K, ⟨σ'σ'⟩) in closed form; the callable: by quadrature
    kw = {"C_W": 1.5, "C_b": 0.1, "widths": [1, 30, 30, 1]}
    registry = four_point_vertex("gelu", X[:3], **kw)
    user = four_point_vertex(plain_gelu, X[:3], **kw)
    np.testing.assert_allclose(user, registry, rtol=1e-9, atol=1e-12 * np.abs(registry).max())


def test_progress_bars_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    kw = {"C_W": 1.0, "C_b": 0.1, "widths": [1, 10, 10, 10, 1]}
    quiet = four_point_vertex("tanh", X[:2], **kw)
    assert capsys.readouterr().err == ""
    shown = fnn.MLP("tanh", widths=kw["widths"], C_W=1.0, C_b=0.1).four_point_vertex(
        X[:2], progress=True
    )
    err = capsys.readouterr().err
    assert "four-point vertex, layers" in err and "/3 " in err  # 3 layer steps
    np.testing.assert_array_equal(shown, quiet)

    net = fnn.SingleLayerNet("tanh", width=10)
    quiet = fnn.measure_lambda(net, X[:2], cutoff=3.0)
    assert capsys.readouterr().err == ""
    shown = fnn.measure_lambda(net, X[:2], cutoff=3.0, progress=True)
    err = capsys.readouterr().err
    assert "measure_lambda" in err and "/2 " in err and "kernel entries" in err
    np.testing.assert_array_equal(shown.values, quiet.values)


@pytest.mark.parametrize("call", ["vertex", "lambda"])
def test_progress_must_be_a_bool(call):
    with pytest.raises(ArgumentTypeError, match="progress"):
        if call == "vertex":
            four_point_vertex("tanh", X, C_W=1.0, C_b=0.0, widths=[1, 5, 1], progress="yes")
        else:
            fnn.measure_lambda(fnn.SingleLayerNet("erf", width=5), X, cutoff=3.0, progress=1)
