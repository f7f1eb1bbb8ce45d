r"""Four-point Gaussian moments of erf, up to a one-dimensional integral (private).

For z ~ N(0, K) and an index tuple (a_1, a_2, a_3, a_4) (repeats allowed), write
:math:`M_{a_1a_2a_3a_4} = \langle\operatorname{erf} z_{a_1}\cdots\operatorname{erf}
z_{a_4}\rangle_K`. Since :math:`\operatorname{erf} z = \mathbb E_\xi[\operatorname{sign}(z -
\xi/\sqrt2)]` for ξ ~ N(0, 1) (:math:`P(\xi < \sqrt2 z) - P(\xi > \sqrt2 z) = 2\Phi(\sqrt2 z) - 1
= \operatorname{erf} z`), with one independent ξ per factor,

.. math:: M_{a_1a_2a_3a_4} = \mathbb E\Big[\prod_{m=1}^4 \operatorname{sign} u_m\Big], \qquad
          u \sim \mathcal N(0, \Sigma), \quad \Sigma_{mn} = K_{a_ma_n} + \tfrac12\delta_{mn},

an orthant expectation that depends only on the correlation matrix R of Σ (always positive
definite: its smallest eigenvalue is at least :math:`1/\kappa`, :math:`\kappa = 1 + 2\max_a
K_{aa}`). Plackett's identity :math:`\partial\mathbb E f/\partial R_{ij} = \mathbb
E[\partial_i\partial_j f]` (i ≠ j) with :math:`\partial_i\operatorname{sign} u_i = 2\delta(u_i)`
gives

.. math:: \frac{\partial M}{\partial\rho_{ij}} = \frac{4}{\pi^2}
          \frac{\arcsin\rho_{kl\cdot ij}}{\sqrt{1-\rho_{ij}^2}},

{k, l} the complementary pair and :math:`\rho_{kl\cdot ij}` the partial correlation of u_k, u_l
given u_i, u_j. Along R(t) = ρ_12, ρ_34 kept and the four cross correlations ρ_13, ρ_14, ρ_23,
ρ_24 scaled by t ∈ [0, 1] (a convex combination of two positive-definite matrices), R(0) is
block diagonal, where the order-2 result :math:`\langle\operatorname{sign}u_1
\operatorname{sign}u_2\rangle = \tfrac2\pi\arcsin\rho_{12}` (the erf kernel of Williams 1996)
factorises. Substituting :math:`\rho_{ij}t = \sin\varphi` in the term of ρ_ij removes its
:math:`(1-\rho_{ij}^2t^2)^{-1/2}`:

.. math:: M = \frac{4}{\pi^2}\Big[\arcsin\rho_{12}\arcsin\rho_{34}
          + \sum_{ij\in\{13,14,23,24\}}\int_0^{\arcsin\rho_{ij}}
          \arcsin\rho_{kl\cdot ij}\big(R(\sin\varphi/\rho_{ij})\big)\,d\varphi\Big].

The partial correlation comes from 2×2 blocks: with the fixed within-pair correlations
f_1 = ρ_ki, f_2 = ρ_lj and the cross ones scaled by t,

.. math:: \rho_{kl\cdot ij} = \frac{A_1t + A_3t^3}{\sqrt{(B_0 + B_2t^2)(C_0 + C_2t^2)}},
          \quad A_1 = \rho_{kl} - f_1\rho_{li} - f_2\rho_{kj} + f_1f_2\rho_{ij},
          \quad A_3 = \rho_{ij}(\rho_{kj}\rho_{li} - \rho_{kl}\rho_{ij}),

:math:`B_0 = 1 - f_1^2`, :math:`B_2 = 2f_1\rho_{ij}\rho_{kj} - \rho_{ij}^2 - \rho_{kj}^2`,
:math:`C_0 = 1 - f_2^2`, :math:`C_2 = 2f_2\rho_{ij}\rho_{li} - \rho_{ij}^2 - \rho_{li}^2`
(numerator and variances of the conditional 2×2 covariance, times :math:`1-\rho_{ij}^2t^2 > 0`).
:math:`1 - \rho_{ab}^2 = [K_{aa}K_{bb} - K_{ab}^2 + (K_{aa} + K_{bb})/2 + 1/4]/(\Sigma_{aa}
\Sigma_{bb})` is formed without cancellation (K_aaK_bb − K_ab² is set to 0 for a = b).

Quadrature: φ = 2 arctan w, w = s tan(½ arcsin ρ_ij), s ∈ [0, 1] (rational in s, no sine), by
composite Gauss–Legendre on panels graded towards s = 1, where the integrand varies on a scale
~1/κ when R is nearly singular (large K, nearly collinear inputs): edges 0, 1/2, 3/4, …,
1 − 2^{-m}, 1, with (m, n) from :func:`default_rule`. Measured worst absolute error over random
K (near-duplicate, antipodal and collinear inputs included) against a rule with m + 6 panels of
16 nodes (table in ``docs/eft.md``): ≤ 2e-14 for κ ≤ 201, 1e-13 at κ = 2·10³, 9e-12 at
κ = 2·10⁴, where rounding in the nearly singular R dominates. ``return_error`` estimates the
quadrature error by the difference to the rule with two nodes fewer per panel.

Cost: the multiset-independent work is one gather per layer; each distinct cross term is a
"job" of n nodes (1795 jobs at P = 10). The NumPy path (:func:`_job_integrals`) is the
reference; if numba is installed, the same arithmetic runs as one compiled loop
(:func:`compiled_loop`; ≈ 2× faster, 0.15 vs 0.28 ms per layer at P = 10, n = 6), checked
against the NumPy path on a probe kernel before first use and agreeing to rounding (not
bitwise). ``FIELDNN_NUMBA=0`` disables it. The compiled loop releases the GIL; from
:data:`BREAK_EVEN` units of work on, :func:`run_split` runs it on :func:`thread_count` threads
over consecutive job ranges cut between multisets, so each value is summed in the same order
by one thread and the result is bitwise independent of the thread count.

:func:`sign_moment4` exposes the same integral for a batch of 4×4 correlation matrices (four
terms each, rule per matrix from κ = 1/λ_min); :mod:`fieldnn.kernels._relu_four` uses it for
the four-variable orthant probabilities of relu-type σ. Its default rule (:func:`orthant_rule`)
for 3 ≤ m ≤ 16 is Gauss–Legendre in u = log(1 − s + δ), δ = 2^{-(m+1/2)} ≤ 1/κ
(:func:`log_rule`, m + 22 nodes): the singularities at distance ≳ 1/κ beyond s = 1 are then
≳ π off the u-interval, so the node count grows like m instead of the graded rule's 8(m + 1)
(37 instead of 128 nodes at κ ≈ 2.5·10⁴, the deep relu vertex at depth 1000).

References
----------
R. L. Plackett, "A reduction formula for normal multivariate integrals", Biometrika 41, 351
(1954). C. K. I. Williams, "Computing with infinite networks", NIPS 1996 (erf kernel).
D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, eq. (4.90) (where the moments enter V).
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np

from ._multisets import scatter_symmetric, unique_multisets

_KERNEL: list[Any] = []  # [compiled job loop or None], filled on first use
_PAIRS = np.array([[0, 2, 0, 0, 1, 1], [1, 3, 2, 3, 2, 3]])
"""Position pairs 01, 23 (the two pairs) and 02, 03, 12, 13 (the cross pairs)."""
_TERMS = np.array([[0, 3, 2, 1], [1, 2, 3, 0], [2, 1, 0, 3], [3, 0, 1, 2]])
"""The four cross pairs (i, j) (i in the first pair of positions, j in the second) as columns
into the cross correlations (ρ_02, ρ_03, ρ_12, ρ_13): rows (ρ_ij, ρ_kl, ρ_kj, ρ_li)."""


def default_rule(kappa: float) -> tuple[int, int]:
    """(m, n): graded panels beyond [0, 1/2] and nodes per panel for κ = 1 + 2 max K_aa.

    m = ⌈log₂ κ − 1/2⌉ (at least 0); n = 6 on the single panel (κ ≤ √2), 8 otherwise. Chosen
    from the measured table in ``docs/eft.md`` (worst error ≤ 3e-14 for κ ≤ 2·10⁴).
    """
    m = int(_panels(np.array([kappa]))[0])
    return m, (6 if m == 0 else 8)


def _panels(kappa: np.ndarray) -> np.ndarray:
    """m of :func:`default_rule` for an array of κ."""
    return np.maximum(0, np.ceil(np.log2(kappa) - 0.5)).astype(np.intp)


@lru_cache(maxsize=64)
def log_rule(m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n-node Gauss–Legendre in u = log(1 − s + δ), δ = 2^{-(m + 1/2)} ≤ 1/κ, for s ∈ [0, 1].

    The integrand's singularities near s = 1 lie at distance ≳ 1/κ beyond it, so on the
    u-interval [log δ, log(1 + δ)] (length ≈ (m + ½) log 2) they sit ≳ π off the real axis:
    the error falls geometrically in n/m, without the graded panels' 8 nodes per halving.
    """
    x, w = np.polynomial.legendre.leggauss(n)
    delta = 2.0 ** -(m + 0.5)
    lo, hi = math.log(delta), math.log1p(delta)
    e = np.exp(lo + 0.5 * (hi - lo) * (x + 1.0))
    s, weight = 1.0 + delta - e, 0.5 * (hi - lo) * w * e
    s.flags.writeable = weight.flags.writeable = False
    return s, weight


