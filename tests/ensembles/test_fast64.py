"""Per-network streams and the fused float64 Erf-net sampler (fieldnn.ensembles._fast64)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy.special import erf

from fieldnn.ensembles import MLP, SingleLayerNet, estimate_correlators
from fieldnn.ensembles import _fast64 as f64
from fieldnn.ensembles._network_sampler import fused, sample_networks

X6 = np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])[:, None]


def test_first_network_of_a_group_is_numpys_sfc64_of_its_seed_sequence() -> None:
    """Network q·GROUP's stream is SFC64(SeedSequence(entropy, spawn_key + (TAG, q))): the
    NumPy seeding (three words, counter 1, twelve discarded outputs) reproduced exactly."""
    base = np.random.SeedSequence(1234, spawn_key=(5,))
    for q in (0, 3):
        words = f64.network_words(base, q * f64.GROUP, 2)
        seq = np.random.SeedSequence(1234, spawn_key=(5, f64.STREAM_TAG, q))
        want = np.random.SFC64(seq).state["state"]["state"]
        got = f64.seeded_sfc64(words[0]).state["state"]["state"]
        assert np.array_equal(got, want)
    # compiled seeding + ziggurat = NumPy's generator state + the NumPy ziggurat
    normals = f64.network_normals(words, 700)
    assert np.array_equal(normals, f64.network_normals_numpy(words, 700))


def test_any_range_of_network_seeds_is_a_slice_of_the_whole() -> None:
    base = np.random.SeedSequence(7)
    whole = f64.network_words(base, 0, 3 * f64.GROUP + 11)
    for start, count in [(0, 1), (f64.GROUP - 1, 2), (5, 2 * f64.GROUP), (3 * f64.GROUP, 11)]:
        assert np.array_equal(f64.network_words(base, start, count), whole[start : start + count])
    assert len({tuple(w) for w in whole.tolist()}) == len(whole)  # no stream is reused


def test_erf64_is_within_scipys_accuracy_of_mpmath() -> None:
    """Against 30-digit mpmath: at most 2.5 ulp; within 4e-16 of SciPy's erf."""
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-6.5, 6.5, 4000), 10.0 ** rng.uniform(-20, 0, 300)])
    got = f64.erf64(x)
    with mpmath.workdps(30):
        exact = np.array([float(mpmath.erf(mpmath.mpf(float(v)))) for v in x])
        err = np.array(
            [
                abs(mpmath.mpf(float(g)) - mpmath.erf(mpmath.mpf(float(v))))
                for g, v in zip(got, x, strict=True)
            ],
            dtype=float,
        )
    ulp = err / np.spacing(np.abs(exact))
    assert ulp.max() <= 2.5
    assert np.max(np.abs(got - erf(x))) <= 4e-16
    assert np.array_equal(f64.erf64(-x), -got)  # odd by construction


def test_erf64_special_values() -> None:
    x = np.array([0.0, -0.0, 6.0, -6.0, 30.0, np.inf, -np.inf, 5e-324, np.nan])
    got = f64.erf64(x)
    assert np.array_equal(got[:8], [0.0, -0.0, 1.0, -1.0, 1.0, 1.0, -1.0, erf(5e-324)])
    assert np.signbit(got[1]) and np.isnan(got[8])
    assert np.array_equal(got, f64.erf64_numpy(x), equal_nan=True)


def test_compiled_loops_are_bitwise_the_numpy_reference() -> None:
    if any(f64._kernel(name) is None for name in ("erf", "normals", "net")):
        pytest.skip("numba not available: only the NumPy reference runs")
    z = np.random.default_rng(3).standard_normal(5000) * 2.5
    assert np.array_equal(f64.erf64(z), f64.erf64_numpy(z))
    words = f64.network_words(np.random.SeedSequence(9), 17, 4)
    F = np.array([[0.4, -1.1], [0.9, 0.2], [0.3, 0.3]])
    mean, coef = np.array([0.2, -0.1]), np.array([0.25, 0.6, 0.3, 0.05])
    out = np.empty((4, 2, 3))
    want = f64.erf_net64_numpy(words, F, mean, coef, 16, np.empty_like(out))
    assert np.array_equal(f64.erf_net64(words, F, mean, coef, 16, out), want)


