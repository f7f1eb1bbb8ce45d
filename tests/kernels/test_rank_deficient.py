"""NTK and dNTK statistics where inputs are perfectly (anti)correlated (issue 13's example:
d_in = 1 and C_b = 0 make the first layer rank 1, and odd σ keeps z(−x) = −z(x) at every layer).

Independent routes: the continuum limit C_b = ε → 0 of the regular path (Richardson, error
O(ε²)), the exact multilinearity of bias-free linear nets in x, the lattice moments with every
input integrated, and sampled networks at C_b = 0 (pulls in standard errors).
"""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.kernels import dntk_statistics, get_activation
from fieldnn.kernels._deep_gaussian import check_on_line
from fieldnn.kernels._dntk_moments import FOURS, PAIRS, derivatives
from fieldnn.kernels._moment_lattice import lattice_moments, parity
from fieldnn.kernels.deep import _pair_matrix

from .test_dntk import sampled_PQ
from .test_ntk_fluctuations import _pulls

X_MIRROR = np.array([[-1.0], [0.5], [1.0]])  # x_0 = −x_2: z_0 = −z_2 at every layer
NTK_KEYS = ("K1", "Theta1", "V", "A", "B", "D", "F")


def _last(s) -> dict:
    """The last layer's O(1/n) tensors of a DNTKStatistics."""
    out = {k: getattr(s.ntk, k)[-1] for k in NTK_KEYS}
    out.update({k: getattr(s, k)[-1] for k in "PQRSTU"})
    return out


def _richardson(act: str, eps: float, widths: list[int]) -> tuple[dict, dict, dict]:
    """Tensors at C_b = 0, the extrapolation 2f(ε) − f(2ε) and f(ε)."""
    f0, f1, f2 = (
        _last(dntk_statistics(act, X_MIRROR, C_W=1.0, C_b=e, widths=widths))
        for e in (0.0, eps, 2 * eps)
    )
    return f0, {k: 2 * f1[k] - f2[k] for k in f0}, f1


def _check_limit(act: str, eps: float, tol: float, resolved: float) -> None:
    f0, extrapolated, f1 = _richardson(act, eps, [1, 30, 30, 30, 1])
    for key, value in f0.items():
        scale = np.max(np.abs(value))
        assert scale > 0, key
        # the C_b = 0 path equals the limit of the regular one ...
        assert np.max(np.abs(value - extrapolated[key])) < tol * scale, key
        # ... and the check resolves the O(ε) approach to it
        assert np.max(np.abs(value - f1[key])) > resolved * scale, key


def test_erf_at_zero_bias_is_the_limit_of_small_biases() -> None:
    # closed-form moments; the Richardson remainder is O(ε²) ~ 1e-7 at ε = 1e-5
    _check_limit("erf", 1e-5, 1e-6, 4e-5)


@pytest.mark.slow
def test_tanh_at_zero_bias_is_the_limit_of_small_biases() -> None:
    # lattice moments; remainder ~1e-5 at ε = 1e-4 (measured 1.1e-5 at most), shifts ≥ 4.6e-4
    _check_limit("tanh", 1e-4, 4e-5, 3e-4)


def test_bias_free_linear_net_is_multilinear_in_x() -> None:
    # z(x) = x · z(1) exactly: every tensor at inputs (x_a, x_b, …) is x_a x_b … times its value
    # at the single input x = 1; the pairs here are perfectly correlated with variance ratios
    # 4, 1/16 and 1/4 (input ratios 2, −1/2, −1/4: the line of the kernel, c ≠ ±1)
    x = np.array([1.0, 2.0, -0.5])
    kw = dict(C_W=[1.2, 0.8, 1.5, 1.1], C_b=0.0, widths=[1, 20, 30, 40, 1], lambda_b=0.0)
    many = _last(dntk_statistics("linear", x[:, None], **kw))
    one = _last(dntk_statistics("linear", np.array([[1.0]]), **kw))
    for key, value in many.items():
        powers = np.ones(value.shape)
        for axis in range(value.ndim):
            powers = powers * x.reshape((1,) * axis + (3,) + (1,) * (value.ndim - 1 - axis))
        np.testing.assert_allclose(value, powers * one[key].ravel()[0], rtol=1e-9, atol=1e-12)
    assert np.max(np.abs(many["V"])) > 0.1 and np.max(np.abs(many["Q"])) > 0.1


