"""Network ensembles: architectures, batched sampling, streaming correlator estimates.

Public names (re-exported here once):

* architectures: :class:`SingleLayerNet` (seed 001), :class:`MLP` (seed 000)
* sampling: :func:`sample_outputs`, :data:`DEFAULT_CHUNK_SIZE`
* estimates: :func:`estimate_correlators`, :class:`CorrelatorEstimate`
* streaming accumulation: :class:`MomentAccumulator`, :class:`ChunkSums`
* exact finite-width correlators of the single-layer net: :func:`exact_full`,
  :func:`exact_connected` (module :mod:`fieldnn.ensembles.exact`)
"""

from .accumulate import ChunkSums, MomentAccumulator
from .architectures import MLP, SingleLayerNet
from .estimate import CorrelatorEstimate, estimate_correlators
from .exact import exact_connected, exact_full
from .sampling import DEFAULT_CHUNK_SIZE, sample_outputs

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MLP",
    "ChunkSums",
    "CorrelatorEstimate",
    "MomentAccumulator",
    "SingleLayerNet",
    "estimate_correlators",
    "exact_connected",
    "exact_full",
    "sample_outputs",
]
