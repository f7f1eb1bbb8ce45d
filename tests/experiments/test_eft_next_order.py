"""eft.next_order_scan: exact ReLU moments and the O(1/n), O(1/n²) truncations, each against an
independent closed form."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from fieldnn.errors import ArgumentError, ArgumentTypeError
from fieldnn.experiments import eft


def _relu_moment(n: int, L: int, k: int) -> float:
    """E[z^{2k}] of a bias-free ReLU MLP (C_W = 2, widths [1, n, …, n, 1], x = 1) by the
    binomial mixture of chi-squares: Σσ(u_j)² ~ χ²_B with B ~ Bin(n, 1/2)."""
    ey = sum(comb(n, b) * np.prod([b + 2.0 * i for i in range(k)]) for b in range(n + 1)) / 2**n
    return float(np.prod(range(2 * k - 1, 0, -2)) * 2.0**k * ((2.0 / n) ** k * ey) ** (L - 1))


def test_scan_against_closed_forms() -> None:
    r = eft.next_order_scan((20, 40), max_ratio=0.5)
    assert list(r.depths) == list(range(2, 21))
    assert np.isnan(r.ratio[0, -1]) and np.isfinite(r.ratio[1, -1])  # L = 20 > 0.5·20 at n = 20
    for i, n in enumerate((20, 40)):
        for j, L in enumerate(r.depths):
            if not np.isfinite(r.ratio[i, j]):
                continue
            m2, m4, m6 = (_relu_moment(n, int(L), k) for k in (1, 2, 3))
            assert m2 == pytest.approx(2.0, rel=1e-13)
            assert r.four_exact[i, j] == pytest.approx((m4 - 3 * m2**2) / (3 * m2**2), rel=1e-11)
            six = (m6 - 15 * m4 * m2 + 30 * m2**3) / (15 * m2**3)
            assert r.six_exact[i, j] == pytest.approx(six, rel=1e-9)
            h = L - 1  # hidden layers
            assert r.four_lo[i, j] == pytest.approx(5 * h / n, rel=1e-12)
            assert r.four_nlo[i, j] == pytest.approx(5 * h / n + 25 * comb(h, 2) / n**2, rel=1e-12)
            assert r.six_lo[i, j] == pytest.approx((44 * h + 150 * comb(h, 2)) / n**2, rel=1e-12)


def test_truncation_error_shrinks_like_the_next_power() -> None:
    """∏(1 + 5/n)^h − 1 is a polynomial of degree h in 1/n: one hidden layer is exact at O(1/n),
    two at O(1/n²), and with three the O(1/n²) error is 125/n³ (8× per doubled width) while the
    O(1/n) error falls ~4×."""
    r = eft.next_order_scan((40, 80, 160), max_ratio=0.1)
    j2, j3, j4 = (list(r.depths).index(L) for L in (2, 3, 4))
    assert np.allclose(r.four_lo[:, j2], r.four_exact[:, j2], rtol=1e-12)
    assert np.allclose(r.four_nlo[:, j3], r.four_exact[:, j3], rtol=1e-12)
    lo = np.abs(r.four_lo[:, j4] - r.four_exact[:, j4])
    nlo = r.four_exact[:, j4] - r.four_nlo[:, j4]
    assert np.allclose(nlo, 125.0 / np.array([40, 80, 160]) ** 3, rtol=1e-9)
    assert np.all((lo[:-1] / lo[1:] > 3.9) & (lo[:-1] / lo[1:] < 4.2))


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"widths": (1,)}, ArgumentError, "widths"),
        ({"widths": (2.5,)}, ArgumentTypeError, "widths"),
        ({"widths": ()}, ArgumentError, "widths"),
        ({"max_ratio": 0.0}, ArgumentError, "max_ratio"),
        ({"widths": (10,), "max_ratio": 0.1}, ArgumentError, "max_ratio"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, argument: str) -> None:
    with pytest.raises(error, match=argument):
        eft.next_order_scan(**kwargs)


def test_three_input_check_resolves_the_second_order() -> None:
    """ReLU [3, 8, 8, 1] at three inputs, 4·10⁵ sampled nets: the action's G4c summed to O(1/n)
    is rejected (the O(1/n²) term resolved), summed to O(1/n²) it agrees within 4σ."""
    r = eft.three_input_check((8,), n_nets=400_000, rng=3)
    assert r.four_resolution[0] > 6
    assert r.four_nlo[0] < 4 < r.four_lo[0]
    assert r.six_resolution[0] > 4 and np.isfinite(r.six_lo[0])


def test_three_input_check_bad_arguments() -> None:
    with pytest.raises(ArgumentError, match="'n_nets'"):
        eft.three_input_check((8,), n_nets=10)
    with pytest.raises(ArgumentError, match="'widths'"):
        eft.three_input_check((1,))
    with pytest.raises(ArgumentError, match="'widths'"):
        eft.three_input_check(())
