"""The EFT figures name everything they draw in their legends."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.patches import Patch

from fieldnn.experiments.eft import PhaseDiagram
from fieldnn.report import plots_eft

NO_FIXED_POINT = r"no finite fixed point $K^*$"


def teardown_function() -> None:
    plt.close("all")


def _diagram(runaway: bool) -> PhaseDiagram:
    """A ReLU-like grid: χ∥ = χ⊥ = C_W/2; K* finite below C_W = 2 (everywhere unless runaway)."""
    C_b = np.linspace(0.0, 0.5, 5)
    C_W = np.linspace(0.5, 3.0, 6)
    chi = np.broadcast_to(C_W / 2.0, (C_b.size, C_W.size)).copy()
    K_star = np.ones_like(chi)
    if runaway:
        gone = chi >= 1.0
        chi[gone] = np.nan
        K_star[gone] = np.inf
    return PhaseDiagram(
        activation="relu",
        C_b=C_b,
        C_W=C_W,
        chi_parallel=chi,
        chi_perp=chi.copy(),
        K_star=K_star,
        critical_C_b=0.0,
        critical_C_W=2.0,
        critical_K_star=np.nan,
        universality_class="scale-invariant",
    )


def _legend(ax) -> dict[str, object]:
    leg = ax.get_legend()
    return {t.get_text(): h for t, h in zip(leg.get_texts(), leg.legend_handles, strict=True)}


def test_phase_diagram_legend_names_the_white_no_fixed_point_region() -> None:
    ax = plots_eft.plot_phase_diagram(_diagram(runaway=True))
    entries = _legend(ax)
    assert NO_FIXED_POINT in entries
    patch = entries[NO_FIXED_POINT]
    assert isinstance(patch, Patch)
    # the region is the unfilled (NaN) part of the mesh, i.e. the axes background
    assert patch.get_facecolor() == to_rgba(ax.get_facecolor())
    assert patch.get_facecolor() == to_rgba("white")
    assert patch.get_linewidth() > 0 and patch.get_edgecolor() != patch.get_facecolor()


def test_phase_diagram_legend_has_no_white_entry_without_the_region() -> None:
    ax = plots_eft.plot_phase_diagram(_diagram(runaway=False))
    entries = _legend(ax)
    assert NO_FIXED_POINT not in entries
    assert "critical (scale-invariant)" in entries
