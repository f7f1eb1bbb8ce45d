"""The NN-QFT correlator experiments: falloff with width, the λ survey and the six-point check
(private; public through :mod:`fieldnn.experiments.nnqft`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import positive_int
from ._nnqft_common import (
    DEFAULT_CUTOFF,
    DEFAULT_WIDTH,
    _check,
    _estimate,
    _exact_parts,
    _iter,
    _partial_on_failure,
    _Result,
    _seeds,
    _setup,
    loglog_slope,
)
from ._nnqft_setups import NETS, SEED_WIDTHS, published_setup
from .couplings import (
    measure_kappa,
    measure_lambda,
    multisets,
)

# ----------------------------------------------------------------------------------- falloff


@dataclass
class FalloffResult(_Result):
    """m_n = mean over input multisets of ``|ΔG⁽ⁿ⁾/G⁽ⁿ⁾_GP|`` against width (:func:`falloff`)."""

    activation: str
    d_in: int
    widths: np.ndarray
    orders: tuple
    exact: dict  # n -> (W,)
    exact_connected6: np.ndarray  # (W,) mean |G6_c / G6_GP|
    sampled_widths: np.ndarray
    sampled: dict  # n -> (S,) pooled m_n
    stderr: dict  # n -> (S,) standard error of the pooled mean
    background: dict  # n -> (S,) seed's background: mean over tuples of the spread over expts
    sampled_connected6: np.ndarray
    stderr_connected6: np.ndarray
    slopes_exact: dict  # n -> slope over widths >= fit_min_width
    slope_connected6_exact: float
    slopes_sampled: dict  # n -> slope over sampled points above 3× background
    n_experiments: int
    n_nets: int
    fit_min_width: int
    # n -> (S,) bool: the tail diagnostic accepts every entry of every experiment's G⁽ⁿ⁾
    sampled_reliable: dict = field(default_factory=dict)


def falloff(
    activation: str = "erf",
    *,
    d_in: int = 1,
    X: Any = None,
    sigma_w2: float | None = None,
    sigma_b2: float | None = None,
    widths: Sequence[int] | None = None,
    sampled_widths: Sequence[int] | None = None,
    n_experiments: int | None = None,
    n_nets: int | None = None,
    fit_min_width: int = 10,
    quick: bool = False,
    rng: int = 0,
    progress: bool = False,
) -> FalloffResult:
    """Falloff of the non-Gaussian deviations with width (seed slide "Experimental falloff").

    Parameters
    ----------
    activation : str
        "erf", "gauss", "relu" (published inputs) or any registry activation with ``X``.
    d_in, X, sigma_w2, sigma_b2
        Inputs (default: the published ones) and hyperparameters.
    widths : sequence of int
        Widths of the exact curves (default the seed's 2 … 1000).
    sampled_widths : sequence of int
        Widths sampled (default: all; quick: 2, 10, 100).
    n_experiments, n_nets : int
        k experiments of ``n_nets`` networks each (default 10 × 2·10⁵; quick 3 × 5·10⁴).
    fit_min_width : int
        Slopes are fitted over widths ≥ this.

    Returns
    -------
    FalloffResult

    Notes
    -----
    Per multiset t of n inputs, r_t = (G⁽ⁿ⁾_t − G⁽ⁿ⁾_GP,t)/G⁽ⁿ⁾_GP,t and m_n = mean_t ``|r_t|``.
    Exact: the connected correlators of :meth:`SingleLayerNet.exact_connected` at N = 1 scaled
    exactly to width N (G⁽⁴⁾_c ∝ 1/N, G⁽⁶⁾_c ∝ 1/N²; the tests compare with ``exact_full`` at
    several widths), so m_2 = 0 and m_4 ∝ 1/N exactly.
    Sampled: r_{e,t} per experiment e; the pooled value uses mean_e r_{e,t}; its standard error is
    mean_t std_e(r_{e,t})/√k, the seed's background mean_t std_e(r_{e,t}) (not divided by √k:
    the seed plots the spread of one experiment, which does not shrink with k).
    The connected 6-point function G⁽⁶⁾_c = N·κ₆(unit)·(σ_W²/N)³ falls off as 1/N².
    """
    _check(
        activations=activation,
        widths=tuple(widths or ()) + tuple(sampled_widths or ()),
        counts={"n_experiments": n_experiments, "n_nets": n_nets, "fit_min_width": fit_min_width},
    )
    st = _setup(activation, d_in, X, sigma_w2, sigma_b2)
    widths = tuple(SEED_WIDTHS if widths is None else widths)
    if sampled_widths is None:
        sampled_widths = (2, 10, 100) if quick else widths
    k = positive_int(n_experiments if n_experiments is not None else (3 if quick else 10), "k")
    n_nets = positive_int(n_nets if n_nets is not None else (50_000 if quick else 200_000), "n")
    orders = (2, 4, 6)
    parts = _exact_parts(st)
    tuples = {2: multisets(len(st.X), 2), 4: parts.tuples4, 6: parts.tuples6}
    gp = {2: parts.K[tuple(tuples[2].T)], 4: parts.gp4, 6: parts.gp6}

    def ratio(G: np.ndarray, n: int) -> np.ndarray:
        return (G[tuple(tuples[n].T)] - gp[n]) / gp[n]

    W = np.asarray(widths, dtype=np.float64)
    exact = {
        2: np.zeros(len(widths)),  # G⁽²⁾ = K exactly at every width
        4: np.array([np.mean(np.abs(parts.c4 / N / parts.gp4)) for N in W]),
        6: np.array([np.mean(np.abs((parts.full6(N) - parts.gp6) / parts.gp6)) for N in W]),
    }
    exact_c6 = np.array([np.mean(np.abs(parts.c6 / N**2 / parts.gp6)) for N in W])
    sampled = {n: np.zeros(len(sampled_widths)) for n in orders}
    stderr = {n: np.zeros(len(sampled_widths)) for n in orders}
    background = {n: np.zeros(len(sampled_widths)) for n in orders}
    samp_c6 = np.zeros(len(sampled_widths))
    se_c6 = np.zeros(len(sampled_widths))
    seeds = _seeds(rng, k * len(sampled_widths))
    jobs = [(w, e) for w in range(len(sampled_widths)) for e in range(k)]
    per = {(w, e): None for w, e in jobs}
    reliable = {n: np.ones(len(sampled_widths), dtype=bool) for n in orders}

    def done() -> dict:  # the partial result of the loop below
        return {
            "exact": exact,
            "sampled_widths": list(sampled_widths),
            "per_experiment": {key: r for key, r in per.items() if r is not None},
        }

    with _partial_on_failure("falloff", done):
        for w, e in _iter(jobs, progress, "falloff sampled"):
            est = _estimate(st.net(sampled_widths[w]), st.X, n_nets, orders, seeds[w * k + e])
            for n in orders:
                reliable[n][w] &= bool(est.reliable(n, connected=False)[tuple(tuples[n].T)].all())
            r = {n: ratio(np.asarray(est.full(n)), n) for n in orders}
            r["c6"] = np.asarray(est.connected(6))[tuple(tuples[6].T)] / gp[6]
            per[(w, e)] = r
    for w in range(len(sampled_widths)):
        for n in [*orders, "c6"]:
            r = np.array([per[(w, e)][n] for e in range(k)])  # (k, T)
            spread = r.std(axis=0, ddof=1) if k > 1 else np.full(r.shape[1], np.nan)
            pooled = float(np.mean(np.abs(r.mean(axis=0))))
            if n == "c6":
                samp_c6[w], se_c6[w] = pooled, float(np.mean(spread)) / math.sqrt(k)
            else:
                sampled[n][w] = pooled
                stderr[n][w] = float(np.mean(spread)) / math.sqrt(k)
                background[n][w] = float(np.mean(spread))
    fit = W >= fit_min_width
    SW = np.asarray(sampled_widths, dtype=np.float64)
    slopes_sampled = {}
    for n in orders:
        above = sampled[n] > 3 * background[n]
        slopes_sampled[n] = loglog_slope(SW[above], sampled[n][above])
    return FalloffResult(
        activation=st.activation,
        d_in=st.d_in,
        widths=W,
        orders=orders,
        exact=exact,
        exact_connected6=exact_c6,
        sampled_widths=SW,
        sampled=sampled,
        stderr=stderr,
        background=background,
        sampled_connected6=samp_c6,
        stderr_connected6=se_c6,
        slopes_exact={n: loglog_slope(W[fit], exact[n][fit]) for n in (4, 6)},
        slope_connected6_exact=loglog_slope(W[fit], exact_c6[fit]),
        slopes_sampled=slopes_sampled,
        n_experiments=k,
        n_nets=n_nets,
        fit_min_width=fit_min_width,
        sampled_reliable=reliable,
    )


# ------------------------------------------------------------------------------------ λ survey


@dataclass
class LambdaSurvey(_Result):
    """λ_m summaries per (net, d_in, legs, source); per-tuple values for the plots."""

    rows: list = field(default_factory=list)  # dicts: activation, d_in, legs, source, mean, …
    values: dict = field(default_factory=dict)  # "act/d/legs/source" -> (T,) λ_m
    errors: dict = field(default_factory=dict)  # same keys -> (T,) stderr (sampled only)
    reliable: dict = field(default_factory=dict)  # same keys -> (T,) tail diagnostic (sampled)
    width: int = DEFAULT_WIDTH
    cutoff: float = DEFAULT_CUTOFF
    n_nets: int = 0


def lambda_survey(
    activations: Sequence[str] = NETS,
    d_ins: Sequence[int] = (1, 2, 3),
    *,
    legs: Sequence[str] = ("full", "subtract_bias"),
    width: int = DEFAULT_WIDTH,
    cutoff: float = DEFAULT_CUTOFF,
    sampled_d_ins: Sequence[int] | None = None,
    n_nets: int | None = None,
    quick: bool = False,
    rng: int = 0,
    progress: bool = False,
) -> LambdaSurvey:
    """λ_m over all multisets of four inputs for the published nets (seed "Measure couplings").

    Parameters
    ----------
    activations, d_ins : published nets and input dimensions.
    legs : the leg conventions to report.
    width, cutoff : N and Λ (λ ∝ 1/N exactly for one hidden layer; N·λ is reported too).
    sampled_d_ins : input dimensions also measured from a sampled ensemble (default (1,)).
    n_nets : size of the sampled ensemble (default 10⁶; quick 5·10⁴).

    Returns
    -------
    LambdaSurvey
        ``rows`` with mean, std, relative spread, verdict (and the sampled ones with the
        propagated standard error and the deviation from the exact mean in units of it).
    """
    _check(
        activations=activations, legs=legs, widths=width, cutoffs=cutoff, counts={"n_nets": n_nets}
    )
    for a in activations:
        for d in d_ins:
            published_setup(a, d)  # unknown nets or input dimensions fail here, not mid-survey
    sampled_d_ins = (1,) if sampled_d_ins is None else tuple(sampled_d_ins)
    n_nets = positive_int(n_nets if n_nets is not None else (50_000 if quick else 1_000_000), "n")
    out = LambdaSurvey(width=width, cutoff=cutoff, n_nets=n_nets)
    jobs = [(a, d) for a in activations for d in d_ins]
    with _partial_on_failure("lambda_survey", lambda: out):
        for i, (act, d) in enumerate(_iter(jobs, progress, "λ survey")):
            st = published_setup(act, d)
            net = st.net(width)
            est = None
            if d in sampled_d_ins:
                est = _estimate(net, st.X, n_nets, (2, 4), _seeds(rng, len(jobs))[i])
            for lg in legs:
                ex = measure_lambda(net, st.X, cutoff=cutoff, legs=lg)
                _survey_row(out, act, d, lg, ex, width, None)
                if est is not None:
                    sm = measure_lambda(est, st.X, cutoff=cutoff, legs=lg, kernel=net)
                    _survey_row(out, act, d, lg, sm, width, ex)
    return out


def _survey_row(out: LambdaSurvey, act: str, d: int, legs: str, m, width: int, exact) -> None:
    key = f"{act}/d{d}/{legs}/{m.source}"
    out.values[key] = m.values
    if m.stderr is not None:
        out.errors[key] = m.stderr
    if getattr(m, "reliable", None) is not None:
        out.reliable[key] = m.reliable
    row = {
        "key": key,
        "activation": act,
        "d_in": d,
        "legs": legs,
        "source": m.source,
        "mean": m.mean,
        "std": m.std,
        "relative_spread": m.relative_spread,
        "N_times_mean": width * m.mean,
        "mean_stderr": m.mean_stderr,
        "is_constant": m.is_constant,
        "verdict": m.verdict,
        "n_tuples": len(m.values),
    }
    if exact is not None and m.mean_stderr:
        row["pull_vs_exact"] = (m.mean - exact.mean) / m.mean_stderr
    if getattr(m, "reliable", None) is not None:
        row["reliable"] = bool(np.all(m.reliable))  # the tail diagnostic accepts every tuple
    out.rows.append(row)


# --------------------------------------------------------------------------------- 6-point


@dataclass
class SixPointResult(_Result):
    """The seed's 6-point check against width (see :func:`six_point_check`)."""

    activation: str
    d_in: int
    legs: str
    cutoff: float
    widths: np.ndarray
    ratio_mean: np.ndarray  # (W,) mean over 6-multisets of (GP + λ̄ term)/G6
    ratio_max_dev: np.ndarray  # (W,) max over 6-multisets of |ratio − 1|
    ratio_gp_mean: np.ndarray  # (W,) GP alone / G6
    lambda_bar: np.ndarray  # (W,)
    kappa_mean: np.ndarray  # (W,)
    kappa_std: np.ndarray  # (W,)
    width_1pct_max: float  # smallest N with max_t |ratio − 1| ≤ 1 % for all larger N
    width_1pct_mean: float  # same with the mean over tuples of |ratio − 1|
    sampled_widths: np.ndarray
    sampled_ratio_mean: np.ndarray
    sampled_ratio_stderr: np.ndarray
    sampled_kappa_mean: np.ndarray
    sampled_kappa_stderr: np.ndarray
    n_nets: int
    scaling_check: float  # max relative error of the 1/N, 1/N² model of G6 at a third width
    # (S,) bool: the tail diagnostic accepts every sampled G⁽⁴⁾ and G⁽⁶⁾ entry at that width
    sampled_reliable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def six_point_check(
    activation: str = "erf",
    *,
    d_in: int = 1,
    X: Any = None,
    widths: Sequence[int] | None = None,
    cutoff: float = DEFAULT_CUTOFF,
    legs: str = "full",
    sampled_widths: Sequence[int] | None = None,
    n_nets: int | None = None,
    quick: bool = False,
    rng: int = 0,
    progress: bool = False,
) -> SixPointResult:
    """κ and the seed's 6-point verification (GP + λ̄ term)/G⁽⁶⁾ against width.

    Parameters
    ----------
    activation, d_in, X : the net and its inputs (default the published ones).
    widths : widths of the exact curves (default the seed's).
    cutoff, legs : Λ and the leg convention of λ̄ and κ.
    sampled_widths, n_nets : sampled points (default (10, 100) × 10⁶; quick (10,) × 5·10⁴).

    Returns
    -------
    SixPointResult

    Notes
    -----
    For one hidden layer, exactly, G⁽⁶⁾(N) = G⁽⁶⁾_GP + a/N + b/N² per tuple
    (a = Σ₁₅ K·N G⁽⁴⁾_c, b = N² G⁽⁶⁾_c) and λ̄(N) = λ̄(1)/N. The coefficients are read from the
    exact connected correlators at N = 1 (checked against ``exact_full`` at N = 7:
    ``scaling_check``), which gives the ratio as a function of continuous N; the 1 % widths
    solve max_t ``|ratio − 1|`` = 0.01 (and the same for the mean over tuples) by bisection in
    log N.
    """
    _check(
        activations=activation,
        legs=legs,
        widths=tuple(widths if widths is not None else ()) + tuple(sampled_widths or ()),
        cutoffs=cutoff,
        counts={"n_nets": n_nets},
    )
    st = _setup(activation, d_in, X, None, None)
    widths = np.asarray(SEED_WIDTHS if widths is None else widths, dtype=np.float64)
    if sampled_widths is None:
        sampled_widths = (10,) if quick else (10, 100)
    n_nets = positive_int(n_nets if n_nets is not None else (50_000 if quick else 1_000_000), "n")
    parts = _exact_parts(st)
    net1 = st.net(1)
    g4_1 = np.asarray(net1.exact_full(st.X, 4))
    g6_1 = np.asarray(net1.exact_full(st.X, 6))
    lam1 = measure_lambda(g4_1, st.X, cutoff=cutoff, legs=legs, kernel=net1)
    m1 = measure_kappa(g6_1, st.X, cutoff=cutoff, legs=legs, lambda_bar=lam1.mean, kernel=net1)
    gp6, a, b = parts.gp6, parts.s6, parts.c6
    n_check = 7
    g6_check = np.asarray(st.net(n_check).exact_full(st.X, 6))[tuple(parts.tuples6.T)]
    scaling_check = float(np.max(np.abs(parts.full6(n_check) / g6_check - 1.0)))
    lam_term_1 = m1.ratio * g6_1[tuple(m1.tuples.T)] - gp6  # −24 λ̄(1) Σ K I4, ∝ 1/N
    k_denom = m1.denominators  # 720 I6 + 360 Σ K I41 (independent of N)

    def model(N: float):
        g6 = gp6 + a / N + b / N**2
        pred = gp6 + lam_term_1 / N
        return pred / g6, g6, pred

    ratio_mean, ratio_max, ratio_gp, lam_bar, kap_mean, kap_std = ([] for _ in range(6))
    for N in widths:
        r, g6, pred = model(N)
        ratio_mean.append(np.mean(r))
        ratio_max.append(np.max(np.abs(r - 1)))
        ratio_gp.append(np.mean(gp6 / g6))
        lam_bar.append(lam1.mean / N)
        kap = -(g6 - pred) / k_denom
        kap_mean.append(np.mean(kap))
        kap_std.append(np.std(kap))

    def width_at(stat) -> float:
        grid = np.geomspace(1.0, 1e9, 400)
        vals = np.array([stat(model(N)[0]) - 0.01 for N in grid])
        above = np.nonzero(vals > 0)[0]
        if len(above) == 0:
            return 1.0
        i = above[-1]
        if i == len(grid) - 1:
            return float("inf")
        from scipy.optimize import brentq

        f = lambda lg: stat(model(math.exp(lg))[0]) - 0.01  # noqa: E731
        return float(math.exp(brentq(f, math.log(grid[i]), math.log(grid[i + 1]))))

    w_max = width_at(lambda r: np.max(np.abs(r - 1)))
    w_mean = width_at(lambda r: np.mean(np.abs(r - 1)))

    s_r, s_re, s_k, s_ke, s_ok = [], [], [], [], []
    seeds = _seeds(rng, len(sampled_widths))

    def done() -> dict:  # the partial result of the loop below
        return {
            "sampled_widths": list(sampled_widths)[: len(s_k)],
            "sampled_ratio": list(s_r),
            "sampled_kappa": list(s_k),
        }

    with _partial_on_failure("six_point_check", done):
        for i, N in enumerate(_iter(sampled_widths, progress, "6-point sampled")):
            net = st.net(int(N))
            est = _estimate(net, st.X, n_nets, (2, 4, 6), seeds[i])
            ms = measure_kappa(est, st.X, cutoff=cutoff, legs=legs, kernel=net)
            s_ok.append(bool(est.reliable(4).all() and est.reliable(6).all()))
            s_r.append(np.mean(ms.ratio))
            s_re.append(np.mean(ms.ratio_stderr))
            s_k.append(ms.mean)
            s_ke.append(ms.mean_stderr)
    return SixPointResult(
        activation=st.activation,
        d_in=st.d_in,
        legs=legs,
        cutoff=cutoff,
        widths=widths,
        ratio_mean=np.array(ratio_mean),
        ratio_max_dev=np.array(ratio_max),
        ratio_gp_mean=np.array(ratio_gp),
        lambda_bar=np.array(lam_bar),
        kappa_mean=np.array(kap_mean),
        kappa_std=np.array(kap_std),
        width_1pct_max=w_max,
        width_1pct_mean=w_mean,
        sampled_widths=np.asarray(sampled_widths, dtype=np.float64),
        sampled_ratio_mean=np.array(s_r),
        sampled_ratio_stderr=np.array(s_re),
        sampled_kappa_mean=np.array(s_k),
        sampled_kappa_stderr=np.array(s_ke),
        n_nets=n_nets,
        scaling_check=scaling_check,
        sampled_reliable=np.array(s_ok, dtype=bool),
    )
