"""The Gaussian moments of the NTK and dNTK recursions: erf closed forms against an independent
lattice rule with exact derivatives, the nested anisotropic lattice at rank 4 (nearly
rank-deficient kernels included) against the erf closed forms, measured accuracies, and the
recursions against values computed before the fast paths existed."""

import numpy as np
import pytest
from scipy.special import erf

import fieldnn as fnn
from fieldnn.kernels._dntk_moments import FOURS, PAIRS, dntk_moments
from fieldnn.kernels._moment_lattice import lattice_moments
from fieldnn.kernels._ntk_moments import mixed_four_moments, ntk_four_moments
from fieldnn.kernels.activations import get_activation

ERF = get_activation("erf")
# erf as a user callable: every moment by the lattice rule (σ'' and σ''' by differences)
USER_ERF = get_activation(erf, derivative=lambda z: 2 / np.sqrt(np.pi) * np.exp(-z * z))


def erf_derivatives(z: np.ndarray) -> list[np.ndarray]:
    """erf, erf', erf'' = −2z erf', erf''' = (4z² − 2) erf' exactly."""
    d = 2 / np.sqrt(np.pi) * np.exp(-z * z)
    return [erf(z), d, -2 * z * d, (4 * z * z - 2) * d]


def layer_two_kernel(act: str, P: int) -> np.ndarray:
    """K of layer 2 of [1, n, n, 1], C_W = 1, C_b = 0, at P inputs on [−1.1, 1]: layer 1 is
    exactly rank 1 (z_a = w x_a), layer 2 full rank with eigenvalues spread over ~10⁶."""
    X = np.linspace(-1.1, 1.0, P)[:, None]
    return fnn.ntk_fluctuations(act, X, C_W=1.0, C_b=0.0, widths=[1, 64, 64, 1]).K[1]


def test_erf_dntk_moments_in_closed_form_against_exact_derivatives_on_the_lattice() -> None:
    # rank 2 at three inputs (collinear with the bias): tuples with repeated and distinct inputs
    X = np.array([[1.0, 0.3], [-0.5, 0.8], [0.2, -0.6]])
    K = 0.1 + 0.9 * X @ X.T
    pm, fm = dntk_moments(ERF, K)
    values, worst = lattice_moments(erf_derivatives, PAIRS + FOURS, K, rtol=1e-13)
    assert worst < 1e-12
    for key, ref in zip(PAIRS + FOURS, values, strict=True):
        closed = pm[key] if len(key) == 2 else fm[key]
        np.testing.assert_allclose(closed, ref, rtol=1e-10, atol=1e-12 * np.max(np.abs(ref)))


def test_rank_four_lattice_against_the_erf_closed_forms() -> None:
    # four inputs in general position: a block of rank 4 with no weak axis
    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 4))
    K = 0.3 * A @ A.T / 4 + 0.2 * np.eye(4)
    Q_closed = mixed_four_moments(ERF, K)
    M0, *Q_lattice = ntk_four_moments(USER_ERF, K, np.ones((4, 4)))
    for a, b in zip(Q_closed, Q_lattice, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-9 * np.max(np.abs(a)))
    four = M0 + 1.0  # ⟨σσσσ⟩ (pair = 1 above)
    np.testing.assert_allclose(four, four.transpose(1, 0, 2, 3), atol=1e-15)
    np.testing.assert_allclose(four, four.transpose(2, 3, 0, 1), atol=1e-15)


def test_nearly_rank_deficient_kernel_gives_the_closed_form_without_warning() -> None:
    # the first-layer rank-1 case (d_in = 1, C_b = 0): eigenvalues ~1e-7 … 0.8 at four inputs;
    # pytest turns any RuntimeWarning into a failure
    K = layer_two_kernel("erf", 4)
    lam = np.linalg.eigvalsh(K)
    assert lam[0] / lam[-1] < 1e-5
    pu, fu = dntk_moments(USER_ERF, K)
    pc, fc = dntk_moments(ERF, K)
    for key in PAIRS:
        np.testing.assert_allclose(pu[key], pc[key], atol=1e-7 * np.max(np.abs(pc[key])))
    for key in FOURS:
        np.testing.assert_allclose(fu[key], fc[key], atol=1e-7 * np.max(np.abs(fc[key])))


