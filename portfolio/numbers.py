"""Turn spreadsheet cells into numbers the way a person reads them.

Custodian exports write money as `$1,234.56`, `-$2.22`, `$-2.22`, `+$150.25`, `(1,234.56)` or
`1,234.56-`, percentages as `12.3%`, and "nothing" as blank, `--`, `n/a`. A cell that is none of
these is garbage and must surface as an error, never as a silent zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["NumberError", "is_blank_number", "parse_number", "parse_numbers"]

# Cells that mean "no value here".
_NONE_MARKERS = frozenset(
    {"", "-", "--", "---", "n/a", "na", "n.a.", "none", "null", "nan", "—", "–", "- -"}
)

# Minus-like characters some exports and spreadsheets write instead of ASCII '-'.
_MINUS_CHARS = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-"})

_NUMBER_RE = re.compile(
    r"""^
    (?P<open>\()?\s*
    (?P<s1>[+-])?\s*
    (?P<cur>\$|USD)?\s*
    (?P<s2>[+-])?\s*
    (?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)
    (?P<exp>[eE][+-]?\d{1,3})?\s*
    (?P<s3>-)?\s*
    (?P<pct>%)?\s*
    (?P<cur2>USD)?\s*
    (?P<close>\))?
    $""",
    re.VERBOSE | re.IGNORECASE,
)


_SIMPLE_RE = r"-?\d{1,15}(?:\.\d{1,15})?"


class NumberError(ValueError):
    """A cell that should hold a number holds something else."""


def _clean(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ").translate(_MINUS_CHARS).strip()


def is_blank_number(text: str | None) -> bool:
    """True when the cell means "no value" (blank, `--`, `n/a`, ...)."""
    return text is None or _clean(str(text)).lower() in _NONE_MARKERS


def parse_number(text: str | float | int | None, *, percent: bool = False) -> float | None:
    """Parse one cell; None for an empty marker, NumberError for garbage.

    A `%` sign always means per-cent (12.3% -> 0.123); `percent=True` says the column holds
    per-cent figures even where the sign is missing.
    """
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
        if not math.isfinite(value):
            return None if math.isnan(value) else _raise(str(text))
        return value / 100.0 if percent else value
    cleaned = _clean(str(text))
    if cleaned.lower() in _NONE_MARKERS:
        return None
    m = _NUMBER_RE.match(cleaned)
    if m is None:
        raise NumberError(f"'{text}' is not a number")
    value = _assemble(m.groupdict(), str(text))
    if m["pct"] or percent:
        value /= 100.0
    return value


def _raise(text: str) -> float:
    raise NumberError(f"'{text}' is not a number")


def _assemble(g: dict[str, str | None], original: str) -> float:
    signs = [s for s in (g["s1"], g["s2"], g["s3"]) if s]
    if bool(g["open"]) != bool(g["close"]) or len(signs) > 1 or (g["open"] and signs):
        raise NumberError(f"'{original}' is not a number")
    if g["cur"] and g["cur2"]:
        raise NumberError(f"'{original}' is not a number")
    value = float(g["num"].replace(",", "") + (g["exp"] or ""))
    if not math.isfinite(value):
        raise NumberError(f"'{original}' is not a number")
    if g["open"] or (signs and signs[0] == "-"):
        value = -value
    return value


def parse_numbers(
    cells: Sequence[str | None] | pd.Series, *, percent: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """parse_number for a whole column: (values with NaN for empty, bad-cell mask).

    Plain decimals (the bulk of any export) convert in one vectorised step; every other distinct
    spelling goes through parse_number once, so the result is exactly parse_number's, cell by cell.
    """
    texts = pd.Series(cells, dtype="object").fillna("").astype(str)
    values = np.full(len(texts), np.nan)
    bad = np.zeros(len(texts), dtype=bool)
    if texts.empty:
        return values, bad
    simple = texts.str.fullmatch(_SIMPLE_RE).fillna(False).to_numpy(dtype=bool)
    if simple.any():
        values[simple] = texts[simple].astype(float).to_numpy()
        if percent:
            values[simple] /= 100.0
    rest = ~simple
    if rest.any():
        memo: dict[str, float | None] = {}
        raw = texts.to_numpy(dtype=object)
        for i in np.flatnonzero(rest):
            text = raw[i]
            if text not in memo:
                try:
                    memo[text] = parse_number(text, percent=percent)
                except NumberError:
                    memo[text] = math.inf  # marker: garbage
            value = memo[text]
            if value is None:
                continue
            if value == math.inf:
                bad[i] = True
            else:
                values[i] = value
    return values, bad
