"""measure_lambda / measure_kappa against closed forms derived by hand.

ReLU-net with σ_b = 0, σ_W = 1, d_in = 1 and positive inputs: f(x) = x F with
F = Σ_j W_j relu(w_j), W_j ~ N(0, 1/N), w_j ~ N(0, 1), so every correlator is Π x_a times a
moment of F: κ₄(F) = 3.75/N, κ₆(F) = 82.5/N² (from ⟨relu(w)^{2k}⟩ = (2k−1)!!/2). The kernel is
K(x, y) = x y/2 for y > 0 and 0 for y < 0, hence ∫_{−Λ}^{Λ} Π_a K(x_a, y) dy = Π x_a Λ⁵/80, etc.
"""

from __future__ import annotations

import numpy as np
import pytest

from fieldnn.ensembles import SingleLayerNet, estimate_correlators
from fieldnn.errors import ArgumentError, ShapeError, UnknownNameError
from fieldnn.experiments import measure_kappa, measure_lambda, published_setup
from fieldnn.experiments.couplings import cutoff_ladder, multisets

X_RELU = np.array([0.2, 0.6, 1.0, 1.2])[:, None]


def relu_net(width: int = 10, d_out: int = 1) -> SingleLayerNet:
    return SingleLayerNet("relu", width, d_in=1, sigma_w2=1.0, sigma_b2=0.0, d_out=d_out)


@pytest.mark.parametrize(("width", "cutoff"), [(10, 10.0), (3, 2.5)])
def test_lambda_relu_closed_form(width: int, cutoff: float) -> None:
    m = measure_lambda(relu_net(width), X_RELU, cutoff=cutoff)
    expected = -3.75 / width / (24 * cutoff**5 / 80)  # −G4c/(24 I4), Π x cancels
    assert m.values == pytest.approx(np.full(len(m.values), expected), rel=1e-7)
    assert m.is_constant and m.std < 1e-9 * abs(m.mean)
    assert len(m.tuples) == 35  # multisets of 4 out of 4 inputs
    assert m.stderr is None and m.source == "exact" and m.legs == "full"
    assert m.conventions["legs"] == "full"


def test_kappa_relu_closed_form() -> None:
    N, lam_cut = 10, 10.0
    k = measure_kappa(relu_net(N), X_RELU, cutoff=lam_cut)
    # δ′ = G6c exactly (λ is exact); denominator Π x Λ⁷ (720 + 360·15)/448
    expected = -82.5 / N**2 * 448 / (6120 * lam_cut**7)
    assert k.values == pytest.approx(np.full(len(k.values), expected), rel=1e-6)
    assert k.lambda_bar == pytest.approx(-3.75 / N / (24 * lam_cut**5 / 80), rel=1e-8)
    # ratio = (GP6 + Σ K G4c)/(GP6 + Σ K G4c + G6c) with the same Π x: check one tuple
    # through the exact correlators of the net (independent of the integrals)
    net = relu_net(N)
    g6 = net.exact_full(X_RELU, 6)
    t = tuple(k.tuples[7])
    pred = g6[t] - net.exact_connected(X_RELU, 6)[t]
    assert k.ratio[7] == pytest.approx(pred / g6[t], rel=1e-8)


def test_sampled_lambda_agrees_with_exact_within_errors() -> None:
    net = relu_net(5)
    est = estimate_correlators(net, X_RELU, 40_000, orders=(2, 4), rng=3)
    exact = measure_lambda(net, X_RELU, cutoff=5.0)
    sampled = measure_lambda(est, X_RELU, cutoff=5.0, kernel=net)
    assert sampled.source == "sampled" and sampled.stderr is not None
    assert sampled.mean_stderr > 0
    assert abs(sampled.mean - exact.mean) < 4 * sampled.mean_stderr
    pulls = (sampled.values - exact.values) / sampled.stderr
    assert np.mean(np.abs(pulls) < 4) > 0.9


def test_species_components_for_several_outputs() -> None:
    net2 = SingleLayerNet("erf", 10, d_in=1, d_out=2)
    net1 = SingleLayerNet("erf", 10, d_in=1)
    X = np.array([-1.0, 0.2, 1.0])[:, None]
    a = measure_lambda(net2, X, cutoff=3.0, species=(0, 0, 0, 0))
    b = measure_lambda(net1, X, cutoff=3.0)
    assert a.values == pytest.approx(b.values, rel=1e-10)  # iiii does not depend on d_out
    c = measure_lambda(net2, X, cutoff=3.0, species=(0, 1, 0, 1))
    g = net2.exact_connected(X, 4)[..., 0, 1, 0, 1]
    assert c.values == pytest.approx(-g[tuple(c.tuples.T)] / (8 * c.integrals), rel=1e-10)


def test_subtract_bias_uses_k_minus_sigma_b2() -> None:
    st = published_setup("gauss", 1)
    net = st.net(10)
    full = measure_lambda(net, st.X, cutoff=4.0)
    sub = measure_lambda(net, st.X, cutoff=4.0, legs="subtract_bias")
    assert sub.numerators == pytest.approx(full.numerators)  # numerator is leg-independent
    # Gauss-net legs: K − σ_b² = exp(−(x − y)²/2); check one integral by quadrature
    y, wts = np.polynomial.legendre.leggauss(200)
    y4, w4 = 4.0 * y, 4.0 * wts
    t = sub.tuples[5]
    legs = np.prod([np.exp(-((st.X[a, 0] - y4) ** 2) / 2) for a in t], axis=0)
    assert sub.integrals[5] == pytest.approx(float(w4 @ legs), rel=1e-9)
    assert "σ_b²" in sub.conventions["leg_kernel"]


def test_errors_name_the_argument() -> None:
    net = relu_net()
    with pytest.raises(UnknownNameError, match="legs"):
        measure_lambda(net, X_RELU, cutoff=1.0, legs="bias")
    with pytest.raises(ArgumentError, match="cutoff"):
        measure_lambda(net, X_RELU, cutoff=-1.0)
    with pytest.raises(ShapeError, match="tuples"):
        measure_lambda(net, X_RELU, cutoff=1.0, tuples=[[0, 1, 2]])
    with pytest.raises(ArgumentError, match="kernel"):
        measure_lambda(np.zeros((4, 4, 4, 4)), X_RELU, cutoff=1.0)


def test_multisets_and_ladder() -> None:
    assert len(multisets(6, 4)) == 126 and len(multisets(6, 6)) == 462
    ladder = cutoff_ladder(1000.0, np.array([[0.5], [-0.2]]))
    assert ladder == [-100.0, -10.0, -1.0, -0.2, 0.0, 0.5, 1.0, 10.0, 100.0]
    assert cutoff_ladder(5.0, np.zeros((2, 2))) == [0.0]
