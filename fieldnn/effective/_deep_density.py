r"""Exact output density of a deep bias-free relu / leaky relu / linear MLP at one input.

With widths :math:`[d_{in}, n_1, \dots, n_{L-1}, 1]`, weights
:math:`W^{(\ell)} \sim \mathcal N(0, C_W^{(\ell)}/n_{\ell-1})`, every :math:`C_b^{(\ell)} = 0` and a
positively homogeneous σ (relu, leaky relu, linear), the output at one input x is an exact scale
mixture (docs/eft.md §5, "Exact finite-width ReLU (and leaky relu, linear) with one input"):

.. math:: z = \sqrt{\hat G}\,u,\qquad u\sim\mathcal N(0, 1),\qquad
          \hat G = K_1\prod_{\ell=1}^{L-1}\frac{C_W^{(\ell+1)}}{n_\ell}\,Y_\ell,\qquad
          K_1 = C_W^{(1)}|x|^2/d_{in},

with :math:`Y_\ell = \sum_{j\le n_\ell}\sigma(u_j)^2` independent across layers: for relu
:math:`Y_\ell \sim \chi^2_{B_\ell}`, :math:`B_\ell \sim \mathrm{Binomial}(n_\ell, \tfrac12)`
(:math:`B_\ell = 0`: :math:`Y_\ell = 0`), for leaky relu with slopes (s₋, s₊)
:math:`Y_\ell = s_+^2\chi^2_{B_\ell} + s_-^2\chi^2_{n_\ell-B_\ell}`, for linear
:math:`Y_\ell \sim \chi^2_{n_\ell}`. So
:math:`z^2 = K_1\chi^2_1\prod_\ell a_\ell Y_\ell` is a product of independent scaled
chi-square mixtures and its Mellin transform is a product of finite sums,

.. math:: \Phi(\tau) = \mathbb E\big[|z|^\tau;\, z\ne0\big]
          = \prod_{i=0}^{L-1}\sum_k P_i(k)\,(2a_i)^{\tau/2}
          \frac{\Gamma(k/2 + \tau/2)}{\Gamma(k/2)},

factor 0 the output unit (:math:`a_0 = K_1`, k = 1), factor ℓ the hidden layer ℓ
(:math:`a_\ell = C_W^{(\ell+1)}s^2/n_\ell`, s the nonzero slope; relu
:math:`P_\ell(k) = \binom{n_\ell}{k}2^{-n_\ell}`, k ≥ 1; linear k = n_ℓ). The event that some
relu layer is entirely off is an atom at z = 0 of mass :math:`1 - \prod_\ell(1 - 2^{-n_\ell})`.
For leaky relu (0 < s_small² = q s_big²) write, given B = k units on the larger slope,
:math:`Y = s_{big}^2\chi^2_n\,(q + (1-q)R)` with :math:`R = \chi^2_k/\chi^2_n \sim
\mathrm{Beta}(k/2, (n-k)/2)` independent of :math:`\chi^2_n`; the layer factor is then
:math:`(2a s_{big}^2)^{\tau/2}\frac{\Gamma(n/2+\tau/2)}{\Gamma(n/2)}\,
\mathbb E[(q + (1-q)R)^{\tau/2}]` with R drawn from the binomial mixture of Betas (a
hypergeometric function per k in closed form), evaluated by the tanh-sinh rule on [0, 1]
(:class:`_LeakyFactor`).

**Inversion.** :math:`v = \log|z|` has the (defective) density :math:`g(v) = 2e^v p(e^v)` and
:math:`\Phi(c + it)` is the Fourier transform of the tilted density :math:`e^{cv}g(v)`
(−1 < c; Φ has its first pole at τ = −1). The trapezoid rule with step h in t is, by the Poisson
summation formula, exactly

.. math:: \frac{h}{2\pi}\sum_{j\in\mathbb Z}\Phi(c + ijh)\,e^{-(c+ijh)v}
          = e^{-cv}\sum_{m\in\mathbb Z} e^{c(v + mD)}\,g(v + mD),\qquad D = 2\pi/h,

so its only error is the aliased tilted mass :math:`m \ne 0` plus the truncation where
:math:`|\Phi(c+it)| < 10^{-20}\,\Phi(c)`, located with the monotone majorant
:math:`\prod_i\sum_k P_i(k)(2a_i)^{c/2}|\Gamma(k/2 + (c+it)/2)|/\Gamma(k/2)` (|Γ(x + iy)|
decreases in |y|). For each f the tilt c is the saddle point :math:`(\log\Phi)'(c) = \log|f|`
(rounded to a grid in log(c + 1) so that values of f share nodes): the tilted law then has its
mean at v, the sum is of order its peak value and the rounding error is a few ε relative to
p(f) itself — relative accuracy in the tails and near f = 0 as well. D starts at 30 standard
deviations of the tilted law plus 10 and doubles (nested nodes) until two successive sums agree
to 1e-13 relative.

References
----------
D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 4–5 (the deep linear and ReLU
single-input recursions); B. Hanin, M. Nica, arXiv:1812.05994 (products of chi-squares in deep
ReLU nets); docs/exact_density.md, "Deep bias-free nets at one input".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import gammaln, loggamma, polygamma

from ..errors import UnsupportedError
from ._density import one_input_and_outputs

__all__ = ["DeepDensity", "exact_deep_density"]

_RTOL = 1e-13  # successive aliasing distances D, 2D
_LOG_CUT = -46.0  # |Φ(c + it)| < 1e-20 Φ(c) is dropped
_LOG_DROP = -80.0  # mixture terms below e^-80 of the largest at the tilt are dropped
_MAX_NODES = 1 << 20
_C_GRID = 0.1  # tilt grid step in log(c + 1)
_C_MAX = 1e7


@dataclass(frozen=True)
class DeepDensity:
    r"""Output law of a deep bias-free relu/leaky/linear MLP at one input: p(f), atom at 0.

    Attributes
    ----------
    f : ndarray (M,)
        The output values.
    density : ndarray (M,)
        The density of the continuous part, p(f) (integrates to 1 − atom; +inf at f = 0 when
        some layer can have a single active unit, a logarithmic singularity).
    log_density : ndarray (M,)
        log p(f), computed directly (accurate where p underflows).
    atom : float
        P(z = 0) = 1 − ∏_ℓ(1 − 2^{−n_ℓ}) for relu (all units of some layer off), 0 for leaky
        relu and linear.
    """

    f: np.ndarray
    density: np.ndarray
    log_density: np.ndarray
    atom: float


class _Factor:
    """One factor Σ_k P(k) (2a)^{τ/2} Γ(k/2 + τ/2)/Γ(k/2) of the Mellin transform."""

    def __init__(self, a: float, k: np.ndarray, log_p: np.ndarray) -> None:
        self.log2a = math.log(2.0 * a)
        self.half_k = 0.5 * k.astype(np.float64)
        self.log_w = log_p - gammaln(self.half_k)
        self.singular = bool(np.any(k == 1))  # Γ(k/2 + τ/2) has its pole at τ = −1

    def log_terms(self, c: float) -> np.ndarray:
        return self.log_w + gammaln(self.half_k + 0.5 * c) + 0.5 * c * self.log2a

    def log_real(self, c: float) -> float:
        t = self.log_terms(c)
        m = float(np.max(t))
        return m + math.log(float(np.sum(np.exp(t - m))))

    def dlog2(self, c: float) -> tuple[float, float]:
        """First and second derivative of log of the factor at real c."""
        t = self.log_terms(c)
        w = np.exp(t - np.max(t))
        w /= np.sum(w)
        d1 = 0.5 * self.log2a + 0.5 * polygamma(0, self.half_k + 0.5 * c)
        d2 = 0.25 * polygamma(1, self.half_k + 0.5 * c)
        mean = float(w @ d1)
        return mean, float(w @ (d2 + d1 * d1)) - mean * mean

    def size(self, c: float) -> float:
        """Magnitude of the log-terms at real c (sets the rounding floor)."""
        top = float(np.max(self.half_k))
        return abs(math.lgamma(top + 0.5 * c)) + abs(math.lgamma(top)) + abs(0.5 * c * self.log2a)

    def kept(self, c: float) -> _Factor:
        """The terms within e^-80 of the largest at real c (the rest bound < e^-80 n of it)."""
        t = self.log_terms(c)
        keep = t >= np.max(t) + _LOG_DROP
        out = object.__new__(_Factor)
        out.log2a, out.half_k, out.log_w = self.log2a, self.half_k[keep], self.log_w[keep]
        out.singular = self.singular
        return out

    def log_complex(self, tau: np.ndarray, ref: float) -> np.ndarray:
        """log(factor(τ)) − ref for complex τ (ref: log of the factor at Re τ).

        log Γ(k/2 + τ/2) is evaluated once per parity of k and carried up by
        Γ(x + 1) = xΓ(x) (k → k + 2), a cumulative sum of complex logarithms."""
        out = np.zeros(tau.shape, dtype=np.complex128)
        step = max(1, (1 << 20) // max(self.half_k.size, 1))
        for i in range(0, tau.size, step):
            tt = 0.5 * tau[i : i + step, None]
            lg = np.empty((tt.shape[0], self.half_k.size), dtype=np.complex128)
            for parity in (0, 1):
                idx = np.nonzero(np.round(2.0 * self.half_k) % 2 == parity)[0]
                if idx.size == 0:
                    continue
                hk = self.half_k[idx]
                inc = np.log(hk[:-1] + tt)  # Γ(hk[j+1] + τ/2) = (hk[j] + τ/2) Γ(hk[j] + τ/2)
                if idx.size > 1 and np.all(np.diff(hk) == 1.0):
                    base = loggamma(hk[0] + tt)
                    lg[:, idx] = base + np.concatenate(
                        [np.zeros_like(base), np.cumsum(inc, axis=1)], axis=1
                    )
                else:
                    lg[:, idx] = loggamma(hk + tt)
            terms = self.log_w + lg + tt * self.log2a - ref
            out[i : i + step] = np.log(np.sum(np.exp(terms), axis=1))
        return out

    def log_majorant(self, c: float, t: np.ndarray, ref: float) -> np.ndarray:
        """log Σ_k |term(c + it)| − ref (≥ log|factor(c + it)| − ref, decreasing in |t|)."""
        tau = c + 1j * t
        terms = (
            self.log_w + loggamma(self.half_k + 0.5 * tau[:, None]).real + 0.5 * c * self.log2a
        ) - ref
        return np.log(np.sum(np.exp(terms), axis=1))


class _LeakyFactor:
    """Layer factor of leaky relu with slopes of squares s_small² = q s_big², 0 < q < 1.

    Given B = k units on the larger slope, Y = s_big² χ²_n (q + (1 − q)R) with
    R ~ Beta(k/2, (n − k)/2) independent of χ²_n (R = 0 for k = 0, R = 1 for k = n), so

        E[(aY)^{τ/2}] = (2a s_big²)^{τ/2} Γ(n/2 + τ/2)/Γ(n/2)
                        · [P(0) q^{τ/2} + P(n) + ∫₀¹ m(R)(q + (1 − q)R)^{τ/2} dR],

    m(R) = Σ_{k=1}^{n−1} P(k) Beta(R; k/2, (n − k)/2), P(k) = C(n, k)2^{−n}. The integral is
    taken by the tanh-sinh rule R = 1/(1 + e^{−π sinh s}) (endpoint singularities R^{−1/2}
    and (1 − R)^{−1/2} of m), the step halving from min(1/4, 1/√n) until the factor changes by
    less than 1e-15 of its value at real τ (checked at τ = −0.9, 0, 3 and along Im τ ≤ 40)."""

    def __init__(self, a: float, n: int, q: float) -> None:
        self.log2a = math.log(2.0 * a)
        self.n = n
        self.half_n = 0.5 * n
        self.log_q = math.log(q)
        self.singular = n == 1
        log_end = -n * math.log(2.0)
        self.log_p0 = self.log_pn = log_end
        hs = min(0.25, 1.0 / math.sqrt(n))  # m(R) has width ~ 0.9/√n in s around R = ½
        previous = None
        probes = np.array([-0.9, 0.0, 3.0, 0.5 + 10j, 0.5 + 20j, 0.5 + 40j, 3.0 + 15j])
        for _ in range(12):
            self._nodes(hs, q)
            values = self._log_factor(probes) - np.array([self.log_real(p.real) for p in probes])
            if previous is not None and np.max(np.abs(np.exp(values) - np.exp(previous))) < 1e-15:
                break
            previous = values
            hs /= 2.0
        else:
            warnings.warn(
                f"exact_deep_density: the tanh-sinh rule of a leaky relu layer (n = {n}, "
                f"q = {q:.3g}) did not converge (change "
                f"{np.max(np.abs(np.exp(values) - np.exp(previous))):.2e})",
                RuntimeWarning,
                stacklevel=4,
            )

    def _nodes(self, hs: float, q: float) -> None:
        n = self.n
        if n < 2:
            self.lw, self.ell = np.zeros(0), np.zeros(0)
            return
        s = hs * np.arange(-round(4.5 / hs), round(4.5 / hs) + 1)
        u = math.pi * np.sinh(s)
        log_r = -np.logaddexp(0.0, -u)  # R = 1/(1 + e^{-u})
        log_1r = -np.logaddexp(0.0, u)
        log_jac = math.log(math.pi) + np.log(np.cosh(s)) + log_r + log_1r
        k = np.arange(1, n)
        log_pk = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0) - n * math.log(2)
        # binomial terms below e^-80 of the largest carry < n e^-80 q^{-1/2} of the factor
        keep_k = log_pk >= np.max(log_pk) - 80.0
        k, log_pk = k[keep_k][:, None], log_pk[keep_k][:, None]
        hk, hnk = 0.5 * k, 0.5 * (n - k)
        log_beta = (
            (hk - 1) * log_r + (hnk - 1) * log_1r - (gammaln(hk) + gammaln(hnk) - gammaln(0.5 * n))
        )
        terms = log_pk + log_beta
        m = np.max(terms, axis=0)
        log_m = m + np.log(np.sum(np.exp(terms - m), axis=0))
        lw = math.log(hs) + log_jac + log_m
        # nodes below e^-70 of the largest weigh < e^-70 q^{-1/2} each ((q + (1 − q)R)^{c/2}
        # ≤ q^{-1/2} for c > −1 on the real line, and |·| there bounds the complex values)
        keep = lw >= np.max(lw) - 70.0
        lw = lw[keep]
        # the mixture has mass 1 − 2^{1−n} exactly: remove the rounding of the log-Beta and
        # log-binomial constants (a few ε·n log n)
        self.lw = lw - (np.logaddexp.reduce(lw) - math.log1p(-math.exp((1 - n) * math.log(2.0))))
        self.ell = np.logaddexp(self.log_q, np.log1p(-q) + log_r[keep])  # log(q + (1 − q)R)

    def _log_bracket(self, half_tau: np.ndarray) -> np.ndarray:
        out = np.empty(half_tau.shape, dtype=np.complex128)
        step = max(1, (1 << 20) // max(self.lw.size, 1))
        for i in range(0, half_tau.size, step):
            ht = half_tau[i : i + step, None]
            inner = np.sum(np.exp(self.lw + ht * self.ell), axis=1) if self.lw.size else 0.0
            ends = np.exp(self.log_p0 + ht[:, 0] * self.log_q) + math.exp(self.log_pn)
            out[i : i + step] = np.log(ends + inner)
        return out

    def _log_factor(self, tau: np.ndarray) -> np.ndarray:
        tau = np.asarray(tau, dtype=np.complex128)
        ht = 0.5 * tau
        return (
            ht * self.log2a
            + loggamma(self.half_n + ht)
            - gammaln(self.half_n)
            + self._log_bracket(ht)
        )

    def _log_bracket_real(self, half_c: float) -> float:
        terms = np.append(
            self.lw + half_c * self.ell, [self.log_p0 + half_c * self.log_q, self.log_pn]
        )
        m = float(np.max(terms))
        return m + math.log(float(np.sum(np.exp(terms - m))))

    def log_real(self, c: float) -> float:
        h = 0.5 * c
        return (
            h * self.log2a
            + math.lgamma(self.half_n + h)
            - math.lgamma(self.half_n)
            + (self._log_bracket_real(h))
        )

    def dlog2(self, c: float) -> tuple[float, float]:
        d = 1e-3
        f0, fp, fm = (self.log_real(c + e) for e in (0.0, d, -d))
        return (fp - fm) / (2 * d), max((fp - 2 * f0 + fm) / (d * d), 0.0)

    def size(self, c: float) -> float:
        """Magnitude of the log-terms at real c (sets the rounding floor)."""
        return (
            abs(math.lgamma(self.half_n + 0.5 * c))
            + abs(math.lgamma(self.half_n))
            + abs(0.5 * c * self.log2a)
        )

    def kept(self, c: float) -> _LeakyFactor:
        return self

    def log_complex(self, tau: np.ndarray, ref: float) -> np.ndarray:
        return self._log_factor(tau) - ref

    def log_majorant(self, c: float, t: np.ndarray, ref: float) -> np.ndarray:
        """|Γ(n/2 + τ/2)| with the bracket at real c (its weights are positive)."""
        ht = 0.5 * (c + 1j * t)
        return (
            loggamma(self.half_n + ht).real
            - gammaln(self.half_n)
            + 0.5 * c * self.log2a
            + self._log_bracket_real(0.5 * c)
            - ref
        )


def _factors(mlp: Any, X: np.ndarray) -> tuple[list[_Factor], float, float]:
    """The Mellin factors, the atom at 0 and log p(0) of the continuous part (inf: singular)."""
    slopes = mlp.activation.piecewise_linear_slopes
    s2 = sorted(s * s for s in slopes)
    K1 = mlp.C_W[0] * float(np.sum(X * X)) / mlp.d_in
    if not K1 > 0.0:
        raise UnsupportedError(
            "X" if mlp.C_W[0] > 0.0 else "mlp",
            "C_W[0]|x|²/d_in = 0: the output is a point mass at 0",
        )
    factors = [_Factor(K1, np.array([1]), np.zeros(1))]
    log_survive = 0.0
    for layer in range(1, mlp.depth):
        n = mlp.widths[layer]
        a = mlp.C_W[layer] * s2[1] / n
        if not a > 0.0:
            raise UnsupportedError("mlp", f"C_W[{layer}] = 0: the output is a point mass at 0")
        if s2[0] == 0.0:  # relu-like: Y = s² χ²_B, B ~ Binomial(n, 1/2), B = 0 is the atom
            k = np.arange(1, n + 1)
            log_p = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0) - n * math.log(2)
            log_nonzero = math.log1p(-math.exp(-n * math.log(2.0)))
            log_p -= np.logaddexp.reduce(log_p) - log_nonzero  # Σ_{k≥1} P(k) = 1 − 2^{−n}
            log_survive += log_nonzero
        elif s2[0] < s2[1]:  # leaky relu: Y = s₊²χ²_B + s₋²χ²_{n−B}
            factors.append(_LeakyFactor(a, n, s2[0] / s2[1]))
            continue
        else:  # linear-like (s₋² = s₊²): Y = s² χ²_n
            k, log_p = np.array([n]), np.zeros(1)
        factors.append(_Factor(a, k, log_p))
    # p(0) = E[Ĝ^{-1/2}; Ĝ > 0]/√(2π): factor 0 contributes K1^{-1/2}, layer ℓ E[(aY)^{-1/2}]
    if any(fa.singular for fa in factors[1:]):
        log_p0 = math.inf
    else:
        log_p0 = -0.5 * math.log(2.0 * math.pi * K1) + sum(fa.log_real(-1.0) for fa in factors[1:])
    return factors, 0.0 - math.expm1(log_survive) + 0.0, log_p0


def _log_phi(factors: list[_Factor], c: float) -> float:
    return sum(fa.log_real(c) for fa in factors)


def _saddle(factors: list[_Factor], v: float) -> float:
    """argmin over c > −1 of log Φ(c) − c v (convex), by bounded Brent in log(c + 1)."""

    def objective(y: float) -> float:
        c = math.expm1(y)
        return _log_phi(factors, c) - c * v

    res = minimize_scalar(
        objective, bounds=(-40.0, math.log1p(_C_MAX)), method="bounded", options={"xatol": 1e-3}
    )
    return float(res.x)


def _group(factors: list[_Factor], c: float, v: np.ndarray) -> np.ndarray:
    """log g(v) at the tilt c for the log-outputs v (one group)."""
    fs = [fa.kept(c) for fa in factors]
    refs = [fa.log_real(c) for fa in fs]
    log_phi_c = sum(refs)
    var = sum(fa.dlog2(c)[1] for fa in fs)
    # truncation: the majorant (monotone in t) below e^-46 of Φ(c)
    t_hi = 1.0
    while sum(
        float(fa.log_majorant(c, np.array([t_hi]), r)[0]) for fa, r in zip(fs, refs, strict=True)
    ) > (_LOG_CUT):
        t_hi *= 2.0
        if t_hi > 1e8:
            raise UnsupportedError("f", "the Mellin transform does not decay (internal limit)")
    D = 30.0 * math.sqrt(var) + 10.0
    # rounding floor: log Φ(c + it) carries an absolute error of a few ε times the size of its
    # parts (log Γ of arguments up to n/2 + c/2, and c log f)
    size = sum(fa.size(c) for fa in fs) + abs(c) * float(np.max(np.abs(v)))
    tol = max(_RTOL, 64.0 * np.finfo(float).eps * size)
    h = 2.0 * math.pi / D
    n = math.ceil(t_hi / h)
    t = h * np.arange(1, n + 1)
    phi = np.exp(sum(fa.log_complex(c + 1j * t, r) for fa, r in zip(fs, refs, strict=True)))
    total = _sum(phi, t, v)
    S = h / (2.0 * math.pi) * (1.0 + 2.0 * total)
    while True:
        h /= 2.0
        n = math.ceil(t_hi / h)
        if n > _MAX_NODES:
            raise UnsupportedError(
                "f",
                f"the density needs more than {_MAX_NODES} Mellin nodes at |f| = "
                f"{math.exp(float(np.min(v))):.3g}; use values of f nearer the bulk",
            )
        t_odd = h * np.arange(1, n + 1, 2)
        phi_odd = np.exp(
            sum(fa.log_complex(c + 1j * t_odd, r) for fa, r in zip(fs, refs, strict=True))
        )
        total = total + _sum(phi_odd, t_odd, v)
        S_new = h / (2.0 * math.pi) * (1.0 + 2.0 * total)
        if np.all(np.abs(S_new - S) <= tol * np.abs(S_new)) and np.all(S_new > 0):
            return log_phi_c - c * v + np.log(S_new)
        S = S_new


def _sum(phi: np.ndarray, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Re Σ_j φ_j e^{−i t_j v}, blocked over v."""
    out = np.empty(v.shape)
    step = max(1, (1 << 22) // max(t.size, 1))
    for i in range(0, v.size, step):
        out[i : i + step] = (np.exp(-1j * np.outer(v[i : i + step], t)) @ phi).real
    return out


def exact_deep_density(mlp: Any, X: Any, f: Any) -> DeepDensity:
    r"""Exact output law of a deep bias-free relu, leaky relu or linear MLP at one input.

    Parameters
    ----------
    mlp : MLP
        Activation relu, leaky relu or linear (any σ with piecewise-linear slopes (s₋, s₊),
        not both 0), every ``C_b`` = 0,
        ``d_out`` = 1; any depth, widths and per-layer ``C_W``.
    X : array_like (1, d_in)
        The one input (a 1-d array of length 1 is read as d_in = 1).
    f : array_like (M,) or (M, 1)
        Output values.

    Returns
    -------
    DeepDensity
        ``density`` p(f) of the continuous part, ``log_density``, and the ``atom`` P(z = 0).

    Notes
    -----
    :math:`z = \sqrt{\hat G}u`, :math:`\hat G = K_1\prod_\ell (C_W^{(\ell+1)}/n_\ell)Y_\ell`, so
    :math:`\mathbb E|z|^\tau = \prod_i\sum_k P_i(k)(2a_i)^{\tau/2}\Gamma(k/2+\tau/2)/\Gamma(k/2)`
    (relu: :math:`P_\ell(k) = \binom{n_\ell}{k}2^{-n_\ell}`, k ≥ 1; linear: k = n_ℓ; leaky relu:
    a Beta mixture, module docstring), inverted
    along the vertical line through the saddle point of each f by the Poisson-controlled
    trapezoid rule of :mod:`fieldnn.effective._deep_density`. p(0) is the closed form
    :math:`\mathbb E[\hat G^{-1/2}]/\sqrt{2\pi}`, +inf when a layer can have one active unit
    (relu always; leaky relu and linear at n_ℓ = 1). Relative error ≲ 1e-12 at every f tested
    (docs/exact_density.md, "Deep bias-free nets at one input").

    References
    ----------
    arXiv:2106.10165, ch. 4–5; B. Hanin, M. Nica, arXiv:1812.05994.

    Examples
    --------
    >>> from fieldnn import MLP
    >>> mlp = MLP("linear", widths=[1, 1, 1])  # z = product of two standard normals
    >>> d = exact_deep_density(mlp, [[1.0]], [1.0])
    >>> round(float(d.density[0]), 12)  # K_0(1)/π
    0.134016241017
    """
    from ..ensembles.architectures import MLP

    if not isinstance(mlp, MLP):
        raise UnsupportedError("mlp", f"the exact deep density needs an MLP, got {mlp!r}")
    slopes = mlp.activation.piecewise_linear_slopes
    if slopes is None:
        raise UnsupportedError(
            "mlp",
            f"the exact deep density needs a relu, leaky relu or linear activation, got "
            f"{mlp.activation.name!r}",
        )
    s2 = sorted(s * s for s in slopes)
    if s2[1] == 0.0:
        raise UnsupportedError("mlp", "the activation vanishes identically")
    for layer, cb in enumerate(mlp.C_b):
        if cb != 0.0:
            raise UnsupportedError(
                "mlp",
                f"the exact deep density needs C_b = 0 in every layer, got C_b[{layer}] = {cb}",
            )
    if mlp.d_out != 1:
        raise UnsupportedError("mlp", f"the exact deep density is for d_out = 1, got {mlp.d_out}")
    X, values = one_input_and_outputs(X, f, mlp.d_in, "the exact deep density")
    factors, atom, log_p0 = _factors(mlp, X)
    logp = np.full(values.shape, log_p0)
    nonzero = values != 0.0
    if np.any(nonzero):
        v = np.log(np.abs(values[nonzero]))
        y = np.array([_saddle(factors, float(vi)) for vi in v])
        y = _C_GRID * np.round(y / _C_GRID)
        out = np.empty(v.shape)
        for yq in np.unique(y):
            sel = y == yq
            out[sel] = _group(factors, math.expm1(float(yq)), v[sel])
        logp[nonzero] = out - v - math.log(2.0)  # p = g(v)/(2|f|)
    return DeepDensity(values.copy(), np.exp(logp), logp, float(atom))
