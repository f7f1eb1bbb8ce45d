"""The scatter of the kink term of a deep relu-type net at its training input
(``KinkedNTKChange.scatter``; docs/finite_width_training.md, "The covariance, and the scatter of
the kink term"): the degree-5 arrival moment against sampled velocities and adaptive quadrature,
its cases summed to the first power against the mean drift of the driving kernel (the flux
moments), the per-unit model's mean against the closed-form output shift, and one hidden layer
against the stopping units of the one-layer derivation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

import fieldnn as fnn
from fieldnn.inference._deep_kink import _flux_moments
from fieldnn.inference._deep_kink_scatter import (
    ProbeCovariances,
    arrival_changes,
    arrival_moments,
    arrival_slopes,
    lag_moments,
    lag_squares,
    probe_scatter,
)
from fieldnn.inference._kink_common import folded_moments
from fieldnn.kernels.activations import leaky_relu

# the theory against itself, its closed forms and sampled networks at the inputs its docs
# tables use, several nearly proportional to a training input: the warning about them is
# tested in test_kink_window.py
pytestmark = pytest.mark.filterwarnings("ignore:.*nearly proportional preactivations")

X, Y, C_W, C_B, T = 1.0, 2.0, 2.0, 0.1, 0.5


def _arrivals(A: np.ndarray, B: np.ndarray, s_minus: float) -> tuple[np.ndarray, ...]:
    """(|V| above, c above, V below, c below), s₊ = 1, written out from the cases: a crossing
    unit flips σ' (c = ∓Δ); a sliding unit's own term g σ'(Aσ' + B)/Θ stops and the others'
    AB σ'/Θ take the chatter average σ̄ = f s₊ + (1 − f)s₋, f = V₋/(V₋ − V₊)."""
    v_plus, v_minus = -(A + B), -(s_minus * A + B)
    slide = (v_plus < 0) & (v_minus > 0)
    f = np.where(slide, v_minus / np.where(slide, v_minus - v_plus, 1.0), 0.0)
    mean_slope = f + (1 - f) * s_minus
    delta = (1 - s_minus**2) * A * A + 2 * (1 - s_minus) * A * B

    def own(s: float) -> np.ndarray:  # the unit's share of the driving kernel at slope s
        return s * s * A * A + 2 * s * A * B

    c_above = np.where(slide, A * B * mean_slope - own(1.0), -delta)
    c_below = np.where(slide, A * B * mean_slope - own(s_minus), delta)
    return np.maximum(-v_plus, 0), c_above, np.maximum(v_minus, 0), c_below


@pytest.mark.parametrize("ratio", [0.3, 1.5])
@pytest.mark.parametrize("s_minus", [0.0, 0.2, -0.5])
def test_scatter_moment_against_sampled_velocities(ratio: float, s_minus: float) -> None:
    """E[Σ_cases |V| c²] by the angular quadrature against 2·10⁶ sampled (A, B) within 4
    standard errors, and :func:`arrival_changes` (σ̄ as the polynomial s₋ + V₋/A) equal to the
    cases written out with the rational f."""
    rng = np.random.default_rng(5)
    A, B = rng.normal(0.0, 1.3, 2_000_000), rng.normal(0.0, 1.3 * ratio, 2_000_000)
    w_a, c_a, w_b, c_b = _arrivals(A, B, s_minus)
    for mine, written in zip(arrival_changes(A, B, s_minus, 1.0), (w_a, c_a, w_b, c_b),
                             strict=True):  # fmt: skip
        np.testing.assert_allclose(mine, written, rtol=1e-9, atol=1e-9)
    values = w_a * c_a**2 + w_b * c_b**2
    moment = arrival_moments(1.3, 1.3 * ratio, s_minus, 1.0).cc
    assert abs(values.mean() - moment) < 4 * values.std() / math.sqrt(values.size)


