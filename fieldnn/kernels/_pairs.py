r"""One fused layer of the deep NNGP and NTK recursions, K and Θ in one pass.

For an activation with closed-form pair expectations, layer ℓ → ℓ + 1 of the kernel and NTK
recursions (:mod:`fieldnn.kernels.deep`) is an elementwise map of the entry
:math:`(k_{11}, k_{22}, k_{12}, \Theta_{12})` (k11, k22 the variances of the two inputs):

.. math:: K' = C_b + C_W\langle\sigma\sigma\rangle, \qquad
          \Theta' = \lambda_b + \lambda_W\langle\sigma\sigma\rangle
          + C_W\langle\sigma'\sigma'\rangle\,\Theta_{12}.

:func:`layer_step` evaluates it for a P₁ × P₂ block (a square kernel, or the cross-kernel of
two input sets) in one compiled loop per row: the relu family and erf share every intermediate
between ⟨σσ⟩ and ⟨σ'σ'⟩ (one arccos, or one square root and one arcsin, per entry), write no
temporaries, and fill only the upper triangle of a square block. The NumPy reference
(:func:`_step_numpy`, the activation's own closed forms, as before) is used without numba,
with ``FIELDNN_NUMBA=0``, for every other activation, and to check the compiled loop on a probe
before first use (bitwise; extreme variances included).

GELU and the Gaussian CDF Φ (:mod:`fieldnn.kernels._gelu`,
:mod:`fieldnn.kernels._closed_pairs`) are not held to bitwise agreement (their arcsin is
libm's, not NumPy's), so nothing has to leave the compiled code between layers:
:func:`run_layers` runs several layers in one call (:func:`_smooth_layers`), the per-layer
Python work of a small block being most of its cost (GELU, P = 50, depth 10: 0.38 ms against
3.3 ms on the NumPy closed forms). It agrees with them to ≤ 1e-14 of the larger of the value
and the entry (:data:`SMOOTH_TOLERANCE`, checked on the probe before first use); entries where
GELU's closed form cancels and the cancellation would show in K' or Θ' (:data:`_OUTPUT_SLACK`)
leave the loop for ``gelu_pair``'s conditioned integral, as on the NumPy path.

The compiled loop is a transcription of :func:`~fieldnn.kernels.activations._leaky_pair`,
``_leaky_dpair``, ``_erf_pair`` and ``_erf_dpair`` (docs/numerics.md, "Activations") with two
identities of the arc-cosine kernel: for φ = arccos(−c), cos φ = −c and
sin φ = √((1 − c)(1 + c)) (both exact; a few ulp from evaluating sin and cos of φ).

References
----------
Y. Cho and L. K. Saul, "Kernel methods for deep learning", NIPS 2009 (arc-cosine kernel);
C. K. I. Williams, "Computing with infinite networks", NIPS 1996 (erf kernel);
arXiv:2106.10165, eq. (4.118) (K) and ch. 8 (Θ forward equation).
"""

from __future__ import annotations

import math
import sys
from functools import lru_cache
from typing import Any

import numpy as np

from . import _erf_four
from ._closed_pairs import gauss_cdf_derivative_pair, gauss_cdf_pair
from ._erf_four import checked_njit
from ._gelu import _CANCELLATION, gelu_derivative_pair, gelu_pair
from .activations import Activation

__all__ = ["layer_step"]

_RELU, _ERF, _GELU, _GAUSS_CDF = 0, 1, 2, 3
COMPILE_WORTH = 250_000
"""Entries of a block from which :func:`layer_step` loads numba if no one has yet: the NumPy
path costs ≈ 0.15 µs an entry and layer (P = 1000, depth 10: 1.4 s; P = 500: 0.35 s), numba's
import and cache load ≈ 1 s in a new process. Both paths give bitwise the same result for the
relu family and erf, the same to :data:`SMOOTH_TOLERANCE` for GELU and Φ (:func:`run_layers`)."""
_TWO_PI = 2.0 * math.pi


