"""Checkpoints of estimate_correlators: checked at the start, locked while in use, and every
damaged file refused with CheckpointError (issue 14)."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from fieldnn.ensembles import SingleLayerNet, _checkpoint, estimate_correlators
from fieldnn.errors import CheckpointError

NET = SingleLayerNet("erf", 8)
X = np.array([[0.1], [0.7]])
ARGS = {"orders": (2, 4), "rng": 5, "chunk_size": 100}


def test_missing_directory_fails_before_any_work(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "run.npz"
    with mock.patch.object(SingleLayerNet, "sample_batch", side_effect=AssertionError):
        with pytest.raises(CheckpointError, match="does not exist"):
            estimate_correlators(NET, X, 500, checkpoint=path, **ARGS)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions")
def test_read_only_directory_fails_before_any_work(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with mock.patch.object(SingleLayerNet, "sample_batch", side_effect=AssertionError):
            with pytest.raises(CheckpointError, match="not writable"):
                estimate_correlators(NET, X, 500, checkpoint=tmp_path / "run.npz", **ARGS)
    finally:
        tmp_path.chmod(0o700)


def test_unwritable_directory_detected_without_permissions(tmp_path: Path) -> None:
    """The same refusal where permissions cannot be used (root): the write probe fails."""
    with mock.patch("tempfile.mkstemp", side_effect=PermissionError(13, "Permission denied")):
        with pytest.raises(CheckpointError, match="not writable"):
            estimate_correlators(NET, X, 500, checkpoint=tmp_path / "run.npz", **ARGS)


def test_second_run_on_a_path_in_use_is_refused(tmp_path: Path) -> None:
    """Two runs on one path (same or other arguments) used to both finish, one's progress
    lost; the second is now refused at once while the first holds the lock."""
    path = tmp_path / "run.npz"
    with _checkpoint.locked(path):
        for args in (ARGS, {**ARGS, "rng": 6}):
            with pytest.raises(CheckpointError, match="in use by another run"):
                estimate_correlators(NET, X, 500, checkpoint=path, **args)
    est = estimate_correlators(NET, X, 500, checkpoint=path, **ARGS)  # lock released
    assert est.n_nets == 500 and path.exists()


def test_damaged_zip_directory_is_a_checkpoint_error(tmp_path: Path) -> None:
    """Byte flips in the zip central directory and end record (they raised
    NotImplementedError, RuntimeError or KeyError) and in the members: all CheckpointError."""
    path = tmp_path / "run.npz"
    estimate_correlators(NET, X, 300, checkpoint=path, **ARGS)
    good = path.read_bytes()
    directory = good.find(b"PK\x01\x02")  # first central directory header
    assert directory > 0
    positions = list(range(directory, len(good), 13)) + list(range(0, directory, 4999))
    refused = 0
    for pos in positions:
        for flip in (0x01, 0x80):
            bad = bytearray(good)
            bad[pos] ^= flip
            path.write_bytes(bytes(bad))
            try:
                est = estimate_correlators(NET, X, 300, checkpoint=path, **ARGS)
            except CheckpointError:
                refused += 1
                continue
            # a flip the format does not see (e.g. in a name's padding) loads the same numbers
            ref = estimate_correlators(NET, X, 300, **ARGS)
            assert np.array_equal(est.connected(4), ref.connected(4))
    assert refused > len(positions)  # most flips are caught


def test_old_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.npz"
    np.savez(path, format=np.array(1), identity=np.array("x"), chunks_done=np.array(1))
    with pytest.raises(CheckpointError, match="unknown format"):
        estimate_correlators(NET, X, 300, checkpoint=path, **ARGS)


def _same(a, b) -> None:
    for n in (1, 2, 3, 4):
        assert np.array_equal(a.connected(n), b.connected(n))
        assert np.array_equal(a.stderr(n), b.stderr(n))
        assert np.array_equal(a.pareto_k(n), b.pareto_k(n), equal_nan=True)


def test_resume_inside_an_error_block_is_bitwise_identical(tmp_path: Path) -> None:
    """Chunks of 30 networks, error blocks of 50: a run stopped after 330 networks (an open
    block of 30) and extended to 600 equals the uninterrupted run of 600 bit for bit (the
    open block's sums and the kept tail values are in the checkpoint)."""
    path = tmp_path / "run.npz"
    args = {**ARGS, "chunk_size": 30}
    first = estimate_correlators(NET, X, 330, checkpoint=path, **args)
    assert first.provenance["error_block_size"] == 50 and first.provenance["n_error_blocks"] == 6
    resumed = estimate_correlators(NET, X, 600, checkpoint=path, **args)
    assert resumed.provenance["checkpoint"]["resumed_at_chunk"] == 11
    _same(resumed, estimate_correlators(NET, X, 600, **args))
