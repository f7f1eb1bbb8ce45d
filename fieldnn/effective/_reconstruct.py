r"""Couplings of the effective action from connected correlators, order by order in 1/n (private).

The action (engine normalisation, combined index A = (input a, output i), S = P d_out values)

.. math:: S(f) = \tfrac12 f_A\,\Gamma_{AB}\,f_B + t^{(4)}_{ABCD} f_Af_Bf_Cf_D
          + t^{(6)}_{A\ldots F} f_A\cdots f_F

is matched grade by grade to the network's correlators :math:`G^{(2)} = \sum_g G^{(2)}_g`,
:math:`G^{(4)}_c = \sum_{g\ge1}`, :math:`G^{(6)}_c = \sum_{g\ge2}` (g = power of 1/n). At grade k
the new couplings enter the engine's diagrams only through the tree diagrams
:math:`-720\,D_0^{\otimes6} t^{(6)}_k`, :math:`-24\,D_0^{\otimes4} t^{(4)}_k` and the bare line
:math:`-D_0\Gamma_kD_0`; every other diagram of grade k is made of couplings of lower grade. So

.. math:: t^{(6)}_k = \tfrac1{720}\big[\mathcal G^{(6)}_k - G^{(6)}_{c,k}\big]_{\rm amp},\quad
          t^{(4)}_k = \tfrac1{24}\big[\mathcal G^{(4)}_k - G^{(4)}_{c,k}\big]_{\rm amp},\quad
          \Gamma_k = H\big[\mathcal G^{(2)}_k - G^{(2)}_k\big]H,

in this order, where :math:`\mathcal G^{(n)}_k` is the grade-k part of the action's n-point
function with the grade-k couplings still zero, :math:`H = (G^{(2)}_0)^{-1}` the inverse
propagator and "amp" contracts every leg with H. Unrolled, each coupling is a sum of diagrams
whose vertices are connected correlators and whose lines are inverse propagators: the
prescription of Demirtas, Halverson, Maiti, Schwartz, Stoner, arXiv:2307.03223, sec. 3
(the symbolic form is :mod:`fieldnn.symbolic.reconstruction`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._diagrams import amputate, evaluate


def reconstruct(
    two: Mapping[int, np.ndarray],
    four: Mapping[int, np.ndarray],
    six: Mapping[int, np.ndarray],
    order: int,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Graded couplings (Γ, t4, t6) matching the graded correlators to ``order`` in 1/n.

    Parameters
    ----------
    two : mapping grade -> (S, S)
        Two-point function; grade 0 must be invertible.
    four, six : mapping grade -> (S,)*4, (S,)*6
        Connected four- and six-point functions (grades >= 1 and >= 2).
    order : int
        1 or 2.

    Returns
    -------
    gamma2, t4, t6 : dicts grade -> tensor
    """
    G0 = two[0]
    H = np.linalg.inv(G0)
    H = 0.5 * (H + H.T)
    gamma2: dict[int, np.ndarray] = {0: H}
    D: dict[int, np.ndarray] = {0: G0}
    t4: dict[int, np.ndarray] = {}
    t6: dict[int, np.ndarray] = {}
    S = G0.shape[0]
    for k in range(1, order + 1):
        if k >= 2:
            pred6 = evaluate(6, k, D, (t4, t6), grades=(k,))[k]
            target = six.get(k, np.zeros((S,) * 6))
            t6[k] = amputate(pred6 - target, H) / 720.0
        pred4 = evaluate(4, k, D, (t4, t6), grades=(k,))[k]
        target = four.get(k, np.zeros((S,) * 4))
        t4[k] = amputate(pred4 - target, H) / 24.0
        D[k] = -sum((G0 @ gamma2[j] @ D[k - j] for j in range(1, k)), np.zeros((S, S)))
        pred2 = evaluate(2, k, D, (t4, t6), grades=(k,))[k]
        target = two.get(k, np.zeros((S, S)))
        g = H @ (pred2 - target) @ H
        gamma2[k] = 0.5 * (g + g.T)
        D[k] = D[k] - G0 @ gamma2[k] @ G0
    return gamma2, t4, t6
