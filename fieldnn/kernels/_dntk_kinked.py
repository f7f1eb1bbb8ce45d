r"""The moments with σ'' and σ''' of the dNTK recursions for a kinked σ (relu, leaky relu; private).

For σ(z) = s₋z + Δ·relu(z), Δ = s₊ − s₋ (relu: s₋ = 0; leaky relu: s₋ = a, s₊ = 1),
σ' = s₋ + ΔΘ(z), σ'' = Δδ(z), σ''' = Δδ'(z). Over z ~ N(0, K) every moment the recursions for
P and Q need is exact and elementary (``docs/finite_width_training.md``, "Kinked activations:
relu and leaky relu"):

* a δ pins its argument: :math:`\langle\delta(z_a)f(z)\rangle = p_a(0)\,\langle f\rangle_{a}`,
  :math:`p_a(0) = (2\pi K_{aa})^{-1/2}`, the mean ⟨·⟩_a over the centred conditional Gaussian
  :math:`C = K - K_{\cdot a}K_{a\cdot}/K_{aa}`;
* a factor z_d against steps by Stein's lemma,
  :math:`\langle z_d\prod_{k\in S}\Theta_k\rangle = \sum_{k\in S}C_{dk}\,p_k(0)\,
  \langle\prod_{s\ne k}\Theta_s\mid z_k = 0\rangle`, with the centred orthant probabilities
  1/2 for one variable and :math:`\tfrac14 + \arcsin(\rho)/(2\pi)` for two; slots collinear
  with z_k (z_s = γ_s z_k) are functions of z_k, and this identity between honest Gaussian
  integrals needs :math:`\Theta^m\delta = \delta/(m + 1)` (m₊! m₋!/(m₊ + m₋ + 1)! with m₋
  slots of γ < 0);
* the kink's own δ (σ''_a of the forward equation) is different: slots pinned by z_a = 0 (the
  same input, or a collinear one) are the tangent factors σ' of the base point, which lies on
  either side of the kink with weight 1/2: they are evaluated at z_a = 0± (so
  :math:`\langle\sigma''_a\sigma'_a\sigma'_a\sigma_d\rangle` weighs (s₊² + s₋²)/2, not the
  smooth-σ limit's (s₊³ − s₋³)/(3Δ)); this is what finite differences of sampled networks
  measure;
* :math:`\langle\sigma''_x\sigma''_y\rangle = \Delta^2/(2\pi\sqrt{\det K_{\{xy\}}})` and, by
  :math:`\langle\delta'(z_x)g\rangle = -\partial_u[p_x(u)\langle g\mid z_x = u\rangle]_{u=0}`,
  :math:`\langle\sigma'''_x\sigma'_y\rangle = -\Delta^2K_{xy}/(2\pi K_{xx}\sqrt{\det K_{\{xy\}}})`
  for x ≠ y. At x = y they only enter as the sum
  :math:`\langle(\sigma''\sigma')'(z_x)\rangle = \tfrac12(s_+^2 - s_-^2)\langle\delta'(z_x)\rangle
  = 0` (the gradient :math:`\langle\partial_\alpha(\sigma''_x\sigma'_y)\rangle`), so both are set
  to 0 there (and for duplicated inputs).

References
----------
D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 11 (the dNTK recursion, its Gaussian
expectations) and ch. 4 (Gaussian integration by parts); C. Stein, Ann. Stat. 9, 1135 (1981);
W. F. Sheppard, Phil. Trans. R. Soc. A 192, 101 (1899) (the bivariate orthant probability).
"""

from __future__ import annotations

from itertools import product

import numpy as np

_PINNED = 1e-10  # conditional variance / original variance below this: pinned at 0
_TWO_PI = 2.0 * np.pi


