r"""The float32 Erf-net sampler: ziggurat normals, float32 erf, fused layers (private).

:func:`erf32` is a branch-free float32 approximation of the error function, built from
float32 additions, multiplications and selections only (no ``exp``, no division):

.. math::

    \operatorname{erf}(x) \approx \begin{cases}
        x + x\, q(x^2), & |x| < 1,\\
        \operatorname{sign}(x)\,\bigl(1 - p(t)\bigr),\quad
        t = (\min(|x|, 3.92) - 2.46)/1.46, & |x| \ge 1,
    \end{cases}

with :math:`q` of degree 6 approximating :math:`\operatorname{erf}(x)/x - 1` on
:math:`x^2 \in [0, 1]` and :math:`p` of degree 14 approximating :math:`\operatorname{erfc}` on
:math:`|x| \in [1, 3.92]` (beyond 3.92, erfc < 2⁻²⁶ and the float32 result is exactly ±1).
Both were fitted by least squares on 4 000 Chebyshev nodes against ``scipy.special.erf``/``erfc``
in float64 (``numpy.polynomial.chebyshev.chebfit``), converted to monomials and rounded to
float32; they are evaluated by Horner's rule in float32. Writing the small branch as
:math:`x + x q` keeps the rounding of the polynomial out of the leading term.

Accuracy (measured against float64 ``scipy.special.erf`` of the same float32 input, on
4·10⁶ equispaced points of [0, 6] and 10⁵ log-spaced points of [10⁻³⁰, 1]; the function is odd
by construction): max abs error 8.9e-8, max rel error 1.0e-7, at most 1.5 units in the last place
of the float32 result (0.67 ulp on abs(x) < 0.5, 1.34 on [0.5, 1), 1.48 on [1, 2), 0.65 beyond);
NaN propagates, ±inf → ±1 (``tests/ensembles/test_fast32.py`` re-measures these bounds).

Accuracy cost of the float32 path (measured: Erf-net, P = 6 inputs of [-1, 1],
σ_W² = σ_b² = 1, 10⁵ networks from the *same* float64 normals evaluated in both precisions):
max abs difference of the outputs 3.0e-7 at max abs(f) = 5.75 (N = 1000; 5.6e-7 at 6.49 for
N = 2), i.e. the float32 rounding of the outputs; the estimated connected G2, G4, G6 differ by at
most 2.6e-6, 2.4e-7, 2.7e-7 of their standard errors (N = 1000; 1.8e-6, 3.3e-7, 3.8e-7 for
N = 2). docs/numerics.md, "float32 sampling".

Standard normals (:func:`standard_normals`): a 256-layer ziggurat (G. Marsaglia, W. W. Tsang,
J. Stat. Softw. 5(8), 2000, in J. A. Doornik's ZIGNOR formulation, 2005) on the raw 64-bit words
of an SFC64 generator. Normal n uses word n (layer = low 8 bits, u = top 53 bits as a uniform in
[-1, 1)): x = u X_layer if abs(u) < X_{layer+1}/X_layer (≈ 98.5 %); the others are finished in
index order, after all the words of the block, with the words that follow (wedge test with a
fresh uniform, else a fresh proposal; the tail abs(x) > R = 3.654 by Marsaglia's exponential
method). Exact in distribution; 2 ns per normal compiled, against 7.4 ns for NumPy's
``standard_normal`` (whose per-value call overhead dominates).

The one-hidden-layer Erf-net (:func:`erf_net`): per network and input p, the N pre-activations
:math:`z_{pj} = \sum_k \mathrm{fl}_{32}(g_{jk}) F_{kp} + \mu_p` (unit j, rank index k, summed
in the order k = 0, 1, …, then the mean) in float32, :math:`h = \operatorname{erf32}(z)`, and the
readout :math:`f_{po} = (\sqrt{C_W/N}\sum_j R_{oj} h_{pj} + \sqrt{C_b} R_{oN}) + (\mu_b +
\mu_W \sum_j h_{pj})` with the sums in float64 over eight interleaved lanes (lane l takes
j ≡ l mod 8 in order, then the lanes are added in order: :func:`_lane_sum`), rounded to float32
once. :func:`first_layer_erf32` is the same first layer, storing h (b, P, N) as float64 for a
readout drawn conditionally on h.

Two implementations evaluate the *same* sequence of IEEE operations: NumPy array code
(:func:`erf32`, :func:`first_layer_erf32_numpy`, :func:`erf_net_numpy`,
:func:`standard_normals_numpy`: the reference and the fallback) and, if numba is installed,
compiled loops (no fast-math, so no reassociation or FMA contraction; branch-free selections so
that LLVM vectorises erf32). The compiled loops are used only after they reproduced the NumPy
ones bitwise on a probe (:func:`_kernels`), so float32 samples, like float64 ones, do not depend
on whether numba is present (tested). ``FIELDNN_NUMBA=0`` disables them. The NumPy ziggurat
finishes its ≈ 1.5 % slow draws in a Python loop (≈ 30 ns per normal overall): a reference, not
a fast path.

References
----------
G. Marsaglia, W. W. Tsang, "The ziggurat method for generating random variables",
J. Stat. Softw. 5(8) (2000); J. A. Doornik, "An improved ziggurat method to generate normal
random samples" (2005); SFC64: C. Doty-Humphrey, PractRand (as in ``numpy.random.SFC64``).
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np

_F32 = np.float32
# Coefficients, highest degree first (Horner). q: erf(x)/x − 1 in s = x², s ∈ [0, 1].
_SMALL = tuple(
    _F32(c)
    for c in (
        7.882497448008507e-05,
        -0.0008018855005502701,
        0.005189312156289816,
        -0.02685432881116867,
        0.11283597350120544,
        -0.3761262595653534,
        0.12837916612625122,
    )
)
# p: erfc(a) in t = (a − 2.46)/1.46, a ∈ [1, 3.92].
_LARGE = tuple(
    _F32(c)
    for c in (
        -0.00021884188754484057,
        -1.2985969988221768e-05,
        0.0016258660471066833,
        -0.0015874085947871208,
        -0.003337017260491848,
        0.009031123481690884,
        -0.007347635459154844,
        -0.006495251320302486,
        0.028447646647691727,
        -0.04510702192783356,
        0.04504726082086563,
        -0.030599944293498993,
        0.01392898429185152,
        -0.003878106130287051,
        0.0005033535999245942,
    )
)
_CUT = _F32(1.0)
_CLAMP = _F32(3.92)
_MID = _F32(2.46)
_INV_HALF = _F32(1.0 / 1.46)
_ONE = _F32(1.0)
_ZERO = _F32(0.0)


def erf32(x: np.ndarray) -> np.ndarray:
    """float32 erf of a float32 array with NumPy operations (the reference; module docstring)."""
    x = np.asarray(x, dtype=np.float32)
    a = np.abs(x)
    s = x * x
    q = np.full_like(x, _SMALL[0])
    for c in _SMALL[1:]:  # in place (fewer temporaries), the same roundings as q = q * s + c
        q *= s
        q += c
    q *= x
    small = np.add(x, q, out=q)
    t = np.minimum(a, _CLAMP, where=a < _CLAMP, out=np.full_like(x, _CLAMP))
    t -= _MID
    t *= _INV_HALF
    p = np.full_like(x, _LARGE[0])
    for c in _LARGE[1:]:
        p *= t
        p += c
    big = np.subtract(_ONE, p, out=p)
    np.negative(big, out=big, where=x < _ZERO)
    out = np.where(a < _CUT, small, big)
    return np.where(a == a, out, x)


def first_layer_erf32_numpy(
    g: np.ndarray, F: np.ndarray, mean: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """h (b, P, N) float64 from normals g (b, N, r) float64, F (r, P) and mean (P,) float32.

    The NumPy reference of the compiled :func:`_first_layer_loop` (same float32 operations).
    """
    g32 = g.astype(np.float32)
    z = g32[:, None, :, 0] * F[0][None, :, None]
    for k in range(1, g.shape[2]):
        z = z + g32[:, None, :, k] * F[k][None, :, None]
    out[...] = erf32(z + mean[None, :, None])
    return out


def _lane_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis in the compiled loops' order: 8 lanes (lane l takes j ≡ l mod 8,
    in order of j), then the lanes in order. -0.0 pads: x + (-0.0) == x exactly."""
    pad = (-x.shape[-1]) % 8
    x = np.concatenate([x, np.full((*x.shape[:-1], pad), -0.0)], axis=-1)
    lanes = np.cumsum(x.reshape(*x.shape[:-1], -1, 8), axis=-2)[..., -1, :]
    return np.cumsum(lanes, axis=-1)[..., -1]


