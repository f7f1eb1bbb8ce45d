"""dNTK statistics P, Q (RYH ch. 11): closed forms for deep linear nets, the sampled dNTK by
mixed second differences of the outputs (checked against the exact dNTK of a two-layer linear
net), and the recursions against sampled networks (pulls in standard errors)."""

import itertools

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.inference._network import (
    MLPSpec,
    Parameters,
    forward,
    init_parameters,
    output_jacobian_factors,
)
from fieldnn.kernels import dntk_statistics


def sampled_dntk(spec, params, X, lb, lw, eps=1e-3):
    """dĤ_{i0i1i2;abc} = Σ λ_μ λ_ν ∂_μ∂_ν z_{i0a} ∂_μ z_{i1b} ∂_ν z_{i2c} of each network,
    (R, d_out, P, d_out, P, d_out, P), by the central mixed second difference of the outputs
    along v_{i1b} = λ ∂z_{i1b} and v_{i2c} (forward passes only); and the outputs."""
    z, h = forward(spec, params, X)
    D = output_jacobian_factors(spec, params, z, h)
    R, P, d_out = z[-1].shape
    layers = range(spec.depth)
    dirs = []  # v_{ib}: (dW, db) per layer
    for i in range(d_out):
        for b in range(P):
            dW = [
                lw[k] / spec.widths[k] * D[k][:, i, b, :, None] * h[k][:, b, None, :]
                for k in layers
            ]
            dirs.append((dW, [lb[k] * D[k][:, i, b, :] for k in layers]))

    def out(s1, v1, s2, v2):
        p = Parameters(
            [W + eps * (s1 * a + s2 * b) for W, a, b in zip(params.W, v1[0], v2[0], strict=True)],
            [c + eps * (s1 * a + s2 * b) for c, a, b in zip(params.b, v1[1], v2[1], strict=True)],
        )
        return forward(spec, p, X)[0][-1]  # (R, P, d_out)

    m = len(dirs)
    hess = np.empty((R, d_out, P, m, m))
    for u in range(m):
        for v in range(u, m):
            d2 = (
                out(1, dirs[u], 1, dirs[v])
                - out(1, dirs[u], -1, dirs[v])
                - out(-1, dirs[u], 1, dirs[v])
                + out(-1, dirs[u], -1, dirs[v])
            ) / (4 * eps**2)
            hess[:, :, :, u, v] = hess[:, :, :, v, u] = np.swapaxes(d2, 1, 2)
    return hess.reshape(R, d_out, P, d_out, P, d_out, P), z[-1]


def sampled_PQ(act, widths, X, C_W, C_b, n_nets, *, lambda_W=1.0, lambda_b=1.0, chunk=500, seed=0):
    """n_{L−1}·E[dĤ_{i0i1i1} z_{i0}] (P) and n_{L−1}·E[dĤ_{i0i0i2} z_{i2}] (Q), i0 ≠ i1, i2,
    averaged over ordered pairs of distinct outputs; means and standard errors over networks."""
    spec = MLPSpec.of(fnn.MLP(act, widths=widths, C_W=C_W, C_b=C_b))
    lb, lw = spec.learning_rates(lambda_b, lambda_W)
    rng = np.random.default_rng(seed)
    d = widths[-1]
    pairs = [(i, j) for i in range(d) for j in range(d) if i != j]
    P_s, Q_s = [], []
    for _ in range(0, n_nets, chunk):
        dH, z = sampled_dntk(spec, init_parameters(spec, chunk, rng), X, lb, lw)
        P_s.append(
            np.mean(
                [np.einsum("rabc,rd->rabcd", dH[:, i, :, j, :, j], z[:, :, i]) for i, j in pairs],
                axis=0,
            )
        )
        Q_s.append(
            np.mean(
                [np.einsum("rabc,rd->rabcd", dH[:, i, :, i, :, j], z[:, :, j]) for i, j in pairs],
                axis=0,
            )
        )
    n = widths[-2]
    out = []
    for x in (np.concatenate(P_s), np.concatenate(Q_s)):
        out.append((n * x.mean(0), n * x.std(0, ddof=1) / np.sqrt(len(x))))
    return out


