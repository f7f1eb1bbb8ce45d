r"""Exact output density of a single-hidden-layer (seed-001) net at finite width, one input.

At one input x the output is :math:`f = b_1 + \sum_{j=1}^N w_j s_j` with iid
:math:`w_j \sim \mathcal N(0, \sigma_W^2/N)`, :math:`s_j = \sigma(z_j)`,
:math:`z_j \sim \mathcal N(0, q)`, :math:`q = \sigma_b^2 + \sigma_W^2|x|^2/d_{in}`, and
:math:`b_1 \sim \mathcal N(0, \sigma_b^2)` (docs/conventions.md, section 1). Averaging
:math:`e^{itw s}` over the Gaussian w first, the characteristic function is

.. math:: \varphi(t) = \langle e^{itf}\rangle = e^{-\sigma_b^2 t^2/2}\,\psi(t)^N,\qquad
          \psi(t) = \Big\langle \exp\Big(-\frac{\sigma_W^2 t^2}{2N}\,\sigma(z)^2\Big)
          \Big\rangle_{z\sim\mathcal N(0,q)},

real, even and :math:`0 < \varphi \le 1`. The density is its cosine transform,
:math:`p(f) = \frac1\pi\int_0^\infty \varphi(t)\cos(tf)\,dt`, evaluated here by the trapezoid
rule with step :math:`h = 2\pi/L`. By the Poisson summation formula that sum is *exactly*

.. math:: \frac{h}{\pi}\Big[\tfrac12 + \sum_{k\ge1}\varphi(kh)\cos(khf)\Big]
          = \sum_{m\in\mathbb Z} p(f + mL),

so its only error is the (positive) aliased mass :math:`\sum_{m\ne0}p(f+mL)` plus the truncation
of the sum where :math:`\varphi < 10^{-20}`. L starts at :math:`2\max|f| + 40\sqrt{K}` and doubles
until two successive sums agree to 1e-14 relative (nested grids). :math:`1-\psi` is computed
without cancellation: in closed form for piecewise-linear σ with slopes (s₋, s₊) (relu, leaky
relu, linear),

.. math:: 1-\psi = \tfrac12\sum_{\pm}\Big[1 - (1 + 2c\,s_\pm^2 q)^{-1/2}\Big],
          \qquad c = \frac{\sigma_W^2 t^2}{2N},

and otherwise by the trapezoid rule in :math:`u = z/\sqrt q` on :math:`|u|\le 10.5` of
:math:`-\mathrm{expm1}(-c\,\sigma(z)^2)`, the step halving from 1/4 until the density changes by
less than 1e-15 of :math:`\max p`. Then :math:`\log\varphi = -\sigma_b^2t^2/2 +
N\,\mathrm{log1p}(-(1-\psi))`. The result has an absolute error of a few
:math:`\varepsilon\,\frac1\pi\int|\varphi| \approx \varepsilon\,p_{\max}`, i.e. 1e-10 relative
wherever :math:`p(f) \gtrsim 10^{-5} p_{\max}` (tested against mpmath and against the
scale-mixture form :math:`p(f) = \langle\mathcal N(f; 0, \sigma_b^2 + \tfrac{\sigma_W^2}{N}
\sum_j s_j^2)\rangle` at N = 1, 2).

References
----------
J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 2 (the architectures) and Sec. 3
(the outputs as a sum of N iid terms).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._validate import input_points, real_array
from ..errors import ArgumentError, ShapeError, UnsupportedError
from ..kernels.activations import Activation

__all__ = ["exact_density"]

_RTOL_ALIAS = 1e-14  # successive aliasing distances L, 2L
_RTOL_Z = 1e-15  # successive z steps, relative to max p
_LOG_PHI_CUT = -46.0  # φ < 1e-20 is dropped
_MAX_T_NODES = 1 << 21
_BALL = 10.5
_Z_STEPS = (0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625)
_CHUNK = 1 << 22  # entries of a (t, z) or (f, t) block


class _Unit:
    """1 − ψ(c) for the unit s = σ(z), z ~ N(0, q), with c = σ_W² t²/(2N) (vectorised in c)."""

    def __init__(self, act: Activation, q: float, h: float) -> None:
        self.slopes = act.piecewise_linear_slopes
        self.q = q
        if self.slopes is not None:
            return
        if q == 0.0:
            s2 = float(np.asarray(act(np.zeros(1), variance=np.zeros(1)))[0]) ** 2
            self.s2, self.w = np.array([s2]), np.array([1.0])
            return
        m = round(_BALL / h)
        u = h * np.arange(-m, m + 1)
        z = math.sqrt(q) * u
        self.s2 = np.asarray(act(z, variance=np.full_like(z, q)), dtype=np.float64) ** 2
        self.w = h * np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
        if not np.all(np.isfinite(self.s2)):
            raise UnsupportedError("activation", "σ(z) is not finite on |z| <= 10.5 √q")

    def one_minus_psi(self, c: np.ndarray) -> np.ndarray:
        if self.slopes is not None:
            out = np.zeros_like(c)
            for s in self.slopes:
                out += -0.5 * np.expm1(-0.5 * np.log1p(2.0 * c * s * s * self.q))
            return out
        out = np.empty_like(c)
        step = max(1, _CHUNK // self.s2.size)
        for i in range(0, c.size, step):
            block = c[i : i + step, None] * self.s2[None, :]
            out[i : i + step] = -np.expm1(-block) @ self.w
        return np.minimum(out, 1.0)


def _log_phi(unit: _Unit, t: np.ndarray, N: int, sw: float, sb: float) -> np.ndarray:
    """log φ(t) = −σ_b² t²/2 + N log1p(−(1 − ψ))."""
    c = sw * t * t / (2.0 * N)
    with np.errstate(divide="ignore"):
        return -0.5 * sb * t * t + N * np.log1p(-unit.one_minus_psi(c))


def _t_max(unit: _Unit, N: int, sw: float, sb: float, scale: float) -> float:
    """The t beyond which φ(t) < e^{−46} (φ decreases in t), found by doubling."""
    t = scale
    for _ in range(80):
        if _log_phi(unit, np.array([t]), N, sw, sb)[0] < _LOG_PHI_CUT:
            return t
        t *= 2.0
    raise UnsupportedError(
        "sigma_b2",
        "the characteristic function stays above 1e-20: with sigma_b2 = 0 it decays only like "
        "a power of t (too slowly to invert here), or not at all when the output has an atom "
        "(relu units vanish together with probability 2^-N); use sigma_b2 > 0",
    )


def _cosine_sum(phi: np.ndarray, t: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ_k φ_k cos(t_k f) and Σ_k |φ_k| (the rounding scale), blocked over f."""
    out = np.empty_like(f)
    step = max(1, _CHUNK // max(t.size, 1))
    for i in range(0, f.size, step):
        out[i : i + step] = np.cos(np.outer(f[i : i + step], t)) @ phi
    return out, np.full_like(f, np.sum(np.abs(phi)))


def _trapezoid(unit: _Unit, f: np.ndarray, N: int, sw: float, sb: float, L: float, tm: float):
    """(h/π)[½ + Σ_{k≥1} φ(kh) cos(khf)] with h = 2π/L, truncated at t_max."""
    h = 2.0 * math.pi / L
    n = math.ceil(tm / h)
    if n > _MAX_T_NODES:
        raise UnsupportedError(
            "f",
            f"the density needs more than {_MAX_T_NODES} Fourier nodes (heavy tails or far "
            "outputs); use fewer or nearer values of f",
        )
    t = h * np.arange(1, n + 1)
    phi = np.exp(_log_phi(unit, t, N, sw, sb))
    total, scale = _cosine_sum(phi, t, f)
    return h / math.pi * (0.5 + total), h / math.pi * (0.5 + scale)


def _density(
    act: Activation, q: float, f: np.ndarray, N: int, sw: float, sb: float, K: float
) -> np.ndarray:
    if f.size == 0:
        return np.zeros(0)
    L0 = 2.0 * float(np.max(np.abs(f))) + 40.0 * math.sqrt(K)
    previous = None
    for h_z in _Z_STEPS:
        unit = _Unit(act, q, h_z)
        tm = _t_max(unit, N, sw, sb, 1.0 / math.sqrt(K))
        if tm * L0 / (2.0 * math.pi) > _MAX_T_NODES / 8:
            raise UnsupportedError(
                "sigma_b2",
                f"the characteristic function decays too slowly (φ > 1e-20 up to t = {tm:.3g}; "
                "sigma_b2 = 0 at small width): use sigma_b2 > 0 or a larger width",
            )
        p, scale = _trapezoid(unit, f, N, sw, sb, L0, tm)
        if unit.slopes is not None or unit.s2.size == 1:
            break
        if previous is not None and np.max(np.abs(p - previous)) <= _RTOL_Z * float(scale[0]):
            break
        previous = p
    else:
        warnings.warn(
            f"exact_density: the quadrature over z did not converge for {act.name!r} "
            f"(change {np.max(np.abs(p - previous)):.2e} of max p {scale[0]:.2e})",
            RuntimeWarning,
            stacklevel=3,
        )
    L = L0
    while True:
        L *= 2.0
        p_next, scale = _trapezoid(unit, f, N, sw, sb, L, tm)
        if np.all(np.abs(p_next - p) <= _RTOL_ALIAS * np.abs(p_next) + 4e-16 * scale):
            return p_next
        p = p_next


def one_input_and_outputs(X: Any, f: Any, d_in: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(X (1, d_in), f (M,)) checked for a density at one input; errors name ``X`` or ``f``."""
    X = input_points(X, "X", d_in=d_in)
    if X.shape[0] != 1:
        raise ShapeError("X", f"{what} is for one input, got {X.shape[0]} inputs")
    values = real_array(f, "f")
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ShapeError("f", f"must have shape (M,) or (M, 1) for one input, got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ArgumentError("f", "contains NaN or infinite entries")
    return X, values


def exact_density(net: Any, X: Any, f: Any, *, log: bool = False) -> np.ndarray:
    r"""Exact density of the output of a single-hidden-layer net at one input, finite width.

    Parameters
    ----------
    net : SingleLayerNet
        Zero-mean weights and biases, ``d_out = 1``; any activation of the registry or a user
        callable.
    X : array_like (1, d_in)
        The one input (a 1-d array of length 1 is read as d_in = 1).
    f : array_like (M,) or (M, 1)
        Output values.
    log : bool
        Return log p(f) instead of p(f).

    Returns
    -------
    ndarray (M,)
        p(f), or log p(f).

    Notes
    -----
    .. math:: p(f) = \frac1\pi\int_0^\infty e^{-\sigma_b^2t^2/2}\,\psi(t)^N\cos(tf)\,dt,
              \qquad \psi(t) = \Big\langle e^{-\sigma_W^2t^2\sigma(z)^2/(2N)}
              \Big\rangle_{z\sim\mathcal N(0,q)},

    evaluated by the Poisson-controlled trapezoid rule of :mod:`fieldnn.effective._density`
    (docs/effective_action.md, "Exact output density"). Absolute error a few ε·max p (1e-10
    relative where p ≥ 1e-5 max p). With σ_b² = 0, φ decays only like a power of t (Erf: like
    t^{−N}) and is inverted only when that is fast enough; relu units with σ_b² = 0 vanish
    together with probability 2^{−N}, an atom at f = 0. Otherwise
    :class:`~fieldnn.errors.UnsupportedError`, argument ``sigma_b2``. Heavy-tailed units
    (Gauss-net at q ≳ 5) need large aliasing distances and take seconds to minutes.

    References
    ----------
    J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 2 and 3.

    Examples
    --------
    >>> from fieldnn import SingleLayerNet
    >>> net = SingleLayerNet("relu", width=1, sigma_w2=1.0, sigma_b2=0.5)
    >>> round(float(exact_density(net, [[0.0]], [0.0])[0]), 12)
    0.504848111651
    """
    from ..ensembles.architectures import SingleLayerNet

    if not isinstance(net, SingleLayerNet):
        raise UnsupportedError("net", f"the exact density needs a SingleLayerNet, got {net!r}")
    net._require_zero_means("the exact density")
    if net.d_out != 1:
        raise UnsupportedError("net", f"the exact density is for d_out = 1, got {net.d_out}")
    X, values = one_input_and_outputs(X, f, net.d_in, "the exact density")
    q = float(net.sigma_b2 + net.sigma_w2 * np.sum(X * X) / net.d_in)
    K = float(net.kernel(X)[0, 0])
    if not K > 0.0:
        raise UnsupportedError("net", "the output variance K(x, x) is 0: f is a point mass")
    p = _density(net.activation, q, values, net.width, net.sigma_w2, net.sigma_b2, K)
    if not log:
        return p
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p)
