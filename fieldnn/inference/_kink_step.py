"""One gradient-descent step of the kink-flux particles (private; the Monte Carlo of
:mod:`fieldnn.inference._kink_flux`).

Particle p of member j of one cluster, in sample s, moves by

    Δw_{sjp} = −η [Σ_b V_{sjb} ε_{sb} + Σ_q T_{sjq} σ'_{s,m_q,p} ε_{s,t_q}],

V the fixed velocities (the non-member inputs' σ' frozen, and the push Ξ), T the coefficients of
the tracked training members m_q (input t_q) on their own σ' — the old σ', before any particle
of the sample moves. After the step, σ'_{sjp} = s₊ if w > 0 else s₋; the step returns, per
sample and member, the overshoot Σ_p (σ'_new − σ'_old) w_new, the particle sums Σ_p σ'_{sjp} and
the pair sums Σ_p σ'_{sjp} σ'_{s,m_q,p} that the unit's NTK share is linear in. :func:`step`
runs one numba-compiled loop over samples, members and particles when numba is installed (the
same arithmetic, checked against :func:`step_numpy` on a probe on first use), the NumPy
reference otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels._erf_four import checked_njit

__all__ = ["step", "step_numpy"]

_LOOP: list[Any] = []  # [compiled _step_loop or None], filled on first use


def step_numpy(
    w: np.ndarray, sig: np.ndarray, vel_fixed: np.ndarray, vel_tracked: np.ndarray,
    train_mem: np.ndarray, train_idx: np.ndarray, eps: np.ndarray, eta: float,
    slopes: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The step (module docstring) on w, σ' (S, m, P), updated in place, with V (S, m, N),
    T (S, m, t) and ε (S, N); returns the overshoot and particle sums (S, m) and the pair
    sums (S, m, t)."""
    fixed = np.einsum("smb,sb->sm", vel_fixed, eps)
    tracked = np.einsum("smt,stp->smp", vel_tracked, sig[:, train_mem] * eps[:, train_idx, None])
    w -= eta * (fixed[:, :, None] + tracked)
    new = np.where(w > 0, slopes[1], slopes[0])
    curv = ((new - sig) * w).sum(2)
    sig[...] = new
    return curv, sig.sum(2), np.einsum("smp,stp->smt", sig, sig[:, train_mem])


def _step_loop(
    w: np.ndarray, sig: np.ndarray, vel_fixed: np.ndarray, vel_tracked: np.ndarray,
    train_mem: np.ndarray, train_idx: np.ndarray, eps: np.ndarray, eta: float, s_lo: float,
    s_hi: float, curv: np.ndarray, sums: np.ndarray, both: np.ndarray,
) -> None:  # fmt: skip  # pragma: no cover - compiled by numba
    """:func:`step_numpy`, one sample at a time, the outputs written into curv, sums, both."""
    S, m, P = w.shape
    N, t = eps.shape[1], train_mem.size
    old = np.empty((t, P))
    for s in range(S):
        for q in range(t):
            for p in range(P):
                old[q, p] = sig[s, train_mem[q], p] * eps[s, train_idx[q]]
        for j in range(m):
            fixed = 0.0
            for b in range(N):
                fixed += vel_fixed[s, j, b] * eps[s, b]
            over, total = 0.0, 0.0
            for p in range(P):
                tracked = 0.0
                for q in range(t):
                    tracked += vel_tracked[s, j, q] * old[q, p]
                x = w[s, j, p] - eta * (fixed + tracked)
                w[s, j, p] = x
                new = s_hi if x > 0 else s_lo
                over += (new - sig[s, j, p]) * x
                sig[s, j, p] = new
                total += new
            curv[s, j] = over
            sums[s, j] = total
        for j in range(m):
            for q in range(t):
                acc = 0.0
                for p in range(P):
                    acc += sig[s, j, p] * sig[s, train_mem[q], p]
                both[s, j, q] = acc


def step(
    w: np.ndarray, sig: np.ndarray, vel_fixed: np.ndarray, vel_tracked: np.ndarray,
    train_mem: np.ndarray, train_idx: np.ndarray, eps: np.ndarray, eta: float,
    slopes: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`step_numpy` by the compiled loop if numba is available (module docstring)."""
    loop = _compiled()
    if loop is None:
        return step_numpy(w, sig, vel_fixed, vel_tracked, train_mem, train_idx, eps, eta, slopes)
    S, m, _ = w.shape
    curv, sums, both = np.empty((S, m)), np.empty((S, m)), np.empty((S, m, train_mem.size))
    loop(
        w, sig, vel_fixed, vel_tracked, train_mem, train_idx, eps, float(eta),
        float(slopes[0]), float(slopes[1]), curv, sums, both,
    )  # fmt: skip
    return curv, sums, both


def _compiled() -> Any:
    """The numba-compiled :func:`_step_loop`, or None (numba missing, ``FIELDNN_NUMBA=0``, or
    its result on a random probe differs from :func:`step_numpy` by more than 1e-12)."""
    if not _LOOP:

        def agrees(loop: Any) -> bool:
            rng = np.random.default_rng(0)
            S, m, P, N = 40, 2, 8, 3
            w = rng.standard_normal((S, m, P)) * 0.1
            sig = np.where(w > 0, 1.0, 0.1)
            args = (
                rng.standard_normal((S, m, N)), rng.standard_normal((S, m, 1)),
                np.array([1]), np.array([2]), rng.standard_normal((S, N)), 0.05,
            )  # fmt: skip
            w1, s1, w2, s2 = w.copy(), sig.copy(), w.copy(), sig.copy()
            ref = step_numpy(w1, s1, *args, (0.1, 1.0))
            out = np.empty((S, m)), np.empty((S, m)), np.empty((S, m, 1))
            loop(w2, s2, *args, 0.1, 1.0, *out)
            pairs = zip((*ref, w1, s1), (*out, w2, s2), strict=True)
            return all(np.allclose(a, b, rtol=1e-12, atol=1e-12) for a, b in pairs)

        _LOOP.append(checked_njit(_step_loop, agrees))
    return _LOOP[0]
