"""Activations, Gaussian expectations and Gaussian-process kernels.

Public names (re-exported here once):

* activation registry: :class:`Activation`, :func:`get_activation`, :func:`leaky_relu`,
  :func:`monomial`, :data:`KNOWN_ACTIVATIONS`
* Gaussian expectations: :func:`pair_expectation`, :func:`single_expectation`,
  :func:`gaussian_expectation`, :func:`product_moments`
* single-hidden-layer (seed 001) GP kernels: :func:`preactivation_covariance`,
  :func:`single_layer_kernel`
* O(1/n) NTK statistics of deep MLPs: :func:`ntk_fluctuations`, :class:`NTKFluctuations`
* dNTK statistics of deep MLPs: :func:`dntk_statistics`, :class:`DNTKStatistics`
* single-input cumulants of deep MLPs to O(1/n²): :func:`single_input_cumulants`,
  :class:`SingleInputCumulants`; at P inputs: :func:`multi_input_cumulants`,
  :class:`MultiInputCumulants`
"""

# dNTK–preactivation cross-correlations P, Q of deep MLPs
from ._dntk import DNTKStatistics as DNTKStatistics
from ._dntk import dntk_statistics as dntk_statistics

# K, V and the six-point vertex U of deep MLPs to O(1/n^2) at P inputs
from ._multi_input_nnlo import MultiInputCumulants as MultiInputCumulants
from ._multi_input_nnlo import multi_input_cumulants as multi_input_cumulants

# O(1/n) NTK statistics of deep MLPs (NLO mean, variance A, B, cross-correlations D, F)
from ._ntk_fluctuations import NTKFluctuations as NTKFluctuations
from ._ntk_fluctuations import ntk_fluctuations as ntk_fluctuations

# single-input K, V and the six-point vertex U of deep MLPs to O(1/n^2)
from ._single_input_nnlo import SingleInputCumulants as SingleInputCumulants
from ._single_input_nnlo import single_input_cumulants as single_input_cumulants

# activation registry
from .activations import KNOWN_ACTIVATIONS as KNOWN_ACTIVATIONS
from .activations import Activation as Activation
from .activations import get_activation as get_activation
from .activations import leaky_relu as leaky_relu
from .activations import monomial as monomial

# Gaussian expectations
from .gaussian import gaussian_expectation as gaussian_expectation
from .gaussian import pair_expectation as pair_expectation
from .gaussian import product_moments as product_moments
from .gaussian import single_expectation as single_expectation

# single-hidden-layer GP kernels (seed 001)
from .gp import preactivation_covariance as preactivation_covariance
from .gp import single_layer_kernel as single_layer_kernel
