"""The conical Gaussian rule (fieldnn.kernels._conical.conical_rule) against independent results.

Closed forms: Isserlis moments (sum over perfect pairings), orthant probabilities of three
correlated normals (Sheppard), the arc-cosine kernel of relu (Cho & Saul 2009, eq. (6)), half-line
moments. Independent quadrature: the polar rule of the two-input recursions (or an angle rule
written here when that one is gone). Sampling: 10⁶ Gaussian draws, pulls in standard errors. The
rule's own convergence: doubled node counts.
"""

from __future__ import annotations

import doctest
import itertools
import math

import numpy as np
import pytest

import fieldnn.kernels._conical as conical
from fieldnn.errors import ArgumentError, ArgumentTypeError, ShapeError, UnsupportedError
from fieldnn.kernels._conical import conical_rule

#: largest deviation from the closed forms, relative to their natural scale (for a moment of
#: degree d the Hölder bound (d − 1)!! Π_j √K_{a_j a_j} of E|Π_j z_{a_j}|), with the default node
#: counts and moderate K (correlations ≤ 0.5)
TOL = {1: 1e-14, 2: 1e-14, 3: 3e-14, 4: 5e-13}  # measured ≤ 1e-15, 1.3e-15, 1.4e-14, 1.1e-13


def _moderate_K(P: int, seed: int) -> np.ndarray:
    """An SPD K with correlations in [−0.5, 0.5] and variances in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    while True:
        B = rng.uniform(-0.5, 0.5, size=(P, P))
        B = 0.5 * (B + B.T)
        np.fill_diagonal(B, 1.0)
        if np.linalg.eigvalsh(B).min() > 0.2:
            break
    d = np.sqrt(rng.uniform(0.5, 2.0, size=P))
    return B * np.outer(d, d)


def _pairings(idx: tuple[int, ...]):
    """All perfect matchings of the positions of idx, as lists of index pairs."""
    if not idx:
        yield []
        return
    first, rest = idx[0], idx[1:]
    for j in range(len(rest)):
        for tail in _pairings(rest[:j] + rest[j + 1 :]):
            yield [(first, rest[j]), *tail]


def _isserlis(K: np.ndarray, idx: tuple[int, ...]) -> float:
    """E Π_j z_{idx_j} for z ~ N(0, K): Σ over pairings of Π K_{ab}."""
    return math.fsum(math.prod(K[a, b] for a, b in p) for p in _pairings(idx))


def _arccos(K: np.ndarray, a: int, b: int) -> float:
    """E relu(z_a) relu(z_b) = √(K_aa K_bb)/(2π) (sin θ + (π − θ) cos θ), cos θ = ρ_ab."""
    s = math.sqrt(K[a, a] * K[b, b])
    c = float(np.clip(K[a, b] / s, -1.0, 1.0))
    th = math.acos(c)
    return s / (2 * math.pi) * (math.sin(th) + (math.pi - th) * c)


def _moment_sets(P: int) -> list[tuple[int, ...]]:
    """Degree 2, 4 and 8 index sets touching every input (a mixed degree-8 one included)."""
    sets = [(a, b) for a in range(P) for b in range(a, P)]
    sets += [(a,) * 4 for a in range(P)]
    sets += [tuple(i % P for i in range(8)), (0, 0, 0, 0, 0, 0, 0, 0)]
    sets.append(tuple(sorted((0, 0, 0, P - 1, P - 1, P // 2, P // 2, P - 1))))
    return sets


def _scale(K: np.ndarray, idx: tuple[int, ...]) -> float:
    """(d − 1)!! Π_j √K_{a_j a_j} ≥ E|Π_j z_{a_j}| (Hölder), d = len(idx) even."""
    return math.prod(range(len(idx) - 1, 0, -2)) * math.prod(math.sqrt(K[a, a]) for a in idx)


def _moment_errors(K: np.ndarray, z: np.ndarray, w: np.ndarray) -> list[float]:
    out = []
    for idx in _moment_sets(K.shape[0]):
        got = w @ np.prod(z[:, list(idx)], axis=1)
        out.append(abs(got - _isserlis(K, idx)) / _scale(K, idx))
    return out


def test_isserlis_oracle() -> None:
    """The pairing sum itself: E z⁴ = 3K², 105 pairings at degree 8, E z_a z_b = K_ab."""
    K = _moderate_K(3, 0)
    assert len(list(_pairings(tuple(range(8))))) == 105
    assert _isserlis(K, (1, 1, 1, 1)) == pytest.approx(3 * K[1, 1] ** 2, rel=1e-15)
    assert _isserlis(K, (0, 2)) == K[0, 2]
    assert _isserlis(K, (0,) * 8) == pytest.approx(105 * K[0, 0] ** 4, rel=1e-15)


@pytest.mark.parametrize(
    ("P", "seed"),
    [
        *((P, seed) for P in (1, 2, 3) for seed in (1, 2)),
        (4, 1),
        pytest.param(4, 2, marks=pytest.mark.slow),
    ],
)
def test_sum_and_moments_full_rank(P: int, seed: int) -> None:
    K = _moderate_K(P, seed)
    z, w = conical_rule(np.linalg.cholesky(K))
    assert z.shape == (w.size, P)
    assert np.all(w > 0)
    assert abs(w.sum() - 1.0) < TOL[P]
    errors = _moment_errors(K, z, w)
    assert max(errors) < TOL[P], errors
    # E z_a⁴ = 3 K_aa² and E z_a z_b = K_ab, spelled out
    for a in range(P):
        assert w @ z[:, a] ** 4 == pytest.approx(3 * K[a, a] ** 2, rel=TOL[P])
    assert np.allclose((z * w[:, None]).T @ z, K, rtol=0.0, atol=TOL[P] * K.diagonal().max())


def test_node_counts() -> None:
    """The documented counts at the moderate K of seed 1: 16 at r = 1, 768 at P = 2 (six
    wedges), 49 152 at P = 3 (24 cones after the bisection, 16² · 8 nodes each) and 1 658 880 at
    P = 4 (12³ · 8 per cone); 49 152 at P = 3 with a correlation 0.99."""
    sizes = [conical_rule(np.linalg.cholesky(_moderate_K(P, 1)))[1].size for P in (1, 2, 3, 4)]
    assert sizes == [16, 768, 49_152, 1_658_880]
    assert conical_rule(np.linalg.cholesky(_near_degenerate(3)))[1].size == 49_152


def _flat_simplex_rule(L: np.ndarray, n: int = 36, n_t: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The flat-simplex form of the cone integral, P = r = 3, written out independently:
    |det V| ∫_T ds |w|^{−3} (2π)^{−3/2} 2^{1/2} ∫ F(√(2t) ŵ) t^{1/2} e^{−t} dt, w = Vs, on the
    2³ cones with unit edges ∝ s_a (L⁻¹)_{:,a}; T by the collapsed Gauss–Jacobi rule
    s = (x, (1 − x)y, (1 − x)(1 − y)), weight (1 − x) in x."""
    from scipy.special import roots_genlaguerre, roots_jacobi

    xj, wj = roots_jacobi(n, 1.0, 0.0)
    yl, wl = np.polynomial.legendre.leggauss(n)
    x, wx = 0.5 * (1 + xj), 0.25 * wj
    y, wy = 0.5 * (1 + yl), 0.5 * wl
    X, Y = (a.ravel() for a in np.meshgrid(x, y, indexing="ij"))
    S = np.stack([X, (1 - X) * Y, (1 - X) * (1 - Y)], -1)
    WS = np.outer(wx, wy).ravel()
    t, wt = roots_genlaguerre(n_t, 0.5)
    Linv = np.linalg.inv(L)
    zs, ws = [], []
    for signs in itertools.product((1.0, -1.0), repeat=3):
        V = Linv / np.linalg.norm(Linv, axis=0) * np.array(signs)
        w = S @ V.T
        norm = np.linalg.norm(w, axis=1)
        weight = abs(np.linalg.det(V)) * WS * norm**-3 * (2 * np.pi) ** -1.5 * math.sqrt(2)
        u = np.sqrt(2 * t)[None, :, None] * (w / norm[:, None])[:, None, :]
        zs.append(u.reshape(-1, 3) @ L.T)
        ws.append((weight[:, None] * wt[None]).ravel())
    return np.concatenate(zs), np.concatenate(ws)


