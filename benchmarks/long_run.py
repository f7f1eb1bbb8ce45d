"""A long estimate_correlators run in bounded memory, resumable (issue 6, target 7; on demand).

    python benchmarks/long_run.py --nets 100000000 --checkpoint run.ckpt --out run.json

Erf-net N = 1000, six inputs in d_in = 1, orders 2, 4, 6, chunks of 10 000 networks, checkpointed
every 10 chunks (kill it and run the same command again: it resumes). A sampling thread records
the resident set size (VmRSS) every ``--every`` seconds; the JSON output holds the wall time of
this process, the networks done, the RSS trace and its maximum, and the pulls
(sampled − exact)/stderr of the connected G4 and G6 against ``net.exact_connected``.
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time

import numpy as np

from fieldnn.ensembles import SingleLayerNet, estimate_correlators

X = np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])[:, None]


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=100_000_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--every", type=float, default=30.0)
    args = parser.parse_args()

    trace: list[tuple[float, float]] = []
    start = time.perf_counter()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(args.every):
            trace.append((round(time.perf_counter() - start, 1), round(rss_mb(), 1)))

    threading.Thread(target=watch, daemon=True).start()
    net = SingleLayerNet("erf", width=1000)
    est = estimate_correlators(
        net,
        X,
        args.nets,
        orders=(2, 4, 6),
        chunk_size=args.chunk,
        checkpoint=args.checkpoint,
        checkpoint_every=10,
    )
    seconds = time.perf_counter() - start
    done.set()
    pulls = {}
    for order in (4, 6):
        exact = np.asarray(net.exact_connected(X, order))
        pull = (est.connected(order) - exact) / est.stderr(order, connected=True)
        pulls[order] = {
            "max_abs": float(np.nanmax(np.abs(pull))),
            "rms": float(np.sqrt(np.nanmean(pull**2))),
        }
    result = {
        "n_nets": est.n_nets,
        "seconds_this_process": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_trace_mb": trace,
        "pulls_connected": pulls,
    }
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "rss_trace_mb"}))


if __name__ == "__main__":
    main()
