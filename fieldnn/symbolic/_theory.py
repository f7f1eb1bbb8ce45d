"""The effective action S = S_GP + ∫ d^{d_in}y Σ_k g_k f(y)^k and its perturbative correlators."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from itertools import product as _cartesian

import sympy as sp

from .._cost import diagram_count, wick_pairings
from ..errors import DiagramError
from ._correlator import Correlator, Term
from ._graphs import (
    canonical_form,
    components,
    contraction_count,
    generate,
    has_two_point_insertion,
    is_one_particle_irreducible,
    reorder,
)
from ._wick import index_factor


def _as_int(value: object, argument: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DiagramError(argument, f"must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise DiagramError(argument, f"must be an integer >= {minimum}, got {value}")
    return int(value)


def _check_size(n: int, order: int, degrees: tuple[int, ...], max_seconds: float | None) -> None:
    """Refuse or warn, before any work, when the diagram generation would take very long."""
    if max_seconds is not None and (
        isinstance(max_seconds, bool)
        or not isinstance(max_seconds, numbers.Real)
        or not max_seconds > 0
    ):
        raise DiagramError("max_seconds", f"must be a positive number or None, got {max_seconds!r}")
    count, seconds = diagram_count(n, order, degrees)
    argument = "order" if order else "points"
    what = (
        f"G^({n}) up to order {order} has about {count:.3g} diagrams (Σ 1/|Aut|; "
        f"{wick_pairings(n):.3g} pairings of the external points alone), an estimated "
        f"{seconds:.3g} s to generate"
    )
    if max_seconds is not None and seconds > max_seconds:
        raise DiagramError(
            argument,
            f"{what}, above max_seconds = {max_seconds:g}; lower {argument} or pass "
            "max_seconds=None to run anyway",
        )
    if seconds > 60.0:
        warnings.warn(f"{what}; this will take a while", RuntimeWarning, stacklevel=3)


def _printable_name(name: str) -> bool:
    """A symbol name sympy's LaTeX printer and ``fieldnn derive`` write faithfully: an
    identifier (``lambda``, ``g_6``, ``kappa_2``)."""
    return name.isidentifier() and name.isascii()


def _collect_deltas(weight: sp.Expr) -> sp.Expr:
    """Write a weight as c · Σ_d P_d(N) Π δ: common factor out, deltas collected."""
    groups: dict[sp.Expr, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(weight)):
        deltas = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.KroneckerDelta)]
        key = sp.Mul(*deltas)
        groups[key] = groups.get(key, sp.S.Zero) + term / key
    return sp.factor_terms(sp.Add(*(sp.factor(c) * d for d, c in groups.items())))


class Theory:
    r"""Non-Gaussian process as a Euclidean field theory with local polynomial interactions.

    .. math::
        S[f] = S_{\mathrm{GP}}[f] + \int d^{d_{\mathrm{in}}}y\, \sum_k g_k\, f(y)^{k},
        \qquad P[f] \propto e^{-S[f]},

    with no :math:`1/k!` in the couplings (seed arXiv:2008.08601, slide "Non-Gaussian Process
    = Effective Field Theory"). With ``species`` = N ≠ 1 the field has N components, the
    propagator is :math:`\delta_{ij} K(x, y)` and a vertex of even degree 2m is
    :math:`g\,(f\cdot f)^{m}` (O(N) invariant).

    Parameters
    ----------
    interactions : mapping coupling -> degree
        Couplings (sympy symbols or sympy expressions) and the degree k >= 3 of their vertex.
    species : int or sympy expression, default 1
        Number of field components N (a positive integer or a symbol such as ``Symbol("N")``).

    Raises
    ------
    DiagramError
        For a degree < 3, a coupling that is not a sympy expression or whose symbols are not
        named by identifiers (``Symbol("lambda x")``), an odd degree with ``species`` ≠ 1, or a
        bad ``species``.

    Examples
    --------
    >>> import sympy as sp
    >>> lam, kap = sp.symbols("lambda kappa")
    >>> th = Theory({lam: 4, kap: 6})
    >>> c = th.correlator(4, order=1, exact_propagator=True)
    >>> [(w, t.order) for w, t in c.topologies()]
    [(3, 0), (-24*lambda, 1), (-360*kappa, 1)]
    """

    def __init__(self, interactions: Mapping[sp.Expr, int], species: int | sp.Expr = 1) -> None:
        if not isinstance(interactions, Mapping) or not interactions:
            raise DiagramError(
                "interactions",
                f"must be a non-empty mapping coupling -> degree, got {interactions!r}",
            )
        if isinstance(species, bool):
            raise DiagramError(
                "species", f"must be a positive integer or a sympy symbol, got {species!r}"
            )
        if isinstance(species, numbers.Integral):
            species = _as_int(species, "species", minimum=1)
        elif not isinstance(species, sp.Expr) or species.is_number:
            raise DiagramError(
                "species", f"must be a positive integer or a sympy symbol, got {species!r}"
            )
        couplings: list[sp.Expr] = []
        degrees: list[int] = []
        for coupling, degree in interactions.items():
            if not isinstance(coupling, sp.Expr):
                raise DiagramError(
                    "interactions", f"couplings must be sympy expressions, got {coupling!r}"
                )
            bad = sorted(str(x) for x in coupling.free_symbols if not _printable_name(str(x)))
            if bad:
                raise DiagramError(
                    "interactions",
                    f"coupling symbol names must be identifiers (letters, digits, _; such as "
                    f"lambda or g_6) so that LaTeX and the command line can write them, got "
                    f"{', '.join(repr(b) for b in bad)}",
                )
            if isinstance(degree, bool) or not isinstance(degree, numbers.Integral) or degree < 3:
                raise DiagramError(
                    "interactions",
                    f"the degree of {coupling} must be an integer >= 3, got {degree!r}",
                )
            k = int(degree)
            if species != 1 and k % 2:
                raise DiagramError(
                    "interactions",
                    f"an O(N) vertex (f·f)^m needs an even degree; {coupling} has degree {k}",
                )
            couplings.append(coupling)
            degrees.append(k)
        self.couplings: tuple[sp.Expr, ...] = tuple(couplings)
        self.degrees: tuple[int, ...] = tuple(degrees)
        self.species: int | sp.Expr = species

    def __repr__(self) -> str:
        inter = ", ".join(f"{g}: {k}" for g, k in zip(self.couplings, self.degrees, strict=True))
        return f"Theory({{{inter}}}, species={self.species})"

    def action_latex(self) -> str:
        r"""The interaction part of the action in LaTeX.

        Examples
        --------
        >>> import sympy as sp
        >>> Theory({sp.Symbol("lambda"): 4}).action_latex()
        'S = S_{\\mathrm{GP}} + \\int d^{d_{\\mathrm{in}}}y\\, \\left[\\lambda f(y)^{4}\\right]'
        """
        if self.species == 1:
            monomials = [
                f"{sp.latex(g)} f(y)^{{{k}}}"
                for g, k in zip(self.couplings, self.degrees, strict=True)
            ]
        else:
            monomials = [
                f"{sp.latex(g)} (f(y) \\cdot f(y))^{{{k // 2}}}"
                for g, k in zip(self.couplings, self.degrees, strict=True)
            ]
        body = " + ".join(monomials)
        return rf"S = S_{{\mathrm{{GP}}}} + \int d^{{d_{{\mathrm{{in}}}}}}y\, \left[{body}\right]"

    def _labels(self, points: object) -> tuple[int, tuple[sp.Expr, ...] | None]:
        if isinstance(points, numbers.Integral) and not isinstance(points, bool):
            n = _as_int(points, "points", minimum=0)
            if self.species == 1:
                return n, None
            return n, tuple(sp.Symbol(f"i_{a + 1}") for a in range(n))
        if isinstance(points, (str, bytes)) or not isinstance(points, Sequence):
            raise DiagramError(
                "points",
                f"must be a non-negative integer or a tuple of species labels, got {points!r}",
            )
        labels = []
        for label in points:
            if isinstance(label, str) and label:
                labels.append(sp.Symbol(label))
            elif isinstance(label, numbers.Integral) and not isinstance(label, bool):
                if label < 1 or (isinstance(self.species, int) and label > self.species):
                    raise DiagramError(
                        "points",
                        f"integer species labels must lie in 1..{self.species}, got {label}",
                    )
                labels.append(sp.Integer(label))
            elif isinstance(label, sp.Symbol):
                labels.append(label)
            else:
                raise DiagramError(
                    "points",
                    f"species labels must be strings, sympy symbols or integers, got {label!r}",
                )
        if self.species == 1:  # one component: every label is the same field
            return len(labels), None
        return len(labels), tuple(labels)

    def correlator(
        self,
        points: int | Sequence[object],
        order: int,
        *,
        connected: bool = False,
        exact_propagator: bool = False,
        one_pi: bool = False,
        amputated: bool = False,
        max_seconds: float | None = 600.0,
    ) -> Correlator:
        r"""Perturbative n-point function up to and including ``order`` in the couplings.

        .. math::
            G^{(n)}(x_1,\ldots,x_n) = \frac{\langle f(x_1)\cdots f(x_n)\,
            e^{-\int \sum_k g_k f^k}\rangle_{\mathrm{GP}}}{\langle e^{-\int\sum_k g_k f^k}
            \rangle_{\mathrm{GP}}}
            = \sum_\Gamma w_\Gamma \int \prod_{v} d^{d_{\mathrm{in}}}y_v \prod_{\ell} K_\ell,

        :math:`w_\Gamma = \prod_k (-g_k)^{n_k}\, C_\Gamma / |\mathrm{Aut}\,\Gamma|` with
        :math:`C_\Gamma` the number of half-edge contractions of a labelled-vertex copy of Γ
        (times the O(N) index factor); vacuum bubbles cancel against Z and never appear.

        Parameters
        ----------
        points : int or tuple
            Number of external points n, or one species label per point (``species`` ≠ 1;
            strings become sympy symbols, integers must lie in 1..N).
        order : int
            Highest total power of the couplings kept (>= 0).
        connected : bool
            Keep only connected diagrams (the cumulant).
        exact_propagator : bool
            Seed rule 4.5: drop every diagram in which a set of internal vertices is joined to
            the rest by exactly two lines (a correction to a 2-point function), because the
            GP kernel K is the exact 2-point function.
        one_pi : bool
            Keep only one-particle-irreducible diagrams (implies ``connected``).
        amputated : bool
            Write ``expr``/``latex`` without the external legs (implies ``connected``;
            diagrams with a bare external-to-external line are dropped).
        max_seconds : float or None
            Refuse (``DiagramError`` naming ``order``, or ``points`` at order 0) when the
            estimated generation time exceeds this; above a minute a ``RuntimeWarning`` is
            issued. The estimate is the closed-form diagram count Σ 1/``|Aut|`` =
            Σ (H − 1)!!/Π c_k!(k!)^{c_k} (H half-edges; (n − 1)!! pairings at order 0) times a
            measured cost per diagram. ``None``: no limit.

        Returns
        -------
        Correlator

        References
        ----------
        arXiv:2008.08601 (Halverson, Maiti, Stoner), eqs. (3.17)–(3.19) and Feynman rules 1–7.

        Examples
        --------
        Zero dimensions (K ≡ 1, ∫ ≡ 1): the moments of :math:`e^{-\phi^2/2 - \lambda\phi^4}`,
        :math:`\langle\phi^4\rangle = 3 - \lambda(105 - 9) + O(\lambda^2)`:

        >>> import sympy as sp
        >>> lam = sp.Symbol("lambda")
        >>> Theory({lam: 4}).correlator(4, order=1).zero_dim()
        3 - 96*lambda

        With the GP kernel as the exact propagator (rule 4.5) only the seed's eq. (3.18) remains:

        >>> g4 = Theory({lam: 4}).correlator(4, order=1, exact_propagator=True)
        >>> [w for w, _ in g4.topologies()]
        [3, -24*lambda]
        """
        n, labels = self._labels(points)
        p = _as_int(order, "order", minimum=0)
        _check_size(n, p, self.degrees, max_seconds)
        for name, flag in (
            ("connected", connected),
            ("exact_propagator", exact_propagator),
            ("one_pi", one_pi),
            ("amputated", amputated),
        ):
            if not isinstance(flag, bool):
                raise DiagramError(name, f"must be True or False, got {flag!r}")
        connected = connected or one_pi or amputated
        terms: list[Term] = []
        n_types = len(self.couplings)
        for vec in _cartesian(range(p + 1), repeat=n_types):
            if sum(vec) > p:
                continue
            if (n + sum(c * k for c, k in zip(vec, self.degrees, strict=True))) % 2:
                continue
            terms.extend(
                self._diagrams(n, vec, labels, connected, exact_propagator, one_pi, amputated)
            )
        terms.sort(key=lambda t: t.sort_key, reverse=True)
        terms.sort(key=lambda t: t.orders, reverse=True)
        terms.sort(key=lambda t: t.order)
        return Correlator(
            self,
            n,
            labels,
            p,
            terms,
            connected=connected,
            exact_propagator=exact_propagator,
            one_pi=one_pi,
            amputated=amputated,
        )

    def _diagrams(
        self,
        n: int,
        vec: tuple[int, ...],
        labels: tuple[sp.Expr, ...] | None,
        connected: bool,
        exact_propagator: bool,
        one_pi: bool,
        amputated: bool,
    ) -> list[Term]:
        n_vertices = sum(vec)
        seen: dict[tuple, tuple[list[list[int]], tuple[int, ...], int]] = {}
        no_pairs = connected and (n_vertices > 0 or n > 2)
        for A, raw_types in generate(n, vec, self.degrees, no_ext_pairs=no_pairs):
            if connected and len(components(A)) != 1:
                continue
            key, order, n_aut = canonical_form(A, n, raw_types)
            if key not in seen:
                types = tuple(raw_types[v - n] for v in order)
                seen[key] = (reorder(A, n, order), types, n_aut)
        sign_couplings = sp.Mul(*((-g) ** c for g, c in zip(self.couplings, vec, strict=True)))
        out = []
        for key, (A, types, n_aut) in seen.items():
            degrees = [self.degrees[t] for t in types]
            if exact_propagator and has_two_point_insertion(A, n):
                continue
            if one_pi and not is_one_particle_irreducible(A, n):
                continue
            if amputated and any(A[a][b] for a in range(n) for b in range(n)):
                continue
            weight = sp.Rational(contraction_count(A, degrees), n_aut) * sign_couplings
            if labels is not None:
                weight = _collect_deltas(weight * index_factor(A, n, labels, self.species))
            if weight == 0:
                continue
            out.append(
                Term(
                    weight=weight,
                    matrix=A,
                    n_external=n,
                    vertex_couplings=tuple(self.couplings[t] for t in types),
                    vertex_degrees=tuple(degrees),
                    vertex_types=tuple(types),
                    labels=labels,
                    orders=vec,
                    sort_key=key,
                    n_automorphisms=n_aut,
                )
            )
        return out
