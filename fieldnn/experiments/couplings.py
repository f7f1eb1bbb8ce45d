"""Measuring the couplings λ and κ of the NN-QFT effective action from correlators.

Conventions (``docs/nnqft.md``, ``docs/conventions.md``): probability ∝ e^{−S},
:math:`S = S_{\\rm GP} + \\int_{[-\\Lambda,\\Lambda]^{d_{\\rm in}}} d^{d_{\\rm in}}y\\,
[\\lambda f^4 + \\kappa f^6]` (no 1/k!), so that at first order in the couplings (seed 001,
eqs. 3.18–3.19)

.. math::

    G^{(4)}_{1234} &= K_{12}K_{34} + K_{13}K_{24} + K_{14}K_{23}
        - 24\\lambda \\int K_{1y}K_{2y}K_{3y}K_{4y}
        - 360\\kappa\\int K_{1z}\\cdots K_{4z}K_{zz},\\\\
    G^{(6)} &= \\sum_{15} K K K - 24\\lambda\\sum_{15} K_{mn}\\int K_{iy}K_{jy}K_{ky}K_{ly}
        - 720\\kappa\\int K_{1z}\\cdots K_{6z}
        - 360\\kappa\\sum_{15}K_{mn}\\int K_{iz}\\cdots K_{lz}K_{zz}.

λ is measured per tuple of inputs (seed slide "EFT is effective"),

.. math::

    \\lambda_m(x_1,\\ldots,x_4) = \\frac{K_{12}K_{34} + K_{13}K_{24} + K_{14}K_{23} - G^{(4)}}
    {24\\int d^{d_{\\rm in}}y\\, K_{1y}K_{2y}K_{3y}K_{4y}},

and κ per 6-tuple from :math:`\\delta' = G^{(6)} - [G^{(6)}_{\\rm GP} - 24\\bar\\lambda
\\sum_{15}K_{mn}\\int K^4] = -\\kappa[720\\int K^6 + 360\\sum_{15}K_{mn}\\int K^4K_{zz}]`
(the seed's 720 and 5400 = 15 × 360). The kernel on the legs of the integrals is either the
full GP kernel K (``legs="full"``) or K − σ_b² (``legs="subtract_bias"``: the output bias only
feeds the 2-point function, so the connected correlators are those of f − b₁, whose kernel is
K − σ_b²); the GP terms always use the full K.

References
----------
J. Halverson, A. Maiti, K. Stoner, arXiv:2008.08601, Sec. 3.3 (λ_m, δ′) and Sec. 4.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import combinations, combinations_with_replacement
from typing import Any

import numpy as np

from .._validate import finite_float, input_points, nonnegative_float, positive_int, real_array
from ..errors import ArgumentError, ArgumentTypeError, ShapeError, UnknownNameError
from ..symbolic import pairings

__all__ = [
    "KappaMeasurement",
    "LambdaMeasurement",
    "cutoff_ladder",
    "measure_kappa",
    "measure_lambda",
    "multisets",
]

LEGS = ("full", "subtract_bias")
TWO_POINT = ("auto", "kernel", "nlo", "sampled")
#: relative spread std/|mean| above which λ_m is not reported as a constant
SPREAD_TOLERANCE = 0.1


def multisets(n_points: int, order: int) -> np.ndarray:
    """All multisets of ``order`` input indices from ``range(n_points)``, shape (T, order).

    Examples
    --------
    >>> multisets(3, 2).tolist()
    [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]]
    """
    return np.array(list(combinations_with_replacement(range(n_points), order)), dtype=np.int64)


def _gp_moment(K: np.ndarray, idx: Sequence[int], species: Sequence[int] | None = None) -> float:
    """GP moment at inputs ``idx``: Σ over Wick pairings of Π K[a, b] (Isserlis), with a δ_ij
    per pair when output ``species`` are given."""
    total = 0.0
    for p in pairings(list(range(len(idx)))):
        if species is None or all(species[a] == species[b] for a, b in p):
            total += float(np.prod([K[idx[a], idx[b]] for a, b in p]))
    return total


@dataclass(frozen=True)
class _Source:
    """What a measurement reads: G4/G6 (and their standard errors), the kernel, σ_b²."""

    kind: str  # "exact" | "sampled" | "array"
    full: Callable[[int], np.ndarray]
    stderr: Callable[[int], np.ndarray] | None
    kernel: Callable[[np.ndarray, np.ndarray], np.ndarray]
    sigma_b2: float | None
    n_nets: int | None
    d_out: int
    net: Any = None  # the network the kernel comes from (None for a callable kernel)
    reliable: Callable[[int], np.ndarray] | None = None  # tail diagnostic (sampled only)


def _kernel_of(obj: Any) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], float | None]:
    """Cross-kernel K(X, Y) and the output-bias variance of a net (or a callable kernel)."""
    if hasattr(obj, "exact_full") and hasattr(obj, "kernel"):  # SingleLayerNet
        return (lambda A, B: np.asarray(obj.kernel(A, B))), float(obj.sigma_b2)
    if hasattr(obj, "widths") and hasattr(obj, "kernel"):  # MLP: the cross-kernel K(X, Y)

        def mlp_kernel(A: np.ndarray, B: np.ndarray) -> np.ndarray:
            from ..kernels.deep import kernel_recursion

            depth = len(obj.widths) - 1
            return kernel_recursion(
                obj.activation, A, Y=B, C_W=list(obj.C_W), C_b=list(obj.C_b), depth=depth
            )[-1]

        c_b = np.atleast_1d(np.asarray(obj.C_b, dtype=np.float64))
        return mlp_kernel, float(c_b[-1])
    if callable(obj):
        return obj, None
    raise ArgumentTypeError("kernel", f"must be a network or a callable K(X, Y), got {obj!r}")


def _check_estimate_inputs(source: Any, X: np.ndarray) -> None:
    """Refuse an estimate whose recorded inputs are not ``X`` (naming ``X``)."""
    recorded = getattr(source, "provenance", {}).get("X")
    if recorded is None:
        return
    rec = np.asarray(recorded, dtype=np.float64)
    if rec.shape != X.shape or not np.array_equal(rec, X):
        raise ArgumentError(
            "X",
            f"the estimate was sampled at other inputs (shape {rec.shape}, first "
            f"{rec.reshape(-1)[:4].tolist()}) than X (shape {X.shape}, first "
            f"{X.reshape(-1)[:4].tolist()}); pass the estimate's own inputs",
        )


def _as_source(source: Any, X: np.ndarray, kernel: Any, sigma_b2: float | None) -> _Source:
    if hasattr(source, "exact_full") and hasattr(source, "kernel"):
        kern, sb = _kernel_of(source if kernel is None else kernel)
        return _Source(
            "exact",
            lambda n: np.asarray(source.exact_full(X, n)),
            None,
            kern,
            sb if sigma_b2 is None else sigma_b2,
            None,
            int(getattr(source, "d_out", 1)),
            source if kernel is None else kernel,
        )
    if hasattr(source, "full") and hasattr(source, "stderr"):
        if kernel is None:
            raise ArgumentError(
                "kernel", "a CorrelatorEstimate needs kernel= (the net or a callable K(X, Y))"
            )
        _check_estimate_inputs(source, X)
        kern, sb = _kernel_of(kernel)
        g2 = np.asarray(source.full(2))
        d_out = 1 if g2.ndim == 2 else int(g2.shape[-1])
        return _Source(
            "sampled",
            lambda n: np.asarray(source.full(n)),
            lambda n: np.asarray(source.stderr(n, connected=False)),
            kern,
            sb if sigma_b2 is None else sigma_b2,
            int(source.n_nets),
            d_out,
            kernel,
            (lambda n: np.asarray(source.reliable(n, connected=False)))
            if hasattr(source, "reliable")
            else None,
        )
    if isinstance(source, np.ndarray | list | tuple):
        if kernel is None:
            raise ArgumentError("kernel", "an array correlator needs kernel= (net or callable)")
        arr = np.asarray(source, dtype=np.float64)
        kern, sb = _kernel_of(kernel)
        order = arr.ndim

        def full(n: int) -> np.ndarray:
            if n != order:
                raise ArgumentError("source", f"holds the {order}-point function, not {n}")
            return arr

        sb = sb if sigma_b2 is None else sigma_b2
        return _Source("array", full, None, kern, sb, None, 1, kernel)
    raise ArgumentTypeError(
        "source", f"must be a SingleLayerNet, a CorrelatorEstimate or an array, got {source!r}"
    )


def _cutoff(cutoff: Any) -> float:
    """Λ > 0, finite or ``math.inf`` (ℝ^{d_in}: :func:`fieldnn.integrals.vertex_integral`
    refuses, naming ``cutoff``, an integrand that does not decay)."""
    if (
        isinstance(cutoff, numbers.Real)
        and not isinstance(cutoff, bool)
        and float(cutoff) == math.inf
    ):
        return math.inf
    return nonnegative_float(cutoff, "cutoff", strictly_positive=True)


def _check_species(species: Any, order: int, d_out: int) -> tuple[int, ...] | None:
    """``species`` as ``order`` ints in 0..d_out − 1 (None stays None), or raise naming it."""
    if species is None:
        return None
    if isinstance(species, str | bytes) or not isinstance(species, Sequence):
        raise ArgumentTypeError("species", f"must be {order} output indices, got {species!r}")
    idx = tuple(positive_int(i, "species", minimum=0) for i in species)
    if len(idx) != order:
        raise ShapeError("species", f"must have {order} entries, got {idx}")
    if max(idx) >= d_out:
        raise ArgumentError(
            "species",
            f"entries must be output indices in 0..{d_out - 1} (d_out = {d_out}), got {idx}",
        )
    return idx


def _two_point(
    src: _Source, X: np.ndarray, two_point: str
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The 2-point function standing in the GP terms, its standard error, and its name.

    ``"kernel"``: the infinite-width K (exact for a single hidden layer: seed rule 4.5).
    ``"nlo"``: K + K^{1}/n_{L−1} of a deep MLP (:func:`fieldnn.kernels.deep.nlo_kernel_correction`,
    RYH eq. 4.118), exact up to O(1/n²). ``"sampled"``: the estimate's own G⁽²⁾.
    ``"auto"``: "kernel" for a single hidden layer (SingleLayerNet, or an MLP with one hidden
    layer), "sampled" for an estimate of a deeper MLP, "nlo" for exact/array input of one.
    """
    if not isinstance(two_point, str) or two_point not in TWO_POINT:
        raise UnknownNameError("two_point", two_point, TWO_POINT)
    K = np.asarray(src.kernel(X, X))
    deep = hasattr(src.net, "widths") and len(src.net.widths) > 3
    choice = two_point
    if choice == "auto":
        choice = ("sampled" if src.kind == "sampled" else "nlo") if deep else "kernel"
    if choice == "kernel":
        return K, None, "kernel"
    if choice == "nlo":
        if not hasattr(src.net, "widths"):
            raise ArgumentError("two_point", '"nlo" needs an MLP as kernel= (or as source)')
        from ..kernels.deep import nlo_kernel_correction

        net = src.net
        K1 = nlo_kernel_correction(net.activation, X, C_W=net.C_W, C_b=net.C_b, widths=net.widths)
        return K + np.asarray(K1) / net.widths[-2], None, "nlo"
    if src.kind != "sampled":
        raise ArgumentError("two_point", '"sampled" needs a CorrelatorEstimate as source')
    g2 = np.asarray(src.full(2))
    se2 = np.asarray(src.stderr(2))
    if g2.ndim != 2:  # d_out > 1: species-diagonal block, averaged over species (SO(d_out))
        g2 = np.mean([g2[:, :, i, i] for i in range(src.d_out)], axis=0)
        se2 = np.mean([se2[:, :, i, i] for i in range(src.d_out)], axis=0)
    return g2, se2, "sampled"