# --------------------------------------------------------------------------------------------
# deep linear nets
# --------------------------------------------------------------------------------------------
def test_linear_closed_form_every_layer():
    # C_W = λ_W = 1, C_b = λ_b = 0, |x|²/n0 = 1, equal widths: P = 0, Q = (ℓ−1)ℓ(ℓ+1)/6
    s = dntk_statistics(
        "linear",
        np.array([[1.0]]),
        C_W=1.0,
        C_b=0.0,
        widths=[1, 40, 40, 40, 40, 40, 1],
        lambda_W=1.0,
        lambda_b=0.0,
    )
    ell = np.arange(1, 7)
    np.testing.assert_allclose(
        [q[0, 0, 0, 0] for q in s.Q], (ell - 1) * ell * (ell + 1) / 6, rtol=1e-12, atol=1e-12
    )
    assert all(np.all(p == 0.0) for p in s.P)


def test_two_layer_linear_exact_tensors():
    # one hidden layer, any inputs: P = 0, Q_abcd = λ_W C_W Θ_ac K_bd (the exact dNTK of the
    # explicit-network test below, averaged with z)
    X = np.array([[1.0, 0.3], [-0.4, 0.9], [0.2, -0.7]])
    cw, cb, lw, lb = [1.3, 0.7], [0.2, 0.1], [0.8, 1.7], [0.5, 0.3]
    s = dntk_statistics("linear", X, C_W=cw, C_b=cb, widths=[2, 30, 2], lambda_W=lw, lambda_b=lb)
    K1 = cb[0] + cw[0] * X @ X.T / 2
    T1 = lb[0] + lw[0] * X @ X.T / 2
    np.testing.assert_allclose(s.Q[1], lw[1] * cw[1] * np.einsum("ac,bd->abcd", T1, K1), rtol=1e-12)
    assert np.all(s.P[1] == 0.0)


def test_finite_difference_dntk_is_the_exact_two_layer_linear_dntk():
    # z2 = b2 + W2 z1, z1 = b1 + W1 x: the only second derivatives pair W2 with layer 1, so
    # per network dĤ_{i0i1i2;abc} = (λ_W/n)[δ_{i0i1} Θ1_ac (W2 z1_b)_{i2}
    #                                        + δ_{i0i2} Θ1_ab (W2 z1_c)_{i1}]
    X = np.array([[0.8, -0.2], [0.1, 0.6]])
    n, lw, lb = 7, np.array([0.9, 1.4]), np.array([0.3, 0.6])
    spec = MLPSpec.of(fnn.MLP("linear", widths=[2, n, 3], C_W=1.2, C_b=0.2))
    params = init_parameters(spec, 4, np.random.default_rng(3))
    dH, _ = sampled_dntk(spec, params, X, lb, lw)
    z1 = forward(spec, params, X)[0][0]  # (R, P, n)
    Wz = np.einsum("rij,rcj->ric", params.W[1], z1)  # (W2 z1_c)_i
    T1 = lb[0] + lw[0] * X @ X.T / 2
    e = np.eye(3)
    exact = (lw[1] / n) * (
        np.einsum("ij,ac,rkb->riajbkc", e, T1, Wz) + np.einsum("ik,ab,rjc->riajbkc", e, T1, Wz)
    )
    assert np.max(np.abs(exact)) > 0.1
    np.testing.assert_allclose(dH, exact, rtol=0, atol=1e-8)


