"""The O(1/√n) drift of the mean NTK of a deep relu-type net trained at one input
(:func:`fieldnn.kinked_ntk_change`; derivation in its module docstring and in
``docs/finite_width_training.md``, "Deeper relu nets"): against the one-hidden-layer closed form,
against a direct simulation of the units near a kink, and against fieldnn's gradient descent on
sampled [1, n, n, 1] and [1, n, n, n, 1] relu nets (slow)."""

from __future__ import annotations

import numpy as np
import pytest

import fieldnn as fnn
from fieldnn.errors import ArgumentError, UnsupportedError
from fieldnn.experiments._paired_training import paired, richardson
from fieldnn.inference._deep_kink import _flux_moments, net_crossings
from fieldnn.kernels.activations import leaky_relu

# the theory against itself, its closed forms and sampled networks at the inputs its docs
# tables use, several nearly proportional to a training input: the warning about them is
# tested in test_kink_window.py
pytestmark = pytest.mark.filterwarnings("ignore:.*nearly proportional preactivations")

X, Y, C_W, C_B, ETA, STEPS = 1.0, 0.5, 2.0, 0.1, 0.02, 50
X_TEST = [[1.0], [-1.0], [0.0], [0.5], [2.0]]


@pytest.mark.parametrize("act", ["relu", leaky_relu(0.2)], ids=["relu", "leaky"])
@pytest.mark.parametrize("kw", [{"t": 1.0, "learning_rate": 0.02}, {"t": 0.6}, {}])
def test_one_hidden_layer_is_the_closed_form(act: object, kw: dict) -> None:
    """[1, n, 1]: no ungated velocity, and the angular quadrature equals the closed form of
    kinked_training_shift (an independent derivation and code path), at the training input and
    at test inputs (h(x', x) = 0 at x' = −1: no drift)."""
    mlp = fnn.MLP(act, [1, 64, 1], C_W=C_W, C_b=C_B)
    r = fnn.kinked_ntk_change(mlp, [[X]], [Y], X_TEST, **kw)
    closed = fnn.kinked_training_shift(mlp, [[X]], [Y], X_TEST, **kw).ntk_change[:, 0]
    assert r.ungated[0] == 0.0 and r.ntk_change[1] == 0.0
    np.testing.assert_allclose(r.ntk_change, closed, rtol=1e-10, atol=1e-14)
    alone = fnn.kinked_ntk_change(mlp, [[X]], [Y], **kw)
    assert alone.ntk_change.shape == (1,) and alone.ntk_change[0] == r.ntk_change[0]


def _simulated_flux(A: float, B: float, s_minus: float, s_plus: float, steps: int) -> float:
    """∫ dw₀ [1(w(1) > 0) − 1(w₀ > 0)] over the starting points of units moved by `steps` equal
    steps of V₊ = −(s₊A + B) above the kink and V₋ = −(s₋A + B) below it (descent: the velocity
    of the side the unit is on), w₀ stratified (one uniform point per cell of a fine grid, so
    that units stuck on the kink chatter with independent phases)."""
    V_plus, V_minus = -(s_plus * A + B), -(s_minus * A + B)
    reach, cells = 1.5 * max(abs(V_plus), abs(V_minus)), 200_000
    rng = np.random.default_rng(7)
    w0 = -reach + (np.arange(cells) + rng.random(cells)) * (2 * reach / cells)
    w = w0.copy()
    for _ in range(steps):
        w += np.where(w > 0, V_plus, V_minus) / steps
    return float(np.mean((w > 0).astype(float) - (w0 > 0)) * 2 * reach)


@pytest.mark.parametrize("slopes", [(0.0, 1.0), (0.2, 1.0), (-0.5, 1.0)])
def test_flux_counts_the_units_that_cross_or_slide(slopes: tuple[float, float]) -> None:
    """M(A, B) = min(V₊, 0) + max(V₋, 0) (crossing one way, the other, sliding into the kink,
    repelled from it) against units moved step by step, in each of the four sign cases of V₊,
    V₋ (largest deviation of the stratified simulation 4e-4: sampling and step errors)."""
    s_minus, s_plus = slopes
    cases = [
        (1.0, 0.3),
        (1.0, -0.6),
        (-1.0, -0.2),
        (-1.0, 0.5),
        (0.4, 2.0),
        (2.0, -1.5),
        (1.0, -2.0),
    ]
    seen = set()
    for A, B in cases:
        V = (-(s_plus * A + B), -(s_minus * A + B))
        seen.add((V[0] > 0, V[1] > 0))
        predicted = net_crossings(A, B, s_minus, s_plus)
        simulated = _simulated_flux(A, B, s_minus, s_plus, 500)
        assert abs(simulated - predicted) < 5e-3
    assert len(seen) == 4


