r"""The O(1/n²) action of a deep ReLU MLP at three inputs against sampled networks (private;
public names in :mod:`fieldnn.experiments.eft`).

The graded correlators of ``effective_action(mlp, X, order=2)`` (K, K^{1}, K^{2}, V, V^{1}, U of
:func:`fieldnn.kernels.multi_input_cumulants` with the output pairings) against the connected
four- and six-point functions of sampled networks (:func:`fieldnn.estimate_correlators`, whose
per-entry standard errors give the pulls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import positive_int
from ..effective import effective_action
from ..ensembles.architectures import MLP
from ..ensembles.estimate import estimate_correlators
from ..errors import ArgumentError

__all__ = ["ThreeInputCheck", "three_input_check"]

#: three inputs in R³ (unit-order norms, pairwise correlations of the first-layer kernel
#: between −0.5 and 0.5)
INPUTS = np.array([[0.8, -0.3, 0.1], [0.2, 0.9, -0.4], [-0.5, 0.3, 0.7]])


@dataclass(frozen=True)
class ThreeInputCheck:
    r"""Largest pulls of the sampled connected functions against the action's truncations.

    ReLU [3, n, n, 1], C_W = 1.8, C_b = 0.1, the inputs :data:`INPUTS`; per width (axis 0):

    Attributes
    ----------
    widths : ndarray (w,) of int
    n_nets : int
    four_lo, four_nlo : ndarray (w,)
        The largest absolute pull over the 3⁴ entries of the sampled G4c against the action's
        correlators summed to O(1/n) (the V/n pairings) and to O(1/n²) (+ V^{1}/n²).
    four_resolution : ndarray (w,)
        The largest V^{1}/n² term over its standard error, in modulus: how well the sample
        resolves the O(1/n²) part.
    six_lo : ndarray (w,)
        The largest absolute pull over the 3⁶ entries of the sampled G6c against the pairings
        of U/n².
    six_resolution : ndarray (w,)
        The largest U/n² term over its standard error, in modulus.
    """

    widths: np.ndarray
    n_nets: int
    four_lo: np.ndarray
    four_nlo: np.ndarray
    four_resolution: np.ndarray
    six_lo: np.ndarray
    six_resolution: np.ndarray


def three_input_check(
    widths: tuple[int, ...] = (8, 16), n_nets: int = 1_000_000, rng: int = 0
) -> ThreeInputCheck:
    r"""The order-2 action of ReLU MLPs at three inputs against sampled connected functions.

    Parameters
    ----------
    widths : tuple of int
        Hidden widths n ≥ 2 (two hidden layers each).
    n_nets : int
        Sampled networks per width (≥ 1000).
    rng : int
        Seed; width k uses ``rng + k``.

    Returns
    -------
    ThreeInputCheck

    References
    ----------
    arXiv:2106.10165 sec. 4.5–4.6 (the 1/n expansion of the deep cumulants), here at three
    inputs; derivation in ``docs/eft.md`` section 6a.

    Examples
    --------
    >>> r = three_input_check((8,), n_nets=200_000)
    >>> bool(r.four_nlo[0] < 4.0 < r.four_lo[0])
    True
    """
    ns = tuple(positive_int(n, "widths", minimum=2) for n in widths)
    if not ns:
        raise ArgumentError("widths", "must name at least one width")
    count = positive_int(n_nets, "n_nets", minimum=1000)
    seed = positive_int(rng, "rng", minimum=0)
    out = {k: np.empty(len(ns)) for k in ("lo", "nlo", "res4", "six", "res6")}
    for k, n in enumerate(ns):
        mlp = MLP("relu", [3, n, n, 1], C_W=1.8, C_b=0.1)
        action = effective_action(mlp, INPUTS, order=2)
        est = estimate_correlators(mlp, INPUTS, count, orders=(2, 4, 6), rng=seed + k)
        four, six = action.correlators(4, series=True), action.correlators(6, series=True)
        se4, se6 = est.stderr(4), est.stderr(6)
        g4, g6 = est.connected(4), est.connected(6)
        out["lo"][k] = np.max(np.abs(g4 - four[1]) / se4)
        out["nlo"][k] = np.max(np.abs(g4 - four[1] - four[2]) / se4)
        out["res4"][k] = np.max(np.abs(four[2]) / se4)
        out["six"][k] = np.max(np.abs(g6 - six[2]) / se6)
        out["res6"][k] = np.max(np.abs(six[2]) / se6)
    return ThreeInputCheck(
        widths=np.array(ns),
        n_nets=count,
        four_lo=out["lo"],
        four_nlo=out["nlo"],
        four_resolution=out["res4"],
        six_lo=out["six"],
        six_resolution=out["res6"],
    )