def test_finite_difference_dntk_of_a_tanh_net_converges():
    # the mixed second difference converges like ε² (differences between ε, ε/2, ε/4 fall by
    # 4) and its truncation at the ε = 1e-3 used above is ~2e-5 of the largest entry
    X = np.array([[0.5], [-1.0]])
    spec = MLPSpec.of(fnn.MLP("tanh", widths=[1, 9, 9, 2], C_W=1.5, C_b=0.1))
    params = init_parameters(spec, 3, np.random.default_rng(5))
    lb, lw = spec.learning_rates(1.0, 1.0)
    d = [sampled_dntk(spec, params, X, lb, lw, eps=e)[0] for e in (2e-3, 1e-3, 5e-4)]
    first, second = np.max(np.abs(d[0] - d[1])), np.max(np.abs(d[1] - d[2]))
    assert 3.5 < first / second < 4.5
    assert second < 3e-5 * np.max(np.abs(d[2]))


# --------------------------------------------------------------------------------------------
# sampled networks
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sampled_three_layer_tanh_net():
    # [1, 64, 64, 3]: layer 3 uses F, B of layer 2 (the r terms); 2000 networks
    X = np.array([[0.5], [-1.0]])
    widths = [1, 64, 64, 3]
    theory = dntk_statistics("tanh", X, C_W=1.5, C_b=0.1, widths=widths)
    sampled = sampled_PQ("tanh", widths, X, 1.5, 0.1, 2000)
    for (mean, err), T in zip(sampled, (theory.P[-1], theory.Q[-1]), strict=True):
        assert np.max(np.abs(mean - T) / err) < 4.0
        assert np.median(np.abs(T) / err) > 10.0  # the check resolves the statistic


@pytest.mark.slow
def test_sampled_three_layer_linear_net():
    # Q against 500 sampled [1, 128, 128, 2] linear nets (their statistics are so sharp that
    # at n = 64 the O(1/n²) remainder already shows at ~4σ); P = 0 at O(1/n): the sampled
    # n·E[dĤ z] of the P structure is O(1/n) (see the next test)
    X = np.array([[0.5], [-1.0]])
    widths = [1, 128, 128, 2]
    theory = dntk_statistics("linear", X, C_W=1.0, C_b=0.1, widths=widths)
    (p_mean, _), (q_mean, q_err) = sampled_PQ("linear", widths, X, 1.0, 0.1, 500)
    assert np.max(np.abs(q_mean - theory.Q[-1]) / q_err) < 4.0
    assert np.median(np.abs(theory.Q[-1]) / q_err) > 10.0
    assert np.max(np.abs(p_mean)) < 0.1 * np.max(np.abs(theory.Q[-1]))


@pytest.mark.slow
def test_sampled_linear_P_is_order_one_over_n_squared():
    # n·E[dĤ_{i0i1i1} z_{i0}] of linear nets: P = 0 at O(1/n), so it falls like 1/n
    X = np.array([[0.5], [-1.0]])
    size = []
    for n in (32, 128):
        (mean, _), _ = sampled_PQ("linear", [1, n, n, 3], X, 1.0, 0.1, 2000)
        size.append(np.sum(np.abs(mean)))
    assert 2.5 < size[0] / size[1] < 6.5


@pytest.mark.slow
@pytest.mark.parametrize(("act", "C_W", "C_b"), [("tanh", 1.5, 0.1), ("gelu", 1.2, 0.2)])
def test_sampled_four_layer_nets(act, C_W, C_b):
    # [1, 64, 64, 64, 3]: the output layer also uses P, Q of layer 3 (the dNTK recursion)
    X = np.array([[0.5], [-1.0]])
    widths = [1, 64, 64, 64, 3]
    theory = dntk_statistics(act, X, C_W=C_W, C_b=C_b, widths=widths)
    for (mean, err), T in zip(
        sampled_PQ(act, widths, X, C_W, C_b, 2000), (theory.P[-1], theory.Q[-1]), strict=True
    ):
        assert np.max(np.abs(mean - T) / err) < 4.0
        assert np.median(np.abs(T) / err) > 10.0


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def test_kinked_activation_is_refused():
    with pytest.raises(UnsupportedError, match="activation"):
        dntk_statistics("relu", np.array([[1.0]]), C_W=2.0, C_b=0.0, widths=[1, 10, 10, 1])


