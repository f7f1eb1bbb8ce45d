r"""The O(1/n) statistics of the dNTK of a deep MLP — its cross-correlation with the
preactivations (P, Q) — and the means R and S, T, U of its two ddNTKs, layer by layer.

Conventions (seed 000, Roberts–Yaida–Hanin arXiv:2106.10165 ch. 11; ``docs/conventions.md``
and ``docs/finite_width_training.md``). With the NTK :math:`\hat H^{(\ell)}` and learning-rate
tensor :math:`\lambda_\mu` of :mod:`fieldnn.kernels._ntk_fluctuations`, the dNTK of layer ℓ is
the second derivative of one preactivation along the tangent directions of two others,

.. math::

    \widehat{dH}^{(\ell)}_{i_0i_1i_2;\delta_0\delta_1\delta_2} = \sum_{\mu\nu}\lambda_\mu
        \lambda_\nu\,\frac{\partial^2z^{(\ell)}_{i_0\delta_0}}{\partial\theta_\mu
        \partial\theta_\nu}\,\frac{\partial z^{(\ell)}_{i_1\delta_1}}{\partial\theta_\mu}\,
        \frac{\partial z^{(\ell)}_{i_2\delta_2}}{\partial\theta_\nu},

so that one gradient-descent step :math:`\Delta\theta_\mu = -\eta\lambda_\mu\sum
\varepsilon_{j\alpha}\partial_\mu z_{j\alpha}` moves the outputs by
:math:`-\eta\sum_j\hat H_{ij}\varepsilon_j + \tfrac{\eta^2}2\sum\widehat{dH}_{ij_1j_2}
\varepsilon_{j_1}\varepsilon_{j_2} + O(\eta^3)` and the NTK by :math:`\Delta\hat H_{i_1i_2} =
-\eta\sum_j(\widehat{dH}_{i_1i_2j} + \widehat{dH}_{i_2i_1j})\varepsilon_j + O(\eta^2)` (RYH
sec. 11.1). Its mean vanishes (flip the sign of one neuron); to O(1/n), normalised by
:math:`1/n_{\ell-1}`,

.. math::

    \mathbb E\big[\widehat{dH}_{i_0i_1i_2;\delta_0\delta_1\delta_2}z_{i_3\delta_3}\big]
        = \frac1{n_{\ell-1}}\big[\delta_{i_0i_3}\delta_{i_1i_2}P_{\delta_0\delta_1\delta_2\delta_3}
        + \delta_{i_0i_1}\delta_{i_2i_3}Q_{\delta_0\delta_1\delta_2\delta_3}
        + \delta_{i_0i_2}\delta_{i_1i_3}Q_{\delta_0\delta_2\delta_1\delta_3}\big]

(RYH eq. (11.42) names). Array layout: ``P[a, b, c, d]`` = :math:`P_{abcd}`, ``Q[a, b, c, d]``
= :math:`Q_{abcd}`; P is symmetric in (b, c).

The first ddNTK is the third derivative of one preactivation along three tangent directions,
:math:`\widehat{ddI}_{i_0i_1i_2i_3;\delta_0\delta_1\delta_2\delta_3} = \sum\lambda_{\mu_1}
\lambda_{\mu_2}\lambda_{\mu_3}\,\partial^3z_{i_0\delta_0}/\partial\theta_{\mu_1}
\partial\theta_{\mu_2}\partial\theta_{\mu_3}\prod_{k=1}^3\partial z_{i_k\delta_k}/
\partial\theta_{\mu_k}` (RYH sec. 11.3; it enters the O(η³) term of the output update and
the O(η²) term of the NTK update), symmetric in its last three slots. Its mean is O(1/n):

.. math::

    \mathbb E\big[\widehat{ddI}_{i_0i_1i_2i_3;\delta_0\delta_1\delta_2\delta_3}\big]
        = \frac1{n_{\ell-1}}\big[\delta_{i_0i_1}\delta_{i_2i_3}R_{\delta_0\delta_1\delta_2
        \delta_3} + \delta_{i_0i_2}\delta_{i_1i_3}R_{\delta_0\delta_2\delta_1\delta_3}
        + \delta_{i_0i_3}\delta_{i_1i_2}R_{\delta_0\delta_3\delta_1\delta_2}\big],

``R[a, b, c, d]`` = :math:`R_{abcd}`, symmetric in (c, d).

The second ddNTK contracts two second derivatives,
:math:`\widehat{ddII}_{i_1i_2i_3i_4;\delta_1\delta_2\delta_3\delta_4} = \sum\lambda_{\mu_1}
\lambda_{\mu_2}\lambda_{\mu_3}\,\frac{\partial^2z_{i_1\delta_1}}{\partial\theta_{\mu_1}
\partial\theta_{\mu_2}}\frac{\partial^2z_{i_2\delta_2}}{\partial\theta_{\mu_1}
\partial\theta_{\mu_3}}\frac{\partial z_{i_3\delta_3}}{\partial\theta_{\mu_2}}
\frac{\partial z_{i_4\delta_4}}{\partial\theta_{\mu_3}}` (RYH sec. 11.3), with mean

.. math::

    \mathbb E\big[\widehat{ddII}_{i_1i_2i_3i_4;\delta_1\delta_2\delta_3\delta_4}\big]
        = \frac1{n_{\ell-1}}\big[\delta_{i_1i_2}\delta_{i_3i_4}S_{\delta_1\delta_2\delta_3\delta_4}
        + \delta_{i_1i_3}\delta_{i_2i_4}T_{\delta_1\delta_2\delta_3\delta_4}
        + \delta_{i_1i_4}\delta_{i_2i_3}U_{\delta_1\delta_2\delta_3\delta_4}\big],

``S[a, b, c, d]`` = :math:`S_{abcd}` and likewise T, U.

References
----------
D. A. Roberts, S. Yaida, B. Hanin, "The Principles of Deep Learning Theory", arXiv:2106.10165,
ch. 11: the dNTK forward equation (sec. 11.2), its statistics P, Q (sec. 11.2, eq. (11.42) for
the tensor structure), the ddNTKs (sec. 11.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .._validate import input_points
from ..errors import UnsupportedError
from ._dntk_kinked import pair_moments, sigma2_sigma1_sigma1_sigma
from ._dntk_moments import dntk_moments
from ._ntk_fluctuations import NTKFluctuations, _checked_arguments, fluctuations_and_moments
from .activations import Activation
from .deep import PerLayer, _activation, _per_layer

__all__ = ["DNTKStatistics", "dntk_statistics"]


@dataclass(frozen=True)
class DNTKStatistics:
    r"""The dNTK–preactivation cross-correlations of every layer ℓ = 1..L (lists indexed ℓ − 1).

    Attributes
    ----------
    P, Q : list of ndarray (P, P, P, P)
        dNTK–preactivation cross-correlations, layouts as in :mod:`fieldnn.kernels._dntk`
        (normalised by 1/n_{ℓ−1}); zero at ℓ = 1.
    R : list of ndarray (P, P, P, P), or None
        Mean of the first ddNTK (layout in :mod:`fieldnn.kernels._dntk`); zero at ℓ = 1.
    S, T, U : list of ndarray (P, P, P, P), or None
        Mean of the second ddNTK (layout in :mod:`fieldnn.kernels._dntk`); zero at ℓ = 1.
        R, S, T, U are None when computed with ``ddntk=False``.
    ntk : NTKFluctuations
        K, Θ, V, A, B, D, F of every layer, which the recursions use.
    """

    P: list[np.ndarray]
    Q: list[np.ndarray]
    R: list[np.ndarray] | None
    S: list[np.ndarray] | None
    T: list[np.ndarray] | None
    U: list[np.ndarray] | None
    ntk: NTKFluctuations


def _grad(pm: dict, i: int, j: int) -> np.ndarray:
    r"""Gradient vector of :math:`\langle\sigma^{(i)}_x\sigma^{(j)}_y\rangle`, array [x, y, α] =
    :math:`\langle\partial_\alpha(\sigma^{(i)}(z_x)\sigma^{(j)}(z_y))\rangle
    = \delta_{\alpha x}\langle\sigma^{(i+1)}_x\sigma^{(j)}_y\rangle
    + \delta_{\alpha y}\langle\sigma^{(i)}_x\sigma^{(j+1)}_y\rangle`."""
    first, second = pm[i + 1, j], pm[i, j + 1]
    P = first.shape[0]
    eye = np.eye(P)
    return first[:, :, None] * eye[:, None, :] + second[:, :, None] * eye[None, :, :]


def _kink(act: Activation, ddntk: bool) -> tuple[float, float] | None:
    """The slopes of a kinked σ (None for smooth or linear σ); refuses its ddNTK means."""
    slopes = act.piecewise_linear_slopes
    if slopes is None or slopes[0] == slopes[1]:
        return None
    if ddntk:
        raise UnsupportedError(
            "activation",
            f"{act.name!r} has a kink: its ddNTK means R, S, T, U contain ⟨σ''_aσ''_a⟩ = "
            "⟨δ(z_a)²⟩ and ⟨σ'''_aσ'_a⟩ = ⟨δ'(z_a)Θ(z_a)⟩ at coincident inputs, each "
            "infinite (only their sum in the training dynamics is finite); these are not "
            "implemented. P and Q are: pass ddntk=False",
        )
    return float(slopes[0]), float(slopes[1])


def _second_ddntk(
    lam: float,
    c: float,
    r: float,
    Th: np.ndarray,
    F: np.ndarray,
    B: np.ndarray,
    Q: np.ndarray,
    S: np.ndarray,
    T: np.ndarray,
    U: np.ndarray,
    M: np.ndarray,
    pm: dict,
    fm: dict,
    ds_s: np.ndarray,
    dds_ds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S', T', U' of layer ℓ + 1 from layer ℓ (r = 0 at ℓ = 1: no fluctuations there);
    formulas in :func:`dntk_statistics` and ``docs/finite_width_training.md``."""
    Tp = pm[1, 1]
    TT_ab_cd = Tp[:, :, None, None] * Tp[None, None]  # T_ab T_cd
    T_ac = Tp[:, None, :, None]
    T_bd = Tp[None, :, None, :]
    Th_ab = Th[:, :, None, None]
    Th_ac = Th[:, None, :, None]
    Th_bd = Th[None, :, None, :]
    V4 = fm[2, 2, 1, 1]  # ⟨σ''_aσ''_bσ'_cσ'_d⟩
    local = c**2 * Th_ab * Th_ac * Th_bd * V4
    S_new = lam * c * Th_ac * Th_bd * fm[1, 1, 1, 1] + local
    U_new = local.copy()
    # T: ⟨σ'_aσ'_bσ_cσ_d⟩ = M[a, c, b, d] (M = ⟨σ'_aσ_bσ'_cσ_d⟩), N = ⟨σ''_aσ'_bσ'_cσ_d⟩
    N = fm[2, 1, 1, 0]
    T_new = (
        lam**2 * Th_ab * M.transpose(0, 2, 1, 3)
        + lam * c * Th_ab * (Th_ac * N.transpose(0, 2, 1, 3) + Th_bd * N.transpose(2, 0, 3, 1))
        + local
    )
    if r:
        S_new = S_new + r * (
            lam * c * B * TT_ab_cd
            + c**2 * Th_ab * B * pm[2, 2][:, :, None, None] * Tp[None, None]
            + c**2 * TT_ab_cd * S
        )
        U_new = U_new + r * c**2 * Tp[:, None, None, :] * Tp[None, :, :, None] * U

        def bracket(g: np.ndarray, h: np.ndarray) -> np.ndarray:
            """[F; g_ac, h_bd]_ab over (a, b, c, d)."""
            return np.einsum("xayb,xza,ywb->xyzw", F, g, h)

        def q_term(g: np.ndarray) -> np.ndarray:
            """Σ_β Q_{acbβ} g[b, d, β] over (a, b, c, d)."""
            return np.einsum("acbz,bdz->abcd", Q, g)

        T_new = T_new + r * (
            lam**2 * bracket(ds_s, ds_s)
            + lam * c * (Th_ac * bracket(dds_ds, ds_s) + Th_bd * bracket(ds_s, dds_ds))
            + lam * c * (T_ac * q_term(ds_s) + T_bd * q_term(ds_s).transpose(1, 0, 3, 2))
            + c**2 * Th_ac * Th_bd * bracket(dds_ds, dds_ds)
            + c**2 * Th_ac * T_bd * q_term(dds_ds).transpose(1, 0, 3, 2)
            + c**2 * Th_bd * T_ac * q_term(dds_ds)
            + c**2 * T_ac * T_bd * T
        )
    return S_new, T_new, U_new


