"""The moment accumulator against direct computations on the same samples."""

from __future__ import annotations

import importlib.util
import itertools
import math

import mpmath
import numpy as np
import pytest

from fieldnn.ensembles import ChunkSums, MomentAccumulator
from fieldnn.ensembles._guards import estimate_cost
from fieldnn.ensembles.accumulate import (
    _rank,
    cumulants_from_moments,
    expand_symmetric,
    multisets,
)
from fieldnn.errors import ArgumentError, ArgumentTypeError


def _accumulate(samples: np.ndarray, chunk: int, max_order: int) -> MomentAccumulator:
    ref = samples[:chunk].mean(axis=0)
    acc = MomentAccumulator(samples.shape[1], max_order, ref)
    for start in range(0, len(samples), chunk):
        acc.add(ChunkSums.from_samples(samples[start : start + chunk], ref, max_order))
    return acc


def _brute_cumulant4(y: np.ndarray) -> np.ndarray:
    """Fourth joint cumulant of the empirical distribution, by the textbook central formula."""
    c = y - y.mean(axis=0)
    m4 = np.einsum("ni,nj,nk,nl->ijkl", c, c, c, c) / len(y)
    m2 = c.T @ c / len(y)
    return (
        m4
        - np.einsum("ij,kl->ijkl", m2, m2)
        - np.einsum("ik,jl->ijkl", m2, m2)
        - np.einsum("il,jk->ijkl", m2, m2)
    )


def test_moments_and_cumulants_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    y = rng.gamma(2.0, size=(900, 3)) @ np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.5], [0, 0, 1]])
    acc = _accumulate(y, 100, 4)
    full3 = expand_symmetric(acc.moments(3), 3, 3)
    np.testing.assert_allclose(full3, np.einsum("ni,nj,nk->ijk", y, y, y) / len(y), rtol=1e-12)
    np.testing.assert_allclose(expand_symmetric(acc.cumulants(1), 3, 1), y.mean(axis=0))
    np.testing.assert_allclose(
        expand_symmetric(acc.cumulants(2), 3, 2), np.cov(y.T, bias=True), rtol=1e-12
    )
    np.testing.assert_allclose(
        expand_symmetric(acc.cumulants(4), 3, 4), _brute_cumulant4(y), rtol=1e-10, atol=1e-12
    )


def test_unique_multisets_and_expansion() -> None:
    assert len(multisets(6, 6)) == math.comb(11, 6)
    vals = np.arange(len(multisets(4, 3)), dtype=float)
    t = expand_symmetric(vals, 4, 3)
    for idx in itertools.product(range(4), repeat=3):
        for perm in itertools.permutations(idx):
            assert t[perm] == t[idx]
    assert len(np.unique(t)) == len(vals)


def test_merge_equals_sequential_add() -> None:
    """Two accumulators of consecutive chunk ranges, merged: the same as adding chunk by chunk."""
    rng = np.random.default_rng(1)
    y = rng.normal(size=(600, 2)) + 5.0
    ref = y[:100].mean(axis=0)
    seq = _accumulate(y, 100, 3)
    left, right = MomentAccumulator(2, 3, ref), MomentAccumulator(2, 3, ref)
    for start in range(0, 600, 100):
        part = left if start < 300 else right
        part.add(ChunkSums.from_samples(y[start : start + 100], ref, 3))
    left.merge(right)
    for k in (1, 2, 3):
        for connected in (True, False):
            np.testing.assert_allclose(
                left.stderr(k, connected=connected),
                seq.stderr(k, connected=connected),
                rtol=1e-9,
            )
        np.testing.assert_allclose(left.cumulants(k), seq.cumulants(k), rtol=1e-13)
    with pytest.raises(ArgumentError, match="'other'"):
        left.merge(MomentAccumulator(2, 3, ref + 1.0))


