"""Quadrature engines behind :mod:`fieldnn.integrals` (private).

* :func:`adaptive_tensor_gk` — globally adaptive cubature on boxes in d = 1, 2, 3 with the tensor
  Gauss–Kronrod 7/15 pair, vectorised over many integrands that share their nodes.
* :func:`rqmc` — randomised quasi-Monte Carlo (scrambled Sobol') for d ≥ 4 vertex and d ≥ 2
  two-vertex integrals, error from the spread of independent randomisations.
* :class:`AxisMap` — per-axis map of (−1, 1) onto the real line, y = c t / (1 − t²), for Λ = ∞.

The integrand is a callable ``f(nodes (N, d)) -> (T, N)``: T integrands evaluated at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Integrand = Callable[[np.ndarray], np.ndarray]

# Gauss–Kronrod 7/15 pair on [−1, 1] (QUADPACK qk15; Piessens et al. 1983). The Kronrod
# abscissae are listed from the largest to 0; the Gauss ones are xgk[1], xgk[3], xgk[5], xgk[7].
_XGK = np.array(
    [
        0.991455371120812639206854697526329,
        0.949107912342758524526189684047851,
        0.864864423359769072789712788640926,
        0.741531185599394439863864773280788,
        0.586087235467691130294144845693013,
        0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
        0.0,
    ]
)
_WGK = np.array(
    [
        0.022935322010529224963732008058970,
        0.063092092629978553290700663189204,
        0.104790010322250183839876322541518,
        0.140653259715525918745189590510238,
        0.169004726639267902826583426598550,
        0.190350578064785409913256402421014,
        0.204432940075298892414161999234649,
        0.209482141084727828012999174891714,
    ]
)
_WG = np.array(
    [
        0.129484966168869693270611432679082,
        0.279705391489276667901467771423780,
        0.381830050505118944950369775488975,
        0.417959183673469387755102040816327,
    ]
)

#: 15 Kronrod nodes on [−1, 1], ascending.
GK_NODES = np.concatenate([-_XGK[:7], _XGK[::-1]])
#: Kronrod weights at GK_NODES.
GK_WEIGHTS = np.concatenate([_WGK[:7], _WGK[::-1]])
#: Gauss 7-point weights at GK_NODES (zero at the Kronrod-only nodes).
G_WEIGHTS = np.zeros(15)
G_WEIGHTS[[1, 3, 5, 7, 9, 11, 13]] = np.concatenate([_WG, _WG[2::-1]])

#: Relative round-off floor: a tolerance below FLOOR × ∫|f| is not asked for.
FLOOR = 100 * np.finfo(np.float64).eps
#: Round-off term added to every reported error, ROUNDOFF × ∫|f| (the |K − G| differences of
#: polynomial-like integrands cancel to below the rounding of the box sums themselves).
ROUNDOFF = 50 * np.finfo(np.float64).eps
#: Entries (integrands × nodes) processed per chunk, to bound memory.
CHUNK = 1 << 22


@dataclass(frozen=True)
class Cubature:
    """Raw engine output: values (T,), errors (T,), nodes used, whether every tolerance was met."""

    values: np.ndarray
    errors: np.ndarray
    n_nodes: int
    converged: bool


@dataclass(frozen=True)
class AxisMap:
    """Map of t ∈ (−1, 1) onto y ∈ ℝ, y = c t / (1 − t²), applied to every axis.

    The Jacobian is dy/dt = c (1 + t²) / (1 − t²)². An integrand decaying like |y|^{−p} becomes
    ~ (1 − t)^{p − 2} at the ends of each axis, which the adaptive bisection resolves.
    """

    scale: float

    def y(self, t: np.ndarray) -> np.ndarray:
        return self.scale * t / (1.0 - t * t)

    def jacobian(self, t: np.ndarray) -> np.ndarray:
        """Product over the last axis of dy/dt."""
        s = 1.0 - t * t
        return np.prod(self.scale * (1.0 + t * t) / (s * s), axis=-1)

    def t(self, y: np.ndarray) -> np.ndarray:
        """Inverse map (for breakpoints): the root of y t² + c t − y = 0 in (−1, 1)."""
        y = np.asarray(y, dtype=np.float64) / self.scale
        out = np.zeros_like(y)
        nz = y != 0
        out[nz] = 2.0 * y[nz] / (1.0 + np.sqrt(1.0 + 4.0 * y[nz] ** 2))
        return out

    def wrap(self, f: Integrand) -> Integrand:
        """The integrand in t: f(y(t)) · Π dy/dt."""

        def g(t: np.ndarray) -> np.ndarray:
            return f(self.y(t)) * self.jacobian(t)[None, :]

        return g


#: Columns K, G and K − G of the one-axis weights, contracted on every axis at once.
_W3 = np.stack([GK_WEIGHTS, G_WEIGHTS, GK_WEIGHTS - G_WEIGHTS], axis=1)


def _contract3(F: np.ndarray, d: int) -> np.ndarray:
    """Contract each of the trailing d axes (length 15) of F with the 3 columns of _W3.

    Returns shape F.shape[:-d] + (3,)*d; entry [..., c_1, …, c_d] is the tensor rule with
    weights _W3[:, c_i] on axis i. The first matmul carries the full cost (3 columns), the
    following ones act on tensors 5× smaller each.
    """
    for _ in range(d):
        F = np.moveaxis(F @ _W3, -1, -d)  # contract the last 15-axis, put its 3 in front
    return F


def _evaluate_boxes(f: Integrand, lo: np.ndarray, hi: np.ndarray, n_out: int):
    """Tensor GK15 on boxes (B, d): Kronrod value, |K − G|, ∫|f|, per-axis |K − G| indicators."""
    B, d = lo.shape
    n = GK_NODES.size
    grid = np.stack(np.meshgrid(*([GK_NODES] * d), indexing="ij"), axis=-1).reshape(-1, d)
    half = 0.5 * (hi - lo)
    mid = 0.5 * (hi + lo)
    vol = np.prod(half, axis=1)
    per_box = n**d
    step = max(1, CHUNK // (per_box * max(n_out, 1)))
    IK = np.empty((n_out, B))
    IG = np.empty((n_out, B))
    AK = np.empty((n_out, B))
    EA = np.empty((n_out, B, d))
    wK = tensor_weights(d, GK_WEIGHTS)
    for s in range(0, B, step):
        sl = slice(s, min(s + step, B))
        nodes = mid[sl, None, :] + half[sl, None, :] * grid[None, :, :]
        F = f(nodes.reshape(-1, d)).reshape((n_out, nodes.shape[0]) + (n,) * d)
        C = _contract3(F, d)  # (T, b) + (3,)*d
        IK[:, sl] = C[(..., *([0] * d))]
        IG[:, sl] = C[(..., *([1] * d))]
        for i in range(d):
            EA[:, sl, i] = np.abs(C[(..., *([0] * i + [2] + [0] * (d - i - 1)))])
        AK[:, sl] = np.abs(F).reshape(n_out, F.shape[1], -1) @ wK
    return IK * vol, np.abs(IK - IG) * vol, AK * vol, EA * vol[None, :, None]


def tensor_weights(d: int, w1: np.ndarray) -> np.ndarray:
    """Tensor product of the one-axis weights w1 on the 15^d grid, flattened in C order."""
    w = w1
    for _ in range(d - 1):
        w = np.multiply.outer(w, w1)
    return w.reshape(-1)


def initial_boxes(edges: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The boxes (lo, hi), each (B, d), of the tensor product of per-axis panel edges."""
    los = np.meshgrid(*[e[:-1] for e in edges], indexing="ij")
    his = np.meshgrid(*[e[1:] for e in edges], indexing="ij")
    lo = np.stack([a.ravel() for a in los], axis=1)
    hi = np.stack([a.ravel() for a in his], axis=1)
    return lo, hi


