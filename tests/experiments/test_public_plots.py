"""The public plot helpers draw what they say: points, error bars, flags and reference lines."""

from __future__ import annotations

from itertools import combinations_with_replacement

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import ArgumentTypeError
from fieldnn.report import (
    activation_label,
    plot_correlators,
    plot_criticality,
    plot_lambda,
)

X = np.array([[-0.5], [0.0], [0.5]])


def teardown_function() -> None:
    plt.close("all")


def test_plot_lambda_draws_every_tuple_and_the_mean():
    meas = fnn.measure_lambda(fnn.SingleLayerNet("erf", 10), X, cutoff=5.0)
    ax = plot_lambda(meas)
    points = ax.lines[0]
    assert np.array_equal(points.get_ydata(), meas.values)
    assert any(np.allclose(line.get_ydata(), meas.mean) for line in ax.lines[1:])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(r"\bar\lambda" in t for t in labels) and any("spread" in t for t in labels)
    with pytest.raises(ArgumentTypeError):
        plot_lambda(object())


def test_plot_correlators_flags_what_the_tail_diagnostic_rejects():
    net = fnn.SingleLayerNet("gauss", 10)
    est = fnn.estimate_correlators(net, X, 20_000, orders=(2, 4, 6), rng=3)
    ax = plot_correlators(est, 6, exact=net.exact_connected(X, 6))
    n_entries = 28  # multisets of 6 of 3 inputs
    rejected = sum(not bool(est.reliable(6)[i]) for i in combinations_with_replacement(range(3), 6))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    if rejected:
        assert any(f"({rejected} of {n_entries})" in t for t in labels)
    else:
        assert not any("rejected" in t for t in labels)
    assert "exact" in labels
    exact_line = next(line for line in ax.lines if line.get_label() == "exact")
    assert len(exact_line.get_xdata()) == n_entries


def test_plot_correlators_all_reliable_for_erf():
    est = fnn.estimate_correlators(fnn.SingleLayerNet("erf", 10), X, 20_000, orders=(2, 4), rng=0)
    ax = plot_correlators(est, 4)
    assert not any("rejected" in t.get_text() for t in ax.get_legend().get_texts())


def test_plot_criticality_marks_the_fixed_point_and_names_a_user_activation():
    def arctan(z):
        return np.arctan(z)

    res = fnn.criticality("tanh", C_b=0.5, C_W=1.5)
    ax = plot_criticality(res)
    star = ax.lines[-1]
    assert star.get_xdata()[0] == pytest.approx(res.K_star)
    assert res.phase in ax.get_title()
    user = fnn.criticality(arctan, C_b=0.5, C_W=1.5)
    ax = plot_criticality(user, activation=arctan)
    assert any("arctan" in t.get_text() for t in ax.get_legend().get_texts())
    assert activation_label(arctan) == "arctan"
    assert activation_label(fnn.get_activation("gelu")) == "gelu"


def test_nlo_fit_recovers_a_known_line_and_its_errors():
    from types import SimpleNamespace

    from fieldnn.report.plots_eft import nlo_fit

    rng = np.random.default_rng(0)
    n = np.array([4.0, 8.0, 16.0, 32.0])
    a, b, sigma = -0.031, -0.02, 0.002  # n (G − K) = a + b/n, error σ on n (G − K)
    pulls = []
    for _ in range(400):
        y = a + b / n + sigma * rng.standard_normal(4)
        nlo = SimpleNamespace(widths=n, sampled=y / n, stderr=sigma / n, G1=a)
        fit = nlo_fit(nlo)
        pulls.append(fit["intercept_pull"])
    pulls = np.array(pulls)
    assert abs(np.mean(pulls)) < 0.15 and 0.85 < np.std(pulls) < 1.15
    exact = nlo_fit(SimpleNamespace(widths=n, sampled=(a + b / n) / n, stderr=sigma / n, G1=a))
    assert exact["intercept"] == pytest.approx(a) and exact["slope"] == pytest.approx(b)
    assert exact["chi2_dof"] == pytest.approx(0.0, abs=1e-20)