def _gp_moment_error(
    K: np.ndarray, se: np.ndarray, idx: Sequence[int], species: Sequence[int] | None = None
) -> float:
    """Standard error of :func:`_gp_moment` from independent errors ``se`` of the entries of K
    (linear propagation; the correlation with G⁽ⁿ⁾ of the same ensemble is not used, which
    overstates the error of GP − G⁽ⁿ⁾ because the two are positively correlated)."""
    grad: dict[tuple[int, int], float] = {}
    for p in pairings(list(range(len(idx)))):
        if species is not None and not all(species[a] == species[b] for a, b in p):
            continue
        entries = [tuple(sorted((idx[a], idx[b]))) for a, b in p]
        for m, e in enumerate(entries):
            rest = np.prod([K[o] for q, o in enumerate(entries) if q != m])
            grad[e] = grad.get(e, 0.0) + float(rest)
    return float(np.sqrt(sum((g * se[e]) ** 2 for e, g in grad.items())))


def _check_integrals(integ: np.ndarray, ierr: np.ndarray, tup: np.ndarray, what: str) -> None:
    """Refuse tuples whose vertex integral is zero, or zero within its quadrature error:
    λ_m (κ_m) = numerator/integral is undefined there (a noise-level integral gives ~1e50)."""
    bad = ~(np.abs(integ) > 4.0 * np.abs(ierr))
    if np.any(bad):
        i = int(np.nonzero(bad)[0][0])
        raise ArgumentError(
            "tuples",
            f"the {what} vertex integral of the input tuple {tup[i].tolist()} is "
            f"{integ[i]:.3g} ± {ierr[i]:.2g}, zero within its quadrature error "
            f"({int(bad.sum())} such tuple(s)): the coupling is undefined there; leave these "
            "tuples out (tuples=) or change legs/cutoff",
        )


