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
(order 4: abcd, aabc, aabb, aaab, aaaa), so it is recorded once per pattern and slopes as
straight-line code (:class:`_Program`: Schur complements, orthant leaves, Stein terms;
sub-moments memoised by (conditioned set, powers, T), identically zero ones dropped) and run
for all multisets of the pattern: batched over (B, k, k) covariances in NumPy
(:func:`_run_numpy`, the reference), or, if numba is installed, by one compiled loop
(:func:`_run_loop`, the same arithmetic, checked against the NumPy executor on a probe before
first use; ``FIELDNN_NUMBA=0`` disables it). The four-variable orthants of a pattern are one
batched :func:`~fieldnn.kernels._erf_four.sign_moment4` call. Per layer of the relu vertex at
P = 10 (715 multisets, 210 Plackett orthants, correlations up to 1 − 4e-5 at depth 1000):
≈ 1.0 ms with numba on one thread (≈ 0.4 ms of it the Plackett terms on 37–38 nodes, ≈ 0.2 ms
the recorded recursions), ≈ 1.5 ms without; ≈ 2.9 ms before (memoised NumPy recursion, 128-node
graded rule). The Plackett jobs and the largest program (abcd) are split over threads by
:func:`~fieldnn.kernels._erf_four.run_split` (bitwise the same result for any thread count);
at P = 10 the batches are below its break-even (one thread); it pays for larger P with a
second idle core.

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

import math
from functools import lru_cache
from itertools import combinations, combinations_with_replacement
from math import comb, pi, sqrt
from typing import Any

import numpy as np

from ._erf_four import checked_njit, run_split, sign_moment4
from ._piecewise import circle_average, radial_moment

REGULARISE = 1e-10
"""τ: correlation eigenvalues below τ count as zero (rank ≤ 2 blocks: exact circle average;
rank-3 blocks of four indices: lifted to λ_min = τ)."""

_INV_SQRT_2PI = 1.0 / sqrt(2.0 * pi)


_ORTHANT, _POWER, _DELTA, _SUM = range(4)
"""Instruction codes of a :class:`_Program` (rows op, dst, S, a, m, src and a coefficient)."""


class _Program:
    """The memoised recursion of one multiplicity pattern, recorded once as straight-line code.

    ``schur`` (n_S − 1, 2): covariance S_s = S_parent ∪ {m} as rows (parent, m), s = 1, 2, …
    (covariance 0 is K). ``code`` (N, 7) int rows (op, dst, S, a, m, src, first) and ``coef``
    (N,):

    * _ORTHANT: v[dst] = P(z_i > 0, i ∈ T | z_S = 0), T the bit mask a, |T| = m;
    * _POWER: v[dst] += (coef C_S[a, m]) v[src];
    * _DELTA: v[dst] += C_S[a, m]/√(2π C_S[m, m]) v[src];
    * _SUM: result += coef v[src] (the expansion over T).

    Registers are written before they are read; ``first`` marks the row that sets (rather than
    adds to) v[dst]. Executed batched by :func:`_run_numpy` (the reference) or per covariance
    by the compiled :func:`_run_loop`.
    """

    def __init__(self, counts: tuple[int, ...], slopes: tuple[float, float]) -> None:
        self.k = len(counts)
        self.covs: dict[frozenset[int], int] = {frozenset(): 0}
        self.memo: dict[tuple[frozenset[int], tuple[int, ...], frozenset[int]], int | None] = {}
        schur: list[tuple[int, int]] = []
        code: list[tuple[int, ...]] = []
        coef: list[float] = []
        self.schur, self.code, self.coef = schur, code, coef
        for c, T in _coefficients(counts, slopes):
            src = self.moment(frozenset(), counts, T)
            if src is not None:
                code.append((_SUM, 0, 0, 0, 0, src, 0))
                coef.append(c)
        self.n_values = sum(v is not None for v in self.memo.values())
        self.arrays = (
            np.array(schur, dtype=np.intp).reshape(-1, 2),
            np.array(code, dtype=np.intp).reshape(-1, 7),
            np.array(coef, dtype=np.float64),
        )

    def conditional(self, S: frozenset[int]) -> int:
        """Number of the covariance given z_S = 0 (recorded on first use)."""
        if S not in self.covs:
            m = max(S)
            parent = self.conditional(S - {m})
            self.schur.append((parent, m))
            self.covs[S] = len(self.covs)
        return self.covs[S]

    def moment(self, S: frozenset[int], p: tuple[int, ...], T: frozenset[int]) -> int | None:
        """Register of M(K given z_S = 0; p, T) (p_i = 0 and i ∉ T for i in S); None if the
        recursion has no terms (M = 0; its zero terms are left out of the sums)."""
        key = (S, p, T)
        if key in self.memo:
            return self.memo[key]
        s = self.conditional(S)
        active = [a for a in range(self.k) if p[a] > 0]
        rows: list[tuple[int, int, int, int, float]] = []
        if not active:
            rows.append((_ORTHANT, sum(1 << i for i in T), len(T), 0, 0.0))
        else:
            a = active[0]
            q = (*p[:a], p[a] - 1, *p[a + 1 :])
            for m in range(self.k):
                if q[m] > 0:
                    lower = (*q[:m], q[m] - 1, *q[m + 1 :])
                    rows.append((_POWER, a, m, self.moment(S, lower, T), float(q[m])))
                elif m in T:
                    rows.append((_DELTA, a, m, self.moment(S | {m}, q, T - {m}), 0.0))
            rows = [row for row in rows if row[3] is not None]
            if not rows:
                self.memo[key] = None
                return None
        dst = self.memo[key] = sum(v is not None for v in self.memo.values())
        for r, (op, a, m, src, c) in enumerate(rows):
            self.code.append((op, dst, s, a, m, src, int(r == 0)))
            self.coef.append(c)
        return dst