def _first_pass(
    kind: int,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    cw: float,
    square: bool,
    with_theta: bool,
    lo: int,
    hi: int,
    U: np.ndarray,
    V: np.ndarray,
    W: np.ndarray,
) -> None:
    """Rows lo..hi − 1 of the arguments of the inverse trigonometric functions. ``kind`` 0
    (relu family): U = cos θ (as :func:`~fieldnn.kernels.activations._cos_theta`); 1 (erf):
    U = the clipped arcsin argument of ``_erf_pair``, V = √(min(gap, 1)/2) of its tail form
    where ``|arg|`` > 0.9, else −1, and (``with_theta``) W = C_W⟨σ'σ'⟩Θ, the last term of Θ'
    (no inverse function in it). U, V, W are packed by rows: entries j ≥ i of a square block
    (at i·P − i(i + 1)/2 + j), all entries otherwise (at i·P + j)."""
    P2 = K.shape[1]
    for i in range(lo, hi):
        k11 = d1[i]
        start = i if square else 0
        base = i * P2 - (i * (i - 1)) // 2 - i if square else i * P2
        for j in range(start, P2):
            k22 = d2[j]
            k12 = K[i, j]
            at = base + j
            if kind == 0:
                m = max(k11, k22)
                safe = m if m > 0.0 else 1.0
                norm = math.sqrt((k11 / safe) * (k22 / safe))
                c = (k12 / safe) / norm if norm > 0.0 else 1.0
                U[at] = min(max(c, -1.0), 1.0)
            else:
                big = max(1.0 + 2.0 * k11, 1.0 + 2.0 * k22)
                if big < 1e150:  # m = 1: the divisions by m are exact, skip them
                    m, p, q, r, e = 1.0, k11, k22, k12, 1.0
                else:
                    m = big
                    p, q, r, e = k11 / m, k22 / m, k12 / m, 1.0 / m
                prod = (e + 2.0 * p) * (e + 2.0 * q)
                root = math.sqrt(prod)
                arg = 2.0 * r / root
                U[at] = min(max(arg, -1.0), 1.0)
                if abs(arg) > 0.9:
                    det = max(e * e + 2.0 * e * (p + q) + 4.0 * (p * q - r * r), 0.0)
                    gap = det / (root * (root + 2.0 * abs(r)))
                    V[at] = math.sqrt(0.5 * min(gap, 1.0))
                else:
                    V[at] = -1.0
                if with_theta:
                    if m == 1.0:  # (1 + 2 k11)(1 + 2 k22) is prod, the divisions exact
                        dd = (4.0 / math.pi) / math.sqrt(prod - 4.0 * r * r)
                    else:
                        det = ((1.0 + 2.0 * k11) / m) * ((1.0 + 2.0 * k22) / m) - 4.0 * r * r
                        dd = (4.0 / math.pi) / m / math.sqrt(det)
                    W[at] = cw * dd * T[i, j]


