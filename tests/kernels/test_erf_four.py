"""Four-point erf moments by Plackett's reduction (fieldnn.kernels._erf_four), checked.

Independent references: the lattice quadrature of ``product_moments`` (rank ≤ 4), plain Monte
Carlo, 30-digit mpmath (a 1-d integral for ⟨erf⁴⟩, and Plackett's identity along a *different*
path, R(t) = 1 + t (R − 1), with its own partial correlations from a 2×2 matrix inverse), exact
factorisation for block-diagonal K, and the old quadrature recursion for V.
"""

from __future__ import annotations

import itertools
import os

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erf

from fieldnn.kernels import _erf_four, get_activation, pair_expectation, product_moments
from fieldnn.kernels._deep_gaussian import connected_four, pair_terms
from fieldnn.kernels._erf_four import default_rule, erf_four_moments, erf_four_values
from fieldnn.kernels._quadrature import rank_factor
from fieldnn.kernels.deep import four_point_vertex
from fieldnn.kernels.gaussian import _smooth_moments, scatter_symmetric, unique_multisets


def gram(X, c_w=1.0, c_b=0.0):
    X = np.asarray(X, dtype=float)
    return c_b + c_w * X @ X.T / X.shape[1]


def mp_orthant(Sigma) -> mp.mpf:
    """E Π sign(u_m), u ~ N(0, Σ) (4×4), at 30 digits: Plackett along R(t) = 1 + t(R − 1)."""
    with mp.workdps(30):
        S = mp.matrix(Sigma)
        R = mp.matrix(4, 4)
        for i, j in itertools.product(range(4), repeat=2):
            R[i, j] = S[i, j] / mp.sqrt(S[i, i] * S[j, j])

        def partial(t, i, j, k, l):
            # conditional covariance of (u_k, u_l) given (u_i, u_j), entries of R scaled by t
            r, ki, kj, li, lj = (t * R[a, b] for a, b in ((i, j), (k, i), (k, j), (l, i), (l, j)))
            det = 1 - r * r
            ckl = t * R[k, l] - (ki * li - r * (ki * lj + kj * li) + kj * lj) / det
            ckk = 1 - (ki * ki - 2 * r * ki * kj + kj * kj) / det
            cll = 1 - (li * li - 2 * r * li * lj + lj * lj) / det
            return ckl / mp.sqrt(ckk * cll)

        def integrand(t):
            total = mp.mpf(0)
            for i, j in itertools.combinations(range(4), 2):
                k, l = (m for m in range(4) if m not in (i, j))
                total += R[i, j] * mp.asin(partial(t, i, j, k, l)) / mp.sqrt(1 - (t * R[i, j]) ** 2)
            return 4 / mp.pi**2 * total

        return mp.quad(integrand, [0, 0.5, 0.9, 0.99, 1])


def sigma(K, idx):
    return K[np.ix_(idx, idx)] + 0.5 * np.eye(4)


# --------------------------------------------------------------------------------------------
# derivation checks
# --------------------------------------------------------------------------------------------
def test_erf_is_an_average_of_signs() -> None:
    """erf z = E_ξ sign(z − ξ/√2) = 2Φ(√2 z) − 1: the representation the reduction starts from."""
    from scipy.special import ndtr

    z = np.linspace(-3.0, 3.0, 13)
    np.testing.assert_allclose(2 * ndtr(np.sqrt(2) * z) - 1, erf(z), rtol=1e-14, atol=1e-16)


def test_order_two_reduction_is_the_erf_kernel() -> None:
    """A pair of positions in block 1 alone: (2/π) arcsin ρ12 = the closed erf kernel."""
    K = gram([[0.8, -0.3], [0.1, 1.2]], 1.3, 0.4)
    # ⟨erf_a erf_b · erf_c erf_c⟩ with c independent of a, b (block-diagonal K) factorises
    Kb = np.zeros((3, 3))
    Kb[:2, :2] = K
    Kb[2, 2] = 0.7
    M = erf_four_moments(Kb)
    H = pair_expectation("erf", K[0, 0], K[1, 1], K[0, 1])
    g = pair_expectation("erf", 0.7, 0.7, 0.7)
    assert M[0, 1, 2, 2] == pytest.approx(float(H * g), abs=1e-15)


def test_block_diagonal_kernel_factorises() -> None:
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    K = np.zeros((4, 4))
    K[:2, :2], K[2:, 2:] = A @ A.T, B @ B.T
    M = erf_four_moments(K)
    H = pair_expectation("erf", *(np.diag(K)[:, None], np.diag(K)[None, :]), K)
    for a, b, c, d in itertools.product((0, 1), (0, 1), (2, 3), (2, 3)):
        assert M[a, b, c, d] == pytest.approx(H[a, b] * H[c, d], abs=1e-15)
    assert M[0, 0, 0, 2] == 0.0 and M[0, 2, 2, 3] == 0.0  # odd in one block


