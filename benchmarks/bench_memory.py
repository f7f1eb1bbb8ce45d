"""Peak memory of ``fieldnn reproduce nnqft`` (run on demand; not a test).

    python benchmarks/bench_memory.py [--full-nets 20000]

Issue 16, "memory". Each run is a child process; its peak resident set size is the
``ru_maxrss`` of that child from ``os.wait4`` (the number ``/usr/bin/time -v`` reports as
"Maximum resident set size"; ``RUSAGE_CHILDREN`` would mix in every earlier child of the run).

* row 11: ``fieldnn reproduce nnqft --quick``; target < 1 GB.
* row 11b: the full run's sizes (every grid, cutoff, d_in, d_out and activation of the full
  report) with the sampled sections at ``--full-nets`` networks instead of 2·10⁵–10⁶; target
  < 4 GB. The estimators stream fixed-size chunks into power sums, so their memory does not grow
  with the number of networks (row 7a; for this run checked at two network counts); only the
  time does (the full run takes hours, this one minutes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from _table import Row, load

#: Child program for row 11b: the full sizes with ``nets`` networks per sampled section.
_FULL_SIZES = """
import dataclasses, sys
from fieldnn.report import nnqft_report as r
nets = int(sys.argv[2])
sizes = dataclasses.replace(
    r._FULL, falloff_nets=nets, lambda_nets=nets, six_nets=nets, so_nets=nets, beyond_nets=nets
)
r._run(sys.argv[1], sizes, force=True, progress=False)
"""


def _peak(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process running ``args``."""
    t = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
    wall = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise RuntimeError(f"{' '.join(args[:4])} … failed (exit {code})")
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def quick_row() -> Row:
    with tempfile.TemporaryDirectory() as out:
        wall, peak = _peak(
            [sys.executable, "-m", "fieldnn", "reproduce", "nnqft", "--quick", "--out", out]
        )
    return Row(
        "11 fieldnn reproduce nnqft --quick, peak RSS",
        None,
        wall,
        f"peak RSS {peak:.0f} MB (child process); {load()}",
        "< 1 GB",
    )


def full_row(nets: int) -> Row:
    with tempfile.TemporaryDirectory() as out:
        wall, peak = _peak([sys.executable, "-c", _FULL_SIZES, out, str(nets)])
    return Row(
        f"11b reproduce nnqft at the full run's sizes, {nets} nets per sampled section, peak RSS",
        None,
        wall,
        f"peak RSS {peak:.0f} MB (child process; memory independent of the number of nets); "
        f"{load()}",
        "< 4 GB",
    )


def cases(quick: bool) -> list[Row]:
    """Row 11 (quick reproduction); row 11b as well unless ``quick`` (≈ 6 min)."""
    return [quick_row()] if quick else [quick_row(), full_row(20000)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-nets", type=int, default=20000)
    args = parser.parse_args()
    for row in (quick_row(), full_row(args.full_nets)):
        print(f"{row.case}: {row.fieldnn:.3g} s — {row.merit}")


if __name__ == "__main__":
    main()
