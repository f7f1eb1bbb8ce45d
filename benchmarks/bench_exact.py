"""Exact single-layer correlators against sampling (run on demand; not a test).

    python benchmarks/bench_exact.py [--quick]

Issue 6 target 3: the exact connected G4 and G6 on the six seed inputs, for the ten seed widths
and the three seed nets (Erf, Gauss, ReLU with the published σ's), under 1 s in total. The width
enters only through N (σ_W²/N)^{n/2} (``fieldnn.ensembles.exact``), so the single-unit cumulants
are computed once per net and order and rescaled.

Sampling equivalent: a pilot ``estimate_correlators`` run gives the per-network standard
deviation s of the connected G4 (largest entry error over the largest abs(G4)); reaching a relative
standard error ε needs n = (s / ε)² networks, at the pilot's measured rate.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _table import Row, load

from fieldnn.ensembles import SingleLayerNet, estimate_correlators, exact_connected
from fieldnn.experiments import NETS, SEED_WIDTHS, published_setup


def _setup(name: str) -> tuple[np.ndarray, float, float]:
    setup = published_setup(name)
    return np.asarray(setup.X, dtype=float), setup.sigma_w2, setup.sigma_b2


def exact_all() -> float:
    """Seconds for G4 and G6 of every seed net at every seed width (caches cleared first)."""
    from fieldnn.ensembles.exact import _unit_cumulants

    _unit_cumulants.cache_clear()
    t = time.perf_counter()
    for name in NETS:
        X, sw, sb = _setup(name)
        for N in SEED_WIDTHS:
            for n in (4, 6):
                exact_connected(name, X, n, width=N, sigma_w2=sw, sigma_b2=sb)
    return time.perf_counter() - t


def cases(quick: bool) -> list[Row]:
    """Exact sweep, then the sampling cost of the same accuracy (pilot at N = 1000)."""
    times = [exact_all() for _ in range(3)]
    t_exact = min(times)
    pilot = 4000 if quick else 20000
    notes = []
    for name in NETS:
        X, sw, sb = _setup(name)
        net = SingleLayerNet(name, width=1000, sigma_w2=sw, sigma_b2=sb)
        t = time.perf_counter()
        est = estimate_correlators(net, X, pilot, orders=(4,), rng=1)
        rate = pilot / (time.perf_counter() - t)
        exact = exact_connected(name, X, 4, width=1000, sigma_w2=sw, sigma_b2=sb)
        # per-network standard deviation, relative to the largest abs(G4) entry
        rel = np.max(est.stderr(4)) / np.max(np.abs(exact)) * np.sqrt(pilot)
        need_1pc = (rel / 1e-2) ** 2
        need_exact = (rel / 1e-10) ** 2
        notes.append(
            f"{name}: 1 % of max abs(G4) at N=1000 needs {need_1pc:.1e} nets "
            f"({need_1pc / rate / 3600:.2g} h at {rate:.3g} nets/s); the exact path's ~1e-10 "
            f"needs {need_exact:.0e} nets ({need_exact / rate / 3.15e7:.0e} years)"
        )
    return [
        Row(
            "3 exact G4+G6, 6 inputs, 10 widths x 3 nets",
            None,
            t_exact,
            f"all 60 tensors, {min(times):.3g}–{max(times):.3g} s; "
            + "; ".join(notes)
            + f"; {load()}",
            "< 1 s",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for row in cases(parser.parse_args().quick):
        print(f"{row.case}: {row.fieldnn:.3g} s — {row.merit}")


if __name__ == "__main__":
    main()