# --------------------------------------------------------------------------------------------
# the recursion
# --------------------------------------------------------------------------------------------
def dntk_statistics(
    mlp_or_act: Any,
    X: Any,
    *,
    C_W: PerLayer | None = None,
    C_b: PerLayer | None = None,
    widths: Sequence[int] | None = None,
    lambda_W: PerLayer = 1.0,
    lambda_b: PerLayer = 1.0,
    ddntk: bool = True,
) -> DNTKStatistics:
    r"""dNTK–preactivation cross-correlations P, Q and ddNTK means R, S, T, U of a deep MLP.

    Parameters
    ----------
    mlp_or_act : fieldnn.MLP, or str / callable / Activation
        The network; or its activation, then ``C_W``, ``C_b`` and ``widths`` are required.
        For smooth σ, σ'' and σ''' are taken by central differences of σ'; for relu and leaky
        relu (σ'' a delta function) P and Q are exact and R, S, T, U are refused.
    X : array_like (P, d_in)
        Inputs.
    C_W, C_b : float or sequence of L floats
        Per-layer variances (only with an activation).
    widths : sequence of int
        ``[d_in, n_1, …, n_{L−1}, d_out]`` (only with an activation).
    lambda_W, lambda_b : float or sequence of L floats
        Learning-rate tensor, as in :func:`~fieldnn.kernels.ntk_fluctuations`.
    ddntk : bool
        Also compute the ddNTK means R, S, T, U (default). With False they are None, and a
        kinked σ is accepted.

    Returns
    -------
    DNTKStatistics
        P, Q, R, S, T, U (P, P, P, P) of every layer, and the :class:`NTKFluctuations` they
        use.

    Notes
    -----
    Conditioning on layer ℓ (width n = n_ℓ), the dNTK forward equation (RYH sec. 11.2)

    .. math::

        \widehat{dH}'_{i_0i_1i_2} = \frac{\lambda_W}{n}\Big[\delta_{i_0i_1}\sum_{kj}
            \sigma'_{k\delta_0}\sigma_{k\delta_1}W_{i_2j}\sigma'_{j\delta_2}
            \hat H_{kj;\delta_0\delta_2} + (1\leftrightarrow2)\Big]
            + \sum_{j_0j_1j_2}W_{i_0j_0}W_{i_1j_1}W_{i_2j_2}\big[\sigma''_{j_0\delta_0}
            \sigma'_{j_1\delta_1}\sigma'_{j_2\delta_2}\hat H_{j_0j_1;\delta_0\delta_1}
            \hat H_{j_0j_2;\delta_0\delta_2} + \sigma'_{j_0\delta_0}\sigma'_{j_1\delta_1}
            \sigma'_{j_2\delta_2}\widehat{dH}_{j_0j_1j_2}\big]

    is a polynomial in W ~ N(0, C_W/n); Wick's theorem over W and the 1/n expansion of layer
    ℓ (``docs/finite_width_training.md``) give, with :math:`r = n_\ell/n_{\ell-1}`, C_W, λ_W
    of layer ℓ + 1, brackets over N(0, K^{(ℓ)}), :math:`N_{abcd} = \langle\sigma''_a\sigma'_b
    \sigma'_c\sigma_d\rangle` and :math:`[F; g, h]_{xy} = \sum_{\alpha\beta}F_{x\alpha y\beta}
    \langle\partial_\alpha g\rangle\langle\partial_\beta h\rangle`:

    .. math::

        P'_{abcd} &= C_W^2\Theta_{ab}\Theta_{ac}N_{abcd} + r\,C_W^2\langle\sigma'_b\sigma'_c
            \rangle\Big[B_{aabc}\langle\sigma''_a\sigma_d\rangle + \sum_\beta P_{abc\beta}
            \langle\partial_\beta(\sigma'_a\sigma_d)\rangle\Big],\\
        Q'_{abcd} &= \lambda_WC_W\Theta_{ac}\langle\sigma'_a\sigma_b\sigma'_c\sigma_d\rangle
            + C_W^2\Theta_{ab}\Theta_{ac}N_{abcd}
            + r\Big\{\lambda_WC_W[F; \sigma'_a\sigma_b, \sigma'_c\sigma_d]_{ac}
            + C_W^2\Theta_{ab}[F; \sigma''_a\sigma'_b, \sigma'_c\sigma_d]_{ac}\\
        &\qquad + C_W^2\langle\sigma'_a\sigma'_b\rangle\sum_\beta Q_{abc\beta}
            \langle\partial_\beta(\sigma'_c\sigma_d)\rangle\Big\},

    with F, B, Θ, K of layer ℓ from :func:`~fieldnn.kernels.ntk_fluctuations`.

    The third derivative of z' = b + Wσ(z) (σ''' ∂z∂z∂z, σ'' times dNTK and NTK, σ' times the
    ddNTK of layer ℓ when all three parameters lie below layer ℓ + 1; σ'' times two NTKs and σ'
    times the dNTK when one is a weight of layer ℓ + 1), Wick over W and the same 1/n rules give
    the first ddNTK mean, with :math:`T_{ab} = \langle\sigma'_a\sigma'_b\rangle`:

    .. math::

        R'_{abcd} &= \Theta_{ac}\Theta_{ad}\big(C_W^2\Theta_{ab}\langle\sigma'''_a\sigma'_b
            \sigma'_c\sigma'_d\rangle + \lambda_WC_W\langle\sigma''_a\sigma_b\sigma'_c
            \sigma'_d\rangle\big) + r\,T_{cd}\Big\{C_W^2T_{ab}R_{abcd}
            + B_{aacd}\big(C_W^2\Theta_{ab}\langle\sigma'''_a\sigma'_b\rangle
            + \lambda_WC_W\langle\sigma''_a\sigma_b\rangle\big)\\
        &\qquad + \sum_\beta P_{acd\beta}\big(C_W^2\Theta_{ab}\langle\partial_\beta
            (\sigma''_a\sigma'_b)\rangle + \lambda_WC_W\langle\partial_\beta(\sigma'_a
            \sigma_b)\rangle\big)\Big\}.

    The second ddNTK of layer ℓ + 1 is :math:`\sum_\mu\lambda_\mu G^\mu_{i_1;i_3}
    G^\mu_{i_2;i_4}` with :math:`G^\mu_{i;k} = \sum_\nu\lambda_\nu\partial_\mu\partial_\nu z'_i
    \partial_\nu z'_k`; expanding G through W, σ, σ', σ'' and the NTK, dNTK and ddNTK of layer
    ℓ, Wick over W and the same rules give, with :math:`[F; g, h]_{ab}` taken over (a, c) and
    (b, d) as :math:`\sum F_{a\alpha b\beta}\langle\partial_\alpha g_{ac}\rangle\langle
    \partial_\beta h_{bd}\rangle` and :math:`(\mathcal Q g)_{abcd} = \sum_\beta Q_{acb\beta}
    \langle\partial_\beta g_{bd}\rangle`:

    .. math::

        S'_{abcd} &= \lambda_WC_W\big(\Theta_{ac}\Theta_{bd}\langle\sigma'_a\sigma'_b\sigma'_c
            \sigma'_d\rangle + rB_{abcd}T_{ab}T_{cd}\big) + C_W^2\Theta_{ab}\big(\Theta_{ac}
            \Theta_{bd}\langle\sigma''_a\sigma''_b\sigma'_c\sigma'_d\rangle
            + rB_{abcd}\langle\sigma''_a\sigma''_b\rangle T_{cd}\big)
            + rC_W^2T_{ab}T_{cd}S_{abcd},\\
        T'_{abcd} &= \lambda_W^2\big(\Theta_{ab}\langle\sigma'_a\sigma'_b\sigma_c\sigma_d\rangle
            + r[F; \sigma'_a\sigma_c, \sigma'_b\sigma_d]\big)
            + \lambda_WC_W\big(\Theta_{ab}\Theta_{ac}\langle\sigma''_a\sigma'_b\sigma'_c
            \sigma_d\rangle + r\Theta_{ac}[F; \sigma''_a\sigma'_c, \sigma'_b\sigma_d]
            + rT_{ac}(\mathcal Q\,\sigma'\sigma)_{abcd} + (a\leftrightarrow b,
            c\leftrightarrow d)\big)\\
        &\quad + C_W^2\big(\Theta_{ab}\Theta_{ac}\Theta_{bd}\langle\sigma''_a\sigma''_b\sigma'_c
            \sigma'_d\rangle + r\Theta_{ac}\Theta_{bd}[F; \sigma''_a\sigma'_c, \sigma''_b
            \sigma'_d] + r\Theta_{bd}T_{ac}(\mathcal Q\,\sigma''\sigma')_{abcd}
            + (a\leftrightarrow b, c\leftrightarrow d) + rT_{ac}T_{bd}T_{abcd}\big),\\
        U'_{abcd} &= C_W^2\big(\Theta_{ab}\Theta_{ac}\Theta_{bd}\langle\sigma''_a\sigma''_b
            \sigma'_c\sigma'_d\rangle + rT_{ad}T_{bc}U_{abcd}\big).

    Layer 1 is linear in its parameters: all of them vanish there. Deep linear nets
    (σ'' = 0): P = R = U = 0 at every layer, and C_W = λ_W = 1, C_b = λ_b = 0, K = 1 and equal
    widths give :math:`Q^{(\ell)} = (\ell-1)\ell(\ell+1)/6` and :math:`S^{(\ell)} =
    T^{(\ell)} = (\ell-1)\ell^2(\ell+1)/12`.

    Numerics: ⟨σ'σσ'σ⟩ is the moment Q2 of the NTK statistics (computed once); N and the pair
    moments with σ'', σ''' in :mod:`fieldnn.kernels._dntk_moments`: in closed form for erf
    (the Gaussian tilt of σ' = (2/√π)e^{−z²} and Stein's lemma) and linear σ, otherwise σ''
    and σ''' by central differences of σ' and the lattice rule of
    :mod:`fieldnn.kernels._moment_lattice` on blocks of at most four inputs (rtol 1e-7, a
    RuntimeWarning stating the measured accuracy above 1e-5). σ with a kink (relu, leaky
    relu): σ'' = Δδ(z), σ''' = Δδ'(z), Δ = s₊ − s₋; the moments of P and Q are exact
    (:mod:`fieldnn.kernels._dntk_kinked`: δ pins its argument, Stein's lemma, centred orthant
    probabilities, δ(z_a)Θ(z_a) = δ(z_a)/2 and :math:`\langle\partial_\alpha(\sigma''_x
    \sigma'_x)\rangle = 0`). R, S, T, U need :math:`\langle\delta(z_a)^2\rangle` and
    :math:`\langle\delta'(z_a)\Theta(z_a)\rangle`, infinite one by one, and are refused.

    References
    ----------
    arXiv:2106.10165, ch. 11: sec. 11.2 (the dNTK forward equation and its statistics P, Q,
    eq. (11.42) for the tensor structure); ch. 8 (F, B, Θ).

    Examples
    --------
    >>> import numpy as np
    >>> s = dntk_statistics("linear", np.array([[1.0]]), C_W=1.0, C_b=0.0,
    ...                     widths=[1, 50, 50, 50, 1], lambda_W=1.0, lambda_b=0.0)
    >>> [round(float(q[0, 0, 0, 0]), 9) for q in s.Q]  # (ℓ−1)ℓ(ℓ+1)/6
    [0.0, 1.0, 4.0, 10.0]
    """
    return _recursion(mlp_or_act, X, C_W, C_b, widths, lambda_W, lambda_b, ddntk)[0]


