"""Inputs that cannot mislead: implausible numbers, empty and partial books, repeated rows,
value-only and weight-only sheets, the JSON request, and the decimal mark."""

from __future__ import annotations

import pytest

from portfolio.import_service import ImportedBook, import_book
from portfolio.importers import read_holdings
from portfolio.models import Holdings, ImportIssue, UnreadableFileError


def errors(h: Holdings) -> list[tuple[int | None, str]]:
    return [(i.line, i.message) for i in h.issues if i.severity == "error"]


def book(text: str, name: str = "book.csv", **kw: object) -> ImportedBook:
    return import_book(text.encode(), name, **kw)  # type: ignore[arg-type]


def on_line(issues: list[ImportIssue], line: int, severity: str) -> list[str]:
    return [i.message for i in issues if i.line == line and i.severity == severity]


# ---- implausible numbers -----------------------------------------------------------------------


def test_implausible_numbers_are_row_errors() -> None:
    h = read_holdings(
        "Symbol,Quantity,Price,Market Value\n"
        "AAPL,10,200,\n"
        "VTI,1e308,3,\n"  # a finite quantity whose value is not
        "MSFT,1e15,1,\n"
        "NVDA,5,0,\n"  # nothing to value it by
        "BND,-3,-1,\n"
        "GOOGL,2,1e11,\n"
        "AMZN,1e400,1,\n"  # not even a float
    )
    assert [p.symbol for p in h.positions] == ["AAPL"]
    assert errors(h) == [
        (3, "VTI: quantity 1e+308 is above 1e9 shares; not a plausible holding"),
        (4, "MSFT: quantity 1e+15 is above 1e9 shares; not a plausible holding"),
        (5, "NVDA: price 0 and no market value: the row cannot be valued"),
        (6, "BND: price -1 is negative"),
        (
            7,
            "GOOGL: market value $200,000,000,000.00 is above $100 billion; not a plausible "
            "position",
        ),
        (8, "quantity '1e400' is not a number"),
    ]


def test_limits_are_inclusive_of_a_plausible_book() -> None:
    h = read_holdings("Symbol,Quantity,Price\nVTI,1000000000,100\nCASH,,\n")
    assert [(p.symbol, p.market_value) for p in h.positions] == [("VTI", 1e11)]


def test_a_zero_price_with_a_market_value_takes_its_price_from_the_value() -> None:
    h = read_holdings("Symbol,Quantity,Price,Market Value\nAAPL,10,0,2000\n")
    assert [(p.symbol, p.price) for p in h.positions] == [("AAPL", 200.0)]


def test_a_huge_cash_balance_is_an_error() -> None:
    h = read_holdings("Symbol,Market Value\nCASH,5e11\nAAPL,1000\n")
    assert errors(h) == [
        (2, "CASH: cash of $500,000,000,000.00 is above $100 billion; not a plausible balance")
    ]


def test_error_rows_carry_their_stated_value() -> None:
    b = book("Symbol,Quantity,Price,Market Value\nAAPL,10,200,2000\nMSFT,abc,5,1500\nZZZQ,,,\n")
    assert [(r.line, r.value) for r in b.unread] == [(3, 1500.0), (4, None)]
    assert b.unread_value == 1500.0
    assert b.unread_summary() == "2 rows could not be read (lines 3, 4)"


# ---- books with nothing usable ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Symbol,Quantity,Price\nZZZQ,abc,1\n", "has no holdings that could be read; 1 row"),
        ("Symbol,Quantity,Price\nTotal,,\n", "has no holdings that could be read."),
        ("Symbol,Quantity,Price,Market Value\nAAPL,-10,200,\nCASH,,,500\n", "-$1,500.00"),
    ],
)
def test_a_book_with_nothing_usable_is_refused_in_one_sentence(text: str, words: str) -> None:
    with pytest.raises(UnreadableFileError) as exc:
        book(text, "x.csv")
    message = str(exc.value)
    assert words in message and message.startswith("'x.csv'")
    assert "\n" not in message


def test_only_cash_is_a_usable_book() -> None:
    assert book("Symbol,Market Value\nCASH,1000\n").holdings.total_value == 1000


def test_one_unread_row_is_counted_in_the_singular() -> None:
    b = book("Symbol,Quantity,Price\nAAPL,1,1\nMSFT,x,1\n")
    assert b.partial and b.unread_summary() == "1 row could not be read (line 3)"


def test_many_unread_rows_name_the_first_ten() -> None:
    rows = "".join(f"S{i},x,1\n" for i in range(12))
    b = book("Symbol,Quantity,Price\nAAPL,1,1\n" + rows)
    assert b.unread_summary() == (
        "12 rows could not be read (lines 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 2 more)"
    )


# ---- repeated rows ---------------------------------------------------------------------------


