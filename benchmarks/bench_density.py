"""Speed of the exact output density (run on demand: ``python benchmarks/bench_density.py``).

Issue 12 target: ``exact_density`` of a single-layer net at 100 values of f under 1 s. Each
repeat uses a new input (nothing is cached between calls); f spans ±4√K.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np
from _table import Row, load

import fieldnn as fnn

CASES = (("erf", 10), ("relu", 10), ("gauss", 10), ("gauss", 2), ("tanh", 1000))


def _time_density(activation: str, width: int, repeat: int) -> float:
    """Best wall-clock seconds of exact_density at 100 values of f."""
    net = fnn.SingleLayerNet(activation, width=width)
    times = []
    for r in range(repeat):
        x = [[0.5 + 0.01 * r]]
        f = np.linspace(-4.0, 4.0, 100) * np.sqrt(net.kernel(x)[0, 0])
        t = time.perf_counter()
        net.exact_density(x, f)
        times.append(time.perf_counter() - t)
    return min(times)


def cases(quick: bool) -> list[Row]:
    rows = []
    for act, N in CASES[:2] if quick else CASES:
        seconds = _time_density(act, N, 2 if quick else 5)
        rows.append(
            Row(
                f"exact_density({act} net, N = {N}, 100 values of f)",
                None,
                seconds,
                load(),
                "< 1 s",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in cases(args.quick):
        print(f"{row.case}: {row.fieldnn:.3g} s (target {row.target}; {row.merit})")


if __name__ == "__main__":
    main()
