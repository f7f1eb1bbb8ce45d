"""Atomic checkpoints of a running ensemble estimate (private).

A checkpoint is one ``.npz`` file: the accumulator state (:meth:`MomentAccumulator.state`), the
number of chunks merged so far, and the SHA-256 *identity* of the run (network parameters, X,
orders, seed entropy and spawn key, chunk size). It is written to a temporary file in the same
directory, flushed and fsynced, then moved over the old one with :func:`os.replace` (atomic on
POSIX and Windows), so a run killed at any instant leaves either the previous or the new
checkpoint, never a torn one.

Limitation: a user-callable activation enters the identity by its name and parameters only
(code is not hashed), so two different callables with one ``__name__`` share checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError
from .accumulate import MomentAccumulator

_FORMAT = 1


def run_identity(description: dict[str, Any], X: np.ndarray) -> str:
    """SHA-256 hex digest of a JSON description and the exact bytes of X (float64, C order)."""
    h = hashlib.sha256()
    h.update(json.dumps(description, sort_keys=True).encode())
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    return h.hexdigest()


def save(path: Path, identity: str, chunks_done: int, acc: MomentAccumulator) -> None:
    """Write the checkpoint atomically (temporary file + fsync + os.replace)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                format=np.array(_FORMAT),
                identity=np.array(identity),
                chunks_done=np.array(chunks_done),
                **acc.state(),
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: Path, identity: str) -> tuple[int, MomentAccumulator] | None:
    """(chunks_done, accumulator) from ``path``; None if it does not exist.

    Raises
    ------
    CheckpointError
        If the file is unreadable or was written by a run with other arguments.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} is unreadable: {exc}") from None
    if int(state.get("format", -1)) != _FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} has an unknown format")
    if str(state["identity"]) != identity:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was written by a run with different arguments "
            "(network parameters, X, orders, rng or chunk_size); use another path or delete it"
        )
    return int(state["chunks_done"]), MomentAccumulator.from_state(state)
