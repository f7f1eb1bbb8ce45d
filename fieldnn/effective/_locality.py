r"""Is the quartic coupling local? Operator fits of the 4-point function, and κ at O(1/N²).

**Locality fit.** At first order in the couplings an action
:math:`S = S_{\rm GP} + \int dy\,\lambda(y) f(y)^4 + \mu\iint dy\,dz\,W(y-z) f(y)^2 f(z)^2`
(probability ∝ e^{−S}, no 1/k!, docs/conventions.md §2) gives the connected 4-point function

.. math:: G^{(4)}_c(x_1..x_4) = -24\sum_k \lambda_k \int dy\, b_k(y)\prod_{i=1}^4 L(x_i, y)
          \;-\; 8\mu \sum_{3\ \mathrm{pairings}} \iint dy\,dz\, W(y-z)\,
          L(x_a,y)L(x_b,y)L(x_c,z)L(x_d,z),

for :math:`\lambda(y) = \sum_k \lambda_k b_k(y)` with :math:`b_k = y^k` (operators ``"lambda0"``,
``"lambda2"``, ``"lambda4"``) and the Gaussian
:math:`W(u) = e^{-u^2/2\ell^2}/\sqrt{2\pi\ell^2}` (``"nonlocal"``; W → δ gives −24μ∫L⁴, so μ is
a λ smeared over ℓ). The 8 = 4·2: four ways to put the externals of a pairing on (y, y, z, z)
slots times the two orders of the pair. L is the kernel on the legs: K (``legs="full"``) or
K − σ_b² (``"subtract_bias"``), docs/conventions.md §5. The couplings are linear in the
features, so they follow by exact linear least squares on the multisets of four *training*
inputs; the error is then measured on every multiset containing a held-out input. The
standard errors are the ordinary least-squares ones with the residual variance as the noise
(:math:`\hat\sigma^2 (F^TF)^{-1}`, :math:`\hat\sigma^2 = \mathrm{RSS}/(T-p)`): the data are
exact, so they measure how badly the operator set describes them, not sampling noise.

**κ at O(1/N²).** The connected 6-point function of a λf⁴ + κf⁶ action at order λ², κ is

.. math:: G^{(6)}_c = -720\kappa\int L^6 + 576\lambda^2\sum_{10}\iint
          L_{ay}L_{by}L_{cy}\,L(y,z)\,L_{dz}L_{ez}L_{fz},

the second term the tree of two λ vertices joined by a propagator (10 splits of six points into
two triples; weight 5760 λ² in total, checked against :class:`~fieldnn.Theory`). For a
single-layer net λ ∝ 1/N and κ ∝ 1/N², so both are O(1/N²): the seed and
:func:`~fieldnn.measure_kappa` leave the tree out, and κ absorbs it. With it,
:math:`\kappa_m^{\rm tree} = \kappa_m + 576\bar\lambda^2 T/D` per tuple (D the denominator of
measure_kappa, T the tree integral).

Integrals: d_in = 1 only, composite 24-point Gauss–Legendre on [−Λ, Λ] split at 0, at the
inputs and into panels of length ≤ ½ (analytic kernels: converged to rounding; tested against
:func:`~fieldnn.vertex_integral`).

References
----------
J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 3.3 and 4 (λ_m, δ′, the question
whether λ is a constant); the published code fits λ(y) by SGD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, pairwise
from typing import Any

import numpy as np

from .._validate import input_points, nonnegative_float
from ..errors import ArgumentError, UnknownNameError, UnsupportedError

__all__ = ["LocalityFit", "SixPointConsistency", "fit_locality", "six_point_consistency"]

OPERATORS = ("lambda0", "lambda2", "lambda4", "nonlocal")
_LEGS = ("full", "subtract_bias")
_GL_NODES = 24
_PANEL = 0.5
_PAIRINGS = (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2)))


def _multisets(P: int, k: int) -> np.ndarray:
    from ..experiments.couplings import multisets

    return multisets(P, k)


def line_rule(cutoff: float, breakpoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre nodes and weights on [−Λ, Λ], split at ``breakpoints`` and 0."""
    cuts = np.unique(np.concatenate([[-cutoff, 0.0, cutoff], breakpoints]))
    cuts = cuts[(cuts >= -cutoff) & (cuts <= cutoff)]
    x, w = np.polynomial.legendre.leggauss(_GL_NODES)
    nodes, weights = [], []
    for a, b in pairwise(cuts):
        m = max(1, int(np.ceil((b - a) / _PANEL)))
        edges = np.linspace(a, b, m + 1)
        for lo, hi in pairwise(edges):
            nodes.append(0.5 * (lo + hi) + 0.5 * (hi - lo) * x)
            weights.append(0.5 * (hi - lo) * w)
    return np.concatenate(nodes), np.concatenate(weights)