def orthant_rule(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of :func:`sign_moment4` for m = ⌈log₂ κ − 1/2⌉: :func:`log_rule`
    (m, m + 22) for 3 ≤ m ≤ 16 (37 instead of 128 nodes at m = 15), else the graded rule of
    :func:`default_rule` (fewer nodes for m ≤ 2; beyond m = 16, κ > 6·10⁴, rounding in the
    nearly singular R limits both rules to ≳ 1e-11 and the graded one is kept).

    Measured against the graded rule with m + 6 panels of 16 nodes (random nearly collinear
    R, ``tests/kernels/test_erf_four.py``): ≤ 2e-13 for m ≤ 12; rounding-limited beyond
    (≤ 5e-12 at m = 15–16, where the graded rule of :func:`default_rule` reaches ≤ 1e-12).
    """
    if 3 <= m <= 16:
        return log_rule(m, m + 22)
    return graded_rule(m, 6 if m == 0 else 8)


@lru_cache(maxsize=32)
def graded_rule(m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite n-node Gauss–Legendre on [0, 1] with edges 0, 1/2, …, 1 − 2^{-m}, 1."""
    x, w = np.polynomial.legendre.leggauss(n)
    edges = np.concatenate([1.0 - 0.5 ** np.arange(m + 1), [1.0]]) if m else np.array([0.0, 1.0])
    lo, width = edges[:-1, None], np.diff(edges)[:, None]
    s, weight = (lo + 0.5 * width * (x + 1.0)).ravel(), (0.5 * width * w).ravel()
    s.flags.writeable = weight.flags.writeable = False
    return s, weight


def _correlations(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ρ_ab = K_ab/√(Σ_aa Σ_bb) (two different positions) and 1 − ρ_ab² without cancellation."""
    d = np.diag(K)
    sig = d + 0.5
    norm = np.sqrt(sig)
    rho = K / (norm[:, None] * norm[None, :])
    det = np.maximum(d[:, None] * d[None, :] - K * K, 0.0)
    np.fill_diagonal(det, 0.0)
    q = (det + 0.5 * (d[:, None] + d[None, :]) + 0.25) / (sig[:, None] * sig[None, :])
    return rho, q


@lru_cache(maxsize=16)
def _plan(P: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gather indices for every multiset of unique_multisets(P, 4) and its distinct terms.

    A repeated input is put in the first pair: swapping two equal positions of a pair maps
    the cross terms onto each other (a1 = a2: 13 ↔ 23, 14 ↔ 24; a3 = a4: 13 ↔ 14, 23 ↔ 24),
    so a multiset needs 4, 2 or 1 distinct terms ("jobs"; 1795 instead of 2860 at P = 10).
    Returns flat indices into a (P, P) matrix: the two pairs (2, U); per job the pairs
    (12, 34, ij, kl, kj, li) (6, J); and per job its multiset (J,) and multiplicity (J,).
    """
    pairs, jobs = [], []
    for u, tup in enumerate(unique_multisets(P, 4).tolist()):
        repeated = [v for v in tup if tup.count(v) >= 2]
        if repeated:
            rest = list(tup)
            rest.remove(repeated[0])
            rest.remove(repeated[0])
            tup = [repeated[0], repeated[0], *rest]
            terms = [(0, 4.0)] if rest[0] == rest[1] else [(0, 2.0), (1, 2.0)]
        else:
            terms = [(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0)]
        flat = [tup[i] * P + tup[j] for i, j in _PAIRS.T]  # 12, 34, 13, 14, 23, 24
        pairs.append(flat[:2])
        jobs += [
            (flat[0], flat[1], *(flat[2 + c] for c in _TERMS[term]), u, w) for term, w in terms
        ]
    table = np.array(jobs)
    out = (
        np.array(pairs, dtype=np.intp).T,
        table[:, :6].astype(np.intp).T,
        table[:, 6].astype(np.intp),
        table[:, 7].copy(),
    )
    for arr in out:
        arr.flags.writeable = False
    return out


def erf_four_values(
    K: np.ndarray, rule: tuple[int, int] | None = None, *, accelerate: bool = True
) -> np.ndarray:
    """M on the rows of ``unique_multisets(P, 4)``, K (P, P) PSD: values (U,).

    ``rule`` = (m, n) graded panels and nodes per panel; default :func:`default_rule` (κ).
    ``accelerate``: use the compiled loop if numba is available (:func:`compiled_loop`).
    """
    d = np.diag(K)
    if rule is None:
        rule = default_rule(1.0 + 2.0 * float(np.max(d, initial=0.0)))
    pairs, job_pairs, u, multiplicity = _plan(K.shape[0])
    rho, q = _correlations(K)
    return _orthant_sums(
        rho.ravel(), q.ravel(), pairs, job_pairs, u, multiplicity, graded_rule(*rule), accelerate
    )


def _orthant_sums(
    r: np.ndarray,
    q: np.ndarray,
    pairs: np.ndarray,
    job_pairs: np.ndarray,
    u: np.ndarray,
    multiplicity: np.ndarray,
    nodes: tuple[np.ndarray, np.ndarray],
    accelerate: bool,
) -> np.ndarray:
    """E Π sign u_m for every multiset u (flat correlations r, 1 − r² = q, gather tables,
    quadrature nodes and weights on s ∈ [0, 1])."""
    f1, f2 = r[pairs]
    s, weight = nodes
    # below COMPILE_WORTH the NumPy path takes < 1 ms: no numba import (≈ 1 s) on a first call
    loop = compiled_loop() if accelerate and u.size * s.size >= COMPILE_WORTH else None
    if loop is None:
        terms = _job_integrals(r, q, job_pairs, s, weight)
        integral = np.bincount(u, weights=multiplicity * terms, minlength=f1.size)
    else:
        integral = np.zeros(f1.size)

        def run(lo: int, hi: int) -> None:
            jobs = job_pairs[:, lo:hi]
            loop(r, q, jobs, u[lo:hi], multiplicity[lo:hi], s, weight, integral)

        run_split(run, u, u.size * s.size)
    return (4.0 / np.pi**2) * (np.arcsin(f1) * np.arcsin(f2) + 2.0 * integral)


@lru_cache(maxsize=1)
def _matrix_jobs() -> tuple[np.ndarray, np.ndarray]:
    """Flat indices into one 4×4 matrix: the pairs 01, 23 (2,) and the four jobs (6, 4)."""
    flat = [4 * i + j for i, j in _PAIRS.T]  # 01, 23, 02, 03, 12, 13
    jobs = np.array([[flat[0], flat[1], *(flat[2 + c] for c in _TERMS[t])] for t in range(4)])
    return np.array(flat[:2], dtype=np.intp), jobs.T.astype(np.intp)


def sign_moment4(
    R: np.ndarray,
    q: np.ndarray | None = None,
    *,
    lam: np.ndarray | None = None,
    rule: tuple[int, int] | None = None,
    accelerate: bool = True,
) -> np.ndarray:
    r""":math:`\mathbb E[\operatorname{sign}u_1\operatorname{sign}u_2\operatorname{sign}u_3
    \operatorname{sign}u_4]`, u ~ N(0, R), for a batch of correlation matrices.

    The Plackett integral of the module docstring (four terms per matrix, no multiset sharing).

    Parameters
    ----------
    R : ndarray (B, 4, 4)
        Positive-definite correlation matrices (unit diagonal; not checked).
    q : ndarray (B, 4, 4), optional
        :math:`1 - R_{ij}^2`, if known without cancellation; default computed from R.
    lam : ndarray (B,), optional
        Smallest eigenvalue of each R (or a lower bound), if known; default computed.
    rule : (int, int), optional
        (m, n) graded panels and nodes per panel; default :func:`orthant_rule` of
        m = ⌈log₂ κ − 1/2⌉, κ = 1/λ_min for each matrix (λ_min its smallest eigenvalue, the
        bound that 1/κ is for erf).
    accelerate : bool
        Use the compiled loop if numba is available.

    Returns
    -------
    ndarray (B,)
    """
    R = np.ascontiguousarray(R, dtype=np.float64)
    B = R.shape[0]
    if B == 0:
        return np.zeros(0)
    if q is None:
        q = 1.0 - R * R
    if rule is None:
        # one rule per matrix (κ = 1/λ_min), evaluated group by group
        if lam is None:
            lam = np.linalg.eigvalsh(R)[:, 0]
        panels = _panels(1.0 / np.maximum(lam, 1e-15))
        out = np.empty(B)
        for m in np.unique(panels).tolist():
            rows = panels == m
            out[rows] = _sign_moment4(R[rows], q[rows], orthant_rule(m), accelerate)
        return out
    return _sign_moment4(R, q, graded_rule(*rule), accelerate)


def _sign_moment4(
    R: np.ndarray, q: np.ndarray, nodes: tuple[np.ndarray, np.ndarray], accelerate: bool
) -> np.ndarray:
    """:func:`sign_moment4` on given quadrature nodes and weights."""
    return _orthant_sums(
        R.ravel(),
        np.ascontiguousarray(q, dtype=np.float64).ravel(),
        *_batch_jobs(R.shape[0]),
        nodes,
        accelerate,
    )


@lru_cache(maxsize=16)
def _batch_jobs(B: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The gather tables of :func:`_orthant_sums` for B stacked 4×4 matrices (cached):
    pairs (2, B), jobs (6, 4B), their matrix (4B,) and multiplicity 1 (4B,)."""
    pairs, jobs = _matrix_jobs()
    base = 16 * np.arange(B, dtype=np.intp)
    out = (
        pairs[:, None] + base[None, :],
        (jobs[:, None, :] + base[None, :, None]).reshape(6, 4 * B),
        np.repeat(np.arange(B, dtype=np.intp), 4),
        np.ones(4 * B),
    )
    for arr in out:
        arr.flags.writeable = False
    return out


def _job_integrals(
    r: np.ndarray, q: np.ndarray, job_pairs: np.ndarray, s: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """∫₀^{arcsin ρ_ij} arcsin ρ_{kl·ij} dφ for every job (J,): the NumPy reference."""
    g1, g2, rij, rkl, rkj, rli = r[job_pairs]  # (J,) each
    B0, C0, root2 = q[job_pairs[:3]]
    # partial correlation (A1 t + A3 t³)/√(D0 + D1 t² + D2 t⁴), D = (B0 + B2 t²)(C0 + C2 t²)
    A1 = (rkl - g1 * rli - g2 * rkj + g1 * g2 * rij)[:, None]
    A3 = (rij * (rkj * rli - rkl * rij))[:, None]
    B2 = 2.0 * g1 * rij * rkj - rij * rij - rkj * rkj
    C2 = 2.0 * g2 * rij * rli - rij * rij - rli * rli
    D0, D1, D2 = (B0 * C0)[:, None], (B0 * C2 + B2 * C0)[:, None], (B2 * C2)[:, None]
    # φ = 2 arctan(s w1), w1 = tan(½ arcsin ρ_ij) = ρ_ij c, c = 1/(1 + √(1 − ρ_ij²));
    # t = sin φ/ρ_ij = 2 c s/(1 + w1² s²), dφ = 2 w1 ds/(1 + w1² s²)
    c = 1.0 / (1.0 + np.sqrt(root2))
    w1 = rij * c
    # (J, N) arrays, updated in place (this runs once per layer of V)
    inv = w1[:, None] * s
    inv *= inv
    inv += 1.0
    np.reciprocal(inv, out=inv)
    t = (2.0 * c)[:, None] * s
    t *= inv
    t2 = t * t
    x = A3 * t2
    x += A1
    x *= t
    den = D2 * t2
    den += D1
    den *= t2
    den += D0
    # a nearly singular R can round the conditional variances below 0: the partial
    # correlation is then ±1 by the sign of its numerator (the clip below), not NaN
    np.maximum(den, 1e-300, out=den)
    np.sqrt(den, out=den)
    x /= den
    np.clip(x, -1.0, 1.0, out=x)
    np.arcsin(x, out=x)
    x *= inv
    return w1 * (x @ weight)


def _job_loop(
    r: np.ndarray,
    q: np.ndarray,
    job_pairs: np.ndarray,
    u: np.ndarray,
    multiplicity: np.ndarray,
    s: np.ndarray,
    weight: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled by numba
    """out[u_j] += multiplicity_j × (the integral of job j): :func:`_job_integrals`, one job
    at a time, for numba."""
    for j in range(u.size):
        g1, g2 = r[job_pairs[0, j]], r[job_pairs[1, j]]
        rij, rkl = r[job_pairs[2, j]], r[job_pairs[3, j]]
        rkj, rli = r[job_pairs[4, j]], r[job_pairs[5, j]]
        B0, C0 = q[job_pairs[0, j]], q[job_pairs[1, j]]
        A1 = rkl - g1 * rli - g2 * rkj + g1 * g2 * rij
        A3 = rij * (rkj * rli - rkl * rij)
        B2 = 2.0 * g1 * rij * rkj - rij * rij - rkj * rkj
        C2 = 2.0 * g2 * rij * rli - rij * rij - rli * rli
        D0, D1, D2 = B0 * C0, B0 * C2 + B2 * C0, B2 * C2
        c = 1.0 / (1.0 + math.sqrt(q[job_pairs[2, j]]))
        w1 = rij * c
        total = 0.0
        for n in range(s.size):
            inv = 1.0 / (1.0 + (w1 * s[n]) ** 2)
            t = 2.0 * c * s[n] * inv
            t2 = t * t
            x = t * (A1 + A3 * t2) / math.sqrt(max(D0 + t2 * (D1 + D2 * t2), 1e-300))
            total += weight[n] * inv * math.asin(min(1.0, max(-1.0, x)))
        out[u[j]] += multiplicity[j] * w1 * total


BREAK_EVEN = 100_000
"""Work (jobs × quadrature nodes, or covariances × program rows) from which :func:`run_split`
uses more than one thread. Measured on 2 idle cores (a unit ≈ 0.010–0.015 µs): 3·10⁴ units
(the relu Plackett jobs of one layer at P = 10) take 0.49 ms on 2 threads vs 0.44 ms on one
(waking the pool thread costs more than it saves); 1.6·10⁶ units take 12.4 vs 21.6 ms."""

COMPILE_WORTH = 20_000
"""Work (jobs × nodes) from which :func:`_orthant_sums` uses the compiled loop: below it the
NumPy path is faster than loading numba in a new process (measured: 4 inputs, 1 488 units,
0.09 ms NumPy vs 0.05 ms compiled, but ≈ 1 s for numba's import and cache load on the first
call; 10 inputs, 57 440 units, 10 ms vs 3.3 ms). The two paths agree to ≤ 1e-14."""

_POOL: list[tuple[int, ThreadPoolExecutor]] = []  # [(workers, pool)], made on first use


@lru_cache(maxsize=1)
def thread_count() -> int:
    """Threads for the compiled loops: the CPUs this process may run on
    (``os.sched_getaffinity``), at most ``FIELDNN_THREADS``, ``NUMBA_NUM_THREADS`` or
    ``OMP_NUM_THREADS`` where set to a positive integer (read on the first call; cached,
    ``thread_count.cache_clear()`` rereads them)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    for name in ("FIELDNN_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            n = min(n, int(value))
    return max(n, 1)


def run_split(call: Callable[[int, int], None], owner: np.ndarray, work: float) -> None:
    """``call(lo, hi)`` on consecutive ranges covering ``range(owner.size)``, in parallel.

    ``call`` runs a ``nogil`` compiled loop on items lo..hi − 1, each writing only the outputs
    of its ``owner`` (ascending); ranges are cut only where the owner changes, so every output
    is accumulated by one thread in the serial order and the result is bitwise the same for
    any number of threads. One thread unless ``work`` ≥ :data:`BREAK_EVEN`; the first range
    runs on the calling thread, the others on a shared pool of :func:`thread_count` − 1.
    """
    size = owner.size
    threads = min(thread_count(), size) if work >= BREAK_EVEN else 1
    if threads <= 1:
        call(0, size)
        return
    cuts = [0]
    for t in range(1, threads):
        c = max(size * t // threads, cuts[-1])
        while 0 < c < size and owner[c] == owner[c - 1]:
            c += 1
        cuts.append(c)
    cuts.append(size)
    if not _POOL or _POOL[0][0] < threads - 1:
        if _POOL:
            _POOL[0][1].shutdown(wait=False)
        _POOL[:] = [(threads - 1, ThreadPoolExecutor(threads - 1, thread_name_prefix="fieldnn"))]
    pool = _POOL[0][1]
    futures = [pool.submit(call, lo, hi) for lo, hi in itertools.pairwise(cuts[1:])]
    call(cuts[0], cuts[1])
    for future in futures:
        future.result()


def checked_njit(func: Any, agrees: Any) -> Any:
    """``numba.njit(func)`` if numba is installed, ``FIELDNN_NUMBA`` is not 0, it compiles and
    ``agrees(compiled)`` (the caller's probe against its NumPy reference) is true; else None."""
    if os.environ.get("FIELDNN_NUMBA", "1") == "0":
        return None
    try:
        import numba

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = numba.njit(nogil=True, cache=True, error_model="numpy")(func)
            return compiled if agrees(compiled) else None
    except Exception:  # numba missing or failing to compile: the NumPy path
        return None


def compiled_loop() -> Any:
    """The numba-compiled :func:`_job_loop`, or None (numba missing, ``FIELDNN_NUMBA=0``, or
    its result on a probe kernel differs from the NumPy reference by more than 1e-14)."""
    if not _KERNEL:

        def agrees(loop: Any) -> bool:
            X = np.array([[0.3, -1.0], [0.3, -1.0], [1.2, 0.4], [-0.7, 2.0]])
            K = 0.2 + X @ X.T
            _KERNEL.append(loop)
            try:
                compiled = erf_four_values(K)
            finally:
                _KERNEL.clear()
            return bool(np.max(np.abs(compiled - erf_four_values(K, accelerate=False))) <= 1e-14)

        _KERNEL.append(checked_njit(_job_loop, agrees))
    return _KERNEL[0]


def erf_four_moments(
    K: np.ndarray, *, rule: tuple[int, int] | None = None, return_error: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""All :math:`\langle\operatorname{erf}z_a\operatorname{erf}z_b\operatorname{erf}z_c
    \operatorname{erf}z_d\rangle_K`, z ~ N(0, K), as the symmetric tensor (P, P, P, P).

    Parameters
    ----------
    K : ndarray (P, P)
        Symmetric positive-semidefinite covariance (not checked here).
    lam : ndarray (B,), optional
        Smallest eigenvalue of each R (or a lower bound), if known; default computed.
    rule : (int, int), optional
        (m, n): graded panels and Gauss–Legendre nodes per panel; default
        :func:`default_rule` of κ = 1 + 2 max K_aa.
    return_error : bool
        Also return the error estimate ``|Q(m, n) − Q(m, n − 2)|`` (P, P, P, P), which bounds
        the error of the returned Q(m, n) in every measured case (by ~10³ at the defaults).

    Returns
    -------
    ndarray (P, P, P, P), and the error estimate if ``return_error``
    """
    P = K.shape[0]
    if rule is None:
        rule = default_rule(1.0 + 2.0 * float(np.max(np.diag(K), initial=0.0)))
    values = erf_four_values(K, rule)
    M = scatter_symmetric(values, P, 4)
    if not return_error:
        return M
    coarse = erf_four_values(K, (rule[0], rule[1] - 2))
    return M, scatter_symmetric(np.abs(values - coarse), P, 4)
