"""Section 7 of ``fieldnn reproduce eft``: trained replica ensembles against the O(1/n) training
prediction of :func:`fieldnn.finite_width_prediction` (private; see
:mod:`fieldnn.report.eft_report`)."""

from __future__ import annotations

import numpy as np

from ..ensembles import MLP
from ..experiments import eft
from . import plots_training
from ._eft_common import _TINY, _fig, _Sizes, _z
from ._writer import ReportWriter, format_number

_TRAINING_DOCS = "docs/finite_width_training.md"
_HIDDEN_DOCS = "docs/representation_learning.md"
_TERMS = {
    "ntk_mean": "NTK mean shift",
    "ntk_variance": "NTK fluctuations (A, B)",
    "dntk": "dNTK (P, Q)",
    "ddntk": "ddNTKs (R, S, T, U)",
}


def _training_sizes(sz: _Sizes) -> dict:
    """Widths and replicas of the section in each run mode (the full run: ~2 min on 2 cores)."""
    if sz == _TINY:
        return {"widths": (16, 32), "n_replicas": 60}
    if sz.quick:
        return {"widths": (16, 64), "n_replicas": 2000}
    return {"widths": (16, 32, 64, 128), "n_replicas": 8000}


def _training(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("7. Training at finite width: the O(1/n) prediction of the trained ensemble")
    r = eft.finite_width_training(**_training_sizes(sz), steps=100, learning_rate=0.05, rng=0)
    theta = MLP(r.activation, [1, *([int(r.widths[0])] * (r.depth - 1)), 1], C_W=r.C_W,
                C_b=r.C_b).ntk(r.X_train, lambda_b=r.lambda_b, lambda_W=r.lambda_W)  # fmt: skip
    lam = np.linalg.eigvalsh(theta)
    z_inf, z_fin = r.z_infinite, r.z_finite
    v_pull_fin = _z(r.measured_var, r.predicted_var, r.var_stderr)
    v_pull_inf = _z(r.measured_var, np.broadcast_to(r.infinite_var, r.measured_var.shape),
                    r.var_stderr)  # fmt: skip
    n = r.widths.astype(float)[:, None]
    res = w.store(
        "training",
        {
            "activation": r.activation,
            "C_b": r.C_b,
            "C_W": r.C_W,
            "lambda_b": r.lambda_b,
            "lambda_W": r.lambda_W,
            "depth": r.depth,
            "X_train": r.X_train,
            "y_train": r.y_train,
            "X_test": r.X_test,
            "learning_rate": r.learning_rate,
            "steps": r.steps,
            "t": r.t,
            "widths": r.widths,
            "n_replicas": r.n_replicas,
            "theta_AA_eigenvalues": lam,
            "measured_mean": r.measured_mean,
            "mean_stderr": r.mean_stderr,
            "predicted_mean": r.predicted_mean,
            "infinite_mean": r.infinite_mean,
            "measured_var": r.measured_var,
            "var_stderr": r.var_stderr,
            "predicted_var": r.predicted_var,
            "infinite_var": r.infinite_var,
            "z_mean_infinite": z_inf,
            "z_mean_finite": z_fin,
            "z_rms_infinite": np.sqrt(np.mean(z_inf**2, axis=1)),
            "z_rms_finite": np.sqrt(np.mean(z_fin**2, axis=1)),
            "z_max_finite": np.max(np.abs(z_fin), axis=1),
            "var_pull_finite": v_pull_fin,
            "var_pull_infinite": v_pull_inf,
            "mean_coefficient": n[0, 0] * (r.predicted_mean[0] - r.infinite_mean),
            "mean_terms_coefficient": {k: n[0, 0] * v[0] for k, v in r.mean_terms.items()},
            "layer_change": r.layer_change,
            "layer_change_stderr": r.layer_change_stderr,
            "layer_predicted": r.layer_predicted,
            "training_shift": r.training_shift,
            "training_shift_stderr": r.training_shift_stderr,
            "training_predicted": r.training_predicted,
            "z_training": r.z_training,
            "z_rms_training": np.sqrt(np.mean(r.z_training**2, axis=1)),
            "linearised_mean": r.linearised_mean,
            "linearised_stderr": r.linearised_stderr,
            "linearised_predicted": r.linearised_predicted,
            "z_linearised": r.z_linearised,
            "z_rms_linearised": np.sqrt(np.mean(r.z_linearised**2, axis=1)),
            "training_stderr_ratio": np.mean(r.training_shift_stderr / r.mean_stderr, axis=1),
        },
    )
    widths = [int(k) for k in r.widths]
    w.table(
        "finite_training",
        ["n", "rms z vs n → ∞", "rms z vs O(1/n)", "max abs. z vs O(1/n)"],
        [
            [k, res["z_rms_infinite"][i], res["z_rms_finite"][i], res["z_max_finite"][i]]
            for i, k in enumerate(widths)
        ],
        f"Mean of {r.n_replicas} trained networks per width at the {len(r.X_test)} test inputs: "
        "root-mean-square pull (measured − theory)/stderr against the infinite-width "
        "prediction and against the O(1/n) prediction (fieldnn.finite_width_prediction).",
        digits=3,
    )
    xs = [float(x) for x in r.X_test[:, 0]]
    rows = [
        [
            k,
            format_number(x),
            r.measured_var[i, q] / r.infinite_var[q],
            r.var_stderr[i, q] / r.infinite_var[q],
            r.predicted_var[i, q] / r.infinite_var[q],
            v_pull_fin[i, q],
            v_pull_inf[i, q],
        ]
        for i, k in enumerate(widths)
        for q, x in enumerate(xs)
    ]
    w.table(
        "finite_training_variance",
        ["n", "x", "s²/Σ(∞)", "stderr", "Σ(1/n)/Σ(∞)", "pull vs O(1/n)", "pull vs n → ∞"],
        rows,
        "Variance of the trained outputs over the ensemble (s², with the standard error of a "
        "sample variance) relative to the infinite-width variance Σ(∞), and the O(1/n) "
        "prediction Σ(1/n) relative to the same.",
        digits=3,
    )
    coeff = res["mean_terms_coefficient"]
    w.table(
        "finite_training_terms",
        ["origin", *[f"x = {format_number(x)}" for x in xs]],
        [
            *[[label, *coeff[key]] for key, label in _TERMS.items()],
            ["sum", *res["mean_coefficient"]],
        ],
        "The O(1/n) coefficient n·(mean − mean at n → ∞) of the prediction, split by origin "
        "(FiniteWidthPrediction.mean_terms; the same at every width).",
        digits=3,
    )
    fig, ax = _fig()
    plots_training.plot_finite_width_mean(r, ax=ax)
    w.figure(
        "finite_width_mean",
        fig,
        "n·(measured mean − infinite-width mean) of the trained ensembles against 1/n (points, "
        "n·stderr error bars) and the predicted O(1/n) coefficient (dashed, one colour per test "
        "input). The measured points reach the dashed lines only as 1/n → 0 if the expansion "
        "holds; their distance at finite n is the O(1/n²) and higher terms.",
    )
    for paragraph in _findings(w, r, widths, xs, lam):
        w.text(paragraph)
    _linearised_tables(w, r, widths, xs)
    fig, axes = _fig(2)
    for ax, part in zip(axes, ("frozen", "training"), strict=True):
        plots_training.plot_finite_width_mean(r, ax=ax, part=part)
    w.figure(
        "finite_width_split",
        fig,
        "The measured mean of the figure above split by each network's linearisation (its "
        "initial empirical NTK frozen, trained by the same descent). Left: the linearised "
        "networks' mean, n·(mean − mean at n → ∞), against the NTK mean-shift and "
        "NTK-fluctuation terms of the O(1/n) prediction (dashed). Right: the mean of "
        "z − z_lin, times n, against the dNTK + ddNTK terms (dashed). Error bars n·stderr; "
        "the points reach the dashed lines as 1/n → 0 if the expansion holds.",
    )
    _variance_split(w, r, widths, xs)
    _hidden_table(w, r, widths, xs)
    _hidden_variance_table(w, r, widths, xs)


def _variance_split(w: ReportWriter, r: eft.FiniteWidthTraining, widths: list[int],
                    xs: list[float]) -> None:  # fmt: skip
    """The variance's O(1/n) shift split like the mean: the NTK's terms (linearised networks
    paired against the n → ∞ map of their own outputs) and the dNTK + ddNTK terms (trained
    minus linearised, paired)."""
    n = r.widths[:, None]
    names = {"total": "total", "frozen": "NTK (frozen kernel)", "training": "training (dNTK)"}
    rows, rms = [], {}
    for part, label in names.items():
        meas, err, pred = (n * v for v in r.var_part(part))
        pull = (meas - pred) / err
        rms[part] = np.sqrt(np.mean(pull**2, axis=1))
        rows += [
            [label, k, format_number(x), meas[i, q], err[i, q], pred[i, q], pull[i, q]]
            for i, k in enumerate(widths)
            for q, x in enumerate(xs)
        ]
    noise = {  # n·stderr of each part over that of the total, mean over the test inputs
        f"stderr_ratio_{k}": np.mean(r.var_part(k)[1] / r.var_stderr, axis=1)
        for k in ("frozen", "training")
    }
    res = w.store("training.variance", {**{f"z_rms_{k}": v for k, v in rms.items()}, **noise})
    w.table(
        "finite_training_variance_split",
        ["part", "n", "x", "n·measured", "n·stderr", "n·O(1/n) terms", "pull"],
        rows,
        "The variance's shift from its infinite-width value, times n, split by each network's "
        "linearisation: total, s² − Σ∞ (against all of FiniteWidthPrediction.cov_terms); the "
        "NTK's part, s²(z_lin) − s²(B z₀), the linearised networks against the n → ∞ map "
        "B z₀ = z₀ − Θ_{·A} g(Θ_AA) z_{0,A} of their own initial outputs (against the NTK "
        "mean-shift, NTK–preactivation and NTK-fluctuation terms); the training part, "
        "s²(z) − s²(z_lin) (against the dNTK and ddNTK terms). Both parts are paired over the "
        "same networks (standard error from the per-network influence), so the O(1) noise of a "
        "sample variance cancels; the K^{1} term of the initial outputs is in the total only.",
        digits=3,
    )
    fig, axes = _fig(3)
    for ax, part in zip(axes, names, strict=True):
        plots_training.plot_finite_width_variance(r, ax=ax, part=part)
    w.figure(
        "finite_width_variance_split",
        fig,
        "n·(variance shift) against 1/n, per test input (points, n·stderr error bars), and the "
        "O(1/n) coefficient (dashed): total (left), the linearised networks' NTK part (middle), "
        "trained minus linearised (right); the parts of the table above.",
    )
    per_width = "; ".join(
        f"n = {k}: " + ", ".join(format_number(res[f"z_rms_{p}"][i], 3) for p in names)
        for i, k in enumerate(widths)
    )
    w.text(
        "Root-mean-square pull of the variance against its O(1/n) terms, total, NTK part and "
        f"training part, per width: {per_width}. Standard error of the NTK part and of the "
        "training part over the total's, per width: "
        + "; ".join(
            f"n = {k}: {format_number(res['stderr_ratio_frozen'][i], 3)}, "
            f"{format_number(res['stderr_ratio_training'][i], 3)}"
            for i, k in enumerate(widths)
        )
        + "."
        + (
            " The ratios fall with n: the total's n·stderr carries the O(1) sampling noise of a "
            "sample variance (growing like √n), which the pairing removes from the parts, so at "
            "large n a part can show an O(1/n²) remainder that the total's noise hides."
            if all(np.all(np.diff(v) < 0) for v in noise.values())
            else ""
        )
        + " Where the two parts' remainders have opposite signs the total agrees sooner than "
        "either."
    )


def _linearised_tables(w: ReportWriter, r: eft.FiniteWidthTraining, widths: list[int],
                      xs: list[float]) -> None:  # fmt: skip
    """The mean split by each network's linearisation: the frozen-kernel part against the NTK
    terms, the training part against the dNTK + ddNTK terms."""
    res = w.results["training"]
    n = r.widths[:, None]
    parts = {"frozen": "frozen", "dynamics": "training"}  # table name: part of the mean
    headers = {
        "frozen": ["n·(z_lin − m∞) measured", "n·stderr", "n·(NTK mean + NTK fluct.)"],
        "dynamics": ["n·(z − z_lin) measured", "n·stderr", "n·(dNTK + ddNTK)"],
    }
    captions = {
        "frozen": "The frozen-kernel part of the mean: the outputs of each network's "
        "linearisation around its initialisation, trained by the same descent with its initial "
        "empirical NTK frozen (train_replicas(..., linearised=True)), minus the infinite-width "
        "mean m∞, against the NTK mean-shift and NTK-fluctuation terms of the O(1/n) "
        "prediction.",
        "dynamics": "The training part of the mean: each network's output minus its "
        "linearisation's, averaged over the networks, against the dNTK and ddNTK terms of the "
        "O(1/n) prediction, which are all it keeps at O(1/n) (the O(1) initial output and the "
        "O(1/√n) NTK fluctuation cancel in the difference).",
    }
    for part, name in parts.items():
        meas, err, pred = (n * v for v in r.mean_part(name))
        pull = (meas - pred) / err
        rows = [
            [k, format_number(x), meas[i, q], err[i, q], pred[i, q], pull[i, q]]
            for i, k in enumerate(widths)
            for q, x in enumerate(xs)
        ]
        w.table(f"finite_training_{part}", ["n", "x", *headers[part], "pull"], rows,
                captions[part], digits=3)  # fmt: skip
    per_width = "; ".join(
        f"n = {k}: {format_number(res['z_rms_linearised'][i], 3)} and "
        f"{format_number(res['z_rms_training'][i], 3)}"
        for i, k in enumerate(widths)
    )
    ratios = ", ".join(format_number(v, 3) for v in res["training_stderr_ratio"])
    w.text(
        "Root-mean-square pull of the frozen-kernel part and of the training part against "
        f"their O(1/n) terms, per width: {per_width}. The training part is measured with a "
        f"standard error {ratios} times the raw mean's (same widths). A pull above 3 in the "
        "training part is the O(1/n²) remainder of the training dynamics (followed to n = 256 "
        f"in {w.docs_link(_TRAINING_DOCS)}, section “Where the expansion holds”); one in the "
        "frozen part, that of the NTK's fluctuations. The raw pulls of the first table add "
        "the two, whose remainders can have opposite signs."
    )


def _hidden_table(w: ReportWriter, r: eft.FiniteWidthTraining, widths: list[int],
                  xs: list[float]) -> None:  # fmt: skip
    """The paired change of every hidden layer's kernel against fieldnn.hidden_kernel_change."""
    Q, layers = len(xs), range(1, r.depth)
    pairs = [(a, b) for a in range(Q) for b in range(a, Q)]
    rows = []
    rms = np.zeros((len(widths), len(layers)))
    noise = np.zeros_like(rms)
    for i, k in enumerate(widths):
        for j, layer in enumerate(layers):
            meas, err = r.layer_change[i, j], r.layer_change_stderr[i, j]
            pred = r.layer_predicted[i, j]
            rms[i, j] = np.sqrt(np.mean([(k * (meas[a, b] - pred[a, b])) ** 2 for a, b in pairs]))
            noise[i, j] = np.sqrt(np.mean([(k * err[a, b]) ** 2 for a, b in pairs]))
            for a, b in pairs:
                entry = f"({format_number(xs[a])}, {format_number(xs[b])})"
                pull = (meas[a, b] - pred[a, b]) / err[a, b]
                rows.append([k, layer, entry, k * meas[a, b], k * err[a, b], k * pred[a, b], pull])
    res = w.store("training.hidden", {"rms_scaled_residual": rms, "rms_scaled_stderr": noise})
    w.table(
        "finite_training_hidden",
        ["n", "ℓ", "(x, x′)", "n·ΔĜ measured", "n·stderr", "n·ΔĜ O(1/n)", "pull"],
        rows,
        "Change of the kernel Ĝ^(ℓ)(x, x′) = (1/n)Σ_j σ(z^(ℓ)_j(x))σ(z^(ℓ)_j(x′)) of hidden "
        "layer ℓ during training, times n: mean over the same trained networks of the paired "
        "change (after − before, per network) against fieldnn.hidden_kernel_change(layer=ℓ) "
        "(the same at every width).",
        digits=3,
    )
    per_width = "; ".join(
        f"n = {k}: "
        + ", ".join(
            f"ℓ = {layer} {format_number(res['rms_scaled_residual'][i][j], 3)} (noise "
            f"{format_number(res['rms_scaled_stderr'][i][j], 3)})"
            for j, layer in enumerate(layers)
        )
        for i, k in enumerate(widths)
    )
    w.text(
        "The same networks carry the representation learning of every hidden layer: the O(1/n) "
        f"prediction of each layer's kernel change ({w.docs_link(_HIDDEN_DOCS)}, section “The "
        "hidden kernel during training”; an earlier layer's through the kernel maps of the "
        "layers above it) against the measured paired change. Root-mean-square of "
        f"n·(measured − predicted) over the {len(pairs)} entries, with the same of n·stderr: "
        f"{per_width}. Where it exceeds the noise, the remainder is the O(1/n²) part, which "
        "shrinks with the width."
    )


def _hidden_variance_table(w: ReportWriter, r: eft.FiniteWidthTraining, widths: list[int],
                           xs: list[float]) -> None:  # fmt: skip
    """The variance of the trained last hidden kernel against the initial V/n, and its change."""
    pull = (r.hidden_var - r.hidden_var_predicted) / r.hidden_var_stderr
    shift_z = r.hidden_var_shift / r.hidden_var_shift_stderr
    rel = np.abs(r.hidden_var_shift) / r.hidden_var_predicted
    res = w.store(
        "training.hidden_variance",
        {
            "pull": pull,
            "max_abs_pull": np.max(np.abs(pull), axis=1),
            "shift_z": shift_z,
            "max_relative_shift": np.max(rel, axis=1),
        },
    )
    rows = [
        [k, format_number(x), k * r.hidden_var[i, q], k * r.hidden_var_stderr[i, q],
         k * r.hidden_var_predicted[i, q], pull[i, q], k * r.hidden_var_shift[i, q],
         k * r.hidden_var_shift_stderr[i, q]]
        for i, k in enumerate(widths)
        for q, x in enumerate(xs)
    ]  # fmt: skip
    header = ["n", "x", "n·Var Ĝ′(x, x)", "n·stderr", "O(1/n)", "pull"]
    w.table(
        "finite_training_hidden_variance",
        [*header, "n·ΔVar (training)", "n·stderr"],
        rows,
        "Variance over the same trained networks of the diagonal of the last hidden kernel, "
        "times n, against the O(1/n) prediction (fieldnn.hidden_kernel_change(...).cov: the "
        "initial V/n, V the output layer's four-point vertex at C_W = 1), and the change of the "
        "variance during training, paired network by network (after − before).",
        digits=3,
    )
    per_width = "; ".join(
        f"n = {k}: largest pull {format_number(res['max_abs_pull'][i], 3)}, largest "
        f"|ΔVar|/Var {format_number(res['max_relative_shift'][i], 2)}"
        for i, k in enumerate(widths)
    )
    w.text(
        "At O(1/n) training shifts the hidden kernel without spreading it: to that order its "
        "covariance over the trained ensemble is the one at initialisation, and the change "
        f"is O(1/n²) ({w.docs_link(_HIDDEN_DOCS)}, section “The hidden kernel during "
        f"training”, “The covariance”). Per width: {per_width}. The paired change is "
        "measured with the noise common to before and after removed; where it is resolved it "
        f"is the O(1/n²) term, and relative to the variance it {_trend(res['max_relative_shift'])}."
    )


def _trend(values: np.ndarray) -> str:
    """How a per-width sequence moves, in words, with its first and last value."""
    first, last = format_number(values[0], 2), format_number(values[-1], 2)
    if len(values) < 2:
        return f"is {first} at this one width"
    if np.all(np.diff(values) < 0):
        return f"falls with the width here, from {first} to {last}"
    return f"does not fall steadily over these widths ({first} to {last})"


def _findings(w: ReportWriter, r: eft.FiniteWidthTraining, widths: list[int], xs: list[float],
              lam: np.ndarray) -> list[str]:  # fmt: skip
    """The text of the section: what the stored numbers show, nothing more."""
    res = w.results["training"]
    zi, zf, zmax = res["z_rms_infinite"], res["z_rms_finite"], res["z_max_finite"]
    better = [k for i, k in enumerate(widths) if zf[i] < zi[i]]
    within = [k for i, k in enumerate(widths) if zmax[i] <= 3]
    vf = np.abs(np.asarray(res["var_pull_finite"]))
    vi = np.abs(np.asarray(res["var_pull_infinite"]))
    per_width = "; ".join(
        f"n = {k}: {format_number(zi[i], 3)} → {format_number(zf[i], 3)}"
        for i, k in enumerate(widths)
    )
    worst = [
        int(np.argmax(np.abs(np.asarray(res["z_mean_finite"][i])))) for i in range(len(widths))
    ]
    lines = [
        f"Setting: {r.activation}, L = {r.depth} (widths [1, n, n, 1]), C_b = "
        f"{format_number(r.C_b)}, C_W = {format_number(r.C_W)}, λ_b = λ_W = 1; "
        f"{len(r.X_train)} training points of y = sin(2x) on [−1.5, 1.5] (no replica noise), "
        f"test inputs x = {', '.join(format_number(x) for x in xs)}; {r.steps} steps of "
        f"full-batch gradient descent at η = {format_number(r.learning_rate)} (t = "
        f"{format_number(r.t)}), {r.n_replicas} networks per width. Θ_AA has eigenvalues "
        f"{format_number(lam[0], 3)} … {format_number(lam[-1], 3)}: at infinite width the "
        "slowest mode keeps a fraction (1 − ηλ_min)^steps = "
        f"{format_number((1 - r.learning_rate * lam[0]) ** r.steps, 3)} of its initial error. "
        f"Theory and derivation: {w.docs_link(_TRAINING_DOCS)}.",
        f"rms pull of the mean, infinite width → O(1/n): {per_width}. The O(1/n) prediction "
        + (
            f"lowers the rms pull at n = {', '.join(map(str, better))}"
            if better
            else "lowers the rms pull at none of the widths"
        )
        + (
            f" and agrees within 3 standard errors at every test input at n = "
            f"{', '.join(map(str, within))}."
            if within
            else "; at no width does it agree within 3 standard errors at every test input."
        )
        + " Largest remaining pulls: "
        + ", ".join(
            f"{format_number(res['z_mean_finite'][i][worst[i]], 3)} at x = "
            f"{format_number(xs[worst[i]])} (n = {k})"
            for i, k in enumerate(widths)
        )
        + ".",
        "Variance, largest absolute pull per width against n → ∞ and against O(1/n): "
        + "; ".join(
            f"n = {k}: {format_number(float(vi[i].max()), 3)} → "
            f"{format_number(float(vf[i].max()), 3)}"
            for i, k in enumerate(widths)
        )
        + " (a pull above 3 is a disagreement, not noise).",
    ]
    if len(widths) >= 2:
        n0, n1 = widths[0], widths[-1]
        d0 = np.abs(np.asarray(res["measured_mean"][0]) - np.asarray(res["predicted_mean"][0]))
        d1 = np.abs(np.asarray(res["measured_mean"][-1]) - np.asarray(res["predicted_mean"][-1]))
        q = int(np.argmax(d0))
        lines.append(
            f"At x = {format_number(xs[q])} the distance |measured − O(1/n)| falls from "
            f"{format_number(float(d0[q]), 3)} (n = {n0}) to {format_number(float(d1[q]), 3)} "
            f"(n = {n1}), a factor {format_number(float(d0[q] / d1[q]), 3)} where O(1/n²) "
            f"remainders give {format_number((n1 / n0) ** 2, 3)} (the standard error at "
            f"n = {n1} is {format_number(float(r.mean_stderr[-1, q]), 3)}). Where the points of "
            "the figure have not settled onto the dashed lines, the 1/n expansion of training "
            "has not converged at these widths for this data: the predicted coefficient is "
            "the limit, not a description of the smallest networks."
        )
    return lines