def test_batch_means_error_is_calibrated() -> None:
    """The stderr of the mean and the variance of Gaussian data against their exact values."""
    rng = np.random.default_rng(3)
    n, B = 40_000, 80
    y = rng.normal(1.0, 2.0, size=(n, 1))
    acc = _accumulate(y, n // B, 2)
    # exact: sd(mean) = σ/√n; sd(plug-in variance) ≈ √(2/n) σ²; relative error of a batch-means
    # estimate from B batches ≈ 1/√(2(B−1)) = 8 %: allow 30 %
    assert acc.stderr(1)[0] == pytest.approx(2.0 / math.sqrt(n), rel=0.3)
    assert acc.stderr(2)[0] == pytest.approx(math.sqrt(2.0 / n) * 4.0, rel=0.3)
    single = _accumulate(y[:100], 100, 2)
    assert np.isnan(single.stderr(2)[0])  # one batch: no error estimate


def test_large_mean_no_cancellation() -> None:
    """Outputs ~1e6 with O(1) spread: cumulants agree with 50-digit arithmetic; raw sums do not."""
    rng = np.random.default_rng(4)
    y = 1.0e6 + rng.standard_t(8, size=(400, 2))
    acc = _accumulate(y, 50, 4)
    with mpmath.workdps(50):
        cols = [[mpmath.mpf(float(v)) for v in y[:, j]] for j in range(2)]
        mean = [mpmath.fsum(c) / len(c) for c in cols]
        cen = [[v - mean[j] for v in cols[j]] for j in range(2)]

        def central(*js: int) -> mpmath.mpf:
            return mpmath.fsum(mpmath.fprod(cen[j][r] for j in js) for r in range(len(y))) / len(y)

        k4 = central(0, 0, 1, 1) - central(0, 0) * central(1, 1) - 2 * central(0, 1) ** 2
        k2 = central(0, 1)
    got4 = expand_symmetric(acc.cumulants(4), 2, 4)[0, 0, 1, 1]
    got2 = expand_symmetric(acc.cumulants(2), 2, 2)[0, 1]
    assert abs(got4 - float(k4)) <= 1e-9 * abs(float(k4)) + 1e-12
    assert abs(got2 - float(k2)) <= 1e-9 * abs(float(k2)) + 1e-12
    # the naive unshifted route loses everything at this mean (so the test can fail)
    naive2 = np.mean(y[:, 0] * y[:, 1]) - y[:, 0].mean() * y[:, 1].mean()
    assert abs(naive2 - float(k2)) > 1e-6 * abs(float(k2))


def test_state_round_trip() -> None:
    y = np.random.default_rng(5).normal(size=(300, 3))
    acc = _accumulate(y, 100, 3)
    back = MomentAccumulator.from_state(acc.state())
    for k in (1, 2, 3):
        assert np.array_equal(back.cumulants(k), acc.cumulants(k))
        assert np.array_equal(back.stderr(k, connected=False), acc.stderr(k, connected=False))


def test_non_integer_order_is_a_type_error() -> None:
    acc = _accumulate(np.random.default_rng(6).normal(size=(20, 2)), 10, 2)
    with pytest.raises(ArgumentTypeError, match=r"'order'.*integer"):
        acc.moments(1.5)
    with pytest.raises(ArgumentError, match=r"'order'.*between 1 and 2"):
        acc.cumulants(3)


def test_compiled_power_sums_are_bitwise_the_array_api_ones() -> None:
    """numba's power sums (if installed) add the same products in the same order."""
    from fieldnn.ensembles.accumulate import _power_sums_kernel, _power_sums_xp

    kernel = _power_sums_kernel()
    if importlib.util.find_spec("numba") is None:
        assert kernel is None
        return
    y = np.random.default_rng(8).standard_normal((257, 5)) * 10.0
    for max_order, rows in ((1, 100), (4, 60), (6, 1000)):
        got = kernel(y, max_order, rows)
        want = _power_sums_xp(y, max_order, rows)
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    # and they are power sums: order 3 at sites (0, 1, 1)
    third = kernel(y, 3, 100)[2][int(_rank(np.array([[0, 1, 1]]), 5)[0])]
    assert np.isclose(third, np.sum(y[:, 0] * y[:, 1] ** 2), rtol=1e-12)


def _set_partitions(items: list[int]) -> list[list[list[int]]]:
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for part in _set_partitions(rest):
        out.append([[first], *part])
        for i in range(len(part)):
            out.append([*part[:i], [first, *part[i]], *part[i + 1 :]])
    return out


def test_cumulant_recursion_equals_the_set_partition_formula() -> None:
    """Order 6 on 3 sites from the sample moments of 200 rows: the 2^(n-1)-term recursion
    against the moment–cumulant formula summed over all 203 set partitions, in exact rational
    arithmetic of the same floating-point moments."""
    from fractions import Fraction

    y = np.random.default_rng(9).standard_t(5, size=(200, 3))
    order, n_sites = 6, 3
    moments = [
        np.array([np.mean(np.prod(y[:, list(m)], axis=1)) for m in multisets(n_sites, k)])
        for k in range(1, order + 1)
    ]
    got = cumulants_from_moments(moments, n_sites, order)
    parts = _set_partitions(list(range(order)))
    assert len(parts) == 203
    for i, ms in enumerate(multisets(n_sites, order)):
        total = Fraction(0)
        for part in parts:
            term = Fraction((-1) ** (len(part) - 1) * math.factorial(len(part) - 1))
            for block in part:
                sub = sorted(ms[j] for j in block)
                term *= Fraction(float(moments[len(sub) - 1][_rank(np.array([sub]), 3)[0]]))
            total += term
        assert abs(got[i] - float(total)) <= 1e-12 * max(1.0, abs(float(total)))


def test_cost_estimate_counts_multisets_and_tensor() -> None:
    cost = estimate_cost(30, 6, (6,))
    assert cost["multisets"] == sum(math.comb(29 + k, k) for k in range(1, 7))
    assert cost["bytes"] > 30**6 * (4 * 6 + 32)  # the order-6 tensor alone
    assert estimate_cost(3, 12, (12,))["bytes"] < 2**28
