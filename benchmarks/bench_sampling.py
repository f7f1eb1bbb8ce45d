"""Speed of the ensemble sampler and the streaming estimator (run on demand, not a test).

    python benchmarks/bench_sampling.py [--nets 4000] [--repeat 3] [--threads N]

Cases (each against a plain NumPy float64 batched implementation measured in the same run):

1. ``sample_outputs``: Erf-net (seed 001), width N = 1000, P = 6 inputs, d_in = 1, float64
   (1a, the default: bitwise SciPy's erf) and ``dtype=float32`` (1b: ziggurat normals, float32
   erf, float64 readout sums; docs/numerics.md "float32 sampling").
   Baseline: draw W0, b0, W1, b1 for 1000 networks at once with ``default_rng().normal``,
   ``z = W0 @ Xᵀ + b0``, ``scipy.special.erf``, ``f = W1 @ h + b1`` (float64).
2. the same with d_in = 10 (rank reduction: r = min(d_in + 1, P) normals per unit).
3. ``sample_outputs``: deep erf MLP [1, 1000, 1000, 1] (rank-reduced hidden layer) against
   drawing the 1000 × 1000 weight matrices.
4. ``estimate_correlators`` orders (2, 4, 6) (float64 power sums over unique multisets, cumulants,
   batch-means errors), sampling in float64 and in float32, against the baseline sampler +
   ``numpy.einsum`` forming the full G2, G4, G6; and (issue 16) in float64, default per-network
   streams and the ``sampling="chunk"`` compatibility mode, against a savvy user's baseline that
   accumulates the moments of 1000-network chunks with ``einsum(..., optimize=True)``
   (:func:`savvy_estimate`).

Figures of merit: networks per second, neuron evaluations (networks × hidden units × inputs)
per second, and the fraction of a roofline (:func:`roofline`). Best of ``--repeat`` alternating
runs; wall time, except the "1 thread, CPU time" rows (process CPU time: the algorithmic ratio,
insensitive to other jobs on a shared machine). ``benchmarks/run_all.py`` imports
:func:`cases`.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _table import Row, best_times, load, spread
from scipy.special import erf

from fieldnn.ensembles import MLP, SingleLayerNet, _fast64, estimate_correlators, sample_outputs
from fieldnn.ensembles._fast32 import erf32_inplace, standard_normals
from fieldnn.ensembles._forward import default_threads, fast_erf_inplace

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


def savvy_estimate(X: np.ndarray, n: int, seed: int, batch: int = 1000):
    """What a user who knows NumPy writes: the baseline networks sampled in chunks of
    ``batch``, each chunk's moments by ``einsum(..., optimize=True)`` (BLAS contractions)
    accumulated, then divided by n: the full G2, G4, G6 (no symmetry, no error bars)."""
    rng = np.random.default_rng(seed)
    d_in = X.shape[1]
    s2 = s4 = s6 = 0.0
    for start in range(0, n, batch):
        b = min(batch, n - start)
        W0 = rng.standard_normal((b, WIDTH, d_in)) / np.sqrt(d_in)
        b0 = rng.standard_normal((b, WIDTH, 1))
        W1 = rng.standard_normal((b, 1, WIDTH)) / np.sqrt(WIDTH)
        b1 = rng.standard_normal((b, 1, 1))
        f = (W1 @ erf(W0 @ X.T + b0) + b1)[:, 0, :]
        s2 = s2 + np.einsum("na,nb->ab", f, f, optimize=True)
        s4 = s4 + np.einsum("na,nb,nc,nd->abcd", f, f, f, f, optimize=True)
        s6 = s6 + np.einsum("na,nb,nc,nd,ne,nf->abcdef", f, f, f, f, f, f, optimize=True)
    return s2 / n, s4 / n, s6 / n


def roofline(threads: int) -> dict[str, float]:
    """Per-core throughput of this machine for the sampler's two kinds of work (CPU time).

    Standard normals (NumPy SFC64 ziggurat; fieldnn's numba ziggurat on SFC64 words),
    scipy.special.erf, fieldnn's in-place float64 erf (numba, bitwise SciPy's) and float32 erf32,
    on 2^16 values, best of 30. The roofline of the Erf-net sampler is then
    ``threads / (normals·t_normal + evals·t_erf)`` per network: drawing the N r + N + 1 normals
    and evaluating N P erfs, nothing else.
    """
    gen = np.random.Generator(np.random.SFC64(1))
    n = 1 << 16
    buf = np.empty(n)
    z = gen.standard_normal(n) * 1.3
    z32, buf32 = z.astype(np.float32), np.empty(n, dtype=np.float32)

    def per_value(fn) -> float:
        times = []
        for _ in range(30):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return min(times) / n

    def fast() -> None:
        buf[:] = z
        fast_erf_inplace(buf)

    def fast64() -> None:
        buf[:] = z
        erf64_kernel(buf)

    def fast32() -> None:
        buf32[:] = z32
        erf32_inplace(buf32)

    erf64_kernel = _fast64._kernel("erf") or _fast64.erf64_numpy
    copy = per_value(lambda: np.copyto(buf, z))
    copy32 = per_value(lambda: np.copyto(buf32, z32))
    return {
        "normal": per_value(lambda: gen.standard_normal(out=buf)),
        "ziggurat": per_value(lambda: standard_normals(gen.bit_generator, buf)),
        "scipy_erf": per_value(lambda: erf(z, out=buf)),
        "fast_erf": per_value(fast) - copy,
        "erf64": per_value(fast64) - copy,
        "erf32": per_value(fast32) - copy32,
        "threads": float(threads),
    }


def sampler_rows(n: int, repeat: int, threads: int | None) -> list[Row]:
    """Issue 6 target 1: sample_outputs Erf-net N = 1000, P = 6, d_in = 1, ``n`` networks,
    float64 (1a) and float32 (1b); then the roofline of each."""
    threads = default_threads() if threads is None else threads
    X = X1()
    net = SingleLayerNet("erf", width=WIDTH)
    fast_erf_inplace(np.zeros(1))  # load numba's cached kernels once (≈ 0.5–1 s per process)
    erf32_inplace(np.zeros(1, dtype=np.float32))
    rows = []
    for tag, dtype in (("1a", np.float64), ("1b", np.float32)):
        for label, th, clock in (
            (
                f"{tag} sample_outputs erf N=1000 P=6 {np.dtype(dtype).name}, {n} nets, "
                f"{threads} threads, wall",
                threads,
                time.perf_counter,
            ),
            (f"{tag}   same, 1 thread, CPU time (algorithmic ratio)", 1, time.process_time),
        ):
            tb, tf, _, all_f = best_times(
                lambda: baseline_single_layer(X, n, WIDTH, 0),
                lambda th=th, dtype=dtype: sample_outputs(
                    net, X, n, rng=0, threads=th, dtype=dtype
                ),
                repeat,
                clock,
            )
            rows.append(
                Row(
                    label,
                    tb,
                    tf,
                    f"{n / tf:.3g} nets/s, {n * WIDTH * P / tf:.3g} neuron-evals/s "
                    f"(fieldnn {spread(all_f)}; {load()})",
                    ">= 5x",
                )
            )
    roof = roofline(threads)
    normals = WIDTH * 2 + WIDTH + 1  # rank r = 2 first layer (w, b), then the readout
    for tag, wall, cpu, t_normal, t_erf in (
        ("1a", rows[0].fieldnn, rows[1].fieldnn, roof["normal"], roof["fast_erf"]),
        ("1b", rows[2].fieldnn, rows[3].fieldnn, roof["ziggurat"], roof["erf32"]),
    ):
        per_net = normals * t_normal + WIDTH * P * t_erf  # CPU seconds per network
        peak = threads / per_net
        rows.append(
            Row(
                f"{tag}   roofline (normals + erf only)",
                None,
                1.0 / peak,
                f"{peak:.3g} nets/s on {threads} cores: normal {t_normal * 1e9:.2f} ns, "
                f"erf {t_erf * 1e9:.2f} ns per value per core (SciPy erf "
                f"{roof['scipy_erf'] * 1e9:.1f} ns); achieved {n / wall / peak:.0%} of it in wall "
                f"time on {threads} threads, {n * per_net / cpu:.0%} per core in CPU time",
            )
        )
    return rows


def estimate_rows(n: int, repeat: int) -> list[Row]:
    """Issue 6 target 2 and issue 16: estimate_correlators (2, 4, 6) against the savvy
    baseline (chunks, ``einsum(optimize=True)``) in float64 (the default per-network streams,
    and the chunk-seeded compatibility mode), then against the plain einsum baseline in float64
    and float32 (power sums always float64)."""
    X = X1()
    net = SingleLayerNet("erf", width=WIDTH)
    rows = []
    roof = roofline(1)
    erfs = (
        f"float64 erf {roof['erf64'] * 1e9:.2f} ns per value vs {roof['fast_erf'] * 1e9:.2f} ns "
        f"for the compiled SciPy-bitwise one (SciPy {roof['scipy_erf'] * 1e9:.1f} ns); "
    )
    for sampling in ("network", "chunk"):
        tb, tf, _, all_f = best_times(
            lambda: savvy_estimate(X, n, 0),
            lambda sampling=sampling: estimate_correlators(
                net, X, n, orders=(2, 4, 6), sampling=sampling
            ),
            repeat,
        )
        rows.append(
            Row(
                f"2s estimate_correlators G2,G4,G6 erf N=1000 P=6 float64 sampling={sampling!r}, "
                f"{n} nets, vs chunked einsum(optimize=True)",
                tb,
                tf,
                (erfs if sampling == "network" else "")
                + f"{n / tf:.3g} nets/s with standard errors (fieldnn {spread(all_f)}; {load()})",
                ">= 10x" if sampling == "network" else "",
            )
        )
    tb, tf, _, all_f = best_times(
        lambda: savvy_estimate(X, n, 0),
        lambda: estimate_correlators(net, X, n, orders=(2, 4, 6)),
        repeat,
        time.process_time,
    )
    rows.append(
        Row(
            "2s   same (sampling='network'), CPU time of all threads (algorithmic ratio)",
            tb,
            tf,
            f"{n / tf:.3g} nets per CPU-second (fieldnn {spread(all_f)}; {load()}); the wall "
            "ratio can exceed this by the threads that run at once (2 here)",
        )
    )
    for dtype in (np.float64, np.float32):
        tb, tf, _, all_f = best_times(
            lambda: baseline_estimate(X, n, 0),
            lambda dtype=dtype: estimate_correlators(net, X, n, orders=(2, 4, 6), dtype=dtype),
            repeat,
        )
        rows.append(
            Row(
                f"2 estimate_correlators G2,G4,G6 erf N=1000 P=6 {np.dtype(dtype).name}, {n} nets",
                tb,
                tf,
                f"{n / tf:.3g} nets/s with standard errors (fieldnn {spread(all_f)}; {load()})",
                ">= 10x",
            )
        )
    return rows


def X1() -> np.ndarray:
    """The seed-001 Erf-net inputs: six points of [-1, 1], d_in = 1."""
    return np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])[:, None]


def cases(quick: bool) -> list[Row]:
    """The rows of run_all.py: 20 000 nets (4 000 with --quick)."""
    n = 4000 if quick else 20000
    return sampler_rows(n, 2 if quick else 3, None) + estimate_rows(n, 1 if quick else 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: available CPUs")
    args = parser.parse_args()
    n, rep = args.nets, args.repeat
    rows = sampler_rows(n, rep, args.threads)
    X10 = np.random.default_rng(0).normal(size=(P, 10))
    net10 = SingleLayerNet("erf", width=WIDTH, d_in=10)
    tb, tf, _, _ = best_times(
        lambda: baseline_single_layer(X10, n, WIDTH, 0),
        lambda: sample_outputs(net10, X10, n, rng=0, threads=args.threads),
        rep,
    )
    rows.append(Row("sample_outputs erf N=1000 P=6 d_in=10", tb, tf, f"{n / tf:.3g} nets/s"))
    widths = [1, 1000, 1000, 1]
    m = max(n // 20, 20)
    mlp = MLP("erf", widths=widths, C_W=1.0, C_b=0.1)
    tb, tf, _, _ = best_times(
        lambda: baseline_mlp(X1(), m, widths, 0),
        lambda: sample_outputs(mlp, X1(), m, rng=0, threads=args.threads),
        rep,
    )
    rows.append(Row("sample_outputs erf-MLP [1,1000,1000,1] P=6", tb, tf, f"{m / tf:.3g} nets/s"))
    rows += estimate_rows(n, rep)
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:6.2f}"
        base = "" if row.baseline is None else f"{row.baseline:.3g} s"
        print(f"{row.case:60s} {base:>10s} {row.fieldnn:9.3g} s {ratio:>6s}  {row.merit}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
