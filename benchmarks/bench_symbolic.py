"""Speed of diagram generation (run on demand: ``python benchmarks/bench_symbolic.py``).

Prints a table (theory, points, order, loops, diagrams, wall-clock and CPU seconds) for the
connected 4-point function of φ⁴ theory up to order 5 (four loops) and order 6 (five loops),
and compares the engine with brute-force enumeration of every Wick contraction (perfect
matching of labelled half-edges, merged by canonical form) at two loops (order 3), in the
same run.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import sympy as sp
from _table import Row, load

from fieldnn.symbolic import Theory, pairings
from fieldnn.symbolic._graphs import canonical_form, components


def brute_force_connected(n_ext: int, degree: int, order: int) -> dict:
    """{canonical key: number of contractions} for φ^degree at exactly ``order`` vertices."""
    half = [a for a in range(n_ext)] + [n_ext + v for v in range(order) for _ in range(degree)]
    n_tot = n_ext + order
    counts: dict = defaultdict(int)
    for matching in pairings(list(range(len(half)))):
        A = [[0] * n_tot for _ in range(n_tot)]
        for p, q in matching:
            u, v = half[p], half[q]
            A[u][v] += 1
            if u != v:
                A[v][u] += 1
        counts[tuple(map(tuple, A))] += 1
    merged: dict = defaultdict(int)
    types = [0] * order
    for key, c in counts.items():
        A = [list(r) for r in key]
        if len(components(A)) != 1:
            continue
        canon, _, _ = canonical_form(A, n_ext, types)
        merged[canon] += c
    return merged


def cases(quick: bool) -> list[Row]:
    """Issue 6 target 4: φ⁴ connected 4-point at four loops (order 5) and five (order 6)."""
    theory = Theory({sp.Symbol("lambda"): 4})
    rows = []
    for order, target in ((5, "< 10 s"),) if quick else ((5, "< 10 s"), (6, "< 300 s")):
        t = time.perf_counter()
        c = theory.correlator(4, order, connected=True)
        dt = time.perf_counter() - t
        rows.append(
            Row(
                f"4 phi^4 connected 4-pt, {order - 1} loops (all orders <= {order})",
                None,
                dt,
                f"{len(c.terms)} diagrams; {load()}",
                target,
            )
        )
        for style in ("full", "paper"):  # issue 16: the LaTeX costs less than the derivation
            t = time.perf_counter()
            text = c.latex(style)
            rows.append(
                Row(
                    f"latex(style={style!r}) of that correlator (baseline: its derivation)",
                    dt,
                    time.perf_counter() - t,
                    f"{len(text)} characters; {load()}",
                    "< derivation",
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--max-order", type=int, default=6, help="highest φ⁴ order (6 = five loops)"
    )
    parser.add_argument("--no-brute-force", action="store_true")
    args = parser.parse_args()
    lam = sp.Symbol("lambda")
    theory = Theory({lam: 4})
    rows = []
    for order in range(1, args.max_order + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        c = theory.correlator(4, order, connected=True)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        rows.append(("phi^4 (engine)", 4, order, order - 1, len(c.terms), dt, dc))
    if not args.no_brute_force:
        t0 = time.perf_counter()
        c3 = theory.correlator(4, 3, connected=True)
        t_engine = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        brute = brute_force_connected(4, 4, 3)
        t_brute, c_brute = time.perf_counter() - t0, time.process_time() - c0
        n_brute = len(brute)
        # same diagrams and weights: contractions / 3! = weight / (-λ)^3 of the engine
        engine = {t.sort_key: t.weight for t in c3.terms if t.order == 3}
        assert set(engine) == set(brute), "brute force and engine disagree on the diagrams"
        for key, count in brute.items():
            assert engine[key] == -sp.Rational(count, 6) * lam**3
        rows.append(("phi^4 (brute force, order 3 only)", 4, 3, 2, n_brute, t_brute, c_brute))
    print(
        f"{'theory':34s} {'points':>6s} {'order':>5s} {'loops':>5s}"
        f" {'diagrams':>8s} {'seconds':>9s} {'cpu s':>9s}"
    )
    for name, n, order, loops, count, dt, dc in rows:
        print(f"{name:34s} {n:6d} {order:5d} {loops:5d} {count:8d} {dt:9.3f} {dc:9.3f}")
    if not args.no_brute_force:
        print(
            f"\ntwo loops: engine {t_engine:.4f} s (all orders <= 3) vs brute force {t_brute:.2f} s"
            f" (order 3 alone): speed-up {t_brute / t_engine:.0f}x"
        )


if __name__ == "__main__":
    main()