def erf_net_numpy(
    g: np.ndarray,
    F: np.ndarray,
    mean: np.ndarray,
    R: np.ndarray,
    coef: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """float32 outputs ``out`` (b, P, d_out) of one-hidden-layer Erf-nets (NumPy reference).

    ``g`` (b, N, r) first-layer normals, ``F`` (r, P) and ``mean`` (P,) float32, ``R``
    (b, d_out, N + 1) readout normals (weights, then the bias), ``coef`` = (√(C_W/N), √C_b,
    μ_b, μ_W) of the readout. f = (√(C_W/N) Σ_j R_j h_j + √C_b R_N) + (μ_b + μ_W Σ_j h_j), the
    sums in float64 in :func:`_lane_sum` order, rounded to float32 once.
    """
    n = g.shape[1]
    h = first_layer_erf32_numpy(g, F, mean, np.empty((g.shape[0], F.shape[1], n)))
    total = _lane_sum(R[:, None, :, :n] * h[:, :, None, :])
    value = coef[0] * total + coef[1] * R[:, None, :, n]
    if coef[3] != 0.0:
        value = value + (coef[2] + coef[3] * _lane_sum(h))[:, :, None]
    else:
        value = value + coef[2]
    out[...] = value
    return out


# -- standard normals: a ziggurat on raw SFC64 words ------------------------------------------
# Marsaglia & Tsang's ziggurat, 256 layers, in J. A. Doornik's formulation (ZIGNOR, 2005):
# R is the start of the tail, V the common area of the layers under the unnormalised density
# e^{−x²/2}: V = R e^{−R²/2} + ∫_R^∞ e^{−x²/2} dx (R solved with mpmath so that the top layer's
# area equals V too; the float64 recursion then closes to ~1e-15).
_ZIG_R = 3.6541528853610088
_ZIG_V = 0.004928673233974655
_U64 = np.uint64
_M8, _S3, _S11, _S24, _S40, _ONE64 = _U64(255), _U64(3), _U64(11), _U64(24), _U64(40), _U64(1)


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray]:
    """Layer edges X[0..256] (X[0] = V/φ(R), X[1] = R, X[256] = 0) and ratios X[i+1]/X[i]."""
    X = np.zeros(257)
    f = math.exp(-0.5 * _ZIG_R * _ZIG_R)
    X[0], X[1] = _ZIG_V / f, _ZIG_R
    for i in range(2, 256):
        X[i] = math.sqrt(-2.0 * math.log(_ZIG_V / X[i - 1] + f))
        f = math.exp(-0.5 * X[i] * X[i])
    return X, X[1:] / X[:-1]


