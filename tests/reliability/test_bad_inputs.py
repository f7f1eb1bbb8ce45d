"""Every public entry point refuses bad input with a fieldnn error that names the argument.

The table lives in :mod:`tests.reliability._cases` (docs/errors.md is generated from it by
:mod:`tests.reliability.make_errors_doc`). A case fails if the call succeeds, raises a bare
numpy/scipy/Python error, warns, or gives a message without the argument name and accepted values.
"""

from __future__ import annotations

import pytest

from fieldnn.errors import FieldnnError

from ._cases import CASES, NAMESPACE


@pytest.mark.parametrize(
    ("entry", "call", "expected", "fragments"),
    CASES,
    ids=[f"{i:03d}-{c[0]}" for i, c in enumerate(CASES)],
)
def test_bad_input(entry: str, call: str, expected: type[Exception], fragments) -> None:
    assert issubclass(expected, FieldnnError)
    with pytest.raises(expected) as info:
        eval(call, dict(NAMESPACE))
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"
    assert "\n" not in message


def test_every_listed_entry_point_is_covered() -> None:
    covered = {c[0].split(".")[0] for c in CASES}
    wanted = {
        "Theory",
        "SingleLayerNet",
        "MLP",
        "exact_connected",
        "sample_outputs",
        "estimate_correlators",
        "measure_lambda",
        "criticality",
        "critical_point",
        "gp_posterior",
        "gradient_flow_prediction",
        "train_replicas",
        "vertex_integral",
        "single_layer_kernel",
        "kernel_recursion",
        "get_activation",
    }
    assert wanted <= covered, wanted - covered
