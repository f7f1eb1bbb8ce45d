"""Numbers as LaTeX (fieldnn._latex): checked by parsing the text back."""

from __future__ import annotations

import doctest
import math
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldnn import _latex
from fieldnn._latex import latex_number, latex_uncertain, tex_text

_PAREN = re.compile(r"^(-?\d+(?:\.\d+)?)\((\d+(?:\.\d+)?)\)(?:\\times10\^\{(-?\d+)\})?$")


def test_docstring_examples():
    result = doctest.testmod(_latex)
    assert result.attempted >= 8 and result.failed == 0


def _parse_number(text: str) -> float:
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)(?:\\times10\^\{(-?\d+)\})?", text)
    assert m, text
    return float(Decimal(m.group(1)).scaleb(int(m.group(2) or 0)))


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
def test_latex_number_round_trips_to_its_digits(x):
    text = latex_number(x, 3)
    assert not re.search(r"\de", text)  # never 2e-06
    assert math.isclose(_parse_number(text), x, rel_tol=5e-3, abs_tol=0)


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=1e-9, max_value=1e5),
)
def test_latex_uncertain_shows_value_to_the_errors_digits(value, error):
    text = latex_uncertain(value, error)
    m = _PAREN.match(text)
    assert m, text
    mantissa, err_digits, exp = m.group(1), m.group(2), int(m.group(3) or 0)
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    unit = 10.0 ** (exp - decimals)  # the mantissa's last digit
    shown_error = float(err_digits) * unit
    assert math.isclose(shown_error, error, rel_tol=0.2), (text, error)
    # the value is rounded at or below the error's leading digit
    lead = 10.0 ** math.floor(math.log10(shown_error))
    assert abs(float(mantissa) * 10**exp - value) <= 0.5 * lead * (1 + 1e-9), (text, value)


def test_latex_uncertain_rejects_a_bad_error():
    with pytest.raises(ValueError, match="error"):
        latex_uncertain(1.0, 0.0)
    with pytest.raises(ValueError, match="error"):
        latex_uncertain(1.0, float("nan"))


def test_tex_text_is_ascii_and_refuses_what_it_cannot_write():
    text = tex_text("λ̄ = −0.0140 ± 0.0009, ∏(1 + 5/n_ℓ) − 1 ≈ 13 %, σ_b² ≤ 1")
    assert text.isascii()
    assert r"$\bar{\lambda}$" in text and r"$\prod$" in text and r"\%" in text
    assert r"$\ell$" in text and "$^{2}$" in text
    with pytest.raises(ValueError, match="U\\+263A"):
        tex_text("☺")


def test_primes_are_superscripts():
    # a prime is ^{\prime} (as TeX's own '), runs of primes and a following power share one
    # superscript: ^{\prime}^{\prime} and ^{\prime}^{2} are double superscripts, which pdflatex
    # refuses
    assert tex_text("Ĝ′(x, x′)") == r"$\hat{G}^{\prime}$(x, x$^{\prime}$)"
    assert tex_text("f′′ σ′²") == r"f$^{\prime\prime}$ $\sigma^{\prime 2}$"
