"""The custodian's account-type column: read in every layout, classified by the accounts table,
ranked below the advisor's override and above the account's name; unknown values are warnings."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from portfolio.engine import rebalance
from portfolio.importers import read_holdings, read_holdings_frame
from portfolio.ledger import open_ledger
from portfolio.ledger.clients import ClientRecords
from portfolio.models import ClientMandate, Holdings

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


def typed(h: Holdings) -> dict[str, str]:
    return dict(h.account_types)


def warnings(h: Holdings) -> list[tuple[int | None, str]]:
    return [(i.line, i.message) for i in h.issues if i.severity == "warning"]


SCHWAB_SINGLE = (
    '"Positions for account Nest Egg ...123 as of 10:27 AM ET, 2025/06/30"\n'
    "\n"
    '"Symbol","Description","Quantity","Price","Market Value","Account Type","Security Type",\n'
    '"VTI","VANGUARD TOTAL STOCK","10","$300.00","$3,000.00","Rollover IRA","ETFs",\n'
    '"Cash & Cash Investments","--","--","--","$500.00","--","Cash and Money Market",\n'
    '"Account Total","--","--","--","$3,500.00","--","--",\n'
)

SCHWAB_ALL = (
    '"Positions for All-Accounts as of 04:01 PM ET, 2025/06/30"\n'
    "\n"
    '"Smith Family ...123"\n'
    '"Symbol","Description","Quantity","Price","Market Value","Account Type","Security Type",\n'
    '"MSFT","MICROSOFT CORP","4","$500.00","$2,000.00","Joint WROS","Equity",\n'
    '"Account Total","--","--","--","$2,000.00","--","--",\n'
    "\n"
    '"Pat ...456"\n'
    '"Symbol","Description","Quantity","Price","Market Value","Account Type","Security Type",\n'
    '"BND","VANGUARD TOTAL BOND","10","$73.00","$730.00","ROTH IRA","ETFs",\n'
    '"Account Total","--","--","--","$730.00","--","--",\n'
)

FIDELITY = (
    "Account Number,Account Name,Account Type,Symbol,Description,Quantity,Last Price,"
    "Current Value,Type\n"
    "Z111,Main,Individual,SPAXX**,HELD IN MONEY MARKET,,,$1200.50,Cash\n"
    "Z111,Main,Individual,AAPL,APPLE INC,10,$200.00,$2000.00,Cash\n"
    "222,Savings,Traditional IRA,BND,VANGUARD TOTAL BOND,10,$73.00,$730.00,Cash\n"
    "333,Health,HSA,VTI,VANGUARD TOTAL STOCK,2,$300.00,$600.00,Cash\n"
)

VANGUARD = (
    "Account Number,Investment Name,Symbol,Shares,Share Price,Total Value,Registration,\n"
    "11112222,VANGUARD TOTAL STOCK MARKET ETF,VTI,10,300.00,3000.00,SEP-IRA,\n"
    "33334444,VANGUARD TOTAL BOND MARKET ETF,BND,10,73.00,730.00,Brokerage,\n"
)

ETRADE = (
    "Account Summary\n"
    "Account,Net Account Value,Total Gain $\n"
    "Household -1234,10258.50,2758.50\n"
    "\n"
    "View Summary - All Positions\n"
    "Symbol,Last Price $,Quantity,Price Paid $,Value $,Account Type\n"
    "AAPL,205.17,50,150.00,10258.50,401(k)\n"
    "TOTAL,,,,10258.50,\n"
)

PLAIN = (
    "Account,Tax Status,Symbol,Quantity,Price\n"
    "Alpha,Tax-Deferred,VTI,10,300\n"
    "Beta,Taxable,BND,10,73\n"
    "Gamma,tax_free,VXUS,10,68\n"
)


@pytest.mark.parametrize(
    ("text", "filename", "fmt", "expected"),
    [
        (SCHWAB_SINGLE, "schwab.csv", "schwab", {"Nest Egg ...123": "Rollover IRA"}),
        (
            SCHWAB_ALL,
            "schwab.csv",
            "schwab",
            {"Smith Family ...123": "Joint WROS", "Pat ...456": "ROTH IRA"},
        ),
        (
            FIDELITY,
            "Portfolio_Positions_Jun-30-2025.csv",
            "fidelity",
            {"Main Z111": "Individual", "Savings 222": "Traditional IRA", "Health 333": "HSA"},
        ),
        (
            VANGUARD,
            "ofxdownload.csv",
            "vanguard",
            {"11112222": "SEP-IRA", "33334444": "Brokerage"},
        ),
        (ETRADE, "PortfolioDownload.csv", "etrade", {"Household -1234": "401(k)"}),
        (
            PLAIN,
            "sheet.csv",
            "plain",
            {"Alpha": "Tax-Deferred", "Beta": "Taxable", "Gamma": "tax_free"},
        ),
    ],
    ids=["schwab-single", "schwab-all", "fidelity", "vanguard", "etrade", "plain"],
)
def test_each_layout_reads_the_account_type_column(
    text: str, filename: str, fmt: str, expected: dict[str, str]
) -> None:
    h = read_holdings(text, filename)
    assert h.format == fmt
    assert typed(h) == expected
    assert not warnings(h), warnings(h)
    assert read_holdings_frame(text, filename).to_holdings().account_types == expected


def test_layouts_map_to_the_three_tax_types() -> None:
    h = read_holdings(FIDELITY, "Portfolio_Positions_Jun-30-2025.csv")
    p = rebalance(h, ClientMandate(), as_of=date(2025, 6, 30))
    got = {a.account: (a.type, a.type_source) for a in p.accounts}
    assert got == {
        "Main Z111": ("taxable", "custodian"),
        "Savings 222": ("tax_deferred", "custodian"),
        "Health 333": ("tax_free", "custodian"),
    }


def test_ibkr_statement_states_its_account_type() -> None:
    h = read_holdings(SAMPLES / "ibkr_activity_statement.csv")
    assert h.format == "ibkr"
    assert typed(h) == {"U1234567": "Individual"}
    roth = (
        (SAMPLES / "ibkr_activity_statement.csv")
        .read_text()
        .replace("Account Type,Individual", "Account Type,IRA Roth")
    )
    h = read_holdings(roth, "ibkr.csv")
    p = rebalance(h, ClientMandate(), as_of=date(2025, 6, 30))
    assert [(a.type, a.type_source) for a in p.accounts] == [("tax_free", "custodian")]


def test_an_unknown_value_is_a_warning_on_its_line_and_the_name_decides() -> None:
    text = (
        "Account,Account Type,Symbol,Quantity,Price\n"
        "Roth IRA,Widget Plan,VTI,10,300\n"
        "Roth IRA,Widget Plan,BND,10,73\n"
        "Mystery,Cash,VXUS,10,68\n"
    )
    h = read_holdings(text, "sheet.csv")
    assert typed(h) == {}
    lines = warnings(h)
    assert [line for line, _ in lines] == [2, 4]  # once per account and value, on its first line
    assert "'Widget Plan' is not one the desk knows" in lines[0][1]
    assert "inferred from the account's name" in lines[0][1]
    assert len(h.positions) == 3  # the row itself is read
    p = rebalance(h, ClientMandate(), as_of=date(2025, 6, 30))
    got = {a.account: (a.type, a.type_source) for a in p.accounts}
    assert got == {"Roth IRA": ("tax_free", "name"), "Mystery": ("taxable", "default")}


def test_disagreeing_values_for_one_account_keep_the_first() -> None:
    text = (
        "Account,Registration,Symbol,Quantity,Price\n"
        "A1,Rollover IRA,VTI,10,300\n"
        "A1,Individual,BND,10,73\n"
        "A1,IRA,VXUS,10,68\n"
    )
    h = read_holdings(text, "sheet.csv")
    assert typed(h) == {"A1": "Rollover IRA"}
    assert [line for line, _ in warnings(h)] == [3]
    assert "disagrees with 'Rollover IRA'" in warnings(h)[0][1]


PRECEDENCE = (
    "Account,Account Type,Symbol,Quantity,Price\n"
    "Roth IRA,Individual,VTI,10,300\n"  # the column beats the name
    "Joint,Traditional IRA,BND,10,73\n"  # the override beats the column
    "Rollover IRA,,VXUS,10,68\n"  # no column value: the name
)


def test_override_beats_the_column_which_beats_the_name() -> None:
    h = read_holdings(PRECEDENCE, "sheet.csv")
    p = rebalance(h, ClientMandate(), as_of=date(2025, 6, 30), account_types={"Joint": "tax_free"})
    got = {a.account: (a.type, a.type_source) for a in p.accounts}
    assert got == {
        "Roth IRA": ("taxable", "custodian"),
        "Joint": ("tax_free", "override"),
        "Rollover IRA": ("tax_deferred", "name"),
    }


def test_cli_override_beats_the_column(tmp_path: Path) -> None:
    sheet = tmp_path / "book.csv"
    sheet.write_text(PRECEDENCE)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "portfolio", "rebalance", str(sheet), "--format", "json"),
            *("--as-of", "2025-06-30", "--account-type", "Joint=tax_free"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    got = {a["account"]: (a["type"], a["type_source"]) for a in doc["accounts"]}
    assert got["Joint"] == ("tax_free", "override")
    assert got["Roth IRA"] == ("taxable", "custodian")


def test_client_page_starts_from_the_column_and_the_advisor_overrides(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    records = ClientRecords(ledger.engine)
    cid = records.create("Pat Example", owner="alex").id
    h = read_holdings(PRECEDENCE, "sheet.csv")
    records.add_upload(cid, h, PRECEDENCE.encode(), "sheet.csv")
    got = {a.account: a.tax_type for a in records.get(cid).accounts}
    assert got == {"Roth IRA": "taxable", "Joint": "tax_deferred", "Rollover IRA": "tax_deferred"}
    records.set_tax_type(cid, "Joint", "tax_free")
    chosen = {a.account: a.tax_type for a in records.get(cid).accounts}
    p = rebalance(h, ClientMandate(), as_of=date(2025, 6, 30), account_types=chosen)
    assert {a.account: a.type for a in p.accounts}["Joint"] == "tax_free"
    ledger.close()
