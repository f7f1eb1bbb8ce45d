"""Inference with ensembles of networks: the infinite-width GP posterior, the gradient-flow
(NTK) prediction, finite-width conditioning by importance weighting, and trained replica
ensembles (seed 000; Roberts–Yaida–Hanin arXiv:2106.10165 ch. 6–10). Derivations:
``docs/inference.md``.
"""

# infinite width: Bayesian posterior and gradient flow
from ._finite_width import ConditionalSecondMoment as ConditionalSecondMoment
from ._finite_width import HiddenKernelPosterior as HiddenKernelPosterior

# finite width: exact conditioning of sampled networks
from ._finite_width import conditional_second_moment_sampled as conditional_second_moment_sampled
from ._finite_width import hidden_kernel_posterior as hidden_kernel_posterior
from ._flow import flow_operator as flow_operator
from ._flow import gradient_flow_prediction as gradient_flow_prediction
from ._gp import gp_posterior as gp_posterior

# plots
from ._plots import plot_conditional_moment as plot_conditional_moment
from ._plots import plot_replica_bands as plot_replica_bands

# trained explicit networks
from ._training import LossRateCheck as LossRateCheck
from ._training import ReplicaEnsemble as ReplicaEnsemble
from ._training import loss_rate_check as loss_rate_check
from ._training import train_replicas as train_replicas

__all__ = [
    "ConditionalSecondMoment",
    "HiddenKernelPosterior",
    "LossRateCheck",
    "ReplicaEnsemble",
    "conditional_second_moment_sampled",
    "flow_operator",
    "gp_posterior",
    "gradient_flow_prediction",
    "hidden_kernel_posterior",
    "loss_rate_check",
    "plot_conditional_moment",
    "plot_replica_bands",
    "train_replicas",
]