def _second_pass(
    kind: int,
    slope: float,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    U: np.ndarray,
    V: np.ndarray,
    W: np.ndarray,
    cw: float,
    cb: float,
    lw: float,
    lb: float,
    square: bool,
    with_theta: bool,
    lo: int,
    hi: int,
    K_out: np.ndarray,
    T_out: np.ndarray,
) -> None:
    """Rows lo..hi − 1 of K' (and Θ' if ``with_theta``) from the inverse trigonometric values:
    relu family U = θ = arccos c, V = φ = arccos(−c); erf U = arcsin(arg), V = arcsin of the
    tail argument (negative: no tail), W = C_W⟨σ'σ'⟩Θ. A square block fills j ≥ i and the
    mirror image."""
    a = slope
    P2 = K.shape[1]
    for i in range(lo, hi):
        k11 = d1[i]
        start = i if square else 0
        base = i * P2 - (i * (i - 1)) // 2 - i if square else i * P2
        for j in range(start, P2):
            k22 = d2[j]
            k12 = K[i, j]
            at = base + j
            dd = 0.0
            if kind == 0:
                phi = V[at]
                if phi < 0.25:
                    p2 = phi * phi
                    inner = 1.0 / 3991680.0 - p2 / 518918400.0
                    inner = -1.0 / 45360.0 + p2 * inner
                    inner = 1.0 / 840.0 + p2 * inner
                    inner = -1.0 / 30.0 + p2 * inner
                    inner = 1.0 / 3.0 + p2 * inner
                    bracket = phi * p2 * inner
                else:
                    bracket = math.sin(phi) - phi * math.cos(phi)
                m = max(k11, k22)
                safe = m if m > 0.0 else 1.0
                root = math.sqrt((k11 / safe) * (k22 / safe))
                ss = (1.0 - a) ** 2 * (m * (root * (bracket / _TWO_PI))) + a * k12
                if with_theta:
                    h1 = 0.5 if k11 > 0.0 else 0.0
                    h2 = 0.5 if k22 > 0.0 else 0.0
                    if k11 > 0.0 and k22 > 0.0:
                        hh = (math.pi - U[at]) / _TWO_PI
                    else:
                        hh = h1 * h2
                    dd = a * a + a * (1.0 - a) * (h1 + h2) + (1.0 - a) ** 2 * hh
            else:
                tail_arg = V[at]
                if tail_arg >= 0.0:  # |arg| > 0.9: U = arcsin(arg) has the sign of arg
                    tail = 1.0 - (4.0 / math.pi) * tail_arg
                    ss = tail if U[at] > 0.0 else -tail
                else:
                    ss = (2.0 / math.pi) * U[at]
            knew = cb + cw * ss
            K_out[i, j] = knew
            if square:
                K_out[j, i] = knew
            if with_theta:
                if kind == 0:
                    tnew = lb + lw * ss + cw * dd * T[i, j]
                else:
                    tnew = lb + lw * ss + W[at]
                T_out[i, j] = tnew
                if square:
                    T_out[j, i] = tnew


