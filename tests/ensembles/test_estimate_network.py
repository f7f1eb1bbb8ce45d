"""estimate_correlators with per-network streams (the default ``sampling="network"``): the
estimate does not depend on the chunk size or the workers, agrees with the chunk-sampled
accumulation to round-off on the same networks, and with exact finite-width correlators."""

from __future__ import annotations

import itertools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from fieldnn.ensembles import MLP, SingleLayerNet, estimate_correlators
from fieldnn.ensembles.accumulate import ChunkSums, MomentAccumulator
from fieldnn.errors import ArgumentError

X3 = np.array([[-0.8], [0.1], [0.9]])


def _same(a, b) -> None:
    """Bitwise equality of every tensor of two estimates, diagnostics included."""
    assert a.n_nets == b.n_nets
    for n in range(1, max(a.orders) + 1):
        assert np.array_equal(a.full(n), b.full(n))
        assert np.array_equal(a.connected(n), b.connected(n))
        assert np.array_equal(a.stderr(n), b.stderr(n), equal_nan=True)
        assert np.array_equal(a.stderr(n, connected=False), b.stderr(n, connected=False))
        assert np.array_equal(a.pareto_k(n), b.pareto_k(n), equal_nan=True)
        assert np.array_equal(a.reliable(n), b.reliable(n))


@pytest.mark.parametrize(
    "net",
    [
        SingleLayerNet("erf", width=30, mu_b=0.5),  # the fused float64 path
        MLP("relu", widths=[1, 12, 12, 2], C_W=2.0, C_b=0.1),  # the generic path, two species
    ],
    ids=["erf-fused", "relu-mlp"],
)
def test_bitwise_the_same_for_any_chunk_size_and_number_of_workers(net) -> None:
    """230 networks (error blocks of 50, the last one open): chunk sizes 1, 7 and 1000,
    serially and on an executor of 1 or 2 workers, give the same bits."""
    args = {"orders": (2, 4), "rng": 77}
    ref = estimate_correlators(net, X3, 230, chunk_size=1000, **args)
    assert ref.provenance["sampling"] == "network"
    assert ref.provenance["error_block_size"] == 50 and ref.provenance["n_error_blocks"] == 4
    _same(ref, estimate_correlators(net, X3, 230, chunk_size=1, **args))
    _same(ref, estimate_correlators(net, X3, 230, chunk_size=7, **args))
    for workers in (1, 2):
        with ThreadPoolExecutor(workers) as pool:
            _same(ref, estimate_correlators(net, X3, 230, chunk_size=7, executor=pool, **args))


@pytest.mark.slow
def test_bitwise_the_same_on_one_or_two_worker_processes() -> None:
    net = SingleLayerNet("erf", width=30)
    args = {"orders": (2, 4), "rng": 78}
    ref = estimate_correlators(net, X3, 230, chunk_size=1000, **args)
    ctx = multiprocessing.get_context("spawn")
    for workers, chunk in ((1, 7), (2, 7), (2, 60)):
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            _same(ref, estimate_correlators(net, X3, 230, chunk_size=chunk, executor=pool, **args))


def test_float32_estimate_is_independent_of_the_chunk_size() -> None:
    net = SingleLayerNet("erf", width=40)
    args = {"orders": (2, 4), "rng": 3, "dtype": np.float32}
    _same(
        estimate_correlators(net, X3, 120, chunk_size=1000, **args),
        estimate_correlators(net, X3, 120, chunk_size=13, **args),
    )


def test_exact_block_accumulation_equals_the_chunked_one_to_round_off() -> None:
    """The same outputs through the chunk-order accumulator (the previous implementation) and
    through exact error blocks fed in ragged pieces: moments, cumulants and error bars agree to
    round-off; exact blocks agree bitwise with themselves under any cut."""
    rng = np.random.default_rng(0)
    y = rng.standard_normal((530, 3)) * [1.0, 2.0, 0.5] + [3.0, -1.0, 0.2]
    y[:, 1] += 0.4 * y[:, 0] ** 2
    ref = y[:64].mean(axis=0)
    old = MomentAccumulator(3, 4, ref, 50)
    for a in range(0, 530, 30):  # chunks of 30 straddle the blocks of 50
        part = y[a : a + 30]
        while part.shape[0]:
            room = 50 - old.open_count
            old.add(ChunkSums.from_samples(part[:room], ref, 4, estimates=False))
            part = part[room:]
    cuts = []
    for pieces in ([530], [1, 6, 43, 200, 280], [49, 2, 479]):
        new = MomentAccumulator(3, 4, ref, 50, exact_blocks=True)
        bounds = np.cumsum([0, *pieces])
        for a, b in itertools.pairwise(bounds):
            new.add_rows(y[a:b])
        cuts.append(new)
        assert new.count == 530 and new.n_batches == 10
        for n in range(1, 5):
            np.testing.assert_allclose(new.moments(n), old.moments(n), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(new.cumulants(n), old.cumulants(n), rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(new.stderr(n), old.stderr(n), rtol=1e-9)
    for other in cuts[1:]:
        for n in range(1, 5):
            assert np.array_equal(other.cumulants(n), cuts[0].cumulants(n))
            assert np.array_equal(other.stderr(n), cuts[0].stderr(n))
    # a whole block may also arrive as sums (a worker's chunk), not after an open block
    whole = MomentAccumulator(3, 4, ref, 50, exact_blocks=True)
    whole.add(ChunkSums.from_samples(y[:50], ref, 4))
    with pytest.raises(ArgumentError, match="chunk"):
        whole.add(ChunkSums.from_samples(y[50:60], ref, 4))
    state = MomentAccumulator.from_state(cuts[1].state())
    assert state.exact_blocks and np.array_equal(state.cumulants(4), cuts[1].cumulants(4))


def test_connected_four_and_six_point_match_exact_finite_width(within_sigma) -> None:
    net = SingleLayerNet("erf", width=3, sigma_w2=1.5, sigma_b2=0.3)
    X = np.array([[-1.0], [0.4], [1.0]])
    est = estimate_correlators(net, X, 40_000, orders=(2, 4, 6), rng=11)
    for n in (4, 6):
        within_sigma(est.connected(n), net.exact_connected(X, n), est.stderr(n))
    within_sigma(est.connected(2), net.kernel(X), est.stderr(2))
    # the Gaussian value 0 of the connected four-point function is rejected
    with pytest.raises(AssertionError):
        within_sigma(est.connected(4), 0.0 * est.connected(4), est.stderr(4))


def test_compatibility_mode_is_the_chunk_sampled_estimate() -> None:
    """sampling="chunk" samples what sample_outputs samples (chunk-seeded); the default does
    not, and says so in the provenance."""
    from fieldnn.ensembles import sample_outputs

    net = SingleLayerNet("relu", width=20)
    est = estimate_correlators(net, X3, 100, orders=(2,), rng=4, chunk_size=40, sampling="chunk")
    f = sample_outputs(net, X3, 100, rng=4, chunk_size=40)[:, :, 0]
    np.testing.assert_allclose(est.full(2), f.T @ f / 100, rtol=1e-12)
    assert est.provenance["sampling"] == "chunk"
    with pytest.raises(ArgumentError, match="sampling"):
        estimate_correlators(net, X3, 100, sampling="networks")