def test_user_callable_gets_its_higher_derivatives():
    # σ = sin given as a callable: σ'' and σ''' from differences of the derived σ'
    X = np.array([[0.7], [-0.3]])
    kw = dict(C_W=1.1, C_b=0.2, widths=[1, 50, 50, 50, 1])
    ref = dntk_statistics("sin", X, **kw)
    user = dntk_statistics(lambda z: np.sin(z), X, **kw)
    for a, b in zip(ref.P + ref.Q, user.P + user.Q, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-8)


@pytest.mark.slow
def test_sampled_gelu_net_unequal_widths_three_inputs():
    # [2, 64, 96, 3], per-layer C_W, C_b, λ_W, λ_b, three inputs in R² (r = 96/64)
    X = np.array([[1.0, 0.2], [-0.4, 0.9], [0.3, -0.5]])
    widths = [2, 64, 96, 3]
    kw = dict(C_W=[1.4, 1.1, 0.9], C_b=[0.1, 0.2, 0.05])
    lam = dict(lambda_W=[0.7, 1.3, 1.0], lambda_b=[0.4, 0.2, 0.6])
    theory = dntk_statistics("gelu", X, widths=widths, **kw, **lam)
    sampled = sampled_PQ("gelu", widths, X, kw["C_W"], kw["C_b"], 2000, **lam)
    for (mean, err), T in zip(sampled, (theory.P[-1], theory.Q[-1]), strict=True):
        assert np.max(np.abs(mean - T) / err) < 4.0
        assert np.median(np.abs(T) / err) > 10.0


# --------------------------------------------------------------------------------------------
# the first ddNTK
# --------------------------------------------------------------------------------------------
def _tangent_directions(spec, params, X, lb, lw):
    z, h = forward(spec, params, X)
    D = output_jacobian_factors(spec, params, z, h)
    d_out, P = spec.widths[-1], X.shape[0]
    layers = range(spec.depth)
    dirs = []
    for i in range(d_out):
        for b in range(P):
            dW = [
                lw[k] / spec.widths[k] * D[k][:, i, b, :, None] * h[k][:, b, None, :]
                for k in layers
            ]
            dirs.append((dW, [lb[k] * D[k][:, i, b, :] for k in layers]))
    return dirs


def sampled_ddntk(spec, params, X, lb, lw, eps=2e-3):
    """ddIĤ_{i0i1i2i3;abcd} = Σ λλλ ∂³z_{i0a} ∂z_{i1b} ∂z_{i2c} ∂z_{i3d} of each network,
    (R, d_out, P, d_out, P, d_out, P, d_out, P), by the central mixed third difference of the
    outputs along three tangent directions (forward passes only)."""
    dirs = _tangent_directions(spec, params, X, lb, lw)
    R, P, d_out = params.b[-1].shape[0], X.shape[0], spec.widths[-1]
    m = len(dirs)
    out = np.empty((R, d_out, P, m, m, m))
    for u in range(m):
        for v in range(u, m):
            for w in range(v, m):
                acc = 0.0
                for s in itertools.product((1.0, -1.0), repeat=3):
                    step = [eps * x for x in s]
                    p = Parameters(
                        [
                            W + step[0] * a + step[1] * b + step[2] * c
                            for W, a, b, c in zip(
                                params.W, dirs[u][0], dirs[v][0], dirs[w][0], strict=True
                            )
                        ],
                        [
                            B + step[0] * a + step[1] * b + step[2] * c
                            for B, a, b, c in zip(
                                params.b, dirs[u][1], dirs[v][1], dirs[w][1], strict=True
                            )
                        ],
                    )
                    acc = acc + s[0] * s[1] * s[2] * forward(spec, p, X)[0][-1]
                t = np.swapaxes(acc / (8 * eps**3), 1, 2)
                for perm in set(itertools.permutations((u, v, w))):
                    out[(slice(None), slice(None), slice(None), *perm)] = t
    return out.reshape((R, d_out, P) + (d_out, P) * 3)


