r"""The scatter of the kink term of a deep relu-type net trained on one input x: the variance,
from network to network at a fixed initial residual ε₀, of its trained outputs at x and at test
inputs x′, O(n^{−3/2}) (private; ``KinkedNTKChange.scatter``, notation of
:mod:`fieldnn.inference._deep_kink`).

Units of layer ℓ reach the kink at x at the rate n_ℓp_ℓ(0)|V||ε₀|e^{−Θt*}/√n_ℓ (Θ = Θ(x, x) of
the output). From their arrival t* on, each changes the kernel that drives x by
d = c/(Θ_ℓn_ℓ) and Θ̂(x′, x) by d′ = c′/(Θ_ℓn_ℓ), so (first order, ε(t) = ε₀e^{−Θt})

.. math::

    \delta z(x', t) = -\varepsilon_0\,d'\,I_0(t^*) + \Theta(x', x)\,\varepsilon_0\,d\,I_1(t^*),
    \qquad I_0(s) = \int_s^t e^{-\Theta u}du,\quad I_1(s) = \int_s^t (u - s)e^{-\Theta u}du,

which at x′ = x is −ε₀d(t − t*)e^{−Θt}. Flipping or holding σ′_i(x) (change Δσ: ∓(s₊ − s₋)
crossing down or up, σ̄ − s_± = V_±/A sliding in from above or below) changes the k = i terms
of Σ_{mk}σ′_m(x′)g_m(x′)Ĥ_{mk}(x′, x)σ′_k(x)g_k(x)/n_ℓ, so

.. math::

    c' = \Delta\sigma\,A\,\big(\Theta_\ell(x', x)\,S'\,g' + \xi'\big),

S′ = σ′(u_i(x′)) (s₊ or s₋ with probability ½ given u_i(x) = 0), g′ = g_i(x′) = rA/Θ_ℓ + e_g
(r = G_ℓ(x′, x)/G_ℓ, Var e_g = G_ℓ(x′, x′) − G_ℓ(x′, x)²/G_ℓ) and
ξ′ = Σ_{m≠i}σ′_m(x′)g_m(x′)Ĥ_{mi}(x′, x) = ρB + e_ξ (Var e_ξ = Var ξ′ − ρ²Ξ_ℓ,
Var ξ′ = (n_ℓ/n_{ℓ−1})B_{x′x′xx}⟨σ′(x′)²⟩G_ℓ(x′, x′)), the residuals independent of A, B. Its
mean over S′, e_g, e_ξ is the drift of ``KinkedNTKChange.ntk_change`` at x′; the variance needs

.. math::

    \mathbb E[c'^2\,|\,A, B] = \Delta\sigma^2A^2\Big[\langle S'^2\rangle\Theta_\ell'^2
        \Big(\frac{r^2A^2}{\Theta_\ell^2} + \mathrm{Var}\,e_g\Big)
        + 2\langle S'\rangle\Theta_\ell'\frac{r\rho AB}{\Theta_\ell} + \rho^2B^2
        + \mathrm{Var}\,e_\xi\Big],

so the degree-5 moments E[Σ|V|Δσ²A⁴], E[Σ|V|Δσ²A³B], E[Σ|V|Δσ²A²B²], E[Σ|V|cΔσA²],
E[Σ|V|cΔσAB], E[Σ|V|c²] and the degree-3 E[Σ|V|Δσ²A²] (:class:`ArrivalMoments`).

A second family moves z(x′) only: units whose u_i(x′) crosses its kink (u_i(x′) moves with
velocity −ε(Θ_ℓ(x′, x)Sg + η)/√n_ℓ, S = σ′_i(x) fixed, η = Σ_{k≠i}Ĥ_{ik}(x′, x)σ′_k(x)g_k(x) ~
N(0, (n_ℓ/n_{ℓ−1})B_{x′x′xx}⟨σ′(x)²⟩G_ℓ); nothing gates it, so nothing slides), each changing
Θ̂(x′, x) by ∓(s₊ − s₋)g′|v′|/n_ℓ with v′ = Θ_ℓ(x′, x)Sg + η: their mean cancels, their variance
adds. Independent Poisson sums, per layer,

.. math::

    n_\ell^{3/2}\,\mathrm{Var}(z(x', t)\,|\,\varepsilon_0) = |\varepsilon_0|^3\Big[
        \frac{p_\ell(0)}{\Theta_\ell^2}\big(\mathbb E[\textstyle\sum|V|c'^2]J_{00}
        - 2\Theta(x', x)\mathbb E[\sum|V|cc']J_{01} + \Theta(x', x)^2\mathbb E[\sum|V|c^2]J_{11}
        \big) + p'_\ell(0)(s_+ - s_-)^2\,\mathbb E[g'^2|v'|^3]\,J_{00}\Big],

J_ab = ∫₀ᵗ e^{−Θs}I_a(s)I_b(s)ds, p′_ℓ(0) = (2πK_ℓ(x′, x′))^{−1/2}. With one hidden layer
(B = 0, g′ = g) this is the one-layer derivation's stopping and crossing units
(``docs/finite_width_training.md``, "The scatter of the kink term").
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from scipy import integrate
from scipy.special import gammainc

from ._kink_common import angular_mean, angular_pieces

#: E|w|³ and E|w|⁵ of w ~ N(0, 1).
_ABS3, _ABS5 = 2.0 * math.sqrt(2.0 / math.pi), 8.0 * math.sqrt(2.0 / math.pi)


def arrival_changes(A: Any, B: Any, s_minus: float, s_plus: float) -> tuple[Any, Any, Any, Any]:
    """(|V| c) per case for the units of a layer that reach the kink, as two arrival channels
    (from above, weight |V₊|; from below, weight V₋) with their change c of the driving kernel
    at x (units of 1/(Θ_ℓn_ℓ)): crossing, c = ∓Δ, Δ = (s₊² − s₋²)A² + 2(s₊ − s₋)AB; sliding,
    c = BV₋ + s₋AB − s_±(s_±A² + 2AB) (its own term stops, the others see the chatter average
    s₋ + V₋/A of σ'). Returns (weight above, c above, weight below, c below)."""
    v_plus, v_minus = -(s_plus * A + B), -(s_minus * A + B)
    delta = (s_plus**2 - s_minus**2) * A * A + 2.0 * (s_plus - s_minus) * A * B
    slide = (v_plus < 0.0) & (v_minus > 0.0)
    held = B * v_minus + s_minus * A * B  # A·B·σ̄ of a sliding unit
    above = np.where(slide, held - s_plus * (s_plus * A * A + 2.0 * A * B), -delta)
    below = np.where(slide, held - s_minus * (s_minus * A * A + 2.0 * A * B), delta)
    return np.maximum(-v_plus, 0.0), above, np.maximum(v_minus, 0.0), below


def arrival_slopes(A: Any, B: Any, s_minus: float, s_plus: float) -> tuple[Any, Any]:
    """Δσ, the change of the slope σ'(u(x)) that the rest of the network sees, per arrival
    channel of :func:`arrival_changes` (above, below): crossing, ∓(s₊ − s₋); sliding, the
    chatter average σ̄ = s₋ + V₋/A minus s₊ (= V₊/A) or minus s₋ (= V₋/A). Sliding needs
    (s₊ − s₋)A = V₋ − V₊ > 0, so A > 0 there."""
    v_plus, v_minus = -(s_plus * A + B), -(s_minus * A + B)
    slide = (v_plus < 0.0) & (v_minus > 0.0)
    safe = np.where(slide, A, 1.0)
    jump = s_plus - s_minus
    return np.where(slide, v_plus / safe, -jump), np.where(slide, v_minus / safe, jump)


class ArrivalMoments(NamedTuple):
    """Moments over A ~ N(0, sd_A²), B ~ N(0, sd_B²) of Σ over the arrival channels of |V| times:
    ``cc`` c², ``c_aa`` cΔσA², ``c_ab`` cΔσAB, ``aaaa`` Δσ²A⁴, ``aaab`` Δσ²A³B, ``aabb``
    Δσ²A²B² (degree 5) and ``aa`` Δσ²A² (degree 3) (:func:`arrival_changes`,
    :func:`arrival_slopes`)."""

    cc: float
    c_aa: float
    c_ab: float
    aaaa: float
    aaab: float
    aabb: float
    aa: float


def arrival_moments(sd_A: float, sd_B: float, s_minus: float, s_plus: float) -> ArrivalMoments:
    """The :class:`ArrivalMoments` of a layer: each moment is homogeneous in (A, B), so it is
    E[r⁵] = 15√(π/2) (degree 5) or E[r³] = 3√(π/2) (degree 3) times the mean over the angle φ,
    A = sd_A cos φ, B = sd_B sin φ, a trigonometric polynomial between the kinks of the cases."""

    def angular(phi: np.ndarray) -> np.ndarray:
        A, B = sd_A * np.cos(phi), sd_B * np.sin(phi)
        w_above, c_above, w_below, c_below = arrival_changes(A, B, s_minus, s_plus)
        d_above, d_below = arrival_slopes(A, B, s_minus, s_plus)
        rows = []
        for w, c, d in ((w_above, c_above, d_above), (w_below, c_below, d_below)):
            wd2a2 = w * d * d * A * A
            rows.append([
                w * c * c, w * c * d * A * A, w * c * d * A * B,
                wd2a2 * A * A, wd2a2 * A * B, wd2a2 * B * B, wd2a2,
            ])  # fmt: skip
        return np.sum(np.array(rows), axis=0)

    mean = angular_mean(angular, angular_pieces(sd_A, sd_B, s_minus, s_plus))
    radial = math.sqrt(math.pi / 2.0) * np.array([15.0] * 6 + [3.0])
    return ArrivalMoments(*(float(m) for m in radial * mean))


def lag_squares(theta: float, t: float) -> float:
    """e^{−2Θt}∫₀ᵗ e^{−Θs}(t − s)² ds: the weight of the squared output change at x of the
    units that arrive at s, each moving z(x, t) by ∝ (t − s)e^{−Θt} (0 at t = ∞, where z(x) = y
    in every network); by quadrature (the closed form t²/Θ − 2t/Θ² + 2(1 − e^{−Θt})/Θ³ cancels
    at small Θt)."""
    if math.isinf(t):
        return 0.0
    value = integrate.quad(lambda s: math.exp(-theta * s) * (t - s) ** 2, 0.0, t)[0]
    return math.exp(-2.0 * theta * t) * value


def lag_moments(theta: float, t: float) -> tuple[float, float, float]:
    """(J₀₀, J₀₁, J₁₁), J_ab = ∫₀ᵗ e^{−Θs}I_a(s)I_b(s)ds with I₀(s) = e^{−Θs}P(1, Θ(t − s))/Θ and
    I₁(s) = e^{−Θs}P(2, Θ(t − s))/Θ² (P the regularised lower incomplete gamma function, no
    cancellation at small Θ(t − s)); finite at t = ∞. J₀₀ − 2ΘJ₀₁ + Θ²J₁₁ is
    :func:`lag_squares`."""

    def pieces(s: float) -> tuple[float, float]:
        x = math.inf if math.isinf(t) else theta * (t - s)
        decay = math.exp(-theta * s)
        return decay * gammainc(1, x) / theta, decay * gammainc(2, x) / theta**2

    def moment(a: int, b: int) -> float:
        def integrand(s: float) -> float:
            p = pieces(s)
            return math.exp(-theta * s) * p[a] * p[b]

        return integrate.quad(integrand, 0.0, t, epsabs=0.0, epsrel=1e-12)[0]

    return moment(0, 0), moment(0, 1), moment(1, 1)


class ProbeCovariances(NamedTuple):
    """The statistics of layer ℓ at test inputs x′ (arrays (Q,)) that the scatter there needs:
    ``theta`` Θ_ℓ(x′, x); ``regression`` r = G_ℓ(x′, x)/G_ℓ and ``signal_residual`` G_ℓ(x′, x′) −
    G_ℓ(x′, x)²/G_ℓ of the backward signal; ``rho`` and ``ungated_residual`` Var ξ′ − ρ²Ξ_ℓ of
    the ungated velocity; ``crossing_velocity`` Var η of the units crossing at x′ and
    ``density`` p′_ℓ(0) = (2πK_ℓ(x′, x′))^{−1/2}."""

    theta: np.ndarray
    regression: np.ndarray
    signal_residual: np.ndarray
    rho: np.ndarray
    ungated_residual: np.ndarray
    crossing_velocity: np.ndarray
    density: np.ndarray


def probe_scatter(
    m: ArrivalMoments, probe: ProbeCovariances, *, theta_layer: float, signal: float,
    density: float, slopes: tuple[float, float], theta_out: np.ndarray, lags: tuple[float, ...],
) -> np.ndarray:  # fmt: skip
    """n_ℓ^{3/2} Var(z(x′, t) | ε₀)/|ε₀|³ (Q,) of layer ℓ at test inputs x′ ≠ x (module
    docstring): the units that reach the kink at x (``m``; ``theta_layer`` Θ_ℓ, ``signal`` G_ℓ,
    ``density`` p_ℓ(0)) and those that cross at x′ (``probe``); ``theta_out`` Θ(x′, x) of the
    output, ``lags`` (J₀₀, J₀₁, J₁₁) of :func:`lag_moments`."""
    s_minus, s_plus = slopes
    mean_s, mean_s2 = 0.5 * (s_minus + s_plus), 0.5 * (s_minus**2 + s_plus**2)
    th, p = theta_layer, probe
    reg = p.regression / th
    own = (
        mean_s2 * p.theta**2 * (reg**2 * m.aaaa + p.signal_residual * m.aa)
        + 2.0 * mean_s * p.theta * reg * p.rho * m.aaab
        + p.rho**2 * m.aabb
        + p.ungated_residual * m.aa
    )
    cross = mean_s * p.theta * reg * m.c_aa + p.rho * m.c_ab
    j00, j01, j11 = lags
    reaching = density / th**2 * (
        own * j00 - 2.0 * theta_out * cross * j01 + theta_out**2 * m.cc * j11
    )  # fmt: skip
    crossing = p.density * (s_plus - s_minus) ** 2 * _signal_velocity_moment(p, signal, slopes)
    return reaching + crossing * j00


def _signal_velocity_moment(
    p: ProbeCovariances, signal: float, slopes: tuple[float, float]
) -> np.ndarray:
    """E[g′²|v′|³], v′ = Θ_ℓ(x′, x)Sg + η, S = s± with probability ½, g ~ N(0, G_ℓ), η ~
    N(0, Var η), g′ = rg + e_g: with w = v′ at fixed S (variance σ_w² = a²G_ℓ + Var η,
    a = Θ_ℓ(x′, x)S), E[g²|w|³] = β²E|w|⁵ + (G_ℓ − βaG_ℓ)E|w|³, β = aG_ℓ/σ_w²."""
    total = np.zeros_like(p.theta)
    for s in slopes:
        a = p.theta * s
        var_w = a * a * signal + p.crossing_velocity
        safe = np.where(var_w > 0.0, var_w, 1.0)
        beta = a * signal / safe
        sd = np.sqrt(var_w)
        g2w3 = beta**2 * _ABS5 * sd**5 + (signal - beta * a * signal) * _ABS3 * sd**3
        total += 0.5 * (p.regression**2 * g2w3 + p.signal_residual * _ABS3 * sd**3)
    return total
