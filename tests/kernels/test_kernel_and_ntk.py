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
