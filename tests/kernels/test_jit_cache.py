"""The numba cache directory: the user's cache, never the source tree, unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fieldnn
from fieldnn.kernels import _jit_cache


def test_user_setting_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert _jit_cache.use_user_cache_dir() == str(tmp_path / "mine")
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout")
def test_default_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _jit_cache.use_user_cache_dir() == str(tmp_path / "fieldnn" / "numba")
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "fieldnn" / "numba")
    package = Path(fieldnn.__file__).resolve().parent
    assert package not in Path(os.environ["NUMBA_CACHE_DIR"]).resolve().parents


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout")
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_cache_falls_back_to_numba_default(monkeypatch, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(locked))
    assert _jit_cache.use_user_cache_dir() is None
    assert "NUMBA_CACHE_DIR" not in os.environ


def test_file_in_the_way_is_not_creatable(tmp_path):
    (tmp_path / "file").write_text("")
    assert not _jit_cache._creatable(tmp_path / "file" / "numba")
    assert _jit_cache._creatable(tmp_path / "new" / "numba")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout")
def test_compiled_loops_cache_in_the_user_directory(tmp_path):
    pytest.importorskip("numba")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = (
        "import numpy as np, fieldnn\n"
        "from fieldnn.kernels import _pairs\n"
        "assert _pairs.compiled_loops() is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    cached = list((tmp_path / "fieldnn" / "numba").rglob("*_pairs*.nbi"))
    assert cached, "no numba index file in the user cache directory"
