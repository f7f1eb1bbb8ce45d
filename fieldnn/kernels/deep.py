r"""Deep-network recursions: kernel K, NTK Θ, four-point vertex V and the NLO kernel K^{1}.

Conventions (seed 000, Roberts–Yaida–Hanin; ``docs/conventions.md``): for inputs
x_α ∈ R^{n_0}, α = 1..P,

.. math:: z^{(1)}_{i\alpha} = b^{(1)}_i + \sum_j W^{(1)}_{ij} x_{j\alpha}, \qquad
          z^{(\ell+1)}_{i\alpha} = b^{(\ell+1)}_i
          + \sum_j W^{(\ell+1)}_{ij}\sigma(z^{(\ell)}_{j\alpha}),

:math:`W^{(\ell)} \sim \mathcal N(0, C_W^{(\ell)}/n_{\ell-1})`,
:math:`b^{(\ell)} \sim \mathcal N(0, C_b^{(\ell)})`, widths = [n_0 = d_in, n_1, …, n_{L−1}, n_L],
L = len(widths) − 1 layers, the last one linear. Per-layer hyperparameters are a scalar (every
layer) or a sequence whose entry ℓ − 1 belongs to layer ℓ. The 1/n expansion of layer ℓ is in
1/n_{ℓ−1}:

.. math:: \mathbb E[z_{i_1\alpha_1} z_{i_2\alpha_2}] = \delta_{i_1i_2}\Big[
          K^{(\ell)}_{\alpha_1\alpha_2} + \frac{1}{n_{\ell-1}} K^{\{1\}(\ell)}_{\alpha_1\alpha_2}
          + O(1/n^2)\Big],

.. math:: \mathbb E[z_{i_1\alpha_1}z_{i_2\alpha_2}z_{i_3\alpha_3}z_{i_4\alpha_4}]_c
          = \frac{1}{n_{\ell-1}}\Big[\delta_{i_1i_2}\delta_{i_3i_4}
          V^{(\ell)}_{(\alpha_1\alpha_2)(\alpha_3\alpha_4)}
          + \delta_{i_1i_3}\delta_{i_2i_4} V^{(\ell)}_{(\alpha_1\alpha_3)(\alpha_2\alpha_4)}
          + \delta_{i_1i_4}\delta_{i_2i_3} V^{(\ell)}_{(\alpha_1\alpha_4)(\alpha_2\alpha_3)}\Big]
          + O(1/n^2).

All derivations (and the corrections to the seed talk) are in ``docs/eft.md``.

References
----------
D. A. Roberts, S. Yaida, B. Hanin, "The Principles of Deep Learning Theory", arXiv:2106.10165:
kernel recursion ch. 4 (sec. 4.3), four-point vertex ch. 4 (sec. 4.3, eq. 4.90), NLO kernel
ch. 4 (sec. 4.5), NTK forward equation ch. 8.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._cost import warn_slow_vertex
from .._validate import MAX_WIDTH, input_points, nonnegative_float, positive_int
from ..errors import ArgumentError, ArgumentTypeError, ShapeError, UnsupportedError
from ._deep_gaussian import (
    check_positive_diagonal,
    connected_four,
    pair_terms,
    propagate,
)
from ._pairs import layer_step, run_layers
from .activations import Activation, get_activation
from .gaussian import pair_values, single_expectation
from .gp import variance_argument

__all__ = [
    "exact_single_input_moment",
    "four_point_vertex",
    "kernel_and_ntk",
    "kernel_recursion",
    "nlo_kernel_correction",
    "ntk_recursion",
]

ActivationLike = str | Callable | Activation
PerLayer = float | Sequence[float] | np.ndarray


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------
def _per_layer(value: Any, argument: str, L: int) -> np.ndarray:
    """A scalar or a length-L sequence of finite numbers >= 0, as an array (L,)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return np.full(L, nonnegative_float(value, argument))
    try:
        items = list(value)
    except TypeError:
        raise ArgumentTypeError(
            argument, f"must be a number or a sequence of {L} numbers, got {value!r}"
        ) from None
    if len(items) != L:
        raise ShapeError(argument, f"needs one value per layer ({L}), got {len(items)}")
    return np.array([nonnegative_float(v, f"{argument}[{i}]") for i, v in enumerate(items)])


def _widths(widths: Any, d_in: int) -> tuple[int, ...]:
    if isinstance(widths, str | bytes):
        raise ArgumentTypeError("widths", f"must be a sequence of ints, got {widths!r}")
    try:
        items = list(widths)
    except TypeError:
        raise ArgumentTypeError("widths", f"must be a sequence of ints, got {widths!r}") from None
    if len(items) < 2:
        raise ShapeError("widths", "needs [d_in, n_1, …, d_out]: at least two entries")
    out = tuple(positive_int(w, f"widths[{i}]", maximum=MAX_WIDTH) for i, w in enumerate(items))
    if out[0] != d_in:
        raise ShapeError("widths", f"widths[0] = {out[0]} but the inputs have d_in = {d_in}")
    return out


def _activation(act: ActivationLike, *, smooth_moments: bool) -> Activation:
    act = get_activation(act)
    if smooth_moments and act.normalised:
        raise UnsupportedError(
            "act",
            f"{act.name!r} is normalised by the pre-activation variance; the four-point and "
            "NLO recursions are defined for ordinary activations only",
        )
    return act


