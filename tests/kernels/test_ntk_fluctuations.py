"""O(1/n) NTK statistics (NLO mean Θ^{1}, variance A, B, cross-correlations D, F).

Independent routes: an exact finite-width computation for deep linear nets (Wick's theorem over
each weight matrix, on the O(n)-invariants of (z, Ĥ)), closed forms of the Gaussian moments,
and sampled finite networks (empirical NTK by backpropagation, pulls in standard errors).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import fieldnn as fnn
from fieldnn.errors import ArgumentError, UnsupportedError
from fieldnn.inference._network import MLPSpec, empirical_ntk, forward, init_parameters
from fieldnn.kernels import get_activation, pair_expectation
from fieldnn.kernels._ntk_fluctuations import ntk_fluctuations
from fieldnn.kernels._ntk_moments import mixed_four_moments, tangent_response
from fieldnn.kernels.deep import four_point_vertex, nlo_kernel_correction, ntk_recursion

X2 = np.array([[0.5], [-1.0]])
X3 = np.array([[1.0, 0.2], [-0.4, 0.9], [0.3, -0.5]])


# --------------------------------------------------------------------------------------------
# exact deep linear nets (no biases, any number of inputs)
# --------------------------------------------------------------------------------------------
def _T(x: np.ndarray) -> np.ndarray:
    """(ab, cd) -> (cd, ab)."""
    return x.transpose(2, 3, 0, 1)


def _swap(x: np.ndarray) -> np.ndarray:
    """(ab, cd) -> (ab, dc)."""
    return x.transpose(0, 1, 3, 2)


def _exact_linear(widths: list[int], X: np.ndarray, cw: list[float], lw: list[float]) -> dict:
    """Exact E[Ĥ], A/n, B/n, D/n, F/n (P, …) of the last layer of a bias-free linear MLP.

    State: expectations of the O(n)-invariants s_ab = z_a·z_b, t_ab = tr Ĥ_ab,
    u_ab;cd = z_cᵀĤ_ab z_d, q_ab,cd = tr(Ĥ_ab Ĥ_cdᵀ) and products (Ĥ_ab the neuron matrix at
    inputs a, b; Ĥ_abᵀ = Ĥ_ba). One layer z' = Wz, Ĥ'_ab = (λ_W s_ab/m) I + WĤ_abWᵀ, averaged
    over W by Wick's theorem with E[G_xy G_vw] = κ²[m'²δ_xyδ_vw + m'(δ_xvδ_yw + δ_xwδ_yv)],
    G = WᵀW, κ = C_W/m.
    """
    m = widths[1]
    K = cw[0] * X @ X.T / widths[0]
    th = lw[0] * X @ X.T / widths[0]
    o = np.einsum
    Es, Et = m * K, m * th
    SS = m * m * o("ab,cd->abcd", K, K) + m * (o("ac,bd->abcd", K, K) + o("ad,bc->abcd", K, K))
    ST = m * m * o("ab,cd->abcd", K, th)  # E[s_ab t_cd]
    TT = m * m * o("ab,cd->abcd", th, th)
    U = m * o("ab,cd->abcd", th, K)  # E[z_cᵀ H_ab z_d]
    Q = m * o("ab,cd->abcd", th, th)  # E[tr(H_ab H_cdᵀ)]
    for layer in range(1, len(widths) - 1):
        m, mp = widths[layer], widths[layer + 1]
        k, a = cw[layer] / m, lw[layer] / m
        s_trG = k * mp * ST  # E[s_ab tr(H_cd G)]
        sp_trG = k * k * (mp * mp * ST + mp * (_swap(_T(U)) + _T(U)))  # E[s'_ab tr(H_cd G)]
        trG_trG = k * k * (mp * mp * TT + mp * (Q + _swap(Q)))  # E[tr(H_ab G) tr(H_cd G)]
        Es, Et = k * mp * Es, a * mp * Es + k * mp * Et
        SS_new = k * k * (mp * mp * SS + mp * (SS.transpose(0, 2, 1, 3) + SS.transpose(0, 3, 2, 1)))
        ST_new = a * mp * k * mp * SS + sp_trG
        TT_new = a * a * mp * mp * SS + a * mp * (s_trG + _T(s_trG)) + trG_trG
        U_new = a * k * mp * SS + k * k * (mp * mp * U + mp * (_swap(U) + _T(ST)))
        Q_new = (
            a * a * mp * SS
            + a * k * mp * (ST + _T(ST))
            + k * k * (mp * mp * Q + mp * (_swap(Q) + TT))
        )
        SS, ST, TT, U, Q = SS_new, ST_new, TT_new, U_new, Q_new
    m = widths[-1]
    M = np.array([[m * m, m, m], [m, m * m, m], [m, m, m * m]], dtype=float)
    abc = np.linalg.solve(M, np.stack([_T(ST), U, _swap(U)]).reshape(3, -1)).reshape(3, *U.shape)
    abc2 = np.linalg.solve(M, np.stack([TT, Q, _swap(Q)]).reshape(3, -1)).reshape(3, *Q.shape)
    H, zz = Et / m, Es / m
    return {
        "mean": H,
        "D": abc[0] - o("ab,cd->abcd", H, zz),
        "F": abc[1].transpose(0, 2, 1, 3),  # β_{ab,cd} = F_{acbd}/n
        "F_swapped": abc[2].transpose(0, 3, 1, 2),  # γ_{ab,cd} = F_{adbc}/n
        "A": abc2[0] - o("ab,cd->abcd", H, H),
        "B": abc2[1].transpose(0, 2, 1, 3),
    }


def test_linear_recursions_match_the_exact_finite_width_net() -> None:
    X = np.array([[1.0, 0.5], [-0.3, 0.8], [0.6, -0.9]])
    cw, lw = [1.3, 0.8, 1.1, 0.9], [0.7, 1.2, 0.5, 1.4]

    def residuals(scale: int) -> tuple[dict, dict]:
        widths = [2, 3 * scale, 5 * scale, 4 * scale, 3]
        exact = _exact_linear(widths, X, cw, lw)
        s = ntk_fluctuations("linear", X, C_W=cw, C_b=0.0, widths=widths, lambda_W=lw, lambda_b=0.0)
        n = widths[-2]
        theory = {k: getattr(s, k)[-1] for k in "ABDF"}
        assert np.all(s.Theta1[-1] == 0.0)  # the mean NTK of a linear net is exact
        np.testing.assert_allclose(exact["mean"], s.Theta[-1], rtol=1e-12)
        np.testing.assert_allclose(exact["F_swapped"], exact["F"], rtol=1e-12)
        return {k: n * exact[k] - theory[k] for k in "ABDF"}, theory

    small, theory = residuals(100)
    large, _ = residuals(1000)
    for key in "ABDF":
        scale = np.max(np.abs(theory[key]))
        assert scale > 0.1
        # n·(exact) = the O(1/n) tensor + O(1/n): agreement, and the remainder falls like 1/n
        assert np.max(np.abs(large[key])) < 3e-3 * scale, key
        big = np.abs(small[key]) > 1e-3 * np.max(np.abs(small[key]))
        ratio = small[key][big] / large[key][big]
        assert np.all((8.0 < ratio) & (ratio < 12.0)), (key, ratio.min(), ratio.max())


def test_linear_closed_forms_in_the_depth() -> None:
    # C_W = λ_W = 1, |x|²/n0 = 1, equal widths: K = 1, Θ = ℓ, V = 2(ℓ−1), and
    # B = Σ_{k<ℓ} k², F = ℓ(ℓ−1)/2, D = ℓ(ℓ−1), A = 2B (docs/finite_width_training.md)
    s = ntk_fluctuations(
        "linear", [[1.0]], C_W=1.0, C_b=0.0, widths=[1] + [50] * 5 + [1], lambda_b=0.0
    )
    for ell in range(1, 7):
        b = sum(k * k for k in range(1, ell))
        np.testing.assert_allclose(s.B[ell - 1][0, 0, 0, 0], b, atol=1e-12)
        np.testing.assert_allclose(s.A[ell - 1][0, 0, 0, 0], 2 * b, atol=1e-12)
        np.testing.assert_allclose(s.F[ell - 1][0, 0, 0, 0], ell * (ell - 1) / 2, atol=1e-12)
        np.testing.assert_allclose(s.D[ell - 1][0, 0, 0, 0], ell * (ell - 1), atol=1e-12)


# --------------------------------------------------------------------------------------------
# consistency with the K, Θ, V, K^{1} recursions
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["erf", "relu", "tanh"])
def test_leading_tensors_agree_with_the_deep_recursions(act: str) -> None:
    widths = [1, 30, 40, 20, 2]
    kw = dict(C_W=[1.2, 1.5, 0.9, 1.1], C_b=[0.1, 0.2, 0.0, 0.3])
    s = ntk_fluctuations(act, X2, widths=widths, lambda_W=0.7, lambda_b=0.3, **kw)
    np.testing.assert_allclose(s.V[-1], four_point_vertex(act, X2, widths=widths, **kw), atol=1e-14)
    K1 = nlo_kernel_correction(act, X2, widths=widths, **kw)
    # erf: the second-order source by differences of the closed pair form (~1e-8 relative)
    np.testing.assert_allclose(s.K1[-1], K1, rtol=1e-6, atol=1e-14)
    Th = ntk_recursion(act, X2, lambda_W=0.7, lambda_b=0.3, depth=4, **kw)
    np.testing.assert_allclose(s.Theta[-1], Th[-1], rtol=1e-14)
    # symmetries: A (ab)(cd)-pair symmetric, B[a,c,b,d] = B[b,d,a,c], F[a,c,b,d] = F[b,d,a,c]
    A, B, D, F = s.A[-1], s.B[-1], s.D[-1], s.F[-1]
    np.testing.assert_allclose(A, A.transpose(2, 3, 0, 1), atol=1e-12)
    np.testing.assert_allclose(A, A.transpose(1, 0, 2, 3), atol=1e-12)
    np.testing.assert_allclose(B, B.transpose(2, 3, 0, 1), atol=1e-12)
    np.testing.assert_allclose(F, F.transpose(2, 3, 0, 1), atol=1e-12)
    np.testing.assert_allclose(D, D.transpose(1, 0, 3, 2), atol=1e-12)


# --------------------------------------------------------------------------------------------
# sampled finite networks
# --------------------------------------------------------------------------------------------
def _sampled(mlp: fnn.MLP, X: np.ndarray, R: int, seed: int, lam: dict) -> dict:
    """Per-network estimators of the NTK mean, A/n, B/n, D/n, F/n (two output neurons)."""
    spec = MLPSpec.of(mlp)
    lb, lw = spec.learning_rates(lam.get("lambda_b", 1.0), lam.get("lambda_W", 1.0))
    gen = np.random.default_rng(seed)
    params = init_parameters(spec, R, gen)
    H = empirical_ntk(spec, params, X, lb, lw)
    Z = forward(spec, params, X)[0][-1]
    h11, h22, h12 = H[:, 0, :, 0, :], H[:, 1, :, 1, :], H[:, 0, :, 1, :]
    z1, z2 = Z[:, :, 0], Z[:, :, 1]
    mean = 0.5 * (h11 + h22)
    d11, d22 = h11 - mean.mean(0), h22 - mean.mean(0)
    samples = {
        "mean": mean,
        "A": 0.5 * (np.einsum("rab,rcd->rabcd", d11, d22) + np.einsum("rab,rcd->rabcd", d22, d11)),
        "B": np.einsum("rab,rcd->racbd", h12, h12),
        "D": 0.5
        * (np.einsum("rab,rc,rd->rabcd", d11, z2, z2) + np.einsum("rab,rc,rd->rabcd", d22, z1, z1)),
        "F": 0.5
        * (np.einsum("rab,rc,rd->racbd", h12, z1, z2) + np.einsum("rba,rc,rd->racbd", h12, z2, z1)),
    }
    return {k: (v.mean(0), v.std(0, ddof=1) / np.sqrt(R)) for k, v in samples.items()}


def _pulls(
    mlp: fnn.MLP, X: np.ndarray, R: int, seed: int, **lam: list[float]
) -> tuple[dict, dict, object]:
    est = _sampled(mlp, X, R, seed, lam)
    s = ntk_fluctuations(mlp, X, **lam)
    n = mlp.widths[-2]
    theory = {k: getattr(s, k)[-1] / n for k in "ABDF"}
    theory["mean"] = s.ntk_mean()
    pulls = {k: (est[k][0] - theory[k]) / est[k][1] for k in theory}
    signal = {k: np.max(np.abs(theory[k]) / est[k][1]) for k in "ABDF"}
    return pulls, signal, (est, s)


@pytest.mark.parametrize(
    ("act", "X", "R"), [("tanh", X2, 6000), ("relu", X2, 6000), ("relu", X3, 4000)]
)
def test_ntk_statistics_against_sampled_networks(act: str, X: np.ndarray, R: int) -> None:
    # relu at three inputs in the plane: kernel blocks of rank 3 (Stein recursion, Plackett)
    mlp = fnn.MLP(act, [X.shape[1], 64, 64, 2], C_W=1.5, C_b=0.1)
    pulls, signal, _ = _pulls(mlp, X, R=R, seed=11)
    for key, p in pulls.items():
        assert np.max(np.abs(p)) < 4.0, (key, p)
    for key, snr in signal.items():
        assert snr > 5.0, key  # the O(1/n) tensors are resolved: zero would be rejected


def test_ntk_statistics_with_per_layer_learning_rates_and_unequal_widths() -> None:
    # r = n_2/n_1 ≠ 1, λ_b ≠ λ_W per layer, C_W and C_b per layer: every coefficient is placed
    mlp = fnn.MLP("gelu", [1, 48, 80, 2], C_W=[1.2, 1.6, 0.9], C_b=[0.3, 0.1, 0.2])
    lam = {"lambda_W": [0.5, 1.5, 0.8], "lambda_b": [2.0, 0.3, 1.1]}
    pulls, signal, (est, _) = _pulls(mlp, X2, R=6000, seed=3, **lam)
    for key, p in pulls.items():
        assert np.max(np.abs(p)) < 4.0, (key, p)
    for key, snr in signal.items():
        assert snr > 5.0, key
    # the same samples reject the statistics of equal widths (r = 1) in A and B
    wrong = ntk_fluctuations(
        "gelu", X2, C_W=[1.2, 1.6, 0.9], C_b=[0.3, 0.1, 0.2], widths=[1, 80, 80, 2], **lam
    )
    for key in "AB":
        assert np.max(np.abs((est[key][0] - getattr(wrong, key)[-1] / 80) / est[key][1])) > 8.0


@pytest.mark.slow
@pytest.mark.parametrize("act", ["erf", "relu"])
def test_nlo_ntk_mean_against_sampled_deep_networks(act: str) -> None:
    # three hidden layers at n = 32: the leading-order Θ misses the sampled mean NTK by > 5σ,
    # Θ + Θ^{1}/n does not
    mlp = fnn.MLP(act, [1, 32, 32, 32, 2], C_W=1.5, C_b=0.1)
    pulls, _, (est, s) = _pulls(mlp, X2, R=60000, seed=5)
    leading = (est["mean"][0] - s.Theta[-1]) / est["mean"][1]
    assert np.max(np.abs(leading)) > 5.0
    assert np.max(np.abs(pulls["mean"])) < 4.0


# --------------------------------------------------------------------------------------------
# the Gaussian moments with σ' factors
# --------------------------------------------------------------------------------------------
def _product(act: str, powers: tuple[int, int]):
    a = get_activation(act)

    def g(z):
        return np.asarray(a.derivative(z)) ** powers[0] * np.asarray(a(z)) ** powers[1]

    return g


@pytest.mark.parametrize("act", ["tanh", "gelu", "erf"])
def test_mixed_moments_reduce_to_pair_expectations(act: str) -> None:
    K = np.array([[1.3, 0.4], [0.4, 0.8]])
    Q1, Q2, Q3 = mixed_four_moments(get_activation(act), K)
    k11, k22, k12 = K[0, 0], K[1, 1], K[0, 1]
    # Q1[a,a,b,b] = Q1[a,b,b,a] = ⟨(σ'σ)_a (σ'σ)_b⟩, Q3[a,a,b,b] = ⟨σ'²_a σ'²_b⟩,
    # Q2[a,a,a,a] = ⟨(σ'σ)_a²⟩: pair expectations of products (the 2-d lattice rule)
    ref1 = pair_expectation(_product(act, (1, 1)), k11, k22, k12)
    ref3 = pair_expectation(_product(act, (2, 0)), k11, k22, k12)
    ref2 = pair_expectation(_product(act, (1, 1)), k11, k11, k11)
    np.testing.assert_allclose(Q1[0, 0, 1, 1], ref1, rtol=1e-8)
    np.testing.assert_allclose(Q1[0, 1, 1, 0], ref1, rtol=1e-8)
    np.testing.assert_allclose(Q3[0, 0, 1, 1], ref3, rtol=1e-8)
    np.testing.assert_allclose(Q2[0, 0, 0, 0], ref2, rtol=1e-8)
    # symmetry of the patterns
    np.testing.assert_allclose(Q2, Q2.transpose(1, 0, 2, 3), atol=1e-13)
    np.testing.assert_allclose(Q3, Q3.transpose(2, 1, 0, 3), atol=1e-13)


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_relu_type_moments_at_rank_three_against_gaussian_samples(act: str) -> None:
    K = np.array([[1.3, 0.4, -0.2], [0.4, 0.8, 0.3], [-0.2, 0.3, 2.0]])
    a = get_activation(act)
    _, Q2, Q3 = mixed_four_moments(a, K)
    z = np.random.default_rng(1).standard_normal((400_000, 3)) @ np.linalg.cholesky(K).T
    s, d = np.asarray(a(z)), np.asarray(a.derivative(z))
    for idx in [(0, 1, 2, 2), (0, 0, 1, 2), (2, 1, 0, 1), (0, 1, 2, 0), (1, 1, 1, 1)]:
        i, j, k, m = idx
        for sample, exact in (
            (d[:, i] * d[:, j] * s[:, k] * s[:, m], Q2[idx]),
            (d[:, i] * d[:, j] * d[:, k] * d[:, m], Q3[idx]),
        ):
            stderr = sample.std() / np.sqrt(len(sample))
            assert abs(sample.mean() - exact) < 5 * stderr, (idx, sample.mean(), exact)


def test_relu_moments_in_closed_form() -> None:
    # ⟨σ'_aσ'_b⟩ = (π − θ)/(2π), ⟨σ'_a σ_b²⟩ = ⟨1{z_a>0} z_b² 1{z_b>0}⟩ (orthant), and
    # ⟨σ'_a σ_a σ'_b σ_b⟩ = ⟨relu_a relu_b⟩ = (sinθ + (π − θ)cosθ)√(k11k22)/(2π)
    K = np.array([[2.0, -0.7], [-0.7, 1.1]])
    Q1, Q2, Q3 = mixed_four_moments(get_activation("relu"), K)
    th = np.arccos(K[0, 1] / np.sqrt(K[0, 0] * K[1, 1]))
    np.testing.assert_allclose(Q3[0, 0, 1, 1], (np.pi - th) / (2 * np.pi), rtol=1e-13)
    relu_pair = (np.sin(th) + (np.pi - th) * np.cos(th)) * np.sqrt(K[0, 0] * K[1, 1]) / (2 * np.pi)
    np.testing.assert_allclose(Q1[0, 0, 1, 1], relu_pair, rtol=1e-13)
    np.testing.assert_allclose(Q2[0, 0, 0, 0], K[0, 0] / 2, rtol=1e-13)
    np.testing.assert_allclose(Q3[0, 0, 0, 0], 0.5, rtol=1e-13)


def test_tangent_response_against_the_erf_closed_form() -> None:
    # ⟨erf' erf'⟩ = (4/π)/√((1+2k11)(1+2k22) − 4k12²): differentiate with SymPy
    k11, k22, k12 = sp.symbols("k11 k22 k12", positive=True)
    T = 4 / sp.pi / sp.sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * k12**2)
    K = np.array([[1.2, 0.5], [0.5, 0.7]])
    vals = {k11: K[0, 0], k22: K[1, 1], k12: K[0, 1]}
    V = np.zeros((2,) * 4)
    V[0, 1, 0, 1] = V[1, 0, 1, 0] = V[0, 1, 1, 0] = V[1, 0, 0, 1] = 0.3
    T1, T3, source = tangent_response(get_activation("erf"), K, V, None)
    np.testing.assert_allclose(T1[0, 1], float(sp.diff(T, k11).subs(vals)), rtol=1e-7)
    np.testing.assert_allclose(T3[0, 1], float(sp.diff(T, k12).subs(vals)), rtol=1e-7)
    np.testing.assert_allclose(
        source[0, 1], 0.5 * 0.3 * float(sp.diff(T, k12, 2).subs(vals)), rtol=1e-5
    )
    t = T.subs({k22: k11, k12: k11})
    np.testing.assert_allclose(T3[0, 0], float(sp.diff(t, k11).subs(k11, 1.2)), rtol=1e-7)


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def test_bad_input() -> None:
    mlp = fnn.MLP("tanh", [1, 20, 20, 1])
    with pytest.raises(ArgumentError, match="C_W"):
        ntk_fluctuations(mlp, X2, C_W=1.0)
    with pytest.raises(ArgumentError, match="widths"):
        ntk_fluctuations("tanh", X2, C_W=1.0, C_b=0.0)
    with pytest.raises(UnsupportedError, match="act"):
        ntk_fluctuations("gauss", X2, C_W=1.0, C_b=0.1, widths=[1, 50, 50, 1])
    with pytest.warns(RuntimeWarning, match="L/n = 0.75"):
        ntk_fluctuations("tanh", X2, C_W=1.0, C_b=0.1, widths=[1, 4, 4, 1])


def test_erf_closed_form_moments_against_the_lattice_rule() -> None:
    from scipy.special import erf

    K = np.array([[1.3, -0.4], [-0.4, 2.0]])  # every entry: tilted pairs inside and outside
    user = get_activation(erf, derivative=lambda z: 2 / np.sqrt(np.pi) * np.exp(-z * z))
    closed = mixed_four_moments(get_activation("erf"), K)
    lattice = mixed_four_moments(user, K)
    for a, b in zip(closed, lattice, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_user_callable_activation_matches_the_registry() -> None:
    # a user σ: σ' by complex step, ⟨σ'σ'⟩ and the moments by the lattice rule
    kw = dict(C_W=1.5, C_b=0.1, widths=[1, 40, 40, 40, 1])
    ref = ntk_fluctuations("tanh", X2, **kw)
    user = ntk_fluctuations(lambda z: np.tanh(z), X2, **kw)
    for key in ("Theta1", "A", "B", "D", "F"):
        np.testing.assert_allclose(getattr(user, key)[-1], getattr(ref, key)[-1], rtol=1e-6)


def test_docstring_example() -> None:
    import doctest

    import fieldnn.kernels._ntk_fluctuations as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
