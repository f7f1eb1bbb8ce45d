r"""EFT couplings of the zero-dimensional O(m) quartic theory, matched to (G, V) at O(1/n).

A single input of a deep network of width n has m output components whose distribution, to
O(1/n), is that of the zero-dimensional O(m) theory (Roberts–Yaida–Hanin, arXiv:2106.10165,
§4.4; seed talk 000, slide "Bayesian learning at finite width")

.. math::

    p(\phi) \propto \exp\Big(-\frac{\gamma_2}{2}\,\phi\cdot\phi
        + \frac{\gamma_4}{8}\,(\phi\cdot\phi)^2\Big),

with the couplings fixed by the two- and four-point functions of the network,

.. math::

    \langle\phi_i\phi_j\rangle = \delta_{ij}\,G, \qquad
    \langle\phi_i\phi_j\phi_k\phi_l\rangle_c = \frac{V}{n}
        (\delta_{ij}\delta_{kl} + \delta_{ik}\delta_{jl} + \delta_{il}\delta_{jk}).

The derivation is first-order perturbation theory in :math:`\gamma_4` with the exact Gaussian
moments of :math:`Q = \phi\cdot\phi` in m dimensions,
:math:`\langle Q^k\rangle_0 = \prod_{j=0}^{k-1}(m + 2j)/\gamma_2^k`, and O(m) symmetry,
:math:`\langle\phi_1^2\rangle = \langle Q\rangle/m`,
:math:`\langle\phi_1^2\phi_2^2\rangle = \langle Q^2\rangle/(m(m+2))`. The result

.. math::

    \gamma_4 = \frac{V}{n G^4}, \qquad
    \frac{1}{\gamma_2} = G - \frac{(m+2)}{2}\,\frac{V}{n G} + O(1/n^2)

corrects the seed talk, whose transcript has :math:`(m+2)V/(nG)` (a factor 1/2 dropped). The
conditional second moment of a second component given an observed first one is

.. math::

    \langle\phi_2^2 \,|\, \check\phi_1\rangle
        = G + \frac{1}{2}\,(\check\phi_1^2 - G)\,\frac{V}{n G^2} + O(1/n^2),

as in the seed (for every m ≥ 2). The derivation of both is in ``docs/inference.md``;
:func:`match_quartic` itself is the single-input, first-order case of the general
reconstruction :func:`fieldnn.symbolic.reconstruct_couplings` (any m, also symbolic).
"""

from __future__ import annotations

import functools

import sympy as sp

from .._validate import positive_int
from ..errors import ArgumentError

__all__ = ["conditional_second_moment", "match_quartic"]

_N = sp.Symbol("n")
_PHI1 = sp.Symbol("phi_1")


def _radial_moments(m: int, gamma2: sp.Expr, gamma4: sp.Expr, kmax: int) -> list[sp.Expr]:
    r"""⟨Q^k⟩, k = 0..kmax, in the quartic O(m) theory to first order in ``gamma4``.

    .. math::

        \langle Q^k\rangle = \frac{\mu_k + \tfrac{\gamma_4}{8}\mu_{k+2}}
                                  {1 + \tfrac{\gamma_4}{8}\mu_2} + O(\gamma_4^2),
        \qquad \mu_k = \prod_{j=0}^{k-1}\frac{m + 2j}{\gamma_2}.
    """

    def mu(k: int) -> sp.Expr:
        return sp.Mul(*[sp.Integer(m + 2 * j) for j in range(k)]) / gamma2**k

    eps = sp.Symbol("epsilon")
    out = []
    for k in range(kmax + 1):
        ratio = (mu(k) + eps * gamma4 / 8 * mu(k + 2)) / (1 + eps * gamma4 / 8 * mu(2))
        first = sp.series(ratio, eps, 0, 2).removeO()
        out.append(sp.expand(first.subs(eps, 1)))
    return out


def _first_order_in(expr: sp.Expr, u: sp.Symbol) -> sp.Expr:
    return sp.series(expr, u, 0, 2).removeO()


