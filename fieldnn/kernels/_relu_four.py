r"""Exact product moments of order ≤ 4 of relu-type activations at any rank (private).

For σ(z) = s₊ z θ(z) + s₋ z θ(−z) (relu: s₋ = 0; leaky relu: s₋ = a; linear: s₋ = s₊ = 1)
and z ~ N(0, K), a product over a multiset in which index a occurs m_a times is

.. math:: \prod_a \sigma(z_a)^{m_a} = \sum_{T} \prod_{a\in T}(s_+^{m_a} - s_-^{m_a})
          \prod_{a\notin T} s_-^{m_a}\; \prod_a z_a^{m_a} \prod_{a\in T}\theta(z_a),

T running over subsets of the distinct indices (:math:`\sigma^m = (s_+^m - s_-^m)z^m\theta(z)
+ s_-^m z^m`). So everything reduces to

.. math:: M(K; p, T) = \mathbb E\Big[\prod_i z_i^{p_i}\prod_{i\in T}\theta(z_i)\Big].

**Stein's lemma** :math:`\mathbb E[z_a h(z)] = \sum_m K_{am}\mathbb E[\partial_m h]` with
:math:`h = z_a^{p_a-1}\prod\ldots` and :math:`\partial(z^q\theta) = qz^{q-1}\theta +
z^q\delta(z)` (the δ term survives only for q = 0) gives, with q = p − e_a,

.. math:: M(K; p, T) = \sum_m K_{am}\Big[q_m M(K; q - e_m, T)
          + [q_m = 0,\ m\in T]\,\frac{1}{\sqrt{2\pi K_{mm}}}\, M(K^{(m)}; q, T\setminus m)\Big],

:math:`K^{(m)}_{ij} = K_{ij} - K_{im}K_{jm}/K_{mm}` the covariance given z_m = 0 (Schur
complement; :math:`\mathbb E[\delta(z_m)F] = \varphi(0; K_{mm})\,\mathbb E[F\mid z_m = 0]`).
Each step lowers the total power by 2, or by 1 and removes one variable. The leaves (all
powers 0) are orthant probabilities of the ≤ 4 truncated variables, with
:math:`\arcsin\rho_{ij}` formed as :math:`\operatorname{atan2}(K_{ij},
\sqrt{K_{ii}K_{jj} - K_{ij}^2})`:

.. math:: P_1 = \tfrac12, \quad P_2 = \tfrac14 + \frac{\arcsin\rho_{12}}{2\pi}, \quad
          P_3 = \tfrac18 + \sum_{i<j}\frac{\arcsin\rho_{ij}}{4\pi}, \quad
          P_4 = \tfrac1{16}\Big[1 + \frac2\pi\sum_{i<j}\arcsin\rho_{ij}
          + \mathbb E\prod_{m=1}^4\operatorname{sign}z_m\Big],

the four-sign moment by Plackett's one-dimensional integral
(:func:`fieldnn.kernels._erf_four.sign_moment4`, shared with erf). Order 2 reproduces the
arc-cosine kernel of Cho & Saul; for one input :math:`\mathbb E[\mathrm{relu}(z)^4] =
\tfrac32 K^2`.

**Vectorisation.** The recursion tree depends only on the multiplicity pattern of a multiset
(order 4: abcd, aabc, aabb, aaab, aaaa), so each pattern is evaluated once for all its
multisets, on batched (B, k, k) covariances and batched Schur complements; sub-moments are
memoised by (conditioned set, powers, T).

**Conventions and degenerate K.** Values are computed at K/max K_aa and scaled back by
homogeneity (degree n/2 in K), so K ~ 1e-300 neither under- nor overflows. An index with
K_aa = 0 has z_a = 0 and σ(z_a) = 0: the moment is 0. For a multiset whose correlation block
has eigenvalues below τ = 1e-10 (collinear, duplicated or nearly collinear inputs; unless σ is
linear, which has no θ factor):

* block of rank ≤ 2 (all of its eigenvalues but two below τ, which are dropped): exactly, as
  ⟨ρ^n⟩ × the circle average of :mod:`fieldnn.kernels._piecewise` (batched eigenvectors);
* four distinct indices, rank 3: evaluated at K + (τ − λ_min) diag K, an O(τ) relative change
  (measured ≤ 0.03 τ: the moments are Lipschitz in K there) that keeps the conditional variances
  ≥ τ K_aa. Lifting rank ≤ 2 blocks instead would be limited by rounding in the Plackett
  integral of a nearly singular R (errors up to 2e-5 at rank 1), hence the exact path.

References
----------
C. Stein, "Estimation of the mean of a multivariate normal distribution", Ann. Stat. 9, 1135
(1981) (Stein's lemma). R. L. Plackett, "A reduction formula for normal multivariate
integrals", Biometrika 41, 351 (1954). Y. Cho, L. K. Saul, "Kernel methods for deep learning",
NIPS 2009 (arc-cosine kernel). D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, eq. (4.90)
(where the order-4 moments enter the four-point vertex V).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations, combinations_with_replacement
from math import comb, pi, sqrt

import numpy as np

from ._erf_four import sign_moment4
from ._piecewise import circle_average, radial_moment

REGULARISE = 1e-10
"""τ: correlation eigenvalues below τ count as zero (rank ≤ 2 blocks: exact circle average;
rank-3 blocks of four indices: lifted to λ_min = τ)."""

_INV_SQRT_2PI = 1.0 / sqrt(2.0 * pi)


class _Pattern:
    """Memoised recursion for one multiplicity pattern, batched over B covariances (B, k, k)."""

    def __init__(self, K: np.ndarray, lam: np.ndarray | None) -> None:
        self.k = K.shape[1]
        self.lam = lam  # smallest eigenvalues of the correlation matrices of K, if known
        self.cov = {frozenset(): K}
        self.memo: dict[tuple[frozenset[int], tuple[int, ...], frozenset[int]], np.ndarray] = {}

    def conditional(self, S: frozenset[int]) -> np.ndarray:
        """Covariance given z_S = 0 (rows and columns of S are not used)."""
        if S not in self.cov:
            m = max(S)
            C = self.conditional(S - {m})
            col = C[:, :, m]
            self.cov[S] = C - col[:, :, None] * (col / C[:, m, m][:, None])[:, None, :]
        return self.cov[S]

    def moment(self, S: frozenset[int], p: tuple[int, ...], T: frozenset[int]) -> np.ndarray:
        """M(K given z_S = 0; p, T) (B,): p_i = 0 and i ∉ T for i in S."""
        key = (S, p, T)
        if key in self.memo:
            return self.memo[key]
        C = self.conditional(S)
        active = [a for a in range(self.k) if p[a] > 0]
        if not active:
            value = self.orthant(C, sorted(T))
        else:
            a = active[0]
            q = (*p[:a], p[a] - 1, *p[a + 1 :])
            value = np.zeros(C.shape[0])
            for m in range(self.k):
                if q[m] > 0:
                    lower = (*q[:m], q[m] - 1, *q[m + 1 :])
                    value = value + (q[m] * C[:, a, m]) * self.moment(S, lower, T)
                elif m in T:
                    weight = C[:, a, m] * (_INV_SQRT_2PI / np.sqrt(C[:, m, m]))
                    value = value + weight * self.moment(S | {m}, q, T - {m})
        self.memo[key] = value
        return value

    def orthant(self, C: np.ndarray, T: list[int]) -> np.ndarray:
        """P(z_i > 0, i ∈ T) for z ~ N(0, C), |T| ≤ 4 (|T| = 4: C is the unconditioned K)."""
        n = len(T)
        if n <= 1:
            return np.full(C.shape[0], 0.5**n)
        i, j = np.array(list(combinations(T, 2))).T
        cij = C[:, i, j]
        det = np.maximum(C[:, i, i] * C[:, j, j] - cij * cij, 0.0)
        total = np.sum(np.arctan2(cij, np.sqrt(det)), axis=1)
        if n == 2:
            return 0.25 + total / (2.0 * pi)
        if n == 3:
            return 0.125 + total / (4.0 * pi)
        sub = C[:, T][:, :, T]
        d = np.einsum("bii->bi", sub)
        dd = d[:, :, None] * d[:, None, :]
        R = sub / np.sqrt(dd)
        q = np.maximum(dd - sub * sub, 0.0) / dd  # 1 − ρ², off the diagonal without cancellation
        return (1.0 + (2.0 / pi) * total + sign_moment4(R, q, lam=self.lam)) / 16.0


def _smallest_eigenvalue(R: np.ndarray) -> np.ndarray:
    """λ_min of correlation matrices R (B, k, k), k = 2, 3, 4; for k = 3 the bound det R/9 ≤ λ_min
    where that is ≥ τ (λ_max ≤ 3), the eigenvalue elsewhere."""
    k = R.shape[1]
    if k == 2:
        return 1.0 - np.abs(R[:, 0, 1])
    if k == 3:
        a, b, c = R[:, 0, 1], R[:, 0, 2], R[:, 1, 2]
        lam = (1.0 + 2.0 * a * b * c - a * a - b * b - c * c) / 9.0
        small = lam < REGULARISE
        if np.any(small):
            lam[small] = np.linalg.eigvalsh(R[small])[:, 0]
        return lam
    return np.linalg.eigvalsh(R)[:, 0]


def _rank2_values(
    C: np.ndarray, counts: tuple[int, ...], slopes: tuple[float, float]
) -> np.ndarray:
    """The moment for covariances C (B, k, k) of rank ≤ 2 (up to eigenvalues < τ, dropped):
    ⟨ρ^n⟩ × the exact circle average of :mod:`fieldnn.kernels._piecewise`."""
    w, vec = np.linalg.eigh(C)
    L = vec[:, :, -2:] * np.sqrt(np.maximum(w[:, None, -2:], 0.0))
    A = 0.5 * (L[:, :, 0] - 1j * L[:, :, 1])
    row = np.repeat(np.arange(len(counts)), counts)[None, :]
    average = circle_average(A, np.zeros(A.shape), row, slopes)[:, 0]
    return radial_moment(int(sum(counts)), 2) * average


@lru_cache(maxsize=256)
def _coefficients(
    counts: tuple[int, ...], slopes: tuple[float, float]
) -> tuple[tuple[float, frozenset[int]], ...]:
    """(coefficient, T) of the expansion Π_a σ^{m_a} = Σ_T c_T Π z^{m_a} Π_{a∈T} θ_a (cached)."""
    s_neg, s_pos = slopes
    out = []
    k = len(counts)
    for size in range(k + 1):
        for T in combinations(range(k), size):
            c = 1.0
            for a, m in enumerate(counts):
                c *= (s_pos**m - s_neg**m) if a in T else s_neg**m
            if c != 0.0:
                out.append((c, frozenset(T)))
    return tuple(out)


@lru_cache(maxsize=32)
def _plan(P: int, order: int) -> tuple[tuple[tuple[int, ...], np.ndarray, np.ndarray], ...]:
    """Rows of ``unique_multisets(P, order)`` (lexicographic) grouped by multiplicity pattern.

    Per pattern: counts (m_1 ≥ m_2 ≥ …), the row numbers (B,) and the distinct indices in the
    order of the counts (B, k).
    """
    patterns: dict[tuple[int, ...], list[tuple[int, list[int]]]] = {}
    for u, row in enumerate(combinations_with_replacement(range(P), order)):
        labels = sorted(set(row), key=lambda a: (-row.count(a), a))
        counts = tuple(row.count(a) for a in labels)
        patterns.setdefault(counts, []).append((u, labels))
    out = []
    for counts, members in patterns.items():
        index = np.array([u for u, _ in members], dtype=np.intp)
        labels = np.array([lab for _, lab in members], dtype=np.intp)
        index.flags.writeable = labels.flags.writeable = False
        out.append((counts, index, labels))
    return tuple(out)


def relu_moment_values(K: np.ndarray, slopes: tuple[float, float], order: int) -> np.ndarray:
    """⟨Π_j σ(z_{a_j})⟩ on the rows of ``unique_multisets(P, order)``, order ≤ 4: (U,).

    K (P, P) symmetric PSD (not checked); slopes (s₋, s₊).
    """
    P = K.shape[0]
    U = comb(P + order - 1, order)
    if order == 0:
        return np.ones(U)
    out = np.zeros(U)
    scale = float(np.max(np.diag(K), initial=0.0))
    if scale <= 0.0:
        return out
    Kn = K / scale
    for counts, index, labels in _plan(P, order):
        C = Kn[labels[:, :, None], labels[:, None, :]]  # (B, k, k)
        d = np.einsum("bii->bi", C)
        live = np.all(d > 0.0, axis=1)
        if not np.all(live):
            C, d, index = C[live], d[live], index[live]
        terms = _coefficients(counts, (float(slopes[0]), float(slopes[1])))
        lam = None
        if len(counts) > 1 and any(T for _, T in terms):  # no θ factor (linear σ): no lift
            root = np.sqrt(d)
            R = C / (root[:, :, None] * root[:, None, :])
            lam = _smallest_eigenvalue(R)
            small = lam < REGULARISE
            if np.any(small):
                # blocks of rank ≤ 2: the exact circle average; only rank-3 blocks of four
                # distinct indices are lifted (a lift of rank ≤ 2 would be rounding-limited)
                flat = small
                if len(counts) == 4:
                    flat = np.zeros(small.shape, dtype=bool)
                    flat[small] = np.linalg.eigvalsh(R[small])[:, 1] < REGULARISE
                if np.any(flat):
                    out[index[flat]] = _rank2_values(C[flat], counts, slopes)
                    keep = ~flat
                    C, d, index, lam = C[keep], d[keep], index[keep], lam[keep]
                    if not index.size:
                        continue
            lift = np.maximum(REGULARISE - lam, 0.0)
            if np.any(lift > 0.0):
                C = C + lift[:, None, None] * (d[:, :, None] * np.eye(len(counts)))
                lam = (lam + lift) / (1.0 + lift)
        tree = _Pattern(C, lam)
        value = np.zeros(C.shape[0])
        for c, T in terms:
            value = value + c * tree.moment(frozenset(), counts, T)
        out[index] = value
    return out * scale ** (0.5 * order)