def test_flat_simplex_form_of_the_derivation() -> None:
    """The |det V| ∫_T |w|^{−r} form (a different cross-section, its own Jacobian) gives the same
    six-factor integral and moments (it converges more slowly: 36² nodes per cone for 6e-15,
    where 28² give 2e-12)."""
    K = _moderate_K(3, 8)
    L = np.linalg.cholesky(K)
    zf, wf = _flat_simplex_rule(L)
    z, w = conical_rule(L)
    assert abs(wf.sum() - 1) < 1e-14
    assert max(_moment_errors(K, zf, wf)) < 3e-14
    assert w @ _six_factor(z) == pytest.approx(wf @ _six_factor(zf), rel=5e-14)


def test_radial_exactness() -> None:
    """r = 1 has no cross-section: radial_nodes = 3 is exact for E z¹⁰ = 945 K⁵ (degree 10 =
    4·3 − 2), radial_nodes = 2 is not (exact to degree 6 only)."""
    L = np.array([[1.3], [-0.4]])
    z, w = conical_rule(L, radial_nodes=3)
    assert w @ z[:, 0] ** 10 == pytest.approx(945 * 1.3**10, rel=1e-14)
    assert w @ (z[:, 0] ** 4 * z[:, 1] ** 6) == pytest.approx(945 * 1.3**4 * 0.4**6, rel=1e-14)
    z2, w2 = conical_rule(L, radial_nodes=2)
    assert w2 @ z2[:, 0] ** 6 == pytest.approx(15 * 1.3**6, rel=1e-14)
    assert abs(w2 @ z2[:, 0] ** 10 / (945 * 1.3**10) - 1) > 1e-3


