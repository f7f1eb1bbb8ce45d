r"""Bayesian inference at finite width by exact importance weighting of sampled networks.

Given the last hidden layer :math:`h = \sigma(z^{(L-1)})` of one network, its d_out outputs are
independent Gaussian vectors over the inputs with covariance (the last layer is linear)

.. math::

    \hat G_{\alpha\beta} = C_b^{(L)} + \frac{C_W^{(L)}}{n_{L-1}}\sum_{j} h_{j\alpha}h_{j\beta}.

So the likelihood of observed outputs :math:`y_A` given the hidden layer is known exactly,
:math:`w = \prod_i \mathcal N(y_{iA}; 0, \hat G_{AA})`, and conditioning the prior ensemble on
:math:`y_A` is an importance-weighted average over networks sampled from the prior:
:math:`E[O\mid y_A] = E[w\,O]/E[w]` for any function O of the hidden layer. No rejection, no
binning: the conditioning is on the exact observed values. The hidden layers come from
:meth:`fieldnn.MLP.sample_batch` of the truncated network ``widths[:-1]``.

Two statements of seed 000 (slides "Lack of representation learning", "Bayesian learning at
finite width") are measured with it:

* the single-datapoint conditional :math:`\langle\phi_2^2\mid\check\phi_1\rangle =
  E[\hat G\mid\check\phi_1]`, against :math:`G + \tfrac12(\check\phi_1^2 - G)V/(nG^2)`
  (:func:`fieldnn.symbolic.matching.conditional_second_moment`);
* the posterior shift of the hidden-layer kernel
  :math:`\hat K^{(L-1)}_{\delta\delta'} = n_{L-1}^{-1}\sum_j z_{j\delta}z_{j\delta'}`, which
  vanishes at infinite width (no representation learning) and is O(1/n) at finite width.

Standard errors are those of the self-normalised importance estimator (delta method); the
effective sample size :math:`(\sum w)^2/\sum w^2` is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .._validate import input_points, positive_int
from ..errors import ArgumentError, ShapeError, UnsupportedError
from ..symbolic.matching import conditional_second_moment
from ._linalg import train_test_inputs
from ._network import as_generator

__all__ = [
    "ConditionalSecondMoment",
    "HiddenKernelPosterior",
    "SampledPosterior",
    "conditional_second_moment_sampled",
    "hidden_kernel_posterior",
    "sampled_posterior",
]


def _sampling_arguments(
    n_samples: Any, chunk_size: Any, rng: Any
) -> tuple[int, int, np.random.Generator]:
    """Checked ``n_samples`` (>= 2), ``chunk_size`` and the generator of the importance-weighted
    entry points."""
    return (
        positive_int(n_samples, "n_samples", minimum=2),
        positive_int(chunk_size, "chunk_size"),
        as_generator(rng),
    )


def hidden_layer(mlp: Any, layer: Any) -> int:
    """The hidden layer ℓ (1 <= ℓ <= L − 1) of ``mlp`` named by ``layer``; None: the last, L − 1.
    Raises naming ``mlp`` for a net without hidden layer or a normalised activation."""
    if len(mlp.widths) < 3:
        raise UnsupportedError("mlp", "needs at least one hidden layer (len(widths) >= 3)")
    if getattr(mlp.activation, "normalised", False):
        raise UnsupportedError("mlp", "normalised (Gauss-net) activations are not supported here")
    last = len(mlp.widths) - 2
    return last if layer is None else positive_int(layer, "layer", maximum=last)


def _hidden_samples(
    mlp: Any,
    X: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    chunk_size: int,
    layer: int | None = None,
) -> Any:
    """Yield chunks of hidden pre-activations z^(ℓ), each (b, P, n_ℓ); ℓ = ``layer``, by default
    the last hidden layer L − 1."""
    layer = hidden_layer(mlp, layer)
    trunk = type(mlp)(
        mlp.activation,
        list(mlp.widths[: layer + 1]),
        C_W=list(mlp.C_W[:layer]),
        C_b=list(mlp.C_b[:layer]),
    )
    done = 0
    while done < n_samples:
        b = min(chunk_size, n_samples - done)
        yield np.asarray(trunk.sample_batch(X, b, rng), dtype=np.float64)
        done += b


def _propagate(mlp: Any, z: np.ndarray, layer: int, rng: np.random.Generator) -> np.ndarray:
    """Pre-activations of the last hidden layer (b, P, n_{L−1}) drawn given those of hidden layer
    ``layer`` (b, P, n_ℓ): given layer m, the n_{m+1} units of layer m + 1 are iid
    N(0, Ĝ^(m+1)), Ĝ^(m+1) = C_b^(m+1) + (C_W^(m+1)/n_m) σ(z^(m))σ(z^(m))ᵀ."""
    for m in range(layer, len(mlp.widths) - 2):
        G = _layer_covariance(mlp, z, m)
        lam, U = np.linalg.eigh(G)
        root = U * np.sqrt(np.clip(lam, 0.0, None))[:, None, :]
        z = root @ rng.standard_normal((z.shape[0], z.shape[1], int(mlp.widths[m + 1])))
    return z


def _layer_covariance(mlp: Any, z: np.ndarray, m: int) -> np.ndarray:
    """Ĝ^(m+1) (b, P, P): the covariance of layer m + 1 given layer m's pre-activations z
    (b, P, n_m)."""
    h = mlp.activation(z)
    return mlp.C_b[m] + mlp.C_W[m] / z.shape[-1] * np.matmul(h, np.swapaxes(h, 1, 2))


def _readout_covariance(mlp: Any, z: np.ndarray) -> np.ndarray:
    """Ĝ (b, P, P) of the output layer given the last hidden pre-activations z (b, P, n)."""
    return _layer_covariance(mlp, z, len(mlp.widths) - 2)


def _weighted_shift(logw: np.ndarray, obs: np.ndarray) -> tuple[Any, ...]:
    """Prior mean, posterior mean, shift, shift stderr, ESS, posterior-mean stderr of
    observables ``obs`` (N, ...) under importance weights exp(logw)."""
    if not np.isfinite(logw.max()):
        raise ArgumentError("y_train", "no sampled network can produce the observed outputs")
    w = np.exp(logw - logw.max())
    w = w / w.mean()
    flat = obs.reshape(obs.shape[0], -1)
    prior = flat.mean(axis=0)
    post = (w[:, None] * flat).mean(axis=0)
    # influence functions of the self-normalised posterior mean and of the prior mean
    infl_post = w[:, None] * (flat - post)
    infl = infl_post - (flat - prior)
    n = flat.shape[0]
    stderr = infl.std(axis=0, ddof=1) / np.sqrt(n)
    post_stderr = infl_post.std(axis=0, ddof=1) / np.sqrt(n)
    ess = w.sum() ** 2 / (w**2).sum()
    shape = obs.shape[1:]
    return (
        prior.reshape(shape),
        post.reshape(shape),
        (post - prior).reshape(shape),
        stderr.reshape(shape),
        float(ess),
        post_stderr.reshape(shape),
    )


@dataclass(frozen=True)
class ConditionalSecondMoment:
    r"""⟨φ2² | φ1 = φ̌1⟩ of finite networks at one input, sampled and predicted.

    Attributes
    ----------
    phi1 : ndarray (k,)
        Observed values φ̌1 of the first output.
    sampled, stderr : ndarray (k,)
        :math:`E[\hat G\mid\check\phi_1]` by importance weighting, and its standard error.
    shift, shift_stderr : ndarray (k,)
        Sampled :math:`E[\hat G\mid\check\phi_1] - E[\hat G]` (correlated noise cancels).
    predicted_shift : ndarray (k,)
        :math:`\tfrac12(\check\phi_1^2 - G)V/(nG^2)` (G: sampled prior mean, V: leading-order
        vertex of :meth:`fieldnn.MLP.four_point_vertex`).
    predicted : ndarray (k,)
        G + predicted_shift.
    G, V : float
    width : int
        n = n_{L−1}.
    ess : ndarray (k,)
        Effective sample size of each weighting.
    n_samples : int
    """

    phi1: np.ndarray
    sampled: np.ndarray
    stderr: np.ndarray
    shift: np.ndarray
    shift_stderr: np.ndarray
    predicted_shift: np.ndarray
    predicted: np.ndarray
    G: float
    V: float
    width: int
    ess: np.ndarray
    n_samples: int


def conditional_second_moment_sampled(
    mlp: Any,
    x: Any,
    phi1: Any,
    *,
    n_samples: int = 200_000,
    rng: Any = 0,
    chunk_size: int = 20_000,
) -> ConditionalSecondMoment:
    r"""The seed's finite-width single-datapoint correction, checked by sampling networks.

    Parameters
    ----------
    mlp : MLP
        At least one hidden layer; the number of outputs does not matter (given the hidden
        layer the output components are independent, so :math:`\langle\phi_2^2\mid\phi_1\rangle
        = E[\hat G\mid\phi_1]`).
    x : array_like (d_in,) or (1, d_in)
        The single input.
    phi1 : array_like (k,)
        Observed values of the first output component.
    n_samples : int
        Networks sampled from the prior.
    rng : int or numpy.random.Generator
    chunk_size : int
        Networks per call of the sampler.

    Returns
    -------
    ConditionalSecondMoment

    Notes
    -----
    With :math:`w = \hat G^{-1/2}e^{-\check\phi_1^2/(2\hat G)}` and
    :math:`\hat G = G + \Delta\hat G`, :math:`\langle\Delta\hat G^2\rangle = V/n`:
    :math:`E[\hat G w]/E[w] = G + (V/n)\,\partial_G\log w + O(1/n^2) =
    G + \tfrac12(\check\phi_1^2 - G)V/(nG^2)`, the seed's formula (and
    :func:`fieldnn.symbolic.matching.conditional_second_moment`).
    """
    X = input_points(np.atleast_2d(np.asarray(x, dtype=np.float64)), "x", d_in=mlp.widths[0])
    if X.shape[0] != 1:
        raise ShapeError("x", f"must be a single input, got {X.shape[0]}")
    phi = np.atleast_1d(np.asarray(phi1, dtype=np.float64))
    if phi.ndim != 1 or not np.all(np.isfinite(phi)):
        raise ArgumentError("phi1", "must be a finite 1-d array of observed outputs")
    n_samples, chunk_size, gen = _sampling_arguments(n_samples, chunk_size, rng)
    G_hat = np.concatenate(
        [
            _readout_covariance(mlp, z)[:, 0, 0]
            for z in _hidden_samples(mlp, X, n_samples, gen, chunk_size)
        ]
    )
    if np.any(G_hat <= 0) and np.any(phi == 0):
        raise UnsupportedError(
            "phi1",
            "some sampled networks have an exactly zero output variance at x (dead "
            "units with C_b = 0): conditioning on φ1 = 0 would hit their point mass",
        )
    rows = []
    safe = np.where(G_hat > 0, G_hat, 1.0)
    for value in phi:
        logw = np.where(G_hat > 0, -0.5 * np.log(safe) - value**2 / (2 * safe), -np.inf)
        rows.append(_weighted_shift(logw, G_hat[:, None]))
    prior = float(G_hat.mean())
    V = float(np.asarray(mlp.four_point_vertex(X)).reshape(-1)[0])
    width = int(mlp.widths[-2])
    G, Vs, n, p1 = sp.symbols("G V n phi_1")
    formula = sp.lambdify((G, Vs, n, p1), conditional_second_moment(2) - G, "numpy")
    predicted_shift = np.asarray(formula(prior, V, width, phi), dtype=np.float64)
    return ConditionalSecondMoment(
        phi1=phi,
        sampled=np.array([r[1][0] for r in rows]),
        stderr=np.array([r[5][0] for r in rows]),
        shift=np.array([r[2][0] for r in rows]),
        shift_stderr=np.array([r[3][0] for r in rows]),
        predicted_shift=predicted_shift,
        predicted=prior + predicted_shift,
        G=prior,
        V=V,
        width=width,
        ess=np.array([r[4] for r in rows]),
        n_samples=n_samples,
    )


@dataclass(frozen=True)
class HiddenKernelPosterior:
    r"""Prior and posterior mean of a hidden layer's kernel at probe inputs.

    Attributes
    ----------
    prior, posterior : ndarray (Q, Q)
        :math:`E[\hat K^{(\ell)}]` and :math:`E[\hat K^{(\ell)}\mid y_A]`,
        :math:`\hat K^{(\ell)}_{\delta\delta'} = n_\ell^{-1}\sum_j z^{(\ell)}_{j\delta}
        z^{(\ell)}_{j\delta'}`.
    shift, stderr : ndarray (Q, Q)
        posterior − prior (same samples, so their common noise cancels) and its standard error.
    width : int
        n_ℓ.
    ess : float
        Effective sample size of the importance weights.
    n_samples : int
    layer : int
        ℓ (the last hidden layer L − 1 unless another was asked for).
    """

    prior: np.ndarray
    posterior: np.ndarray
    shift: np.ndarray
    stderr: np.ndarray
    width: int
    ess: float
    n_samples: int
    layer: int


def hidden_kernel_posterior(
    mlp: Any,
    X_train: Any,
    y_train: Any,
    X_probe: Any,
    *,
    n_samples: int = 100_000,
    rng: Any = 0,
    chunk_size: int = 10_000,
    layer: int | None = None,
) -> HiddenKernelPosterior:
    r"""Representation learning in exact Bayesian inference: the kernel of a hidden layer
    conditioned on observed outputs, by importance weighting of sampled networks.

    Parameters
    ----------
    mlp : MLP
        At least one hidden layer.
    X_train : array_like (P, d_in)
    y_train : array_like (P,) or (P, d_out)
        Observed outputs (all d_out components are conditioned on).
    X_probe : array_like (Q, d_in)
        Inputs at which the hidden kernel is measured.
    n_samples, rng, chunk_size
        As in :func:`conditional_second_moment_sampled`.
    layer : int, optional
        The hidden layer ℓ, 1 <= ℓ <= L − 1, whose kernel is measured (default: the last,
        L − 1). For ℓ < L − 1 the layers above are drawn given layer ℓ (each is Gaussian given
        the one below) at the training inputs only, which is all the likelihood needs.

    Returns
    -------
    HiddenKernelPosterior

    Notes
    -----
    :math:`\log w = -\tfrac{d_{out}}{2}\log\det\hat G_{AA} - \tfrac12\sum_i
    y_{iA}^T\hat G_{AA}^{-1}y_{iA}`. At infinite width Ĝ is deterministic, the weights are
    constant, and the posterior equals the prior (seed slide "Lack of representation
    learning": :math:`p(\phi^{(L-1)}\mid y_A) = p(\phi^{(L-1)})`). At finite width the shift is
    :math:`\mathrm{Cov}(\hat K^{(\ell)}, \hat G_{\alpha\beta})\,\partial\log p(y_A\mid G)/
    \partial G_{\alpha\beta} = O(1/n)`.
    """
    XA, XB, y = _conditioning_inputs(mlp, X_train, y_train, X_probe, "X_probe")
    n_samples, chunk_size, gen = _sampling_arguments(n_samples, chunk_size, rng)
    layer = hidden_layer(mlp, layer)
    p = XA.shape[0]
    logw, obs = [], []
    X = np.concatenate([XA, XB])
    for z in _hidden_samples(mlp, X, n_samples, gen, chunk_size, layer):
        top = _propagate(mlp, z[:, :p], layer, gen)
        logw.append(_log_likelihood(*_readout_eigh(_readout_covariance(mlp, top)), y))
        zb = z[:, p:]
        obs.append(np.matmul(zb, np.swapaxes(zb, 1, 2)) / z.shape[-1])
    prior, post, shift, stderr, ess, _ = _weighted_shift(np.concatenate(logw), np.concatenate(obs))
    width = int(mlp.widths[layer])
    return HiddenKernelPosterior(prior, post, shift, stderr, width, ess, n_samples, layer)


def _conditioning_inputs(
    mlp: Any, X_train: Any, y_train: Any, X_other: Any, other: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    XA, XB = train_test_inputs(mlp, X_train, X_other, other)
    d_out = int(mlp.widths[-1])
    y = np.asarray(y_train, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape != (XA.shape[0], d_out) or not np.all(np.isfinite(y)):
        raise ShapeError("y_train", f"must be finite with shape ({XA.shape[0]}, {d_out})")
    return XA, XB, y


def _readout_eigh(G_AA: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigen-decomposition of Ĝ_AA (b, P, P) and a mask of the numerically regular ones.

    A sampled network whose readout covariance is singular on the training inputs (e.g. ReLU
    units without a kink between 1-d inputs) has zero likelihood for generic observed outputs;
    it gets weight 0 instead of raising.
    """
    lam, U = np.linalg.eigh(G_AA)
    ok = lam[:, 0] > 1e-12 * np.maximum(lam[:, -1], 1e-300)
    lam = np.where(ok[:, None], lam, 1.0)
    return lam, U, ok


def _log_likelihood(lam: np.ndarray, U: np.ndarray, ok: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log Π_i N(y_i; 0, Ĝ_AA) up to a constant (−inf where Ĝ_AA is singular)."""
    proj = np.matmul(np.swapaxes(U, 1, 2), y)  # (b, P, d_out)
    quad = np.einsum("bpi,bp->b", proj**2, 1.0 / lam)
    logl = -0.5 * y.shape[1] * np.log(lam).sum(axis=1) - 0.5 * quad
    return np.where(ok, logl, -np.inf)


@dataclass(frozen=True)
class SampledPosterior:
    r"""The exact Bayesian posterior of finite-width networks at test inputs, sampled.

    Attributes
    ----------
    mean : ndarray (Q, d_out)
        :math:`E[z_B\mid y_A]`.
    mean_stderr : ndarray (Q, d_out)
    cov : ndarray (Q, Q)
        Posterior covariance of one output component (averaged over the d_out components).
    width : int
        n_{L−1}.
    ess : float
    n_samples : int
    """

    mean: np.ndarray
    mean_stderr: np.ndarray
    cov: np.ndarray
    width: int
    ess: float
    n_samples: int


def sampled_posterior(
    mlp: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    *,
    n_samples: int = 100_000,
    rng: Any = 0,
    chunk_size: int = 10_000,
) -> SampledPosterior:
    r"""Exact finite-width Bayesian posterior :math:`p(z_B\mid y_A)` by importance weighting.

    Given the last hidden layer, the outputs at A ∪ B are Gaussian with covariance Ĝ, so
    :math:`E[z_B\mid y_A, h] = \hat G_{BA}\hat G_{AA}^{-1}y_A` and
    :math:`\mathrm{Cov}[z_B\mid y_A, h] = \hat G_{BB} - \hat G_{BA}\hat G_{AA}^{-1}\hat G_{AB}`
    exactly; averaging them over prior samples of h with weights
    :math:`w = \prod_i\mathcal N(y_{iA}; 0, \hat G_{AA})` (law of total covariance) gives the
    posterior of the finite-width ensemble. As n → ∞ it tends to :func:`gp_posterior`, with
    O(1/n) corrections (RYH ch. 6.4).

    Parameters
    ----------
    mlp : MLP
        At least one hidden layer.
    X_train : array_like (P, d_in)
    y_train : array_like (P,) or (P, d_out)
    X_test : array_like (Q, d_in)
    n_samples, rng, chunk_size
        As in :func:`conditional_second_moment_sampled`.

    Returns
    -------
    SampledPosterior
    """
    XA, XB, y = _conditioning_inputs(mlp, X_train, y_train, X_test, "X_test")
    n_samples, chunk_size, gen = _sampling_arguments(n_samples, chunk_size, rng)
    p = XA.shape[0]
    logw, means, covs = [], [], []
    for z in _hidden_samples(mlp, np.concatenate([XA, XB]), n_samples, gen, chunk_size):
        G = _readout_covariance(mlp, z)
        lam, U, ok = _readout_eigh(G[:, :p, :p])
        logw.append(_log_likelihood(lam, U, ok, y))
        # Ĝ_AA^{-1/2}-rotated blocks: half = Λ^{-1/2} Uᵀ Ĝ_AB, proj = Λ^{-1/2} Uᵀ y
        scale = 1.0 / np.sqrt(lam)[:, :, None]
        half = scale * np.matmul(np.swapaxes(U, 1, 2), G[:, :p, p:])
        proj = scale * np.matmul(np.swapaxes(U, 1, 2), y)
        means.append(np.matmul(np.swapaxes(half, 1, 2), proj))  # (b, Q, d_out)
        covs.append(G[:, p:, p:] - np.matmul(np.swapaxes(half, 1, 2), half))
    logw_all = np.concatenate(logw)
    m_all, c_all = np.concatenate(means), np.concatenate(covs)
    _, mean, _, _, ess, mean_se = _weighted_shift(logw_all, m_all)
    w = np.exp(logw_all - logw_all.max())
    w = w / w.sum()
    dev = m_all - mean
    cov = np.einsum("b,bpq->pq", w, c_all) + np.einsum("b,bpi,bqi->pq", w, dev, dev) / y.shape[1]
    return SampledPosterior(mean, mean_se, 0.5 * (cov + cov.T), int(mlp.widths[-2]), ess, n_samples)
