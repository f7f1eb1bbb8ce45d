"""Four-point vertex and NLO two-point experiments of the deep-EFT reproduction (private;
public names in :mod:`fieldnn.experiments.eft`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import finite_float, positive_int
from ..ensembles import MLP, estimate_correlators
from ..errors import UnsupportedError
from ..kernels import multi_input_cumulants
from ..kernels.activations import get_activation
from ..kernels.criticality import (
    critical_point,
)
from ..kernels.deep import (
    exact_single_input_moment,
    four_point_vertex,
    kernel_recursion,
    nlo_kernel_correction,
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
    kernel_nnlo : ndarray (D, P, P)
        K + K^{1}/n + K^{2}/n² (:func:`fieldnn.kernels.multi_input_cumulants`), to O(1/n²).
        This and the other ``*_nnlo`` fields are NaN where that function does not reach X (it
        refuses more than four inputs, or kernels with correlations above 0.99, before any
        sampling).
    ratio : ndarray (D,)
        Leading-order V^(L)/(n K²) at X[0], from :func:`fieldnn.kernels.deep.four_point_vertex`.
    ratio_nnlo : ndarray (D,)
        (V + V^{1}/n)/(n K²) at X[0]: E[z⁴]_c/(3K²) to O(1/n²).
    sampled, stderr : ndarray (D,)
        E[z⁴]_c /(3 K²) from the sampled ensemble and its standard error.
    tensor : ndarray (D, P, P, P, P)
        Leading-order connected 4-pt tensor (V_{ab,cd} + V_{ac,bd} + V_{ad,bc})/n.
    tensor_nnlo : ndarray (D, P, P, P, P)
        The same with V → V + V^{1}/n: the connected 4-pt tensor to O(1/n²).
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
    kernel_nnlo: np.ndarray
    ratio: np.ndarray
    ratio_nnlo: np.ndarray
    sampled: np.ndarray
    stderr: np.ndarray
    tensor: np.ndarray
    tensor_nnlo: np.ndarray
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
        Inputs (default x and −x/2 with x = 1, or, for the nonzero-K* class, the x with
        K^(1) = K*: the single-input kernel then stays on the critical fixed point).
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
    visible at large L/n; the ``*_nnlo`` fields include them (V → V + V^{1}/n and
    K → K + K^{1}/n + K^{2}/n², :func:`fieldnn.kernels.multi_input_cumulants`, eq. (4.106)
    at one input and ``docs/eft.md`` section 6a at several).
    """
    positive_int(width, "width")
    if depths is None:
        depths = (2, 4, 6, 8, 10) if quick else tuple(range(2, 11))
    depths = tuple(positive_int(L, "depths", minimum=2) for L in depths)
    n_nets = positive_int(
        n_nets if n_nets is not None else (20_000 if quick else 200_000), "n_nets"
    )
    cp = critical_point(activation)
    C_b, C_W = float(cp.C_b), float(cp.C_W)
    if X is None:
        # nonzero-K* class: start on the critical fixed point, K^(1) = C_b + C_W x² = K*
        x = np.sqrt((cp.K_star - C_b) / C_W) if np.isfinite(cp.K_star) and cp.K_star > 0 else 1.0
        X = np.array([[x], [-0.5 * x]])
    X = np.asarray(X, dtype=float)
    homogeneous = get_activation(activation).piecewise_linear_slopes is not None and C_b == 0
    # every depth's O(1/n²) cumulants from the deepest net: layer ℓ depends on the widths
    # before it only, equal for all depths
    deepest = [X.shape[1], *([width] * (max(depths) - 1)), 1]
    try:
        cum = multi_input_cumulants(activation, X, C_W=C_W, C_b=C_b, widths=deepest)
    except UnsupportedError:
        cum = None
    K, ratio, sampled, stderr, tensor, t_s, t_e, exact = ([] for _ in range(8))
    kern, k_s, k_e, k_nlo, k_nnlo, ratio2, tensor2 = ([] for _ in range(7))
    for L in depths:
        widths = [X.shape[1], *([width] * (L - 1)), 1]
        Kl = kernel_recursion(activation, X, C_W=C_W, C_b=C_b, depth=L)[-1]
        V = np.asarray(four_point_vertex(activation, X, C_W=C_W, C_b=C_b, widths=widths))
        G4 = _connected_from_vertex(V, width)
        if cum is None:
            V2 = np.full_like(V, np.nan)
            K2 = np.full_like(Kl, np.nan)
        else:
            V2 = cum.tensor(cum.V[L - 1] + cum.V1[L - 1] / width)
            K2 = cum.matrix(cum.K[L - 1] + cum.K1[L - 1] / width + cum.K2[L - 1] / width**2)
        net = MLP(activation, widths, C_W=C_W, C_b=C_b)
        est = estimate_correlators(
            net, X, n_nets, orders=(2, 4), rng=rng + L, chunk_size=_chunk(n_nets)
        )
        c4 = np.asarray(est.connected(4))
        e4 = np.asarray(est.stderr(4))
        k0 = float(Kl[0, 0])
        K.append(k0)
        kern.append(Kl)
        k_nlo.append(
            Kl + nlo_kernel_correction(activation, X, C_W=C_W, C_b=C_b, widths=widths) / width
        )
        k_s.append(np.asarray(est.full(2)))
        k_e.append(np.asarray(est.stderr(2, connected=False)))
        k_nnlo.append(K2)
        ratio.append(float(V[0, 0, 0, 0]) / (width * k0**2))
        ratio2.append(float(V2[0, 0, 0, 0]) / (width * k0**2))
        tensor2.append(_connected_from_vertex(V2, width))
        sampled.append(float(c4[0, 0, 0, 0]) / (3 * k0**2))
        stderr.append(float(e4[0, 0, 0, 0]) / (3 * k0**2))
        tensor.append(G4)
        t_s.append(c4)
        t_e.append(e4)
        if homogeneous:
            m2, m4 = (
                exact_single_input_moment(X[0], widths, C_W=C_W, order=k, activation=activation)
                for k in (2, 4)
            )
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
        kernel_nnlo=np.array(k_nnlo),
        ratio=np.array(ratio),
        ratio_nnlo=np.array(ratio2),
        sampled=np.array(sampled),
        stderr=np.array(stderr),
        tensor=np.array(tensor),
        tensor_nnlo=np.array(tensor2),
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
    widths = tuple(positive_int(n, "widths") for n in widths)  # all checked before any work
    n_nets = positive_int(
        n_nets if n_nets is not None else (200_000 if quick else 1_000_000), "n_nets"
    )
    X = np.array([[finite_float(x, "x")]])
    K = float(kernel_recursion(activation, X, C_W=C_W, C_b=C_b, depth=depth)[-1][0, 0])
    # only the ratios of hidden widths enter K^{1}: equal widths give one coefficient
    G1 = float(
        nlo_kernel_correction(activation, X, C_W=C_W, C_b=C_b, widths=[1, *([1] * (depth - 1)), 1])[
            0, 0
        ]
    )
    sampled, stderr = [], []
    for i, n in enumerate(widths):
        net = MLP(
            activation, [1, *([positive_int(n, "widths")] * (depth - 1)), 1], C_W=C_W, C_b=C_b
        )
        est = estimate_correlators(
            net, X, n_nets, orders=(2,), rng=rng + i, chunk_size=_chunk(n_nets)
        )
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