def _orthant3(K: np.ndarray) -> float:
    """P(z > 0), P = 3: 1/8 + (asin ρ12 + asin ρ13 + asin ρ23)/(4π)."""
    d = np.sqrt(K.diagonal())
    rho = (K / np.outer(d, d))[np.triu_indices(3, 1)]
    return 1 / 8 + float(np.arcsin(np.clip(rho, -1, 1)).sum()) / (4 * math.pi)


@pytest.mark.parametrize("seed", [3, 4])
def test_orthant_probability(seed: int) -> None:
    K = _moderate_K(3, seed)
    z, w = conical_rule(np.linalg.cholesky(K))
    got = w @ np.all(z > 0, axis=1)
    assert got == pytest.approx(_orthant3(K), rel=TOL[3])


@pytest.mark.parametrize("P", [3, 4])
def test_arccos_kernel_every_pair(P: int) -> None:
    K = _moderate_K(P, 5)
    z, w = conical_rule(np.linalg.cholesky(K))
    relu = np.maximum(z, 0.0)
    for a, b in itertools.combinations(range(P), 2):
        assert w @ (relu[:, a] * relu[:, b]) == pytest.approx(_arccos(K, a, b), rel=TOL[P])
    for a in range(P):
        assert w @ relu[:, a] ** 2 == pytest.approx(K[a, a] / 2, rel=TOL[P])