def test_copies_and_mirror_images_are_integrated_once() -> None:
    # a tanh kernel with a copy (input 3 = input 1) and mirror images (0 = −2, 4 = −1): the
    # moments from the two distinct inputs equal those with every input integrated (parity 0)
    act = get_activation("tanh")
    x = np.array([-1.0, 0.5, 1.0, 0.5, -0.5])
    K = _pair_matrix(act, np.outer(x, x))
    assert parity(act) == -1

    def functions(z: np.ndarray) -> list[np.ndarray]:
        return derivatives(act, z)

    fast, worst_fast = lattice_moments(functions, PAIRS + FOURS, K, rtol=1e-7, parity=-1)
    full, worst_full = lattice_moments(functions, PAIRS + FOURS, K, rtol=1e-7, parity=0)
    assert max(worst_fast, worst_full) < 1e-7
    for a, b in zip(fast, full, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8 * np.max(np.abs(b)))
    # the signs of the mirror images are exercised: ⟨σ''_0 σ_1⟩ = −⟨σ''_2 σ_1⟩ (σ'' odd)
    assert abs(fast[1][0, 1]) > 0.01
    np.testing.assert_allclose(fast[1][0, 1], -fast[1][2, 1], rtol=1e-12)


def test_fluctuations_off_the_degenerate_line_are_refused() -> None:
    # z_1 = −2 z_0: V_(ij)(kl) = (−2)^m V_(00)(00), m the number of indices 1
    line = (-2.0) ** np.indices((2, 2, 2, 2)).sum(axis=0)
    check_on_line(line, 0, 1, -2.0)
    off = line.copy()
    off[0, 1, 0, 1] *= 1.01
    with pytest.raises(UnsupportedError, match="X"):
        check_on_line(off, 0, 1, -2.0)


def test_issue_example_runs_and_is_mirror_symmetric() -> None:
    # the issue's network at its seven inputs: z(−x) = −z(x) and, without bias learning rates
    # (∂z/∂b is even in x), ∂z(−x)/∂W = −∂z(x)/∂W, so every statistic is odd in each index
    mlp = fnn.MLP("tanh", [1, 64, 64, 1], C_W=1.0, C_b=0.0)
    X = np.array([-1.5, -0.5, 0.5, 1.5, -1.0, 0.25, 1.0])[:, None]
    s = dntk_statistics(mlp, X, lambda_b=0.0)
    mirror = np.array([3, 2, 1, 0, 6, 5, 4])
    keep = np.flatnonzero(np.arange(7) != 5)  # 0.25 has no mirror image among the inputs
    for key, value in _last(s).items():
        assert np.all(np.isfinite(value)), key
        sub = np.ix_(*[keep] * value.ndim)
        for axis in range(value.ndim):  # odd in every index
            flipped = np.take(value, mirror, axis=axis)
            np.testing.assert_allclose(
                flipped[sub], -value[sub], rtol=0, atol=1e-7 * np.max(np.abs(value)), err_msg=key
            )
        assert np.max(np.abs(value)) > 0, key


