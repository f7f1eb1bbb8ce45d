r"""Network architectures: one object samples finite networks and knows their kernels.

* :class:`SingleLayerNet` — the seed-001 nets (Erf-, ReLU-, Gauss-net and any registry or user
  activation), :math:`f(x) = W_1\sigma(W_0 x + b_0) + b_1`.
* :class:`MLP` — the seed-000 deep networks of Roberts–Yaida–Hanin.

Sampling is batched (all networks of a block at once, no Python loop per network) and runs in any
array-API namespace (NumPy by default, CuPy, ``array_api_strict``); see
:mod:`fieldnn.ensembles._forward` for the exact rank reduction it uses.

References
----------
J. Halverson, A. Maiti, K. Stoner, "Neural Networks and Quantum Field Theory",
arXiv:2008.08601, Sec. 2 (seed 001: architectures, eq. (2.1) and Sec. 2.3).
D. A. Roberts, S. Yaida, B. Hanin, "The Principles of Deep Learning Theory",
arXiv:2106.10165, eqs. (2.5), (2.19), (4.1) (seed 000: MLP and its initialisation).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from array_api_compat import array_namespace
from scipy.special import ndtr

from .._validate import (
    MAX_WIDTH,
    finite_float,
    input_points,
    nonnegative_float,
    positive_int,
)
from ..errors import ArgumentError, ArgumentTypeError, UnsupportedError
from ..kernels.activations import Activation, get_activation
from ..kernels.gp import variance_argument
from ._forward import ForwardPlan, Layer, default_threads, first_layer_factor

__all__ = ["MLP", "SingleLayerNet"]


def _namespace_and_dtype(xp: Any, dtype: Any) -> tuple[Any, Any]:
    """Resolve the array-API namespace (NumPy by default) and the float dtype (float64)."""
    if xp is None:
        xp = np
    try:
        xp = array_namespace(xp.zeros(0))
    except (AttributeError, TypeError) as exc:
        raise ArgumentTypeError("xp", f"must be an array-API namespace module ({exc})") from None
    if dtype is None:
        return xp, xp.float64
    if dtype not in (xp.float64, xp.float32):
        raise ArgumentError("dtype", f"must be float64 (default) or float32 of {xp.__name__}")
    return xp, dtype


def _check_sampling_args(n: Any, rng: Any, threads: Any) -> tuple[int, int]:
    n = positive_int(n, "n")
    if not isinstance(rng, np.random.Generator):
        raise ArgumentTypeError("rng", f"must be a numpy.random.Generator, got {type(rng)}")
    threads = default_threads() if threads is None else positive_int(threads, "threads")
    return n, threads


class SingleLayerNet:
    r"""Single-hidden-layer network of seed 001, :math:`f(x) = W_1\sigma(W_0 x + b_0) + b_1`.

    .. math:: W_0 \sim \mathcal N(\mu_W, \sigma_W^2/d_{in}),\quad
              W_1 \sim \mathcal N(\mu_W, \sigma_W^2/N),\quad
              b_0, b_1 \sim \mathcal N(\mu_b, \sigma_b^2).

    The Gauss-net unit is :math:`\exp(z)/\exp(q(x))` with the pre-activation variance
    :math:`q(x) = \sigma_b^2 + \sigma_W^2 |x|^2/d_{in}` (general σ_W, σ_b, d_in).

    Parameters
    ----------
    activation : str, Activation or callable
        A name of :data:`fieldnn.kernels.KNOWN_ACTIVATIONS`, an Activation, or a callable.
    width : int
        Hidden width N >= 1.
    d_in, d_out : int
        Input dimension and number of outputs (readout rows are independent species).
    sigma_w2, sigma_b2 : float
        Weight and bias variances σ_W², σ_b² >= 0.
    mu_w, mu_b : float
        Means of weights and biases (seed 001, eq. (2.1)); used by the sampler. The kernel and
        the exact correlators are for zero means and raise :class:`~fieldnn.errors.UnsupportedError`
        otherwise.

    Notes
    -----
    At infinite width the outputs form a Gaussian process with kernel

    .. math::

        K(x, x') = \sigma_b^2 + \sigma_W^2\langle\sigma(z)\sigma(z')\rangle_C,\qquad
        C(x, x') = \sigma_b^2 + \sigma_W^2\,\frac{x\cdot x'}{d_{in}},

    and at finite width every connected correlator of order n ≥ 4 is N times a single-unit
    cumulant scaled by :math:`(\sigma_W^2/N)^{n/2}` (:meth:`exact_connected`). Conventions:
    docs/conventions.md, section 1.

    References
    ----------
    J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, eq. (2.1) and Sec. 3.

    Examples
    --------
    >>> net = SingleLayerNet("erf", width=100)
    >>> net.sample_batch([[0.5], [1.0]], 3, np.random.default_rng(0)).shape
    (3, 2, 1)

    The Gauss-net kernel is :math:`\sigma_b^2 + \sigma_W^2 e^{-\sigma_W^2|x-x'|^2/(2d_{in})}`:

    >>> gauss = SingleLayerNet("gauss", width=10, sigma_w2=1.0, sigma_b2=1.0)
    >>> X = np.array([[0.0], [1.0]])
    >>> bool(np.allclose(gauss.kernel(X), 1 + np.exp(-((X - X.T) ** 2) / 2)))
    True
    """

    def __init__(
        self,
        activation: str | Activation | Any,
        width: int,
        d_in: int = 1,
        sigma_w2: float = 1.0,
        sigma_b2: float = 1.0,
        d_out: int = 1,
        mu_w: float = 0.0,
        mu_b: float = 0.0,
    ) -> None:
        self.activation = get_activation(activation)
        self.width = positive_int(width, "width", maximum=MAX_WIDTH)
        self.d_in = positive_int(d_in, "d_in")
        self.d_out = positive_int(d_out, "d_out")
        self.sigma_w2 = nonnegative_float(sigma_w2, "sigma_w2")
        self.sigma_b2 = nonnegative_float(sigma_b2, "sigma_b2")
        self.mu_w = finite_float(mu_w, "mu_w")
        self.mu_b = finite_float(mu_b, "mu_b")

    def __repr__(self) -> str:
        return (
            f"SingleLayerNet({self.activation.name!r}, width={self.width}, d_in={self.d_in}, "
            f"sigma_w2={self.sigma_w2}, sigma_b2={self.sigma_b2}, d_out={self.d_out}, "
            f"mu_w={self.mu_w}, mu_b={self.mu_b})"
        )

    def fingerprint(self) -> dict[str, Any]:
        """JSON-able description of every parameter (provenance and checkpoint identity)."""
        return {
            "architecture": "SingleLayerNet",
            "activation": self.activation.name,
            "activation_parameters": list(self.activation.parameters),
            "width": self.width,
            "d_in": self.d_in,
            "d_out": self.d_out,
            "sigma_w2": self.sigma_w2,
            "sigma_b2": self.sigma_b2,
            "mu_w": self.mu_w,
            "mu_b": self.mu_b,
        }

    def _require_zero_means(self, what: str) -> None:
        for name, value in (("mu_w", self.mu_w), ("mu_b", self.mu_b)):
            if value != 0.0:
                raise UnsupportedError(
                    name,
                    f"{what} is derived for zero-mean weights and biases, got {name}={value}; "
                    "use the sampler (estimate_correlators) for nonzero means",
                )

    def kernel(self, X: Any, Y: Any = None) -> np.ndarray:
        r"""GP kernel :math:`K(x,x') = \sigma_b^2 + \sigma_W^2\langle\sigma(z)\sigma(z')\rangle_C`.

        Parameters
        ----------
        X : array_like (P, d_in); Y : array_like (Q, d_in), optional (default X)

        Returns
        -------
        ndarray (P, Q)
        """
        from ..kernels.gp import single_layer_kernel

        self._require_zero_means("the GP kernel")
        X = input_points(X, "X", d_in=self.d_in)
        Y = None if Y is None else input_points(Y, "Y", d_in=self.d_in)
        return single_layer_kernel(
            self.activation, X, Y, sigma_w2=self.sigma_w2, sigma_b2=self.sigma_b2
        )

    def exact_full(self, X: Any, order: int) -> np.ndarray:
        """Exact finite-width full correlator, shape (P,)*order (+ (d_out,)*order if d_out > 1).

        Delegates to :func:`fieldnn.ensembles.exact.exact_full` (zero means only).
        """
        from .exact import exact_full

        self._require_zero_means("the exact correlator")
        X = input_points(X, "X", d_in=self.d_in)
        return exact_full(
            self.activation,
            X,
            order,
            width=self.width,
            sigma_w2=self.sigma_w2,
            sigma_b2=self.sigma_b2,
            d_out=self.d_out,
        )

    def exact_connected(self, X: Any, order: int) -> np.ndarray:
        """Exact finite-width connected correlator (N × single-unit cumulant for order >= 4).

        Delegates to :func:`fieldnn.ensembles.exact.exact_connected` (zero means only).
        """
        from .exact import exact_connected

        self._require_zero_means("the exact correlator")
        X = input_points(X, "X", d_in=self.d_in)
        return exact_connected(
            self.activation,
            X,
            order,
            width=self.width,
            sigma_w2=self.sigma_w2,
            sigma_b2=self.sigma_b2,
            d_out=self.d_out,
        )

    def exact_density(self, X: Any, f: Any, *, log: bool = False) -> np.ndarray:
        """Exact density p(f) (M,) of the output at one input X (1, d_in), finite width.

        f has shape (M,) or (M, 1); delegates to :func:`fieldnn.effective.exact_density`.
        """
        from ..effective._density import exact_density

        return exact_density(self, X, f, log=log)

    def forward_plan(self, X: np.ndarray) -> ForwardPlan:
        """The layer stack of this net at checked inputs X (P, d_in) (used by the sampler)."""
        hidden = Layer(self.d_in, self.width, self.sigma_w2, self.sigma_b2, self.mu_w, self.mu_b)
        readout = Layer(self.width, self.d_out, self.sigma_w2, self.sigma_b2, self.mu_w, self.mu_b)
        check_sampling_scale(
            X, hidden, ("sigma_w2", "sigma_b2"), normalised=self.activation.normalised
        )
        _, _, q = first_layer_factor(X, hidden)
        return ForwardPlan(self.activation, X, [hidden, readout], [q])

    def sample_batch(
        self,
        X: Any,
        n: int,
        rng: np.random.Generator,
        *,
        xp: Any = None,
        dtype: Any = None,
        threads: int | None = None,
    ) -> Any:
        """Outputs of ``n`` independently drawn networks at the inputs X.

        Parameters
        ----------
        X : array_like (P, d_in)
            Inputs (finite; checked).
        n : int
            Number of networks.
        rng : numpy.random.Generator
            Source of all randomness (draws happen on the host, in a fixed order).
        xp : module, optional
            Array-API namespace of the result and the arithmetic (NumPy by default).
        dtype : optional
            ``xp.float64`` (default) or ``xp.float32``.
        threads : int, optional
            Threads for the arithmetic (NumPy only); the result does not depend on it.
            Default: the available CPUs (capped by ``OMP_NUM_THREADS``, at most 8).

        Returns
        -------
        array (n, P, d_out)
        """
        X = input_points(X, "X", d_in=self.d_in)
        n, threads = _check_sampling_args(n, rng, threads)
        xp, dtype = _namespace_and_dtype(xp, dtype)
        return self.forward_plan(X).sample(rng, n, xp, dtype, threads)


def _per_layer(value: Any, argument: str, depth: int) -> tuple[float, ...]:
    """A scalar or a sequence of length ``depth`` of variances >= 0, as a tuple."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return (nonnegative_float(value, argument),) * depth
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise ArgumentTypeError(argument, f"must be a number or a sequence of {depth} numbers")
    values = list(value)
    if len(values) != depth:
        raise ArgumentError(
            argument, f"must have one entry per layer (L = {depth}), got {len(values)}"
        )
    return tuple(nonnegative_float(v, f"{argument}[{i}]") for i, v in enumerate(values))


