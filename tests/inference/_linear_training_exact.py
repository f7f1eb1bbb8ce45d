r"""Exact finite-width oracle for the trained ensemble of the linear net [1, n, 1] without biases.

Network (``fnn.MLP("linear", [1, n, 1], C_W=[C1, C2], C_b=0)``, conventions of
``fieldnn/inference/_network.py``): :math:`z(x) = a\,x`, :math:`a = \sum_j W2_j W1_j`,
:math:`W1_j \sim \mathcal N(0, C1)` (fan-in n_0 = 1), :math:`W2_j \sim \mathcal N(0, C2/n)`.
Loss :math:`\mathcal L = \tfrac12\sum_A (a x_A - y_A)^2`, learning-rate tensor λ_W^(ℓ)/n_{ℓ−1}:
λ1 = λ_W^(1) for W1, κ = λ_W^(2)/n for W2; λ_b = 0 and C_b = 0, so the biases stay 0.

**Gram invariants.** With :math:`g = \partial\mathcal L/\partial a = S_{xx}C - S_{xy}`
(:math:`S_{xx} = \sum_A x_A^2`, :math:`S_{xy} = \sum_A x_A y_A`) the gradients are
:math:`\partial_{W1}\mathcal L = gW2`, :math:`\partial_{W2}\mathcal L = gW1`, and everything
depends on the weights only through A = |W1|², B = |W2|², C = W1·W2 = a.

* Gradient descent, W1' = W1 − μW2, W2' = W2 − νW1 with μ = ηλ1g, ν = ηκg, is exactly the map

  A' = A − 2μC + μ²B,  B' = B − 2νC + ν²A,  C' = (1 + μν)C − νA − μB.

* Gradient flow: dA/dt = −2λ1gC, dB/dt = −2κgC, dC/dt = −gS with the NTK per x x',
  S = λ1B + κA. Conserved: Q = A/λ1 − B/κ and D = S² − kC², k = 4κλ1 (dS/dt = −4κλ1gC,
  d(C²)/dt = −2gCS; D ≥ 0 since S ≥ 2√(κλ1AB) ≥ √k|C|).
  So dC/dt = −S_xx(C − p)√(D + kC²), p = S_xy/S_xx, which separates: with u = C − p,
  R² = D + kp² and w = u/(R² + kpu + R√(D + kC²)),

  w(t) = w(0) e^{−S_xx R t},  u(t) = 2R²w / ((1 − kpw)² − kR²w²)

  (exact; A, B follow from S = √(D + kC²) and Q). At t = ∞, C = p for every network.

**Ensemble.** The Gram matrix of (W1/√C1, W2/√(C2/n)) is Wishart(n, I₂); Bartlett:
c11² ~ χ²_n, c22² ~ χ²_{n−1}, c21 ~ N(0, 1) independent, A = C1c11², C = √(C1C2/n) c11c21,
B = (C2/n)(c21² + c22²). Data replicas y ~ N(Y, C_Y) enter only through S_xy ~
N(x·Y, xᵀC_Yx). E[a(t)] and E[a(t)²] are then integrals over (c11²/2, c22²/2, c21, ξ) of a
smooth function: generalised Gauss–Laguerre (α = n/2 − 1, (n − 1)/2 − 1) and Gauss–Hermite
(the c21-average makes the integrand even in c11, hence analytic in c11²). E z(x) = x E a,
Cov(z(x), z(x')) = x x' Var a.

Gradient descent with a finite step diverges on the (exponentially rare, e^{−O(n)}) networks
whose NTK is far above 2/(ηS_xx). After k steps a is a polynomial in the Gaussians, so the
strict average exists, but after many steps it is dominated by those networks;
:func:`trained_moments` raises if a node with
|a| > 10⁶ carries weight (w·a² ≥ 1e-16), so the oracle is the average over the converging
networks, to which the 1/n expansion refers (the excluded mass is e^{−O(n)}).

Source: the trained ensemble at O(1/n) of Roberts–Yaida–Hanin, arXiv:2106.10165, ch. ∞, which
this oracle checks beyond O(1/n); the Gram reduction is specific to one hidden linear layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import eigh_tridiagonal
from scipy.special import roots_hermitenorm

Arr = np.ndarray | float


@dataclass(frozen=True)
class LinearNet:
    """[1, n, 1] linear, bias-free: C_W = (C1, C2), λ_W = (lam1, lam2), training inputs x."""

    n: int
    C1: float
    C2: float
    lam1: float
    lam2: float

    @property
    def kappa(self) -> float:
        return self.lam2 / self.n


def descent_step(
    net: LinearNet, A: Arr, B: Arr, C: Arr, g: Arr, eta: float
) -> tuple[Arr, Arr, Arr]:
    """One exact gradient-descent step of the Gram invariants (A, B, C) at gradient g."""
    mu, nu = eta * net.lam1 * g, eta * net.kappa * g
    return (
        A - 2 * mu * C + mu**2 * B,
        B - 2 * nu * C + nu**2 * A,
        (1 + mu * nu) * C - nu * A - mu * B,
    )


def flow_rhs(net: LinearNet, A: Arr, B: Arr, C: Arr, Sxx: float, Sxy: Arr) -> tuple[Arr, Arr, Arr]:
    """Right-hand side of the gradient-flow ODE for (A, B, C)."""
    g = Sxx * C - Sxy
    return -2 * net.lam1 * g * C, -2 * net.kappa * g * C, -g * (net.lam1 * B + net.kappa * A)


def flow_exact(
    net: LinearNet, A: Arr, B: Arr, C: Arr, Sxx: float, Sxy: Arr, t: float
) -> tuple[Arr, Arr, Arr]:
    """(A, B, C) after gradient flow for time t, closed form (module docstring)."""
    lam1, kap = net.lam1, net.kappa
    k = 4 * kap * lam1
    S0 = lam1 * B + kap * A
    D = np.maximum(S0**2 - k * C**2, 0.0)
    Q = A / lam1 - B / kap
    p = Sxy / Sxx
    if math.isinf(t):
        Ct = np.broadcast_to(p, np.broadcast(C, p).shape) + 0.0
    else:
        R = np.sqrt(D + k * p**2)
        u0 = C - p
        w = u0 / (D + k * p * C + R * S0) * np.exp(-Sxx * R * t)
        Ct = p + 2 * R**2 * w / ((1 - k * p * w) ** 2 - k * R**2 * w**2)
    St = np.sqrt(D + k * Ct**2)
    return (St + kap * lam1 * Q) / (2 * kap), (St - kap * lam1 * Q) / (2 * lam1), Ct


def laguerre_rule(m: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Gauss–Laguerre nodes and normalised weights for s^α e^{−s} (Golub–Welsch on
    the Jacobi matrix: diagonal 2k + α + 1, off-diagonal √(k(k + α))); no Γ(α + 1) overflow."""
    k = np.arange(m, dtype=float)
    s, V = eigh_tridiagonal(2 * k + alpha + 1, np.sqrt(k[1:] * (k[1:] + alpha)))
    return s, V[0] ** 2