def test_zero_variance_input_gives_zero() -> None:
    K = np.zeros((3, 3))
    K[:2, :2] = gram([[1.0], [-0.5]])
    M = erf_four_moments(K)
    assert np.all(M[2] == 0.0) and np.all(np.isfinite(M))
    assert np.all(erf_four_moments(np.zeros((2, 2))) == 0.0)


# --------------------------------------------------------------------------------------------
# against independent numerics
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("X", "c_w", "c_b"),
    [([[-0.8], [0.3], [1.1]], 1.3, 0.6), ([[0.3, -0.5], [1.0, 0.2], [-0.7, 0.8]], 1.0, 0.5)],
)
def test_against_lattice_quadrature(X, c_w, c_b) -> None:
    """product_moments (lattice trapezoid, converged to 1e-11 of the scale) at ranks 2 and 3."""
    K = gram(X, c_w, c_b)
    np.testing.assert_allclose(erf_four_moments(K), product_moments("erf", K, 4), atol=1e-11)


def test_against_lattice_quadrature_rank_four() -> None:
    """At rank 4 the lattice cannot refine within its point budget and says so; it agrees to
    1e-9, and the largest difference is the lattice's: mpmath sides with the reduction."""
    X = np.array([[0.3, -0.5, 0.1], [1.0, 0.2, -0.4], [-0.7, 0.8, 0.9], [0.2, 0.1, 1.0]])
    K = gram(X, 1.0, 0.3)
    M = erf_four_moments(K)
    # the lattice itself (product_moments takes erf order 4 at rank >= 3 from the Plackett rule)
    with pytest.warns(RuntimeWarning, match="converged only"):
        lattice = _smooth_moments(get_activation("erf"), K, rank_factor(K), (4,))[4][0]
    Q = scatter_symmetric(lattice, 4, 4)
    np.testing.assert_allclose(M, Q, atol=1e-9)
    np.testing.assert_allclose(product_moments("erf", K, 4), M, rtol=0, atol=1e-15)
    idx = np.unravel_index(np.argmax(np.abs(M - Q)), M.shape)
    ref = float(mp_orthant(sigma(K, list(idx)).tolist()))
    assert abs(M[idx] - ref) < 1e-15 < abs(Q[idx] - ref)


def test_against_monte_carlo() -> None:
    rng = np.random.default_rng(2024)
    K = gram(rng.normal(size=(4, 3)), 1.5, 0.2)
    s = erf(rng.multivariate_normal(np.zeros(4), K, size=1_000_000, method="cholesky"))
    M = erf_four_moments(K)
    for idx in unique_multisets(4, 4):
        samples = np.prod(s[:, idx], axis=1)
        se = samples.std() / np.sqrt(samples.size)
        assert abs(samples.mean() - M[tuple(idx)]) < 5 * se


def test_single_input_against_one_dimensional_mpmath() -> None:
    """⟨erf(z)⁴⟩, z ~ N(0, k): the four positions are one input (ρ = k/(k + ½) everywhere)."""
    for k, tol in ((0.05, 1e-16), (1.0, 1e-15), (30.0, 1e-13), (1e4, 1e-9)):
        with mp.workdps(30):
            ref = mp.quad(
                lambda x, k=k: mp.erf(mp.sqrt(k) * x) ** 4 * mp.npdf(x), [-mp.inf, 0, mp.inf]
            )
        assert float(erf_four_moments(np.array([[k]]))[0, 0, 0, 0]) == pytest.approx(
            float(ref), abs=tol
        )


@pytest.mark.parametrize(
    ("name", "K"),
    [
        ("generic", gram([[0.9, -0.2], [0.1, 1.1], [-0.6, 0.4], [0.3, 0.3]], 1.2, 0.1)),
        ("nearly collinear", gram([[1.0, 0.5], [1.0 + 1e-7, 0.5], [-1.0, -0.5], [2.0, 1.0]])),
        ("large K", gram([[0.9, -0.2], [0.1, 1.1], [-0.6, 0.4], [0.3, 0.3]], 1e4)),
        (
            "zero entries",
            np.diag([0.7, 0.0, 1.3, 0.4])
            + np.diag([0.0, 0.0, 0.3], 1).T
            + np.diag([0.0, 0.0, 0.3], 1),
        ),
    ],
)
def test_against_mpmath_on_another_path(name, K) -> None:
    tol = 1e-10 if name == "large K" else 1e-14
    M = erf_four_moments(K)
    for idx in [(0, 1, 2, 3), (0, 0, 2, 3), (0, 1, 1, 1)]:
        assert M[idx] == pytest.approx(float(mp_orthant(sigma(K, list(idx)).tolist())), abs=tol)


