r"""Streaming estimates of ensemble correlators with error bars, serial or distributed.

:func:`estimate_correlators` samples ``n_nets`` networks in chunks, reduces each chunk to
float64 power sums over unique index multisets (:mod:`fieldnn.ensembles.accumulate`) where it
was sampled, and merges the chunks **in chunk-index order** through a bounded reorder buffer.

Sampling (``sampling=``):

* ``"network"`` (default): network m of the run draws from its own SFC64 stream, a function of
  (``rng``, m) alone (:mod:`fieldnn.ensembles._fast64`), and is evaluated without reference to
  any other network (:mod:`fieldnn.ensembles._network_sampler`; one-hidden-layer Erf-nets in
  float64 by a fused compiled pass with a vectorised float64 erf, ≤ 2.5 ulp). The power sums of
  every error block are formed from that block's outputs alone and the blocks added in order
  (``MomentAccumulator(exact_blocks=True)``). So the estimate, its error bars and diagnostics
  are bitwise the same for any ``chunk_size``, any backend and number of workers or threads,
  and after a resume.
* ``"chunk"`` (compatibility): chunk i draws from ``SeedSequence(rng).spawn(...)[i]`` as
  :func:`~fieldnn.ensembles.sample_outputs` does (:mod:`fieldnn.ensembles.sampling`): the
  samples of earlier versions, bitwise; the result depends on ``chunk_size`` (another chunk size
  samples other, equally distributed, networks), not on the backend or workers.

The two modes draw different networks from the same distribution; neither equals a plain NumPy
sampler's draws (``default_rng().normal``), and the ``"network"`` samples are not those of
:func:`~fieldnn.ensembles.sample_outputs`.

Conventions: full correlators :math:`G^{(n)}_{a_1..a_n} = \langle f(x_{a_1})\cdots
f(x_{a_n})\rangle`, connected ones are joint cumulants (:math:`G^{(2)}_c = K` at infinite
width, :math:`G^{(4)}_c = G^{(4)} - (K_{12}K_{34} + K_{13}K_{24} + K_{14}K_{23})` for zero mean).
Shapes: ``(P,)*n`` for one output, ``(P,)*n + (d_out,)*n`` otherwise (inputs first, then
species). Standard errors: batch means over error blocks of a fixed number of networks,
independent of ``chunk_size`` (:func:`_error_block_size`; >= 2 blocks needed). Every entry carries
a tail diagnostic (:meth:`CorrelatorEstimate.reliable`, :mod:`fieldnn.ensembles._tail`).

What is bitwise reproducible (on one software stack: NumPy, SciPy, numba, BLAS): with
``sampling="network"``, the result for fixed (network, X, orders, ``rng``, dtype, namespace),
whatever ``chunk_size``, backend, number of workers or threads, interruptions, and whether numba
is installed; with ``sampling="chunk"``, the same for fixed ``chunk_size`` too. Not guaranteed:
equality with NumPy's own samplers' draws; the same bits for another ``n_nets`` (the networks
are the same, but the error-block size follows ``n_nets``, and with it the grouping of the
sums) unless the run is extended from a checkpoint, which keeps its blocks.

References
----------
J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 3 (seed 001: sampled G^(n) of
Erf-, ReLU- and Gauss-nets, eq. (3.3)).
"""

from __future__ import annotations

import concurrent.futures
import importlib
import math
import platform
import sys
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import input_points, positive_int
from ..errors import ArgumentError, ArgumentTypeError, CheckpointError, UnsupportedError
from . import _checkpoint
from ._fast64 import GROUP, STREAM_TAG
from ._forward import default_threads
from ._guards import check_cost, check_float32_resolution
from ._network_sampler import sample_networks
from ._tail import RELIABLE_K
from .accumulate import (
    ChunkSums,
    MomentAccumulator,
    _to_numpy,
    check_capacity,
    expand_symmetric,
)
from .architectures import _namespace_and_dtype
from .sampling import (
    DEFAULT_CHUNK_SIZE,
    _check_chunk_memory,
    check_network,
    chunk_generator,
    chunk_sizes,
    seed_sequence,
)

__all__ = ["MAX_ORDER", "CorrelatorEstimate", "estimate_correlators"]

MAX_ORDER = 12


