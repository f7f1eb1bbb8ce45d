"""The optional compiled erf of the sampler is bitwise SciPy's, so samples do not depend on it."""

from __future__ import annotations

import importlib.util

import numpy as np
from scipy.special import erf

from fieldnn.ensembles import SingleLayerNet, sample_outputs
from fieldnn.ensembles._forward import _fast_erf_kernel, fast_erf_inplace


def test_fast_erf_is_bitwise_scipy_over_many_octaves() -> None:
    rng = np.random.default_rng(7)
    z = rng.standard_normal(200_000) * 10.0 ** rng.uniform(-8, 2, 200_000)
    z = np.concatenate([z, [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 6.0, -6.0]])
    got = fast_erf_inplace(z.copy())
    assert np.array_equal(got, erf(z), equal_nan=True)


def test_compiled_kernel_is_used_when_numba_is_installed() -> None:
    has_numba = importlib.util.find_spec("numba") is not None
    assert (_fast_erf_kernel() is not None) == has_numba


def test_samples_identical_with_and_without_the_compiled_erf(run_without_numba) -> None:
    X = np.linspace(-1.0, 1.0, 6)[:, None]
    net = SingleLayerNet("erf", width=50)
    here = sample_outputs(net, X, 300, rng=3)
    code = (
        "import numpy as np, sys\n"
        "from fieldnn.ensembles import SingleLayerNet, sample_outputs\n"
        "X = np.linspace(-1.0, 1.0, 6)[:, None]\n"
        "f = sample_outputs(SingleLayerNet('erf', width=50), X, 300, rng=3)\n"
        "sys.stdout.buffer.write(np.ascontiguousarray(f).tobytes())\n"
    )
    stdout = run_without_numba(code)
    there = np.frombuffer(stdout, dtype=np.float64).reshape(here.shape)
    assert np.array_equal(np.asarray(here), there)
