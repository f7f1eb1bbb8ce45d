r"""The empirical neural tangent kernel of sampled finite-width MLPs (public entry point over the
hand-written backpropagation of ``_network``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import positive_int
from ._network import MLPSpec, as_generator, init_parameters
from ._network import empirical_ntk as _batched_ntk

__all__ = ["empirical_ntk"]

_DEFAULT_CHUNK_ENTRIES = 2**22  # weight entries drawn per chunk (32 MiB of float64)


def empirical_ntk(
    mlp: Any,
    X: Any,
    n_nets: int = 1,
    *,
    lambda_W: Any = 1.0,
    lambda_b: Any = 1.0,
    rng: Any = 0,
    chunk_size: int | None = None,
) -> np.ndarray:
    r"""Empirical NTK of ``n_nets`` networks drawn from the initialisation of ``mlp``.

    Parameters
    ----------
    mlp : fieldnn.MLP
        Architecture: widths ``[d_in, n_1, …, n_{L−1}, d_out]``, per-layer C_W, C_b and an
        unnormalised activation (not the Gauss-net unit).
    X : array_like (P, d_in)
        Inputs.
    n_nets : int
        Networks drawn (float64), each with its own parameters.
    lambda_W, lambda_b : float or sequence of L floats
        Learning-rate tensor, as in :func:`fieldnn.kernels.deep.ntk_recursion` and
        :meth:`fieldnn.MLP.ntk` (default 1).
    rng : int, numpy.random.SeedSequence or numpy.random.Generator
        A Generator is used (and advanced) as is; anything else seeds a new one.
    chunk_size : int, optional
        Networks drawn per batch (memory bound); default: as many as keep one batch of weights
        below 2²² entries per layer. The draws are, layer by layer, W^(1), b^(1), W^(2), … for
        each chunk in turn, so the result depends on ``chunk_size``.

    Returns
    -------
    ndarray
        :math:`\hat H` of each network, shape (n_nets, P, P) when d_out = 1 and
        (n_nets, P, P, d_out, d_out) otherwise (input indices first, then the output neurons,
        ``docs/conventions.md``).

    Notes
    -----
    With the learning-rate tensor :math:`\lambda_{b^{(\ell)}_i b^{(\ell)}_j} =
    \delta_{ij}\lambda_b^{(\ell)}`, :math:`\lambda_{W^{(\ell)}_{ik} W^{(\ell)}_{jm}} =
    \delta_{ij}\delta_{km}\lambda_W^{(\ell)}/n_{\ell-1}`,

    .. math::

        \hat H_{\alpha\beta;ij} = \sum_{\ell=1}^{L}\Big(\lambda_b^{(\ell)}
            \sum_u \frac{\partial z^{(L)}_{i\alpha}}{\partial b^{(\ell)}_u}
                   \frac{\partial z^{(L)}_{j\beta}}{\partial b^{(\ell)}_u}
            + \frac{\lambda_W^{(\ell)}}{n_{\ell-1}} \sum_{u,k}
                   \frac{\partial z^{(L)}_{i\alpha}}{\partial W^{(\ell)}_{uk}}
                   \frac{\partial z^{(L)}_{j\beta}}{\partial W^{(\ell)}_{uk}}\Big),

    computed per network by backpropagation (no finite differences). Its ensemble mean is
    :math:`\delta_{ij}\Theta^{(L)}_{\alpha\beta} + O(1/n)`, Θ from the forward equation
    (:meth:`fieldnn.MLP.ntk`); gradient descent moves the outputs by :math:`-\eta\hat H
    \varepsilon` to first order in the step η.

    References
    ----------
    Seed 000, slide "Forward equation for the NTK"; Roberts, Yaida, Hanin, arXiv:2106.10165,
    ch. 7 (the NTK and the learning-rate tensor) and eq. (8.12) (its forward equation).

    Examples
    --------
    >>> import fieldnn as fnn
    >>> from fieldnn.inference import empirical_ntk
    >>> mlp = fnn.MLP("tanh", [1, 32, 32, 1], C_W=1.0, C_b=0.0)
    >>> empirical_ntk(mlp, [[0.5], [-1.0]], n_nets=4, rng=0).shape
    (4, 2, 2)
    """
    spec = MLPSpec.of(mlp)
    XA = spec.inputs(X, "X")
    n_nets = positive_int(n_nets, "n_nets")
    if chunk_size is None:
        largest = max(a * b for a, b in zip(spec.widths[:-1], spec.widths[1:], strict=True))
        chunk_size = max(1, _DEFAULT_CHUNK_ENTRIES // largest)
    chunk_size = positive_int(chunk_size, "chunk_size")
    lb, lw = spec.learning_rates(lambda_b, lambda_W)
    gen = as_generator(rng)
    H = np.concatenate(
        [
            _batched_ntk(spec, init_parameters(spec, min(chunk_size, n_nets - s), gen), XA, lb, lw)
            for s in range(0, n_nets, chunk_size)
        ]
    )  # (R, d_out, P, d_out, P)
    if spec.widths[-1] == 1:
        return H[:, 0, :, 0, :]
    return H.transpose(0, 2, 4, 1, 3)
