r"""Exact finite-width NTK statistics of the bias-free relu network [1, n, n, 1] at one input.

Network (fieldnn conventions, ``docs/finite_width_training.md``): z¹_j = W¹_j x,
a_j = relu(z¹_j), z²_k = Σ_j W²_kj a_j, b_k = relu(z²_k), z = Σ_k W³_k b_k, with
W^(ℓ) ~ N(0, C_ℓ/n_{ℓ−1}), n_0 = 1, all C_b = 0, relu'(0) = 0. The biases are still parameters:
the NTK carries λ_b^(ℓ) for them and λ_W^(ℓ)/n_{ℓ−1} for the weights, so (RYH eq. (8.12))

    Ĥ¹ = h := λ_b1 + λ_W1 x²  (deterministic, n_0 = 1),
    Ĥ²_kl = δ_kl c0 + h Σ_j W²_kj W²_lj θ_j,   c0 = λ_b2 + λ_W2 S/n,   θ_j = step(z¹_j),
    Θ̂ = Ĥ³ = λ_b3 + (λ_W3/n) Σ_k b_k² + Σ_kl W³_k W³_l φ_k φ_l Ĥ²_kl,   φ_k = step(z²_k).

Derivation (exact at every n).

1. Output layer (Wick over W³ ~ N(0, C3/n), as in the docs' "One layer, exactly"): with
   g_k = λ_W3 b_k² + C3 φ_k Ĥ²_kk, Θ̂c = λ_b3 + Σ_k g_k/n, Ĝ = (C3/n) Σ_k b_k², Ω_kl = φ_kφ_lĤ²_kl,
   the isotropic decomposition of E[ΔĤ_{i1i2}ΔĤ_{i3i4}] and E[ΔĤ_{i1i2} z_{i3} z_{i4}] holds at
   finite n with A/n = Var Θ̂c, B/n = (C3/n)² E[Σ_kl Ω_kl²], D/n = Cov(Θ̂c, Ĝ),
   F/n = (C3/n)² E[Σ_kl b_k b_l Ω_kl]; for one output Var Θ̂ = (A + 2B)/n,
   Cov(Θ̂, z²) = (D + 2F)/n; z ~ N(0, Ĝ) given layers 1–2, so E z² = E Ĝ, E z⁴ = 3 E Ĝ².
2. Condition on layer 1. Only S = Σ_j a_j² and T = Σ_j θ_j (active units) enter. Given them the
   rows w_k = W²_k· are iid; split w_k on the active units into ξ_k = w_k·a/√S and the T − 1
   orthogonal components η_k (all iid N(0, σ), σ = C2/n): z²_k = √S ξ_k,
   Ĥ²_kk = c0 + h(ξ_k² + |η_k|²), Ĥ²_kl = h(ξ_kξ_l + η_k·η_l). Half-line Gaussian moments
   (E[θ(ξ)ξ^{2p}] = (2p−1)!! σ^p/2) and χ² moments of |η|² give, for T ≥ 1, one unit
   (b = b_k, φ = φ_k, H = Ĥ²_kk):

       E b² = Sσ/2,  E b⁴ = 3S²σ²/2,  E φH = (c0 + hσT)/2,
       E φH² = [c0² + 2c0hσT + h²σ²T(T + 2)]/2,  E b²H = Sσ[c0 + hσ(T + 2)]/2,

   and two units k ≠ l: E[φ_kφ_l (Ĥ²_kl)²] = h²σ²T/4, E[b_k b_l Ĥ²_kl] = Shσ²/4. The units are
   iid given layer 1, so e.g. E[Θ̂c² | S, T] = λ_b3² + 2λ_b3 Eg + [Eg² + (n − 1)(Eg)²]/n.
   T = 0 (every first-layer unit dead, probability 2⁻ⁿ): z² = 0, so Θ̂ = λ_b3 and z = 0.
3. Average over layer 1: a_j² = C1x² u_j² θ_j (u_j standard normal), so given T,
   S = C1x² Q with Q ~ χ²_T (E S = C1x²T, E S² = (C1x²)² T(T + 2)), and T ~ Binomial(n, 1/2).
   Every conditional moment is a polynomial in S of degree ≤ 2, so the average is the finite
   sum Σ_{T=1}^{n} C(n, T) 2⁻ⁿ (·) plus the T = 0 term, done here in exact rational arithmetic.

Result: a rational function of n plus 2⁻ⁿ terms (from T = 0). The mean is exactly
E Θ̂ = Θ − 2^{−n−1} C3 λ_b2 (Θ the infinite-width NTK): no 1/n term, Θ^{1} = 0. A, B, D, F are
each (their infinite-width value) + (a constant)/n + O(2⁻ⁿ). At C1 = C2 = C3 = 2, every λ = 1,
x = 1: A = 61 + 116/n, B = 40 + 50/n, D = 42 + 96/n, F = 24 + 52/n, E z² = 2,
E z⁴ = 12(1 + 5/n)², up to the 2⁻ⁿ terms.

References: D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 8 (eq. (8.12), the tensors
A, B, D, F of sec. 8.2–8.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb

__all__ = ["ReluNTKExact", "relu_ntk_exact"]

_Poly = tuple[Fraction, Fraction, Fraction]  # c0 + c1 S + c2 S²


def _add(*ps: _Poly) -> _Poly:
    return (sum((p[0] for p in ps), Fraction(0)), sum((p[1] for p in ps), Fraction(0)),
            sum((p[2] for p in ps), Fraction(0)))  # fmt: skip


def _scale(c: Fraction, p: _Poly) -> _Poly:
    return (c * p[0], c * p[1], c * p[2])


def _mul(p: _Poly, q: _Poly) -> _Poly:
    if p[2] * q[1] != 0 or p[1] * q[2] != 0 or p[2] * q[2] != 0:
        raise ValueError("product beyond S²")
    return (p[0] * q[0], p[0] * q[1] + p[1] * q[0], p[0] * q[2] + p[1] * q[1] + p[2] * q[0])


def _const(c: Fraction) -> _Poly:
    return (c, Fraction(0), Fraction(0))


@dataclass(frozen=True)
class ReluNTKExact:
    r"""Exact statistics of [1, n, n, 1] (exact rationals).

    ``A``, ``B``, ``D``, ``F`` are n times the finite-width covariances (the tensors of
    ``ntk_fluctuations`` at P = 1 plus their O(1/n) and 2⁻ⁿ remainders); ``mean`` = E Θ̂,
    ``variance`` = Var Θ̂ = (A + 2B)/n, ``z2_covariance`` = Cov(Θ̂, z²) = (D + 2F)/n,
    ``z2`` = E z², ``z4`` = E z⁴ (one output)."""

    n: int
    mean: Fraction
    A: Fraction
    B: Fraction
    D: Fraction
    F: Fraction
    z2: Fraction
    z4: Fraction

    @property
    def variance(self) -> Fraction:
        return (self.A + 2 * self.B) / self.n

    @property
    def z2_covariance(self) -> Fraction:
        return (self.D + 2 * self.F) / self.n


def _three(value: float | Sequence[float], name: str) -> tuple[Fraction, Fraction, Fraction]:
    values = [value] * 3 if isinstance(value, int | float) else list(value)
    if len(values) != 3:
        raise ValueError(f"{name}: one value or three (one per layer), got {value!r}")
    return tuple(Fraction(v) for v in values)  # type: ignore[return-value]


def relu_ntk_exact(
    n: int,
    x: float = 1.0,
    *,
    C_W: float | Sequence[float] = 2.0,
    lambda_W: float | Sequence[float] = 1.0,
    lambda_b: float | Sequence[float] = 1.0,
) -> ReluNTKExact:
    """Exact E Θ̂, A, B, D, F, E z², E z⁴ of the bias-free relu net [1, n, n, 1] at input x
    (per-layer C_W, λ_W, λ_b; the derivation in the module docstring)."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    c1, c2, c3 = _three(C_W, "C_W")
    lw1, lw2, lw3 = _three(lambda_W, "lambda_W")
    lb1, lb2, lb3 = _three(lambda_b, "lambda_b")
    x2 = Fraction(x) ** 2
    h, sig, kap, N = lb1 + lw1 * x2, c2 / n, c1 * x2, Fraction(n)
    zero, S = Fraction(0), (Fraction(0), Fraction(1), Fraction(0))
    c0 = (lb2, lw2 / N, zero)
    half = Fraction(1, 2)

    acc = {k: Fraction(0) for k in ("th", "th2", "G", "G2", "thG", "B", "F")}
    for T in range(1, n + 1):
        # one unit and two units of layer 2 given layer 1 (polynomials in S)
        Eb2 = _scale(sig * half, S)
        Eb4 = (zero, zero, 3 * sig**2 * half)
        EphH = _scale(half, _add(c0, _const(h * sig * T)))
        EphH2 = _scale(
            half,
            _add(
                _mul(c0, c0),
                _scale(2 * h * sig * T, c0),
                _const(h**2 * sig**2 * T * (T + 2)),
            ),
        )
        Eb2H = _scale(sig * half, _mul(S, _add(c0, _const(h * sig * (T + 2)))))
        pairB = _const(h**2 * sig**2 * T / 4)
        pairF = _scale(h * sig**2 / 4, S)
        # output layer given layers 1–2, averaged over layer 2
        Eg = _add(_scale(lw3, Eb2), _scale(c3, EphH))
        Eg2 = _add(_scale(lw3**2, Eb4), _scale(2 * lw3 * c3, Eb2H), _scale(c3**2, EphH2))
        Egb2 = _add(_scale(lw3, Eb4), _scale(c3, Eb2H))
        th = _add(_const(lb3), Eg)
        th2 = _add(
            _const(lb3**2),
            _scale(2 * lb3, Eg),
            _scale(1 / N, _add(Eg2, _scale(N - 1, _mul(Eg, Eg)))),
        )
        G = _scale(c3, Eb2)
        G2 = _scale((c3 / N) ** 2, _add(_scale(N, Eb4), _scale(N * (N - 1), _mul(Eb2, Eb2))))
        thG = _add(_scale(lb3, G), _scale(c3 / N, _add(Egb2, _scale(N - 1, _mul(Eg, Eb2)))))
        Bn = _scale((c3 / N) ** 2, _add(_scale(N, EphH2), _scale(N * (N - 1), pairB)))
        Fn = _scale((c3 / N) ** 2, _add(_scale(N, Eb2H), _scale(N * (N - 1), pairF)))
        # S = C1 x² χ²_T, then T ~ Binomial(n, 1/2)
        ES = (Fraction(1), kap * T, kap**2 * T * (T + 2))
        weight = Fraction(comb(n, T), 2**n)
        for key, p in (("th", th), ("th2", th2), ("G", G), ("G2", G2), ("thG", thG),
                       ("B", Bn), ("F", Fn)):  # fmt: skip
            acc[key] += weight * sum((c * m for c, m in zip(p, ES, strict=True)), zero)
    dead = Fraction(1, 2**n)  # T = 0: Θ̂ = λ_b3, z = 0
    mean = acc["th"] + dead * lb3
    var = acc["th2"] + dead * lb3**2 - mean**2
    cov = acc["thG"] - mean * acc["G"]
    return ReluNTKExact(
        n=n,
        mean=mean,
        A=N * var,
        B=N * acc["B"],
        D=N * cov,
        F=N * acc["F"],
        z2=acc["G"],
        z4=3 * acc["G2"],
    )