def test_depth_and_width_dependence() -> None:
    """Each layer's share scales as 1/√n_ℓ; the ungated velocity grows with depth; refusals
    name the argument."""
    deep = fnn.kinked_ntk_change(fnn.MLP("relu", [1, 64, 64, 64, 1], C_W=C_W, C_b=C_B), [[X]], [Y])
    wide = fnn.kinked_ntk_change(
        fnn.MLP("relu", [1, 256, 256, 256, 1], C_W=C_W, C_b=C_B), [[X]], [Y]
    )
    np.testing.assert_allclose(wide.layers, deep.layers / 2, rtol=1e-12)
    assert deep.ungated[0] == 0.0 and 0.0 < deep.ungated[1] < deep.ungated[2]
    assert np.all(deep.layers < 0)
    mlp = fnn.MLP("relu", [1, 64, 64, 1], C_W=C_W, C_b=C_B)
    frozen = fnn.kinked_ntk_change(mlp, [[X]], [Y], lambda_b=[0, 1, 1], lambda_W=[0, 1, 1])
    assert frozen.layers[0, 0] == 0.0 and frozen.ungated[1] == 0.0 and frozen.layers[1, 0] < 0.0
    bare = fnn.MLP("relu", [1, 64, 64, 1], C_W=C_W, C_b=0.0)
    for proportional in ([[2.0]], [[0.0]]):  # x' = 2x at C_b = 0, and x' = 0
        with pytest.raises(UnsupportedError, match="X_test"):
            fnn.kinked_ntk_change(bare, [[X]], [Y], proportional)
    with pytest.raises(UnsupportedError, match="finite_width_prediction"):
        fnn.kinked_ntk_change(fnn.MLP("tanh", [1, 64, 64, 1]), [[X]], [Y])
    with pytest.raises(UnsupportedError, match="X_train"):
        fnn.kinked_ntk_change(mlp, [[X], [0.5]], [Y, Y])
    with pytest.raises(UnsupportedError, match="one output"):
        fnn.kinked_ntk_change(fnn.MLP("relu", [1, 64, 64, 2]), [[X]], [Y])
    with pytest.raises(UnsupportedError, match="X_train"):
        fnn.kinked_ntk_change(fnn.MLP("relu", [1, 64, 64, 1], C_b=0.0), [[0.0]], [Y])
    with pytest.raises(ArgumentError, match="learning_rate"):
        fnn.kinked_ntk_change(mlp, [[X]], [Y], t=1.0, learning_rate=1.0)


