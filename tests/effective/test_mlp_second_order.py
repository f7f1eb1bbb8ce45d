"""effective_action(mlp, X, order=2) at one input against exact and independent correlators.

* bias-free ReLU MLPs: the action's G2, G4c, G6c (the project's diagrams: the 1/n series to
  the action's order, and the full couplings) against the exact finite-width moments
  (exact_single_input_moment); the residual falls like 1/n³;
* tanh: the graded terms of the action's correlators are K^{1}/n, K^{2}/n², V/n, V^{1}/n² and
  15U/n² of single_input_cumulants, with the pairing structure over 1–3 outputs;
* two and three inputs (tanh, and relu with and without bias): the graded terms are those of
  the multi-input recursion (multi_input_cumulants) with the pairings over (input, output)
  indices, built here by explicit loops; three inputs on a line (d_in = 1: the first layer's
  kernel has rank 2);
* nearly parallel inputs and six-index tensors beyond the size limit are refused.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import UnsupportedError
from fieldnn.kernels.deep import exact_single_input_moment

X1 = np.array([[0.7, -0.4]])


def _exact(widths: list[int]) -> tuple[float, float, float]:
    m2, m4, m6 = (
        exact_single_input_moment(X1[0], widths, C_W=2.0, order=k, activation="relu")
        for k in (2, 4, 6)
    )
    return m2, m4 - 3 * m2**2, m6 - 15 * m4 * m2 + 30 * m2**3


def _residuals(n: int, series: bool) -> np.ndarray:
    widths = [2, n, n, n, 1]
    S = fnn.effective_action(fnn.MLP("relu", widths=widths, C_W=2.0, C_b=0.0), X1, order=2)
    got = [
        float(sum(S.correlators(k, series=True)).item())
        if series
        else float(S.correlators(k).item())
        for k in (2, 4, 6)
    ]
    return np.abs(np.array(got) - np.array(_exact(widths)))


def test_relu_action_reproduces_exact_moments_to_n_cubed() -> None:
    """Series to O(1/n²): G2 exact (K^{1} = K^{2} = 0), G4c and G6c residuals ×64 down for ×4
    in n (64 → 256); full couplings (diagrams with the whole γ's, D = (Σγ2)⁻¹): their extra
    terms are O(1/n³) with large coefficients, ratios 15–72 at 64 → 256, 27–48 at 256 → 1024,
    54–60 at 1024 → 4096 (measured)."""
    a, b = _residuals(64, True), _residuals(256, True)
    assert a[0] <= 1e-13 and b[0] <= 1e-13
    for k in (1, 2):
        assert 40 <= a[k] / b[k] <= 90, (k, a[k] / b[k])
    c, d = _residuals(1024, False), _residuals(4096, False)
    for k in range(3):
        assert 40 <= c[k] / d[k] <= 90, (k, c[k] / d[k])
    # order 1 leaves 1/n²
    widths = [[2, n, n, n, 1] for n in (64, 256)]
    first = [
        abs(
            float(
                sum(
                    fnn.effective_action(
                        fnn.MLP("relu", widths=w, C_W=2.0, C_b=0.0), X1, order=1
                    ).correlators(4, series=True)
                ).item()
            )
            - _exact(w)[1]
        )
        for w in widths
    ]
    assert 12 <= first[0] / first[1] <= 20


def _pairing(n: int, d: int) -> np.ndarray:
    """Σ over the pairings of n output indices of Π δ."""

    def pairings(items):
        if not items:
            yield []
            return
        for k, other in enumerate(items[1:]):
            rest = items[1 : k + 1] + items[k + 2 :]
            for p in pairings(rest):
                yield [(items[0], other), *p]

    t = np.zeros((d,) * n)
    for idx in itertools.product(range(d), repeat=n):
        t[idx] = sum(all(idx[i] == idx[j] for i, j in p) for p in pairings(list(range(n))))
    return t


@pytest.mark.parametrize("d_out", [1, 3])
def test_tanh_graded_terms_are_the_single_input_cumulants(d_out: int) -> None:
    widths = [2, 12, 9, 10, d_out]
    mlp = fnn.MLP("tanh", widths=widths, C_W=1.7, C_b=0.2)
    S = fnn.effective_action(mlp, X1, order=2)
    c = fnn.single_input_cumulants("tanh", X1[0], C_W=1.7, C_b=0.2, widths=widths)
    n = widths[-2]
    G2, G4, G6 = (S.correlators(k, series=True) for k in (2, 4, 6))
    shape = {2: (d_out,) * 2, 4: (d_out,) * 4, 6: (d_out,) * 6}

    def flat(g, k):
        return np.asarray(g).reshape(shape[k])

    want2 = [c.K[-1], c.K1[-1] / n, c.K2[-1] / n**2]
    want4 = [0.0, c.V[-1] / n, c.V1[-1] / n**2]
    for g in range(3):
        np.testing.assert_allclose(flat(G2[g], 2), want2[g] * np.eye(d_out), atol=1e-14)
        np.testing.assert_allclose(flat(G4[g], 4), want4[g] * _pairing(4, d_out), atol=1e-15)
    np.testing.assert_allclose(flat(G6[2], 6), c.U[-1] / n**2 * _pairing(6, d_out), atol=1e-15)
    assert np.max(np.abs(flat(G6[0], 6))) == 0 and np.max(np.abs(flat(G6[1], 6))) < 1e-16
    assert abs(c.U[-1]) / n**2 > 1e-4 and abs(c.V1[-1]) / n**2 > 1e-4  # not a zero test
    # the order-1 part is the order-1 action's
    S1 = fnn.effective_action(mlp, X1, order=1)
    np.testing.assert_allclose(S.gamma(4, term=1), S1.gamma(4, term=1), rtol=1e-12)
    assert set(S.to_dict()["gamma"]) == ({"2", "4", "6"} if d_out != 2 else {"2", "4"})


def _pairings(items):
    if not items:
        yield []
        return
    for k, other in enumerate(items[1:]):
        for p in _pairings(items[1 : k + 1] + items[k + 2 :]):
            yield [(items[0], other), *p]


def _expected(tensor: np.ndarray, n_points: int, P: int, d: int) -> np.ndarray:
    """Σ over pairings of the n (input, output) indices: tensor[input pairs] Π δ(outputs),
    by explicit loops; shape (P,)*n (+ (d,)*n if d > 1)."""
    out = np.zeros((P,) * n_points + (d,) * n_points)
    pairings = list(_pairings(list(range(n_points))))
    for a in itertools.product(range(P), repeat=n_points):
        for i in itertools.product(range(d), repeat=n_points):
            out[a + i] = sum(
                tensor[tuple(a[x] for pair in p for x in pair)]
                for p in pairings
                if all(i[x] == i[y] for x, y in p)
            )
    return out if d > 1 else out.reshape((P,) * n_points)


X2 = np.array([[0.8, -0.3], [0.2, 0.9]])
X3 = np.array([[0.8, -0.3, 0.1], [0.2, 0.9, -0.4], [-0.5, 0.3, 0.7]])
X3_LINE = np.array([[-0.9], [0.2], [1.1]])


@pytest.mark.parametrize(
    ("act", "C_W", "C_b", "X", "hidden", "d_out"),
    [
        ("tanh", 1.5, 0.1, X2, [12, 9, 10], 1),
        ("tanh", 1.5, 0.1, X2, [12, 9, 10], 2),
        ("relu", 2.0, 0.0, X2, [12, 9, 10], 1),
        ("relu", 2.0, 0.0, X2, [12, 9, 10], 2),
        ("relu", 1.8, 0.1, X2, [12, 9, 10], 1),
        ("relu", 1.8, 0.1, X2, [12, 9, 10], 2),
        pytest.param("erf", 1.5, 0.1, X3_LINE, [9, 10], 1, marks=pytest.mark.slow),
        ("relu", 1.8, 0.1, X3_LINE, [9, 10], 1),
        ("relu", 1.8, 0.1, X3, [12, 9, 10], 2),
    ],
)
def test_graded_terms_are_the_multi_input_cumulants(act, C_W, C_b, X, hidden, d_out) -> None:
    widths = [X.shape[1], *hidden, d_out]
    P = X.shape[0]
    mlp = fnn.MLP(act, widths=widths, C_W=C_W, C_b=C_b)
    S = fnn.effective_action(mlp, X, order=2)
    c = fnn.kernels.multi_input_cumulants(act, X, C_W=C_W, C_b=C_b, widths=widths)
    n = widths[-2]
    G2, G4, G6 = (S.correlators(k, series=True) for k in (2, 4, 6))
    eye = np.eye(d_out)
    scale = max(1.0, np.abs(c.U[-1]).max())  # relu's U is O(10)
    for g, K in enumerate((c.K[-1], c.K1[-1] / n, c.K2[-1] / n**2)):
        want = np.einsum("ab,ij->abij", c.matrix(K), eye)
        got = G2[g] if d_out > 1 else G2[g][..., None, None]
        np.testing.assert_allclose(got, want, atol=1e-14 * scale)
    for g, V in ((1, c.V[-1] / n), (2, c.V1[-1] / n**2)):
        np.testing.assert_allclose(G4[g], _expected(c.tensor(V), 4, P, d_out), atol=1e-15 * scale)
    np.testing.assert_allclose(
        G6[2], _expected(c.tensor(c.U[-1] / n**2), 6, P, d_out), atol=1e-16 * scale
    )
    assert np.abs(G6[2]).max() > 1e-4
    # the order-1 part is the order-1 action's
    S1 = fnn.effective_action(mlp, X, order=1)
    np.testing.assert_allclose(S.gamma(2, term=1), S1.gamma(2, term=1), rtol=1e-10)


def test_order_two_refusals() -> None:
    mlp = fnn.MLP("tanh", widths=[1, 10, 10, 1], C_W=1.5, C_b=0.1)
    with pytest.raises(UnsupportedError, match=r"'X'.*six-index tensors"):
        fnn.effective_action(mlp, np.linspace(-1, 1, 17)[:, None], order=2)
    with pytest.raises(UnsupportedError, match=r"'X'.*smooth σ at most 4 inputs.*got 5"):
        fnn.effective_action(mlp, np.linspace(-1, 1, 5)[:, None], order=2)
    with pytest.raises(UnsupportedError, match=r"'X'.*correlation"):
        fnn.effective_action(mlp, [[0.5], [0.5001]], order=2)
