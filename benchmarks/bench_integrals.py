"""Benchmark of fieldnn.integrals (run on demand; not part of the test suite).

    /work/venv/bin/python benchmarks/bench_integrals.py [--cutoff 10] [--dblquad-tuples 1]

1. d_in = 2: the 35 multisets of four inputs from {−1, 1}² (Erf-net, σ_W² = σ_b² = 1), all in
   one vectorised ``vertex_integral`` call at rtol = 1e-9, against scipy ``dblquad`` of one
   tuple (or more) at epsrel = 1e-9, timed in the same run; agreement is checked.
2. d_in = 3: the tetrahedron {(1,1,1), (1,−1,−1), (−1,1,−1), (−1,−1,1)} (Erf, ReLU, Gauss).
3. Λ = ∞ (Gauss-net legs K − σ_b²) in d_in = 1, 2, 3 against the closed form, and the
   two-vertex integral in d_in = 1.
4. Λ scaling: local slopes d log I / d log Λ of the λ-vertex integral (mean over the multisets
   of four of the seed inputs) for the seed's Erf-, ReLU- (σ_b² = 0) and Gauss-nets; the
   measured β-function slope of λ is minus this number.
"""

from __future__ import annotations

import argparse
import itertools
import math
import platform
import time

import numpy as np
import scipy
from _table import Row, load
from scipy import integrate

from fieldnn.integrals import two_vertex_integral, vertex_integral


def erf_kernel(X, Y, sw=1.0, sb=1.0):
    d = X.shape[1]
    cxy = sb + sw * (X @ Y.T) / d
    cx, cy = sb + sw * np.sum(X * X, 1) / d, sb + sw * np.sum(Y * Y, 1) / d
    return sb + sw * 2 / np.pi * np.arcsin(2 * cxy / np.sqrt(np.outer(1 + 2 * cx, 1 + 2 * cy)))


def relu_kernel(X, Y, sw=1.0, sb=1.0):
    d = X.shape[1]
    cxy = sb + sw * (X @ Y.T) / d
    norm = np.sqrt(np.outer(sb + sw * np.sum(X * X, 1) / d, sb + sw * np.sum(Y * Y, 1) / d))
    theta = np.arccos(np.clip(cxy / norm, -1.0, 1.0))
    return sb + sw / (2 * np.pi) * norm * (np.sin(theta) + (np.pi - theta) * np.cos(theta))


def gauss_kernel(X, Y, sw=1.0, sb=1.0):
    d = X.shape[1]
    r2 = np.sum((X[:, None, :] - Y[None, :, :]) ** 2, axis=-1)
    return sb + sw * np.exp(-sw * r2 / (2 * d))


def timed(f, *args, **kwargs):
    t0 = time.perf_counter()
    out = f(*args, **kwargs)
    return out, time.perf_counter() - t0


