"""fieldnn: ensembles of neural networks as Euclidean field theories.

The public API, grouped by side of the correspondence. Every name is re-exported here once, from
the subpackage that defines it; conventions are in ``docs/conventions.md``.
"""

# ruff: noqa: I001  (imports are grouped by topic, not alphabetically)

__version__ = "0.1.0"

# -- errors --------------------------------------------------------------------------------------
from . import errors as errors
from .errors import ArgumentError as ArgumentError
from .errors import CheckpointError as CheckpointError
from .errors import DiagramError as DiagramError
from .errors import FieldnnError as FieldnnError

# -- symbolic: effective actions, diagrams, β-functions, 1/n matching ----------------------------
from .symbolic import Correlator as Correlator
from .symbolic import Theory as Theory
from .symbolic import beta_functions as beta_functions
from .symbolic import match_quartic as match_quartic

# -- kernels: activations, GP kernels, deep recursions (K, Θ, V, NLO), criticality ---------------
from .kernels import KNOWN_ACTIVATIONS as KNOWN_ACTIVATIONS
from .kernels import Activation as Activation
from .kernels import get_activation as get_activation
from .kernels import single_layer_kernel as single_layer_kernel
from .kernels.deep import four_point_vertex as four_point_vertex
from .kernels.deep import kernel_and_ntk as kernel_and_ntk
from .kernels.deep import kernel_recursion as kernel_recursion
from .kernels.deep import nlo_kernel_correction as nlo_kernel_correction
from .kernels.deep import ntk_recursion as ntk_recursion
from .kernels import NTKFluctuations as NTKFluctuations
from .kernels import ntk_fluctuations as ntk_fluctuations
from .kernels import DNTKStatistics as DNTKStatistics
from .kernels import dntk_statistics as dntk_statistics
from .kernels import SingleInputCumulants as SingleInputCumulants
from .kernels import single_input_cumulants as single_input_cumulants
from .kernels import MultiInputCumulants as MultiInputCumulants
from .kernels import multi_input_cumulants as multi_input_cumulants
from .kernels.criticality import CriticalityResult as CriticalityResult
from .kernels.criticality import CriticalPoint as CriticalPoint
from .kernels.criticality import critical_point as critical_point
from .kernels.criticality import criticality as criticality
from .kernels.criticality import depth_asymptotics as depth_asymptotics

# -- ensembles: architectures, exact finite-width correlators, sampled estimates -----------------
from .ensembles import MLP as MLP
from .ensembles import SingleLayerNet as SingleLayerNet
from .ensembles import CorrelatorEstimate as CorrelatorEstimate
from .ensembles import estimate_correlators as estimate_correlators
from .ensembles import exact_connected as exact_connected
from .ensembles import exact_full as exact_full
from .ensembles import sample_outputs as sample_outputs

# -- effective: the action of a network on P inputs to O(1/n²) ------------------------------------
from .effective import EffectiveAction as EffectiveAction
from .effective import effective_action as effective_action
from .effective import exact_density as exact_density
from .effective import DeepDensity as DeepDensity
from .effective import exact_deep_density as exact_deep_density
from .effective import DensityComparison as DensityComparison
from .effective import DensityCurves as DensityCurves
from .effective import compare_with_density as compare_with_density
from .effective import density_curves as density_curves
from .effective import LocalityFit as LocalityFit
from .effective import SixPointConsistency as SixPointConsistency
from .effective import fit_locality as fit_locality
from .effective import six_point_consistency as six_point_consistency

# -- integrals over the cutoff box ---------------------------------------------------------------
from .integrals import IntegralResult as IntegralResult
from .integrals import two_vertex_integral as two_vertex_integral
from .integrals import vertex_integral as vertex_integral

# -- experiments: couplings measured from correlators --------------------------------------------
from .experiments import KappaMeasurement as KappaMeasurement
from .experiments import LambdaMeasurement as LambdaMeasurement
from .experiments import measure_kappa as measure_kappa
from .experiments import measure_lambda as measure_lambda

# -- inference: GP posterior, gradient flow, replica ensembles -----------------------------------
from .inference import ReplicaEnsemble as ReplicaEnsemble
from .inference import empirical_ntk as empirical_ntk
from .inference import gp_posterior as gp_posterior
from .inference import FiniteWidthPrediction as FiniteWidthPrediction
from .inference import finite_width_prediction as finite_width_prediction
from .inference import gradient_flow_prediction as gradient_flow_prediction
from .inference import hidden_kernel_change as hidden_kernel_change
from .inference import hidden_kernel_shift as hidden_kernel_shift
from .inference import kinked_ntk_change as kinked_ntk_change
from .inference import kinked_training_shift as kinked_training_shift
from .inference import train_replicas as train_replicas

# compiled-loop caches in the user's cache directory, not the source tree (unless
# NUMBA_CACHE_DIR is set); numba itself is imported only on the first compiled call
from .kernels._jit_cache import use_user_cache_dir as _use_user_cache_dir

_use_user_cache_dir()
