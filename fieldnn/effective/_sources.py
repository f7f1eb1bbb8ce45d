"""Connected correlators of the sources an effective action can be built from (private).

Each reader returns a :class:`Correlators`: the two-, four- and six-point functions as *graded*
mappings {power of 1/n: tensor} on the combined index A = (input a, output i), S = P d_out
(a major, i minor), plus standard errors for a sampled source. Conventions:
docs/conventions.md, sections 1 and 7.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import input_points, real_array
from ..errors import ArgumentError, ArgumentTypeError, ShapeError, UnsupportedError

#: Largest number of entries of a six-index tensor on the combined index (order 2).
MAX_SIX_POINT_ENTRIES = 2**24


@dataclass
class Correlators:
    """Graded correlators on the combined index, with their provenance."""

    two: dict[int, np.ndarray]
    four: dict[int, np.ndarray]
    six: dict[int, np.ndarray]
    n_inputs: int
    d_out: int
    source: str
    replicas: list[dict[int, np.ndarray]] = field(default_factory=list)


def combine(tensor: np.ndarray, n: int, P: int, d: int) -> np.ndarray:
    """(P,)*n + (d,)*n -> (P d,)*n with the combined index a*d + i (identity for d = 1)."""
    if d == 1:
        return tensor
    axes = [k for j in range(n) for k in (j, n + j)]
    return np.transpose(tensor, axes).reshape((P * d,) * n)


def split(tensor: np.ndarray, n: int, P: int, d: int) -> np.ndarray:
    """Inverse of :func:`combine`."""
    if d == 1:
        return tensor
    t = tensor.reshape((P, d) * n)
    return np.transpose(t, [2 * j for j in range(n)] + [2 * j + 1 for j in range(n)])


def _pairing_four(V: np.ndarray, d: int) -> np.ndarray:
    """δ_ij δ_kl V_(ab)(cd) + 2 perms on the combined index (d outputs)."""
    P = V.shape[0]
    e = np.eye(d)
    t = (
        np.einsum("abcd,ij,kl->aibjckdl", V, e, e)
        + np.einsum("acbd,ik,jl->aibjckdl", V, e, e)
        + np.einsum("adbc,il,jk->aibjckdl", V, e, e)
    )
    return t.reshape((P * d,) * 4)


def check_distinct_rows(X: np.ndarray, argument: str = "X") -> None:
    """Raise naming ``argument`` and the rows if two inputs coincide (singular kernel)."""
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for row, group in enumerate(inverse):
        if first[group] != row:
            raise ArgumentError(
                argument,
                f"rows {first[group]} and {row} are identical inputs, so the kernel is singular "
                "and the action (which needs its inverse) does not exist; remove duplicated rows",
            )


def check_invertible(G0: np.ndarray, argument: str) -> None:
    """Raise naming ``argument`` if the two-point function is (numerically) singular."""
    if not np.all(np.isfinite(G0)):
        raise ArgumentError(argument, "the two-point function contains NaN or infinite entries")
    cond = np.linalg.cond(G0)
    if not np.isfinite(cond) or cond > 1e12:
        raise ArgumentError(
            argument,
            f"the two-point function is numerically singular (condition number {cond:.3g} > "
            "1e12): nearly coincident inputs; remove or merge them",
        )


def check_size(S: int, order: int, argument: str = "X") -> None:
    if order >= 2 and S**6 > MAX_SIX_POINT_ENTRIES:
        raise UnsupportedError(
            argument,
            f"order 2 needs six-index tensors with (P*d_out)^6 = {S**6} entries, more than the "
            f"limit {MAX_SIX_POINT_ENTRIES}; use fewer inputs or order=1",
        )


def from_single_layer(net: Any, X: Any, order: int) -> Correlators:
    """Exact finite-width cumulants: G2 = K (exact), G4c ∝ 1/N, G6c ∝ 1/N²."""
    X = input_points(X, "X", d_in=net.d_in)
    check_distinct_rows(X)
    P, d = X.shape[0], net.d_out
    check_size(P * d, order)
    two = {0: combine(net.exact_connected(X, 2), 2, P, d)}
    four = {1: combine(net.exact_connected(X, 4), 4, P, d)}
    six = {2: combine(net.exact_connected(X, 6), 6, P, d)} if order >= 2 else {}
    return Correlators(two, four, six, P, d, f"exact single-layer cumulants ({net!r})")


def _pairing_six(U6: np.ndarray, d: int) -> np.ndarray:
    """Σ over the 15 pairings of six (input, output) indices of U6[pair inputs] Π δ(outputs),
    on the combined index; U6 (P,)*6 is κ(Ĝ_{a1b1}, Ĝ_{a2b2}, Ĝ_{a3b3})."""
    P = U6.shape[0]
    e = np.eye(d)
    inputs, outputs = "abcdef", "ghijkl"
    t = np.zeros((P,) * 6 + (d,) * 6)
    for pairing in _pairings(list(range(6))):
        u = "".join(inputs[i] + inputs[j] for i, j in pairing)
        deltas = ",".join(outputs[i] + outputs[j] for i, j in pairing)
        t += np.einsum(f"{u},{deltas}->{inputs}{outputs}", U6, e, e, e)
    return combine(t, 6, P, d) if d > 1 else t.reshape((P,) * 6)


def _pairings(items: list[int]) -> list[list[tuple[int, int]]]:
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    return [
        [(first, b), *p] for k, b in enumerate(rest) for p in _pairings(rest[:k] + rest[k + 1 :])
    ]


def _mlp_second_order(mlp: Any, X: np.ndarray, n: int) -> Correlators:
    """Order 2: K, K^{1}/n, K^{2}/n², V/n, V^{1}/n² and U/n² at one input (any σ) or P inputs
    (smooth σ, relu, leaky relu, linear), with the pairings over the outputs."""
    P, d = X.shape[0], mlp.d_out
    check_size(P * d, 2)
    e = np.eye(d)
    hyper = {"C_W": list(mlp.C_W), "C_b": list(mlp.C_b), "widths": list(mlp.widths)}
    if P == 1:
        from ..kernels import single_input_cumulants

        c = single_input_cumulants(mlp.activation, X[0], **hyper)
        K, K1, K2 = (np.full((1, 1), getattr(c, k)[-1]) for k in ("K", "K1", "K2"))
        V, V1 = (np.full((1,) * 4, getattr(c, k)[-1]) for k in ("V", "V1"))
        U = np.full((1,) * 6, c.U[-1])
        what = "single-input"
    else:
        from ..kernels import multi_input_cumulants

        cm = multi_input_cumulants(mlp.activation, X, **hyper)
        K, K1, K2 = (cm.matrix(getattr(cm, k)[-1]) for k in ("K", "K1", "K2"))
        V, V1 = (cm.tensor(getattr(cm, k)[-1]) for k in ("V", "V1"))
        U = cm.tensor(cm.U[-1])
        what = f"{P}-input"
    two = {0: np.kron(K, e), 1: np.kron(K1 / n, e), 2: np.kron(K2 / n**2, e)}
    four = {1: _pairing_four(V / n, d), 2: _pairing_four(V1 / n**2, d)}
    six = {2: _pairing_six(U / n**2, d)}
    return Correlators(
        two,
        four,
        six,
        P,
        d,
        f"{what} recursions K, K^{{1}}, K^{{2}}, V, V^{{1}}, U at n = {n} ({mlp!r})",
    )


def from_mlp(mlp: Any, X: Any, order: int) -> Correlators:
    """K, K^{1}/n and V/n of the deep recursions (n = n_{L-1}); at order 2, for one input (any
    σ) or P inputs (smooth σ, relu, leaky relu, linear), also K^{2}/n², V^{1}/n² and the
    six-point vertex U/n² (:func:`~fieldnn.kernels.single_input_cumulants`,
    :func:`~fieldnn.kernels.multi_input_cumulants`)."""
    from ..kernels.deep import nlo_kernel_correction

    X = input_points(X, "X", d_in=mlp.d_in)
    check_distinct_rows(X)
    P, d = X.shape[0], mlp.d_out
    n = mlp.widths[-2]
    e = np.eye(d)
    if order >= 2:
        return _mlp_second_order(mlp, X, n)
    K = mlp.kernel(X)
    K1 = nlo_kernel_correction(
        mlp.activation, X, C_W=list(mlp.C_W), C_b=list(mlp.C_b), widths=list(mlp.widths)
    )
    V = mlp.four_point_vertex(X)
    two = {0: np.kron(K, e), 1: np.kron(K1 / n, e)}
    four = {1: _pairing_four(V / n, d)}
    return Correlators(two, four, {}, P, d, f"deep recursions K, K^{{1}}, V at n = {n} ({mlp!r})")


def _shape_of(two: np.ndarray, argument: str) -> tuple[int, int]:
    if two.ndim == 2 and two.shape[0] == two.shape[1]:
        return two.shape[0], 1
    if two.ndim == 4 and two.shape[0] == two.shape[1] and two.shape[2] == two.shape[3]:
        return two.shape[0], two.shape[2]
    raise ShapeError(
        argument,
        f"the two-point function must have shape (P, P) or (P, P, d_out, d_out), got {two.shape}",
    )


def _check_tensor(t: np.ndarray, n: int, P: int, d: int, argument: str) -> None:
    want = (P,) * n + ((d,) * n if d > 1 else ())
    if t.shape != want:
        raise ShapeError(
            argument,
            f"the {n}-point function must have shape {want} (P = {P}, d_out = {d}), got {t.shape}",
        )
    if not np.all(np.isfinite(t)):
        raise ArgumentError(argument, f"the {n}-point function contains NaN or infinite entries")


def from_estimates(estimates: Sequence[Any], X: Any, order: int) -> Correlators:
    """Sampled connected correlators: their mean over independent replicas, and each replica.

    One estimate gives couplings without errors; two or more (independent seeds) also give the
    replicas for the jackknife of :func:`~fieldnn.effective.effective_action`.
    """
    needed = 4 if order == 1 else 6
    orders = (2, 4, 6)[: needed // 2]
    per: list[dict[int, np.ndarray]] = []
    for k, est in enumerate(estimates):
        try:
            tensors = {n: est.connected(n) for n in orders}
        except ArgumentError:
            raise UnsupportedError(
                "order",
                f"order={order} needs the sampled connected {needed}-point function; estimate "
                f"with orders up to {needed} (estimate_correlators(..., orders={orders}))",
            ) from None
        P, d = _shape_of(tensors[2], "source")
        if per and (P, d) != (per[0]["P"], per[0]["d"]):
            raise ShapeError(
                "source",
                f"estimate {k} has (P, d_out) = {(P, d)}, the first {per[0]['P'], per[0]['d']}",
            )
        per.append({"P": P, "d": d, **{n: combine(t, n, P, d) for n, t in tensors.items()}})
    P, d = per[0]["P"], per[0]["d"]
    if X is not None:
        Xa = input_points(X, "X")
        if Xa.shape[0] != P:
            raise ShapeError("X", f"has {Xa.shape[0]} rows but the estimate has P = {P} inputs")
        check_distinct_rows(Xa)
    check_size(P * d, order)
    replicas = [{n: r[n] for n in orders} for r in per]
    mean = {n: sum(r[n] for r in replicas) / len(replicas) for n in orders}
    six = {2: mean[6]} if order >= 2 else {}
    source = f"sampled estimate{'s' if len(per) > 1 else ''} ({', '.join(map(repr, estimates))})"
    return Correlators(
        {0: mean[2]}, {1: mean[4]}, six, P, d, source, replicas if len(per) > 1 else []
    )


def from_arrays(source: Any, X: Any, order: int) -> Correlators:
    """(G2, G4c[, G6c]) or {2: G2, 4: G4c[, 6: G6c]} given by the user."""
    if isinstance(source, Mapping):
        items = dict(source)
        bad = [k for k in items if k not in (2, 4, 6)]
        if bad:
            raise ArgumentError("source", f"keys must be 2, 4 and 6 (orders), got {bad}")
    elif isinstance(source, Sequence) and not isinstance(source, str | bytes):
        if not 2 <= len(source) <= 3:
            raise ArgumentError(
                "source", f"must be (G2, G4c) or (G2, G4c, G6c), got {len(source)} arrays"
            )
        items = dict(zip((2, 4, 6), source, strict=False))
    else:
        raise ArgumentTypeError(
            "source",
            "must be a SingleLayerNet, an MLP, a CorrelatorEstimate, (G2, G4c[, G6c]) or "
            f"{{2: G2, 4: G4c[, 6: G6c]}}, got {type(source).__name__}",
        )
    if 2 not in items or 4 not in items:
        raise ArgumentError("source", "needs the two-point function and the connected 4-point one")
    if order >= 2 and 6 not in items:
        raise UnsupportedError(
            "order", "order=2 needs the connected six-point function (G6c) in 'source'"
        )
    arrays = {n: real_array(items[n], "source") for n in items if n <= 2 * (order + 1)}
    P, d = _shape_of(arrays[2], "source")
    for n, t in arrays.items():
        _check_tensor(t, n, P, d, "source")
    if X is not None:
        Xa = input_points(X, "X")
        if Xa.shape[0] != P:
            raise ShapeError("X", f"has {Xa.shape[0]} rows but the correlators have P = {P}")
        check_distinct_rows(Xa)
    check_size(P * d, order, "source")
    comb = {n: combine(t, n, P, d) for n, t in arrays.items()}
    six = {2: comb[6]} if order >= 2 else {}
    return Correlators({0: comb[2]}, {1: comb[4]}, six, P, d, "user-supplied correlators")