def last_step_variants(
    mlp_or_act: Any,
    X: Any,
    *,
    C_W: PerLayer | None = None,
    C_b: PerLayer | None = None,
    widths: Sequence[int] | None = None,
    lambda_W: PerLayer = 1.0,
    lambda_b: PerLayer = 1.0,
    last_lambda_W: Sequence[float],
) -> list[DNTKStatistics]:
    """:func:`dntk_statistics` (with the ddNTKs) for each value of the last layer's λ_W in
    ``last_lambda_W``, from one recursion: the layers below the last do not depend on it, so
    only the last step is evaluated once per value (the rest of ``lambda_W`` as given)."""
    return _recursion(
        mlp_or_act, X, C_W, C_b, widths, lambda_W, lambda_b, True, tuple(last_lambda_W)
    )


def _recursion(
    mlp_or_act: Any,
    X: Any,
    C_W: PerLayer | None,
    C_b: PerLayer | None,
    widths: Sequence[int] | None,
    lambda_W: PerLayer,
    lambda_b: PerLayer,
    ddntk: bool,
    last_lambda_W: tuple[float, ...] | None = None,
) -> list[DNTKStatistics]:
    """The layer recursion of :func:`dntk_statistics`; one result per last-layer λ_W (the
    given one when ``last_lambda_W`` is None)."""
    act, cw_in, cb_in, w_in = _checked_arguments(mlp_or_act, C_W, C_b, widths)
    act = _activation(act, smooth_moments=True)
    slopes = _kink(act, bool(ddntk))
    X = input_points(X)
    fl, mixed = fluctuations_and_moments(
        act, X, C_W=cw_in, C_b=cb_in, widths=w_in, lambda_W=lambda_W, lambda_b=lambda_b
    )
    w = fl.widths
    L = len(w) - 1
    cw = _per_layer(cw_in, "C_W", L)
    lw = _per_layer(lambda_W, "lambda_W", L)
    zero4 = np.zeros((X.shape[0],) * 4)
    stats = [[zero4] for _ in range(6)]  # P, Q, R, S, T, U of every layer so far
    for layer in range(1, L - 1):  # from layer ℓ = `layer` to ℓ + 1
        new = _step(
            _layer_inputs(act, slopes, fl, mixed, w, layer), cw[layer], lw[layer], stats, ddntk
        )
        for lst, value in zip(stats, new, strict=True):
            lst.append(value)
    lams = (lw[L - 1],) if last_lambda_W is None else last_lambda_W
    g = _layer_inputs(act, slopes, fl, mixed, w, L - 1) if L >= 2 else None
    out = []
    for lam in lams:  # the last step, once per λ_W of the last layer
        last = [list(lst) for lst in stats]
        if g is not None:
            for lst, value in zip(last, _step(g, cw[L - 1], lam, stats, ddntk), strict=True):
                lst.append(value)
        Ps, Qs, Rs, Ss, Ts, Us = last if ddntk else (*last[:2], None, None, None, None)
        out.append(DNTKStatistics(P=Ps, Q=Qs, R=Rs, S=Ss, T=Ts, U=Us, ntk=fl))
    return out


