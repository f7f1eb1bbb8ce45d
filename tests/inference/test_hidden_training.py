"""The last hidden kernel during training: the per-network measurement of train_replicas, the
dG / ddG statistics against their definitions on sampled networks (finite differences of the
hidden kernel along tangent directions, no forward equation), and hidden_kernel_change against
trained replicas (slow)."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import ArgumentError
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


def _dG(spec, params, XA, XB, a, lb, lw, s=1e-3):
    """dG_a = Σ_μ λ_μ ∂_μz_a ∂_μĜ' (R, Q, Q): central difference of Ĝ' along the tangent."""
    v = _tangent(spec, params, XA[a : a + 1], lb, lw)
    up, down = _shifted(params, v, s), _shifted(params, v, -s)
    return (_hidden_kernel(spec, up, XB) - _hidden_kernel(spec, down, XB)) / (2 * s)


def _sampled(mlp, XA, XB, n_nets, seed, batch=250, s=1e-3):
    """Per network: dG_a z_b, ddG_ab = d(dG_a)/dθ·λ∂z_b (tangent recomputed at the shifted
    point) and Y_ab (the mixed second difference of Ĝ' along two fixed tangents), each
    (R, Q, Q, P, P)."""
    spec = MLPSpec.of(mlp)
    lb, lw = spec.learning_rates(1.0, 1.0)
    gen = np.random.default_rng(seed)
    P, Q = XA.shape[0], XB.shape[0]
    out = {"dGz": [], "ddG": [], "Y": []}
    for _ in range(n_nets // batch):
        p = init_parameters(spec, batch, gen)
        z = forward(spec, p, XA)[0][-1][..., 0]
        d = np.stack([_dG(spec, p, XA, XB, a, lb, lw) for a in range(P)], -1)
        out["dGz"].append(d[..., :, None] * z[:, None, None, None, :])
        dd, Yt = np.zeros((2, batch, Q, Q, P, P))
        vs = [_tangent(spec, p, XA[b : b + 1], lb, lw) for b in range(P)]
        for b in range(P):
            up, down = _shifted(p, vs[b], s), _shifted(p, vs[b], -s)
            for a in range(P):
                dd[..., a, b] = (
                    _dG(spec, up, XA, XB, a, lb, lw) - _dG(spec, down, XA, XB, a, lb, lw)
                ) / (2 * s)

                va, vb = vs[a], vs[b]
                G = [
                    _hidden_kernel(spec, _shifted(_shifted(p, va, sa), vb, sb), XB)
                    for sa, sb in ((s, s), (s, -s), (-s, s), (-s, -s))
                ]
                Yt[..., a, b] = (G[0] - G[1] - G[2] + G[3]) / (4 * s * s)
        out["ddG"].append(dd)
        out["Y"].append(Yt)
    return {k: np.concatenate(v) for k, v in out.items()}


def _pieces(mlp, XA, XB) -> dict:
    """n E[dG z], and the four pieces of n E[ddG] = n E[X] + n E[Y], as (Q, Q, P, P)."""
    s = _split_statistics(mlp, np.concatenate([XA, XB]), 1.0, 1.0)
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


def _check_statistics(mlp, n_nets, seed):
    """Pulls of the sampled n·E[dG z], n·E[ddG], n·E[Y] against the formulas (all entries
    below 4), each resolved (largest |theory|/stderr ≥ 5), and every piece of ddG needed:
    without any one of them the sampled means reject the formula at > 5σ."""
    XA2, XB2 = np.array([[0.5], [-1.0]]), np.array([[0.3], [-0.7]])
    n = mlp.widths[-2]
    got = _sampled(mlp, XA2, XB2, n_nets, seed)
    pc = _pieces(mlp, XA2, XB2)
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


@pytest.mark.slow
@pytest.mark.parametrize("n", [64, 256])
def test_dG_statistics_against_sampled_networks_wide(n):
    rep = _check_statistics(fnn.MLP("tanh", [1, n, n, 1], C_W=1.5, C_b=0.1), 2000, 12 + n)
    print(n, rep)