def _chunk_task(
    net: Any,
    X: np.ndarray,
    seed: tuple[int, tuple[int, ...], int],
    index: int,
    size: int,
    start: int,
    block: int,
    max_order: int,
    reference: np.ndarray | None,
    threads: int | None,
    backend: tuple[str, str],
) -> tuple[np.ndarray, list[ChunkSums]]:
    """Sample chunk ``index`` (networks ``start`` .. ``start + size``) and reduce it to power
    sums, one :class:`ChunkSums` per piece of an error block of ``block`` networks (runs on a
    worker).

    With ``reference=None`` (chunk 0 only) the chunk's own mean becomes the reference shift.
    ``backend`` = (array namespace module name, dtype name): modules do not pickle, names do.
    """
    entropy, spawn_key, pool_size = seed
    base = np.random.SeedSequence(entropy, spawn_key=spawn_key, pool_size=pool_size)
    xp = importlib.import_module(backend[0])
    dtype = getattr(xp, backend[1])
    f = net.sample_batch(X, size, chunk_generator(base, index), xp=xp, dtype=dtype, threads=threads)
    y = xp.reshape(f, (size, -1))
    if reference is None:
        reference = _to_numpy(xp.mean(xp.astype(y, xp.float64), axis=0)).astype(np.float64)
    pieces, a = [], 0
    while a < size:
        offset = (start + a) % block
        b = min(size, a + block - offset)
        whole = offset == 0 and b - a == block
        pieces.append(ChunkSums.from_samples(y[a:b, :], reference, max_order, estimates=whole))
        a = b
    return reference, pieces


def _network_task(
    net: Any,
    X: np.ndarray,
    seed: tuple[int, tuple[int, ...], int],
    start: int,
    size: int,
    block: int,
    max_order: int,
    reference: np.ndarray,
    threads: int | None,
    backend: tuple[str, str],
) -> list[ChunkSums | np.ndarray]:
    """``sampling="network"``: networks ``start`` .. ``start + size``, each from its own
    stream, reduced to one :class:`ChunkSums` per whole error block and left as rows (float64,
    (m, S)) for the pieces of blocks the range only partly covers (runs on a worker)."""
    entropy, spawn_key, pool_size = seed
    base = np.random.SeedSequence(entropy, spawn_key=spawn_key, pool_size=pool_size)
    xp = importlib.import_module(backend[0])
    dtype = getattr(xp, backend[1])
    f = sample_networks(net, X, base, start, size, xp=xp, dtype=dtype, threads=threads)
    y = xp.reshape(f, (size, -1))
    pieces: list[ChunkSums | np.ndarray] = []
    a = 0
    while a < size:
        offset = (start + a) % block
        b = min(size, a + block - offset)
        if offset == 0 and b - a == block:
            pieces.append(ChunkSums.from_samples(y[a:b, :], reference, max_order))
        else:
            pieces.append(_to_numpy(xp.astype(y[a:b, :], xp.float64)).astype(np.float64))
        a = b
    return pieces


# Networks whose mean output is the reference shift with sampling="network"
_REFERENCE_NETS = 64
_SAMPLING = ("network", "chunk")


def _error_block_size(n_nets: int) -> int:
    """Networks per error block: the largest of 1000, 500, 250, 100, 50 that gives at least
    16 blocks (50 for fewer than 800 networks). Independent of ``chunk_size``."""
    for size in _BLOCK_SIZES:
        if n_nets >= _MIN_BLOCKS * size:
            return size
    return _BLOCK_SIZES[-1]


_BLOCK_SIZES = (1000, 500, 250, 100, 50)
_MIN_BLOCKS = 16


def _check_orders(orders: Any) -> tuple[int, ...]:
    if isinstance(orders, int | np.integer) and not isinstance(orders, bool):
        orders = (orders,)
    if isinstance(orders, str) or not isinstance(orders, Iterable):
        raise ArgumentTypeError("orders", f"must be a sequence of integers, got {orders!r}")
    out = []
    for n in orders:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise ArgumentTypeError("orders", f"entries must be integers, got {n!r}")
        if not 1 <= n <= MAX_ORDER:
            raise ArgumentError("orders", f"supported orders are 1..{MAX_ORDER}, got {n}")
        out.append(int(n))
    if not out:
        raise ArgumentError("orders", "must contain at least one order")
    return tuple(sorted(set(out)))


