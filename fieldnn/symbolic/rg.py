"""Wilsonian β-functions of the NN-QFT effective action (seed 001, eqs. 4.13–4.14).

The effective action of a single-layer network with a box cutoff,

.. math::

    S_\\Lambda = S_{\\rm GP} + \\int_{[-\\Lambda,\\Lambda]^{d_{\\rm in}}} d^{d_{\\rm in}}y\\,
    \\bigl[\\lambda(\\Lambda) f(y)^4 + \\kappa(\\Lambda) f(y)^6\\bigr],

predicts at tree level (seed eqs. 3.18–3.19, probability ∝ e^{−S}, no 1/k!)

.. math::

    G^{(4)} &= G^{(4)}_{\\rm GP} - 24\\lambda I_{4,0} - 360\\kappa I_{4,1},\\\\
    G^{(6)} &= G^{(6)}_{\\rm GP} - 24\\lambda J_{4,0} - 720\\kappa I_{6,0} - 360\\kappa J_{4,1},

with :math:`I_{n,s}(\\Lambda) = \\int_{\\rm box} \\prod_{a=1}^n K_{x_a y}\\,K_{yy}^s\\,d^{d}y` and
:math:`J_{n,s} = \\sum_{15} K_{x_m x_n} I_{n,s}` (the external propagator does not depend on Λ).
Requiring :math:`\\partial G^{(4)}/\\partial\\log\\Lambda = 0` and
:math:`\\partial G^{(6)}/\\partial\\log\\Lambda = 0` gives a linear system for
:math:`(\\beta_\\lambda, \\beta_\\kappa)`. At large Λ each integral grows like
:math:`\\Lambda^{e}` with :math:`e = \\max(d_{\\rm in} + n p + s q, 0)`, where :math:`p` is
the power of :math:`|y|` of a leg :math:`K(x, y)` and :math:`q` that of the self-loop
:math:`K(y, y)` (both derived here from the closed-form kernels with :func:`sympy.limit`); an
integral that converges has a Λ-derivative that vanishes, hence :math:`e = 0`.

Which kernel stands on the legs is a documented choice (``legs="full"``: :math:`K`;
``legs="subtract_bias"``: :math:`K - \\sigma_b^2`, the output bias :math:`b_1` feeding only the
2-point function), see ``docs/nnqft.md``.

References
----------
J. Halverson, A. Maiti, K. Stoner, "Neural Networks and Quantum Field Theory", arXiv:2008.08601,
Sec. 4 (eqs. 4.13–4.14 of the seed talk, β(λ) = −(d_in+4)λ for ReLU, −d_in λ for Erf and Gauss).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

import sympy as sp

from ..errors import ArgumentError, ArgumentTypeError, UnknownNameError

__all__ = ["Asymptotics", "BetaFunctions", "beta_functions", "kernel_asymptotics"]

LEGS = ("full", "subtract_bias")
LIMITS = ("uv", "ir")
SYMBOLIC_KERNELS = ("relu", "erf", "gauss", "linear")

_t = sp.Symbol("t", positive=True)  # |y| along a ray y = t u, |u| = 1
_s = sp.Symbol("s", real=True)  # x·u
_a = sp.Symbol("a", positive=True)  # |x|²
D_IN = sp.Symbol("d_in", positive=True, integer=True)
LOG_CUTOFF = sp.Symbol(r"\ell", real=True)  # ℓ = log Λ


@dataclass(frozen=True)
class Asymptotics:
    """Powers of ``|y|`` of a leg K(x, y) − s and of the self-loop K(y, y) − s.

    ``leg`` and ``loop`` are sympy numbers; ``-oo`` means faster than any power (Gaussian decay).
    ``limit`` is ``"uv"`` (``|y|`` → ∞) or ``"ir"`` (y → 0, the box shrinking onto the origin).
    """

    leg: sp.Expr
    loop: sp.Expr
    limit: str = "uv"


def _symbolic_kernel(name: str, cxx: sp.Expr, cyy: sp.Expr, cxy: sp.Expr, sw: sp.Expr, sb: sp.Expr):
    """Seed-001 closed-form GP kernel K(x, y) in terms of the pre-activation covariance C."""
    if name == "erf":
        return sb + sw * 2 / sp.pi * sp.asin(2 * cxy / sp.sqrt((1 + 2 * cxx) * (1 + 2 * cyy)))
    if name == "relu":
        theta = sp.acos(cxy / sp.sqrt(cxx * cyy))
        return sb + sw / (2 * sp.pi) * sp.sqrt(cxx * cyy) * (
            sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)
        )
    if name == "linear":
        return sb + sw * cxy
    # Gauss-net unit exp(z − C(x, x)): K = σ_b² + σ_W² exp(−σ_W²|x − y|²/(2 d_in))
    dist2 = (cxx + cyy - 2 * cxy) / sw
    return sb + sw * sp.exp(-sw * dist2 / 2)


def symbolic_kernel_on_ray(
    name: str, *, sigma_w2: sp.Expr, sigma_b2: sp.Expr, d_in: sp.Expr, loop: bool = False
) -> sp.Expr:
    """K(x, t u) (K(t u, t u) when ``loop``), |x|² = a, x·u = s, as a sympy expression in t."""
    cxx = sigma_b2 + sigma_w2 * _a / d_in
    cyy = sigma_b2 + sigma_w2 * _t**2 / d_in
    cxy = sigma_b2 + sigma_w2 * _t * _s / d_in
    if loop:
        return _symbolic_kernel(name, cyy, cyy, cyy, sigma_w2, sigma_b2)
    return _symbolic_kernel(name, cxx, cyy, cxy, sigma_w2, sigma_b2)


def _power(expr: sp.Expr, limit: str) -> sp.Expr:
    """Leading power of t of ``expr`` (t → ∞: "uv", t → 0⁺: "ir"); −oo if it vanishes faster."""
    expr = sp.simplify(expr)
    if expr == 0:
        return sp.S.NegativeInfinity
    if limit == "ir":
        # the exponent of the leading term at t → 0⁺; sympy's limit of log|K|/log t returns 0
        # for the Erf-net with σ_b² = 0, whose leg (2/π) asin(c t/…) is ∝ t
        coeff, power = expr.as_leading_term(_t).as_coeff_exponent(_t)
        if coeff.has(_t) or not power.is_number:  # pragma: no cover - not a power law
            return sp.limit(sp.log(expr**2) / (2 * sp.log(_t)), _t, 0)
        return power
    return sp.limit(sp.log(expr**2) / (2 * sp.log(_t)), _t, sp.oo)


@cache
def _asymptotics_cached(name: str, legs: str, sw: sp.Expr, sb: sp.Expr, limit: str) -> Asymptotics:
    shift = sb if legs == "subtract_bias" else sp.S.Zero
    leg = symbolic_kernel_on_ray(name, sigma_w2=sw, sigma_b2=sb, d_in=D_IN) - shift
    loop = symbolic_kernel_on_ray(name, sigma_w2=sw, sigma_b2=sb, d_in=D_IN, loop=True) - shift
    # UV: |y| → ∞ along a generic ray; IR: y → 0 (a leg vanishes there only if K(x, 0) − s = 0)
    leg_power = _power(leg, limit)
    loop_power = _power(loop, limit)
    return Asymptotics(leg=leg_power, loop=loop_power, limit=limit)


def kernel_asymptotics(
    activation: str,
    *,
    legs: str = "full",
    sigma_w2: float | sp.Expr | None = None,
    sigma_b2: float | sp.Expr | None = None,
    limit: str = "uv",
) -> Asymptotics:
    """Derive the power of ``|y|`` of the legs and of the self-loop from the closed-form kernel.

    Parameters
    ----------
    activation : {"relu", "erf", "gauss", "linear"}
        Seed-001 single-layer net whose GP kernel is known in closed form.
    legs : {"full", "subtract_bias"}
        Kernel on the legs: K or K − σ_b².
    sigma_w2, sigma_b2 : number or sympy expression, optional
        Default: positive symbols. ``limit="ir"`` requires ``sigma_b2`` (``sigma_b2=0``, the seed's
        ReLU-net, changes the IR behaviour: K(x, 0) = 0).
    limit : {"uv", "ir"}
        ``|y|`` → ∞ along a generic ray, or y → 0.

    Returns
    -------
    Asymptotics
        ``leg`` = p with K(x, y) − s ∝ ``|y|^p``, ``loop`` = q with K(y, y) − s ∝ ``|y|^q``.

    Notes
    -----
    The power is :math:`\\lim \\log|K(x, t u) - s| / \\log t` along a ray at generic angle
    (x·u = s a free symbol), computed by :func:`sympy.limit`.

    Examples
    --------
    >>> kernel_asymptotics("relu").leg
    1
    >>> kernel_asymptotics("gauss", legs="subtract_bias").leg
    -oo
    """
    name = _check_name(activation)
    _check_choice(legs, "legs", LEGS)
    _check_choice(limit, "limit", LIMITS)
    if limit == "ir" and sigma_b2 is None:
        # y → 0 probes K(x, 0) − s, which vanishes exactly when σ_b² = 0 (the seed's ReLU-net):
        # a symbolic positive σ_b² would silently assume the opposite
        raise ArgumentError(
            "sigma_b2",
            'limit="ir" depends on whether σ_b² = 0 (then K(x, 0) = 0 and the legs vanish at '
            "y = 0); pass the net's sigma_b2 (e.g. 0 for the seed's ReLU-net)",
        )
    sw = (
        sp.Symbol("sigma_W2", positive=True)
        if sigma_w2 is None
        else _exact_number(sigma_w2, "sigma_w2")
    )
    sb = (
        sp.Symbol("sigma_b2", positive=True)
        if sigma_b2 is None
        else _exact_number(sigma_b2, "sigma_b2")
    )
    if not sw.is_positive:
        raise ArgumentError("sigma_w2", f"must be positive, got {sigma_w2}")
    if sb.is_negative:
        raise ArgumentError("sigma_b2", f"must be >= 0, got {sigma_b2}")
    return _asymptotics_cached(name, legs, sw, sb, limit)


#: Rays along which :func:`measured_asymptotics` evaluates K(x, t): x and the values of t.
_RAY_X = 0.7
_RAY_T = {"uv": (1e2, 1e3, 1e4), "ir": (1e-2, 1e-3, 1e-4)}


def measured_asymptotics(
    activation: object,
    *,
    legs: str = "full",
    sigma_w2: float = 1.0,
    sigma_b2: float = 1.0,
    limit: str = "uv",
) -> Asymptotics:
    """The powers p, q of a leg and of the self-loop, measured from the numerical GP kernel of any
    activation (a registry name such as "tanh" or "gelu", or a callable).

    Parameters
    ----------
    activation : str, callable or Activation
    legs : {"full", "subtract_bias"}
    sigma_w2, sigma_b2 : float
        Numeric hyperparameters of the single-layer net (d_in = 1).
    limit : {"uv", "ir"}

    Returns
    -------
    Asymptotics
        p and q as exact quarters (the powers of the activations in use are integers or halves);
        ``-oo`` for a leg that falls faster than ``|y|^-8`` (a Gaussian decay).

    Notes
    -----
    p is the local slope of log|K(x, t) − s| against log t between the two outermost of
    t = 10², 10³, 10⁴ (UV) or 10⁻², 10⁻³, 10⁻⁴ (IR) at x = 0.7, q the same for K(t, t) − s, with
    s = σ_b² for ``legs="subtract_bias"`` and 0 otherwise. The kernel's quadrature at these large
    variances is accurate to ~1e-5 relative, far below what the slope needs; its accuracy warnings
    are not passed on. A slope farther than 0.05 from a quarter is refused (``UnsupportedError``):
    the power has not settled, pass ``leg_power`` instead.

    Examples
    --------
    >>> measured_asymptotics("gelu").leg, measured_asymptotics("tanh").leg
    (1, 0)
    """
    import warnings

    import numpy as np

    from ..errors import UnsupportedError
    from ..kernels import single_layer_kernel

    _check_choice(legs, "legs", LEGS)
    _check_choice(limit, "limit", LIMITS)
    shift = float(sigma_b2) if legs == "subtract_bias" else 0.0
    t = np.array(_RAY_T[limit])

    def power(values: np.ndarray, what: str) -> sp.Expr:
        mag = np.abs(values - shift)
        fast = sp.S.NegativeInfinity if limit == "uv" else sp.oo  # faster than any power
        if mag[-1] <= 1e-300:
            return fast
        slope = float(np.log(mag[-1] / mag[-2]) / np.log(t[-1] / t[-2]))
        if abs(slope) > 8:
            return fast
        quarter = round(4 * slope) / 4
        if abs(slope - quarter) > 0.05:
            raise UnsupportedError(
                "activation",
                f"the {what} power of the kernel has not settled (measured {slope:.3g} at "
                f"|y| = {t[-1]:g}); pass leg_power (and loop_power) instead",
            )
        return sp.Rational(round(4 * quarter), 4)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        leg = np.array([single_layer_kernel(activation, [[_RAY_X]], [[v]], sigma_w2=sigma_w2,
                                            sigma_b2=sigma_b2)[0, 0] for v in t])  # fmt: skip
        loop = np.array([single_layer_kernel(activation, [[v]], sigma_w2=sigma_w2,
                                             sigma_b2=sigma_b2)[0, 0] for v in t])  # fmt: skip
    if not (np.all(np.isfinite(leg)) and np.all(np.isfinite(loop))):
        raise UnsupportedError("activation", "the kernel is not finite along the measuring ray")
    return Asymptotics(leg=power(leg, "leg"), loop=power(loop, "self-loop"), limit=limit)


@dataclass(frozen=True)
class BetaFunctions:
    """Result of :func:`beta_functions` (sympy throughout).

    Attributes
    ----------
    beta : dict
        ``{λ: β_λ, κ: β_κ}`` (only λ when ``couplings=("lambda",)``).
    beta_dimensionless : dict
        ``{c_λ: β(c_λ), …}`` for :math:`c_\\lambda = \\lambda\\Lambda^{d_{in}}`,
        :math:`c_\\kappa = \\kappa\\Lambda^{d_{in}}`.
    fixed_points : list of dict
        ``{"coupling": c, "value": c*, "attractive": bool}``: zeros of the dimensionless
        β-functions, attractive when the flow towards ``limit`` runs into them; ``value`` is
        ``"marginal"`` when β(c) vanishes identically (c then tends to a non-universal constant
        c*, a fixed point whose value :func:`fieldnn.experiments.nnqft.rg_flow` measures).
    exponents : dict
        Growth exponent e of each integral, :math:`I \\propto \\Lambda^e`.
    equations : list of sympy.Eq
        :math:`\\partial_\\ell G^{(4)} = 0` and :math:`\\partial_\\ell G^{(6)} = 0`,
        ℓ = log Λ, with the integrals as amplitudes × :math:`e^{e\\ell}`.
    asymptotics : Asymptotics
    d_in, legs, limit : the inputs.
    """

    beta: dict
    beta_dimensionless: dict
    fixed_points: list
    exponents: dict
    equations: list
    asymptotics: Asymptotics
    d_in: sp.Expr
    legs: str
    limit: str
    couplings: tuple = field(default=())

    def slope(self, coupling: str = "lambda") -> sp.Expr:
        """β_g / g: the log-log slope d log g / d log Λ."""
        sym = _coupling_symbol(coupling)
        return sp.simplify(self.beta[sym] / sym)

    def _repr_latex_(self) -> str:
        body = r",\quad ".join(
            rf"\beta_{{{sp.latex(g)}}} = {sp.latex(b)}" for g, b in self.beta.items()
        )
        return f"${body}$"


def _coupling_symbol(name: str) -> sp.Symbol:
    """The coupling named ``name``: a fixed table lookup, never a parse."""
    if not isinstance(name, str):
        raise ArgumentTypeError("coupling", f"must be 'lambda' or 'kappa', got {name!r}")
    if name in ("lambda", "lam"):
        return sp.Symbol("lambda")
    if name in ("kappa", "kap"):
        return sp.Symbol("kappa")
    raise UnknownNameError("coupling", name, ("lambda", "kappa"))


def _exact_number(value: object, argument: str, *, infinite: bool = False) -> sp.Expr:
    """A number or sympy expression as a sympy object, without ever evaluating a string.

    Python ints, Fractions and floats are converted exactly (floats by :func:`sympy.nsimplify`
    of the float, which parses nothing); sympy expressions pass unchanged. Strings, bytes,
    booleans, NaN and (unless ``infinite``) ±inf are refused naming ``argument``.
    """
    if isinstance(value, sp.Basic):
        expr = value
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            argument,
            f"must be a number or a sympy expression (strings are not parsed), got {value!r}",
        )
    elif isinstance(value, numbers.Integral):
        expr = sp.Integer(int(value))
    elif isinstance(value, Fraction):
        expr = sp.Rational(value.numerator, value.denominator)
    else:
        x = float(value)
        if math.isnan(x):
            raise ArgumentError(argument, "must be a number, got nan")
        expr = (sp.oo if x > 0 else -sp.oo) if math.isinf(x) else sp.nsimplify(x)
    if expr is sp.nan or expr.has(sp.nan, sp.zoo):
        raise ArgumentError(argument, f"must be a number, got {expr}")
    if not infinite and expr.has(sp.oo, -sp.oo):
        raise ArgumentError(argument, f"must be finite, got {expr}")
    return expr


def _check_choice(value: str, argument: str, known: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in known:
        raise UnknownNameError(argument, value, known)
    return value


def _closed_form_name(activation: object) -> str | None:
    """The seed-001 closed-form kernel's name for ``activation``, or None."""
    name = getattr(activation, "name", activation)
    if name == "gauss_net":
        name = "gauss"
    return str(name) if isinstance(name, str) and name in SYMBOLIC_KERNELS else None


