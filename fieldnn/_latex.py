"""Numbers and report text as LaTeX a paper can use unchanged.

``latex_number(2e-06)`` is ``2\\times10^{-6}`` (never ``2e-06``), ``latex_uncertain(1.234e-5,
4e-7)`` is ``1.23(4)\\times10^{-5}`` (the error in the last digits shown, as in the PDG and
siunitx's ``separate-uncertainty=false``), and :func:`tex_text` turns the report's Unicode (λ, −,
σ², λ̄, ≤, …) into pure LaTeX that pdflatex accepts.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

__all__ = ["latex_number", "latex_table", "latex_uncertain", "tex_text"]

#: Plain notation for 10^-3 <= |x| < 10^4, scientific (a\times10^{k}) outside.
_PLAIN_RANGE = (-3, 4)


def _exponent(x: float) -> int:
    return math.floor(math.log10(abs(x))) if x != 0 else 0


def _times_ten(mantissa: str, exponent: int) -> str:
    if exponent == 0:
        return mantissa
    return rf"{mantissa}\times10^{{{exponent}}}"


def latex_number(value: float | int, digits: int = 3) -> str:
    r"""A number in LaTeX math: ``digits`` significant digits, ``a\times10^{k}`` when needed.

    Integers are printed exactly; NaN and ±inf as ``\mathrm{NaN}`` and ``\pm\infty``.

    Examples
    --------
    >>> latex_number(2e-06)
    '2\\times10^{-6}'
    >>> latex_number(-0.012345)
    '-0.0123'
    >>> latex_number(123456.0, 2)
    '1.2\\times10^{5}'
    """
    if isinstance(value, bool):
        raise TypeError("latex_number takes a number, not a bool")
    if isinstance(value, int):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    if digits < 1:
        raise ValueError(f"argument 'digits': must be >= 1, got {digits}")
    if x == 0:
        return "0"
    mantissa, _, exp = f"{x:.{digits - 1}e}".partition("e")
    e = int(exp)
    if _PLAIN_RANGE[0] <= e < _PLAIN_RANGE[1]:
        return _strip_zeros(f"{float(f'{x:.{digits - 1}e}'):.{max(digits - 1 - e, 0)}f}")
    return _times_ten(_strip_zeros(mantissa), e)


def _strip_zeros(text: str) -> str:
    """Drop trailing zeros after a decimal point (as ``%g`` does): '2.00' -> '2'."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def latex_uncertain(value: float, error: float, *, style: str = "paren") -> str:
    r"""A value with its standard error in LaTeX math, to the error's precision.

    The error gets two significant digits when its leading digit is 1 or 2, one otherwise; the
    value is rounded to the same decimal place.

    Parameters
    ----------
    value, error : float
        The estimate and its (positive, finite) standard error.
    style : {"paren", "pm"}
        ``1.23(4)\times10^{-5}`` (concise) or ``(1.23 \pm 0.04)\times10^{-5}``.

    Examples
    --------
    >>> latex_uncertain(1.234e-5, 4e-7)
    '1.23(4)\\times10^{-5}'
    >>> latex_uncertain(-0.0140, 0.0009, style="pm")
    '-0.0140 \\pm 0.0009'
    >>> latex_uncertain(1.234e-5, 4e-7, style="pm")
    '(1.23 \\pm 0.04)\\times10^{-5}'
    >>> latex_uncertain(12.345, 0.17)
    '12.35(17)'
    """
    if style not in ("paren", "pm"):
        raise ValueError(f"argument 'style': must be 'paren' or 'pm', got {style!r}")
    v, s = float(value), float(error)
    if not (math.isfinite(v) and math.isfinite(s)) or s <= 0:
        raise ValueError(f"argument 'error': must be positive and finite, got {error!r}")
    d_v, d_s = Decimal(v), Decimal(s)
    lead = float(d_s.scaleb(-_exponent(s)))
    sig = 2 if lead < 3 else 1
    place = _exponent(s) - sig + 1  # decimal place of the error's last digit
    s_digits = int(d_s.scaleb(-place).to_integral_value(ROUND_HALF_EVEN))
    if s_digits >= 10**sig:  # rounding carried (0.0296 -> 0.030): one place up
        place += 1
        s_digits = int(d_s.scaleb(-place).to_integral_value(ROUND_HALF_EVEN))
    e = _exponent(max(abs(v), s))
    if _PLAIN_RANGE[0] <= e < _PLAIN_RANGE[1]:
        e = 0
    decimals = max(e - place, 0)
    # the value rounded to the error's last digit (tens, hundreds, … when the error is coarse)
    scaled = d_v.scaleb(-e).quantize(Decimal(1).scaleb(place - e), ROUND_HALF_EVEN)
    m_text = f"{scaled:.{decimals}f}"
    if style == "paren":
        err_text = str(s_digits) if place < e else str(s_digits * 10 ** (place - e))
        return _times_ten(f"{m_text}({err_text})", e)
    err_text = f"{d_s.scaleb(-e):.{decimals}f}"
    inner = f"{m_text} \\pm {err_text}"
    return rf"({inner})\times10^{{{e}}}" if e else inner