def box_tolerance(values, abs_values, rtol, atol):
    """Tolerance for the sum of box errors: max(atol, rtol |I|, FLOOR ∫|f|) − ROUNDOFF ∫|f|."""
    tol = np.maximum(np.maximum(atol, rtol * np.abs(values)), FLOOR * abs_values)
    return tol - ROUNDOFF * abs_values


def select_for_split(err: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Boxes to refine: for every integrand whose error sum exceeds its tolerance, all boxes
    except the smallest-error ones whose errors add up to at most a quarter of the tolerance.

    err: (T, B) per-box error estimates; tol: (T,). Returns a boolean mask (B,).
    """
    bad = err.sum(axis=1) > tol
    if not bad.any():
        return np.zeros(err.shape[1], dtype=bool)
    e = err[bad]
    order = np.argsort(e, axis=1)
    cs = np.cumsum(np.take_along_axis(e, order, axis=1), axis=1)
    mask = np.zeros_like(e, dtype=bool)
    np.put_along_axis(mask, order, cs > 0.25 * tol[bad][:, None], axis=1)
    return mask.any(axis=0)


def contract_pair_blocks(
    internal: Callable[[np.ndarray, np.ndarray], np.ndarray],
    y: np.ndarray,
    weighted: list[tuple[np.ndarray, np.ndarray]],
    m: int,
    n_blocks: int,
    T: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-vertex sums over every pair of blocks (panels or boxes) of m nodes each.

    ``y`` (n_blocks·m, d) are the nodes; ``weighted`` holds the (left, right) legs times the
    Kronrod weights, times the Gauss weights, and their absolute values, each (T, n_blocks, m).
    Returns V[t, i, j] = Σ_ab A[t, i, a] K(y_ia, y_jb) B[t, j, b] for the three, (T, n, n) each,
    with K(y, y) evaluated in blocks of rows so that neither the block nor the einsum
    intermediate (T, rows, n) exceeds CHUNK entries.
    """
    VK, VG, VA = (np.empty((T, n_blocks, n_blocks)) for _ in range(3))
    Q = n_blocks * m
    rows = max(1, CHUNK // (m * max(Q, T * n_blocks)))
    for i0 in range(0, n_blocks, rows):
        ib = slice(i0, min(i0 + rows, n_blocks))
        Mb = internal(y[m * i0 : m * ib.stop], y).reshape(-1, m, n_blocks, m)
        for V, (A, B), M in zip((VK, VG, VA), weighted, (Mb, Mb, np.abs(Mb)), strict=True):
            V[:, ib] = np.einsum("tia,iajb,tjb->tij", A[:, ib], M, B, optimize=True)
    return VK, VG, VA


def pair_sweep_status(
    VK: np.ndarray, err: np.ndarray, VA: np.ndarray, rtol: float, atol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values (T,), error estimates (T,) and the pairs to refine (n, n) of one sweep over block
    pairs, from its Kronrod values VK, errors ``err`` and ∫|f| VA, each (T, n, n)."""
    values, abs_values = VK.sum(axis=(1, 2)), VA.sum(axis=(1, 2))
    errs = err.reshape(VK.shape[0], -1)
    tol = box_tolerance(values, abs_values, rtol, atol)
    split = select_for_split(errs, tol).reshape(VK.shape[1:])
    errors = errs.sum(axis=1) + ROUNDOFF * abs_values
    return values, errors, split


def adaptive_tensor_gk(
    f: Integrand,
    edges: list[np.ndarray],
    *,
    n_out: int,
    rtol: float,
    atol: float,
    max_nodes: int,
) -> Cubature:
    """Globally adaptive tensor Gauss–Kronrod cubature over the box product of ``edges``.

    Each box carries the tensor K15 value and the error estimate |K15⊗…⊗K15 − G7⊗…⊗G7| (the
    error of the Gauss rule, an upper estimate of the error of the Kronrod value that is
    returned). A box is bisected along the axis whose one-axis embedded difference is largest.
    Integrand t is converged when its reported error, Σ_boxes error + ROUNDOFF ∫|f_t|, is
    ≤ max(atol, rtol |I_t|, FLOOR ∫|f_t|).
    """
    lo, hi = initial_boxes(edges)
    d = lo.shape[1]
    per_box = GK_NODES.size**d
    IK, err, AK, EA = _evaluate_boxes(f, lo, hi, n_out)
    n_nodes = lo.shape[0] * per_box
    min_width = 1e-13 * np.maximum(1.0, np.max(np.abs(np.concatenate(edges))))
    while True:
        values, abs_values = IK.sum(axis=1), AK.sum(axis=1)
        tol = box_tolerance(values, abs_values, rtol, atol)
        split = select_for_split(err, tol)
        errors = err.sum(axis=1) + ROUNDOFF * abs_values
        if not split.any():
            return Cubature(values, errors, n_nodes, True)
        bad = err.sum(axis=1) > tol
        score = (EA[bad] / tol[bad][:, None, None]).sum(axis=0)
        width = hi - lo
        axis = np.where(score.max(axis=1) > 0, np.argmax(score, axis=1), np.argmax(width, axis=1))
        rows = np.arange(lo.shape[0])
        split &= width[rows, axis] > min_width
        n_new = 2 * int(split.sum()) * per_box
        if n_new == 0 or n_nodes + n_new > max_nodes:
            return Cubature(values, errors, n_nodes, False)
        ax = axis[split]
        plo, phi = lo[split], hi[split]
        cut = 0.5 * (plo[np.arange(ax.size), ax] + phi[np.arange(ax.size), ax])
        left_hi, right_lo = phi.copy(), plo.copy()
        left_hi[np.arange(ax.size), ax] = cut
        right_lo[np.arange(ax.size), ax] = cut
        nlo = np.concatenate([plo, right_lo])
        nhi = np.concatenate([left_hi, phi])
        nIK, nerr, nAK, nEA = _evaluate_boxes(f, nlo, nhi, n_out)
        n_nodes += n_new
        keep = ~split
        lo = np.concatenate([lo[keep], nlo])
        hi = np.concatenate([hi[keep], nhi])
        IK = np.concatenate([IK[:, keep], nIK], axis=1)
        err = np.concatenate([err[:, keep], nerr], axis=1)
        AK = np.concatenate([AK[:, keep], nAK], axis=1)
        EA = np.concatenate([EA[:, keep], nEA], axis=1)


def not_converged_warning(what: str, errors: np.ndarray, values: np.ndarray) -> None:
    """Warn (IntegrationWarning) that the requested tolerance was not reached."""
    from scipy.integrate import IntegrationWarning  # lazy: scipy.integrate costs ~1 s to import

    rel = np.max(errors / np.maximum(np.abs(values), np.finfo(float).tiny))
    warnings.warn(
        f"{what}: requested tolerance not reached within max_evaluations; the returned errors "
        f"are honest (largest relative error {rel:.2e}); raise max_evaluations or rtol",
        IntegrationWarning,
        stacklevel=3,
    )


def rqmc(
    estimate: Callable[[np.random.Generator, int], np.ndarray],
    *,
    n_randomizations: int,
    rtol: float,
    atol: float,
    max_nodes: int,
    nodes_per_point: Callable[[int], int],
    rng: int | np.random.SeedSequence,
    m0: int = 10,
) -> Cubature:
    """Randomised QMC driver: ``estimate(gen, n)`` returns one estimate (T,) of the integral
    from the first n = 2^m points of the scrambled Sobol' sequence(s) it draws with ``gen``;
    R randomisations give mean and standard error σ/√R. n doubles until the standard error is
    ≤ max(atol, rtol |I|) or the node budget (counting every level evaluated) is spent.
    """
    ss = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(rng)
    children = ss.spawn(n_randomizations)
    m, used = m0, 0
    while True:
        n = 2**m
        ests = np.stack([estimate(np.random.default_rng(c), n) for c in children])
        values = ests.mean(axis=0)
        errors = ests.std(axis=0, ddof=1) / np.sqrt(n_randomizations)
        used += n_randomizations * nodes_per_point(n)
        tol = np.maximum(atol, rtol * np.abs(values))
        if np.all(errors <= tol):
            return Cubature(values, errors, used, True)
        if used + n_randomizations * nodes_per_point(2 * n) > max_nodes:
            return Cubature(values, errors, used, False)
        m += 1


def sobol_box(gen: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """First n points (n a power of 2) of a scrambled Sobol' sequence mapped onto [lo, hi]^d,
    kept strictly inside the box (an end point would hit the Λ = ∞ map's pole)."""
    from scipy.stats import qmc  # lazy: scipy.stats costs ~1 s to import

    u = qmc.Sobol(lo.size, scramble=True, seed=gen).random(n)
    u = np.clip(u, 2**-60, 1.0 - 2**-53)
    return lo + (hi - lo) * u
