"""Sections 7.1 and 7.2 of ``fieldnn reproduce eft``: trained relu nets, with one hidden layer
and with two, against the O(1/√n) kink term of :func:`fieldnn.kinked_training_shift` (private;
see :mod:`fieldnn.report.eft_report`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..experiments import eft
from . import plots_training
from ._eft_common import _TINY, _fig, _Sizes
from ._writer import ReportWriter, format_number

_DOCS = "docs/finite_width_training.md"
_MECHANISM = (
    "A relu unit whose preactivation crosses zero during training changes its slope by 1, and "
    "the units within O(1/√n) of the kink do: the mean NTK and the mean output move at "
    "O(1/√n), a term the O(1/n) expansion of section 7 does not have "
    "(fieldnn.finite_width_prediction refuses relu for this reason)."
)
_DEEP_MECHANISM = (
    "In a deeper net the units of every hidden layer reach their kinks, those above the first "
    "through the change of their inputs as well as of their weights; a unit whose velocity "
    "points into the kink from both sides slides along it, holds σ(0) and moves no output, and "
    "under gradient descent units overshoot the kink within a step. "
    "fieldnn.kinked_training_shift sums these terms over the layers (one training input); as "
    "in section 7.1 they are O(1/√n) and the O(1/n) expansion of section 7 does not have them."
)


def _kinked_sizes(sz: _Sizes) -> dict:
    """Widths and networks of section 7.1 in each run mode (the full run: ~1 min on 2 cores)."""
    if sz == _TINY:
        return {"widths": (16, 64), "n_replicas": 2000}
    if sz.quick:
        return {"widths": (16, 64, 256), "n_replicas": 20_000}
    return {"widths": (16, 64, 256, 1024), "n_replicas": 20_000}


def _deep_sizes(sz: _Sizes) -> dict:
    """Widths and networks of section 7.2 (a [1, n, n, 1] net costs ~n times a [1, n, 1] one:
    the quick run 1.5 min, the full run 6 min on 2 cores, measured 2026-12-07)."""
    if sz == _TINY:
        return {"widths": (16, 64), "n_replicas": 1000}
    return {"widths": (16, 64, 256), "n_replicas": 4000 if sz.quick else 16_000}


def _kinked_training(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("7.1 ReLU in training: the O(1/√n) kink term", level=3)
    _kinked_section(w, eft.kinked_training(**_kinked_sizes(sz), rng=0), "kinked_training")


def _deep_kinked_training(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("7.2 Deeper relu nets in training: the kink term of every layer", level=3)
    r = eft.kinked_training(hidden_layers=2, **_deep_sizes(sz), rng=0)
    _kinked_section(w, r, "deep_kinked_training")


def _kinked_section(w: ReportWriter, r: eft.KinkedTraining, key: str) -> None:
    """Tables, figure and text of one trained relu ensemble, stored as ``key`` (the tables
    ``key``_shift, _ntk, _raw and the figure ``key``_shift)."""
    root = np.sqrt(r.widths.astype(float))[:, None]
    P = len(r.X_train)
    pairs = [(a, b) for a in range(P) for b in range(a, P)]
    ntk = lambda v: np.array([v[..., a, b] for a, b in pairs]).T  # noqa: E731
    ntk_pull = ntk(r.z_ntk_extrapolated)
    z_inf, z_kink, z_all, z_lin = r.z_infinite, r.z_kinked, r.z_complete, r.z_frozen
    res = w.store(
        key,
        {
            "activation": r.activation,
            "C_b": r.C_b,
            "C_W": r.C_W,
            "X_train": r.X_train,
            "y_train": r.y_train,
            "X_test": r.X_test,
            "learning_rate": r.learning_rate,
            "steps": r.steps,
            "widths": r.widths,
            "n_replicas": r.n_replicas,
            "coefficient": r.coefficient,
            "coefficient_stderr": r.coefficient_stderr,
            "scaled_paired_shift": root * r.paired_shift,
            "scaled_paired_stderr": root * r.paired_stderr,
            "extrapolated": r.extrapolated,
            "extrapolated_stderr": r.extrapolated_stderr,
            "z_extrapolated": r.z_extrapolated,
            "ntk_coefficient": ntk(r.ntk_coefficient),
            "ntk_extrapolated": ntk(r.ntk_extrapolated),
            "z_ntk_extrapolated": ntk_pull,
            "z_rms_infinite": np.sqrt(np.mean(z_inf**2, axis=1)),
            "z_rms_kinked": np.sqrt(np.mean(z_kink**2, axis=1)),
            "z_rms_complete": np.sqrt(np.mean(z_all**2, axis=1)),
            "z_rms_frozen": np.sqrt(np.mean(z_lin**2, axis=1)),
            "frozen_mean": r.frozen_mean,
            "frozen_stderr": r.frozen_stderr,
            "frozen_predicted": r.frozen_predicted,
            "window": r.window,
            **_scatter_results(r),
        },
    )
    widths = [int(k) for k in r.widths]
    n1, n2 = widths[-2:]
    exact = not np.any(r.coefficient_stderr) and not np.any(r.ntk_coefficient_stderr)
    theory = "closed form" if exact else "± its Monte Carlo error"
    band = "a closed form" if exact else "its Monte Carlo error as a band"
    xs = [format_number(float(x)) for x in r.X_test[:, 0]]
    tr = [format_number(float(x)) for x in r.X_train[:, 0]]
    entries = [f"({tr[a]}, {tr[b]})" for a, b in pairs]

    def rows(scaled, scaled_err, a, a_err, pred, pred_err, pull, name="a") -> list[list]:
        def pm(v, e) -> list:
            return [x for pair in zip(v, e, strict=True) for x in pair]

        return [
            *([f"n = {k}", *pm(scaled[i], scaled_err[i])] for i, k in enumerate(widths)),
            [f"{name} from n = {n1}, {n2}", *pm(a, a_err)],
            [f"{name} predicted", *pm(pred, pred_err)],
            [f"pull of {name}", *[x for p in pull for x in (p, "")]],
        ]

    output_columns = (
        root * r.paired_shift,
        root * r.paired_stderr,
        r.extrapolated,
        r.extrapolated_stderr,
        r.coefficient,
        r.coefficient_stderr,
        r.z_extrapolated,
    )
    ntk_columns = (
        root * ntk(r.ntk_change),
        root * ntk(r.ntk_change_stderr),
        ntk(r.ntk_extrapolated),
        ntk(r.ntk_extrapolated_stderr),
        ntk(r.ntk_coefficient),
        ntk(r.ntk_coefficient_stderr),
        ntk_pull,
    )
    w.table(
        f"{key}_shift",
        ["", *[h for x in xs for h in (f"x′ = {x}", "±")]],
        rows(*output_columns),
        f"√n times the mean output shift of {r.n_replicas} trained {r.activation} networks "
        f"{r.architecture} per width, measured as z(x′, T) minus each network's own frozen-kernel "
        "solution (standard errors ±); the 1/√n coefficient a extrapolated from the two widest "
        f"widths (d = a/√n + b/n) against fieldnn.kinked_training_shift ({theory}), and the "
        "pull of the difference.",
        digits=3,
    )
    w.table(
        f"{key}_window",
        ["n", *[f"x′ = {x}" for x in xs]],
        [[k, *r.window[i]] for i, k in enumerate(widths)],
        "Window ratio q at each test input: the distance a unit's preactivation there moves "
        "during training over its spread given a training input's preactivation at the kink, "
        "the largest over the training inputs and hidden layers. Up to a factor of order one it "
        "is the fraction of the units crossing that kink which also cross the kink at x′, left "
        "out of the O(1/√n) term: there the output shift has a remainder of about 2q times the "
        "shift at that training input (docs, 'The window ratio, and the warning'); "
        "fieldnn.kinked_training_shift warns where q > 0.1. It falls like 1/√n.",
        digits=3,
    )
    w.table(
        f"{key}_ntk",
        ["", *[h for e in entries for h in (f"Θ{e}", "±")]],
        rows(*ntk_columns),
        "√n times the mean change of the empirical NTK during training, Θ̂(T) − Θ̂(0), at the "
        "training inputs (the same networks), extrapolated and predicted as above: at infinite "
        "width the NTK does not move, and for relu it moves at O(1/√n), not O(1/n).",
        digits=3,
    )
    w.table(
        f"{key}_raw",
        [
            "n",
            "rms z vs n → ∞",
            "rms z vs n → ∞ + a/√n",
            "rms z vs linearised O(1/n) + a/√n",
            "max abs. z, same",
            "rms z of z_lin vs linearised O(1/n)",
        ],
        [
            [
                k,
                res["z_rms_infinite"][i],
                res["z_rms_kinked"][i],
                res["z_rms_complete"][i],
                float(np.abs(z_all[i]).max()),
                res["z_rms_frozen"][i],
            ]
            for i, k in enumerate(widths)
        ],
        "The raw mean of the trained outputs (no control variate) at the test inputs: "
        "root-mean-square pull against the infinite-width mean, against it plus the kink term, "
        "and against the mean of the linearised networks to O(1/n) "
        "(fieldnn.finite_width_prediction(..., linearised=True): the NTK's O(1/n) mean shift "
        "and fluctuations) plus the kink term — every term fieldnn computes; last column: the "
        "same networks' frozen-kernel solutions z_lin against that O(1/n) prediction.",
        digits=3,
    )
    if r.scatter is not None:
        w.table(
            f"{key}_scatter",
            ["scatter", *[h for x in xs for h in (f"x′ = {x}", "±")]],
            rows(
                r.scatter,
                r.scatter_stderr,
                r.scatter_extrapolated,
                r.scatter_extrapolated_stderr,
                r.scatter_predicted,
                np.zeros_like(r.scatter_predicted),
                r.z_scatter,
                name="s",
            ),
            "n^{3/2} times the variance of the same per-network shifts at a fixed initial "
            "residual ε₀ (the mean square residual after least squares on (1, |ε₀|ε₀, ε₀, ε₀²) "
            "and on the same times each network's Θ̂₀(x, x); standard errors ±): the noise of the "
            "units that reach or cross a kink, O(n^{−3/2}). s of s + c/√n from the two widest "
            "widths against Σ_ℓ KinkedNTKChange.scatter (gradient flow at t = η·steps).",
            digits=3,
        )
    _draw(
        w,
        f"{key}_shift",
        plots_training.plot_kinked_shift,
        r,
        "√n·(mean of z(T) − z_lin) of trained relu nets against 1/√n (points, √n·stderr error "
        f"bars), the predicted coefficient a (dashed; {band}) and the straight "
        "line a + b/√n through the two widest widths (dotted), whose intercept is the measured a.",
    )
    for paragraph in _findings(w, r, key, widths, xs):
        w.text(paragraph)
    if r.scatter is not None:
        _draw(
            w,
            f"{key}_scatter",
            plots_training.plot_kinked_scatter,
            r,
            "n^{3/2}·Var of the per-network shifts at a fixed initial residual over the "
            "prediction Σ_ℓ KinkedNTKChange.scatter, against 1/√n (points, standard errors), the "
            "line s + c/√n through the two widest widths (dotted) and its intercept s (open "
            "marker); the leading-order prediction is 1 (dashed).",
        )
        w.text(_scatter_findings(res, widths, xs))


def _draw(w: ReportWriter, name: str, plot: Callable, r: eft.KinkedTraining, caption: str) -> None:
    """One figure of the section: ``plot(r, ax=…)`` stored as ``name`` with its caption."""
    fig, ax = _fig()
    plot(r, ax=ax)
    w.figure(name, fig, caption)


def _scatter_results(r: eft.KinkedTraining) -> dict:
    """The stored scatter measurement and prediction (none with two training inputs)."""
    if r.scatter is None:
        return {}
    return {
        "scatter": r.scatter,
        "scatter_stderr": r.scatter_stderr,
        "scatter_predicted": r.scatter_predicted,
        "scatter_extrapolated": r.scatter_extrapolated,
        "scatter_extrapolated_stderr": r.scatter_extrapolated_stderr,
        "z_scatter": r.z_scatter,
    }


def _scatter_findings(res: dict, widths: list[int], xs: list[str]) -> str:
    """What the stored scatter numbers show."""
    ratio = np.asarray(res["scatter"]) / np.asarray(res["scatter_predicted"])
    z = np.asarray(res["z_scatter"])
    fmt = lambda v: ", ".join(format_number(float(x), 3) for x in v)  # noqa: E731
    return (
        "Network to network at a fixed initial residual the kink term scatters: the units that "
        "reach a kink are a Poisson sum of ~√n, each moving the output by O(1/n), so "
        "n^{3/2}·Var is width-independent at leading order. Measured over predicted, at x′ = "
        f"{', '.join(xs)}: "
        + "; ".join(f"n = {k}: {fmt(ratio[i])}" for i, k in enumerate(widths))
        + f". Extrapolated as s + c/√n from n = {widths[-2]}, {widths[-1]}, the pulls against "
        f"the prediction are {fmt(z)}. The O(n^{{−1/2}}) relative correction c, from the next "
        "order of the Poisson sum, is not derived (docs: “The scatter at test inputs, "
        "predicted”)."
    )


def _findings(w: ReportWriter, r: eft.KinkedTraining, key: str, widths: list[int],
              xs: list[str]) -> list[str]:  # fmt: skip
    """The text of the section: what the stored numbers show, nothing more."""
    res = w.results[key]
    n1, n2 = widths[-2:]
    za = np.asarray(res["z_extrapolated"])
    zn = np.asarray(res["z_ntk_extrapolated"])
    zi, zk, zc, zf = (res[k] for k in ("z_rms_infinite", "z_rms_kinked", "z_rms_complete",
                                       "z_rms_frozen"))  # fmt: skip
    better = [k for i, k in enumerate(widths) if zk[i] < zi[i]]
    a = np.asarray(res["coefficient"])
    remainder = np.asarray(res["scaled_paired_shift"][0]) - a
    rest, kink = (float(np.sqrt(np.mean(v**2))) for v in (remainder, a))
    plural = "s" if len(r.X_train) > 1 else ""
    return [
        f"Setting: {r.activation} {r.architecture}, C_b = {format_number(r.C_b)}, C_W = "
        f"{format_number(r.C_W)}, λ_b = λ_W = 1; training input{plural} x = "
        f"{', '.join(format_number(float(x)) for x in r.X_train[:, 0])} with target{plural} "
        f"{', '.join(format_number(float(y)) for y in r.y_train)}, test inputs x′ = "
        f"{', '.join(xs)}; {r.steps} steps of gradient descent at η = "
        f"{format_number(r.learning_rate)}, {r.n_replicas} networks per width. "
        + (_DEEP_MECHANISM if r.hidden_layers > 1 else _MECHANISM)
        + f" Derivation: {w.docs_link(_DOCS)}, "
        + (
            "“Deeper relu nets: the NTK drift at one training input” and “Deeper relu nets: the "
            "trained outputs”."
            if r.hidden_layers > 1
            else "“Kinked activations in training” and “Several training inputs”."
        ),
        f"The 1/√n coefficient measured from n = {n1}, {n2} differs from the prediction by at "
        f"most {format_number(float(np.abs(za).max()), 3)} standard errors for the output "
        f"(pulls {', '.join(format_number(float(z), 3) for z in za)} at x′ = {', '.join(xs)}) "
        f"and {format_number(float(np.abs(zn).max()), 3)} for the NTK at the training inputs. "
        "The rest of the shift, √n·shift − a, is the O(1/n) remainder: at n = "
        f"{widths[0]} it is {', '.join(format_number(float(v), 3) for v in remainder)} at "
        f"x′ = {', '.join(xs)}, and it, not the sampling noise, sets the widths the "
        "extrapolation needs.",
        "rms pull of the raw mean, against n → ∞ and against n → ∞ plus the kink term: "
        + "; ".join(
            f"n = {k}: {format_number(zi[i], 3)}, {format_number(zk[i], 3)}"
            for i, k in enumerate(widths)
        )
        + ". The kink term "
        + (
            f"lowers the rms pull at n = {', '.join(map(str, better))}"
            if better
            else "lowers the rms pull at none of these widths"
        )
        + ". With the O(1/n) mean of the linearised networks (each network's initial NTK "
        "frozen, relu included: fieldnn.finite_width_prediction(..., linearised=True)) in place "
        "of the n → ∞ mean, the rms pull is "
        + ", ".join(f"{format_number(zc[i], 3)} (n = {k})" for i, k in enumerate(widths))
        + "; the frozen-kernel solutions of the same networks against that O(1/n) mean: rms "
        "pulls "
        + ", ".join(format_number(zf[i], 3) for i in range(len(widths)))
        + f". At n = {widths[0]} the remainder is {format_number(rest, 3)} in rms over the test "
        f"inputs against {format_number(kink, 3)} for a: the O(1/n) part of the NTK's motion "
        "in a relu net (the smooth dNTK-type terms and the second-order kink terms, which "
        "fieldnn does not compute) is "
        + ("larger than" if rest > kink else "smaller than")
        + " the kink term there; the coefficient is therefore measured with each network's "
        "frozen-kernel solution as a control variate and extrapolated in 1/√n.",
    ]
