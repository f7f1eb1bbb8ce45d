"""The float32 Erf-net path: erf32 accuracy, ziggurat normals, compiled = NumPy bitwise,
float32 vs float64 outputs, and sampled correlators against the exact finite-width ones."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy import stats
from scipy.special import erf

from fieldnn.ensembles import MLP, SingleLayerNet, estimate_correlators, sample_outputs
from fieldnn.ensembles import _fast32 as f32

HAS_NUMBA = importlib.util.find_spec("numba") is not None
X6 = np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])[:, None]


def test_erf32_accuracy_on_a_dense_grid() -> None:
    """The bounds stated in the module docstring, against float64 SciPy of the same input."""
    x = np.concatenate([np.linspace(0.0, 6.0, 1_000_001), np.geomspace(1e-30, 1.0, 20_000)])
    x = x.astype(np.float32)
    y = f32.erf32(x)
    assert y.dtype == np.float32
    ref = erf(x.astype(np.float64))
    err = np.abs(y - ref)
    ulp = err / np.spacing(ref.astype(np.float32)).astype(np.float64)
    assert err.max() < 9.5e-8
    assert (err[x > 0] / ref[x > 0]).max() < 1.1e-7
    assert ulp.max() <= 1.5
    assert np.array_equal(f32.erf32(-x), -y)  # odd
    special = f32.erf32(np.array([np.inf, -np.inf, np.nan, 3.92, -30.0], dtype=np.float32))
    assert np.array_equal(special, [1.0, -1.0, np.nan, 1.0, -1.0], equal_nan=True)
    # the test can fail: SciPy's float32 erf is not bitwise this approximation
    assert not np.array_equal(y, erf(x))


def test_compiled_kernels_are_bitwise_the_numpy_reference() -> None:
    assert (f32._kernels() is not None) == HAS_NUMBA
    rng = np.random.default_rng(4)
    z = (rng.standard_normal(100_000) * 3).astype(np.float32)
    assert np.array_equal(f32.erf32_inplace(z.copy()), f32.erf32(z))
    g = rng.standard_normal((4, 300, 3))
    F = rng.standard_normal((3, 7)).astype(np.float32)
    mean = rng.standard_normal(7).astype(np.float32)
    h = f32.first_layer_erf32(g, F, mean, np.empty((4, 7, 300)))
    assert np.array_equal(h, f32.first_layer_erf32_numpy(g, F, mean, np.empty((4, 7, 300))))
    # and is the float32 layer: within float32 rounding of the float64 one
    exact = erf(np.einsum("bjk,kp->bpj", g, F.astype(np.float64)) + mean[:, None])
    assert np.abs(h - exact).max() < 5e-6
    # the fused net (readout summed in float64 lanes), N = 300 + 5 not a multiple of 8
    g = rng.standard_normal((4, 305, 3))
    R = rng.standard_normal((4, 2, 306))
    coef = np.array([305**-0.5, 0.8, 0.3, -0.2])
    got = f32.erf_net(g, F, mean, R, coef, np.empty((4, 7, 2), dtype=np.float32))
    want = f32.erf_net_numpy(g, F, mean, R, coef, np.empty((4, 7, 2), dtype=np.float32))
    assert np.array_equal(got, want)
    h = erf(np.einsum("bjk,kp->bpj", g, F.astype(np.float64)) + mean[:, None])
    exact = (
        coef[0] * np.einsum("boj,bpj->bpo", R[:, :, :305], h)
        + coef[1] * R[:, None, :, 305]
        + (coef[2] + coef[3] * h.sum(axis=2))[:, :, None]
    )
    assert np.abs(got - exact).max() < 1e-5
    a = f32.standard_normals(np.random.SFC64(8), np.empty(60_000))
    assert np.array_equal(a, f32.standard_normals_numpy(np.random.SFC64(8), np.empty(60_000)))


def test_ziggurat_normals_are_standard_normal() -> None:
    x = f32.standard_normals(np.random.SFC64(2024), np.empty(1_000_000))
    n = x.size
    assert np.all(np.isfinite(x))
    # moments 1..6 of N(0, 1) within 5 standard errors (Var x^k = E x^2k − (E x^k)^2)
    x2 = x * x
    powers = {1: x, 2: x2, 3: x2 * x, 4: x2 * x2, 6: x2 * x2 * x2}
    for k, exact, var in ((1, 0, 1), (2, 1, 2), (3, 0, 15), (4, 3, 96), (6, 15, 10170 - 225)):
        assert abs(np.mean(powers[k]) - exact) < 5 * np.sqrt(var / n), k
    assert stats.kstest(x, "norm").pvalue > 1e-3
    # the tail beyond R = 3.654 (drawn by the slow path) has the right mass
    tail = np.mean(np.abs(x) > f32._ZIG_R)
    p = 2 * stats.norm.sf(f32._ZIG_R)
    assert abs(tail - p) < 5 * np.sqrt(p / n)
    # the tests can fail: a 1 % wrong scale is rejected
    assert stats.kstest(1.01 * x, "norm").pvalue < 1e-4


def test_resolve_reports_when_its_words_run_out() -> None:
    words = np.array([np.uint64(2**63)])
    assert f32._resolve(5, 0.999, words, 0, f32._ZIG_X, f32._ZIG_RATIO) == (0.0, -1)


def test_float32_samples_close_to_float64_on_the_same_normals() -> None:
    """Same normals through both precisions: the outputs differ only by float32 rounding."""
    net = SingleLayerNet("erf", width=1000)
    plan = net.forward_plan(X6)
    draws = plan.draw(np.random.Generator(np.random.SFC64(3)), 20)
    f64 = plan.forward([d.copy() for d in draws], np, np.float64)
    f_32 = plan.forward(draws, np, np.float32)
    assert f_32.dtype == np.float32 and f_32.shape == f64.shape == (20, 6, 1)
    diff = np.abs(f_32 - f64).max() / np.abs(f64).max()
    assert 0 < diff < 1e-6
    # two inputs: the readout is drawn conditionally on h (not fused), d_out = 2
    plan = SingleLayerNet("erf", width=1000, d_out=2).forward_plan(X6[:2])
    assert plan.modes == (True,)
    draws = plan.draw(np.random.Generator(np.random.SFC64(5)), 20)
    f64 = plan.forward([d.copy() for d in draws], np, np.float64)
    f_32 = plan.forward(draws, np, np.float32)
    assert f_32.shape == (20, 2, 2)
    assert 0 < np.abs(f_32 - f64).max() < 1e-6 * np.abs(f64).max()
    # deep MLPs in float32 use erf32 too (float32 matmuls): agree to float32 accuracy
    mlp = MLP("erf", widths=[1, 64, 64, 1], C_W=1.5, C_b=0.1)
    plan = mlp.forward_plan(X6)
    draws = plan.draw(np.random.Generator(np.random.SFC64(4)), 30)
    g64 = plan.forward([d.copy() for d in draws], np, np.float64)
    g32 = plan.forward(draws, np, np.float32)
    assert np.abs(g32 - g64).max() < 1e-5 * np.abs(g64).max()


def test_float32_samples_do_not_depend_on_threads_or_numba(run_without_numba) -> None:
    net = SingleLayerNet("erf", width=50)
    one = sample_outputs(net, X6, 300, rng=3, dtype=np.float32, threads=1)
    two = sample_outputs(net, X6, 300, rng=3, dtype=np.float32, threads=2)
    assert one.dtype == np.float32 and np.array_equal(one, two)
    code = (
        "import numpy as np, sys\n"
        "from fieldnn.ensembles import SingleLayerNet, sample_outputs\n"
        "X = np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])[:, None]\n"
        "f = sample_outputs(SingleLayerNet('erf', width=50), X, 300, rng=3, dtype=np.float32)\n"
        "sys.stdout.buffer.write(np.ascontiguousarray(f).tobytes())\n"
        "from fieldnn.ensembles import estimate_correlators\n"
        "e = estimate_correlators(SingleLayerNet('erf', width=50), X, 600, orders=(4,),\n"
        "                         chunk_size=200, dtype=np.float32)\n"
        "sys.stdout.buffer.write(e.connected(4).tobytes() + e.stderr(4).tobytes())\n"
    )
    stdout = run_without_numba(code)
    there = np.frombuffer(stdout[: one.nbytes], dtype=np.float32).reshape(one.shape)
    assert np.array_equal(one, there)
    # power sums too (numba's vs the array-API ones)
    est = estimate_correlators(net, X6, 600, orders=(4,), chunk_size=200, dtype=np.float32)
    both = np.concatenate([est.connected(4).ravel(), est.stderr(4).ravel()])
    assert np.array_equal(both, np.frombuffer(stdout[one.nbytes :], dtype=np.float64))
    # the float32 path draws its own (ziggurat) networks: not those of float64
    f64 = sample_outputs(net, X6, 300, rng=3, threads=1)
    assert np.abs(one - f64).max() > 0.1


@pytest.mark.parametrize(
    ("width", "X", "d_out"), [(2, X6[[0, 2, 5]], 1), (3, X6[[1, 4]], 1), (2, X6[[0, 5]], 2)]
)
def test_float32_correlators_match_exact_finite_width(width, X, d_out, within_sigma) -> None:
    """One and two species (the readout of these narrow nets is fused into the kernel)."""
    net = SingleLayerNet("erf", width=width, sigma_w2=1.5, sigma_b2=0.5, d_out=d_out)
    est = estimate_correlators(
        net, X, 100_000, orders=(2, 4, 6), rng=5, chunk_size=5000, dtype=np.float32
    )
    assert est.provenance["dtype"] == "float32"
    for n in (2, 4, 6):
        within_sigma(est.connected(n), net.exact_connected(X, n), est.stderr(n))
    with pytest.raises(AssertionError):  # the infinite-width value is excluded
        within_sigma(est.connected(4), np.zeros_like(est.connected(4)), est.stderr(4))


def test_float32_with_means_agrees_with_float64(within_sigma) -> None:
    """μ_W, μ_b ≠ 0 (the mean enters the fused first layer): float32 and float64 ensembles
    (independent networks) agree within their combined standard errors."""
    net = SingleLayerNet("erf", width=3, sigma_w2=1.5, sigma_b2=0.5, mu_w=0.4, mu_b=0.3)
    X = X6[[1, 4]]
    args = {"orders": (4,), "chunk_size": 5000}
    e32 = estimate_correlators(net, X, 100_000, rng=6, dtype=np.float32, **args)
    e64 = estimate_correlators(net, X, 100_000, rng=7, **args)
    for n in (1, 2, 4):
        within_sigma(e32.connected(n), e64.connected(n), np.hypot(e32.stderr(n), e64.stderr(n)))
    with pytest.raises(AssertionError):  # the means are seen
        within_sigma(e32.connected(1), np.zeros(2), e32.stderr(1))