def test_default_rule_accuracy_and_error_estimate() -> None:
    """Default rule vs a much finer one over κ from 1.3 to 2·10³ (the table in docs/eft.md)."""
    rng = np.random.default_rng(11)
    for kmax in (0.15, 1.0, 10.0, 1e3):
        X = rng.normal(size=(5, 2))
        X[1] = X[0] + 1e-3 * rng.normal(size=2)  # a near-duplicate pair
        X[2] = -1.5 * X[0]  # an antipodal one
        K = gram(X, 1.0, 0.3)
        K *= kmax / np.max(np.diag(K))
        m, _ = default_rule(1 + 2 * kmax)
        fine = erf_four_values(K, (m + 6, 16))
        value = erf_four_values(K)
        assert np.max(np.abs(value - fine)) < 2e-13
        M, err = erf_four_moments(K, return_error=True)
        true = np.abs(M - erf_four_moments(K, rule=(m + 6, 16)))
        assert np.all(true <= err + 1e-15)
        assert np.max(err) < 1e-9


def test_compiled_loop_matches_numpy_reference(monkeypatch) -> None:
    """The optional numba loop (if numba is installed) equals the NumPy path to rounding;
    FIELDNN_NUMBA=0 switches it off."""
    pytest.importorskip("numba")
    if os.environ.get("FIELDNN_NUMBA") == "0":
        pytest.skip("FIELDNN_NUMBA=0")
    assert _erf_four.compiled_loop() is not None
    rng = np.random.default_rng(8)
    for scale in (0.1, 1.0, 50.0):
        K = gram(rng.normal(size=(6, 2)), scale, 0.2)
        np.testing.assert_allclose(
            erf_four_values(K), erf_four_values(K, accelerate=False), rtol=0, atol=1e-15
        )
    monkeypatch.setenv("FIELDNN_NUMBA", "0")
    monkeypatch.setattr(_erf_four, "_KERNEL", [])
    assert _erf_four.compiled_loop() is None


@settings(max_examples=5, deadline=None)
@given(
    data=st.lists(st.floats(-2.0, 2.0), min_size=4, max_size=4),
    c_b=st.floats(0.0, 1.0),
)
def test_symmetric_and_equal_to_quadrature(data, c_b) -> None:
    """Four scalar inputs (rank ≤ 2, where the lattice converges): the full tensor."""
    K = gram(np.array(data).reshape(4, 1), 1.0, c_b)
    M = erf_four_moments(K)
    for perm in itertools.permutations(range(4)):
        np.testing.assert_array_equal(M, M.transpose(perm))
    np.testing.assert_allclose(M, product_moments("erf", K, 4), atol=1e-11)


# --------------------------------------------------------------------------------------------
# wired into the deep recursion
# --------------------------------------------------------------------------------------------
def _quadrature_erf():
    """erf as a user activation: no closed forms, so every step takes the quadrature path."""

    def erf_user(z):
        return erf(z)

    def erf_user_d(z):
        return 2.0 / np.sqrt(np.pi) * np.exp(-z * z)

    return get_activation(erf_user, derivative=erf_user_d)


