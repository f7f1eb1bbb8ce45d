"""Speed of the ensemble sampler and the streaming estimator (run on demand, not a test).

    python benchmarks/bench_sampling.py [--nets 4000] [--repeat 3] [--threads N]

Cases (each against a plain NumPy float64 batched implementation measured in the same run):

1. ``sample_outputs``: Erf-net (seed 001), width N = 1000, P = 6 inputs, d_in = 1.
   Baseline: draw W0, b0, W1, b1 for 1000 networks at once with ``default_rng().normal``,
   ``z = W0 @ Xᵀ + b0``, ``scipy.special.erf``, ``f = W1 @ h + b1``.
2. the same with d_in = 10 (rank reduction: r = min(d_in + 1, P) normals per unit).
3. ``sample_outputs``: deep erf MLP [1, 1000, 1000, 1] (rank-reduced hidden layer) against
   drawing the 1000 × 1000 weight matrices.
4. ``estimate_correlators`` orders (2, 4, 6) (float64 power sums over unique multisets, cumulants,
   batch-means errors) against the baseline sampler + ``numpy.einsum`` forming the full G2, G4, G6.

Figures of merit: networks per second, neuron evaluations (networks × hidden units × inputs)
per second. Best of ``--repeat`` alternating runs; wall time, except the "1 thread, CPU time"
rows (process CPU time: the algorithmic ratio, insensitive to other jobs on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.special import erf

from fieldnn.ensembles import MLP, SingleLayerNet, estimate_correlators, sample_outputs

WIDTH, P = 1000, 6


def baseline_single_layer(X: np.ndarray, n: int, width: int, seed: int, batch: int = 1000):
    """Plain NumPy float64 batched Erf-net sampler (σ_W² = σ_b² = 1)."""
    rng = np.random.default_rng(seed)
    d_in = X.shape[1]
    out = []
    for start in range(0, n, batch):
        b = min(batch, n - start)
        W0 = rng.normal(0.0, 1.0 / np.sqrt(d_in), size=(b, width, d_in))
        b0 = rng.normal(0.0, 1.0, size=(b, width, 1))
        W1 = rng.normal(0.0, 1.0 / np.sqrt(width), size=(b, 1, width))
        b1 = rng.normal(0.0, 1.0, size=(b, 1, 1))
        h = erf(W0 @ X.T + b0)
        out.append((W1 @ h + b1).transpose(0, 2, 1))
    return np.concatenate(out)


def baseline_mlp(X: np.ndarray, n: int, widths: list[int], seed: int, batch: int = 20):
    """Plain NumPy float64 batched deep erf MLP (C_W = 1, C_b = 0.1): draws every weight."""
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n, batch):
        b = min(batch, n - start)
        h = np.broadcast_to(X.T, (b, *X.T.shape))  # (b, d_in, P)
        for k in range(len(widths) - 1):
            W = rng.normal(0.0, 1.0 / np.sqrt(widths[k]), size=(b, widths[k + 1], widths[k]))
            bias = rng.normal(0.0, np.sqrt(0.1), size=(b, widths[k + 1], 1))
            z = W @ h + bias
            h = erf(z) if k < len(widths) - 2 else z
        out.append(h.transpose(0, 2, 1))
    return np.concatenate(out)


def baseline_estimate(X: np.ndarray, n: int, seed: int):
    """Baseline sampler, then full G2, G4, G6 by einsum (no symmetry, no errors)."""
    f = baseline_single_layer(X, n, WIDTH, seed)[:, :, 0]
    G2 = np.einsum("na,nb->ab", f, f) / n
    G4 = np.einsum("na,nb,nc,nd->abcd", f, f, f, f) / n
    G6 = np.einsum("na,nb,nc,nd,ne,nf->abcdef", f, f, f, f, f, f) / n
    return G2, G4, G6


def best_times(baseline, ours, repeat: int, clock=time.perf_counter) -> tuple[float, float]:
    """Best (minimum) time of each, the two alternating so that load drifts hit both.

    ``clock=time.process_time`` measures CPU time (robust on a shared machine; single-threaded
    runs only, since it adds up the threads).
    """
    tb, to = [], []
    for _ in range(repeat):
        for fn, times in ((baseline, tb), (ours, to)):
            t = clock()
            fn()
            times.append(clock() - t)
    return min(tb), min(to)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: available CPUs")
    args = parser.parse_args()
    n, rep = args.nets, args.repeat
    X1 = np.linspace(-1.5, 1.5, P)[:, None]
    X10 = np.random.default_rng(0).normal(size=(P, 10))
    rows = []

    for label, X, threads, clock in (
        ("sample_outputs erf-net N=1000 P=6 d_in=1", X1, args.threads, time.perf_counter),
        ("  same, 1 thread, CPU time", X1, 1, time.process_time),
        ("sample_outputs erf-net N=1000 P=6 d_in=10", X10, args.threads, time.perf_counter),
        ("  same, 1 thread, CPU time", X10, 1, time.process_time),
    ):
        net = SingleLayerNet("erf", width=WIDTH, d_in=X.shape[1])
        tb, tf = best_times(
            lambda X=X: baseline_single_layer(X, n, WIDTH, 0),
            lambda X=X, net=net, th=threads: sample_outputs(net, X, n, rng=0, threads=th),
            rep,
            clock,
        )
        rows.append((label, n / tb, n / tf, "nets/s"))
        rows.append(("  neuron evaluations", n * WIDTH * P / tb, n * WIDTH * P / tf, "evals/s"))

    widths = [1, 1000, 1000, 1]
    m = max(n // 20, 20)
    mlp = MLP("erf", widths=widths, C_W=1.0, C_b=0.1)
    tb, tf = best_times(
        lambda: baseline_mlp(X1, m, widths, 0),
        lambda: sample_outputs(mlp, X1, m, rng=0, threads=args.threads),
        rep,
    )
    rows.append(("sample_outputs erf-MLP [1,1000,1000,1] P=6", m / tb, m / tf, "nets/s"))

    net = SingleLayerNet("erf", width=WIDTH)
    tb, tf = best_times(
        lambda: baseline_estimate(X1, n, 0),
        lambda: estimate_correlators(net, X1, n, orders=(2, 4, 6)),
        rep,
    )
    rows.append(("estimate_correlators G2,G4,G6 P=6", n / tb, n / tf, "nets/s"))

    print(f"{'case':46s} {'baseline':>11s} {'fieldnn':>11s} {'ratio':>6s}  figure of merit")
    for label, base, ours, unit in rows:
        print(f"{label:46s} {base:11.4g} {ours:11.4g} {ours / base:6.2f}  {unit}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
