"""Inference with ensembles of networks (seed 000; Roberts–Yaida–Hanin arXiv:2106.10165
ch. 6–10; derivations in ``docs/inference.md``).

Public names
------------
gp_posterior
    Bayesian posterior of the infinitely wide network (GP conditioning).
gradient_flow_prediction, flow_operator
    Mean and covariance of the infinitely wide ensemble trained by gradient flow / descent on
    the MSE for a time t (NTK), optionally with data-replica noise C_Y.
finite_width_prediction, FiniteWidthPrediction
    The same for the finite-width ensemble, to O(1/n): NTK mean shift and fluctuations, dNTK
    and ddNTKs (RYH ch. ∞).
conditional_second_moment_sampled, ConditionalSecondMoment
    The seed's finite-width single-datapoint correction ⟨φ2²|φ1⟩, by exact importance
    weighting of sampled networks.
sampled_posterior, SampledPosterior
    The exact finite-width Bayesian posterior p(z_B | y_A), by importance weighting
    (→ gp_posterior as n → ∞, with O(1/n) corrections).
hidden_kernel_posterior, HiddenKernelPosterior
    The hidden-layer kernel conditioned on observed outputs (no representation learning at
    infinite width; O(1/n) at finite width).
hidden_kernel_shift, HiddenKernelShift
    Its O(1/n) prediction: the posterior shift of the last hidden kernel from the mixed vertex.
hidden_kernel_change, HiddenKernelChange
    The O(1/n) mean change of the last hidden kernel during training (gradient flow/descent).
kinked_training_shift, KinkedTrainingShift
    Relu-type σ, one hidden layer: the O(1/√n) drift of the mean NTK and shift of the mean
    trained output (units cross the kink one way, or slide along it; closed form for one
    training input, a Monte Carlo of the kink flux for several).
kinked_ntk_change, KinkedNTKChange
    Relu-type σ, any depth, one training input: the O(1/√n) drift of the mean NTK, layer by
    layer (units of deeper layers are also pushed by the off-diagonal NTK, ungated).
train_replicas, ReplicaEnsemble
    NNPDF-style replica ensembles trained by full-batch gradient descent, vectorised over the
    ensemble with hand-written backpropagation.
empirical_ntk
    The empirical NTK of sampled finite-width MLPs, per network, by backpropagation
    (mean → :meth:`fieldnn.MLP.ntk` as n → ∞).
loss_rate_check, LossRateCheck
    dL/dt = −ε·H·ε on trained finite networks (empirical NTK).
plot_replica_bands, plot_conditional_moment
    Plot helpers (``ax=None``; return the axes).
"""

from ._deep_kink import KinkedNTKChange as KinkedNTKChange
from ._deep_kink import kinked_ntk_change as kinked_ntk_change
from ._finite_training import FiniteWidthPrediction as FiniteWidthPrediction
from ._finite_training import finite_width_prediction as finite_width_prediction
from ._finite_width import ConditionalSecondMoment as ConditionalSecondMoment
from ._finite_width import HiddenKernelPosterior as HiddenKernelPosterior
from ._finite_width import SampledPosterior as SampledPosterior
from ._finite_width import conditional_second_moment_sampled as conditional_second_moment_sampled
from ._finite_width import hidden_kernel_posterior as hidden_kernel_posterior
from ._finite_width import sampled_posterior as sampled_posterior
from ._flow import flow_operator as flow_operator
from ._flow import gradient_flow_prediction as gradient_flow_prediction
from ._gp import gp_posterior as gp_posterior
from ._hidden_training import HiddenKernelChange as HiddenKernelChange
from ._hidden_training import hidden_kernel_change as hidden_kernel_change
from ._kinked_training import KinkedTrainingShift as KinkedTrainingShift
from ._kinked_training import kinked_training_shift as kinked_training_shift
from ._ntk import empirical_ntk as empirical_ntk
from ._plots import plot_conditional_moment as plot_conditional_moment
from ._plots import plot_replica_bands as plot_replica_bands
from ._representation import HiddenKernelShift as HiddenKernelShift
from ._representation import hidden_kernel_shift as hidden_kernel_shift
from ._training import LossRateCheck as LossRateCheck
from ._training import ReplicaEnsemble as ReplicaEnsemble
from ._training import loss_rate_check as loss_rate_check
from ._training import train_replicas as train_replicas

__all__ = [
    "ConditionalSecondMoment",
    "FiniteWidthPrediction",
    "HiddenKernelChange",
    "HiddenKernelPosterior",
    "HiddenKernelShift",
    "KinkedNTKChange",
    "KinkedTrainingShift",
    "LossRateCheck",
    "ReplicaEnsemble",
    "SampledPosterior",
    "conditional_second_moment_sampled",
    "empirical_ntk",
    "finite_width_prediction",
    "flow_operator",
    "gp_posterior",
    "gradient_flow_prediction",
    "hidden_kernel_change",
    "hidden_kernel_posterior",
    "hidden_kernel_shift",
    "kinked_ntk_change",
    "kinked_training_shift",
    "loss_rate_check",
    "plot_conditional_moment",
    "plot_replica_bands",
    "sampled_posterior",
    "train_replicas",
]
