"""The seed experiments as functions returning data (no printing, no plotting).

Public names
------------
measure_lambda, measure_kappa, LambdaMeasurement, KappaMeasurement
    Couplings λ and κ of the NN-QFT effective action measured from correlators
    (:mod:`fieldnn.experiments.couplings`).
eft
    The deep-network EFT experiments of seed 000 (:mod:`fieldnn.experiments.eft`).
nnqft
    The NN-QFT experiments of seed 001: ``falloff``, ``lambda_survey``, ``six_point_check``,
    ``rg_flow``, ``so_dout``, ``beyond`` (:mod:`fieldnn.experiments.nnqft`).
published_setup, NETS, SEED_WIDTHS
    The published inputs and hyperparameters of seed 001.
"""

from . import eft as eft
from . import nnqft as nnqft
from ._nnqft_setups import NETS as NETS
from ._nnqft_setups import SEED_WIDTHS as SEED_WIDTHS
from ._nnqft_setups import published_setup as published_setup
from .couplings import KappaMeasurement as KappaMeasurement
from .couplings import LambdaMeasurement as LambdaMeasurement
from .couplings import measure_kappa as measure_kappa
from .couplings import measure_lambda as measure_lambda

__all__ = [
    "NETS",
    "SEED_WIDTHS",
    "KappaMeasurement",
    "LambdaMeasurement",
    "eft",
    "measure_kappa",
    "measure_lambda",
    "nnqft",
    "published_setup",
]
