r"""Criticality of deep MLPs: fixed points of the kernel recursion, χ∥, χ⊥, phases.

Single-input recursion (seed 000 "solving the recursion"; RYH ch. 5):

.. math:: K^{(\ell+1)} = C_b + C_W\, g(K^{(\ell)}), \qquad g(K) = \langle\sigma(z)^2\rangle_K,

fixed point :math:`K^* = C_b + C_W g(K^*)`, and the two susceptibilities

.. math:: \chi_\parallel = C_W\, g'(K^*) = C_W\langle\sigma'^2 + \sigma\sigma''\rangle_{K^*}
          = \frac{C_W}{K^*}\langle z\,\sigma(z)\sigma'(z)\rangle_{K^*}, \qquad
          \chi_\perp = C_W\langle\sigma'(z)^2\rangle_{K^*},

(:math:`g'(K) = \tfrac12\langle(\sigma^2)''\rangle` by the heat-equation identity
:math:`\partial_K\langle F\rangle_K = \tfrac12\langle F''\rangle_K`, and Stein's lemma
:math:`\langle z F\rangle = K\langle F'\rangle` removes σ''). χ∥ governs the diagonal
:math:`\delta K^{(\ell+1)} = \chi_\parallel \delta K^{(\ell)}`; χ⊥ the approach of two nearby
inputs (the off-diagonal recursion at :math:`K_{12} \to K^*` has slope
:math:`C_W\langle\sigma'\sigma'\rangle = \chi_\perp`). Criticality needs both equal to 1 (the seed
states χ∥ = 1 only, which is enough for one input but not for several).

Phases (labels of :class:`CriticalityResult`): "critical" (χ∥ = χ⊥ = 1), "ordered" (χ⊥ < 1:
inputs become indistinguishable with depth), "chaotic" (χ⊥ > 1: nearby inputs decorrelate),
"marginal" (χ⊥ = 1 ≠ χ∥), "divergent" (no finite fixed point: K grows without bound).

References
----------
D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 5 (criticality, universality classes,
the K* = 0 class and its depth asymptotics, the scale-invariant class, SWISH and GELU).
B. Poole et al., arXiv:1606.05340; S. Schoenholz et al., arXiv:1611.01232 (order–chaos).
"""

# ruff: noqa: I001  (the fixed point first, then the maps built on it)
from ._fixed_point import CriticalityResult as CriticalityResult
from ._fixed_point import criticality as criticality
from ._criticality_maps import CorrelationFixedPoint as CorrelationFixedPoint
from ._criticality_maps import CriticalPoint as CriticalPoint
from ._criticality_maps import DepthAsymptotics as DepthAsymptotics
from ._criticality_maps import FixedPointCurve as FixedPointCurve
from ._criticality_maps import PhaseDiagram as PhaseDiagram
from ._criticality_maps import correlation_fixed_points as correlation_fixed_points
from ._criticality_maps import critical_point as critical_point
from ._criticality_maps import depth_asymptotics as depth_asymptotics
from ._criticality_maps import fixed_point_curve as fixed_point_curve
from ._criticality_maps import phase_diagram as phase_diagram
from ._criticality_maps import taylor_coefficients as taylor_coefficients

__all__ = [
    "CorrelationFixedPoint",
    "CriticalPoint",
    "CriticalityResult",
    "DepthAsymptotics",
    "FixedPointCurve",
    "PhaseDiagram",
    "correlation_fixed_points",
    "critical_point",
    "criticality",
    "depth_asymptotics",
    "fixed_point_curve",
    "phase_diagram",
    "taylor_coefficients",
]
