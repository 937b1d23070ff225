"""Plain spreadsheets: column synonyms, tax lots, classification, reconciliation, bad rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from portfolio.importers import read_holdings
from portfolio.models import Holdings, ImportIssue
from portfolio.securities import SecurityMaster

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


def errors(h: Holdings) -> list[ImportIssue]:
    return [i for i in h.issues if i.severity == "error"]


@pytest.mark.parametrize(
    "header",
    [
        "Symbol,Quantity,Price,Market Value",
        "ticker,shares,last price,value",
        "  TICKER  ,  Units ,Close,Current Value",
        "Sym,Qty,Closing Price,Mkt Val",
        "Symbol,Qty (Quantity),Price,Mkt Val (Market Value)",
        "Market Value,Price,Quantity,Symbol",
    ],
)
def test_columns_by_name_with_synonyms(header: str) -> None:
    names = [c.strip().lower() for c in header.split(",")]
    cells = {"sym": "AAPL", "qty": "10", "price": "200", "value": "2000"}
    order = [
        "value"
        if ("val" in n or n == "value")
        else "price"
        if ("price" in n or n == "close")
        else "qty"
        if n.startswith(("qty", "quantity", "shares", "units"))
        else "sym"
        for n in names
    ]
    text = header + "\n" + ",".join(cells[k] for k in order) + "\n"
    h = read_holdings(text)
    assert h.format == ("schwab" if "(Market Value)" in header else "plain")
    (p,) = h.positions
    assert (p.symbol, p.quantity, p.price, p.market_value) == ("AAPL", 10, 200, 2000)


def test_price_change_column_is_not_price() -> None:
    text = "Symbol,Price Change,Price,Quantity\nAAPL,1.5,200,10\n"
    (p,) = read_holdings(text).positions
    assert p.price == 200 and p.market_value == 2000


def test_lots_fold_into_one_position() -> None:
    h = read_holdings(FIXTURES / "plain_lots.csv")
    nvda = next(p for p in h.positions if p.symbol == "NVDA")
    assert (nvda.account, nvda.quantity, nvda.market_value) == ("Joint", 50, 7500)
    assert nvda.cost_basis == pytest.approx(2014.3)
    assert nvda.lines == [2, 3]
    assert [(lot.quantity, lot.cost_basis, lot.acquired, lot.line) for lot in nvda.lots] == [
        (40, 520, date(2019, 3, 15), 2),
        (10, 1494.3, date(2025, 1, 6), 3),
    ]


def test_file_asset_class_wins_then_reference_then_unclassified() -> None:
    h = read_holdings(FIXTURES / "plain_lots.csv")
    cls = {p.symbol: p.asset_class for p in h.positions}
    assert cls["BND"] == "us_bonds"  # "Fixed Income"
    assert cls["VXUS"] == "intl_equity"  # "International"
    assert cls["ZZZQ"] == "real_estate"  # unknown symbol, class from the file
    assert cls["CASH"] == "cash"
    text = "Symbol,Quantity,Price,Asset Class\nVTI,1,300,Something odd\nZZZQ,1,5,\n"
    h2 = read_holdings(text)
    cls2 = {p.symbol: p.asset_class for p in h2.positions}
    assert cls2 == {"VTI": "us_equity", "ZZZQ": "unclassified"}
    (warn,) = [i for i in h2.issues if i.severity == "warning"]
    assert warn.message == (
        "ZZZQ is not in the reference data; kept, classified as unclassified, never traded"
    )


def test_money_market_per_reference_data_is_cash() -> None:
    master = SecurityMaster.from_csv(FIXTURES / "reference" / "securities.csv")
    text = "Symbol,Quantity,Price\nMMKTX,250,1\nAAPL,1,200\n"
    h = read_holdings(text, securities=master)
    mm = h.positions[0]
    assert mm.is_cash and mm.asset_class == "cash" and mm.market_value == 250
    assert h.positions[1].asset_class == "us_equity"


def test_reconciliation_rules() -> None:
    text = (
        "Symbol,Quantity,Price,Market Value\n"
        "AAPL,10,200,\n"  # value from qty x price
        "MSFT,4,,2000\n"  # price from value / qty
        "VTI,,300,3000\n"  # quantity from value / price
        "BND,100,73,7350\n"  # within 1%: file price kept
        "TLT,-5,88,-440\n"  # short: kept with a warning
        "GOOGL,10,-5,50\n"  # negative price: error
        "XOM,0,100,0\n"  # nothing held: skipped
        "IWM,5,,\n"  # nothing to value it by except reference data
    )
    h = read_holdings(text)
    pos = {p.symbol: p for p in h.positions}
    assert pos["AAPL"].market_value == 2000
    assert pos["MSFT"].price == 500
    assert pos["VTI"].quantity == 10
    assert pos["BND"].price == 73 and pos["BND"].market_value == 7350
    assert pos["TLT"].quantity == -5
    assert any("short position" in i.message and i.line == 6 for i in h.issues)
    assert [(e.line, e.message) for e in errors(h)] == [(7, "GOOGL: price -5 is negative")]
    assert any(s.line == 8 and "zero quantity" in s.reason for s in h.skipped)
    assert pos["IWM"].price and any("reference price" in i.message for i in h.issues)


def test_malformed_rows_do_not_stop_good_rows() -> None:
    text = (
        "Symbol,Description,Quantity,Price,Market Value\n"
        "AAPL,Apple,10,200,2000\n"
        "MSFT,Microsoft,abc,500,\n"
        ",No symbol,5,10,50\n"
        "VTI,Total market,1,300,300,extra,fields\n"
        "BND,Bond,2\n"
        "NVDA,Nvidia,3,zz,\n"
        "VXUS,Intl,5,60,300\n"
    )
    h = read_holdings(text)
    assert [p.symbol for p in h.positions] == ["AAPL", "VXUS"]
    assert [(e.line, e.message) for e in errors(h)] == [
        (3, "quantity 'abc' is not a number"),
        (4, "missing symbol"),
        (5, "row has 7 fields, header has 5"),
        (6, "row has 3 fields, header has 5"),
        (7, "price 'zz' is not a number"),
    ]
    assert errors(h)[0].raw == "MSFT,Microsoft,abc,500,"


def test_cost_garbage_keeps_the_holding_with_a_warning() -> None:
    h = read_holdings("Symbol,Quantity,Price,Cost Basis\nAAPL,1,200,lots\n")
    (p,) = h.positions
    assert p.cost_basis is None
    assert any(i.severity == "warning" and "cost basis 'lots'" in i.message for i in h.issues)


def test_every_number_format_in_a_file() -> None:
    text = (
        "Symbol,Quantity,Price,Market Value\n"
        'AAPL,10,$200.00,"$2,000.00"\n'
        "MSFT,(2),$500,($1000)\n"
        'VTI, 3 ,"300",+$900.00\n'
        "BND,\u22124,$73,$-292\n"
        "TLT,n/a,88,880\n"
        "IWM,--,200,2000\n"
    )
    h = read_holdings(text)
    pos = {p.symbol: p for p in h.positions}
    assert pos["AAPL"].market_value == 2000
    assert (pos["MSFT"].quantity, pos["MSFT"].market_value) == (-2, -1000)
    assert pos["VTI"].market_value == 900
    assert (pos["BND"].quantity, pos["BND"].market_value) == (-4, -292)
    assert pos["TLT"].quantity == 10 and pos["IWM"].quantity == 10
    assert not errors(h)


def test_same_symbol_in_two_accounts_stays_apart() -> None:
    text = "Account,Symbol,Quantity,Price\nA,AAPL,1,200\nB,AAPL,2,200\nA,AAPL,3,200\n"
    h = read_holdings(text)
    assert [(p.account, p.quantity, p.lines) for p in h.positions] == [
        ("A", 4, [2, 4]),
        ("B", 2, [3]),
    ]


def test_bad_acquired_date_warns_but_keeps_the_lot() -> None:
    h = read_holdings("Symbol,Quantity,Price,Acquired\nAAPL,1,200,someday\n")
    assert h.positions[0].lots[0].acquired is None
    assert any("acquired date 'someday'" in i.message for i in h.issues)


def test_fifty_thousand_rows_import_quickly() -> None:

    symbols = ["AAPL", "MSFT", "VTI", "BND", "VXUS", "NVDA", "ZZZQ", "GOOGL"]
    rows = [
        f"Acct{i % 37},{symbols[i % 8]},Desc {i},{i % 97 + 1},$1{i % 13}.25,"
        f'"$1,{i % 1000:03d}.00",2020-01-{i % 28 + 1:02d}'
        for i in range(50_000)
    ]
    text = "Account,Symbol,Description,Quantity,Cost Basis,Market Value,Acquired\n"
    text += "\n".join(rows) + "\n"
    h = read_holdings(text.encode())  # speed is measured by bench/, not asserted here
    assert sum(len(p.lines) for p in h.positions) == 50_000
    assert len(h.positions) == 37 * 8


def _mismatch_issues(h: Holdings) -> list[ImportIssue]:
    return [i for i in h.issues if "stated" in i.message]


def test_stock_whose_value_disagrees_gets_a_warning_and_the_value_wins() -> None:
    text = "Symbol,Quantity,Price,Market Value\nAAPL,10,200,2100\nMSFT,2,500,1000\n"
    h = read_holdings(text)
    aapl = next(p for p in h.positions if p.symbol == "AAPL")
    assert (aapl.quantity, aapl.market_value) == (10, 2100)
    assert aapl.price == pytest.approx(210)
    (issue,) = _mismatch_issues(h)
    assert (issue.line, issue.severity) == (2, "warning")
    assert "($2,000.00)" in issue.message and "($2,100.00)" in issue.message
    assert "the stated value was used" in issue.message and "Check the row" in issue.message
    assert issue.raw == "AAPL,10,200,2100"


@pytest.mark.parametrize(
    ("row", "why"),
    [
        # Off par and not per 100 of face, so only the named reason makes these bonds.
        ("912828YK0,100,200,150", "CUSIP symbol"),
        ("XYZB,100,200,150,Fixed Income", "fixed-income class in the file"),
        ("XYZB,100,200,150,Municipal Bonds", "bond class in the file"),
        ("TLT,100,200,150", "bond class in the reference data"),
        ("XYZB,10000,101.25,10125", "near-par price per 100 of face"),
    ],
)
def test_bond_mismatch_stays_a_quiet_info(row: str, why: str) -> None:
    h = read_holdings(
        "Symbol,Quantity,Price,Market Value,Asset Class\n" + row + "," * (4 - row.count(",")) + "\n"
    )
    (pos,) = h.positions
    assert pos.market_value == pytest.approx(float(row.split(",")[3])), why
    assert [(i.line, i.severity) for i in _mismatch_issues(h)] == [(2, "info")], why


def test_far_from_par_per_100_is_not_taken_for_a_bond() -> None:
    """qty x price / 100 == value, but a price of 300 is no bond quote: the row is suspect."""
    h = read_holdings("Symbol,Quantity,Price,Market Value\nZZZQ,10,300,30\n")
    assert [i.severity for i in _mismatch_issues(h)] == ["warning"]


def test_value_only_cash_rows_are_cash() -> None:
    text = (
        "Symbol,Quantity,Price,Market Value\n"
        "SPAXX,,,500\n"  # money market in the reference data
        "USD,,,100\n"
        "MONEY MARKET,,,200\n"
        "Cash,,,300\n"
        '"CASH & CASH INVESTMENTS",,,50\n'
        "CASH & EQUIVALENTS,,,25\n"
        "SGOV,,,40\n"  # cash-class ETF in the reference data
        "AAPL,10,200,2000\n"
    )
    h = read_holdings(text)
    assert not errors(h)
    pos = {p.symbol: p for p in h.positions}
    assert set(pos) == {"SPAXX", "CASH", "SGOV", "AAPL"}
    spaxx = pos["SPAXX"]
    assert (spaxx.quantity, spaxx.price, spaxx.market_value) == (500, 1.0, 500)
    assert spaxx.is_cash and spaxx.asset_class == "cash"
    cash = pos["CASH"]
    assert (cash.quantity, cash.price, cash.market_value) == (675, 1.0, 675)
    assert cash.is_cash and cash.asset_class == "cash" and cash.lines == [3, 4, 5, 6, 7]
    assert pos["SGOV"].is_cash and pos["SGOV"].market_value == 40
    assert h.cash_value == 500 + 675 + 40
    assert h.total_value == 500 + 675 + 40 + 2000


def test_cash_words_with_a_share_count_stay_securities() -> None:
    """USD and CORE are tickers too: with a quantity they are holdings, not cash."""
    h = read_holdings("Symbol,Quantity,Price,Market Value\nCORE,10,5,50\nUSD,2,60,120\n")
    assert [(p.symbol, p.is_cash, p.quantity) for p in h.positions] == [
        ("CORE", False, 10),
        ("USD", False, 2),
    ]


def test_value_only_rows_without_any_price_stay_errors() -> None:
    h = read_holdings("Symbol,Quantity,Price,Market Value\nZZZQ,,,500\nAAPL,,,300\n")
    assert [(e.line, e.message) for e in errors(h)] == [(2, "ZZZQ: quantity is missing")]
    # A known symbol takes its quantity from the reference price (fractional, said on the line).
    assert [(p.symbol, p.market_value) for p in h.positions] == [("AAPL", 300.0)]
    assert any(i.line == 3 and "reference price" in i.message for i in h.issues)


def test_semicolon_file_with_decimal_commas() -> None:
    text = (
        "Symbol;Quantity;Price;Market Value;Cost Basis\n"
        "AAPL;10;205,17;2.051,70;1.800,00\n"
        "MSFT;1,5;400;600;-\n"
        "VTI;1.000;0,30;300;\n"
        "SPAXX;;;1.234,56;\n"
    )
    h = read_holdings(text.encode("cp1252"))
    assert not errors(h)
    pos = {p.symbol: p for p in h.positions}
    assert (pos["AAPL"].price, pos["AAPL"].market_value) == (205.17, 2051.70)
    assert pos["AAPL"].cost_basis == 1800
    assert pos["MSFT"].quantity == 1.5
    assert pos["VTI"].quantity == 1000  # dot groups thousands in this file
    assert pos["SPAXX"].is_cash and pos["SPAXX"].market_value == pytest.approx(1234.56)
    assert h.total_value == pytest.approx(2051.70 + 600 + 300 + 1234.56)
    assert any(i.severity == "info" and "decimal commas" in i.message for i in h.issues)
    assert not [i for i in h.issues if "stated" in i.message]


def test_tab_file_with_decimal_commas() -> None:
    h = read_holdings("Symbol\tQuantity\tPrice\nAAPL\t2\t205,17\nMSFT\t(1)\t1.000,5\n")
    assert [(p.symbol, p.market_value) for p in h.positions] == [
        ("AAPL", pytest.approx(410.34)),
        ("MSFT", -1000.5),
    ]


def test_semicolon_file_with_decimal_points_is_read_as_usual() -> None:
    text = "Symbol;Quantity;Price;Market Value\nAAPL;10;205.17;2,051.70\nMSFT;1,000;4.00;4000\n"
    h = read_holdings(text)
    pos = {p.symbol: p for p in h.positions}
    assert pos["AAPL"].market_value == pytest.approx(2051.70)
    assert pos["MSFT"].quantity == 1000
    assert not [i for i in h.issues if "decimal commas" in i.message]


def test_comma_file_never_reads_decimal_commas() -> None:
    text = 'Symbol,Quantity,Price,Market Value\nAAPL,10,"205,17","2.051,70"\n'
    h = read_holdings(text)
    assert not h.positions
    assert [e.message for e in errors(h)] == ["price '205,17' is not a number"]


def test_reference_class_wins_over_a_file_that_calls_a_stock_a_bond() -> None:
    from portfolio.importers import read_holdings

    text = "Symbol,Quantity,Price,Asset Class\nNVDA,10,157.99,Bonds\nVEA,10,56.97,Equity\n"
    h = read_holdings(text.encode(), filename="x.csv")
    by = {p.symbol: p for p in h.positions}
    assert by["NVDA"].asset_class == "us_equity"
    assert by["VEA"].asset_class == "intl_equity"  # same family: no warning
    warnings = [i for i in h.issues if i.severity == "warning"]
    assert len(warnings) == 1
    assert warnings[0].line == 2
    assert "NVDA: the file calls it 'Bonds'" in warnings[0].message
