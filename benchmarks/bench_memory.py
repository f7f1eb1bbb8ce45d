"""Peak memory of ``fieldnn reproduce nnqft --quick`` (run on demand; not a test).

    python benchmarks/bench_memory.py

Issue 16, "memory": the quick reproduction runs in a child process; its peak resident set size
is ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the same number as ``/usr/bin/time -v``'s
"Maximum resident set size"). The full run (``--quick`` omitted, hours) is not part of the
table. Target: quick < 1 GB.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

from _table import Row, load


def cases(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fieldnn", "reproduce", "nnqft", "--quick", "--out", out],
            check=True,
            capture_output=True,
            timeout=3600,
        )
        wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
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