def _leg_subtract(src: _Source, legs: str) -> float:
    if legs not in LEGS:
        raise UnknownNameError("legs", legs, LEGS)
    if legs == "full":
        return 0.0
    if src.sigma_b2 is None:
        raise ArgumentError("sigma_b2", 'legs="subtract_bias" needs σ_b² (pass sigma_b2=)')
    return src.sigma_b2


def cutoff_ladder(cutoff: float, X: np.ndarray) -> list[float]:
    """Breakpoints for box integrals whose integrand lives at ``|y|`` ≲ 1 inside a large box.

    0, ±Λ·10⁻ᵏ (k = 1, 2, … while ≥ 1) and, for d_in = 1, the input coordinates. A panel of the
    adaptive rule spanning many decades can miss a peak of width O(1) at its end (a Gauss-net
    leg with ``legs="subtract_bias"`` decays like a Gaussian); splitting the box at every decade
    prevents that.
    """
    pts = {0.0}
    if not math.isfinite(cutoff):  # ℝ^d: the decades ±1, ±10, ±100 (peaks of width O(1))
        pts.update(sign * 10.0**k for k in range(3) for sign in (1.0, -1.0))
        cutoff = math.inf
    k = 1
    while math.isfinite(cutoff) and cutoff * 10.0**-k >= 1.0:
        pts.update((cutoff * 10.0**-k, -cutoff * 10.0**-k))
        k += 1
    if X.shape[1] == 1:
        pts.update(float(x) for x in X[:, 0] if abs(x) < cutoff)
    return sorted(pts)