def test_closed_form_d1_against_stein_quadrature() -> None:
    K = gram([[0.8, -0.3], [0.1, 1.2], [-1.0, 0.4]], 1.4, 0.2)
    D1, D3, second = pair_terms(get_activation("erf"), K)
    assert second is None
    D1q, D3q, _ = pair_terms(_quadrature_erf(), K)
    np.testing.assert_allclose(D1, D1q, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(D3, D3q, rtol=1e-10)


@pytest.mark.parametrize("P", [2, 3])
def test_vertex_new_path_against_old_path(P) -> None:
    X = np.random.default_rng(3).normal(size=(P, 2))
    widths = [2, 30, 40, 50, 60, 1]
    new = four_point_vertex("erf", X, C_W=1.2, C_b=0.0, widths=widths, all_layers=True)
    old = four_point_vertex(_quadrature_erf(), X, C_W=1.2, C_b=0.0, widths=widths, all_layers=True)
    for v_new, v_old in zip(new, old, strict=True):
        np.testing.assert_allclose(v_new, v_old, rtol=0, atol=1e-9 * np.max(np.abs(v_old)) + 1e-15)


def test_connected_four_at_ten_inputs_matches_subsets() -> None:
    """P = 10 in one call equals the 4-input calls on a few subsets (no 4-subset loop)."""
    rng = np.random.default_rng(5)
    K = gram(rng.normal(size=(10, 3)), 1.0, 0.1)
    act = get_activation("erf")
    full = connected_four(act, K)
    for S in ([0, 3, 5, 9], [1, 2, 2, 7], [4, 6, 8, 8]):
        idx = np.ix_(S, S, S, S)
        np.testing.assert_allclose(full[idx], connected_four(act, K[np.ix_(S, S)]), atol=1e-13)


def test_sign_moment4_log_rule_on_nearly_collinear_matrices() -> None:
    """The default of sign_moment4 (log_rule for 3 ≤ m ≤ 16, m = ⌈log₂ κ − ½⌉, κ = 1/λ_min)
    against the graded rule with m + 6 panels of 16 nodes, for correlations up to 1 − 1e-7
    (deep relu layers: κ ≈ 2.5·10⁴, m = 15): quadrature-accurate for m ≤ 12, rounding-limited
    beyond; for m > 16 the graded rule of default_rule, unchanged."""
    rng = np.random.default_rng(3)
    common = rng.normal(size=(60, 1, 5))
    spread = 10.0 ** rng.uniform(-3.0, 0.0, size=(60, 1, 1))
    X = common + spread * rng.normal(size=(60, 4, 5))
    K = X @ X.transpose(0, 2, 1)
    d = np.sqrt(np.einsum("bii->bi", K))
    R = K / (d[:, :, None] * d[:, None, :])
    lam = np.linalg.eigvalsh(R)[:, 0]
    m = _erf_four._panels(1.0 / lam)
    assert m.min() <= 3 and m.max() >= 17
    value = _erf_four.sign_moment4(R, lam=lam)
    for mm in np.unique(m).tolist():
        rows = m == mm
        if mm > 16:
            graded = _erf_four.sign_moment4(R[rows], rule=default_rule(2.0**mm))
            np.testing.assert_array_equal(value[rows], graded)
            continue
        fine = _erf_four.sign_moment4(R[rows], rule=(mm + 6, 16))
        assert np.max(np.abs(value[rows] - fine)) < (2e-13 if mm <= 12 else 1e-11), mm


def test_thread_count_honours_affinity_and_environment(monkeypatch) -> None:
    """Threads: the CPUs of the affinity mask, capped by FIELDNN/NUMBA/OMP thread variables."""

    def count() -> int:
        _erf_four.thread_count.cache_clear()
        return _erf_four.thread_count()

    for name in ("FIELDNN_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    try:
        cpus = len(os.sched_getaffinity(0))
        assert count() == cpus
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert count() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "junk")
        monkeypatch.setenv("NUMBA_NUM_THREADS", str(cpus + 5))
        assert count() == cpus
    finally:
        monkeypatch.undo()
        _erf_four.thread_count.cache_clear()


def test_run_split_cuts_between_owners(monkeypatch) -> None:
    """Ranges cover all items once, in order, and never split one owner's items."""
    monkeypatch.setattr(_erf_four, "thread_count", lambda: 3)
    owner = np.repeat(np.arange(7), [4, 1, 6, 2, 2, 5, 1])
    ranges: list[tuple[int, int]] = []
    _erf_four.run_split(lambda lo, hi: ranges.append((lo, hi)), owner, _erf_four.BREAK_EVEN)
    ranges.sort()
    assert ranges[0][0] == 0 and ranges[-1][1] == owner.size and len(ranges) == 3
    for (_, hi), (lo, _) in itertools.pairwise(ranges):
        assert hi == lo and owner[lo] != owner[lo - 1]
    ranges.clear()
    _erf_four.run_split(lambda lo, hi: ranges.append((lo, hi)), owner, 1.0)
    assert ranges == [(0, owner.size)]


def test_threads_give_bitwise_identical_moments(monkeypatch) -> None:
    """erf moments and four-sign moments on 1 and on 2 threads (forced): bitwise equal."""
    if _erf_four.compiled_loop() is None:
        pytest.skip("no compiled loop (numba missing or FIELDNN_NUMBA=0)")
    rng = np.random.default_rng(11)
    K = gram(rng.normal(size=(9, 3)), 3.0, 0.1)
    R = np.array([np.corrcoef(rng.normal(size=(4, 6))) for _ in range(150)])
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(_erf_four, "thread_count", lambda n=threads: n)
        monkeypatch.setattr(_erf_four, "BREAK_EVEN", 0)
        results.append((erf_four_values(K), _erf_four.sign_moment4(R)))
    for one, two in zip(*results, strict=True):
        assert np.array_equal(one, two)
