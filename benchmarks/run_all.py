"""Run every benchmark of issues 6, 15 and 16 and print one table (also written as Markdown).

    python benchmarks/run_all.py [--quick] [--out benchmarks/results.md] [--only 1a,3,...]

Rows come from the ``cases(quick)`` functions of the bench_*.py modules (each also runs on
its own). Columns: case, baseline seconds, fieldnn seconds, ratio = baseline / fieldnn, the
target, figure of merit. A missing baseline means the target is an absolute time.
BLAS runs single-threaded (``OPENBLAS_NUM_THREADS=1`` unless set): fieldnn parallelises over
blocks, chunks and workers itself, and a multi-threaded BLAS on small matrices on this shared
2-core machine was measured 4.6× slower (exact G6 of the Erf-net: 1.63 s vs 0.35 s).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import platform
import time
from pathlib import Path

import bench_cold
import bench_deep
import bench_exact
import bench_integrals
import bench_kernels
import bench_memory
import bench_ntk
import bench_sampling
import bench_scale
import bench_symbolic
import bench_user_activations
import numpy as np
import scipy
from _table import Row

MODULES = {
    "sampling": bench_sampling,
    "exact": bench_exact,
    "symbolic": bench_symbolic,
    "integrals": bench_integrals,
    "deep": bench_deep,
    "scale": bench_scale,
    "kernels": bench_kernels,
    "cold": bench_cold,
    "memory": bench_memory,
    "user": bench_user_activations,
    "ntk": bench_ntk,
}


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import numba

        jit = f"numba {numba.__version__}"
    except ImportError:
        jit = "no numba"
    return (
        f"{os.cpu_count()} CPUs ({model}), python {platform.python_version()}, numpy "
        f"{np.__version__}, scipy {scipy.__version__}, {jit}, OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS')}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


def markdown(rows: list[Row], header: str) -> str:
    lines = [
        header,
        "",
        "| case | baseline | fieldnn | ratio | target | figure of merit |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = "" if r.baseline is None else f"{r.baseline:.3g} s"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}×"
        lines.append(
            f"| {r.case} | {base} | {r.fieldnn:.3g} s | {ratio} | {r.target} | {r.merit} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer networks and repeats")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.md"))
    parser.add_argument("--only", default=",".join(MODULES), help="comma-separated modules")
    args = parser.parse_args()
    start = f"started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}: {machine()}"
    rows: list[Row] = []
    for name in args.only.split(","):
        rows += MODULES[name.strip()].cases(args.quick)
    text = markdown(
        rows,
        f"{start}\n\nfinished {time.strftime('%H:%M:%S')}, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
        f"{' (--quick)' if args.quick else ''}",
    )
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
