"""Training at finite width (``eft.finite_width_training`` and report section 7) at reduced sizes.

Independent methods: numpy's own moments of the trained outputs, the infinite-width
:func:`fieldnn.gradient_flow_prediction`, the 1/n scaling of the prediction (n·correction the
same at every width), and trained ensembles against the O(1/n) prediction within k·σ.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import ArgumentError, ArgumentTypeError, FieldnnError
from fieldnn.experiments import _eft_training, eft
from fieldnn.report import format_number
from fieldnn.report._eft_common import _TINY
from fieldnn.report._eft_training_section import _training
from fieldnn.report._writer import ReportWriter

from ._report_tables import table_rows

K_SIGMA = 4.5  # several pulls per run


@pytest.fixture(scope="module")
def small() -> eft.FiniteWidthTraining:
    return eft.finite_width_training(
        widths=(16, 32), n_replicas=400, steps=20, chunk_size=150, rng=5
    )


def test_predictions_scale_like_one_over_n_and_reduce_to_gradient_flow(small):
    n = small.widths[:, None].astype(float)
    coeff = n * (small.predicted_mean - small.infinite_mean)
    np.testing.assert_allclose(coeff[0], coeff[1], rtol=1e-8, atol=1e-12)
    terms = sum(small.mean_terms.values())
    np.testing.assert_allclose(terms, small.predicted_mean - small.infinite_mean, atol=1e-12)
    mlp = fnn.MLP("erf", [1, 16, 16, 1], C_W=1.0, C_b=0.1)
    mean, cov = fnn.gradient_flow_prediction(
        mlp, small.X_train, small.y_train, small.X_test, t=small.t,
        learning_rate=small.learning_rate,
    )  # fmt: skip
    np.testing.assert_allclose(small.infinite_mean, np.asarray(mean).reshape(-1), rtol=1e-10)
    np.testing.assert_allclose(small.infinite_var, np.diag(cov), rtol=1e-10)


def test_moments_of_the_trained_outputs():
    rng = np.random.default_rng(1)
    out = rng.standard_normal((5000, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, -1.0]
    mean, mean_err, var, var_err = _eft_training._moments(out)
    np.testing.assert_allclose(mean, out.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(var, out.var(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(mean_err, out.std(axis=0, ddof=1) / np.sqrt(5000), rtol=1e-12)
    # Gaussian data: stderr of s² is s²·√(2/R) up to sampling error of the fourth moment
    np.testing.assert_allclose(var_err, var * np.sqrt(2 / 5000), rtol=0.1)


def test_trained_ensembles_agree_with_the_order_one_over_n_prediction(small):
    assert small.measured_mean.shape == (2, 3) and small.var_stderr.shape == (2, 3)
    assert np.all(np.abs(small.z_finite) < K_SIGMA), small.z_finite
    pulls = (small.measured_var - small.predicted_var) / small.var_stderr
    assert np.all(np.abs(pulls) < K_SIGMA), pulls
    # the training moved the outputs: the ensemble is not at its initial mean 0
    assert np.all(np.abs(small.measured_mean) > 10 * small.mean_stderr)


def test_training_part_from_the_linearised_networks(small):
    """The trained minus the linearised outputs against the dNTK + ddNTK terms, and the
    linearised networks' mean against the rest of the prediction (n → ∞ mean + NTK mean shift +
    NTK fluctuations), within k·σ; the control variate measures the training part with a
    smaller error than the raw mean has (stderr ratio < 0.5)."""
    assert np.all(np.abs(small.z_training) < K_SIGMA), small.z_training
    np.testing.assert_allclose(small.linearised_mean + small.training_shift, small.measured_mean,
                               rtol=0, atol=1e-12)  # fmt: skip
    frozen = small.infinite_mean + small.mean_terms["ntk_mean"] + small.mean_terms["ntk_variance"]
    pulls = (small.linearised_mean - frozen) / small.linearised_stderr
    np.testing.assert_allclose(pulls, small.z_linearised, rtol=1e-12)
    assert np.all(np.abs(pulls) < K_SIGMA), pulls
    assert np.all(small.training_shift_stderr < 0.5 * small.mean_stderr)


def test_variance_split_from_the_linearised_networks(small):
    """The variance's parts: the predicted terms are FiniteWidthPrediction.cov_terms (they sum
    to the O(1/n) shift), the NTK part s²(z_lin) − s²(B z₀) and the training part s²(z) −
    s²(z_lin) agree with their terms within k·σ, and the three parts' predictions add up."""
    terms = sum(small.var_terms.values())
    np.testing.assert_allclose(terms, small.predicted_var - small.infinite_var, atol=1e-14)
    total, frozen, training = (small.var_part(p) for p in ("total", "frozen", "training"))
    np.testing.assert_allclose(total[2], frozen[2] + training[2] + small.var_terms["kernel"],
                               atol=1e-14)  # fmt: skip
    for part in (frozen, training):
        pulls = (part[0] - part[2]) / part[1]
        assert np.all(np.abs(pulls) < K_SIGMA), pulls
    assert np.all(np.abs(frozen[2]) > 3 * frozen[1])  # the NTK's variance terms are resolved
    with pytest.raises(ArgumentError, match="part"):
        small.var_part("kernel")