_ZIG_X, _ZIG_RATIO = _ziggurat_tables()
_UNIT = 2.0**-53  # (top 53 bits + 1/2) × 2⁻⁵³: a uniform in (0, 1)
_SIGNED = 2.0**-52  # top 53 bits × 2⁻⁵² − 1: a uniform in [-1, 1)


def _resolve(i: Any, u: float, words: Any, pos: int, X: Any, ratio: Any) -> tuple[float, int]:
    """Finish a ziggurat draw whose proposal (layer i, u ∈ [-1, 1)) fell outside the layer's
    core, with the 64-bit words ``words[pos:]`` (Doornik's wedge test and restart; the tail by
    Marsaglia's method). Returns (normal, next position), or (0.0, -1) if the words ran out
    (the caller appends more and calls again from the same position)."""
    n = len(words)
    while True:
        if pos + 2 > n:
            return 0.0, -1
        if i == 0:  # the tail |x| > R, sign of u
            x = math.log((np.float64(words[pos] >> _S11) + 0.5) * _UNIT) / _ZIG_R
            y = math.log((np.float64(words[pos + 1] >> _S11) + 0.5) * _UNIT)
            pos += 2
            if -2.0 * y >= x * x:
                return (x - _ZIG_R if u < 0.0 else _ZIG_R - x), pos
            continue
        x = u * X[i]
        f0 = math.exp(-0.5 * (X[i] * X[i] - x * x))
        f1 = math.exp(-0.5 * (X[i + 1] * X[i + 1] - x * x))
        if f1 + (np.float64(words[pos] >> _S11) + 0.5) * _UNIT * (f0 - f1) < 1.0:
            return x, pos + 1
        word = words[pos + 1]  # a fresh proposal
        pos += 2
        i = np.intp(word & _M8)
        u = np.float64(word >> _S11) * _SIGNED - 1.0
        if abs(u) < ratio[i]:
            return u * X[i], pos


