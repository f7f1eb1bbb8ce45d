"""The experiments of the deep-network EFT talk (seed 000, Roberts–Yaida–Hanin programme).

Every function computes one experiment and returns a frozen dataclass of arrays: no printing, no
plotting (plots: :mod:`fieldnn.report.plots_eft`; the report: :mod:`fieldnn.report.eft_report`).
Each takes ``quick`` (small sizes, for ``fieldnn reproduce eft --quick`` and the tests) and, where
networks are sampled, ``rng`` (an integer seed; chunks are seeded by ``SeedSequence(rng).spawn``
inside :func:`fieldnn.ensembles.estimate_correlators`, so results are reproducible bitwise).

Each experiment pairs two independent methods: the infinite-width (or 1/n) recursion of
:mod:`fieldnn.kernels.deep` / :mod:`fieldnn.kernels.criticality` against sampled deep ensembles
with standard errors, closed forms against iterated recursions, the NTK forward equation against
empirical NTKs, and the gradient-flow prediction against trained replica ensembles.

Conventions (docs/conventions.md): z^(1) = b^(1) + W^(1) x, z^(ℓ+1) = b^(ℓ+1) + W^(ℓ+1) σ(z^(ℓ)),
W^(ℓ) ~ N(0, C_W/n_{ℓ−1}), b^(ℓ) ~ N(0, C_b), linear output layer; for one output and inputs
a, b, c, d, E[z_a z_b z_c z_d]_c = (V_{ab,cd} + V_{ac,bd} + V_{ad,bc}) / n_{L−1}.

References
----------
D. A. Roberts, S. Yaida, B. Hanin, *The Principles of Deep Learning Theory*, arXiv:2106.10165,
chapters 4–5 (criticality, four-point vertex), 7–10 (NTK and inference); seed 000 slides
"going deep", "Bayesian learning at finite width", "Forward equation for the NTK".

The implementation lives in the private modules ``_eft_criticality`` (sections 1–4),
``_eft_vertex`` (four-point vertex, NLO two-point function), ``_eft_inference`` (matching,
conditioning, NTK, replica ensembles), ``_eft_hidden_layers`` (the posterior shift of every
hidden kernel), ``_eft_training`` (trained ensembles against the O(1/n)
training prediction), ``_eft_kinked_training`` (trained relu nets against the O(1/√n) kink term)
and ``_eft_next_order`` (the O(1/n) and O(1/n²) truncations against exact
ReLU moments); this module is the public surface.
"""

from __future__ import annotations

from ._eft_criticality import CorrelationFlow as CorrelationFlow
from ._eft_criticality import CriticalPointTable as CriticalPointTable
from ._eft_criticality import DepthAsymptotics as DepthAsymptotics
from ._eft_criticality import FixedPointSolution as FixedPointSolution
from ._eft_criticality import PhaseDiagram as PhaseDiagram
from ._eft_criticality import correlation_flow as correlation_flow
from ._eft_criticality import critical_point_table as critical_point_table
from ._eft_criticality import depth_asymptotics_experiment as depth_asymptotics_experiment
from ._eft_criticality import fixed_point_solution as fixed_point_solution
from ._eft_criticality import phase_diagram_experiment as phase_diagram_experiment
from ._eft_hidden_layers import HiddenLayerShifts as HiddenLayerShifts
from ._eft_hidden_layers import hidden_layer_shifts as hidden_layer_shifts
from ._eft_inference import ConditionalVariance as ConditionalVariance
from ._eft_inference import NTKCheck as NTKCheck
from ._eft_inference import QuarticMatching as QuarticMatching
from ._eft_inference import ReplicaInference as ReplicaInference
from ._eft_inference import conditional_variance as conditional_variance
from ._eft_inference import ntk_check as ntk_check
from ._eft_inference import quartic_matching as quartic_matching
from ._eft_inference import replica_inference as replica_inference
from ._eft_kinked_training import KinkedTraining as KinkedTraining
from ._eft_kinked_training import kinked_training as kinked_training
from ._eft_next_order import NextOrderScan as NextOrderScan
from ._eft_next_order import next_order_scan as next_order_scan
from ._eft_three_inputs import ThreeInputCheck as ThreeInputCheck
from ._eft_three_inputs import three_input_check as three_input_check
from ._eft_training import FiniteWidthTraining as FiniteWidthTraining
from ._eft_training import finite_width_training as finite_width_training
from ._eft_vertex import NLOTwoPoint as NLOTwoPoint
from ._eft_vertex import VertexGrowth as VertexGrowth
from ._eft_vertex import nlo_two_point as nlo_two_point
from ._eft_vertex import vertex_growth as vertex_growth

__all__ = [
    "ConditionalVariance",
    "CorrelationFlow",
    "CriticalPointTable",
    "DepthAsymptotics",
    "FiniteWidthTraining",
    "FixedPointSolution",
    "HiddenLayerShifts",
    "KinkedTraining",
    "NLOTwoPoint",
    "NTKCheck",
    "NextOrderScan",
    "PhaseDiagram",
    "QuarticMatching",
    "ReplicaInference",
    "ThreeInputCheck",
    "VertexGrowth",
    "conditional_variance",
    "correlation_flow",
    "critical_point_table",
    "depth_asymptotics_experiment",
    "finite_width_training",
    "fixed_point_solution",
    "kinked_training",
    "next_order_scan",
    "nlo_two_point",
    "ntk_check",
    "phase_diagram_experiment",
    "quartic_matching",
    "replica_inference",
    "three_input_check",
    "vertex_growth",
]