def _angle_rule(L: np.ndarray, n_r: int = 8, n_phi: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """An independent r = 2 rule: Gauss–Laguerre in t = r²/2 (α = 0) times Gauss–Legendre in the
    angle on each wedge between the kink rays of the rows of L (2×2)."""
    t, wt = np.polynomial.laguerre.laggauss(n_r)
    kinks = np.arctan2(L[:, 0], -L[:, 1]) % np.pi
    edges = np.sort(np.concatenate([kinks, kinks + np.pi, [kinks.min() + 2 * np.pi]]))
    x, wx = np.polynomial.legendre.leggauss(n_phi)
    phi = np.concatenate([0.5 * (b - a) * x + 0.5 * (a + b) for a, b in itertools.pairwise(edges)])
    wphi = np.concatenate([0.5 * (b - a) * wx for a, b in itertools.pairwise(edges)]) / (2 * np.pi)
    u = np.sqrt(2 * t)[:, None, None] * np.stack([np.cos(phi), np.sin(phi)], -1)[None]
    return u.reshape(-1, 2) @ L.T, (wt[:, None] * wphi[None]).reshape(-1)


def test_angle_rule_oracle() -> None:
    """The independent rule written here reproduces the arc-cosine kernel and E z_0⁴ z_1⁴."""
    K = np.array([[1.4, 0.8], [0.8, 0.6]])
    z, w = _angle_rule(np.linalg.cholesky(K))
    relu = np.maximum(z, 0.0)
    assert w @ (relu[:, 0] * relu[:, 1]) == pytest.approx(_arccos(K, 0, 1), rel=1e-14)
    assert w @ (z[:, 0] ** 4 * z[:, 1] ** 4) == pytest.approx(
        _isserlis(K, (0, 0, 0, 0, 1, 1, 1, 1)), rel=1e-14
    )


def _leaky(z: np.ndarray, slope: float) -> np.ndarray:
    return np.where(z > 0, z, slope * z)


@pytest.mark.parametrize("rho", [-0.7, 0.0, 0.45, 0.99])
def test_equals_the_angle_rule_at_two_inputs(rho: float) -> None:
    K = np.array([[1.4, rho * math.sqrt(1.4 * 0.6)], [rho * math.sqrt(1.4 * 0.6), 0.6]])
    L = np.linalg.cholesky(K)
    Kinv = np.linalg.inv(K)

    def integrands(z: np.ndarray) -> np.ndarray:
        y = z @ Kinv  # w = K⁻¹z, Hermite-like polynomials of even order in w
        h2 = y[:, 0] * y[:, 1] - Kinv[0, 1]
        h4 = y[:, 0] ** 4 - 6 * Kinv[0, 0] * y[:, 0] ** 2 + 3 * Kinv[0, 0] ** 2
        h8 = h4 * (y[:, 1] ** 4 - 6 * Kinv[1, 1] * y[:, 1] ** 2 + 3 * Kinv[1, 1] ** 2)
        s0, s1 = np.maximum(z[:, 0], 0), _leaky(z[:, 1], 0.2)
        return np.stack([s0 * s1, s0 * s1 * h2, s0**2 * h4, s0 * s1 * h8, s1**2 * h2 * h4])

    z, w = conical_rule(L)
    zr, wr = _angle_rule(L)
    ours, ref = integrands(z) @ w, integrands(zr) @ wr
    scale = np.abs(integrands(zr)) @ wr
    assert np.all(np.abs(ours - ref) < 1e-13 * scale), (ours, ref)


def _six_factor(z: np.ndarray) -> np.ndarray:
    """Six relu / leaky relu factors times a degree-4 polynomial: even degree 10 on each cone."""
    relu = np.maximum(z, 0.0)
    poly = 1.0 - z[:, 0] * z[:, 1] + 0.5 * z[:, 2] ** 2 * z[:, 0] ** 2 - 0.3 * z[:, 1] ** 4
    return (
        relu[:, 0] * relu[:, 1] * _leaky(z[:, 2], 0.1) * _leaky(z[:, 0], -0.5)
        * relu[:, 2] * _leaky(z[:, 1], 0.3) * poly
    )  # fmt: skip


def test_six_factor_product_against_sampling_and_doubled_nodes() -> None:
    K = _moderate_K(3, 6)
    L = np.linalg.cholesky(K)
    z, w = conical_rule(L)
    value = w @ _six_factor(z)
    z2, w2 = conical_rule(L, radial_nodes=16, simplex_nodes=32)
    fine = w2 @ _six_factor(z2)
    assert abs(value - fine) < 1e-12 * abs(fine)
    rng = np.random.default_rng(20261205)
    sample = _six_factor(rng.standard_normal((1_000_000, 3)) @ L.T)
    mean, se = sample.mean(), sample.std(ddof=1) / math.sqrt(sample.size)
    assert se < 0.1 * abs(mean)  # the comparison resolves 10 % (heavy tails at degree 10)
    assert abs(value - mean) < 4 * se


def test_rank_two_of_three_inputs() -> None:
    """P = 3 rows, r = 2 (z_2 a combination of z_0, z_1); plus a zero row (z_3 ≡ 0)."""
    L = np.array([[1.0, 0.0], [0.3, 0.8], [-0.5, 0.6], [0.0, 0.0]])
    K = L @ L.T
    z, w = conical_rule(L)
    assert abs(w.sum() - 1) < 1e-14
    relu = np.maximum(z, 0.0)
    for a, b in itertools.combinations(range(3), 2):
        assert w @ (relu[:, a] * relu[:, b]) == pytest.approx(_arccos(K, a, b), rel=1e-14)
    assert w @ np.all(z[:, :3] > 0, axis=1) == pytest.approx(_orthant3(K[:3, :3]), rel=1e-14)
    for idx in [(0, 1, 2, 2), (0, 0, 1, 1, 2, 2, 2, 2), (2,) * 8]:
        got = w @ np.prod(z[:, list(idx)], axis=1)
        assert abs(got - _isserlis(K, idx)) < 1e-14 * _scale(K, idx)
    assert w @ relu[:, 3] == 0.0
    # a relu product the closed forms do not reach, against sampling
    f = relu[:, 0] * relu[:, 1] * relu[:, 2] * _leaky(z[:, 2], 0.2)
    rng = np.random.default_rng(7)
    zs = rng.standard_normal((1_000_000, 2)) @ L.T
    rs = np.maximum(zs, 0.0)
    sample = rs[:, 0] * rs[:, 1] * rs[:, 2] * _leaky(zs[:, 2], 0.2)
    se = sample.std(ddof=1) / math.sqrt(sample.size)
    assert abs(w @ f - sample.mean()) < 4 * se


@pytest.mark.parametrize("eps", [1e-17, 1e-14, 1e-9])
def test_rows_parallel_up_to_rounding(eps: float) -> None:
    """Two kink rays ε apart (merged below 1e-12, a sliver wedge above): no NaN, closed forms."""
    L = np.array([[0.0, 1.0], [eps, 1.0], [1.0, 0.3], [1.0, -eps]])
    K = L @ L.T
    z, w = conical_rule(L)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(w))
    assert abs(w.sum() - 1) < 1e-14
    relu = np.maximum(z, 0.0)
    for a, b in itertools.combinations(range(4), 2):
        assert w @ (relu[:, a] * relu[:, b]) == pytest.approx(_arccos(K, a, b), rel=1e-13)


