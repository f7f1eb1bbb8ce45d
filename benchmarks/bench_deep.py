"""Deep recursions K, Θ, V at depth 1000 (run on demand; not a test).

    python benchmarks/bench_deep.py

Issue 6 target 6: ``kernel_recursion`` (K^(ℓ), ℓ = 1..1000), ``ntk_recursion`` (Θ) and
``four_point_vertex`` (V^(L), widths [3, 100 × 999, 1]) for P = 10 random inputs in d_in = 3,
C_b = 0: wall-clock seconds (best of REPEAT runs), the CPU seconds of those runs and the 1-minute
load average (the machine is shared: compare wall with CPU time):

* erf, C_W = 1: K, Θ and V all at 10 inputs. Pair expectations in closed form; the four-point
  moments by the one-dimensional Plackett reduction of :mod:`fieldnn.kernels._erf_four`
  (715 index multisets per layer, 6–32 Gauss–Legendre nodes), no quadrature in rank 4.
* relu, C_W = 2: K, Θ and V all at 10 inputs. Pair expectations in closed form (arc-cosine
  kernel); the four-point moments exact at rank 4 by the Stein recursion of
  :mod:`fieldnn.kernels._relu_four` (5 index patterns batched over the 715 multisets; the 210
  four-variable orthant probabilities by the Plackett integral shared with erf; the correlations
  approach 1 with depth, and a Gauss–Legendre rule in log(1 − s + δ) needs 37–38 nodes per term
  at the deep layers, where the graded panels needed 72–128; the recursion itself runs as a
  recorded program, compiled by numba if available). Before it, V was limited to 3 inputs in
  general position (rank 4 raised UnsupportedError) at ≈ 50 ms per layer.

tanh has no closed-form pair expectation: K and Θ take a 2-d lattice quadrature per layer (all
45 pairs in one vectorised call, folded by the oddness of tanh): ≈ 1.6 s and ≈ 2.9 s here
(2.8 s and 5.6 s before the folding), not in the table.
"""

from __future__ import annotations

import time

import numpy as np
from _table import Row, load

from fieldnn.kernels.deep import four_point_vertex, kernel_recursion, ntk_recursion

DEPTH, P, REPEAT = 1000, 10, 3
V_INPUTS = {"erf": P, "relu": P}
C_W = {"erf": 1.0, "relu": 2.0}


def timings(act: str) -> dict[str, tuple[float, float]]:
    """Best (wall-clock, CPU) seconds of K, Θ (P inputs) and V (V_INPUTS[act] inputs)."""
    X = np.random.default_rng(0).normal(size=(P, 3))
    out = {}
    for name, fn, kw, inputs in (
        ("K", kernel_recursion, {"depth": DEPTH}, X),
        ("Θ", ntk_recursion, {"depth": DEPTH, "lambda_W": 1.0, "lambda_b": 1.0}, X),
        ("V", four_point_vertex, {"widths": [3] + [100] * (DEPTH - 1) + [1]}, X[: V_INPUTS[act]]),
    ):
        best = (np.inf, np.inf)
        for _ in range(REPEAT):
            wall, cpu = time.perf_counter(), time.process_time()
            fn(act, inputs, C_W=C_W[act], C_b=0.0, **kw)
            best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
        out[name] = best
    return out


def cases(quick: bool) -> list[Row]:
    rows = []
    for act in ("erf", "relu"):
        t = timings(act)
        parts = ", ".join(f"{k} {wall:.3g} s" for k, (wall, _) in t.items())
        cpu = sum(c for _, c in t.values())
        label = (
            f"K+Θ+V ({P} inputs)"
            if V_INPUTS[act] == P
            else (f"K+Θ ({P} inputs) + V ({V_INPUTS[act]} inputs)")
        )
        rows.append(
            Row(
                f"6 deep {label} {act}, depth {DEPTH}",
                None,
                sum(wall for wall, _ in t.values()),
                f"{parts} (CPU {cpu:.3g} s); {load()}",
                "< 1 s",
            )
        )
    return rows


if __name__ == "__main__":
    for row in cases(False):
        print(f"{row.case}: {row.fieldnn:.3g} s — {row.merit}")
