"""dNTK statistics P, Q (RYH ch. 11): closed forms for deep linear nets, the sampled dNTK by
finite differences of the empirical NTK (checked against the exact dNTK of a two-layer linear
net), and the recursions against sampled networks (pulls in standard errors)."""

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.inference._network import (
    MLPSpec,
    Parameters,
    empirical_ntk,
    forward,
    init_parameters,
    output_jacobian_factors,
)
from fieldnn.kernels import dntk_statistics


def sampled_dntk(spec, params, X, lb, lw, eps=1e-4):
    """dĤ_{i0i1i2;abc} of each network (R, d_out, P, d_out, P, d_out, P) by the central
    difference of the empirical NTK along θ_μ → θ_μ ± ε λ_μ ∂_μ z_{i0a}; and the outputs."""
    z, h = forward(spec, params, X)
    D = output_jacobian_factors(spec, params, z, h)
    R, P, d_out = z[-1].shape
    out = np.empty((R, d_out, P, d_out, P, d_out, P))
    layers = range(spec.depth)
    for i0 in range(d_out):
        for a in range(P):
            dW = [
                lw[k] / spec.widths[k] * D[k][:, i0, a, :, None] * h[k][:, a, None, :]
                for k in layers
            ]
            db = [lb[k] * D[k][:, i0, a, :] for k in layers]
            H = []
            for s in (1.0, -1.0):
                p = Parameters(
                    [W + s * eps * d for W, d in zip(params.W, dW, strict=True)],
                    [b + s * eps * d for b, d in zip(params.b, db, strict=True)],
                )
                H.append(empirical_ntk(spec, p, X, lb, lw))
            out[:, i0, a] = (H[0] - H[1]) / (2 * eps)
    return out, z[-1]


def sampled_PQ(act, widths, X, C_W, C_b, n_nets, *, chunk=500, seed=0):
    """n_{L−1}·E[dĤ_{i0i1i1} z_{i0}] (P) and n_{L−1}·E[dĤ_{i0i0i2} z_{i2}] (Q), i0 ≠ i1, i2,
    averaged over ordered pairs of distinct outputs; means and standard errors over networks."""
    spec = MLPSpec.of(fnn.MLP(act, widths=widths, C_W=C_W, C_b=C_b))
    lb, lw = spec.learning_rates(1.0, 1.0)
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
    # C_W = λ_W = 1, C_b = λ_b = 0, |x|²/n0 = 1, equal widths: P = (ℓ−1)ℓ(ℓ+1)/3, Q = P/2
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
    P = (ell - 1) * ell * (ell + 1) / 3
    np.testing.assert_allclose([p[0, 0, 0, 0] for p in s.P], P, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([q[0, 0, 0, 0] for q in s.Q], P / 2, rtol=1e-12, atol=1e-12)


def test_two_layer_linear_exact_tensors():
    # one hidden layer, any inputs: P = λ_W C_W (Θ_ab K_cd + Θ_ac K_bd), Q = λ_W C_W Θ_bc K_ad
    # (the exact dNTK of the explicit-network test below, averaged with z)
    X = np.array([[1.0, 0.3], [-0.4, 0.9], [0.2, -0.7]])
    cw, cb, lw, lb = [1.3, 0.7], [0.2, 0.1], [0.8, 1.7], [0.5, 0.3]
    s = dntk_statistics("linear", X, C_W=cw, C_b=cb, widths=[2, 30, 2], lambda_W=lw, lambda_b=lb)
    K1 = cb[0] + cw[0] * X @ X.T / 2
    T1 = lb[0] + lw[0] * X @ X.T / 2
    P = lw[1] * cw[1] * (np.einsum("ab,cd->abcd", T1, K1) + np.einsum("ac,bd->abcd", T1, K1))
    Q = lw[1] * cw[1] * np.einsum("bc,ad->abcd", T1, K1)
    np.testing.assert_allclose(s.P[1], P, rtol=1e-12)
    np.testing.assert_allclose(s.Q[1], Q, rtol=1e-12)


def test_finite_difference_dntk_is_the_exact_two_layer_linear_dntk():
    # z2 = b2 + W2 z1, z1 = b1 + W1 x: per network,
    # dĤ_{i0i1i2;abc} = δ_{i1i2} (λ_W/n) Σ_j W2_{i0j}(Θ1_ab z1_jc + Θ1_ac z1_jb)
    #                  + (λ_W/n) Θ1_bc (δ_{i0i1} Σ_j z1_ja W2_{i2j} + δ_{i0i2} Σ_j z1_ja W2_{i1j})
    X = np.array([[0.8, -0.2], [0.1, 0.6]])
    n, lw, lb = 7, np.array([0.9, 1.4]), np.array([0.3, 0.6])
    spec = MLPSpec.of(fnn.MLP("linear", widths=[2, n, 3], C_W=1.2, C_b=0.2))
    params = init_parameters(spec, 4, np.random.default_rng(3))
    dH, _ = sampled_dntk(spec, params, X, lb, lw)
    z1 = forward(spec, params, X)[0][0]  # (R, P, n)
    W2 = params.W[1]  # (R, 3, n)
    T1 = lb[0] + lw[0] * X @ X.T / 2
    e = np.eye(3)
    Wz = np.einsum("rij,rcj->ric", W2, z1)  # Σ_j W2_ij z1_jc
    exact = (lw[1] / n) * (
        np.einsum("jk,ab,ric->riajbkc", e, T1, Wz)
        + np.einsum("jk,ac,rib->riajbkc", e, T1, Wz)
        + np.einsum("ij,bc,rka->riajbkc", e, T1, Wz)
        + np.einsum("ik,bc,rja->riajbkc", e, T1, Wz)
    )
    np.testing.assert_allclose(dH, exact, rtol=1e-7, atol=1e-9)


# --------------------------------------------------------------------------------------------
# sampled networks
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("act", "C_W", "C_b"),
    [pytest.param("tanh", 1.5, 0.1, marks=pytest.mark.slow), ("linear", 1.0, 0.1)],
)
def test_sampled_three_layer_nets(act, C_W, C_b):
    # [1, 64, 64, 3]: layer 3 uses F, B of layer 2 (the r terms); 2000 networks
    X = np.array([[0.5], [-1.0]])
    widths = [1, 64, 64, 3]
    theory = dntk_statistics(act, X, C_W=C_W, C_b=C_b, widths=widths)
    for (mean, err), T in zip(
        sampled_PQ(act, widths, X, C_W, C_b, 2000), (theory.P[-1], theory.Q[-1]), strict=True
    ):
        assert np.max(np.abs(mean - T) / err) < 4.0
        assert np.median(np.abs(T) / err) > 10.0  # the check resolves the statistic


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
