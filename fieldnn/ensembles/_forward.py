r"""Batched forward sampling of fully connected Gaussian-initialised networks (private).

Both architectures of :mod:`fieldnn.ensembles.architectures` are a stack of *Gaussian layers*

.. math:: z^{(\ell)}_{i}(x) = b^{(\ell)}_i + \sum_j W^{(\ell)}_{ij}\, h^{(\ell-1)}_j(x),
          \qquad W^{(\ell)}_{ij} \sim \mathcal N(\mu_W, C_W/n_{\ell-1}),
          \quad b^{(\ell)}_i \sim \mathcal N(\mu_b, C_b),

with :math:`h^{(0)} = x` and :math:`h^{(\ell)} = \sigma(z^{(\ell)})` (the last layer is linear).
Conditional on :math:`h^{(\ell-1)}` at the P inputs, the P-vectors :math:`z^{(\ell)}_i(\cdot)`
are independent across units i and exactly Gaussian, with mean
:math:`\mu_b + \mu_W \sum_j h_j(x_a)` and covariance

.. math:: \Sigma^{(\ell)}_{ab} = C_b + \frac{C_W}{n_{\ell-1}} \sum_j h_j(x_a) h_j(x_b).

The sampler uses this *rank reduction* wherever it is cheaper than drawing the weights:

* first layer: :math:`z = F^T g`, :math:`g \sim \mathcal N(0, 1_r)` per unit, with
  :math:`F = [\sqrt{C_W/d_{in}}\, X^T;\ \sqrt{C_b}\,1^T]` (that *is* the weights and bias, one
  normal each) when :math:`d_{in}+1 \le P`, else its R factor (:math:`F = QR`), so
  :math:`r = \min(d_{in}+1, P)` normals per unit instead of :math:`d_{in}+1`;
* later layers: either the weights are drawn (``direct``: :math:`n_{\ell-1} n_\ell` normals), or
  the factor :math:`\Sigma = V \Lambda V^T`, :math:`L = V\Lambda^{1/2}`, is formed per network and
  :math:`z_i = L g_i` (``conditional``: :math:`P n_\ell` normals, a P×P Gram matrix and an
  eigendecomposition), whichever a flop count says is cheaper (wide hidden layers: conditional;
  a narrow readout: direct).

Both are exact in distribution; neither stores a weight matrix of a deep net.

Reproducibility: the networks are processed in blocks whose partition depends only on the shapes
(and on whether the float32 Erf-net path is taken);
block k draws all its normals, in a fixed order, from its own SFC64 generator seeded by 128 bits
taken from the caller's ``numpy.random.Generator`` in block order; the arithmetic of a block does
not depend on other blocks. Blocks may therefore run on several threads (NumPy releases the GIL
in its loops) and the result is bitwise the same for any number of threads.

Performance (measured, Erf-net N = 1000, P = 6, CPU time per network): SciPy's erf was ~2/3 of
the work (16.6 ns per value here). If numba is installed, erf is evaluated in place by a
branch-free transcription of the *same* Cephes rational approximations SciPy uses
(:func:`fast_erf_inplace`, 5.6 ns per value): the result is bitwise that of
``scipy.special.erf`` (verified on a fixed set of points, special values included, before the
fast path is first used; any mismatch switches it off), so samples do not depend on whether
numba is present. ``FIELDNN_NUMBA=0`` disables it.
float32 (``dtype=float32`` on NumPy, one-hidden-layer Erf-nets): :mod:`._fast32` draws the
block's normals by a numba ziggurat on the block's SFC64 words (≈ 2 ns instead of 7.4 ns per
normal), evaluates the first layer and a float32 erf (0.7 ns per value, ≤ 1.5 ulp) fused, and
the readout sums in float64; compiled and NumPy versions are bitwise equal (see there).
Arrays are unit-major, (b, units, P), so the P pre-activations of a unit, which share
their weights, are adjacent: SciPy's branchy erf then runs ~1.45× faster than on input-major
data (68 vs 97 µs). The first layer's normals and pre-activations live in reused per-thread
buffers: two fresh ~0.5 MB arrays per block cost page faults worth +50 % of the block.

References
----------
arXiv:2008.08601, eq. (2.1) (seed 001 nets); arXiv:2106.10165, eqs. (2.5), (4.1) (seed 000 MLPs);
conditional Gaussianity of a layer given the previous one: arXiv:2106.10165, sec. 4.1.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from array_api_compat import is_numpy_namespace

from ..kernels.activations import Activation, get_activation
from ._fast32 import _kernels, erf32_inplace, erf_net, first_layer_erf32, standard_normals
from .sampling import _check_output_memory

# Elements (networks × inputs × widest layer) evaluated per block: a few hundred kB per array.
_BLOCK_ELEMENTS = 1 << 16
# Cost model, in units of one standard normal (≈ 8–11 ns here): a P×P eigh counts 25 P³, a Gram
# product n_in P²/8. Deliberately conservative (measured: 6×6 eigh ≈ 3 µs ≈ 300 normals, not
# 5400; the Gram of 1000×6 ≈ 7.6 µs ≈ 700, not 4500), so the conditional sampler is used only
# where it clearly wins: wide hidden layers (1000 → 1000 at P = 6: 1e6 vs 2e4 normals) and
# readouts with few inputs (P = 2: 3 µs vs 11 µs per network).
_EIGH_COST = 25.0


@dataclass(frozen=True)
class Layer:
    """One Gaussian layer: fan-in/out, weight and bias variances and means."""

    n_in: int
    n_out: int
    c_w: float
    c_b: float
    mu_w: float = 0.0
    mu_b: float = 0.0


def default_threads() -> int:
    """Threads used for the arithmetic of a block: the CPUs available, capped at 8.

    ``OMP_NUM_THREADS`` (which dask workers set to 1) caps it too.
    """
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        available = os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "")
    if limit.isdigit() and int(limit) > 0:
        available = min(available, int(limit))
    return max(1, min(available, 8))


def _conditional(layer: Layer, n_inputs: int) -> bool:
    """True if drawing z | h (rank reduction) is cheaper than drawing the weights."""
    direct = layer.n_in * layer.n_out
    reduced = (
        n_inputs * layer.n_out + layer.n_in * n_inputs * n_inputs / 8.0 + _EIGH_COST * n_inputs**3
    )
    return reduced < direct


def first_layer_factor(X: np.ndarray, layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Factor F (r, P) with z = F^T g, the mean (P,) and the variance q (P,) of layer 1.

    ``X`` is (P, d_in) float64. :math:`F^T F = C_b 1 1^T + C_W X X^T/d_{in}` exactly.
    """
    P, d_in = X.shape
    F = np.concatenate(
        [np.sqrt(layer.c_w / d_in) * X.T, np.full((1, P), np.sqrt(layer.c_b))], axis=0
    )
    if F.shape[0] > P:
        F = np.linalg.qr(F, mode="r")
    mean = layer.mu_b + layer.mu_w * X.sum(axis=1)
    variance = layer.c_b + layer.c_w * np.einsum("pi,pi->p", X, X) / d_in
    return F, mean, variance