class _Layer(NamedTuple):
    """What the step from layer ℓ to ℓ + 1 reads of layer ℓ (independent of C_W, λ_W of ℓ + 1)."""

    r: float
    Th: np.ndarray
    F: np.ndarray
    B: np.ndarray
    M: np.ndarray  # ⟨σ'_aσ_bσ'_cσ_d⟩
    N: np.ndarray  # ⟨σ''_aσ'_bσ'_cσ_d⟩
    pm: dict
    fm: Any  # None for a kinked σ (no ddNTKs)
    ds_s: np.ndarray  # [x, y, α] = ⟨∂_α(σ'_xσ_y)⟩
    dds_ds: np.ndarray  # ⟨∂_α(σ''_xσ'_y)⟩
    Tp: np.ndarray  # ⟨σ'_aσ'_b⟩


def _layer_inputs(
    act: Activation,
    slopes: tuple[float, float] | None,
    fl: NTKFluctuations,
    mixed: list,
    w: Sequence[int],
    layer: int,
) -> _Layer:
    """The moments of layer ℓ = ``layer`` that the step to ℓ + 1 needs."""
    K = fl.K[layer - 1]
    if slopes is None:
        pm, fm = dntk_moments(act, K)
        N = fm[2, 1, 1, 0]
    else:
        pm, fm, N = pair_moments(K, slopes), None, sigma2_sigma1_sigma1_sigma(K, slopes)
    return _Layer(
        r=w[layer] / w[layer - 1] if layer >= 2 else 0.0,
        Th=fl.Theta[layer - 1],
        F=fl.F[layer - 1],
        B=fl.B[layer - 1],
        M=mixed[layer - 1].transpose(0, 2, 1, 3),
        N=N,
        pm=pm,
        fm=fm,
        ds_s=_grad(pm, 1, 0),
        dds_ds=_grad(pm, 2, 1),
        Tp=pm[1, 1],
    )


