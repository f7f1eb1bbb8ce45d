"""The NN-QFT experiments of seed 001 (arXiv:2008.08601) as functions returning data.

Every function returns a dataclass of arrays (``.to_dict()`` gives plain JSON types) and takes
``quick`` (small sizes, for ``fieldnn reproduce nnqft --quick`` and the tests). No printing, no
plotting: see :mod:`fieldnn.report.plots_nnqft` and :mod:`fieldnn.report.nnqft_report`.

Experiments
-----------
:func:`falloff`
    m_n = ΔG⁽ⁿ⁾/G⁽ⁿ⁾_GP against width, exact and sampled (k experiments: pooled standard error and
    the seed's "background"), fitted slopes, the connected 6-point function ∝ 1/N².
:func:`lambda_survey`
    λ_m over all multisets of four inputs, both leg conventions, exact and sampled.
:func:`six_point_check`
    κ from δ′, the ratio (GP + λ̄ term)/G⁽⁶⁾ against width, the width where the λ-only action
    describes G⁽⁶⁾ to 1 %.
:func:`rg_flow`
    λ(Λ) and c_λ = λΛ^{d_in} over a range of cutoffs, fitted slopes against
    :func:`fieldnn.symbolic.rg.beta_functions`, the fixed-point values of c_λ.
:func:`so_dout`
    d_out > 1: the SO(d_out) tensor structure of G⁽⁴⁾, λ at tree level and at O(λ²) with the
    one-loop coefficients of the symbolic engine, exact and sampled.
:func:`beyond`
    The same pipeline for any registry activation and d_in (exact), and an MLP (sampled).

Conventions: ``docs/nnqft.md`` (probability ∝ e^{−S}, no 1/k!, box [−Λ, Λ]^{d_in}, legs "full"
or "subtract_bias").
"""

# ruff: noqa: I001  (grouped as the experiments are listed above)
from ._nnqft_rg import BeyondResult as BeyondResult
from ._nnqft_correlators import FalloffResult as FalloffResult
from ._nnqft_correlators import LambdaSurvey as LambdaSurvey
from ._nnqft_rg import RGFlowResult as RGFlowResult
from ._nnqft_rg import SODoutResult as SODoutResult
from ._nnqft_correlators import SixPointResult as SixPointResult
from ._nnqft_rg import beyond as beyond
from ._nnqft_correlators import falloff as falloff
from ._nnqft_correlators import lambda_survey as lambda_survey
from ._nnqft_common import loglog_slope as loglog_slope
from ._nnqft_rg import rg_flow as rg_flow
from ._nnqft_correlators import six_point_check as six_point_check
from ._nnqft_rg import so_dout as so_dout
from ._nnqft_common import DEFAULT_CUTOFF as DEFAULT_CUTOFF
from ._nnqft_setups import NETS as NETS
from ._nnqft_common import DEFAULT_WIDTH as DEFAULT_WIDTH

__all__ = [
    "BeyondResult",
    "FalloffResult",
    "LambdaSurvey",
    "RGFlowResult",
    "SODoutResult",
    "SixPointResult",
    "beyond",
    "falloff",
    "lambda_survey",
    "loglog_slope",
    "rg_flow",
    "six_point_check",
    "so_dout",
]
