"""Tests of the Wilsonian β-functions (fieldnn.symbolic.rg) against the seed and against the
Λ-dependence of independently computed vertex integrals."""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest
import sympy as sp

from fieldnn.errors import ArgumentError, ArgumentTypeError, UnknownNameError
from fieldnn.symbolic import rg
from fieldnn.symbolic.rg import beta_functions, kernel_asymptotics, symbolic_kernel_on_ray

lam, kap, d = sp.Symbol("lambda"), sp.Symbol("kappa"), rg.D_IN


def test_doctests() -> None:
    failures, _ = doctest.testmod(rg)
    assert failures == 0


@pytest.mark.parametrize(
    ("act", "legs", "b_lam", "b_kap"),
    [
        ("relu", "full", -(d + 4) * lam, -(d + 6) * kap),  # seed: β = −(d_in+4)λ
        ("erf", "full", -d * lam, -d * kap),  # seed: β = −d_in λ
        ("gauss", "full", -d * lam, -d * kap),  # seed: β = −d_in λ
        ("erf", "subtract_bias", -d * lam, -d * kap),
        ("gauss", "subtract_bias", sp.S.Zero, sp.S.Zero),  # legs decay: integrals converge
    ],
)
def test_uv_beta_functions_match_seed(act, legs, b_lam, b_kap) -> None:
    b = beta_functions(act, legs=legs)
    assert sp.simplify(b.beta[lam] - b_lam) == 0
    assert sp.simplify(b.beta[kap] - b_kap) == 0
    only = beta_functions(act, legs=legs, couplings=("lambda",))
    assert sp.simplify(only.beta[lam] - b_lam) == 0


def test_relu_with_seed_bias_zero_and_concrete_d_in() -> None:
    for d_in in (1, 2, 3):
        b = beta_functions("relu", d_in=d_in, sigma_w2=1, sigma_b2=0)
        assert b.slope("lambda") == -(d_in + 4)
        assert b.slope("kappa") == -(d_in + 6)


def test_dimensionless_flow_and_fixed_points() -> None:
    relu = beta_functions("relu")
    c_lam = sp.Symbol("c_lambda")
    assert relu.beta_dimensionless[c_lam] == -4 * c_lam
    assert {"coupling": c_lam, "value": 0, "attractive": True} in relu.fixed_points
    # Gauss-net with full legs: marginal (c_λ tends to a constant) in the UV and in the IR
    for limit in ("uv", "ir"):
        g = beta_functions("gauss", limit=limit, sigma_b2=1)
        assert g.beta_dimensionless[c_lam] == 0
        assert g.fixed_points[0]["value"] == "marginal"
    # ReLU with σ_b = 0: K(x, 0) = 0, so no IR fixed point — c_λ blows up as Λ → 0
    relu_ir = beta_functions("relu", sigma_b2=0, limit="ir")
    assert sp.simplify(relu_ir.beta[lam] + (d + 4) * lam) == 0
    assert relu_ir.fixed_points[0]["attractive"] is False
    # Gauss-net with subtracted legs: λ freezes, c_λ = λ Λ^d grows (no UV fixed point)
    gs = beta_functions("gauss", legs="subtract_bias")
    assert gs.beta_dimensionless[c_lam] == d * c_lam


def test_asymptotic_powers() -> None:
    assert kernel_asymptotics("relu").leg == 1
    assert kernel_asymptotics("relu").loop == 2
    assert kernel_asymptotics("erf").leg == 0
    assert kernel_asymptotics("gauss", legs="subtract_bias").leg == -sp.oo
    assert kernel_asymptotics("relu", sigma_b2=0, limit="ir").leg == 1
    assert kernel_asymptotics("erf", sigma_b2=1, limit="ir").leg == 0
    assert kernel_asymptotics("erf", sigma_b2=0, limit="ir").leg == 1  # erf(x·y) ∝ |y|


def test_general_leg_power_and_coupled_system_structure() -> None:
    p = sp.Rational(1, 2)
    b = beta_functions(leg_power=p)
    assert sp.simplify(b.beta[lam] + (d + 4 * p) * lam) == 0
    assert sp.simplify(b.beta[kap] + (d + 6 * p) * kap) == 0
    assert len(b.equations) == 2
    # a leg power below −d/4 makes the integral converge: β → 0
    assert beta_functions(leg_power=-5, d_in=2).beta[lam] == 0


