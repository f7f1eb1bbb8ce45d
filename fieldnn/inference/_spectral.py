r"""Time filters of MSE training, their divided differences, nested exponential integrals, and a
degree-5 Gaussian cubature rule (private helpers of :mod:`fieldnn.inference._finite_training`).

Training filter
---------------
A kernel H trained on the MSE for a time t moves the outputs by :math:`-H\,g(H)\,\varepsilon_0`
with

.. math::

    g(x) = \int_0^t e^{-xs}\,ds \ \text{(gradient flow)},\qquad
    g(x) = \eta\sum_{s=0}^{T-1}(1-\eta x)^s,\ T = t/\eta \ \text{(gradient descent)},

both :math:`1/x` at t = ∞. The Fréchet derivatives of the matrix function g(H) in the eigenbasis
of H need the divided differences :math:`g[x_0, \dots, x_k]`, which are exact and confluent-safe
as the corner entry of g applied to the bidiagonal matrix J with diagonal :math:`x_0..x_k` and
unit superdiagonal (Opitz 1964; Higham, *Functions of Matrices*, sec. 3.1 and thm. 4.12):
:math:`g[x_0,\dots,x_k] = g(J)_{0k}`. g(J) itself is evaluated without any scalar division, by
the block identities of Van Loan (1978): :math:`\int_0^t e^{-Js}ds` is the upper-right block of
:math:`\exp\left(t\begin{smallmatrix}-J & 1\\ 0 & 0\end{smallmatrix}\right)` and
:math:`\sum_{s<T}Q^s` that of :math:`\begin{smallmatrix}Q & 1\\ 0 & 1\end{smallmatrix}^T`.

Chains
------
The nested integral with rates :math:`r_0, \dots, r_k`,

.. math::

    I(r_0, \dots, r_k; t) = \int_{0<s_k<\dots<s_1<t} e^{-r_0(t-s_1)}e^{-r_1(s_1-s_2)}\cdots
        e^{-r_k s_k}\,ds_1\cdots ds_k,

is the corner entry of :math:`\exp(tM)`, M bidiagonal with diagonal :math:`-r` and unit
superdiagonal (Van Loan 1978). At t = ∞ it is 0 if :math:`r_0 > 0` and
:math:`\prod_{m\ge1}r_m^{-1}` if :math:`r_0 = 0` (the Laplace transform of a convolution at 0).

References
----------
C. F. Van Loan, "Computing integrals involving the matrix exponential", IEEE TAC 23 (1978) 395;
N. J. Higham, *Functions of Matrices* (SIAM 2008), sec. 3.1; A. H. Stroud, *Approximate
Calculation of Multiple Integrals* (1971), degree-5 fully symmetric rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TrainingFilter", "chain_integrals", "gauss_rule5"]


def _expm(A: np.ndarray) -> np.ndarray:
    """exp of a stack of small matrices (..., m, m), vectorised over the stack: scaling by 2^-s
    to norm ≤ 1/4, Taylor to order 18 (truncation < 1e-25), s squarings. (scipy.linalg.expm
    accepts stacks but runs its Padé step once per matrix: 40× slower on the 10⁴ chains of a
    prediction.)"""
    norm = float(np.max(np.sum(np.abs(A), axis=-1), initial=0.0))
    s = max(0, math.ceil(math.log2(norm / 0.25))) if norm > 0.25 else 0
    As = A / 2.0**s
    eye = np.broadcast_to(np.eye(A.shape[-1]), A.shape)
    E = eye.copy()
    for k in range(18, 0, -1):
        E = eye + As @ E / k
    for _ in range(s):
        E = E @ E
    return E


def _bidiagonal(x: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """Stack of (k+1, k+1) matrices with diagonal ``sign * x[..., :]`` and unit superdiagonal."""
    k1 = x.shape[-1]
    J = np.zeros((*x.shape, k1))
    idx = np.arange(k1)
    J[..., idx, idx] = sign * x
    J[..., idx[:-1], idx[1:]] = 1.0
    return J


@dataclass(frozen=True)
class TrainingFilter:
    """g of gradient flow (``learning_rate=None``) or of gradient descent with ``steps`` steps."""

    t: float
    learning_rate: float | None = None

    @property
    def steps(self) -> int | None:
        """T = t/η for gradient descent at finite t, else None."""
        if self.learning_rate is None or math.isinf(self.t):
            return None
        return round(self.t / self.learning_rate)

    def matrix(self, J: np.ndarray) -> np.ndarray:
        """g(J) for a stack of square matrices J (..., m, m)."""
        m = J.shape[-1]
        eye = np.broadcast_to(np.eye(m), J.shape)
        if math.isinf(self.t):
            return np.linalg.inv(J)
        if self.learning_rate is None:
            block = np.zeros((*J.shape[:-2], 2 * m, 2 * m))
            block[..., :m, :m] = -self.t * J
            block[..., :m, m:] = self.t * eye
            return _expm(block)[..., :m, m:]
        eta = self.learning_rate
        block = np.zeros((*J.shape[:-2], 2 * m, 2 * m))
        block[..., :m, :m] = eye - eta * J
        block[..., :m, m:] = eye
        block[..., m:, m:] = eye
        return eta * np.linalg.matrix_power(block, self.steps)[..., :m, m:]

    def divided(self, x: np.ndarray) -> np.ndarray:
        """Divided differences g[x_0, …, x_k] for points ``x`` (..., k+1)."""
        x = np.asarray(x, dtype=np.float64)
        return self.matrix(_bidiagonal(x))[..., 0, -1]

    def values(self, x: np.ndarray) -> np.ndarray:
        """g(x) elementwise."""
        return self.divided(np.asarray(x, dtype=np.float64)[..., None])


def chain_integrals(rates: np.ndarray, t: float) -> np.ndarray:
    r""":math:`I(r_0, \dots, r_k; t)` for rates (..., k+1); at t = ∞ needs :math:`r_{m\ge1} > 0`."""
    rates = np.asarray(rates, dtype=np.float64)
    if math.isinf(t):
        out = np.prod(1.0 / rates[..., 1:], axis=-1)
        return np.where(rates[..., 0] > 0.0, 0.0, out)
    return _expm(t * _bidiagonal(rates, sign=-1.0))[..., 0, -1]


def gauss_rule5(d: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes (m, d) and weights (m,) integrating every polynomial of degree ≤ 5 exactly against
    the standard normal density in d dimensions (m = 2d² + 1).

    Nodes: the origin, :math:`\pm\sqrt3\,e_i`, :math:`\pm\sqrt3\,e_i\pm\sqrt3\,e_j` (i < j), with
    weights :math:`1 + (d^2-7d)/18`, :math:`(4-d)/18`, :math:`1/36`: odd moments vanish by
    symmetry and :math:`E x_i^2 = 1`, :math:`E x_i^4 = 3`, :math:`E x_i^2x_j^2 = 1` hold
    (Stroud 1971, fully symmetric degree-5 rule; some weights are negative for d > 4).
    """
    r = math.sqrt(3.0)
    nodes = [np.zeros(d)]
    weights = [1.0 + (d * d - 7 * d) / 18.0]
    eye = np.eye(d)
    for i in range(d):
        for s in (1.0, -1.0):
            nodes.append(s * r * eye[i])
            weights.append((4.0 - d) / 18.0)
    for i in range(d):
        for j in range(i + 1, d):
            for si in (1.0, -1.0):
                for sj in (1.0, -1.0):
                    nodes.append(r * (si * eye[i] + sj * eye[j]))
                    weights.append(1.0 / 36.0)
    return np.array(nodes), np.array(weights)