def test_rank_one_of_four_inputs() -> None:
    """P = 4 rows, r = 1: z_a = L_a u, E relu(z_a) relu(z_b) = L_a L_b / 2 for equal signs, 0
    otherwise (the arc-cosine kernel at θ = 0, π); E z_a⁴ z_b⁴ = 105 L_a⁴ L_b⁴."""
    L = np.array([[1.0], [-2.0], [0.5], [3.0]])
    K = L @ L.T
    z, w = conical_rule(L)
    relu = np.maximum(z, 0.0)
    for a, b in itertools.combinations(range(4), 2):
        exact = L[a, 0] * L[b, 0] / 2 if L[a, 0] * L[b, 0] > 0 else 0.0
        assert exact == pytest.approx(_arccos(K, a, b), abs=1e-15)
        assert w @ (relu[:, a] * relu[:, b]) == pytest.approx(exact, rel=1e-14, abs=1e-15)
        assert w @ (z[:, a] ** 4 * z[:, b] ** 4) == pytest.approx(
            105 * L[a, 0] ** 4 * L[b, 0] ** 4, rel=1e-14
        )


def _near_degenerate(P: int, rho: float = 0.99) -> np.ndarray:
    K = np.full((P, P), 0.3)
    np.fill_diagonal(K, 1.0)
    K[0, 1] = K[1, 0] = rho
    return K


@pytest.mark.parametrize("rho", [0.99, 0.9999])
def test_near_degenerate_correlation(rho: float) -> None:
    """A correlation 0.99 (and 0.9999) at P = 3 (cones close to half-spaces are bisected): every
    closed form to 1e-14 of its scale (measured ≤ 2.0e-15)."""
    K = _near_degenerate(3, rho)
    z, w = conical_rule(np.linalg.cholesky(K))
    assert abs(w.sum() - 1) < 1e-14
    assert max(_moment_errors(K, z, w)) < 1e-14
    relu = np.maximum(z, 0.0)
    for a, b in itertools.combinations(range(3), 2):
        assert w @ (relu[:, a] * relu[:, b]) == pytest.approx(_arccos(K, a, b), rel=1e-14)
    assert w @ np.all(z > 0, axis=1) == pytest.approx(_orthant3(K), rel=1e-14)


def test_near_degenerate_correlation_four_inputs() -> None:
    """The same at P = 4 (1 658 880 nodes): moments to 1e-12 of their scale (measured 3.2e-13),
    the arc-cosine kernels to 2e-14 (measured 1.7e-15)."""
    K = _near_degenerate(4)
    z, w = conical_rule(np.linalg.cholesky(K))
    assert w.size == 1_658_880
    assert max(_moment_errors(K, z, w)) < 1e-12
    relu = np.maximum(z, 0.0)
    for a, b in itertools.combinations(range(4), 2):
        assert w @ (relu[:, a] * relu[:, b]) == pytest.approx(_arccos(K, a, b), rel=2e-14)


