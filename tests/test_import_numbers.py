"""Cell-to-number parsing: every format custodians write, garbage as an error, never a silent 0."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.numbers import (
    NumberError,
    is_blank_number,
    parse_number,
    parse_numbers,
    uses_decimal_comma,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", 1234.56),
        ("$1,234.56", 1234.56),
        ("-$2.22", -2.22),
        ("$-2.22", -2.22),
        ("+$150.25", 150.25),
        ("(1,234.56)", -1234.56),
        ("($1,234.56)", -1234.56),
        ("1,234.56-", -1234.56),
        ("  42  ", 42.0),
        ("\u2212" + "3.5", -3.5),
        ("\u00a0$7.00\u00a0", 7.0),
        ("12.3%", 0.123),
        ("-0.49%", -0.0049),
        (".5", 0.5),
        ("10.", 10.0),
        ("1e3", 1000.0),
        ("1,000,000", 1_000_000.0),
        ("USD 5.25", 5.25),
        ("5.25 USD", 5.25),
        ("0", 0.0),
    ],
)
def test_formats(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "   ", "--", "-", "n/a", "N/A", "NA", "None", "null", None])
def test_empty_markers_are_none(text: str | None) -> None:
    assert parse_number(text) is None
    assert is_blank_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "12abc",
        "1,23,4",
        "$$5",
        "--5",
        "(-5)",
        "(5",
        "5)",
        "+-5",
        "1.2.3",
        "inf",
        "nan5",
        "=1+1",
    ],
)
def test_garbage_raises(text: str) -> None:
    with pytest.raises(NumberError, match="is not a number"):
        parse_number(text)


def test_percent_column_without_sign() -> None:
    assert parse_number("12.3", percent=True) == pytest.approx(0.123)
    assert parse_number("12.3%", percent=True) == pytest.approx(0.123)


def test_numeric_input_passes_through() -> None:
    assert parse_number(5) == 5.0
    assert parse_number(float("nan")) is None


def test_vectorised_matches_examples() -> None:
    values, bad = parse_numbers(["$1,234.56", "(2.50)", "--", "abc", "12.3%", None])
    assert bad.tolist() == [False, False, False, True, False, False]
    assert values[0] == pytest.approx(1234.56)
    assert values[1] == pytest.approx(-2.5)
    assert math.isnan(values[2]) and math.isnan(values[3]) and math.isnan(values[5])
    assert values[4] == pytest.approx(0.123)


money = st.decimals(
    min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False
)


def _styles(x: float) -> list[str]:
    magnitude = f"{abs(x):,.2f}"
    sign = "-" if x < 0 else ""
    return [
        f"{x:.2f}",
        f"{sign}${magnitude}",
        f"${sign}{magnitude}",
        f"({magnitude})" if x < 0 else f"+${magnitude}",
        f"  {sign}{magnitude}  ",
        f"{sign}{magnitude}".replace("-", "\u2212"),
    ]


@given(money)
def test_round_trip_of_formatted_money(d: object) -> None:
    x = float(d)  # type: ignore[arg-type]
    for text in _styles(x):
        assert parse_number(text) == pytest.approx(x, abs=0.005), text


@given(st.floats(min_value=-1000, max_value=1000, allow_nan=False).map(lambda f: round(f, 2)))
def test_round_trip_of_percent(p: float) -> None:
    assert parse_number(f"{p:.2f}%") == pytest.approx(p / 100, abs=1e-9)


cells = st.one_of(
    st.text(alphabet="0123456789,.$()+-% nN/aA\u2212", max_size=12),
    money.map(lambda d: _styles(float(d))[1]),
)


@given(st.lists(cells, max_size=20))
def test_vectorised_equals_scalar(texts: list[str]) -> None:
    values, bad = parse_numbers(texts)
    for text, value, is_bad in zip(texts, values, bad, strict=True):
        try:
            expected = parse_number(text)
        except NumberError:
            assert is_bad, text
            continue
        assert not is_bad, text
        if expected is None:
            assert np.isnan(value), text
        else:
            assert value == pytest.approx(expected), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("205,17", 205.17),
        ("1.234,56", 1234.56),
        ("-1.234.567,8", -1234567.8),
        ("(1.234,56)", -1234.56),
        ("$1.234,56", 1234.56),
        ("1.234,56-", -1234.56),
        ("12,5%", 0.125),
        ("0,5", 0.5),
        ("1.234", 1234.0),
        ("42", 42.0),
        ("1.5", 1.5),
        ("--", None),
    ],
)
def test_decimal_comma_cells(text: str, expected: float | None) -> None:
    assert parse_number(text, decimal_comma=True) == (
        None if expected is None else pytest.approx(expected)
    )
    values, bad = parse_numbers([text], decimal_comma=True)
    assert not bad[0]
    assert math.isnan(values[0]) if expected is None else values[0] == pytest.approx(expected)


def test_decimal_comma_is_off_by_default() -> None:
    with pytest.raises(NumberError):
        parse_number("205,17")
    assert parse_number("1,234") == 1234.0
    assert parse_numbers(["1.234,56"])[1].tolist() == [True]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["10", "205,17", "2.051,70"], True),
        (["1,5", "400", "600"], True),
        (["10", "205.17", "2,051.70"], False),
        (["1,234", "1.234", "10"], False),  # ambiguous cells do not vote
        (["205,17", "1.50", "2.25"], False),  # a minority does not switch the file
        ([], False),
    ],
)
def test_uses_decimal_comma(cells: list[str], expected: bool) -> None:
    assert uses_decimal_comma(cells) is expected


@given(money)
def test_decimal_comma_round_trip(d: object) -> None:
    x = float(d)  # type: ignore[arg-type]
    text = f"{x:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_number(text, decimal_comma=True) == pytest.approx(x, abs=0.005), text
    assert parse_numbers([text], decimal_comma=True)[0][0] == pytest.approx(x, abs=0.005), text


@given(st.lists(st.text(alphabet="0123456789,.$()+-% nN/a\u2212", max_size=12), max_size=20))
def test_vectorised_equals_scalar_with_decimal_comma(texts: list[str]) -> None:
    values, bad = parse_numbers(texts, decimal_comma=True)
    for text, value, is_bad in zip(texts, values, bad, strict=True):
        try:
            expected = parse_number(text, decimal_comma=True)
        except NumberError:
            assert is_bad, text
            continue
        assert not is_bad, text
        assert np.isnan(value) if expected is None else value == pytest.approx(expected), text