class _Serial:
    """Stand-in executor running each task at once in this process."""

    class _Done:
        def __init__(self, value: Any) -> None:
            self.value = value

        def result(self) -> Any:
            return self.value

    def submit(self, fn: Any, *args: Any) -> Any:
        return self._Done(fn(*args))


def _backend(client: Any, executor: Any) -> tuple[Any, int, str, int | None]:
    """(submitter, in-flight window, backend name, threads per task).

    ``client`` may be a ``dask.distributed.Client`` or any :class:`concurrent.futures.Executor`
    (``executor=`` is the same for an Executor)."""
    if client is not None and executor is not None:
        raise ArgumentError("client", "pass either client= or executor=, not both")
    distributed = sys.modules.get("distributed")  # a Client exists only if it was imported
    if client is not None and distributed is not None and isinstance(client, distributed.Client):

        class _Dask:
            def submit(self, fn: Any, *args: Any) -> Any:
                return client.submit(fn, *args, pure=False)

        workers = sum(client.nthreads().values()) or 1
        return _Dask(), 2 * workers, f"dask.distributed ({workers} worker threads)", 1
    if client is not None and not isinstance(client, concurrent.futures.Executor):
        raise ArgumentTypeError(
            "client",
            f"must be a concurrent.futures.Executor or a dask.distributed.Client, got {client!r}",
        )
    if executor is None:
        executor = client
    elif not isinstance(executor, concurrent.futures.Executor):
        raise ArgumentTypeError(
            "executor", f"must be a concurrent.futures.Executor, got {executor!r}"
        )
    if executor is not None:
        workers = getattr(executor, "_max_workers", 2)
        return executor, 2 * workers, f"{type(executor).__name__} ({workers} workers)", 1
    return _Serial(), 1, "serial", None


def _versions(backend: str) -> dict[str, str]:
    import array_api_compat
    import scipy

    from .. import __version__

    out = {
        "fieldnn": __version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "array_api_compat": array_api_compat.__version__,
        "python": platform.python_version(),
    }
    if backend.startswith("dask"):
        import dask
        import distributed

        out["dask"] = dask.__version__
        out["distributed"] = distributed.__version__
    return out


