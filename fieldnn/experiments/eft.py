"""The experiments of the deep-network EFT talk (seed 000, Roberts–Yaida–Hanin programme).

Every function computes one experiment and returns a frozen dataclass of arrays: no printing, no
plotting (plots: :mod:`fieldnn.report.plots_eft`; the report: :mod:`fieldnn.report.eft_report`).
Each takes ``quick`` (small sizes, for ``fieldnn reproduce eft --quick`` and the tests) and, where
networks are sampled, ``rng`` (an integer seed; chunks are seeded by ``SeedSequence(rng).spawn``
inside :func:`fieldnn.ensembles.estimate_correlators`, so results are reproducible bitwise).

Each experiment pairs two independent methods: the infinite-width (or 1/n) recursion of
:mod:`fieldnn.kernels.deep` / :mod:`fieldnn.kernels.criticality` against sampled deep ensembles
with standard errors, closed forms against iterated recursions, the NTK forward equation against
empirical NTKs, and the gradient-flow prediction against trained replica ensembles.

Conventions (docs/conventions.md): z^(1) = b^(1) + W^(1) x, z^(ℓ+1) = b^(ℓ+1) + W^(ℓ+1) σ(z^(ℓ)),
W^(ℓ) ~ N(0, C_W/n_{ℓ−1}), b^(ℓ) ~ N(0, C_b), linear output layer; for one output and inputs
a, b, c, d, E[z_a z_b z_c z_d]_c = (V_{ab,cd} + V_{ac,bd} + V_{ad,bc}) / n_{L−1}.

References
----------
D. A. Roberts, S. Yaida, B. Hanin, *The Principles of Deep Learning Theory*, arXiv:2106.10165,
chapters 4–5 (criticality, four-point vertex), 7–10 (NTK and inference); seed 000 slides
"going deep", "Bayesian learning at finite width", "Forward equation for the NTK".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from .._validate import positive_int
from ..ensembles import MLP, estimate_correlators, sample_outputs
from ..inference import (
    ConditionalSecondMoment,
    HiddenKernelPosterior,
    LossRateCheck,
    ReplicaEnsemble,
    conditional_second_moment_sampled,
    gp_posterior,
    gradient_flow_prediction,
    hidden_kernel_posterior,
    loss_rate_check,
    train_replicas,
)

# The empirical NTK of explicit networks has no public entry point yet (inference is asked to
# export one); the hand-written backpropagation lives in inference._network.
from ..inference._network import MLPSpec, empirical_ntk, init_parameters
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
    exact_single_input_moment,
    four_point_vertex,
    kernel_recursion,
    nlo_kernel_correction,
)
from ..symbolic.matching import conditional_second_moment, match_quartic

__all__ = [
    "ConditionalVariance",
    "CorrelationFlow",
    "CriticalPointTable",
    "DepthAsymptotics",
    "FixedPointSolution",
    "NLOTwoPoint",
    "NTKCheck",
    "PhaseDiagram",
    "QuarticMatching",
    "ReplicaInference",
    "VertexGrowth",
    "conditional_variance",
    "correlation_flow",
    "critical_point_table",
    "depth_asymptotics_experiment",
    "fixed_point_solution",
    "nlo_two_point",
    "ntk_check",
    "phase_diagram_experiment",
    "quartic_matching",
    "replica_inference",
    "vertex_growth",
]


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
        column converges to K* when |χ∥| < 1 (the independent check of the root).
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
    k_max = max(2.0 * K_star, C_b + C_W, 1.0)
    curve = fixed_point_curve(activation, C_b=C_b, C_W=C_W,
                              K_grid=np.linspace(0.0, k_max, 60 if quick else 400))
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
    n = 15 if quick else 41
    C_b = np.linspace(*C_b_range, n)
    C_W = np.linspace(*C_W_range, n)
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
    rows = []
    for name in activations:
        cp = critical_point(name)
        k0 = float(cp.K_star) if np.isfinite(cp.K_star) and cp.K_star > 0 else None
        crit = criticality(name, C_b=float(cp.C_b), C_W=float(cp.C_W), K0=k0)
        default = criticality(name, C_b=float(cp.C_b), C_W=float(cp.C_W))
        rows.append(
            (float(cp.C_b), float(cp.C_W), float(cp.K_star), str(cp.universality_class),
             float(crit.chi_parallel), float(crit.chi_perp), float(default.K_star))
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
        ("ordered", 0.3, 1.0), ("critical", 0.0, 1.0), ("chaotic", 0.1, 2.5)),
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
    for _, cb, cw in settings:
        Ks = kernel_recursion(activation, X, C_W=cw, C_b=cb, depth=depth)
        rhos.append([k[0, 1] / np.sqrt(k[0, 0] * k[1, 1]) for k in Ks])
        chis.append(float(criticality(activation, C_b=cb, C_W=cw).chi_perp))
        stars.append(np.array([p.rho for p in correlation_fixed_points(
            activation, C_b=cb, C_W=cw) if p.stable]) if cb > 0 else np.array([1.0]))
    return CorrelationFlow(
        activation=activation,
        settings=tuple(settings),
        depths=np.arange(1, depth + 1),
        rho=np.array(rhos),
        rho_star=tuple(stars),
        chi_perp=np.array(chis),
    )


# --------------------------------------------------------------------------------------------
# 5. Four-point vertex: V/(n K²) growth with depth, recursion vs sampled deep ensembles
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VertexGrowth:
    r"""Normalised four-point vertex against depth at criticality, recursion vs sampling.

    Attributes
    ----------
    activation : str
    C_b, C_W : float
        Critical initialisation used.
    width : int
        Hidden width n (all hidden layers).
    X : ndarray (P, 1)
        Inputs; the single-input numbers refer to ``X[0]``.
    depths : ndarray (D,) of int
        Number of layers L (L − 1 hidden layers of width n, one output).
    K : ndarray (D,)
        K^(L) at X[0] from the recursion.
    kernel, kernel_sampled, kernel_stderr : ndarray (D, P, P)
        K^(L) at all inputs (recursion, including the off-diagonal H recursion) and the sampled
        E[z_a z_b] with its standard error (equal to K up to O(1/n)).
    kernel_nlo : ndarray (D, P, P)
        K + K^{1}/n (:func:`fieldnn.kernels.deep.nlo_kernel_correction`), the two-point
        function to O(1/n).
    ratio : ndarray (D,)
        Leading-order V^(L)/(n K²) at X[0], from :func:`fieldnn.kernels.deep.four_point_vertex`.
    sampled, stderr : ndarray (D,)
        E[z⁴]_c /(3 K²) from the sampled ensemble and its standard error.
    tensor : ndarray (D, P, P, P, P)
        Leading-order connected 4-pt tensor (V_{ab,cd} + V_{ac,bd} + V_{ad,bc})/n.
    tensor_sampled, tensor_stderr : ndarray (D, P, P, P, P)
        The sampled connected 4-pt tensor and its standard error.
    exact : ndarray (D,)
        Exact finite-width E[z⁴]_c /(3 E[z²]²) at X[0] from
        :func:`fieldnn.kernels.deep.exact_single_input_moment` (= ∏(1 + 5/n) − 1 for ReLU);
        NaN unless σ is positively homogeneous and C_b = 0.
    n_nets : int
    """

    activation: str
    C_b: float
    C_W: float
    width: int
    X: np.ndarray
    depths: np.ndarray
    K: np.ndarray
    kernel: np.ndarray
    kernel_sampled: np.ndarray
    kernel_stderr: np.ndarray
    kernel_nlo: np.ndarray
    ratio: np.ndarray
    sampled: np.ndarray
    stderr: np.ndarray
    tensor: np.ndarray
    tensor_sampled: np.ndarray
    tensor_stderr: np.ndarray
    exact: np.ndarray
    n_nets: int


def _chunk(n_nets: int) -> int:
    """Chunk size giving ~50 chunks (the batch-means standard errors need many chunks)."""
    return max(1, min(20_000, n_nets // 50))


def _connected_from_vertex(V: np.ndarray, n: int) -> np.ndarray:
    r"""(V_{ab,cd} + V_{ac,bd} + V_{ad,bc}) / n for a (P,P,P,P) vertex V."""
    return (V + V.transpose(0, 2, 1, 3) + V.transpose(0, 3, 2, 1)) / n


def vertex_growth(
    activation: str = "relu",
    *,
    width: int = 50,
    depths: tuple[int, ...] | None = None,
    n_nets: int | None = None,
    X: np.ndarray | None = None,
    rng: int = 0,
    quick: bool = False,
) -> VertexGrowth:
    r"""V/(n K²) against depth at criticality, recursion vs sampled deep ensembles.

    Parameters
    ----------
    activation : str
        "relu" (scale-invariant class, V/(nK²) ≈ 5(L−1)/n) or a K* = 0 class activation such as
        "tanh" (V/(nK²) ≈ (2/3)L/n at large depth); anything :func:`critical_point` accepts.
    width : int
        Hidden width n.
    depths : tuple of int, optional
        Numbers of layers L (default 2…10; quick: 2, 4, 6, 8, 10).
    n_nets : int, optional
        Networks sampled per depth (default 200 000; quick 20 000).
    X : ndarray (P, 1), optional
        Inputs (default x = 1 and x = −0.5).
    rng : int
        Seed; depth L uses the seed ``rng + L``.
    quick : bool

    Returns
    -------
    VertexGrowth

    Notes
    -----
    For one output the leading-order connected 4-pt function is

    .. math:: E[z_a z_b z_c z_d]_c = \frac{1}{n}\,(V_{ab,cd} + V_{ac,bd} + V_{ad,bc}),

    so at a single input E[z⁴]_c /(3K²) = V/(nK²). Seed 000 slide "propagators and all that";
    arXiv:2106.10165 eq. (4.77), (5.108)–(5.112). Sampled values carry O(1/n²) corrections,
    visible at large L/n.
    """
    positive_int(width, "width")
    if depths is None:
        depths = (2, 4, 6, 8, 10) if quick else tuple(range(2, 11))
    depths = tuple(positive_int(L, "depths", minimum=2) for L in depths)
    n_nets = positive_int(
        n_nets if n_nets is not None else (20_000 if quick else 200_000), "n_nets"
    )
    X = np.array([[1.0], [-0.5]]) if X is None else np.asarray(X, dtype=float)
    cp = critical_point(activation)
    C_b, C_W = float(cp.C_b), float(cp.C_W)
    homogeneous = get_activation(activation).piecewise_linear_slopes is not None and C_b == 0
    K, ratio, sampled, stderr, tensor, t_s, t_e, exact = ([] for _ in range(8))
    kern, k_s, k_e, k_nlo = [], [], [], []
    for L in depths:
        widths = [X.shape[1], *([width] * (L - 1)), 1]
        Kl = kernel_recursion(activation, X, C_W=C_W, C_b=C_b, depth=L)[-1]
        V = np.asarray(four_point_vertex(activation, X, C_W=C_W, C_b=C_b, widths=widths))
        G4 = _connected_from_vertex(V, width)
        net = MLP(activation, widths, C_W=C_W, C_b=C_b)
        est = estimate_correlators(net, X, n_nets, orders=(2, 4), rng=rng + L,
                                   chunk_size=_chunk(n_nets))
        c4 = np.asarray(est.connected(4))
        e4 = np.asarray(est.stderr(4))
        k0 = float(Kl[0, 0])
        K.append(k0)
        kern.append(Kl)
        k_nlo.append(Kl + nlo_kernel_correction(activation, X, C_W=C_W, C_b=C_b,
                                                widths=widths) / width)
        k_s.append(np.asarray(est.full(2)))
        k_e.append(np.asarray(est.stderr(2, connected=False)))
        ratio.append(float(V[0, 0, 0, 0]) / (width * k0**2))
        sampled.append(float(c4[0, 0, 0, 0]) / (3 * k0**2))
        stderr.append(float(e4[0, 0, 0, 0]) / (3 * k0**2))
        tensor.append(G4)
        t_s.append(c4)
        t_e.append(e4)
        if homogeneous:
            m2, m4 = (exact_single_input_moment(X[0], widths, C_W=C_W, order=k,
                                                activation=activation) for k in (2, 4))
            exact.append(m4 / (3 * m2**2) - 1.0)
        else:
            exact.append(np.nan)
    return VertexGrowth(
        activation=activation,
        C_b=C_b,
        C_W=C_W,
        width=width,
        X=X,
        depths=np.array(depths),
        K=np.array(K),
        kernel=np.array(kern),
        kernel_sampled=np.array(k_s),
        kernel_stderr=np.array(k_e),
        kernel_nlo=np.array(k_nlo),
        ratio=np.array(ratio),
        sampled=np.array(sampled),
        stderr=np.array(stderr),
        tensor=np.array(tensor),
        tensor_sampled=np.array(t_s),
        tensor_stderr=np.array(t_e),
        exact=np.array(exact),
        n_nets=n_nets,
    )


# --------------------------------------------------------------------------------------------
# 6. The 1/n correction to the two-point function
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NLOTwoPoint:
    r"""G = K + G^{1}/n + O(1/n²) at one input: recursion vs sampled ensembles at several widths.

    Attributes
    ----------
    activation : str
    C_b, C_W : float
    depth : int
    widths : ndarray (w,) of int
        Hidden widths n.
    K : float
        Infinite-width kernel K^(L) at the input.
    G1 : float
        NLO coefficient G^{1}(L) from :func:`fieldnn.kernels.deep.nlo_kernel_correction`
        (the prediction is G − K = G^{1}/n).
    sampled, stderr : ndarray (w,)
        Sampled E[z²] − K and its standard error.
    n_nets : int
    """

    activation: str
    C_b: float
    C_W: float
    depth: int
    widths: np.ndarray
    K: float
    G1: float
    sampled: np.ndarray
    stderr: np.ndarray
    n_nets: int


def nlo_two_point(
    activation: str = "tanh",
    *,
    C_b: float = 0.0,
    C_W: float = 1.0,
    depth: int = 3,
    widths: tuple[int, ...] | None = None,
    n_nets: int | None = None,
    x: float = 1.0,
    rng: int = 0,
    quick: bool = False,
) -> NLOTwoPoint:
    r"""The 1/n correction of the two-point function, recursion vs sampling.

    Parameters
    ----------
    activation : str
    C_b, C_W : float
    depth : int
        Number of layers L.
    widths : tuple of int, optional
        Hidden widths (default 4, 8, 16, 32).
    n_nets : int, optional
        Networks per width (default 10⁶; quick 2·10⁵).
    x : float
        The input (d_in = 1).
    rng : int
    quick : bool

    Notes
    -----
    .. math:: G^{(L)} = K^{(L)} + \frac{1}{n} G^{\{1\}(L)} + O(1/n^2)

    (seed 000 slide "1/n expansion"; the recursion for G^{1} is arXiv:2106.10165 eq. (4.115)).
    """
    depth = positive_int(depth, "depth", minimum=2)
    widths = (4, 8, 16, 32) if widths is None else tuple(widths)
    n_nets = positive_int(
        n_nets if n_nets is not None else (200_000 if quick else 1_000_000), "n_nets"
    )
    X = np.array([[float(x)]])
    K = float(kernel_recursion(activation, X, C_W=C_W, C_b=C_b, depth=depth)[-1][0, 0])
    # only the ratios of hidden widths enter K^{1}: equal widths give one coefficient
    G1 = float(nlo_kernel_correction(activation, X, C_W=C_W, C_b=C_b,
                                     widths=[1, *([1] * (depth - 1)), 1])[0, 0])
    sampled, stderr = [], []
    for i, n in enumerate(widths):
        net = MLP(
            activation, [1, *([positive_int(n, "widths")] * (depth - 1)), 1], C_W=C_W, C_b=C_b
        )
        est = estimate_correlators(net, X, n_nets, orders=(2,), rng=rng + i,
                                   chunk_size=_chunk(n_nets))
        sampled.append(float(np.asarray(est.full(2))[0, 0]) - K)
        stderr.append(float(np.asarray(est.stderr(2, connected=False))[0, 0]))
    return NLOTwoPoint(
        activation=activation,
        C_b=float(C_b),
        C_W=float(C_W),
        depth=depth,
        widths=np.array(widths),
        K=K,
        G1=G1,
        sampled=np.array(sampled),
        stderr=np.array(stderr),
        n_nets=n_nets,
    )


# --------------------------------------------------------------------------------------------
# 7. EFT couplings by matching, and the finite-width conditional ⟨φ2² | φ1⟩
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuarticMatching:
    r"""Couplings of the zero-dimensional O(m) theory matched to (G, V) at O(1/n).

    Attributes
    ----------
    m : tuple of int
    gamma2, gamma4 : tuple of sympy.Expr
        From :func:`fieldnn.symbolic.matching.match_quartic`, in the symbols G, V, n.
    inverse_gamma2 : tuple of sympy.Expr
        1/γ2 expanded to O(1/n).
    seed_inverse_gamma2 : tuple of sympy.Expr
        The seed talk's 1/γ(2) = G − (m+2)V/(nG).
    discrepancy : tuple of sympy.Expr
        seed − ours, i.e. the term the seed gets wrong (−(m+2)V/(2nG)).
    conditional : sympy.Expr
        ⟨φ2² | φ1⟩ from :func:`fieldnn.symbolic.matching.conditional_second_moment` (m = 2).
    """

    m: tuple[int, ...]
    gamma2: tuple[sp.Expr, ...]
    gamma4: tuple[sp.Expr, ...]
    inverse_gamma2: tuple[sp.Expr, ...]
    seed_inverse_gamma2: tuple[sp.Expr, ...]
    discrepancy: tuple[sp.Expr, ...]
    conditional: sp.Expr


def quartic_matching(ms: tuple[int, ...] = (1, 2, 3, 4), *, quick: bool = False) -> QuarticMatching:
    r"""γ(2), γ(4) of the O(m) quartic theory in G, V, n, and the seed talk's version.

    Notes
    -----
    .. math:: \frac{1}{\gamma^{(2)}} = G - \frac{m+2}{2}\frac{V}{nG} + O(1/n^2),\qquad
              \gamma^{(4)} = \frac{V}{nG^4};

    the seed (slide "Bayesian learning at finite width") drops the factor 1/2.
    """
    G, V, n = sp.symbols("G V n")
    u = sp.Symbol("u")
    g2s, g4s, inv, seed, diff = [], [], [], [], []
    for m in ms:
        g2, g4 = match_quartic(m)
        g2s.append(g2)
        g4s.append(g4)
        ours = sp.expand(sp.series((1 / g2).subs(n, 1 / u), u, 0, 2).removeO().subs(u, 1 / n))
        theirs = G - (m + 2) * V / (n * G)
        inv.append(ours)
        seed.append(theirs)
        diff.append(sp.simplify(theirs - ours))
    return QuarticMatching(
        m=tuple(ms),
        gamma2=tuple(g2s),
        gamma4=tuple(g4s),
        inverse_gamma2=tuple(inv),
        seed_inverse_gamma2=tuple(seed),
        discrepancy=tuple(diff),
        conditional=conditional_second_moment(2),
    )


@dataclass(frozen=True)
class ConditionalVariance:
    r"""⟨φ2² | φ1⟩ of sampled finite-width networks (two outputs, one input) in bins of φ1.

    Attributes
    ----------
    activation : str
    C_b, C_W : float
    width, depth : int
    G, V : float
        Infinite-width kernel and leading-order vertex at the input (recursions).
    phi1 : ndarray (b,)
        Mean of φ1 in each bin.
    sampled, stderr : ndarray (b,)
        Bin average of φ2² and its standard error.
    predicted : ndarray (b,)
        Bin average of the NLO formula G + ½(φ1² − G) V/(nG²) over the same samples.
    counts : ndarray (b,) of int
    weighted : fieldnn.inference.ConditionalSecondMoment
        The independent method: exact conditioning on φ1 = ``phi1`` by importance weighting of
        sampled hidden layers (:func:`fieldnn.inference.conditional_second_moment_sampled`).
    n_nets : int
    """

    activation: str
    C_b: float
    C_W: float
    width: int
    depth: int
    G: float
    V: float
    phi1: np.ndarray
    sampled: np.ndarray
    stderr: np.ndarray
    predicted: np.ndarray
    counts: np.ndarray
    weighted: ConditionalSecondMoment
    n_nets: int


def conditional_variance(
    activation: str = "relu",
    *,
    width: int = 100,
    depth: int = 2,
    n_nets: int | None = None,
    n_bins: int = 12,
    rng: int = 0,
    quick: bool = False,
) -> ConditionalVariance:
    r"""The seed's finite-width single-datapoint inference formula checked by sampling.

    Two output neurons φ1, φ2 of the same network at one input x = 1, at the critical
    initialisation of ``activation``; observing φ1 changes the expected φ2² at O(1/n)
    (at infinite width the neurons are independent: no change).

    Parameters
    ----------
    activation : str
    width : int
        Hidden width n.
    depth : int
        Number of layers L.
    n_nets : int, optional
        Networks sampled, for each of the two methods (default 2·10⁶; quick 2·10⁵).
    n_bins : int
        Equal-count bins of φ1 (the direct method: bin averages of φ2² of sampled outputs).
    rng : int
    quick : bool

    Notes
    -----
    .. math:: \langle\phi_2^2|\check\phi_1\rangle = G + \frac12(\check\phi_1^2 - G)
              \frac{V}{nG^2} + O(1/n^2),

    with G the two-point function (= K for ReLU with C_b = 0, exactly). Seed 000, slide
    "Bayesian learning at finite width";
    :func:`fieldnn.symbolic.matching.conditional_second_moment`.
    """
    width = positive_int(width, "width")
    depth = positive_int(depth, "depth", minimum=2)
    n_nets = positive_int(
        n_nets if n_nets is not None else (200_000 if quick else 2_000_000), "n_nets"
    )
    cp = critical_point(activation)
    C_b, C_W = float(cp.C_b), float(cp.C_W)
    X = np.array([[1.0]])
    widths = [1, *([width] * (depth - 1)), 2]
    G = float(kernel_recursion(activation, X, C_W=C_W, C_b=C_b, depth=depth)[-1][0, 0])
    V = float(
        np.asarray(four_point_vertex(activation, X, C_W=C_W, C_b=C_b, widths=widths)).reshape(-1)[0]
    )
    out = np.asarray(sample_outputs(MLP(activation, widths, C_W=C_W, C_b=C_b), X, n_nets, rng=rng))
    phi1, phi2 = out[:, 0, 0], out[:, 0, 1]
    g, v, nn, p1 = sp.symbols("G V n phi_1")
    formula = sp.lambdify(p1, conditional_second_moment(2).subs({g: G, v: V, nn: width}), "numpy")
    pred = np.broadcast_to(formula(phi1), phi1.shape)
    order = np.argsort(phi1)
    groups = np.array_split(order, n_bins)
    centres = np.array([phi1[i].mean() for i in groups])
    weighted = conditional_second_moment_sampled(
        MLP(activation, widths, C_W=C_W, C_b=C_b), X[0], centres, n_samples=n_nets, rng=rng + 1
    )
    return ConditionalVariance(
        activation=activation,
        C_b=C_b,
        C_W=C_W,
        width=width,
        depth=depth,
        G=G,
        V=V,
        phi1=centres,
        sampled=np.array([np.mean(phi2[i] ** 2) for i in groups]),
        stderr=np.array([np.std(phi2[i] ** 2, ddof=1) / np.sqrt(len(i)) for i in groups]),
        predicted=np.array([pred[i].mean() for i in groups]),
        counts=np.array([len(i) for i in groups]),
        weighted=weighted,
        n_nets=n_nets,
    )


# --------------------------------------------------------------------------------------------
# 8. NTK: forward recursion vs the empirical NTK of sampled finite networks
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NTKCheck:
    """Θ^(L) of the forward equation against ensemble-averaged empirical NTKs.

    Attributes
    ----------
    activation : str
    C_b, C_W, lambda_b, lambda_W : float
    depth : int
    X : ndarray (P, 1)
    widths : ndarray (w,) of int
        Hidden widths n.
    theta : ndarray (P, P)
        Infinite-width NTK (:meth:`fieldnn.MLP.ntk`).
    empirical, stderr : ndarray (w, P, P)
        Mean over networks of the diagonal-output empirical NTK H_{iα,iβ} (Jacobians by
        hand-written backpropagation) and its standard error.
    offdiag, offdiag_stderr : ndarray (w, P, P)
        Mean of H_{1α,2β} (zero at every width by symmetry) — a control.
    n_nets : int
    """

    activation: str
    C_b: float
    C_W: float
    lambda_b: float
    lambda_W: float
    depth: int
    X: np.ndarray
    widths: np.ndarray
    theta: np.ndarray
    empirical: np.ndarray
    stderr: np.ndarray
    offdiag: np.ndarray
    offdiag_stderr: np.ndarray
    n_nets: int


def ntk_check(
    activation: str = "tanh",
    *,
    depth: int = 3,
    widths: tuple[int, ...] | None = None,
    n_nets: int | None = None,
    X: np.ndarray | None = None,
    rng: int = 0,
    quick: bool = False,
) -> NTKCheck:
    r"""The NTK forward equation against empirical NTKs of sampled networks at several widths.

    At the critical point of ``activation`` with the seed's learning rates λ_b = C_b,
    λ_W = C_W (for C_b = 0 a bias rate λ_b = 1 is used instead, so the bias term is tested).

    Notes
    -----
    .. math:: \Theta^{(\ell+1)}_{\alpha\beta} = \lambda_b + \lambda_W
              \langle\sigma_\alpha\sigma_\beta\rangle_{K^{(\ell)}}
              + C_W \langle\sigma'_\alpha\sigma'_\beta\rangle_{K^{(\ell)}}
              \Theta^{(\ell)}_{\alpha\beta};

    E[Ĥ] = Θ + O(1/n). Seed 000, "Forward equation for the NTK"; arXiv:2106.10165 eq. (8.12).
    """
    depth = positive_int(depth, "depth", minimum=2)
    widths = ((16, 64, 256) if quick else (16, 64, 256, 1024)) if widths is None else widths
    n_nets = positive_int(n_nets if n_nets is not None else (400 if quick else 2000), "n_nets")
    X = np.array([[1.0], [-0.5], [0.3]]) if X is None else np.asarray(X, dtype=float)
    cp = critical_point(activation)
    C_b, C_W = float(cp.C_b), float(cp.C_W)
    lam_b, lam_W = (C_b if C_b > 0 else 1.0), C_W
    theta = MLP(activation, [X.shape[1], *([widths[0]] * (depth - 1)), 2], C_W=C_W,
                C_b=C_b).ntk(X, lambda_W=lam_W, lambda_b=lam_b)
    gen = np.random.default_rng(rng)
    emp, err, off, off_err = [], [], [], []
    for n in widths:
        spec = MLPSpec.of(MLP(activation, [X.shape[1], *([positive_int(n, "widths")] *
                                                         (depth - 1)), 2], C_W=C_W, C_b=C_b))
        lb, lw = spec.learning_rates(lam_b, lam_W)
        per_chunk = max(1, min(n_nets, 2**22 // (n * n)))
        H = np.concatenate([
            empirical_ntk(spec, init_parameters(spec, min(per_chunk, n_nets - s), gen), X, lb, lw)
            for s in range(0, n_nets, per_chunk)
        ])  # (R, 2, P, 2, P)
        diag = 0.5 * (H[:, 0, :, 0, :] + H[:, 1, :, 1, :])
        cross = H[:, 0, :, 1, :]
        emp.append(diag.mean(axis=0))
        err.append(diag.std(axis=0, ddof=1) / np.sqrt(n_nets))
        off.append(cross.mean(axis=0))
        off_err.append(cross.std(axis=0, ddof=1) / np.sqrt(n_nets))
    return NTKCheck(
        activation=activation, C_b=C_b, C_W=C_W, lambda_b=lam_b, lambda_W=lam_W, depth=depth,
        X=X, widths=np.array(widths), theta=np.asarray(theta), empirical=np.array(emp),
        stderr=np.array(err), offdiag=np.array(off), offdiag_stderr=np.array(off_err),
        n_nets=n_nets,
    )


# --------------------------------------------------------------------------------------------
# 9. Inference: GP posterior, no representation learning, replica ensembles vs gradient flow
# --------------------------------------------------------------------------------------------
def _toy_data(n_train: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The toy regression problem: y = sin(2x) at x ∈ [−1.5, 1.5], 5 % errors."""
    x = np.linspace(-1.5, 1.5, n_train)[:, None]
    y = np.sin(2 * x[:, 0])
    return x, y, np.diag((0.05 + 0.05 * np.abs(y)) ** 2)


