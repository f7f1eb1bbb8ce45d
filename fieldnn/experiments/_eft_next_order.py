r"""How far the 1/n expansion of the deep four- and six-point functions goes: the O(1/n) and
O(1/n²) truncations of :func:`fieldnn.kernels.single_input_cumulants` against the exact
finite-width moments of bias-free ReLU MLPs (private; public names in
:mod:`fieldnn.experiments.eft`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import positive_int
from ..errors import ArgumentError
from ..kernels import single_input_cumulants
from ..kernels.deep import exact_single_input_moment

__all__ = ["NextOrderScan", "next_order_scan"]


@dataclass(frozen=True)
class NextOrderScan:
    r"""Connected four- and six-point functions of one output at one input, exact and truncated.

    ReLU, C_W = 2, C_b = 0, widths [1, n, …, n, 1] with L − 1 hidden layers, input x = 1, so
    K = E z² = 2 exactly at every width. Per width (rows) and depth (columns, NaN past L = n·
    ``max_ratio``):

    Attributes
    ----------
    widths : ndarray (w,) of int
    depths : ndarray (d,) of int
        Number of layers L.
    ratio : ndarray (w, d)
        L/n.
    four_exact, four_lo, four_nlo : ndarray (w, d)
        E[z⁴]_c/(3K²): exact (= ∏(1 + 5/n) − 1), its O(1/n) truncation V/(nK²) and its O(1/n²)
        truncation (V/n + V^{1}/n²)/K².
    six_exact, six_lo : ndarray (w, d)
        E[z⁶]_c/(15K³): exact, and the leading term U/(n²K³).

    Notes
    -----
    Exact moments from :func:`fieldnn.kernels.deep.exact_single_input_moment` (the chi-square
    mixture of the scalar chain), E[z⁶]_c = μ₆ − 15μ₄μ₂ + 30μ₂³; truncations from
    :func:`fieldnn.kernels.single_input_cumulants`. Derivation: ``docs/eft.md`` section 6a.
    """

    widths: np.ndarray
    depths: np.ndarray
    ratio: np.ndarray
    four_exact: np.ndarray
    four_lo: np.ndarray
    four_nlo: np.ndarray
    six_exact: np.ndarray
    six_lo: np.ndarray


def next_order_scan(widths: tuple[int, ...] = (50, 100), max_ratio: float = 1.0) -> NextOrderScan:
    r"""Exact against O(1/n) and O(1/n²) four-point and leading six-point functions of ReLU MLPs.

    Parameters
    ----------
    widths : tuple of int
        Hidden widths n ≥ 2.
    max_ratio : float
        Largest L/n scanned (0 < max_ratio ≤ 2); depths L = 2 … ⌊n·max_ratio⌋.

    Returns
    -------
    NextOrderScan

    References
    ----------
    arXiv:2106.10165 ch. 4 (the 1/n expansion of V) and the exact ReLU single-input result
    E[z⁴] = 3K²∏(1 + 5/n_ℓ); derivation of the O(1/n²) terms in ``docs/eft.md`` section 6a.

    Examples
    --------
    >>> r = next_order_scan((50,), max_ratio=0.2)
    >>> round(float(r.four_exact[0, -1]), 4), round(float(r.four_nlo[0, -1]), 2)
    (1.3579, 1.26)
    """
    ns = tuple(positive_int(n, "widths", minimum=2) for n in widths)
    if not ns:
        raise ArgumentError("widths", "must name at least one width")
    if not (isinstance(max_ratio, int | float) and 0.0 < float(max_ratio) <= 2.0):
        raise ArgumentError("max_ratio", f"must be in (0, 2], got {max_ratio!r}")
    depths = np.arange(2, int(max(ns) * float(max_ratio)) + 1)
    if depths.size == 0:
        raise ArgumentError("max_ratio", f"leaves no depth L >= 2 at widths {ns}")
    shape = (len(ns), depths.size)
    out = {k: np.full(shape, np.nan) for k in ("ratio", "fe", "f1", "f2", "se", "s1")}
    for i, n in enumerate(ns):
        for j, L in enumerate(depths):
            if L > n * float(max_ratio):
                continue
            w = [1] + [n] * (int(L) - 1) + [1]
            c = single_input_cumulants("relu", [1.0], C_W=2.0, C_b=0.0, widths=w)
            m2, m4, m6 = (exact_single_input_moment([1.0], w, C_W=2.0, order=k) for k in (2, 4, 6))
            out["ratio"][i, j] = L / n
            out["fe"][i, j] = (m4 - 3 * m2**2) / (3 * m2**2)
            out["f1"][i, j] = c.four(1) / (3 * m2**2)
            out["f2"][i, j] = c.four(2) / (3 * m2**2)
            out["se"][i, j] = (m6 - 15 * m4 * m2 + 30 * m2**3) / (15 * m2**3)
            out["s1"][i, j] = c.six() / (15 * m2**3)
    return NextOrderScan(
        widths=np.array(ns),
        depths=depths,
        ratio=out["ratio"],
        four_exact=out["fe"],
        four_lo=out["f1"],
        four_nlo=out["f2"],
        six_exact=out["se"],
        six_lo=out["s1"],
    )
