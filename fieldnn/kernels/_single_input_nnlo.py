r"""The single-input deep-MLP recursions to O(1/n²): K, K^{1}, K^{2}, V, V^{1} and U.

At one input the whole network is carried by one scalar Markov chain. Conditionally on layer
ℓ the preactivations of layer ℓ + 1 are iid :math:`\mathcal N(0, \hat G^{(\ell+1)})`,

.. math:: \hat G^{(\ell+1)} = C_b^{(\ell+1)} + \frac{C_W^{(\ell+1)}}{n_\ell}\sum_{j=1}^{n_\ell}
          \sigma\big(z^{(\ell)}_j\big)^2,

and conditionally on :math:`\hat G^{(\ell)}` the :math:`z^{(\ell)}_j` are iid
:math:`\mathcal N(0, \hat G^{(\ell)})`; :math:`\hat G^{(1)} = C_b^{(1)} + C_W^{(1)}|x|^2/n_0`
is deterministic. The output moments are those of a Gaussian scale mixture:
:math:`\mathbb E[z^{2k}] = (2k-1)!!\,\mathbb E[\hat G^k]`, so the connected 4-point function is
:math:`3\,\mathrm{Var}\,\hat G` and the connected 6-point function :math:`15\,\kappa_3(\hat G)`
(on several outputs: these times the sum over the 3 resp. 15 pairings of the output indices).

Law of total cumulance with :math:`X = \hat G^{(\ell+1)}`, :math:`G = \hat G^{(\ell)}`, n = n_ℓ
and the one-unit moments :math:`m_1(G) = \mathbb E_G\sigma^2`, :math:`m_2 = \mathrm{Var}_G\sigma^2`,
:math:`m_3 = \kappa_{3,G}(\sigma^2)`:

.. math:: \mathbb E X = C_b + C_W\,\mathbb E m_1(G),\quad
          \mathrm{Var} X = \tfrac{C_W^2}{n}\mathbb E m_2(G) + C_W^2\,\mathrm{Var}\,m_1(G),

.. math:: \kappa_3 X = \tfrac{C_W^3}{n^2}\mathbb E m_3(G)
          + 3\tfrac{C_W^3}{n}\mathrm{Cov}(m_1(G), m_2(G)) + C_W^3\,\kappa_3(m_1(G)).

With :math:`\delta = G - K`, :math:`\mathbb E\delta = a_1/n + a_2/n^2`,
:math:`\mathrm{Var}\,\delta = V/n + V_1/n^2`, :math:`\kappa_3\delta = U/n^2`,
:math:`\kappa_4\delta = O(1/n^3)` (all in units of 1/n_ℓ: the layer-ℓ values, which are in
units of 1/n_{ℓ−1}, times r^k, r = n_ℓ/n_{ℓ−1}), Taylor expansion gives (derivatives of the
m's at K; derivation in ``docs/eft.md``)

.. math:: K' = C_b + C_W m_1,\qquad K^{\{1\}\prime} = C_W\big(m_1'a_1 + \tfrac12 m_1''V\big),

.. math:: K^{\{2\}\prime} = C_W\big[m_1'a_2 + \tfrac12 m_1''(V_1 + a_1^2)
          + \tfrac16 m_1'''(U + 3Va_1) + \tfrac18 m_1''''V^2\big],

.. math:: V' = C_W^2\big(m_2 + m_1'^2V\big),

.. math:: V_1' = C_W^2\big[m_2'a_1 + \tfrac12 m_2''V + m_1'^2V_1 + m_1'm_1''(U + 2a_1V)
          + \tfrac12 m_1''^2V^2 + m_1'm_1'''V^2\big],

.. math:: U' = C_W^3\big[m_3 + 3m_1'm_2'V + m_1'^3U + 3m_1'^2m_1''V^2\big].

The derivatives of the raw moments :math:`M_r(G) = \mathbb E\sigma(\sqrt G u)^{2r}` come from
:math:`\partial_G^k\phi(z; G) = 2^{-k}\partial_z^{2k}\phi` and one integration by parts,

.. math:: \frac{d^k M_r}{dG^k} = 2^{-k}G^{-(k-1/2)}\,\mathbb E\big[(\sigma^{2r})'(\sqrt G u)\,
          He_{2k-1}(u)\big],

(σ' only; probabilists' Hermite polynomials), evaluated by the sinh-mapped trapezoid rule of
:func:`~fieldnn.kernels._quadrature.adaptive_sinh_trapezoid`. For relu, leaky relu and linear σ
:math:`M_r = (2r-1)!!\,G^r(s_+^{2r} + s_-^{2r})/2` and everything is a polynomial in G (exact).

References
----------
D. A. Roberts, S. Yaida, B. Hanin, arXiv:2106.10165, ch. 4: the kernel (sec. 4.3), the
four-point vertex (eq. 4.90) and the NLO kernel (sec. 4.5), whose single-input recursions are
the first two orders of the ones above; the O(1/n²) terms (K^{2}, V^{1}, U) are derived here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError, ShapeError, UnsupportedError
from ._quadrature import adaptive_sinh_trapezoid
from .activations import Activation, get_activation
from .deep import _per_layer, _widths
from .gaussian import _warn_unconverged

__all__ = ["SingleInputCumulants", "single_input_cumulants"]

#: relative tolerance of the trapezoid rule for the one-unit moments and their G-derivatives
_RTOL = 1e-13


@dataclass(frozen=True)
class SingleInputCumulants:
    r"""The 1/n expansion of the first three cumulants of :math:`\hat G^{(\ell)}`, ℓ = 1..L.

    Arrays of shape (L,), entry ℓ − 1 for layer ℓ, every one in units of :math:`1/n_{\ell-1}`
    (the convention of :func:`~fieldnn.kernels.deep.four_point_vertex` and
    :func:`~fieldnn.kernels.deep.nlo_kernel_correction`):

    .. math:: \mathbb E\hat G^{(\ell)} = K + \frac{K^{\{1\}}}{n_{\ell-1}}
              + \frac{K^{\{2\}}}{n_{\ell-1}^2},\quad
              \mathrm{Var}\,\hat G^{(\ell)} = \frac{V}{n_{\ell-1}} + \frac{V^{\{1\}}}{n_{\ell-1}^2},
              \quad \kappa_3(\hat G^{(\ell)}) = \frac{U}{n_{\ell-1}^2},

    up to :math:`O(1/n^3)`. One output: :math:`\mathbb E z^2 = \mathbb E\hat G`,
    :math:`\mathbb E[z^4]_c = 3\,\mathrm{Var}\,\hat G`,
    :math:`\mathbb E[z^6]_c = 15\,\kappa_3(\hat G)`.

    Attributes
    ----------
    K, K1, K2, V, V1, U : ndarray (L,)
    widths : tuple of int
        ``[d_in, n_1, …, n_{L−1}, d_out]``.
    """

    K: np.ndarray
    K1: np.ndarray
    K2: np.ndarray
    V: np.ndarray
    V1: np.ndarray
    U: np.ndarray
    widths: tuple[int, ...]

    def _layer(self, layer: int | None) -> int:
        L = len(self.K)
        ell = L if layer is None else layer
        if isinstance(ell, bool) or not isinstance(ell, int | np.integer) or not 1 <= ell <= L:
            raise ArgumentError("layer", f"must be an integer in 1..{L}, got {layer!r}")
        return int(ell)

    @staticmethod
    def _order(order: Any) -> int:
        if isinstance(order, bool) or order not in (0, 1, 2):
            raise ArgumentError("order", f"must be 0, 1 or 2, got {order!r}")
        return int(order)

    def two(self, order: int = 2, *, layer: int | None = None) -> float:
        r""":math:`\mathbb E z^2` of layer ℓ (default L) truncated after :math:`1/n^{\rm order}`."""
        ell, order = self._layer(layer), self._order(order)
        n = self.widths[ell - 1]
        terms = (self.K[ell - 1], self.K1[ell - 1] / n, self.K2[ell - 1] / n**2)
        return float(sum(terms[: order + 1]))

    def four(self, order: int = 2, *, layer: int | None = None) -> float:
        r"""Connected :math:`\mathbb E[z^4]_c = 3(V/n + V^{\{1\}}/n^2)`, truncated (order 1, 2)."""
        ell, order = self._layer(layer), self._order(order)
        n = self.widths[ell - 1]
        terms = (0.0, self.V[ell - 1] / n, self.V1[ell - 1] / n**2)
        return float(3.0 * sum(terms[: order + 1]))

    def six(self, *, layer: int | None = None) -> float:
        r"""Connected :math:`\mathbb E[z^6]_c = 15\,U/n^2` (its leading order)."""
        ell = self._layer(layer)
        return float(15.0 * self.U[ell - 1] / self.widths[ell - 1] ** 2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready per-layer values and the convention."""
        return {
            "widths": list(self.widths),
            "convention": (
                "E G = K + K1/n + K2/n^2, Var G = V/n + V1/n^2, kappa3 G = U/n^2, n = n_{l-1} "
                "per layer; E z^2 = E G, E[z^4]_c = 3 Var G, E[z^6]_c = 15 kappa3 G"
            ),
            **{name: getattr(self, name).tolist() for name in ("K", "K1", "K2", "V", "V1", "U")},
        }


