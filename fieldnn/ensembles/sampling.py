r"""Sampling network outputs in reproducible chunks.

Seeding: the ensemble of ``n_nets`` networks is cut into chunks of ``chunk_size`` networks
(the last one shorter). Chunk ``i`` draws from its own generator

.. code-block:: python

    base = numpy.random.SeedSequence(rng)
    child = numpy.random.SeedSequence(base.entropy, spawn_key=base.spawn_key + (i,))
    gen = numpy.random.Generator(numpy.random.SFC64(child))

``child`` is exactly ``base.spawn(n_chunks)[i]``, built without spawning the others (and without
mutating a SeedSequence the caller passed). Inside the chunk, the sampler's blocks of networks
draw from SFC64 generators seeded by 128 bits each taken from ``gen`` in block order (see
:mod:`fieldnn.ensembles._forward`). So a chunk's networks depend only on
(``rng``, ``chunk_size``, ``i``): the samples are bitwise the same whichever process, thread or
machine evaluates the chunk and in whatever order chunks finish (on one software stack: NumPy's
generators are platform independent; the arithmetic is that of the installed NumPy/SciPy/BLAS).

The samples are **not** independent of ``chunk_size``: another chunk size gives other networks
from the same distribution. The default chunk size is a fixed constant
(:data:`DEFAULT_CHUNK_SIZE`), never derived from the machine.

SFC64 is used because it is the fastest of NumPy's bit generators here (standard normals
≈ 8 ns vs 10.5 ns for PCG64) and passes BigCrush/PractRand.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import input_points, positive_int
from ..errors import ArgumentError, ArgumentTypeError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "chunk_generator",
    "chunk_sizes",
    "sample_outputs",
    "seed_sequence",
]

DEFAULT_CHUNK_SIZE = 1000


def seed_sequence(rng: Any, argument: str = "rng") -> np.random.SeedSequence:
    """The base SeedSequence of a run: from an int >= 0, a sequence of them, or a SeedSequence.

    A ``numpy.random.Generator`` is refused: its state cannot be split into reproducible chunks.
    """
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ArgumentError(argument, f"must be >= 0, got {rng}")
        return np.random.SeedSequence(int(rng))
    if isinstance(rng, Sequence) and not isinstance(rng, str) and len(rng) > 0:
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0 for v in rng):
            return np.random.SeedSequence([int(v) for v in rng])
    raise ArgumentTypeError(
        argument,
        f"must be an int >= 0, a sequence of them, or a numpy.random.SeedSequence, got {rng!r} "
        "(a Generator cannot be split into reproducible chunks)",
    )


def chunk_generator(base: np.random.SeedSequence, index: int) -> np.random.Generator:
    """Generator of chunk ``index``: SFC64 seeded by ``base.spawn(index + 1)[index]``."""
    child = np.random.SeedSequence(
        base.entropy, spawn_key=(*base.spawn_key, index), pool_size=base.pool_size
    )
    return np.random.Generator(np.random.SFC64(child))


def chunk_sizes(n_nets: int, chunk_size: int) -> list[int]:
    """Sizes of the chunks: ``chunk_size`` each, the last one the remainder."""
    return [min(chunk_size, n_nets - start) for start in range(0, n_nets, chunk_size)]


def check_network(net: Any) -> Any:
    """Refuse objects that are not fieldnn architectures (need sample_batch, d_in, d_out)."""
    if not all(hasattr(net, a) for a in ("sample_batch", "forward_plan", "d_in", "d_out")):
        raise ArgumentTypeError(
            "net", f"must be a SingleLayerNet or an MLP, got {type(net).__name__}"
        )
    return net


_MAX_CHUNK_BYTES = 2**31  # hidden activations of one chunk (float64)


def _check_chunk_memory(net: Any, n_points: int, chunk: int) -> None:
    """Refuse a chunk whose hidden activations (chunk × P × width float64) exceed 2 GiB, before
    anything is allocated (a huge ``chunk_size`` would otherwise exhaust memory)."""
    widths = getattr(net, "widths", None)
    width = max(widths[1:-1], default=1) if widths is not None else getattr(net, "width", 1)
    need = 8 * chunk * n_points * max(int(width), int(net.d_out))
    if need > _MAX_CHUNK_BYTES:
        largest = max(1, _MAX_CHUNK_BYTES // (8 * n_points * max(int(width), int(net.d_out))))
        raise ArgumentError(
            "chunk_size",
            f"a chunk of {chunk} networks needs ~{need / 2**30:.3g} GiB of hidden activations "
            f"(chunk × P × width × 8 bytes); use chunk_size <= {largest}",
        )


def _physical_memory() -> int | None:
    """This machine's physical memory in bytes, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not available on this platform
        return None


