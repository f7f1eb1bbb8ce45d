r"""Tail diagnostic of sampled correlators: Pareto :math:`\hat k` of the largest outputs (private).

A sample mean of per-network products :math:`Z = \prod_j y_{s_j}` has a finite variance (and a
standard error that means something) only if :math:`E[Z^2] < \infty`. For a tail
:math:`P(|Z| > t) \sim t^{-1/k}` (generalised Pareto shape :math:`k`) that needs :math:`k < 1/2`
(Vehtari et al., arXiv:1507.02646, Sec. 3: :math:`\hat k > 0.5` means the variance is infinite
or not reliably estimated). By Hölder's inequality, a product of (dependent) factors with tail
shapes :math:`k_j` has a shape at most :math:`\sum_j k_j` (light tails count as 0), so the
diagnostic of an entry :math:`(s_1..s_n)` of an order-n correlator is

.. math:: \hat k(s_1..s_n) = \sum_{j=1}^{n} \max(\hat k_{s_j}, 0),

with :math:`\hat k_s` fitted to the largest :math:`|f_s - c_s|` of site s over the whole run.
Only those largest values are kept: per site the top :data:`TAIL_KEEP` of all networks, exactly
mergeable across chunks and workers (the top values of a union are the top values of the parts'
top values), hence bitwise reproducible and checkpointed with the accumulator.

The fit is Zhang & Stephens' (2009) posterior-mean estimator with the weak prior of Vehtari et
al. (arXiv:1507.02646, eq. (8) and Appendix C) on the exceedances over the (M+1)-th largest
value, :math:`M = \min(0.2\,n, 3\sqrt n)` as in PSIS, capped at :data:`TAIL_KEEP`.

References
----------
A. Vehtari, D. Simpson, A. Gelman, Y. Yao, J. Gabry, *Pareto smoothed importance sampling*,
arXiv:1507.02646 (2015-2024), Sec. 3 and Appendix C.
J. Zhang, M. A. Stephens, *A new and efficient estimation method for the generalized Pareto
distribution*, Technometrics 51, 316 (2009).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["RELIABLE_K", "TAIL_KEEP", "merge_top", "pareto_k", "site_pareto_k"]

# Largest |f - c| kept per site (all chunks together).
TAIL_KEEP = 4096
# An error bar is accepted where the entry's tail shape bound is at most this (finite variance).
RELIABLE_K = 0.5
# Fewer tail points than this: no fit (NaN, the entry is not accepted).
_MIN_TAIL = 20


def merge_top(a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    """The largest :data:`TAIL_KEEP` values of each column of ``a`` and ``b`` together (in no
    particular order; a deterministic function of the two arrays).

    Once ``a`` is full, rows of ``b`` with no value above a column's smallest kept value are
    skipped (they cannot enter), so merging a chunk costs little beyond one comparison.
    """
    if a is not None and a.shape[0] >= TAIL_KEEP:
        b = b[np.any(b > a.min(axis=0), axis=1)]
        if b.shape[0] == 0:
            return a
    both = b if a is None else np.concatenate([a, b], axis=0)
    if both.shape[0] > TAIL_KEEP:
        both = -np.partition(-both, TAIL_KEEP - 1, axis=0)[:TAIL_KEEP]
    return both


def pareto_k(exceedances: np.ndarray) -> float:
    r"""Generalised Pareto shape :math:`\hat k` of positive exceedances (Zhang–Stephens with the
    weak prior of Vehtari et al.; positive = heavy tail, 0 = exponential tail)."""
    x = np.sort(np.asarray(exceedances, dtype=np.float64))
    n = x.size
    if n < _MIN_TAIL or not np.all(np.isfinite(x)) or x[-1] <= 0:
        return math.nan
    if x[0] <= 0:  # ties at the threshold: the smallest exceedances are 0, keep them tiny
        x = np.maximum(x, x[-1] * 1e-300)
    m = 30 + int(math.sqrt(n))
    b = 1.0 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))
    b = b / (3.0 * x[int(n / 4 + 0.5) - 1]) + 1.0 / x[-1]
    with np.errstate(all="ignore"):  # b = 0 exactly gives 0/0: that grid point gets no weight
        k = np.log1p(-b[:, None] * x).mean(axis=1)
        log_lik = n * (np.log(-b / k) - k - 1.0)
        log_lik = np.where(np.isfinite(log_lik), log_lik, -np.inf)
        diff = np.clip(log_lik[None, :] - log_lik[:, None], -600.0, 600.0)
        weights = 1.0 / np.exp(np.nan_to_num(diff, nan=-600.0)).sum(axis=1)
    weights = weights / weights.sum()
    b_post = float(np.sum(b * weights))
    k_post = float(np.log1p(-b_post * x).mean())
    return (n * k_post + 10 * 0.5) / (n + 10)


def site_pareto_k(top: np.ndarray, count: int) -> np.ndarray:
    """Per-site :math:`\\hat k` from the kept largest values ``top`` (one column per site) of
    ``count`` networks; NaN where too few networks were seen, 0 for a site whose largest values
    are all equal (no tail)."""
    tail = int(min(0.2 * count, 3.0 * math.sqrt(count), top.shape[0] - 1))
    out = np.full(top.shape[1], math.nan)
    if tail < _MIN_TAIL:
        return out
    ordered = -np.sort(-top, axis=0)
    for s in range(top.shape[1]):
        exceed = ordered[:tail, s] - ordered[tail, s]
        out[s] = 0.0 if not np.any(exceed > 0) else pareto_k(exceed)
    return out