def gram_nodes(n: int, m_lag: int, m_her: int, m_y: int = 1) -> list[np.ndarray]:
    """Quadrature nodes (A-, B-, C-free): (c11², c22², c21, ξ, weight), flattened, weights sum 1."""
    if n < 2:
        raise ValueError("n >= 2 (c22² ~ χ²_{n−1})")
    s1, w1 = laguerre_rule(m_lag, n / 2 - 1)
    s2, w2 = laguerre_rule(m_lag, (n - 1) / 2 - 1)
    h, wh = roots_hermitenorm(m_her)
    if m_y == 1:
        xi, wx = np.zeros(1), np.ones(1)
    else:
        xi, wx = roots_hermitenorm(m_y)
    grids = np.meshgrid(2 * s1, 2 * s2, h, xi, indexing="ij")
    w = np.einsum("i,j,k,l->ijkl", w1 / w1.sum(), w2 / w2.sum(), wh / wh.sum(), wx / wx.sum())
    return [g.ravel() for g in grids] + [w.ravel()]


def trained_moments(
    net: LinearNet,
    x_train: ArrayLike,
    Y: ArrayLike,
    *,
    t: float,
    eta: float | None = None,
    C_Y: ArrayLike | None = None,
    m_lag: int = 40,
    m_her: int = 40,
    m_y: int = 16,
) -> tuple[float, float]:
    """(E a(t), Var a(t)) over initialisation and data replicas; gradient flow if eta is None,
    else round(t/eta) steps of gradient descent."""
    x = np.asarray(x_train, dtype=float).ravel()
    Y = np.broadcast_to(np.asarray(Y, dtype=float).ravel(), x.shape)
    Sxx, mxy = float(x @ x), float(x @ Y)
    sxy = 0.0 if C_Y is None else float(np.sqrt(x @ np.asarray(C_Y, dtype=float) @ x))
    u1, u2, h, xi, w = gram_nodes(net.n, m_lag, m_her, m_y if sxy > 0 else 1)
    A = net.C1 * u1
    C = np.sqrt(net.C1 * net.C2 / net.n) * np.sqrt(u1) * h
    B = net.C2 / net.n * (h**2 + u2)
    Sxy = mxy + sxy * xi
    if eta is None:
        a = flow_exact(net, A, B, C, Sxx, Sxy, t)[2]
    else:
        steps = round(t / eta)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(steps):
                A, B, C = descent_step(net, A, B, C, Sxx * C - Sxy, eta)
        a = C
        wild = ~np.isfinite(a) | (np.abs(a) > 1e6 * (1 + abs(mxy) / Sxx))
        if np.any(wild) and not w[wild] @ np.nan_to_num(a[wild], posinf=1e300) ** 2 < 1e-16:
            raise FloatingPointError("gradient descent diverged at a quadrature node that counts")
    mean = float(w @ a)
    return mean, float(w @ (a - mean) ** 2)
