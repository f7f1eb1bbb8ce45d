"""Section 8 of ``fieldnn reproduce eft``: the O(1/n) and O(1/n²) truncations of the deep four-
and six-point functions against the exact ReLU moments (private; see
:mod:`fieldnn.report.eft_report`)."""

from __future__ import annotations

import numpy as np

from ..experiments import eft
from . import plots_next_order
from ._eft_common import _fig, _Sizes
from ._writer import ReportWriter, format_number

_DOCS = "docs/eft.md"
#: L/n of the table rows.
_RATIOS = (0.1, 0.2, 0.5, 1.0)


def _next_order(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("8. The next order: V and the six-point vertex at O(1/n²)")
    r = eft.next_order_scan(widths=(50, 100), max_ratio=1.0)
    rows, stored = [], []
    for i, n in enumerate(int(k) for k in r.widths):
        for ratio in _RATIOS:
            j = int(np.flatnonzero(np.isclose(r.ratio[i], ratio))[0])
            values = [r.four_exact[i, j], r.four_lo[i, j], r.four_nlo[i, j]]
            values += [r.six_exact[i, j], r.six_lo[i, j]]
            stored.append({"n": n, "L": int(r.depths[j]), "L_over_n": ratio, "values": values})
            rows.append([n, int(r.depths[j]), format_number(ratio), *values])
    res = w.store("next_order", {"rows": stored, "widths": r.widths})
    w.table(
        "next_order",
        ["n", "L", "L/n", "exact G4c/3K²", "O(1/n)", "O(1/n²)", "exact G6c/15K³", "U/(n²K³)"],
        rows,
        "Connected four- and six-point functions of one output of a bias-free ReLU MLP "
        "(C_W = 2, L − 1 hidden layers of width n, one input, K = E z²): exact finite-width "
        "values (∏(1 + 5/n) − 1 for the four-point function) against the O(1/n) and O(1/n²) "
        "truncations of fieldnn.kernels.single_input_cumulants.",
        digits=3,
    )
    fig, ax = _fig()
    plots_next_order.plot_next_order(r, ax=ax)
    w.figure(
        "next_order",
        fig,
        "Truncated over exact connected functions against L/n (solid n = 50, dashed n = 100): "
        "the four-point function at O(1/n) and O(1/n²), the six-point function at its leading "
        "order U/n². The two widths give nearly the same curves: L/n, not 1/n alone, is the "
        "expansion parameter.",
    )
    by = {(row["n"], row["L_over_n"]): row["values"] for row in res["rows"]}
    n_big = int(r.widths[-1])

    def share(ratio: float, k: int) -> str:
        v = by[(n_big, ratio)]
        return f"{format_number(100 * v[k] / v[0 if k < 3 else 3], 3)} %"

    w.text(
        "The exact one-input moments of a bias-free ReLU MLP are known at any width (the scalar "
        "chain of the kernel is a product of independent chi-square mixtures), so the 1/n "
        "expansion can be measured against them term by term. At n = "
        f"{n_big} the O(1/n²) four-point function is {share(0.1, 2)} of the exact value at "
        f"L/n = 0.1, {share(0.2, 2)} at 0.2, {share(0.5, 2)} at 0.5 and {share(1.0, 2)} at 1 "
        f"(O(1/n): {share(0.1, 1)}, {share(0.2, 1)}, {share(0.5, 1)}, {share(1.0, 1)}); the "
        f"leading six-point function is {share(0.1, 4)} of its exact value at L/n = 0.1 and "
        f"{share(0.2, 4)} at 0.2: higher connected functions leave their leading order at "
        "smaller depth. Derivation of the O(1/n²) recursions (K^{2}, V^{1}, U; law of total "
        "cumulance on the scalar chain), the sampled tanh check of the six-point vertex and the "
        f"case of several inputs: {w.docs_link(_DOCS)}, section 6a.",
    )
    _three_inputs(w, sz.three_input_nets)


def _three_inputs(w: ReportWriter, n_nets: int) -> None:
    r = eft.three_input_check(widths=(8, 16), n_nets=n_nets)
    res = w.store(
        "three_inputs",
        {
            "widths": r.widths,
            "n_nets": r.n_nets,
            "four_lo": r.four_lo,
            "four_nlo": r.four_nlo,
            "four_resolution": r.four_resolution,
            "six_lo": r.six_lo,
            "six_resolution": r.six_resolution,
        },
    )
    keys = ("four_lo", "four_nlo", "four_resolution", "six_lo", "six_resolution")
    rows = [[int(n), *(res[k][i] for k in keys)] for i, n in enumerate(res["widths"])]
    w.table(
        "three_inputs",
        ["n", "G4c: O(1/n)", "G4c: O(1/n²)", "V¹/n² in σ", "G6c: U/n²", "U/n² in σ"],
        rows,
        "Three inputs in R³, ReLU [3, n, n, 1], C_W = 1.8, C_b = 0.1: the largest |pull| over "
        "all entries of the sampled connected four- and six-point functions "
        f"({res['n_nets']:,} networks per width, fieldnn.estimate_correlators) against the "
        "graded correlators of effective_action(mlp, X, order=2), summed to O(1/n) and to "
        "O(1/n²); the columns 'in σ' give the largest O(1/n²) term over its standard error "
        "(how far the sample resolves it).",
        digits=3,
    )
    i = len(res["widths"]) - 1
    w.text(
        "At three inputs the O(1/n²) recursion runs on the six components of the kernel "
        "(fieldnn.kernels.multi_input_cumulants; relu on an exact conical quadrature). The "
        f"four-point function at n = {int(res['widths'][i])} misses the sampled one by up to "
        f"{format_number(res['four_lo'][i], 3)}σ at O(1/n) and "
        f"{format_number(res['four_nlo'][i], 3)}σ at O(1/n²). The six-point function's leading "
        f"term U/n² is resolved at {format_number(res['six_resolution'][i], 3)}σ and leaves "
        f"{format_number(res['six_lo'][i], 3)}σ: relu's six-point function carries a large "
        "O(1/n³) remainder (at the kernel level it falls like 1/n³ from n = 8 to 16, "
        f"{w.docs_link(_DOCS)}, section 6a, with the sampled checks on the kernel components).",
    )
