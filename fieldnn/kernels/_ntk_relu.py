r"""Exact σ'-moments of relu-type activations at any rank for the NTK recursions (private).

For σ(z) = s₊ z θ(z) + s₋ z θ(−z) a product of σ' and σ factors on one variable is

.. math:: \sigma'(z)^{m'}\sigma(z)^m = z^m\big[s_-^{e} + (s_+^{e} - s_-^{e})\,\theta(z)\big],
          \qquad e = m + m',

so :math:`Q^{(2)}_{abcd} = \langle\sigma'_a\sigma'_b\sigma_c\sigma_d\rangle` and
:math:`Q^{(3)}_{abcd} = \langle\sigma'_a\sigma'_b\sigma'_c\sigma'_d\rangle` expand, exactly as the
σ-products of :mod:`fieldnn.kernels._relu_four`, into
:math:`\mathbb E[\prod_i z_i^{p_i}\prod_{i\in T}\theta(z_i)]` — now with z-powers p = m (σ
factors only) and slope exponents e = m + m'. The same recorded Stein recursion to orthant
probabilities evaluates them (Plackett's integral for four-variable orthants; blocks of four
distinct inputs of rank 3 lifted by τ = 1e-10 as there). Label blocks of rank ≤ 2 (duplicated or
collinear inputs) go to the exact angular rule of :mod:`fieldnn.kernels._ntk_moments`.

References
----------
C. Stein, Ann. Stat. 9, 1135 (1981); R. L. Plackett, Biometrika 41, 351 (1954);
arXiv:2106.10165, ch. 8 (where these moments enter the NTK variance).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import combinations_with_replacement, permutations

import numpy as np

from ._relu_four import (
    _SUM,
    REGULARISE,
    _coefficients,
    _orthant4,
    _Program,
    _run_compiled,
    _run_numpy,
    _smallest_eigenvalue,
    compiled_program,
)


class _MixedProgram(_Program):
    """The recorded recursion of E[Π z_i^{p_i} Σ_T c_T Π_{i∈T} θ(z_i)] with the expansion
    coefficients c_T of the slope exponents e (σ'^{m'}σ^m per variable; p = m, e = m + m')."""

    def __init__(
        self, powers: tuple[int, ...], exponents: tuple[int, ...], slopes: tuple[float, float]
    ) -> None:
        self.k = len(powers)
        self.covs = {frozenset(): 0}
        self.memo = {}
        self.schur, self.code, self.coef = [], [], []
        self.terms = _coefficients(exponents, slopes)
        for c, T in self.terms:
            src = self.moment(frozenset(), powers, T)
            if src is not None:
                self.code.append((_SUM, 0, 0, 0, 0, src, 0))
                self.coef.append(c)
        self.n_values = sum(v is not None for v in self.memo.values())
        self.arrays = (
            np.array(self.schur, dtype=np.intp).reshape(-1, 2),
            np.array(self.code, dtype=np.intp).reshape(-1, 7),
            np.array(self.coef, dtype=np.float64),
        )


@lru_cache(maxsize=256)
def _mixed_program(
    powers: tuple[int, ...], exponents: tuple[int, ...], slopes: tuple[float, float]
) -> _MixedProgram:
    return _MixedProgram(powers, exponents, slopes)


def _pattern(
    derivs: tuple[int, ...], values: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Distinct labels of a product (σ' at ``derivs``, σ at ``values``) in canonical order,
    with their z-powers and slope exponents."""
    labels = sorted(set(derivs) | set(values))
    p = {a: values.count(a) for a in labels}
    e = {a: values.count(a) + derivs.count(a) for a in labels}
    labels.sort(key=lambda a: (-e[a], -p[a], a))
    return tuple(labels), tuple(p[a] for a in labels), tuple(e[a] for a in labels)


def relu_mixed_moments(
    K: np.ndarray,
    slopes: tuple[float, float],
    low_rank: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Q2, Q3 (P, P, P, P) of a relu-type σ at any K with K_aa > 0.

    ``low_rank(S)`` returns the stacked (Q2, Q3) block of the inputs S by the angular rule (for
    label blocks of rank ≤ 2).
    """
    P = K.shape[0]
    scale = float(np.max(np.diag(K)))
    Kn = K / scale
    slopes = (float(slopes[0]), float(slopes[1]))
    jobs: dict[tuple, list[tuple[tuple[int, ...], int, tuple[int, ...]]]] = {}
    pairs = list(combinations_with_replacement(range(P), 2))
    for a, b in pairs:  # Q2[a, b, c, d]: symmetric in (a, b) and in (c, d)
        for c, d in pairs:
            labels, p, e = _pattern((a, b), (c, d))
            jobs.setdefault((p, e), []).append((labels, 2, (a, b, c, d)))
    for quad in combinations_with_replacement(range(P), 4):  # Q3: symmetric
        labels, p, e = _pattern(quad, ())
        jobs.setdefault((p, e), []).append((labels, 3, quad))
    Q = {2: np.zeros((P,) * 4), 3: np.zeros((P,) * 4)}
    loop = compiled_program()
    for (p, e), members in jobs.items():
        labels = np.array([m[0] for m in members], dtype=np.intp)
        C = Kn[labels[:, :, None], labels[:, None, :]]
        values = np.empty(len(members))
        k = len(p)
        lam = None
        flat = np.zeros(len(members), dtype=bool)
        program = _mixed_program(p, e, slopes)
        if k > 1 and any(T for _, T in program.terms):
            d = np.einsum("bii->bi", C)
            R = C / np.sqrt(d[:, :, None] * d[:, None, :])
            lam = _smallest_eigenvalue(R)
            small = lam < REGULARISE
            flat = small.copy()
            if k == 4 and np.any(small):  # rank 3 of four labels: lifted, not angular
                flat[small] = np.linalg.eigvalsh(R[small])[:, 1] < REGULARISE
            lift = np.where(flat, 0.0, np.maximum(REGULARISE - lam, 0.0))
            C = C + lift[:, None, None] * (d[:, :, None] * np.eye(k))
            lam = (lam + lift) / (1.0 + lift)
        for i in np.flatnonzero(flat):  # collinear or duplicated labels: exact angular rule
            labs, which, idx = members[i]
            block = low_rank(np.asarray(labs)) / scale ** (sum(p) / 2)
            pos = [labs.index(x) for x in idx]
            values[i] = block[which - 2][tuple(pos)]
        keep = ~flat
        if np.any(keep):
            four = k == 4 and any(len(T) == 4 for _, T in program.terms)
            p4 = _orthant4(C[keep], lam[keep]) if four else np.zeros(0)
            if loop is None:
                values[keep] = _run_numpy(C[keep], p4, program)
            else:
                values[keep] = _run_compiled(loop, C[keep], p4, program)
        values *= scale ** (sum(p) / 2)
        for (_, which, (a, b, c, d)), v in zip(members, values, strict=True):
            if which == 2:  # Q2 is symmetric in (a, b) and in (c, d)
                for key in ((a, b, c, d), (b, a, c, d), (a, b, d, c), (b, a, d, c)):
                    Q[2][key] = v
            else:  # Q3 is symmetric
                for key in set(permutations((a, b, c, d))):
                    Q[3][key] = v
    return Q[2], Q[3]
