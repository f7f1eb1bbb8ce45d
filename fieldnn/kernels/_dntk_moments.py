r"""The Gaussian moments of σ, σ', σ'', σ''' that the dNTK and ddNTK recursions use (private).

Pair moments :math:`\langle\sigma^{(i)}_a\sigma^{(j)}_b\rangle` for (i, j) in ``PAIRS`` and
four-point moments :math:`\langle\sigma^{(i)}_a\sigma^{(j)}_b\sigma^{(k)}_c\sigma^{(l)}_d\rangle`
for (i, j, k, l) in ``FOURS``, over z ~ N(0, K), at every index tuple.

**erf** in closed form at any number of inputs. σ' = (2/√π)e^{−z²}, σ'' = −2zσ',
σ''' = (4z² − 2)σ': every factor of order ≥ 1 tilts the Gaussian. With the slots' block
C = K[idx][:, idx] (repeated indices allowed) and T = diag(t), t_i = 1 for a slot of order ≥ 1,

.. math:: \Big\langle\prod_i e^{-t_iz_i^2}g(z)\Big\rangle_C = \det(I + 2CT)^{-1/2}
          \langle g\rangle_{C'}, \qquad C' = (I + 2CT)^{-1}C

(complete the square, :math:`C' = (C^{-1} + 2T)^{-1}`, continued to singular C), and what is
left is a polynomial of degree ≤ 2 times at most one erf factor:
:math:`\langle z_iz_j\rangle = C'_{ij}`, :math:`\langle 4z_i^2 - 2\rangle = 4C'_{ii} - 2`, and
by Stein's lemma :math:`\langle z_p\operatorname{erf}z_e\rangle = C'_{pe}\,(2/\sqrt\pi)
(1 + 2C'_{ee})^{-1/2}`. **linear** σ(z) = s z: σ' = s, σ'' = σ''' = 0.

**Other smooth σ**: σ'' and σ''' exactly for tanh (polynomials in σ), otherwise by central
differences of σ' (five-point first and second differences, ~1e-10 relative), and the lattice
trapezoid rule of :func:`~fieldnn.kernels._moment_lattice.lattice_moments` on blocks of at most
four inputs (one block when K has rank ≤ 4; exact copies and mirror images of inputs are not
integrated), each entry computed once, on the first block that holds its inputs (rtol 1e-7; a
RuntimeWarning states the measured accuracy when it is worse than 1e-5).

References
----------
D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 11 (the moments of the dNTK and ddNTK
recursions); C. Stein, Ann. Stat. 9, 1135 (1981) (Gaussian integration by parts).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._moment_lattice import lattice_moments, parity, symmetric
from .activations import Activation, _five_point, get_activation

PAIRS = ((1, 1), (2, 0), (2, 2), (3, 1))
FOURS = ((2, 1, 1, 0), (3, 1, 1, 1), (2, 0, 1, 1), (1, 1, 1, 1), (2, 2, 1, 1))
_MOMENT_RTOL = 1e-7  # σ'' and σ''' by differences carry ~1e-9 relative noise
_WARN_RTOL = 1e-5
_EPS = float(np.finfo(np.float64).eps)
_ERF = get_activation("erf")
_TANH = get_activation("tanh")
_C = 2.0 / np.sqrt(np.pi)


# --------------------------------------------------------------------------------------------
# erf in closed form
# --------------------------------------------------------------------------------------------
def _erf_moment(K: np.ndarray, orders: tuple[int, ...]) -> np.ndarray:
    """⟨Π_i erf^{(orders_i)}(z_{a_i})⟩ at every index tuple, shape (P,) * len(orders)."""
    P, k = K.shape[0], len(orders)
    idx = np.indices((P,) * k).reshape(k, -1).T  # (N, k)
    C = K[idx[:, :, None], idx[:, None, :]]  # (N, k, k)
    t = np.array([o >= 1 for o in orders], dtype=np.float64)
    M = np.eye(k) + 2.0 * C * t[None, None, :]
    Cp = np.linalg.solve(M, C)
    value = _C ** t.sum() / np.sqrt(np.linalg.det(M))
    lin = [i for i, o in enumerate(orders) if o == 2]
    quad = [i for i, o in enumerate(orders) if o == 3]
    erf = [i for i, o in enumerate(orders) if o == 0]
    if erf:  # one erf slot e and one slot p of order 2 (-2 z_p)
        (e,), (p,) = erf, lin
        value = value * (-2.0 * Cp[:, p, e] * _C / np.sqrt(1.0 + 2.0 * Cp[:, e, e]))
    elif quad:
        (q,) = quad
        value = value * (4.0 * Cp[:, q, q] - 2.0)
    elif lin:
        i, j = lin
        value = value * 4.0 * Cp[:, i, j]
    return value.reshape((P,) * k)


# --------------------------------------------------------------------------------------------
# other smooth σ: the lattice rule
# --------------------------------------------------------------------------------------------
def _second_difference(fn: Any, z: np.ndarray) -> np.ndarray:
    """Five-point second difference, h = ε^{1/6} max(1, |z|): truncation h⁴f⁽⁶⁾/90, rounding
    ~ε|f|/h² (both ~1e-10 relative for smooth σ')."""
    h = _EPS ** (1.0 / 6.0) * np.maximum(np.abs(z), 1.0)
    h = (z + h) - z
    f = [np.asarray(fn(z + k * h), dtype=np.float64) for k in (-2, -1, 0, 1, 2)]
    return (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h * h)


def derivatives(act: Activation, z: np.ndarray) -> list[np.ndarray]:
    """σ, σ', σ'', σ''' at z: σ'' and σ''' by central differences of σ' (five-point first and
    second differences, the machinery of :mod:`fieldnn.kernels.activations` for σ'); for tanh
    exactly, σ' = 1 − σ², σ'' = −2σσ', σ''' = −2σ'(σ' − 2σ²)."""
    if act == _TANH:
        s = np.tanh(np.asarray(z, dtype=np.float64))
        d = 1.0 - s * s
        return [s, d, -2.0 * s * d, -2.0 * d * (d - 2.0 * s * s)]
    d1 = lambda u: np.asarray(act.derivative(u), dtype=np.float64)  # noqa: E731
    return [
        np.asarray(act(z), dtype=np.float64),
        d1(z),
        np.asarray(_five_point(d1, z, np), dtype=np.float64),
        _second_difference(d1, z),
    ]


def _lattice_moments(act: Activation, K: np.ndarray) -> tuple[list, list]:
    """Pair moments [(P, P)] and four-point moments [(P, P, P, P)] in the order of PAIRS, FOURS."""
    values, worst = lattice_moments(
        lambda z: derivatives(act, z),
        PAIRS + FOURS,
        K,
        rtol=_MOMENT_RTOL,
        even=symmetric(act),
        parity=parity(act),
    )
    if worst > _WARN_RTOL:
        warnings.warn(
            f"dNTK moments of activation {act.name!r} converged only to ~{worst:.1e} relative",
            RuntimeWarning,
            stacklevel=4,
        )
    return values[: len(PAIRS)], values[len(PAIRS) :]


def dntk_moments(act: Activation, K: np.ndarray) -> tuple[dict, dict]:
    """Pair moments {(i, j): (P, P)} and four-point moments {(i, j, k, l): (P,)*4}."""
    slopes = act.piecewise_linear_slopes
    if act == _ERF:
        pm = {key: _erf_moment(K, key) for key in PAIRS}
        fm = {key: _erf_moment(K, key) for key in FOURS}
        return pm, fm
    if slopes is not None and slopes[0] == slopes[1]:  # linear: σ' = s, σ'' = σ''' = 0
        P, s = K.shape[0], float(slopes[0])
        pm = {key: np.full((P, P), s * s if key == (1, 1) else 0.0) for key in PAIRS}
        fm = {key: np.full((P,) * 4, s**4 if key == (1, 1, 1, 1) else 0.0) for key in FOURS}
        return pm, fm
    pairs, fours = _lattice_moments(act, K)
    return (
        {key: pairs[k] for k, key in enumerate(PAIRS)},
        {key: fours[k] for k, key in enumerate(FOURS)},
    )
