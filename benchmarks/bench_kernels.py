"""Deep NNGP + NTK (depth 10, relu and erf) against neural-tangents; GELU and Φ pair kernels.

    python benchmarks/bench_kernels.py

Issue 16, items 1 and 2. ``kernel_and_ntk`` (one recursion for K and Θ, a compiled fused
pair step for relu and erf) against neural-tangents' ``kernel_fn(x, None, ("nngp", "ntk"))``
(jax, CPU, float64, ``jit``-compiled; the compile call is excluded): depth 10 = ten dense
layers (nine nonlinearities), C_W = 2 (relu) / 1 (erf), C_b = 0.1, inputs in d_in = 8,
P = 200, 1000, 3000. Same conventions: NT's ``Dense(W_std=√C_W, b_std=√C_b)`` in the NTK
parameterisation is fieldnn's C_W, C_b with λ_W = C_W, λ_b = C_b; the row states the largest
relative difference of K and Θ between the two. neural-tangents is not a dependency of
fieldnn: without it the row says "not installed" and times the NumPy path instead.

Both rows time the compiled passes, loaded first (a fresh process below 250 000 entries
takes the NumPy path and does not import numba: row 10, ``bench_cold.py``).

GELU (rows 9): the same at C_W = 1, P = 50, 200, 1000, against NT's
``Gelu(approximate=False)``; fieldnn runs its compiled GELU layers (numba loaded, as after
rows 8), the notes give the NumPy closed forms and, at P = 50, the 2-d quadrature path. Φ
(``"gauss_cdf"``, no NT counterpart): P = 50 against its own quadrature path. Every time is
the best of :data:`REPEAT` runs alternating with the baseline (the machine is shared).
"""

from __future__ import annotations

import numpy as np
from _table import Row, best_times, load

from fieldnn.kernels import _pairs
from fieldnn.kernels.deep import kernel_and_ntk

DEPTH, D_IN, C_B = 10, 8, 0.1
C_W = {"relu": 2.0, "erf": 1.0}


def _nt_kernel_fn(act: str):
    """The jit-compiled neural-tangents kernel function, or None if it is not installed."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        from neural_tangents import stax
    except ImportError:
        return None
    w, b = float(np.sqrt(C_W[act])), float(np.sqrt(C_B))
    nonlinearity = stax.Relu() if act == "relu" else stax.Erf()
    layers = [stax.Dense(1, W_std=w, b_std=b)]
    for _ in range(DEPTH - 1):
        layers += [nonlinearity, stax.Dense(1, W_std=w, b_std=b)]
    _, _, kernel_fn = stax.serial(*layers)
    fn = jax.jit(kernel_fn, static_argnames="get")

    def run(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = fn(X, None, ("nngp", "ntk"))
        return np.asarray(k[0].block_until_ready()), np.asarray(k[1].block_until_ready())

    return run


def _ours(act: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = C_W[act]
    return kernel_and_ntk(act, X, C_W=c, C_b=C_B, lambda_W=c, lambda_b=C_B, depth=DEPTH)


def _numpy_path(act: str, X: np.ndarray) -> float:
    """Best of 2: the same call on the NumPy closed forms (the compiled loop switched off)."""
    saved = list(_pairs._LOOPS)
    _pairs._LOOPS[:] = [None]
    try:
        return best_times(None, lambda: _ours(act, X), 2)[1]
    finally:
        _pairs._LOOPS[:] = saved


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.abs(b)))


def _row(act: str, P: int, nt, repeat: int) -> Row:
    X = np.random.default_rng(P).normal(size=(P, D_IN))
    # the compiled passes, also below 250 000 entries (a process that has loaded numba; a
    # fresh one takes the NumPy path there and does not import it: row 10)
    compiled = _pairs.compiled_loops() is not None
    _ours(act, X)
    numpy_s = _numpy_path(act, X)
    case = f"8 deep NNGP+NTK {act} depth {DEPTH} P={P}"
    if nt is None:
        t = best_times(None, lambda: _ours(act, X), repeat)[1]
        merit = f"neural-tangents not installed; NumPy path {numpy_s:.3g} s; {load()}"
        return Row(case, None, t, merit, "<= neural-tangents")
    Knt, Tnt = nt(X)  # compile
    K, T = _ours(act, X)
    off = ~np.eye(P, dtype=bool)
    agree = max(_rel(K[off], Knt[off]), _rel(T[off], Tnt[off]))
    diag = max(_rel(np.diag(K), np.diag(Knt)), _rel(np.diag(T), np.diag(Tnt)))
    base, t, _, _ = best_times(lambda: nt(X), lambda: _ours(act, X), repeat)
    merit = (
        f"neural-tangents 0.6.5 jit (jax, CPU, float64); max rel. difference of K, Θ "
        f"{agree:.1e} off the diagonal, {diag:.1e} on it; NumPy path {numpy_s:.3g} s"
        f"{'' if compiled else ' (no numba: timed twice)'}; {load()}"
    )
    return Row(case, base, t, merit, "<= 1x neural-tangents")


REPEAT = {50: 20, 200: 10, 1000: 5, 3000: 2}
"""Best of this many alternating runs (the machine is shared; small P vary most)."""


def deep_rows(quick: bool) -> list[Row]:
    sizes = (200, 1000) if quick else (200, 1000, 3000)
    rows = []
    for act in ("relu", "erf"):
        nt = _nt_kernel_fn(act)
        rows += [_row(act, P, nt, REPEAT[P]) for P in sizes]
    return rows


def _nt_gelu(X: np.ndarray):
    """neural-tangents' exact GELU kernel function (jit) on X, or None if not installed."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        from neural_tangents import stax
    except ImportError:
        return None
    layers = [stax.Dense(1, W_std=1.0, b_std=float(np.sqrt(C_B)))]
    for _ in range(DEPTH - 1):
        layers += [stax.Gelu(approximate=False), stax.Dense(1, 1.0, float(np.sqrt(C_B)))]
    fn = jax.jit(stax.serial(*layers)[2], static_argnames="get")

    def run() -> tuple[np.ndarray, np.ndarray]:
        k = fn(X, None, ("nngp", "ntk"))
        return np.asarray(k[0].block_until_ready()), np.asarray(k[1].block_until_ready())

    return run