def test_errors_name_the_argument() -> None:
    with pytest.raises(UnknownNameError, match="activation"):
        beta_functions("no_such_activation")
    with pytest.raises(UnknownNameError, match="legs"):
        beta_functions("relu", legs="bias")
    with pytest.raises(ArgumentError, match="couplings"):
        beta_functions("relu", couplings=("kappa",))
    with pytest.raises(ArgumentError, match="leg_power"):
        beta_functions("relu", leg_power=1)


def _box_integral_1d(kernel, xs, cutoff: float, n: int = 4000) -> float:
    """∫_{−Λ}^{Λ} Π_a K(x_a, y) dy by composite Gauss–Legendre (not fieldnn.integrals)."""
    nodes, weights = np.polynomial.legendre.leggauss(64)
    edges = np.linspace(-cutoff, cutoff, n // 64 + 1)
    total = 0.0
    for a, b in itertools.pairwise(edges):
        y = 0.5 * (b - a) * nodes + 0.5 * (a + b)
        vals = np.prod([kernel(x, y) for x in xs], axis=0)
        total += 0.5 * (b - a) * float(np.dot(weights, vals))
    return total


@pytest.mark.parametrize(("act", "sb2", "legs"), [("relu", 0.0, "full"), ("erf", 1.0, "full")])
def test_beta_matches_numeric_slope_of_the_integral(act, sb2, legs) -> None:
    """β_λ/λ = −d log I4/d log Λ: measure the slope of I4 from the sympy kernel by quadrature."""
    t, s, a = sp.Symbol("t", positive=True), sp.Symbol("s", real=True), sp.Symbol("a")
    expr = symbolic_kernel_on_ray(act, sigma_w2=sp.S.One, sigma_b2=sp.nsimplify(sb2), d_in=1)
    f = sp.lambdify((a, s, t), expr, "numpy")

    def kernel(x: float, y: np.ndarray) -> np.ndarray:
        return f(x * x, x * np.sign(y), np.abs(y))  # d_in = 1: y = t u with u = sign(y)

    xs = (0.2, 0.6, 1.0, 1.2)
    big = (2.0e3, 4.0e3)
    slope = np.log(
        _box_integral_1d(kernel, xs, big[1]) / _box_integral_1d(kernel, xs, big[0])
    ) / np.log(big[1] / big[0])
    expected = float(beta_functions(act, d_in=1, legs=legs).slope("lambda"))
    assert abs(-slope - expected) < 5e-3


def test_symbolic_kernel_matches_numeric_kernel() -> None:
    gp = pytest.importorskip("fieldnn.kernels.gp")
    rng = np.random.default_rng(1)
    t, s, a = sp.Symbol("t", positive=True), sp.Symbol("s", real=True), sp.Symbol("a")
    for act in ("relu", "erf", "gauss"):
        for d_in in (1, 3):
            expr = symbolic_kernel_on_ray(
                act, sigma_w2=sp.Rational(3, 2), sigma_b2=sp.Rational(1, 2), d_in=d_in
            )
            f = sp.lambdify((a, s, t), expr, "numpy")
            x = rng.normal(size=(1, d_in))
            y = rng.normal(size=(1, d_in)) * 3
            tt = float(np.linalg.norm(y))
            sym = f((x @ x.T).item(), (x @ y.T).item() / tt, tt)
            num = gp.single_layer_kernel(act, x, y, sigma_w2=1.5, sigma_b2=0.5)[0, 0]
            assert sym == pytest.approx(num, rel=1e-10)


# --------------------------------------------------------------------------------------------
# no string is ever evaluated
# --------------------------------------------------------------------------------------------
_PAYLOAD = "__import__('builtins').__setattr__('fieldnn_payload_ran', 1) or 1"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"activation": "erf", "d_in": _PAYLOAD}, "d_in"),
        ({"activation": "erf", "sigma_w2": _PAYLOAD}, "sigma_w2"),
        ({"activation": "relu", "sigma_b2": _PAYLOAD}, "sigma_b2"),
        ({"leg_power": _PAYLOAD}, "leg_power"),
        ({"leg_power": 1, "loop_power": _PAYLOAD}, "loop_power"),
        ({"leg_power": "1"}, "leg_power"),
        ({"activation": "erf", "d_in": b"2"}, "d_in"),
    ],
)
def test_strings_are_refused_not_evaluated(kwargs: dict, argument: str) -> None:
    import builtins

    with pytest.raises(ArgumentTypeError, match=argument) as info:
        beta_functions(**kwargs)
    assert info.value.argument == argument
    assert not hasattr(builtins, "fieldnn_payload_ran")
    with pytest.raises(ArgumentTypeError, match="sigma_w2"):
        kernel_asymptotics("erf", sigma_w2=_PAYLOAD)
    assert not hasattr(builtins, "fieldnn_payload_ran")


