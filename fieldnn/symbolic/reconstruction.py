r"""Couplings of an action from its connected correlators, order by order in 1/n.

The action of a nearly Gaussian field with O(N) symmetry is written (probability ∝ e^{−S};
docs/conventions.md, section 7)

.. math:: S = \frac12\gamma^{(2)}\,\phi\cdot\phi
          - \sum_{m\ge2}\frac{\gamma^{(2m)}}{2^m m!}\,(\phi\cdot\phi)^m

(on P points the same with input indices, :math:`\phi_a\cdot\phi_b`), and its connected
correlators are :math:`\langle\phi_i\phi_j\rangle = \delta_{ij}G` and
:math:`\langle\phi_{i_1}\cdots\phi_{i_{2m}}\rangle_c = n^{1-m}\,V_{2m}\sum_{\rm pairings}
\delta\cdots\delta` (V_4 = V, V_6 = U). The couplings are found grade by grade in 1/n: at grade
k the new couplings γ(2m)_k enter the perturbative 2m-point function of the engine
(:class:`~fieldnn.symbolic.Theory`) only through the tree diagram (or, for γ(2), the bare
line), every other diagram of grade k being made of couplings of lower grade. Solving the
tree for the new coupling amputates the remainder with the inverse propagator; unrolled, every
coupling is a sum of diagrams whose vertices are connected correlators and whose lines are
inverse propagators :math:`G^{-1}` — the prescription of Demirtas, Halverson, Maiti, Schwartz,
Stoner (arXiv:2307.03223, sec. 3, motivated by the Edgeworth expansion).

* :func:`reconstruct_couplings`: one point, one species or O(N) with N symbolic, any order:
  sympy expressions in G, V, U, …, n, N.
* :func:`reconstruct_tensors`: P points (any symmetric tensors on the combined index (input,
  output)), orders 1 and 2, for float64 arrays or exact sympy object arrays. The engine's
  vertex tensor (S ⊃ Σ t_{A…} f_A…, no 1/k!) replaces λ ∫ f⁴: the Wick weights are the same.

At one point with N components the result through 1/n² is (``reconstruct_couplings(2,
species=N)``; tested against quadrature and against the P-point tensors)

.. math::

    \gamma^{(2)} &= \frac1G + \frac{(N+2)V}{2nG^3} - \frac{(N+2)(N+4)U}{8n^2G^4}
                   + \frac{(N+2)(N+3)V^2}{2n^2G^5},\\
    \gamma^{(4)} &= \frac{V}{nG^4} - \frac{(N+4)U}{2n^2G^5} + \frac{(5N+16)V^2}{2n^2G^6},\\
    \gamma^{(6)} &= \frac{U}{n^2G^6} - \frac{6V^2}{n^2G^7}.

The 1/n² part of γ(4) collects the one-loop bubbles of two γ(4) vertices (V²), the γ(6)
tadpole (U) and the correction of γ(2) on the legs; γ(6) is the amputated U minus the tree of
two γ(4) vertices joined by a propagator. Each coupling is exact in sympy (tests:
``tests/symbolic/test_reconstruction.py``).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Mapping

import numpy as np
import sympy as sp

from .._validate import positive_int
from ..errors import ArgumentError
from ._tensor_network import amputate, evaluate, inverse
from ._theory import Theory

__all__ = ["correlator_symbol", "graded_propagator", "reconstruct_couplings", "reconstruct_tensors"]

_G, _N_WIDTH = sp.symbols("G n")


def correlator_symbol(points: int) -> sp.Symbol:
    """The symbol of the pairing coefficient of the connected ``points``-point function.

    G for 2 points, V for 4, U for 6, V_8, V_10, … beyond.

    Examples
    --------
    >>> [correlator_symbol(k) for k in (2, 4, 6, 8)]
    [G, V, U, V_8]
    """
    names = {2: "G", 4: "V", 6: "U"}
    return sp.Symbol(names.get(points, f"V_{points}"))


def _coupling_symbol(points: int) -> sp.Symbol:
    return sp.Symbol(f"gamma{points}")


Series = list[sp.Expr]  # coefficients of ε^0 … ε^order


def _mul(a: Series, b: Series) -> Series:
    """Product of two truncated series of the same length."""
    return [
        sp.expand(sum((a[i] * b[k - i] for i in range(k + 1)), sp.S.Zero)) for k in range(len(a))
    ]


def _power(a: Series, e: int) -> Series:
    out = [sp.S.One] + [sp.S.Zero] * (len(a) - 1)
    for _ in range(e):
        out = _mul(out, a)
    return out


def _inverse(a: Series) -> Series:
    """1/a for a[0] ≠ 0: d_0 = 1/a_0, d_k = −(1/a_0) Σ_{j=1..k} a_j d_{k−j}."""
    d = [1 / a[0]]
    for k in range(1, len(a)):
        d.append(sp.expand(-sum((a[j] * d[k - j] for j in range(1, k + 1)), sp.S.Zero) / a[0]))
    return d


@functools.lru_cache(maxsize=16)
def reconstruct_couplings(order: int = 2, species: int | sp.Expr = 1) -> dict[int, sp.Expr]:
    r"""Couplings γ(2), γ(4), … of a single point's action as series in 1/n from its correlators.

    Parameters
    ----------
    order : int
        Highest power of 1/n kept (couplings γ(2) … γ(2 order + 2) are returned).
    species : int or sympy expression
        Number of components N (1: one species; a symbol such as ``Symbol("N")`` for O(N)).

    Returns
    -------
    dict points -> sympy.Expr
        ``{2: γ(2), 4: γ(4), 6: γ(6), …}`` in the symbols G, V, U, V_8, … (pairing coefficients,
        :func:`correlator_symbol`), n and the species symbol.

    Notes
    -----
    Convention: :math:`S = \tfrac12\gamma^{(2)}\phi\cdot\phi - \sum_{m\ge2}\gamma^{(2m)}
    (\phi\cdot\phi)^m/(2^m m!)`, i.e. the engine's coupling of :math:`(f\cdot f)^m` is
    :math:`-\gamma^{(2m)}/(2^m m!)` and its propagator :math:`1/\gamma^{(2)}`; correlators
    :math:`\langle\phi_1\phi_1\phi_2\phi_2\cdots\phi_m\phi_m\rangle_c = V_{2m}/n^{m-1}`
    (for N = 1 the full :math:`\langle\phi^{2m}\rangle_c = (2m-1)!!\,V_{2m}/n^{m-1}`). The
    engine's connected correlators of the action (every diagram with at most ``order``
    vertices, zero dimensions, propagator :math:`1/\gamma^{(2)}` on every line) are matched to
    these grade by grade in ε = 1/n; at each grade the equations are linear in the new
    coefficients.

    References
    ----------
    Demirtas, Halverson, Maiti, Schwartz, Stoner, arXiv:2307.03223, sec. 3; Roberts, Yaida,
    Hanin, arXiv:2106.10165, sec. 4.3 (the first-order single-input case).

    Examples
    --------
    >>> c = reconstruct_couplings(1, species=sp.Symbol("N"))
    >>> c[2]
    1/G + N*V/(2*G**3*n) + V/(G**3*n)
    >>> c[4]
    V/(G**4*n)
    """
    order = positive_int(order, "order")
    if isinstance(species, bool) or not (
        isinstance(species, numbers.Integral | sp.Expr) and (species != 0)
    ):
        raise ArgumentError("species", f"must be a positive integer or a symbol, got {species!r}")
    if isinstance(species, numbers.Integral):
        species = positive_int(species, "species")
    if species != 1 and isinstance(species, int):
        symbol = sp.Symbol("N")
        generic = reconstruct_couplings(order, symbol)
        return {k: sp.expand(v.subs(symbol, species)) for k, v in generic.items()}
    top = order + 1  # γ(2m) for m = 1..top
    gamma: dict[int, Series] = {}
    unknowns: dict[int, dict[int, sp.Symbol]] = {}
    for m in range(1, top + 1):
        lowest = 1 if m == 1 else m - 1
        unknowns[m] = {j: sp.Symbol(f"c_{m}_{j}") for j in range(lowest, order + 1)}
        gamma[m] = [unknowns[m].get(j, sp.S.Zero) for j in range(order + 1)]
    gamma[1][0] = 1 / _G
    lams = {m: sp.Symbol(f"lambda_{2 * m}") for m in range(2, top + 1)}
    theory = Theory({lams[m]: 2 * m for m in range(2, top + 1)}, species=species)
    D = _inverse(gamma[1])
    vertex = {m: [-c / (2**m * sp.factorial(m)) for c in gamma[m]] for m in lams}
    residuals: dict[int, Series] = {}
    for p in range(1, top + 1):
        points = 2 * p if species == 1 else tuple(k // 2 + 1 for k in range(2 * p))
        corr = theory.correlator(points, order=order, connected=True)
        by_lines: dict[int, sp.Expr] = {}
        for term in corr.terms:
            lines = sum(m for _, _, m in term.lines())
            by_lines[lines] = by_lines.get(lines, sp.S.Zero) + term.weight
        value = [sp.S.Zero] * (order + 1)
        for lines, weight in by_lines.items():
            poly = sp.Poly(sp.expand(weight), *lams.values())
            for monom, coeff in zip(poly.monoms(), poly.coeffs(), strict=True):
                series = _power(D, lines)
                for m, e in zip(lams, monom, strict=True):
                    series = _mul(series, _power(vertex[m], e))
                value = [v + coeff * t for v, t in zip(value, series, strict=True)]
        target = correlator_symbol(2 * p) * (sp.factorial2(2 * p - 1) if species == 1 else 1)
        value[p - 1] -= target
        residuals[p] = [sp.expand(v) for v in value]
    solution: dict[sp.Symbol, sp.Expr] = {}
    for j in range(order + 1):
        new = [unknowns[m][j] for m in unknowns if j in unknowns[m]]
        if not new:
            continue
        eqs = [sp.expand(residuals[p][j].subs(solution)) for p in residuals]
        eqs = [e for e in eqs if e != 0]
        sol = sp.solve(eqs, new, dict=True)
        if len(sol) != 1:  # pragma: no cover - the system is triangular and linear
            raise RuntimeError(f"no unique solution at order {j}")
        solution.update({k: sp.factor(v) for k, v in sol[0].items()})
    out = {}
    for m in range(1, top + 1):
        expr = sum((c.subs(solution) / _N_WIDTH**j for j, c in enumerate(gamma[m])), sp.S.Zero)
        out[2 * m] = sp.expand(expr)
    return out


def graded_propagator(gamma2: Mapping[int, np.ndarray], order: int) -> dict[int, np.ndarray]:
    """D = Γ⁻¹ expanded in 1/n: D_0 = Γ_0⁻¹, D_k = −D_0 Σ_{j=1..k} Γ_j D_{k−j}."""
    D = {0: inverse(gamma2[0])}
    for k in range(1, order + 1):
        total = np.zeros_like(D[0])
        for j in range(1, k + 1):
            if j in gamma2:
                total = total - D[0] @ gamma2[j] @ D[k - j]
        D[k] = total
    return D


def reconstruct_tensors(
    two: Mapping[int, np.ndarray],
    four: Mapping[int, np.ndarray],
    six: Mapping[int, np.ndarray],
    order: int,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, np.ndarray]]:
    r"""Graded couplings (Γ, t4, t6) on P points matching graded correlators to ``order``.

    Parameters
    ----------
    two : mapping grade -> ndarray (S, S)
        Two-point function by power of 1/n; grade 0 must be invertible.
    four, six : mapping grade -> ndarray (S,)*4, (S,)*6
        Connected four- and six-point functions (grades >= 1 and >= 2).
    order : {1, 2}

    Returns
    -------
    gamma2, t4, t6 : dict grade -> ndarray
        :math:`S = \tfrac12 f\Gamma f + t^{(4)}f^4 + t^{(6)}f^6` (engine normalisation, no
        1/k!): Γ from grade 0, t4 from grade 1, t6 from grade 2.

    Notes
    -----
    At grade k, in this order (H = (G2_0)⁻¹, "amp" = contract every leg with H,
    :math:`\mathcal G_k` = grade-k part of the action's correlator with the grade-k couplings
    still zero, from the engine's connected diagrams):

    .. math:: t^{(6)}_k = \tfrac1{720}[\mathcal G^{(6)}_k - G^{(6)}_{c,k}]_{\rm amp},\quad
              t^{(4)}_k = \tfrac1{24}[\mathcal G^{(4)}_k - G^{(4)}_{c,k}]_{\rm amp},\quad
              \Gamma_k = H[\mathcal G^{(2)}_k - G^{(2)}_k]H

    (−720, −24 and −1 are the engine's weights of the κ tree, the λ tree and the bare line).
    Object arrays are handled exactly (sympy rationals or symbols).
    """
    G0 = two[0]
    H = inverse(G0)
    zero = (
        (lambda shape: np.zeros(shape, dtype=object) * sp.S.Zero)
        if G0.dtype == object
        else (np.zeros)
    )
    S = G0.shape[0]
    gamma2: dict[int, np.ndarray] = {0: H}
    D: dict[int, np.ndarray] = {0: G0}
    t4: dict[int, np.ndarray] = {}
    t6: dict[int, np.ndarray] = {}
    for k in range(1, order + 1):
        if k >= 2:
            pred6 = evaluate(6, k, D, (t4, t6), grades=(k,))[k]
            target = six.get(k, zero((S,) * 6))
            t6[k] = amputate(pred6 - target, H) / 720
        pred4 = evaluate(4, k, D, (t4, t6), grades=(k,))[k]
        target = four.get(k, zero((S,) * 4))
        t4[k] = amputate(pred4 - target, H) / 24
        D[k] = zero((S, S))
        for j in range(1, k):
            D[k] = D[k] - G0 @ gamma2[j] @ D[k - j]
        pred2 = evaluate(2, k, D, (t4, t6), grades=(k,))[k]
        g = H @ (pred2 - two.get(k, zero((S, S)))) @ H
        gamma2[k] = (g + g.T) / 2
        D[k] = D[k] - G0 @ gamma2[k] @ G0
    return gamma2, t4, t6
