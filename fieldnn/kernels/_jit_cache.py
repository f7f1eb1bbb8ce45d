"""Where numba keeps its compiled-function cache: a user cache directory, not the source tree.

fieldnn compiles its optional accelerated loops with ``numba.njit(cache=True)``; by default numba
writes the cache next to the source files (``__pycache__`` inside the installed package, which
may be read-only, shared by several users, or a git checkout). :func:`use_user_cache_dir` points
``NUMBA_CACHE_DIR`` at ``<user cache>/fieldnn/numba`` instead, unless the user has set
``NUMBA_CACHE_DIR`` (then nothing changes) or that directory cannot be created. It costs an
environment lookup and a permission check on import; numba itself is imported only on the first
compiled call. numba keys its cache by the full path of each source file, so several
installations share the directory without clashing.

User cache directory: ``$XDG_CACHE_HOME`` or ``~/.cache`` (Linux and other POSIX),
``~/Library/Caches`` (macOS), ``%LOCALAPPDATA%`` (Windows).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["use_user_cache_dir", "user_cache_dir"]


def user_cache_dir() -> Path:
    """``<user cache>/fieldnn/numba`` for this platform (module docstring); not created."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fieldnn" / "numba"


def _creatable(path: Path) -> bool:
    """True if ``path`` exists as a writable directory or its nearest existing ancestor is
    writable (numba creates the rest)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def use_user_cache_dir() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to :func:`user_cache_dir` unless the user has set it; returns
    the directory in effect (None: numba's default, beside the sources). If numba is already
    imported, its ``config.CACHE_DIR`` is updated too."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    try:
        path = user_cache_dir()
    except (RuntimeError, KeyError):  # no home directory
        return None
    if not _creatable(path):
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.config.CACHE_DIR = str(path)
    return str(path)