def _smooth_layers(
    kind: int,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    cw: np.ndarray,
    cb: np.ndarray,
    lw: np.ndarray,
    lb: np.ndarray,
    square: bool,
    with_theta: bool,
    start: int,
    stop: int,
    lo: int,
    hi: int,
    d1n: np.ndarray,
    d2n: np.ndarray,
    flags: np.ndarray,
) -> tuple[int, int]:
    """Layers start..stop − 1 of K (and Θ if ``with_theta``) for GELU (``kind`` 2) or Φ (3),
    in place on rows lo..hi − 1 of K, T (P₁, P₂), the coefficients of layer ℓ at cw[ℓ], ….
    A square block (d2 is d1) reads entries j ≥ i and writes them and their mirror image; the
    next variances go to d1n (its diagonal) and, for a cross block, d1n and (rows from 0) d2n
    from ⟨σσ⟩ at k11 = k22 = k12 (row −1 of the loop: d2; column P₂: d1). Between two layers
    (one call covers all rows) d1n, d2n are copied to d1, d2; after the last the caller does.

    Every entry is a transcription of :func:`~fieldnn.kernels._gelu._parts` and the closed
    forms of ``gelu_pair``/``gelu_derivative_pair`` (``gauss_cdf_pair``/…), libm's asin for
    NumPy's arcsin. Returns (layer, status) after the last layer run: status bit 1, GELU
    entries where the closed form cancels (flags[i, j] = 1, K and T left unchanged there: the
    caller computes them by ``gelu_pair``'s conditioned integral); bit 2, a value not finite.
    The loop stops after any layer with a non-zero status."""
    P2 = K.shape[1]
    inv1, inv2 = np.empty(d1.size), np.empty(d2.size)
    status = 0
    layer = start
    while layer < stop:
        c_w, c_b, l_w, l_b = cw[layer], cb[layer], lw[layer], lb[layer]
        for i in range(d1.size):
            inv1[i] = 1.0 / (1.0 + d1[i])
        for j in range(d2.size):
            inv2[j] = 1.0 / (1.0 + d2[j])
        first_row = lo - 1 if (not square and lo == 0) else lo
        for i in range(first_row, hi):
            j0 = 0 if (i < 0 or not square) else i
            j1 = P2 if (i < 0 or square) else P2 + 1
            for j in range(j0, j1):
                t = 0.0
                if i < 0:
                    k11 = k22 = k12 = d2[j]
                elif j == P2:
                    k11 = k22 = k12 = d1[i]
                else:
                    k11, k22, k12 = d1[i], d2[j], K[i, j]
                    if with_theta:
                        t = T[i, j]
                # the operations of _parts, less those exact by construction: the larger of
                # A/m, B/m is 1 and 1/A, 1/B are the same quotients taken once per layer
                A, B = 1.0 + k11, 1.0 + k22
                inv_a = inv2[j] if i < 0 else inv1[i]
                inv_b = inv1[i] if j == P2 else inv2[j]
                if A >= B:
                    m, e, a, b = A, inv_a, 1.0, B / A
                else:
                    m, e, a, b = B, inv_b, A / B, 1.0
                c = k12 / m
                root_ab = math.sqrt(a * b)
                p, q = k11 / m, k22 / m
                det = max(p * q - c * c, 0.0)
                root_d = math.sqrt(e * e + (p + q) * e + det)
                if c < 0.0:
                    one_plus = root_d * root_d / (root_ab * (root_ab + abs(c)))
                    angle = 2.0 * math.asin(math.sqrt(0.5 * min(one_plus, 2.0))) / _TWO_PI
                else:
                    angle = 0.25 + math.asin(min(max(c / root_ab, -1.0), 1.0)) / _TWO_PI
                bad = False
                dd = 0.0
                if kind == _GELU:
                    n = det + c * c * (inv_a + inv_b)
                    tail = m * (n / root_d) / _TWO_PI
                    ss = k12 * angle + tail
                    bad = k12 < 0.0 and abs(tail) > _CANCELLATION * abs(ss)
                    if with_theta:
                        first = p + m * det
                        second = q + m * det
                        first = first if b == 1.0 else first / b
                        second = second if a == 1.0 else second / a
                        big_m = 3.0 * e + first * e + second * e
                        dd = angle + (c / root_d) * (big_m / (m * root_d * root_d)) / _TWO_PI
                else:
                    ss = angle
                    if with_theta:
                        dd = 1.0 / (_TWO_PI * root_d) / m
                knew = c_b + c_w * ss
                if i < 0 or j == P2:
                    if i < 0:
                        d2n[j] = knew
                    else:
                        d1n[i] = knew
                    if not math.isfinite(knew):
                        status |= 2
                    continue
                tnew = l_b + l_w * ss + c_w * dd * t
                if bad and (
                    abs(c_w * tail) > _OUTPUT_SLACK * max(abs(knew), abs(c_b))
                    or (
                        with_theta
                        and abs(l_w * tail)
                        > _OUTPUT_SLACK * max(abs(tnew), abs(l_b), abs(c_w * dd * t))
                    )
                ):
                    flags[i, j] = 1  # the cancellation would cost digits of K' or Θ'
                    status |= 1
                    continue
                K[i, j] = knew
                if square:
                    K[j, i] = knew
                    if j == i:
                        d1n[i] = knew
                if not math.isfinite(knew):
                    status |= 2
                if with_theta:
                    T[i, j] = tnew
                    if square:
                        T[j, i] = tnew
                    if not math.isfinite(tnew):
                        status |= 2
        if status != 0 or layer + 1 == stop:
            return layer, status
        for i in range(d1.size):
            d1[i] = d1n[i]
        if not square:
            for j in range(d2.size):
                d2[j] = d2n[j]
        layer += 1
    return stop - 1, status


def _kind(act: Activation) -> tuple[int, float] | None:
    """(kind, slope) of the compiled loop for ``act``, or None (NumPy path)."""
    if act.name in ("relu", "leaky_relu") and act.piecewise_linear_slopes is not None:
        return _RELU, float(act.parameters[0])
    if act.name == "erf" and not act.parameters:
        return _ERF, 0.0
    return None