def sampled_R(act, widths, X, C_W, C_b, n_nets, *, chunk=500, seed=0):
    """n_{L−1}·E[ddIĤ_{i0i0i2i2}] (R), i0 ≠ i2, averaged over ordered pairs of distinct
    outputs; mean and standard error over networks."""
    spec = MLPSpec.of(fnn.MLP(act, widths=widths, C_W=C_W, C_b=C_b))
    lb, lw = spec.learning_rates(1.0, 1.0)
    rng = np.random.default_rng(seed)
    d = widths[-1]
    pairs = [(i, j) for i in range(d) for j in range(d) if i != j]
    est = []
    for _ in range(0, n_nets, chunk):
        dd = sampled_ddntk(spec, init_parameters(spec, chunk, rng), X, lb, lw)
        est.append(np.mean([dd[:, i, :, i, :, j, :, j] for i, j in pairs], axis=0))
    x = widths[-2] * np.concatenate(est)
    return x.mean(0), x.std(0, ddof=1) / np.sqrt(len(x))


def test_linear_R_vanishes():
    # σ'' = σ''' = 0: every source of R vanishes (the ddNTK mean of a linear net is O(1/n²))
    s = dntk_statistics(
        "linear", np.array([[1.0], [0.3]]), C_W=1.2, C_b=0.1, widths=[1, 30, 40, 50, 2]
    )
    assert all(np.all(r == 0.0) for r in s.R)


def test_third_difference_ddntk_of_a_tanh_net_converges():
    # the mixed third difference converges like ε² (differences between ε, ε/2, ε/4 fall by 4)
    X = np.array([[0.5], [-1.0]])
    spec = MLPSpec.of(fnn.MLP("tanh", widths=[1, 9, 9, 2], C_W=1.5, C_b=0.1))
    params = init_parameters(spec, 2, np.random.default_rng(7))
    lb, lw = spec.learning_rates(1.0, 1.0)
    d = [sampled_ddntk(spec, params, X, lb, lw, eps=e) for e in (8e-3, 4e-3, 2e-3)]
    first, second = np.max(np.abs(d[0] - d[1])), np.max(np.abs(d[1] - d[2]))
    assert 3.0 < first / second < 5.0
    assert second < 1e-3 * np.max(np.abs(d[2]))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("act", "C_W", "C_b", "widths"),
    [("tanh", 1.5, 0.1, [1, 64, 64, 2]), ("gelu", 1.2, 0.2, [1, 64, 64, 64, 2])],
)
def test_sampled_R(act, C_W, C_b, widths):
    # 1000 networks; the four-layer gelu net exercises the P and R terms of the recursion
    X = np.array([[0.5], [-1.0]])
    theory = dntk_statistics(act, X, C_W=C_W, C_b=C_b, widths=widths).R[-1]
    mean, err = sampled_R(act, widths, X, C_W, C_b, 1000)
    assert np.max(np.abs(mean - theory) / err) < 4.0
    assert np.median(np.abs(theory) / err) > 10.0


# --------------------------------------------------------------------------------------------
# the second ddNTK
# --------------------------------------------------------------------------------------------
def _jacobian(spec, params, X, lb, lw):
    """Per layer, √λ_μ ∂z_{iα}/∂θ_μ flattened to (R, d_out·P, n_params of the layer)."""
    z, h = forward(spec, params, X)
    D = output_jacobian_factors(spec, params, z, h)
    R = params.b[0].shape[0]
    out = []
    for k in range(spec.depth):
        hk = np.broadcast_to(h[k], (R, *h[k].shape[1:]))
        jw = D[k][..., :, None] * hk[:, None, :, None, :] * np.sqrt(lw[k] / spec.widths[k])
        jb = D[k] * np.sqrt(lb[k])
        flat = (R, jw.shape[1] * jw.shape[2], -1)
        out.append(np.concatenate([jw.reshape(flat), jb.reshape(flat)], axis=2))
    return out


