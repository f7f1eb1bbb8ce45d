r"""Quadrature rules in the rank of a covariance (private): Gauss–Hermite and trapezoid.

For :math:`z \sim \mathcal N(0, K)`, :math:`K = V \Lambda V^T` with the eigenvalues
:math:`\lambda_i \le 10^{-13}\,\lambda_{\max}` dropped, :math:`z = L u`,
:math:`L = V_r \Lambda_r^{1/2}` (k × r), :math:`u \sim \mathcal N(0, I_r)`, and

.. math:: \langle F(z)\rangle \approx \sum_{i_1..i_r} w_{i_1}\cdots w_{i_r}\,
          F(L\,(x_{i_1},\dots,x_{i_r}))

with the probabilists' Gauss–Hermite nodes :math:`x_i` and weights :math:`w_i`
(:func:`numpy.polynomial.hermite_e.hermegauss`, weights divided by √(2π)); an n-node rule is exact
for polynomials of degree 2n − 1 in each u_i.

Saturating activations (erf, tanh, …) have slowly decaying Hermite coefficients (for erf(λu) the
ratio is 2λ²/(1 + 2λ²) per degree 2), so Gauss–Hermite converges slowly for products of them at
λ ≳ 1: for ⟨erf(2u)⁶⟩, 160 nodes still leave 4e-5. For those the rule of choice is the
trapezoid rule on the lattice hℤ^r restricted to the ball |u| ≤ 10.5,

.. math:: \langle F(z)\rangle \approx h^r \sum_{u\in h\mathbb Z^r,\ |u|\le T}
          \frac{e^{-|u|^2/2}}{(2\pi)^{r/2}} F(L u),

which converges geometrically for integrands analytic in a strip (error ~ e^{−2πd/h}): measured
on ⟨erf(λu)^k⟩ (λ ≤ 2, k ≤ 8), h = 0.1 gives 4e-15. The step halves from 0.5 (nested grids)
until two successive sums agree and two shifted lattices agree with them (nested grids alias
an oscillating integrand alike: :data:`CHECK_SHIFTS`); the truncation e^{−T²/2} T^8 < 1e-16.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from math import gamma
from typing import Any

import numpy as np

from ..errors import UnsupportedError

RANK_TOL = 1e-13
BALL_RADIUS = 10.5
TRAPEZOID_STEPS = (0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625)
#: further steps for a 1-d lattice (≤ 2·10⁴ points), e.g. σ oscillating at frequency ≳ 200 in u
RANK_ONE_STEPS = (2.0**-7, 2.0**-8, 2.0**-9, 2.0**-10)
MAX_GRID_POINTS = 1 << 22
ADAPTIVE_NODES = (10, 20, 40, 80, 160, 320)  # hermegauss underflows beyond ~350


@lru_cache(maxsize=64)
def hermite_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n-point Gauss–Hermite rule for the standard normal: (nodes, weights), Σ weights = 1."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / np.sqrt(2.0 * np.pi)


def rank_factor(K: np.ndarray, tol: float = RANK_TOL) -> np.ndarray:
    """L (k, r) with L Lᵀ = K up to the eigenvalues ≤ tol·λ_max, which are dropped."""
    lam, vec = np.linalg.eigh(K)
    if lam.size == 0 or lam[-1] <= 0:
        return np.zeros((K.shape[0], 0))
    keep = lam > tol * lam[-1]
    return vec[:, keep] * np.sqrt(lam[keep])


def grid_expectation(
    F: Callable[[np.ndarray], np.ndarray], L: np.ndarray, n: int, *, chunk: int = 1 << 16
) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss–Hermite ⟨F(L u)⟩ and ⟨|F(L u)|⟩ with n nodes per rank dimension.

    F maps (m, k) to (m, ...); returns two arrays of shape (...).
    """
    k, r = L.shape
    if r == 0:
        value = np.asarray(F(np.zeros((1, k))), dtype=np.float64)[0]
        return value, np.abs(value)
    x, w = hermite_rule(n)
    total = n**r
    value = magnitude = None
    for start in range(0, total, chunk):
        idx = np.unravel_index(np.arange(start, min(start + chunk, total)), (n,) * r)
        u = np.stack([x[i] for i in idx], axis=1)
        weight = np.prod(np.stack([w[i] for i in idx], axis=1), axis=1)
        f = np.asarray(F(np.einsum("mr,kr->mk", u, L)), dtype=np.float64)
        part = np.tensordot(weight, f, axes=(0, 0))
        part_abs = np.tensordot(weight, np.abs(f), axes=(0, 0))
        value = part if value is None else value + part
        magnitude = part_abs if magnitude is None else magnitude + part_abs
    return value, magnitude


