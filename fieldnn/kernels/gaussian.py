r"""Gaussian expectations of activations: pairs, single variables, products, general F.

Everything here is deterministic: closed forms where they exist (see
:mod:`fieldnn.kernels.activations`), exact piecewise formulas for relu-type activations, and
otherwise quadrature in the rank of the covariance with an error estimate from the next coarser
rule and, for the lattice rules, two shifted lattices (no Monte Carlo): Gauss–Hermite for a
general F (:func:`gaussian_expectation`), and the lattice trapezoid rule for activations, which
converges geometrically also for saturating σ where Gauss–Hermite does not
(:mod:`fieldnn.kernels._quadrature`). Node counts and measured accuracy: ``docs/numerics.md``,
section "Gaussian expectations".

Conventions: z ~ N(0, K) is centred; the Gauss-net unit σ(z) = exp(z − q) takes q = Var z of
its own argument (the diagonal of K); σ' of the Gauss-net unit is taken at fixed q.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import gammaln

from .._compat import renamed_argument
from .._validate import positive_int, symmetric_psd
from ..errors import ArgumentError, ArgumentTypeError, UnsupportedError
from ._erf_four import default_rule, erf_four_values
from ._multisets import MAX_TENSOR, multiset_index, scatter_symmetric, unique_multisets
from ._piecewise import piecewise_moments
from ._quadrature import (
    BALL_RADIUS,
    CHECK_SHIFTS,
    RANK_ONE_STEPS,
    SINH_THRESHOLD,
    TRAPEZOID_STEPS,
    adaptive_expectation,
    adaptive_sinh_trapezoid,
    adaptive_trapezoid,
    half_trapezoid_rule,
    rank_factor,
    trapezoid_rule,
)
from ._relu_four import relu_moment_values
from .activations import Activation, get_activation

__all__ = ["gaussian_expectation", "pair_expectation", "product_moments", "single_expectation"]

_PAIR_RTOL = 1e-11


def erf_four_rounding(kappa: float) -> float:
    """Bound κ^{3/2} ε on the rounding error of the erf Plackett moments (|M| ≤ 1) at
    κ = 1 + 2 max K_aa, measured ≥ 7× above the actual error for nearly collinear and antipodal
    input pairs at κ = 2e4 … 2e8 (tests/kernels/test_product_moments.py)."""
    return kappa**1.5 * float(np.finfo(np.float64).eps)


_PRODUCT_RTOL = 1e-11


def _derivative_order(value: Any, argument: str) -> int:
    if isinstance(value, bool) or value not in (0, 1):
        raise UnsupportedError(argument, f"derivative orders 0 (σ) and 1 (σ') only, got {value!r}")
    return int(value)


def _evaluate(act: Activation, order: int, z: np.ndarray, q: np.ndarray) -> np.ndarray:
    """σ(z) or σ'(z) with the Gauss-net normaliser q (ignored by other activations)."""
    if order == 0:
        return np.asarray(act(z, variance=q if act.normalised else None))
    return np.asarray(act.derivative(z, variance=q if act.normalised else None))


def _warn_unconverged(act: Activation, error: np.ndarray, scale: np.ndarray) -> None:
    """Warn when a quadrature stopped above 1e-8 relative (e.g. a user σ with a kink)."""
    worst = float(np.max(error / np.maximum(scale, np.max(scale, initial=0.0) * 1e-3 + 1e-300)))
    if worst > 1e-8:
        accuracy = f"~{worst:.1e} relative" if np.isfinite(worst) else "an unknown accuracy"
        warnings.warn(
            f"Gaussian expectation of activation {act.name!r} converged only to {accuracy} "
            "(a kink in σ, a huge variance, or rank >= 4 where the lattice is limited)",
            RuntimeWarning,
            stacklevel=3,
        )