def _check_progress(progress: Any) -> bool:
    if not isinstance(progress, bool):
        raise ArgumentTypeError("progress", f"must be True or False, got {progress!r}")
    return progress


@contextmanager
def _stages(progress: bool, desc: str, total: int) -> Iterator[Any]:
    """A tqdm bar over ``total`` stages if ``progress``, else None (tqdm is imported only
    when asked for); closed when the block ends, also on an error."""
    if not progress:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, leave=False)
    try:
        yield bar
    finally:
        bar.close()


def _counted(kernel: Callable, bar: Any) -> Callable:
    """``kernel`` that shows on ``bar`` how many kernel entries it has evaluated so far."""
    count = 0

    def counted(A: Any, B: Any) -> Any:
        nonlocal count
        out = kernel(A, B)
        count += int(np.size(out))
        bar.set_postfix_str(f"{count} kernel entries")
        return out

    return counted


def _vertex_integrals(
    kernel: Callable,
    X: np.ndarray,
    tuples: np.ndarray,
    *,
    cutoff: float,
    subtract: float,
    self_loops: int = 0,
    rtol: float,
) -> tuple[np.ndarray, np.ndarray]:
    from ..integrals import vertex_integral

    res = vertex_integral(
        kernel,
        X[tuples],
        cutoff=cutoff,
        subtract=subtract,
        self_loops=self_loops,
        rtol=rtol,
        breakpoints=cutoff_ladder(cutoff, X),
    )
    return np.asarray(res.values, dtype=np.float64), np.asarray(res.errors, dtype=np.float64)


def _species_block(G: np.ndarray, order: int, species: Sequence[int] | None, d_out: int):
    """The input-index block of a correlator at fixed output species (d_out > 1)."""
    if d_out == 1:
        return G
    sp_idx = tuple(species) if species is not None else (0,) * order
    return G[(Ellipsis, *sp_idx)]


def _species_factor(species: Sequence[int] | None) -> float:
    """(δ_ij δ_kl + δ_ik δ_jl + δ_il δ_jk) for species (i,j,k,l); 3 for one species."""
    if species is None:
        return 3.0
    i, j, k, l = species
    return float((i == j) * (k == l) + (i == k) * (j == l) + (i == l) * (j == k))


# the summary shared by λ and κ measurements (``_summary``) and the setup they record
_SUMMARY_FIELDS = ("mean", "std", "mean_stderr", "relative_spread", "is_constant", "verdict")
_SETUP_FIELDS = ("legs", "cutoff", "source")


def _fields(result: Any, names: tuple[str, ...]) -> dict:
    """``{name: result.name}`` for ``names``, in that order (the ``to_dict`` of results)."""
    return {name: getattr(result, name) for name in names}


@dataclass(frozen=True)
class LambdaMeasurement:
    """λ_m per tuple of inputs and its summary (see :func:`measure_lambda`).

    Attributes
    ----------
    values : ndarray (T,)
        λ_m per tuple.
    tuples : ndarray (T, 4)
        Input indices of each tuple (all multisets of four inputs by default).
    stderr : ndarray (T,) or None
        Standard error of each λ_m propagated from the sampled G⁽⁴⁾ (None for exact input).
    numerators, integrals, integral_errors : ndarray (T,)
        GP − G⁽⁴⁾ and ∫ Π (K − s) per tuple (quadrature error estimate).
    mean, std : float
        Mean and population standard deviation (ddof = 0) of λ_m over tuples.
    mean_stderr : float or None
        Standard error of ``mean`` (upper bound: mean of the per-tuple errors, exact when the
        tuples are fully correlated, as they are for one ensemble).
    relative_spread : float
        std / ``|mean|``.
    is_constant : bool
        relative_spread ≤ ``spread_tolerance``.
    verdict : str
        One sentence for the report.
    legs, cutoff, source, species, conventions
    reliable : ndarray (T,) of bool or None
        Sampled input only: False where the tail diagnostic of the estimate rejects the error
        bar of the tuple's G⁽⁴⁾ (:meth:`~fieldnn.ensembles.CorrelatorEstimate.reliable`).
    """

    values: np.ndarray
    tuples: np.ndarray
    stderr: np.ndarray | None
    numerators: np.ndarray
    integrals: np.ndarray
    integral_errors: np.ndarray
    mean: float
    std: float
    mean_stderr: float | None
    relative_spread: float
    is_constant: bool
    verdict: str
    legs: str
    cutoff: float
    source: str
    species: tuple | None
    conventions: dict = field(default_factory=dict)
    reliable: np.ndarray | None = None

    def to_dict(self) -> dict:
        """Plain-JSON summary (per-tuple arrays included)."""
        return _fields(
            self, (*_SUMMARY_FIELDS, *_SETUP_FIELDS, "values", "stderr", "tuples", "conventions")
        )


