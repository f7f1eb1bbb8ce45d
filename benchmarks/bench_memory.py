"""Peak memory of ``fieldnn reproduce nnqft --quick`` (run on demand; not a test).

    python benchmarks/bench_memory.py

Issue 16, "memory": the quick reproduction runs in a child process; its peak resident set size
is the ``ru_maxrss`` of that child from ``os.wait4`` (the number ``/usr/bin/time -v`` reports as
"Maximum resident set size"; ``RUSAGE_CHILDREN`` would mix in every earlier child of the
run). The full run (``--quick`` omitted, hours) is not part of the table. Target: quick < 1 GB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from _table import Row, load


def cases(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "fieldnn", "reproduce", "nnqft", "--quick", "--out", out],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
    if child.returncode:
        raise RuntimeError(f"reproduce nnqft --quick failed (exit {child.returncode})")
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return [
        Row(
            "11 fieldnn reproduce nnqft --quick, peak RSS",
            None,
            wall,
            f"peak RSS {peak_mb:.0f} MB (child process); {load()}",
            "< 1 GB",
        )
    ]


if __name__ == "__main__":
    for row in cases(False):
        print(f"{row.case}: {row.fieldnn:.3g} s — {row.merit}")