@dataclass(frozen=True)
class ReplicaInference:
    """Replica ensembles trained by gradient descent at growing width vs the n → ∞ prediction.

    Attributes
    ----------
    activation : str
    C_b, C_W, lambda_b, lambda_W : float
    depth : int
    widths : ndarray (w,) of int
    ensembles : tuple of fieldnn.inference.ReplicaEnsemble
        One per width (same data, replicas, learning rate and number of steps).
    flow_mean, flow_cov : ndarray (w, Q), (w, Q, Q)
        :func:`fieldnn.inference.gradient_flow_prediction` for the same training (η, steps, C_Y).
    mean_z_rms, cov_z_rms : ndarray (w,)
        Root-mean-square z-scores of the trained ensemble's mean and covariance against it
        (:meth:`ReplicaEnsemble.flow_zscores`); ≈ 1 when the ensemble agrees within sampling
        errors, growing with 1/n × √R otherwise.
    mean_rms_distance : ndarray (w,)
        rms over test points of |trained mean − flow mean|.
    gp_mean, gp_cov : ndarray (Q,), (Q, Q)
        Bayesian GP posterior with the data errors as noise (:func:`gp_posterior`).
    flow_inf_mean : ndarray (Q,)
        Gradient flow at t = ∞ without replica noise: the seed's m^∞ = Θ_BA Θ_AA⁻¹ y.
    loss_check : fieldnn.inference.LossRateCheck
        dL/dt = −ε·H·ε on trained finite networks.
    hidden : tuple of fieldnn.inference.HiddenKernelPosterior
        Posterior shift of the last hidden kernel at each width (no representation learning
        at infinite width: the shift falls like 1/n).
    """

    activation: str
    C_b: float
    C_W: float
    lambda_b: float
    lambda_W: float
    depth: int
    widths: np.ndarray
    ensembles: tuple[ReplicaEnsemble, ...]
    flow_mean: np.ndarray
    flow_cov: np.ndarray
    mean_z_rms: np.ndarray
    cov_z_rms: np.ndarray
    mean_rms_distance: np.ndarray
    gp_mean: np.ndarray
    gp_cov: np.ndarray
    flow_inf_mean: np.ndarray
    loss_check: LossRateCheck
    hidden: tuple[HiddenKernelPosterior, ...]