def test_paired_variance_and_its_error():
    """_paired_var is numpy's s²(u) − s²(v), and its standard error is the spread of the
    estimate over 400 independent repetitions (within 10 %)."""
    rng = np.random.default_rng(7)
    g, h = rng.standard_normal((2, 400, 2000, 2))
    u, v = g + 0.1 * h + 0.05 * g**2, g
    est = [_eft_training._paired_var(a, b) for a, b in zip(u, v, strict=True)]
    np.testing.assert_allclose(est[0][0], u[0].var(0, ddof=1) - v[0].var(0, ddof=1), rtol=1e-12)
    spread = np.std([e[0] for e in est], axis=0, ddof=1)
    np.testing.assert_allclose(np.mean([e[1] for e in est], axis=0), spread, rtol=0.1)


@pytest.fixture(scope="module")
def hidden_predictions(small) -> list:
    """hidden_kernel_change of the last hidden layer on the fixture's problem, one per width."""
    return [_hidden_change(small, int(n)) for n in small.widths]


def _hidden_change(r: eft.FiniteWidthTraining, n: int, layer: int | None = None):
    kw = {"t": r.t, "learning_rate": r.learning_rate, "layer": layer}
    mlp = fnn.MLP("erf", [1, n, n, 1], C_W=1.0, C_b=0.1)
    return fnn.hidden_kernel_change(mlp, r.X_train, r.y_train, r.X_test, **kw)


def test_hidden_kernel_change_of_the_same_networks(small, hidden_predictions):
    """The paired change of each hidden layer's kernel: the prediction is hidden_kernel_change
    (layer=ℓ) at every width, the last layer's is ``hidden_*``, the measurement is symmetric,
    seen (> 3σ) in each layer, and within k·σ at these short times."""
    assert small.layer_change.shape == (2, 2, 3, 3)
    for i, pred in enumerate(hidden_predictions):
        np.testing.assert_allclose(small.hidden_predicted[i], pred.change, rtol=1e-12)
        first = _hidden_change(small, int(small.widths[i]), layer=1).change
        np.testing.assert_allclose(small.layer_predicted[i, 0], first, rtol=1e-12)
    np.testing.assert_array_equal(small.hidden_change, small.layer_change[:, -1])
    np.testing.assert_array_equal(small.hidden_change_stderr, small.layer_change_stderr[:, -1])
    np.testing.assert_allclose(small.layer_change, np.swapaxes(small.layer_change, 2, 3))
    pulls = (small.layer_change - small.layer_predicted) / small.layer_change_stderr
    assert np.all(np.abs(pulls) < K_SIGMA), pulls
    seen = np.abs(small.layer_change) / small.layer_change_stderr
    assert np.all(seen.max(axis=(0, 2, 3)) > 3), seen  # in each layer