_SAMPLING_SCALE = 1e150  # products of two first-layer pre-activations stay finite in float64
_GAUSS_REACH = 1e-12  # least probability per network of the region that carries E[σ²]


def check_sampling_scale(
    X: np.ndarray, layer: Layer, variances: tuple[str, str], *, normalised: bool = False
) -> None:
    """Refuse, naming the largest contribution, first-layer pre-activations of scale
    ``|mean|`` + 10 √q beyond 1e150 (mean μ_b + μ_W Σ_i x_i, variance q = C_b + C_W
    ``|x|²``/d_in): the sampled outputs and their power sums would overflow float64 to inf or
    NaN. ``variances`` names the weight and bias variance arguments (σ_W², σ_b² or C_W, C_b).

    For the Gauss-net unit e^{z − q} (``normalised``) also every q with Φ(−2√q) < 1e-12
    (q > 12.4): its second moment E[e^{2(z − q)}] = 1 comes from z ≈ 2q, 2√q standard
    deviations out, which an ensemble of fewer than 1/Φ(−2√q) > 10¹² networks does not reach
    (a sample then gives ≈ σ_b² for the 2-point function instead of σ_b² + σ_W²; higher orders
    lie further out)."""
    if normalised:
        with np.errstate(over="ignore", invalid="ignore"):
            q_max = float(np.max(first_layer_factor(X, layer)[2]))
        reach = float(ndtr(-2.0 * np.sqrt(q_max))) if np.isfinite(q_max) else 0.0
        if reach < _GAUSS_REACH:
            blamed = variance_argument(X, layer.c_w, layer.c_b)
            raise ArgumentError(
                {"sigma_w2": variances[0], "sigma_b2": variances[1]}.get(blamed, blamed),
                f"the Gauss-net unit at pre-activation variance q = {q_max:.3g} cannot be "
                f"sampled: E[σ²] comes from z ≈ 2q, {2.0 * np.sqrt(q_max):.3g} standard "
                f"deviations out (probability {reach:.1e} per network); use exact_connected",
            )
    with np.errstate(over="ignore", invalid="ignore"):
        _, mean, q = first_layer_factor(X, layer)
        sums = float(np.max(np.abs(X.sum(axis=1))))
        parts = {
            "mean_b": abs(layer.mu_b),
            "mean_w": abs(layer.mu_w) * sums,
            "variance": 10.0 * float(np.sqrt(np.max(q))),
        }
        scale = float(np.max(np.abs(mean))) + parts["variance"]
    if np.isfinite(scale) and scale <= _SAMPLING_SCALE:
        return
    largest = max(parts, key=lambda key: parts[key])
    if largest == "mean_b":
        argument = "mu_b"
    elif largest == "mean_w":
        argument = "mu_w" if abs(layer.mu_w) >= sums else "X"
    else:
        blamed = variance_argument(X, layer.c_w, layer.c_b)
        argument = {"sigma_w2": variances[0], "sigma_b2": variances[1]}.get(blamed, blamed)
    raise ArgumentError(
        argument,
        f"the first-layer pre-activations reach {scale:.1e} (|mean| + 10 standard deviations), "
        f"beyond {_SAMPLING_SCALE:.0e}: sampled outputs would overflow float64; rescale",
    )


