"""Architectures: argument checks, shapes, dtypes, backends, and the exact layer sampler."""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.ensembles import MLP, SingleLayerNet
from fieldnn.ensembles._forward import Layer, _gaussian_layer
from fieldnn.errors import ArgumentError, ArgumentTypeError, UnknownNameError, UnsupportedError

X3 = np.array([[0.3], [-0.8], [1.1]])


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"width": 0}, "width"),
        ({"width": 2.5}, "width"),
        ({"width": 4, "sigma_w2": -1.0}, "sigma_w2"),
        ({"width": 4, "sigma_b2": float("nan")}, "sigma_b2"),
        ({"width": 4, "d_in": 0}, "d_in"),
        ({"width": 4, "d_out": -2}, "d_out"),
        ({"width": 4, "mu_w": float("inf")}, "mu_w"),
    ],
)
def test_single_layer_bad_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    with pytest.raises((ArgumentError, ArgumentTypeError)) as info:
        SingleLayerNet("erf", **kwargs)
    assert info.value.argument == argument
    assert argument in str(info.value)


def test_unknown_activation_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError) as info:
        SingleLayerNet("erff", width=3)
    assert info.value.argument == "activation"
    assert "relu" in str(info.value) and "gauss" in str(info.value)


@pytest.mark.parametrize(
    ("X", "argument"),
    [
        (np.zeros((2, 2, 1)), "X"),  # wrong number of dimensions
        (np.zeros((3, 2)), "X"),  # wrong d_in
        (np.array([[0.1], [np.nan]]), "X"),
        (np.array([[0.1], [np.inf]]), "X"),
        (np.zeros((0, 1)), "X"),
    ],
)
def test_bad_inputs_are_refused(X: np.ndarray, argument: str) -> None:
    net = SingleLayerNet("erf", width=3)
    with pytest.raises(ArgumentError) as info:
        net.sample_batch(X, 2, np.random.default_rng(0))
    assert info.value.argument == argument


def test_sample_batch_checks_n_rng_dtype() -> None:
    net = SingleLayerNet("relu", width=3)
    with pytest.raises(ArgumentError, match="'n'"):
        net.sample_batch(X3, 0, np.random.default_rng(0))
    with pytest.raises(ArgumentTypeError, match="'rng'"):
        net.sample_batch(X3, 2, 0)
    with pytest.raises(ArgumentError, match="'dtype'"):
        net.sample_batch(X3, 2, np.random.default_rng(0), dtype=np.int64)
    with pytest.raises(ArgumentError, match="'threads'"):
        net.sample_batch(X3, 2, np.random.default_rng(0), threads=0)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"widths": [2]}, "widths"),
        ({"widths": [2, 0, 1]}, "widths[1]"),
        ({"widths": "2,3"}, "widths"),
        ({"widths": [2, 3, 1], "C_W": [1.0]}, "C_W"),
        ({"widths": [2, 3, 1], "C_b": -0.1}, "C_b"),
        ({"widths": [2, 3, 1], "C_W": [1.0, -2.0]}, "C_W[1]"),
    ],
)
def test_mlp_bad_arguments(kwargs: dict, argument: str) -> None:
    with pytest.raises((ArgumentError, ArgumentTypeError)) as info:
        MLP("tanh", **kwargs)
    assert info.value.argument == argument


def test_nonzero_means_refused_by_exact_paths() -> None:
    net = SingleLayerNet("erf", width=3, mu_w=0.2)
    for method in (net.kernel, lambda X: net.exact_connected(X, 4), lambda X: net.exact_full(X, 2)):
        with pytest.raises(UnsupportedError) as info:
            method(X3)
        assert info.value.argument == "mu_w"
    with pytest.raises(UnsupportedError, match="mu_b"):
        SingleLayerNet("erf", width=3, mu_b=-1.0).kernel(X3)


def test_mlp_layer_argument() -> None:
    mlp = MLP("tanh", widths=[1, 4, 4, 1])
    with pytest.raises(ArgumentError, match="'layer'"):
        mlp.kernel(X3, layer=4)


# -- shapes, dtypes, threads ------------------------------------------------------------------
def test_shapes_and_float64_default() -> None:
    net = SingleLayerNet("tanh", width=7, d_in=2, d_out=3)
    f = net.sample_batch(np.ones((5, 2)), 4, np.random.default_rng(0))
    assert f.shape == (4, 5, 3) and f.dtype == np.float64
    g = net.sample_batch(np.ones((5, 2)), 4, np.random.default_rng(0), dtype=np.float32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, f, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "net",
    [SingleLayerNet("erf", width=300, d_in=2), MLP("relu", widths=[2, 120, 120, 2], C_W=2.0)],
)
def test_result_does_not_depend_on_threads(net: SingleLayerNet | MLP) -> None:
    X = np.array([[0.1, 0.2], [0.5, -1.0], [1.0, 1.0], [-0.3, 0.0]])
    one = net.sample_batch(X, 300, np.random.default_rng(5), threads=1)
    two = net.sample_batch(X, 300, np.random.default_rng(5), threads=2)
    assert net.forward_plan(X).block < 300  # several blocks, so threads really were used
    assert np.array_equal(one, two)


def test_array_api_strict_backend_matches_numpy() -> None:
    xps = pytest.importorskip("array_api_strict")
    from fieldnn.ensembles import ChunkSums

    net = MLP("erf", widths=[2, 30, 40, 2], C_W=1.3, C_b=0.2)
    X = np.array([[0.1, 0.2], [0.5, -1.0], [1.0, 1.0]])
    f_np = net.sample_batch(X, 50, np.random.default_rng(2))
    f_st = net.sample_batch(X, 50, np.random.default_rng(2), xp=xps)
    assert type(f_st).__module__.startswith("array_api_strict") and f_st.dtype == xps.float64
    # SciPy's erf vs the array-API rational erf: equal to rounding
    np.testing.assert_allclose(np.asarray(f_st), f_np, rtol=1e-12, atol=1e-13)
    ref = np.zeros(6)
    s_np = ChunkSums.from_samples(f_np.reshape(50, 6), ref, 4)
    s_st = ChunkSums.from_samples(xps.reshape(f_st, (50, 6)), ref, 4)
    for a, b in zip(s_np.sums, s_st.sums, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-12)
    f32 = net.sample_batch(X, 5, np.random.default_rng(2), xp=xps, dtype=xps.float32)
    assert f32.dtype == xps.float32


# -- the two exact layer samplers -------------------------------------------------------------
def test_direct_and_conditional_layers_have_the_layer_covariance(within_sigma) -> None:
    """z | h is Gaussian with mean μ_b + μ_W Σ h and covariance C_b + C_W h hᵀ/n_in, both ways."""
    rng = np.random.default_rng(11)
    h = rng.normal(size=(1, 5, 3))  # one network, n_in = 5 units (unit-major), P = 3 inputs
    layer = Layer(5, 20000, c_w=1.7, c_b=0.4, mu_w=0.3, mu_b=-0.5)
    cov = layer.c_b + layer.c_w / 5 * h[0].T @ h[0]
    mean = layer.mu_b + layer.mu_w * h[0].sum(axis=0)
    for conditional, shape in ((True, (1, 20000, 3)), (False, (1, 20000, 6))):
        z = _gaussian_layer(h, rng.standard_normal(shape), layer, conditional, np)[0].T
        # units are iid draws of the 3-vector z(·): compare mean and covariance within k·σ
        within_sigma(z.mean(axis=1), mean, np.sqrt(np.diag(cov) / z.shape[1]))
        emp = np.cov(z)
        err = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / z.shape[1])
        within_sigma(emp, cov, err)