_SYMBOLS = {
    "λ": r"\lambda", "κ": r"\kappa", "σ": r"\sigma", "χ": r"\chi", "γ": r"\gamma",
    "Λ": r"\Lambda", "Θ": r"\Theta", "θ": r"\theta", "ρ": r"\rho", "η": r"\eta", "μ": r"\mu",
    "δ": r"\delta", "Δ": r"\Delta", "ε": r"\epsilon", "φ": r"\phi", "ϕ": r"\phi", "ξ": r"\xi",
    "α": r"\alpha", "β": r"\beta", "ν": r"\nu", "τ": r"\tau", "ω": r"\omega", "π": r"\pi",
    "Π": r"\Pi", "∏": r"\prod", "∑": r"\sum", "Σ": r"\Sigma", "∫": r"\int", "∞": r"\infty",
    "±": r"\pm", "×": r"\times", "·": r"\cdot", "≈": r"\approx", "≤": r"\leq", "≥": r"\geq",
    "≠": r"\neq", "→": r"\to", "∥": r"\parallel", "⊥": r"\perp", "√": r"\sqrt{}", "−": "-",
    "∼": r"\sim", "~": r"\sim", "∝": r"\propto", "ℓ": r"\ell", "∂": r"\partial",
    "⟨": r"\langle", "⟩": r"\rangle", "½": r"\frac{1}{2}", "∣": r"\mid", "ℝ": r"\mathbb{R}",
    "∈": r"\in", "⇔": r"\Leftrightarrow", "⟹": r"\Longrightarrow", "≲": r"\lesssim",
    "…": r"\ldots", "ᵀ": r"^{\top}", "ᵏ": "^{k}", "ⁿ": "^{n}",
}  # fmt: skip
_TEXT = {"–": "--", "—": "---", "§": r"\S{}"}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁽⁾", "0123456789-+()")
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉₋₊", "0123456789-+")
_TEX_SPECIAL = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$", "^": r"\^{}"}
_COMBINING = {"\u0304": r"\bar", "\u0302": r"\hat", "\u030c": r"\check", "\u0303": r"\tilde"}
_INLINE_MATH = re.compile(r"(\$[^$]+\$)")
_SUP_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁽⁾]+")
_SUB_RUN = re.compile("[₀₁₂₃₄₅₆₇₈₉₋₊]+")
_PRIME_RUN = re.compile("′+")  # f′′ → ^{\prime\prime} (^{\prime}^{\prime} does not compile)


