"""Scale: bounded memory and dask speed-up of estimate_correlators (run on demand; not a test).

    python benchmarks/bench_scale.py [--quick]

Issue 6 target 7. (a) Peak RSS of a fresh process running ``estimate_correlators`` (Erf-net
N = 1000, P = 6, orders 2, 4, 6) for growing n_nets: it must not grow with n_nets (chunks are
reduced to power sums over unique multisets and dropped). The time of 10⁸ networks is
extrapolated from the measured rate. (b) a dask ``LocalCluster`` with 2 single-threaded worker
processes against 1, same run: wall times and a bitwise comparison of every returned tensor.
Both sample in float32, the fast path for this net (docs/numerics.md, "float32 sampling"; its
effect on the correlators is ~1e-6 of their standard errors); power sums are float64.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
from _table import Row, load

CHILD = """
import json, resource, sys, time, numpy as np
from fieldnn.ensembles import SingleLayerNet, estimate_correlators
n = int(sys.argv[1])
X = np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])[:, None]
net = SingleLayerNet("erf", width=1000)
estimate_correlators(net, X, 100, orders=(2, 4, 6), dtype=np.float32)  # load numba's kernels
t = time.perf_counter()
estimate_correlators(net, X, n, orders=(2, 4, 6), dtype=np.float32)
print(json.dumps({"seconds": time.perf_counter() - t,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def rss_rows(sizes: list[int]) -> list[Row]:
    results = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True
        )
        results.append((n, json.loads(out.stdout)))
    rate = sizes[-1] / results[-1][1]["seconds"]
    rss = ", ".join(f"{n}: {r['rss_mb']:.0f} MB" for n, r in results)
    return [
        Row(
            "7a estimate_correlators float32 peak RSS vs n_nets",
            None,
            results[-1][1]["seconds"],
            f"peak RSS {rss}; 1e8 nets at {rate:.3g} nets/s ≈ {1e8 / rate / 3600:.1f} h on this "
            f"machine, same RSS; {load()}",
            "RSS flat",
        )
    ]


CHUNK = 10_000


def dask_row(n: int) -> list[Row]:
    from distributed import Client, LocalCluster

    from fieldnn.ensembles import SingleLayerNet, estimate_correlators

    X = np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])[:, None]
    net = SingleLayerNet("erf", width=1000)
    seconds, results = [], []
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            # warm the workers (numba's cached kernels load once per process)
            estimate_correlators(net, X, 2000, client=client, dtype=np.float32)
            t = time.perf_counter()
            # chunks of 10 000 nets (≈ 0.25 s of work each): scheduler traffic per task is
            # then negligible, and the two workers' clocks are the whole story
            est = estimate_correlators(
                net, X, n, orders=(2, 4, 6), client=client, dtype=np.float32, chunk_size=CHUNK
            )
            seconds.append(time.perf_counter() - t)
            results.append(est)
    same = all(
        np.array_equal(getattr(results[0], f)(k), getattr(results[1], f)(k), equal_nan=True)
        for f in ("full", "connected", "stderr")
        for k in (2, 4, 6)
    )
    return [
        Row(
            f"7b dask LocalCluster 2 workers vs 1, float32, {n} nets, chunks of {CHUNK}",
            seconds[0],
            seconds[1],
            f"bitwise identical: {same}; {n / seconds[1]:.3g} nets/s on 2 workers; {load()}",
            ">= 1.7x",
        )
    ]


def cases(quick: bool) -> list[Row]:
    sizes = [2000, 8000] if quick else [2000, 10000, 40000]
    # a long run: the float32 path does 40 000 nets in < 1 s, where dask start-up would dominate
    return rss_rows(sizes) + dask_row(80_000 if quick else 400_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for row in cases(parser.parse_args().quick):
        print(f"{row.case}: {row.baseline} / {row.fieldnn:.3g} s — {row.merit}")


if __name__ == "__main__":
    main()