def sampled_ddntk_second(spec, params, X, lb, lw, eps=1e-3):
    """ddIIĤ_{i1i2i3i4;abcd} = Σ λλλ ∂²z_{i1a}/∂μ1∂μ2 ∂²z_{i2b}/∂μ1∂μ3 ∂z_{i3c}/∂μ2
    ∂z_{i4d}/∂μ3 of each network, (R, d_out, P, d_out, P, d_out, P, d_out, P): the Jacobian's
    central difference along v_{i3c} = λ ∂z_{i3c} is Σ_ν λ_ν ∂_μ∂_ν z ∂_ν z_{i3c}, and ddII
    contracts two of them over μ with λ_μ."""
    dirs = _tangent_directions(spec, params, X, lb, lw)
    R, P, d_out = params.b[-1].shape[0], X.shape[0], spec.widths[-1]
    G = []
    for dW, db in dirs:
        J = []
        for s in (1.0, -1.0):
            p = Parameters(
                [W + s * eps * a for W, a in zip(params.W, dW, strict=True)],
                [B + s * eps * a for B, a in zip(params.b, db, strict=True)],
            )
            J.append(_jacobian(spec, p, X, lb, lw))
        G.append([(a - b) / (2 * eps) for a, b in zip(*J, strict=True)])
    m = len(dirs)
    out = np.empty((R, d_out * P, d_out * P, m, m))
    for u in range(m):
        for v in range(m):
            out[..., u, v] = sum(
                np.matmul(a, np.swapaxes(b, 1, 2)) for a, b in zip(G[u], G[v], strict=True)
            )
    return out.reshape((R,) + (d_out, P) * 4)


def sampled_STU(act, widths, X, C_W, C_b, n_nets, *, chunk=250, seed=0):
    """n_{L−1}·E[ddII_{iijj}] (S), [ddII_{ijij}] (T), [ddII_{ijji}] (U), i ≠ j, averaged over
    ordered pairs of distinct outputs; means and standard errors over networks."""
    spec = MLPSpec.of(fnn.MLP(act, widths=widths, C_W=C_W, C_b=C_b))
    lb, lw = spec.learning_rates(1.0, 1.0)
    rng = np.random.default_rng(seed)
    d = widths[-1]
    pairs = [(i, j) for i in range(d) for j in range(d) if i != j]
    est = {"S": [], "T": [], "U": []}
    for _ in range(0, n_nets, chunk):
        dd = sampled_ddntk_second(spec, init_parameters(spec, chunk, rng), X, lb, lw)
        est["S"].append(np.mean([dd[:, i, :, i, :, j, :, j] for i, j in pairs], axis=0))
        est["T"].append(np.mean([dd[:, i, :, j, :, i, :, j] for i, j in pairs], axis=0))
        est["U"].append(np.mean([dd[:, i, :, j, :, j, :, i] for i, j in pairs], axis=0))
    out = {}
    for key, parts in est.items():
        x = widths[-2] * np.concatenate(parts)
        out[key] = (x.mean(0), x.std(0, ddof=1) / np.sqrt(len(x)))
    return out


