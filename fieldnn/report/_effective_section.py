"""The NN-QFT report's section on the effective action (private; called by nnqft_report).

The action of the seed nets and of one MLP on the seed inputs at orders 1 and 2, held against
the exact correlators; where it holds against the exact single-input density (with the density
figure); the locality fits and κ with the O(λ²) tree. Method and conventions:
docs/effective_action.md and docs/exact_density.md.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..effective import compare_with_density, effective_action, fit_locality, six_point_consistency
from ..ensembles import MLP, SingleLayerNet
from ..errors import UnsupportedError
from ..experiments import published_setup
from .plots_effective import density_figure

__all__ = ["effective_section"]

_SEED_WIDTH = 10
_GRID_TRAIN = np.linspace(-1.0, 1.0, 7)[:, None]
_GRID_TEST = 0.5 * (_GRID_TRAIN[1:] + _GRID_TRAIN[:-1])
_SIX_INPUTS = np.linspace(-1.0, 1.0, 6)[:, None]
_CUTOFF = 10.0
_ACTION_WIDTHS = (10, 10_000)


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _action_or_none(net: Any, X: np.ndarray, order: int) -> Any:
    """The action, or None where double precision cannot represent it (refused)."""
    try:
        return effective_action(net, X, order=order)
    except UnsupportedError:
        return None


def _seed_setup(act: str) -> tuple[Any, np.ndarray, str]:
    """The published net and inputs, or (singular kernel there) σ_b² = 1 on six grid inputs."""
    st = published_setup(act, 1)
    net = st.net(_SEED_WIDTH)
    K = net.kernel(st.X)
    if np.linalg.cond(K) < 1e12:
        return net, st.X, f"{act}-net, seed inputs"
    net = SingleLayerNet(act, width=_SEED_WIDTH, sigma_w2=1.0, sigma_b2=1.0)
    return net, _SIX_INPUTS, f"{act}-net, sigma_b^2 = 1, six inputs in [-1, 1]"


def _action_rows(w: Any, nets: tuple[str, ...]) -> list[list[Any]]:
    rows = []
    for act in nets:
        net0, X, label = _seed_setup(act)
        for N in _ACTION_WIDTHS:
            net = SingleLayerNet(
                net0.activation, width=N, sigma_w2=net0.sigma_w2, sigma_b2=net0.sigma_b2
            )
            G4 = np.asarray(net.exact_connected(X, 4))
            G6 = np.asarray(net.exact_connected(X, 6))
            with warnings.catch_warnings():  # the round-off goes into the table instead
                warnings.simplefilter("ignore", RuntimeWarning)
                S1, S2 = (_action_or_none(net, X, order) for order in (1, 2))
            d = w.store(
                f"effective.action.{act}_N{N}",
                {
                    "width": N,
                    "inputs": X[:, 0].tolist(),
                    "condition_K": float(np.linalg.cond(net.kernel(X))),
                    "residual_G4c_order1": None if S1 is None else _relative(S1.correlators(4), G4),
                    "residual_G4c_order2": None if S2 is None else _relative(S2.correlators(4), G4),
                    "residual_G6c_order2": None if S2 is None else _relative(S2.correlators(6), G6),
                    "roundoff_order2": None if S2 is None else max(S2.precision.values()),
                },
            )
            rows.append(
                [
                    label,
                    d["width"],
                    d["condition_K"],
                    d["residual_G4c_order1"],
                    d["residual_G4c_order2"],
                    d["residual_G6c_order2"],
                    "refused" if S2 is None else d["roundoff_order2"],
                ]
            )
    mlp = MLP("erf", widths=[1, 100, 100, 1], C_W=1.0, C_b=0.1)
    X = published_setup("erf", 1).X
    S = effective_action(mlp, X, order=1)
    d = w.store("effective.action.mlp_erf", {"max_gamma4": float(np.max(np.abs(S.gamma(4))))})
    w.text(
        f"The Erf MLP [1, 100, 100, 1] (C_W = 1, C_b = 0.1) on the seed inputs has an order-1 "
        f"action (K, V from the recursions; order 2 needs the deep 6-point function) with "
        f"max |γ⁽⁴⁾| = {d['max_gamma4']:.4g}."
    )
    return rows


def effective_section(w: Any, nets: tuple[str, ...], quick: bool) -> None:
    """Write the section; ``nets`` are the seed nets of the run, ``quick`` shrinks the grids."""
    w.heading("6. The effective action and where it holds")
    w.text(
        "S(f) = ½γ⁽²⁾ff − ⅛γ⁽⁴⁾ffff − (1/48)γ⁽⁶⁾ffffff (probability ∝ e^{−S}; "
        f"{w.docs_link('docs/effective_action.md')}), from the exact finite-width cumulants of "
        "the seed nets on the seed inputs (d_in = 1) and from K, V of an Erf MLP. Where the "
        "seed inputs make the kernel singular (ReLU-net, σ_b = 0 and positive inputs: f(x) = x·F "
        "exactly; Gauss-net inputs ±0.01: one point) the net is shown with σ_b² = 1 on six "
        "inputs in [−1, 1] instead. The residuals compare the connected 4- and 6-point "
        "functions the action predicts (engine diagrams) with the exact ones, relative to their "
        "largest entry. On six inputs the couplings carry K⁻¹ on every leg and the condition "
        "number of K is large: at the seed's N = 10 no order describes the correlators, and at "
        "N = 10⁴ the G4c residuals of the Erf- and ReLU-nets fall by 1/N per order. The last "
        "column is the action's own round-off: how well its diagrams return the correlators it "
        "was built from (exact in exact arithmetic; six legs of K⁻¹ lose up to ~cond(K)⁴ε). "
        'Where it exceeds 1 %, effective_action refuses order 2 ("refused": the seed\'s six '
        "Erf inputs, cond K = 3.4·10⁴) — a G6c residual below the round-off means nothing. "
        "The Gauss-net's lognormal unit keeps every residual at O(1) at both widths."
    )
    rows = _action_rows(w, nets)
    w.table(
        "effective_action",
        [
            "net",
            "N",
            "cond K",
            "G4c res. order 1",
            "G4c res. order 2",
            "G6c res. order 2",
            "round-off order 2",
        ],
        rows,
        "Relative residuals of the correlators predicted by the action of the seed nets.",
    )
    widths = [20, 40, 80, 160, 320]
    rows = []
    for act in ("erf", "relu"):
        cmp = compare_with_density(act, [1.0], widths)
        d = w.store(
            f"effective.density.{act}",
            {f"slope_order{k}": cmp.exponent(k) for k in (0, 1, 2)},
        )
        rows.append([act, d["slope_order0"], d["slope_order1"], d["slope_order2"]])
    n_grid = 25 if quick else 57
    grid = np.unique(np.round(np.logspace(np.log10(2.0), 7.0, n_grid)).astype(int))
    gauss = compare_with_density("gauss", [0.0], grid)
    d = w.store(
        "effective.density.gauss",
        {"crossover_order1": gauss.crossover(1), "crossover_order2": gauss.crossover(2)},
    )
    w.text(
        "Against the exact single-input density (σ_W² = σ_b² = 1; "
        f"{w.docs_link('docs/exact_density.md')}): the error ε_k(N) = max_f |[log p(f) − "
        "log p(0)] + [S_k(f) − S_k(0)]| of the action at order k falls like N^{−k−1} for the "
        "Erf- and ReLU-nets (x = 1, N = 20 … 320; fitted slopes below). The Gauss-net (x = 0, "
        f"q = 1) is asymptotic only at large width: on a grid of {len(grid)} widths from 2 to "
        f"10⁷, order 1 improves on the Gaussian process from N = {d['crossover_order1']:.0f} "
        f"and order 2 on order 1 from N = {d['crossover_order2']:.0f}; below, the next order "
        "makes the description worse."
    )
    w.table(
        "effective_density",
        ["net", "slope order 0", "slope order 1", "slope order 2"],
        rows,
        "Fitted slopes of log ε_k against log N, N = 20 … 320.",
    )
    w.figure(
        "effective_density",
        density_figure(n_grid=n_grid),
        "The non-Gaussian part of −log p(f), exact (solid) and from the action at orders 1 "
        "(dashed) and 2 (dotted), N = 2, 10, 100, 1000; bottom right, the Gauss-net errors "
        "ε_k(N) with the crossovers (dotted).",
    )
    ops = (("lambda0",), ("lambda0", "lambda2"), ("lambda0", "lambda2", "lambda4"))
    ops = (*ops, ("lambda0", "nonlocal"))
    rows = []
    for act in nets:
        net = SingleLayerNet(act, width=_SEED_WIDTH, sigma_w2=1.0, sigma_b2=1.0)
        fits = [
            fit_locality(net, _GRID_TRAIN, _GRID_TEST, cutoff=_CUTOFF, operators=o) for o in ops
        ]
        d = w.store(
            f"effective.locality.{act}",
            {
                "lambda_bar_test_error": fits[0].lambda_bar_test_error,
                "test_errors": [f.test_error for f in fits],
                "train_errors": [f.train_error for f in fits],
            },
        )
        rows.append([act, d["lambda_bar_test_error"], *d["test_errors"]])
    w.text(
        "Locality (N = 10, σ_W² = σ_b² = 1, full legs, Λ = 10): relative RMS error of G⁽⁴⁾_c on "
        "held-out tuples for a constant λ̄ (measure_lambda), λ₀ by least squares, λ₀ + λ₂y², "
        "+ λ₄y⁴, and λ₀ with a Gaussian-smeared non-local quartic (ℓ = 0.5); training inputs "
        "−1, −2/3, …, 1, held out their midpoints."
    )
    w.table(
        "effective_locality",
        ["net", "lambda bar", "l0", "l0 + l2 y^2", "+ l4 y^4", "l0 + non-local"],
        rows,
        "Test errors of quartic operator fits (lower is better).",
    )
    rows = []
    for act in nets:
        net = SingleLayerNet(act, width=_SEED_WIDTH, sigma_w2=1.0, sigma_b2=1.0)
        r = six_point_consistency(net, _SIX_INPUTS, cutoff=_CUTOFF)
        d = w.store(f"effective.six_point.{act}", r.to_dict())
        rows.append(
            [
                act,
                d["kappa_bar"],
                d["kappa_bar_tree"],
                d["width_1pct"]["lambda"],
                d["width_1pct"]["lambda+kappa"],
                d["width_1pct"]["lambda+kappa+tree"],
            ]
        )
    w.text(
        "κ at O(1/N²) with the tree of two λ vertices (weight 5760λ², omitted by the seed and "
        "by measure_kappa), inputs −1, −0.6, …, 1: N²κ̄ without and with it, and N_1% (every "
        "6-point value to 1 %) for λ only, λ + κ̄ and λ + κ̄ + tree."
    )
    w.table(
        "effective_kappa_tree",
        ["net", "N^2 kappa", "N^2 kappa (tree)", "N_1% lambda", "N_1% + kappa", "N_1% + tree"],
        rows,
        "κ with and without the O(λ²) tree.",
    )
