"""β-functions of any activation: powers measured from the numerical kernel."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.symbolic.rg import kernel_asymptotics, measured_asymptotics

lam = sp.Symbol("lambda")


@pytest.mark.parametrize("name", ["relu", "erf", "gauss", "linear"])
@pytest.mark.parametrize("legs", ["full", "subtract_bias"])
@pytest.mark.parametrize("limit", ["uv", "ir"])
def test_measured_powers_equal_the_symbolic_ones_of_the_closed_form_kernels(name, legs, limit):
    exact = kernel_asymptotics(name, legs=legs, sigma_w2=1, sigma_b2=1, limit=limit)
    measured = measured_asymptotics(name, legs=legs, limit=limit)
    assert (measured.leg, measured.loop) == (exact.leg, exact.loop)


def softplus(z):
    return np.logaddexp(0.0, z)


@pytest.mark.parametrize(
    ("activation", "slope"),
    [("tanh", -1), ("gelu", -5), ("swish", -5), (softplus, -5), ("sin", -1)],
)
def test_registry_names_and_callables_get_beta_functions(activation, slope):
    beta = fnn.beta_functions(activation, d_in=1, couplings=("lambda",))
    assert sp.simplify(beta.beta[lam] / lam) == slope  # −(d_in + 4p): p = 0 bounded, 1 ReLU-like


def test_an_unsettled_power_is_refused():
    def slow(z):  # |z|^{0.3}: a power that is no quarter
        return np.abs(z) ** 0.3

    with pytest.raises(UnsupportedError, match="leg_power"):
        measured_asymptotics(slow)