def test_fused_erf_net_is_the_forward_pass_on_the_same_normals() -> None:
    """The fused sampler and the generic forward pass (SciPy's erf, NumPy matmuls) evaluate the
    same networks from the same normals: outputs agree to round-off."""
    net = SingleLayerNet("erf", width=300, sigma_w2=1.7, sigma_b2=0.4, mu_w=0.1, mu_b=0.3)
    plan = net.forward_plan(X6)
    assert fused(plan, np, np.float64)
    base = np.random.SeedSequence(21)
    got = sample_networks(net, X6, base, 40, 25, threads=2)
    g = f64.network_normals(f64.network_words(base, 40, 25), 300 * 2 + 301)
    draws = [g[:, :600].reshape(25, 300, 2).copy(), g[:, 600:].reshape(25, 1, 301).copy()]
    want = plan.forward(draws, np, np.float64)
    assert np.max(np.abs(got - want)) <= 1e-13 * np.max(np.abs(want))


@pytest.mark.parametrize(
    "net",
    [
        SingleLayerNet("erf", width=64, d_out=2),
        SingleLayerNet("relu", width=30),
        MLP("erf", widths=[1, 20, 20, 1], C_W=1.5, C_b=0.1),
    ],
    ids=["erf-fused", "relu-generic", "mlp-generic"],
)
def test_a_network_does_not_depend_on_the_range_or_threads_that_drew_it(net) -> None:
    base = np.random.SeedSequence(5)
    whole = sample_networks(net, X6, base, 0, 150, threads=1)
    parts = [
        sample_networks(net, X6, base, a, b - a, threads=2)
        for a, b in [(0, 1), (1, 8), (8, 149), (149, 150)]
    ]
    assert np.array_equal(np.concatenate(parts), whole)


def test_float32_per_network_streams_are_thread_independent() -> None:
    net = SingleLayerNet("erf", width=50)
    base = np.random.SeedSequence(8)
    one = sample_networks(net, X6, base, 3, 70, dtype=np.float32, threads=1)
    two = sample_networks(net, X6, base, 3, 70, dtype=np.float32, threads=2)
    assert one.dtype == np.float32 and np.array_equal(one, two)
    pieces = [
        sample_networks(net, X6, base, a, b - a, dtype=np.float32) for a, b in [(3, 10), (10, 73)]
    ]
    assert np.array_equal(np.concatenate(pieces), one)


def test_samples_and_estimates_do_not_depend_on_numba(run_without_numba) -> None:
    """The fused Erf-net and the generic path (ReLU), and the estimate built on them, are
    bitwise the same with the compiled loops and with the NumPy references alone."""
    code = (
        "import numpy as np\n"
        "from fieldnn.ensembles import SingleLayerNet, estimate_correlators\n"
        "from fieldnn.ensembles._network_sampler import sample_networks\n"
        "X = np.array([[-1.0], [0.3], [0.8]])\n"
        "for net in (SingleLayerNet('erf', width=40, mu_w=0.2), SingleLayerNet('relu', width=9)):\n"
        "    f = sample_networks(net, X, np.random.SeedSequence(4), 3, 6)\n"
        "    e = estimate_correlators(net, X, 120, orders=(2, 4), rng=4, chunk_size=7)\n"
        "    arrays = (f, e.connected(4), e.stderr(4))\n"
        "    print(' '.join(a.tobytes().hex() for a in arrays))\n"
    )
    X = np.array([[-1.0], [0.3], [0.8]])
    here = []
    for net in (SingleLayerNet("erf", width=40, mu_w=0.2), SingleLayerNet("relu", width=9)):
        f = sample_networks(net, X, np.random.SeedSequence(4), 3, 6)
        e = estimate_correlators(net, X, 120, orders=(2, 4), rng=4, chunk_size=7)
        here.append(" ".join(a.tobytes().hex() for a in (f, e.connected(4), e.stderr(4))))
    assert run_without_numba(code).decode().split("\n")[:2] == here
