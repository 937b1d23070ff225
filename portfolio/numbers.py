"""Turn spreadsheet cells into numbers the way a person reads them.

Custodian exports write money as `$1,234.56`, `-$2.22`, `$-2.22`, `+$150.25`, `(1,234.56)` or
`1,234.56-`, percentages as `12.3%`, and "nothing" as blank, `--`, `n/a`. A cell that is none of
these is garbage and must surface as an error, never as a silent zero.

European exports (semicolon- or tab-separated) write `1.234,56`; `uses_decimal_comma` decides that
once per file and `decimal_comma=True` then reads every cell that way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "NumberError",
    "decimal_votes",
    "is_blank_number",
    "parse_number",
    "parse_numbers",
    "uses_decimal_comma",
]

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
# Money as custodians write it (`$1,234.56`, `-$2.22`, `12,345`): read in bulk by dropping `$` and
# the thousands commas, which is exactly what parse_number makes of these spellings.
_MONEY_RE = r"-?\$?(?:\d{1,3}(?:,\d{3}){1,4}|\d{1,15})(?:\.\d{1,15})?"

# A decimal-comma number inside a cell: `1.234,56`, `1.234.567`, `205,17`. Rewritten to `1234.56`
# before the ordinary parse, so signs, `$`, `%` and parentheses keep working.
_DECIMAL_COMMA_TOKEN = re.compile(
    r"(?<![\d.,])([1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?|\d+,\d+)(?![\d.,])"
)
# Votes look at digits and separators only; `1,234` and `1.234` read either way, so abstain.
_COMMA_VOTE = r"\d{1,3}(?:\.\d{3})+,\d+|\d+,\d+"
_POINT_VOTE = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+"
_AMBIGUOUS = r"[1-9]\d{0,2}[.,]\d{3}"


class NumberError(ValueError):
    """A cell that should hold a number holds something else."""


def _clean(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ").translate(_MINUS_CHARS).strip()


def is_blank_number(text: str | None) -> bool:
    """True when the cell means "no value" (blank, `--`, `n/a`, ...)."""
    return text is None or _clean(str(text)).lower() in _NONE_MARKERS


def _to_point(text: str) -> str:
    return _DECIMAL_COMMA_TOKEN.sub(_point_token, text)


def _point_token(m: re.Match[str]) -> str:
    return m.group(1).replace(".", "").replace(",", ".")


def uses_decimal_comma(cells: Sequence[str | None]) -> bool:
    """Do most of these cells (which carry a separator) write the decimal with a comma?

    Plain integers and the ambiguous `1,234` / `1.234` do not vote; a file with no clear comma
    decimals keeps the ordinary reading.
    """
    texts = pd.Series(cells, dtype="object").fillna("").astype(str)
    if texts.empty:
        return False
    core = texts.str.replace(r"[^\d.,]", "", regex=True)
    ambiguous = core.str.fullmatch(_AMBIGUOUS)
    comma = int((core.str.fullmatch(_COMMA_VOTE) & ~ambiguous).sum())
    point = int((core.str.fullmatch(_POINT_VOTE) & ~ambiguous).sum())
    return comma > point


def decimal_votes(cells: Sequence[str | None]) -> tuple[int, int, str | None]:
    """(cells that read only with a decimal comma, only with a decimal point, the first cell that
    reads either way). `30.000,00` votes comma, `2,051.70` point; `1.000` alone decides nothing."""
    texts = pd.Series(cells, dtype="object").fillna("").astype(str)
    if texts.empty:
        return 0, 0, None
    core = texts.str.replace(r"[^\d.,]", "", regex=True)
    ambiguous = core.str.fullmatch(_AMBIGUOUS).fillna(False).to_numpy(dtype=bool)
    comma = int(
        (core.str.fullmatch(_COMMA_VOTE).fillna(False).to_numpy(dtype=bool) & ~ambiguous).sum()
    )
    point = int(
        (core.str.fullmatch(_POINT_VOTE).fillna(False).to_numpy(dtype=bool) & ~ambiguous).sum()
    )
    first = str(texts[ambiguous].iloc[0]).strip() if ambiguous.any() else None
    return comma, point, first


def parse_number(
    text: str | float | int | None, *, percent: bool = False, decimal_comma: bool = False
) -> float | None:
    """Parse one cell; None for an empty marker, NumberError for garbage.

    A `%` sign always means per-cent (12.3% -> 0.123); `percent=True` says the column holds
    per-cent figures even where the sign is missing. `decimal_comma=True` reads `1.234,56` as
    1234.56 (and `1.234` as 1234), the way the file's own locale writes them.
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
    if decimal_comma:
        cleaned = _to_point(cleaned)
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
    cells: Sequence[str | None] | pd.Series, *, percent: bool = False, decimal_comma: bool = False
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
    if decimal_comma:
        texts = texts.str.replace(_DECIMAL_COMMA_TOKEN, _point_token, regex=True)
    simple = texts.str.fullmatch(_SIMPLE_RE).fillna(False).to_numpy(dtype=bool)
    if simple.any():
        values[simple] = texts[simple].astype(float).to_numpy()
        if percent:
            values[simple] /= 100.0
    rest = ~simple
    if rest.any():
        money = rest & texts.str.fullmatch(_MONEY_RE).fillna(False).to_numpy(dtype=bool)
        if money.any():
            plain = texts[money].str.replace(r"[$,]", "", regex=True)
            values[money] = plain.astype(float).to_numpy() / (100.0 if percent else 1.0)
            rest &= ~money
    if rest.any():
        memo: dict[str, float | None] = {}
        raw = texts.to_numpy(dtype=object)
        for i in np.flatnonzero(rest):
            text = raw[i]
            if text not in memo:
                try:
                    memo[text] = parse_number(text, percent=percent)  # already rewritten
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
