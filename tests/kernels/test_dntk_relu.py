"""dNTK statistics P, Q of relu and leaky relu (σ'' = Δδ): the moments against Price's theorem
and conditional Monte Carlo, the recursion against sampled networks (exact at two layers, to
O(1/n) deeper), and the refusal of the ddNTK means R, S, T, U."""

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.inference._network import MLPSpec, init_parameters
from fieldnn.kernels import dntk_statistics
from fieldnn.kernels._dntk_kinked import pair_moments, sigma2_sigma1_sigma1_sigma
from fieldnn.kernels.activations import get_activation, leaky_relu
from fieldnn.kernels.gaussian import pair_values
from tests.kernels.test_dntk import sampled_dntk

SLOPES = [(0.0, 1.0), (0.2, 1.0)]


def _kernel(X, C_W=2.0, C_b=0.1):
    return C_b + C_W * X @ X.T / X.shape[1]


# --------------------------------------------------------------------------------------------
# the moments
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("slopes", SLOPES)
def test_pair_moments_obey_price_theorem(slopes):
    # ∂⟨f_x g_y⟩/∂K_xy = ⟨f'_x g'_y⟩ (x ≠ y): differences of ⟨σ'σ'⟩ and ⟨σ''σ⟩ in K_xy give
    # ⟨σ''σ''⟩ and ⟨σ'''σ'⟩; ⟨σ'σ'⟩ itself is the registry's arc-cosine closed form
    K = _kernel(np.array([[0.5, 0.2], [-1.0, 0.4], [0.3, -0.8]]))
    pm = pair_moments(K, slopes)
    act = get_activation("relu") if slopes[0] == 0 else leaky_relu(slopes[0])
    d = np.diag(K)
    ref = pair_values(act, d[:, None], d[None, :], K, derivatives=(1, 1))
    np.testing.assert_allclose(pm[1, 1], ref, rtol=1e-12)
    h = 1e-6
    for x, y in [(0, 1), (1, 2), (2, 0)]:
        up, dn = K.copy(), K.copy()
        up[x, y] = up[y, x] = K[x, y] + h
        dn[x, y] = dn[y, x] = K[x, y] - h
        pu, pd = pair_moments(up, slopes), pair_moments(dn, slopes)
        for (a, b), deriv in [((1, 1), (2, 2)), ((2, 0), (3, 1))]:
            fd = (pu[a, b][x, y] - pd[a, b][x, y]) / (2 * h)
            assert abs(pm[deriv][x, y]) > 1e-3
            np.testing.assert_allclose(pm[deriv][x, y], fd, rtol=1e-6)
    # at x = y only their sum enters, ⟨(σ''σ')'⟩ = (s₊² − s₋²)/2 ⟨δ'⟩ = 0
    assert np.all(np.diag(pm[2, 2]) == 0.0) and np.all(np.diag(pm[3, 1]) == 0.0)


def _conditional_mc(K, slopes, n_samples, rng):
    """N_abcd = Δ p_a(0) ⟨σ'_bσ'_cσ_d | z_a = 0±⟩ by sampling the conditional Gaussian at
    z_a = ±1e-9 (weight 1/2 each): honest σ, σ' evaluated at the samples, no Stein algebra."""
    s0, s1 = slopes
    D = s1 - s0
    P = K.shape[0]
    out = np.zeros((P,) * 4)
    err2 = np.zeros((P,) * 4)
    for a in range(P):
        C = K - np.outer(K[:, a], K[a]) / K[a, a]
        w, v = np.linalg.eigh(C)
        L = v * np.sqrt(np.clip(w, 0.0, None))
        u = rng.standard_normal((n_samples, P)) @ L.T
        for side in (1e-9, -1e-9):
            z = u + side * K[a] / K[a, a]
            sig = np.where(z > 0, s1, s0) * z
            dsig = np.where(z > 0, s1, s0)
            f = np.einsum("rb,rc,rd->rbcd", dsig, dsig, sig)
            out[a] += 0.5 * f.mean(0)
            err2[a] += 0.25 * f.var(0) / n_samples
        scale = D / np.sqrt(2 * np.pi * K[a, a])
        out[a] *= scale
        err2[a] *= scale**2
    return out, np.sqrt(err2)


@pytest.mark.parametrize("slopes", SLOPES)
@pytest.mark.parametrize(
    "X",
    [np.array([[0.5], [-1.0], [0.3]]), np.array([[0.5, 0.2], [-1.0, 0.4], [0.3, -0.8]])],
    ids=["rank2", "rank3"],
)
def test_sigma2_moment_against_conditional_monte_carlo(slopes, X):
    # the 1-d inputs with a bias give a rank-2 kernel: collinear slots after conditioning
    K = _kernel(X)
    N = sigma2_sigma1_sigma1_sigma(K, slopes)
    mc, err = _conditional_mc(K, slopes, 200_000, np.random.default_rng(7))
    assert np.max(np.abs(N)) > 0.1
    # entries with σ(z_d) pinned at 0 (d = a) have MC values ~1e-9 and no spread
    pulls = np.abs(N - mc) / (err + 1e-8)
    assert np.max(pulls) < 4.5
    assert np.median(np.abs(N) / (err + 1e-8)) > 100  # the check resolves the moment


