"""Section 6.1 of ``fieldnn reproduce eft``: the posterior shift of every hidden layer's kernel
against exact importance weighting (private; see :mod:`fieldnn.report.eft_report`)."""

from __future__ import annotations

import numpy as np

from ..experiments import eft
from ._eft_common import _TINY, _Sizes
from ._writer import ReportWriter, format_number

_DOCS = "docs/representation_learning.md"


def _layer_sizes(sz: _Sizes) -> dict:
    """Widths and networks per width and layer in each run mode."""
    if sz == _TINY:
        return {"widths": (8, 16), "n_samples": 2000}
    return {"widths": (16, 64, 256), "n_samples": 40_000 if sz.quick else 200_000}


def _hidden_layers(w: ReportWriter, sz: _Sizes) -> None:
    w.heading("6.1 Representation learning at every hidden layer", level=3)
    r = eft.hidden_layer_shifts(**_layer_sizes(sz), rng=0)
    Q = r.predicted.shape[-1]
    diag = np.arange(Q)
    # the entry with the largest predicted shift, per layer (the same at every width)
    entry = np.argmax(np.abs(r.predicted[-1][:, diag, diag]), axis=1)
    n = r.widths.astype(float)
    layers = np.arange(1, r.depth)

    def pick(a: np.ndarray) -> np.ndarray:  # (W, L − 1): the chosen diagonal entry per layer
        return a[:, layers - 1, entry, entry]

    res = w.store(
        "hidden_layers",
        {
            "activation": r.activation,
            "C_W": r.C_W,
            "C_b": r.C_b,
            "depth": r.depth,
            "widths": r.widths,
            "n_samples": r.n_samples,
            "X_train": r.X_train,
            "y_train": r.y_train,
            "X_probe": r.X_probe,
            "entry": entry,
            "scaled_predicted": n[:, None] * pick(r.predicted),
            "scaled_measured": n[:, None] * pick(r.measured),
            "scaled_stderr": n[:, None] * pick(r.stderr),
            "scaled_residual_rms": r.scaled_residual_rms,
            "max_abs_pull": np.max(np.abs(r.pulls), axis=(2, 3)),
        },
    )
    rows = [
        [
            int(r.widths[i]),
            int(layer),
            res["scaled_predicted"][i][k],
            res["scaled_measured"][i][k],
            res["scaled_stderr"][i][k],
            res["scaled_residual_rms"][i][k],
            res["max_abs_pull"][i][k],
        ]
        for i in range(len(n))
        for k, layer in enumerate(layers)
    ]
    w.table(
        "hidden_layers",
        [
            "n",
            "layer ℓ",
            "n·shift, O(1/n)",
            "n·shift, measured",
            "n·stderr",
            "rms n·(meas. − pred.)",
            "max abs. pull",
        ],
        rows,
        f"Posterior − prior of the hidden kernel K̂^(ℓ) of {r.activation} "
        f"[1, n, …, n, 1] (L = {r.depth}, C_W = {format_number(r.C_W)}, "
        f"C_b = {format_number(r.C_b)}) given y = {r.y_train.tolist()} at x = "
        f"{r.X_train[:, 0].tolist()}, on those two inputs and x = {r.X_probe[:, 0].tolist()}: "
        "the diagonal entry with the largest shift (n·shift), and over all entries the rms of "
        "n·(measured − predicted) and the largest pull. Measured by importance weighting of "
        f"{r.n_samples} networks per width and layer (hidden_kernel_posterior(layer=ℓ)); "
        "predicted by hidden_kernel_shift(layer=ℓ).",
    )
    rms = np.asarray(res["scaled_residual_rms"])
    w.text(
        "At infinite width conditioning leaves every hidden layer untouched; at finite width "
        "each hidden kernel moves at O(1/n), the earlier layers through the mixed vertex "
        "V^(ℓ,L) chained through the linearised kernel maps of the layers above "
        f"({w.docs_link(_DOCS)}, step 5). The remainder n·(measured − predicted) is O(1/n): its "
        "rms falls from "
        + ", ".join(format_number(v, 3) for v in rms[0])
        + f" (n = {int(r.widths[0])}, layers 1 … {r.depth - 1}) to "
        + ", ".join(format_number(v, 3) for v in rms[-1])
        + f" (n = {int(r.widths[-1])})."
    )
