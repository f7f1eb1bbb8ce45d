"""The reconstruction of couplings from connected correlators, exact in sympy.

* closed forms through 1/n², one species and O(N) with N symbolic;
* round trip at one point: a known action's correlators from exact Gaussian moments (not from
  the engine) reconstruct its couplings up to O(ε³);
* round trip on two points with exact rational tensors: engine diagrams forward, reconstruction
  back, identical graded couplings;
* the P-point tensors at one point with N outputs equal the symbolic single-point result;
* ``match_quartic(m)`` for m = 1..4 and symbolic m.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp

import fieldnn as fnn
from fieldnn.symbolic import match_quartic, reconstruct_couplings, reconstruct_tensors
from fieldnn.symbolic._tensor_network import evaluate
from fieldnn.symbolic.reconstruction import graded_propagator

G, V, U, n, N, m = sp.symbols("G V U n N m")


def test_closed_forms_through_second_order():
    c = reconstruct_couplings(2, species=N)
    want2 = (
        1 / G
        + (N + 2) * V / (2 * n * G**3)
        - (N + 2) * (N + 4) * U / (8 * n**2 * G**4)
        + (N + 2) * (N + 3) * V**2 / (2 * n**2 * G**5)
    )
    want4 = (
        V / (n * G**4) - (N + 4) * U / (2 * n**2 * G**5) + (5 * N + 16) * V**2 / (2 * n**2 * G**6)
    )
    want6 = U / (n**2 * G**6) - 6 * V**2 / (n**2 * G**7)
    assert sp.expand(c[2] - want2) == 0
    assert sp.expand(c[4] - want4) == 0
    assert sp.expand(c[6] - want6) == 0
    one = reconstruct_couplings(2, species=1)  # the one-species engine, not N = 1 substituted
    for k in (2, 4, 6):
        assert sp.expand(one[k] - c[k].subs(N, 1)) == 0


def _set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        for k in range(len(part)):
            yield [*part[:k], [first, *part[k]], *part[k + 1 :]]
        yield [[first], *part]


def _mul(x, y):
    return [sp.expand(sum(x[i] * y[k - i] for i in range(k + 1))) for k in range(len(x))]


def _pairing_coefficients(species, a, b, c):
    """(G, c4, c6) of exp(−a Q/2 + ε b Q²/8 + ε² c Q³/48), Q = φ·φ, from Gaussian moments.

    ⟨Q^k⟩_0 = Π_{j<k}(N + 2j)/a^k and ⟨Π φ_i^{2k_i}⟩ = Π(2k_i − 1)!! ⟨Q^K⟩/Π_{j<K}(N + 2j);
    every quantity is a list of its coefficients of ε⁰, ε¹, ε².
    """

    def gauss_q(k):
        return sp.Mul(*[species + 2 * j for j in range(k)]) / a**k

    def expect_q(k):  # ⟨Q^k e^{X}⟩_0, X = ε b Q²/8 + ε² c Q³/48
        return [
            gauss_q(k),
            b / 8 * gauss_q(k + 2),
            (b / 8) ** 2 / 2 * gauss_q(k + 4) + c / 48 * gauss_q(k + 3),
        ]

    z = expect_q(0)
    inv_z = [1 / z[0], -z[1] / z[0] ** 2, (z[1] ** 2 / z[0] - z[2]) / z[0] ** 2]
    cache = {}

    def moment(powers):
        key = tuple(sorted(powers))
        if key not in cache:
            K = sum(powers) // 2
            norm = sp.Mul(*[sp.factorial2(p - 1) for p in powers]) / sp.Mul(
                *[species + 2 * j for j in range(K)]
            )
            cache[key] = [sp.expand(norm * t) for t in _mul(expect_q(K), inv_z)]
        return cache[key]

    def connected(labels):
        total = [sp.S.Zero] * 3
        for part in _set_partitions(list(range(len(labels)))):
            term = [sp.S.One, sp.S.Zero, sp.S.Zero]
            for block in part:
                counts = [sum(1 for i in block if labels[i] == lab) for lab in set(labels)]
                if any(c % 2 for c in counts):
                    break
                term = _mul(term, moment([c for c in counts if c]))
            else:
                w = (-1) ** (len(part) - 1) * sp.factorial(len(part) - 1)
                total = [t + w * x for t, x in zip(total, term, strict=True)]
        return [sp.cancel(t) for t in total]

    if species == 1:
        four, six = connected([1] * 4), connected([1] * 6)
        return connected([1, 1]), [x / 3 for x in four], [x / 15 for x in six]
    return connected([1, 1]), connected([1, 1, 2, 2]), connected([1, 1, 2, 2, 3, 3])


@pytest.mark.parametrize("species", [1, pytest.param(N, marks=pytest.mark.slow)])
def test_round_trip_from_gaussian_moments(species):
    """Known couplings (a, ε b, ε² c) → exact correlators → reconstruction: same, + O(ε³)."""
    eps = sp.Symbol("epsilon")
    a, b, c = sp.Rational(3, 2), sp.Symbol("b"), sp.Symbol("c")
    G2, c4, c6 = (
        sum(x * eps**j for j, x in enumerate(coeffs))
        for coeffs in _pairing_coefficients(species, a, b, c)
    )
    assert c4.coeff(eps, 0) == 0 and c6.coeff(eps, 0) == 0 and c6.coeff(eps, 1) == 0
    rec = reconstruct_couplings(2, species=species)
    values = {G: G2, V: c4 * n, U: c6 * n**2}
    for k, want in ((2, a), (4, eps * b), (6, eps**2 * c)):
        got = sp.series(rec[k].subs(values), eps, 0, 3).removeO()
        assert sp.simplify(got - want) == 0, (k, got)


def _sym_rational(rng, shape):
    t = np.empty(shape, dtype=object)
    base = {}
    for idx in itertools.product(*[range(s) for s in shape]):
        key = tuple(sorted(idx))
        if key not in base:
            base[key] = sp.Rational(int(rng.integers(-9, 10)), int(rng.integers(5, 40)))
        t[idx] = base[key]
    return t


def test_round_trip_on_two_points_exact():
    """Engine diagrams of a known graded action on two points → reconstruct → identical."""
    rng = np.random.default_rng(7)
    gamma2 = {
        0: np.array([[sp.Rational(3, 2), sp.Rational(1, 3)], [sp.Rational(1, 3), 1]], dtype=object),
        1: _sym_rational(rng, (2, 2)),
        2: _sym_rational(rng, (2, 2)),
    }
    t4 = {1: _sym_rational(rng, (2,) * 4), 2: _sym_rational(rng, (2,) * 4)}
    t6 = {2: _sym_rational(rng, (2,) * 6)}
    D = graded_propagator(gamma2, 2)
    two = evaluate(2, 2, D, (t4, t6))
    four = evaluate(4, 2, D, (t4, t6))
    six = evaluate(6, 2, D, (t4, t6))
    assert np.all(four[0] == 0) and np.all(six[0] == 0) and np.all(six[1] == 0)
    got2, got4, got6 = reconstruct_tensors(two, {1: four[1], 2: four[2]}, {2: six[2]}, 2)
    for want, got in ((gamma2, got2), (t4, got4), (t6, got6)):
        assert set(want) == set(got)
        for g in want:
            diff = np.vectorize(lambda x: sp.nsimplify(x) == 0)(want[g] - got[g])
            assert diff.all(), g


@pytest.mark.parametrize("outputs", [1, 2, 3])
def test_tensors_at_one_point_equal_symbolic(outputs):
    """effective_action at one input with N outputs = reconstruct_couplings(2, N) at numbers."""
    Gv, Vv, Uv, nv = 1.3, 0.7, 0.45, 25.0
    d = outputs
    e = np.eye(d)

    def pairing(k, c):
        t = np.zeros((d,) * k)
        pairs = list(_set_partitions(list(range(k))))
        pairs = [p for p in pairs if all(len(b) == 2 for b in p)]
        for idx in itertools.product(range(d), repeat=k):
            t[idx] = c * sum(all(idx[i] == idx[j] for i, j in p) for p in pairs)
        return t.reshape((1,) * k + ((d,) * k if d > 1 else ()))

    two = (Gv * e).reshape((1, 1) + ((d, d) if d > 1 else ()))
    S = fnn.effective_action((two, pairing(4, Vv / nv), pairing(6, Uv / nv**2)), order=2)
    sym = reconstruct_couplings(2, species=d)
    values = {G: Gv, V: Vv, U: Uv, n: nv}
    assert S.gamma(2).item() == pytest.approx(float(sym[2].subs(values)), rel=1e-12)
    assert S.gamma(4).item() == pytest.approx(float(sym[4].subs(values)), rel=1e-12)
    if d != 2:  # with two outputs the pair structure of γ(6) is not unique
        assert S.gamma(6).item() == pytest.approx(float(sym[6].subs(values)), rel=1e-12)


def test_match_quartic_is_the_single_input_case():
    g2, g4 = match_quartic(m)
    assert sp.expand(g2 - (1 / G + (m + 2) * V / (2 * n * G**3))) == 0
    assert sp.expand(g4 - V / (n * G**4)) == 0
    for k in (1, 2, 3, 4):
        gk2, gk4 = match_quartic(k)
        assert sp.expand(gk2 - g2.subs(m, k)) == 0
        assert sp.expand(gk4 - g4.subs(m, k)) == 0
    assert match_quartic(sp.Integer(2)) == match_quartic(2)
