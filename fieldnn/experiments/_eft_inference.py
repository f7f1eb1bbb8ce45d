"""Matching, finite-width conditioning, NTK and inference experiments of the deep-EFT
reproduction (private; public names in :mod:`fieldnn.experiments.eft`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from .._validate import input_points, positive_int
from ..ensembles import MLP, sample_outputs
from ..errors import ArgumentError
from ..inference import (
    ConditionalSecondMoment,
    HiddenKernelPosterior,
    HiddenKernelShift,
    LossRateCheck,
    ReplicaEnsemble,
    conditional_second_moment_sampled,
    empirical_ntk,
    gp_posterior,
    gradient_flow_prediction,
    hidden_kernel_posterior,
    hidden_kernel_shift,
    loss_rate_check,
    train_replicas,
)
from ..kernels.criticality import (
    critical_point,
)
from ..kernels.deep import (
    four_point_vertex,
    kernel_recursion,
)
from ..symbolic.matching import conditional_second_moment, match_quartic


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
    n_bins = positive_int(n_bins, "n_bins")
    if n_bins > n_nets:
        raise ArgumentError("n_bins", f"must be <= n_nets = {n_nets}, got {n_bins}")
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
    widths = tuple(positive_int(n, "widths") for n in widths)  # all checked before any work
    n_nets = positive_int(n_nets if n_nets is not None else (400 if quick else 2000), "n_nets")
    X = np.array([[1.0], [-0.5], [0.3]]) if X is None else input_points(X, "X")
    cp = critical_point(activation)
    C_b, C_W = float(cp.C_b), float(cp.C_W)
    lam_b, lam_W = (C_b if C_b > 0 else 1.0), C_W
    theta = MLP(activation, [X.shape[1], *([widths[0]] * (depth - 1)), 2], C_W=C_W, C_b=C_b).ntk(
        X, lambda_W=lam_W, lambda_b=lam_b
    )
    gen = np.random.default_rng(rng)
    emp, err, off, off_err = [], [], [], []
    for n in widths:
        mlp = MLP(
            activation,
            [X.shape[1], *([positive_int(n, "widths")] * (depth - 1)), 2],
            C_W=C_W,
            C_b=C_b,
        )
        H = empirical_ntk(
            mlp,
            X,
            n_nets,
            lambda_W=lam_W,
            lambda_b=lam_b,
            rng=gen,
            chunk_size=max(1, min(n_nets, 2**22 // (n * n))),
        )  # (R, P, P, 2, 2)
        diag = 0.5 * (H[..., 0, 0] + H[..., 1, 1])
        cross = H[..., 0, 1]
        emp.append(diag.mean(axis=0))
        err.append(diag.std(axis=0, ddof=1) / np.sqrt(n_nets))
        off.append(cross.mean(axis=0))
        off_err.append(cross.std(axis=0, ddof=1) / np.sqrt(n_nets))
    return NTKCheck(
        activation=activation,
        C_b=C_b,
        C_W=C_W,
        lambda_b=lam_b,
        lambda_W=lam_W,
        depth=depth,
        X=X,
        widths=np.array(widths),
        theta=np.asarray(theta),
        empirical=np.array(emp),
        stderr=np.array(err),
        offdiag=np.array(off),
        offdiag_stderr=np.array(off_err),
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
        rms over test points of ``|trained mean − flow mean|``.
    gp_mean, gp_cov : ndarray (Q,), (Q, Q)
        Bayesian GP posterior with the data errors as noise (:func:`gp_posterior`).
    flow_inf_mean : ndarray (Q,)
        Gradient flow at t = ∞ without replica noise: the seed's m^∞ = Θ_BA Θ_AA⁻¹ y.
    loss_check : fieldnn.inference.LossRateCheck
        dL/dt = −ε·H·ε on trained finite networks.
    hidden : tuple of fieldnn.inference.HiddenKernelPosterior
        Posterior shift of the last hidden kernel at each width (no representation learning
        at infinite width: the shift falls like 1/n).
    hidden_predicted : tuple of fieldnn.inference.HiddenKernelShift
        Its O(1/n) prediction for the same data, on [training inputs; probe inputs].
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
    hidden_predicted: tuple[HiddenKernelShift, ...] = ()


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
    widths = (16, 64, 256) if widths is None else tuple(widths)
    widths = tuple(positive_int(n, "widths") for n in widths)  # all checked before any work
    n_replicas = positive_int(
        n_replicas if n_replicas is not None else (200 if quick else 500), "n_replicas"
    )
    steps = positive_int(steps if steps is not None else (200 if quick else 400), "steps")
    n_hidden = positive_int(
        n_hidden_samples if n_hidden_samples is not None else (20_000 if quick else 200_000),
        "n_hidden_samples",
    )
    depth = positive_int(depth if depth is not None else (2 if quick else 3), "depth", minimum=2)
    C_b, C_W = float(C_b), float(C_W)
    lam_b, lam_W = C_b, C_W
    X, Y, C_Y = _toy_data(n_train)
    X_test = np.linspace(-2.0, 2.0, 21)[:, None]

    def mlp(n: int) -> MLP:
        return MLP(
            activation, [1, *([positive_int(n, "widths")] * (depth - 1)), 1], C_W=C_W, C_b=C_b
        )

    theta_AA = mlp(widths[0]).ntk(X, lambda_W=lam_W, lambda_b=lam_b)
    eta = 1.0 / float(np.linalg.eigvalsh(theta_AA)[-1])
    ensembles, fm, fc, zm, zc, dist, hidden = [], [], [], [], [], [], []
    predicted = []
    for i, n in enumerate(widths):
        ens = train_replicas(
            mlp(n),
            X,
            Y,
            C_Y,
            n_replicas,
            steps=steps,
            learning_rate=eta,
            rng=rng + i,
            lambda_b=lam_b,
            lambda_W=lam_W,
            X_test=X_test,
        )
        mean, cov = ens.flow_prediction(mlp(n))
        z_mean, z_cov = ens.flow_zscores(mlp(n))
        ensembles.append(ens)
        fm.append(np.asarray(mean)[:, 0])
        fc.append(np.asarray(cov))
        zm.append(float(np.sqrt(np.mean(z_mean**2))))
        zc.append(float(np.sqrt(np.mean(z_cov**2))))
        dist.append(float(np.sqrt(np.mean((ens.mean()[:, 0] - np.asarray(mean)[:, 0]) ** 2))))
        hidden.append(
            hidden_kernel_posterior(
                mlp(n), X[::2], Y[::2], X[1::2], n_samples=n_hidden, rng=rng + 100 + i
            )
        )
        predicted.append(hidden_kernel_shift(mlp(n), X[::2], Y[::2], X[1::2]))
    noise = float(np.mean(np.diag(C_Y)))
    gp_mean, gp_cov = gp_posterior(mlp(widths[-1]), X, Y, X_test, noise=noise)
    flow_inf, _ = gradient_flow_prediction(
        mlp(widths[-1]), X, Y, X_test, t=np.inf, lambda_b=lam_b, lambda_W=lam_W
    )
    check = loss_rate_check(
        mlp(widths[-1]),
        X,
        Y,
        steps=10,
        learning_rate=0.1 * eta,
        n_nets=4,
        rng=rng,
        lambda_b=lam_b,
        lambda_W=lam_W,
    )
    return ReplicaInference(
        activation=activation,
        C_b=C_b,
        C_W=C_W,
        lambda_b=lam_b,
        lambda_W=lam_W,
        depth=depth,
        widths=np.array(widths),
        ensembles=tuple(ensembles),
        flow_mean=np.array(fm),
        flow_cov=np.array(fc),
        mean_z_rms=np.array(zm),
        cov_z_rms=np.array(zc),
        mean_rms_distance=np.array(dist),
        gp_mean=np.asarray(gp_mean).reshape(-1),
        gp_cov=np.asarray(gp_cov),
        flow_inf_mean=np.asarray(flow_inf).reshape(-1),
        loss_check=check,
        hidden=tuple(hidden),
        hidden_predicted=tuple(predicted),
    )
