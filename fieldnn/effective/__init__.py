"""The effective action of a network, from exact, recursive or sampled correlators.

Public names
------------
effective_action, EffectiveAction
    Couplings γ(2), γ(4), γ(6) of a network's outputs on P inputs as series in 1/n, the action
    S(f), and the correlators it predicts (:mod:`fieldnn.effective._action`).
"""

from ._action import EffectiveAction as EffectiveAction
from ._action import effective_action as effective_action

__all__ = ["EffectiveAction", "effective_action"]
