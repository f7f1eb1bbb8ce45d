"""Criticality experiments of the deep-EFT reproduction: fixed points, phase diagrams,
critical points, depth asymptotics, two-input correlations (private; the public names are
re-exported by :mod:`fieldnn.experiments.eft`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import nonnegative_float, positive_int
from ..errors import ArgumentError, ShapeError
from ..kernels.activations import get_activation
from ..kernels.criticality import (
    correlation_fixed_points,
    critical_point,
    criticality,
    depth_asymptotics,
    fixed_point_curve,
    phase_diagram,
)
from ..kernels.deep import (
    kernel_recursion,
)


def _range(value: object, argument: str, *, positive: bool) -> tuple[float, float]:
    """(lo, hi) with 0 <= lo < hi (0 < lo if ``positive``), or an error naming ``argument``."""
    if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2:
        raise ShapeError(argument, f"must be a pair (lo, hi), got {value!r}")
    lo = nonnegative_float(value[0], argument, strictly_positive=positive)
    hi = nonnegative_float(value[1], argument, strictly_positive=positive)
    if not lo < hi:
        raise ArgumentError(argument, f"needs lo < hi, got {value!r}")
    return lo, hi


def _settings(value: object) -> tuple[tuple[str, float, float], ...]:
    """``settings`` as (label, C_b >= 0, C_W > 0) triples, or an error naming it."""
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise ShapeError("settings", f"must be (label, C_b, C_W) triples, got {value!r}")
    out = []
    for item in value:
        if isinstance(item, str | bytes) or not hasattr(item, "__len__") or len(item) != 3:
            raise ShapeError("settings", f"each entry must be (label, C_b, C_W), got {item!r}")
        label, cb, cw = item
        out.append(
            (
                str(label),
                nonnegative_float(cb, "settings"),
                nonnegative_float(cw, "settings", strictly_positive=True),
            )
        )
    if not out:
        raise ShapeError("settings", "must contain at least one (label, C_b, C_W) triple")
    return tuple(out)


# --------------------------------------------------------------------------------------------
# 1. The fixed point K* = C_b + C_W g(K*), graphically and by iterating the recursion
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedPointSolution:
    r"""The seed's graphical fixed-point solution of K = C_b + C_W g(K).

    Attributes
    ----------
    activation : str
    C_b, C_W : float
    K : ndarray (m,)
        Grid of single-input kernels.
    rhs : ndarray (m,)
        C_b + C_W g(K) on the grid, g(K) = ⟨σ(z)²⟩_{z ~ N(0, K)} (Gaussian quadrature).
    K_star, chi_parallel, chi_perp : float
        Fixed point and susceptibilities from :func:`fieldnn.kernels.criticality.criticality`.
    phase : str
    start : ndarray (s,)
        K^(1) of the iterated inputs.
    iterates : ndarray (s, depth)
        K^(ℓ) from :func:`fieldnn.kernels.deep.kernel_recursion` started at each K^(1); the last
        column converges to K* when ``|χ∥|`` < 1 (the independent check of the root).
    """

    activation: str
    C_b: float
    C_W: float
    K: np.ndarray
    rhs: np.ndarray
    K_star: float
    chi_parallel: float
    chi_perp: float
    phase: str
    start: np.ndarray
    iterates: np.ndarray


def fixed_point_solution(
    activation: str = "tanh", *, C_b: float = 1.0, C_W: float = 2.0, quick: bool = False
) -> FixedPointSolution:
    r"""Solve K* = C_b + C_W g(K*) graphically (the seed's example C_b = 1, C_W = 2) and by
    iterating the single-input kernel recursion from several starting kernels.

    Parameters
    ----------
    activation : str
        Activation name (registry of :mod:`fieldnn.kernels.activations`).
    C_b, C_W : float
        Bias and weight variances (the same in every layer).
    quick : bool
        Coarser grid and fewer layers.

    Returns
    -------
    FixedPointSolution

    Notes
    -----
    .. math:: K^{(\ell+1)} = C_b + C_W\, g(K^{(\ell)}),\qquad
              g(K) = \int \frac{d\phi}{\sqrt{2\pi K}} e^{-\phi^2/2K} \sigma(\phi)^2 ,

    with K^(1) = C_b + C_W x²/d_in. Seed 000, slide "solving the recursion"; arXiv:2106.10165
    eq. (5.4).
    """
    crit = criticality(activation, C_b=C_b, C_W=C_W)
    K_star = float(crit.K_star)
    # a divergent recursion (K* = inf, e.g. GELU at C_b = 0, C_W = 4) is drawn on [0, C_b + C_W]
    k_max = max(2.0 * K_star if np.isfinite(K_star) else 0.0, C_b + C_W, 1.0)
    curve = fixed_point_curve(
        activation, C_b=C_b, C_W=C_W, K_grid=np.linspace(0.0, k_max, 60 if quick else 400)
    )
    depth = 12 if quick else 30
    # inputs x (d_in = 1) with K^(1) = C_b + C_W x² on either side of K*
    start = np.array([C_b, 0.5 * (C_b + k_max), k_max])
    X = np.sqrt((start - C_b) / C_W)[:, None]
    Ks = kernel_recursion(activation, X, C_W=C_W, C_b=C_b, depth=depth)
    iterates = np.array([np.diag(k) for k in Ks]).T
    return FixedPointSolution(
        activation=activation,
        C_b=float(C_b),
        C_W=float(C_W),
        K=curve.K,
        rhs=curve.map_values,
        K_star=K_star,
        chi_parallel=float(crit.chi_parallel),
        chi_perp=float(crit.chi_perp),
        phase=str(crit.phase),
        start=start,
        iterates=iterates,
    )


# --------------------------------------------------------------------------------------------
# 2. Phase diagram in (C_b, C_W)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseDiagram:
    r"""χ∥ and χ⊥ on a grid of (C_b, C_W), with the critical point.

    Attributes
    ----------
    activation : str
    C_b : ndarray (nb,)
    C_W : ndarray (nw,)
    chi_parallel, chi_perp, K_star : ndarray (nb, nw)
        Values at the fixed point of each (C_b, C_W); NaN where there is no finite fixed point.
    critical_C_b, critical_C_W, critical_K_star : float
        From :func:`fieldnn.kernels.criticality.critical_point`, where the χ∥ = 1 and χ⊥ = 1
        lines cross.
    universality_class : str
    """

    activation: str
    C_b: np.ndarray
    C_W: np.ndarray
    chi_parallel: np.ndarray
    chi_perp: np.ndarray
    K_star: np.ndarray
    critical_C_b: float
    critical_C_W: float
    critical_K_star: float
    universality_class: str


def phase_diagram_experiment(
    activation: str = "tanh",
    *,
    C_b_range: tuple[float, float] = (0.0, 0.5),
    C_W_range: tuple[float, float] = (0.5, 3.0),
    grid: int | None = None,
    quick: bool = False,
) -> PhaseDiagram:
    r"""The phase diagram of the kernel recursion in (C_b, C_W): χ∥ = 1 and χ⊥ = 1 lines.

    The seed states criticality with χ∥(K*) = 1 alone; the correct condition is χ∥ = χ⊥ = 1
    (both the diagonal and the off-diagonal perturbations of K must be marginal). The χ⊥ = 1 line
    separates the ordered (χ⊥ < 1) from the chaotic (χ⊥ > 1) phase.

    Parameters
    ----------
    activation : str
    C_b_range : (float, float)
        The grid runs over C_b ∈ [C_b_range[0], C_b_range[1]].
    C_W_range : (float, float)
    grid : int, optional
        Points per axis (at least 3; default 41, quick 15).
    quick : bool
        Coarser grid.

    Returns
    -------
    PhaseDiagram

    Notes
    -----
    .. math:: \chi_\parallel = C_W \frac{d}{dK}\langle\sigma^2\rangle_K\Big|_{K^*},\qquad
              \chi_\perp = C_W \langle\sigma'(z)^2\rangle_{K^*}.

    arXiv:2106.10165 eqs. (5.50)–(5.51).
    """
    n = positive_int(grid if grid is not None else (15 if quick else 41), "grid", minimum=3)
    C_b = np.linspace(*_range(C_b_range, "C_b_range", positive=False), n)
    C_W = np.linspace(*_range(C_W_range, "C_W_range", positive=True), n)
    grid = phase_diagram(activation, C_b, C_W)
    cp = critical_point(activation)
    return PhaseDiagram(
        activation=activation,
        C_b=C_b,
        C_W=C_W,
        chi_parallel=np.asarray(grid.chi_parallel, dtype=float),
        chi_perp=np.asarray(grid.chi_perp, dtype=float),
        K_star=np.asarray(grid.K_star, dtype=float),
        critical_C_b=float(cp.C_b),
        critical_C_W=float(cp.C_W),
        critical_K_star=float(cp.K_star),
        universality_class=str(cp.universality_class),
    )


# --------------------------------------------------------------------------------------------
# 3. Critical points of the registry
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CriticalPointTable:
    r"""Critical initialisations of several activations and their check.

    Attributes
    ----------
    activations : tuple of str
    C_b, C_W, K_star : ndarray (a,)
        From :func:`fieldnn.kernels.criticality.critical_point`.
    universality_class : tuple of str
    chi_parallel, chi_perp : ndarray (a,)
        Recomputed by :func:`fieldnn.kernels.criticality.criticality` at the returned (C_b, C_W)
        and fixed point K*: both must be 1 (the independent check).
    default_K_star : ndarray (a,)
        The fixed point :func:`criticality` selects at the same (C_b, C_W) without a starting
        kernel. For GELU and SWISH it differs from K*: the critical fixed point is a tangency
        (double root, half-stable) of K = C_b + C_W g(K), and a second, simple root lies
        nearby.
    """

    activations: tuple[str, ...]
    C_b: np.ndarray
    C_W: np.ndarray
    K_star: np.ndarray
    universality_class: tuple[str, ...]
    chi_parallel: np.ndarray
    chi_perp: np.ndarray
    default_K_star: np.ndarray


def critical_point_table(
    activations: tuple[str, ...] = (
        "tanh",
        "erf",
        "relu",
        "leaky_relu",
        "linear",
        "gelu",
        "swish",
    ),
    *,
    quick: bool = False,
) -> CriticalPointTable:
    r"""Critical (C_b, C_W) and K* for several activations, with χ∥, χ⊥ recomputed there.

    Parameters
    ----------
    activations : tuple of str
    quick : bool
        Unused (the computation is cheap); kept for a uniform signature.

    Returns
    -------
    CriticalPointTable
    """
    if isinstance(activations, str):
        activations = (activations,)
    for name in activations:  # unknown names fail before any root finding
        get_activation(name)
    rows = []
    for name in activations:
        cp = critical_point(name)
        k0 = float(cp.K_star) if np.isfinite(cp.K_star) and cp.K_star > 0 else None
        crit = criticality(name, C_b=float(cp.C_b), C_W=float(cp.C_W), K0=k0)
        default = criticality(name, C_b=float(cp.C_b), C_W=float(cp.C_W))
        rows.append(
            (
                float(cp.C_b),
                float(cp.C_W),
                float(cp.K_star),
                str(cp.universality_class),
                float(crit.chi_parallel),
                float(crit.chi_perp),
                float(default.K_star),
            )
        )
    cols = list(zip(*rows, strict=True))
    return CriticalPointTable(
        activations=tuple(activations),
        C_b=np.array(cols[0]),
        C_W=np.array(cols[1]),
        K_star=np.array(cols[2]),
        universality_class=tuple(cols[3]),
        chi_parallel=np.array(cols[4]),
        chi_perp=np.array(cols[5]),
        default_K_star=np.array(cols[6]),
    )


# --------------------------------------------------------------------------------------------
# 4. Depth asymptotics of the K* = 0 class
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DepthAsymptotics:
    r"""K^(ℓ) at criticality against the power law 1/(−a₁ ℓ) of the K* = 0 class.

    Attributes
    ----------
    activation : str
    C_b, C_W : float
        The critical point used.
    a1 : float
        From :func:`fieldnn.kernels.criticality.depth_asymptotics`.
    depths : ndarray (D,) of int
    K : ndarray (D,)
        Single-input kernel from the recursion (input with K^(1) = C_W x² = 1).
    K_asymptotic : ndarray (D,)
        1/(−a₁ ℓ).
    K_log : ndarray (D,)
        With the next, logarithmic term (:meth:`DepthAsymptotics.kernel` of the library).
    """

    activation: str
    C_b: float
    C_W: float
    a1: float
    depths: np.ndarray
    K: np.ndarray
    K_asymptotic: np.ndarray
    K_log: np.ndarray


def depth_asymptotics_experiment(
    activation: str = "tanh", *, quick: bool = False
) -> DepthAsymptotics:
    r"""Power-law decay of the kernel with depth at criticality (K* = 0 universality class).

    Notes
    -----
    .. math:: K^{(\ell)} \simeq \frac{1}{(-a_1)\,\ell},\qquad
              a_1 = \frac{\sigma_3}{\sigma_1}
                    + \frac34\Big(\frac{\sigma_2}{\sigma_1}\Big)^2

    with σ(z) = σ₁ z + σ₂ z²/2 + σ₃ z³/6 + …; arXiv:2106.10165 eqs. (5.82)–(5.86).
    """
    cp = critical_point(activation)
    asym = depth_asymptotics(activation)
    a1 = float(asym.a1)
    depth = 100 if quick else 1000
    Ks = kernel_recursion(
        activation, np.array([[1.0 / np.sqrt(cp.C_W)]]), C_W=cp.C_W, C_b=cp.C_b, depth=depth
    )
    depths = np.arange(1, depth + 1)
    return DepthAsymptotics(
        activation=activation,
        C_b=float(cp.C_b),
        C_W=float(cp.C_W),
        a1=a1,
        depths=depths,
        K=np.array([float(k[0, 0]) for k in Ks]),
        K_asymptotic=np.asarray(asym.kernel(depths, log_correction=False)),
        K_log=np.asarray(asym.kernel(depths)),
    )


# --------------------------------------------------------------------------------------------
# 4b. Two inputs: the coupled (K11, K22, K12) recursion and its correlation fixed points
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorrelationFlow:
    r"""Correlation ρ^(ℓ) = K12/√(K11 K22) of two inputs against depth, with the fixed points.

    Attributes
    ----------
    activation : str
    settings : tuple of (label, C_b, C_W)
        Ordered, critical and chaotic initialisations.
    depths : ndarray (D,)
    rho : ndarray (s, D)
        From the full 2×2 :func:`fieldnn.kernels.deep.kernel_recursion` (the seed's coupled
        equations for K11, K22 and K12 = H(K11, K22, K12)).
    rho_star : tuple of ndarray
        Stable correlation fixed points of each setting
        (:func:`fieldnn.kernels.criticality.correlation_fixed_points`).
    chi_perp : ndarray (s,)
    """

    activation: str
    settings: tuple[tuple[str, float, float], ...]
    depths: np.ndarray
    rho: np.ndarray
    rho_star: tuple[np.ndarray, ...]
    chi_perp: np.ndarray


def correlation_flow(
    activation: str = "tanh",
    *,
    settings: tuple[tuple[str, float, float], ...] = (
        ("ordered", 0.3, 1.0),
        ("critical", 0.0, 1.0),
        ("chaotic", 0.1, 2.5),
    ),
    X: np.ndarray | None = None,
    quick: bool = False,
) -> CorrelationFlow:
    r"""Two-input kernel recursion: the approach of ρ^(ℓ) to its fixed point in each phase.

    Parameters
    ----------
    activation : str
    settings : tuple of (label, C_b, C_W)
    X : ndarray (2, d_in), optional
        The two inputs (default (1, 0) and (0.6, 0.8): unit norm, cos θ = 0.6).
    quick : bool
        60 instead of 300 layers.

    Notes
    -----
    .. math:: K^{(\ell+1)}_{12} = C_b + C_W\,H(K^{(\ell)}_{11}, K^{(\ell)}_{22},
              K^{(\ell)}_{12}),\qquad H = \langle\sigma(z_1)\sigma(z_2)\rangle_{\bar K};

    ρ = 1 is a fixed point with slope χ⊥: ordered (χ⊥ < 1) inputs become perfectly correlated,
    chaotic (χ⊥ > 1) ones approach ρ* < 1, at criticality the approach is a power law.
    Seed 000 slide "more recursions"; arXiv:2106.10165 §5.1.
    """
    depth = 60 if quick else 300
    X = np.array([[1.0, 0.0], [0.6, 0.8]]) if X is None else np.asarray(X, dtype=float)
    rhos, stars, chis = [], [], []
    settings = _settings(settings)
    for _, cb, cw in settings:
        Ks = kernel_recursion(activation, X, C_W=cw, C_b=cb, depth=depth)
        rhos.append([k[0, 1] / np.sqrt(k[0, 0] * k[1, 1]) for k in Ks])
        chis.append(float(criticality(activation, C_b=cb, C_W=cw).chi_perp))
        stars.append(
            np.array(
                [p.rho for p in correlation_fixed_points(activation, C_b=cb, C_W=cw) if p.stable]
            )
            if cb > 0
            else np.array([1.0])
        )
    return CorrelationFlow(
        activation=activation,
        settings=tuple(settings),
        depths=np.arange(1, depth + 1),
        rho=np.array(rhos),
        rho_star=tuple(stars),
        chi_perp=np.array(chis),
    )
