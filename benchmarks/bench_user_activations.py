"""A user's own activation (a plain callable) against the registry activation of the same
function (run on demand; not a test).

    python benchmarks/bench_user_activations.py [--quick]

Issues 15 and 16 ("the user's own activation"; target: a callable at most 10× the registry
activation of the same size). Two functions, each once by name and once as a callable that
fieldnn cannot recognise (so every Gaussian expectation of it goes to quadrature):

* tanh: no closed forms in the registry either, so both take the same quadrature path;
* gelu: the registry has the closed pair forms ⟨σσ⟩ and ⟨σ'σ'⟩ (``fieldnn.kernels._gelu``);
  the callable z Φ(z) has none.

Rows: ``four_point_vertex`` at depth 50 (widths [1, 50 × 49, 1]) with 3 inputs, C_W = 1,
C_b = 0.1, and ``measure_lambda`` of a single-layer net (width 20, σ_W² = σ_b² = 1) at 4 inputs
and Λ = 1000. CPU seconds (``time.process_time``; BLAS single-threaded), best of REPEAT; the
two results agree to the quadrature tolerance (tests/experiments/test_user_activations.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import time
import warnings

import numpy as np
from _table import Row, best_times, load
from scipy.special import ndtr

import fieldnn as fnn
from fieldnn.kernels.deep import four_point_vertex

REPEAT = 2
X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
CALLABLES = {"tanh": lambda z: np.tanh(z), "gelu": lambda z: z * ndtr(z)}


def _vertex(act, depth: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the up-front "this takes s" warning
        return four_point_vertex(
            act, X[:3], C_W=1.0, C_b=0.1, widths=[1] + [50] * (depth - 1) + [1]
        )


def _lambda(act, cutoff: float):
    net = fnn.SingleLayerNet(act, 20, d_in=1, sigma_w2=1.0, sigma_b2=1.0)
    return fnn.measure_lambda(net, X, cutoff=cutoff)


def cases(quick: bool) -> list[Row]:
    depth = 10 if quick else 50
    repeat = 1 if quick else REPEAT
    rows = []
    for name, user in CALLABLES.items():
        for label, run, size in (
            (f"four_point_vertex, depth {depth}, 3 inputs", _vertex, depth),
            ("measure_lambda, Λ = 1000, 4 inputs", _lambda, 1000.0),
        ):
            reference, mine = run(name, size), run(user, size)
            values = (
                (reference, mine)
                if label.startswith("four")
                else (
                    reference.values,
                    mine.values,
                )
            )
            scale = float(np.max(np.abs(values[0])))
            diff = float(np.max(np.abs(values[0] - values[1]))) / scale
            base, ours, _, _ = best_times(
                lambda r=run, n=name, s=size: r(n, s),
                lambda r=run, u=user, s=size: r(u, s),
                repeat,
                clock=time.process_time,
            )
            rows.append(
                Row(
                    f"15 user {name} as a callable: {label}",
                    base,
                    ours,
                    f"baseline: registry '{name}'; max relative difference {diff:.1e}; {load()}",
                    "≥ 0.1× (callable ≤ 10× registry)",
                )
            )
    return rows


if __name__ == "__main__":
    for row in cases("--quick" in sys.argv):
        print(
            f"{row.case}: registry {row.baseline:.3g} s, callable {row.fieldnn:.3g} s "
            f"(ratio {row.ratio:.3g}) — {row.merit}"
        )