# --------------------------------------------------------------------------------------------
# one-unit moments and their G-derivatives
# --------------------------------------------------------------------------------------------
def _hermite_odd(u: np.ndarray) -> list[np.ndarray]:
    """He_1, He_3, He_5, He_7 of u (probabilists')."""
    u2 = u * u
    return [
        u,
        u * (u2 - 3.0),
        u * (u2 * (u2 - 10.0) + 15.0),
        u * (u2 * (u2 * (u2 - 21.0) + 105.0) - 105.0),
    ]


def _raw_moments_smooth(act: Activation, G: float) -> tuple[np.ndarray, np.ndarray]:
    """M_r(G), r = 1..3, and dM_1..d⁴M_1, dM_2, d²M_2 by one trapezoid rule.

    Returns (M (3,), D (2, 5)) with D[r−1, k] = d^k M_r/dG^k (D[:, 0] unused)."""
    root = math.sqrt(G)
    # 3 moments, 4 derivatives of M_1, 2 of M_2
    count = 9

    # the rule maps u = a sinh t with a = 1/scale: scale = max(√G, 1) as in single_expectation
    # (nodes dense on |z| ≲ 1 at large variance, on |u| ≲ 1 at small variance)
    scale = max(root, 1.0)

    def partial(v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = v[:, 0] / scale
        zz = root * u
        s = np.asarray(act(zz), dtype=np.float64)
        d = np.asarray(act.derivative(zz), dtype=np.float64)
        he = _hermite_odd(u)
        s2 = s * s
        g1 = 2.0 * s * d  # (σ²)'
        g2 = 4.0 * s2 * s * d  # (σ⁴)'
        F = np.stack([s2, s2 * s2, s2 * s2 * s2, *(g1 * h for h in he), g2 * he[0], g2 * he[1]])
        return F @ w, np.abs(F) @ w

    value, error, magnitude = adaptive_sinh_trapezoid(partial, np.array([[scale]]), rtol=_RTOL)
    if not (np.all(np.isfinite(value)) and value.shape == (count,)):
        raise ArgumentError(
            "activation", f"σ or σ' of {act.name!r} is not finite on the Gaussian at variance {G}"
        )
    _warn_unconverged(act, error, magnitude)
    factor = [2.0**-k * G ** (0.5 - k) for k in range(1, 5)]
    D = np.zeros((2, 5))
    D[0, 1:] = [factor[k] * value[3 + k] for k in range(4)]
    D[1, 1:3] = [factor[k] * value[7 + k] for k in range(2)]
    return value[:3], D


def _raw_moments_piecewise(slopes: tuple[float, float], G: float) -> tuple[np.ndarray, np.ndarray]:
    """The same for relu-type σ: M_r = (2r−1)!! G^r (s₊^{2r} + s₋^{2r})/2, exactly."""
    s_neg, s_pos = slopes
    c = [
        math.prod(range(2 * r - 1, 0, -2)) * (s_pos ** (2 * r) + s_neg ** (2 * r)) / 2.0
        for r in (1, 2, 3)
    ]
    M = np.array([c[r - 1] * G**r for r in (1, 2, 3)])
    D = np.zeros((2, 5))
    for r in (1, 2):
        for k in range(1, 5):
            if k <= r:
                D[r - 1, k] = c[r - 1] * math.perm(r, k) * G ** (r - k)
    return M, D


def _unit_cumulants(M: np.ndarray, D: np.ndarray) -> tuple[float, ...]:
    """m1, m1', m1'', m1''', m1'''', m2, m2', m2'', m3 from the raw moments."""
    M1, M2, M3 = M
    d1 = D[0]
    m2 = M2 - M1 * M1
    m2p = D[1, 1] - 2.0 * M1 * d1[1]
    m2pp = D[1, 2] - 2.0 * d1[1] ** 2 - 2.0 * M1 * d1[2]
    m3 = M3 - 3.0 * M2 * M1 + 2.0 * M1**3
    return M1, d1[1], d1[2], d1[3], d1[4], m2, m2p, m2pp, m3


def _step(
    m: tuple[float, ...],
    cw: float,
    cb: float,
    a1: float,
    a2: float,
    V: float,
    V1: float,
    U: float,
) -> tuple[float, float, float, float, float, float]:
    """One layer of (K, K1, K2, V, V1, U), the inputs already in units of 1/n_ℓ."""
    m1, d1, d2, d3, d4, m2, m2p, m2pp, m3 = m
    K = cb + cw * m1
    K1 = cw * (d1 * a1 + 0.5 * d2 * V)
    K2 = cw * (
        d1 * a2 + 0.5 * d2 * (V1 + a1 * a1) + d3 * (U + 3.0 * V * a1) / 6.0 + d4 * V * V / 8.0
    )
    Vn = cw**2 * (m2 + d1 * d1 * V)
    V1n = cw**2 * (
        m2p * a1
        + 0.5 * m2pp * V
        + d1 * d1 * V1
        + d1 * d2 * (U + 2.0 * a1 * V)
        + 0.5 * d2 * d2 * V * V
        + d1 * d3 * V * V
    )
    Un = cw**3 * (m3 + 3.0 * d1 * m2p * V + d1**3 * U + 3.0 * d1 * d1 * d2 * V * V)
    return K, K1, K2, Vn, V1n, Un


# --------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------
def _input_vector(x: Any) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentTypeError("x", f"must be one real input vector, got {x!r}") from None
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1 or arr.size == 0:
        raise ShapeError("x", f"must be one input vector (d_in,) or (1, d_in), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError("x", "contains NaN or infinite entries")
    return arr


def single_input_cumulants(
    activation: str | Callable | Activation,
    x: Any,
    *,
    C_W: float | Sequence[float],
    C_b: float | Sequence[float],
    widths: Sequence[int],
) -> SingleInputCumulants:
    r"""K, K^{1}, K^{2}, V, V^{1} and the six-point vertex U of a deep MLP at one input.

    Parameters
    ----------
    activation : str, callable or Activation
        σ (:func:`~fieldnn.kernels.get_activation`); not the normalised Gauss-net unit. A σ
        without relu-type slopes is integrated with its derivative σ' (the registry's, or the
        complex-step/finite-difference one of a user callable).
    x : array_like (d_in,) or (1, d_in)
        The input.
    C_W : float or sequence of L floats
        Weight variances, > 0 (``C_W[ℓ−1]`` belongs to layer ℓ).
    C_b : float or sequence of L floats
        Bias variances, >= 0.
    widths : sequence of int
        ``[d_in, n_1, …, n_{L−1}, d_out]``; L = len(widths) − 1 layers.

    Returns
    -------
    SingleInputCumulants
        Per-layer arrays; layer ℓ in units of 1/n_{ℓ−1}, so the output layer is in the project's
        n = widths[-2]: :math:`G_2 = K + K^{\{1\}}/n + K^{\{2\}}/n^2`, connected
        :math:`G_4 = 3(V/n + V^{\{1\}}/n^2)`, connected :math:`G_6 = 15U/n^2`, each up to
        :math:`O(1/n^3)` (on d_out outputs: times the sum over the pairings of the output
        indices). K^{1} and V equal :func:`~fieldnn.kernels.deep.nlo_kernel_correction` and
        :func:`~fieldnn.kernels.deep.four_point_vertex` at one input.

    Notes
    -----
    The recursions (law of total cumulance for the scalar chain
    :math:`\hat G^{(\ell)} \to \hat G^{(\ell+1)}`, Taylor-expanded to O(1/n²)) are in
    :mod:`fieldnn.kernels._single_input_nnlo` and ``docs/eft.md``; with r = n_ℓ/n_{ℓ−1}, the
    layer-ℓ values enter the step to ℓ + 1 as r K^{1}, r² K^{2}, r V, r² V^{1}, r² U. The first
    layer is deterministic (all corrections zero), the second Gaussian-mixture of one layer
    (K^{1} = K^{2} = V^{1} = 0, V = C_W² Var σ², U = C_W³ κ₃(σ²)). For relu, leaky relu and
    linear σ the one-unit moments are polynomials in G and the result is exact arithmetic; for
    other σ the moments and their first four G-derivatives come from one sinh-mapped trapezoid
    rule per layer refined to 1e-13 of the mean absolute integrand (a RuntimeWarning above
    1e-8). The k-th derivative carries a factor :math:`G^{1/2-k}` and loses accuracy at small
    variance (erf: the fourth derivative to 1e-9 at K = 1e-3, 1e-13 from K = 0.1 on); it enters
    K^{2} weighted by V² ∝ K⁴.

    References
    ----------
    arXiv:2106.10165, ch. 4 (secs. 4.3, 4.5; eq. 4.90): the O(1) and O(1/n) parts;
    the O(1/n²) parts derived in ``docs/eft.md`` ("The next order at one input").

    Examples
    --------
    >>> c = single_input_cumulants("relu", [1.0], C_W=2.0, C_b=0.0, widths=[1, 10, 10, 1])
    >>> [round(float(v), 10) for v in (c.K[-1], c.V[-1], c.V1[-1], c.U[-1])]
    [2.0, 40.0, 100.0, 1904.0]
    """
    act = get_activation(activation)
    if act.normalised:
        raise UnsupportedError(
            "activation",
            f"{act.name!r} is normalised by the pre-activation variance; the single-input "
            "recursions are defined for ordinary activations only",
        )
    x = _input_vector(x)
    w = _widths(widths, x.size)
    L = len(w) - 1
    cw = _per_layer(C_W, "C_W", L)
    cb = _per_layer(C_b, "C_b", L)
    if np.any(cw <= 0.0):
        raise ArgumentError("C_W", f"must be > 0 in every layer, got {cw.tolist()}")
    slopes = act.piecewise_linear_slopes
    K = np.zeros(L)
    K1, K2, V, V1, U = (np.zeros(L) for _ in range(5))
    with np.errstate(over="ignore", invalid="ignore"):
        K[0] = cb[0] + cw[0] * float(x @ x) / w[0]
    for layer in range(1, L):  # from layer ℓ = `layer` to ℓ + 1
        G = float(K[layer - 1])
        if not np.isfinite(G):
            with np.errstate(over="ignore"):
                large_x = layer == 1 and float(x @ x) / x.size > 1.0
            raise ArgumentError(
                "x" if large_x else "C_W",
                f"the kernel overflows float64 at layer {layer}; "
                + ("rescale the input" if large_x else "reduce C_W, C_b or the depth"),
            )
        if slopes is not None:
            M, D = _raw_moments_piecewise(slopes, G)
        else:
            if G <= 0.0:
                raise ArgumentError(
                    "x",
                    f"the kernel vanishes at layer {layer} (x = 0 with C_b = 0): the Taylor "
                    "terms of a smooth σ need a positive variance",
                )
            M, D = _raw_moments_smooth(act, G)
        r = w[layer] / w[layer - 1]
        i = layer - 1
        with np.errstate(over="ignore", invalid="ignore"):
            values = _step(
                _unit_cumulants(M, D),
                cw[layer],
                cb[layer],
                r * K1[i],
                r * r * K2[i],
                r * V[i],
                r * r * V1[i],
                r * r * U[i],
            )
        if not np.all(np.isfinite(values)):
            raise ArgumentError(
                "C_W",
                f"the O(1/n²) cumulants overflow float64 at layer {layer + 1}; reduce C_W, C_b "
                "or the depth",
            )
        K[layer], K1[layer], K2[layer], V[layer], V1[layer], U[layer] = values
    return SingleInputCumulants(K, K1, K2, V, V1, U, w)
