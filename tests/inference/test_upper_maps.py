"""The slot derivatives of the layers above a hidden layer (``_upper_maps``) against central
differences of the kernel and NTK recursions run with an independent 2-d Gauss–Hermite rule."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.inference._upper_maps import pair_map, upper_maps
from fieldnn.kernels.deep import kernel_recursion, ntk_recursion

_U, _W = np.polynomial.hermite_e.hermegauss(120)
_W = _W / _W.sum()


def _pair(f, g, k11, k22, k12):
    """⟨f(z1) g(z2)⟩ by the product Gauss–Hermite rule on the Cholesky factor."""
    l11 = np.sqrt(k11)
    l21 = k12 / l11
    l22 = np.sqrt(max(k22 - l21 * l21, 0.0))
    u1, u2 = np.meshgrid(_U, _U, indexing="ij")
    return float(np.sum(np.outer(_W, _W) * f(l11 * u1) * g(l21 * u1 + l22 * u2)))


def _tanh_prime(z):
    return 1.0 / np.cosh(z) ** 2


def _upper(G, T0, CW, Cb, lW, lb):
    """Output kernel and NTK (2 × 2) of the layers above, fed with G and the NTK T0 + the
    λ_W-part of the next layer (module docstring of ``_upper_maps``)."""
    F, T = G.copy(), T0 + lW[0] * (G - Cb[0]) / CW[0]
    for m in range(1, len(CW)):
        H = np.array([[_pair(np.tanh, np.tanh, F[a, a], F[b, b], F[a, b]) for b in (0, 1)]
                      for a in (0, 1)])  # fmt: skip
        D = np.array([[_pair(_tanh_prime, _tanh_prime, F[a, a], F[b, b], F[a, b])
                       for b in (0, 1)] for a in (0, 1)])  # fmt: skip
        F, T = Cb[m] + CW[m] * H, lb[m] + lW[m] * H + CW[m] * D * T
    return F, T


@pytest.mark.parametrize("layer", [1, 2])
def test_slot_derivatives_against_finite_differences(layer):
    X = np.array([[0.6], [-1.1]])
    CW, Cb = [1.3, 1.6, 0.9, 1.2], [0.2, 0.1, 0.3, 0.15]
    lW, lb = [0.7, 1.4, 0.8, 1.1], [0.5, 0.9, 1.2, 0.6]
    act = fnn.MLP("tanh", [1, 5, 5, 5, 1]).activation
    Ks = kernel_recursion(act, X, C_W=CW, C_b=Cb, depth=4)
    top = layer + 1
    ntk = ntk_recursion(
        act, X, C_W=CW[:top], C_b=Cb[:top], lambda_W=lW[:top], lambda_b=lb[:top], depth=top
    )[-1]
    um = upper_maps(
        act, Ks[layer - 1 : 3], CW[layer:], ntk=ntk, lambda_W=lW[layer:], lambda_b=lb[layer:]
    )
    G = Ks[layer]
    T0 = ntk - lW[layer] * (G - Cb[layer]) / CW[layer]  # fixed: λ_b and the lower NTK
    h = 1e-5

    def fd(dG):
        args = (CW[layer:], Cb[layer:], lW[layer:], lb[layer:])
        (Fp, Tp), (Fm, Tm) = _upper(G + h * dG, T0, *args), _upper(G - h * dG, T0, *args)
        return (Fp - Fm) / (2 * h), (Tp - Tm) / (2 * h)

    F_aa, T_aa = fd(np.array([[1.0, 0.0], [0.0, 0.0]]))
    F_ab, T_ab = fd(np.array([[0.0, 1.0], [1.0, 0.0]]))
    expected = np.array([F_aa[0, 1], F_ab[0, 1], T_aa[0, 1], T_ab[0, 1]])
    got = np.array([um.D1[0, 1], um.D3[0, 1], um.E1[0, 1], um.E3[0, 1]])
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)
    # the diagonal: dF_aa/dG_aa = 2 D1_aa + D3_aa (both slots at input a)
    np.testing.assert_allclose(2 * um.D1[0, 0] + um.D3[0, 0], F_aa[0, 0], rtol=1e-7)
    np.testing.assert_allclose(2 * um.E1[0, 0] + um.E3[0, 0], T_aa[0, 0], rtol=1e-7)
    # composing: the map applied to a symmetric perturbation is the directional derivative
    dG = np.array([[0.3, -0.2], [-0.2, 0.5]])
    np.testing.assert_allclose(pair_map(um.D1, um.D3, dG), fd(dG)[0], rtol=1e-7, atol=1e-9)


def test_last_hidden_layer_is_the_identity():
    act = fnn.MLP("erf", [1, 4, 1]).activation
    K = np.array([[1.0, 0.3], [0.3, 0.8]])
    um = upper_maps(act, [K], [1.5], ntk=np.eye(2), lambda_W=[0.6], lambda_b=[0.2])
    np.testing.assert_array_equal(um.D1, 0.0)
    np.testing.assert_array_equal(um.D3, 1.0)
    np.testing.assert_array_equal(um.E1, 0.0)
    np.testing.assert_allclose(um.E3, 0.4)
