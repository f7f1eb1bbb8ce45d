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

from .._validate import input_points, nonnegative_float, positive_int
from ..errors import UnsupportedError
from ..kernels import Activation, get_activation, preactivation_covariance
from ..kernels.gaussian import product_moment_tensors

__all__ = ["exact_connected", "exact_full"]

_MAX_ENTRIES = 1 << 26
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


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


def _species_moment(k: int, d_out: int) -> np.ndarray:
    """𝒲_k[i_1..i_k] = Σ over pairings Π δ: moments of iid N(0, 1) readout weights."""
    out = np.zeros((d_out,) * k)
    for pairing in even_partitions(k):
        if any(len(block) != 2 for block in pairing):
            continue
        term = np.ones((d_out,) * k)
        for i, j in pairing:
            shape = [1] * k
            shape[i] = shape[j] = d_out
            term = term * np.eye(d_out).reshape(shape)
        out = out + term
    return out


def _combine(
    blocks: dict[int, np.ndarray], n: int, partitions: tuple, weights: list[float]
) -> np.ndarray:
    """Σ_π weight_π ⊗_{B∈π} blocks[|B|][indices of B] as a tensor (D,)*n."""
    D = next(iter(blocks.values())).shape[0]
    out = np.zeros((D,) * n)
    for partition, weight in zip(partitions, weights, strict=True):
        if weight == 0:
            continue
        operands = []
        for block in partition:
            operands += [blocks[len(block)], [*block]]
        out += weight * np.einsum(*operands, list(range(n)), optimize=True)
    return out


def _interleave(tensor: np.ndarray, n: int, P: int, d_out: int) -> np.ndarray:
    """(P,)*n + (d,)*n → combined index (P·d,)*n, α = a·d + i."""
    order = [x for k in range(n) for x in (k, n + k)]
    return tensor.transpose(order).reshape((P * d_out,) * n)


def _split(tensor: np.ndarray, n: int, P: int, d_out: int) -> np.ndarray:
    """Inverse of :func:`_interleave`: (P,)*n + (d,)*n."""
    out = tensor.reshape((P, d_out) * n)
    return out.transpose([2 * k for k in range(n)] + [2 * k + 1 for k in range(n)])


def _public(tensor: np.ndarray, n: int, P: int, d_out: int) -> np.ndarray:
    """Drop the species axes when d_out = 1."""
    return tensor.reshape((P,) * n) if d_out == 1 else tensor


def _arguments(
    act: Any, X: Any, order: Any, width: Any, sigma_w2: Any, sigma_b2: Any, d_out: Any
) -> tuple[Activation, np.ndarray, int, int, float, float, int]:
    act = get_activation(act)
    X = input_points(X, "X")
    n = positive_int(order, "order")
    N = positive_int(width, "width")
    sw = nonnegative_float(sigma_w2, "sigma_w2")
    sb = nonnegative_float(sigma_b2, "sigma_b2")
    d = positive_int(d_out, "d_out")
    if (X.shape[0] * d) ** n > _MAX_ENTRIES:
        raise UnsupportedError(
            "order", f"a tensor of ({X.shape[0]}*{d})**{n} entries is too large for the exact path"
        )
    return act, X, n, N, sw, sb, d


def _shape(P: int, n: int, d_out: int) -> tuple[int, ...]:
    return (P,) * n if d_out == 1 else (P,) * n + (d_out,) * n


def _connected_tensors(
    act: Activation, X: np.ndarray, n: int, N: int, sw: float, sb: float, d: int
) -> dict[int, np.ndarray]:
    """{k: connected k-point tensor, combined index (P·d,)*k} for even k = 2, 4, …, n."""
    P = X.shape[0]
    C = preactivation_covariance(X, sigma_w2=sw, sigma_b2=sb)
    orders = tuple(range(2, n + 1, 2))
    M = product_moment_tensors(act, C, orders)
    # the single-unit moment tensors with unit readout variance: M_k ⊗ 𝒲_k
    unit = {k: _interleave(np.multiply.outer(M[k], _species_moment(k, d)), k, P, d) for k in orders}
    out = {2: sb * _interleave(np.multiply.outer(np.ones((P, P)), np.eye(d)), 2, P, d)}
    out[2] = out[2] + sw * unit[2]
    for k in orders[1:]:
        partitions = even_partitions(k)
        weights = [(-1) ** (len(p) - 1) * math.factorial(len(p) - 1) for p in partitions]
        # N × (σ_W²/N)^{k/2} × κ_k(unit with readout variance 1)
        out[k] = N * (sw / N) ** (k // 2) * _combine(unit, k, partitions, weights)
    return out


def exact_connected(
    act: str | Callable | Activation,
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
    act : str, callable or Activation
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
    linear; Gauss–Hermite quadrature (error estimate in ``docs/numerics.md``) otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> G4 = exact_connected("gauss", [[0.0]], 4, width=10, sigma_w2=1.0, sigma_b2=1.0)
    >>> round(float(G4[0, 0, 0, 0]), 10)  # 3 σ_W⁴ (e^{4q} − 1)/N with q = σ_b² = 1
    16.0794450099
    """
    act, X, n, N, sw, sb, d = _arguments(act, X, order, width, sigma_w2, sigma_b2, d_out)
    P = X.shape[0]
    if n % 2:
        return np.zeros(_shape(P, n, d))
    return _public(_split(_connected_tensors(act, X, n, N, sw, sb, d)[n], n, P, d), n, P, d)


def exact_full(
    act: str | Callable | Activation,
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
    act, X, n, N, sw, sb, d = _arguments(act, X, order, width, sigma_w2, sigma_b2, d_out)
    P = X.shape[0]
    if n % 2:
        return np.zeros(_shape(P, n, d))
    connected = _connected_tensors(act, X, n, N, sw, sb, d)
    partitions = even_partitions(n)
    full = _combine(connected, n, partitions, [1.0] * len(partitions))
    return _public(_split(full, n, P, d), n, P, d)