def _step(
    g: _Layer, c: float, lam: float, stats: list[list[np.ndarray]], ddntk: bool
) -> tuple[np.ndarray | None, ...]:
    """P, Q (and R, S, T, U if ``ddntk``, else None) of layer ℓ + 1 from those of layer ℓ (the
    last entries of ``stats``) and its moments ``g``, with C_W = c, λ_W = lam of layer ℓ + 1
    (equations in :func:`dntk_statistics`)."""
    Ps, Qs, Rs, Ss, Ts, Us = stats
    r, Th, F, B, M, N, pm, fm, ds_s, dds_ds, Tp = g
    local = c**2 * Th[:, :, None, None] * Th[:, None, :, None] * N
    P_new = local
    Q_new = lam * c * Th[:, None, :, None] * M + local
    if r:
        P_new = P_new + r * c**2 * Tp[None, :, :, None] * (
            np.einsum("aabc,ad->abcd", B, pm[2, 0]) + np.einsum("abcz,adz->abcd", Ps[-1], ds_s)
        )
        Q_new = Q_new + r * (
            lam * c * np.einsum("xayb,xwa,yzb->xwyz", F, ds_s, ds_s)
            + c**2 * Th[:, :, None, None] * np.einsum("xayb,xwa,yzb->xwyz", F, dds_ds, ds_s)
            + c**2 * Tp[:, :, None, None] * np.einsum("abcz,cdz->abcd", Qs[-1], ds_s)
        )
    if not ddntk:
        return P_new, Q_new, None, None, None, None
    Rl, Pl = Rs[-1], Ps[-1]
    R_new = (
        Th[:, None, :, None]
        * Th[:, None, None, :]
        * (c**2 * Th[:, :, None, None] * fm[3, 1, 1, 1] + lam * c * fm[2, 0, 1, 1])
    )
    if r:
        Baa = np.einsum("aacd->acd", B)[:, None]  # B_aacd over (a, ·, c, d)
        R_new = R_new + r * Tp[None, None] * (
            c**2 * Th[:, :, None, None] * pm[3, 1][:, :, None, None] * Baa
            + c**2 * Th[:, :, None, None] * np.einsum("acdz,abz->abcd", Pl, dds_ds)
            + c**2 * Tp[:, :, None, None] * Rl
            + lam * c * pm[2, 0][:, :, None, None] * Baa
            + lam * c * np.einsum("acdz,abz->abcd", Pl, ds_s)
        )
    S_new, T_new, U_new = _second_ddntk(
        lam, c, r, Th, F, B, Qs[-1], Ss[-1], Ts[-1], Us[-1], M, pm, fm, ds_s, dds_ds
    )
    return P_new, Q_new, R_new, S_new, T_new, U_new
