"""Run sizes and small helpers shared by the sections of ``fieldnn reproduce eft`` (private)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_DOCS = "docs/eft.md"


@dataclass(frozen=True)
class _Sizes:
    """Sizes of one run mode (full, quick, and the tiny one of the fast test)."""

    quick: bool
    vertex_width: int
    vertex_depths: tuple[int, ...]
    vertex_nets: int
    nlo_widths: tuple[int, ...]
    nlo_nets: int
    cond_widths: tuple[int, ...]
    cond_nets: int
    ntk_widths: tuple[int, ...]
    ntk_nets: int
    replica_widths: tuple[int, ...]
    replica_nets: int
    replica_steps: int
    hidden_samples: int
    three_input_nets: int
    phase_grid: int | None = None  # points per axis of the phase diagrams (None: the default)


_FULL = _Sizes(
    quick=False,
    vertex_width=50,
    vertex_depths=tuple(range(2, 11)),
    vertex_nets=200_000,
    nlo_widths=(4, 8, 16, 32),
    nlo_nets=1_000_000,
    cond_widths=(100, 400),
    cond_nets=2_000_000,
    ntk_widths=(16, 64, 256, 1024),
    ntk_nets=2000,
    replica_widths=(16, 64, 256),
    replica_nets=500,
    replica_steps=400,
    hidden_samples=200_000,
    three_input_nets=2_000_000,
)
_QUICK = _Sizes(
    quick=True,
    vertex_width=50,
    vertex_depths=(2, 4, 6, 8, 10),
    vertex_nets=150_000,
    nlo_widths=(4, 8, 16),
    nlo_nets=1_000_000,
    cond_widths=(100, 400),
    cond_nets=1_000_000,
    ntk_widths=(16, 64, 256),
    ntk_nets=2000,
    replica_widths=(16, 64, 256),
    replica_nets=200,
    replica_steps=200,
    hidden_samples=20_000,
    three_input_nets=1_000_000,
)
_TINY = _Sizes(
    quick=True,
    vertex_width=10,
    vertex_depths=(2, 3),
    vertex_nets=2_000,
    nlo_widths=(4,),
    nlo_nets=5_000,
    cond_widths=(10, 20),
    cond_nets=5_000,
    ntk_widths=(8,),
    ntk_nets=20,
    replica_widths=(8, 16),
    replica_nets=10,
    replica_steps=5,
    hidden_samples=500,
    three_input_nets=5_000,
    phase_grid=5,
)


def _fig(panels: int = 1) -> tuple[Any, Any]:
    """A figure with one axes, or a row of ``panels`` axes (an array) of the same size each."""
    import matplotlib.pyplot as plt

    if panels == 1:
        return plt.subplots(figsize=(5.5, 4.0))
    return plt.subplots(1, panels, figsize=(5.5 * panels, 4.6), layout="constrained")


def _z(sampled: np.ndarray, theory: np.ndarray, stderr: np.ndarray) -> np.ndarray:
    """Pulls (sampled − theory)/stderr."""
    return (np.asarray(sampled) - np.asarray(theory)) / np.asarray(stderr)