def _variances(k: Any, argument: str) -> np.ndarray:
    arr = np.asarray(k, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(argument, "contains NaN or infinite entries")
    if np.any(arr < 0):
        raise ArgumentError(argument, "variances must be >= 0")
    return arr


# --------------------------------------------------------------------------------------------
# pairs
# --------------------------------------------------------------------------------------------
@renamed_argument("act", "activation")
def pair_expectation(
    activation: str | Callable | Activation,
    k11: Any,
    k22: Any,
    k12: Any,
    *,
    derivatives: tuple[int, int] = (0, 0),
) -> np.ndarray:
    r"""⟨σ^(d1)(z1) σ^(d2)(z2)⟩ for (z1, z2) ~ N(0, [[k11, k12], [k12, k22]]), vectorised.

    Parameters
    ----------
    activation : str, callable or Activation
    k11, k22, k12 : array_like
        Variances and covariance; broadcast against each other. Need k11, k22 >= 0 and
        k12² <= k11 k22 (up to 1e-10 relative).
    derivatives : (int, int)
        Derivative orders (0 or 1) of the two factors.

    Returns
    -------
    ndarray of the broadcast shape

    Notes
    -----
    The closed forms of :class:`Activation` are used for (0, 0) and (1, 1) when present.
    Otherwise, with the Cholesky factor z1 = √k11 u1, z2 = (k12/√k11) u1 + √(k22 − k12²/k11) u2
    (which covers rank 1 and k = 0 with no special case: a zero coefficient integrates out
    exactly), the lattice trapezoid rule on hℤ² ∩ {``|u|`` ≤ 10.5}, h = 1/2, 1/4, …, 1/64, is
    refined until two successive sums agree to 1e-11 of ⟨``|σσ|``⟩ and so do two shifted
    lattices 2hℤ² + δ_j (nested lattices share the aliases of the finer one: an oscillating σ
    such as cos at k = 100 fooled the nested test alone by 4e-7), element by element (an
    element stops refining once it has converged; a RuntimeWarning says so if one stops above
    1e-8, e.g. for a user σ with a kink). Accuracy contract: a result without a warning is
    within 1e-8 of √(⟨σ1²⟩⟨σ2²⟩); measured for smooth σ (cos, sin, erf, gelu, Φ, z³ at
    variances 1e-2 … 1e4, all correlations) ≤ 6e-12, for relu ≤ 2e-9
    (tests/kernels/test_pair_quadrature_sweep.py). Each refinement evaluates only the new
    lattice points, Q(h) = Q(2h)/4 + h² Σ_new φ F, and σ(z1) = σ(l11 u1) once per distinct u1.
    Pairs whose Cholesky factor exceeds 4 (σ turns on ``|z|`` ~ 1 finer than the lattice
    resolves cheaply) go to the nested sinh rule after the steps 1/2 and 1/4 and keep its value
    if it converged; the others go to it only where the lattice fails. A zero variance next to
    a large one is the 1-d collinear case (σ(0) times a 1-d expectation). If σ (or σ') is
    exactly odd or even on probe points (tanh), the integrand is even in u and the symmetric
    lattice is folded onto its half: the same sum from half the evaluations.

    Examples
    --------
    >>> import numpy as np
    >>> round(2 * np.pi * float(pair_expectation("relu", 1.0, 1.0, 0.0)), 14)  # 1/(2π)
    1.0
    """
    act = get_activation(activation)
    d1 = _derivative_order(derivatives[0], "derivatives")
    d2 = _derivative_order(derivatives[1], "derivatives")
    a = _variances(k11, "k11")
    b = _variances(k22, "k22")
    c = np.asarray(k12, dtype=np.float64)
    if not np.all(np.isfinite(c)):
        raise ArgumentError("k12", "contains NaN or infinite entries")
    a, b, c = np.broadcast_arrays(a, b, c)
    with np.errstate(over="ignore"):
        excess = c * c > a * b * (1.0 + 1e-10) + 1e-300
        # the same test on variances divided by max(k11, k22) where the products overflow
        m = np.where(np.maximum(a, b) > 0, np.maximum(a, b), 1.0)
        scaled = (c / m) * (c / m) > (a / m) * (b / m) * (1.0 + 1e-10)
        excess = np.where(np.isfinite(c * c) & np.isfinite(a * b), excess, scaled)
    if np.any(excess):
        raise ArgumentError("k12", "not positive semidefinite: k12² > k11 k22")
    return pair_values(act, a, b, c, (d1, d2))


def pair_values(
    act: Activation,
    k11: np.ndarray,
    k22: np.ndarray,
    k12: np.ndarray,
    derivatives: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """:func:`pair_expectation` without the argument checks, for arrays that come from an
    already checked recursion (the deep recursions call it every layer). Derivative orders 0
    and 1 only (moments of higher derivatives: :mod:`fieldnn.kernels._dntk_moments`)."""
    if not set(derivatives) <= {0, 1}:
        raise ArgumentError("derivatives", f"orders 0 or 1 only, got {derivatives}")
    if derivatives == (0, 0) and (closed := act.pair_expectation(k11, k22, k12)) is not None:
        return closed
    if (
        derivatives == (1, 1)
        and (closed := act.derivative_pair_expectation(k11, k22, k12)) is not None
    ):
        return closed
    return _pair_quadrature(act, derivatives, *np.broadcast_arrays(k11, k22, k12))


_PARITY_PROBE = np.array([0.05, 0.3, 0.7, 1.3, 1.9, 2.6, 4.2, 7.5, 11.0, 30.0])


@lru_cache(maxsize=64)
def _parity(act: Activation, order: int) -> int:
    """+1 if σ^(order)(−z) = σ^(order)(z) exactly on probe points, −1 if = −σ^(order)(z),
    0 otherwise (and for the normalised Gauss-net unit or a σ that fails on the probe)."""
    if act.normalised:
        return 0
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plus = _evaluate(act, order, _PARITY_PROBE, None)
            minus = _evaluate(act, order, -_PARITY_PROBE, None)
    except Exception:  # a user σ that rejects the probe: no symmetry is used
        return 0
    if not np.all(np.isfinite(plus)):
        return 0
    if np.array_equal(minus, plus):
        return 1
    return -1 if np.array_equal(minus, -plus) else 0


def _pair_quadrature(
    act: Activation, orders: tuple[int, int], a: np.ndarray, b: np.ndarray, c: np.ndarray
) -> np.ndarray:
    shape = a.shape
    a, b, c = a.ravel(), b.ravel(), c.ravel()
    # collinear pairs (the diagonal K(x, x) among them) and pairs with a zero variance (one
    # factor constant) at a large variance: one variable, z2 = ±√(b/a) z1 (or z1 = 0), where
    # the sinh-mapped 1-d rule resolves σ at any variance
    collinear = (np.abs(c) >= np.sqrt(a) * np.sqrt(b) * (1.0 - 1e-14)) & (
        np.maximum(a, b) > SINH_THRESHOLD**2
    )
    if np.any(collinear):
        out = np.empty(a.size)
        out[collinear] = _pair_rank_one(act, orders, a[collinear], b[collinear], c[collinear])
        rest = ~collinear
        if np.any(rest):
            out[rest] = _pair_quadrature(act, orders, a[rest], b[rest], c[rest])
        return out.reshape(shape)
    l11 = np.sqrt(a)
    l21 = np.where(a > 0, c / np.where(a > 0, l11, 1.0), 0.0)
    l22 = np.sqrt(np.maximum(b - l21 * l21, 0.0))
    out = np.empty(a.size)
    magnitude = np.ones(a.size)
    error = np.full(a.size, np.inf)
    # σσ and σ'σ' of an odd or even σ are even in u: half the lattice (tanh: 2× faster)
    parity = _parity(act, orders[0]) * _parity(act, orders[1])
    even = parity == 1
    wide = np.maximum(np.maximum(l11, np.abs(l21)), l22) > _LATTICE_SCALE
    active = np.arange(a.size)  # elements whose lattice sums have not converged yet
    pair, state = (l11, l21, l22, a, b, c), (out, error, magnitude)
    for step, h in enumerate(TRAPEZOID_STEPS):
        # the lattice of step h is that of 2h plus the new points: Q(h) = Q(2h)/4 + Σ_new
        u, weight, u1, column = _refinement(h, even, first=step == 0)
        value, scale = _lattice_sums(act, orders, active, pair, (u, weight, u1, column))
        if step > 0:
            value += 0.25 * out[active]
            scale += 0.25 * magnitude[active]
            error[active] = np.abs(value - out[active])
        out[active], magnitude[active] = value, scale
        # nested lattices share the aliases of the finer one (a σ oscillating at ~2π/h in u
        # is aliased alike by Q(h) and Q(2h)): an element is accepted only if the shifted
        # lattices 2hℤ² + δ_j, which alias it with other phases, agree with Q(h) as well (an
        # odd integrand needs no check: its aliases cancel on the symmetric lattice, Q(h) = 0)
        candidates = active[error[active] <= _PAIR_RTOL * magnitude[active]]
        if candidates.size and parity != -1:
            shifted, _ = _lattice_sums(act, orders, candidates, pair, _shifted_check(h))
            miss = np.max(np.abs(shifted - out[candidates, None]), axis=1)
            error[candidates] = np.maximum(error[candidates], miss)
        active = active[~(error[active] <= _PAIR_RTOL * magnitude[active])]
        if step == 1 and active.size:
            # a σ that turns on |z| ~ 1 at a scale the finest lattice cannot resolve: try the
            # nested sinh rule now instead of after every finer lattice (kept only if converged)
            done = [i for i in active[wide[active]] if _nested_into(act, orders, i, pair, state)]
            active = np.setdiff1d(active, done, assume_unique=True)
        if not active.size:
            break
    else:
        # elements the lattice did not resolve: the nested sinh rule where its error is smaller
        for i in active:
            _nested_into(act, orders, i, pair, state, if_converged=False)
        _warn_unconverged(act, error, magnitude)
    return out.reshape(shape)


def _lattice_sums(
    act: Activation,
    orders: tuple[int, int],
    active: np.ndarray,
    pair: tuple[np.ndarray, ...],
    rule: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(Σ_m w_m F(u_m), Σ_m w_m ``|F(u_m)|``) of the elements ``active`` on the points of
    ``rule`` = (points (m, 2), weights (m,) or (m, j), distinct u1, column of u1);
    F = σ^(d1)(l11 u1) σ^(d2)(l21 u1 + l22 u2)."""
    l11, l21, l22, a, b, _ = pair
    u, weight, u1, column = rule
    chunk = max(1, (1 << 21) // weight.shape[0])
    value = np.empty((active.size, *weight.shape[1:]))
    scale = np.empty_like(value)
    for lo in range(0, active.size, chunk):
        idx = active[lo : lo + chunk]
        # σ(z1) depends on u1 alone: evaluated on its distinct values, then gathered
        f = _evaluate(act, orders[0], l11[idx, None] * u1[None, :], a[idx, None])[:, column]
        z2 = l21[idx, None] * u[None, :, 0] + l22[idx, None] * u[None, :, 1]
        f = f * _evaluate(act, orders[1], z2, b[idx, None])
        value[lo : lo + chunk] = f @ weight
        scale[lo : lo + chunk] = np.abs(f) @ weight
    return value, scale


#: shifts δ_j = h (α_j, β_j) of the check lattices 2hℤ² + δ_j (coverage: ``CHECK_SHIFTS``)
_CHECK_SHIFTS = CHECK_SHIFTS[2]


@lru_cache(maxsize=16)
def _shifted_check(h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The check lattices of step h: the points of 2hℤ² + δ_j in the ball, weights (m, 2)
    ((2h)² φ in column j for the points of shift δ_j), the distinct u1 and the column of each
    point's u1 (as :func:`_refinement`). N/4 points each for the N of the lattice of step h:
    the checks cost as much as that lattice for an even (folded) integrand, half for others."""
    m = int(np.floor(BALL_RADIUS / (2.0 * h))) + 1
    axis = 2.0 * h * np.arange(-m, m + 1)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    points, weights = [], []
    for j, shift in enumerate(_CHECK_SHIFTS):
        u = grid + h * np.array(shift)
        u = u[np.sum(u * u, axis=1) <= BALL_RADIUS**2]
        w = np.zeros((u.shape[0], len(_CHECK_SHIFTS)))
        w[:, j] = (2.0 * h) ** 2 * _normal_pdf(u[:, 0]) * _normal_pdf(u[:, 1])
        points.append(u)
        weights.append(w)
    u = np.ascontiguousarray(np.vstack(points))
    u1, column = np.unique(u[:, 0], return_inverse=True)
    return u, np.ascontiguousarray(np.vstack(weights)), u1, column.ravel()


#: pairs whose Cholesky factor has an entry above this leave the lattice for the nested sinh
#: rule after two lattice steps. A saturating σ needs h·scale ≲ 1/4–1/2 on the lattice
#: (measured: tanh at scale 32, gelu at 64 still unresolved at h = 1/64), i.e. ~5e3·scale²
#: points, while the nested rule takes ~1e4–1e5 points at any scale; λ of a user tanh or gelu
#: at Λ = 30, 100, 1000 took the least time with 2–4 (16: up to 2× more)
_LATTICE_SCALE = 4.0


@lru_cache(maxsize=16)
def _refinement(
    h: float, even: bool, first: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 2-d lattice rule of step h (folded if ``even``), all of it if ``first``, else only
    the points that are not on the lattice of step 2h (a coordinate an odd multiple of h):
    (points (m, 2), weights (m,), the distinct first coordinates u1, and the index of each
    point's first coordinate in u1)."""
    u, weight = (half_trapezoid_rule if even else trapezoid_rule)(2, h)
    if not first:
        new = np.any(np.rint(u / h).astype(np.int64) % 2 != 0, axis=1)
        u, weight = np.ascontiguousarray(u[new]), np.ascontiguousarray(weight[new])
    u1, column = np.unique(u[:, 0], return_inverse=True)
    return u, weight, u1, column.ravel()


def _nested_into(
    act: Activation,
    orders: tuple[int, int],
    i: int,
    pair: tuple[np.ndarray, ...],
    state: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    if_converged: bool = True,
) -> bool:
    """Element i by :func:`_pair_nested` (the larger variance outside), written into
    ``state`` = (value, error, magnitude) if it meets the pair tolerance, or, with
    ``if_converged=False``, if its error estimate beats the lattice's. True if written and
    converged."""
    l11, l21, l22, a, b, c = pair
    out, error, magnitude = state
    if a[i] >= b[i]:
        nested = _pair_nested(act, orders, l11[i], l21[i], l22[i], a[i], b[i])
    else:  # the larger variance first (the roles of z1, z2 swapped)
        m11 = np.sqrt(b[i])
        m21 = c[i] / m11
        m22 = np.sqrt(max(a[i] - m21 * m21, 0.0))
        nested = _pair_nested(act, orders[::-1], m11, m21, m22, b[i], a[i])
    if nested is None:
        return False
    converged = nested[1] <= _PAIR_RTOL
    if converged or (not if_converged and nested[1] < error[i] / max(magnitude[i], 1e-300)):
        out[i] = nested[0]
        error[i] = nested[1] * magnitude[i]
    return bool(converged)


_NESTED_BUDGET = 1 << 24  # nodes of the nested pair rule at its finest step


def _pair_nested(
    act: Activation,
    orders: tuple[int, int],
    l11: float,
    l21: float,
    l22: float,
    q1: float,
    q2: float,
) -> tuple[float, float] | None:
    """⟨σ^(d1)(z1) σ^(d2)(z2)⟩, z1 = l11 u1, z2 = l21 u1 + l22 u2, for one pair the lattice
    cannot resolve: (value, relative error estimate), or None beyond the node budget.

    Outer u1 = a sinh t1, a = min(1, 1/max(l11, ``|l21|``)) (σ(z1) and the u2-average of
    σ(z2) turn at ``|u1|`` ~ a); inner u2 = c + b sinh t2 centred where σ(z2) turns,
    c = −l21 u1/l22 (clipped to the ball), b = min(1, 1/l22); both restricted to
    ``|u|`` ≤ 10.5; trapezoid in (t1, t2) with the step halved from 1/2 until two successive
    sums agree to 1e-11 of ⟨``|σσ|``⟩ — the product of two 1-d sinh rules, each geometric for
    σ analytic in a strip (``docs/numerics.md``)."""
    a = 1.0 / max(1.0, l11, abs(l21))
    b = 1.0 / max(1.0, l22)
    # σ(z2) turns where z2 = 0, at u2 = −(l21/l22) u1; at l22 = 0 (|ρ| = 1, or a zero variance
    # after the swap) z2 does not depend on u2 and the inner rule just integrates φ(u2)
    slope = -l21 / l22 if l22 > 0.0 else 0.0
    previous = None
    for h in TRAPEZOID_STEPS:
        t1_max = float(np.arcsinh(BALL_RADIUS / a))
        t2_max = float(np.arcsinh(2.0 * BALL_RADIUS / b))
        t1 = h * np.arange(-np.ceil(t1_max / h), np.ceil(t1_max / h) + 1.0)
        t2 = h * np.arange(-np.ceil(t2_max / h), np.ceil(t2_max / h) + 1.0)
        if t1.size * t2.size > _NESTED_BUDGET:
            return None
        u1 = a * np.sinh(t1)
        keep = np.abs(u1) <= BALL_RADIUS
        u1, w1 = u1[keep], (h * a * np.cosh(t1) * _normal_pdf(a * np.sinh(t1)))[keep]
        value = magnitude = 0.0
        step = max(1, (1 << 20) // t2.size)
        for lo in range(0, u1.size, step):
            v1 = u1[lo : lo + step]
            c = np.clip(slope * v1, -BALL_RADIUS, BALL_RADIUS)[:, None]
            u2 = c + b * np.sinh(t2)[None, :]
            w2 = np.where(
                np.abs(u2) <= BALL_RADIUS, h * b * np.cosh(t2)[None, :] * _normal_pdf(u2), 0.0
            )
            z2 = l21 * v1[:, None] + l22 * u2
            # σ(z1) depends on the outer node alone: one evaluation per row
            f = _evaluate(act, orders[0], l11 * v1, q1)[:, None] * _evaluate(act, orders[1], z2, q2)
            weight = w1[lo : lo + v1.size, None] * w2
            value += float(np.sum(weight * f))
            magnitude += float(np.sum(weight * np.abs(f)))
        relative = np.inf if previous is None else abs(value - previous) / max(magnitude, 1e-300)
        if relative <= _PAIR_RTOL:
            break
        previous = value
    return value, relative


def _normal_pdf(u: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi)


def _pair_rank_one(
    act: Activation, orders: tuple[int, int], a: np.ndarray, b: np.ndarray, c: np.ndarray
) -> np.ndarray:
    """⟨σ^(d1)(z1) σ^(d2)(z2)⟩ for collinear pairs, z1 = √a u, z2 = ±√b u (the sign of c;
    + at c = 0, where a or b is 0 and that factor is the constant σ(0)): the 1-d lattice
    cross-checked by the sinh-mapped rule (:func:`_cross_checked`), per distinct element
    (typically the P diagonal entries)."""
    out = np.empty(a.size)
    errors, scales = np.empty(a.size), np.empty(a.size)
    keys = np.stack([a, b, np.where(c < 0, -1.0, 1.0)], axis=1)  # c = 0: one variance is 0
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    for k, (ak, bk, sk) in enumerate(unique):
        L = np.array([[np.sqrt(ak)], [sk * np.sqrt(bk)]])

        def partial(z: np.ndarray, w: np.ndarray, ak: float = ak, bk: float = bk) -> tuple:
            f = _evaluate(act, orders[0], z[:, 0], ak) * _evaluate(act, orders[1], z[:, 1], bk)
            return np.array([w @ f]), np.array([w @ np.abs(f)])

        value, error, scale = _cross_checked(
            adaptive_trapezoid(partial, L, rtol=_PAIR_RTOL, finer=RANK_ONE_STEPS),
            adaptive_sinh_trapezoid(partial, L, rtol=_PAIR_RTOL),
        )
        mask = inverse.ravel() == k
        out[mask], errors[mask], scales[mask] = value[0], error[0], scale[0]
    _warn_unconverged(act, errors, scales)
    return out


# --------------------------------------------------------------------------------------------
# single variables
# --------------------------------------------------------------------------------------------
def _half_gaussian_moment(p: int) -> float:
    """E[g^p 1{g > 0}] for g ~ N(0, 1): 2^{p/2 − 1} Γ((p + 1)/2)/√π."""
    return float(
        np.exp((0.5 * p - 1.0) * np.log(2.0) + gammaln(0.5 * (p + 1)) - 0.5 * np.log(np.pi))
    )


@renamed_argument("act", "activation")
def single_expectation(
    activation: str | Callable | Activation, k: Any, *, power: int = 2, derivative: int = 0
) -> np.ndarray:
    r"""⟨σ^(d)(z)^p⟩ for z ~ N(0, k), vectorised over ``k``.

    Parameters
    ----------
    activation : str, callable or Activation
    k : array_like
        Variances (>= 0).
    power : int
        p >= 0.
    derivative : int
        d = 0 (σ) or 1 (σ').

    Notes
    -----
    Closed forms: p = 2 via :func:`pair_expectation` at k11 = k22 = k12 = k; piecewise-linear σ
    with slopes (s₋, s₊): ⟨σ^p⟩ = k^{p/2} h_p (s₊^p + (−s₋)^p), h_p = E[g^p; g > 0], and
    ⟨σ'^p⟩ = (s₊^p + s₋^p)/2 (k > 0); Gauss-net: ⟨e^{p(z − k)}⟩ = e^{p² k/2 − p k}.
    Otherwise the trapezoid rule in t with u = z/√k = a sinh t, a = min(1, 1/√k) (nodes dense
    on ``|z|`` ≲ 1 at any variance: saturating σ at k = 1e8 still converge), h = 1/2, …, 1/64,
    refined to 1e-12 of ⟨``|σ^p|``⟩.

    Examples
    --------
    >>> float(single_expectation("relu", 2.0, power=2))  # k/2
    1.0
    """
    act = get_activation(activation)
    d = _derivative_order(derivative, "derivative")
    p = positive_int(power, "power", minimum=0)
    kk = _variances(k, "k")
    if p == 0:
        return np.ones_like(kk)
    if p == 2 and d == 0 and act.pair_expectation(kk, kk, kk) is not None:
        return act.pair_expectation(kk, kk, kk)
    if p == 2 and d == 1 and act.derivative_pair_expectation(kk, kk, kk) is not None:
        return act.derivative_pair_expectation(kk, kk, kk)
    if act.piecewise_linear_slopes is not None:
        s_neg, s_pos = act.piecewise_linear_slopes
        if d == 0:
            return kk ** (0.5 * p) * _half_gaussian_moment(p) * (s_pos**p + (-s_neg) ** p)
        return np.where(kk > 0, 0.5 * (s_pos**p + s_neg**p), s_neg**p)
    if act.normalised:
        return np.exp((0.5 * p * p - p) * kk)
    # u = a sinh t with a = min(1, 1/√k): z-resolution O(1) near 0 even for huge k (σ saturates
    # or kinks on |z| ~ 1), the Gaussian tail reached at t = asinh(10.5/a); trapezoid in t
    flat = kk.ravel()
    a = 1.0 / np.maximum(np.sqrt(flat), 1.0)[:, None]
    t_max = float(np.arcsinh(BALL_RADIUS / a.min(initial=1.0)))
    previous = None
    for h in TRAPEZOID_STEPS:
        t = h * np.arange(-np.ceil(t_max / h), np.ceil(t_max / h) + 1.0)
        u = np.clip(a * np.sinh(t), -BALL_RADIUS, BALL_RADIUS)
        w = np.where(
            np.abs(a * np.sinh(t)) < BALL_RADIUS,
            h * a * np.cosh(t) * np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi),
            0.0,
        )
        f = _evaluate(act, d, np.sqrt(flat)[:, None] * u, flat[:, None]) ** p
        value = np.sum(w * f, axis=1)
        magnitude = np.sum(w * np.abs(f), axis=1)
        error = np.full(value.shape, np.inf) if previous is None else np.abs(value - previous)
        if np.all(error <= 1e-12 * magnitude):
            break
        previous = value
    else:
        _warn_unconverged(act, error, magnitude)
    return value.reshape(kk.shape)


# --------------------------------------------------------------------------------------------
# general F
# --------------------------------------------------------------------------------------------
def gaussian_expectation(
    F: Callable[[np.ndarray], Any],
    K: Any,
    *,
    n_nodes: int | None = None,
    rtol: float = 1e-10,
    return_error: bool = False,
) -> Any:
    r"""⟨F(z)⟩ for z ~ N(0, K) by Gauss–Hermite quadrature in the rank of K.

    Parameters
    ----------
    F : callable
        Maps an array (m, k) of points to (m,) or (m, ...) values (vectorised).
    K : array_like (k, k)
        Symmetric positive-semidefinite covariance.
    n_nodes : int, optional
        Nodes per rank dimension. Default: adaptive, 10, 20, 40, … (grid ≤ 2²² points) until
        two successive rules agree to ``rtol`` × ⟨``|F|``⟩.
    rtol : float
        Target relative accuracy of the adaptive rule.
    return_error : bool
        Also return the error estimate ``|Q(n) − Q(coarser)|`` (same shape as the value).

    Returns
    -------
    value : float or ndarray (...)
    error : same, if ``return_error``

    Notes
    -----
    K = V Λ Vᵀ; eigenvalues ≤ 1e-13 λ_max are dropped (rank r), z = V_r Λ_r^{1/2} u with
    u ~ N(0, I_r), and ⟨F⟩ ≈ Σ w_{i1}…w_{ir} F(L x_i) (probabilists' Hermite rule; exact for
    polynomials of degree 2n − 1 in each u). Smooth F converge geometrically; kinks (relu)
    only algebraically — use :func:`product_moments` for those.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> round(float(gaussian_expectation(lambda z: z[:, 0] ** 2 * z[:, 1] ** 2, K)), 12)
    6.0
    """
    if not callable(F):
        raise ArgumentTypeError("F", "must be callable")
    K = symmetric_psd(K, "K")
    if n_nodes is not None:
        n_nodes = positive_int(n_nodes, "n_nodes")
    if not (isinstance(rtol, float | int) and 0 < rtol < 1):
        raise ArgumentError("rtol", f"must be in (0, 1), got {rtol!r}")
    value, error, _ = adaptive_expectation(F, rank_factor(K), rtol=rtol, n_nodes=n_nodes)
    value = value[()] if value.ndim == 0 else value
    if return_error:
        return value, (error[()] if np.ndim(error) == 0 else error)
    return value


# --------------------------------------------------------------------------------------------
# product moments
# --------------------------------------------------------------------------------------------
def _unique_moments(
    act: Activation, C: np.ndarray, orders: tuple[int, ...], warn: bool = True
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """⟨Π_j σ(z_{a_j})⟩ on the sorted multisets of each order: {n: (values, error estimates)}."""
    P = C.shape[0]
    out = {}
    q = np.diag(C)
    if 2 in orders:
        # order 2 involves two variables only: closed pair form or the 2-d rule, at any rank
        a, b = unique_multisets(P, 2).T
        bound = np.sqrt(q[a] * q[b])
        value = pair_expectation(act, q[a], q[b], np.clip(C[a, b], -bound, bound))
        out[2] = (value, np.zeros(a.size))
        orders = tuple(n for n in orders if n != 2)
        if not orders:
            return out
    if act.normalised and act.name == "gauss":
        # ⟨Π_a e^{m_a (z_a − C_aa)}⟩ = exp(½ mᵀ C m − Σ_a m_a C_aa)
        for n in orders:
            multisets = unique_multisets(P, n)
            counts = np.zeros((multisets.shape[0], P))
            rows = np.repeat(np.arange(multisets.shape[0]), n)
            np.add.at(counts, (rows, multisets.ravel()), 1.0)
            exponent = 0.5 * np.einsum("ua,ab,ub->u", counts, C, counts) - counts @ np.diag(C)
            out[n] = (np.exp(exponent), np.zeros(multisets.shape[0]))
        return out
    L = rank_factor(C)
    if act.piecewise_linear_slopes is not None:
        # orders ≤ 4 by the Stein recursion when every principal block is nonsingular (or the
        # angular path is unavailable, rank ≥ 4); the angular path is exact at low rank
        recursion = L.shape[1] >= 4 or L.shape[1] == P
        for n in orders:
            if n <= 4 and recursion:
                values = relu_moment_values(C, act.piecewise_linear_slopes, n)
                out[n] = (values, np.zeros(values.size))
            else:
                out[n] = piecewise_moments(act.piecewise_linear_slopes, L, unique_multisets(P, n))
        return out
    if act == get_activation("erf") and 4 in orders:
        # order 4 of erf at rank >= 3 (the lattice stops at h = 1/8 there) or at rank 2 with a
        # large variance (it cannot resolve erf(z) ≈ sign z): the Plackett integral of
        # _erf_four with its error estimate
        L1 = float(np.max(np.abs(L), initial=0.0))
        if L.shape[1] >= 3 or (L.shape[1] == 2 and L1 > SINH_THRESHOLD):
            values = erf_four_values(C)
            kappa = 1.0 + 2.0 * float(np.max(q))
            m, n_nodes = default_rule(kappa)
            # quadrature (coarser rule) + rounding in the nearly singular correlation matrix,
            # measured ≤ κ^{3/2} ε / 7 against mpmath for κ = 2e4 … 2e8 (docs/numerics.md)
            error = np.abs(values - erf_four_values(C, (m, n_nodes - 2))) + erf_four_rounding(kappa)
            out[4] = (values, error)
            orders = tuple(n for n in orders if n != 4)
            if not orders:
                return out
    for n, values in _smooth_moments(act, C, L, orders, warn).items():
        out[n] = values
    return out


def product_moment_values(
    act: Activation, C: np.ndarray, orders: tuple[int, ...]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{n: (M_n, error estimate)} on the rows of ``unique_multisets(P, n)`` for a checked C,
    without the convergence warning: the caller (the exact cumulants) propagates the errors."""
    for n in orders:
        if C.shape[0] ** n > MAX_TENSOR:
            raise UnsupportedError("order", f"tensor of {C.shape[0]}**{n} entries is too large")
    return _unique_moments(act, C, tuple(orders), warn=False)


def _cross_checked(
    lattice: tuple[np.ndarray, np.ndarray, np.ndarray],
    mapped: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank 1 with a large variance (every z_a ∝ one u): two rules, (value, error, magnitude).

    A saturating or kinked σ turns at ``|u|`` ~ 1/max``|L|``, finer than the lattice, which the
    sinh-mapped rule resolves at any variance; an oscillating σ (sin) is resolved by the
    lattice and not by the sinh nodes. Either rule's own test can be fooled (nested lattices
    agree on the same aliased sum: gelu⁴ at max``|L|`` = 30 off by 2.6e-8 with an estimate of
    2e-16). The sinh rule is kept where it converged (or is the better); otherwise the lattice
    is kept and its disagreement with the sinh rule beyond that rule's estimate is added to its
    error (sin at max``|L|`` = 100: the lattice's aliased 0.10 for the true 0.375 is flagged)."""

    def worst(rule: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
        return float(np.max(rule[1] / np.maximum(rule[2], 1e-300)))

    if worst(mapped) <= _PRODUCT_RTOL or worst(mapped) < worst(lattice):
        return mapped
    unexplained = np.maximum(np.abs(lattice[0] - mapped[0]) - mapped[1], 0.0)
    return lattice[0], np.maximum(lattice[1], unexplained), lattice[2]


def _smooth_moments(
    act: Activation, C: np.ndarray, L: np.ndarray, orders: tuple[int, ...], warn: bool = True
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Trapezoid-rule moments of a smooth σ, all orders in one pass (a RuntimeWarning if the
    rule stops above 1e-8 relative, unless ``warn`` is False: the caller checks the errors).

    With S^A_m = Π_{a∈A} σ(z_{m,a}) for the sorted multisets A of order k (built level by level,
    one σ factor per level), the moment of A ∪ B is the Gram matrix Σ_m w_m S^A_m S^B_m, so order
    n needs only the levels ⌊n/2⌋ and ⌈n/2⌉ and one matrix product per chunk.
    """
    P = C.shape[0]
    q = np.diag(C)
    top = max((n + 1) // 2 for n in orders)
    # level k from level k − 1: parent (a1..a_{k−1}) times σ_{a_k}
    parents = {k: multiset_index(P, unique_multisets(P, k)[:, :-1]) for k in range(2, top + 1)}
    lasts = {k: unique_multisets(P, k)[:, -1] for k in range(2, top + 1)}
    # order n = (first ⌊n/2⌋ indices) ∪ (the rest)
    splits = {
        n: (
            multiset_index(P, unique_multisets(P, n)[:, : n // 2]),
            multiset_index(P, unique_multisets(P, n)[:, n // 2 :]),
        )
        for n in orders
    }

    halves = sorted({k for n in orders for k in (n // 2, n - n // 2)})  # levels the orders use

    def partial(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = _evaluate(act, 0, z, q[None, :])
        level = {0: np.ones((z.shape[0], 1)), 1: values}
        for k in range(2, top + 1):
            level[k] = level[k - 1][:, parents[k]] * values[:, lasts[k]]
        # error scale: Cauchy–Schwarz bound √(⟨(S^A)²⟩⟨(S^B)²⟩) ≥ ⟨|S^A S^B|⟩ (per chunk)
        square = {k: w @ (level[k] * level[k]) for k in halves}
        value, magnitude = [], []
        for n in orders:
            left, right = level[n // 2], level[n - n // 2]
            value.append(((left * w[:, None]).T @ right)[splits[n]])
            rows, cols = splits[n]
            magnitude.append(np.sqrt(square[n // 2][rows] * square[n - n // 2][cols]))
        return np.concatenate(value), np.concatenate(magnitude)

    sizes = [unique_multisets(P, n).shape[0] for n in orders]
    width = sum(unique_multisets(P, k).shape[0] for k in range(top + 1))
    chunk = max(256, (1 << 22) // width)
    value, error, magnitude = adaptive_trapezoid(partial, L, rtol=_PRODUCT_RTOL, chunk=chunk)
    if L.shape[1] == 1 and float(np.max(np.abs(L))) > SINH_THRESHOLD:
        value, error, magnitude = _cross_checked(
            (value, error, magnitude),
            adaptive_sinh_trapezoid(partial, L, rtol=_PRODUCT_RTOL, chunk=chunk),
        )
    if warn:
        _warn_unconverged(act, error, magnitude)
    bounds = np.cumsum([0, *sizes])
    return {
        n: (value[lo:hi], error[lo:hi])
        for n, lo, hi in zip(orders, bounds[:-1], bounds[1:], strict=True)
    }


def product_moment_tensors(
    act: Activation, C: np.ndarray, orders: tuple[int, ...]
) -> dict[int, np.ndarray]:
    """{n: M_n} for several orders at once (one quadrature pass for smooth σ); checked C."""
    P = C.shape[0]
    for n in orders:
        if P**n > MAX_TENSOR:
            raise UnsupportedError("order", f"tensor of {P}**{n} entries is too large")
    moments = _unique_moments(act, C, tuple(orders))
    return {n: scatter_symmetric(moments[n][0], P, n) for n in orders}


@renamed_argument("act", "activation")
def product_moments(activation: str | Callable | Activation, C: Any, order: int) -> np.ndarray:
    r"""All product moments M[a1..an] = ⟨σ(z_a1)…σ(z_an)⟩, z ~ N(0, C), as a symmetric tensor.

    Parameters
    ----------
    activation : str, callable or Activation
    C : array_like (P, P)
        Symmetric PSD covariance (typically of low rank r = d_in + 1).
    order : int
        n >= 0.

    Returns
    -------
    ndarray (P,)*order

    Notes
    -----
    Only the C(P + n − 1, n) sorted multisets are computed, then scattered. Order 2 comes from
    :func:`pair_expectation` (closed form or 2-d rule) at any rank of C.

    * Gauss-net unit (σ = e^{z − q}, q_a = C_aa): with multiplicities m_a,
      :math:`M = \exp(\tfrac12 \sum_{ab} m_a C_{ab} m_b - \sum_a m_a C_{aa})`.
    * relu / leaky relu / linear, orders n ≤ 4, whenever C is nonsingular or of rank ≥ 4:
      exact Stein's-lemma recursion
      :math:`\mathbb E[z_a h] = \sum_m C_{am}\mathbb E[\partial_m h]` down to orthant
      probabilities (the four-variable one a 1-d Plackett integral), batched over the index
      patterns — see :mod:`fieldnn.kernels._relu_four` (rounding-level; nearly singular rank-3
      blocks of four inputs are lifted to correlation eigenvalue 1e-10, an O(1e-12) relative
      change).
    * relu / leaky relu / linear otherwise (singular C of rank ≤ 3, or n ≥ 5): exact via positive
      homogeneity, M = ⟨ρ^n⟩ × angular average (exact Laurent-polynomial arc integrals for
      rank ≤ 2; for rank 3 the polar angle by Gauss–Legendre split at the great-circle events,
      converged to 1e-13 — see :mod:`fieldnn.kernels._piecewise`); n ≥ 5 at rank ≥ 4 raises
      UnsupportedError.
    * other σ: lattice trapezoid rule in rank(C) (ball ``|u|`` ≤ 10.5, step halved from 0.5 to at
      most 1/64) until successive sums agree to 1e-11 of the Cauchy–Schwarz scale ≥ ⟨``|Π σ|``⟩;
      it converges geometrically for analytic σ, where Gauss–Hermite is slow for saturating σ
      (see :mod:`fieldnn.kernels._quadrature`).

    Examples
    --------
    >>> import numpy as np
    >>> M = product_moments("linear", np.eye(2), 4)
    >>> round(float(M[0, 0, 1, 1]), 12), round(float(M[0, 0, 0, 0]), 12)  # Wick: 1, 3
    (1.0, 3.0)
    """
    act = get_activation(activation)
    C = symmetric_psd(C, "C")
    n = positive_int(order, "order", minimum=0)
    return product_moment_tensors(act, C, (n,))[n]