@lru_cache(maxsize=64)
def _program(counts: tuple[int, ...], slopes: tuple[float, float]) -> _Program:
    """The recorded recursion of a pattern (cached)."""
    return _Program(counts, slopes)


_PAIRS4 = np.array(list(combinations(range(4), 2))).T


def _orthant4(C: np.ndarray, lam: np.ndarray | None) -> np.ndarray:
    """P(z > 0) for z ~ N(0, C), C (B, 4, 4): Plackett's four-sign moment."""
    i, j = _PAIRS4
    cij = C[:, i, j]
    det = np.maximum(C[:, i, i] * C[:, j, j] - cij * cij, 0.0)
    total = np.sum(np.arctan2(cij, np.sqrt(det)), axis=1)
    d = np.einsum("bii->bi", C)
    dd = d[:, :, None] * d[:, None, :]
    R = C / np.sqrt(dd)
    q = np.maximum(dd - C * C, 0.0) / dd  # 1 − ρ², off the diagonal without cancellation
    return (1.0 + (2.0 / pi) * total + sign_moment4(R, q, lam=lam)) / 16.0


def _run_numpy(C: np.ndarray, p4: np.ndarray, program: _Program) -> np.ndarray:
    """Execute ``program`` on the batch C (B, k, k), p4 (B,) the four-orthant (or unused)."""
    schur, code, coef = program.arrays
    covs = [C]
    for parent, m in schur.tolist():
        P = covs[parent]
        col = P[:, :, m]
        covs.append(P - col[:, :, None] * (col / P[:, m, m][:, None])[:, None, :])
    values: list[np.ndarray] = [np.zeros(0)] * program.n_values
    result = np.zeros(C.shape[0])
    for (op, dst, s, a, m, src, first), c in zip(code.tolist(), coef.tolist(), strict=True):
        if op == _SUM:
            result = result + c * values[src]
            continue
        if op == _ORTHANT:
            values[dst] = _orthant(covs[s], a, m, p4)
            continue
        Cs = covs[s]
        if op == _POWER:
            term = (c * Cs[:, a, m]) * values[src]
        else:
            term = (Cs[:, a, m] * (_INV_SQRT_2PI / np.sqrt(Cs[:, m, m]))) * values[src]
        values[dst] = term if first else values[dst] + term
    return result


