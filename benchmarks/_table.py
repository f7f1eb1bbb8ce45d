"""One row of the benchmark table, and the timing helpers every bench_*.py module shares."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    """case, baseline and fieldnn seconds (or None), ratio = baseline / fieldnn, figure of merit."""

    case: str
    baseline: float | None
    fieldnn: float
    merit: str
    target: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else self.baseline / self.fieldnn


def best_times(
    baseline: Callable[[], object] | None,
    ours: Callable[[], object],
    repeat: int,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float | None, float, list[float], list[float]]:
    """Best time of each (the two alternating so that load drifts hit both) and all times.

    ``clock=time.process_time`` measures CPU time (single-threaded runs only).
    """
    tb: list[float] = []
    to: list[float] = []
    for _ in range(repeat):
        for fn, times in ((baseline, tb), (ours, to)):
            if fn is None:
                continue
            t = clock()
            fn()
            times.append(clock() - t)
    return (min(tb) if tb else None), min(to), tb, to


def load() -> str:
    """The 1-minute load average and the CPU count, for the notes of a measurement."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def spread(times: list[float]) -> str:
    """'min–max' of a list of seconds."""
    return f"{min(times):.3g}–{max(times):.3g} s"
