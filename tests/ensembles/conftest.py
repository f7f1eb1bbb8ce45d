"""Shared checks for the ensemble tests: Monte Carlo vs a reference within k standard errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest


def _run_without_numba(code: str) -> bytes:
    """Standard output of ``python -c code`` in a fresh process with ``FIELDNN_NUMBA=0``."""
    env = {**os.environ, "FIELDNN_NUMBA": "0"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, env=env
    ).stdout


@pytest.fixture
def run_without_numba() -> Callable[[str], bytes]:
    """:func:`_run_without_numba`: compare results with the pure-NumPy reference paths."""
    return _run_without_numba


def _check_within_sigma(
    estimate: np.ndarray, reference: np.ndarray, stderr: np.ndarray, k: float = 5.0
) -> float:
    """Assert |estimate − reference| <= k·stderr entrywise; return the largest pull.

    The standard errors must be positive and finite where the reference is nonzero (an error
    bar of zero or NaN would make the comparison vacuous).
    """
    estimate, reference, stderr = np.broadcast_arrays(estimate, reference, stderr)
    assert np.all(np.isfinite(stderr)), "standard errors must be finite"
    live = np.abs(reference) + np.abs(estimate) > 0
    assert np.all(stderr[live] > 0), "standard errors must be positive"
    pull = np.abs(estimate - reference)[live] / stderr[live]
    worst = float(pull.max()) if pull.size else 0.0
    assert worst <= k, f"max pull {worst:.2f} > {k} (estimate vs reference in standard errors)"
    return worst


@pytest.fixture
def within_sigma() -> Callable[..., float]:
    """``within_sigma(estimate, reference, stderr, k=5)``: the k·σ comparison."""
    return _check_within_sigma