@pytest.mark.parametrize("s_minus", [0.0, 0.2, -0.5])
def test_arrival_moments_to_rounding(s_minus: float) -> None:
    """Degree 5 (the scatter) and degree 3 (Σ|V|c, the same cases to the first power) by
    adaptive quadrature over the angle, breakpoints at the kinks: the fixed rule to 1e-10; and
    Σ|V|c is the mean drift of the driving kernel, (s₊² − s₋²)E[A²M] + 2(s₊ − s₋)E[ABM] +
    (s₊ − s₋)E[AV₊V₋1{slide}], from the independently derived flux moments."""
    sd_A, sd_B = 1.3, 0.9
    kinks = [(math.atan2(-s * sd_A, sd_B) + m * math.pi) % (2 * math.pi)
             for s in (s_minus, 1.0) for m in (0, 1)]  # fmt: skip

    def moment(power: int) -> float:
        def angular(phi: float) -> float:
            A, B = np.array([sd_A * math.cos(phi)]), np.array([sd_B * math.sin(phi)])
            w_a, c_a, w_b, c_b = _arrivals(A, B, s_minus)
            return float((w_a * c_a**power + w_b * c_b**power)[0])

        total = integrate.quad(
            angular, 0.0, 2 * math.pi, epsabs=0.0, epsrel=1e-12, limit=400, points=kinks
        )[0]
        radial = {1: 3.0, 2: 15.0}[power] * math.sqrt(math.pi / 2.0)  # E r³, E r⁵
        return radial * total / (2.0 * math.pi)

    assert arrival_moments(sd_A, sd_B, s_minus, 1.0).cc == pytest.approx(moment(2), rel=1e-10)
    m = _flux_moments(sd_A, sd_B, s_minus, 1.0)
    drift = (1 - s_minus**2) * m.aa + 2 * (1 - s_minus) * m.ab + (1 - s_minus) * m.slide
    assert moment(1) == pytest.approx(drift, rel=1e-10)


def testlag_squares() -> None:
    """e^{−2Θt}∫₀ᵗ e^{−Θs}(t − s)²ds: the closed form at Θt = O(1), t³/3 as Θt → 0, 0 at
    t = ∞."""
    for theta, t in ((6.15, 0.5), (1.0, 3.0)):
        closed = t * t / theta - 2 * t / theta**2 + 2 * (1 - math.exp(-theta * t)) / theta**3
        assert lag_squares(theta, t) == pytest.approx(math.exp(-2 * theta * t) * closed, 1e-12)
    assert lag_squares(1e-9, 1e-3) == pytest.approx(1e-9 / 3, rel=1e-6)
    assert lag_squares(2.0, math.inf) == 0.0


@pytest.mark.parametrize("act", ["relu", leaky_relu(0.2)], ids=["relu", "leaky"])
def test_per_unit_mean_is_the_closed_form_shift(act: object) -> None:
    """The units of the scatter, counted to the first power, give the mean: each arrival at t*
    moves z(x, T) by −ε₀ c/(Θ_ℓn_ℓ) (T − t*)e^{−ΘT}, so √n E δz(x) = −Σ_ℓ p_ℓ(0)/Θ_ℓ E[Σ|V|c]
    E[|ε₀|ε₀] e^{−ΘT}∫₀^T e^{−Θt}(T − t)dt, against kinked_training_shift's closed form (gradient
    flow, relu [1, 64, 64, 1]) to 1e-9; the time weight of the variance is the same integrand
    squared."""
    mlp = fnn.MLP(act, [1, 64, 64, 1], C_W=C_W, C_b=C_B)
    drift = fnn.kinked_ntk_change(mlp, [[X]], [Y], t=T)
    theta, K = float(mlp.ntk([[X]])[0, 0]), float(mlp.kernel([[X]])[0, 0])
    e_abs, e_abs_e, _ = folded_moments(-Y, K)
    g = -math.expm1(-theta * T) / theta
    lag = math.exp(-theta * T) * integrate.quad(lambda s: math.exp(-theta * s) * (T - s), 0, T)[0]
    # drift.coefficients (at x) + sliding are E|ε₀| g · p_ℓ(0)/Θ_ℓ · E[Σ|V|c] per layer
    per_unit = (drift.coefficients[:, 0] + drift.sliding) / (e_abs * g)
    mean = -per_unit.sum() * e_abs_e * lag
    closed = fnn.kinked_training_shift(mlp, [[X]], [Y], [[X]], t=T).mean_shift[0] * 8
    assert mean == pytest.approx(closed, rel=1e-9)


def test_one_hidden_layer_is_the_stopping_units() -> None:
    """[1, n, 1]: the scatter at x is the one-layer derivation's stopping units (each removing
    v²H from Θ̂(x, x) from its stopping time on; tests/inference/test_relu_training_drift.py),
    the same n^{3/2}-scaled at every width; t = ∞ gives 0 (z(x) = y in every network)."""
    from .test_relu_training_drift import T_OUT, _scatter_coefficients

    stopping = _scatter_coefficients(np.array([-1.0]))[0][0]
    for n in (64, 1024):
        one = fnn.MLP("relu", [1, n, 1], C_W=C_W, C_b=C_B)
        r = fnn.kinked_ntk_change(one, [[X]], [Y], t=T_OUT)
        K = float(one.kernel([[X]])[0, 0])  # the output's: ε₀ ~ N(−y, K)
        assert r.scatter[0, 0] / folded_moments(-Y, K)[2] == pytest.approx(stopping, rel=1e-6)
    assert fnn.kinked_ntk_change(one, [[X]], [Y]).scatter[0, 0] == 0.0