@pytest.mark.parametrize(
    ("P", "rho"),
    [
        *((3, rho) for rho in (0.8, 0.95, 0.99)),
        (4, 0.95),
        *(pytest.param(4, rho, marks=pytest.mark.slow) for rho in (0.8, 0.99)),
    ],
)
def test_all_inputs_correlated(P: int, rho: float) -> None:
    """Every pair at correlation ρ (what deep relu nets produce): with edges up to 2π/3 kept
    whole, the moments missed by up to 2e-2 at ρ = 0.95; bisecting above π/2 gives them to
    1e-13 of their scale (measured ≤ 1.6e-15 at P = 3, ≤ 2.1e-14 at P = 4)."""
    K = np.full((P, P), rho) + (1.0 - rho) * np.eye(P)
    z, w = conical_rule(np.linalg.cholesky(K))
    assert max(_moment_errors(K, z, w)) < 1e-13


def test_near_degenerate_needs_the_bisection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the bisection the same rule misses the degree-8 moments by > 1e-4."""
    monkeypatch.setattr(conical, "_MAX_EDGE_ANGLE", np.pi)
    K = _near_degenerate(3)
    z, w = conical_rule(np.linalg.cholesky(K))
    assert w.size == 16_384
    assert max(_moment_errors(K, z, w)) > 1e-4


def test_bad_input() -> None:
    L = np.linalg.cholesky(_moderate_K(3, 1))
    with pytest.raises(ShapeError, match=r"'L'.*2-D"):
        conical_rule(L[0])
    with pytest.raises(ShapeError, match=r"'L'.*2-D"):
        conical_rule(L[None])
    with pytest.raises(ShapeError, match=r"'L'"):
        conical_rule(np.zeros((0, 2)))
    bad = L.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ArgumentError, match=r"'L'.*non-finite"):
        conical_rule(bad)
    with pytest.raises(UnsupportedError, match=r"'L'.*r = 4 < P = 5.*not built"):
        conical_rule(np.vstack([np.eye(4), [[1.0, 2.0, 3.0, 0.5]]]))
    with pytest.raises(ArgumentError, match=r"'L'.*dependent"):
        conical_rule(np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]]))
    with pytest.raises(ArgumentError, match=r"'L'.*columns"):
        conical_rule(np.eye(2, 3))
    with pytest.raises(ArgumentError, match=r"'radial_nodes'"):
        conical_rule(L, radial_nodes=0)
    with pytest.raises(ArgumentTypeError, match=r"'simplex_nodes'"):
        conical_rule(L, simplex_nodes=2.5)
    with pytest.raises(ArgumentError, match=r"'simplex_nodes'.*nodes"):
        conical_rule(np.eye(6), simplex_nodes=40)


def test_docstring_examples() -> None:
    result = doctest.testmod(conical, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("P", [4, 5, 6])
def test_rank_three_below_P(P: int) -> None:
    """r = 3 < P (the octant cones of three rows clipped by the other planes, fanned into
    triangles): Σw = 1 and E zzᵀ = K to 1e-13, the arc-cosine kernel of every pair to 1e-14 of
    its scale, a product of leaky relus with kinks on every plane against Monte Carlo (pull < 4)
    and against doubled nodes (1e-13)."""
    rng = np.random.default_rng(P)
    L = rng.standard_normal((P, 3))
    K = L @ L.T
    z, w = conical_rule(L)
    assert np.all(w > 0) and abs(w.sum() - 1.0) < 1e-13
    np.testing.assert_allclose((z * w[:, None]).T @ z, K, atol=1e-13 * K.diagonal().max())
    relu = np.maximum(z, 0.0)
    for a, b in itertools.combinations(range(P), 2):
        assert abs(w @ (relu[:, a] * relu[:, b]) - _arccos(K, a, b)) < 1e-14 * K.diagonal().max()

    def f(x: np.ndarray) -> np.ndarray:
        return np.prod(_leaky(x, 0.3), axis=1) * (x[:, 0] if P % 2 else 1.0)

    sample = f(rng.standard_normal((1_000_000, 3)) @ L.T)
    pull = (w @ f(z) - sample.mean()) / (sample.std() / 1e3)
    assert abs(pull) < 4, pull
    z2, w2 = conical_rule(L, simplex_nodes=24)
    assert abs(w @ f(z) - w2 @ f(z2)) < 1e-13 * abs(w2 @ f(z2))
