"""Symbolic side of the correspondence: effective actions, Wick contractions, Feynman diagrams.

Public names
------------
Theory
    S = S_GP + ∫ d^{d_in}y Σ_k g_k f(y)^k (O(N) with ``species``); ``Theory.correlator``.
Correlator, Term
    Results: ``.terms``, ``.topologies()``, ``.expr``, ``.zero_dim()``, ``.latex()``, ``.tikz()``.
K, CUTOFF
    The propagator function K(x, y) and the box half-width Λ used in ``Correlator.expr``.
pairings, num_pairings
    Wick pairings (perfect matchings) and their number (n-1)!!.
beta_functions, BetaFunctions, kernel_asymptotics, Asymptotics
    Wilsonian β-functions of λ (and the λ–κ system) from the large-``|y|`` growth of the kernel
    (:mod:`fieldnn.symbolic.rg`).
match_quartic, conditional_second_moment
    γ(2), γ(4) of the zero-dimensional O(m) quartic theory matched to G and V in 1/n
    (:mod:`fieldnn.symbolic.matching`).
reconstruct_couplings, reconstruct_tensors, correlator_symbol
    Couplings of an action from its connected correlators, grade by grade in 1/n: one point
    (one species or O(N), symbolic, any order) and P points (tensors, orders 1 and 2)
    (:mod:`fieldnn.symbolic.reconstruction`).
DiagramError
    Bad input to the symbolic engine (re-exported from ``fieldnn.errors``).
"""

from ..errors import DiagramError as DiagramError
from ._correlator import CUTOFF as CUTOFF
from ._correlator import Correlator as Correlator
from ._correlator import K as K
from ._correlator import Term as Term
from ._theory import Theory as Theory
from ._wick import num_pairings as num_pairings
from ._wick import pairings as pairings
from .matching import conditional_second_moment as conditional_second_moment
from .matching import match_quartic as match_quartic
from .reconstruction import correlator_symbol as correlator_symbol
from .reconstruction import reconstruct_couplings as reconstruct_couplings
from .reconstruction import reconstruct_tensors as reconstruct_tensors
from .rg import Asymptotics as Asymptotics
from .rg import BetaFunctions as BetaFunctions
from .rg import beta_functions as beta_functions
from .rg import kernel_asymptotics as kernel_asymptotics

__all__ = [
    "CUTOFF",
    "Asymptotics",
    "BetaFunctions",
    "Correlator",
    "DiagramError",
    "K",
    "Term",
    "Theory",
    "beta_functions",
    "conditional_second_moment",
    "correlator_symbol",
    "kernel_asymptotics",
    "match_quartic",
    "num_pairings",
    "pairings",
    "reconstruct_couplings",
    "reconstruct_tensors",
]