@pytest.mark.parametrize("s_minus", [0.0, 0.2, -0.5])
def test_arrival_slopes_give_the_mean_drift(s_minus: float) -> None:
    """Σ|V|Δσ over the channels is (s₊ − s₋)M (M = ``net_crossings``: crossing units flip σ' by
    ∓(s₊ − s₋), sliding ones take σ̄ − s_± = V_±/A), so E[Σ|V|ΔσA²] and E[Σ|V|ΔσAB] are
    (s₊ − s₋) times the flux moments E[A²M], E[ABM] of the mean drift at a test input, to
    rounding; on sampled (A, B) the identity holds pointwise."""
    from fieldnn.inference._deep_kink import net_crossings

    rng = np.random.default_rng(3)
    A, B = rng.normal(0.0, 1.3, 10_000), rng.normal(0.0, 0.9, 10_000)
    w_a, _, w_b, _ = arrival_changes(A, B, s_minus, 1.0)
    d_a, d_b = arrival_slopes(A, B, s_minus, 1.0)
    jump = 1.0 - s_minus
    np.testing.assert_allclose(w_a * d_a + w_b * d_b, jump * net_crossings(A, B, s_minus, 1.0),
                               rtol=1e-12, atol=1e-12)  # fmt: skip
    m = _flux_moments(1.3, 0.9, s_minus, 1.0)
    kinks = [(math.atan2(-s * 1.3, 0.9) + k * math.pi) % (2 * math.pi)
             for s in (s_minus, 1.0) for k in (0, 1)]  # fmt: skip
    pieces = []
    for power_a, power_b in ((2, 0), (1, 1)):

        def angular(phi: float, pa: int = power_a, pb: int = power_b) -> float:
            a, b = np.array([1.3 * math.cos(phi)]), np.array([0.9 * math.sin(phi)])
            wa, _, wb, _ = arrival_changes(a, b, s_minus, 1.0)
            da, db = arrival_slopes(a, b, s_minus, 1.0)
            return float(((wa * da + wb * db) * a**pa * b**pb)[0])

        total = integrate.quad(angular, 0, 2 * math.pi, limit=400, epsrel=1e-12, points=kinks)
        pieces.append(3 * math.sqrt(math.pi / 2) * total[0] / (2 * math.pi))
    assert pieces == pytest.approx([jump * m.aa, jump * m.ab], rel=1e-9)


@pytest.mark.parametrize("s_minus", [0.0, -0.5])
def test_arrival_moments_against_sampled_velocities(s_minus: float) -> None:
    """All seven :class:`ArrivalMoments` by the angular rule against 2·10⁶ sampled (A, B),
    within 4 standard errors."""
    rng = np.random.default_rng(9)
    A, B = rng.normal(0.0, 1.1, 2_000_000), rng.normal(0.0, 0.7, 2_000_000)
    w_a, c_a, w_b, c_b = arrival_changes(A, B, s_minus, 1.0)
    d_a, d_b = arrival_slopes(A, B, s_minus, 1.0)
    samples = sum(
        np.array([w * c * c, w * c * d * A * A, w * c * d * A * B, w * d * d * A**4,
                  w * d * d * A**3 * B, w * d * d * A * A * B * B, w * d * d * A * A])
        for w, c, d in ((w_a, c_a, d_a), (w_b, c_b, d_b))
    )  # fmt: skip
    moments = np.array(arrival_moments(1.1, 0.7, s_minus, 1.0))
    errors = samples.std(axis=1) / math.sqrt(A.size)
    assert np.all(np.abs(samples.mean(axis=1) - moments) < 4 * errors)


def test_lag_moments() -> None:
    """J₀₀ − 2ΘJ₀₁ + Θ²J₁₁ is the lag weight at x (to 1e-10); at t = ∞, I₀ = e^{−Θs}/Θ and
    I₁ = e^{−Θs}/Θ² give J_ab = 1/(3Θ^{3+a+b}); as Θt → 0, J₀₀ → t³/3, J₀₁ → t⁴/8,
    J₁₁ → t⁵/20 (I₀ → t − s, I₁ → (t − s)²/2)."""
    for theta, t in ((6.15, 0.5), (1.0, 3.0)):
        j00, j01, j11 = lag_moments(theta, t)
        combined = j00 - 2 * theta * j01 + theta**2 * j11
        assert combined == pytest.approx(lag_squares(theta, t), rel=1e-10)
    theta = 2.5
    expected = [1 / (3 * theta**k) for k in (3, 4, 5)]
    assert lag_moments(theta, math.inf) == pytest.approx(expected, rel=1e-10)
    assert lag_moments(1e-9, 0.1) == pytest.approx([0.1**3 / 3, 0.1**4 / 8, 0.1**5 / 20], 1e-6)