def _check_name(activation: object) -> str:
    name = _closed_form_name(activation)
    if name is None:
        raise UnknownNameError(
            "activation", getattr(activation, "name", activation), SYMBOLIC_KERNELS
        )
    return name


def _growth(d_in: sp.Expr, n_legs: int, n_loops: int, asy: Asymptotics) -> sp.Expr:
    """Exponent of Λ of I_{n,s}; 0 if the integral converges (UV) — its derivative vanishes."""
    power = n_legs * asy.leg + (n_loops * asy.loop if n_loops else 0)
    if asy.limit == "ir":
        # box of volume (2Λ)^d around y = 0, integrand ∝ |y|^power: always ∝ Λ^(d + power)
        return sp.simplify(d_in + power)
    return sp.Max(d_in + power, 0)


def beta_functions(
    activation: str | None = None,
    *,
    d_in: int | sp.Expr | None = None,
    legs: str = "full",
    sigma_w2: float | sp.Expr | None = None,
    sigma_b2: float | sp.Expr | None = None,
    couplings: tuple[str, ...] = ("lambda", "kappa"),
    limit: str = "uv",
    leg_power: float | sp.Expr | None = None,
    loop_power: float | sp.Expr | None = None,
) -> BetaFunctions:
    """Derive the tree-level β-functions of λ (and κ) from Λ-independence of G⁽⁴⁾ (and G⁽⁶⁾).

    Parameters
    ----------
    activation : str, callable or Activation, optional
        "relu", "erf", "gauss", "linear": closed-form seed-001 kernel whose asymptotics are
        derived symbolically (:func:`kernel_asymptotics`). Any other registry name ("tanh",
        "gelu", …) or a callable: the powers are measured from its numerical GP kernel
        (:func:`measured_asymptotics`; numeric ``sigma_w2``, ``sigma_b2``, default 1). Or omit it
        and give ``leg_power`` (and ``loop_power``).
    d_in : int or sympy expression, optional
        Input dimension; default the positive symbol ``d_in``.
    legs : {"full", "subtract_bias"}
        Kernel on the legs of the vertex integrals.
    sigma_w2, sigma_b2 : optional
        Hyperparameters (default symbolic); ``limit="ir"`` with an activation requires
        ``sigma_b2`` (``sigma_b2=0`` makes the legs vanish at y = 0).
    couplings : ("lambda",) or ("lambda", "kappa")
        λ alone (from G⁽⁴⁾ with κ = 0) or the coupled λ–κ system from G⁽⁴⁾ and G⁽⁶⁾.
    limit : {"uv", "ir"}
        Λ → ∞ (large-``|y|`` behaviour) or Λ → 0 (behaviour at y = 0).
    leg_power, loop_power : optional
        Override the powers p, q (``loop_power`` defaults to ``2 * leg_power``).

    Returns
    -------
    BetaFunctions

    Notes
    -----
    With :math:`I_{n,s} = A_{n,s}\\,\\Lambda^{e_{n,s}}` the conditions
    :math:`\\partial_\\ell G^{(4)} = \\partial_\\ell G^{(6)} = 0` read

    .. math::

        24 I_{4,0}(\\beta_\\lambda + e_{4,0}\\lambda)
        + 360 I_{4,1}(\\beta_\\kappa + e_{4,1}\\kappa) = 0,

        24 J_{4,0}(\\beta_\\lambda + e_{4,0}\\lambda) + 720 I_{6,0}(\\beta_\\kappa + e_{6,0}\\kappa)
        + 360 J_{4,1}(\\beta_\\kappa + e_{4,1}\\kappa) = 0,

    solved by sympy. With λ alone,
    :math:`\\beta_\\lambda = -\\lambda\\,\\partial_\\ell\\log I_{4,0}`:
    the slope is a property of the integral alone (the numerator of λ_m does not depend on Λ).
    ReLU: p = 1, q = 2 ⇒ β_λ = −(d_in+4)λ, β_κ = −(d_in+6)κ. Erf, and Gauss with full legs:
    p = q = 0 ⇒ β = −d_in g. Gauss with ``legs="subtract_bias"``: the legs decay like a Gaussian,
    the integrals converge and β → 0.

    Examples
    --------
    >>> import sympy as sp
    >>> b = beta_functions("relu", couplings=("lambda",))
    >>> b.beta[sp.Symbol("lambda")]
    -lambda*(d_in + 4)
    >>> beta_functions("erf", d_in=2).slope("kappa")
    -2
    """
    _check_choice(legs, "legs", LEGS)
    _check_choice(limit, "limit", LIMITS)
    names = tuple(couplings)
    if names not in (("lambda",), ("lambda", "kappa")):
        raise ArgumentError("couplings", f"must be ('lambda',) or ('lambda', 'kappa'), got {names}")
    d = D_IN if d_in is None else _exact_number(d_in, "d_in")
    if not d.is_positive:
        raise ArgumentError("d_in", f"must be positive, got {d_in}")
    if loop_power is not None and leg_power is None:
        raise ArgumentError("loop_power", "give leg_power with it (loop_power alone is unused)")
    if leg_power is not None:
        if activation is not None:
            raise ArgumentError("leg_power", "give either an activation or leg_power, not both")
        p = _exact_number(leg_power, "leg_power", infinite=True)
        q = 2 * p if loop_power is None else _exact_number(loop_power, "loop_power", infinite=True)
        asy = Asymptotics(leg=p, loop=q, limit=limit)
    elif activation is None:
        raise ArgumentError("activation", "give an activation name or leg_power")
    elif _closed_form_name(activation) is not None:
        asy = kernel_asymptotics(
            activation, legs=legs, sigma_w2=sigma_w2, sigma_b2=sigma_b2, limit=limit
        )
    else:  # any other activation: the powers measured from its numerical kernel
        asy = measured_asymptotics(
            activation,
            legs=legs,
            sigma_w2=1.0 if sigma_w2 is None else float(_exact_number(sigma_w2, "sigma_w2")),
            sigma_b2=1.0 if sigma_b2 is None else float(_exact_number(sigma_b2, "sigma_b2")),
            limit=limit,
        )

    lam, kap = sp.Symbol("lambda"), sp.Symbol("kappa")
    b_lam, b_kap = sp.symbols(r"beta_lambda beta_kappa")
    ell = LOG_CUTOFF
    e40, e41, e60 = _growth(d, 4, 0, asy), _growth(d, 4, 1, asy), _growth(d, 6, 0, asy)
    names_i = ("I40", "I41", "I60", "J40", "J41")
    amp = dict(zip(names_i, sp.symbols("A_40 A_41 A_60 B_40 B_41"), strict=True))
    integral = {
        "I40": amp["I40"] * sp.exp(e40 * ell),
        "I41": amp["I41"] * sp.exp(e41 * ell),
        "I60": amp["I60"] * sp.exp(e60 * ell),
        "J40": amp["J40"] * sp.exp(e40 * ell),
        "J41": amp["J41"] * sp.exp(e41 * ell),
    }
    lam_f, kap_f = sp.Function("lambda")(ell), sp.Function("kappa")(ell)
    use_kappa = names == ("lambda", "kappa")
    kap_term = kap_f if use_kappa else sp.S.Zero
    g4 = -24 * lam_f * integral["I40"] - 360 * kap_term * integral["I41"]
    g6 = (
        -24 * lam_f * integral["J40"]
        - 720 * kap_term * integral["I60"]
        - 360 * kap_term * integral["J41"]
    )
    subs = {sp.Derivative(lam_f, ell): b_lam, sp.Derivative(kap_f, ell): b_kap}
    back = {lam_f: lam, kap_f: kap}
    eqs = [sp.Eq(sp.diff(g4, ell).subs(subs).subs(back), 0)]
    unknowns = [b_lam]
    if use_kappa:
        eqs.append(sp.Eq(sp.diff(g6, ell).subs(subs).subs(back), 0))
        unknowns.append(b_kap)
    sol = sp.solve(eqs, unknowns, dict=True)
    if len(sol) != 1:
        raise ArgumentError("couplings", "the β-function system is degenerate for these inputs")
    beta = {lam: sp.factor(sp.simplify(sol[0][b_lam]))}
    if use_kappa:
        beta[kap] = sp.factor(sp.simplify(sol[0][b_kap]))

    # dimensionless couplings c_g = g Λ^{d_in}: β(c) = Λ^d (β_g + d g) = (β_g/g + d) c
    c_syms = {lam: sp.Symbol("c_lambda"), kap: sp.Symbol("c_kappa")}
    beta_c = {}
    for g, bg in beta.items():
        beta_c[c_syms[g]] = sp.factor(sp.simplify((bg / g + d) * c_syms[g]))
    fixed = []
    for c, bc in beta_c.items():
        if sp.simplify(bc) == 0:
            # β(c) ≡ 0: c tends to a non-universal constant c* (computed numerically)
            fixed.append({"coupling": c, "value": "marginal", "attractive": True})
            continue
        for root in sp.solve(sp.Eq(bc, 0), c):
            slope = sp.diff(bc, c).subs(c, root)
            # UV (ℓ → +∞) attracts if ∂β/∂c < 0 there; IR (ℓ → −∞) if ∂β/∂c > 0
            attractive = bool(slope < 0) if limit == "uv" else bool(slope > 0)
            fixed.append({"coupling": c, "value": root, "attractive": attractive})
    return BetaFunctions(
        beta=beta,
        beta_dimensionless=beta_c,
        fixed_points=fixed,
        exponents={"I40": e40, "I41": e41, "I60": e60},
        equations=eqs,
        asymptotics=asy,
        d_in=d,
        legs=legs,
        limit=limit,
        couplings=names,
    )