@pytest.mark.slow
@pytest.mark.parametrize("act", ["tanh", "erf"])
def test_zero_bias_against_sampled_networks(act: str) -> None:
    # C_b = 0 with a mirrored pair: NTK statistics (6000 nets) and P, Q of the dNTK (2000 nets)
    X = np.array([[0.5], [-0.5], [1.0]])
    mlp = fnn.MLP(act, [1, 64, 64, 2], C_W=1.0, C_b=0.0)
    pulls, signal, _ = _pulls(mlp, X, R=6000, seed=13)
    for key, p in pulls.items():
        assert np.max(np.abs(p)) < 4.0, (key, p)
    for key, snr in signal.items():
        assert snr > 5.0, key
    widths = [1, 64, 64, 3]
    theory = dntk_statistics(act, X, C_W=1.0, C_b=0.0, widths=widths)
    for (mean, err), T in zip(
        sampled_PQ(act, widths, X, 1.0, 0.0, 2000), (theory.P[-1], theory.Q[-1]), strict=True
    ):
        assert np.max(np.abs(mean - T) / err) < 4.0
        assert np.median(np.abs(T) / err) > 10.0


def test_exact_tanh_derivatives_against_sympy_and_differences() -> None:
    # σ'' and σ''' of tanh are exact polynomials in σ (sympy), and agree with the five-point
    # differences used for other σ to their ~1e-10 accuracy
    import sympy as sp

    from fieldnn.kernels.activations import _five_point

    x = sp.symbols("x")
    z = np.linspace(-4.0, 4.0, 17)
    exact = [np.array([float(sp.diff(sp.tanh(x), x, k).subs(x, v)) for v in z]) for k in range(4)]
    ours = derivatives(get_activation("tanh"), z)
    for k in range(4):
        np.testing.assert_allclose(ours[k], exact[k], rtol=0, atol=2e-15)
    second = _five_point(lambda u: 1.0 - np.tanh(u) ** 2, z, np)
    np.testing.assert_allclose(second, ours[2], rtol=0, atol=1e-9)


@pytest.mark.slow
def test_relu_at_zero_bias_against_sampled_networks() -> None:
    # relu keeps z(2x) = 2 z(x): inputs 0.5 and 1 are perfectly correlated with variance ratio
    # 4 at every layer (second-order term 0 on the line, responses along it); 6000 nets
    X = np.array([[0.5], [1.0], [-1.0]])
    mlp = fnn.MLP("relu", [1, 64, 64, 2], C_W=2.0, C_b=0.0)
    pulls, signal, _ = _pulls(mlp, X, R=6000, seed=13)
    for key, p in pulls.items():
        assert np.max(np.abs(p)) < 4.0, (key, p)
    for key, snr in signal.items():
        assert snr > 5.0, key


def test_weak_axes_by_gauss_hermite_against_the_erf_closed_forms() -> None:
    # layer 2 of [1, n, n, 1] at C_b = 0 and seven inputs on [−1.1, 1] (no mirrors): full rank,
    # 35 blocks of rank 4, the first with axes of scale 1e-3 and 9e-3 (Gauss–Hermite, 4 and 6
    # nodes), 0.06 (weak lattice axis) and 0.7; exact erf derivatives on that rule against the
    # closed forms
    from scipy.special import erf

    from fieldnn.kernels._dntk_moments import dntk_moments
    from fieldnn.kernels._moment_lattice import hermite_nodes
    from fieldnn.kernels._quadrature import rank_factor

    def erf_derivatives(z: np.ndarray) -> list[np.ndarray]:
        d = 2 / np.sqrt(np.pi) * np.exp(-z * z)
        return [erf(z), d, -2 * z * d, (4 * z * z - 2) * d]

    act = get_activation("erf")
    x = np.linspace(-1.1, 1.0, 7)
    K = _pair_matrix(act, np.outer(x, x))
    scales = np.sort(np.max(np.abs(rank_factor(K[:4, :4])), axis=0))
    assert scales[1] < 0.02 < scales[2]
    assert [hermite_nodes(s) for s in scales[:2]] == [4, 6]
    values, worst = lattice_moments(erf_derivatives, PAIRS + FOURS, K, rtol=1e-9)
    assert worst < 1e-9
    pm, fm = dntk_moments(act, K)
    for key, ref in zip(PAIRS + FOURS, values, strict=True):
        closed = pm[key] if len(key) == 2 else fm[key]
        np.testing.assert_allclose(ref, closed, rtol=0, atol=1e-9 * np.max(np.abs(closed)))
