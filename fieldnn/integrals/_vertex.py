"""One interaction vertex over the cutoff box (private; see :mod:`fieldnn.integrals`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validate import finite_float, positive_int
from ..errors import (
    ArgumentTypeError,
)
from . import _rules
from ._common import (
    IntegralResult,
    Kernel,
    _axis_edges,
    _check_decay,
    _check_kernel,
    _cutoff,
    _finish,
    _KernelCalls,
    _LegProduct,
    _points,
    _tolerances,
    _union,
)

# ----------------------------------------------------------------------------- vertex


def vertex_integral(
    kernel: Kernel,
    points: Any,
    *,
    cutoff: float,
    subtract: float = 0.0,
    self_loops: int = 0,
    rtol: float = 1e-9,
    atol: float = 0.0,
    breakpoints: str | Sequence | None = "auto",
    kernel_diagonal: Callable[[np.ndarray], Any] | None = None,
    max_evaluations: int = 50_000_000,
    n_randomizations: int = 16,
    rng: int | np.random.SeedSequence = 0,
) -> IntegralResult:
    r"""Single-vertex integrals over the cutoff box, for T tuples of external points at once.

    Parameters
    ----------
    kernel : callable
        ``kernel(X, Y)`` with X (P, d_in), Y (Q, d_in) returning the (P, Q) kernel matrix.
    points : array_like, shape (T, k, d_in)
        T tuples of k external inputs (the legs of the vertex).
    cutoff : float
        Λ > 0, or ``math.inf`` for ℝ^{d_in} (then the integrand must decay faster than
        ``|y|^{−d_in}``; otherwise ``ArgumentError`` naming ``cutoff``).
    subtract : float
        s, subtracted from the kernel on every leg and self loop (0: full K; σ_b²: K − σ_b²).
    self_loops : int
        m, the number of factors (K(y, y) − s) (m = 1 for the κ vertex with a self loop).
    rtol, atol : float
        Requested accuracy per tuple: error ≤ max(atol, rtol ``|value|``) (never below ~2e-14 of
        ∫|integrand|, the round-off floor).
    breakpoints : "auto", None, or numbers
        Coordinates at which every axis is split before adaptation: kinks of the integrand.
        ``"auto"``: the origin (ReLU's kink where the input direction flips), the decades
        ±1, ±10, ±100, … < Λ (so that no first panel is so wide that its nodes step over an
        O(1)-wide peak such as a Gauss-net leg, which an adaptive rule could not notice), and,
        in d_in = 1, the external points (ReLU's ``|y − x|³`` cusps). In d_in ≥ 2 the cusps are
        points (σ_b > 0) or rays (σ_b = 0), not axis planes: a tensor split through every
        external coordinate costs far more (measured: 40–300×) than letting the bisection find
        them. Kernels with features much narrower than 1 need explicit breakpoints. One
        sequence (every axis) or d_in sequences (per axis); values outside (−Λ, Λ) are not
        kinks of the integrand on the box and are ignored.
    kernel_diagonal : callable, optional
        ``kernel_diagonal(Y) -> (Q,)``, K(y, y); by default taken from ``kernel`` in blocks.
    max_evaluations : int
        Budget of integration nodes; if exhausted, an ``IntegrationWarning`` is issued and the
        honest (larger) errors are returned with ``converged=False``.
    n_randomizations, rng
        Quasi-Monte Carlo (d_in ≥ 4) only: the number R of independent scramblings and the seed.

    Returns
    -------
    IntegralResult
        ``values`` and ``errors`` of shape (T,).

    Notes
    -----
    .. math::

        I_t = \int_{[-\Lambda,\Lambda]^{d}} d^{d}y\; \prod_{a=1}^{k}\bigl(K(x_{ta}, y) - s\bigr)
              \,\bigl(K(y, y) - s\bigr)^{m}

    The kernel is evaluated once per node on the distinct external points of all tuples (one
    (P, N) matrix), and the T products are formed from it. d_in = 1, 2, 3: globally adaptive
    tensor Gauss–Kronrod 7/15 cubature, error ``|K − G|`` per box, bisection along the axis with the
    largest one-axis embedded difference. d_in ≥ 4: scrambled Sobol' points, error = standard
    error over ``n_randomizations``. Λ = ∞: every axis is mapped by y = c t/(1 − t²).

    In the seed's measurement λ_m = (K12K34 + K13K24 + K14K23 − G4)/(24 I), only I depends on Λ:
    I ∝ Λ^{d} (Erf-, Gauss-net, full legs) or Λ^{d+4} (ReLU) at large Λ, hence the measured
    β-function slopes −d and −(d + 4) (docs/integrals.md).

    References
    ----------
    Halverson, Maiti, Stoner, arXiv:2008.08601, eqs. (3.18), (3.19), (4.13), (4.14).
    Piessens et al., QUADPACK (1983) (the 7/15 pair); Owen (1995) (scrambled nets).

    Examples
    --------
    >>> import numpy as np
    >>> def k(X, Y):  # Gauss-net kernel, σ_W² = σ_b² = 1, d_in = 1
    ...     return 1.0 + np.exp(-0.5 * (X[:, None, 0] - Y[None, :, 0]) ** 2)
    >>> r = vertex_integral(k, [[[0.0], [0.0]]], cutoff=np.inf, subtract=1.0)
    >>> bool(abs(r.values[0] - np.sqrt(np.pi)) < 1e-12)
    True
    """
    _check_kernel(kernel)
    pts = _points(points, "points")
    cut = _cutoff(cutoff)
    s = finite_float(subtract, "subtract")
    m = positive_int(self_loops, "self_loops", minimum=0)
    rt, at = _tolerances(rtol, atol)
    budget = positive_int(max_evaluations, "max_evaluations")
    n_rand = positive_int(n_randomizations, "n_randomizations", minimum=2)
    if kernel_diagonal is not None and not callable(kernel_diagonal):
        raise ArgumentTypeError("kernel_diagonal", "must be callable Y (Q, d) -> (Q,)")
    T, _, d = pts.shape
    calls = _KernelCalls(kernel, kernel_diagonal)
    Xu, (idx,) = _union(pts)
    legs = _LegProduct(idx)

    def f(Y: np.ndarray) -> np.ndarray:
        out = legs(calls.matrix(Xu, Y) - s)
        if m:
            out *= (calls.diagonal(Y) - s)[None, :] ** m
        return out

    scale = max(1.0, float(np.max(np.abs(Xu))))
    amap = None
    if math.isinf(cut):
        _check_decay(f, d, scale, "tuple(s)")
        amap = _rules.AxisMap(scale)
    g = f if amap is None else amap.wrap(f)
    if d <= 3:
        edges = _axis_edges(breakpoints, Xu, cut, amap)
        cub = _rules.adaptive_tensor_gk(g, edges, n_out=T, rtol=rt, atol=at, max_nodes=budget)
        method = "gauss-kronrod-15 tensor adaptive"
    else:
        lo, hi = (
            (np.full(d, -cut), np.full(d, cut))
            if amap is None
            else (np.full(d, -1.0), np.full(d, 1.0))
        )
        vol = float(np.prod(hi - lo))

        def estimate(gen: np.random.Generator, n: int) -> np.ndarray:
            Y = _rules.sobol_box(gen, n, lo, hi)
            step = max(1, _rules.CHUNK // max(T, Xu.shape[0]))
            return vol * sum(g(Y[i : i + step]).sum(axis=1) for i in range(0, n, step)) / n

        cub = _rules.rqmc(
            estimate,
            n_randomizations=n_rand,
            rtol=rt,
            atol=at,
            max_nodes=budget,
            nodes_per_point=lambda n: n,
            rng=rng,
        )
        method = "rqmc-sobol"
    return _finish(cub, method + (" (Λ=∞ mapped)" if amap else ""), cut, d, "vertex_integral")