def _drifts(
    widths: list[int], xs: np.ndarray, batches: tuple[int, int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard errors of the paired changes Θ̂(x', x; t) − Θ̂(x', x; 0) at the rows
    x' of ``xs`` (the first is the training input x), over ``batches`` = (chunks, networks)."""
    mlp, rng = fnn.MLP("relu", widths, C_W=C_W, C_b=C_B), np.random.default_rng(seed)
    d = np.concatenate(
        [np.subtract(*paired(mlp, xs, Y, STEPS, batches[1], rng, "ntk")[::-1])[:, :, 0]
         for _ in range(batches[0])]
    )  # fmt: skip
    return d.mean(axis=0), d.std(axis=0) / np.sqrt(d.shape[0])


@pytest.mark.slow
@pytest.mark.parametrize(
    "depth, xs, seeds, batches",
    [
        (3, [X, -1.0, 0.0, 0.5], (201, 202), ((8, 2000), (8, 500))),
        (4, [X], (11, 12), ((8, 2000), (8, 500))),
    ],
    ids=["two-hidden", "three-hidden"],
)
def test_deep_relu_drift_against_sampled_networks(
    depth: int, xs: list[float], seeds: tuple[int, int], batches: tuple[tuple[int, int], ...]
) -> None:
    """[1, n, …, n, 1] relu, C_W = 2, C_b = 0.1, x = 1, y = 0.5, η = 0.02, 50 steps, 16 000
    networks at n = 64 and 4000 at n = 256: the drift halves per fourfold width (it would
    quarter at O(1/n)), and its 1/√n coefficient from the two widths (d = a/√n + b/n) is the
    derived one within 4σ, at the training input and (two hidden layers) at x' = −1, 0. The
    last test input, x' = 0.5, has u(x') nearly ∝ u(x) (first-layer correlation 0.98): its
    higher orders are large, and it is recorded, not asserted (docs)."""
    points = np.array(xs)[:, None]
    drifts = [
        _drifts([1, *[n] * (depth - 1), 1], points, batch, seed)
        for n, seed, batch in zip((64, 256), seeds, batches, strict=True)
    ]
    (d1, e1), (d2, e2) = drifts
    assert np.all(d1 < -20 * e1) and np.all(d2 < -20 * e2)
    assert 1.8 < d1[0] / d2[0] < 2.8
    a, se = richardson(drifts, (64, 256))
    mlp = fnn.MLP("relu", [1, *[64] * (depth - 1), 1], C_W=C_W, C_b=C_B)
    theory = fnn.kinked_ntk_change(mlp, [[X]], [Y], points, t=ETA * STEPS, learning_rate=ETA)
    checked = slice(0, 3)
    assert np.all(np.abs(a - theory.coefficients.sum(axis=0))[checked] < 4 * se[checked])


def test_numbers_quoted_in_the_docs() -> None:
    """docs/finite_width_training.md, "Deeper relu nets": the per-layer theory of the sampled
    problem, the ungated share Ξ/(Θ²G), and the totals without the push (B = 0; by homogeneity
    each layer's flux scales with E[A²M + 2ABM] at σ_B/σ_A = √ungated)."""
    quoted = {
        3: ([-0.515, -2.047], -2.562, 0.24, -2.608),
        4: ([-0.389, -1.558, -3.897], -5.844, 0.54, -5.555),
    }

    def flux(ratio: float) -> float:
        m = _flux_moments(1.0, ratio, 0.0, 1.0)
        return m.aa + 2 * m.ab

    for depth, (layers, total, ungated, no_push) in quoted.items():
        mlp = fnn.MLP("relu", [1, *[64] * (depth - 1), 1], C_W=C_W, C_b=C_B)
        r = fnn.kinked_ntk_change(mlp, [[X]], [Y], t=ETA * STEPS, learning_rate=ETA)
        coefficients = r.coefficients[:, 0]
        np.testing.assert_allclose(coefficients, layers, atol=5e-4)
        assert round(float(coefficients.sum()), 3) == total
        assert round(float(r.ungated[-1]), 2) == ungated
        alone = [flux(0.0) / flux(np.sqrt(u)) for u in r.ungated]
        assert round(float(np.sum(coefficients * alone)), 3) == no_push


def test_test_input_numbers_quoted_in_the_docs() -> None:
    """The theory column of the test-input table (two hidden layers, Θ̂(x', 1) at x' = −1, 0,
    0.5, per layer) and the first-layer correlation 0.98 of x' = 0.5."""
    mlp = fnn.MLP("relu", [1, 64, 64, 1], C_W=C_W, C_b=C_B)
    xs = [[-1.0], [0.0], [0.5]]
    r = fnn.kinked_ntk_change(mlp, [[X]], [Y], xs, t=ETA * STEPS, learning_rate=ETA)
    np.testing.assert_allclose(
        r.coefficients, [[0.0, -0.083, -0.177], [-0.200, -0.372, -0.728]], atol=5e-4
    )
    np.testing.assert_allclose(r.coefficients.sum(axis=0), [-0.200, -0.455, -0.905], atol=5e-4)
    K1 = C_B + C_W * np.outer([X, 0.5], [X, 0.5])  # first-layer kernel, d_in = 1
    assert round(K1[0, 1] / np.sqrt(K1[0, 0] * K1[1, 1]), 2) == 0.98
