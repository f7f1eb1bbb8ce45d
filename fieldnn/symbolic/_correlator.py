"""Result containers of :meth:`Theory.correlator`: :class:`Term` and :class:`Correlator`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import networkx as nx
import sympy as sp

from ..errors import DiagramError
from ._graphs import canonical_form, components
from ._latex import correlator_latex, term_body
from ._tikz import correlator_tikz, terms_tikz

if TYPE_CHECKING:
    from ._theory import Theory

#: The GP kernel K(x, y) (the propagator) as an undefined sympy function.
K = sp.Function("K")
#: Half-width Λ of the integration box [-Λ, Λ]^{d_in} of every internal point.
CUTOFF = sp.Symbol("Lambda", positive=True)


def point_symbol(a: int) -> sp.Symbol:
    """External point x_a (1-based)."""
    return sp.Symbol(f"x_{a}")


def vertex_symbol(v: int) -> sp.Symbol:
    """Internal point y_v (1-based); a vector in R^{d_in}, see docs/conventions.md."""
    return sp.Symbol(f"y_{v}")


@dataclass(eq=False)
class Term:
    """One Feynman diagram of a correlator.

    Attributes
    ----------
    weight : sympy.Expr
        Sign × couplings × (number of Wick contractions giving the diagram) / Π n_k!, times
        the O(N) index factor (Kronecker deltas, powers of N) when the theory has species.
    graph : networkx.MultiGraph
        Nodes ``"x1" … "xn"`` (``kind="external"``, ``point=a``, ``species`` label) and
        ``"y1" …`` (``kind="vertex"``, ``coupling``, ``degree``); one edge per line, a
        self-loop for K(y, y).
    connected : bool
        True if the diagram is connected.
    order : int
        Number of internal vertices (total power of the couplings).
    orders : tuple of int
        Number of vertices of each coupling, in the order of ``Theory.couplings``.
    """

    weight: sp.Expr
    matrix: list[list[int]] = field(repr=False)
    n_external: int
    vertex_couplings: tuple[sp.Expr, ...]
    vertex_degrees: tuple[int, ...] = field(repr=False)
    vertex_types: tuple[int, ...] = field(repr=False)
    labels: tuple[sp.Expr, ...] | None = field(repr=False)
    orders: tuple[int, ...]
    sort_key: tuple = field(repr=False)
    n_automorphisms: int = field(repr=False)

    @property
    def order(self) -> int:
        return len(self.vertex_couplings)

    @cached_property
    def connected(self) -> bool:
        return len(components(self.matrix)) == 1

    @cached_property
    def topology_key(self) -> tuple:
        """Canonical key with the external points unlabelled (equal for relabelings)."""
        return canonical_form(self.matrix, self.n_external, self.vertex_types, labelled=False)[0]

    def node_names(self) -> list[str]:
        n = self.n_external
        return [f"x{a + 1}" for a in range(n)] + [f"y{v + 1}" for v in range(self.order)]

    @cached_property
    def graph(self) -> nx.MultiGraph:
        g = nx.MultiGraph()
        names = self.node_names()
        n = self.n_external
        for a in range(n):
            label = None if self.labels is None else self.labels[a]
            g.add_node(names[a], kind="external", point=a + 1, species=label)
        for v, (c, d) in enumerate(zip(self.vertex_couplings, self.vertex_degrees, strict=True)):
            g.add_node(names[n + v], kind="vertex", coupling=c, degree=d)
        for i, j, m in self.lines():
            for _ in range(m):
                g.add_edge(names[i], names[j])
        return g

    def lines(self) -> list[tuple[int, int, int]]:
        """(row i, row j >= i, multiplicity) of every distinct line of the diagram."""
        A = self.matrix
        return [(i, j, A[i][j]) for i in range(len(A)) for j in range(i, len(A)) if A[i][j]]

    def _symbol(self, i: int) -> sp.Symbol:
        n = self.n_external
        return point_symbol(i + 1) if i < n else vertex_symbol(i - n + 1)

    def integrand(self, *, amputated: bool = False) -> tuple[sp.Expr, list[sp.Symbol]]:
        """Product of propagators and the list of integrated internal points."""
        n = self.n_external
        subs: dict[sp.Symbol, sp.Symbol] = {}
        extra = sp.S.One
        if amputated:
            if any(self.matrix[a][b] for a in range(n) for b in range(n)):
                raise DiagramError("amputated", "a bare propagator K(x_a, x_b) has no vertex")
            for a in range(n):
                v = next(i for i in range(n, len(self.matrix)) if self.matrix[a][i])
                y = self._symbol(v)
                if y in subs:
                    extra *= sp.DiracDelta(point_symbol(a + 1) - subs[y])
                else:
                    subs[y] = point_symbol(a + 1)
        factors = []
        for i, j, m in self.lines():
            if amputated and i < n:
                continue
            factors.append(K(self._symbol(i), self._symbol(j)) ** m)
        body = sp.Mul(*factors) * extra
        ys = [vertex_symbol(v + 1) for v in range(self.order)]
        if subs:
            body = body.subs(subs)
            ys = [y for y in ys if y not in subs]
        return body, ys

    def expr(self, *, amputated: bool = False) -> sp.Expr:
        """weight × ∫ Π d^{d_in}y_v over [-Λ, Λ]^{d_in} × Π K."""
        body, ys = self.integrand(amputated=amputated)
        if ys:
            body = sp.Integral(body, *[(y, -CUTOFF, CUTOFF) for y in ys])
        return self.weight * body

    def tikz(
        self, *, standalone: bool = False, weight: bool = True, line_style: str = "scalar"
    ) -> str:
        """TikZ-Feynman code of this one diagram (with its weight to its left if ``weight``);
        see :meth:`Correlator.tikz`."""
        return terms_tikz(
            [(self.weight if weight else None, self)], standalone=standalone, line_style=line_style
        )

    def latex_body(self, *, amputated: bool = False, subscripts: bool = False) -> str:
        r"""``\int d^{d_in}y_1\, K(x_{1}, y_{1}) …`` without the weight (see :func:`term_body`).

        ``subscripts=True`` writes ``K_{1y_{1}}`` for ``K(x_{1}, y_{1})``.
        """
        return term_body(self, amputated=amputated, subscripts=subscripts)


class Correlator:
    """Perturbative correlator: a sum of Feynman diagrams (see :meth:`Theory.correlator`).

    Attributes
    ----------
    theory : Theory
    n_points : int
    labels : tuple of sympy objects or None
        Species labels of the external points (None for one species).
    order : int
    terms : list of Term
        Ordered by coupling order, then by coupling, then by canonical form.
    connected, exact_propagator, one_pi, amputated : bool
        The options used.
    """

    def __init__(
        self,
        theory: Theory,
        n_points: int,
        labels: tuple[sp.Expr, ...] | None,
        order: int,
        terms: list[Term],
        *,
        connected: bool,
        exact_propagator: bool,
        one_pi: bool,
        amputated: bool,
    ) -> None:
        self.theory = theory
        self.n_points = n_points
        self.labels = labels
        self.order = order
        self.terms = terms
        self.connected = connected
        self.exact_propagator = exact_propagator
        self.one_pi = one_pi
        self.amputated = amputated

    def __repr__(self) -> str:
        opts = [
            name
            for name in ("connected", "exact_propagator", "one_pi", "amputated")
            if getattr(self, name)
        ]
        return (
            f"<Correlator {self.n_points}-point, order {self.order}, {len(self.terms)} diagrams"
            + (f", {', '.join(opts)}" if opts else "")
            + ">"
        )

    def __len__(self) -> int:
        return len(self.terms)

    def topologies(self) -> list[tuple[sp.Expr, Term]]:
        """Diagrams grouped by topology (external points unlabelled).

        Returns
        -------
        list of (total weight, representative Term)
            The total weight is the sum of the weights of all terms that differ only by a
            relabeling of the external points: the seed's 3, 24, 360, 5400, … .
        """
        groups: dict[tuple, list] = {}
        for term in self.terms:
            entry = groups.setdefault(term.topology_key, [sp.S.Zero, term])
            entry[0] += term.weight
        return [(sp.factor_terms(sp.expand(w)), t) for w, t in groups.values()]

    @property
    def expr(self) -> sp.Expr:
        """The correlator as a sympy expression in K(x_a, y_v) with one Integral per term.

        Each internal point y_v stands for a vector in R^{d_in}; ``(y_v, -Λ, Λ)`` denotes the
        box [-Λ, Λ]^{d_in} with measure d^{d_in}y_v (docs/conventions.md).
        """
        return sp.Add(*(t.expr(amputated=self.amputated) for t in self.terms))

    def zero_dim(self) -> sp.Expr:
        """The same expansion in zero dimensions (K ≡ 1, ∫ ≡ 1): a polynomial in the couplings."""
        return sp.expand(sp.Add(*(t.weight for t in self.terms)))

    def latex(
        self,
        style: str = "full",
        *,
        subscripts: bool = False,
        orbits: bool = False,
        per_line: int | None = None,
        environment: str | None = None,
        lhs: str | None = None,
    ) -> str:
        r"""LaTeX of the sum of diagrams.

        Parameters
        ----------
        style : {"full", "paper"}
            ``"full"``: every labelled diagram (``K(x_{1}, x_{2}) - 12 \lambda \int …``).
            ``"paper"``: one summand per topology, ``w \Big[B + (m-1)\ \text{perms}\Big]``, where
            ``B`` is a representative diagram, ``w`` its weight, and the perms are its images
            under the relabelings of the external points (with their species labels) that give
            distinct diagrams, each with its own weight.
        subscripts : bool
            Write ``K_{12}``, ``K_{1y_{1}}`` instead of ``K(x_{1}, x_{2})``, ``K(x_{1}, y_{1})``.
        orbits : bool
            With ``style="paper"``: list every diagram of each orbit instead of "+ n perms".
        per_line : int, optional
            Break the line (``\\``) after every ``per_line`` summands (default 3 when an
            ``environment`` is given, else one line).
        environment : {"multline", "multline*", "align", "align*"}, optional
            Wrap in that amsmath environment; ``align`` puts ``&=`` after ``lhs`` and ``&\quad``
            before each continuation line.
        lhs : str, optional
            Left-hand side, e.g. ``r"G^{(4)}_{\mathrm{c}}"``, written as ``lhs = …``.

        Notes
        -----
        Propagators between external points stand before the integrals; each connected piece
        with internal points has its own integral over the box (docs/conventions.md).
        """
        return correlator_latex(
            self,
            style=style,
            subscripts=subscripts,
            orbits=orbits,
            per_line=per_line,
            environment=environment,
            lhs=lhs,
        )

    def _repr_latex_(self) -> str:
        return rf"$\displaystyle {self.latex()}$"

    def tikz(
        self, *, standalone: bool = False, by_topology: bool = False, line_style: str = "scalar"
    ) -> str:
        """TikZ-Feynman code of the diagrams, each with its weight to its left.

        Parameters
        ----------
        standalone : bool
            A complete ``standalone``-class document: one cropped page per diagram.
        by_topology : bool
            One drawing per topology with its total weight (:meth:`topologies`: the seed's 24,
            360, …) instead of every labelled diagram.
        line_style : {"scalar", "plain"}
            Dashed lines (the seed's Feynman rule 3) or solid ones.

        Planar diagrams are drawn without crossings, with the external points on the outer face
        (in the order x_1, x_2, … where that is planar) and labels off the lines; the code has
        explicit coordinates and compiles with pdflatex and lualatex.
        """
        return correlator_tikz(
            self, standalone=standalone, by_topology=by_topology, line_style=line_style
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: options, terms (weight, vertices, lines), topologies."""

        def term_dict(t: Term) -> dict[str, Any]:
            names = t.node_names()
            return {
                "weight": str(t.weight),
                "order": t.order,
                "connected": t.connected,
                "vertices": [
                    {"name": names[t.n_external + v], "coupling": str(c), "degree": d}
                    for v, (c, d) in enumerate(
                        zip(t.vertex_couplings, t.vertex_degrees, strict=True)
                    )
                ],
                "lines": [[names[i], names[j], m] for i, j, m in t.lines()],
                "latex": t.latex_body(amputated=self.amputated),
            }

        return {
            "theory": repr(self.theory),
            "points": self.n_points,
            "labels": None if self.labels is None else [str(s) for s in self.labels],
            "order": self.order,
            "connected": self.connected,
            "exact_propagator": self.exact_propagator,
            "one_pi": self.one_pi,
            "amputated": self.amputated,
            "terms": [term_dict(t) for t in self.terms],
            "topologies": [
                {"weight": str(w), "representative": self.terms.index(t)}
                for w, t in self.topologies()
            ],
            "zero_dim": str(self.zero_dim()),
            "latex": self.latex(),
        }