def test_odd_sigma_folds_the_lattice_to_half_without_changing_the_moments() -> None:
    from fieldnn.kernels._dntk_moments import derivatives

    act = get_activation("tanh")
    K = layer_two_kernel("tanh", 4)
    full, _ = lattice_moments(lambda z: derivatives(act, z), PAIRS + FOURS, K, rtol=1e-7)
    half, _ = lattice_moments(lambda z: derivatives(act, z), PAIRS + FOURS, K, rtol=1e-7, even=True)
    for a, b in zip(full, half, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * np.max(np.abs(a)))


def test_polynomial_moments_at_every_tuple_by_blocks() -> None:
    # σ = z, σ' ≡ 1 at five inputs (blocks of four, canonical tuples copied to all
    # permutations): ⟨z_az_bz_cz_d⟩ by Isserlis, ⟨z_cz_d⟩, 1; one strong axis and weak
    # ones (step 0.7, exact for a polynomial times the Gaussian to ~1e-17)
    rng = np.random.default_rng(5)
    A = rng.normal(size=(5, 5))
    x = np.linspace(-1.0, 1.2, 5)
    K = np.outer(x, x) + 0.002 * (A @ A.T / 5 + np.eye(5))

    def functions(z: np.ndarray) -> list[np.ndarray]:
        return [z, np.ones_like(z)]

    (Q2, Q3, M4), worst = lattice_moments(
        functions, ((1, 1, 0, 0), (1, 1, 1, 1), (0, 0, 0, 0)), K, rtol=1e-12
    )
    isserlis = (
        np.einsum("ab,cd->abcd", K, K)
        + np.einsum("ac,bd->abcd", K, K)
        + np.einsum("ad,bc->abcd", K, K)
    )
    np.testing.assert_allclose(M4, isserlis, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(Q2, np.broadcast_to(K[None, None], Q2.shape), rtol=1e-12)
    np.testing.assert_allclose(Q3, 1.0, rtol=1e-12)
    assert worst < 1e-12


def test_a_kink_is_reported_with_a_finite_measured_accuracy() -> None:
    # σ = |z| at rank 4: the lattice stops at its size limit; the accuracy it reports is
    # finite and bounds its actual error on ⟨sign z_a sign z_b⟩ = (2/π) arcsin ρ_ab
    K = np.array([[1.0, 0.3, 0.1, 0.0], [0.3, 1.2, 0.2, 0.1], [0.1, 0.2, 0.9, 0.3]])
    K = np.vstack([K, [0.0, 0.1, 0.3, 1.1]])

    def functions(z: np.ndarray) -> list[np.ndarray]:
        return [np.abs(z), np.sign(z)]

    (Q3,), worst = lattice_moments(functions, ((1, 1, 1, 1),), K, rtol=1e-9)
    assert np.isfinite(worst) and 1e-9 < worst < 0.1
    # Q3[a,a,a,b] = ⟨sign z_a sign z_b⟩ (sign³ = sign)
    rho = K[0, 1] / np.sqrt(K[0, 0] * K[1, 1])
    assert abs(Q3[0, 0, 0, 1] - 2 / np.pi * np.arcsin(rho)) < 10 * worst


# values of the last layer computed by the code before the closed forms and the block plan
# (commit e78e3d7: the lattice on one block of all inputs, σ'' and σ''' by differences of
# σ'), at entries (0, 1, 1, 0), (1, 0, 0, 1), (0, 0, 1, 1), and max |·| of the tensor
_TANH_BEFORE = {
    "P": (-0.027485238570279198, -0.030680925297523816, 0.011015361538641548, 1.2425798317806358),
    "Q": (-0.030829907406422594, -0.03415290861013557, 0.007070181008673369, 0.5628074683843756),
    "R": (-0.08569648217299886, -0.09217292526875244, -0.10746412061296216, 8.432907569201488),
    "S": (0.02787772939523024, 0.02787772939523024, 0.07381570268984256, 4.685685539369988),
    "T": (-0.032668012405536045, -0.032668012405536045, 0.5180534959976671, 1.203498105173717),
    "U": (-0.000517512612637263, -0.000517512612637263, 0.03971928993824135, 1.567363899064957),
}
# erf [2, 30, 30, 30, 1], C_W = 1.5, C_b = 0.1, three inputs (rank-3 lattice to 1e-7):
# entries (0, 1, 2, 0), (2, 2, 1, 0), max |·|
_ERF_BEFORE = {
    "P": (-5.712156815284086, -3.5817720920885643, 18.39717158866656),
    "Q": (-5.219079617945603, -2.913228552891498, 10.126545370716531),
    "R": (-48.60500852875886, -62.42624354116246, 354.584711327209),
    "S": (9.446042819939448, 38.666803693900476, 161.76501729787478),
    "T": (-2.5804584868964637, 33.76366211986482, 71.83699046838207),
    "U": (1.3508134005952255, 20.330400642064486, 65.1464644387618),
}


def test_recursions_reproduce_the_values_before_the_fast_paths() -> None:
    s = fnn.dntk_statistics(
        "tanh",
        np.array([[0.5], [-1.0]]),
        C_W=1.5,
        C_b=0.1,
        widths=[1, 20, 20, 20, 1],
        lambda_W=0.7,
        lambda_b=0.3,
    )
    for key, (*entries, top) in _TANH_BEFORE.items():
        T = getattr(s, key)[-1]
        now = [T[0, 1, 1, 0], T[1, 0, 0, 1], T[0, 0, 1, 1]]
        np.testing.assert_allclose(now, entries, rtol=0, atol=1e-10 * top)
        np.testing.assert_allclose(np.max(np.abs(T)), top, rtol=1e-10)
    X = np.array([[1.0, 0.2], [-0.4, 0.9], [0.3, -0.5]])
    s = fnn.dntk_statistics(fnn.MLP("erf", [2, 30, 30, 30, 1], C_W=1.5, C_b=0.1), X)
    for key, (*entries, top) in _ERF_BEFORE.items():
        T = getattr(s, key)[-1]
        # the closed forms against the converged lattice: agreement to its rtol and better
        np.testing.assert_allclose([T[0, 1, 2, 0], T[2, 2, 1, 0]], entries, atol=1e-10 * top)


@pytest.mark.slow
def test_the_rank_one_first_layer_case_at_seven_inputs() -> None:
    # the case of the issue: tanh and erf, [1, 64, 64, 1], C_W = 1, C_b = 0, seven inputs —
    # no warning (it would fail the test), and tanh as a quadrature activation against the
    # erf closed forms where both apply: erf as a user callable through the same lattice
    X = np.linspace(-1.1, 1.0, 7)[:, None]
    kw = dict(C_W=1.0, C_b=0.0, widths=[1, 64, 64, 1])
    closed = fnn.dntk_statistics("erf", X, **kw)
    user = fnn.dntk_statistics(USER_ERF, X, **kw)
    fnn.dntk_statistics("tanh", X, **kw)
    for key in "PQRSTU":
        a, b = getattr(closed, key)[-1], getattr(user, key)[-1]
        # the user path also takes its pair responses by the 2-d lattice (~1e-5 on second
        # derivatives, docs/finite_width_training.md)
        np.testing.assert_allclose(b, a, atol=1e-4 * np.max(np.abs(a)))


def test_blocks_on_threads_give_bitwise_the_same_moments(monkeypatch) -> None:
    import fieldnn.kernels._moment_lattice as module

    x = np.linspace(-1.0, 1.0, 5)
    K = np.outer(x, x) + 0.01 * np.exp(-(np.subtract.outer(x, x) ** 2))  # one strong axis

    def functions(z: np.ndarray) -> list[np.ndarray]:
        return [np.tanh(z), 1.0 / np.cosh(z) ** 2]

    results = []
    for threads in (1, 2):
        monkeypatch.setattr(module, "thread_count", lambda n=threads: n)
        results.append(lattice_moments(functions, ((1, 1, 0, 0),), K, rtol=1e-9, even=True))
    assert np.array_equal(results[0][0][0], results[1][0][0])
    assert results[0][1] == results[1][1] < 1e-9