def adaptive_expectation(
    F: Callable[[np.ndarray], np.ndarray],
    L: np.ndarray,
    *,
    rtol: float,
    n_nodes: int | None = None,
    chunk: int = 1 << 16,
    max_points: int = MAX_GRID_POINTS,
) -> tuple[np.ndarray, np.ndarray, int]:
    """⟨F(L u)⟩ with an error estimate from the next coarser rule.

    With ``n_nodes`` given: the n_nodes rule, error = |Q(n) − Q(⌈n/2⌉)|. Otherwise the node
    count runs through 10, 20, 40, …, 320 per dimension (grid ≤ ``max_points``) until
    |Q(n) − Q(n/2)| ≤ rtol · ⟨|F|⟩ elementwise. Returns (value, error, n).
    """
    r = L.shape[1]
    if n_nodes is not None:
        value, _ = grid_expectation(F, L, n_nodes, chunk=chunk)
        coarse, _ = grid_expectation(F, L, max((n_nodes + 1) // 2, 1), chunk=chunk)
        return value, np.abs(value - coarse), n_nodes
    if r == 0:
        value, _ = grid_expectation(F, L, 1, chunk=chunk)
        return value, np.zeros_like(value), 1
    if ADAPTIVE_NODES[1] ** r > max_points:
        raise UnsupportedError(
            "K", f"rank {r} is too large for a tensor Gauss–Hermite rule (at most 5)"
        )
    previous = None
    for n in ADAPTIVE_NODES:
        if n**r > max_points:
            break
        value, magnitude = grid_expectation(F, L, n, chunk=chunk)
        used = n
        if previous is not None:
            error = np.abs(value - previous)
            if np.all(error <= rtol * magnitude):
                break
        previous = value
    return value, error, used


@lru_cache(maxsize=16)
def trapezoid_rule(r: int, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice points hℤ^r in the ball |u| <= 10.5 and their weights h^r φ_r(u): (m, r), (m,)."""
    m = int(np.floor(BALL_RADIUS / h))
    axis = h * np.arange(-m, m + 1)
    points = [np.zeros((1, 0))]
    for _ in range(r):  # extend by one coordinate at a time, keeping only points in the ball
        head = np.repeat(points[0], axis.size, axis=0)
        tail = np.tile(axis, points[0].shape[0])[:, None]
        grown = np.hstack([head, tail])
        points = [grown[np.sum(grown * grown, axis=1) <= BALL_RADIUS**2]]
    u = np.ascontiguousarray(points[0])
    weight = h**r * np.exp(-0.5 * np.sum(u * u, axis=1)) / (2.0 * np.pi) ** (0.5 * r)
    return u, weight


@lru_cache(maxsize=16)
def half_trapezoid_rule(r: int, h: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`trapezoid_rule` folded for an even integrand, F(−u) = F(u): the lattice points
    whose first nonzero coordinate is positive, with doubled weight, and the origin (the ball
    and the lattice are symmetric, so the sum is the same; half the evaluations)."""
    u, weight = trapezoid_rule(r, h)
    nonzero = u != 0.0
    first = u[np.arange(u.shape[0]), np.argmax(nonzero, axis=1)]
    origin = ~np.any(nonzero, axis=1)
    keep = (first > 0.0) | origin
    return np.ascontiguousarray(u[keep]), np.where(origin, 1.0, 2.0)[keep] * weight[keep]


#: shifts δ_j = h s_j of the check lattices 2hℤ^r + δ_j (two per rank). Nested lattices share
#: aliases: Q(h) − I sums the Fourier transform of φF over (2π/h)ℤ^r, which lies inside the
#: dual lattice of step 2h, so |Q(h) − Q(2h)| misses an F oscillating near 2πn/h (cos at
#: variance 2500: both 0.93 for e^{−2500}). An alias ±2πn/h, r e^{±iψ}, is 2r cos ψ in Q(h) and
#: 2r cos(ψ + 2πn·s_j) in the shifted sum; for 0 < max|n_i| ≤ 8 the two differ by ≥ 0.44
#: (rank 1) and ≥ 0.0068 (rank 2) × 2r``|cos ψ|`` for one j at every ψ (searched over random
#: shifts). Ranks ≥ 3: generic Kronecker shifts, frac(j (√2, √3, √5, √7, √11)), not analysed.
CHECK_SHIFTS = {
    1: ((0.8904,), (0.6845,)),
    2: ((0.5538, 0.9609), (0.0346, 0.9098)),
}
_KRONECKER = np.array([np.sqrt(2.0), np.sqrt(3.0), np.sqrt(5.0), np.sqrt(7.0), np.sqrt(11.0)])


def check_shifts(r: int) -> tuple[tuple[float, ...], ...]:
    """The two shifts s_j (in units of h) of the check lattices in rank r."""
    if r in CHECK_SHIFTS:
        return CHECK_SHIFTS[r]
    return tuple(tuple(np.mod(j * _KRONECKER[:r], 1.0)) for j in (1, 2))


@lru_cache(maxsize=32)
def shifted_rule(r: int, h: float, j: int) -> tuple[np.ndarray, np.ndarray]:
    """The points of 2hℤ^r + h s_j in the ball ``|u|`` ≤ 10.5 and their weights (2h)^r φ_r(u)."""
    shift = h * np.asarray(check_shifts(r)[j])
    m = int(np.floor(BALL_RADIUS / (2.0 * h))) + 1
    axis = 2.0 * h * np.arange(-m, m + 1)
    points = [np.zeros((1, 0))]
    for i in range(r):  # one coordinate at a time, keeping only points in the ball
        head = np.repeat(points[0], axis.size, axis=0)
        tail = np.tile(axis + shift[i], points[0].shape[0])[:, None]
        grown = np.hstack([head, tail])
        points = [grown[np.sum(grown * grown, axis=1) <= BALL_RADIUS**2]]
    u = np.ascontiguousarray(points[0])
    weight = (2.0 * h) ** r * np.exp(-0.5 * np.sum(u * u, axis=1)) / (2.0 * np.pi) ** (0.5 * r)
    return u, weight


@lru_cache(maxsize=16)
def new_lattice_points(r: int, h: float) -> tuple[np.ndarray, np.ndarray]:
    """The points of :func:`trapezoid_rule` (r, h) that are not on the lattice of step 2h (a
    coordinate an odd multiple of h), with their weights h^r φ_r(u)."""
    u, weight = trapezoid_rule(r, h)
    new = np.any(np.rint(u / h).astype(np.int64) % 2 != 0, axis=1)
    return np.ascontiguousarray(u[new]), np.ascontiguousarray(weight[new])


def _lattice_sum(
    partial: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    rule: tuple[np.ndarray, np.ndarray],
    L: np.ndarray,
    chunk: int,
) -> tuple[Any, Any]:
    u, weight = rule
    value = magnitude = 0.0
    for lo in range(0, weight.size, chunk):
        v, a = partial(np.einsum("mr,kr->mk", u[lo : lo + chunk], L), weight[lo : lo + chunk])
        value, magnitude = value + v, magnitude + a
    return value, magnitude


def adaptive_trapezoid(
    partial: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    L: np.ndarray,
    *,
    rtol: float,
    chunk: int = 1 << 16,
    max_points: int = MAX_GRID_POINTS,
    finer: tuple[float, ...] = (),
) -> tuple[np.ndarray, np.ndarray, float]:
    """⟨F(L u)⟩ by the lattice trapezoid rule, step halved from 0.5 until successive sums agree
    to ``rtol`` · ⟨|F|⟩ elementwise and so do the two shifted lattices 2hℤ^r + δ_j (see
    :data:`CHECK_SHIFTS`), or the lattice would exceed ``max_points`` (h ≥ 1/64, then the
    steps ``finer``, e.g. :data:`RANK_ONE_STEPS`). Each refinement evaluates
    only the new points: Q(h) = Q(2h)/2^r + h^r Σ_new φF.

    ``partial(z, w)`` returns (Σ_m w_m F(z_m), Σ_m w_m |F(z_m)|) for a chunk of points z (m, k)
    with weights w (m,). Returns (value, error estimate max(|Q(h) − Q(2h)|, |Q(h) − Q_j|),
    magnitude ⟨|F|⟩).
    """
    r = L.shape[1]
    if r == 0:
        value, magnitude = partial(np.zeros((1, L.shape[0])), np.ones(1))
        return value, np.zeros_like(value), magnitude
    value = None
    for h in TRAPEZOID_STEPS + tuple(finer):
        ball = np.pi ** (0.5 * r) / gamma(0.5 * r + 1.0) * (BALL_RADIUS / h) ** r
        if ball > max_points and value is not None:
            break
        if ball > 64 * max_points:  # even the coarsest lattice would exhaust memory
            raise UnsupportedError(
                "X",
                f"a Gaussian expectation of rank {r} (the inputs with the bias span {r} "
                f"dimensions) needs a lattice of ~{ball:.2g} points; smooth activations are "
                "limited to rank <= 5 here: use fewer inputs or d_in",
            )
        if value is None:
            value, magnitude = _lattice_sum(partial, trapezoid_rule(r, h), L, chunk)
            error = np.full_like(value, np.inf)
            continue
        new, new_magnitude = _lattice_sum(partial, new_lattice_points(r, h), L, chunk)
        previous = value
        value = previous / 2**r + new
        magnitude = magnitude / 2**r + new_magnitude
        error = np.abs(value - previous)
        if np.all(error <= rtol * magnitude):
            for j in range(2):
                shifted, _ = _lattice_sum(partial, shifted_rule(r, h, j), L, chunk)
                error = np.maximum(error, np.abs(value - shifted))
                if not np.all(error <= rtol * magnitude):
                    break
            else:
                break
    return value, error, magnitude


SINH_THRESHOLD = 4.0


def adaptive_sinh_trapezoid(
    partial: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    L: np.ndarray,
    *,
    rtol: float,
    chunk: int = 1 << 16,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`adaptive_trapezoid` for rank 1 in the variable t of u = a sinh t, a = 1/max|L|.

    z_a = L_a u varies on the scale 1/max|L| near u = 0, where a saturating or kinked σ changes
    (erf(z) ≈ sign z at large variance); the plain lattice hℤ would need h ≲ 1/max|L|. With
    u = a sinh t the nodes are dense (spacing ~ a h) on ``|u|`` ≲ a and geometric beyond, the
    weight is h a cosh t φ(a sinh t), the ball ``|u|`` ≤ 10.5 is ``|t|`` ≤ asinh(10.5/a); the
    step halves from 0.5 to 1/64 until successive sums agree to ``rtol`` · ⟨|F|⟩ (the same
    rule as :func:`~fieldnn.kernels.gaussian.single_expectation`). Same returns as
    :func:`adaptive_trapezoid`.
    """
    a = 1.0 / float(np.max(np.abs(L)))
    t_max = float(np.arcsinh(BALL_RADIUS / a))
    previous = None
    for h in TRAPEZOID_STEPS:
        t = h * np.arange(-np.ceil(t_max / h), np.ceil(t_max / h) + 1.0)
        u = a * np.sinh(t)
        inside = np.abs(u) <= BALL_RADIUS
        u = u[inside]
        weight = h * a * np.cosh(t[inside]) * np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi)
        value = magnitude = 0.0
        for lo in range(0, weight.size, chunk):
            z = u[lo : lo + chunk, None] * L[None, :, 0]
            v, m = partial(z, weight[lo : lo + chunk])
            value, magnitude = value + v, magnitude + m
        if previous is not None:
            error = np.abs(value - previous)
            if np.all(error <= rtol * magnitude):
                break
        else:
            error = np.full_like(value, np.inf)
        previous = value
    return value, error, magnitude
