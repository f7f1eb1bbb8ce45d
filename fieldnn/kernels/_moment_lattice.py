r"""Gaussian product moments of σ and its derivatives at every index tuple by the lattice
trapezoid rule (private): each distinct moment once, with a measured error.

A pattern o = (o_1, …, o_k) (k = 2 or 4) names the moment
:math:`M^{o}_{a_1\ldots a_k} = \langle\prod_i\sigma^{(o_i)}(z_{a_i})\rangle` over z ~ N(0, K).
It is symmetric under permutations of slots of equal order, so only the *canonical* tuples
(indices non-decreasing within each class of equal-order slots) are integrated and the others
copied. A canonical tuple with distinct inputs U is integrated on the block of the
lexicographically first four inputs that contain U (all inputs when P ≤ 4, and when K itself
has rank ≤ 4: a rank-1 first layer, d_in = 1 and C_b = 0, or odd σ with C_b = 0 and inputs
x_b = −x_a, which stay exactly anticorrelated), in the rank of that block's kernel. The
blocks run on :func:`~fieldnn.kernels._erf_four.thread_count` threads; they write disjoint
entries, so the result is bitwise the same on any number of threads. For σ odd
or even every moment here (even total derivative order) has an even integrand, and the rank-4
lattices, symmetric under u → −u, are folded to half.

Rule, z = L u, u ~ N(0, I_r) (:func:`~fieldnn.kernels._quadrature.rank_factor`, columns along
the eigenvectors of the block): the adaptive lattice trapezoid rule
(:func:`~fieldnn.kernels._quadrature.adaptive_trapezoid`, step halved from 1/2 on every axis
until two steps agree to rtol of ⟨|F|⟩) while the lattice of step 1/4 fits in memory, i.e. at
rank ≤ 3. At rank 4 that lattice would need 1.5e7 points, and a single lattice of step 1/2 has
no error estimate; the rule there is a nested *anisotropic* trapezoid rule on
diag(h)ℤ⁴ in the ball |u| ≤ 9 (Gaussian tail mass 1e-16 beyond). With s_j = max_a |L_aj|, the
change of the inputs per unit step along axis j:

* an axis with s_j ≤ 0.02 takes the Gauss–Hermite rule (tensor product with the lattice of
  the other axes, which alone are kept in the ball) with the fewest nodes n such that
  (s_j/ρ)^{2n}(2n − 1)!! ≤ 1e-15, ρ = 0.5: the first Hermite term an n-node rule misses, for
  σ analytic in |Im z| < ρ (tanh π/2, swish π, erf and gelu entire) — 3 to 8 nodes instead
  of the 26 of a weak lattice axis (measured on the erf closed forms at a kernel with axes of
  scale 1e-3 and 9e-3: 1e-10 with 3 nodes, 4e-7 with 2; the tanh dNTK moments at seven
  inputs on [−1.1, 1], 35 blocks, 18× faster, equal to 2e-15);
* an axis with s_j ≤ 0.1 ("weak": the inputs vary on a scale ≥ 10 along it) keeps h_j = 0.7,
  where the trapezoid error of the Gaussian weight, 2e^{−2π²/h²}, is 6e-18;
* every other axis starts at h_j = 1/2 and has its aliasing error measured: by Poisson
  summation the lattice sum shifted by h_j/2 along j flips the sign of the aliases
  :math:`\hat G(2\pi k/h)`, G = F φ, with odd k_j, the slowest decaying ones (k = ±e_j) among
  them, so half the difference of the two sums is the error along j — and their mean is the
  lattice with h_j halved;
* the reported error is the sum of the axes' errors (for a refined axis the last change, which
  bounds what is left for a geometrically converging rule); while it exceeds rtol of ⟨|F|⟩ and
  the lattice fits in 2²² points, the axis with the largest error is halved.

Nearly rank-deficient blocks (inputs close together, or a first layer of rank 1: d_in = 1,
C_b = 0) have one strong axis and weak others, so the refinement is essentially
one-dimensional. ⟨|F|⟩ of a four-point moment is bounded by Cauchy–Schwarz over its two pair
products, as for the product moments of :mod:`fieldnn.kernels.gaussian`.

References
----------
J. N. Lyness, "Aspects of the trapezoidal rule in multidimensional integration" (lattice rules,
Poisson summation); L. N. Trefethen, J. A. C. Weideman, SIAM Rev. 56, 385 (2014) (geometric
convergence of the trapezoid rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import combinations
from math import gamma

import numpy as np

from ._erf_four import thread_count
from ._quadrature import (
    BALL_RADIUS,
    MAX_GRID_POINTS,
    TRAPEZOID_STEPS,
    adaptive_trapezoid,
    hermite_rule,
    rank_factor,
)
from .activations import Activation
from .gaussian import _parity

Pattern = tuple[int, ...]
_RADIUS = 9.0
_WEAK_STEP = 0.7  # for axes with scale ≤ 0.1
_WEAK_SCALE = 0.1
_HERMITE_SCALE = 0.02  # axes with scale ≤ 0.02: Gauss–Hermite (hermite_nodes)
_MAX_HERMITE = 32
_SMOOTH_RADIUS = 0.5  # σ assumed analytic in |Im z| < 0.5 (tanh π/2, swish π, erf/gelu entire)
_CHUNK = 1 << 14  # lattice points per chunk


def _ball_points(r: int, h: float) -> float:
    """Number of points of hℤ^r in the ball of :func:`~._quadrature.trapezoid_rule` (about)."""
    return np.pi ** (0.5 * r) / gamma(0.5 * r + 1.0) * (BALL_RADIUS / h) ** r


def _canonical(idx: np.ndarray, pattern: Pattern) -> np.ndarray:
    """Index tuples (n, k) with the indices sorted within each class of equal-order slots."""
    out = idx.copy()
    for order in set(pattern):
        slots = [i for i, o in enumerate(pattern) if o == order]
        out[:, slots] = np.sort(idx[:, slots], axis=1)
    return out


def _canonical_tuples(P: int, pattern: Pattern) -> np.ndarray:
    """The canonical index tuples (n, k) of a pattern over P inputs."""
    idx = np.indices((P,) * len(pattern)).reshape(len(pattern), -1).T
    return np.ascontiguousarray(idx[np.all(_canonical(idx, pattern) == idx, axis=1)])


def _first_block(distinct: tuple[int, ...], P: int) -> tuple[int, ...]:
    """The lexicographically first four inputs that contain ``distinct`` (all when P ≤ 4)."""
    if P <= 4:
        return tuple(range(P))
    extra = [a for a in range(P) if a not in distinct][: 4 - len(distinct)]
    return tuple(sorted(set(distinct) | set(extra)))


@lru_cache(maxsize=32)
def block_plan(
    P: int, patterns: tuple[Pattern, ...], single: bool = False
) -> list[tuple[tuple[int, ...], list[np.ndarray]]]:
    """[(block S, [local positions (k, n_p) of the canonical tuples of pattern p])]; with
    ``single`` one block of all P inputs (a kernel of rank ≤ 4)."""
    if P <= 4 or single:
        return [(tuple(range(P)), [_canonical_tuples(P, pattern).T for pattern in patterns])]
    blocks = list(combinations(range(P), 4))
    where = {S: [[] for _ in patterns] for S in blocks}
    for p, pattern in enumerate(patterns):
        for t in _canonical_tuples(P, pattern):
            S = _first_block(tuple(sorted(set(t.tolist()))), P)
            where[S][p].append([S.index(a) for a in t])
    plan = []
    for S in blocks:
        pos = [
            np.array(w, dtype=np.intp).reshape(-1, len(pt)).T
            for w, pt in zip(where[S], patterns, strict=False)
        ]
        if any(x.shape[1] for x in pos):
            plan.append((S, pos))
    return plan


def _gather_plan(x: np.ndarray, s: int) -> tuple[np.ndarray, ...]:
    """For tuples x (4, n) of a block of s inputs: the distinct (slot 1, slot 2) and (slot 3,
    slot 4) index pairs and where each tuple finds them."""
    left, li = np.unique(x[0] * s + x[1], return_inverse=True)
    right, ri = np.unique(x[2] * s + x[3], return_inverse=True)
    return left // s, left % s, right // s, right % s, li.ravel(), ri.ravel()


def _weighted_products(
    f: Sequence[np.ndarray], pattern: Pattern, x: np.ndarray, w: np.ndarray, plan: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """Σ_m w_m F_m, F = Π_slot f[order](z)[x[slot]], for the tuples x (k, n), and an upper bound
    of Σ_m w_m |F_m|: a four-point moment as a Gram matrix (BLAS) of the distinct pair products
    A of slots (1, 2) and B of slots (3, 4), bounded by Cauchy–Schwarz, √(ΣwA² ΣwB²)."""
    if x.shape[1] == 0:
        return np.zeros(0), np.zeros(0)
    if len(pattern) == 2:
        prod = f[pattern[0]][:, x[0]] * f[pattern[1]][:, x[1]]
        return w @ prod, w @ np.abs(prod)
    l1, l2, r1, r2, li, ri = plan
    a = f[pattern[0]][:, l1] * f[pattern[1]][:, l2]
    b = f[pattern[2]][:, r1] * f[pattern[3]][:, r2]
    wa = a * w[:, None]
    return (wa.T @ b)[li, ri], np.sqrt((wa * a).sum(axis=0)[li] * (w @ (b * b))[ri])


def hermite_nodes(scale: float) -> int:
    r"""Gauss–Hermite nodes for an axis along which the inputs change by ``scale`` per unit of
    u: the least n with :math:`(s/\rho)^{2n}(2n-1)!! \le 10^{-15}`, ρ = 0.5 — the first
    Hermite term the n-node rule misses, for σ analytic in |Im z| < ρ (Taylor coefficients of
    F(z₀ + s u) in u below (s/ρ)^k)."""
    n, ratio, term = 1, (scale / _SMOOTH_RADIUS) ** 2, (scale / _SMOOTH_RADIUS) ** 2
    while term > 1e-15:
        if n >= _MAX_HERMITE:
            raise ValueError(f"axis scale {scale:g} is too large for the Hermite weak-axis rule")
        n += 1
        term *= ratio * (2 * n - 1)
    return n


def _lattice(
    h: np.ndarray, offset: np.ndarray, even: bool, nodes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points of diag(h)(ℤ^r + offset) in the ball |u| ≤ 9 and their weights Π h_j φ_r(u),
    along the axes with ``nodes`` = 0; along the others the Gauss–Hermite rule with that many
    nodes (tensor product; the ball over the lattice axes only); with ``even`` (an integrand
    with F(−u) = F(u); the rule is symmetric) only the points whose first nonzero coordinate is
    positive, with doubled weight, and the origin."""
    return _cached_lattice(
        tuple(h.tolist()), tuple(offset.tolist()), even, tuple(int(n) for n in nodes)
    )