def test_kink_semantics_is_the_base_point_not_the_smooth_limit():
    # ⟨σ''_aσ'_aσ'_aσ_d⟩: the tangent σ' at the base point on either side of the kink,
    # Δ p_a(0) (σ'(0+)² + σ'(0−)²)/2 ⟨σ_d⟩_a with ⟨σ_d⟩_a = Δ√(v/2π), v = Var(z_d | z_a = 0);
    # the smooth-σ limit would weight ∫σ''σ'²/Δ = (s₊³ − s₋³)/(3Δ) instead (1/3 for relu)
    K = _kernel(np.array([[0.5], [-1.0]]))
    v = K[1, 1] - K[0, 1] ** 2 / K[0, 0]
    for s0 in (0.0, 0.2):
        D = 1.0 - s0
        N = sigma2_sigma1_sigma1_sigma(K, (s0, 1.0))
        base = D / np.sqrt(2 * np.pi * K[0, 0]) * (1 + s0**2) / 2 * D * np.sqrt(v / (2 * np.pi))
        assert N[0, 0, 0, 1] == pytest.approx(base, rel=1e-12)
        assert N[0, 0, 0, 0] == 0.0  # σ(z_a) = σ(0) = 0


# --------------------------------------------------------------------------------------------
# the recursion
# --------------------------------------------------------------------------------------------
def test_smooth_activation_is_unchanged_without_the_ddntk():
    X = np.array([[0.5], [-1.0]])
    kw = dict(C_W=1.5, C_b=0.1, widths=[1, 30, 30, 2])
    full = dntk_statistics("tanh", X, **kw)
    part = dntk_statistics("tanh", X, ddntk=False, **kw)
    assert part.R is None and part.S is None and part.T is None and part.U is None
    for a, b in zip(full.P + full.Q, part.P + part.Q, strict=True):
        np.testing.assert_array_equal(a, b)


def test_leaky_relu_tends_to_the_linear_net():
    # slope a → 1: σ'' = (1 − a)δ → 0 and the kernels tend to the linear net's, so P → 0 and
    # Q → Q(linear) linearly in 1 − a (the differences fall tenfold from a = 0.99 to 0.999);
    # P ∝ Δ² (σ'' = Δδ times ⟨σ_d⟩ given z_a = 0, whose linear part has mean zero)
    X = np.array([[0.5], [-1.0]])
    kw = dict(C_W=1.0, C_b=0.1, widths=[1, 30, 30, 30, 1], ddntk=False)
    lin = dntk_statistics("linear", X, **kw)
    dq, dp = [], []
    for a in (0.99, 0.999):
        s = dntk_statistics(leaky_relu(a), X, **kw)
        dq.append(np.max(np.abs(s.Q[-1] - lin.Q[-1])))
        dp.append(np.max(np.abs(s.P[-1])))
    assert dq[0] < 0.1 * np.max(np.abs(lin.Q[-1]))
    assert 7.0 < dq[0] / dq[1] < 13.0
    assert 70.0 < dp[0] / dp[1] < 130.0


def test_ddntk_of_a_kink_is_refused_with_what_is_missing():
    X = np.array([[0.5], [-1.0]])
    with pytest.raises(UnsupportedError, match=r"R, S, T, U.*δ\(z_a\)²"):
        dntk_statistics("relu", X, C_W=2.0, C_b=0.1, widths=[1, 8, 8, 1])
    with pytest.raises(UnsupportedError, match=r"kink.*O\(1/√n\)"):  # before any statistics
        fnn.finite_width_prediction(
            fnn.MLP("relu", [1, 16, 16, 1], C_W=2.0, C_b=0.1), X, [0.1, 0.2], np.zeros((1, 1))
        )