class _Legs:
    """L(x_a, y) on the quadrature nodes, and K(y, y) − s, K(y, z) − s, for a net at d_in = 1."""

    def __init__(self, net: Any, X: np.ndarray, cutoff: float, legs: str) -> None:
        if legs not in _LEGS:
            raise UnknownNameError("legs", legs, _LEGS)
        if X.shape[1] != 1:
            raise UnsupportedError("X", f"locality fits are for d_in = 1, got d_in = {X.shape[1]}")
        self.s = net.sigma_b2 if legs == "subtract_bias" else 0.0
        self.y, self.w = line_rule(cutoff, X[:, 0])
        Y = self.y[:, None]
        self.L = net.kernel(X, Y) - self.s  # (P, n)
        self.net, self.Y = net, Y

    def loop(self) -> np.ndarray:
        return np.diag(self.net.kernel(self.Y)) - self.s

    def line(self) -> np.ndarray:
        return self.net.kernel(self.Y) - self.s


def quartic_features(
    legs: _Legs, tuples: np.ndarray, operators: tuple[str, ...], nonlocal_range: float
) -> np.ndarray:
    """(T, len(operators)) design matrix: the coefficient of each coupling in G⁽⁴⁾_c."""
    cols = []
    L, y, w = legs.L, legs.y, legs.w
    for op in operators:
        if op == "nonlocal":
            u = y[:, None] - y[None, :]
            W = np.exp(-0.5 * u * u / nonlocal_range**2) / np.sqrt(2 * np.pi * nonlocal_range**2)
            M = w[:, None] * W * w[None, :]
            col = np.zeros(len(tuples))
            for (a, b), (c, d) in _PAIRINGS:
                A = L[tuples[:, a]] * L[tuples[:, b]]
                B = L[tuples[:, c]] * L[tuples[:, d]]
                col += np.sum((A @ M) * B, axis=1)
            cols.append(-8.0 * col)
        else:
            power = int(op[len("lambda") :])
            prod = np.prod(L[tuples], axis=1)  # (T, n)
            cols.append(-24.0 * prod @ (w * y**power))
    return np.stack(cols, axis=1)


@dataclass(frozen=True)
class LocalityFit:
    r"""Least-squares fit of G⁽⁴⁾_c with a set of quartic operators (:func:`fit_locality`).

    Attributes
    ----------
    operators : tuple of str
    couplings, stderr : dict str -> float
        Fitted couplings and their OLS standard errors (residual variance as noise).
    train_error, test_error : float
        Relative RMS error ``sqrt(Σ r²/Σ G4c²)`` on training / held-out tuples.
    lambda_bar, lambda_bar_spread : float
        Mean and relative spread of :func:`~fieldnn.measure_lambda` on the training inputs.
    lambda_bar_train_error, lambda_bar_test_error : float
        The same errors for the constant λ̄ (prediction −24 λ̄ ∫L⁴).
    n_train, n_test : int
        Numbers of tuples.
    legs : str
    cutoff, nonlocal_range : float
    conventions : dict
    """

    operators: tuple[str, ...]
    couplings: dict
    stderr: dict
    train_error: float
    test_error: float
    lambda_bar: float
    lambda_bar_spread: float
    lambda_bar_train_error: float
    lambda_bar_test_error: float
    n_train: int
    n_test: int
    legs: str
    cutoff: float
    nonlocal_range: float
    conventions: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON record."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["operators"] = list(self.operators)
        return out


def _relative_rms(residual: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.sum(residual**2) / np.sum(target**2)))


def _check_net(net: Any, what: str) -> None:
    from ..ensembles.architectures import SingleLayerNet

    if not isinstance(net, SingleLayerNet):
        raise UnsupportedError("net", f"{what} needs a SingleLayerNet, got {net!r}")
    if net.d_out != 1:
        raise UnsupportedError("net", f"{what} is for d_out = 1, got {net.d_out}")


