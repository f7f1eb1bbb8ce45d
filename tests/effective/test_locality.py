"""Locality fits of the 4-point function and κ with the O(λ²) tree."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

import fieldnn as fnn
from fieldnn import errors
from fieldnn.effective._locality import _Legs, _multisets, quartic_features, tree_integrals
from fieldnn.integrals import two_vertex_integral, vertex_integral

X4 = np.array([[-0.5], [0.0], [0.5], [0.25]])
CUT = 2.0


@pytest.mark.parametrize("legs", ["full", "subtract_bias"])
def test_local_feature_is_the_vertex_integral(legs):
    net = fnn.SingleLayerNet("erf", width=10)
    tuples = _multisets(len(X4), 4)
    F = quartic_features(_Legs(net, X4, CUT, legs), tuples, ("lambda0",), 0.5)[:, 0]
    s = net.sigma_b2 if legs == "subtract_bias" else 0.0
    ref = vertex_integral(net.kernel, X4[tuples], cutoff=CUT, subtract=s).values
    np.testing.assert_allclose(F, -24.0 * ref, rtol=1e-11)


def test_position_dependent_and_nonlocal_features_against_scipy():
    """y^k-weighted and Gaussian-smeared vertices of one tuple by scipy quad / dblquad."""
    net = fnn.SingleLayerNet("gauss", width=10)
    t = np.array([[0, 1, 2, 3]])
    ell = 0.4
    F = quartic_features(_Legs(net, X4, CUT, "full"), t, ("lambda2", "lambda4", "nonlocal"), ell)[0]

    def leg(a, y):  # the Gauss-net kernel σ_b² + σ_W² exp(−(x − y)²/2), σ_b = σ_W = d_in = 1
        return 1.0 + np.exp(-0.5 * (X4[a, 0] - y) ** 2)

    def prod(y):
        return np.prod([leg(a, y) for a in range(4)])

    opts = {"epsabs": 0, "epsrel": 1e-12, "limit": 200}
    for k, col in ((2, 0), (4, 1)):
        ref = integrate.quad(lambda y, k=k: y**k * prod(y), -CUT, CUT, **opts)[0]
        assert F[col] == pytest.approx(-24.0 * ref, rel=1e-10)

    def W(u):
        return np.exp(-0.5 * u * u / ell**2) / np.sqrt(2 * np.pi * ell**2)

    total = 0.0
    for (a, b), (c, d) in (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))):
        total += integrate.dblquad(
            lambda z, y, a=a, b=b, c=c, d=d: (
                W(y - z) * leg(a, y) * leg(b, y) * leg(c, z) * leg(d, z)
            ),
            -CUT,
            CUT,
            -CUT,
            CUT,
            epsabs=0,
            epsrel=1e-11,
        )[0]
    assert F[2] == pytest.approx(-8.0 * total, rel=1e-9)


def test_tree_weight_from_the_symbolic_engine():
    """5760 λ² = 10 splits × 576: the connected 6-point tree of two λ vertices."""
    lam = sp.Symbol("lambda")
    c = fnn.Theory({lam: 4}).correlator(6, order=2, connected=True, exact_propagator=True)
    weights = [w for w, term in c.topologies() if term.graph.number_of_nodes() == 8]
    assert weights == [5760 * lam**2]


@pytest.mark.parametrize(("act", "rtol"), [("erf", 1e-10), ("relu", 1e-7)])
def test_tree_integral_against_two_vertex_integral(act, rtol):
    """Tree of one 6-tuple = Σ over the 10 splits of two_vertex_integral(internal_power=1)
    (relu: the |y − z|³ cusp of its kernel on the diagonal limits the tensor rule)."""
    from itertools import combinations

    net = fnn.SingleLayerNet(act, width=10)
    X = np.array([[-0.5], [0.0], [0.5], [0.25], [0.8], [-0.9]])
    tup = np.array([[0, 1, 2, 3, 4, 5], [0, 0, 1, 2, 4, 4]])
    T = tree_integrals(_Legs(net, X, CUT, "subtract_bias"), tup)
    for row, value in zip(tup, T, strict=True):
        left, right = [], []
        for first in combinations(range(1, 6), 2):
            lt = (0, *first)
            left.append(X[row[list(lt)]])
            right.append(X[row[[i for i in range(6) if i not in lt]]])
        ref = two_vertex_integral(
            net.kernel,
            np.array(left),
            np.array(right),
            cutoff=CUT,
            subtract=net.sigma_b2,
            internal_power=1,
            rtol=1e-12,
        ).values.sum()
        assert value == pytest.approx(ref, rel=rtol)


def test_fit_locality_least_squares_and_lambda_bar():
    net = fnn.SingleLayerNet("relu", width=10)
    Xtr = np.linspace(-1, 1, 6)[:, None]
    Xte = np.array([[-0.7], [0.3]])
    fits = [
        fnn.fit_locality(net, Xtr, Xte, cutoff=CUT, operators=ops)
        for ops in (("lambda0",), ("lambda0", "lambda2"), ("lambda0", "lambda2", "lambda4"))
    ]
    # nested operator sets: the training error cannot grow
    train = [f.train_error for f in fits]
    assert train[0] > train[1] > train[2]
    # the one-operator fit is the textbook regression through the origin, with its stderr
    X = np.vstack([Xtr, Xte])
    tuples = _multisets(len(X), 4)
    keep = np.all(tuples < len(Xtr), axis=1)
    F = quartic_features(_Legs(net, X, CUT, "full"), tuples, ("lambda0",), 0.5)[keep, 0]
    G = net.exact_connected(X, 4)[tuple(tuples[keep].T)]
    slope = F @ G / (F @ F)
    se = np.sqrt(np.sum((G - slope * F) ** 2) / (len(G) - 1) / (F @ F))
    assert fits[0].couplings["lambda0"] == pytest.approx(slope, rel=1e-12)
    assert fits[0].stderr["lambda0"] == pytest.approx(se, rel=1e-10)
    # λ̄ is measure_lambda's mean on the training inputs
    assert fits[0].lambda_bar == pytest.approx(
        fnn.measure_lambda(net, Xtr, cutoff=CUT).mean, rel=1e-12
    )
    assert fits[0].n_train == 126 and fits[0].n_test == 330 - 126
    d = fits[2].to_dict()
    assert d["operators"] == ["lambda0", "lambda2", "lambda4"] and "test_error" in d


@pytest.mark.slow
def test_six_point_consistency_seed_check_matches_six_point_check():
    """The λ-only N_1% is the one of experiments.nnqft.six_point_check (same inputs)."""
    from fieldnn.experiments import nnqft

    X = np.array([[-1.0], [-0.3], [0.4], [1.0]])
    net = fnn.SingleLayerNet("erf", width=10)
    r = fnn.six_point_consistency(net, X, cutoff=CUT)
    ref = nnqft.six_point_check("erf", X=X, widths=[10], cutoff=CUT, sampled_widths=[2], n_nets=200)
    assert r.width_1pct["lambda"] == pytest.approx(ref.width_1pct_max, rel=1e-6)
    assert set(r.width_1pct) == {"lambda", "lambda+kappa", "lambda+kappa+tree"}
    # the tree is of the same order as the κ term: it moves κ̄ by more than its own size here
    assert r.tree_fraction > 0.1
    assert r.kappa_bar_tree != pytest.approx(r.kappa_bar, rel=0.1)


def test_kappa_with_tree_is_measure_kappa_plus_the_tree_over_its_denominator():
    X = np.array([[0.2], [0.5], [0.9], [1.3]])
    net = fnn.SingleLayerNet("relu", width=10)
    r = fnn.six_point_consistency(net, X, cutoff=CUT, legs="subtract_bias")
    net1 = fnn.SingleLayerNet("relu", width=1)
    lam = fnn.measure_lambda(net1, X, cutoff=CUT, legs="subtract_bias").mean
    kap = fnn.measure_kappa(net1, X, cutoff=CUT, legs="subtract_bias", lambda_bar=lam)
    T = tree_integrals(_Legs(net, X, CUT, "subtract_bias"), kap.tuples)
    assert r.lambda_bar == pytest.approx(lam, rel=1e-12)
    assert r.kappa_bar == pytest.approx(np.mean(kap.values), rel=1e-12)
    expected = np.mean(kap.values + 576 * lam**2 * T / kap.denominators)
    assert r.kappa_bar_tree == pytest.approx(expected, rel=1e-10)
    assert 1.0 <= r.width_1pct["lambda+kappa+tree"] < np.inf


def test_bad_input_names_the_argument():
    net = fnn.SingleLayerNet("erf", width=10)
    Xtr = np.linspace(-1, 1, 5)[:, None]
    with pytest.raises(errors.UnknownNameError, match="'operators'"):
        fnn.fit_locality(net, Xtr, [[0.1]], cutoff=2.0, operators=("lambda3",))
    with pytest.raises(errors.UnknownNameError, match="'legs'"):
        fnn.fit_locality(net, Xtr, [[0.1]], cutoff=2.0, legs="half")
    with pytest.raises(errors.ArgumentError, match="'cutoff'"):
        fnn.fit_locality(net, Xtr, [[0.1]], cutoff=-1.0)
    with pytest.raises(errors.UnsupportedError, match="'X'"):
        fnn.fit_locality(
            fnn.SingleLayerNet("erf", width=10, d_in=2), np.zeros((5, 2)), [[0.1, 0.2]], cutoff=2.0
        )
    with pytest.raises(errors.UnsupportedError, match="'net'"):
        fnn.six_point_consistency(fnn.MLP("tanh", [1, 4, 1]), Xtr, cutoff=2.0)


@pytest.mark.slow
def test_tables_quoted_in_the_docs():
    """docs/exact_density.md: the locality and the six-point tables (3 significant digits)."""
    Xtr = np.linspace(-1, 1, 7)[:, None]
    Xte = 0.5 * (Xtr[1:] + Xtr[:-1])
    ops = (("lambda0",), ("lambda0", "lambda2"), ("lambda0", "lambda2", "lambda4"))
    ops = (*ops, ("lambda0", "nonlocal"))
    table = {
        ("erf", "full"): (0.313, 0.315, 0.295, 0.295, 0.295),
        ("erf", "subtract_bias"): (0.877, 0.815, 0.645, 0.199, 0.661),
        ("relu", "full"): (0.258, 0.251, 0.169, 0.121, 0.175),
        ("relu", "subtract_bias"): (1.558, 0.575, 0.208, 0.142, 0.222),
        ("gauss", "full"): (0.940, 0.964, 0.958, 0.771, 0.957),
        ("gauss", "subtract_bias"): (0.863, 0.972, 0.721, 0.305, 0.957),
    }
    for (act, legs), row in table.items():
        net = fnn.SingleLayerNet(act, width=10)
        fits = [fnn.fit_locality(net, Xtr, Xte, cutoff=10.0, operators=o, legs=legs) for o in ops]
        got = [fits[0].lambda_bar_test_error] + [f.test_error for f in fits]
        assert np.round(got, 3).tolist() == list(row), (act, legs)
        assert all(f.n_train == 210 and f.n_test == 1610 for f in fits)
    X = np.linspace(-1, 1, 6)[:, None]
    six = {
        ("erf", "full"): (14.1, 14.1, 14.1, 6.3, 2.2),
        ("erf", "subtract_bias"): (124, 123, 113, 15.5, 9.8),
        ("relu", "full"): (190, 193, 205, 0.57, 0.58),
        ("relu", "subtract_bias"): (1575, 1575, 1612, 1.36, 0.85),
        ("gauss", "full"): (6.88e5, 6.86e5, 6.86e5, 11.8, 11.8),
    }
    for (act, legs), (w1, w2, w3, s1, s2) in six.items():
        r = fnn.six_point_consistency(fnn.SingleLayerNet(act, width=10), X, cutoff=10.0, legs=legs)
        w = r.width_1pct
        widths = (w["lambda"], w["lambda+kappa"], w["lambda+kappa+tree"])
        np.testing.assert_allclose(widths, (w1, w2, w3), rtol=5e-3)
        np.testing.assert_allclose((r.kappa_spread, r.kappa_spread_tree), (s1, s2), rtol=5e-2)
        assert r.n_tuples == 462
        couplings = (r.lambda_bar, r.kappa_bar, r.kappa_bar_tree, r.tree_fraction)
        np.testing.assert_allclose(couplings[:3], COUPLINGS[(act, legs)][:3], rtol=2e-2)
        if act == "gauss":
            assert r.tree_fraction < 0.005
        else:
            assert r.tree_fraction == pytest.approx(COUPLINGS[(act, legs)][3], rel=3e-2)


COUPLINGS = {  # N λ̄, N² κ̄, N² κ̄ with the tree, tree / κ term (docs/exact_density.md)
    ("erf", "full"): (-3.66e-4, -4.12e-7, 1.19e-6, 1.6),
    ("erf", "subtract_bias"): (-0.159, 0.0111, 0.158, 112),
    ("relu", "full"): (-1.82e-4, -3.5e-7, 7.89e-7, 3.2),
    ("relu", "subtract_bias"): (-1.40e-3, -1.43e-6, 2.09e-5, 4.7),
    ("gauss", "full"): (-0.344, -2.01e3, -2.01e3, 0.0),
}