@functools.lru_cache(maxsize=64)
def match_quartic(m: int | sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    r"""Couplings (γ2, γ4) of the zero-dimensional O(m) quartic theory matched at O(1/n).

    The single-input, first-order case of :func:`fieldnn.symbolic.reconstruct_couplings`.

    Parameters
    ----------
    m : int or sympy expression
        Number of field components (output neurons observed at one input): an integer m ≥ 1
        or a symbol such as ``sympy.Symbol("m")``.

    Returns
    -------
    (gamma2, gamma4) : tuple of sympy expressions
        In the symbols ``G``, ``V``, ``n`` (plain :class:`sympy.Symbol`, no assumptions) and m:

        .. math::

            \gamma_2 = \frac{1}{G} + \frac{(m+2)V}{2 n G^3}, \qquad
            \gamma_4 = \frac{V}{n G^4},

        i.e. :math:`1/\gamma_2 = G - (m+2)V/(2nG) + O(1/n^2)`.

    Notes
    -----
    Convention: :math:`p \propto \exp(-\gamma_2\phi\cdot\phi/2 + \gamma_4(\phi\cdot\phi)^2/8)`
    (a positive V, as for every network, gives γ4 > 0: heavier than Gaussian tails; the theory
    is defined as a formal power series in 1/n), and the normalisation of V is
    :math:`\langle\phi_1^2\phi_2^2\rangle_c = V/n`, :math:`\langle\phi_1^4\rangle_c = 3V/n`.
    The engine's O(m) diagrams give :math:`\langle\phi_1^2\rangle = 1/\gamma_2 +
    (m+2)\gamma_4/(2\gamma_2^3)` and :math:`\langle\phi_1^2\phi_2^2\rangle_c =
    \gamma_4/\gamma_2^4` at first order in γ4, solved order by order in 1/n (for an integer m
    the symbolic-N result is evaluated at N = m).

    References
    ----------
    Roberts, Yaida, Hanin, arXiv:2106.10165, §4.4 (single-input effective action); seed talk
    000, slide "Bayesian learning at finite width" (whose 1/γ(2) lacks the factor 1/2).

    Examples
    --------
    >>> g2, g4 = match_quartic(2)
    >>> g2
    1/G + 2*V/(G**3*n)
    >>> g4
    V/(G**4*n)
    >>> match_quartic(sp.Symbol("m"))[0]
    1/G + V*m/(2*G**3*n) + V/(G**3*n)
    """
    from .reconstruction import reconstruct_couplings

    if isinstance(m, sp.Expr) and not m.is_number:
        couplings = reconstruct_couplings(1, species=m)
    else:
        if isinstance(m, sp.Integer):
            m = int(m)
        couplings = reconstruct_couplings(1, species=positive_int(m, "m"))
    return couplings[2], couplings[4]


@functools.lru_cache(maxsize=64)
def conditional_second_moment(m: int) -> sp.Expr:
    r"""⟨φ2² | φ1 = φ̌1⟩ in the matched O(m) theory, to O(1/n), in symbols G, V, n, phi_1.

    Parameters
    ----------
    m : int
        Number of components, m ≥ 2.

    Returns
    -------
    sympy.Expr
        :math:`G + \tfrac12(\check\phi_1^2 - G)\,V/(nG^2)` (the symbol ``phi_1`` is φ̌1).

    Notes
    -----
    Fixing φ1 = φ̌1 leaves an O(m−1) quartic theory for (φ2, …, φm) with the same γ4 and
    :math:`\gamma_2' = \gamma_2 - \gamma_4\check\phi_1^2/2`; its two-point function to first
    order in γ4 is :math:`1/\gamma_2' + (m+1)\gamma_4/(2\gamma_2'^3)`. Inserting
    :func:`match_quartic` and expanding in 1/n gives the result, independent of m. It agrees
    with the seed talk (which, with its own 1/γ(2), would not: the factor 1/2 there matters).

    Examples
    --------
    >>> sp.factor(conditional_second_moment(3) - sp.Symbol("G"))
    -V*(G - phi_1**2)/(2*G**2*n)
    """
    m = positive_int(m, "m")
    if m < 2:
        raise ArgumentError("m", f"the conditional needs at least two components, got m = {m}")
    g2, g4 = match_quartic(m)
    u = sp.Symbol("u")
    g2u = g2.subs(_N, 1 / u)
    g4u = g4.subs(_N, 1 / u)
    q = _radial_moments(m - 1, g2u - g4u * _PHI1**2 / 2, g4u, 1)
    result = _first_order_in(q[1] / (m - 1), u)
    return sp.expand(result.subs(u, 1 / _N))