class MLP:
    r"""Deep fully connected network of seed 000 (Roberts–Yaida–Hanin).

    .. math:: z^{(1)} = b^{(1)} + W^{(1)} x,\qquad
              z^{(\ell+1)} = b^{(\ell+1)} + W^{(\ell+1)}\sigma(z^{(\ell)}),\qquad
              W^{(\ell)} \sim \mathcal N(0, C_W^{(\ell)}/n_{\ell-1}),\
              b^{(\ell)} \sim \mathcal N(0, C_b^{(\ell)}),

    output :math:`f = z^{(L)}` (no activation on the last layer).

    Parameters
    ----------
    activation : str, Activation or callable
    widths : sequence of int
        ``[d_in, n_1, …, n_{L-1}, d_out]``; L = len(widths) − 1 >= 1 layers.
    C_W, C_b : float or sequence of L floats
        Weight and bias variances, per layer if a sequence.

    Notes
    -----
    A normalised activation (the Gauss-net unit) at layer ℓ is divided by exp of the layer's
    infinite-width pre-activation variance :math:`K^{(\ell)}(x, x)` (exact for ℓ = 1).

    Examples
    --------
    >>> mlp = MLP("tanh", widths=[2, 50, 50, 1], C_W=1.5, C_b=0.1)
    >>> mlp.sample_batch([[0.1, 0.2]], 4, np.random.default_rng(1)).shape
    (4, 1, 1)
    """

    def __init__(
        self,
        activation: str | Activation | Any,
        widths: Sequence[int],
        C_W: float | Sequence[float] = 1.0,
        C_b: float | Sequence[float] = 0.0,
    ) -> None:
        self.activation = get_activation(activation)
        if isinstance(widths, str) or not isinstance(widths, Sequence | np.ndarray):
            raise ArgumentTypeError("widths", "must be a sequence [d_in, n_1, ..., d_out]")
        widths = list(widths)
        if len(widths) < 2:
            raise ArgumentError("widths", f"needs at least [d_in, d_out], got {widths}")
        self.widths = tuple(
            positive_int(w, f"widths[{i}]", maximum=MAX_WIDTH) for i, w in enumerate(widths)
        )
        self.depth = len(self.widths) - 1
        self.C_W = _per_layer(C_W, "C_W", self.depth)
        self.C_b = _per_layer(C_b, "C_b", self.depth)

    @property
    def d_in(self) -> int:
        """Input dimension widths[0]."""
        return self.widths[0]

    @property
    def d_out(self) -> int:
        """Number of outputs widths[-1]."""
        return self.widths[-1]

    def __repr__(self) -> str:
        return (
            f"MLP({self.activation.name!r}, widths={list(self.widths)}, "
            f"C_W={list(self.C_W)}, C_b={list(self.C_b)})"
        )

    def fingerprint(self) -> dict[str, Any]:
        """JSON-able description of every parameter (provenance and checkpoint identity)."""
        return {
            "architecture": "MLP",
            "activation": self.activation.name,
            "activation_parameters": list(self.activation.parameters),
            "widths": list(self.widths),
            "C_W": list(self.C_W),
            "C_b": list(self.C_b),
        }

    def _layer(self, layer: int | None) -> int:
        if layer is None:
            return self.depth
        layer = positive_int(layer, "layer")
        if layer > self.depth:
            raise ArgumentError("layer", f"must be between 1 and L = {self.depth}, got {layer}")
        return layer

    def kernel(self, X: Any, layer: int | None = None) -> np.ndarray:
        r"""Infinite-width kernel :math:`K^{(\ell)}` (P, P) of layer ``layer`` (default: output).

        Parameters
        ----------
        X : array_like (P, d_in)
            Inputs.
        layer : int, optional
            1 ≤ ``layer`` ≤ L (default L, the output layer).

        Returns
        -------
        ndarray (P, P)

        Notes
        -----
        .. math::

            K^{(1)}_{ab} = C_b + C_W\,\frac{x_a\cdot x_b}{n_0},\qquad
            K^{(\ell+1)} = C_b + C_W \langle\sigma(z_a)\sigma(z_b)\rangle_{K^{(\ell)}},

        with the per-layer :math:`C_W, C_b` of this net (docs/conventions.md, section 1);
        delegates to :func:`fieldnn.kernels.deep.kernel_recursion`.

        References
        ----------
        Roberts, Yaida, Hanin, arXiv:2106.10165, eq. (4.118).

        Examples
        --------
        ReLU at its critical point :math:`(C_b, C_W) = (0, 2)`: ⟨relu(z)relu(z')⟩ = k₁₂/2 for
        perfectly correlated inputs, so the kernel is the same at every depth:

        >>> mlp = MLP("relu", widths=[1, 64, 64, 1], C_W=2.0, C_b=0.0)
        >>> mlp.kernel([[1.0], [2.0]])
        array([[2., 4.],
               [4., 8.]])
        """
        from ..kernels.deep import kernel_recursion

        X = input_points(X, "X", d_in=self.d_in)
        depth = self._layer(layer)
        Ks = kernel_recursion(
            self.activation,
            X,
            C_W=list(self.C_W[:depth]),
            C_b=list(self.C_b[:depth]),
            depth=depth,
        )
        return Ks[-1]

    def ntk(
        self,
        X: Any,
        lambda_W: float | Sequence[float] | None = None,
        lambda_b: float | Sequence[float] | None = None,
        layer: int | None = None,
    ) -> np.ndarray:
        r"""Infinite-width NTK :math:`\Theta^{(\ell)}` (P, P); learning-rate factors default to 1.

        Delegates to :func:`fieldnn.kernels.deep.ntk_recursion` (RYH eq. (8.12)).
        """
        from ..kernels.deep import ntk_recursion

        X = input_points(X, "X", d_in=self.d_in)
        depth = self._layer(layer)
        lw = _per_layer(1.0 if lambda_W is None else lambda_W, "lambda_W", self.depth)
        lb = _per_layer(1.0 if lambda_b is None else lambda_b, "lambda_b", self.depth)
        Ts = ntk_recursion(
            self.activation,
            X,
            C_W=list(self.C_W[:depth]),
            C_b=list(self.C_b[:depth]),
            lambda_W=list(lw[:depth]),
            lambda_b=list(lb[:depth]),
            depth=depth,
        )
        return Ts[-1]

    def four_point_vertex(self, X: Any, *, progress: bool = False) -> np.ndarray:
        """Leading-order four-point vertex V^(L) (P, P, P, P); → kernels.deep.four_point_vertex
        (``progress``: a progress bar over the layers)."""
        from ..kernels.deep import four_point_vertex

        X = input_points(X, "X", d_in=self.d_in)
        return four_point_vertex(
            self.activation,
            X,
            C_W=list(self.C_W),
            C_b=list(self.C_b),
            widths=list(self.widths),
            progress=progress,
        )

    def forward_plan(self, X: np.ndarray) -> ForwardPlan:
        """The layer stack of this net at checked inputs X (P, d_in) (used by the sampler)."""
        layers = [
            Layer(self.widths[k], self.widths[k + 1], self.C_W[k], self.C_b[k])
            for k in range(self.depth)
        ]
        check_sampling_scale(X, layers[0], ("C_W", "C_b"), normalised=self.activation.normalised)
        _, _, q1 = first_layer_factor(X, layers[0])
        variances = [q1]
        if self.depth > 2:
            if self.activation.normalised:
                variances += [np.diag(self.kernel(X, layer=k)) for k in range(2, self.depth)]
            else:  # ignored by the activation
                variances += [q1] * (self.depth - 2)
        return ForwardPlan(self.activation, X, layers, variances[: self.depth - 1])

    def sample_batch(
        self,
        X: Any,
        n: int,
        rng: np.random.Generator,
        *,
        xp: Any = None,
        dtype: Any = None,
        threads: int | None = None,
    ) -> Any:
        """Outputs (n, P, d_out) of ``n`` independently drawn networks; see
        :meth:`SingleLayerNet.sample_batch` for the arguments."""
        X = input_points(X, "X", d_in=self.d_in)
        n, threads = _check_sampling_args(n, rng, threads)
        xp, dtype = _namespace_and_dtype(xp, dtype)
        return self.forward_plan(X).sample(rng, n, xp, dtype, threads)
