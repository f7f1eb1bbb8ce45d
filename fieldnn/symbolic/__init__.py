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

__all__ = [
    "CUTOFF",
    "Correlator",
    "DiagramError",
    "K",
    "Term",
    "Theory",
    "num_pairings",
    "pairings",
]
