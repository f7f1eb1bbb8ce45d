"""The effective action held against independent methods.

* quadrature: the exact moments of a known stable action (zero-dimensional O(d) and on two
  points) reconstruct its couplings with residuals O(ε³) at order 2;
* exact single-layer cumulants: the action's predicted G2, G4c, G6c (engine diagrams with the
  full couplings) leave residuals falling like 1/N^(order+1);
* deep recursions: the first-order terms of the predicted correlators are K^{1}/n and V/n;
* ``match_quartic(m)`` at one input with m outputs; S(f) against its written formula;
* sampled estimates: couplings within their propagated errors of the exact ones.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

import fieldnn as fnn

X3 = np.array([[-0.7], [0.2], [1.1]])


def _pairings(items):
    if not items:
        yield []
        return
    a, rest = items[0], items[1:]
    for k, b in enumerate(rest):
        for p in _pairings(rest[:k] + rest[k + 1 :]):
            yield [(a, b), *p]


def _pairing_tensor(c: float, n: int, d: int) -> np.ndarray:
    """c Σ_pairings Π δ on n species indices of dimension d."""
    t = np.zeros((d,) * n)
    for idx in itertools.product(range(d), repeat=n):
        t[idx] = c * sum(all(idx[a] == idx[b] for a, b in p) for p in _pairings(list(range(n))))
    return t


def _radial_cumulants(d: int, a: float, g4: float, g6: float) -> tuple[float, float, float]:
    """Pairing coefficients (G, c4, c6) of the O(d) weight exp(−a r²/2 + g4 r⁴/8 + g6 r⁶/48)."""

    def moment(k: int) -> float:
        def f(r):
            return r ** (d - 1 + k) * np.exp(-a * r * r / 2 + g4 * r**4 / 8 + g6 * r**6 / 48)

        return integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]

    z = moment(0)
    r2, r4, r6 = (moment(k) / z for k in (2, 4, 6))
    m2 = r2 / d  # ⟨φ1²⟩
    m4 = 3 * r4 / (d * (d + 2))  # ⟨φ1⁴⟩
    m6 = 15 * r6 / (d * (d + 2) * (d + 4))  # ⟨φ1⁶⟩
    k4 = m4 - 3 * m2**2
    k6 = m6 - 15 * m4 * m2 + 30 * m2**3
    return m2, k4 / 3, k6 / 15


@pytest.mark.parametrize("d", [1, 3])
def test_zero_dim_round_trip_by_quadrature(d):
    """Known O(d) action → exact cumulants (quadrature) → order-2 couplings: residual O(ε³)."""
    a, u4, u6 = 1.3, -0.4, -0.3  # γ4 = u4 ε, γ6 = u6 ε² (negative: the weight is normalisable)
    residuals = []
    for eps in (0.04, 0.02):
        G, c4, c6 = _radial_cumulants(d, a, u4 * eps, u6 * eps**2)
        e = np.eye(d)
        two = (G * e).reshape(1, 1, d, d) if d > 1 else np.array([[G]])
        four = _pairing_tensor(c4, 4, d).reshape((1,) * 4 + (d,) * 4 if d > 1 else (1,) * 4)
        six = _pairing_tensor(c6, 6, d).reshape((1,) * 6 + (d,) * 6 if d > 1 else (1,) * 6)
        S = fnn.effective_action((two, four, six), order=2)
        res = [
            abs(S.gamma(2).item() - a),
            abs(S.gamma(4).item() - u4 * eps),
            abs(S.gamma(6).item() - u6 * eps**2),
        ]
        first = fnn.effective_action((two, four), order=1)
        assert abs(first.gamma(4).item() - u4 * eps) > 3 * res[1]  # order 2 improves on 1
        residuals.append(res)
    for big, small in zip(*residuals, strict=True):
        assert small < big / 5.5, (big, small)  # ε³: a factor 8 per halving


def test_two_point_round_trip_by_quadrature():
    """A quartic action on two points: Gauss–Hermite moments reconstruct Γ, γ(4), γ(6) = 0."""
    gamma = np.array([[1.2, 0.4], [0.4, 0.9]])
    vs = np.array([[1.0, 0.3], [-0.2, 1.0], [0.7, 0.7]])
    ws = np.array([1.0, 0.5, 0.8])
    base = np.einsum("v,va,vb,vc,vd->abcd", ws, vs, vs, vs, vs)  # S ⊃ ε Σ w (v·f)⁴ >= 0
    L = np.linalg.cholesky(np.linalg.inv(gamma))
    t, w = np.polynomial.hermite_e.hermegauss(90)
    z = np.stack(np.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
    wz = np.outer(w, w).reshape(-1)
    f = z @ L.T
    residuals = []
    for eps in (0.001, 0.0005):  # loop parameter 24 ε |base| |D|² ≪ 1
        weight = wz * np.exp(-eps * np.einsum("abcd,ma,mb,mc,md->m", base, f, f, f, f))
        weight /= weight.sum()

        def moment(n, f=f, weight=weight):
            out = np.zeros((2,) * n)
            for idx in itertools.product(range(2), repeat=n):
                out[idx] = np.sum(weight * np.prod(f[:, idx], axis=1))
            return out

        m2, m4, m6 = moment(2), moment(4), moment(6)
        c4 = m4.copy()
        for idx in itertools.product(range(2), repeat=4):
            c4[idx] -= sum(
                np.prod([m2[idx[i], idx[j]] for i, j in p]) for p in _pairings([0, 1, 2, 3])
            )
        c6 = m6.copy()
        for idx in itertools.product(range(2), repeat=6):
            pos = list(range(6))
            for p in _pairings(pos):  # −Σ (m4 m2 terms) + 2 Σ (m2 m2 m2) over set partitions
                c6[idx] += 2 * np.prod([m2[idx[i], idx[j]] for i, j in p])
            for four in itertools.combinations(pos, 4):
                rest = [k for k in pos if k not in four]
                c6[idx] -= m4[tuple(idx[k] for k in four)] * m2[idx[rest[0]], idx[rest[1]]]
        S = fnn.effective_action((m2, c4, c6), order=2)
        first = fnn.effective_action((m2, c4), order=1)
        assert np.max(np.abs(first.gamma(4) + 8 * eps * base)) > 5 * np.max(
            np.abs(S.gamma(4) + 8 * eps * base)
        )
        residuals.append(
            (
                np.max(np.abs(S.gamma(2) - gamma)),
                np.max(np.abs(S.gamma(4) - (-8 * eps) * base)),
                np.max(np.abs(S.gamma(6))),
            )
        )
        assert residuals[-1][1] < 0.05 * 8 * eps * np.max(np.abs(base))
    for big, small in zip(*residuals, strict=True):
        assert small < big / 5.5, (big, small)


@pytest.mark.parametrize("act", ["erf", "relu"])
def test_single_layer_residuals_fall_like_width_power(act):
    """Predicted G2, G4c, G6c vs the exact finite-width ones: residual ∝ N^-(order+1)."""
    widths = np.array([200, 800, 3200])  # ReLU's series is asymptotic from N ≈ 200 on
    for order in (1, 2):
        res = {n: [] for n in ((2, 4) if order == 1 else (2, 4, 6))}
        for N in widths:
            net = fnn.SingleLayerNet(act, width=int(N), sigma_b2=0.5, sigma_w2=1.5)
            S = fnn.effective_action(net, X3, order=order)
            for n in res:
                res[n].append(np.max(np.abs(S.correlators(n) - net.exact_connected(X3, n))))
        for n, r in res.items():
            slope = np.polyfit(np.log(widths), np.log(r), 1)[0]
            assert abs(slope + order + 1) < 0.25, (act, order, n, slope)


def test_single_layer_first_order_is_tree_level():
    """γ(4) at order 1 is the amputated pairing coefficient; with d_out = 2 the O(2) pieces."""
    net = fnn.SingleLayerNet("erf", width=30, d_out=2)
    S = fnn.effective_action(net, X3[:2], order=1)
    G4 = net.exact_connected(X3[:2], 4)  # (P,)*4 + (2,)*4
    V = G4[..., 0, 0, 1, 1]  # δ_ij δ_kl V_(ab)(cd) component
    H = np.linalg.inv(net.kernel(X3[:2]))
    amp = np.einsum("abcd,ae,bf,cg,dh->efgh", V, H, H, H, H)
    np.testing.assert_allclose(S.gamma(4, term=1), amp, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(S.gamma(2, term=0), H, rtol=1e-12)


@pytest.mark.parametrize("d_out", [1, 2])
def test_mlp_first_order_reproduces_recursions(d_out):
    """The 1/n terms of the predicted G2 and G4c are K^{1}/n and V/n (to 1e-12)."""
    mlp = fnn.MLP("erf", widths=[1, 40, 30, d_out], C_W=1.6, C_b=0.2)
    X = X3
    S = fnn.effective_action(mlp, X, order=1)
    n = 30
    V = mlp.four_point_vertex(X) / n
    K1 = fnn.nlo_kernel_correction("erf", X, C_W=1.6, C_b=0.2, widths=[1, 40, 30, d_out]) / n
    G4 = S.correlators(4, series=True)
    G2 = S.correlators(2, series=True)
    if d_out == 1:
        want4 = V + V.transpose(0, 2, 1, 3) + V.transpose(0, 3, 2, 1)
        want2 = K1
    else:
        want4 = V  # species (i, i, k, k), i ≠ k: δ_ij δ_kl V
        G4 = [g[..., 0, 0, 1, 1] for g in G4]
        want2 = K1
        G2 = [g[..., 0, 0] for g in G2]
        np.testing.assert_allclose(S.correlators(2, series=True)[1][..., 0, 1], 0, atol=1e-15)
    scale = np.max(np.abs(want4))
    assert np.max(np.abs(G4[1] - want4)) < 1e-12 * scale
    assert np.max(np.abs(G4[0])) == 0
    assert np.max(np.abs(G2[1] - want2)) < 1e-12 * np.max(np.abs(mlp.kernel(X)))
    np.testing.assert_allclose(G2[0], mlp.kernel(X), rtol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_single_input_is_match_quartic(m):
    """One input, m outputs, order 1: (γ2, γ4) = match_quartic(m) at (G, V, n)."""
    Gv, Vv, nv = 1.7, 0.9, 40
    two = np.array([[Gv]]) if m == 1 else (Gv * np.eye(m)).reshape(1, 1, m, m)
    shape4 = (1,) * 4 + ((m,) * 4 if m > 1 else ())
    four = _pairing_tensor(Vv / nv, 4, m).reshape(shape4)
    S = fnn.effective_action((two, four), order=1)
    g2, g4 = fnn.match_quartic(m)
    subs = {sp.Symbol("G"): Gv, sp.Symbol("V"): Vv, sp.Symbol("n"): nv}
    assert S.gamma(2).item() == pytest.approx(float(g2.subs(subs)), rel=1e-13)
    assert S.gamma(4).item() == pytest.approx(float(g4.subs(subs)), rel=1e-13)


def test_action_value_matches_its_formula():
    """S(f) = ½γ2 Q − ⅛γ4 QQ (− γ6 QQQ/48) with Q_ab = f_a·f_b, up to a constant."""
    rng = np.random.default_rng(3)
    net = fnn.SingleLayerNet("erf", width=20, d_out=2)
    X = X3[:2]
    S = fnn.effective_action(net, X, order=1)
    f = rng.normal(size=(5, 2, 2))
    Q = np.einsum("mai,mbi->mab", f, f)
    want = (
        0.5 * np.einsum("ab,mab->m", S.gamma(2), Q)
        - np.einsum("abcd,mab,mcd->m", S.gamma(4), Q, Q) / 8
    )
    np.testing.assert_allclose(S(f), want, rtol=1e-12)
    net1 = fnn.SingleLayerNet("relu", width=20)
    S1 = fnn.effective_action(net1, X3[:1], order=2)
    f1 = np.linspace(-2, 2, 7)[:, None]
    g2, g4, g6 = (S1.gamma(k).item() for k in (2, 4, 6))
    want1 = 0.5 * g2 * f1[:, 0] ** 2 - g4 * f1[:, 0] ** 4 / 8 - g6 * f1[:, 0] ** 6 / 48
    np.testing.assert_allclose(S1(f1), want1, rtol=1e-12)
    assert S1(f1).shape == (7,)


def test_to_dict_and_latex():
    S = fnn.effective_action(fnn.SingleLayerNet("erf", width=10), X3[:1], order=2)
    d = S.to_dict()
    assert set(d["gamma"]) == {"2", "4", "6"}
    assert set(d["gamma"]["4"]["terms"]) == {"1", "2"}
    arrays = (np.array([[2.0]]), np.array([[[[0.3]]]]), np.full((1,) * 6, -0.9))
    assert fnn.effective_action(arrays, order=2).latex() == (
        r"S(f) = \frac{1}{2}\,0.528\,f\cdot f - \frac{1}{8}\,0.0126\,(f\cdot f)^{2}"
        r" + \frac{1}{48}\,0.00141\,(f\cdot f)^{3}"  # γ(6) = U/G⁶ − 6V²/G⁷ < 0 here
    )
    P3 = fnn.effective_action(fnn.SingleLayerNet("erf", width=10), X3, order=1)
    assert P3.latex().endswith(r"a_i = 1, \ldots, 3")


@pytest.mark.parametrize("name", ["fieldnn.effective._action", "fieldnn.symbolic.reconstruction"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