def replica_inference(
    activation: str = "erf",
    *,
    C_b: float = 0.1,
    C_W: float = 1.0,
    depth: int | None = None,
    widths: tuple[int, ...] | None = None,
    n_replicas: int | None = None,
    steps: int | None = None,
    n_train: int = 6,
    n_hidden_samples: int | None = None,
    rng: int = 0,
    quick: bool = False,
) -> ReplicaInference:
    r"""NNPDF-style replica ensembles: prior (initialisation) vs posterior (trained), compared
    with the infinite-width gradient-flow prediction at growing width.

    Parameters
    ----------
    activation : str
        Activation with a closed-form Gaussian pair expectation (the kernels at the 27 test
        and training inputs are then cheap).
    C_b, C_W : float
        Initialisation; learning rates λ_b = C_b, λ_W = C_W (the seed's choice). A nonzero C_b
        keeps the kernel of d_in = 1 inputs well conditioned.
    depth : int, optional
        Number of layers L (default 3; quick 2).
    widths : tuple of int, optional
        Hidden widths (default 16, 64, 256).
    n_replicas : int, optional
        Networks (= data replicas) per width (default 200 quick, 500 full).
    steps : int, optional
        Gradient-descent steps, learning rate η = 1/λ_max(Θ_AA) (default 200 quick, 400 full).
    n_train : int
        Training points of the toy problem y = sin(2x).
    n_hidden_samples : int, optional
        Networks for the hidden-kernel posterior (default 20 000 quick, 200 000 full).
    rng : int
    quick : bool

    Notes
    -----
    Infinite width, trained for time t = η·steps on replicas Y^(k) ~ N(Y, C_Y):
    mean T Y, covariance K_BB − T K_AB − K_BA Tᵀ + T (K_AA + C_Y) Tᵀ,
    T = Θ_BA Θ_AA⁻¹ (1 − (1 − ηΘ_AA)^steps) (see :func:`gradient_flow_prediction`); the seed's
    m^∞ = Θ_BA Θ_AA⁻¹ y at t = ∞. Seed 000 slides "NNPDF-like analysis", "Gradient training at
    infinite width"; arXiv:2106.10165 §10.2.
    """
    widths = (16, 64, 256) if widths is None else widths
    n_replicas = positive_int(
        n_replicas if n_replicas is not None else (200 if quick else 500), "n_replicas")
    steps = positive_int(steps if steps is not None else (200 if quick else 400), "steps")
    n_hidden = positive_int(
        n_hidden_samples if n_hidden_samples is not None else (20_000 if quick else 200_000),
        "n_hidden_samples")
    depth = positive_int(depth if depth is not None else (2 if quick else 3), "depth", minimum=2)
    C_b, C_W = float(C_b), float(C_W)
    lam_b, lam_W = C_b, C_W
    X, Y, C_Y = _toy_data(n_train)
    X_test = np.linspace(-2.0, 2.0, 21)[:, None]

    def mlp(n: int) -> MLP:
        return MLP(activation, [1, *([positive_int(n, "widths")] * (depth - 1)), 1],
                   C_W=C_W, C_b=C_b)

    theta_AA = mlp(widths[0]).ntk(X, lambda_W=lam_W, lambda_b=lam_b)
    eta = 1.0 / float(np.linalg.eigvalsh(theta_AA)[-1])
    ensembles, fm, fc, zm, zc, dist, hidden = [], [], [], [], [], [], []
    for i, n in enumerate(widths):
        ens = train_replicas(mlp(n), X, Y, C_Y, n_replicas, steps=steps, learning_rate=eta,
                             rng=rng + i, lambda_b=lam_b, lambda_W=lam_W, X_test=X_test)
        mean, cov = ens.flow_prediction(mlp(n))
        z_mean, z_cov = ens.flow_zscores(mlp(n))
        ensembles.append(ens)
        fm.append(np.asarray(mean)[:, 0])
        fc.append(np.asarray(cov))
        zm.append(float(np.sqrt(np.mean(z_mean**2))))
        zc.append(float(np.sqrt(np.mean(z_cov**2))))
        dist.append(float(np.sqrt(np.mean((ens.mean()[:, 0] - np.asarray(mean)[:, 0]) ** 2))))
        hidden.append(hidden_kernel_posterior(mlp(n), X[::2], Y[::2], X[1::2],
                                              n_samples=n_hidden, rng=rng + 100 + i))
    noise = float(np.mean(np.diag(C_Y)))
    gp_mean, gp_cov = gp_posterior(mlp(widths[-1]), X, Y, X_test, noise=noise)
    flow_inf, _ = gradient_flow_prediction(mlp(widths[-1]), X, Y, X_test, t=np.inf,
                                           lambda_b=lam_b, lambda_W=lam_W)
    check = loss_rate_check(mlp(widths[-1]), X, Y, steps=10, learning_rate=0.1 * eta,
                            n_nets=4, rng=rng, lambda_b=lam_b, lambda_W=lam_W)
    return ReplicaInference(
        activation=activation, C_b=C_b, C_W=C_W, lambda_b=lam_b, lambda_W=lam_W, depth=depth,
        widths=np.array(widths), ensembles=tuple(ensembles), flow_mean=np.array(fm),
        flow_cov=np.array(fc), mean_z_rms=np.array(zm), cov_z_rms=np.array(zc),
        mean_rms_distance=np.array(dist), gp_mean=np.asarray(gp_mean).reshape(-1),
        gp_cov=np.asarray(gp_cov), flow_inf_mean=np.asarray(flow_inf).reshape(-1),
        loss_check=check, hidden=tuple(hidden),
    )
