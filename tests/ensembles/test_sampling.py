"""sample_outputs: seeding by SeedSequence.spawn, reproducibility, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.ensembles import MLP, SingleLayerNet, sample_outputs
from fieldnn.ensembles.sampling import chunk_generator, seed_sequence
from fieldnn.errors import ArgumentError, ArgumentTypeError

X = np.array([[0.2], [0.9], [-0.5]])


def test_chunk_generator_is_the_spawned_child() -> None:
    base = np.random.SeedSequence(1234)
    children = np.random.SeedSequence(1234).spawn(5)
    for i in (0, 3, 4):
        a = chunk_generator(base, i).standard_normal(8)
        b = np.random.Generator(np.random.SFC64(children[i])).standard_normal(8)
        assert np.array_equal(a, b)
    assert base.n_children_spawned == 0  # the caller's SeedSequence is not mutated


def test_same_seed_is_bitwise_identical_and_seeds_differ() -> None:
    net = MLP("tanh", widths=[1, 16, 16, 2], C_W=1.2, C_b=0.05)
    a = sample_outputs(net, X, 250, rng=7, chunk_size=100)
    b = sample_outputs(net, X, 250, rng=7, chunk_size=100)
    c = sample_outputs(net, X, 250, rng=8, chunk_size=100)
    assert a.shape == (250, 3, 2)
    assert np.array_equal(a, b)
    assert not np.any(a == c)


def test_chunks_are_concatenated_chunk_samples() -> None:
    """Chunk i of sample_outputs is sample_batch with chunk i's generator (and nothing else)."""
    net = SingleLayerNet("gauss", width=5, d_in=1, sigma_w2=0.8, sigma_b2=0.3)
    out = sample_outputs(net, X, 25, rng=[3, 4], chunk_size=10)
    base = np.random.SeedSequence([3, 4])
    for i, (lo, hi) in enumerate([(0, 10), (10, 20), (20, 25)]):
        chunk = net.sample_batch(X, hi - lo, chunk_generator(base, i))
        assert np.array_equal(out[lo:hi], chunk)
    # the samples depend on chunk_size (documented): other chunks, other draws
    assert not np.array_equal(out, sample_outputs(net, X, 25, rng=[3, 4], chunk_size=7))


def test_seed_arguments() -> None:
    assert seed_sequence(5).entropy == 5
    ss = np.random.SeedSequence(9)
    assert seed_sequence(ss) is ss
    with pytest.raises(ArgumentError, match="'rng'"):
        seed_sequence(-1)
    with pytest.raises(ArgumentTypeError, match="Generator"):
        seed_sequence(np.random.default_rng(0))
    net = SingleLayerNet("erf", width=2)
    with pytest.raises(ArgumentError, match="'n_nets'"):
        sample_outputs(net, X, 0)
    with pytest.raises(ArgumentError, match="'chunk_size'"):
        sample_outputs(net, X, 3, chunk_size=0)
    with pytest.raises(ArgumentTypeError, match="'net'"):
        sample_outputs(object(), X, 3)


def test_sample_outputs_on_array_api_strict_draws_the_same_networks() -> None:
    """Draws happen on the host, so another namespace evaluates the very same networks."""
    xps = pytest.importorskip("array_api_strict")
    net = MLP("erf", widths=[1, 12, 9, 1], C_W=1.4, C_b=0.3)
    a = sample_outputs(net, X, 30, rng=5, chunk_size=8)
    b = sample_outputs(net, X, 30, rng=5, chunk_size=8, xp=xps)
    assert b.shape == (30, 3, 1)
    np.testing.assert_allclose(np.asarray(b), a, rtol=1e-12, atol=1e-13)


def test_float64_run_never_casts_inputs_beyond_float32_range() -> None:
    """The float32 copies of the first layer are made only for the float32 path: a float64 run
    whose inputs exceed float32's range must not warn about an overflowing cast."""
    import warnings

    import fieldnn as fnn

    net = fnn.SingleLayerNet("erf", 10, sigma_w2=1e-80)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = fnn.estimate_correlators(net, [[1e39]], 2000, orders=(2,), rng=0)
    assert np.isfinite(est.full(2)).all()
