r"""The linearised maps from the kernel of layer ℓ + 1 to the output kernel and to the output NTK
(private; used for the hidden kernels of earlier layers).

Given layer ℓ the layers above are an MLP fed with the covariance G = Ĝ^(ℓ+1) of layer ℓ + 1.
Its output kernel F(G) and output NTK 𝒯(G) follow the recursions (RYH arXiv:2106.10165
eqs. (4.118), (8.8); layer m + 1 from layer m, H = ⟨σσ⟩, T = ⟨σ'σ'⟩ at the kernel F^(m)):

.. math:: F^{(m+1)} = C_b + C_W H(F^{(m)}),\qquad
          \mathcal T^{(m+1)} = \lambda_b + \lambda_W H(F^{(m)}) + C_W T(F^{(m)})\mathcal T^{(m)},

from :math:`F^{(\ell+1)} = G` and :math:`\mathcal T^{(\ell+1)} = \lambda_b^{(\ell+1)} +
\lambda_W^{(\ell+1)}(G - C_b^{(\ell+1)})/C_W^{(\ell+1)} + \Theta_{low}`, where the update of
W^(ℓ+1) sees σ(z^(ℓ))σ(z^(ℓ))ᵀ/n_ℓ and :math:`\Theta_{low} = C_W^{(\ell+1)}\langle\sigma'
\sigma'\rangle\Theta^{(\ell)}` is the part of the NTK of layer ℓ + 1 from the parameters below
it, held fixed (the derivatives below are those of the whole output NTK at fixed Θ_low: its
Θ_low part, :math:`\mathcal D^3\Theta_{low}`, moves with G too). An entry (a, b) of F or 𝒯
depends on G only through G_aa, G_bb and G_ab; its *slot* derivatives

.. math:: \mathcal D^1_{ab} = \partial F_{ab}/\partial G_{aa},\quad
          \mathcal D^3_{ab} = \partial F_{ab}/\partial G_{ab}\ (G_{ab}\text{ and }G_{ba}
          \text{ together}),\qquad \mathcal E^1, \mathcal E^3 \text{ the same for }\mathcal T,

are taken with the two inputs a, b as distinct slots even where a = b (a copy of input a in
slot b), so that :math:`dF_{aa}/dG_{aa} = 2\mathcal D^1_{aa} + \mathcal D^3_{aa}`. By the
chain rule, with D1 = ½⟨σ''_aσ_b⟩, D3 = ⟨σ'_aσ'_b⟩, E1 = ½⟨σ'''_aσ'_b⟩, E3 = ⟨σ''_aσ''_b⟩ at
F^(m) and :math:`d_a = 2\mathcal D^1_{aa} + \mathcal D^3_{aa}`:

.. math::

    h^1_{ab} = D1_{ab}d_a + D3_{ab}\mathcal D^1_{ab},\quad h^3_{ab} = D3_{ab}\mathcal D^3_{ab},
    \quad t^1_{ab} = E1_{ab}d_a + E3_{ab}\mathcal D^1_{ab},\quad
    t^3_{ab} = E3_{ab}\mathcal D^3_{ab},

    \mathcal D^{1,3} \leftarrow C_Wh^{1,3},\qquad
    \mathcal E^{1,3} \leftarrow \lambda_Wh^{1,3} + C_W\big(t^{1,3}\mathcal T
        + D3\,\mathcal E^{1,3}\big),

from :math:`\mathcal D^1 = 0`, :math:`\mathcal D^3 = 1`, :math:`\mathcal E^1 = 0`,
:math:`\mathcal E^3 = \lambda_W^{(\ell+1)}/C_W^{(\ell+1)}` at m = ℓ + 1. Checked against finite
differences of the recursions by 2-d Gauss–Hermite quadrature
(``tests/inference/test_upper_maps.py``); derivation in ``docs/representation_learning.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..kernels._deep_gaussian import check_positive_diagonal, pair_terms
from ..kernels._dntk_moments import dntk_moments
from ..kernels.gaussian import pair_values

__all__ = ["UpperMaps", "pair_map", "upper_maps"]


@dataclass(frozen=True)
class UpperMaps:
    """Slot derivatives (P, P) of the output kernel (D1, D3) and, if asked for, of the output
    NTK (E1, E3) with respect to the kernel of layer ℓ + 1 (module docstring)."""

    D1: np.ndarray
    D3: np.ndarray
    E1: np.ndarray | None = None
    E3: np.ndarray | None = None


def pair_map(D1: np.ndarray, D3: np.ndarray, cov: np.ndarray) -> np.ndarray:
    r"""A pair-structured linear map on the last two axes (P, P) of ``cov``:
    :math:`\delta K'_{ab} = D^1_{ab}\delta K_{aa} + D^1_{ba}\delta K_{bb} + D^3_{ab}\delta K_{ab}`
    (a symmetric δK; the slot derivatives of the module docstring)."""
    diag = np.einsum("...aa->...a", cov)
    return D1 * diag[..., :, None] + D1.T * diag[..., None, :] + D3 * cov


def upper_maps(
    act: Any,
    kernels: list[np.ndarray],
    C_W: list[float],
    *,
    ntk: np.ndarray | None = None,
    lambda_W: list[float] | None = None,
    lambda_b: list[float] | None = None,
) -> UpperMaps:
    r"""The slot derivatives of F (and of 𝒯) with respect to G = K^(ℓ+1) at the training inputs.

    Parameters
    ----------
    act : Activation
        Any σ of :func:`fieldnn.kernels._deep_gaussian.pair_terms` for F; a smooth one for 𝒯
        (its second and third derivatives enter E1 and E3, moments of
        :func:`fieldnn.kernels._dntk_moments.dntk_moments`).
    kernels : list of ndarray (P, P)
        :math:`K^{(\ell)}, K^{(\ell+1)}, \ldots, K^{(L-1)}` at the training inputs.
    C_W : list of float
        Of the layers ℓ + 1, …, L (as many as ``kernels``).
    ntk : ndarray (P, P), optional
        The whole NTK :math:`\Theta^{(\ell+1)}` of layer ℓ + 1 at the training inputs; with
        ``lambda_W`` and ``lambda_b`` (of the layers ℓ + 1, …, L) it asks for E1, E3.
    """
    P = kernels[0].shape[0]
    D1, D3 = np.zeros((P, P)), np.ones((P, P))
    E1 = E3 = T = None
    if ntk is not None:
        T, E1 = ntk, np.zeros((P, P))
        E3 = np.full((P, P), lambda_W[0] / C_W[0] if C_W[0] != 0.0 else 0.0)
    for m in range(1, len(kernels)):
        K, cw = kernels[m], C_W[m]
        check_positive_diagonal(K, "X_train")
        d1, d3, _ = pair_terms(act, K)
        da = 2.0 * np.diag(D1) + np.diag(D3)
        h1, h3 = d1 * da[:, None] + d3 * D1, d3 * D3
        if T is not None:
            pm, lw = dntk_moments(act, K)[0], lambda_W[m]
            e1, e3 = 0.5 * pm[(3, 1)], pm[(2, 2)]
            t1, t3 = e1 * da[:, None] + e3 * D1, e3 * D3
            E1, E3 = lw * h1 + cw * (t1 * T + d3 * E1), lw * h3 + cw * (t3 * T + d3 * E3)
            d = np.diag(K)
            T = lambda_b[m] + lw * pair_values(act, d[:, None], d[None, :], K) + cw * d3 * T
        D1, D3 = cw * h1, cw * h3
    return UpperMaps(D1=D1, D3=D3, E1=E1, E3=E3)