@lru_cache(maxsize=8)
def _cached_lattice(
    steps: tuple[float, ...], offsets: tuple[float, ...], even: bool, nodes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    h, offset = np.array(steps), np.array(offsets)
    r = h.size
    points, weight = np.zeros((1, r)), np.ones(1)
    lattice_axes = [j for j in range(r) if nodes[j] == 0]
    for j in lattice_axes:  # one coordinate at a time, keeping the points inside the ball
        m = int(np.floor(_RADIUS / h[j])) + 1
        axis = h[j] * (np.arange(-m, m + 1) + offset[j])
        grown = np.repeat(points, axis.size, axis=0)
        grown[:, j] = np.tile(axis, points.shape[0])
        points = grown[np.sum(grown * grown, axis=1) <= _RADIUS**2]
    weight = np.prod(h[lattice_axes]) * np.exp(-0.5 * np.sum(points * points, axis=1))
    weight /= (2.0 * np.pi) ** (0.5 * len(lattice_axes))
    for j in range(r):
        if nodes[j]:
            x, w = hermite_rule(nodes[j])
            points = np.repeat(points, x.size, axis=0)
            points[:, j] = np.tile(x, points.shape[0] // x.size)
            weight = np.repeat(weight, x.size) * np.tile(w, weight.size)
    if even:
        nonzero = points != 0.0
        first = points[np.arange(points.shape[0]), np.argmax(nonzero, axis=1)]
        origin = ~np.any(nonzero, axis=1)
        keep = (first > 0.0) | origin
        points = np.ascontiguousarray(points[keep])
        weight = np.where(origin, 1.0, 2.0)[keep] * weight[keep]
    points.flags.writeable = False
    weight.flags.writeable = False
    return points, weight


def _refined_lattice(
    partial: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    L: np.ndarray,
    rtol: float,
    chunk: int,
    even: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nested anisotropic trapezoid rule (module docstring): value, error estimate (sum of the
    measured aliasing errors of the axes), magnitude."""
    r = L.shape[1]
    scale = np.max(np.abs(L), axis=0)  # change of the inputs per unit step along each axis
    h = np.where(scale <= _WEAK_SCALE, _WEAK_STEP, TRAPEZOID_STEPS[0])
    nodes = np.array([hermite_nodes(s) if s <= _HERMITE_SCALE else 0 for s in scale])
    h[nodes > 0] = 1.0  # unused

    def lattice_sum(h: np.ndarray, offsets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        value = magnitude = 0.0
        for offset in offsets:
            u, w = _lattice(h, offset, even, nodes)
            for lo in range(0, w.size, chunk):
                v, a = partial(u[lo : lo + chunk] @ L.T, w[lo : lo + chunk])
                value, magnitude = value + v, magnitude + a
        return value, magnitude

    value, magnitude = lattice_sum(h, [np.zeros(r)])
    axes = np.flatnonzero(scale > _WEAK_SCALE)
    # the aliasing error along each axis that is not weak: half the change when the lattice is
    # shifted by h_j/2 along it (the mean of the two is the lattice with h_j halved)
    axis_error, shifted = {}, {}
    for j in axes:
        shifted[j] = lattice_sum(h, [0.5 * (np.arange(r) == j)])
        axis_error[j] = 0.5 * np.abs(shifted[j][0] - value)
    if axes.size:  # keep the finer lattice along the worst axis
        j = max(axes, key=lambda i: float(np.max(axis_error[i] / magnitude)))
        value = 0.5 * (value + shifted[j][0])
        magnitude = 0.5 * (magnitude + shifted[j][1])
        h[j] *= 0.5
    del shifted
    while True:
        # weak axes: the integrand is the Gaussian weight to ~1e-16 along them
        error = np.sum([axis_error[j] for j in axes], axis=0) + np.zeros_like(value)
        if np.all(error <= rtol * magnitude):
            return value, error, magnitude
        rl = int(np.sum(nodes == 0))
        points = np.pi ** (0.5 * rl) / gamma(0.5 * rl + 1.0) * _RADIUS**rl / np.prod(h)
        if 2 * points * np.prod(np.maximum(nodes, 1)) > MAX_GRID_POINTS:
            return value, error, magnitude
        # halve the step of the axis with the largest error: the finer lattice is the old one
        # and its copy shifted by h_j/2 along j; the change bounds the error left along j
        j = max(axes, key=lambda i: float(np.max(axis_error[i] / magnitude)))
        new_value, new_magnitude = lattice_sum(h, [0.5 * (np.arange(r) == j)])
        finer = 0.5 * (value + new_value)
        axis_error[j] = np.abs(finer - value)
        value, magnitude = finer, 0.5 * (magnitude + new_magnitude)
        h[j] *= 0.5


def lattice_moments(
    functions: Callable[[np.ndarray], Sequence[np.ndarray]],
    patterns: tuple[Pattern, ...],
    K: np.ndarray,
    *,
    rtol: float,
    even: bool = False,
    parity: int = 0,
) -> tuple[list[np.ndarray], float]:
    """The moments of ``patterns`` at every index tuple, and the worst relative error.

    ``functions(z)`` maps points z (m, s) to [σ(z), σ'(z), …] (each (m, s)), indexed by the
    derivative order. ``even``: every integrand is even, F(−z) = F(z) (σ odd or even and
    every pattern of even total order), so the rank-4 lattices are folded to half.
    ``parity``: +1 for even σ, −1 for odd σ, 0 otherwise. Inputs that are exact copies of an
    earlier input (z_b = z_a: K_bb = K_ab = K_aa), or with a parity exact mirror images
    (z_b = −z_a, then σ⁽ᵒ⁾(z_b) = parity·(−1)ᵒ σ⁽ᵒ⁾(z_a)), are not integrated: their moments
    are those of the earlier input times these signs. Returns one (P,)*k array per pattern and
    max over blocks of error / ⟨|F|⟩ (the measured accuracy).
    """
    P = K.shape[0]
    keep, source, mirror = _copies(K, parity)
    if keep.size < P:
        reduced, worst = lattice_moments(
            functions, patterns, K[np.ix_(keep, keep)], rtol=rtol, even=even, parity=parity
        )
        out = []
        for values, pattern in zip(reduced, patterns, strict=True):
            k = len(pattern)
            full = values[np.ix_(*[source] * k)]
            for slot, order in enumerate(pattern):
                sign = np.where(mirror, float(parity * (-1) ** order), 1.0)
                full = full * sign.reshape((1,) * slot + (P,) + (1,) * (k - 1 - slot))
            out.append(full)
        return out, worst
    even = even and all(sum(p) % 2 == 0 for p in patterns)

    def block(S: tuple[int, ...], pos: list[np.ndarray]) -> tuple[np.ndarray, float]:
        L = rank_factor(K[np.ix_(S, S)])
        plans = [
            _gather_plan(x, len(S)) if len(p) == 4 else ()
            for x, p in zip(pos, patterns, strict=True)
        ]

        def partial(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            f = functions(z)
            out, mag = [], []
            for pattern, x, plan in zip(patterns, pos, plans, strict=True):
                value, bound = _weighted_products(f, pattern, x, w, plan)
                out.append(value)
                mag.append(bound)
            return np.concatenate(out), np.concatenate(mag)

        r = L.shape[1]
        if r > 0 and _ball_points(r, TRAPEZOID_STEPS[1]) > MAX_GRID_POINTS:
            value, error, magnitude = _refined_lattice(partial, L, rtol, _CHUNK, even)
        else:
            value, error, magnitude = adaptive_trapezoid(partial, L, rtol=rtol, chunk=_CHUNK)
        return value, float(np.max(error / np.maximum(magnitude, 1e-300), initial=0.0))

    # a kernel of rank ≤ 4 (a rank-1 first layer, inputs related by z_b = ±z_a): all inputs
    # lie in one Gaussian space of that rank, integrated once instead of per 4-subset
    plan = block_plan(P, patterns, single=P > 4 and rank_factor(K).shape[1] <= 4)
    # blocks are independent and write disjoint entries: the same result on any number of
    # threads (NumPy and BLAS release the GIL on the lattice chunks)
    threads = min(thread_count(), len(plan))
    if threads > 1:
        with ThreadPoolExecutor(threads, thread_name_prefix="fieldnn") as pool:
            results = list(pool.map(lambda item: block(*item), plan))
    else:
        results = [block(S, pos) for S, pos in plan]
    dense = [np.zeros((P,) * len(p)) for p in patterns]
    for (S, pos), (value, _) in zip(plan, results, strict=True):
        start = 0
        Sa = np.asarray(S)
        for d, x in zip(dense, pos, strict=True):
            d[tuple(Sa[x])] = value[start : start + x.shape[1]]
            start += x.shape[1]
    out = []
    for d, pattern in zip(dense, patterns, strict=True):
        idx = np.indices(d.shape).reshape(d.ndim, -1).T
        out.append(d[tuple(_canonical(idx, pattern).T)].reshape(d.shape))
    return out, max((e for _, e in results), default=0.0)


_COPY_RTOL = 1e-12


def _copies(K: np.ndarray, parity: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kept inputs, for every input the position of the kept input it equals, whether it is
    its mirror image z_b = −z_a): copies, and with a parity mirrors, within 1e-12 of K_aa."""
    P = K.shape[0]
    d = np.diag(K)
    keep: list[int] = []
    source, mirror = np.arange(P), np.zeros(P, dtype=bool)
    for b in range(P):
        for i, a in enumerate(keep):
            tol = _COPY_RTOL * d[a]
            if d[a] <= 0 or abs(K[b, b] - d[a]) > tol:
                continue
            if abs(K[a, b] - d[a]) <= tol or (parity and abs(K[a, b] + d[a]) <= tol):
                source[b], mirror[b] = i, K[a, b] < 0
                break
        else:
            source[b] = len(keep)
            keep.append(b)
    return np.array(keep, dtype=np.intp), source, mirror


def symmetric(act: Activation) -> bool:
    """σ odd or even (σ' of the opposite parity), checked on probe points: then every moment of
    even total derivative order over a symmetric lattice has an even integrand."""
    p0, p1 = _parity(act, 0), _parity(act, 1)
    return p0 != 0 and p0 * p1 == -1


def parity(act: Activation) -> int:
    """+1 if σ is even, −1 if odd, 0 otherwise (checked on probe points), for
    :func:`lattice_moments`."""
    return _parity(act, 0)