def fit_locality(
    net: Any,
    X_train: Any,
    X_test: Any,
    *,
    cutoff: float,
    operators: tuple[str, ...] = ("lambda0", "lambda2"),
    legs: str = "full",
    nonlocal_range: float = 0.5,
) -> LocalityFit:
    r"""Fit the exact 4-point function of a single-layer net with quartic operators.

    Parameters
    ----------
    net : SingleLayerNet
        d_in = d_out = 1; G⁽⁴⁾_c is its exact connected 4-point function.
    X_train, X_test : array_like (P, 1), (Q, 1)
        Training inputs (couplings fitted on all their multisets of four) and held-out inputs
        (tested on every multiset of four of all inputs containing one of them).
    cutoff : float
        Λ: the vertices are integrated over [−Λ, Λ].
    operators : tuple of str
        From ``"lambda0"`` (constant λ), ``"lambda2"`` (λ₂y²), ``"lambda4"`` (λ₄y⁴),
        ``"nonlocal"`` (μ ∬ W(y−z) f(y)² f(z)², Gaussian W of width ``nonlocal_range``).
    legs : {"full", "subtract_bias"}
        Kernel on the legs (docs/conventions.md §5).
    nonlocal_range : float
        ℓ > 0 of the non-local kernel W.

    Returns
    -------
    LocalityFit

    Notes
    -----
    Model and uncertainties: :mod:`fieldnn.effective._locality`. The constant λ̄ of the
    comparison is :func:`~fieldnn.measure_lambda`'s mean over the training tuples (mean of
    per-tuple ratios, not a least-squares fit).

    References
    ----------
    Halverson, Maiti, Stoner, arXiv:2008.08601, Sec. 4 ("is λ a constant?").

    Examples
    --------
    >>> import fieldnn as fnn
    >>> net = fnn.SingleLayerNet("gauss", width=10)
    >>> fit = fit_locality(net, [[-0.5], [0.0], [0.5]], [[0.25]], cutoff=2.0)
    >>> fit.test_error < fit.lambda_bar_test_error
    True
    """
    from ..experiments.couplings import measure_lambda

    _check_net(net, "fit_locality")
    Xtr = input_points(X_train, "X_train", d_in=net.d_in)
    Xte = input_points(X_test, "X_test", d_in=net.d_in)
    lam = nonnegative_float(cutoff, "cutoff", strictly_positive=True)
    ell = nonnegative_float(nonlocal_range, "nonlocal_range", strictly_positive=True)
    ops = tuple(operators) if not isinstance(operators, str) else (operators,)
    for op in ops:
        if op not in OPERATORS:
            raise UnknownNameError("operators", op, OPERATORS)
    if len(set(ops)) != len(ops) or not ops:
        raise ArgumentError("operators", f"must be distinct and non-empty, got {ops}")
    X = np.vstack([Xtr, Xte])
    P = len(Xtr)
    legs_ = _Legs(net, X, lam, legs)
    tuples = _multisets(len(X), 4)
    train = np.all(tuples < P, axis=1)
    if train.sum() <= len(ops):
        raise ArgumentError("X_train", f"{train.sum()} training tuples for {len(ops)} couplings")
    G4c = np.asarray(net.exact_connected(X, 4))[tuple(tuples.T)]
    F = quartic_features(legs_, tuples, ops, ell)
    coef, *_ = np.linalg.lstsq(F[train], G4c[train], rcond=None)
    resid = G4c - F @ coef
    dof = int(train.sum()) - len(ops)
    sigma2 = float(np.sum(resid[train] ** 2)) / dof
    cov = sigma2 * np.linalg.pinv(F[train].T @ F[train])
    lam_meas = measure_lambda(net, Xtr, cutoff=lam, legs=legs)
    lam_feature = quartic_features(legs_, tuples, ("lambda0",), ell)[:, 0]
    lam_resid = G4c - lam_meas.mean * lam_feature
    return LocalityFit(
        operators=ops,
        couplings={op: float(c) for op, c in zip(ops, coef, strict=True)},
        stderr={op: float(np.sqrt(max(cov[i, i], 0.0))) for i, op in enumerate(ops)},
        train_error=_relative_rms(resid[train], G4c[train]),
        test_error=_relative_rms(resid[~train], G4c[~train]),
        lambda_bar=float(lam_meas.mean),
        lambda_bar_spread=float(lam_meas.relative_spread),
        lambda_bar_train_error=_relative_rms(lam_resid[train], G4c[train]),
        lambda_bar_test_error=_relative_rms(lam_resid[~train], G4c[~train]),
        n_train=int(train.sum()),
        n_test=int((~train).sum()),
        legs=legs,
        cutoff=lam,
        nonlocal_range=ell,
        conventions={
            "action": "S_GP + ∫ λ(y) f⁴ + μ ∬ W(y−z) f(y)² f(z)², no 1/k!",
            "G4c": "−24 Σ_k λ_k ∫ y^k L⁴ − 8 μ Σ_3 ∬ W L L L L",
            "legs": "K" if legs == "full" else "K − σ_b²",
            "stderr": "OLS with the residual variance as noise (model misfit)",
        },
    )