def standard_normals_numpy(bitgen: np.random.SFC64, out: np.ndarray) -> np.ndarray:
    """Fill the flat float64 array ``out`` with standard normals from ``bitgen``'s words.

    Normal n is decided by word n (layer = low 8 bits, u = top 53 bits) unless it falls outside
    its layer's core (≈ 1.5 %); those are then finished in index order by :func:`_resolve` with
    the words that follow. The NumPy reference of the compiled :func:`_normals_loop`.
    """
    words = bitgen.random_raw(out.size)
    layer = (words & _M8).astype(np.intp)
    u = (words >> _S11).astype(np.float64) * _SIGNED - 1.0
    core = np.abs(u) < _ZIG_RATIO[layer]
    out[...] = np.where(core, u * _ZIG_X[layer], u)
    slow = np.flatnonzero(~core)
    if slow.size == 0:
        return out
    X, ratio = _ZIG_X.tolist(), _ZIG_RATIO.tolist()  # Python scalars: faster in a Python loop
    extra = bitgen.random_raw(4 * slow.size + 64).tolist()
    pos = 0
    for n in slow.tolist():
        while True:
            value, new = _resolve(layer[n], float(out[n]), extra, pos, X, ratio)
            if new >= 0:
                break
            extra = extra[pos:] + bitgen.random_raw(len(extra)).tolist()
            pos = 0
        out[n], pos = value, new
    return out


# -- compiled versions (optional numba) --------------------------------------------------------
# compiled helpers, globals of the compiled loops
_ERF32_JIT: Any = None
_SFC64_JIT: Any = None
_RESOLVE_JIT: Any = None
_LANE_DOT_JIT: Any = None
_ROUND_JIT: Any = None
_ERF_ROW_JIT: Any = None
_KERNELS: list[Any] = []  # [(first layer, in-place erf, normals, net) loops or None]


def _erf32_scalar(x: Any) -> Any:
    """:func:`erf32` of one float32 value, both branches evaluated, then selected."""
    a = abs(x)
    s = x * x
    q = _SMALL[0]
    for c in _SMALL[1:]:
        q = q * s + c
    small = x + x * q
    t = ((a if a < _CLAMP else _CLAMP) - _MID) * _INV_HALF
    p = _LARGE[0]
    for c in _LARGE[1:]:
        p = p * t + c
    big = _ONE - p
    big = -big if x < _ZERO else big
    out = small if a < _CUT else big
    return out if a == a else x