def test_hidden_kernel_variance_of_the_same_networks(small, hidden_predictions):
    """The variance of the trained hidden kernel: predicted by hidden_kernel_change(...).cov
    at every width, measured within k·σ of it; its paired change during training is the
    difference of numpy's sample variances, and small against the variance (O(1/n²))."""
    for i, pred in enumerate(hidden_predictions):
        np.testing.assert_allclose(
            small.hidden_var_predicted[i], np.einsum("aaaa->a", pred.cov), rtol=1e-12
        )
    pulls = (small.hidden_var - small.hidden_var_predicted) / small.hidden_var_stderr
    assert np.all(np.abs(pulls) < K_SIGMA), pulls
    assert np.all(small.hidden_var / small.hidden_var_stderr > 10)  # the variance is resolved
    assert np.all(np.abs(small.hidden_var_shift) < 0.1 * small.hidden_var_predicted)
    # paired, the O(n^{-1/2}) fluctuation of Ĝ' cancels: the error of the change is a fraction
    # ~ 1/√n of that of the variance (0.36–0.70 here), smaller at the larger width
    ratio = small.hidden_var_shift_stderr / small.hidden_var_stderr
    assert np.all(ratio < 0.8) and np.all(ratio[1] < ratio[0]), ratio


def test_same_seed_same_result_and_chunks_are_drawn_independently():
    kw = {"widths": (8,), "n_replicas": 9, "steps": 2}
    a = eft.finite_width_training(**kw, chunk_size=4, rng=3)
    b = eft.finite_width_training(**kw, chunk_size=4, rng=3)
    c = eft.finite_width_training(**kw, chunk_size=9, rng=3)
    assert np.array_equal(a.measured_mean, b.measured_mean)
    assert not np.array_equal(a.measured_mean, c.measured_mean)


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"widths": (16, 0)}, ArgumentError, "widths"),
        ({"widths": (16.5,)}, ArgumentTypeError, "widths"),
        ({"n_replicas": 1}, ArgumentError, "n_replicas"),
        ({"steps": 0}, ArgumentError, "steps"),
        ({"learning_rate": -0.1}, ArgumentError, "learning_rate"),
        ({"learning_rate": 1.0}, ArgumentError, "learning_rate"),  # η λ_max(Θ) > 2
        ({"chunk_size": 1}, ArgumentError, "chunk_size"),
        ({"depth": 1}, ArgumentError, "depth"),
    ],
)
def test_bad_arguments_are_refused_before_any_training(kwargs, error, argument, monkeypatch):
    def never(*args, **kw):  # pragma: no cover - reached only if validation is late
        raise AssertionError("trained before checking the arguments")

    monkeypatch.setattr(_eft_training, "train_replicas", never)
    with pytest.raises(error, match=argument):
        eft.finite_width_training(**{"widths": (16,), "n_replicas": 4, **kwargs})


def test_relu_is_refused_before_any_training(monkeypatch):
    monkeypatch.setattr(_eft_training, "train_replicas", None)  # a call would be a TypeError
    with pytest.raises(FieldnnError):
        eft.finite_width_training("relu", widths=(16,), n_replicas=4)


def test_a_failure_keeps_the_finished_widths(monkeypatch):
    real = _eft_training.train_replicas
    calls = []

    def failing(mlp, *args, **kw):
        calls.append(mlp.widths[1])
        if mlp.widths[1] == 16:
            raise KeyboardInterrupt
        return real(mlp, *args, **kw)

    monkeypatch.setattr(_eft_training, "train_replicas", failing)
    with pytest.raises(KeyboardInterrupt) as info:
        eft.finite_width_training(widths=(8, 16), n_replicas=4, steps=2)
    partial = info.value.partial_result
    assert partial["widths"] == (8,) and len(partial["moments"]) == 1
    assert len(partial["predictions"]) == 2


