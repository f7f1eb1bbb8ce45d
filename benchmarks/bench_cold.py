"""Cold first calls: each case in a fresh Python process (run on demand; not a test).

    python benchmarks/bench_cold.py

Issue 16, "cold first calls": what a new user waits for on the first call of a session. Each
case runs in a new interpreter (``subprocess``), after one warm-up process has filled the numba
disk cache (``NUMBA_CACHE_DIR``, by default ``<user cache>/fieldnn/numba``,
:mod:`fieldnn.kernels._jit_cache`): the row's fieldnn time is the first call (imports of numba
and the cache load included, ``import fieldnn`` excluded and stated), the baseline column the
second, warm call of the same process. One more row times the same first call with an empty
cache directory (the one-time compilation after installing). Target: every first call < 1 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from _table import Row, load

CASES = {
    "measure_lambda Erf-net d_in=2 (4 inputs, N=10, cutoff 10)": (
        "net = fnn.SingleLayerNet('erf', width=10, d_in=2, sigma_w2=1.0, sigma_b2=1.0)\n"
        "X = np.array([[-1., -1.], [-1., 1.], [1., -1.], [1., 1.]])\n"
        "call = lambda: fnn.measure_lambda(net, X, cutoff=10.0)\n"
    ),
    "exact_connected Erf-net G4+G6 (6 inputs, N=1000)": (
        "net = fnn.SingleLayerNet('erf', width=1000)\n"
        "X = np.linspace(-1, 1, 6)[:, None]\n"
        "call = lambda: (net.exact_connected(X, 4), net.exact_connected(X, 6))\n"
    ),
    "kernel_and_ntk relu depth 10, P=200": (
        "X = np.random.default_rng(0).normal(size=(200, 8))\n"
        "call = lambda: fnn.kernel_and_ntk('relu', X, C_W=2.0, C_b=0.1, lambda_W=2.0,"
        " lambda_b=0.1, depth=10)\n"
    ),
    "estimate_correlators Erf-net G2,G4 (6 inputs, N=1000, 2000 nets)": (
        "net = fnn.SingleLayerNet('erf', width=1000)\n"
        "X = np.linspace(-1, 1, 6)[:, None]\n"
        "call = lambda: fnn.estimate_correlators(net, X, n_nets=2000, orders=(2, 4), rng=0)\n"
    ),
}

_RUNNER = (
    "import time\n"
    "t0 = time.perf_counter()\n"
    "import numpy as np\n"
    "import fieldnn as fnn\n"
    "t1 = time.perf_counter()\n"
    "{setup}"
    "t2 = time.perf_counter(); call(); t3 = time.perf_counter(); call(); t4 = time.perf_counter()\n"
    "import json; print(json.dumps([t1 - t0, t3 - t2, t4 - t3]))\n"
)


def _fresh(setup: str, env: dict[str, str]) -> tuple[float, float, float]:
    """(import, first call, second call) seconds in a new interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _RUNNER.format(setup=setup)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode:
        raise RuntimeError(f"the fresh process failed:\n{out.stderr[-3000:]}")
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))  # type: ignore[return-value]


def cases(quick: bool) -> list[Row]:
    env = dict(os.environ)
    rows = []
    for name, setup in CASES.items():
        _fresh(setup, env)  # fills the disk cache if needed
        best = min(_fresh(setup, env) for _ in range(1 if quick else 2))
        imp, first, second = best
        rows.append(
            Row(
                f"10 cold first call: {name}",
                second,
                first,
                f"fresh process; baseline = the warm second call; import fieldnn {imp:.2g} s; "
                f"{load()}",
                "< 1 s",
            )
        )
    name, setup = next(iter(CASES.items()))
    with tempfile.TemporaryDirectory() as empty:
        imp, first, second = _fresh(setup, {**env, "NUMBA_CACHE_DIR": empty})
    rows.append(
        Row(
            f"10 first call with an empty numba cache: {name}",
            second,
            first,
            f"one-time compilation after installing; import fieldnn {imp:.2g} s; {load()}",
            "",
        )
    )
    return rows


if __name__ == "__main__":
    for row in cases(False):
        print(f"{row.case}: first {row.fieldnn:.3g} s, warm {row.baseline:.3g} s — {row.merit}")