def _summary(values: np.ndarray, stderr: np.ndarray | None, tol: float, name: str) -> dict:
    """The ``_SUMMARY_FIELDS`` of a λ or κ measurement from its per-tuple values."""
    mean = float(np.mean(values))
    std = float(np.std(values))
    rel = std / abs(mean) if mean != 0 else float("inf")
    mean_err = None if stderr is None else float(np.mean(stderr))
    constant = bool(rel <= tol)
    if constant:
        verdict = f"{name} is a measured constant: spread {rel:.2g} of the mean (≤ {tol:g})"
    else:
        verdict = (
            f"{name} is not a measured constant: its spread over tuples is {rel:.2g} of the mean "
            f"(> {tol:g})"
        )
    if stderr is not None and std < 2.0 * float(np.median(stderr)):
        verdict += "; the spread is within sampling noise (2× the median standard error)"
    return {
        "mean": mean,
        "std": std,
        "mean_stderr": mean_err,
        "relative_spread": rel,
        "is_constant": constant,
        "verdict": verdict,
    }


_TWO_POINT_TEXT = {
    "kernel": "kernel: the infinite-width GP kernel K (exact for one hidden layer)",
    "nlo": "nlo: K + K^{1}/n_{L-1} (RYH eq. 4.118; error O(1/n^2))",
    "sampled": "sampled: the estimate's own G2 (its error propagated)",
}


def _conventions(legs: str, cutoff: float, subtract: float, kind: str, extra: str) -> dict:
    return {
        "action": "P ∝ exp(−S), S = S_GP + ∫_{[−Λ,Λ]^d_in} (λ f⁴ + κ f⁶), no 1/k!",
        "formula": extra,
        "legs": legs,
        "leg_kernel": "K" if legs == "full" else f"K − σ_b² (σ_b² = {subtract:g})",
        "cutoff": cutoff,
        "box": "[−Λ, Λ]^d_in",
        "source": kind,
        "std": "population standard deviation over tuples (ddof = 0)",
        "sign": "λ > 0 ⇔ G4 below the GP value",
    }


