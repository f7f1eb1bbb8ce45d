"""The effective action of a network, from exact, recursive or sampled correlators.

Public names
------------
effective_action, EffectiveAction
    Couplings γ(2), γ(4), γ(6) of a network's outputs on P inputs as series in 1/n, the action
    S(f), and the correlators it predicts (:mod:`fieldnn.effective._action`).
exact_density
    Exact output density of a single-hidden-layer net at one input, finite width
    (:mod:`fieldnn.effective._density`).
"""

from ._action import EffectiveAction as EffectiveAction
from ._action import effective_action as effective_action
from ._density import exact_density as exact_density

__all__ = ["EffectiveAction", "effective_action", "exact_density"]