def tree_integrals(legs: _Legs, tuples: np.ndarray) -> np.ndarray:
    """T per 6-tuple: Σ over the 10 splits into triples of ∬ L_aL_bL_c(y) L(y,z) L_dL_eL_f(z)."""
    M = legs.w[:, None] * legs.line() * legs.w[None, :]
    L = legs.L
    out = np.zeros(len(tuples))
    for first in combinations(range(1, 6), 2):
        left = (0, *first)
        right = tuple(i for i in range(6) if i not in left)
        A = np.prod(L[tuples[:, left]], axis=1)
        B = np.prod(L[tuples[:, right]], axis=1)
        out += np.sum((A @ M) * B, axis=1)
    return out


@dataclass(frozen=True)
class SixPointConsistency:
    r"""κ with and without the O(λ²) tree, and the widths above which each action describes
    the 6-point function to 1 % (:func:`six_point_consistency`).

    Attributes
    ----------
    lambda_bar, kappa_bar, kappa_bar_tree : float
        λ̄ N, κ̄ N² (width-independent: the couplings at N = 1) without / with the tree.
    kappa_spread, kappa_spread_tree : float
        Relative spread std/``|mean|`` of κ_m over the 6-tuples.
    width_1pct : dict str -> float
        N_1% (max over tuples of ``|pred/G⁽⁶⁾ − 1|`` = 0.01) for ``"lambda"`` (the seed's check),
        ``"lambda+kappa"`` (κ̄ absorbing the tree) and ``"lambda+kappa+tree"``.
    width_1pct_mean : dict str -> float
        The same for the mean over tuples.
    tree_fraction : float
        max over tuples of ``|576 λ̄² T / (κ̄ D)|``: the tree over the κ term (both ∝ 1/N²).
    legs : str
    cutoff : float
    n_tuples : int
    """

    lambda_bar: float
    kappa_bar: float
    kappa_bar_tree: float
    kappa_spread: float
    kappa_spread_tree: float
    width_1pct: dict
    width_1pct_mean: dict
    tree_fraction: float
    legs: str
    cutoff: float
    n_tuples: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON record."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _width_at(stat: Any, lo: float = 1.0, hi: float = 1e12) -> float:
    """Smallest N in [lo, hi] above which stat(N) <= 0.01 on a log grid, refined by bisection."""
    grid = np.geomspace(lo, hi, 481)
    values = np.array([stat(N) for N in grid]) - 0.01
    above = np.nonzero(values > 0)[0]
    if len(above) == 0:
        return float(lo)
    i = above[-1]
    if i == len(grid) - 1:
        return float("inf")
    a, b = np.log(grid[i]), np.log(grid[i + 1])
    for _ in range(60):
        m = 0.5 * (a + b)
        a, b = (m, b) if stat(np.exp(m)) - 0.01 > 0 else (a, m)
    return float(np.exp(b))


