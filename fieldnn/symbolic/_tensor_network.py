r"""Feynman diagrams of the symbolic engine evaluated as tensor networks on P points (private).

A vertex :math:`\sum_{A_1\ldots A_k} t_{A_1\ldots A_k} f_{A_1}\cdots f_{A_k}` with a fully
symmetric coupling tensor t has the same Wick contractions, hence the same weights, as the local
vertex :math:`g\int d^{d_{\mathrm{in}}}y\, f(y)^k` of :class:`~fieldnn.symbolic.Theory` (the sum
over the P points takes the place of the integral). Each diagram of
``Theory({lambda: 4, kappa: 6}).correlator(n, order, connected=True)`` is therefore evaluated as
``weight × einsum(vertex tensors, propagators)``: the coupling tensors on the vertices and the
propagator D on every line (docs/conventions.md, section 3 for the weights).

Every quantity may be *graded*: a mapping ``{g: array}`` of its terms of order :math:`1/n^g`
(the quartic tensor starts at g = 1, the sextic at g = 2). :func:`evaluate` returns the terms of
the correlator of each total grade up to a maximum, multiplying out the grades of the vertices
and of the lines; with one grade per quantity it evaluates the plain (ungraded) sum.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping

import numpy as np
import sympy as sp

from ._theory import Theory

_LAM, _KAP = sp.symbols("lambda kappa")
#: Lowest 1/n order of each vertex type (index into ``Theory.couplings``): λ ~ 1/n, κ ~ 1/n².
_MIN_GRADE = (1, 2)
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

Graded = Mapping[int, np.ndarray]


@functools.lru_cache(maxsize=16)
def diagram_programs(
    n: int, order: int
) -> tuple[tuple[sp.Rational, tuple, str, tuple[int, ...]], ...]:
    """Connected diagrams of the n-point function with total vertex grade <= ``order``.

    Returns tuples (weight, operand kinds, einsum subscripts, vertex types): the weight is the
    engine's with λ = κ = 1 (sign and Wick count, an exact rational), the operand kinds are
    ``("v", type)`` for a vertex tensor and ``("d",)`` for a propagator.
    """
    theory = Theory({_LAM: 4, _KAP: 6})
    corr = theory.correlator(n, order=order, connected=True)
    programs = []
    for term in corr.terms:
        types = term.vertex_types
        if sum(_MIN_GRADE[t] for t in types) > order:
            continue
        weight = sp.Rational(term.weight.subs({_LAM: 1, _KAP: 1}))
        letters = iter(_LETTERS)
        externals = [next(letters) for _ in range(n)]
        half_edges: list[list[str]] = [[] for _ in types]
        operands: list[tuple] = []
        subscripts: list[str] = []
        for i, j, mult in term.lines():
            for _ in range(mult):
                ends = []
                for node in (i, j):
                    if node < n:
                        ends.append(externals[node])
                    else:
                        h = next(letters)
                        half_edges[node - n].append(h)
                        ends.append(h)
                operands.append(("d",))
                subscripts.append("".join(ends))
        for v, t in enumerate(types):
            operands.append(("v", t))
            subscripts.append("".join(half_edges[v]))
        spec = ",".join(subscripts) + "->" + "".join(externals)
        programs.append((weight, tuple(operands), spec, tuple(types)))
    return tuple(programs)


@functools.lru_cache(maxsize=512)
def _path(spec: str, shapes: tuple[tuple[int, ...], ...]) -> list:
    """The greedy contraction order of an einsum, computed once per subscripts and shapes."""
    dummies = [np.empty(shape) for shape in shapes]
    return np.einsum_path(spec, *dummies, optimize="greedy")[0]


def evaluate(
    n: int,
    order: int,
    propagator: Graded,
    vertices: tuple[Graded, Graded],
    *,
    grades: tuple[int, ...] | None = None,
) -> dict[int, np.ndarray]:
    """Connected n-point function of the action, by total 1/n grade.

    Parameters
    ----------
    n : int
        Number of external points.
    order : int
        Highest total grade kept (diagrams and grade assignments beyond it are dropped).
    propagator : mapping grade -> ndarray (S, S)
        Terms of the propagator D.
    vertices : (quartic, sextic), each a mapping grade -> ndarray (S,)*k
        Terms of the vertex tensors in the engine's normalisation (S ⊃ Σ t f…f, no 1/k!).
    grades : tuple of int, optional
        Which total grades to return (default: 0..order).

    Returns
    -------
    dict grade -> ndarray (S,)*n
    """
    first = next(iter(propagator.values()))
    size, exact = first.shape[0], first.dtype == object
    wanted = tuple(range(order + 1)) if grades is None else grades
    out = {g: np.zeros((size,) * n, dtype=first.dtype) for g in wanted}
    for rational, operands, spec, _ in diagram_programs(n, order):
        weight = rational if exact else float(rational)
        choices = []
        for kind in operands:
            source = propagator if kind[0] == "d" else vertices[kind[1]]
            choices.append([(g, a) for g, a in source.items()])
        for combo in itertools.product(*choices):
            total = sum(g for g, _ in combo)
            if total not in out:
                continue
            arrays = [a for _, a in combo]
            path = _path(spec, tuple(a.shape for a in arrays)) if not exact else "greedy"
            out[total] += weight * np.einsum(spec, *arrays, optimize=path)
    return out


def inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric matrix, exact (sympy) for object arrays."""
    if matrix.dtype == object:
        return np.array(sp.Matrix(matrix).inv(), dtype=object)
    inv = np.linalg.inv(matrix)
    return 0.5 * (inv + inv.T)


def amputate(tensor: np.ndarray, inverse_propagator: np.ndarray) -> np.ndarray:
    """Contract every index of ``tensor`` with the symmetric inverse propagator H."""
    S = inverse_propagator.shape[0]
    out = tensor
    for axis in range(tensor.ndim):
        out = np.matmul(inverse_propagator, out.reshape(S**axis, S, -1)).reshape(tensor.shape)
    return out