def _index_tuples(tuples: Any, k: int, P: int) -> np.ndarray:
    """``tuples`` as a (T, k) int64 array of indices into P inputs, or raise naming it."""
    arr = real_array(tuples, "tuples")
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] != k:
        raise ShapeError(
            "tuples", f"must be (T, {k}) indices into the {P} inputs, T >= 1, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ArgumentTypeError("tuples", "entries must be integer indices")
    if arr.min() < 0 or arr.max() >= P:
        raise ArgumentError(
            "tuples", f"indices must be in 0..{P - 1}, got {arr.min():g}..{arr.max():g}"
        )
    return arr.astype(np.int64)


def measure_lambda(
    source: Any,
    X: Any,
    *,
    cutoff: float,
    legs: str = "full",
    kernel: Any = None,
    sigma_b2: float | None = None,
    tuples: Any = None,
    species: Sequence[int] | None = None,
    spread_tolerance: float = SPREAD_TOLERANCE,
    rtol: float = 1e-8,
    two_point: str = "auto",
    progress: bool = False,
) -> LambdaMeasurement:
    """Measure the quartic coupling λ_m(x₁..x₄) over tuples of inputs (seed 001, Sec. 3.3).

    Parameters
    ----------
    source : SingleLayerNet, CorrelatorEstimate or ndarray (P, P, P, P)
        A single-layer net (exact finite-width G⁽⁴⁾), a sampled estimate (errors propagated), or
        a full 4-point function.
    X : array (P, d_in)
        Inputs at which G⁽⁴⁾ is known; for an estimate they must be the inputs it was sampled
        at (checked against its provenance; a mismatch raises naming ``X``).
    cutoff : float
        Λ: the box [−Λ, Λ]^{d_in} of the vertex integral; ``math.inf`` for ℝ^{d_in} where the
        integral converges (e.g. a Gauss-net with ``legs="subtract_bias"``).
    legs : {"full", "subtract_bias"}
        Kernel on the legs of the integral: K or K − σ_b².
    kernel : net or callable K(X, Y) -> (P, Q), optional
        Required for an estimate or an array (the GP kernel, e.g. the net that was sampled);
        an ``MLP`` is accepted (its K(X, Y) is read from the stacked inputs).
    sigma_b2 : float, optional
        Output-bias variance for ``legs="subtract_bias"`` (default: the net's).
    tuples : array (T, 4) of int, optional
        Input-index tuples; default all multisets of four inputs.
    species : 4 ints, optional
        Output species (i, j, k, l) for d_out > 1 (default (0, 0, 0, 0)); the tree-level SO(d_out)
        vertex λ(f·f)² gives 8(δ_ij δ_kl + δ_ik δ_jl + δ_il δ_jk)λ ∫ K⁴ (seed, SO(d_out) slide).
    spread_tolerance : float
        Threshold on std/``|mean|`` for :attr:`LambdaMeasurement.is_constant`.
    rtol : float
        Relative tolerance of the vertex integrals (split at :func:`cutoff_ladder`).
    two_point : {"auto", "kernel", "nlo", "sampled"}
        The 2-point function G⁽²⁾ in the Wick (GP) terms. A single hidden layer has G⁽²⁾ = K
        exactly; a deep MLP at width n has G⁽²⁾ = K + K^{1}/n + O(1/n²), and subtracting the
        infinite-width K leaves a bias of the size of the signal. "kernel": K; "nlo":
        K + K^{1}/n_{L−1} (:func:`fieldnn.kernels.deep.nlo_kernel_correction`); "sampled":
        the estimate's G⁽²⁾ (its standard error is propagated). "auto": K for one hidden layer,
        "sampled" for an estimate of a deeper MLP, "nlo" for exact or array input of one. The
        choice is recorded in ``conventions["two_point"]``.
    progress : bool
        Show a progress bar (tqdm, on stderr) over the two stages — G⁽⁴⁾ and the 2-point
        function, then the vertex integrals — with the number of kernel entries evaluated so
        far. Worth it where the kernel has no closed form (tanh, swish, a user callable) at a
        large cutoff: Λ = 1000 takes seconds (``docs/benchmarks.md``).

    Returns
    -------
    LambdaMeasurement

    Raises
    ------
    ArgumentError
        Naming ``tuples`` if a vertex integral is zero within its quadrature error (λ_m is
        undefined there), ``X`` if an estimate was sampled at other inputs, ``species`` if it is
        out of range.

    Notes
    -----
    .. math::

        \\lambda_m = \\frac{K_{12}K_{34} + K_{13}K_{24} + K_{14}K_{23} - G^{(4)}_{1234}}
        {24\\int_{[-\\Lambda,\\Lambda]^{d}} \\prod_{a=1}^4 (K(x_a, y) - s)\\,d^{d}y}

    with s = 0 or σ_b² and K_ab in the numerator the 2-point function chosen by ``two_point``.
    The standard error of λ_m is stderr(G⁽⁴⁾)/(24 ∫) (and, for ``two_point="sampled"``, the
    propagated error of the Wick terms added in quadrature).

    References
    ----------
    arXiv:2008.08601, eq. (3.22) (λ_m) and Sec. 3.3.

    Examples
    --------
    A ReLU-net with σ_b = 0 in d_in = 1 is exactly f(x) = x F for x > 0 (and K(x, y) = 0 for
    y < 0), so λ is a constant, :math:`-5\\kappa_4(F)/(24\\langle F^2\\rangle^4\\Lambda^5)` with
    :math:`\\kappa_4(F) = 3(\\langle\\mathrm{relu}^4\\rangle -
    \\langle\\mathrm{relu}^2\\rangle^2)/N`:

    >>> from fieldnn.ensembles import SingleLayerNet
    >>> net = SingleLayerNet("relu", width=5, sigma_w2=1.0, sigma_b2=0.0)
    >>> m = measure_lambda(net, [[0.2], [0.6], [1.0]], cutoff=5.0)
    >>> bool(m.is_constant), round(m.mean, 12)
    (True, -0.0008)
    >>> kappa4, F2 = 3 * (3 / 2 - 1 / 4) / 5, 1 / 2
    >>> round(-5 * kappa4 / (24 * F2**4 * 5.0**5), 12)
    -0.0008
    """
    Xa = input_points(X)
    lam_cut = _cutoff(cutoff)
    tol = nonnegative_float(spread_tolerance, "spread_tolerance")
    progress = _check_progress(progress)
    src = _as_source(source, Xa, kernel, sigma_b2)
    s = _leg_subtract(src, legs)
    species = _check_species(species, 4, src.d_out)
    P = Xa.shape[0]
    tup = multisets(P, 4) if tuples is None else _index_tuples(tuples, 4, P)
    sp_sel = species if src.d_out > 1 else None
    sp_fac = _species_factor(sp_sel)
    if sp_fac == 0:
        raise ArgumentError(
            "species",
            f"the SO(d_out) vertex factor vanishes for species {species}: no pair "
            "structure δ_ij δ_kl + δ_ik δ_jl + δ_il δ_jk is nonzero, so λ does not enter G⁽⁴⁾",
        )
    with _stages(progress, "measure_lambda", 2) as bar:
        g4 = _species_block(src.full(4), 4, species, src.d_out)
        if g4.shape != (P,) * 4:
            raise ShapeError(
                "source", f"4-point function has shape {g4.shape}, expected {(P,) * 4}"
            )
        K2, se2, two_pt = _two_point(src, Xa, two_point)
        gp = np.array([_gp_moment(K2, t, sp_sel) for t in tup])
        num = gp - g4[tuple(tup.T)]
        if src.kind == "exact" and kernel is None and two_pt == "kernel":
            # single hidden layer: GP − G4 is exactly −G4_c = −N κ4(unit); read it directly (the
            # difference loses every digit once G4_c is below the rounding of GP, N ≳ 1e15)
            g4c = np.asarray(source.exact_connected(Xa, 4))
            num = -_species_block(g4c, 4, species, src.d_out)[tuple(tup.T)]
        if bar is not None:
            bar.update()
        legs_kernel = src.kernel if bar is None else _counted(src.kernel, bar)
        integ, ierr = _vertex_integrals(legs_kernel, Xa, tup, cutoff=lam_cut, subtract=s, rtol=rtol)
        if bar is not None:
            bar.update()
    _check_integrals(integ, ierr, tup, "λ")
    denom = 8.0 * sp_fac * integ
    values = num / denom
    stderr = None
    if src.stderr is not None:
        se4 = _species_block(src.stderr(4), 4, species, src.d_out)[tuple(tup.T)]
        if se2 is not None:
            se_gp = np.array([_gp_moment_error(K2, se2, t, sp_sel) for t in tup])
            se4 = np.hypot(se4, se_gp)
        stderr = np.abs(se4 / denom)
    reliable = None
    if src.reliable is not None:
        reliable = _species_block(src.reliable(4), 4, species, src.d_out)[tuple(tup.T)]
    summary = _summary(values, stderr, tol, "λ")
    conv = _conventions(
        legs, lam_cut, s, src.kind, "λ_m = (K12K34 + K13K24 + K14K23 − G4)/(24 ∫ Π_a (K_ay − s))"
    )
    conv["two_point"] = _TWO_POINT_TEXT[two_pt]
    return LambdaMeasurement(
        values=values,
        tuples=tup,
        stderr=stderr,
        numerators=num,
        integrals=integ,
        integral_errors=ierr,
        **summary,
        legs=legs,
        cutoff=lam_cut,
        source=src.kind,
        species=None if species is None else tuple(species),
        conventions=conv,
        reliable=reliable,
    )


@dataclass(frozen=True)
class KappaMeasurement:
    """κ per 6-tuple from δ′ and the seed's 6-point check (see :func:`measure_kappa`).

    Attributes
    ----------
    values : ndarray (T,)
        κ_m = −δ′/(720 ∫K⁶ + 360 Σ₁₅ K_mn ∫K⁴K_zz) per tuple.
    tuples : ndarray (T, 6)
    delta_prime : ndarray (T,)
        G⁽⁶⁾ − [G⁽⁶⁾_GP − 24 λ̄ Σ₁₅ K_mn ∫ K⁴].
    denominators : ndarray (T,)
        720 ∫K⁶ + 360 Σ₁₅ K_mn ∫K⁴K_zz.
    ratio : ndarray (T,)
        (G⁽⁶⁾_GP − 24 λ̄ Σ₁₅ K_mn ∫ K⁴)/G⁽⁶⁾: ≈ 1 when the λ-only action describes G⁽⁶⁾.
    ratio_gp : ndarray (T,)
        G⁽⁶⁾_GP/G⁽⁶⁾ (the free theory alone).
    stderr, ratio_stderr : ndarray (T,) or None
        Propagated from the sampled G⁽⁶⁾ (λ̄ taken as exact).
    lambda_bar : float
    mean, std, mean_stderr, relative_spread, is_constant, verdict, legs, cutoff, source,
    conventions : as in :class:`LambdaMeasurement`.
    reliable : ndarray (T,) of bool or None
        Sampled input only: False where the tail diagnostic rejects the tuple's G⁽⁶⁾ error bar.
    """

    values: np.ndarray
    tuples: np.ndarray
    delta_prime: np.ndarray
    denominators: np.ndarray
    ratio: np.ndarray
    ratio_gp: np.ndarray
    stderr: np.ndarray | None
    ratio_stderr: np.ndarray | None
    lambda_bar: float
    mean: float
    std: float
    mean_stderr: float | None
    relative_spread: float
    is_constant: bool
    verdict: str
    legs: str
    cutoff: float
    source: str
    conventions: dict = field(default_factory=dict)
    reliable: np.ndarray | None = None

    def to_dict(self) -> dict:
        """Plain-JSON summary."""
        return _fields(
            self,
            (
                *_SUMMARY_FIELDS,
                "lambda_bar",
                *_SETUP_FIELDS,
                "values",
                "ratio",
                "ratio_gp",
                "tuples",
                "conventions",
            ),
        )


def measure_kappa(
    source: Any,
    X: Any,
    *,
    cutoff: float,
    legs: str = "full",
    lambda_bar: float | None = None,
    kernel: Any = None,
    sigma_b2: float | None = None,
    tuples: Any = None,
    spread_tolerance: float = SPREAD_TOLERANCE,
    rtol: float = 1e-8,
    two_point: str = "auto",
) -> KappaMeasurement:
    """Extract κ from the 6-point function and the seed's 6-point check (seed 001, Sec. 3.3).

    Parameters
    ----------
    source, X, cutoff, legs, kernel, sigma_b2, spread_tolerance, rtol, two_point
        As in :func:`measure_lambda` (one output species); the chosen 2-point function
        stands in the Wick terms and on the external lines K_mn.
    lambda_bar : float, optional
        λ̄ of the λ-term; default the mean of :func:`measure_lambda` over all 4-multisets with
        the same source, cutoff and legs.
    tuples : array (T, 6) of int, optional
        Default: all multisets of six inputs.

    Returns
    -------
    KappaMeasurement

    Notes
    -----
    .. math::

        \\delta' = G^{(6)} - \\Bigl[\\sum_{15}K K K - 24\\bar\\lambda\\sum_{15}K_{mn}
        \\int K_{iy}K_{jy}K_{ky}K_{ly}\\Bigr]
        = -\\kappa\\Bigl[720\\int K_{1z}\\cdots K_{6z}
        + 360\\sum_{15}K_{mn}\\int K_{iz}K_{jz}K_{kz}K_{lz}K_{zz}\\Bigr].

    The tree diagram with two λ vertices is of the same order in 1/N as κ (λ ∝ 1/N,
    κ ∝ 1/N²); following the seed it is not included, so κ_m absorbs it. The legs and the
    self-loop K_zz carry K − s, the external K_mn and the GP term the full K.

    References
    ----------
    arXiv:2008.08601, Sec. 3.3 (δ′ and the 720 / 5400 coefficients).
    """
    Xa = input_points(X)
    lam_cut = _cutoff(cutoff)
    tol = nonnegative_float(spread_tolerance, "spread_tolerance")
    src = _as_source(source, Xa, kernel, sigma_b2)
    if src.d_out != 1:
        raise ArgumentError("source", "measure_kappa supports one output species (d_out = 1)")
    s = _leg_subtract(src, legs)
    P = Xa.shape[0]
    tup = multisets(P, 6) if tuples is None else _index_tuples(tuples, 6, P)
    if lambda_bar is not None:
        lambda_bar = finite_float(lambda_bar, "lambda_bar")
    g6 = src.full(6)
    if g6.shape != (P,) * 6:
        raise ShapeError("source", f"6-point function has shape {g6.shape}, expected {(P,) * 6}")
    K, se2, two_pt = _two_point(src, Xa, two_point)
    if lambda_bar is None:
        lam_meas = measure_lambda(
            source,
            Xa,
            cutoff=lam_cut,
            legs=legs,
            kernel=kernel,
            sigma_b2=sigma_b2,
            rtol=rtol,
            two_point=two_pt,
        )
        lambda_bar = lam_meas.mean
    lam_bar = float(lambda_bar)

    # the 4-leg integrals needed by the 15 (pair, quadruple) splittings of every 6-tuple
    quads = sorted({tuple(sorted(np.delete(t, pair))) for t in tup for pair in _PAIRS6})
    quad_arr = np.array(quads, dtype=np.int64)
    quad_index = {q: i for i, q in enumerate(quads)}
    i40, _ = _vertex_integrals(src.kernel, Xa, quad_arr, cutoff=lam_cut, subtract=s, rtol=rtol)
    i41, e41 = _vertex_integrals(
        src.kernel, Xa, quad_arr, cutoff=lam_cut, subtract=s, self_loops=1, rtol=rtol
    )
    i60, e60 = _vertex_integrals(src.kernel, Xa, tup, cutoff=lam_cut, subtract=s, rtol=rtol)
    sum40 = np.zeros(len(tup))
    sum41 = np.zeros(len(tup))
    for n, t in enumerate(tup):
        for pair in _PAIRS6:
            q = quad_index[tuple(sorted(np.delete(t, pair)))]
            kmn = K[t[pair[0]], t[pair[1]]]
            sum40[n] += kmn * i40[q]
            sum41[n] += kmn * i41[q]
    gp6 = np.array([_gp_moment(K, t) for t in tup])
    g6_t = g6[tuple(tup.T)]
    lam_pred = gp6 - 24.0 * lam_bar * sum40
    delta = g6_t - lam_pred
    denom = 720.0 * i60 + 360.0 * sum41
    denom_err = 720.0 * e60 + 360.0 * np.array(
        [
            sum(
                abs(K[t[a], t[b]]) * e41[quad_index[tuple(sorted(np.delete(t, (a, b))))]]
                for a, b in _PAIRS6
            )
            for t in tup
        ]
    )
    _check_integrals(denom, denom_err, tup, "κ")
    values = -delta / denom
    stderr = ratio_err = None
    if src.stderr is not None:
        se6 = src.stderr(6)[tuple(tup.T)]
        if se2 is not None:
            se6 = np.hypot(se6, [_gp_moment_error(K, se2, t) for t in tup])
        stderr = np.abs(se6 / denom)
        ratio_err = np.abs(lam_pred / g6_t**2) * se6
    reliable = None if src.reliable is None else src.reliable(6)[tuple(tup.T)]
    summary = _summary(values, stderr, tol, "κ")
    conv = _conventions(
        legs,
        lam_cut,
        s,
        src.kind,
        "κ_m = −δ′/(720 ∫ Π_6 (K_az − s) + 360 Σ_15 K_mn ∫ Π_4 (K_az − s) (K_zz − s))",
    )
    conv["lambda_bar"] = lam_bar
    conv["two_point"] = _TWO_POINT_TEXT[two_pt]
    conv["omitted"] = "the O(λ²) tree diagram (same order in 1/N as κ), as in the seed"
    return KappaMeasurement(
        values=values,
        tuples=tup,
        delta_prime=delta,
        denominators=denom,
        ratio=lam_pred / g6_t,
        ratio_gp=gp6 / g6_t,
        stderr=stderr,
        ratio_stderr=ratio_err,
        lambda_bar=lam_bar,
        **summary,
        legs=legs,
        cutoff=lam_cut,
        source=src.kind,
        conventions=conv,
        reliable=reliable,
    )


_PAIRS6 = tuple(combinations(range(6), 2))