def bench_35_multisets(cutoff: float, n_dblquad: int) -> None:
    base = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    combos = list(itertools.combinations_with_replacement(range(4), 4))
    tuples = np.array([base[list(c)] for c in combos])
    res, t_vec = timed(vertex_integral, erf_kernel, tuples, cutoff=cutoff, rtol=1e-9)
    print(f"\n## d_in = 2, Erf-net, 35 multisets of {{-1,1}}^2, Λ = {cutoff:g}, rtol = 1e-9")
    print(
        f"vertex_integral, all 35 tuples in one call: {t_vec:.3f} s, "
        f"{res.n_evaluations} nodes, converged={res.converged}"
    )
    print("\n| tuple (indices into {(-1,-1),(-1,1),(1,-1),(1,1)}) | value | error estimate |")
    print("|---|---|---|")
    for c, v, e in zip(combos, res.values, res.errors, strict=True):
        print(f"| {c} | {v:.12e} | {e:.1e} |")
    print("\n| tuple | scipy dblquad (epsrel 1e-9) | time | vertex_integral | rel. diff |")
    print("|---|---|---|---|---|")
    t_total = 0.0
    for t in range(n_dblquad):
        pts = tuples[t * (35 // max(n_dblquad, 1))]

        def f(y, x, pts=pts):
            return float(np.prod(erf_kernel(pts, np.array([[x, y]]))[:, 0]))

        (val, _), t_dbl = timed(
            integrate.dblquad, f, -cutoff, cutoff, -cutoff, cutoff, epsabs=0, epsrel=1e-9
        )
        t_total += t_dbl
        ours = res.values[t * (35 // max(n_dblquad, 1))]
        rel = abs(ours - val) / abs(val)
        assert rel < 1e-8, rel
        print(
            f"| {combos[t * (35 // max(n_dblquad, 1))]} | {val:.12e} | {t_dbl:.2f} s | "
            f"{ours:.12e} | {rel:.1e} |"
        )
    if n_dblquad:
        per = t_total / n_dblquad
        print(
            f"\none dblquad tuple: {per:.2f} s; all 35 by dblquad ≈ {35 * per:.0f} s; "
            f"vectorised vertex_integral: {t_vec:.3f} s  → speed-up ≈ {35 * per / t_vec:.0f}× "
            f"(≈ {per / t_vec:.0f}× even against one dblquad tuple)"
        )


def bench_tetrahedron(cutoff: float) -> None:
    tet = np.array([[[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1.0]]])
    print(f"\n## d_in = 3 tetrahedron, Λ = {cutoff:g}, rtol = 1e-9")
    print("| kernel | value | error estimate | nodes | time |")
    print("|---|---|---|---|---|")
    for name, k in (("erf", erf_kernel), ("relu", relu_kernel), ("gauss", gauss_kernel)):
        r, t = timed(vertex_integral, k, tet, cutoff=cutoff, rtol=1e-9)
        print(
            f"| {name} | {r.values[0]:.12e} | {r.errors[0]:.1e} | {r.n_evaluations} | {t:.2f} s |"
        )


def bench_infinite_cutoff() -> None:
    print("\n## Λ = ∞, Gauss-net legs K − σ_b² (σ_W² = σ_b² = 1), 4 legs, 4 random tuples")
    print(
        "| d_in | rtol | max |error| / value (vs closed form) | max error estimate | nodes | time |"
    )
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for d, rtol in ((1, 1e-9), (2, 1e-9), (3, 1e-9)):
        X = 0.7 * rng.standard_normal((4, 4, d))
        a = 1 / (2 * d)
        xbar = X.mean(axis=1)
        exact = np.exp(-a * np.sum((X - xbar[:, None]) ** 2, axis=(1, 2))) * (np.pi / (4 * a)) ** (
            d / 2
        )
        r, t = timed(vertex_integral, gauss_kernel, X, cutoff=math.inf, subtract=1.0, rtol=rtol)
        dev = np.max(np.abs(r.values - exact) / exact)
        print(
            f"| {d} | {rtol:g} | {dev:.1e} | {np.max(r.errors / exact):.1e} | "
            f"{r.n_evaluations} | {t:.2f} s |"
        )


def bench_two_vertex() -> None:
    print("\n## two-vertex ∫∫ K1y K2y K_yz² K3z K4z, d_in = 1, seed inputs, Λ = 10")
    x = np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])
    combos = list(itertools.combinations_with_replacement(range(6), 4))
    L = np.array([[[x[c[0]]], [x[c[1]]]] for c in combos])
    R = np.array([[[x[c[2]]], [x[c[3]]]] for c in combos])
    print("| kernel | tuples | max rel. error estimate | pairs (y, z) | time |")
    print("|---|---|---|---|---|")
    for name, k in (("erf", erf_kernel), ("relu", relu_kernel), ("gauss", gauss_kernel)):
        r, t = timed(two_vertex_integral, k, L, R, cutoff=10.0)
        print(
            f"| {name} | {len(combos)} | {np.max(r.errors / np.abs(r.values)):.1e} | "
            f"{r.n_evaluations} | {t:.2f} s |"
        )


def bench_cutoff_scaling() -> None:
    print("\n## Λ scaling of I(Λ) = ∫ K1y K2y K3y K4y (full legs): local slope d log I/d log Λ")
    seed = {
        "erf": (erf_kernel, np.array([-1, -0.6, -0.2, 0.2, 0.6, 1.0]), 1.0),
        "relu": (relu_kernel, np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.2]), 0.0),
        "gauss": (gauss_kernel, np.array([-0.01, -0.006, -0.002, 0.002, 0.006, 0.01]), 1.0),
    }
    cutoffs = 10.0 ** np.arange(0, 6)
    head = " | ".join(f"{a:g}–{b:g}" for a, b in itertools.pairwise(cutoffs))
    print(f"| net | d_in | expected | {head} | time |")
    print("|---|---|---|" + "---|" * (len(cutoffs) - 1) + "---|")
    for name, (k, x, sb) in seed.items():
        for d in (1, 2, 3):
            # the seed inputs along the diagonal (1, …, 1)/√d of the d_in-dimensional space
            X = x[:, None] * np.ones(d) / np.sqrt(d)
            combos = list(itertools.combinations_with_replacement(range(6), 4))
            if d == 3:
                combos = combos[::12]
            tuples = X[np.array(combos)]

            def kern(A, B, k=k, sb=sb):
                return k(A, B, sb=sb)

            t0 = time.perf_counter()
            rtol = 1e-9 if d < 3 else 1e-7
            vals = [
                np.mean(vertex_integral(kern, tuples, cutoff=c, rtol=rtol).values) for c in cutoffs
            ]
            slopes = np.diff(np.log(vals)) / np.diff(np.log(cutoffs))
            expected = d + 4 if name == "relu" else d
            row = " | ".join(f"{v:.4f}" for v in slopes)
            print(f"| {name} | {d} | {expected} | {row} | {time.perf_counter() - t0:.1f} s |")


