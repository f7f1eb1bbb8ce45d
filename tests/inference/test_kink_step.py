"""The kink-flux particle step: the compiled loop against the NumPy reference, and the reference
against the step written out particle by particle."""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.inference import _kink_step


def _state(rng: np.random.Generator, S: int, m: int, P: int, N: int, t: int) -> tuple:
    w = rng.standard_normal((S, m, P)) * 0.2
    sig = np.where(w > 0, 1.0, -0.3)
    train_mem = np.sort(rng.choice(m, size=t, replace=False))
    train_idx = rng.choice(N, size=t, replace=False)
    return (
        w, sig, rng.standard_normal((S, m, N)), rng.standard_normal((S, m, t)),
        train_mem, train_idx, rng.standard_normal((S, N)), 0.07,
    )  # fmt: skip


@pytest.mark.parametrize(("m", "N", "t"), [(1, 1, 1), (2, 3, 1), (3, 4, 2), (3, 3, 3), (2, 2, 0)])
def test_compiled_step_agrees_with_numpy(m: int, N: int, t: int) -> None:
    if _kink_step._compiled() is None:
        pytest.skip("numba not available or FIELDNN_NUMBA=0")
    rng = np.random.default_rng(m * 10 + N + t)
    args = _state(rng, 500, m, 16, N, t)
    w1, s1, w2, s2 = args[0].copy(), args[1].copy(), args[0].copy(), args[1].copy()
    ref = _kink_step.step_numpy(w1, s1, *args[2:], (-0.3, 1.0))
    out = _kink_step.step(w2, s2, *args[2:], (-0.3, 1.0))
    for a, b in zip((*ref, w1, s1), (*out, w2, s2), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-13)
    assert np.any(s1 != args[1])  # some particles crossed the kink


def test_numpy_step_particle_by_particle() -> None:
    rng = np.random.default_rng(5)
    w, sig, vel_fixed, vel_tracked, train_mem, train_idx, eps, eta = _state(rng, 30, 3, 8, 4, 2)
    w0, sig0 = w.copy(), sig.copy()
    curv, sums, both = _kink_step.step_numpy(
        w, sig, vel_fixed, vel_tracked, train_mem, train_idx, eps, eta, (-0.3, 1.0)
    )
    for s in range(30):
        for j in range(3):
            over = 0.0
            for p in range(8):
                v = vel_fixed[s, j] @ eps[s] + sum(
                    vel_tracked[s, j, q] * sig0[s, train_mem[q], p] * eps[s, train_idx[q]]
                    for q in range(2)
                )
                x = w0[s, j, p] - eta * v
                assert w[s, j, p] == pytest.approx(x, rel=1e-12, abs=1e-14)
                assert sig[s, j, p] == (1.0 if x > 0 else -0.3)
                over += ((1.0 if x > 0 else -0.3) - sig0[s, j, p]) * x
            assert curv[s, j] == pytest.approx(over, abs=1e-14)
            assert sums[s, j] == pytest.approx(sig[s, j].sum())
            for q in range(2):
                assert both[s, j, q] == pytest.approx(sig[s, j] @ sig[s, train_mem[q]])