def _first_layer_loop(
    g: np.ndarray, F: np.ndarray, mean: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled by numba
    """Compiled :func:`first_layer_erf32_numpy`: per network, the normals are rounded to float32
    rank-major (contiguous rows), then each input's row of N units is formed and evaluated."""
    b, n, r = g.shape
    gk = np.empty((r, n), dtype=np.float32)
    row = np.empty(n, dtype=np.float32)
    for i in range(b):
        _ROUND_JIT(g, i, gk)
        for p in range(F.shape[1]):
            _ERF_ROW_JIT(gk, F, mean, p, row)
            for j in range(n):
                out[i, p, j] = row[j]


def _round_normals(g: np.ndarray, i: int, gk: np.ndarray) -> None:  # pragma: no cover - compiled
    """gk[k, j] = float32(g[i, j, k]): network i's normals, rounded, rank-major."""
    for k in range(gk.shape[0]):
        for j in range(gk.shape[1]):
            gk[k, j] = np.float32(g[i, j, k])


def _erf_row(
    gk: np.ndarray, F: np.ndarray, mean: np.ndarray, p: int, row: np.ndarray
) -> None:  # pragma: no cover - compiled by numba
    """row[j] = erf32(Σ_k gk[k, j] F[k, p] + mean[p]), summed in the order k = 0, 1, …: input
    p's N activations, shared by both loops below."""
    f0 = F[0, p]
    for j in range(row.size):
        row[j] = gk[0, j] * f0
    for k in range(1, gk.shape[0]):
        fk = F[k, p]
        for j in range(row.size):
            row[j] = row[j] + gk[k, j] * fk
    m = mean[p]
    for j in range(row.size):
        row[j] = _ERF32_JIT(row[j] + m)


def _lane_dot(w: np.ndarray, h: np.ndarray, n: int) -> float:  # pragma: no cover - compiled
    """Σ_j w[j] float64(h[j]) in :func:`_lane_sum` order (eight independent partial sums)."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = -0.0
    n8 = n - n % 8
    for j in range(0, n8, 8):
        a0 += w[j] * np.float64(h[j])
        a1 += w[j + 1] * np.float64(h[j + 1])
        a2 += w[j + 2] * np.float64(h[j + 2])
        a3 += w[j + 3] * np.float64(h[j + 3])
        a4 += w[j + 4] * np.float64(h[j + 4])
        a5 += w[j + 5] * np.float64(h[j + 5])
        a6 += w[j + 6] * np.float64(h[j + 6])
        a7 += w[j + 7] * np.float64(h[j + 7])
    rest = n - n8
    if rest > 0:
        a0 += w[n8] * np.float64(h[n8])
    if rest > 1:
        a1 += w[n8 + 1] * np.float64(h[n8 + 1])
    if rest > 2:
        a2 += w[n8 + 2] * np.float64(h[n8 + 2])
    if rest > 3:
        a3 += w[n8 + 3] * np.float64(h[n8 + 3])
    if rest > 4:
        a4 += w[n8 + 4] * np.float64(h[n8 + 4])
    if rest > 5:
        a5 += w[n8 + 5] * np.float64(h[n8 + 5])
    if rest > 6:
        a6 += w[n8 + 6] * np.float64(h[n8 + 6])
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7


def _erf_net_loop(
    g: np.ndarray,
    F: np.ndarray,
    mean: np.ndarray,
    R: np.ndarray,
    coef: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled by numba
    """Compiled :func:`erf_net_numpy`: the first layer as :func:`_first_layer_loop`, one row
    of N activations at a time, summed into the readout without being stored."""
    b, n, r = g.shape
    gk = np.empty((r, n), dtype=np.float32)
    row = np.empty(n, dtype=np.float32)
    ones = np.ones(n)
    for i in range(b):
        _ROUND_JIT(g, i, gk)
        for p in range(F.shape[1]):
            _ERF_ROW_JIT(gk, F, mean, p, row)
            shift = coef[2]
            if coef[3] != 0.0:
                shift = coef[2] + coef[3] * _LANE_DOT_JIT(ones, row, n)
            for o in range(R.shape[1]):
                total = _LANE_DOT_JIT(R[i, o], row, n)
                out[i, p, o] = np.float32(coef[0] * total + coef[1] * R[i, o, n] + shift)


def _sfc64_fill(state: np.ndarray, words: np.ndarray) -> None:  # pragma: no cover - compiled
    """The next ``words.size`` outputs of SFC64 (state a, b, c, counter; NumPy's algorithm)."""
    a, b, c, w = state[0], state[1], state[2], state[3]
    for n in range(words.size):
        tmp = a + b + w
        w += _ONE64
        a = b ^ (b >> _S11)
        b = c + (c << _S3)
        c = ((c << _S24) | (c >> _S40)) + tmp
        words[n] = tmp
    state[0], state[1], state[2], state[3] = a, b, c, w


def _normals_loop(state: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Compiled :func:`standard_normals_numpy`, continuing the SFC64 ``state`` (advanced)."""
    a, b, c, w = state[0], state[1], state[2], state[3]
    slow = np.empty(out.size, dtype=np.intp)  # only the first ≈ 1.5 % are touched
    slow_words = np.empty(out.size, dtype=np.uint64)
    k = 0
    for n in range(out.size):
        tmp = a + b + w  # SFC64, as in _sfc64_fill
        w += _ONE64
        a = b ^ (b >> _S11)
        b = c + (c << _S3)
        c = ((c << _S24) | (c >> _S40)) + tmp
        i = np.intp(tmp & _M8)
        u = np.float64(tmp >> _S11) * _SIGNED - 1.0
        out[n] = u * _ZIG_X[i]
        if not abs(u) < _ZIG_RATIO[i]:
            slow[k] = n
            slow_words[k] = tmp
            k += 1
    state[0], state[1], state[2], state[3] = a, b, c, w
    if k == 0:
        return
    extra = np.empty(4 * k + 64, dtype=np.uint64)
    _SFC64_JIT(state, extra)
    pos = 0
    for j in range(k):
        i = np.intp(slow_words[j] & _M8)
        u = np.float64(slow_words[j] >> _S11) * _SIGNED - 1.0
        while True:
            value, new = _RESOLVE_JIT(i, u, extra, pos, _ZIG_X, _ZIG_RATIO)
            if new >= 0:
                break
            more = np.empty(extra.size, dtype=np.uint64)
            _SFC64_JIT(state, more)
            extra = np.concatenate((extra[pos:], more))
            pos = 0
        out[slow[j]] = value
        pos = new


def _erf32_loop(values: np.ndarray) -> None:  # pragma: no cover - compiled by numba
    """values[i] = erf32(values[i]) (flat float32 array)."""
    for i in range(values.size):
        values[i] = _ERF32_JIT(values[i])


def _compile() -> tuple[Any, ...]:
    """numba-compile the four loops (cached on disk; raises if numba is missing)."""
    import numba

    global _ERF32_JIT, _SFC64_JIT, _RESOLVE_JIT, _LANE_DOT_JIT, _ROUND_JIT, _ERF_ROW_JIT
    _ERF32_JIT = numba.njit(inline="always", error_model="numpy")(_erf32_scalar)
    _SFC64_JIT = numba.njit(error_model="numpy")(_sfc64_fill)
    _RESOLVE_JIT = numba.njit(error_model="numpy")(_resolve)
    _LANE_DOT_JIT = numba.njit(inline="always", error_model="numpy")(_lane_dot)
    _ROUND_JIT = numba.njit(inline="always", error_model="numpy")(_round_normals)
    _ERF_ROW_JIT = numba.njit(inline="always", error_model="numpy")(_erf_row)
    options = {"nogil": True, "cache": True, "error_model": "numpy"}
    loops = (_first_layer_loop, _erf32_loop, _normals_loop, _erf_net_loop)
    return tuple(numba.njit(**options)(f) for f in loops)


def compile_normals() -> Any:
    """The compiled :func:`_normals_loop` alone (cached on disk; raises if numba is missing),
    for callers that need the ziggurat without the other loops; not probed here (the caller
    checks it against :func:`standard_normals_numpy`)."""
    import numba

    global _SFC64_JIT, _RESOLVE_JIT
    if _SFC64_JIT is None:
        _SFC64_JIT = numba.njit(error_model="numpy")(_sfc64_fill)
    if _RESOLVE_JIT is None:
        _RESOLVE_JIT = numba.njit(error_model="numpy")(_resolve)
    return numba.njit(nogil=True, cache=True, error_model="numpy")(_normals_loop)


def _probe() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Probe values (octaves and specials) and a small first-layer problem (g, F, mean)."""
    rng = np.random.default_rng(0)
    scales = 2.0 ** np.arange(-6, 4).repeat(512)
    special = [0.0, -0.0, 1.0, -1.0, 3.92, -3.92, 30.0, np.inf, -np.inf, 1e-45, np.nan]
    z = np.concatenate([rng.standard_normal(scales.size) * scales, special]).astype(np.float32)
    g = rng.standard_normal((3, 37, 3))
    F = rng.standard_normal((3, 5)).astype(np.float32)
    mean = rng.standard_normal(5).astype(np.float32)
    return z, g, F, mean


def _kernels() -> Any:
    """(first layer, in-place erf) compiled loops, or None (numba missing, disabled, or not
    bitwise equal to the NumPy reference on the probe)."""
    if _KERNELS:
        return _KERNELS[0]
    kernels = None
    if os.environ.get("FIELDNN_NUMBA", "1") != "0":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                first, loop, normals, net = _compile()
                z, g, F, mean = _probe()
                got = z.copy()
                loop(got)
                h = np.empty((g.shape[0], F.shape[1], g.shape[1]))
                first(g, F, mean, h)
                drawn = np.empty(20_000)  # ≈ 300 finished by _resolve, a few in the tail
                normals(np.random.SFC64(5).state["state"]["state"], drawn)
                R = np.random.default_rng(1).standard_normal((3, 2, 38))
                coef = np.array([0.3, 0.7, 0.2, -0.4])
                f = np.empty((3, 5, 2), dtype=np.float32)
                net(g, F, mean, R, coef, f)
            want = first_layer_erf32_numpy(g, F, mean, np.empty_like(h))
            if (
                np.array_equal(got, erf32(z), equal_nan=True)
                and np.array_equal(h, want)
                and np.array_equal(drawn, standard_normals_numpy(np.random.SFC64(5), drawn * 0))
                and np.array_equal(f, erf_net_numpy(g, F, mean, R, coef, np.empty_like(f)))
            ):
                kernels = (first, loop, normals, net)
        except Exception:  # any failure of the optional accelerator: fall back
            kernels = None
    _KERNELS.append(kernels)
    return kernels


def erf32_inplace(values: np.ndarray) -> np.ndarray:
    """:func:`erf32` of a C-contiguous float32 array, in place (compiled if available)."""
    kernels = _kernels()
    if kernels is None:
        values[...] = erf32(values)
    else:
        kernels[1](values.reshape(-1))
    return values


def first_layer_erf32(
    g: np.ndarray, F: np.ndarray, mean: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Fused first layer + erf32 into ``out`` (b, P, N) float64 (compiled if available)."""
    kernels = _kernels()
    if kernels is None:
        return first_layer_erf32_numpy(g, F, mean, out)
    kernels[0](g, F, mean, out)
    return out


def standard_normals(bitgen: np.random.SFC64, out: np.ndarray) -> np.ndarray:
    """Standard normals into the flat float64 array ``out`` from ``bitgen``'s SFC64 stream
    (:func:`standard_normals_numpy`; compiled if available, then bitwise the same)."""
    kernels = _kernels()
    if kernels is None:
        return standard_normals_numpy(bitgen, out)
    kernels[2](bitgen.state["state"]["state"], out)
    return out


def erf_net(
    g: np.ndarray,
    F: np.ndarray,
    mean: np.ndarray,
    R: np.ndarray,
    coef: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """float32 outputs (b, P, d_out) of one-hidden-layer Erf-nets (:func:`erf_net_numpy`;
    compiled if available, then bitwise the same)."""
    kernels = _kernels()
    if kernels is None:
        return erf_net_numpy(g, F, mean, R, coef, out)
    kernels[3](g, F, mean, R, coef, out)
    return out