def test_probe_scatter_against_sampled_units() -> None:
    """The regression algebra of the scatter at x′ against units sampled from the joint
    Gaussians directly: (g, g′) and (ξ, ξ′) with given covariances, S′ = s± with probability
    ½, (A, B) = (Θ_ℓg, ξ); per unit the squared output change c′²J₀₀ − 2Θ′cc′J₀₁ + Θ′²c²J₁₁
    weighted by |V| (units that reach the kink at x), and (s₊ − s₋)²g′²|v′|³J₀₀ with
    v′ = Θ_ℓ(x′, x)Sg + η (those that cross at x′), each within 4 standard errors of
    :func:`probe_scatter` (2·10⁶ units)."""
    s_minus, s_plus, th, th_q, G, G_q, G_xq = -0.3, 1.0, 1.7, 0.6, 1.4, 1.1, 0.5
    Xi, Xi_q, cov_xi, var_eta, theta_out, lags = 0.8, 0.9, 0.35, 0.6, 0.9, (0.7, 0.2, 0.1)
    rng = np.random.default_rng(11)
    size = 2_000_000
    g, g_q = rng.multivariate_normal([0, 0], [[G, G_xq], [G_xq, G_q]], size).T
    xi, xi_q = rng.multivariate_normal([0, 0], [[Xi, cov_xi], [cov_xi, Xi_q]], size).T
    s_q = np.where(rng.random(size) < 0.5, s_plus, s_minus)
    A, B = th * g, xi
    w_a, c_a, w_b, c_b = arrival_changes(A, B, s_minus, s_plus)
    d_a, d_b = arrival_slopes(A, B, s_minus, s_plus)
    j00, j01, j11 = lags
    reaching = 0.0
    for w, c, d in ((w_a, c_a, d_a), (w_b, c_b, d_b)):
        c_q = d * A * (th_q * s_q * g_q + xi_q)
        reaching = reaching + w * (c_q**2 * j00 - 2 * theta_out * c * c_q * j01
                                   + theta_out**2 * c * c * j11)  # fmt: skip
    s = np.where(rng.random(size) < 0.5, s_plus, s_minus)
    eta = rng.normal(0.0, math.sqrt(var_eta), size)
    crossing = (s_plus - s_minus) ** 2 * g_q**2 * np.abs(th_q * s * g + eta) ** 3 * j00
    density, density_q = 0.4, 0.3
    samples = density / th**2 * reaching + density_q * crossing
    rho = cov_xi / Xi
    values = (th_q, G_xq / G, G_q - G_xq**2 / G, rho, Xi_q - rho**2 * Xi, var_eta, density_q)
    probe = ProbeCovariances(*(np.array([v]) for v in values))
    m = arrival_moments(th * math.sqrt(G), math.sqrt(Xi), s_minus, s_plus)
    value = probe_scatter(
        m, probe, theta_layer=th, signal=G, density=density, slopes=(s_minus, s_plus),
        theta_out=np.array([theta_out]), lags=lags,
    )  # fmt: skip
    err = samples.std() / math.sqrt(size)
    assert abs(samples.mean() - value[0]) < 4 * err and err < 0.01 * value[0]


def test_one_hidden_layer_test_inputs_are_the_one_layer_derivation() -> None:
    """[1, n, 1] at x′ = −1, 0.5, 2: the scatter is the one-layer derivation's stopping units at
    x plus its units crossing at x′ (tests/inference/test_relu_training_drift.py, each written
    from v, h, s of the one-layer net), to 1e-9, the same n^{3/2}-scaled at n = 64 and 1024; at
    t = ∞ only x has none (z(x) = y in every network)."""
    from .test_relu_training_drift import T_OUT, _scatter_coefficients

    x_test = np.array([-1.0, 0.5, 2.0])
    stopping, crossing, _ = _scatter_coefficients(x_test)
    points = np.concatenate([[X], x_test])[:, None]
    for n in (64, 1024):
        one = fnn.MLP("relu", [1, n, 1], C_W=C_W, C_b=C_B)
        e3 = folded_moments(-Y, float(one.kernel([[X]])[0, 0]))[2]
        r = fnn.kinked_ntk_change(one, [[X]], [Y], points, t=T_OUT)
        np.testing.assert_allclose(r.scatter[0] / e3, stopping + crossing, rtol=1e-9)
    at_infinity = fnn.kinked_ntk_change(one, [[X]], [Y], points).scatter[0]
    assert at_infinity[0] == 0.0 and np.all(at_infinity[1:] > 0.0)
