"""The last hidden kernel during training: the per-network measurement of train_replicas, the
dG / ddG statistics against their definitions on sampled networks (finite differences of the
hidden kernel along tangent directions, no forward equation), and hidden_kernel_change against
trained replicas (slow)."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import ArgumentError, FieldnnError, ShapeError, UnsupportedError
from fieldnn.inference import train_replicas
from fieldnn.inference._hidden_training import _split_statistics
from fieldnn.inference._network import MLPSpec, Parameters, forward, gradients, init_parameters
from fieldnn.inference._training import _hidden_kernel

XA = np.linspace(-1.5, 1.5, 4)[:, None]
Y = np.sin(2 * XA[:, 0])
XB = np.array([[-1.0], [0.25], [1.0]])


def test_train_replicas_records_the_hidden_kernel():
    mlp = fnn.MLP("tanh", [1, 16, 12, 1], C_W=1.2, C_b=0.1)
    kw = {"steps": 5, "learning_rate": 0.05, "rng": 3, "X_test": XB}
    plain = train_replicas(mlp, XA, Y, None, 6, **kw)
    ens = train_replicas(mlp, XA, Y, None, 6, hidden_kernel=True, **kw)
    assert plain.prior_hidden_kernel is None and plain.posterior_hidden_kernel is None
    np.testing.assert_array_equal(plain.posterior, ens.posterior)  # default values unchanged
    # the prior kernel from the same draws, by hand: σ(z^(2)) of W2 σ(W1 x + b1) + b2
    gen = np.random.default_rng(np.random.SeedSequence(3))
    spec = MLPSpec.of(mlp)
    gen.standard_normal((6, 4, 1))  # the replica draws come first (no C_Y: zero noise)
    p = init_parameters(spec, 6, gen)
    h1 = np.tanh(XB[None] @ np.swapaxes(p.W[0], 1, 2) + p.b[0][:, None])
    h2 = np.tanh(h1 @ np.swapaxes(p.W[1], 1, 2) + p.b[1][:, None])
    np.testing.assert_allclose(ens.prior_hidden_kernel, h2 @ np.swapaxes(h2, 1, 2) / 12)
    assert ens.posterior_hidden_kernel.shape == (6, 3, 3)
    assert np.max(np.abs(ens.posterior_hidden_kernel - ens.prior_hidden_kernel)) > 1e-4
    with pytest.raises(ArgumentError, match="hidden_kernel"):
        train_replicas(
            fnn.MLP("tanh", [1, 1], C_W=1.0, C_b=0.0),
            XA,
            Y,
            None,
            2,
            steps=1,
            learning_rate=0.1,
            hidden_kernel=True,
        )


# --------------------------------------------------------------------------------------------
# dG and ddG of sampled networks, by their definitions
# --------------------------------------------------------------------------------------------
def _shifted(params: Parameters, v: tuple, s: float) -> Parameters:
    return Parameters(
        [w + s * dw for w, dw in zip(params.W, v[0], strict=True)],
        [b + s * db for b, db in zip(params.b, v[1], strict=True)],
    )


def _tangent(spec: MLPSpec, params: Parameters, x: np.ndarray, lb, lw) -> tuple:
    """The direction λ_μ ∂z(x)/∂θ_μ of each network (one output), by backpropagation."""
    z = forward(spec, params, x)[0][-1]
    gW, gb, _ = gradients(spec, params, x, z - 1.0)  # residual 1: gradient of z itself
    L = spec.depth
    return [lw[k] / spec.widths[k] * gW[k] for k in range(L)], [lb[k] * gb[k] for k in range(L)]


def _dG(spec, params, XA, XB, a, lb, lw, s=1e-3, layer=None):
    """dG_a = Σ_μ λ_μ ∂_μz_a ∂_μĜ' (R, Q, Q): central difference of Ĝ' (of hidden layer
    ``layer``, by default the last) along the tangent."""
    v = _tangent(spec, params, XA[a : a + 1], lb, lw)
    up, down = _shifted(params, v, s), _shifted(params, v, -s)
    return (_hidden_kernel(spec, up, XB, layer) - _hidden_kernel(spec, down, XB, layer)) / (2 * s)


def _sampled(mlp, XA, XB, n_nets, seed, lam=(1.0, 1.0), batch=250, s=1e-3, layer=None):
    """Per network: dG_a z_b, ddG_ab = d(dG_a)/dθ·λ∂z_b (tangent recomputed at the shifted
    point) and Y_ab (the mixed second difference of Ĝ' along two fixed tangents), each
    (R, Q, Q, P, P); Ĝ' of hidden layer ``layer`` (default the last)."""
    spec = MLPSpec.of(mlp)
    lb, lw = spec.learning_rates(*lam)
    gen = np.random.default_rng(seed)
    P, Q = XA.shape[0], XB.shape[0]
    out = {"dGz": [], "ddG": [], "Y": []}
    for _ in range(n_nets // batch):
        p = init_parameters(spec, batch, gen)
        z = forward(spec, p, XA)[0][-1][..., 0]
        d = np.stack([_dG(spec, p, XA, XB, a, lb, lw, layer=layer) for a in range(P)], -1)
        out["dGz"].append(d[..., :, None] * z[:, None, None, None, :])
        dd, Yt = np.zeros((2, batch, Q, Q, P, P))
        vs = [_tangent(spec, p, XA[b : b + 1], lb, lw) for b in range(P)]
        for b in range(P):
            up, down = _shifted(p, vs[b], s), _shifted(p, vs[b], -s)
            for a in range(P):
                dd[..., a, b] = (
                    _dG(spec, up, XA, XB, a, lb, lw, layer=layer)
                    - _dG(spec, down, XA, XB, a, lb, lw, layer=layer)
                ) / (2 * s)

                va, vb = vs[a], vs[b]
                G = [
                    _hidden_kernel(spec, _shifted(_shifted(p, va, sa), vb, sb), XB, layer)
                    for sa, sb in ((s, s), (s, -s), (-s, s), (-s, -s))
                ]
                Yt[..., a, b] = (G[0] - G[1] - G[2] + G[3]) / (4 * s * s)
        out["ddG"].append(dd)
        out["Y"].append(Yt)
    return {k: np.concatenate(v) for k, v in out.items()}


def _pieces(mlp, XA, XB, lam=(1.0, 1.0)) -> dict:
    """n E[dG z], and the four pieces of n E[ddG] = n E[X] + n E[Y], as (Q, Q, P, P)."""
    s = _split_statistics(mlp, np.concatenate([XA, XB]), lam[1], lam[0])
    P = XA.shape[0]
    a, b = slice(0, P), slice(P, None)

    def sym_front(T):  # T_{δ1δ2αβ} + T_{δ2δ1αβ}
        return T[b, b, a, a] + T[b, b, a, a].transpose(1, 0, 2, 3)

    def sym_back(T):  # T_{αβδ1δ2} + T_{αβδ2δ1}, as (δ1, δ2, α, β)
        t = T[a, a, b, b] + T[a, a, b, b].transpose(0, 1, 3, 2)
        return t.transpose(2, 3, 0, 1)

    return {
        "dGz": sym_front(s["QG"]),
        "X: λ_W Q^G/C_W": s["lambda_W"] / s["C_W"] * sym_front(s["QG"]),
        "X: Q^C/C_W": sym_back(s["QC_over_CW"]),
        "Y: R^G": sym_front(s["RG"]),
        "Y: S^G": sym_back(s["SG"]),
    }


def _check_statistics(mlp, n_nets, seed, lam=(1.0, 1.0)):
    """Pulls of the sampled n·E[dG z], n·E[ddG], n·E[Y] against the formulas (all entries
    below 4), each resolved (largest |theory|/stderr ≥ 5), and every piece of ddG needed:
    without any one of them the sampled means reject the formula at > 5σ."""
    XA2, XB2 = np.array([[0.5], [-1.0]]), np.array([[0.3], [-0.7]])
    n = mlp.widths[-2]
    got = _sampled(mlp, XA2, XB2, n_nets, seed, lam)
    pc = _pieces(mlp, XA2, XB2, lam)
    X = sum(v for k, v in pc.items() if k.startswith("X"))
    Yp = sum(v for k, v in pc.items() if k.startswith("Y"))
    report = {}
    for key, theory in (("dGz", pc["dGz"]), ("ddG", X + Yp), ("Y", Yp)):
        x = n * got[key]
        mu, se = x.mean(0), x.std(0, ddof=1) / np.sqrt(x.shape[0])
        pull = np.abs(mu - theory) / se
        report[key] = (float(pull.max()), float(np.max(np.abs(theory) / se)))
        assert pull.max() < 4.0, (key, pull)
        assert np.max(np.abs(theory) / se) > 5.0, key
        if key == "ddG":
            for name, piece in pc.items():
                if name != "dGz":
                    assert np.max(np.abs(mu - theory + piece) / se) > 5.0, name
    return report


def test_dG_statistics_against_sampled_networks():
    # erf [1, 64, 64, 1] far from criticality, 500 networks (the slow test: tanh, 2000, n = 256)
    rep = _check_statistics(fnn.MLP("erf", [1, 64, 64, 1], C_W=1.5, C_b=0.1), 500, 11)
    assert set(rep) == {"dGz", "ddG", "Y"}


def test_dG_statistics_unequal_widths_and_per_layer_rates():
    # r = n_2/n_1 = 80/48, and C_W^(L), λ_W^(L), λ_b ≠ 1 (the λ_W^(L)- and C_W^(L)-split)
    mlp = fnn.MLP("erf", [1, 48, 80, 1], C_W=[1.2, 1.6, 0.7], C_b=[0.2, 0.1, 0.3])
    _check_statistics(mlp, 500, 21, lam=([0.5, 1.0, 2.0], [1.5, 0.8, 2.5]))


@pytest.mark.slow
@pytest.mark.parametrize("n", [64, 256])
def test_dG_statistics_against_sampled_networks_wide(n):
    rep = _check_statistics(fnn.MLP("tanh", [1, n, n, 1], C_W=1.5, C_b=0.1), 2000, 12 + n)
    print(n, rep)


def _layer_theory(mlp, XA, XB, layer, lam, chained=True):
    """n_ℓ E[dG z], n_ℓ E[ddG], n_ℓ E[Y] of hidden layer ``layer`` as (Q, Q, P, P) (one output);
    ``chained=False``: the cut net's own statistics, without the maps of the layers above."""
    from fieldnn.inference._hidden_training import _cut_at, _hidden_statistics
    from fieldnn.inference._upper_maps import UpperMaps

    cut, maps = _cut_at(mlp, XA, layer, lam[1], lam[0])
    s = _split_statistics(cut["net"], np.concatenate([XA, XB]), cut["lambda_W"], cut["lambda_b"])
    if not chained:
        P, zero = XA.shape[0], np.zeros((XA.shape[0],) * 2)
        e3 = s["lambda_W"] / s["C_W"]
        maps = UpperMaps(D1=zero, D3=np.ones((P, P)), E1=zero, E3=np.full((P, P), e3))
    Q, P = XB.shape[0], XA.shape[0]
    out = _hidden_statistics(s, maps, P, Q, 1)
    return dict(zip(("dGz", "ddG", "Y"), (t.reshape(Q, Q, P, P) for t in out), strict=True))


@pytest.mark.parametrize(
    "widths, layer", [([1, 48, 48, 1], 1), ([1, 40, 40, 40, 1], 1), ([1, 40, 40, 40, 1], 2)]
)
def test_earlier_layer_statistics_against_sampled_networks(widths, layer):
    """Hidden layer ℓ < L − 1: n_ℓ·E[dG z], n_ℓ·E[ddG], n_ℓ·E[Y] of 500 sampled erf nets (finite
    differences along tangents) against the cut net's pieces chained through the maps of the
    layers above: pulls below 4, each resolved (> 5σ), and the unchained pieces rejected
    (> 5σ for E[dG z] and E[ddG])."""
    XA2, XB2 = np.array([[0.5], [-1.0]]), np.array([[0.3], [-0.7]])
    lam = ([0.5, 1.0, 2.0, 0.8][: len(widths) - 1], [1.5, 0.8, 2.5, 1.1][: len(widths) - 1])
    mlp = fnn.MLP("erf", widths, C_W=[1.2, 1.6, 0.9, 1.4][: len(widths) - 1], C_b=0.2)
    got = _sampled(mlp, XA2, XB2, 500, 31 + layer, lam, layer=layer)
    theory = _layer_theory(mlp, XA2, XB2, layer, lam)
    unchained = _layer_theory(mlp, XA2, XB2, layer, lam, chained=False)
    n = widths[layer]
    for key in ("dGz", "ddG", "Y"):
        x = n * got[key]
        mu, se = x.mean(0), x.std(0, ddof=1) / np.sqrt(x.shape[0])
        assert np.max(np.abs(mu - theory[key]) / se) < 4.0, key
        assert np.max(np.abs(theory[key]) / se) > 5.0, key
        if key != "Y":
            assert np.max(np.abs(mu - unchained[key]) / se) > 5.0, key


# --------------------------------------------------------------------------------------------
# hidden_kernel_change
# --------------------------------------------------------------------------------------------
C1, C2, L1, L2 = 1.3, 0.8, 0.9, 1.6  # per-layer C_W and λ_W of a two-layer linear net


def _linear(n: int) -> fnn.MLP:
    return fnn.MLP("linear", [1, n, 1], C_W=[C1, C2], C_b=0.0)


def test_two_layer_linear_closed_form():
    # [1, n, 1] linear, x = 1, no biases: with a = Ĝ' = |w1|²/n, b = |w2|², c = z = w2·w1,
    # gradient flow is ȧ = −(2λ1/n)εc, ċ = −ε(λ1 b + λ2 a); p = λ1 b + λ2 a obeys
    # p dp = (2λ1λ2/n) d(c²), so p(∞)² − p(0)² = (4λ1λ2/n)(y² − c0²) and Δa = Δp/(2λ2):
    # E Δa = λ1 (E y² − K)/(n Θ) + O(1/n²), Θ = λ1 C2 + λ2 C1, K = C1 C2 — the first-order
    # part alone is −2λ1K/(nΘ), so every piece of ddG (λ_W Q^G/C_W and S^G here) is needed.
    y, s2 = 1.5, 0.3
    theta = L1 * C2 + L2 * C1
    for n, CY in ((10, None), (1000, [[s2]])):
        r = fnn.hidden_kernel_change(
            _linear(n), [[1.0]], [y], [[1.0], [-0.5]], lambda_W=[L1, L2], lambda_b=0.0, C_Y=CY
        )
        noise = 0.0 if CY is None else s2
        exact = L1 * (y**2 + noise - C1 * C2) / theta
        # Ĝ' is quadratic in x (bias-free linear net): entries exact·[[1, −½], [−½, ¼]]
        np.testing.assert_allclose(
            r.scaled_change, exact * np.outer([1.0, -0.5], [1.0, -0.5]), rtol=1e-12
        )
        np.testing.assert_allclose(r.change * n, r.scaled_change, rtol=1e-15)
        np.testing.assert_allclose(n * r.first_order[0, 0], -2 * L1 * C1 * C2 / theta, rtol=1e-12)


@pytest.mark.parametrize("L", [2, 3, 4, 5])
def test_deep_linear_closed_form(L):
    # C_W = λ_W = 1, C_b = λ_b = 0, x = 1, equal widths: K = 1, Θ = L, Q^(ℓ), B^(ℓ) in closed
    # form give n E[dG z] = 2Q^G = (L−1)L and n E[ddG] = (L−1)L + (L−1)L(L−2)/3 (X)
    # + 2(L−1)² + (L−2)(L−1)(2L−3)/3 (Y, R^G = 0) = (L−1)L², so at t = ∞ (flow)
    # n E ΔĜ' = −(L−1) + (L−1)L²(1 + y²)/(2L²) = (L−1)(y² − 1)/2
    y = 1.5
    mlp = fnn.MLP("linear", [1] + [50] * (L - 1) + [1], C_W=1.0, C_b=0.0)
    r = fnn.hidden_kernel_change(mlp, [[1.0]], [y], [[1.0]], lambda_b=0.0)
    np.testing.assert_allclose(r.scaled_change[0, 0], (L - 1) * (y**2 - 1) / 2, rtol=1e-12)
    np.testing.assert_allclose(r.width * r.first_order[0, 0], -(L - 1), rtol=1e-12)


def _linear_descent(n, n_nets, eta, steps, y, seed):
    """Exact gradient descent of [1, n, d_out] linear nets (x = 1, no biases, d_out ≤ 2) on the
    invariants a = |w1|²/n, c_i = w2_i·w1, b_ij = w2_i·w2_j (the step maps them into
    themselves); the initial invariants drawn exactly (each w2_i split along w1 and orthogonal
    to it, the orthogonal Gram matrix by Bartlett's decomposition of a Wishart matrix).
    Returns a = Ĝ' before and after, per network."""
    g = np.random.default_rng(seed)
    d = len(y)
    a = C1 * g.chisquare(n, n_nets) / n
    along = g.standard_normal((n_nets, d))
    c = np.sqrt(C2 * a)[:, None] * along
    low = np.zeros((n_nets, d, d))
    for i in range(d):
        low[:, i, i] = np.sqrt(g.chisquare(n - 1 - i, n_nets))
        low[:, i, :i] = g.standard_normal((n_nets, i))
    b = C2 / n * (along[:, :, None] * along[:, None, :] + low @ np.swapaxes(low, 1, 2))
    a0 = a.copy()
    for _ in range(steps):
        e = c - y
        be = np.einsum("rij,rj->ri", b, e)
        ec = np.einsum("ri,ri->r", e, c)
        ee = e[:, :, None] * e[:, None, :]
        ce = e[:, :, None] * c[:, None, :]
        a, b, c = (
            a - 2 * eta * L1 * ec / n + (eta * L1) ** 2 * np.einsum("ri,ri->r", e, be) / n,
            b
            - eta * L2 / n * (ce + np.swapaxes(ce, 1, 2))
            + (eta * L2) ** 2 / n * ee * a[:, None, None],
            c - eta * (L1 * be + L2 * e * a[:, None]) + eta**2 * L1 * L2 / n * e * ec[:, None],
        )
    return a0, a


@pytest.mark.parametrize("y", [[1.5], [1.5, -0.4]])
def test_two_layer_linear_descent_against_the_exact_map(y):
    # 40 steps of η = 0.1 (t = 4, not converged), 2·10⁵ networks at n = 4096, where the
    # O(1/n²) remainder (≈ 1.3/n² in n·Δ for d_out = 1, from n = 256) is below the error bar;
    # d_out = 2 exercises the δ_ii' structure (each output adds its own change)
    mlp = fnn.MLP("linear", [1, 4096, len(y)], C_W=[C1, C2], C_b=0.0)
    r = fnn.hidden_kernel_change(
        mlp, [[1.0]], [y], [[1.0]], lambda_W=[L1, L2], lambda_b=0.0, t=4.0, learning_rate=0.1
    )
    a0, a = _linear_descent(4096, 200_000, 0.1, 40, np.array(y), 5)
    dn = 4096 * (a - a0)
    mu, se = dn.mean(), dn.std(ddof=1) / np.sqrt(len(dn))
    pred = float(r.scaled_change[0, 0])
    assert abs(mu - pred) < 4 * se
    assert abs(mu - float(r.width * r.first_order[0, 0])) > 50 * se  # the O(ε²) part is there
    assert abs(mu) > 20 * se


def test_linear_covariance_moves_at_second_order():
    # the exact descent map of [1, n, 1] linear nets (x = 1, 40 steps of η = 0.1): Var Ĝ'(t) is
    # the initial 2C1²/n (χ²_n) up to O(1/n²) — n²·(Var Ĝ'(t) − Var Ĝ'(0)), paired network by
    # network, is the same at n = 32 and 512 (it would grow 16-fold at O(1/n)) and resolved
    y = 1.5
    scaled = {}
    for n in (32, 512):
        r = fnn.hidden_kernel_change(
            _linear(n), [[1.0]], [y], [[1.0]], lambda_W=[L1, L2], lambda_b=0.0, t=4.0,
            learning_rate=0.1,
        )  # fmt: skip
        np.testing.assert_allclose(n * r.cov[0, 0, 0, 0], 2 * C1**2, rtol=1e-12)
        a0, a = _linear_descent(n, 200_000, 0.1, 40, np.array([y]), 7)
        u = n * n * ((a - a.mean()) ** 2 - (a0 - a0.mean()) ** 2)
        scaled[n] = (u.mean(), u.std(ddof=1) / np.sqrt(len(u)))
        v = n * (a - a.mean()) ** 2
        assert abs(v.mean() - n * r.cov[0, 0, 0, 0]) < 4 * v.std(ddof=1) / np.sqrt(len(v)) + 4 / n
    (m1, s1), (m2, s2) = scaled[32], scaled[512]
    assert abs(m1) > 20 * s1
    assert abs(m1 - m2) < 4 * np.hypot(s1, s2)


def test_covariance_is_the_exact_one_hidden_layer_covariance():
    # [1, n, 1]: the hidden units are independent, z_j(x) = b_j + w_j x, so Cov Ĝ' is exactly
    # n⁻¹(⟨σσσσ⟩ − ⟨σσ⟩⟨σσ⟩) — a 2-d Gauss–Hermite rule over (w, b), no recursion; the last
    # layer's C_W does not enter
    cw1, cb = 1.5, 0.2
    x = XB[:, 0]
    nodes, weights = np.polynomial.hermite_e.hermegauss(320)
    w = np.sqrt(cw1) * nodes[:, None]
    b = np.sqrt(cb) * nodes[None, :]
    W2 = weights[:, None] * weights[None, :] / (2 * np.pi)
    from scipy.special import erf

    s = erf(b[..., None] + w[..., None] * x)  # (320, 320, Q); 80 nodes: 5e-7 off
    two = np.einsum("uv,uva,uvb->ab", W2, s, s)
    four = np.einsum("uv,uva,uvb,uvc,uvd->abcd", W2, s, s, s, s)
    exact = four - np.einsum("ab,cd->abcd", two, two)
    for cw2 in (0.7, 2.0):
        mlp = fnn.MLP("erf", [1, 40, 1], C_W=[cw1, cw2], C_b=cb)
        r = fnn.hidden_kernel_change(mlp, XA, Y, XB, t=2.0)
        np.testing.assert_allclose(40 * r.cov, exact, rtol=1e-11, atol=1e-15)
        np.testing.assert_allclose(r.kernel, two, rtol=1e-9)


def test_descent_tends_to_flow_and_zero_time():
    mlp = fnn.MLP("erf", [1, 32, 32, 1], C_W=1.0, C_b=0.1)
    flow = fnn.hidden_kernel_change(mlp, XA, Y, XB, t=2.0)
    dev = []
    for eta in (0.04, 0.02):
        gd = fnn.hidden_kernel_change(mlp, XA, Y, XB, t=2.0, learning_rate=eta)
        dev.append(np.max(np.abs(gd.change - flow.change)))
    assert 1.7 < dev[0] / dev[1] < 2.3
    np.testing.assert_allclose(flow.change, flow.change.T)
    for eta in (None, 0.05):
        r = fnn.hidden_kernel_change(mlp, XA, Y, XB, t=0.0, learning_rate=eta)
        assert np.max(np.abs(r.change)) == 0.0
    # n·change is width-independent, and the kernel is ⟨σσ⟩ of the last hidden layer
    wide = fnn.hidden_kernel_change(
        fnn.MLP("erf", [1, 64, 64, 1], C_W=1.0, C_b=0.1), XA, Y, XB, t=2.0
    )
    np.testing.assert_allclose(wide.scaled_change, flow.scaled_change, rtol=1e-10)
    np.testing.assert_allclose(0.1 + 1.0 * flow.kernel, mlp.kernel(XB), rtol=1e-12)


@pytest.mark.parametrize("eta", [None, 0.05])
def test_first_order_part_is_the_filtered_trace(eta):
    # the first part through the dynamics helpers equals −n⁻¹ tr(𝒬 g_t(Θ_AA)) per entry,
    # 𝒬 = n E[dG z_Aᵀ] and g_t the training filter (matrix function, no helpers); two
    # outputs, so the δ_ii' lift is exercised
    from fieldnn.inference._hidden_training import _hidden_statistics
    from fieldnn.inference._spectral import TrainingFilter
    from fieldnn.inference._upper_maps import UpperMaps

    mlp = fnn.MLP("erf", [1, 24, 24, 2], C_W=1.0, C_b=0.1)
    y2 = np.stack([Y, 0.5 * Y**2], axis=1)
    r = fnn.hidden_kernel_change(mlp, XA, y2, XB, t=3.0, learning_rate=eta, lambda_W=0.8)
    s = _split_statistics(mlp, np.concatenate([XA, XB]), 0.8, 1.0)
    zero = np.zeros((4, 4))
    last = UpperMaps(D1=zero, D3=np.ones((4, 4)), E1=zero, E3=np.full((4, 4), 0.8))
    g1, _, _ = _hidden_statistics(s, last, 4, 3, 2)
    theta = np.kron(np.eye(2), mlp.ntk(XA, lambda_W=0.8, lambda_b=1.0))
    g = TrainingFilter(3.0, eta).matrix(theta)
    expected = -np.einsum("xab,ab->x", g1, g).reshape(3, 3) / 24
    np.testing.assert_allclose(r.first_order, expected, rtol=1e-10, atol=1e-14)


def test_arguments_are_checked():
    mlp = fnn.MLP("erf", [1, 16, 16, 1], C_W=1.0, C_b=0.1)
    with pytest.raises(ArgumentError, match="learning_rate"):
        fnn.hidden_kernel_change(mlp, XA, Y, XB, t=5.0, learning_rate=5.0)
    with pytest.raises(ArgumentError, match="'t'"):
        fnn.hidden_kernel_change(mlp, XA, Y, XB, t=1.01, learning_rate=0.05)
    with pytest.raises(ArgumentError, match="C_Y"):
        fnn.hidden_kernel_change(mlp, XA, Y, XB, C_Y=np.eye(3))
    with pytest.raises(UnsupportedError, match="hidden layer"):
        fnn.hidden_kernel_change(fnn.MLP("erf", [1, 1], C_W=1.0, C_b=0.1), XA, Y, XB)
    with pytest.raises(UnsupportedError, match="kink"):
        fnn.hidden_kernel_change(fnn.MLP("relu", [1, 8, 8, 1], C_W=2.0, C_b=0.1), XA, Y, XB)
    with pytest.raises(ShapeError, match="y_train"):
        fnn.hidden_kernel_change(mlp, XA, Y[:3], XB)
    for bad in (0, 3):
        with pytest.raises(ArgumentError, match="'layer'"):
            fnn.hidden_kernel_change(mlp, XA, Y, XB, layer=bad)
    kw = {"steps": 1, "learning_rate": 0.05}
    with pytest.raises(ArgumentError, match="hidden_layer"):
        train_replicas(mlp, XA, Y, None, 2, hidden_kernel=True, hidden_layer=3, **kw)
    with pytest.raises(ArgumentError, match="hidden_layer"):
        train_replicas(mlp, XA, Y, None, 2, hidden_layer=1, **kw)
    # the first layer's kernel is recorded network by network
    ens = train_replicas(mlp, XA, Y, None, 2, hidden_kernel=True, hidden_layer=1, X_test=XB, **kw)
    gen = np.random.default_rng(np.random.SeedSequence(0))
    gen.standard_normal((2, 4, 1))  # the replica draws come first
    p = init_parameters(MLPSpec.of(mlp), 2, gen)
    h1 = fnn.MLP("erf", [1, 1]).activation(XB[None] @ np.swapaxes(p.W[0], 1, 2) + p.b[0][:, None])
    np.testing.assert_allclose(ens.prior_hidden_kernel, h1 @ np.swapaxes(h1, 1, 2) / 16)
    # several layers of the same networks: stacked on axis 1, in the order asked
    for bad in ((), (1, 3), (1, 1.0)):
        with pytest.raises(FieldnnError, match="hidden_layer"):
            train_replicas(mlp, XA, Y, None, 2, hidden_kernel=True, hidden_layer=bad, **kw)
    both = train_replicas(mlp, XA, Y, None, 2, hidden_kernel=True, hidden_layer=(2, 1), X_test=XB,
                          **kw)  # fmt: skip
    last = train_replicas(mlp, XA, Y, None, 2, hidden_kernel=True, X_test=XB, **kw)
    for k, one in ((0, last), (1, ens)):
        for key in ("prior_hidden_kernel", "posterior_hidden_kernel"):
            np.testing.assert_array_equal(getattr(both, key)[:, k], getattr(one, key))


# --------------------------------------------------------------------------------------------
# against trained replicas
# --------------------------------------------------------------------------------------------
def _trained_kernels(
    n: int, n_nets: int, steps: int, layer: int | None = None, depth: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Ĝ' (of hidden layer ``layer``, default the last) at XB before and after training, per
    network (n_nets, 3, 3): erf [1, n, …, n, 1] with ``depth`` layers, C_W = 1, C_b = 0.1,
    η = 0.05, replicas in batches of 1000 (seeds 100, 101, …)."""
    mlp = fnn.MLP("erf", [1, *[n] * (depth - 1), 1], C_W=1.0, C_b=0.1)
    before, after = [], []
    for k in range(n_nets // 1000):
        e = train_replicas(
            mlp,
            XA,
            Y,
            None,
            1000,
            steps=steps,
            learning_rate=0.05,
            rng=100 + k,
            X_test=XB,
            hidden_kernel=True,
            hidden_layer=layer,
        )
        before.append(e.prior_hidden_kernel)
        after.append(e.posterior_hidden_kernel)
    return np.concatenate(before), np.concatenate(after)


def _trained_change(
    n: int, n_nets: int, steps: int, layer: int | None = None, depth: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Paired per-network change Ĝ'(after) − Ĝ'(before) at XB: mean and standard error."""
    before, after = _trained_kernels(n, n_nets, steps, layer, depth)
    d = after - before
    return d.mean(0), d.std(0, ddof=1) / np.sqrt(len(d))


@pytest.mark.slow
@pytest.mark.parametrize("layer", [None, 1])
def test_against_trained_replicas(layer):
    # erf [1, n, n, 1], C_W = 1, C_b = 0.1, 4 points of sin 2x, η = 0.05, 100 steps (t = 5);
    # 2000 replicas at n = 64 and 256; the last hidden layer's kernel, and the first one's
    iu = np.triu_indices(3)
    res = {}
    for n in (64, 256):
        mu, se = _trained_change(n, 2000, 100, layer=layer)
        mlp = fnn.MLP("erf", [1, n, n, 1], C_W=1.0, C_b=0.1)
        r = fnn.hidden_kernel_change(mlp, XA, Y, XB, t=5.0, learning_rate=0.05, layer=layer)
        res[n] = (mu, se, r)
        pull = ((mu - r.change) / se)[iu]
        print(n, "n·Δ", np.round(n * mu[iu], 4), "±", np.round(n * se[iu], 4))
        print(n, "pred", np.round(r.scaled_change[iu], 4), "pull", np.round(pull, 2))
        print(n, "first-order pull", np.round(((mu - r.first_order) / se)[iu], 2))
        # the change is resolved, and the first-order part alone is rejected
        assert np.max(np.abs(mu / se)) > 10
        assert np.max(np.abs((mu - r.first_order) / se)) > 10
    mu, se, r = res[256]
    assert np.max(np.abs((mu - r.change) / se)) < 4
    # n·Δ is width-independent up to the O(1/n) remainder, which falls from 64 to 256
    rms = {
        n: float(np.sqrt(np.mean((n * m - rr.scaled_change) ** 2))) for n, (m, _, rr) in res.items()
    }
    print("rms of n·(measured − predicted)", rms)
    assert rms[256] < rms[64]


@pytest.mark.slow
def test_covariance_against_trained_replicas():
    # the same problem, 100 steps: Cov Ĝ'(t) = V/n + O(1/n²) with V the initial vertex. The
    # covariance does move during training — paired network by network, the change is
    # resolved at n = 32 — but at O(1/n²): n·ΔCov is a few per cent of n·Cov and falls from
    # n = 32 to 128 (×3.8 in the run that set these bounds), as does the residual of the
    # prediction (×3.2)
    iu = np.triu_indices(3)
    out = {}
    for n, n_nets in ((32, 20_000), (128, 8_000)):
        r = fnn.hidden_kernel_change(
            fnn.MLP("erf", [1, n, n, 1], C_W=1.0, C_b=0.1), XA, Y, XB, t=5.0, learning_rate=0.05
        )
        before, after = (k[:, iu[0], iu[1]] for k in _trained_kernels(n, n_nets, 100))
        b, a = before - before.mean(0), after - after.mean(0)
        prod_b, prod_a = (np.einsum("ri,rj->rij", v, v) for v in (b, a))
        diff = n * (prod_a - prod_b)  # paired: n·ΔCov per network, mean and error
        d_mean, d_se = diff.mean(0), diff.std(0, ddof=1) / np.sqrt(n_nets)
        pred = n * r.cov[iu[0], iu[1]][:, iu[0], iu[1]]
        resid = n * prod_a.mean(0) - pred
        rms = {k: float(np.sqrt(np.mean(v**2))) for k, v in
               (("change", d_mean), ("resid", resid), ("cov", pred))}  # fmt: skip
        print(n, rms, "max |change/se|", np.abs(d_mean / d_se).max())
        out[n] = (rms, np.abs(d_mean / d_se).max())
    (r32, z32), (r128, _) = out[32], out[128]
    assert z32 > 5
    assert r32["change"] < 0.1 * r32["cov"] and r128["change"] < 0.05 * r128["cov"]
    assert r128["change"] < r32["change"] / 2
    assert r128["resid"] < r32["resid"] / 2 and r128["resid"] < 0.05 * r128["cov"]


@pytest.mark.slow
def test_dG_statistics_three_hidden_layers():
    # erf [1, 64, 64, 64, 1]: P, Q, B, F of layer L − 1 = 3 carry their own recursive terms
    rep = _check_statistics(fnn.MLP("erf", [1, 64, 64, 64, 1], C_W=1.5, C_b=0.1), 2000, 31)
    print(rep)