class CorrelatorEstimate:
    """Sampled full and connected correlators with batch-means standard errors.

    Tensors have shape ``(P,)*n`` (d_out = 1) or ``(P,)*n + (d_out,)*n``. Any order from 1 to
    ``max(orders)`` is available (all are accumulated). :meth:`full`, :meth:`connected`,
    :meth:`stderr` give the tensors; :meth:`reliable` and :meth:`pareto_k` the tail diagnostic
    of every entry's error bar.

    Attributes
    ----------
    n_nets : int
    orders : tuple of int
        The requested orders.
    provenance : dict
        Seed entropy and spawn keys, chunk size, error-block size, dtype, versions, conventions,
        backend, predicted cost.
    """

    def __init__(
        self,
        accumulator: MomentAccumulator,
        n_inputs: int,
        d_out: int,
        orders: tuple[int, ...],
        provenance: dict[str, Any],
    ) -> None:
        self._acc = accumulator
        self._P = n_inputs
        self._d_out = d_out
        self.orders = orders
        self.provenance = provenance

    @property
    def n_nets(self) -> int:
        """Number of networks accumulated."""
        return self._acc.count

    def __repr__(self) -> str:
        return (
            f"CorrelatorEstimate(n_nets={self.n_nets}, orders={self.orders}, "
            f"P={self._P}, d_out={self._d_out})"
        )

    def _tensor(self, values: np.ndarray, n: int) -> np.ndarray:
        t = expand_symmetric(values, self._P * self._d_out, n)
        if self._d_out == 1:
            return t
        t = t.reshape((self._P, self._d_out) * n)
        return t.transpose([2 * j for j in range(n)] + [2 * j + 1 for j in range(n)])

    def _order(self, n: Any) -> int:
        """The order ``n`` checked against the accumulated ones (1..max(orders)); errors name
        the argument ``n`` of :meth:`full`, :meth:`connected` and :meth:`stderr`."""
        n = positive_int(n, "n")
        if n > self._acc.max_order:
            raise ArgumentError(
                "n",
                f"must be between 1 and {self._acc.max_order} (the largest order "
                f"accumulated), got {n}",
            )
        return n

    def full(self, n: int) -> np.ndarray:
        r"""Full correlator :math:`\langle f_{i_1}(x_{a_1}) \cdots f_{i_n}(x_{a_n})\rangle`."""
        n = self._order(n)
        return self._tensor(self._acc.moments(n), n)

    def connected(self, n: int) -> np.ndarray:
        """Connected correlator (joint cumulant) of order n; n = 1 is the mean."""
        n = self._order(n)
        return self._tensor(self._acc.cumulants(n), n)

    def stderr(self, n: int, connected: bool = True) -> np.ndarray:
        """Standard error of :meth:`connected` or :meth:`full`: batch means over error blocks
        of ``provenance["error_block_size"]`` consecutive networks (independent of
        ``chunk_size``).

        Raises
        ------
        UnsupportedError
            (naming ``n_nets``) if fewer than two error blocks were accumulated.
        """
        n = self._order(n)
        if self._acc.n_batches < 2:
            raise UnsupportedError(
                "n_nets",
                f"{self.n_nets} networks fill {self._acc.n_batches} error block(s) of "
                f"{self._acc.block_size}; standard errors need at least 2 (n_nets >= "
                f"{2 * (self._acc.block_size or 1)})",
            )
        return self._tensor(self._acc.stderr(n, connected=connected), n)

    def pareto_k(self, n: int) -> np.ndarray:
        r"""Tail diagnostic of every entry of order n: the bound
        :math:`\sum_j \max(\hat k_{s_j}, 0)` on the generalised Pareto shape of the
        per-network products, :math:`\hat k_s` fitted to the largest :math:`|f_s - c_s|` of
        site s (NaN with fewer than ~100 networks).

        References
        ----------
        A. Vehtari et al., arXiv:1507.02646, Sec. 3 (k > 0.5: infinite or unreliably
        estimated variance); J. Zhang, M. A. Stephens, Technometrics 51, 316 (2009) (the fit).
        """
        n = self._order(n)
        return self._tensor(self._acc.pareto_k(n), n)

    def reliable(self, n: int, connected: bool = True) -> np.ndarray:
        """Boolean tensor of the estimate's shape: False where the error bar of
        :meth:`connected` (or :meth:`full`) is not to be trusted.

        An entry is reliable when there are at least two error blocks and its tail diagnostic
        :meth:`pareto_k` is at most 0.5 (the per-network products have a finite variance, so the
        batch-means error bar estimates the spread). Heavy tails (the Gauss-net's lognormal
        units at orders >= 4) give error bars that are too small and estimates biased low;
        they are flagged here. The same bound serves full and connected correlators.

        Examples
        --------
        >>> from fieldnn.ensembles import SingleLayerNet
        >>> est = estimate_correlators(SingleLayerNet("erf", 10), [[0.5]], 20_000,
        ...                            orders=(2,))
        >>> bool(est.reliable(2).all())
        True
        """
        n = self._order(n)
        return self._tensor(self._acc.reliable(n, connected=connected), n)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict: every tensor as nested lists (NaN → None) and the provenance
        (standard errors None with fewer than two error blocks)."""

        def nan_to_none(x: Any) -> Any:
            if isinstance(x, list):
                return [nan_to_none(v) for v in x]
            return None if isinstance(x, float) and math.isnan(x) else x

        out: dict[str, Any] = {
            "n_nets": self.n_nets,
            "orders": list(self.orders),
            "n_inputs": self._P,
            "d_out": self._d_out,
            "provenance": self.provenance,
        }
        errors = self._acc.n_batches >= 2
        for key, fn in (
            ("full", self.full),
            ("connected", self.connected),
            ("stderr_full", lambda n: self.stderr(n, connected=False)),
            ("stderr_connected", self.stderr),
            ("pareto_k", self.pareto_k),
            ("reliable", self.reliable),
        ):
            if key.startswith("stderr") and not errors:
                out[key] = None
                continue
            out[key] = {str(n): nan_to_none(fn(n).tolist()) for n in self.orders}
        return out


def estimate_correlators(
    net: Any,
    X: Any,
    n_nets: int,
    *,
    orders: Iterable[int] = (2, 4, 6),
    rng: Any = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    client: Any = None,
    executor: concurrent.futures.Executor | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 10,
    progress: bool = False,
    xp: Any = None,
    dtype: Any = None,
    sampling: str = "network",
) -> CorrelatorEstimate:
    """Estimate full and connected correlators of a network ensemble, with error bars.

    Parameters
    ----------
    net : SingleLayerNet or MLP
    X : array_like (P, d_in)
    n_nets : int
        Networks to sample (>= 1; >= 100, two error blocks, for standard errors).
    orders : sequence of int
        Orders wanted (1..12); all orders up to the largest are accumulated.
    rng : int, sequence of int, or numpy.random.SeedSequence
        Seed entropy; chunk i is seeded by ``SeedSequence(rng).spawn(...)[i]``.
    chunk_size : int
        Networks per chunk: the unit of work (and of the checkpoints). With the default
        ``sampling="network"`` the result does not depend on it; with ``sampling="chunk"`` the
        samples do (the error blocks never do).
    client : dask.distributed.Client or concurrent.futures.Executor, optional
        Run the chunks on a dask cluster (``pip install fieldnn[distributed]``) or on any
        executor (process or thread pool); bitwise the same result as serially.
    executor : concurrent.futures.Executor, optional
        Run the chunks on any executor (e.g. a ProcessPoolExecutor).
    checkpoint : path, optional
        ``.npz`` file. Written atomically every ``checkpoint_every`` chunks and at the end; if it
        exists, the run resumes from it (bitwise identical to an uninterrupted run). A file
        written with other arguments raises :class:`~fieldnn.errors.CheckpointError`. A finished
        run may be extended by calling again with a larger ``n_nets``.
    checkpoint_every : int
        Chunks between checkpoint writes.
    progress : bool
        Show a tqdm progress bar over chunks.
    xp, dtype : optional
        Array-API namespace and float dtype in which chunks are sampled and reduced (NumPy,
        float64 by default; e.g. ``xp=cupy`` on a GPU). Power sums are always float64.
        ``dtype=numpy.float32`` samples one-hidden-layer Erf-nets faster
        (:func:`~fieldnn.ensembles.sample_outputs`); its effect on the connected G2, G4, G6 is
        ~1e-6 of their standard error (docs/numerics.md, "float32 sampling").
    sampling : {"network", "chunk"}
        ``"network"`` (default): every network from its own stream, the estimate bitwise
        independent of ``chunk_size`` and workers. ``"chunk"``: chunk-seeded, the samples of
        earlier versions and of :func:`~fieldnn.ensembles.sample_outputs` (module docstring).

    Returns
    -------
    CorrelatorEstimate

    Notes
    -----
    Over M = ``n_nets`` sampled networks the full correlator is the sample mean

    .. math::

        \\hat G^{(n)}_{a_1\\ldots a_n} = \\frac{1}{M}\\sum_{m=1}^{M}
        f_m(x_{a_1})\\cdots f_m(x_{a_n}),

    the connected correlators are the joint cumulants built from these moments (at zero mean
    :math:`G^{(4)}_c = G^{(4)}_{1234} - G^{(2)}_{12}G^{(2)}_{34} - G^{(2)}_{13}G^{(2)}_{24}
    - G^{(2)}_{14}G^{(2)}_{23}`), and the standard errors are batch means: the spread of the
    B per-block estimates divided by :math:`\\sqrt{B}` (docs/numerics.md, "Error bars";
    shapes and conventions in the module docstring and docs/conventions.md, section 1).

    The mean output of the first 64 networks (``sampling="network"``; of chunk 0 with
    ``"chunk"``) is the reference shift of every power sum (no cancellation for outputs with a
    large mean); it is computed first. At most twice as many chunks as there are
    workers are in flight; results are merged strictly in chunk order.

    Before any sampling the run's memory and time are predicted from the multiset counts
    (:func:`~fieldnn.ensembles._guards.estimate_cost`); a run that cannot fit in memory is
    refused, and the prediction is shown on the progress bar and kept in the provenance. With
    ``dtype=float32`` the first chunk is checked for outputs whose mean dwarfs their spread
    (float32 would round the fluctuations away). A checkpoint's directory is checked and the
    file locked (``<checkpoint>.lock``) for the whole run.

    Raises
    ------
    UnsupportedError
        (naming ``orders``) if the predicted memory exceeds the machine's.
    ArgumentError
        (naming ``dtype``) for float32 outputs with mean > ~840 standard deviations; (naming
        ``sampling``) for a mode other than "network" or "chunk".
    CheckpointError
        If the checkpoint's directory is missing or read-only, another run holds it, or the
        file is damaged or from other arguments.

    References
    ----------
    J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 3 (sampled correlators of
    Erf-, ReLU- and Gauss-nets).

    Examples
    --------
    >>> from fieldnn.ensembles import SingleLayerNet
    >>> est = estimate_correlators(SingleLayerNet("erf", 20), [[0.5], [1.0]], 4000,
    ...                            orders=(2, 4), chunk_size=1000)
    >>> est.connected(4).shape, est.stderr(2).shape
    ((2, 2, 2, 2), (2, 2))
    """
    net = check_network(net)
    X = input_points(X, "X", d_in=net.d_in)
    n_nets = positive_int(n_nets, "n_nets")
    orders = _check_orders(orders)
    if not isinstance(sampling, str) or sampling not in _SAMPLING:
        raise ArgumentError("sampling", f"must be one of {_SAMPLING}, got {sampling!r}")
    per_network = sampling == "network"
    chunk_size = positive_int(chunk_size, "chunk_size")
    _check_chunk_memory(net, X.shape[0], min(chunk_size, n_nets))
    checkpoint_every = positive_int(checkpoint_every, "checkpoint_every")
    base = seed_sequence(rng)
    xp, dtype = _namespace_and_dtype(xp, dtype)
    arrays = (xp.__name__, "float64" if dtype == xp.float64 else "float32")
    submitter, window, backend, threads = _backend(client, executor)
    pool = None
    if per_network and backend == "serial" and default_threads() > 1:
        # every network is drawn alone: chunks may run on threads, one thread each
        window, threads = 2 * default_threads(), 1
        backend = f"serial ({default_threads()} threads)"
    max_order = max(orders)
    n_sites = X.shape[0] * net.d_out
    check_capacity(n_sites, max_order)
    block = _error_block_size(n_nets)
    cost = check_cost(n_sites, max_order, orders, n_nets, block)
    sizes = chunk_sizes(n_nets, chunk_size)
    seed = (base.entropy, tuple(base.spawn_key), base.pool_size)
    description = {
        "network": net.fingerprint(),
        "max_order": max_order,
        "seed_entropy": str(base.entropy),
        "spawn_key": list(base.spawn_key),
        "pool_size": base.pool_size,
        "chunk_size": chunk_size,
        "bit_generator": "SFC64",
        "namespace": arrays[0],
        "dtype": arrays[1],
    }
    if per_network:  # (the identity of chunk-sampled runs is unchanged)
        description["sampling"] = sampling
    path = None if checkpoint is None else Path(checkpoint)
    identity = _checkpoint.run_identity(description, X)

    from tqdm.auto import tqdm

    with _checkpoint.locked(path):
        done, acc, resumed = 0, None, None
        if path is not None:
            loaded = _checkpoint.load(path, identity)
            if loaded is not None:
                done, acc = loaded
                resumed = done
                if done > len(sizes) or acc.count != sum(sizes[:done]):
                    raise CheckpointError(
                        f"checkpoint {str(path)!r} holds {acc.count} networks in {done} "
                        f"chunks, which is not a prefix of a run with n_nets={n_nets}"
                    )
                block = acc.block_size  # an extended run keeps the error blocks it began with

        bar = tqdm(total=len(sizes), initial=done, disable=not progress, desc="chunks")
        if progress:
            bar.set_postfix_str(
                f"~{cost['bytes'] / 2**30:.2g} GiB, ~{cost['seconds']:.2g} s estimated"
            )
        pending: deque = deque()
        if threads == 1 and backend.startswith("serial"):
            pool = concurrent.futures.ThreadPoolExecutor(default_threads())
            submitter = pool

        def merge(pieces: list[Any]) -> None:
            nonlocal done
            for piece in pieces:
                if isinstance(piece, ChunkSums):
                    acc.add(piece)
                else:
                    acc.add_rows(piece)
            done += 1
            bar.update(1)
            if path is not None and (done % checkpoint_every == 0 or done == len(sizes)):
                _checkpoint.save(path, identity, done, acc)

        try:
            if acc is None and per_network:  # the first networks' mean: the reference shift
                m = min(n_nets, _REFERENCE_NETS)
                f = sample_networks(net, X, base, 0, m, xp=xp, dtype=dtype, threads=threads)
                rows = _to_numpy(xp.astype(xp.reshape(f, (m, -1)), xp.float64))
                ref = np.asarray(rows, dtype=np.float64).mean(axis=0)
                if arrays[1] == "float32":
                    first = ChunkSums.from_samples(rows, ref, max(2, max_order), estimates=False)
                    with np.errstate(over="ignore", divide="ignore"):  # no spread: refused
                        check_float32_resolution(ref, [first])
                acc = MomentAccumulator(n_sites, max_order, ref, block, exact_blocks=True)
            if acc is None:  # chunk 0 alone: its mean is every chunk's reference shift
                ref, first = submitter.submit(
                    _chunk_task,
                    net,
                    X,
                    seed,
                    0,
                    sizes[0],
                    0,
                    block,
                    max_order,
                    None,
                    threads,
                    arrays,
                ).result()
                if arrays[1] == "float32":
                    check_float32_resolution(ref, first)
                acc = MomentAccumulator(n_sites, max_order, ref, block)
                merge(first)
            submitted = done
            while done < len(sizes):  # bounded reorder buffer: merge strictly in chunk order
                while per_network and submitted < len(sizes) and len(pending) < window:
                    pending.append(
                        submitter.submit(
                            _network_task,
                            net,
                            X,
                            seed,
                            submitted * chunk_size,
                            sizes[submitted],
                            block,
                            max_order,
                            acc.reference,
                            threads,
                            arrays,
                        )
                    )
                    submitted += 1
                while submitted < len(sizes) and len(pending) < window:
                    pending.append(
                        submitter.submit(
                            _chunk_task,
                            net,
                            X,
                            seed,
                            submitted,
                            sizes[submitted],
                            submitted * chunk_size,
                            block,
                            max_order,
                            acc.reference,
                            threads,
                            arrays,
                        )
                    )
                    submitted += 1
                result = pending.popleft().result()
                merge(result if per_network else result[1])
        except BaseException:
            for fut in pending:
                if hasattr(fut, "cancel"):
                    fut.cancel()
            raise
        finally:
            bar.close()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    provenance = {
        "seed": {
            "entropy": str(base.entropy),
            "spawn_key": list(base.spawn_key),
            "pool_size": base.pool_size,
            "chunk_spawn_keys": (
                f"network m: SFC64 seeded by words 3(m % {GROUP}) .. +3 of SeedSequence(entropy, "
                f"spawn_key={list(base.spawn_key)} + [{STREAM_TAG}, m // {GROUP}])"
                f".generate_state({3 * GROUP}, uint64)"
                if per_network
                else f"{list(base.spawn_key)} + [i] for chunk i = 0..{len(sizes) - 1}"
            ),
            "bit_generator": "SFC64",
        },
        "sampling": sampling,
        "n_nets": acc.count,
        "chunk_size": chunk_size,
        "n_chunks": len(sizes),
        "error_block_size": acc.block_size,
        "n_error_blocks": acc.n_batches,
        "namespace": arrays[0],
        "dtype": arrays[1],
        "accumulation_dtype": "float64",
        "reference_shift": acc.reference.tolist(),
        "network": net.fingerprint(),
        "X": X.tolist(),
        "orders": list(orders),
        "backend": backend,
        "cost_estimate": cost,
        "checkpoint": None if path is None else {"path": str(path), "resumed_at_chunk": resumed},
        "versions": _versions(backend),
        "conventions": {
            "sites": "s = a * d_out + i (input a, species i)",
            "tensor_shape": "(P,)*n if d_out == 1 else (P,)*n + (d_out,)*n",
            "connected": "joint cumulants (moment-cumulant recursion)",
            "stderr": (
                "batch means over error blocks of error_block_size consecutive networks "
                "(independent of chunk_size), block-size weighted; networks after the last "
                "complete block enter the estimate, not the spread"
            ),
            "reliable": (
                f"stderr finite and tail-shape bound sum_j max(k_j, 0) <= {RELIABLE_K}, "
                "k_j the generalised Pareto shape of the largest |f - c| at site j "
                "(Zhang-Stephens fit as in PSIS, arXiv:1507.02646)"
            ),
            "architectures": "seed 001 (SingleLayerNet), seed 000 (MLP); docs/conventions.md",
        },
    }
    return CorrelatorEstimate(acc, X.shape[0], net.d_out, orders, provenance)