def _orthant(C: np.ndarray, mask: int, n: int, p4: np.ndarray) -> np.ndarray:
    """P(z_i > 0, i in the bit mask) for z ~ N(0, C) (B, k, k), n ≤ 3 bits; p4 if n = 4."""
    if n == 4:
        return p4
    if n <= 1:
        return np.full(C.shape[0], 0.5**n)
    T = [i for i in range(C.shape[1]) if mask >> i & 1]
    i, j = np.array(list(combinations(T, 2))).T
    cij = C[:, i, j]
    det = np.maximum(C[:, i, i] * C[:, j, j] - cij * cij, 0.0)
    total = np.sum(np.arctan2(cij, np.sqrt(det)), axis=1)
    return 0.25 + total / (2.0 * pi) if n == 2 else 0.125 + total / (4.0 * pi)


def _run_loop(
    C: np.ndarray,
    p4: np.ndarray,
    schur: np.ndarray,
    code: np.ndarray,
    coef: np.ndarray,
    n_values: int,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled by numba
    """:func:`_run_numpy`, one covariance at a time (the same arithmetic), for numba."""
    B, k = C.shape[0], C.shape[1]
    covs = np.empty((schur.shape[0] + 1, k, k))
    ratio = np.empty(k)
    values = np.empty(max(n_values, 1))
    for b in range(B):
        covs[0] = C[b]
        for s in range(1, schur.shape[0] + 1):
            parent, m = schur[s - 1, 0], schur[s - 1, 1]
            for j in range(k):
                ratio[j] = covs[parent, j, m] / covs[parent, m, m]
            for i in range(k):
                for j in range(k):
                    covs[s, i, j] = covs[parent, i, j] - covs[parent, i, m] * ratio[j]
        result = 0.0
        for r in range(code.shape[0]):
            op, dst, s = code[r, 0], code[r, 1], code[r, 2]
            a, m, src = code[r, 3], code[r, 4], code[r, 5]
            if op == 3:  # _SUM
                result += coef[r] * values[src]
            elif op == 0:  # _ORTHANT: mask a, m bits
                if m == 4:
                    values[dst] = p4[b]
                elif m <= 1:
                    values[dst] = 0.5**m
                else:
                    total = 0.0
                    for i in range(k):
                        if a >> i & 1:
                            for j in range(i + 1, k):
                                if a >> j & 1:
                                    cij = covs[s, i, j]
                                    det = max(covs[s, i, i] * covs[s, j, j] - cij * cij, 0.0)
                                    total += math.atan2(cij, math.sqrt(det))
                    if m == 2:
                        values[dst] = 0.25 + total / (2.0 * math.pi)
                    else:
                        values[dst] = 0.125 + total / (4.0 * math.pi)
            else:
                if op == 1:  # _POWER
                    term = (coef[r] * covs[s, a, m]) * values[src]
                else:  # _DELTA
                    weight = covs[s, a, m] * (_INV_SQRT_2PI / math.sqrt(covs[s, m, m]))
                    term = weight * values[src]
                if code[r, 6]:
                    values[dst] = term
                else:
                    values[dst] += term
        out[b] = result


def _run_compiled(loop: Any, C: np.ndarray, p4: np.ndarray, program: _Program) -> np.ndarray:
    """Execute ``program`` by the compiled ``loop`` on C (B, k, k) (p4 as in
    :func:`_run_numpy`), on consecutive ranges of covariances split over threads by
    :func:`~fieldnn.kernels._erf_four.run_split` (each value computed alone: bitwise the same
    for any thread count)."""
    value = np.empty(C.shape[0])
    schur, code, coef = program.arrays

    def run(lo: int, hi: int) -> None:
        part = p4[lo:hi] if p4.size else p4
        loop(C[lo:hi], part, schur, code, coef, program.n_values, value[lo:hi])

    run_split(run, np.arange(C.shape[0]), C.shape[0] * code.shape[0])
    return value


_LOOP: list[Any] = []  # [compiled _run_loop or None], filled on first use


def compiled_program() -> Any:
    """The numba-compiled :func:`_run_loop`, or None (numba missing, ``FIELDNN_NUMBA=0``, or
    relu and leaky-relu moments on a probe kernel differ from :func:`_run_numpy` by more than
    1e-14 relative)."""
    if not _LOOP:

        def agrees(loop: Any) -> bool:
            X = np.array([[0.3, -1.0, 0.2], [1.2, 0.4, -0.5], [-0.7, 2.0, 0.1], [0.5, 0.5, 0.9]])
            K = 0.2 + X @ X.T
            for slopes in ((0.0, 1.0), (0.1, 1.0)):
                reference = relu_moment_values(K, slopes, 4, accelerate=False)
                _LOOP.append(loop)
                try:
                    compiled = relu_moment_values(K, slopes, 4)
                finally:
                    _LOOP.clear()
                if np.max(np.abs(compiled - reference)) > 1e-14 * np.max(np.abs(reference)):
                    return False
            return True

        _LOOP.append(checked_njit(_run_loop, agrees))
    return _LOOP[0]


def _smallest_eigenvalue(R: np.ndarray) -> np.ndarray:
    """λ_min of correlation matrices R (B, k, k), k = 2, 3, 4, or a lower bound where that is
    ≥ τ: for k = 3 det R/9 (λ_max ≤ 3); for k = 4 1/tr R⁻¹ ∈ [λ_min/4, λ_min] (from the
    Cholesky factor, relative rounding ~κ·1e-16), used where ≥ 1e-8; the eigenvalue elsewhere."""
    k = R.shape[1]
    if k == 2:
        return 1.0 - np.abs(R[:, 0, 1])
    if k == 3:
        a, b, c = R[:, 0, 1], R[:, 0, 2], R[:, 1, 2]
        lam = (1.0 + 2.0 * a * b * c - a * a - b * b - c * c) / 9.0
        small = lam < REGULARISE
    else:
        try:
            L = np.linalg.cholesky(R)
        except np.linalg.LinAlgError:  # a (numerically) singular block
            return np.linalg.eigvalsh(R)[:, 0]
        # rows of L⁻¹ by forward substitution; tr R⁻¹ = ‖L⁻¹‖²_F
        inv = np.zeros(R.shape)
        for i in range(k):
            row = np.zeros(R.shape[:2])
            for j in range(i):
                row -= L[:, i, j, None] * inv[:, j, :]
            row[:, i] += 1.0
            inv[:, i, :] = row / L[:, i, i, None]
        lam = 1.0 / np.einsum("bij,bij->b", inv, inv)
        small = lam < 1e-8
    if np.any(small):
        lam[small] = np.linalg.eigvalsh(R[small])[:, 0]
    return lam


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

    Per pattern: counts (m_1 ≥ m_2 ≥ …), the row numbers (B,) and the flat indices (B, k, k)
    into a (P, P) matrix of the blocks of the distinct indices, in the order of the counts.
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
        flat = labels[:, :, None] * P + labels[:, None, :]
        index.flags.writeable = flat.flags.writeable = False
        out.append((counts, index, flat))
    return tuple(out)


def relu_moment_values(
    K: np.ndarray, slopes: tuple[float, float], order: int, *, accelerate: bool = True
) -> np.ndarray:
    """⟨Π_j σ(z_{a_j})⟩ on the rows of ``unique_multisets(P, order)``, order ≤ 4: (U,).

    K (P, P) symmetric PSD (not checked); slopes (s₋, s₊). ``accelerate``: run the recorded
    recursions by the compiled loop if numba is available (:func:`compiled_program`).
    """
    P = K.shape[0]
    U = comb(P + order - 1, order)
    if order == 0:
        return np.ones(U)
    out = np.zeros(U)
    scale = float(np.max(np.diag(K), initial=0.0))
    if scale <= 0.0:
        return out
    Kn = (K / scale).ravel()
    every = bool(np.all(np.diag(K) > 0.0))
    for counts, index, flat in _plan(P, order):
        C = Kn[flat]  # (B, k, k)
        d = np.einsum("bii->bi", C)
        if not every:
            live = np.all(d > 0.0, axis=1)
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
        program = _program(counts, (float(slopes[0]), float(slopes[1])))
        four = len(counts) == 4 and any(len(T) == 4 for _, T in terms)
        p4 = _orthant4(C, lam) if four else np.zeros(0)
        loop = compiled_program() if accelerate else None
        if loop is None:
            out[index] = _run_numpy(C, p4, program)
        else:
            out[index] = _run_compiled(loop, C, p4, program)
    # a float64 power: inf (checked by the callers) rather than Python's OverflowError
    return out * np.power(np.float64(scale), 0.5 * order)