def gelu_row(P: int, repeat: int) -> Row:
    """GELU NNGP + NTK, depth 10, C_W = 1: the compiled layers (numba loaded, as after rows 8)
    against neural-tangents; the NumPy closed forms and, at P = 50, the 2-d quadrature path
    (the same activation with its closed forms removed, the state before them) in the notes."""
    import dataclasses

    from fieldnn.kernels.activations import get_activation

    X = np.random.default_rng(P).normal(size=(P, D_IN))
    act = get_activation("gelu")

    def run(a=act):
        return kernel_and_ntk(a, X, C_W=1.0, C_b=C_B, lambda_W=1.0, lambda_b=C_B, depth=DEPTH)

    compiled = _pairs.smooth_loop() is not None
    K, T = run()
    saved = list(_pairs._SMOOTH)
    _pairs._SMOOTH[:] = [None]
    try:
        Kn, Tn = run()
        numpy_s = best_times(None, run, 2)[1]
    finally:
        _pairs._SMOOTH[:] = saved
    off_numpy = max(_rel(K, Kn), _rel(T, Tn))
    notes = [f"NumPy closed forms {numpy_s:.3g} s (max rel. difference {off_numpy:.1e})"]
    if P <= 50:
        quadrature = dataclasses.replace(act, _pair=None, _derivative_pair=None)
        t_quad = best_times(None, lambda: run(quadrature), 1)[1]
        Kq, Tq = run(quadrature)
        off_quad = max(_rel(K, Kq), _rel(T, Tq))
        notes.append(f"2-d quadrature path {t_quad:.3g} s (max rel. difference {off_quad:.1e})")
    if not compiled:
        notes.append("no numba: the NumPy closed forms")
    nt = _nt_gelu(X)
    case = f"9 GELU NNGP+NTK depth {DEPTH} P={P}"
    if nt is None:
        t = best_times(None, run, repeat)[1]
        notes.insert(0, "neural-tangents not installed")
        return Row(case, None, t, f"{'; '.join(notes)}; {load()}", "<= neural-tangents")
    Knt, Tnt = nt()  # compile
    diff = max(_rel(K, Knt), _rel(T, Tnt))
    base, t, _, _ = best_times(nt, run, repeat)
    notes.insert(
        0, f"neural-tangents 0.6.5 jit, Gelu(approximate=False); max rel. difference {diff:.1e}"
    )
    return Row(case, base, t, f"{'; '.join(notes)}; {load()}", "<= 1x neural-tangents")


def closed_form_row(name: str) -> Row:
    """NNGP + NTK, depth 10, P = 50, of a registry activation with closed pair forms (cos,
    gauss_cdf, monomials: ``fieldnn.kernels._closed_pairs``) against its quadrature path (the
    same activation with the closed forms removed), both measured here."""
    import dataclasses

    from fieldnn.kernels.activations import get_activation

    P = 50
    X = np.random.default_rng(P).normal(size=(P, D_IN))
    act = get_activation(name)
    quadrature = dataclasses.replace(act, _pair=None, _derivative_pair=None)

    def run(a):
        return kernel_and_ntk(a, X, C_W=1.0, C_b=C_B, lambda_W=1.0, lambda_b=C_B, depth=DEPTH)

    t_quad = best_times(None, lambda: run(quadrature), 1)[1]
    K, T = run(act)
    Kq, Tq = run(quadrature)
    agree = max(_rel(K, Kq), _rel(T, Tq))
    t = best_times(None, lambda: run(act), 3)[1]
    merit = (
        f"baseline: the 2-d quadrature path of the same activation; max rel. difference "
        f"{agree:.1e}; {load()}"
    )
    return Row(f"9 {name} NNGP+NTK depth {DEPTH} P={P}", t_quad, t, merit, "closed form")


def gelu_rows(quick: bool) -> list[Row]:
    return [gelu_row(P, REPEAT[P]) for P in ((50, 200) if quick else (50, 200, 1000))]


def cases(quick: bool) -> list[Row]:
    return [*deep_rows(quick), *gelu_rows(quick), closed_form_row("gauss_cdf")]


if __name__ == "__main__":
    for row in cases(False):
        ratio = "" if row.ratio is None else f" ({row.ratio:.2f}x)"
        print(f"{row.case}: baseline {row.baseline} s, {row.fieldnn:.3g} s{ratio} — {row.merit}")