def _step_numpy(
    act: Activation,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray | None,
    cw: float,
    cb: float,
    lw: float,
    lb: float,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The reference: the activation's closed forms on the whole block (None if it has none)."""
    ss = act.pair_expectation(d1[:, None], d2[None, :], K)
    if ss is None:
        raise ValueError(f"{act.name!r} has no closed-form pair expectation")
    if T is None:
        return cb + cw * ss, None
    dd = act.derivative_pair_expectation(d1[:, None], d2[None, :], K)
    return cb + cw * ss, lb + lw * ss + cw * dd * T


_OUTPUT_SLACK = 2.0
"""Where GELU's closed form ⟨σσ⟩ cancels (:data:`~fieldnn.kernels._gelu._CANCELLATION`), its
error, a few ulp of its terms (``tail``), is still within a few ulp of the largest term of
K' = C_b + C_W⟨σσ⟩ (of Θ' = λ_b + λ_W⟨σσ⟩ + C_W⟨σ'σ'⟩Θ) if ``|C_W tail|`` ≤ 2 max(``|K'|``,
``|C_b|``) (and ``|λ_W tail|`` ≤ 2 max(``|Θ'|``, ``|λ_b|``, ``|C_W⟨σ'σ'⟩Θ|``)): comparable to
the rounding of K' and Θ' themselves. Then the compiled layers keep the closed form (near the
sign change of ⟨σσ⟩ at moderate variance, where C_b dominates K'); otherwise the entry takes
``gelu_pair``'s conditioned 1-d integral (≈ 50 µs an entry)."""


_LOOPS: list[Any] = []  # [(compiled first pass, compiled second pass) or None], on first use

_PROBE_VARIANCES = np.array([0.0, 1e-300, 0.3, 1.0, 2.5, 1e4, 1e160])


def _probe() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variances d (n,), a covariance block K (n, n) and an NTK block T: correlations in
    (−1, 1), exactly ±1, 1 − 1e-9, and extreme variances (0, 1e-300, 1e160)."""
    d = _PROBE_VARIANCES
    s = np.sqrt(d)
    rho = np.cos(np.linspace(0.0, np.pi, d.size))[:, None] * np.ones(d.size)
    rho = np.where(np.eye(d.size, dtype=bool), 1.0, np.clip(rho + rho.T, -1.0, 1.0) / 2)
    rho[0, -1] = rho[-1, 0] = -1.0
    rho[2, 3] = rho[3, 2] = 1.0 - 1e-9
    K = rho * s[:, None] * s[None, :]
    K = 0.5 * (K + K.T)  # exactly symmetric, as the recursion's blocks
    return d, K, 1.0 + np.abs(K)


@lru_cache(maxsize=16)
def _row_owner(P1: int, P2: int, triangle: bool) -> np.ndarray:
    """Row of each of ≤ 4096 equal-cost work units (entries j ≥ i of a square block, else
    all entries), for :func:`~fieldnn.kernels._erf_four.run_split`; cached per shape."""
    cost = np.cumsum(np.arange(P1, 0, -1) if triangle else np.full(P1, P2)).astype(float)
    units = int(min(cost[-1], 4096))
    owner = np.searchsorted(cost, (np.arange(units) + 0.5) * (cost[-1] / units), "right")
    owner.flags.writeable = False
    return owner


def _split_rows(call: Any, P1: int, P2: int, triangle: bool, per_entry: float) -> None:
    """``call(lo, hi)`` on row ranges covering 0..P1 − 1, on several threads from
    :data:`~fieldnn.kernels._erf_four.BREAK_EVEN` units of work (``per_entry`` per entry),
    each row written by one thread; below it one call, with no further set-up."""
    entries = P1 * (P1 + 1) // 2 if triangle else P1 * P2
    if per_entry * entries < _erf_four.BREAK_EVEN or _erf_four.thread_count() == 1:
        call(0, P1)
        return
    owner = _row_owner(P1, P2, triangle)
    units = owner.size

    # a range of units covers the rows from its first unit's row to the next range's
    def run(lo: int, hi: int) -> None:
        call(0 if lo == 0 else int(owner[lo]), P1 if hi == units else int(owner[hi]))

    _erf_four.run_split(run, owner, per_entry * entries)


def _compiled_step(
    loops: tuple[Any, Any],
    kind: tuple[int, float],
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray | None,
    coefficients: tuple[float, float, float, float],
    square: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """K', Θ' by the two compiled passes around NumPy's arccos/arcsin (the very functions of
    the reference, so the result is bitwise :func:`_step_numpy`'s), rows over threads."""
    first, second = loops
    P1, P2 = K.shape
    K = np.ascontiguousarray(K)
    d1, d2 = np.ascontiguousarray(d1), np.ascontiguousarray(d2)
    with_theta = T is not None
    T_in = np.ascontiguousarray(T) if with_theta else K
    size = P1 * (P1 + 1) // 2 if square else P1 * P2  # packed rows (j ≥ i if square)
    U, V = np.empty(size), np.empty(size)
    W = np.empty(size) if with_theta and kind[0] == _ERF else U
    K_out = np.empty((P1, P2))
    T_out = np.empty((P1, P2)) if with_theta else K_out
    cw, cb, lw, lb = coefficients
    _split_rows(
        lambda lo, hi: first(kind[0], d1, d2, K, T_in, cw, square, with_theta, lo, hi, U, V, W),
        P1,
        P2,
        square,
        1.0,
    )
    if kind[0] == _RELU:
        np.negative(U, out=V)
        np.arccos(V, out=V)  # φ = arccos(−c)
        if with_theta:
            np.arccos(U, out=U)  # θ = arccos c
    else:
        np.arcsin(U, out=U)
        near = np.flatnonzero(V >= 0.0)  # the tail form's arguments (|arg| > 0.9), usually few
        V[near] = np.arcsin(V[near])
    _split_rows(
        lambda lo, hi: second(
            kind[0],
            kind[1],
            d1,
            d2,
            K,
            T_in,
            U,
            V,
            W,
            cw,
            cb,
            lw,
            lb,
            square,
            with_theta,
            lo,
            hi,
            K_out,
            T_out,
        ),
        P1,
        P2,
        square,
        2.0,
    )
    return K_out, (T_out if with_theta else None)


def compiled_loops() -> tuple[Any, Any] | None:
    """The numba-compiled (:func:`_first_pass`, :func:`_second_pass`), or None (numba
    missing, ``FIELDNN_NUMBA=0``, or on :func:`_probe` the step is not bitwise
    :func:`_step_numpy` for relu, leaky relu (slope 0.1) and erf, square or not)."""
    if not _LOOPS:
        from .activations import get_activation, leaky_relu

        first = checked_njit(_first_pass, lambda loop: True)

        def agrees(second: Any) -> bool:
            d, K, T = _probe()
            coefficients = (1.3, 0.2, 0.7, 0.1)
            for act in (get_activation("relu"), leaky_relu(0.1), get_activation("erf")):
                kind = _kind(act)
                with np.errstate(all="ignore"):
                    want = _step_numpy(act, d, d, K, T, *coefficients)
                    for square in (True, False):
                        got = _compiled_step(
                            (first, second), kind, d, d, K, T, coefficients, square
                        )  # type: ignore[arg-type]
                        if not all(
                            np.array_equal(g, w, equal_nan=True)
                            for g, w in zip(got, want, strict=True)
                        ):
                            return False
            return True

        second = None if first is None else checked_njit(_second_pass, agrees)
        _LOOPS.append(None if second is None else (first, second))
    return _LOOPS[0]


def layer_step(
    act: Activation,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray | None,
    *,
    C_W: float,
    C_b: float,
    lambda_W: float = 0.0,
    lambda_b: float = 0.0,
    square: bool,
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """K' and Θ' (Θ' None if ``T`` is None) of one layer for a block K (P₁, P₂) whose inputs
    have variances d1 (P₁,), d2 (P₂,) (``square``: K is exactly symmetric, diagonal d1 = d2);
    None if ``act`` has no closed-form pair expectation (the caller's quadrature path).

    For the relu family and erf the compiled passes (:func:`compiled_loops`; rows split over
    threads, each entry computed alone: bitwise independent of the thread count, and bitwise
    the NumPy closed forms), else the closed forms of ``act`` on the whole block."""
    if act._pair is None:
        return None
    kind = _kind(act)
    # bitwise the same either way: load numba only when it pays (a first call at P = 200
    # would otherwise spend ≈ 1–2 s importing it for a 50 ms recursion)
    worth = K.size >= COMPILE_WORTH or "numba" in sys.modules
    loops = compiled_loops() if kind is not None and worth else None
    if loops is None:
        return _step_numpy(act, d1, d2, K, T, C_W, C_b, lambda_W, lambda_b)
    return _compiled_step(loops, kind, d1, d2, K, T, (C_W, C_b, lambda_W, lambda_b), square)


def _smooth_kind(act: Activation) -> int | None:
    """2 (GELU) or 3 (Φ) if ``act`` has exactly those closed forms, else None."""
    if act._pair is gelu_pair and act._derivative_pair is gelu_derivative_pair:
        return _GELU
    if act._pair is gauss_cdf_pair and act._derivative_pair is gauss_cdf_derivative_pair:
        return _GAUSS_CDF
    return None


_SMOOTH: list[Any] = []  # [compiled _smooth_layers or None], on first use
SMOOTH_TOLERANCE = 1e-14
"""Largest difference of one compiled GELU/Φ layer from :func:`_step_numpy` on the probe,
relative to max(``|value|``, ``|K|``) of the entry (libm's asin against NumPy's arcsin; where
⟨σσ⟩ of GELU changes sign its own magnitude is no scale). Measured on the probe: 4.5e-17."""


def smooth_loop() -> Any:
    """The numba-compiled :func:`_smooth_layers`, or None (numba missing, ``FIELDNN_NUMBA=0``,
    or on :func:`_probe` one layer differs from :func:`_step_numpy` for GELU or Φ, square or
    not, by more than :data:`SMOOTH_TOLERANCE`)."""
    if not _SMOOTH:
        from .activations import get_activation

        def agrees(loop: Any) -> bool:
            d, K, T = _probe()
            coefficients = (1.3, 0.2, 0.7, 0.1)
            for name in ("gelu", "gauss_cdf"):
                act = get_activation(name)
                with np.errstate(all="ignore"):
                    want = _step_numpy(act, d, d, K, T, *coefficients)
                    for square in (True, False):
                        got = _run_smooth(
                            loop,
                            act,
                            d,
                            d,
                            K,
                            T,
                            *(np.array([c]) for c in coefficients),
                            square=square,
                            start=0,
                            stop=1,
                        )[1:3]
                        for g, w in zip(got, want, strict=True):
                            if not np.all(np.abs(g - w) <= SMOOTH_TOLERANCE * _scale(w, K)):
                                return False
            return True

        _SMOOTH.append(checked_njit(_smooth_layers, agrees))
    return _SMOOTH[0]


def _scale(value: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The magnitude a layer's value is measured against: max(|value|, |K|)."""
    return np.maximum(np.abs(value), np.abs(K))


def _run_smooth(
    loop: Any,
    act: Activation,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray | None,
    cw: np.ndarray,
    cb: np.ndarray,
    lw: np.ndarray,
    lb: np.ndarray,
    *,
    square: bool,
    start: int,
    stop: int,
) -> tuple[int, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Layers start..stop − 1 by :func:`_smooth_layers` on copies of K, T, d1, d2 (rows over
    threads from :data:`~fieldnn.kernels._erf_four.BREAK_EVEN`, then one call per layer);
    entries where GELU's closed form cancels by ``act``'s own pair functions. Returns
    (layers done, K, T, d1, d2), stopping early after a layer with a non-finite value."""
    kind = _smooth_kind(act)
    P1, P2 = K.shape
    K = np.array(K, dtype=np.float64, order="C")
    with_theta = T is not None
    T = np.array(T, dtype=np.float64, order="C") if with_theta else K
    d1 = np.array(d1, dtype=np.float64)
    d2 = d1 if square else np.array(d2, dtype=np.float64)
    d1n, d2n = np.empty(P1), (np.empty(P2) if not square else None)
    d2n = d1n if d2n is None else d2n
    flags = np.zeros((P1, P2), dtype=np.uint8)
    per_entry = 3.0  # units of BREAK_EVEN (≈ 0.04 µs an entry)
    entries = P1 * (P1 + 1) // 2 if square else P1 * P2
    threaded = per_entry * entries >= _erf_four.BREAK_EVEN and _erf_four.thread_count() > 1
    layer = start
    while layer < stop:
        if threaded:
            codes: list[int] = []  # one per row range (list.append is atomic)

            def call(lo: int, hi: int, layer: int = layer, codes: list = codes) -> None:
                args = (d1, d2, K, T, cw, cb, lw, lb, square, with_theta, layer, layer + 1)
                codes.append(int(loop(kind, *args, lo, hi, d1n, d2n, flags)[1]))

            _split_rows(call, P1, P2, square, per_entry)
            last, code = layer, int(np.bitwise_or.reduce(codes))
        else:
            last, code = loop(
                kind,
                d1,
                d2,
                K,
                T,
                cw,
                cb,
                lw,
                lb,
                square,
                with_theta,
                layer,
                stop,
                0,
                P1,
                d1n,
                d2n,
                flags,
            )
        if code & 1:  # GELU entries where the closed form cancels (old variances d1, d2)
            i, j = np.nonzero(flags)
            flags[i, j] = 0
            k11, k22, k12 = d1[i], d2[j], K[i, j]
            ss = act.pair_expectation(k11, k22, k12)
            K[i, j] = cb[last] + cw[last] * ss
            if with_theta:
                dd = act.derivative_pair_expectation(k11, k22, k12)
                T[i, j] = lb[last] + lw[last] * ss + cw[last] * dd * T[i, j]
            if square:
                K[j, i] = K[i, j]
                T[j, i] = T[i, j]
            if not (np.all(np.isfinite(K[i, j])) and np.all(np.isfinite(T[i, j]))):
                code |= 2
        d1[:] = d1n
        if not square:
            d2[:] = d2n
        layer = last + 1
        if code & 2:
            break
    return layer, K, (T if with_theta else None), d1, d2


def run_layers(
    act: Activation,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray | None,
    cw: np.ndarray,
    cb: np.ndarray,
    lw: np.ndarray | None,
    lb: np.ndarray | None,
    *,
    square: bool,
    start: int,
    stop: int,
) -> tuple[int, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray] | None:
    """Layers start..stop − 1 of the K (and Θ) recursion in one compiled loop, for GELU and Φ;
    None for other activations, without numba, or below :data:`COMPILE_WORTH` entries while
    numba is not loaded (then :func:`layer_step`, the NumPy closed forms).

    Arguments as :func:`layer_step`, with the per-layer coefficient arrays (lw, lb None
    without Θ); the inputs are not modified. Returns (layers done, K, Θ, d1, d2): the values
    after layer ``layers done`` − 1; fewer than ``stop`` only if that layer has a value that
    is not finite (the caller's check names it). Agrees with :func:`layer_step` to ≤
    :data:`SMOOTH_TOLERANCE` per layer (libm's asin for NumPy's arcsin)."""
    if _smooth_kind(act) is None or not (K.size >= COMPILE_WORTH or "numba" in sys.modules):
        return None
    loop = smooth_loop()
    if loop is None:
        return None
    zeros = np.zeros_like(cw)
    return _run_smooth(
        loop,
        act,
        d1,
        d2,
        K,
        T,
        np.ascontiguousarray(cw, dtype=np.float64),
        np.ascontiguousarray(cb, dtype=np.float64),
        zeros if lw is None else np.ascontiguousarray(lw, dtype=np.float64),
        zeros if lb is None else np.ascontiguousarray(lb, dtype=np.float64),
        square=square,
        start=start,
        stop=stop,
    )
