"""single_input_cumulants (K, K^{1}, K^{2}, V, V^{1}, U at one input) against independent methods.

* K^{1}, V: the existing multi-input recursions (nlo_kernel_correction, four_point_vertex).
* Exact oracle (sympy, rational arithmetic): for σ whose one-unit moments E σ(√G u)^{2r} are
  polynomials in G (relu-type, any C_b; polynomial σ), the exact finite-width E[Ĝ^{(L)k}],
  k ≤ 3, follow from the scalar Markov chain by pushing the polynomial G^k down layer by layer,
  E[p(Ĝ^{(ℓ+1)})] = E[q(Ĝ^{(ℓ)})], q(G) = Σ_m p_m E[X^m | G], X = C_b + C_W · mean of n iid
  σ(√G u)², whose moments come from the one-unit cumulants (n κ_r). These are polynomials in
  1/n_ℓ (exact rationals up to 1/n³); their coefficients of 1/n^0, 1/n, 1/n² must equal ours.
* Exact numbers (exact_single_input_moment) at widths 64 → 256: residual after the O(1/n²)
  terms falls like 1/n³.
* Sampled finite tanh networks (slow): κ₃ and the variance of Ĝ^{(L)} of each net.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pytest
import sympy as sp

from fieldnn.errors import ArgumentError, ArgumentTypeError, ShapeError, UnsupportedError
from fieldnn.kernels import get_activation, leaky_relu, single_input_cumulants
from fieldnn.kernels.deep import (
    exact_single_input_moment,
    four_point_vertex,
    nlo_kernel_correction,
)

G_SYM = sp.Symbol("G", positive=True)
EPS = sp.Symbol("eps", positive=True)


# --------------------------------------------------------------------------------------------
# the exact oracle
# --------------------------------------------------------------------------------------------
def _double_factorial(m: int) -> int:
    return math.prod(range(m - 1, 0, -2))


def relu_unit_moments(s_neg: sp.Rational, s_pos: sp.Rational):
    """r -> E σ(√G u)^{2r} = (2r−1)!! G^r (s₊^{2r} + s₋^{2r})/2."""
    return lambda r: _double_factorial(2 * r) * G_SYM**r * (s_pos ** (2 * r) + s_neg ** (2 * r)) / 2


def polynomial_unit_moments(coefficients: list[sp.Rational]):
    """r -> E σ(√G u)^{2r} for σ(z) = Σ c_i z^i (E z^j = (j−1)!! G^{j/2}, j even)."""
    z = sp.Symbol("z")
    sigma = sp.Poly(sum(c * z**i for i, c in enumerate(coefficients)), z, domain="QQ")

    @functools.cache
    def moment(r: int):
        poly = sigma ** (2 * r)
        return sum(
            (
                c * _double_factorial(j) * G_SYM ** (j // 2)
                for (j,), c in poly.terms()
                if j % 2 == 0
            ),
            sp.Integer(0),
        )

    return moment


ORDER = 3  # highest power of ε = 1/n kept by the oracle


def _poly(expr) -> sp.Poly:
    return sp.Poly(expr, G_SYM, EPS, domain="QQ")


def truncate(poly: sp.Poly) -> sp.Poly:
    """poly (in G and ε) without its terms beyond ε^ORDER."""
    return _poly(sum((c * G_SYM**g * EPS**e for (g, e), c in poly.terms() if e <= ORDER), 0))


def conditional_moments(unit, m: int, a, cw, cb, G_value=None) -> list[sp.Poly]:
    """E[X^j | G], j = 0..m, X = C_b + C_W · (mean of n = a/ε iid Y), E Y^r = unit(r) (at
    G = G_value if given, else as polynomials in G), to O(ε^ORDER)."""
    mom = [_poly(1)] + [_poly(unit(r)) for r in range(1, m + 1)]
    if G_value is not None:
        mom = [_poly(v.as_expr().subs(G_SYM, G_value)) for v in mom]
    kappa = [_poly(0)] * (m + 1)
    for k in range(1, m + 1):
        kappa[k] = mom[k] - sum(
            (math.comb(k - 1, j - 1) * kappa[j] * mom[k - j] for j in range(1, k)), _poly(0)
        )
    # κ_k(mean) = κ_k/n^{k−1} = κ_k (ε/a)^{k−1}: beyond ε^ORDER it is dropped (exact up to it)
    kbar = [_poly(0)] + [
        kappa[k] * _poly((EPS / a) ** (k - 1)) if k - 1 <= ORDER else _poly(0)
        for k in range(1, m + 1)
    ]
    ybar = [_poly(1)] + [_poly(0)] * m
    for k in range(1, m + 1):
        ybar[k] = truncate(
            sum(
                (math.comb(k - 1, j - 1) * kbar[j] * ybar[k - j] for j in range(1, k + 1)),
                _poly(0),
            )
        )
    return [
        sum(
            (math.comb(j, i) * cb ** (j - i) * cw**i * ybar[i] for i in range(j + 1)),
            _poly(0),
        )
        for j in range(m + 1)
    ]


def exact_cumulants(unit, G1, ratios, cw, cb):
    """Exact (E Ĝ, Var Ĝ, κ₃ Ĝ) of the output layer to O(ε³), n_ℓ = ratios[ℓ − 1]/ε."""
    L = len(ratios) + 1
    out = []
    for k in (1, 2, 3):
        p = _poly(G_SYM**k)
        for layer in range(L - 1, 0, -1):  # E over Ĝ^(layer+1) given Ĝ^(layer)
            degree = p.degree(G_SYM)
            cond = conditional_moments(
                unit, degree, ratios[layer - 1], cw[layer], cb[layer], G1 if layer == 1 else None
            )
            q = _poly(0)
            for (g, e), c in p.terms():
                q = q + c * EPS**e * cond[g]
            p = truncate(q)
        out.append(p)
    e1, e2, e3 = out
    return e1, truncate(e2 - e1**2), truncate(e3 - 3 * e2 * e1 + 2 * e1**3)


def exact_series(unit, G1, ratios, cw, cb):
    """Exact cumulants with n_ℓ = a_ℓ/ε: coefficient lists [ε⁰, ε¹, ε², ε³] of E Ĝ, Var, κ₃
    (floats)."""
    result = []
    for c in exact_cumulants(unit, G1, ratios, cw, cb):
        assert c.degree(G_SYM) <= 0
        result.append([float(c.coeff_monomial(EPS**j)) for j in range(ORDER + 1)])
    return result


def assert_close(a: float, b: float, rtol: float, atol: float = 1e-300) -> None:
    assert abs(a - b) <= rtol * max(abs(b), atol), (a, b)


# --------------------------------------------------------------------------------------------
# K^{1}, V against the multi-input recursions
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["tanh", "erf", "gelu", "relu"])
@pytest.mark.parametrize("widths", [[2, 20, 1], [2, 30, 30, 30, 1], [2, 7, 13, 5, 9, 3]])
def test_first_orders_equal_the_deep_recursions(act: str, widths: list[int]) -> None:
    x = np.array([0.6, -0.9])
    c = single_input_cumulants(act, x, C_W=1.4, C_b=0.1, widths=widths)
    V = four_point_vertex(act, x[None], C_W=1.4, C_b=0.1, widths=widths, all_layers=True)
    K1 = nlo_kernel_correction(act, x[None], C_W=1.4, C_b=0.1, widths=widths, all_layers=True)
    for ell in range(len(widths) - 1):
        assert_close(c.V[ell], float(V[ell][0, 0, 0, 0]), 1e-12, 1e-12)
        assert abs(c.K1[ell] - float(K1[ell][0, 0])) <= 1e-12 * max(abs(c.K1).max(), 1e-300)
    # layers 1 and 2: K^{1} = K^{2} = V^{1} = 0 (ℓ = 1 deterministic, ℓ = 2 one Gaussian layer)
    assert c.K1[:2].tolist() == [0.0, 0.0] and c.K2[:2].tolist() == [0.0, 0.0]
    assert c.V1[:2].tolist() == [0.0, 0.0] and c.U[0] == 0.0


# --------------------------------------------------------------------------------------------
# exact coefficients: relu-type σ (any C_b) and a polynomial σ (smooth, quadrature path)
# --------------------------------------------------------------------------------------------
def _compare_with_exact(c, exact, n_last_ratio: float, rtol: float) -> None:
    mean, var, k3 = exact
    a = n_last_ratio
    scale_mean = max(abs(v) for v in mean[:3])
    assert_close(c.K[-1], mean[0], rtol)
    assert abs(c.K1[-1] / a - mean[1]) <= rtol * scale_mean
    assert abs(c.K2[-1] / a**2 - mean[2]) <= rtol * scale_mean
    assert var[0] == 0.0 and k3[0] == 0.0 and k3[1] == 0.0  # κ₂ = O(1/n), κ₃ = O(1/n²)
    assert_close(c.V[-1] / a, var[1], rtol)
    assert abs(c.V1[-1] / a**2 - var[2]) <= rtol * max(abs(var[1]), abs(var[2]))
    assert_close(c.U[-1] / a**2, k3[2], rtol)


@pytest.mark.parametrize(
    ("slopes", "cb", "ratios"),
    [
        ((0, 1), 0, [1, 1, 1]),  # relu, equal widths
        ((0, 1), 0, [1, 3, 2, 5]),  # relu, unequal widths
        ((0, 1), sp.Rational(3, 10), [2, 1, 3]),  # relu with a bias (not homogeneous)
        ((sp.Rational(1, 5), 1), 0, [1, 2]),  # leaky relu
        ((1, 1), 0, [3, 1, 2]),  # linear
    ],
)
def test_relu_type_coefficients_are_exact(slopes, cb, ratios) -> None:
    s_neg, s_pos = (sp.nsimplify(s) for s in slopes)
    act = (
        "relu"
        if (s_neg, s_pos) == (0, 1)
        else ("linear" if s_neg == 1 else leaky_relu(float(s_neg)))
    )
    L = len(ratios) + 1
    cw = [sp.Rational(2), sp.Rational(17, 10)] + [sp.Rational(2)] * (L - 2)
    cbs = [sp.nsimplify(cb)] * L
    x = [1.0, -0.5]
    G1 = cbs[0] + cw[0] * sp.Rational(5, 4) / 2
    exact = exact_series(relu_unit_moments(s_neg, s_pos), G1, ratios, cw, cbs)
    base = 64
    widths = [2, *[base * a for a in ratios], 1]
    c = single_input_cumulants(act, x, C_W=[float(v) for v in cw], C_b=float(cb), widths=widths)
    # c is in units of 1/n_{L−1} = ε/a_{L−1}: compare the ε-coefficients (ε = 1/64 absorbed)
    scaled = single_input_cumulants(
        act, x, C_W=[float(v) for v in cw], C_b=float(cb), widths=[2, *ratios, 1]
    )
    _compare_with_exact(scaled, exact, ratios[-1], 1e-12)
    # the same numbers at any common scale of the widths (only ratios enter)
    np.testing.assert_allclose(c.V, scaled.V, rtol=1e-13)
    np.testing.assert_allclose(c.U, scaled.U, rtol=1e-13)


def test_relu_product_formula_series() -> None:
    """E[z⁴]_c = 3K²[∏(1 + 5/n_ℓ) − 1] (relu, C_W = 2, C_b = 0): the 1/n² coefficient."""
    n = sp.Symbol("n", positive=True)
    ratios = [1, 2, 3, 1]
    exact = 3 * 4 * (sp.prod([1 + 5 / (a * n) for a in ratios]) - 1)  # K = 2
    coefficient = float(sp.series(exact, n, sp.oo, 3).removeO().coeff(n, -2))
    c = single_input_cumulants("relu", [1.0], C_W=2.0, C_b=0.0, widths=[1, *ratios, 1])
    assert_close(3 * c.V1[-1] / ratios[-1] ** 2, coefficient, 1e-13)
    # 3K² · 25 Σ_{ℓ<ℓ'} 1/(a_ℓ a_ℓ'): the pairs of layers
    pairs = sum(1 / (a * b) for i, a in enumerate(ratios) for b in ratios[i + 1 :])
    assert_close(coefficient, 3 * 4 * 25 * pairs, 1e-13)


# polynomial σ(z) = z − z³/5 + z⁵/50: every Taylor term of the recursion is nonzero
POLY = [0, 1, 0, sp.Rational(-1, 5), 0, sp.Rational(1, 50)]


def _poly_activation():
    return get_activation(
        lambda z: z - 0.2 * z**3 + 0.02 * z**5, derivative=lambda z: 1 - 0.6 * z**2 + 0.1 * z**4
    )


@pytest.mark.parametrize(
    ("coefficients", "ratios"),
    [
        (POLY, [1, 1]),
        (POLY, [2, 3]),
        ([0, 1, 0, sp.Rational(-1, 4)], [1, 2, 1]),  # depth 4: a₁, V^{1} enter the last step
    ],
)
def test_smooth_polynomial_sigma_coefficients_are_exact(coefficients, ratios) -> None:
    L = len(ratios) + 1
    cw = [sp.Rational(13, 10)] * L
    cb = [sp.Rational(1, 10)] * L
    G1 = cb[0] + cw[0] * sp.Rational(1, 2)  # x = (1, 0)
    exact = exact_series(polynomial_unit_moments(coefficients), G1, ratios, cw, cb)
    if len(coefficients) == 6:
        act = _poly_activation()
    else:
        act = get_activation(lambda z: z - 0.25 * z**3, derivative=lambda z: 1 - 0.75 * z**2)
    c = single_input_cumulants(act, [1.0, 0.0], C_W=1.3, C_b=0.1, widths=[2, *ratios, 1])
    assert abs(c.K2[-1]) > 1e-3 and abs(c.V1[-1]) > 1e-3 and abs(c.U[-1]) > 1e-3
    # the quadrature stops at |u| = 10.5: for the degree-30 σ⁶ of the quintic σ the cut tail is
    # ~3e-10 of ⟨σ⁶⟩ (measured against the exact moment; the cubic's degree-18 σ⁶ loses ~1e-14)
    _compare_with_exact(c, exact, ratios[-1], 2e-9 if len(coefficients) == 6 else 1e-11)


# --------------------------------------------------------------------------------------------
# the truncation error falls like 1/n³ against the exact finite-width moments
# --------------------------------------------------------------------------------------------
def _exact_connected(x, widths, C_W, act):
    m2, m4, m6 = (
        exact_single_input_moment(x, widths, C_W=C_W, order=k, activation=act) for k in (2, 4, 6)
    )
    return m2, m4 - 3 * m2**2, m6 - 15 * m4 * m2 + 30 * m2**3


@pytest.mark.parametrize(
    ("act", "C_W", "shape"),
    [
        ("relu", 2.0, [1, 1, 1]),
        ("relu", 2.0, [1, 2, 1, 3]),
        (leaky_relu(0.3), 1.6, [1, 1, 1]),
        ("linear", 1.0, [2, 1, 1]),
    ],
)
def test_residual_after_second_order_falls_like_n_cubed(act, C_W, shape) -> None:
    x = [0.8, -1.1]
    residuals = []
    for base in (64, 256):
        widths = [2, *[base * s for s in shape], 1]
        c = single_input_cumulants(act, x, C_W=C_W, C_b=0.0, widths=widths)
        g2, g4, g6 = _exact_connected(x, widths, C_W, act)
        first = abs(g4 - c.four(1))  # O(1/n²): what the second order removes
        residuals.append((abs(g4 - c.four(2)), abs(g6 - c.six()), first))
        if act != "linear":
            assert abs(g2 - c.two(2)) <= 1e-13 * g2  # K^{1} = K^{2} = 0 at C_b = 0: exact
    (r4a, r6a, f4a), (r4b, r6b, f4b) = residuals
    assert 40 <= r4a / r4b <= 90, r4a / r4b
    assert 40 <= r6a / r6b <= 90, r6a / r6b
    assert 12 <= f4a / f4b <= 20  # the O(1/n) truncation leaves 1/n²
    assert r4b < 0.05 * f4b


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------
def test_bad_arguments_are_named() -> None:
    ok = dict(C_W=1.5, C_b=0.1, widths=[2, 10, 1])
    with pytest.raises(ShapeError, match="'x'"):
        single_input_cumulants("tanh", np.ones((2, 2)), **ok)
    with pytest.raises(ArgumentError, match="'x'"):
        single_input_cumulants("tanh", [np.nan, 1.0], **ok)
    with pytest.raises(ArgumentTypeError, match="'x'"):
        single_input_cumulants("tanh", "ab", **ok)
    with pytest.raises(ArgumentError, match="C_W"):
        single_input_cumulants("tanh", [1.0, 0.0], C_W=0.0, C_b=0.1, widths=[2, 10, 1])
    with pytest.raises(ArgumentError, match="C_b"):
        single_input_cumulants("tanh", [1.0, 0.0], C_W=1.0, C_b=-0.1, widths=[2, 10, 1])
    with pytest.raises(ShapeError, match="widths"):
        single_input_cumulants("tanh", [1.0, 0.0], C_W=1.0, C_b=0.1, widths=[3, 10, 1])
    with pytest.raises(ArgumentError, match="widths"):
        single_input_cumulants("tanh", [1.0, 0.0], C_W=1.0, C_b=0.1, widths=[2, 0, 1])
    with pytest.raises(ShapeError, match="C_W"):
        single_input_cumulants("tanh", [1.0, 0.0], C_W=[1.0], C_b=0.1, widths=[2, 10, 1])
    with pytest.raises(UnsupportedError, match="'activation'"):
        single_input_cumulants("gauss", [1.0, 0.0], **ok)
    with pytest.raises(ArgumentError, match=r"'x'.*vanishes"):
        single_input_cumulants("tanh", [0.0, 0.0], C_W=1.0, C_b=0.0, widths=[2, 10, 10, 1])
    with pytest.raises(ArgumentError, match=r"'x'.*overflows"):
        single_input_cumulants("relu", [1e200, 0.0], C_W=2.0, C_b=0.0, widths=[2, 10, 10, 1])
    with pytest.raises(ArgumentError, match=r"'C_W'.*overflow"):
        single_input_cumulants("tanh", [1.0, 0.0], C_W=1e300, C_b=0.1, widths=[2, 5, 5, 5, 1])
    c = single_input_cumulants("tanh", [1.0, 0.0], C_W=1.0, C_b=0.1, widths=[2, 10, 10, 1])
    with pytest.raises(ArgumentError, match="order"):
        c.two(3)
    with pytest.raises(ArgumentError, match="layer"):
        c.four(layer=4)
    assert set(c.to_dict()) >= {"K", "K1", "K2", "V", "V1", "U", "widths", "convention"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single_input_cumulants("relu", [0.0, 0.0], C_W=2.0, C_b=0.0, widths=[2, 10, 10, 1])


# --------------------------------------------------------------------------------------------
# sampled finite tanh networks
# --------------------------------------------------------------------------------------------
def sample_last_variance(x, n, hidden, C_W, C_b, n_nets, rng, batch=20_000):
    """Ĝ^(L) = C_b + (C_W/n) Σ_j tanh(z_j^(L−1))² of n_nets independent tanh MLPs (plain NumPy,
    from the definition: weights N(0, C_W/fan-in), biases N(0, C_b)). Given layer L − 1 the
    outputs are exactly N(0, Ĝ^(L)), so E[z⁴]_c = 3 Var Ĝ and E[z⁶]_c = 15 κ₃(Ĝ): the last layer
    is integrated out exactly (a lower-variance estimator of the same κ₄, κ₆ of z)."""
    out = []
    d = x.size
    for start in range(0, n_nets, batch):
        m = min(batch, n_nets - start)
        W = rng.standard_normal((m, n, d)) * np.sqrt(C_W / d)
        z = W @ x + rng.standard_normal((m, n)) * np.sqrt(C_b)
        for _ in range(hidden - 1):
            W = rng.standard_normal((m, n, n)) * np.sqrt(C_W / n)
            z = np.einsum("mjk,mk->mj", W, np.tanh(z)) + rng.standard_normal((m, n)) * np.sqrt(C_b)
        out.append(C_b + C_W / n * np.sum(np.tanh(z) ** 2, axis=1))
    return np.concatenate(out)


@pytest.mark.slow
def test_tanh_six_point_vertex_and_v1_against_sampled_networks() -> None:
    """n = 16, three hidden layers, 2·10⁶ networks, 40 batch means (k-statistics per batch).

    The pulls (sampled − prediction)/σ include the O(1/n³) remainder, measured at ~1 % of κ₃
    at n = 12 (≈ 0.4 % expected here); the error bars resolve U (and V^{1}) by ≥ 5σ."""
    n, hidden, C_W, C_b = 16, 3, 1.5, 0.1
    x = np.array([1.0])
    G = sample_last_variance(x, n, hidden, C_W, C_b, 2_000_000, np.random.default_rng(20261205))
    batches = G.reshape(40, -1)
    m = batches.shape[1]
    d = batches - batches.mean(axis=1, keepdims=True)
    k2 = (d**2).sum(axis=1) / (m - 1)
    k3 = m * (d**3).sum(axis=1) / ((m - 1) * (m - 2))
    c = single_input_cumulants("tanh", x, C_W=C_W, C_b=C_b, widths=[1] + [n] * hidden + [1])
    se3 = k3.std(ddof=1) / np.sqrt(40)
    six = 15 * k3.mean()  # sampled E[z⁶]_c
    assert abs(c.six()) > 5 * 15 * se3  # the error bar resolves 15U/n²
    assert abs(six - c.six()) < 4 * 15 * se3, (six, c.six(), 15 * se3)
    se2 = k2.std(ddof=1) / np.sqrt(40)
    beyond = 3 * k2.mean() - c.four(1)  # sampled E[z⁴]_c − 3V/n
    assert abs(c.four(2) - c.four(1)) > 5 * 3 * se2  # the error bar resolves 3V^{1}/n²
    assert abs(beyond - 3 * c.V1[-1] / n**2) < 4 * 3 * se2, (beyond, 3 * c.V1[-1] / n**2)


@pytest.mark.parametrize("n", [20, 50, 100])
def test_how_far_the_expansion_goes_against_the_relu_product(n: int) -> None:
    """E[z⁴]_c/(3K²) = ∏(1 + 5/n) − 1 (relu, C_W = 2, C_b = 0, L − 1 hidden layers of width n)
    against its O(1/n) and O(1/n²) truncations 5(L − 1)/n and + 25 C(L − 1, 2)/n² (docs/eft.md
    table): the expansion is one in L/n. At L/n = 0.2 the O(1/n²) truncation is within 10 %
    (O(1/n) is 20–40 % low); at L/n = 0.5 it recovers only 50–70 % of the exact value."""
    rows = {}
    for ratio in (0.1, 0.2, 0.5, 1.0):
        L = round(ratio * n)
        widths = [1] + [n] * (L - 1) + [1]
        c = single_input_cumulants("relu", [1.0], C_W=2.0, C_b=0.0, widths=widths)
        m2, m4 = (exact_single_input_moment([1.0], widths, C_W=2.0, order=k) for k in (2, 4))
        K = c.K[-1]
        exact = (m4 - 3 * m2**2) / (3 * K**2)
        assert exact == pytest.approx((1 + 5 / n) ** (L - 1) - 1, rel=1e-12)
        first, second = c.four(1) / (3 * K**2), c.four(2) / (3 * K**2)
        assert first == pytest.approx(5 * (L - 1) / n, rel=1e-13)
        assert second == pytest.approx(5 * (L - 1) / n + 25 * math.comb(L - 1, 2) / n**2, rel=1e-13)
        rows[ratio] = (exact, first, second)
    exact, first, second = rows[0.2]
    assert abs(second - exact) < 0.1 * exact and 0.2 * exact < exact - first < 0.4 * exact
    exact, first, second = rows[0.5]
    assert 0.5 * exact < second < 0.75 * exact


def test_relu_closed_forms() -> None:
    """Relu, C_W = 2, C_b = 0, equal widths: m₁ = G/2, m₂ = 5G²/4, m₃ = 11G³/2 give
    V = 5(L − 1)K², V^{1} = 25 C(L − 1, 2) K², U = [44(L − 1) + 150 C(L − 1, 2)] K³."""
    K = 1.3
    for L in range(1, 9):
        c = single_input_cumulants(
            "relu", [math.sqrt(K / 2)], C_W=2.0, C_b=0.0, widths=[1] + [7] * (L - 1) + [1]
        )
        h, pairs = L - 1, math.comb(L - 1, 2)
        assert c.V[-1] == pytest.approx(5 * h * K**2, rel=1e-14)
        assert c.V1[-1] == pytest.approx(25 * pairs * K**2, rel=1e-14, abs=1e-14)
        assert c.U[-1] == pytest.approx((44 * h + 150 * pairs) * K**3, rel=1e-14, abs=1e-14)


def test_docstring_examples() -> None:
    import doctest

    import fieldnn.kernels._single_input_nnlo as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("G", [1e-3, 1e-2, 1.0, 100.0])
def test_unit_moment_derivatives_against_the_erf_closed_form(G: float) -> None:
    """d^k/dG^k E erf(√G u)² = d^k/dG^k (2/π) asin(2G/(1 + 2G)) by the Hermite-weighted rule;
    the k-th derivative carries G^{1/2−k}, so the rounding of σ (an ulp) comes out amplified by
    G^{1−k} at small G: relative error of order ε·G^{1−k}. The tolerance is that error model with
    a margin of 8, not the last digits of one library's erf (which moved between scipy
    releases)."""
    from fieldnn.kernels._single_input_nnlo import _raw_moments_smooth

    M, D = _raw_moments_smooth(get_activation("erf"), G)
    g = sp.Symbol("g")
    closed = 2 / sp.pi * sp.asin(2 * g / (1 + 2 * g))
    exact = [float(sp.diff(closed, g, k).subs(g, G)) for k in range(5)]
    assert M[0] == pytest.approx(exact[0], rel=1e-14)
    for k in range(1, 5):
        tolerance = max(1e-13, 8 * np.finfo(float).eps * G ** (1 - k))
        assert D[0, k] == pytest.approx(exact[k], rel=tolerance)