def test_identical_rows_are_summed_with_a_warning_naming_both_lines() -> None:
    h = read_holdings(
        "Account,Symbol,Quantity,Price\nIRA,AAPL,10,200\nIRA,MSFT,1,400\nIRA,AAPL,10,200\n"
        "Taxable,AAPL,10,200\n"
    )
    by = {(p.account, p.symbol): p for p in h.positions}
    assert by[("IRA", "AAPL")].quantity == 20  # still summed: custodians repeat lots
    assert by[("Taxable", "AAPL")].quantity == 10
    warnings = [(i.line, i.message) for i in h.issues if "repeats" in i.message]
    assert len(warnings) == 1
    assert warnings[0][0] == 4 and "line 4 repeats line 2" in warnings[0][1]


def test_lots_that_differ_are_not_repeats() -> None:
    h = read_holdings(
        "Symbol,Quantity,Price,Cost Basis,Acquired\n"
        "AAPL,10,200,1500,2020-01-02\nAAPL,10,200,1600,2021-01-02\n"
    )
    assert not [i for i in h.issues if "repeats" in i.message]


# ---- value-only and weight-only sheets ----------------------------------------------------------


def test_the_second_seeds_client_loads_all_five() -> None:
    b = book("symbol,market value\nVT,700000\nNVDA,80000\nAAPL,70000\nMSFT,50000\nCASH,100000\n")
    h = b.holdings
    assert [(p.symbol, p.market_value) for p in h.positions] == [
        ("VT", 700000.0),
        ("NVDA", 80000.0),
        ("AAPL", 70000.0),
        ("MSFT", 50000.0),
        ("CASH", 100000.0),
    ]
    assert h.total_value == 1_000_000 and h.cash_value == 100_000
    vt = h.positions[0]
    assert vt.quantity == pytest.approx(700000 / 129.28) and vt.quantity % 1  # fractional
    assert "reference price 129.28" in on_line(b.issues, 2, "info")[0]
    assert not b.unread


def test_value_only_rows_use_the_files_price_first() -> None:
    h = read_holdings("Symbol,Price,Market Value\nAAPL,250,1000\n")
    assert h.positions[0].quantity == 4.0
    assert "derived from market value / price" in on_line(h.issues, 2, "info")[0]


def test_the_seeds_allocation_sheet_loads() -> None:
    b = book(
        "Symbol,Allocation,Current Value\nAAPL,0.25,25000\nGOOGL,0.25,25000\n"
        "MSFT,0.25,25000\nAMZN,0.25,25000\n"
    )
    assert [p.symbol for p in b.holdings.positions] == ["AAPL", "GOOGL", "MSFT", "AMZN"]
    assert b.holdings.total_value == 100_000
    assert {p.asset_class for p in b.holdings.positions} == {"us_equity"}


def test_a_weight_only_sheet_needs_a_total() -> None:
    text = "Symbol,Weight\nVTI,60%\nBND,40%\n"
    with pytest.raises(UnreadableFileError) as exc:
        book(text, "w.csv")
    assert str(exc.value) == (
        "'w.csv' gives allocations but no total to value them: add a total_value row or column, "
        "or pass --total AMOUNT"
    )
    b = book(text, "w.csv", total=200_000)
    assert [(p.symbol, p.market_value) for p in b.holdings.positions] == [
        ("VTI", 120_000.0),
        ("BND", 80_000.0),
    ]
    assert "of $200,000.00 (the total given)" in on_line(b.issues, 2, "info")[0]


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("Symbol,Allocation\nVTI,60\nBND,40\ntotal_value,50000\n", "the total on line 4"),
        ("Symbol,Allocation,total_value\nVTI,0.6,50000\nBND,0.4,\n", "total_value on line 2"),
        ('Symbol,Weight\nVTI,60\nBND,40\nTotal,"$50,000"\n', "the total on line 4"),
    ],
)
def test_a_weight_only_sheet_takes_its_total_from_the_file(text: str, source: str) -> None:
    b = book(text)
    assert [(p.symbol, p.market_value) for p in b.holdings.positions] == [
        ("VTI", 30_000.0),
        ("BND", 20_000.0),
    ]
    assert source in on_line(b.issues, 2, "info")[0]


def test_allocations_that_do_not_add_up_are_warned() -> None:
    b = book("Symbol,Weight\nVTI,50%\nBND,40%\n", total=1000)
    assert any("add up to 90.00%" in i.message for i in b.issues if i.severity == "warning")


def test_an_allocation_column_of_class_names_is_still_a_class() -> None:
    h = read_holdings("Symbol,Quantity,Price,Allocation\nZZZQ,10,5,Bonds\n")
    assert h.positions[0].asset_class == "us_bonds"


# ---- the JSON request ---------------------------------------------------------------------------