def test_linear_second_ddntk_closed_forms():
    # C_W = λ_W = 1, C_b = λ_b = 0, |x|²/n0 = 1, equal widths: S = T = (ℓ−1)ℓ²(ℓ+1)/12, U = 0
    s = dntk_statistics(
        "linear",
        np.array([[1.0]]),
        C_W=1.0,
        C_b=0.0,
        widths=[1, 40, 40, 40, 40, 40, 1],
        lambda_W=1.0,
        lambda_b=0.0,
    )
    ell = np.arange(1, 7)
    closed = (ell - 1) * ell**2 * (ell + 1) / 12
    np.testing.assert_allclose([x[0, 0, 0, 0] for x in s.S], closed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([x[0, 0, 0, 0] for x in s.T], closed, rtol=1e-12, atol=1e-12)
    assert all(np.all(u == 0.0) for u in s.U)


def test_two_layer_linear_second_ddntk():
    # per network ddII_{i1i2i3i4;abcd} = (λ_W/n) δ_{i1i2} Θ1_ac Θ1_bd (W2 W2ᵀ)_{i3i4}
    #                                  + (λ_W/n)² δ_{i1i3} δ_{i2i4} Θ1_ab (z1_c · z1_d),
    # so S = λ_W C_W Θ1_ac Θ1_bd, T = λ_W² Θ1_ab K1_cd, U = 0 at any width
    X = np.array([[0.8, -0.2], [0.1, 0.6]])
    n, lw, lb, cw, cb = 7, np.array([0.9, 1.4]), np.array([0.3, 0.6]), 1.2, 0.2
    spec = MLPSpec.of(fnn.MLP("linear", widths=[2, n, 3], C_W=cw, C_b=cb))
    params = init_parameters(spec, 4, np.random.default_rng(3))
    dd = sampled_ddntk_second(spec, params, X, lb, lw)
    z1 = forward(spec, params, X)[0][0]
    T1 = lb[0] + lw[0] * X @ X.T / 2
    e = np.eye(3)
    WW = np.einsum("rij,rkj->rik", params.W[1], params.W[1])
    zz = np.einsum("rcl,rdl->rcd", z1, z1)
    exact = (lw[1] / n) * np.einsum("ij,ac,bd,rkl->riajbkcld", e, T1, T1, WW) + (
        lw[1] / n
    ) ** 2 * np.einsum("ik,jl,ab,rcd->riajbkcld", e, e, T1, zz)
    assert np.max(np.abs(exact)) > 0.1
    np.testing.assert_allclose(dd, exact, rtol=0, atol=1e-8)
    s = dntk_statistics("linear", X, C_W=cw, C_b=cb, widths=[2, n, 3], lambda_W=lw, lambda_b=lb)
    K1 = cb + cw * X @ X.T / 2
    np.testing.assert_allclose(s.S[1], lw[1] * cw * np.einsum("ac,bd->abcd", T1, T1), rtol=1e-12)
    np.testing.assert_allclose(s.T[1], lw[1] ** 2 * np.einsum("ab,cd->abcd", T1, K1), rtol=1e-12)
    assert np.all(s.U[1] == 0.0)


def test_second_ddntk_difference_of_a_tanh_net_converges():
    X = np.array([[0.5], [-1.0]])
    spec = MLPSpec.of(fnn.MLP("tanh", widths=[1, 9, 9, 2], C_W=1.5, C_b=0.1))
    params = init_parameters(spec, 2, np.random.default_rng(7))
    lb, lw = spec.learning_rates(1.0, 1.0)
    d = [sampled_ddntk_second(spec, params, X, lb, lw, eps=e) for e in (4e-3, 2e-3, 1e-3)]
    first, second = np.max(np.abs(d[0] - d[1])), np.max(np.abs(d[1] - d[2]))
    assert 3.0 < first / second < 5.0
    assert second < 1e-4 * np.max(np.abs(d[2]))


@pytest.mark.slow
def test_sampled_STU_three_layer_tanh():
    # 1000 sampled tanh [1, 64, 64, 2] nets: the r terms (B, F, Q, S, T, U of layer 2)
    X = np.array([[0.5], [-1.0]])
    widths = [1, 64, 64, 2]
    theory = dntk_statistics("tanh", X, C_W=1.5, C_b=0.1, widths=widths)
    sampled = sampled_STU("tanh", widths, X, 1.5, 0.1, 1000)
    for key in "STU":
        mean, err = sampled[key]
        T = getattr(theory, key)[-1]
        assert np.max(np.abs(mean - T) / err) < 4.0
        assert np.median(np.abs(T) / err) > 10.0


@pytest.mark.slow
def test_sampled_linear_U_is_order_one_over_n_squared():
    # U = 0 at O(1/n) for linear nets: the sampled n·E[ddII_{ijji}] falls like 1/n
    X = np.array([[0.5], [-1.0]])
    size = [
        np.sum(np.abs(sampled_STU("linear", [1, n, n, 2], X, 1.0, 0.1, 500)["U"][0]))
        for n in (32, 128)
    ]
    assert 2.5 < size[0] / size[1] < 6.5


def test_docstring_example():
    import doctest

    import fieldnn.kernels._dntk as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
