r"""Exact finite-width correlators of the single-hidden-layer (seed-001) networks.

Network: :math:`f_i(x) = b_{1,i} + \sum_{j=1}^N W_{1,ij}\,\sigma(W_{0,j}\cdot x + b_{0,j})`,
:math:`W_0 \sim \mathcal N(0, \sigma_W^2/d_{in})`, :math:`W_1 \sim \mathcal N(0, \sigma_W^2/N)`,
:math:`b_0, b_1 \sim \mathcal N(0, \sigma_b^2)`, all independent and zero-mean (the exact path
takes zero-mean parameters only; means are the architecture's business).

Derivation (``docs/numerics.md``, "Exact finite-width cumulants").
:math:`f - b_1 = \sum_j u_j` with iid units :math:`u_{j,i}(x) = W_{1,ij}\,s_j(x)`,
:math:`s_j(x) = \sigma(z_j(x))`, :math:`z_j \sim \mathcal{GP}(0, C)`,
:math:`C(x,y) = \sigma_b^2 + \sigma_W^2\,x\cdot y/d_{in}`. Cumulants add over independent
summands and b1 is Gaussian, so for n ≥ 3

.. math:: \kappa_n\big(f_{i_1}(x_{a_1}),\dots,f_{i_n}(x_{a_n})\big)
          = N\,\kappa_n\big(u_{i_1}(x_{a_1}),\dots,u_{i_n}(x_{a_n})\big),

and :math:`\kappa_2 = K(x_a, x_b)\,\delta_{ij}` with :math:`K = \sigma_b^2 + \sigma_W^2 M_2`.
The single-unit joint moments factorise (readout weights independent of the hidden unit):

.. math:: \Big\langle \prod_{k} u_{i_k}(x_{a_k}) \Big\rangle
          = \Big(\frac{\sigma_W^2}{N}\Big)^{n/2} \mathcal W_n[i_1..i_n]\; M_n[a_1..a_n],

with :math:`M_n = \langle \prod_k \sigma(z_{a_k})\rangle_C`
(:func:`~fieldnn.kernels.product_moments`) and :math:`\mathcal W_n` the Gaussian moment of
iid unit normals (the number of pairings of i_1..i_n into equal species; (n−1)!! for
d_out = 1; 0 for odd n). Cumulants follow from moments by the set-partition formula

.. math:: \kappa(1..n) = \sum_{\pi} (-1)^{|\pi|-1}(|\pi|-1)! \prod_{B\in\pi} m(B),

where only partitions into even blocks contribute (odd moments vanish). Hence the
connected n-point function is :math:`\sigma_W^n N^{1-n/2}` times an N-independent tensor:
exactly 1/N for n = 4, 1/N² for n = 6. Full correlators are sums over set partitions (into
even blocks: f has zero mean) of products of connected ones.

Shapes: (P,)*n for d_out = 1; (P,)*n + (d_out,)*n otherwise (inputs first, then species).

References
----------
J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 3 (the 1/N scaling of ΔG^(n)
measured there is exact here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np

from .._compat import renamed_argument
from .._cost import even_partition_count, exact_path_seconds
from .._validate import MAX_WIDTH, input_points, nonnegative_float, positive_int
from ..errors import ArgumentError, UnsupportedError
from ..kernels import Activation, get_activation, preactivation_covariance
from ..kernels.gaussian import (
    multiset_index,
    product_moment_values,
    scatter_symmetric,
    unique_multisets,
)
from ..kernels.gp import variance_argument

__all__ = ["exact_connected", "exact_full"]

_MAX_ENTRIES = 1 << 25
_EPS = float(np.finfo(np.float64).eps)
_ACCURACY = 1e-6  # largest accepted relative error of an exact connected correlator


def _partitions(items: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], ...]]:
    """Set partitions of ``items`` into blocks of even size (first item's block chosen first)."""
    if not items:
        yield ()
        return
    first, rest = items[0], items[1:]
    for size in range(1, len(rest) + 1, 2):  # odd number of partners: even block
        for partners in combinations(rest, size):
            block = (first, *partners)
            remaining = tuple(x for x in rest if x not in partners)
            for tail in _partitions(remaining):
                yield (block, *tail)


@lru_cache(maxsize=16)
def even_partitions(n: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """All partitions of range(n) into even blocks (379 for n = 8)."""
    return tuple(_partitions(tuple(range(n))))


def _pairings(c: np.ndarray) -> np.ndarray:
    """(c − 1)!! for even c, 0 for odd c: the moment E[g^c] of a unit normal, elementwise."""
    table = np.zeros(int(c.max(initial=0)) + 1)
    table[0::2] = [math.prod(range(m - 1, 0, -2)) for m in range(0, table.size, 2)]
    return table[c]


@lru_cache(maxsize=256)
def _block_rows(D: int, n: int, block: tuple[int, ...]) -> np.ndarray:
    """For every sorted multiset of order n over range(D), the row of its sub-multiset at the
    positions ``block`` in unique_multisets(D, len(block)) (sub-rows of sorted rows are sorted)."""
    return multiset_index(D, unique_multisets(D, n)[:, list(block)])


def _partition_sum(
    values: dict[int, np.ndarray], D: int, n: int, weights: list[float]
) -> np.ndarray:
    """Σ_π weight_π Π_{B∈π} values[|B|][α_B] on the sorted multisets α of order n over range(D).

    ``values[k]`` holds a symmetric k-index function on unique_multisets(D, k); π runs over the
    partitions of the n positions into even blocks.
    """
    out = np.zeros(unique_multisets(D, n).shape[0])
    for partition, weight in zip(even_partitions(n), weights, strict=True):
        term = np.full(out.shape, float(weight))
        for block in partition:
            term = term * values[len(block)][_block_rows(D, n, block)]
        out += term
    return out


def _to_tensor(values: np.ndarray, n: int, P: int, d_out: int) -> np.ndarray:
    """Scatter values on the combined index α = a·d + i to (P,)*n (+ (d,)*n when d > 1)."""
    full = scatter_symmetric(values, P * d_out, n)
    if d_out == 1:
        return full
    out = full.reshape((P, d_out) * n)
    return out.transpose([2 * k for k in range(n)] + [2 * k + 1 for k in range(n)])


def _arguments(
    act: Any, X: Any, order: Any, width: Any, sigma_w2: Any, sigma_b2: Any, d_out: Any
) -> tuple[Activation, np.ndarray, int, int, float, float, int]:
    act = get_activation(act)
    X = input_points(X, "X")
    n = positive_int(order, "order")
    N = positive_int(width, "width", maximum=MAX_WIDTH)
    sw = nonnegative_float(sigma_w2, "sigma_w2")
    sb = nonnegative_float(sigma_b2, "sigma_b2")
    d = positive_int(d_out, "d_out")
    if (X.shape[0] * d) ** n > _MAX_ENTRIES:
        raise UnsupportedError(
            "order", f"a tensor of ({X.shape[0]}*{d})**{n} entries is too large for the exact path"
        )
    return act, X, n, N, sw, sb, d


def _check_work(n: int, n_sites: int) -> None:
    """Refuse, before any work, orders whose even-partition sums would run for many minutes
    (order 14: 4373461 partitions, even for one input)."""
    seconds = exact_path_seconds(n, n_sites)
    if seconds > 600.0 or even_partition_count(n) > 1_000_000:
        raise UnsupportedError(
            "order",
            f"order {n} needs {even_partition_count(n)} even set partitions on "
            f"{math.comb(n_sites + n - 1, n)} index multisets, an estimated {seconds:.3g} s; "
            "the exact path is limited to about 10 minutes",
        )


def _shape(P: int, n: int, d_out: int) -> tuple[int, ...]:
    return (P,) * n if d_out == 1 else (P,) * n + (d_out,) * n


def _connected_values(
    act: Activation, X: np.ndarray, n: int, N: int, sw: float, sb: float, d: int
) -> dict[int, np.ndarray]:
    """{k: connected k-point function on unique_multisets(P·d, k)} for even k = 2, …, n.

    Combined index α = a·d + i (input a, species i). The width enters only through the factor
    N (σ_W²/N)^{k/2} of order k >= 4: the N-independent part is cached
    (:func:`_unit_cumulants`), so a sweep over widths costs one quadrature per order.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    unit = _unit_cumulants(act, X.tobytes(), X.shape, n, sw, sb, d)
    out = {}
    for k, v in unit.items():
        if k == 2:
            out[k] = v
            continue
        # N (σ_W²/N)^{k/2}; as σ_W^k N^{1−k/2} where (σ_W²/N)^{k/2} underflows (width ≲ 1e300)
        with np.errstate(over="ignore", under="ignore"):
            factor = N * (sw / N) ** (k // 2)
            if factor == 0.0 and sw > 0.0:
                factor = sw ** (k // 2) * float(N) ** (1 - k // 2)
            out[k] = factor * v
        if not np.all(np.isfinite(out[k])):
            raise ArgumentError(
                "sigma_w2", f"the connected {k}-point function overflows float64 at width {N}"
            )
    return out


@lru_cache(maxsize=64)
def _unit_cumulants(
    act: Activation, x_bytes: bytes, shape: tuple[int, int], n: int, sw: float, sb: float, d: int
) -> dict[int, np.ndarray]:
    """Width-independent parts of :func:`_connected_values` (read-only arrays, cached).

    k = 2: the kernel K δ_ij; k >= 4: κ_k of the unit with readout variance 1.
    """
    X = np.frombuffer(x_bytes, dtype=np.float64).reshape(shape)
    P = X.shape[0]
    D = P * d
    C = preactivation_covariance(X, sigma_w2=sw, sigma_b2=sb)  # raises if C overflows
    orders = tuple(range(2, n + 1, 2))
    try:
        with np.errstate(over="raise"):
            M = product_moment_values(act, C, orders)
    except (OverflowError, FloatingPointError):
        M = None
    if M is None or not all(np.all(np.isfinite(M[k][0])) for k in orders):
        raise ArgumentError(
            variance_argument(X, sw, sb),
            f"the moments of activation {act.name!r} are not finite (overflow or NaN) at "
            "pre-activation "
            f"variance up to {float(np.max(np.diag(C))):.3g}; rescale the inputs or σ_W²",
        )
    # single-unit moments with unit readout variance: M_k[a_1..a_k] × 𝒲_k[i_1..i_k],
    # 𝒲_k = Π_species (count − 1)!! (zero if a species appears an odd number of times);
    # their error: the quadrature's estimate plus rounding (8ε of the moment)
    unit, unit_error = {}, {}
    for k in orders:
        rows = unique_multisets(D, k)
        species = rows % d
        counts = np.stack([np.sum(species == s, axis=1) for s in range(d)], axis=1)
        where = multiset_index(P, rows // d)  # rows // d is sorted with rows
        pairings = np.prod(_pairings(counts), axis=1)
        values, errors = M[k]
        unit[k] = values[where] * pairings
        unit_error[k] = (errors[where] + 8.0 * _EPS * np.abs(values[where])) * pairings
    rows = unique_multisets(D, 2)
    out = {2: sb * (rows[:, 0] % d == rows[:, 1] % d) + sw * unit[2]}
    for k in orders[1:]:
        weights = [(-1) ** (len(p) - 1) * math.factorial(len(p) - 1) for p in even_partitions(k)]
        out[k] = _partition_sum(unit, D, k, weights)
        error = _partition_error(unit, unit_error, D, k, weights)
        _check_accuracy(act, X, C, (sw, sb), k, out[k], error)
    for values in out.values():
        values.setflags(write=False)
    return out


def _partition_error(
    values: dict[int, np.ndarray],
    errors: dict[int, np.ndarray],
    D: int,
    n: int,
    weights: list[float],
) -> np.ndarray:
    """First-order bound on the error of :func:`_partition_sum` from the errors of its factors,
    Σ_π |w_π| Σ_{B∈π} δm_B Π_{B'≠B} |m_B'|, plus its own rounding (4ε per term)."""
    out = np.zeros(unique_multisets(D, n).shape[0])
    for partition, weight in zip(even_partitions(n), weights, strict=True):
        absolute = [np.abs(values[len(B)][_block_rows(D, n, B)]) for B in partition]
        delta = [errors[len(B)][_block_rows(D, n, B)] for B in partition]
        term = 4.0 * _EPS * np.prod(absolute, axis=0)
        for i, d_i in enumerate(delta):
            term = term + d_i * np.prod([a for j, a in enumerate(absolute) if j != i], axis=0)
        out += abs(weight) * term
    return out


def _check_accuracy(
    act: Activation,
    X: np.ndarray,
    C: np.ndarray,
    variances: tuple[float, float],
    k: int,
    values: np.ndarray,
    error: np.ndarray,
) -> None:
    """Refuse a connected k-point function whose propagated error exceeds 1e-6 of its largest
    entry: the moments are known only to their quadrature (or rounding) error, and the cumulant
    formula cancels them (erf at variance q ≫ 1: κ ~ q^{-1/2} from moments ~ 1). A result that
    is exactly zero from an exact moment path (closed forms, piecewise-linear σ) passes."""
    scale = float(np.max(np.abs(values), initial=0.0))
    worst = float(np.max(error, initial=0.0))
    exact = act.piecewise_linear_slopes is not None or act.normalised
    if worst <= _ACCURACY * scale or (exact and scale == 0.0):
        return
    q = np.diag(C)
    relative = f"relative error {worst / scale:.1e}" if scale > 0 else f"error {worst:.1e} on 0"
    raise UnsupportedError(
        variance_argument(X, *variances),
        f"the connected {k}-point function of activation {act.name!r} is lost in cancellation "
        f"between moments (estimated {relative}, accepted {_ACCURACY:g} relative) at "
        f"pre-activation variances {float(q.min()):.3g} to "
        f"{float(q.max()):.3g}; rescale the inputs or σ_W², or sample the ensemble",
    )


@renamed_argument("act", "activation")
def exact_connected(
    activation: str | Callable | Activation,
    X: Any,
    order: int,
    *,
    width: int,
    sigma_w2: float,
    sigma_b2: float,
    d_out: int = 1,
) -> np.ndarray:
    r"""Exact connected n-point function of the seed-001 single-layer net at width N.

    Parameters
    ----------
    activation : str, callable or Activation
        Hidden activation ("erf", "relu", "gauss" (Gauss-net unit), any registry name or callable).
    X : array_like (P, d_in)
        Inputs.
    order : int
        n >= 1. Odd n give zeros; n = 2 gives K(x_a, x_b) δ_ij (b1 included); n >= 4 gives
        N × the single-unit cumulant.
    width : int
        Hidden width N >= 1.
    sigma_w2, sigma_b2 : float
        σ_W², σ_b² (zero-mean parameters).
    d_out : int
        Number of outputs (species).

    Returns
    -------
    ndarray (P,)*n, or (P,)*n + (d_out,)*n when d_out > 1

    Notes
    -----
    See the module docstring for the derivation. Accuracy is that of
    :func:`~fieldnn.kernels.product_moments`: ~1e-14 relative for gauss, relu, leaky relu and
    linear; trapezoid-rule quadrature (~1e-13, error estimate in ``docs/numerics.md``) otherwise.
    The moment errors are propagated through the cumulant formula (which cancels moments of
    size 1 − O(q^{-1/2}) for erf at variance q ≫ 1); ``docs/numerics.md``, "Extreme variances".

    Raises
    ------
    UnsupportedError
        When the propagated error of the result exceeds 1e-6 of its largest entry (naming the
        largest factor of the pre-activation variance: ``X``, ``sigma_w2`` or ``sigma_b2``), or
        the tensor is too large (``order``).
    ArgumentError
        When the covariance or the moments overflow float64 (same naming), for widths above
        10**300, and for malformed inputs.

    Examples
    --------
    >>> import numpy as np
    >>> G4 = exact_connected("gauss", [[0.0]], 4, width=10, sigma_w2=1.0, sigma_b2=1.0)
    >>> round(float(G4[0, 0, 0, 0]), 10)  # 3 σ_W⁴ (e^{4q} − 1)/N with q = σ_b² = 1
    16.0794450099
    """
    act = activation
    act, X, n, N, sw, sb, d = _arguments(act, X, order, width, sigma_w2, sigma_b2, d_out)
    P = X.shape[0]
    if n % 2:
        return np.zeros(_shape(P, n, d))
    _check_work(n, P * d)
    return _to_tensor(_connected_values(act, X, n, N, sw, sb, d)[n], n, P, d)


@renamed_argument("act", "activation")
def exact_full(
    activation: str | Callable | Activation,
    X: Any,
    order: int,
    *,
    width: int,
    sigma_w2: float,
    sigma_b2: float,
    d_out: int = 1,
) -> np.ndarray:
    r"""Exact full n-point function ⟨f(x_1)…f(x_n)⟩ of the seed-001 net at width N.

    Sum over set partitions of the inputs into even blocks of products of
    :func:`exact_connected` tensors (f has zero mean, so odd blocks vanish).
    Same parameters and shapes as :func:`exact_connected`.

    Examples
    --------
    >>> import numpy as np
    >>> G2 = exact_full("relu", [[1.0]], 2, width=3, sigma_w2=2.0, sigma_b2=0.0)
    >>> round(float(G2[0, 0]), 12)  # σ_W² · q/2 with q = 2
    2.0
    """
    act = activation
    act, X, n, N, sw, sb, d = _arguments(act, X, order, width, sigma_w2, sigma_b2, d_out)
    P = X.shape[0]
    if n % 2:
        return np.zeros(_shape(P, n, d))
    _check_work(n, P * d)
    connected = _connected_values(act, X, n, N, sw, sb, d)
    full = _partition_sum(connected, P * d, n, [1.0] * len(even_partitions(n)))
    return _to_tensor(full, n, P, d)
