"""Speed of the effective action (run on demand: ``python benchmarks/bench_effective.py``).

Issue 12 target: ``effective_action`` of a single-layer net at P = 10 inputs, order 2, under 1 s.
The inputs are ten points on a circle of radius 2 in d_in = 2: ten points in d_in = 1 make K so
nearly singular (cond(K) ≳ 10⁴) that six legs of K⁻¹ leave no digit of G6c in double precision,
and ``effective_action`` refuses them (``EffectiveAction.precision``). Each repeat rotates the
circle, so no cached single-unit moments are reused; "total" includes the exact finite-width
cumulants (G2, G4c, G6c), "reconstruction alone" is a second call with them cached.

The O(1/n²) action of a deep MLP at two to four inputs (``multi_input_cumulants``: the
one-unit terms with Hermite weights to order 8 at every layer whose input fluctuates) has no
public counterpart; the sampled alternative resolves the same terms with 10⁶–4·10⁶ networks
(``tests/kernels/test_multi_input_nnlo.py``, slow), minutes per width.
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
    net = fnn.SingleLayerNet(activation, width=100, d_in=2, sigma_b2=0.5, sigma_w2=1.5)
    fnn.effective_action(net, [[1.0, 0.0], [0.0, 1.0]], order=order)  # imports, caches
    totals, alone = [], []
    for r in range(repeat):
        angle = np.linspace(0.0, 2 * np.pi, P, endpoint=False) + 1e-3 * (r + 1)
        X = 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        t = time.perf_counter()
        fnn.effective_action(net, X, order=order)
        totals.append(time.perf_counter() - t)
        t = time.perf_counter()  # second call: the cumulants are cached, only the action is built
        fnn.effective_action(net, X, order=order)
        alone.append(time.perf_counter() - t)
    return min(totals), min(alone)


def _time_mlp(activation: str, P: int, repeat: int) -> float:
    """Best wall-clock seconds of effective_action(mlp, X, order=2), [3, 64, 64, 64, 1]."""
    mlp = fnn.MLP(activation, widths=[3, 64, 64, 64, 1], C_W=1.8, C_b=0.1)
    rng = np.random.default_rng(0)
    best = np.inf
    for _ in range(repeat):
        X = rng.standard_normal((P, 3))
        t = time.perf_counter()
        fnn.effective_action(mlp, X, order=2)
        best = min(best, time.perf_counter() - t)
    return best


def mlp_rows(quick: bool) -> list[Row]:
    rows = []
    for act, P in (("tanh", 2), ("tanh", 3), ("tanh", 4), ("relu", 3), ("relu", 4)):
        if quick and P == 4:
            continue
        seconds = _time_mlp(act, P, 1 if quick or P > 2 else 3)
        rows.append(
            Row(
                f"effective_action({act} MLP [3, 64, 64, 64, 1], P = {P}, order 2)",
                None,
                seconds,
                f"two layers of one-unit terms at rank {P}; {load()}",
                "—",
            )
        )
    return rows


def cases(quick: bool) -> list[Row]:
    rows = mlp_rows(quick)
    for act in ("relu",):  # erf: its exact G6c at ten inputs in d_in = 2 is refused (cancellation)
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
