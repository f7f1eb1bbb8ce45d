"""The combined K + Θ recursion, cross-kernels, and the compiled fused pair step."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from fieldnn.errors import ArgumentError, ArgumentTypeError, ShapeError
from fieldnn.kernels import _pairs
from fieldnn.kernels.activations import get_activation, leaky_relu
from fieldnn.kernels.deep import kernel_and_ntk, kernel_recursion, ntk_recursion

CASES = [
    ("relu", 2.0, 0.0),
    ("relu", 2.0, 0.3),
    ("leaky_relu", 1.2, 0.1),
    ("erf", 1.0, 0.0),
    ("erf", 3.0, 0.5),
]


def _inputs() -> np.ndarray:
    """Generic inputs, a zero input, tiny and huge ones, near-duplicates and an antipode."""
    rng = np.random.default_rng(3)
    X = np.vstack(
        [
            rng.normal(size=(12, 3)),
            np.zeros((1, 3)),
            1e-3 * rng.normal(size=(2, 3)),
            50 * rng.normal(size=(2, 3)),
        ]
    )
    return np.vstack([X, X[:2] * (1 + 1e-12), -X[2:3]])


def _numpy_path(fn):
    """Run ``fn`` with the compiled pair step switched off (the NumPy closed forms)."""
    saved = list(_pairs._LOOPS)
    _pairs._LOOPS[:] = [None]
    try:
        return fn()
    finally:
        _pairs._LOOPS[:] = saved


@pytest.mark.parametrize(("act", "cw", "cb"), CASES)
def test_old_calls_bitwise_the_numpy_closed_forms(act, cw, cb):
    X = _inputs()

    def both():
        return (
            kernel_recursion(act, X, C_W=cw, C_b=cb, depth=12),
            ntk_recursion(act, X, C_W=cw, C_b=cb, lambda_W=0.7, lambda_b=0.2, depth=12),
        )

    if _pairs.compiled_loops() is None:
        pytest.skip("numba not available: only the NumPy path exists")
    (Kc, Tc), (Kn, Tn) = both(), _numpy_path(both)
    assert all(np.array_equal(a, b) for a, b in zip(Kc, Kn, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(Tc, Tn, strict=True))


@pytest.mark.parametrize(("act", "cw", "cb"), CASES)
def test_combined_equals_the_two_recursions(act, cw, cb):
    X = _inputs()
    K, T = kernel_and_ntk(act, X, C_W=cw, C_b=cb, lambda_W=0.7, lambda_b=0.2, depth=9)
    Ks, Ts = kernel_and_ntk(
        act, X, C_W=cw, C_b=cb, lambda_W=0.7, lambda_b=0.2, depth=9, all_layers=True
    )
    assert len(Ks) == len(Ts) == 9
    assert np.array_equal(K, kernel_recursion(act, X, C_W=cw, C_b=cb, depth=9)[-1])
    T_old = ntk_recursion(act, X, C_W=cw, C_b=cb, lambda_W=0.7, lambda_b=0.2, depth=9)
    assert all(np.array_equal(a, b) for a, b in zip(Ts, T_old, strict=True))
    assert np.array_equal(T, T_old[-1]) and np.array_equal(Ks[-1], K)


@pytest.mark.parametrize(("act", "cw", "cb"), [*CASES, ("sin", 1.0, 0.2), ("gauss", 1.5, 0.1)])
def test_cross_kernel_is_the_block_of_the_stacked_kernel(act, cw, cb):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    K, T = kernel_and_ntk(act, X, Y, C_W=cw, C_b=cb, lambda_W=1.0, lambda_b=0.5, depth=8)
    Kf, Tf = kernel_and_ntk(
        act, np.vstack([X, Y]), C_W=cw, C_b=cb, lambda_W=1.0, lambda_b=0.5, depth=8
    )
    assert K.shape == T.shape == (7, 5)
    # the diagonals of the two routes differ in the last bit (sum vs BLAS dot); generic
    # inputs keep the correlations away from ±1, where arccos would amplify that
    np.testing.assert_allclose(K, Kf[:7, 7:], rtol=1e-14, atol=0)
    np.testing.assert_allclose(T, Tf[:7, 7:], rtol=1e-14, atol=0)


def test_cross_kernel_by_quadrature_for_a_user_activation():
    # an independent route: a user callable (no closed form) takes the 2-d quadrature
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(3, 2)), rng.normal(size=(2, 2))
    K, T = kernel_and_ntk("erf", X, Y, C_W=1.5, C_b=0.1, lambda_W=1.0, lambda_b=0.3, depth=4)
    user = get_activation(
        scipy.special.erf, derivative=lambda z: 2 / np.sqrt(np.pi) * np.exp(-z * z)
    )
    Kq, Tq = kernel_and_ntk(user, X, Y, C_W=1.5, C_b=0.1, lambda_W=1.0, lambda_b=0.3, depth=4)
    np.testing.assert_allclose(Kq, K, rtol=1e-10)
    np.testing.assert_allclose(Tq, T, rtol=1e-10)


def test_relu_ntk_diagonal_closed_form():
    # on the diagonal θ = 0: Θ' = C_b + C_W K/2 + C_W Θ/2 and K' = C_b + C_W K/2 exactly
    X = np.random.default_rng(4).normal(size=(40, 5))
    cw, cb = 2.0, 0.1
    Ks, Ts = kernel_and_ntk(
        "relu", X, C_W=cw, C_b=cb, lambda_W=cw, lambda_b=cb, depth=10, all_layers=True
    )
    k, t = np.diag(Ks[0]).copy(), np.diag(Ts[0]).copy()
    for layer in range(1, 10):
        t = cb + cw * (k / 2) + cw * 0.5 * t
        k = cb + cw * (k / 2)
        np.testing.assert_allclose(np.diag(Ks[layer]), k, rtol=4e-16 * layer)
        np.testing.assert_allclose(np.diag(Ts[layer]), t, rtol=4e-16 * layer)


def test_thread_split_is_bitwise(monkeypatch):
    from fieldnn.kernels import _erf_four

    if _pairs.compiled_loops() is None:
        pytest.skip("numba not available")
    X = np.random.default_rng(5).normal(size=(150, 4))
    one = kernel_and_ntk("relu", X, C_W=2.0, C_b=0.1, lambda_W=1.0, lambda_b=0.1, depth=3)
    monkeypatch.setattr(_erf_four, "BREAK_EVEN", 0)
    two = kernel_and_ntk("relu", X, C_W=2.0, C_b=0.1, lambda_W=1.0, lambda_b=0.1, depth=3)
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


@pytest.mark.slow
def test_small_blocks_skip_loading_numba():
    # a fresh process: a P = 30 recursion must not import numba (cold first calls)
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, fieldnn as fnn\n"
        "fnn.kernel_and_ntk('relu', np.ones((30, 2)), C_W=2.0, C_b=0.1, lambda_W=1.0,"
        " lambda_b=0.1, depth=3)\n"
        "fnn.kernel_recursion('erf', np.ones((30, 2)), C_W=1.0, C_b=0.1, depth=3)\n"
        "fnn.kernel_and_ntk('gelu', np.ones((30, 2)), C_W=1.0, C_b=0.1, lambda_W=1.0,"
        " lambda_b=0.1, depth=3)\n"
        "assert 'numba' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_compiled_step_on_extreme_probe_matches_reference():
    loops = _pairs.compiled_loops()
    if loops is None:
        pytest.skip("numba not available")
    d, K, T = _pairs._probe()
    for act in (get_activation("relu"), leaky_relu(0.3), get_activation("erf")):
        with np.errstate(all="ignore"):
            want = _pairs._step_numpy(act, d, d, K, T, 0.9, 0.0, 1.1, 0.4)
            got = _pairs._compiled_step(
                loops, _pairs._kind(act), d, d, K, T, (0.9, 0.0, 1.1, 0.4), False
            )
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w, equal_nan=True)


def test_bad_arguments():
    X = np.ones((2, 3))
    with pytest.raises(ShapeError, match="Y"):
        kernel_and_ntk(
            "relu", X, np.ones((2, 2)), C_W=2.0, C_b=0.0, lambda_W=1.0, lambda_b=0.0, depth=2
        )
    with pytest.raises(ArgumentTypeError, match="all_layers"):
        kernel_and_ntk(
            "relu", X, C_W=2.0, C_b=0.0, lambda_W=1.0, lambda_b=0.0, depth=2, all_layers="yes"
        )
    with pytest.raises(ArgumentError, match="C_W"):
        kernel_and_ntk("relu", X, X, C_W=1e200, C_b=0.0, lambda_W=1.0, lambda_b=0.0, depth=30)


def _closed_forms_only(fn):
    """Run ``fn`` with the compiled GELU/Φ layers switched off (the NumPy closed forms)."""
    saved = list(_pairs._SMOOTH)
    _pairs._SMOOTH[:] = [None]
    try:
        return fn()
    finally:
        _pairs._SMOOTH[:] = saved


def _smooth_or_skip():
    import numba  # noqa: F401  (loaded: blocks of any size take the compiled layers)

    if _pairs.smooth_loop() is None:
        pytest.skip("numba not available: only the NumPy closed forms exist")


@pytest.mark.parametrize("act", ["gelu", "gauss_cdf"])
@pytest.mark.parametrize(("cw", "cb"), [(1.0, 0.1), (1.7, 0.0)])
@pytest.mark.parametrize("cross", [False, True])
def test_compiled_smooth_layers_equal_the_closed_forms(act, cw, cb, cross):
    pytest.importorskip("numba")
    _smooth_or_skip()
    X = _inputs()
    args = (X[:9], X[9:]) if cross else (X,)

    def run():
        return kernel_and_ntk(
            act, *args, C_W=cw, C_b=cb, lambda_W=0.7, lambda_b=cb, depth=12, all_layers=True
        )

    (Ks, Ts), (Kn, Tn) = run(), _closed_forms_only(run)
    assert len(Ks) == len(Ts) == 12
    for got, want in zip(Ks + Ts, Kn + Tn, strict=True):
        # measured ≤ 7.4e-16 of the block's largest entry; entry by entry ≤ 3.8e-15 unless
        # the entry is itself a cancellation (C_b = λ_b = 0: Θ changes sign between inputs)
        scale = np.max(np.abs(want))
        assert np.max(np.abs(got - want)) <= 1e-14 * scale
        if cb > 0:
            np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
    last = kernel_and_ntk(act, *args, C_W=cw, C_b=cb, lambda_W=0.7, lambda_b=cb, depth=12)
    assert np.array_equal(last[0], Ks[-1]) and np.array_equal(last[1], Ts[-1])


def test_gelu_cancelling_entries_take_the_conditioned_integral(monkeypatch):
    # C_b = 0 and anti-correlated inputs of large variance: ⟨σσ⟩ ≪ its terms and K' = C_W⟨σσ⟩
    # has no larger term, so those entries must leave the compiled loop for gelu_pair's
    # conditioned integral (the closed form would be ~1e-12 off there)
    from fieldnn.kernels import _gelu

    pytest.importorskip("numba")
    _smooth_or_skip()
    calls = []
    conditioned = _gelu._conditioned
    monkeypatch.setattr(_gelu, "_conditioned", lambda *a: calls.append(a) or conditioned(*a))
    x = np.array([[30.0, 1.0], [-60.0, -1.9], [3.0, 40.0], [-20.0, 0.5]])

    def run():
        return kernel_and_ntk(
            "gelu", x, C_W=1.2, C_b=0.0, lambda_W=1.0, lambda_b=0.0, depth=4, all_layers=True
        )

    got = run()
    assert len(calls) > 0
    want = _closed_forms_only(run)
    for g, w in zip(got[0] + got[1], want[0] + want[1], strict=True):
        # the NumPy path integrates over z1 of each (i, j) and (j, i) (symmetric to 1e-14);
        # the compiled loop computes j ≥ i and mirrors it: compare the upper triangles
        upper = np.triu(w) + np.triu(w, 1).T
        np.testing.assert_allclose(g, upper, rtol=1e-14, atol=0)
        np.testing.assert_allclose(g, w, rtol=2e-14, atol=0)


@pytest.mark.parametrize("act", ["gelu", "gauss_cdf"])
def test_smooth_thread_split_is_bitwise(act, monkeypatch):
    from fieldnn.kernels import _erf_four

    pytest.importorskip("numba")
    _smooth_or_skip()
    X = np.random.default_rng(6).normal(size=(120, 4))
    Y = np.random.default_rng(7).normal(size=(70, 4))
    kw = {"C_W": 1.3, "C_b": 0.1, "lambda_W": 1.0, "lambda_b": 0.1, "depth": 4}
    one = kernel_and_ntk(act, X, **kw), kernel_and_ntk(act, X, Y, **kw)
    monkeypatch.setattr(_erf_four, "BREAK_EVEN", 0)
    two = kernel_and_ntk(act, X, **kw), kernel_and_ntk(act, X, Y, **kw)
    for a, b in zip(one, two, strict=True):
        assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


def test_smooth_overflow_names_the_same_layer():
    pytest.importorskip("numba")
    _smooth_or_skip()
    X = np.ones((3, 2))

    def run():
        with pytest.raises(ArgumentError, match="C_W") as info:
            kernel_and_ntk("gelu", X, C_W=1e100, C_b=0.0, lambda_W=1.0, lambda_b=0.0, depth=9)
        return str(info.value)

    assert "layer 4" in run() and run() == _closed_forms_only(run)
