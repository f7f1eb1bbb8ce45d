"""Finite-width NTK and dNTK statistics at depth 10 (run on demand; not a test).

    python benchmarks/bench_ntk.py

Issue 13 ("Speed"): all the recursions — ``ntk_fluctuations`` (K, Θ, K^{1}, Θ^{1}, V, A, B, D,
F) and ``dntk_statistics`` (P, Q, R, S, T, U, which recomputes the NTK statistics it needs) —
for depth 10 (widths [1, 100 × 9, 1], C_b = 0.1) at 10 inputs on [−1.1, 1], target under 5 s
for erf and relu; for relu ``dntk_statistics(..., ddntk=False)`` (P, Q: the ddNTK means R, S, T,
U of a kinked σ are not implemented).
tanh is the quadrature activation (no closed forms: the lattice rule on every block of four
inputs, one block at 4 inputs, C(P, 4) blocks per layer at P inputs): its time at the same
depth at 4 and at 10 inputs (210 blocks per layer: minutes), and in the case the issue measured,
[1, 64, 64, 1], C_W = 1, C_b = 0 at 7 inputs (a rank-1 first layer), where erf is timed too,
and ``finite_width_prediction`` on the issue's own example (its 7 inputs are mirrored pairs).
Wall-clock seconds, best of REPEAT runs after one warm-up call (numba compilation of the relu
orthant program), the CPU seconds of those runs and the 1-minute load average (the machine is
shared: compare wall with CPU time).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _table import Row, load

import fieldnn as fnn

DEPTH, P, REPEAT = 10, 10, 3
C_W = {"erf": 1.0, "relu": 2.0, "tanh": 1.0}


def best(fn, repeat: int) -> tuple[float, float]:
    """Best (wall-clock, CPU) seconds of ``fn()`` over ``repeat`` runs after one warm-up."""
    fn()
    out = (np.inf, np.inf)
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        out = min(out, (time.perf_counter() - wall, time.process_time() - cpu))
    return out


def depth_ten(act: str, repeat: int, inputs: int = P) -> Row:
    X = np.linspace(-1.1, 1.0, inputs)[:, None]
    mlp = fnn.MLP(act, [1] + [100] * (DEPTH - 1) + [1], C_W=C_W[act], C_b=0.1)
    fl = best(lambda: fnn.ntk_fluctuations(mlp, X), repeat)
    parts = f"ntk_fluctuations {fl[0]:.3g} s"
    wall, cpu = fl
    kink = act == "relu"
    dn = best(lambda: fnn.dntk_statistics(mlp, X, ddntk=not kink), repeat)
    parts += f", dntk_statistics{' (P, Q)' if kink else ''} {dn[0]:.3g} s"
    wall, cpu = wall + dn[0], cpu + dn[1]
    return Row(
        f"13 finite-width NTK + dNTK statistics {act}, depth {DEPTH}, {inputs} inputs",
        None,
        wall,
        f"{parts} (CPU {cpu:.3g} s); {load()}",
        "< 5 s" if act != "tanh" else "stated",
    )


def rank_one_case(act: str) -> Row:
    X = np.linspace(-1.1, 1.0, 7)[:, None]
    mlp = fnn.MLP(act, [1, 64, 64, 1], C_W=1.0, C_b=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the case used to warn "~inf relative"
        fl = best(lambda: fnn.ntk_fluctuations(mlp, X), 1)
        dn = best(lambda: fnn.dntk_statistics(mlp, X), 1)
    return Row(
        f"13 dNTK statistics {act} [1, 64, 64, 1], C_b = 0, 7 inputs",
        None,
        fl[0] + dn[0],
        f"ntk_fluctuations {fl[0]:.3g} s, dntk_statistics {dn[0]:.3g} s (CPU "
        f"{fl[1] + dn[1]:.3g} s), no warning; {load()}",
        "< 10 s",
    )


def issue_case() -> Row:
    """Issue 13's own example: tanh [1, 64, 64, 1], C_W = 1, C_b = 0, 4 training points of
    sin 2x on [−1.5, 1.5] and test points −1, 0.25, 1 (gradient descent η = 0.05 to t = 40).
    d_in = 1 and C_b = 0: a rank-1 first layer, and z(−x) = −z(x) at every layer (three mirrored
    pairs among the 7 inputs, integrated once; a layer-2 kernel of rank 4, one lattice)."""
    XA = np.linspace(-1.5, 1.5, 4)[:, None]
    XB = np.array([[-1.0], [0.25], [1.0]])
    mlp = fnn.MLP("tanh", [1, 64, 64, 1], C_W=1.0, C_b=0.0)
    y = np.sin(2 * XA[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gd = best(
            lambda: fnn.finite_width_prediction(mlp, XA, y, XB, t=40.0, learning_rate=0.05), 1
        )
    return Row(
        "13 finite_width_prediction tanh [1, 64, 64, 1], C_b = 0, the issue's example",
        None,
        gd[0],
        f"gradient descent 800 steps {gd[0]:.3g} s (CPU {gd[1]:.3g} s), no warning; {load()}",
        "< 10 s",
    )


def training_case(act: str) -> Row:
    """``finite_width_prediction`` on the replica problem of the report (4 training points of
    sin 2x, 3 test points): 100 steps of gradient descent, and gradient flow to t = ∞."""
    XA = np.linspace(-1.5, 1.5, 4)[:, None]
    XB = np.array([[-1.0], [0.25], [1.0]])
    mlp = fnn.MLP(act, [1, 64, 64, 1], C_W=1.0, C_b=0.1)
    y = np.sin(2 * XA[:, 0])
    gd = best(lambda: fnn.finite_width_prediction(mlp, XA, y, XB, t=5.0, learning_rate=0.05), 1)
    gf = best(lambda: fnn.finite_width_prediction(mlp, XA, y, XB), 1)
    return Row(
        f"13 finite_width_prediction {act} [1, 64, 64, 1], 4 + 3 inputs",
        None,
        gd[0],
        f"gradient descent 100 steps {gd[0]:.3g} s (CPU {gd[1]:.3g} s), gradient flow t = ∞ "
        f"{gf[0]:.3g} s (CPU {gf[1]:.3g} s); {load()}",
        "stated",
    )


def _kink_runs(
    XA: np.ndarray, y: np.ndarray, hidden: int
) -> tuple[fnn.MLP, np.ndarray, tuple[float, float], tuple[float, float], tuple[float, float]]:
    """relu [1, n × ``hidden``, 1] at n = 64 (C_W = 2, C_b = 0.1) trained on XA, y with 5 test
    inputs: the net, the inputs [XA; X_test], and the best (wall, CPU) seconds of the sampled
    baseline (10⁴ networks trained by fieldnn's gradient descent at n = 64 and 256, 30 steps of
    η = 0.02, outputs and NTKs before and after: ``paired``), of ``kinked_training_shift`` for
    the 30 descent steps and for the flow to t = 0.6 (best of three after a warm-up call)."""
    from fieldnn.experiments._paired_training import paired

    XT = np.array([[1.0], [-0.5], [0.25], [2.0], [-1.5]])
    xs = np.concatenate([XA, XT])

    def net(n: int) -> fnn.MLP:
        return fnn.MLP("relu", [1, *[n] * hidden, 1], C_W=2.0, C_b=0.1)

    def sampled() -> None:
        for n in (64, 256):
            rng = np.random.default_rng(n)
            paired(net(n), xs, y, 30, 10_000, rng, "both", n_train=XA.shape[0])

    mlp = net(64)
    base = best(sampled, 1)
    gd = best(lambda: fnn.kinked_training_shift(mlp, XA, y, XT, t=0.6, learning_rate=0.02), 3)
    gf = best(lambda: fnn.kinked_training_shift(mlp, XA, y, XT, t=0.6), 3)
    return mlp, xs, base, gd, gf


def kink_case(hidden: int = 1) -> Row:
    """``kinked_training_shift`` with two training inputs (relu with ``hidden`` hidden layers of
    width n, x = (1, −0.5), y = (2, −1), 5 test inputs, 2·10⁴ Monte Carlo samples): 30 descent
    steps and the flow (``_kink_runs``; the warm-up call compiles the particle step). Baseline:
    what measuring the same O(1/√n) coefficients takes without the theory, the sampled tests'
    measurement, whose errors on the coefficients are 2–5 times the Monte Carlo's with one
    hidden layer, 0.8–1.6 times with two."""
    _, _, base, gd, gf = _kink_runs(np.array([[1.0], [-0.5]]), np.array([2.0, -1.0]), hidden)
    return Row(
        f"13 kinked_training_shift relu [1, {', '.join(['n'] * hidden)}, 1], 2 + 5 inputs",
        base[0],
        gd[0],
        f"descent 30 steps {gd[0]:.3g} s (CPU {gd[1]:.3g} s), flow t = 0.6 {gf[0]:.3g} s (CPU "
        f"{gf[1]:.3g} s); baseline 2 × 10⁴ sampled networks trained {base[0]:.3g} s (CPU "
        f"{base[1]:.3g} s); {load()}",
        "stated",
    )


def kink_one_input_case(hidden: int = 2) -> Row:
    """``kinked_training_shift`` at one training input (relu with ``hidden`` ≥ 2 hidden layers
    of width n, x = 1, y = 2, 5 test inputs): the deep closed form, 30 descent steps and the flow
    (``_kink_runs``), against the same sampled baseline. Also stated: the package's kink-flux
    Monte Carlo of the same descent (2·10⁴ samples), which the closed form's tests check it
    against."""
    from fieldnn.inference._kink_flux import KinkProblem, deep_layers
    from fieldnn.inference._kinked_training import _flux

    y = np.array([2.0])
    mlp, xs, base, gd, gf = _kink_runs(np.array([[1.0]]), y, hidden)
    theta, K = np.asarray(mlp.ntk(xs)), np.asarray(mlp.kernel(xs))
    prob = KinkProblem(
        deep_layers(mlp, fnn.ntk_fluctuations(mlp, xs)), theta[:, :1], -y, K[:1, :1], (0.0, 1.0)
    )
    mc = best(lambda: _flux(prob, 0.6, 0.02, 20_000, 1, np.ones((xs.shape[0] - 1, 1))), 1)
    return Row(
        f"13 kinked_training_shift relu [1, {', '.join(['n'] * hidden)}, 1], 1 + 5 inputs",
        base[0],
        gd[0],
        f"closed form: descent 30 steps {gd[0]:.3g} s (CPU {gd[1]:.3g} s), flow t = 0.6 "
        f"{gf[0]:.3g} s (CPU {gf[1]:.3g} s); kink-flux Monte Carlo of the descent {mc[0]:.3g} s; "
        f"baseline 2 × 10⁴ sampled networks trained {base[0]:.3g} s (CPU {base[1]:.3g} s); "
        f"{load()}",
        "stated",
    )


def cases(quick: bool) -> list[Row]:
    repeat = 1 if quick else REPEAT
    rows = [depth_ten(act, repeat) for act in ("erf", "relu")]
    rows += [rank_one_case("erf"), rank_one_case("tanh"), issue_case(), training_case("erf")]
    rows.append(kink_case())
    if not quick:
        rows.append(depth_ten("tanh", 1, inputs=4))
        rows.append(depth_ten("tanh", 1, inputs=P))
        rows.append(training_case("tanh"))
        rows.append(kink_case(hidden=2))
        rows.append(kink_one_input_case())
    return rows


if __name__ == "__main__":
    for row in cases(False):
        print(f"{row.case}: {row.fieldnn:.3g} s — {row.merit}")