def _sym(K: np.ndarray) -> np.ndarray:
    return 0.5 * (K + K.T)


def _first_kernel(X: np.ndarray, C_W: float, C_b: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        K = C_b + C_W * (X @ X.T) / X.shape[1]
    _check_finite_kernel(K, 1, blame=_blame(X, K))
    return K


def _blame(X: np.ndarray, K1: np.ndarray) -> str:
    """ "X" when the inputs alone make the first-layer kernel huge (max ``|x|²``/d_in > 1 and
    K^(1) beyond 1e100 or not finite), else "C_W": the argument an overflow message names."""
    return _blame_diagonal(X, np.diag(K1))


def _blame_diagonal(X: np.ndarray, diag: np.ndarray) -> str:
    """:func:`_blame` from the diagonal of K^(1) alone."""
    with np.errstate(over="ignore"):
        large_x = float(np.max(np.sum(X * X, axis=1))) / X.shape[1] > 1.0
    return "X" if large_x and not np.all(np.abs(diag) < 1e100) else "C_W"


def _pair_matrix(act: Activation, K: np.ndarray, derivative: int = 0) -> np.ndarray:
    """⟨σ^(d)(z_a) σ^(d)(z_b)⟩_K for all pairs: the closed form on the whole matrix if σ has
    one, else a 1-d rule on the diagonal and the 2-d rule above it."""
    d = np.diag(K)
    closed = act.derivative_pair_expectation if derivative else act.pair_expectation
    if (value := closed(d[:, None], d[None, :], K)) is not None:
        return value
    P = K.shape[0]
    out = np.empty((P, P))
    out[np.diag_indices(P)] = single_expectation(act, d, power=2, derivative=derivative)
    if P > 1:
        # |K_ab| ≤ √(K_aa K_bb) up to the quadrature error of the previous layer: project
        # (at C_W ~ 1e4 that error alone can make a pair look non-PSD)
        i, j = np.triu_indices(P, 1)
        bound = np.sqrt(d[i] * d[j])
        out[i, j] = out[j, i] = pair_values(
            act, d[i], d[j], np.clip(K[i, j], -bound, bound), (derivative, derivative)
        )
    return out


def _next_kernel(act: Activation, K: np.ndarray, C_W: float, C_b: float) -> np.ndarray:
    return C_b + C_W * _pair_matrix(act, K)


# --------------------------------------------------------------------------------------------
# K and Θ
# --------------------------------------------------------------------------------------------
def kernel_recursion(
    act: ActivationLike, X: Any, *, C_W: PerLayer, C_b: PerLayer, depth: int, Y: Any = None
) -> list[np.ndarray]:
    r"""Infinite-width kernels K^(1), …, K^(depth) of a deep MLP at P inputs (or X × Y).

    Parameters
    ----------
    act : str, callable or Activation
        The activation σ (:func:`~fieldnn.kernels.get_activation`).
    X : array_like (P, d_in)
        Inputs (a 1-d array is read as P scalar inputs).
    C_W, C_b : float or sequence of ``depth`` floats
        Weight and bias variances of each layer (``C_W[ℓ−1]`` belongs to layer ℓ).
    depth : int
        Number of layers ℓ = 1..depth to return.
    Y : array_like (Q, d_in), optional
        Second input set: the cross-kernels K^(ℓ)(x_α, y_β), (P, Q), from the variances of
        the two sets and the cross block alone (the (P + Q)² kernel of the stacked inputs is
        never formed; equal to its X × Y block to ≤ 1e-14 relative away from correlations
        ±1, see :func:`kernel_and_ntk`).

    Returns
    -------
    list of ndarray (P, P), or (P, Q) with ``Y``
        ``[K^(1), …, K^(depth)]``.

    Notes
    -----
    .. math:: K^{(1)}_{\alpha\beta} = C_b^{(1)} + C_W^{(1)}\,\frac{x_\alpha\cdot x_\beta}{n_0},
              \qquad K^{(\ell+1)}_{\alpha\beta} = C_b^{(\ell+1)} + C_W^{(\ell+1)}
              \langle\sigma(z_\alpha)\sigma(z_\beta)\rangle_{K^{(\ell)}},

    the diagonal (the seed's g(K), by :func:`~fieldnn.kernels.gaussian.single_expectation`)
    and the off-diagonal entries (the seed's H(K_11, K_22, K_12): the coupled equations, all
    pairs in one vectorised :func:`~fieldnn.kernels.gaussian.pair_expectation`). For the
    normalised Gauss-net unit the normaliser is the layer's own variance K_αα.

    References
    ----------
    arXiv:2106.10165, ch. 4 (the recursion for the kernel, sec. 4.3); seed 000, "going deep".

    Examples
    --------
    >>> import numpy as np
    >>> K = kernel_recursion("relu", np.array([[1.0]]), C_W=2.0, C_b=0.0, depth=3)
    >>> [round(float(k[0, 0]), 12) for k in K]  # relu at C_W = 2 preserves the norm
    [2.0, 2.0, 2.0]
    """
    act = _activation(act, smooth_moments=False)
    X = input_points(X)
    Y = None if Y is None else input_points(Y, "Y", d_in=X.shape[1])
    depth = positive_int(depth, "depth")
    cw = _per_layer(C_W, "C_W", depth)
    cb = _per_layer(C_b, "C_b", depth)
    Ks, _ = _recursion(act, X, Y, cw, cb, None, None, depth, all_layers=True)
    return Ks


def _variance_blame(X: np.ndarray, C_W: float, C_b: float, layer: int) -> str:
    """The argument that sets the scale of K^(layer): for layer 1 the largest factor of
    C_b + C_W ``|x|²``/d_in ("X", "C_W" or "C_b"), deeper layers "C_W"."""
    if layer > 1:
        return "C_W"
    blamed = variance_argument(X, C_W, C_b)
    return {"sigma_w2": "C_W", "sigma_b2": "C_b"}.get(blamed, blamed)


def _check_finite_kernel(
    K: np.ndarray, layer: int, what: str = "kernel", *, blame: str = "C_W"
) -> None:
    """Raise naming C_W (or ``blame``: "X" for inputs that alone overflow, see :func:`_blame`)
    when the kernel (NTK, vertex) of ``layer`` has left the float64 range."""
    if not np.all(np.isfinite(K)):
        if blame == "X":
            raise ArgumentError(
                "X",
                f"the {what} overflows float64 at layer {layer}: the inputs are too large "
                "for these variances; rescale them",
            )
        raise ArgumentError(
            "C_W",
            f"the {what} overflows float64 at layer {layer} (the network is deep in its "
            "chaotic/exploding phase); reduce C_W, C_b or the depth",
        )


def ntk_recursion(
    act: ActivationLike,
    X: Any,
    *,
    C_W: PerLayer,
    C_b: PerLayer,
    lambda_W: PerLayer,
    lambda_b: PerLayer,
    depth: int,
) -> list[np.ndarray]:
    r"""Infinite-width neural tangent kernels Θ^(1), …, Θ^(depth) (forward equation).

    Parameters
    ----------
    act, X, C_W, C_b, depth
        As in :func:`kernel_recursion`.
    lambda_W, lambda_b : float or sequence of ``depth`` floats
        Learning-rate tensor of seed 000: :math:`\lambda_{b^{(\ell)}_{i_1} b^{(\ell)}_{i_2}} =
        \delta_{i_1i_2}\lambda_b^{(\ell)}`, :math:`\lambda_{W^{(\ell)}_{i_1j_1}W^{(\ell)}_{i_2j_2}}
        = \delta_{i_1i_2}\delta_{j_1j_2}\lambda_W^{(\ell)}/n_{\ell-1}`.

    Returns
    -------
    list of ndarray (P, P)
        ``[Θ^(1), …, Θ^(depth)]``; the frozen NTK of one output neuron,
        :math:`H_{i_1\alpha_1,i_2\alpha_2} = \delta_{i_1i_2}\Theta_{\alpha_1\alpha_2}` at n → ∞.

    Notes
    -----
    .. math:: \Theta^{(1)}_{\alpha\beta} = \lambda_b^{(1)} + \lambda_W^{(1)}\frac{x_\alpha\cdot
              x_\beta}{n_0}, \qquad
              \Theta^{(\ell+1)}_{\alpha\beta} = \lambda_b^{(\ell+1)} + \lambda_W^{(\ell+1)}
              \langle\sigma_\alpha\sigma_\beta\rangle_{K^{(\ell)}} + C_W^{(\ell+1)}
              \langle\sigma'_\alpha\sigma'_\beta\rangle_{K^{(\ell)}}\,\Theta^{(\ell)}_{\alpha\beta}.

    The seed's last slide sets λ_b = C_b, λ_W = C_W (a choice that makes the first two terms of
    the Θ and K recursions coincide, not a consequence).

    References
    ----------
    arXiv:2106.10165, ch. 8 (NTK forward equation, infinite-width limit); seed 000,
    "Forward Equation for the NTK".

    Examples
    --------
    >>> import numpy as np
    >>> T = ntk_recursion("linear", np.array([[1.0]]), C_W=1.0, C_b=0.0, lambda_W=1.0,
    ...                   lambda_b=0.0, depth=3)
    >>> [round(float(t[0, 0]), 12) for t in T]  # deep linear net: ℓ K
    [1.0, 2.0, 3.0]
    """
    act = _activation(act, smooth_moments=False)
    X = input_points(X)
    depth = positive_int(depth, "depth")
    cw = _per_layer(C_W, "C_W", depth)
    cb = _per_layer(C_b, "C_b", depth)
    lw = _per_layer(lambda_W, "lambda_W", depth)
    lb = _per_layer(lambda_b, "lambda_b", depth)
    _, Ts = _recursion(act, X, None, cw, cb, lw, lb, depth, all_layers=True)
    return Ts


def _first_cross(X: np.ndarray, Y: np.ndarray | None, C_W: float, C_b: float) -> np.ndarray:
    """C_b + C_W x·y/n_0 for all pairs of X (P, n_0) and Y (Q, n_0) (Y None: Y = X)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return C_b + C_W * (X @ (X if Y is None else Y).T) / X.shape[1]


def _first_diagonal(X: np.ndarray, C_W: float, C_b: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return C_b + C_W * np.sum(X * X, axis=1) / X.shape[1]


def _quadrature_step(
    act: Activation,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray | None,
    cw: float,
    cb: float,
    lw: float,
    lb: float,
    square: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """One layer of K (and Θ) for a σ without a closed-form pair expectation (quadrature)."""
    if square:
        ss = _pair_matrix(act, K)
        dd = None if T is None else _pair_matrix(act, K, derivative=1)
    else:
        bound = np.sqrt(d1[:, None] * d2[None, :])
        k12 = np.clip(K, -bound, bound)
        ss = pair_values(act, d1[:, None], d2[None, :], k12)
        dd = None if T is None else pair_values(act, d1[:, None], d2[None, :], k12, (1, 1))
    K_next = cb + cw * ss
    return K_next, (None if T is None else lb + lw * ss + cw * dd * T)


def _next_diagonal(act: Activation, d: np.ndarray, cw: float, cb: float) -> np.ndarray:
    """C_b + C_W ⟨σ(z)²⟩ for variances d: the closed form at k11 = k22 = k12 if σ has one."""
    closed = act.pair_expectation(d, d, d)
    return cb + cw * (closed if closed is not None else single_expectation(act, d, power=2))


def _recursion(
    act: Activation,
    X: np.ndarray,
    Y: np.ndarray | None,
    cw: np.ndarray,
    cb: np.ndarray,
    lw: np.ndarray | None,
    lb: np.ndarray | None,
    depth: int,
    *,
    all_layers: bool,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """[K^(ℓ)] and [Θ^(ℓ)] (empty unless ``lw``) of the block X × Y (Y None: X × X), all
    layers or only the last, from one recursion (:func:`~fieldnn.kernels._pairs.layer_step`)."""
    square = Y is None
    with_theta = lw is not None
    K = _first_cross(X, Y, cw[0], cb[0])
    # the compiled step fills a symmetric block from its upper triangle; every layer keeps
    # the bitwise symmetry of K^(1) (X X^T by BLAS is symmetric in practice, but not promised)
    triangle = square and np.array_equal(K, K.T)
    if square:
        d1 = d2 = np.diag(K).copy()
        blame = _blame_diagonal(X, d1)
    else:
        d1, d2 = _first_diagonal(X, cw[0], cb[0]), _first_diagonal(Y, cw[0], cb[0])
        blame = _blame_diagonal(np.vstack([X, Y]), np.concatenate([d1, d2]))
        _check_finite_kernel(np.concatenate([d1, d2]), 1, blame=blame)
    _check_finite_kernel(K, 1, blame=blame)
    T = _first_cross(X, Y, lw[0], lb[0]) if with_theta else None
    if with_theta:
        _check_finite_kernel(T, 1, blame=_blame(X, T) if square else blame)
    Ks, Ts = [K], ([T] if with_theta else [])
    layer = 0
    while (layer := layer + 1) < depth:
        # GELU, Φ: the layers up to the next one kept (or the last) in one compiled loop
        with np.errstate(over="ignore", invalid="ignore"):
            fused = run_layers(
                act,
                d1,
                d2,
                K,
                T,
                cw,
                cb,
                lw,
                lb,
                square=triangle,
                start=layer,
                stop=layer + 1 if all_layers else depth,
            )
        if fused is not None:
            done, K, T, d1, d2 = fused
            layer = done - 1
        else:
            K, T, d1, d2 = _one_layer(act, d1, d2, K, T, cw, cb, lw, lb, layer, square, triangle)
        if not square:
            _check_finite_kernel(np.concatenate([d1, d2]), layer + 1, blame=blame)
        _check_finite_kernel(K, layer + 1, blame=blame)
        if with_theta:
            _check_finite_kernel(T, layer + 1, "NTK", blame=blame)
        if all_layers:
            Ks.append(K)
            if with_theta:
                Ts.append(T)
    if not all_layers:
        Ks, Ts = [K], ([T] if with_theta else [])
    return Ks, Ts


def _one_layer(
    act: Activation,
    d1: np.ndarray,
    d2: np.ndarray,
    K: np.ndarray,
    T: np.ndarray | None,
    cw: np.ndarray,
    cb: np.ndarray,
    lw: np.ndarray | None,
    lb: np.ndarray | None,
    layer: int,
    square: bool,
    triangle: bool,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """K, Θ and the variances d1, d2 after ``layer`` by :func:`layer_step` (closed forms) or
    the quadrature step."""
    with_theta = T is not None
    coefficients = (cw[layer], cb[layer]) + ((lw[layer], lb[layer]) if with_theta else (0, 0))
    with np.errstate(over="ignore", invalid="ignore"):
        step = layer_step(
            act,
            d1,
            d2,
            K,
            T,
            C_W=coefficients[0],
            C_b=coefficients[1],
            lambda_W=coefficients[2],
            lambda_b=coefficients[3],
            square=triangle,
        )
        if step is None:
            step = _quadrature_step(act, d1, d2, K, T, *coefficients, square)
        K, T = step
        if square:
            d1 = d2 = np.diag(K).copy()
        else:
            d1 = _next_diagonal(act, d1, cw[layer], cb[layer])
            d2 = _next_diagonal(act, d2, cw[layer], cb[layer])
    return K, T, d1, d2


def kernel_and_ntk(
    act: ActivationLike,
    X: Any,
    Y: Any = None,
    *,
    C_W: PerLayer,
    C_b: PerLayer,
    lambda_W: PerLayer,
    lambda_b: PerLayer,
    depth: int,
    all_layers: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[list[np.ndarray], list[np.ndarray]]:
    r"""NNGP kernel K and NTK Θ of a deep MLP from one recursion, on X × X or X × Y.

    Parameters
    ----------
    act, X, C_W, C_b, lambda_W, lambda_b, depth
        As in :func:`ntk_recursion`; X is (P, n_0).
    Y : array_like (Q, n_0), optional
        Second input set: the cross-kernels :math:`K^{(\ell)}(x_\alpha, y_\beta)` and
        :math:`\Theta^{(\ell)}(x_\alpha, y_\beta)` (P, Q), without forming the (P + Q)² kernel
        of the stacked inputs. Default: Y = X.
    all_layers : bool
        Return the lists over ℓ = 1..depth instead of the last layer.

    Returns
    -------
    (K, Θ) : tuple of ndarray (P, Q)
        :math:`K^{(\mathrm{depth})}` and :math:`\Theta^{(\mathrm{depth})}`, or two lists
        ``[K^(1), …]``, ``[Θ^(1), …]`` if ``all_layers``. Equal (≤ 1e-14 relative) to
        ``kernel_recursion(...)[-1]`` and ``ntk_recursion(...)[-1]``, and to the X × Y block of
        them on the stacked inputs.

    Notes
    -----
    The recursions of :func:`kernel_recursion` and :func:`ntk_recursion`,

    .. math:: K^{(\ell+1)}_{\alpha\beta} = C_b + C_W\langle\sigma_\alpha\sigma_\beta
              \rangle_{K^{(\ell)}},\qquad
              \Theta^{(\ell+1)}_{\alpha\beta} = \lambda_b + \lambda_W\langle\sigma_\alpha
              \sigma_\beta\rangle_{K^{(\ell)}} + C_W\langle\sigma'_\alpha\sigma'_\beta
              \rangle_{K^{(\ell)}}\Theta^{(\ell)}_{\alpha\beta},

    share ⟨σσ⟩. An entry (α, β) of the next layer needs only the variances
    :math:`K_{\alpha\alpha}`, :math:`K_{\beta\beta}` (carried as two vectors for X × Y) and
    the entry itself. For relu, leaky relu and erf one compiled pass per layer computes ⟨σσ⟩
    and ⟨σ'σ'⟩ together (:mod:`fieldnn.kernels._pairs`), for GELU and Φ (``"gauss_cdf"``)
    one compiled loop runs all layers (≤ 1e-14 from the NumPy closed forms); other closed
    forms are evaluated on the whole block, and σ without one by quadrature.

    References
    ----------
    arXiv:2106.10165, eq. (4.118) and ch. 8 (the NTK forward equation); Jacot, Gabriel,
    Hongler, arXiv:1806.07572, Theorem 1.

    Examples
    --------
    >>> import numpy as np
    >>> K, T = kernel_and_ntk("linear", np.array([[1.0]]), np.array([[2.0]]), C_W=1.0,
    ...                       C_b=0.0, lambda_W=1.0, lambda_b=0.0, depth=3)
    >>> float(K[0, 0]), float(T[0, 0])  # deep linear net: K = x·y, Θ = ℓ x·y
    (2.0, 6.0)
    """
    act = _activation(act, smooth_moments=False)
    X = input_points(X)
    Y = None if Y is None else input_points(Y, "Y", d_in=X.shape[1])
    depth = positive_int(depth, "depth")
    cw = _per_layer(C_W, "C_W", depth)
    cb = _per_layer(C_b, "C_b", depth)
    lw = _per_layer(lambda_W, "lambda_W", depth)
    lb = _per_layer(lambda_b, "lambda_b", depth)
    if not isinstance(all_layers, bool):
        raise ArgumentTypeError("all_layers", f"must be True or False, got {all_layers!r}")
    Ks, Ts = _recursion(act, X, Y, cw, cb, lw, lb, depth, all_layers=all_layers)
    return (Ks, Ts) if all_layers else (Ks[0], Ts[0])


# --------------------------------------------------------------------------------------------
# V and K^{1}
# --------------------------------------------------------------------------------------------
def _leading_and_nlo(
    act: Activation,
    X: np.ndarray,
    cw: np.ndarray,
    cb: np.ndarray,
    widths: tuple[int, ...],
    *,
    nlo: bool,
    progress: bool = False,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """[K^(ℓ)], [V^(ℓ)], [K^{1}(ℓ)] for ℓ = 1..L (K^{1} list empty unless ``nlo``); with
    ``progress`` a tqdm bar over the L − 1 layer steps (on stderr)."""
    L = len(widths) - 1
    P = X.shape[0]
    K = _first_kernel(X, cw[0], cb[0])
    blame = _blame(X, K)
    if L > 1:
        check_positive_diagonal(K)
    V = np.zeros((P,) * 4)
    K1 = np.zeros((P, P))
    Ks, Vs, K1s = [K], [V], [K1] if nlo else []
    bar = None
    if progress:  # tqdm is imported only when asked for (cold first calls stay light)
        from tqdm.auto import tqdm

        bar = tqdm(total=L - 1, desc="four-point vertex, layers", leave=False)
    for layer in range(1, L):  # from layer ℓ = `layer` to ℓ + 1
        c2 = cw[layer] ** 2
        ratio = widths[layer] / widths[layer - 1]
        with np.errstate(over="ignore", invalid="ignore"):
            V_next = c2 * connected_four(act, K, _variance_blame(X, cw[0], cb[0], layer))
        if layer >= 2:
            D1, D3, second = pair_terms(act, K, V if nlo else None)
            with np.errstate(over="ignore"):
                V_next = V_next + c2 * ratio * propagate(D1, D3, V)
            if nlo:
                diag = np.diag(K1)
                first = D1 * diag[:, None] + D1.T * diag[None, :] + D3 * K1
                K1 = _sym(cw[layer] * ratio * (first + second))
                K1s.append(K1)
        elif nlo:
            K1s.append(np.zeros((P, P)))
        with np.errstate(over="ignore", invalid="ignore"):
            K = _next_kernel(act, K, cw[layer], cb[layer])
        _check_finite_kernel(K, layer + 1, blame=blame)
        _check_finite_kernel(V_next, layer + 1, "four-point vertex", blame=blame)
        V = V_next
        Ks.append(K)
        Vs.append(V)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return Ks, Vs, K1s


def four_point_vertex(
    act: ActivationLike,
    X: Any,
    *,
    C_W: PerLayer,
    C_b: PerLayer,
    widths: Sequence[int],
    all_layers: bool = False,
    progress: bool = False,
) -> np.ndarray | list[np.ndarray]:
    r"""Four-point vertex V^(L) at leading order in 1/n, shape (P, P, P, P).

    Parameters
    ----------
    act, X
        As in :func:`kernel_recursion` (not the normalised Gauss-net unit).
    C_W, C_b : float or sequence of L floats
        Per-layer variances, L = len(widths) − 1.
    widths : sequence of int
        [d_in, n_1, …, n_{L−1}, d_out]; only the ratios n_ℓ/n_{ℓ−1}, ℓ ≥ 2, enter.
    all_layers : bool
        Return the list [V^(1), …, V^(L)] instead (V^(1) = 0: the first layer is Gaussian).
    progress : bool
        Show a progress bar over the layers (tqdm, on stderr). Worth it for a σ on the
        quadrature path (no closed-form four-point moments: tanh, gelu, swish, user callables)
        at several inputs and many layers, which takes seconds to minutes
        (``docs/benchmarks.md``).

    Returns
    -------
    ndarray (P, P, P, P), or a list of them
        ``V[a, b, c, d]`` = :math:`V^{(L)}_{(\alpha_a\alpha_b)(\alpha_c\alpha_d)}`, normalised by
        :math:`\mathbb E[z_iz_jz_kz_l]_c = n_{L-1}^{-1}[\delta_{ij}\delta_{kl}V_{(12)(34)}
        + 2\text{ perms}]`; symmetric under a↔b, c↔d and (ab)↔(cd).

    Notes
    -----
    Conditionally on layer ℓ, :math:`z^{(\ell+1)}` is Gaussian with covariance
    :math:`\delta_{ij}\hat G^{(\ell+1)}`, :math:`\hat G^{(\ell+1)}_{\alpha\beta} = C_b +
    (C_W/n_\ell)\sum_j\sigma_{j\alpha}\sigma_{j\beta}`, so :math:`V^{(\ell+1)}/n_\ell =
    \mathrm{Cov}(\hat G_{\alpha_1\alpha_2}, \hat G_{\alpha_3\alpha_4})`. The same-neuron terms
    give the local part, the different-neuron terms (coupled through the fluctuation of
    :math:`\hat G^{(\ell)}`) the propagated part:

    .. math:: V^{(\ell+1)}_{(\alpha_1\alpha_2)(\alpha_3\alpha_4)} = C_W^2\big[
              \langle\sigma_{\alpha_1}\sigma_{\alpha_2}\sigma_{\alpha_3}\sigma_{\alpha_4}\rangle
              - \langle\sigma_{\alpha_1}\sigma_{\alpha_2}\rangle\langle\sigma_{\alpha_3}
              \sigma_{\alpha_4}\rangle\big]_{K^{(\ell)}}
              + \frac{n_\ell}{n_{\ell-1}}\, C_W^2 \sum_{\beta_1..\beta_4}
              \frac{\partial\langle\sigma_{\alpha_1}\sigma_{\alpha_2}\rangle}
              {\partial K_{\beta_1\beta_2}}
              \frac{\partial\langle\sigma_{\alpha_3}\sigma_{\alpha_4}\rangle}
              {\partial K_{\beta_3\beta_4}}
              V^{(\ell)}_{(\beta_1\beta_2)(\beta_3\beta_4)},

    :math:`\partial\langle F\rangle/\partial K_{\beta_1\beta_2} = \tfrac12\langle
    \partial_{\beta_1}\partial_{\beta_2}F\rangle` (so the second term is RYH's
    :math:`\tfrac{C_W^2}{4}\sum V\langle\partial^2\sigma\sigma\rangle\langle\partial^2
    \sigma\sigma\rangle`), evaluated with first derivatives of σ only (Stein's lemma, see
    :mod:`fieldnn.kernels._deep_gaussian`). For erf the product moments are one-dimensional
    Plackett integrals at any P (:mod:`fieldnn.kernels._erf_four`; D1 in closed form too), so
    depth 1000 at ten inputs takes well under a second; otherwise they come from
    :func:`~fieldnn.kernels.gaussian.product_moments` (lattice quadrature in rank ≤ 3) at
    P ≤ 3, and at P ≥ 4 from the lattice rule of :mod:`fieldnn.kernels._moment_lattice` (the
    nested rule with a measured error per axis at rank 4; the same moments as
    :func:`~fieldnn.kernels.ntk_fluctuations`, a RuntimeWarning when the measured accuracy is
    above 1e-6). For relu-type σ (relu, leaky relu, linear) they
    are exact at any P and rank: Stein's-lemma recursion to orthant probabilities, the
    four-variable one a Plackett integral (:mod:`fieldnn.kernels._relu_four`; blocks of K of
    rank ≤ 2 exactly by the circle average, nearly singular rank-3 blocks of four inputs lifted
    to correlation eigenvalue 1e-10, an O(1e-12) relative change). V^(1) = 0. ReLU, one input,
    C_W = 2, C_b = 0:
    V^(ℓ) = 5(ℓ − 1) K²; K* = 0 class at criticality: V^(ℓ)/(K^(ℓ))² → (2/3) ℓ.

    References
    ----------
    arXiv:2106.10165, ch. 4, eq. (4.90) (the recursion for the four-point vertex), and ch. 5
    (its depth dependence at criticality).

    Examples
    --------
    >>> import numpy as np
    >>> V = four_point_vertex("relu", np.array([[1.0]]), C_W=2.0, C_b=0.0, widths=[1, 50, 50, 1])
    >>> round(float(V[0, 0, 0, 0]), 10)  # 5 (L − 1) K², K = 2
    40.0
    """
    act = _activation(act, smooth_moments=True)
    X = input_points(X)
    w = _widths(widths, X.shape[1])
    L = len(w) - 1
    cw = _per_layer(C_W, "C_W", L)
    cb = _per_layer(C_b, "C_b", L)
    if not isinstance(progress, bool):
        raise ArgumentTypeError("progress", f"must be True or False, got {progress!r}")
    if act.piecewise_linear_slopes is None and act != get_activation("erf") and not act.normalised:
        warn_slow_vertex(act.name, X.shape[0], L)  # generic quadrature: say how long, up front
    _, Vs, _ = _leading_and_nlo(act, X, cw, cb, w, nlo=False, progress=progress)
    return Vs if all_layers else Vs[-1]


def nlo_kernel_correction(
    act: ActivationLike,
    X: Any,
    *,
    C_W: PerLayer,
    C_b: PerLayer,
    widths: Sequence[int],
    all_layers: bool = False,
) -> np.ndarray | list[np.ndarray]:
    r"""The 1/n correction K^{1}(L) to the two-point function, shape (P, P).

    Parameters
    ----------
    act, X, C_W, C_b, widths, all_layers
        As in :func:`four_point_vertex`.

    Returns
    -------
    ndarray (P, P), or the list [K^{1}(1), …, K^{1}(L)]
        Normalised by :math:`\mathbb E[z_{i\alpha}z_{j\beta}] = \delta_{ij}[K^{(L)}_{\alpha\beta}
        + K^{\{1\}(L)}_{\alpha\beta}/n_{L-1} + O(1/n^2)]` (the seed's :math:`G^{\{1\}}`).

    Notes
    -----
    Expanding :math:`\mathbb E\langle\sigma\sigma\rangle_{\hat G^{(\ell)}}` around
    :math:`K^{(\ell)}` to second order, with :math:`\mathbb E[\hat G - K] = K^{\{1\}}/n_{\ell-1}`
    and :math:`\mathrm{Cov}(\hat G, \hat G) = V/n_{\ell-1}`:

    .. math:: K^{\{1\}(\ell+1)}_{\alpha_1\alpha_2} = \frac{n_\ell}{n_{\ell-1}} C_W \Big[
              \sum_{\beta_1\beta_2}\frac{\partial\langle\sigma_{\alpha_1}\sigma_{\alpha_2}
              \rangle}{\partial K_{\beta_1\beta_2}} K^{\{1\}(\ell)}_{\beta_1\beta_2}
              + \frac18\sum_{\beta_1..\beta_4} V^{(\ell)}_{(\beta_1\beta_2)(\beta_3\beta_4)}
              \langle\partial_{\beta_1}\partial_{\beta_2}\partial_{\beta_3}\partial_{\beta_4}
              (\sigma_{\alpha_1}\sigma_{\alpha_2})\rangle_{K^{(\ell)}}\Big],

    K^{1}(1) = K^{1}(2) = 0; C_b does not enter. Single input:
    :math:`K^{\{1\}(\ell+1)} = (n_\ell/n_{\ell-1}) C_W [g'(K) K^{\{1\}} + \tfrac12 g''(K) V]`,
    so K^{1} = 0 for relu, leaky relu and linear nets (g linear).

    References
    ----------
    arXiv:2106.10165, ch. 4, sec. 4.5 (the NLO correction to the two-point function).

    Examples
    --------
    >>> import numpy as np
    >>> K1 = nlo_kernel_correction("relu", np.array([[1.0]]), C_W=2.0, C_b=0.0,
    ...                            widths=[1, 30, 30, 30, 1])
    >>> float(K1[0, 0])
    0.0
    """
    act = _activation(act, smooth_moments=True)
    X = input_points(X)
    w = _widths(widths, X.shape[1])
    L = len(w) - 1
    cw = _per_layer(C_W, "C_W", L)
    cb = _per_layer(C_b, "C_b", L)
    _, _, K1s = _leading_and_nlo(act, X, cw, cb, w, nlo=True)
    return K1s if all_layers else K1s[-1]


# --------------------------------------------------------------------------------------------
# exact finite-width moments (one input, positively homogeneous σ, C_b = 0)
# --------------------------------------------------------------------------------------------
def _sum_moments(unit_moments: list[float], n: int) -> list[float]:
    """Moments E[Y^k], k = 0..m, of a sum Y of n iid copies with moments unit_moments[k]."""
    m = len(unit_moments) - 1
    kappa = [0.0] * (m + 1)
    for k in range(1, m + 1):  # cumulants of one unit from its moments
        kappa[k] = unit_moments[k] - sum(
            math.comb(k - 1, j - 1) * kappa[j] * unit_moments[k - j] for j in range(1, k)
        )
    kappa = [n * c for c in kappa]  # cumulants add
    moments = [1.0] + [0.0] * m
    for k in range(1, m + 1):
        moments[k] = sum(
            math.comb(k - 1, j - 1) * kappa[j] * moments[k - j] for j in range(1, k + 1)
        )
    return moments


def exact_single_input_moment(
    x: Any,
    widths: Sequence[int],
    *,
    C_W: PerLayer,
    order: int = 4,
    activation: ActivationLike = "relu",
) -> float:
    r"""Exact finite-width moment E[z^order] of one output of a bias-free ReLU-type MLP.

    Parameters
    ----------
    x : array_like (d_in,)
        One input.
    widths : sequence of int
        [d_in, n_1, …, n_{L−1}, d_out]; every width finite.
    C_W : float or sequence of L floats
        Weight variances (all biases vanish: C_b = 0).
    order : int
        Moment order (odd orders vanish).
    activation : str or Activation
        A positively homogeneous piecewise-linear σ (relu, leaky relu, linear).

    Returns
    -------
    float

    Notes
    -----
    With C_b = 0 and σ(λz) = λσ(z) for λ > 0, conditionally on layer ℓ every neuron is
    :math:`z^{(\ell)}_j = \sqrt{\hat G^{(\ell)}}\,u_j` with u_j iid N(0, 1) independent of
    :math:`\hat G^{(\ell)}`, hence
    :math:`\hat G^{(\ell+1)} = \hat G^{(\ell)}\,(C_W^{(\ell+1)}/n_\ell)\,Y_\ell`,
    :math:`Y_\ell = \sum_{j\le n_\ell}\sigma(u_j)^2` independent of the past (for relu Y is a
    chi-square with a Binomial(n, 1/2) number of degrees of freedom). So

    .. math:: \mathbb E[z^{2k}] = (2k-1)!!\,\big(C_W^{(1)}|x|^2/n_0\big)^k
              \prod_{\ell=1}^{L-1}\Big(\frac{C_W^{(\ell+1)}}{n_\ell}\Big)^k \mathbb E[Y_\ell^k],

    E[Y^k] from the cumulants n κ_r of one unit, whose moments are
    :math:`\mathbb E\sigma(u)^{2r} = (2r-1)!!\,(s_+^{2r}+s_-^{2r})/2`. For relu,
    :math:`\mathbb E[z^4]_c = 3K^2[\prod_\ell (1 + 5/n_\ell) - 1] = 3(5(L-1)/n)K^2 + O(1/n^2)`
    (equal widths): the leading-order V/K² = 5(L − 1).

    References
    ----------
    arXiv:2106.10165, ch. 4 and 5 (the ReLU single-input recursions); derivation in
    ``docs/eft.md``.

    Examples
    --------
    >>> round(exact_single_input_moment([1.0], [1, 10, 1], C_W=2.0, order=4), 12)  # 3·4·(1+5/10)
    18.0
    """
    act = get_activation(activation)
    slopes = act.piecewise_linear_slopes
    if slopes is None:
        raise UnsupportedError(
            "activation", f"exact moments need a positively homogeneous σ, got {act.name!r}"
        )
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ArgumentError("x", "must be one finite input vector")
    w = _widths(widths, x.size)
    L = len(w) - 1
    cw = _per_layer(C_W, "C_W", L)
    order = positive_int(order, "order", minimum=0)
    if order % 2:
        return 0.0
    k = order // 2
    s_neg, s_pos = slopes
    unit = [
        math.prod(range(2 * r - 1, 0, -2)) * (s_pos ** (2 * r) + s_neg ** (2 * r)) / 2.0
        for r in range(k + 1)
    ]
    unit[0] = 1.0
    value = math.prod(range(2 * k - 1, 0, -2)) * (cw[0] * float(x @ x) / w[0]) ** k
    for layer in range(1, L):
        n = w[layer]
        value *= (cw[layer] / n) ** k * _sum_moments(unit, n)[k]
    return float(value)
