"""Speed of the effective action (run on demand: ``python benchmarks/bench_effective.py``).

Issue 12 target: ``effective_action`` of a single-layer net at P = 10 inputs, order 2, under 1 s.
Each repeat uses new inputs (shifted by 1e-3), so no cached single-unit moments are reused; the
time includes the exact finite-width cumulants (G2, G4c, G6c) and the reconstruction.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np
from _table import Row, load

import fieldnn as fnn


def _time_action(activation: str, P: int, order: int, repeat: int) -> tuple[float, float]:
    """Best wall-clock seconds of (exact cumulants + reconstruction, reconstruction alone)."""
    net = fnn.SingleLayerNet(activation, width=100, sigma_b2=0.5, sigma_w2=1.5)
    fnn.effective_action(net, np.linspace(-1, 1, 3)[:, None], order=order)  # imports, caches
    totals, alone = [], []
    for r in range(repeat):
        X = np.linspace(-1, 1, P)[:, None] + 1e-3 * (r + 1)
        t = time.perf_counter()
        fnn.effective_action(net, X, order=order)
        totals.append(time.perf_counter() - t)
        t = time.perf_counter()  # second call: the cumulants are cached, only the action is built
        fnn.effective_action(net, X, order=order)
        alone.append(time.perf_counter() - t)
    return min(totals), min(alone)


def cases(quick: bool) -> list[Row]:
    rows = []
    for act in ("erf",) if quick else ("erf", "relu"):
        total, alone = _time_action(act, 10, 2, 2 if quick else 4)
        rows.append(
            Row(
                f"effective_action({act} net, P = 10, order 2)",
                None,
                total,
                f"reconstruction alone {alone:.3g} s; {load()}",
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
