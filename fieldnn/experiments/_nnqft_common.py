"""Shared parts of the NN-QFT experiments: result base class, argument checks, setups, seeds
and the sampler call (private; see :mod:`fieldnn.experiments.nnqft`)."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validate import input_points, nonnegative_float, positive_int
from ..errors import ArgumentError, UnknownNameError
from ._nnqft_setups import NETS, Setup, published_setup
from .couplings import (
    LEGS,
    _gp_moment,
    multisets,
)

#: cutoff Λ at which λ, κ and the 6-point ratio are reported (documented choice)
DEFAULT_CUTOFF = 10.0
#: width at which λ is reported (λ ∝ 1/N exactly for one hidden layer: N·λ is also given)
DEFAULT_WIDTH = 10


class _Result:
    def to_dict(self) -> dict:
        """Plain-JSON-ready dict of the fields (arrays kept as arrays; see ``to_jsonable``)."""
        return asdict(self)  # type: ignore[call-overload]


def _iter(seq: Sequence, progress: bool, desc: str):
    if not progress:
        return seq
    from tqdm.auto import tqdm

    return tqdm(seq, desc=desc, leave=False)


@contextmanager
def _partial_on_failure(what: str, partial: Callable[[], Any]) -> Iterator[None]:
    """Keep the work of a long loop when it fails or is interrupted: the exception (also
    ``KeyboardInterrupt``) carries ``partial_result`` = ``partial()`` and a note saying so."""
    try:
        yield
    except BaseException as exc:
        exc.partial_result = partial()  # type: ignore[attr-defined]
        exc.add_note(
            f"{what}: the results completed before this failure are kept in the exception's "
            "`partial_result` attribute"
        )
        raise


def _check(
    *,
    activations: Any = (),
    legs: Any = (),
    widths: Any = (),
    cutoffs: Any = (),
    counts: dict[str, Any] | None = None,
) -> None:
    """Validate, before any work, the arguments an experiment would otherwise meet only deep in
    its loops (an unknown activation or leg convention, a bad width or cutoff in the middle of
    a list): each error names the argument."""
    from ..kernels import get_activation

    for a in [activations] if isinstance(activations, str) else activations:
        get_activation(a)
    for lg in [legs] if isinstance(legs, str) else legs:
        if not isinstance(lg, str) or lg not in LEGS:
            raise UnknownNameError("legs", lg, LEGS)
    for w in [widths] if isinstance(widths, numbers.Integral) else widths:
        positive_int(w, "width")
    for c in [cutoffs] if isinstance(cutoffs, numbers.Real) else cutoffs:
        nonnegative_float(c, "cutoff", strictly_positive=True)
    for name, value in (counts or {}).items():
        for v in value if isinstance(value, Sequence) else [value]:
            if v is not None:
                positive_int(v, name)


def _setup(activation: str, d_in: int, X: Any, sigma_w2: float | None, sigma_b2: float | None):
    if X is not None:
        X = input_points(X, "X")
    if X is None and activation in NETS:
        base = published_setup(activation, d_in)
    else:
        if X is None:
            raise ArgumentError("X", f"give inputs for activation {activation!r}")
        Xa = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        base = Setup(activation, Xa.shape[1], Xa, 1.0, 1.0)
        if base.d_in != d_in and d_in != 1:
            raise ArgumentError("d_in", f"does not match X with {base.d_in} columns")
    return Setup(
        base.activation,
        base.d_in,
        base.X if X is None else np.asarray(X, dtype=np.float64).reshape(len(X), -1),
        base.sigma_w2 if sigma_w2 is None else float(sigma_w2),
        base.sigma_b2 if sigma_b2 is None else float(sigma_b2),
    )


def loglog_slope(x: Any, y: Any) -> float:
    """Least-squares slope of log|y| against log x (NaN if fewer than two finite points)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(np.asarray(y, dtype=np.float64))
    ok = np.isfinite(y) & (y > 0) & (x > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def _seeds(rng: int, n: int) -> list[int]:
    return [int(s) for s in np.random.SeedSequence(rng).generate_state(n, dtype=np.uint32)]


def _estimate(net, X: np.ndarray, n_nets: int, orders: tuple[int, ...], rng: int):
    from ..ensembles import estimate_correlators

    return estimate_correlators(net, X, n_nets, orders=orders, rng=rng)


@dataclass(frozen=True)
class _ExactParts:
    """Width-independent pieces of the exact correlators of a single-layer net at the inputs.

    For one hidden layer f − b₁ is a sum of N iid units, so exactly G⁽⁴⁾_c(N) = c4/N and
    G⁽⁶⁾_c(N) = c6/N² (c4, c6: the connected correlators at N = 1); with G⁽²⁾ = K and vanishing
    odd orders, G⁽⁴⁾ = GP4 + c4/N and G⁽⁶⁾ = GP6 + S/N + c6/N², S = Σ₁₅ K_mn c4(rest).
    Values per multiset of inputs (``tuples4``, ``tuples6``).
    """

    K: np.ndarray
    tuples4: np.ndarray
    tuples6: np.ndarray
    gp4: np.ndarray
    gp6: np.ndarray
    c4: np.ndarray
    c6: np.ndarray
    s6: np.ndarray

    def full4(self, N: float) -> np.ndarray:
        return self.gp4 + self.c4 / N

    def full6(self, N: float) -> np.ndarray:
        return self.gp6 + self.s6 / N + self.c6 / N**2


def _exact_parts(st: Setup) -> _ExactParts:
    from itertools import combinations

    net = st.net(1)
    P = len(st.X)
    K = net.kernel(st.X)
    t4, t6 = multisets(P, 4), multisets(P, 6)
    c4 = np.asarray(net.exact_connected(st.X, 4))
    c6 = np.asarray(net.exact_connected(st.X, 6))[tuple(t6.T)]
    s6 = np.zeros(len(t6))
    for a, b in combinations(range(6), 2):
        rest = np.delete(t6, [a, b], axis=1)
        s6 += K[t6[:, a], t6[:, b]] * c4[tuple(rest.T)]
    return _ExactParts(
        K=K,
        tuples4=t4,
        tuples6=t6,
        gp4=np.array([_gp_moment(K, t) for t in t4]),
        gp6=np.array([_gp_moment(K, t) for t in t6]),
        c4=c4[tuple(t4.T)],
        c6=c6,
        s6=s6,
    )