# --------------------------------------------------------------------------------------------
# sampled networks
# --------------------------------------------------------------------------------------------
def sampled_PQ_eps(act, widths, X, C_W, C_b, n_nets, eps, *, chunk=2000, seed=0):
    """Per-network n·dĤ_{i0i1i1}z_{i0} (P) and n·dĤ_{i0i0i2}z_{i2} (Q) of the same networks
    at each finite-difference step in ``eps`` (averaged over ordered pairs of distinct
    outputs): {eps: (P samples, Q samples)}, each (n_nets, P, P, P, P)."""
    spec = MLPSpec.of(fnn.MLP(act, widths=widths, C_W=C_W, C_b=C_b))
    lb, lw = spec.learning_rates(1.0, 1.0)
    rng = np.random.default_rng(seed)
    d = widths[-1]
    pairs = [(i, j) for i in range(d) for j in range(d) if i != j]
    out = {e: ([], []) for e in eps}
    for _ in range(0, n_nets, chunk):
        params = init_parameters(spec, chunk, rng)
        for e in eps:
            dH, z = sampled_dntk(spec, params, X, lb, lw, eps=e)
            out[e][0].append(
                np.mean(
                    [
                        np.einsum("rabc,rd->rabcd", dH[:, i, :, j, :, j], z[:, :, i])
                        for i, j in pairs
                    ],
                    0,
                )
            )
            out[e][1].append(
                np.mean(
                    [
                        np.einsum("rabc,rd->rabcd", dH[:, i, :, i, :, j], z[:, :, j])
                        for i, j in pairs
                    ],
                    0,
                )
            )
    n = widths[-2]
    return {e: tuple(n * np.concatenate(x) for x in out[e]) for e in eps}


def _mean_err(x):
    return x.mean(0), x.std(0, ddof=1) / np.sqrt(len(x))


@pytest.mark.slow
@pytest.mark.parametrize(("s0", "separation"), [(0.0, 4.0), (0.2, 2.5)])
def test_two_layer_nets_are_exact_at_any_width(s0, separation):
    # one hidden layer: its preactivations are exactly Gaussian and its NTK deterministic, so
    # P = C_W²Θ_abΘ_acN_abcd and Q = λ_WC_WΘ_ac⟨σ'_aσ_bσ'_cσ_d⟩ + (the same) hold at any n;
    # n = 16, 100 000 networks, 3 inputs on a line (rank-2 kernel: collinear slots after the
    # kink). Kink crossings make the estimator's variance ∝ 1/ε at bias O(ε²): the steps
    # ε = 0.01 and 0.005 agree (the δ-inclusive statistic), and match the recursion.
    a = get_activation("relu") if s0 == 0 else leaky_relu(s0)
    X = np.array([[0.5], [-1.0], [0.3]])
    widths = [1, 16, 2]
    th = dntk_statistics(a, X, C_W=2.0, C_b=0.1, widths=widths, ddntk=False)
    eps = (0.01, 0.005)
    samples = sampled_PQ_eps(a, widths, X, 2.0, 0.1, 100_000, eps, seed=3)
    # the smooth-σ limit would weight ⟨σ''_aσ'_aσ'_aσ_d⟩ by (s₊³ − s₋³)/(3Δ) instead of
    # (s₊² + s₋²)/2: entries (a, a, a, d) of P scale, Q's equal local term shifts
    ratio = (1 - s0**3) / (3 * (1 - s0)) / ((1 + s0**2) / 2)
    mask = np.zeros(th.P[-1].shape, dtype=bool)
    for i in range(X.shape[0]):
        mask[i, i, i, :] = True
    mask &= np.abs(th.P[-1]) > 1e-12
    smooth = (th.P[-1] * ratio, th.Q[-1] - (1 - ratio) * th.P[-1])
    for k, T in enumerate((th.P[-1], th.Q[-1])):
        m, e = _mean_err(samples[eps[0]][k] - samples[eps[1]][k])
        assert np.max(np.abs(m) / (e + 1e-12)) < 4.0
        m, e = _mean_err(samples[eps[0]][k])
        assert np.max(np.abs(m - T) / e) < 4.0
        assert np.max(np.abs(T) / e) > 8.0  # the largest entries are resolved
        # projected on the entries where the two kink conventions differ
        x = samples[eps[0]][k][:, mask].mean(1)
        xm, xe = _mean_err(x)
        assert abs(xm - T[mask].mean()) / xe < 4.0
        assert abs(xm - smooth[k][mask].mean()) / xe > separation  # measured 5.1, 3.1


@pytest.mark.slow
@pytest.mark.parametrize("act", ["relu", "leaky"])
def test_sampled_three_layer_nets(act):
    # [1, 64, 64, 2]: layer 3 uses B, F and P, Q of layer 2 (the r terms); 16 000 networks
    a = get_activation("relu") if act == "relu" else leaky_relu(0.2)
    X = np.array([[0.5], [-1.0]])
    widths = [1, 64, 64, 2]
    th = dntk_statistics(a, X, C_W=2.0, C_b=0.1, widths=widths, ddntk=False)
    samples = sampled_PQ_eps(a, widths, X, 2.0, 0.1, 16_000, (0.016,), seed=4)[0.016]
    for x, T in zip(samples, (th.P[-1], th.Q[-1]), strict=True):
        m, e = _mean_err(x)
        assert np.max(np.abs(m - T) / e) < 4.0
        assert np.max(np.abs(T) / e) > 5.0  # measured 6.7 (relu P), the largest resolved