def _condition(C: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Covariance of a batch (..., k, k) conditioned on slot i = 0, and the scale of slot i."""
    v = C[..., i, i]
    safe = np.where(v > 0, v, 1.0)
    out = C - C[..., :, i, None] * C[..., None, i, :] / safe[..., None, None]
    return out, v


def _pinned(C: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Slots of a batch whose variance vanishes against ``scale`` (..., k)."""
    return np.einsum("...ii->...i", C) <= _PINNED * scale


def _orthant(C: np.ndarray, scale: np.ndarray, slots: tuple[int, ...]) -> np.ndarray:
    """Pr(z_s > 0 for s in slots) over centred N(0, C), |slots| ≤ 2; pinned slots count 1/2."""
    if len(slots) == 0:
        return np.ones(C.shape[:-2])
    if len(slots) == 1:
        return np.full(C.shape[:-2], 0.5)
    i, j = slots
    pin = _pinned(C, scale)
    free = ~(pin[..., i] | pin[..., j])
    den = np.sqrt(np.where(free, C[..., i, i] * C[..., j, j], 1.0))
    rho = np.where(free, np.clip(C[..., i, j] / den, -1.0, 1.0), 0.0)
    return 0.25 + np.arcsin(rho) / _TWO_PI


def _beta(m_plus: np.ndarray, m_minus: np.ndarray) -> np.ndarray:
    """m₊! m₋! / (m₊ + m₋ + 1)!: ⟨δ(z) Θ(z)^{m₊} Θ(−z)^{m₋}⟩ / ⟨δ(z)⟩ (m₊ + m₋ ≤ 2)."""
    table = np.array([[1.0, 1 / 2, 1 / 3], [1 / 2, 1 / 6, 0.0], [1 / 3, 0.0, 0.0]])
    return table[m_plus, m_minus]


def _z_steps(C: np.ndarray, scale: np.ndarray, d: int, steps: tuple[int, ...]) -> np.ndarray:
    r""":math:`\langle z_d\prod_{k\in\text{steps}}\Theta_k\rangle` over centred N(0, C), by
    Stein's lemma :math:`\sum_k C_{dk}p_k(0)\langle\prod_{s\ne k}\Theta_s\mid z_k = 0\rangle`.
    Slots pinned by z_k = 0 (collinear with z_k, z_s = γ_s z_k) are functions of z_k: with
    m₊ of them of γ > 0 and m₋ of γ < 0 they give the factor m₊! m₋!/(m₊ + m₋ + 1)!
    (:math:`\Theta^{m}\delta = \delta/(m + 1)`, the identity Stein's lemma needs for the
    product of equal steps); the others enter through the orthant probability. Slots pinned
    in C itself must not be among ``steps``."""
    out = np.zeros(C.shape[:-2])
    for k in steps:
        Ck, v = _condition(C, k)
        rest = tuple(s for s in steps if s != k)
        pin = _pinned(Ck, scale)
        safe_v = np.where(v > 0, v, 1.0)
        m_plus = sum((pin[..., s] & (C[..., s, k] > 0)).astype(int) for s in rest)
        m_minus = sum((pin[..., s] & (C[..., s, k] < 0)).astype(int) for s in rest)
        m_plus = m_plus + np.zeros(out.shape, dtype=int)
        m_minus = m_minus + np.zeros(out.shape, dtype=int)
        if len(rest) == 2:
            i, j = rest
            both = _orthant(Ck, scale, (i, j))
            prob = np.where(pin[..., i] | pin[..., j], 0.5, both)  # one free step left: 1/2
            prob = np.where(pin[..., i] & pin[..., j], 1.0, prob)
        elif len(rest) == 1:
            prob = np.where(pin[..., rest[0]], 1.0, 0.5)
        else:
            prob = np.ones(out.shape)
        density = np.where(v > 0, 1.0 / np.sqrt(_TWO_PI * safe_v), 0.0)
        out = out + C[..., d, k] * density * _beta(m_plus, m_minus) * prob
    return out


def _tuples(K: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocks K[idx][:, idx] (P^k, k, k) over every index tuple, and the diagonal scales."""
    P = K.shape[0]
    idx = np.indices((P,) * k).reshape(k, -1).T
    block = K[idx[:, :, None], idx[:, None, :]]
    return block, np.einsum("nii->ni", block)


def pair_moments(K: np.ndarray, slopes: tuple[float, float]) -> dict:
    """{(1, 1), (2, 0), (2, 2), (3, 1)}: the pair moments of :mod:`._dntk_moments`, (P, P)."""
    s0, s1 = slopes
    D = s1 - s0
    kxx = np.diag(K)[:, None]
    kyy = np.diag(K)[None, :]
    det = kxx * kyy - K * K
    free = det > _PINNED * kxx * kyy
    rho = np.clip(K / np.sqrt(kxx * kyy), -1.0, 1.0)
    sqdet = np.sqrt(np.where(free, det, 1.0))
    cond_var = np.clip(det / kxx, 0.0, None)  # Var(z_y | z_x = 0)
    return {
        (1, 1): s0 * s0 + s0 * D + D * D * (0.25 + np.arcsin(rho) / _TWO_PI),
        (2, 0): D * D * np.sqrt(cond_var / kxx) / _TWO_PI,
        (2, 2): np.where(free, D * D / (_TWO_PI * sqdet), 0.0),
        (3, 1): np.where(free, -D * D * K / (_TWO_PI * kxx * sqdet), 0.0),
    }


def sigma2_sigma1_sigma1_sigma(K: np.ndarray, slopes: tuple[float, float]) -> np.ndarray:
    r""":math:`N_{abcd} = \langle\sigma''_a\sigma'_b\sigma'_c\sigma_d\rangle` (P, P, P, P):
    :math:`\Delta\,p_a(0)\,\langle(s_- + \Delta\Theta_b)(s_- + \Delta\Theta_c)
    (s_-z_d + \Delta z_d\Theta_d)\rangle_a`, expanded into the Stein terms of
    :func:`_z_steps`. A slot pinned by z_a = 0 (z_s = γ_s z_a: the same input, or a collinear
    one) is evaluated on either side of the kink, z_a = 0±, with weight 1/2 each: the σ' of
    the tangent directions are those of the base point, which a kink crossing finds on
    either side with equal probability (Θ(z_a)^m → 1/2 for every m ≥ 1)."""
    s0, s1 = slopes
    D = s1 - s0
    P = K.shape[0]
    block, scale = _tuples(K, 4)
    C, v = _condition(block, 0)
    pin = _pinned(C, scale)
    gamma = block[:, :, 0] / v[:, None]
    # ⟨z_d Π_{S'} Θ⟩_a for every subset S' of the free slots b (1), c (2), d (3)
    subsets = ((), (1,), (2,), (3,), (1, 2), (1, 3), (2, 3), (1, 2, 3))
    sub = {S: _z_steps(C, scale, 3, S) for S in subsets}
    n = block.shape[0]
    total = np.zeros(n)
    for side in (1.0, -1.0):
        theta_pinned = (gamma * side > 0).astype(np.float64)  # Θ_s of pinned slots
        for tb, tc, td in product((False, True), repeat=3):
            coef = np.full(n, D if td else s0)
            # per chosen step Θ_b, Θ_c: pinned → a number, free → stays in the Stein term
            for s, on in ((1, tb), (2, tc)):
                coef = coef * (np.where(pin[:, s], D * theta_pinned[:, s], D) if on else s0)
            value = np.zeros(n)
            for keep_b, keep_c in product((False, True), repeat=2):
                if (keep_b and not tb) or (keep_c and not tc):
                    continue
                sel = np.ones(n, dtype=bool)
                if tb:
                    sel &= pin[:, 1] != keep_b
                if tc:
                    sel &= pin[:, 2] != keep_c
                S = tuple(s for s, keep in ((1, keep_b), (2, keep_c), (3, td)) if keep)
                value = value + np.where(sel, sub[S], 0.0)
            total = total + 0.5 * coef * value
    return (D * total / np.sqrt(_TWO_PI * v)).reshape((P,) * 4)
