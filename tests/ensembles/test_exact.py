"""Exact finite-width correlators of single-layer nets against brute-force sampled networks.

The sampler and the cumulant estimator here are plain NumPy/SymPy written for this test (not the
fieldnn samplers), so the comparison is between two independent methods.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import erf
from sympy.utilities.iterables import multiset_partitions

from fieldnn.ensembles.exact import exact_connected, exact_full
from fieldnn.errors import ArgumentError, UnsupportedError
from fieldnn.kernels import preactivation_covariance


def _kernel_references():
    """tests/kernels/_reference.py loaded by path (a top-level ``tests`` package installed by a
    dependency may shadow this repository's tests directory)."""
    path = Path(__file__).resolve().parents[1] / "kernels" / "_reference.py"
    spec = importlib.util.spec_from_file_location("fieldnn_tests_kernel_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_REF = _kernel_references()
erf_connected_mp = _REF.erf_connected_mp
erf_pair_mp = _REF.erf_pair_mp
erf_three_one_mp = _REF.erf_three_one_mp

UNITS = {
    "erf": lambda z, q: erf(z),
    "relu": lambda z, q: np.maximum(z, 0.0),
    "gauss": lambda z, q: np.exp(z - q),  # Gauss-net unit, normalised by the variance q(x)
}


def sample_nets(name, X, width, sw, sb, n, rng, d_out=1, chunk=50_000):
    """f (n, P, d_out) of n independent nets f = W1 σ(W0 x + b0) + b1 (seed-001 convention)."""
    d_in = X.shape[1]
    q = sb + sw * np.sum(X * X, axis=1) / d_in
    out = []
    for m in [chunk] * (n // chunk) + [n % chunk] * bool(n % chunk):
        W0 = rng.normal(0.0, np.sqrt(sw / d_in), size=(m, width, d_in))
        b0 = rng.normal(0.0, np.sqrt(sb), size=(m, width, 1))
        s = UNITS[name](W0 @ X.T + b0, q)  # (m, N, P)
        W1 = rng.normal(0.0, np.sqrt(sw / width), size=(m, d_out, width))
        b1 = rng.normal(0.0, np.sqrt(sb), size=(m, d_out, 1))
        out.append(np.swapaxes(W1 @ s + b1, 1, 2))
    return np.concatenate(out)


def sampled_cumulant(f, columns, batches=25):
    """Joint cumulant of the given columns (list of (input, species)), batch mean and stderr.

    κ = Σ_π (−1)^{|π|−1} (|π|−1)! Π_B E[Π_{k∈B} Y_k] over all set partitions π (SymPy).
    """
    n = len(columns)
    partitions = list(multiset_partitions(list(range(n))))
    values = []
    for part in np.array_split(f, batches):
        Y = [part[:, a, i] for a, i in columns]
        total = 0.0
        for p in partitions:
            term = (-1) ** (len(p) - 1) * math.factorial(len(p) - 1)
            for block in p:
                term *= np.mean(np.prod([Y[k] for k in block], axis=0))
            total += term
        values.append(total)
    return np.mean(values), np.std(values, ddof=1) / np.sqrt(batches)


SETUPS = {  # activation: (σ_W², σ_b², inputs for d_in = 1, for d_in = 2)
    "erf": (1.0, 1.0, [[-1.0], [0.2], [0.6]], [[-1.0, 0.3], [0.2, 0.8], [0.6, -0.4]]),
    "relu": (1.5, 0.3, [[0.2], [0.6], [1.2]], [[0.2, 1.0], [0.6, -0.5], [1.2, 0.1]]),
    # small variances: lognormal units, sampled high moments must be trustworthy
    "gauss": (0.3, 0.1, [[-0.3], [0.0], [0.3]], [[-0.3, 0.2], [0.0, -0.3], [0.3, 0.3]]),
}
TUPLES4 = [(0, 0, 0, 0), (0, 1, 2, 2), (0, 0, 1, 1), (0, 1, 1, 2)]
TUPLES6 = [(0, 0, 0, 0, 0, 0), (0, 1, 2, 0, 1, 2), (0, 0, 1, 1, 2, 2)]


@pytest.mark.parametrize("name", ["erf", "relu", "gauss"])
@pytest.mark.parametrize("d_in", [1, 2])
@pytest.mark.parametrize("width", [2, 10])
def test_connected_against_sampled_networks(name, d_in, width):
    sw, sb, X1, X2 = SETUPS[name]
    X = np.array(X1 if d_in == 1 else X2)
    rng = np.random.default_rng([width, d_in, len(name)])
    f = sample_nets(name, X, width, sw, sb, 300_000, rng)
    G4 = exact_connected(name, X, 4, width=width, sigma_w2=sw, sigma_b2=sb)
    pulls, signal = [], []
    for idx in TUPLES4:
        mean, se = sampled_cumulant(f, [(a, 0) for a in idx])
        pulls.append(abs(mean - G4[idx]) / se)
        signal.append(abs(G4[idx]) / se)
    # the non-Gaussian signal is resolved (many σ at N = 2), so the comparison has teeth
    assert max(signal) > (8 if width == 2 else 2), signal
    if width == 2:  # the 6-point connected part is O(1/N²): resolvable at N = 2
        G6 = exact_connected(name, X, 6, width=width, sigma_w2=sw, sigma_b2=sb)
        for idx in TUPLES6:
            mean, se = sampled_cumulant(f, [(a, 0) for a in idx])
            pulls.append(abs(mean - G6[idx]) / se)
    assert max(pulls) < 5.0, pulls


def test_full_and_species_against_sampled_networks():
    # d_out = 2: readout rows independent, hidden units shared between the two outputs
    sw, sb, X1, _ = SETUPS["relu"]
    X = np.array(X1)
    f = sample_nets("relu", X, 2, sw, sb, 300_000, np.random.default_rng(5), d_out=2)
    G4 = exact_connected("relu", X, 4, width=2, sigma_w2=sw, sigma_b2=sb, d_out=2)
    F4 = exact_full("relu", X, 4, width=2, sigma_w2=sw, sigma_b2=sb, d_out=2)
    assert G4.shape == F4.shape == (3,) * 4 + (2,) * 4
    signal = []
    for idx, species in [
        ((0, 1, 2, 2), (0, 0, 1, 1)),
        ((0, 0, 1, 1), (0, 1, 0, 1)),
        ((0, 1, 1, 2), (1, 1, 1, 1)),
    ]:
        columns = list(zip(idx, species, strict=True))
        mean, se = sampled_cumulant(f, columns)
        assert abs(mean - G4[idx + species]) < 5 * se
        signal.append(abs(G4[idx + species]) / se)
        samples = np.prod([f[:, a, i] for a, i in columns], axis=0)
        se_full = samples.std() / np.sqrt(samples.size)
        assert abs(samples.mean() - F4[idx + species]) < 5 * se_full
    assert min(signal) > 5, signal  # every species pattern resolved
    # an odd number of any species: zero
    assert np.all(G4[..., 0, 0, 0, 1] == 0.0) and np.all(F4[..., 1, 0, 0, 0] == 0.0)


def test_linear_net_closed_form_with_species():
    # σ = linear: u_i = w_i z, κ4 = v² [(Σ_pairings δδ)(Σ_pairings CC) − Σ_pairings δδ CC]
    X = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.7]])
    sw, sb, N, d = 1.3, 0.4, 3, 2
    C = sb + sw * X @ X.T / 2
    G4 = exact_connected("linear", X, 4, width=N, sigma_w2=sw, sigma_b2=sb, d_out=d)
    delta = np.eye(d)
    pairings = [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    for a in itertools.product(range(3), repeat=4):
        for i in itertools.product(range(d), repeat=4):
            dd = [delta[i[p], i[q]] * delta[i[r], i[s]] for (p, q), (r, s) in pairings]
            cc = [C[a[p], a[q]] * C[a[r], a[s]] for (p, q), (r, s) in pairings]
            expect = (
                sw**2 / N * (sum(dd) * sum(cc) - sum(x * y for x, y in zip(dd, cc, strict=True)))
            )
            assert G4[a + i] == pytest.approx(expect, rel=1e-12, abs=1e-14)


def test_full_is_sum_over_partitions_of_connected():
    X = np.array([[-0.5], [0.1], [0.9]])
    kw = {"width": 4, "sigma_w2": 1.2, "sigma_b2": 0.5}
    K = exact_connected("relu", X, 2, **kw)
    G4 = exact_connected("relu", X, 4, **kw)
    F4 = exact_full("relu", X, 4, **kw)
    a, b, c, e = 0, 1, 2, 2
    expect = K[a, b] * K[c, e] + K[a, c] * K[b, e] + K[a, e] * K[b, c] + G4[a, b, c, e]
    assert F4[a, b, c, e] == pytest.approx(expect, rel=1e-13)
    F6 = exact_full("relu", X, 6, **kw)
    G6 = exact_connected("relu", X, 6, **kw)
    idx = (0, 1, 2, 2, 1, 0)
    expect = G6[idx]
    for p in multiset_partitions(list(range(6))):
        if sorted(len(B) for B in p) == [2, 2, 2]:
            expect += np.prod([K[idx[B[0]], idx[B[1]]] for B in p])
        elif sorted(len(B) for B in p) == [2, 4]:
            B2, B4 = sorted(p, key=len)
            expect += K[idx[B2[0]], idx[B2[1]]] * G4[tuple(idx[k] for k in B4)]
    assert F6[idx] == pytest.approx(expect, rel=1e-13)


def test_width_scaling_and_odd_orders():
    X = np.array([[0.3, -0.2], [1.0, 0.5]])
    kw = {"sigma_w2": 1.1, "sigma_b2": 0.7}
    for n in (4, 6):
        base = exact_connected("gauss", X, n, width=1, **kw)
        for N in (3, 50):
            scaled = exact_connected("gauss", X, n, width=N, **kw) * N ** (n / 2 - 1)
            np.testing.assert_allclose(scaled, base, rtol=1e-13)
    K = exact_connected("gauss", X, 2, width=7, **kw)
    np.testing.assert_allclose(
        K, 0.7 + 1.1 * np.exp(-1.1 * ((X[:, None] - X[None]) ** 2).sum(-1) / 4)
    )
    assert not np.any(exact_connected("erf", X, 3, width=2, **kw))
    assert exact_full("erf", X, 5, width=2, d_out=3, **kw).shape == (2,) * 5 + (3,) * 5


def test_relu_positive_homogeneity_structure():
    # σ_b = 0: f(λx) = λ f(x) for λ > 0, so G_n(λx) = λ^n G_n(x); in d_in = 1 with x > 0 every
    # correlator is Π x_a times its value at x = 1 (C has rank 1)
    kw = {"width": 5, "sigma_w2": 2.0, "sigma_b2": 0.0}
    X = np.array([[0.4, -0.3], [1.0, 0.7], [-0.2, 1.1]])
    for n in (4, 6):
        np.testing.assert_allclose(
            exact_connected("relu", 2.5 * X, n, **kw),
            2.5**n * exact_connected("relu", X, n, **kw),
            rtol=1e-11,
        )
    x = np.array([0.2, 0.7, 1.3])
    G4 = exact_connected("relu", x[:, None], 4, **kw)
    unit = exact_connected("relu", [[1.0]], 4, **kw)[0, 0, 0, 0]
    np.testing.assert_allclose(G4, unit * np.einsum("a,b,c,d->abcd", x, x, x, x), rtol=1e-13)


def test_bad_input():
    kw = {"sigma_w2": 1.0, "sigma_b2": 1.0}
    with pytest.raises(ArgumentError, match="width"):
        exact_connected("erf", [[0.0]], 4, width=0, **kw)
    with pytest.raises(ArgumentError, match="sigma_b2"):
        exact_full("erf", [[0.0]], 4, width=2, sigma_w2=1.0, sigma_b2=-1.0)
    with pytest.raises(ArgumentError, match="order"):
        exact_connected("erf", [[0.0]], 0, width=2, **kw)
    with pytest.raises(ArgumentError, match="'X'"):
        exact_connected("erf", [[np.inf]], 4, width=2, **kw)
    with pytest.raises(UnsupportedError, match="order"):
        exact_connected("erf", np.zeros((20, 1)), 8, width=2, d_out=3, **kw)
    with pytest.raises(ArgumentError, match="d_out"):
        exact_connected("erf", [[0.0]], 4, width=2, d_out=0, **kw)


# --- large pre-activation variance: the right number or an error (issue 14) ------------------
@pytest.mark.parametrize(
    ("x", "n", "rtol"),
    [(100.0, 4, 1e-11), (300.0, 4, 1e-11), (1000.0, 4, 1e-10), (1e5, 4, 1e-9), (1000.0, 6, 1e-9)],
)
def test_erf_connected_at_large_variance_against_mpmath(x, n, rtol):
    # was 17 % off at x = 100 and of the wrong sign from x = 300, with a mild warning
    # (filterwarnings=error: any warning now fails this test)
    value = exact_connected("erf", [[x]], n, width=4, sigma_w2=1.0, sigma_b2=0.0)
    reference = erf_connected_mp(x, n, 4)
    assert value.ravel()[0] == pytest.approx(reference, rel=rtol)


def test_erf_connected_quoted_values_at_large_variance():
    # the mpmath values quoted in issue 14 (0.00332 / 0.00111 / 0.000335), to five digits
    G = [
        exact_connected("erf", [[x]], 4, width=4, sigma_w2=1.0, sigma_b2=0.0).ravel()[0]
        for x in (100.0, 300.0, 1000.0)
    ]
    np.testing.assert_allclose(G, [0.0033210, 0.0011138, 0.00033484], rtol=5e-5)


@pytest.mark.parametrize(
    ("x1", "x2", "rtol"), [(5.0, -3.0, 1e-12), (100.0, -50.0, 1e-8), (60.0, 59.0, 1e-7)]
)
def test_erf_connected_two_inputs_at_large_variance_against_mpmath(x1, x2, rtol):
    # rank 2 beyond the lattice (q > 16): order 4 from the Plackett integral, checked on the
    # entries (a a a b) against a 1-d mpmath integral (z_b given z_a is Gaussian)
    X = [[x1], [x2]]
    G4 = exact_connected("erf", X, 4, width=1, sigma_w2=1.0, sigma_b2=1.0)
    C = preactivation_covariance(X, sigma_w2=1.0, sigma_b2=1.0)
    for i, j, entry in ((0, 1, (0, 0, 0, 1)), (1, 0, (0, 1, 1, 1))):
        m4 = erf_three_one_mp(C, i, j)
        m2_aa = float(erf_pair_mp(C[i, i], C[i, i], C[i, i]))
        m2_ab = float(erf_pair_mp(C[0, 0], C[1, 1], C[0, 1]))
        reference = 3 * m4 - 3 * m2_aa * m2_ab
        assert G4[entry] == pytest.approx(reference, rel=rtol)


@pytest.mark.parametrize(
    ("X", "kw", "argument"),
    [
        ([[1e77]], {"sigma_w2": 1.0, "sigma_b2": 0.0}, "'X'"),  # was 0.745 (true ~1e-78)
        ([[1e10]], {"sigma_w2": 1.0, "sigma_b2": 0.0}, "'X'"),  # moments 1 − 1e-10: lost
        ([[300.0], [200.0]], {"sigma_w2": 1.0, "sigma_b2": 1.0}, "'X'"),  # rank 2, κ = 2e5
        ([[1.0], [2.0]], {"sigma_w2": 1e8, "sigma_b2": 1.0}, "sigma_w2"),
    ],
)
def test_erf_connected_refuses_what_cancellation_destroyed(X, kw, argument):
    with pytest.raises(UnsupportedError, match=argument) as info:
        exact_connected("erf", X, 4, width=4, **kw)
    assert "cancellation" in str(info.value)


def test_overflowing_moments_and_widths_are_named_errors():
    kw = {"sigma_w2": 1.0, "sigma_b2": 1.0}
    with pytest.raises(ArgumentError, match="'X'"):  # was OverflowError
        exact_connected("relu", [[1e100]], 4, width=4, **kw)
    with pytest.raises(ArgumentError, match="'X'"):  # was inf with a RuntimeWarning
        exact_connected("gauss", [[1e3]], 4, width=4, **kw)
    with pytest.raises(ArgumentError, match="'width'"):  # was OverflowError
        exact_connected("relu", [[1.0]], 4, width=10**400, **kw)
    # width 10**300 is accepted and exactly 1/N: N G4 is width-independent
    ref = exact_connected("erf", [[0.5]], 4, width=10, **kw) * 10
    huge = exact_connected("erf", [[0.5]], 4, width=10**300, **kw) * 1e300
    np.testing.assert_allclose(huge, ref, rtol=1e-14)


def test_lambda_at_huge_width_is_exactly_one_over_width():
    # GP − G4 is −G4_c = −N κ4: read directly, λ·N is constant to rounding (the difference
    # lost precision from N ≈ 1e13 and was exactly 0 from 1e15)
    from fieldnn.ensembles import SingleLayerNet
    from fieldnn.experiments.couplings import measure_lambda

    X = [[-0.5], [0.0], [0.5]]
    ref = measure_lambda(SingleLayerNet("erf", 10), X, cutoff=2.0).values * 10
    for N in (10**13, 10**15, 10**16, 10**100):
        lam = measure_lambda(SingleLayerNet("erf", N), X, cutoff=2.0).values
        np.testing.assert_allclose(lam * N, ref, rtol=1e-12)
