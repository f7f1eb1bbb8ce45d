r"""The effective action of a network on P inputs, to first or second order in 1/n.

Convention (docs/conventions.md, section 7): with :math:`Q_{ab} = f_a\cdot f_b` (the dot runs
over the d_out outputs) and probability :math:`\propto e^{-S}`,

.. math:: S(f) = \frac12\gamma^{(2)}_{ab}Q_{ab} - \frac18\gamma^{(4)}_{ab,cd}Q_{ab}Q_{cd}
          - \frac1{48}\gamma^{(6)}_{ab,cd,ef}Q_{ab}Q_{cd}Q_{ef},

summed over repeated input indices. With this sign the tree-level couplings of every network
are the amputated pairing coefficients of its connected correlators (:math:`\gamma^{(4)} =
V/n` amputated with :math:`K^{-1}`, positive for a single input), as in Roberts–Yaida–Hanin
(arXiv:2106.10165, sec. 4.3) and :func:`fieldnn.symbolic.match_quartic`.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from .._latex import latex_number
from .._validate import real_array
from ..errors import ArgumentError, ArgumentTypeError, ShapeError, UnsupportedError
from ..symbolic._tensor_network import evaluate
from ..symbolic.reconstruction import graded_propagator, reconstruct_tensors
from . import _sources

__all__ = ["EffectiveAction", "effective_action"]

#: (S-normalisation of γ(k) Q…Q) / (engine tensor t) for one output, fully symmetric γ.
_ONE_OUTPUT = {4: -8.0, 6: -48.0}
#: the same for d_out >= k/2, read at the output pattern (0,0,1,1[,2,2]).
_MANY_OUTPUTS = {4: -24.0, 6: -720.0}


def _contract_all(F: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Σ t_{A1…Ak} F_{m A1} … F_{m Ak} for every row m of F (M, S)."""
    M, S = F.shape
    v = F @ t.reshape(S, -1)
    for _ in range(t.ndim - 1):
        v = np.einsum("ma,mab->mb", F, v.reshape(M, S, -1))
    return v[:, 0]