def _check_output_memory(
    n_nets: int,
    n_points: int,
    d_out: int,
    *,
    argument: str = "n_nets",
    copies: int = 1,
    hint: str = "use estimate_correlators (bounded memory)",
) -> None:
    """Refuse ``copies`` output arrays (n × P × d_out float64) plus the working memory of one
    chunk (~64 MiB) larger than the machine's physical memory, before anything is allocated."""
    physical = _physical_memory()
    if physical is None:
        return
    need = copies * 8 * n_nets * n_points * d_out + 2**26
    if need > physical:
        raise ArgumentError(
            argument,
            f"{n_nets} networks' outputs need ~{need / 2**30:.3g} GiB, more than this machine's "
            f"{physical / 2**30:.3g} GiB; {hint}",
        )


def sample_outputs(
    net: Any,
    X: Any,
    n_nets: int,
    *,
    rng: Any = 0,
    xp: Any = None,
    dtype: Any = None,
    chunk_size: int | None = None,
    threads: int | None = None,
) -> Any:
    """Outputs of ``n_nets`` independently initialised networks at the inputs X.

    Parameters
    ----------
    net : SingleLayerNet or MLP
    X : array_like (P, d_in)
    n_nets : int
        Number of networks (>= 1).
    rng : int, sequence of int, or numpy.random.SeedSequence
        Seed entropy; chunk i uses ``SeedSequence(rng).spawn(...)[i]`` (module docstring).
    xp : module, optional
        Array-API namespace of the result and the arithmetic (NumPy by default; CuPy; any
        namespace supported by ``array_api_compat``).
    dtype : optional
        ``xp.float64`` (default) or ``xp.float32``. On NumPy, float32 one-hidden-layer Erf-nets
        take a fast path (ziggurat normals, a float32 erf with max abs error 8.9e-8, readout
        sums in float64; other networks than float64 draws for the same seed, same
        distribution): :mod:`fieldnn.ensembles._fast32`, docs/numerics.md "float32 sampling".
    chunk_size : int, optional
        Networks per chunk (default :data:`DEFAULT_CHUNK_SIZE`). The samples depend on it.
    threads : int, optional
        Threads for the arithmetic inside a chunk (NumPy only; does not change the result).

    Returns
    -------
    array (n_nets, P, d_out)

    Examples
    --------
    >>> from fieldnn.ensembles import SingleLayerNet
    >>> f = sample_outputs(SingleLayerNet("relu", width=10), [[0.0], [1.0]], 5, rng=3)
    >>> f.shape
    (5, 2, 1)
    """
    net = check_network(net)
    X = input_points(X, "X", d_in=net.d_in)
    n_nets = positive_int(n_nets, "n_nets")
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK_SIZE
    chunk_size = positive_int(chunk_size, "chunk_size")
    _check_output_memory(n_nets, X.shape[0], net.d_out)
    _check_chunk_memory(net, X.shape[0], min(chunk_size, n_nets))
    base = seed_sequence(rng)
    sizes = chunk_sizes(n_nets, chunk_size)
    out = None
    start = 0
    for i, m in enumerate(sizes):  # filled in place: peak memory = the outputs + one chunk
        part = net.sample_batch(X, m, chunk_generator(base, i), xp=xp, dtype=dtype, threads=threads)
        if len(sizes) == 1:
            return part
        if out is None:
            from array_api_compat import array_namespace

            space = array_namespace(part)
            out = space.empty((n_nets, *part.shape[1:]), dtype=part.dtype)
        out[start : start + m, ...] = part
        start += m
    return out
