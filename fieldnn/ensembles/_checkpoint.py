"""Atomic checkpoints of a running ensemble estimate (private).

A checkpoint is one ``.npz`` file: the accumulator state (:meth:`MomentAccumulator.state`), the
number of chunks merged so far, and the SHA-256 *identity* of the run (network parameters, X,
orders, seed entropy and spawn key, chunk size). It is written to a temporary file in the same
directory, flushed and fsynced, then moved over the old one with :func:`os.replace` (atomic on
POSIX and Windows), so a run killed at any instant leaves either the previous or the new
checkpoint, never a torn one.

While a run uses a checkpoint it holds an exclusive lock (``fcntl.flock``) on ``<path>.lock``
beside it, so a second run on the same path (with the same or other arguments) is refused at
once instead of overwriting the first one's progress; the lock file stays (it is empty). The
directory is checked to exist and be writable before any work starts. Where ``fcntl`` is
missing (Windows) runs are not locked.

Limitation: a user-callable activation enters the identity by its name and parameters only
(code is not hashed), so two different callables with one ``__name__`` share checkpoints.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError
from .accumulate import MomentAccumulator

_FORMAT = 2  # 2: error blocks and tail diagnostic in the state


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


@contextlib.contextmanager
def locked(path: Path | None) -> Iterator[None]:
    """Check that the checkpoint's directory is writable and hold ``<path>.lock`` exclusively.

    Raises
    ------
    CheckpointError
        If the directory is missing or not writable, or another run holds the lock.
    """
    if path is None:
        yield
        return
    path = Path(path)
    if not path.parent.is_dir():
        raise CheckpointError(f"checkpoint directory {str(path.parent)!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
        handle = open(str(path) + ".lock", "a")  # held for the whole run
    except OSError as exc:
        raise CheckpointError(
            f"checkpoint directory {str(path.parent)!r} is not writable: {exc.strerror}"
        ) from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise CheckpointError(
                    f"checkpoint {str(path)!r} is in use by another run (lock "
                    f"{str(path) + '.lock'!r}); wait for it or use another path"
                ) from None
        yield
    finally:
        handle.close()  # releases the lock


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
    except Exception as exc:  # any failure to read the zip (directory, members, arrays)
        raise CheckpointError(
            f"checkpoint {str(path)!r} is unreadable: {type(exc).__name__}: {exc}"
        ) from None
    try:
        version = int(state.get("format", -1))
    except (TypeError, ValueError):
        version = -1
    if version != _FORMAT:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has an unknown format (written by another version of "
            "fieldnn?); use another path or delete it"
        )
    if str(state.get("identity")) != identity:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was written by a run with different arguments "
            "(network parameters, X, orders, rng or chunk_size); use another path or delete it"
        )
    try:
        return int(state["chunks_done"]), MomentAccumulator.from_state(state)
    except Exception as exc:  # missing or malformed arrays
        raise CheckpointError(
            f"checkpoint {str(path)!r} is damaged: {type(exc).__name__}: {exc}"
        ) from None