class EffectiveAction:
    r"""Couplings γ(2), γ(4), γ(6) of a network's outputs on P inputs, as series in 1/n.

    Built by :func:`effective_action`; see there for the convention and the method.

    Attributes
    ----------
    order : int
        1 or 2: the highest power of 1/n kept in the couplings.
    n_inputs, d_out : int
        P and the number of outputs.
    source : str
        Where the correlators came from.
    """

    def __init__(
        self,
        gamma2: dict[int, np.ndarray],
        t4: dict[int, np.ndarray],
        t6: dict[int, np.ndarray],
        *,
        order: int,
        n_inputs: int,
        d_out: int,
        source: str,
        errors: dict[int, np.ndarray] | None = None,
    ) -> None:
        self._gamma2 = gamma2
        self._t4 = t4
        self._t6 = t6
        self.order = order
        self.n_inputs = n_inputs
        self.d_out = d_out
        self.source = source
        self._errors = errors or {}
        #: n -> relative error with which the action reproduces its input n-point function
        #: (rounding only; set by :func:`effective_action`)
        self.precision: dict[int, float] = {}

    def __repr__(self) -> str:
        return (
            f"EffectiveAction(order={self.order}, P={self.n_inputs}, d_out={self.d_out}, "
            f"source={self.source!r})"
        )

    # -- couplings --------------------------------------------------------------------------
    def _check_k(self, k: Any) -> int:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise ArgumentTypeError("k", f"must be 2, 4 or 6, got {k!r}")
        if k not in (2, 4, 6):
            raise ArgumentError("k", f"must be 2, 4 or 6, got {k}")
        if k == 6 and self.order < 2:
            raise ArgumentError("k", "γ(6) starts at O(1/n^2): build the action with order=2")
        return int(k)

    def _terms(self, k: int) -> dict[int, np.ndarray]:
        return {2: self._gamma2, 4: self._t4, 6: self._t6}[k]

    def _project(self, k: int, t: np.ndarray) -> np.ndarray:
        P, d = self.n_inputs, self.d_out
        if k == 2:
            return t.reshape(P, d, P, d)[:, 0, :, 0].copy()
        if d == 1:
            return _ONE_OUTPUT[k] * t
        if d < k // 2:
            raise UnsupportedError(
                "k",
                f"with d_out = {d} the pair structure of γ({k}) is not unique (only the "
                f"action S(f) is); it is defined for d_out = 1 (symmetric part) or d_out >= "
                f"{k // 2}",
            )
        pattern = tuple(slice(None) if j % 2 == 0 else (j // 2) // 2 for j in range(2 * k))
        return _MANY_OUTPUTS[k] * t.reshape((P, d) * k)[pattern]

    def gamma(self, k: int, *, term: int | None = None) -> np.ndarray:
        r"""The coupling γ(k), shape (P,)*k, summed to the action's order (or one term).

        Parameters
        ----------
        k : {2, 4, 6}
        term : int, optional
            Return only the term of order :math:`1/n^{\mathrm{term}}` (e.g. ``gamma(2,
            term=0)`` is :math:`K^{-1}`, ``gamma(4, term=1)`` the tree-level quartic).

        Returns
        -------
        ndarray (P,)*k
            For d_out = 1, γ(4) and γ(6) are the fully symmetric tensors (only these enter
            S); for d_out >= 2 (>= 3 for γ(6)) the pair-symmetric ones of the O(d_out) action.
        """
        k = self._check_k(k)
        terms = self._terms(k)
        if term is None:
            total = sum(terms.values())
            return self._project(k, total)
        if isinstance(term, bool) or not isinstance(term, numbers.Integral):
            raise ArgumentTypeError("term", f"must be an integer, got {term!r}")
        if term not in terms:
            raise ArgumentError(
                "term", f"γ({k}) has terms {sorted(terms)} at order {self.order}, got {term}"
            )
        return self._project(k, terms[term])

    def stderr(self, k: int) -> np.ndarray:
        """Standard error of :meth:`gamma` (k) for an action built from a sampled estimate."""
        k = self._check_k(k)
        if k not in self._errors:
            raise UnsupportedError(
                "k",
                "standard errors exist only for an action built from a CorrelatorEstimate "
                "with at least two chunks",
            )
        return self._errors[k]

    # -- the action -------------------------------------------------------------------------
    def _flat(self, f: Any) -> np.ndarray:
        arr = real_array(f, "f")
        P, d = self.n_inputs, self.d_out
        if d == 1:
            if arr.ndim < 1 or arr.shape[-1] != P:
                raise ShapeError("f", f"must have shape (..., P) with P = {P}, got {arr.shape}")
            return arr
        if arr.ndim < 2 or arr.shape[-2:] != (P, d):
            raise ShapeError(
                "f", f"must have shape (..., P, d_out) = (..., {P}, {d}), got {arr.shape}"
            )
        return arr.reshape((*arr.shape[:-2], P * d))

    def __call__(self, f: Any) -> np.ndarray:
        r"""S(f) up to a constant, for outputs f of shape (..., P) (d_out = 1) or (..., P, d_out).

        Returns
        -------
        ndarray of shape ``f.shape[:-1]`` (or ``f.shape[:-2]``)
        """
        F = self._flat(f)
        batch, S = F.shape[:-1], F.shape[-1]
        Fb = F.reshape(-1, S)
        out = 0.5 * np.einsum("ma,ab,mb->m", Fb, sum(self._gamma2.values()), Fb)
        for terms in (self._t4, self._t6):
            if terms:
                out = out + _contract_all(Fb, sum(terms.values()))
        return out.reshape(batch)

    # -- predictions ------------------------------------------------------------------------
    def correlators(self, n: int, *, series: bool = False) -> np.ndarray | list[np.ndarray]:
        r"""Connected n-point function predicted by the action, from the engine's diagrams.

        Every connected diagram of ``Theory({λ: 4, κ: 6}).correlator(n, order=2,
        connected=True)`` whose vertices are of total order :math:`\le 1/n^{\rm order}`
        (λ counts 1/n, κ 1/n²) is evaluated as a tensor network (coupling tensors on the
        vertices, propagator :math:`D = (\gamma^{(2)})^{-1}` on the lines).

        Parameters
        ----------
        n : {2, 4, 6}
        series : bool
            False: the diagrams with the full couplings and :math:`D = (\sum_g
            \gamma^{(2)}_g)^{-1}` (residuals against the network start at
            :math:`O(1/n^{\mathrm{order}+1})`). True: the list of its terms of order
            :math:`1/n^0 \ldots 1/n^{\mathrm{order}}`, with D expanded in 1/n.

        Returns
        -------
        ndarray (P,)*n (+ (d_out,)*n), or a list of them
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise ArgumentTypeError("n", f"must be 2, 4 or 6, got {n!r}")
        if n not in (2, 4, 6):
            raise ArgumentError("n", f"must be 2, 4 or 6, got {n}")
        P, d = self.n_inputs, self.d_out
        if series:
            D = graded_propagator(self._gamma2, self.order)
            parts = evaluate(n, self.order, D, (self._t4, self._t6))
            return [_sources.split(parts[g], n, P, d) for g in range(self.order + 1)]
        D0 = np.linalg.inv(sum(self._gamma2.values()))
        vertices = (
            {0: sum(self._t4.values())} if self._t4 else {},
            {0: sum(self._t6.values())} if self._t6 else {},
        )
        total = evaluate(n, self.order, {0: 0.5 * (D0 + D0.T)}, vertices, grades=(0,))[0]
        return _sources.split(total, n, P, d)

    # -- output -----------------------------------------------------------------------------
    def latex(self) -> str:
        r"""The action in LaTeX; numbers are shown for a single input.

        Examples
        --------
        >>> import numpy as np
        >>> S = effective_action((np.array([[2.0]]), np.array([[[[0.3]]]])), None, order=1)
        >>> S.latex()
        'S(f) = \\frac{1}{2}\\,0.519\\,f\\cdot f - \\frac{1}{8}\\,0.00625\\,(f\\cdot f)^{2}'
        """
        if self.n_inputs == 1:
            text = rf"S(f) = \frac{{1}}{{2}}\,{latex_number(float(self.gamma(2)[0, 0]))}\,f\cdot f"
            for k, denominator in ((4, 8), (6, 48)):
                if k == 6 and self.order < 2:
                    continue
                c = float(self._scalar(k))  # S ⊃ −c (f·f)^{k/2}/denominator
                sign = "-" if c >= 0 else "+"
                text += (
                    rf" {sign} \frac{{1}}{{{denominator}}}\,{latex_number(abs(c))}"
                    rf"\,(f\cdot f)^{{{k // 2}}}"
                )
            return text
        body = (
            r"\frac{1}{2}\gamma^{(2)}_{a_1a_2}\,f_{a_1}\cdot f_{a_2}"
            r" - \frac{1}{8}\gamma^{(4)}_{a_1a_2,a_3a_4}\,"
            r"(f_{a_1}\cdot f_{a_2})(f_{a_3}\cdot f_{a_4})"
        )
        if self.order >= 2:
            body += (
                r" - \frac{1}{48}\gamma^{(6)}_{a_1a_2,a_3a_4,a_5a_6}\,(f_{a_1}\cdot f_{a_2})"
                r"(f_{a_3}\cdot f_{a_4})(f_{a_5}\cdot f_{a_6})"
            )
        return rf"S(f) = {body},\quad a_i = 1, \ldots, {self.n_inputs}"

    def _scalar(self, k: int) -> float:
        """γ(k) at one input, as the coefficient of −(f·f)^{k/2}/(2^{k/2}(k/2)!) in S."""
        t = sum(self._terms(k).values()).reshape(-1)
        d = self.d_out
        # S ⊃ Σ t f^k over the d outputs = t_1111 (f·f)^{k/2} · (k-1)!!/(…) for O(d): read it
        # from the all-first-output entry, t_{0…0} = coefficient of f_1^k = c (f·f)^{k/2}|_{f_1}
        c = float(t[0]) if d == 1 else float(t.reshape((d,) * k)[(0,) * k])
        return -{4: 8.0, 6: 48.0}[k] * c

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready couplings (total and per order in 1/n), convention and provenance."""
        out: dict[str, Any] = {
            "order": self.order,
            "n_inputs": self.n_inputs,
            "d_out": self.d_out,
            "source": self.source,
            "convention": (
                "S = 1/2 g2_ab f_a.f_b - 1/8 g4_ab,cd (f_a.f_b)(f_c.f_d) "
                "- 1/48 g6_ab,cd,ef (f_a.f_b)(f_c.f_d)(f_e.f_f); p ~ exp(-S) "
                "(docs/conventions.md, section 7)"
            ),
            "gamma": {},
            "precision": {str(n): e for n, e in self.precision.items()},
        }
        for k in (2, 4, 6):
            if k == 6 and self.order < 2:
                continue
            try:
                entry = {"total": self.gamma(k).tolist()}
                entry["terms"] = {str(g): self.gamma(k, term=g).tolist() for g in self._terms(k)}
            except UnsupportedError:
                continue
            if k in self._errors:
                entry["stderr"] = self._errors[k].tolist()
            out["gamma"][str(k)] = entry
        return out


def _read_source(source: Any, X: Any, order: int) -> _sources.Correlators:
    from ..ensembles import MLP, CorrelatorEstimate, SingleLayerNet

    if isinstance(source, SingleLayerNet):
        return _sources.from_single_layer(source, X, order)
    if isinstance(source, MLP):
        return _sources.from_mlp(source, X, order)
    if isinstance(source, CorrelatorEstimate):
        return _sources.from_estimates([source], X, order)
    if (
        isinstance(source, list | tuple)
        and source
        and all(isinstance(s, CorrelatorEstimate) for s in source)
    ):
        return _sources.from_estimates(source, X, order)
    return _sources.from_arrays(source, X, order)


def _jackknife(corr: _sources.Correlators, order: int) -> dict[int, np.ndarray]:
    """Jackknife standard errors of γ(2), γ(4)[, γ(6)] over the replicas of a sampled source."""
    R = len(corr.replicas)
    values: dict[int, list[np.ndarray]] = {2: [], 4: [], 6: []}
    for skip in range(R):
        rest = [r for i, r in enumerate(corr.replicas) if i != skip]
        mean = {n: sum(r[n] for r in rest) / (R - 1) for n in rest[0]}
        g2, t4, t6 = reconstruct_tensors(
            {0: mean[2]}, {1: mean[4]}, {2: mean[6]} if order >= 2 else {}, order
        )
        loo = EffectiveAction(
            g2, t4, t6, order=order, n_inputs=corr.n_inputs, d_out=corr.d_out, source=""
        )
        for k in values:
            if k == 6 and order < 2:
                continue
            try:
                values[k].append(loo.gamma(k))
            except UnsupportedError:
                pass
    out = {}
    for k, v in values.items():
        if v:
            arr = np.array(v)
            out[k] = np.sqrt((R - 1) / R * np.sum((arr - arr.mean(axis=0)) ** 2, axis=0))
    return out


def effective_action(
    source: Any,
    X: Any = None,
    *,
    order: int = 1,
) -> EffectiveAction:
    r"""The effective action of a network's outputs on the inputs X, to order 1/n or 1/n².

    .. math:: p(f) \propto e^{-S(f)},\qquad
              S(f) = \frac12\gamma^{(2)}_{ab}\,f_a\cdot f_b
              - \frac18\gamma^{(4)}_{ab,cd}\,(f_a\cdot f_b)(f_c\cdot f_d)
              - \frac1{48}\gamma^{(6)}_{ab,cd,ef}\,(f_a\cdot f_b)(f_c\cdot f_d)(f_e\cdot f_f),

    a, b, … = 1..P inputs, the dot over the d_out outputs (O(d_out) symmetry). The couplings
    are series in 1/n, :math:`\gamma^{(2)} = K^{-1} + O(1/n)`, :math:`\gamma^{(4)} = O(1/n)`,
    :math:`\gamma^{(6)} = O(1/n^2)`, fixed so that the connected 2-, 4- and 6-point functions
    of :math:`e^{-S}`, computed perturbatively, reproduce the network's to
    :math:`O(1/n^{\mathrm{order}})`. At tree level
    :math:`\gamma^{(4)}_{ab,cd} = K^{-1}_{aa'}K^{-1}_{bb'}K^{-1}_{cc'}K^{-1}_{dd'}V_{a'b',c'd'}/n`
    (the pairing coefficient of :math:`G^{(4)}_c`, amputated); at order 2, γ(4) gains its
    one-loop (bubble), sextic-tadpole and γ(2)-correction terms and
    :math:`\gamma^{(6)} = [U]_{\rm amp} - (\text{tree of two }\gamma^{(4)})` (docs page "The
    effective action").

    Parameters
    ----------
    source : SingleLayerNet, MLP, CorrelatorEstimate, or arrays
        * ``SingleLayerNet``: exact finite-width cumulants (G2 = K exactly, G4c ∝ 1/N,
          G6c ∝ 1/N²); orders 1 and 2.
        * ``MLP``: K, the 1/n kernel correction K^{1} and V from the deep recursions
          (n = n_{L−1}); order 2 at one input (any σ) or up to four inputs (smooth σ, relu,
          leaky relu, linear): K^{2}/n², V^{1}/n² and the six-point vertex
          U/n² (:func:`~fieldnn.kernels.single_input_cumulants`,
          :func:`~fieldnn.kernels.multi_input_cumulants`).
        * ``CorrelatorEstimate``, or a list of independent ones (different seeds): sampled
          connected correlators (orders (2, 4[, 6])), averaged over the list; with two or more
          the standard error of every coupling is the jackknife over the list
          (:meth:`EffectiveAction.stderr`). A single estimate keeps only per-entry standard
          errors, while the entries are strongly correlated (neighbouring inputs) and the
          inverse kernel amplifies uncorrelated noise: propagating them as independent
          overstates the coupling errors by orders of magnitude, so none are given.
        * ``(G2, G4c)`` / ``(G2, G4c, G6c)`` or ``{2: G2, 4: G4c, 6: G6c}``: arrays of shape
          (P,)*n or (P,)*n + (d_out,)*n; G4c is read as O(1/n), G6c as O(1/n²).
    X : array_like (P, d_in), optional for arrays and estimates
        The inputs (distinct rows: a duplicated input makes the kernel singular).
    order : {1, 2}
        Highest power of 1/n kept in the couplings.

    Returns
    -------
    EffectiveAction

    Raises
    ------
    UnsupportedError
        ``order`` the source cannot supply (an estimate without 6-point functions), an MLP at
        order 2 on more inputs than its σ's rule handles or on a nearly singular kernel
        (naming ``X``), a normalised σ at two or more inputs (naming ``activation``), or
        tensors too large for order 2.
    ArgumentError
        Duplicated or nearly coincident inputs (singular kernel; the rows are named).

    Notes
    -----
    The couplings are found grade by grade in 1/n: at each order the new γ(6), γ(4), γ(2)
    enter only through a tree diagram or the bare line, everything else being diagrams of the
    lower-order couplings evaluated by the symbolic engine (:class:`fieldnn.symbolic.Theory`)
    as tensor networks. Conversions: the engine's vertex tensors (seed 001's λ, κ with
    :math:`\int d^{d_{\rm in}}y` replaced by the sum over the P inputs) are
    :math:`\lambda_{abcd} = -\tfrac18\,\mathrm{sym}\,\gamma^{(4)}` and
    :math:`\kappa_{a\ldots f} = -\tfrac1{48}\,\mathrm{sym}\,\gamma^{(6)}` (one output);
    seed 000 writes :math:`+\tfrac18\gamma^{(4)}` in S but uses our sign in its formulas
    (docs/conventions.md, section 7).

    References
    ----------
    Demirtas, Halverson, Maiti, Schwartz, Stoner, arXiv:2307.03223, sec. 3 (couplings from
    connected correlators by diagrams); Roberts, Yaida, Hanin, arXiv:2106.10165, sec. 4.3
    (the quartic action of a deep net); Halverson, Maiti, Stoner, arXiv:2008.08601, eq. (3.17).

    Examples
    --------
    One input, one output: γ(4) = V/(n G⁴) and γ(2) = 1/G + 3V/(2nG³) (cf. ``match_quartic(1)``):

    >>> import numpy as np
    >>> G, V_n = 2.0, 0.1
    >>> S = effective_action((np.array([[G]]), np.array([[[[3 * V_n]]]])), order=1)
    >>> round(float(S.gamma(4)[0, 0, 0, 0]), 12), round(float(S.gamma(2)[0, 0]), 12)
    (0.00625, 0.51875)
    """
    if isinstance(order, bool) or not isinstance(order, numbers.Integral):
        raise ArgumentTypeError("order", f"must be 1 or 2, got {order!r}")
    if order not in (1, 2):
        raise ArgumentError("order", f"must be 1 or 2, got {order}")
    order = int(order)
    corr = _read_source(source, X, order)
    _sources.check_invertible(corr.two[0], "X" if X is not None else "source")
    gamma2, t4, t6 = reconstruct_tensors(corr.two, corr.four, corr.six, order)
    action = EffectiveAction(
        gamma2,
        t4,
        t6,
        order=order,
        n_inputs=corr.n_inputs,
        d_out=corr.d_out,
        source=corr.source,
    )
    action.precision = _round_trip(action, corr)
    _check_precision(action.precision, "X" if X is not None else "source", corr, order)
    if corr.replicas:
        action._errors = _jackknife(corr, order)
    return action


#: Round-trip relative errors above which the action is refused, or comes with a warning.
PRECISION_REFUSE, PRECISION_WARN = 1e-2, 1e-4


def _round_trip(action: EffectiveAction, corr: _sources.Correlators) -> dict[int, float]:
    """How well the couplings reproduce the correlators they were built from.

    In exact arithmetic the action's diagrams, summed over the grades 0 … order, return the
    input correlators exactly; in floating point the couplings carry the inverse kernel on every
    leg, and on nearly degenerate inputs (a large condition number of K) the amputation and the
    re-attachment of six legs lose up to ~cond(K)⁴ ε of relative precision. The difference,
    relative to the largest input entry, is the action's own rounding error (measured: Erf-net
    seed inputs, cond(K) = 3.4e4, 21 for G6c; three of them, cond 161, 1.5e-7).
    """
    D = graded_propagator(action._gamma2, action.order)
    out = {}
    for n, data in ((2, corr.two), (4, corr.four), (6, corr.six)):
        if n == 6 and action.order < 2:
            continue
        target = sum(data.get(g, 0) for g in range(action.order + 1))
        scale = float(np.max(np.abs(target))) if np.ndim(target) else 0.0
        if scale == 0.0:
            continue
        parts = evaluate(n, action.order, D, (action._t4, action._t6))
        out[n] = float(np.max(np.abs(sum(parts[g] for g in range(action.order + 1)) - target)))
        out[n] /= scale
    return out


def _check_precision(
    precision: dict[int, float], argument: str, corr: _sources.Correlators, order: int
) -> None:
    worst = max(precision, key=precision.get) if precision else None
    if worst is None or precision[worst] <= PRECISION_WARN:
        return
    cond = float(np.linalg.cond(corr.two[0]))
    what = (
        f"the order-{order} couplings reproduce the connected {worst}-point function they were "
        f"built from only to {precision[worst]:.2g} relative (double precision; cond(K) = "
        f"{cond:.3g}: the couplings carry K⁻¹ on every leg)"
    )
    if precision[worst] > PRECISION_REFUSE:
        raise UnsupportedError(
            argument,
            f"{what}; use inputs farther apart (fewer or better-separated points) or order=1",
        )
    warnings.warn(f"{what}; see EffectiveAction.precision", RuntimeWarning, stacklevel=3)