class ForwardPlan:
    """Everything a block needs, fixed for one call: layers, first-layer factor, normalisers.

    Parameters
    ----------
    activation : Activation
    X : ndarray (P, d_in), float64 (checked by the caller)
    layers : sequence of Layer, the first acting on the inputs, the last linear
    variances : sequence of ndarray (P,), one per hidden layer: the normaliser q passed to a
        normalised activation (the Gauss-net unit); ignored otherwise
    """

    def __init__(
        self,
        activation: Activation,
        X: np.ndarray,
        layers: Sequence[Layer],
        variances: Sequence[np.ndarray],
    ) -> None:
        self.activation = activation
        self.layers = tuple(layers)
        self.n_inputs = X.shape[0]
        self.factor, self.mean, _ = first_layer_factor(X, self.layers[0])
        self.variances = tuple(variances)
        self.modes = tuple(_conditional(layer, self.n_inputs) for layer in self.layers[1:])
        widest = max(layer.n_out for layer in self.layers)
        self.block = max(1, _BLOCK_ELEMENTS // (self.n_inputs * widest))
        # the float32 Erf-net path keeps only its normals per network (measured: 20 nets per
        # block at N = 1000, P = 6 are 7 % faster than 10: less per-block Python overhead)
        normals = sum(math.prod(shape) for shape in self._draw_shapes(1))
        self.block32 = max(1, _BLOCK_ELEMENTS // normals)

    @cached_property
    def factor32(self) -> np.ndarray:
        """The first-layer factor in float32, made only when the float32 path runs (a float64
        run with inputs beyond float32's range must not cast them)."""
        return self.factor.astype(np.float32)

    @cached_property
    def mean32(self) -> np.ndarray:
        """The first-layer mean in float32 (see :attr:`factor32`)."""
        return self.mean.astype(np.float32)

    def _draw_shapes(self, b: int) -> list[tuple[int, int, int]]:
        """Shapes of the standard normals of a block of ``b`` networks, layer by layer."""
        shapes = [(b, self.layers[0].n_out, self.factor.shape[0])]
        for layer, conditional in zip(self.layers[1:], self.modes, strict=True):
            shapes.append((b, layer.n_out, self.n_inputs if conditional else layer.n_in + 1))
        return shapes

    def draw(self, rng: np.random.Generator, b: int) -> list[np.ndarray]:
        """All standard normals of a block of ``b`` networks, in a fixed order (float64).

        The first array is this thread's scratch buffer: valid until the next ``draw`` here.
        """
        shapes = self._draw_shapes(b)
        # the first layer's normals live only inside the block: a reused per-thread buffer
        draws = [rng.standard_normal(out=_buffer(shapes[0], np.float64, "normals"))]
        draws += [rng.standard_normal(shape) for shape in shapes[1:]]
        return draws

    def fast32(self, xp: Any, dtype: Any) -> bool:
        """True if blocks take the float32 Erf-net path (NumPy, float32, one hidden layer)."""
        return (
            is_numpy_namespace(xp)
            and dtype == np.float32
            and self.activation == _ERF
            and len(self.layers) == 2
        )

    def draw_ziggurat(self, rng: np.random.Generator, b: int) -> list[np.ndarray]:
        """The normals of :meth:`draw` (same shapes and order) from the ziggurat of
        :func:`~fieldnn.ensembles._fast32.standard_normals` on ``rng``'s SFC64 words.

        Views of this thread's scratch buffer: valid until the next call here.
        """
        shapes = self._draw_shapes(b)
        sizes = [math.prod(shape) for shape in shapes]
        flat = standard_normals(rng.bit_generator, _buffer((sum(sizes),), np.float64, "zig"))
        ends = np.cumsum(sizes).tolist()
        return [
            flat[e - m : e].reshape(shape) for e, m, shape in zip(ends, sizes, shapes, strict=True)
        ]

    def forward(self, draws: list[np.ndarray], xp: Any, dtype: Any) -> Any:
        """Network outputs (b, P, d_out) from the normals of one block, in namespace ``xp``.

        Internally unit-major, (b, units, P): the P pre-activations of one unit are adjacent,
        which keeps branchy activations (SciPy's erf) well predicted.
        """
        numpy = is_numpy_namespace(xp)
        erf = numpy and self.activation == _ERF
        if self.fast32(xp, dtype):
            return self._forward_erf32(draws)
        g = xp.asarray(draws[0], dtype=dtype)
        F = xp.asarray(self.factor, dtype=dtype)
        fast_erf = erf and _fast_erf_kernel() is not None
        if numpy and len(self.layers) > 1:
            # reused per-thread buffer: a second fresh ~0.5 MB array per block costs page
            # faults (measured +50 % per block); z never leaves the block here
            z = np.matmul(g, F, out=_buffer((g.shape[0], g.shape[1], F.shape[1]), g.dtype))
        else:
            z = xp.matmul(g, F)
        if np.any(self.mean != 0.0):
            z = z + xp.asarray(self.mean, dtype=dtype)
        for k, (layer, conditional) in enumerate(zip(self.layers[1:], self.modes, strict=True)):
            if fast_erf and z.dtype == np.float64 and z.flags.c_contiguous:
                h = fast_erf_inplace(z)  # z is private to this block
            elif erf and z.dtype == np.float32 and z.flags.c_contiguous:
                h = erf32_inplace(z)
            else:
                h = self.activation(z, variance=xp.asarray(self.variances[k], dtype=dtype), xp=xp)
            g = xp.asarray(draws[k + 1], dtype=dtype)
            z = _gaussian_layer(h, g, layer, conditional, xp)
        return xp.permute_dims(z, (0, 2, 1))

    def _forward_erf32(self, draws: list[np.ndarray]) -> np.ndarray:
        """float32 outputs (b, P, d_out) of one-hidden-layer Erf-nets (NumPy, ``dtype=float32``).

        First layer and erf in float32, readout sums in float64, outputs rounded to float32
        once: :func:`erf_net` (fused) when the readout weights are drawn, else
        :func:`first_layer_erf32` and the conditional readout; compiled if numba is available,
        bitwise equal to the NumPy references. Given the same normals the two precisions
        evaluate the same networks (the accuracy tests); :meth:`sample` draws the float32
        path's normals by :meth:`draw_ziggurat`, so its networks differ from float64 ones.
        """
        g, readout = draws[0], self.layers[1]
        if not self.modes[0]:  # weights drawn: fused, the activations are never stored
            coef = np.array(
                [(readout.c_w / readout.n_in) ** 0.5, readout.c_b**0.5, readout.mu_b, readout.mu_w]
            )
            out = np.empty((g.shape[0], self.n_inputs, readout.n_out), dtype=np.float32)
            return erf_net(g, self.factor32, self.mean32, draws[1], coef, out)
        shape = (g.shape[0], self.n_inputs, g.shape[1])
        h = first_layer_erf32(g, self.factor32, self.mean32, _buffer(shape, np.float64, "h"))
        z = _gaussian_layer(np.matrix_transpose(h), draws[1], readout, True, np)
        return np.permute_dims(z, (0, 2, 1)).astype(np.float32)

    def sample(self, rng: np.random.Generator, n: int, xp: Any, dtype: Any, threads: int) -> Any:
        """Outputs (n, P, d_out) of ``n`` networks; blocks evaluated on ``threads`` threads.

        Block k draws from its own SFC64 generator, seeded by 128 bits taken from ``rng`` in
        block order, so drawing and arithmetic of all blocks can run concurrently and the result
        is bitwise the same for any number of threads.
        """
        # outputs (filled in place on NumPy, concatenated otherwise) must fit in memory
        numpy_out = is_numpy_namespace(xp)
        _check_output_memory(
            n,
            self.n_inputs,
            self.layers[-1].n_out,
            argument="n",
            copies=1 if numpy_out else 2,
            hint="sample in chunks (sample_outputs, estimate_correlators)",
        )
        fast32 = self.fast32(xp, dtype)
        if is_numpy_namespace(xp) and dtype == np.float32 and self.activation == _ERF:
            _kernels()  # compile or load the numba loops once, before any thread uses them
        step = self.block32 if fast32 else self.block
        sizes = [min(step, n - start) for start in range(0, n, step)]
        seeds = rng.integers(0, 2**64, size=(len(sizes), 2), dtype=np.uint64)

        def block(k: int) -> Any:
            gen = np.random.Generator(np.random.SFC64(np.random.SeedSequence(seeds[k].tolist())))
            draw = self.draw_ziggurat if fast32 else self.draw
            return self.forward(draw(gen, sizes[k]), xp, dtype)

        if len(sizes) == 1:
            return block(0)
        if not numpy_out:
            return xp.concat([block(k) for k in range(len(sizes))], axis=0)
        out = None
        starts = np.cumsum([0, *sizes])

        def put(k: int, part: np.ndarray) -> None:
            nonlocal out
            if out is None:
                out = np.empty((n, *part.shape[1:]), dtype=part.dtype)
            out[starts[k] : starts[k + 1]] = part

        if threads <= 1:
            for k in range(len(sizes)):
                put(k, block(k))
            return out
        pending: deque = deque()
        with ThreadPoolExecutor(threads) as pool:
            for k in range(len(sizes)):
                pending.append((k, pool.submit(block, k)))
                if len(pending) > 2 * threads:
                    j, fut = pending.popleft()
                    put(j, fut.result())
            for j, fut in pending:
                put(j, fut.result())
        return out


_WORKSPACE = threading.local()


def _buffer(shape: tuple[int, ...], dtype: Any, slot: str = "z") -> np.ndarray:
    """This thread's scratch array ``slot`` of the given shape (the last one is kept)."""
    buf = getattr(_WORKSPACE, slot, None)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = np.empty(shape, dtype=dtype)
        setattr(_WORKSPACE, slot, buf)
    return buf


def _gaussian_layer(h: Any, g: Any, layer: Layer, conditional: bool, xp: Any) -> Any:
    """z (b, n_out, P) from h (b, n_in, P) and standard normals g (see the module docstring).

    ``g`` is (b, n_out, P) for the conditional sampler (z_i = L g_i, Σ = L Lᵀ) and
    (b, n_out, n_in + 1) for the direct one (weights, then the bias).
    """
    mean = layer.mu_b
    if layer.mu_w != 0.0:
        mean = mean + layer.mu_w * xp.sum(h, axis=-2, keepdims=True)
    if conditional:
        gram = xp.matmul(xp.matrix_transpose(h), h)
        sigma = layer.c_b + (layer.c_w / layer.n_in) * gram
        lam, V = xp.linalg.eigh(sigma)
        root = xp.sqrt(xp.where(lam > 0, lam, xp.zeros_like(lam)))
        return xp.matmul(g, xp.matrix_transpose(V * root[..., None, :])) + mean
    w = g[:, :, : layer.n_in]
    bias = g[:, :, layer.n_in :]
    scale = (layer.c_w / layer.n_in) ** 0.5
    return scale * xp.matmul(w, h) + layer.c_b**0.5 * bias + mean


# -- erf, fast and bitwise equal to SciPy's (optional numba) ----------------------------------
# Cephes ndtr.c (S. L. Moshier), the approximations behind scipy.special.erf for float64:
# erf x = x T(x²)/U(x²) for |x| <= 1, else 1 − e^{−x²} P(|x|)/Q(|x|) (SciPy switches to the
# R/S pair beyond |x| = 8, where 1 − erfc rounds to exactly 1.0 with either pair).
_ERF_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_ERF_U = (
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
_ERFC_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_ERFC_Q = (
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_ERF = get_activation("erf")
_KERNEL: list[Any] = []  # [compiled kernel or None], filled on first use
_ERF_JIT: Any = None  # the compiled scalar erf, a global of the compiled loop


def _erf_scalar(x: float) -> float:
    """Cephes erf, branch-free (both branches evaluated, then selected): LLVM vectorises it."""
    t, u, p, q = _ERF_T, _ERF_U, _ERFC_P, _ERFC_Q
    z = x * x
    small = (
        x
        * ((((t[0] * z + t[1]) * z + t[2]) * z + t[3]) * z + t[4])
        / (((((z + u[0]) * z + u[1]) * z + u[2]) * z + u[3]) * z + u[4])
    )
    a = min(abs(x), 30.0)  # erf = ±1.0 exactly from |x| ≈ 5.9 on; 30 keeps inf finite
    num = p[0]
    for c in p[1:]:
        num = num * a + c
    den = a + q[0]
    for c in q[1:]:
        den = den * a + c
    big = 1.0 - (math.exp(-(a * a)) * num) / den
    big = -big if x < 0.0 else big
    return small if abs(x) <= 1.0 else big


def _erf_loop(values: np.ndarray) -> None:  # pragma: no cover - compiled by numba
    """values[i] = erf(values[i]) with the compiled :func:`_erf_scalar` (global ``_ERF_JIT``)."""
    for i in range(values.size):
        values[i] = _ERF_JIT(values[i])


def _compile_erf() -> Any:
    """numba-compile :func:`_erf_loop` (cached on disk; raises if numba is missing)."""
    import numba

    global _ERF_JIT
    # error_model="numpy": IEEE division (no zero-division branch), so LLVM can vectorise
    _ERF_JIT = numba.njit(inline="always", error_model="numpy")(_erf_scalar)
    return numba.njit(nogil=True, cache=True, error_model="numpy")(_erf_loop)


def _erf_probe() -> np.ndarray:
    """Points on which the compiled erf must equal SciPy's bitwise: 8 octaves, specials."""
    scales = 2.0 ** np.arange(-4, 4).repeat(512)
    special = [0.0, -0.0, 1.0, -1.0, 8.0, -8.0, 30.0, 1e300, -np.inf, np.inf, 5e-324, np.nan]
    return np.concatenate([np.random.default_rng(0).standard_normal(4096) * scales, special])


def _fast_erf_kernel() -> Any:
    """The compiled in-place erf, or None (numba missing, disabled, or not bitwise SciPy's)."""
    if _KERNEL:
        return _KERNEL[0]
    kernel = None
    if os.environ.get("FIELDNN_NUMBA", "1") != "0":
        from scipy.special import erf

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loop = _compile_erf()
                probe = _erf_probe()
                got = probe.copy()
                loop(got)
            if np.array_equal(got, erf(probe), equal_nan=True):
                kernel = loop
        except Exception:  # any failure of the optional accelerator: fall back
            kernel = None
    _KERNEL.append(kernel)
    return kernel


def fast_erf_inplace(values: np.ndarray) -> np.ndarray:
    """erf of a C-contiguous float64 array, in place, bitwise equal to ``scipy.special.erf``.

    Uses the numba kernel if available (:func:`_fast_erf_kernel`), else SciPy with ``out=``.
    Returns ``values``.
    """
    kernel = _fast_erf_kernel()
    if kernel is None:
        from scipy.special import erf

        return erf(values, out=values)
    kernel(values.reshape(-1))
    return values