def cases(quick: bool) -> list[Row]:
    """Issue 6 target 5: 35 multisets (d_in = 2) vs one dblquad; d_in = 3 tetrahedron."""
    cutoff = 10.0
    base = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    combos = list(itertools.combinations_with_replacement(range(4), 4))
    tuples = np.array([base[list(c)] for c in combos])
    times = []
    for _ in range(3):
        res, t = timed(vertex_integral, erf_kernel, tuples, cutoff=cutoff, rtol=1e-9)
        times.append(t)
    pts = tuples[0]

    def f(y, x):
        return float(np.prod(erf_kernel(pts, np.array([[x, y]]))[:, 0]))

    (val, _), t_dbl = timed(
        integrate.dblquad, f, -cutoff, cutoff, -cutoff, cutoff, epsabs=0, epsrel=1e-9
    )
    rel = abs(res.values[0] - val) / abs(val)
    rows = [
        Row(
            "5 vertex integrals: 35 multisets d_in=2 vs ONE dblquad",
            t_dbl,
            min(times),
            f"rtol 1e-9, agreement with dblquad {rel:.1e}, {res.n_evaluations} nodes; {load()}",
            "faster than 1 dblquad",
        )
    ]
    tet = np.array([[[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1.0]]])
    t_all = 0.0
    for k in (erf_kernel, relu_kernel, gauss_kernel):
        _, t = timed(vertex_integral, k, tet, cutoff=cutoff, rtol=1e-9)
        t_all += t
    rows.append(
        Row(
            "5 vertex integral d_in=3 tetrahedron, erf+relu+gauss",
            None,
            t_all,
            f"rtol 1e-9, three kernels; {load()}",
            "< 10 s",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoff", type=float, default=10.0)
    parser.add_argument("--dblquad-tuples", type=int, default=1)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    bench_35_multisets(args.cutoff, args.dblquad_tuples)
    bench_tetrahedron(args.cutoff)
    bench_infinite_cutoff()
    bench_two_vertex()
    bench_cutoff_scaling()


if __name__ == "__main__":
    main()