@pytest.mark.parametrize("bad", [float("nan"), np.nan, sp.nan])
def test_nan_powers_are_refused(bad: object) -> None:
    with pytest.raises(ArgumentError, match="leg_power"):
        beta_functions(leg_power=bad)
    with pytest.raises(ArgumentError, match="loop_power"):
        beta_functions(leg_power=1, loop_power=bad)
    with pytest.raises(ArgumentError, match="loop_power"):
        beta_functions(loop_power=2)


def test_numbers_of_every_kind_are_converted_exactly() -> None:
    from fractions import Fraction

    assert beta_functions("erf", d_in=2).slope() == -2
    assert beta_functions("erf", d_in=2.0).slope() == -2
    assert beta_functions("erf", d_in=np.int64(3)).slope() == -3
    # p = 1/2: the slope of λ is −(d + 4p) = −(2 + 2)
    assert beta_functions(leg_power=Fraction(1, 2), d_in=2).slope() == -4
    assert beta_functions(leg_power=0.5, d_in=2).slope() == -4
    # Gaussian legs (p = −∞): the integrals converge and β = 0
    assert beta_functions(leg_power=float("-inf")).slope() == 0
    with pytest.raises(ArgumentTypeError, match="coupling"):
        beta_functions("erf").slope(1)  # type: ignore[arg-type]


def test_cli_coupling_names_are_identifiers() -> None:
    from fieldnn.cli import main

    assert main(["derive", "--interaction", "lambda:4", "--points", "4", "--order", "1"]) == 0
    for bad in ("lambda+kappa:4", "__import__('os'):4", "1x:4"):
        assert main(["derive", "--interaction", bad, "--points", "4"]) == 2
    # an order whose diagram count means hours is refused before any generation (exit 2)
    big = ["--interaction", "lambda:4", "--interaction", "kappa:6", "--points", "6"]
    assert main(["derive", *big, "--order", "8"]) == 2


def test_ir_limit_requires_sigma_b2() -> None:
    """The IR powers depend on whether σ_b² = 0: not assumed, required (naming sigma_b2)."""
    with pytest.raises(ArgumentError, match="sigma_b2"):
        beta_functions("relu", limit="ir")
    with pytest.raises(ArgumentError, match="sigma_b2"):
        kernel_asymptotics("erf", limit="ir")
    # with σ_b² = 0 the ReLU legs vanish linearly at y = 0, with σ_b² = 1 they do not
    assert kernel_asymptotics("relu", sigma_b2=0, limit="ir").leg == 1
    assert kernel_asymptotics("relu", sigma_b2=1, limit="ir").leg == 0


def test_ir_powers_against_the_numeric_kernel() -> None:
    """The IR leg power p (K(x, y) − s ∝ |y|^p as y → 0) against the library's numeric kernel:
    log-slope between |y| = 1e-4 and 1e-3 (Erf-net with σ_b² = 0: p = 1, asin(c|y|) ∝ |y|)."""
    from fieldnn.ensembles import SingleLayerNet

    x = np.array([[0.7]])
    for act, sb2, legs in [
        ("erf", 0.0, "full"),
        ("erf", 1.0, "full"),
        ("relu", 0.0, "full"),
        ("relu", 1.0, "subtract_bias"),
        ("linear", 0.0, "full"),
    ]:
        net = SingleLayerNet(act, 4, sigma_w2=1.0, sigma_b2=sb2)
        s = sb2 if legs == "subtract_bias" else 0.0
        k = [abs(float(net.kernel(x, np.array([[y]]))[0, 0]) - s) for y in (1e-4, 1e-3)]
        slope = np.log(k[1] / k[0]) / np.log(10.0)
        p = kernel_asymptotics(act, legs=legs, sigma_b2=sb2, limit="ir").leg
        assert slope == pytest.approx(float(p), abs=1e-3), (act, sb2, legs)