SEED_REQUEST = """{
  "assets": [
    {"symbol": "AAPL", "allocation": 0.25, "current_value": 25000},
    {"symbol": "GOOGL", "allocation": 0.25, "current_value": 25000},
    {"symbol": "MSFT", "allocation": 0.25, "current_value": 25000},
    {"symbol": "AMZN", "allocation": 0.25, "current_value": 25000}
  ],
  "total_value": 100000,
  "risk_profile": "MODERATE"
}
"""


def test_the_seeds_json_request_loads_with_its_risk_profile() -> None:
    b = book(SEED_REQUEST, "request.json")
    assert b.holdings.format == "json request"
    assert [(p.symbol, p.market_value, p.lines) for p in b.holdings.positions] == [
        ("AAPL", 25000.0, [3]),
        ("GOOGL", 25000.0, [4]),
        ("MSFT", 25000.0, [5]),
        ("AMZN", 25000.0, [6]),
    ]
    assert b.risk_profile == "moderate"
    assert not b.unread


def test_a_request_of_allocations_is_valued_at_its_total() -> None:
    text = (
        '{"assets": [{"symbol": "VTI", "allocation": 0.6}, {"symbol": "CASH", "allocation": 0.4}],'
        ' "total_value": 50000, "risk_profile": "moderately aggressive"}'
    )
    b = book(text, "r.json")
    assert [(p.symbol, p.market_value, p.is_cash) for p in b.holdings.positions] == [
        ("VTI", 30000.0, False),
        ("CASH", 20000.0, True),
    ]
    assert b.risk_profile == "moderately_aggressive"


def test_a_request_whose_allocation_and_value_disagree_is_warned() -> None:
    text = (
        '{"assets": [{"symbol": "VTI", "allocation": 0.5, "current_value": 900}], '
        '"total_value": 1000}'
    )
    b = book(text, "r.json")
    assert b.holdings.total_value == 900
    assert any("allocation 50.00%" in i.message for i in b.issues if i.severity == "warning")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"assets": [{"symbol": "VTI", "current_value": NaN}]}', "is not valid JSON"),
        ('{"assets": [', "is not valid JSON"),
        ('{"holdings": []}', 'expected an object with an "assets" list'),
        ('{"assets": []}', "has no holdings that could be read"),
        ('{"assets": [{"symbol": "VTI", "allocation": 1}]}', "no total to value them"),
    ],
)
def test_a_request_that_cannot_be_used_is_refused(text: str, words: str) -> None:
    with pytest.raises(UnreadableFileError) as exc:
        book(text, "r.json")
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_bad_assets_are_row_errors_on_their_lines() -> None:
    text = (
        '{"assets": [\n {"symbol": "VTI", "current_value": 1000},\n'
        ' {"symbol": "=CMD()", "current_value": 5},\n 7\n]}'
    )
    b = book(text, "r.json")
    assert [r.line for r in b.unread] == [3, 4]
    assert b.unread[0].value == 5.0


def test_an_unknown_risk_profile_is_a_warning_not_a_guess() -> None:
    text = '{"assets": [{"symbol": "VTI", "current_value": 1000}], "risk_profile": "yolo"}'
    b = book(text, "r.json")
    assert b.risk_profile is None
    assert any("risk_profile 'yolo'" in i.message for i in b.issues)


# ---- the decimal mark ---------------------------------------------------------------------------


def test_semicolon_thousands_without_evidence_are_refused_naming_the_column() -> None:
    text = "Symbol;Quantity;Price\nAAPL;1.000;200\nMSFT;30.000;400\n"
    with pytest.raises(UnreadableFileError) as exc:
        book(text, "eu.csv")
    assert str(exc.value) == (
        "'eu.csv': column 'Quantity' has '1.000', which is 1000 with a decimal comma or 1 with a "
        "decimal point, and nothing in the file decides which; pass --decimal comma or "
        "--decimal point."
    )
    comma = book(text, "eu.csv", decimal="comma").holdings
    assert [p.quantity for p in comma.positions] == [1000, 30000]
    point = book(text, "eu.csv", decimal="point").holdings
    assert [p.quantity for p in point.positions] == [1, 30]


def test_one_unambiguous_value_settles_the_file() -> None:
    h = book("Symbol;Quantity;Price\nAAPL;1.000;200\nMSFT;30.000;400,00\n").holdings
    assert [p.quantity for p in h.positions] == [1000, 30000]
    h = book("Symbol;Quantity;Price\nAAPL;1.000;200\nMSFT;30.000;400.50\n").holdings
    assert [p.quantity for p in h.positions] == [1, 30]


def test_plain_integers_need_no_decision() -> None:
    h = book("Symbol;Quantity;Price\nAAPL;10;200\n").holdings
    assert h.positions[0].market_value == 2000


def test_comma_files_keep_reading_points() -> None:
    h = book('Symbol,Quantity,Price\nAAPL,"1.000",200\n').holdings
    assert h.positions[0].quantity == 1.0