def test_section_renders_stored_numbers(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    w = ReportWriter(tmp_path / "out", force=False, title="t", arguments=None)
    _training(w, _TINY)
    out = w.finish()
    assert (out / "finite_width_mean.png").stat().st_size > 1000
    assert (out / "finite_width_variance_split.png").stat().st_size > 1000
    for name in ("finite_training", "finite_training_variance", "finite_training_terms",
                 "finite_training_frozen", "finite_training_dynamics",
                 "finite_training_variance_split", "finite_training_hidden",
                 "finite_training_hidden_variance"):  # fmt: skip
        assert r"\bottomrule" in (out / f"{name}.tex").read_text()
    r = json.loads((out / "results.json").read_text())["training"]
    report = (out / "report.md").read_text()
    assert "7. Training at finite width" in report
    # every hidden layer's change, its pulls recomputed from the stored arrays
    change, err, pred = (np.array(r[k]) for k in ("layer_change", "layer_change_stderr",
                                                   "layer_predicted"))  # fmt: skip
    rows = table_rows(report, "| n | ℓ | (x, x′) |")
    iu = np.triu_indices(3)
    expected = [
        [str(n), str(layer), format_number(v, 3)]
        for i, n in enumerate(r["widths"])
        for layer in (1, 2)
        for v in ((change - pred) / err)[i, layer - 1][iu]
    ]
    assert [[row[0], row[1], row[-1]] for row in rows] == expected
    rel = r["hidden_variance"]["max_relative_shift"]
    trend = "falls with the width here" if np.all(np.diff(rel) < 0) else "does not fall steadily"
    assert f"relative to the variance it {trend}" in report
    for i, n in enumerate(r["widths"]):
        row = f"| {n} | {format_number(r['z_rms_infinite'][i], 3)} | "
        assert row + f"{format_number(r['z_rms_finite'][i], 3)} |" in report
    # the words follow the numbers: no claim of agreement where a pull exceeds 3
    within = [n for i, n in enumerate(r["widths"]) if r["z_max_finite"][i] <= 3]
    claim = re.search(r"agrees within 3 standard errors at every test input at n = ([\d, ]+)\.",
                      report)  # fmt: skip
    if within:
        assert claim and [int(k) for k in claim.group(1).split(", ")] == within
    else:
        assert claim is None and "at no width does it agree" in report


def test_the_mean_plot_draws_each_part_against_its_own_terms(small):
    """Dashed lines at n·(the part's O(1/n) terms), points at n·(its measured mean); an unknown
    part is refused by name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fieldnn.report import plots_training

    n = small.widths[:, None].astype(float)
    expected = {
        "total": small.predicted_mean - small.infinite_mean,
        "frozen": small.linearised_predicted - small.infinite_mean,
        "training": small.training_predicted,
    }
    points = {"training": small.training_shift}
    for part, terms in expected.items():
        ax = plots_training.plot_finite_width_mean(small, part=part)
        dashed = [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        np.testing.assert_allclose(dashed, n[0] * terms[0], rtol=1e-12)
        if part in points:
            drawn = ax.containers[0].lines[0].get_ydata()
            np.testing.assert_allclose(drawn, n[:, 0] * points[part][:, 0], rtol=1e-12)
        plt.close(ax.figure)
    with pytest.raises(ArgumentError, match="part"):
        plots_training.plot_finite_width_mean(small, part="kernel")
    for part in ("total", "frozen", "training"):  # the variance: its own parts and terms
        measured, _, predicted = small.var_part(part)
        ax = plots_training.plot_finite_width_variance(small, part=part)
        dashed = [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        np.testing.assert_allclose(dashed, n[0] * predicted[0], rtol=1e-12)
        drawn = ax.containers[0].lines[0].get_ydata()
        np.testing.assert_allclose(drawn, n[:, 0] * measured[:, 0], rtol=1e-12)
        plt.close(ax.figure)
    with pytest.raises(ArgumentError, match="part"):
        plots_training.plot_finite_width_variance(small, part="kernel")