def six_point_consistency(
    net: Any, X: Any, *, cutoff: float, legs: str = "full"
) -> SixPointConsistency:
    r"""κ with the O(λ²) tree, and N_1% of the 6-point function with and without it.

    Parameters
    ----------
    net : SingleLayerNet
        d_in = d_out = 1 (the width is irrelevant: the couplings are reported times N, N²).
    X : array_like (P, 1)
        Inputs; every multiset of six of them is a tuple.
    cutoff : float
        Λ.
    legs : {"full", "subtract_bias"}

    Returns
    -------
    SixPointConsistency

    Notes
    -----
    Exactly, :math:`G^{(6)}(N) = G^{(6)}_{\rm GP} + a/N + b/N^2` per tuple; λ̄ and κ_m come
    from :func:`~fieldnn.measure_lambda` and :func:`~fieldnn.measure_kappa` at N = 1 (λ̄ ∝ 1/N,
    κ ∝ 1/N²), and

    .. math:: \mathrm{pred}(N) = G^{(6)}_{\rm GP} - \frac{24\bar\lambda_1}{N}\sum_{15}K
              \!\int\! L^4 - \frac{\bar\kappa_1 D}{N^2}
              \;\Big[+\frac{576\bar\lambda_1^2}{N^2}T\Big],

    with :math:`\bar\kappa_1` the mean of κ_m without / with the tree (module docstring).
    N_1% solves max_t ``|pred/G⁽⁶⁾ − 1|`` = 0.01 in log N, as
    :func:`fieldnn.experiments.nnqft.six_point_check` does.

    References
    ----------
    Halverson, Maiti, Stoner, arXiv:2008.08601, Sec. 3.3 (the 6-point check, without the tree).
    """
    from ..ensembles.architectures import SingleLayerNet
    from ..experiments.couplings import measure_kappa, measure_lambda

    _check_net(net, "six_point_consistency")
    Xa = input_points(X, "X", d_in=net.d_in)
    lam = nonnegative_float(cutoff, "cutoff", strictly_positive=True)
    legs_ = _Legs(net, Xa, lam, legs)
    net1 = SingleLayerNet(
        net.activation, width=1, d_in=net.d_in, sigma_w2=net.sigma_w2, sigma_b2=net.sigma_b2
    )
    g4 = np.asarray(net1.exact_full(Xa, 4))
    g6 = np.asarray(net1.exact_full(Xa, 6))
    lam1 = measure_lambda(g4, Xa, cutoff=lam, legs=legs, kernel=net1)
    m1 = measure_kappa(g6, Xa, cutoff=lam, legs=legs, lambda_bar=lam1.mean, kernel=net1)
    t6 = m1.tuples
    c6 = np.asarray(net1.exact_connected(Xa, 6))[tuple(t6.T)]
    g6t = g6[tuple(t6.T)]
    gp6 = g6t * m1.ratio_gp
    lam_term = m1.ratio * g6t - gp6  # −24 λ̄₁ Σ15 K ∫L⁴
    a = g6t - gp6 - c6
    T = tree_integrals(legs_, t6)
    D = m1.denominators
    tree = 576.0 * lam1.mean**2 * T
    kap = m1.values
    kap_tree = -(m1.delta_prime - tree) / D
    models = {
        "lambda": lambda N: gp6 + lam_term / N,
        "lambda+kappa": lambda N: gp6 + lam_term / N - np.mean(kap) * D / N**2,
        "lambda+kappa+tree": lambda N: gp6 + lam_term / N + (tree - np.mean(kap_tree) * D) / N**2,
    }

    def g6_at(N: float) -> np.ndarray:
        return gp6 + a / N + c6 / N**2

    def spread(v: np.ndarray) -> float:
        return float(np.std(v) / abs(np.mean(v)))

    w_max = {
        k: _width_at(lambda N, m=m: float(np.max(np.abs(m(N) / g6_at(N) - 1.0))))
        for k, m in models.items()
    }
    w_mean = {
        k: _width_at(lambda N, m=m: float(np.mean(np.abs(m(N) / g6_at(N) - 1.0))))
        for k, m in models.items()
    }
    return SixPointConsistency(
        lambda_bar=float(lam1.mean),
        kappa_bar=float(np.mean(kap)),
        kappa_bar_tree=float(np.mean(kap_tree)),
        kappa_spread=spread(kap),
        kappa_spread_tree=spread(kap_tree),
        width_1pct=w_max,
        width_1pct_mean=w_mean,
        tree_fraction=float(np.max(np.abs(tree / (np.mean(kap_tree) * D)))),
        legs=legs,
        cutoff=lam,
        n_tuples=len(t6),
    )
