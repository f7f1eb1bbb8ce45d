r"""LaTeX of Feynman diagrams and correlators, built from the adjacency matrices as strings.

Two styles (:meth:`Correlator.latex`):

- ``"full"``: every labelled diagram, in the order of ``Correlator.terms``;
- ``"paper"``: one summand per topology, ``w \big[ B + (m-1)\ \text{perms} \big]`` with the
  representative's weight ``w`` and body ``B`` and the number ``m`` of distinct relabelings of
  the external points in the class (or the explicit orbit, ``orbits=True``), as papers print them.

In both, factors that join external points only stand before the integrals, and each connected
piece with internal points gets its own ``\int``; lines can be broken for ``multline``/``align``.
Nothing here calls sympy's printer per factor (only once per distinct weight), so the text of a
correlator costs less than its derivation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sympy as sp

from ..errors import ArgumentError, DiagramError
from ._graphs import components

if TYPE_CHECKING:
    from ._correlator import Correlator, Term

MEASURE = r"d^{d_{\mathrm{in}}}"
STYLES = ("full", "paper")
ENVIRONMENTS = ("multline", "multline*", "align", "align*")


def _point(i: int, n: int) -> tuple[str, int]:
    """('x', a) for external row i < n, ('y', v) for internal row i (1-based indices)."""
    return ("x", i + 1) if i < n else ("y", i - n + 1)


def _name(point: tuple[str, int]) -> str:
    return f"{point[0]}_{{{point[1]}}}"


def _propagator(p: tuple[str, int], q: tuple[str, int], power: int, subscripts: bool) -> str:
    if subscripts:
        parts = [str(k) if s == "x" else f"y_{{{k}}}" for s, k in (p, q)]
        sep = "," if any(s == "x" and k > 9 for s, k in (p, q)) else ""
        text = f"K_{{{sep.join(parts)}}}"
    else:
        text = f"K({_name(p)}, {_name(q)})"
    return text if power == 1 else f"{text}^{{{power}}}"


def term_body(term: Term, *, amputated: bool = False, subscripts: bool = False) -> str:
    r"""The diagram without its weight: ``K(x_{1}, x_{2}) \int d^{d_in}y_{1}\, K(x_{3}, y_{1}) …``.

    Propagators among external points only come first; then one integral per connected piece
    with internal points (its measure, then its propagators), ordered by their first factor.
    Within a piece, factors are ordered x before y, then by index. ``amputated`` removes the
    external legs: the vertex of the first leg becomes that external point and each further leg
    on it a ``\delta(x_b - x_a)`` (see :meth:`Term.integrand`).
    """
    n = term.n_external
    A = term.matrix
    point = [_point(i, n) for i in range(len(A))]
    deltas: list[tuple[tuple, str]] = []
    if amputated:
        if any(A[a][b] for a in range(n) for b in range(n)):
            raise DiagramError("amputated", "a bare propagator K(x_a, x_b) has no vertex")
        for a in range(n):
            v = next(i for i in range(n, len(A)) if A[a][i])
            if point[v][0] == "y":
                point[v] = ("x", a + 1)
            else:
                key = (point[v], ("x", a + 1))
                deltas.append((key, rf"\delta({_name(key[1])} - {_name(key[0])})"))
    lines = [(i, j, m) for i, j, m in term.lines() if not (amputated and i < n)]
    pieces: list[list[tuple[tuple, str]]] = []
    integrated: list[list[str]] = []
    for comp in components(A):
        nodes = set(comp)
        factors = []
        for i, j, m in lines:
            if i in nodes:
                p, q = sorted((point[i], point[j]))
                factors.append(((p, q), _propagator(p, q, m, subscripts)))
        factors.extend(d for d in deltas if any(point[i] == d[0][0] for i in comp if i >= n))
        if not factors:
            continue
        factors.sort(key=lambda f: f[0])
        pieces.append(factors)
        integrated.append([_name(point[i]) for i in sorted(comp) if i >= n and point[i][0] == "y"])
    # external-only pieces first, then integrals, each ordered by its first factor
    order = sorted(range(len(pieces)), key=lambda k: (bool(integrated[k]), pieces[k][0][0]))
    head = [f for k in order if not integrated[k] for f in pieces[k]]
    head.sort(key=lambda f: f[0])
    out = [text for _, text in head]
    for k in order:
        if integrated[k]:
            measure = r"\int " + "".join(f"{MEASURE}{y}\\, " for y in integrated[k])
            out.append(measure + " ".join(text for _, text in pieces[k]))
    return " ".join(out)


class _Weights:
    """Sign and magnitude text of weights, printed once per distinct weight."""

    def __init__(self) -> None:
        self._cache: dict[sp.Expr, tuple[str, str]] = {}

    def __call__(self, weight: sp.Expr) -> tuple[str, str]:
        if weight not in self._cache:
            negative = weight.could_extract_minus_sign()
            mag = -weight if negative else weight
            self._cache[weight] = ("-" if negative else "+", "" if mag == 1 else sp.latex(mag))
        return self._cache[weight]


def _summand(sign: str, mag: str, body: str, first: bool) -> str:
    text = f"{mag} {body}" if mag and body else (mag or body or "1")
    if first:
        return text if sign == "+" else f"-{text}"
    return f"{sign} {text}"


def _perms(count: int) -> str:
    return rf"{count}\ \text{{perm{'s' if count > 1 else ''}}}"


def correlator_latex(
    corr: Correlator,
    *,
    style: str = "full",
    subscripts: bool = False,
    orbits: bool = False,
    per_line: int | None = None,
    environment: str | None = None,
    lhs: str | None = None,
) -> str:
    """LaTeX of a correlator; see :meth:`Correlator.latex` for the parameters."""
    if style not in STYLES:
        raise ArgumentError("style", f"must be one of {STYLES}, got {style!r}")
    if environment is not None and environment not in ENVIRONMENTS:
        raise ArgumentError("environment", f"must be one of {ENVIRONMENTS} or None")
    if per_line is not None and (isinstance(per_line, bool) or not isinstance(per_line, int)):
        raise ArgumentError("per_line", f"must be a positive int or None, got {per_line!r}")
    if per_line is not None and per_line < 1:
        raise ArgumentError("per_line", f"must be >= 1, got {per_line}")
    if orbits and style != "paper":
        raise ArgumentError("orbits", "lists the orbits of style='paper' only")
    weights = _Weights()
    amputated = corr.amputated
    summands: list[str] = []
    if style == "full":
        for term in corr.terms:
            sign, mag = weights(term.weight)
            body = term_body(term, amputated=amputated, subscripts=subscripts)
            summands.append(_summand(sign, mag, body, not summands))
    else:
        groups: dict[tuple, list[Term]] = {}
        for term in corr.terms:
            groups.setdefault(term.topology_key, []).append(term)
        for members in groups.values():
            bodies = [term_body(t, amputated=amputated, subscripts=subscripts) for t in members]
            if len({t.weight for t in members}) == 1:  # w [B + perms]
                sign, mag = weights(members[0].weight)
                if len(members) == 1:
                    body = bodies[0]
                elif orbits:
                    body = r"\Big[" + " + ".join(bodies) + r"\Big]"
                else:
                    body = rf"\Big[{bodies[0]} + {_perms(len(members) - 1)}\Big]"
                summands.append(_summand(sign, mag, body, not summands))
                continue
            # weights differ along the orbit (species labels): each weight stays with its diagram
            inner = [
                _summand(*weights(t.weight), b, k == 0)
                for k, (t, b) in enumerate(zip(members, bodies, strict=True))
            ]
            if not orbits:
                inner = [inner[0], f"+ {_perms(len(members) - 1)}"]
            summands.append(_summand("+", "", r"\Big[" + " ".join(inner) + r"\Big]", not summands))
    if not summands:
        summands = ["0"]
    return _lines(summands, per_line, environment, lhs)


def _lines(
    summands: Sequence[str], per_line: int | None, environment: str | None, lhs: str | None
) -> str:
    if per_line is None and environment is not None:
        per_line = 3
    if per_line is None:
        body = " ".join(summands)
        return body if lhs is None else f"{lhs} = {body}"
    rows = [" ".join(summands[k : k + per_line]) for k in range(0, len(summands), per_line)]
    aligned = environment is not None and environment.startswith("align")
    first = "" if lhs is None else (f"{lhs} &= " if aligned else f"{lhs} = ")
    if aligned and lhs is None:
        first = "&"
    cont = r"&\quad " if aligned else ""
    text = (" \\\\\n").join([first + rows[0], *(cont + r for r in rows[1:])])
    if environment is None:
        return text
    return f"\\begin{{{environment}}}\n{text}\n\\end{{{environment}}}"
