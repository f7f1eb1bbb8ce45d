"""The effective action of a network, from exact, recursive or sampled correlators.

Public names
------------
effective_action, EffectiveAction
    Couplings γ(2), γ(4), γ(6) of a network's outputs on P inputs as series in 1/n, the action
    S(f), and the correlators it predicts (:mod:`fieldnn.effective._action`).
exact_density
    Exact output density of a single-hidden-layer net at one input, finite width
    (:mod:`fieldnn.effective._density`).
exact_deep_density, DeepDensity
    Exact output law of a deep bias-free relu/linear MLP at one input, finite widths
    (:mod:`fieldnn.effective._deep_density`).
compare_with_density, DensityComparison, density_curves, DensityCurves
    Errors of the action at orders 0, 1, 2 against the exact density, per width
    (:mod:`fieldnn.effective._eft_density`).
fit_locality, LocalityFit, six_point_consistency, SixPointConsistency
    Operator fits of the 4-point function (is λ local?) and κ with the O(λ²) tree
    (:mod:`fieldnn.effective._locality`).
"""

from ._action import EffectiveAction as EffectiveAction
from ._action import effective_action as effective_action
from ._deep_density import DeepDensity as DeepDensity
from ._deep_density import exact_deep_density as exact_deep_density
from ._density import exact_density as exact_density
from ._eft_density import DensityComparison as DensityComparison
from ._eft_density import DensityCurves as DensityCurves
from ._eft_density import compare_with_density as compare_with_density
from ._eft_density import density_curves as density_curves
from ._locality import LocalityFit as LocalityFit
from ._locality import SixPointConsistency as SixPointConsistency
from ._locality import fit_locality as fit_locality
from ._locality import six_point_consistency as six_point_consistency

__all__ = [
    "DeepDensity",
    "DensityComparison",
    "DensityCurves",
    "EffectiveAction",
    "LocalityFit",
    "SixPointConsistency",
    "compare_with_density",
    "density_curves",
    "effective_action",
    "exact_deep_density",
    "exact_density",
    "fit_locality",
    "six_point_consistency",
]
