"""Suite configuration: checks that run in the slow pass for time alone.

The default suite (the README's test command) must stay under five minutes on an idle 2-core
machine. The checks listed here are sound and each takes a few seconds, but together they took
about 3.8 of the 7.5 minutes of the default pass on a 2-core 2.1 GHz Xeon (per-test durations of
2026-12-06, each ≥ 2 s there): the Sphinx build, the report and notebook runs, the
process-pool and kill-and-resume checks, and the heaviest sampled or quadrature cross-checks.
They are marked ``slow`` at collection, so they run with ``python -m pytest -m slow`` (CI's
second pass) and nowhere else.
"""

from __future__ import annotations

import pytest

SLOW_FOR_TIME = (
    "tests/test_docs.py::test_sphinx_build_has_no_warnings",
    "tests/experiments/test_nnqft_report.py::",
    "tests/experiments/test_eft_report.py::test_reduced_run_writes_consistent_files",
    "tests/experiments/test_eft_kinked_training.py::test_small_run_stores_the_prediction",
    "tests/test_notebooks.py::test_notebook_executes[03_deep_eft.py]",
    "tests/test_notebooks.py::test_notebook_executes[08_exact_density.py]",
    "tests/test_notebooks.py::test_notebook_executes[09_finite_width_training.py]",
    "tests/test_notebooks.py::test_notebook_executes[10_next_order.py]",
    "tests/ensembles/test_estimate_backends.py::test_serial_process_pool_dask_and_threads",
    "tests/ensembles/test_estimate_backends.py::test_sigkill_mid_run_then_resume",
    "tests/reliability/test_resume.py::test_killed_and_interrupted_run_resumes",
    "tests/ensembles/test_error_bars.py::test_narrow_deep_relu_sixth_moment_is_flagged",
    "tests/ensembles/test_exact.py::test_connected_against_sampled_networks[2-",
    "tests/symbolic/test_rg.py::test_doctests",
    "tests/symbolic/test_rg_measured.py::test_measured_powers_equal_the_symbolic_ones_of_the_"
    "closed_form_kernels[uv-subtract_bias-erf]",
    "tests/kernels/test_multi_input_nnlo.py::test_restriction_to_fewer_inputs[erf]",
    "tests/kernels/test_vertex_lattice.py::test_vertex_equals_the_ntk_fluctuation_vertex[gelu]",
    "tests/kernels/test_vertex_lattice.py::test_vertex_equals_the_ntk_fluctuation_vertex[tanh]",
    "tests/kernels/test_relu_four.py::test_rank4_one_factor_mpmath[0.3]",
    "tests/kernels/test_conical.py::test_all_inputs_correlated[4-0.95]",
    "tests/kernels/test_criticality.py::test_gelu_critical_kernel_closed_form_by_sympy",
    "tests/kernels/test_dntk_moments.py::test_erf_dntk_moments_in_closed_form_against_exact_"
    "derivatives_on_the_lattice",
    "tests/effective/test_density.py::test_gauss_net_series_is_asymptotic_only_at_large_width",
    "tests/inference/test_relu_training_drift.py::test_relu_ntk_drifts_like_one_over_root_n",
    "tests/inference/test_relu_training_several_inputs.py::test_descent_tends_to_flow_with_"
    "several_inputs",
    "tests/inference/test_finite_training.py::test_infinite_width_part_is_gradient_flow_"
    "prediction[inf-0.1]",
    "tests/symbolic/test_tikz_layout.py::test_planar_diagrams_are_drawn_without_crossings",
    "tests/symbolic/test_rg.py::test_uv_beta_functions_match_seed[erf-subtract_bias-",
    "tests/kernels/test_single_input_nnlo.py::test_smooth_polynomial_sigma_coefficients_are_"
    "exact[coefficients2-",
    "tests/ensembles/test_fast32.py::test_ziggurat_normals_are_standard_normal",
    "tests/ensembles/test_fast32.py::test_float32_samples_do_not_depend_on_threads_or_numba",
    "tests/test_integrals.py::test_two_vertex_1d_against_nested_quad[relu_sb0]",
    "tests/test_integrals.py::test_vertex_2d_against_dblquad[relu_sb0]",
    "tests/kernels/test_dntk_moments.py::test_rank_four_lattice_against_the_erf_closed_forms",
    "tests/kernels/test_dntk_moments.py::test_a_kink_is_reported_with_a_finite_measured_",
    "tests/ensembles/test_error_bars.py::test_chunk_size_one_and_a_single_chunk_give_the_",
    "tests/kernels/test_conical.py::test_near_degenerate_correlation_four_inputs",
)


@pytest.hookimpl(tryfirst=True)  # before ``-m 'not slow'`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW_FOR_TIME):
            item.add_marker(pytest.mark.slow)
