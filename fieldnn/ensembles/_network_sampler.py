"""Sampling a range of networks, each from its own stream (private; ``sampling="network"``).

Network m of a run is a function of (seed, m) alone (:mod:`fieldnn.ensembles._fast64`): its
normals come from its own SFC64 stream, and its outputs are computed from them by arithmetic
that does not involve any other network. Any range of networks can therefore be drawn by any
chunk, worker or thread with bitwise the same result.

Two paths:

* one-hidden-layer Erf-nets, NumPy float64, readout weights drawn (the usual case): the fused
  :func:`fieldnn.ensembles._fast64.erf_net64` (normals, first layer, float64 erf, readout in one
  compiled pass per network);
* every other network, dtype and namespace: the normals of each network from its stream
  (:func:`fieldnn.ensembles._fast64.network_normals`), then ``ForwardPlan.forward`` on blocks of
  networks. The forward pass treats the networks of a block independently (batched matrix
  products per network, element-wise activations, per-network eigendecompositions), so a
  network's outputs do not depend on the block it was evaluated in (tested for the paths the
  tests cover: Erf and ReLU single-layer nets, a deep MLP, float32).

The ranges are split across ``threads`` threads by networks; the result does not depend on the
number of threads.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from array_api_compat import is_numpy_namespace

from ._fast64 import erf_net64, network_normals, network_words
from ._forward import _ERF, ForwardPlan, default_threads

__all__ = ["fused", "sample_networks"]


def fused(plan: ForwardPlan, xp: Any, dtype: Any) -> bool:
    """True if the networks take the fused float64 Erf-net path."""
    return (
        is_numpy_namespace(xp)
        and dtype == np.float64
        and plan.activation == _ERF
        and len(plan.layers) == 2
        and not plan.modes[0]
    )


def _fused_range(
    plan: ForwardPlan, base: np.random.SeedSequence, start: int, count: int, out: np.ndarray
) -> None:
    readout = plan.layers[1]
    coef = np.array(
        [(readout.c_w / readout.n_in) ** 0.5, readout.c_b**0.5, readout.mu_b, readout.mu_w]
    )
    words = network_words(base, start, count)
    F = np.ascontiguousarray(plan.factor, dtype=np.float64)
    mean = np.ascontiguousarray(plan.mean, dtype=np.float64)
    erf_net64(words, F, mean, coef, plan.layers[0].n_out, out)


def _generic_range(
    plan: ForwardPlan, base: np.random.SeedSequence, start: int, count: int, xp: Any, dtype: Any
) -> Any:
    shapes = plan._draw_shapes(1)
    sizes = [math.prod(shape) for shape in shapes]
    ends = np.cumsum([0, *sizes]).tolist()
    step = plan.block32 if plan.fast32(xp, dtype) else plan.block
    words = network_words(base, start, count)
    parts = []
    for a in range(0, count, step):
        b = min(step, count - a)
        g = network_normals(words[a : a + b], ends[-1])
        draws = [
            np.ascontiguousarray(g[:, ends[k] : ends[k + 1]]).reshape((b, *shapes[k][1:]))
            for k in range(len(shapes))
        ]
        parts.append(plan.forward(draws, xp, dtype))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


def sample_networks(
    net: Any,
    X: np.ndarray,
    base: np.random.SeedSequence,
    start: int,
    count: int,
    *,
    xp: Any = np,
    dtype: Any = np.float64,
    threads: int | None = None,
) -> Any:
    """Outputs (count, P, d_out) of networks ``start`` .. ``start + count`` of the run seeded
    by ``base``, in namespace ``xp`` and ``dtype`` (module docstring)."""
    plan = net.forward_plan(X)
    threads = default_threads() if threads is None else max(1, int(threads))
    pieces = min(threads, max(1, count // 64))
    bounds = [start + (count * k) // pieces for k in range(pieces + 1)]
    if fused(plan, xp, dtype):
        out = np.empty((count, plan.n_inputs, plan.layers[-1].n_out))

        def run(k: int) -> None:
            lo, hi = bounds[k], bounds[k + 1]
            _fused_range(plan, base, lo, hi - lo, out[lo - start : hi - start])

    else:
        parts: list[Any] = [None] * pieces

        def run(k: int) -> None:
            parts[k] = _generic_range(plan, base, bounds[k], bounds[k + 1] - bounds[k], xp, dtype)

    if pieces == 1:
        run(0)
    else:
        with ThreadPoolExecutor(pieces) as pool:
            list(pool.map(run, range(pieces)))
    if fused(plan, xp, dtype):
        return out
    return parts[0] if pieces == 1 else xp.concat(parts, axis=0)