def tex_text(text: str) -> str:
    r"""Report text (Unicode) as pure-ASCII LaTeX text mode, for pdflatex.

    Greek letters and mathematical signs become math (``λ`` → ``$\lambda$``, ``−`` → ``$-$``),
    super- and subscript digits become ``$^{2}$``/``$_{1}$``, primes a superscript (``f′′`` →
    ``$^{\prime\prime}$``, ``σ′²`` → ``$\sigma^{\prime 2}$``), a combining macron/hat/check becomes
    ``$\bar{\lambda}$`` etc., and the characters special to LaTeX are escaped. Text already in
    ``$…$`` is kept as it is. Anything else non-ASCII is refused (``ValueError``), so nothing is
    dropped silently.

    Examples
    --------
    >>> tex_text("λ̄ ± σ (N = 10, σ_b² = 1, −0.5)")
    '$\\bar{\\lambda}$ $\\pm$ $\\sigma$ (N = 10, $\\sigma$\\_b$^{2}$ = 1, $-$0.5)'
    """
    pieces = _INLINE_MATH.split(text)
    if len(pieces) > 1:  # keep $…$ as written, convert the text between
        return "".join(p if _INLINE_MATH.fullmatch(p) else tex_text(p) for p in pieces if p)
    text = unicodedata.normalize("NFD", text)
    parts: list[tuple[bool, str]] = []  # (is math, text); adjacent math parts are merged
    i = 0
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt in _COMBINING:
            parts.append((True, f"{_COMBINING[nxt]}{{{_SYMBOLS.get(ch, ch)}}}"))
            i += 2
        elif m := _SUP_RUN.match(text, i):
            parts.append((True, f"^{{{m.group().translate(_SUPERSCRIPTS)}}}"))
            i = m.end()
        elif m := _SUB_RUN.match(text, i):
            parts.append((True, f"_{{{m.group().translate(_SUBSCRIPTS)}}}"))
            i = m.end()
        elif m := _PRIME_RUN.match(text, i):
            sup = _SUP_RUN.match(text, m.end())  # σ′²: one superscript, ^{\prime 2}
            tail = " " + sup.group().translate(_SUPERSCRIPTS) if sup else ""
            parts.append((True, "^{" + r"\prime" * len(m.group()) + tail + "}"))
            i = sup.end() if sup else m.end()
        else:
            if ch in _SYMBOLS:
                parts.append((True, _SYMBOLS[ch]))
            elif ch in _TEX_SPECIAL or ch in _TEXT:
                parts.append((False, _TEX_SPECIAL.get(ch) or _TEXT[ch]))
            elif ch.isascii():
                parts.append((False, ch))
            else:
                raise ValueError(f"no LaTeX for the character {ch!r} (U+{ord(ch):04X}) in {text!r}")
            i += 1
    out: list[str] = []
    for k, (math_mode, piece) in enumerate(parts):
        opens = math_mode and (k == 0 or not parts[k - 1][0])
        closes = math_mode and (k == len(parts) - 1 or not parts[k + 1][0])
        if opens:
            out.append("$")
        # a command followed by a letter inside one math run needs a separator
        if math_mode and not opens and out and re.search(r"\\[A-Za-z]+$", out[-1]):
            if piece[:1].isalpha():
                out.append(" ")
        out.append(piece)
        if closes:
            out.append("$")
    return "".join(out)


def _cell(value: Any, digits: int) -> str:
    """A table cell as pure LaTeX: numbers in math (``$2\\times10^{-6}$``), text via tex_text."""
    if isinstance(value, str):
        return tex_text(value)
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if value is None or isinstance(value, bool):
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"${value}$"
    if not math.isfinite(float(value)):
        return "n/a"
    return f"${latex_number(float(value), digits)}$"


def latex_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    caption: str,
    *,
    digits: int = 4,
    label: str | None = None,
) -> str:
    r"""A booktabs ``table`` in pure LaTeX, shrunk to the line width when wider.

    Text cells go through :func:`tex_text` (Unicode to LaTeX; ``$…$`` kept), numbers through
    :func:`latex_number` with ``digits`` significant digits, None/NaN as "n/a". Needs
    ``\usepackage{booktabs,adjustbox}`` in the document.

    Examples
    --------
    >>> print(latex_table(["net", "λ"], [["Erf", -2.5e-6]], "Quartic coupling.").splitlines()[8])
    Erf & $-2.5\times10^{-6}$ \\
    """
    lines = [
        r"% booktabs table written by fieldnn; needs \usepackage{booktabs,adjustbox}",
        r"\begin{table}[ht]",
        r"\centering",
        r"\begin{adjustbox}{max width=\linewidth}",
        r"\begin{tabular}{" + "l" * len(header) + "}",
        r"\toprule",
        " & ".join(tex_text(h) for h in header) + r" \\",
        r"\midrule",
        *(" & ".join(_cell(c, digits) for c in r) + r" \\" for r in rows),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{adjustbox}",
        r"\caption{" + tex_text(caption) + "}",
        *([rf"\label{{{label}}}"] if label else []),
        r"\end{table}",
        "",
    ]
    return "\n".join(lines)
