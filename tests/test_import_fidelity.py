"""Fidelity Portfolio_Positions files: BOM, many accounts, core cash `**`, pending activity, bonds
priced per 100 of face value, n/a cells, signed numbers, a stray trailing field, disclaimers."""

from __future__ import annotations

from pathlib import Path

import pytest

from portfolio.importers import read_holdings
from portfolio.models import Holdings, Position

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


@pytest.fixture(scope="module")
def holdings() -> Holdings:
    data = (FIXTURES / "fidelity.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return read_holdings(data, "Portfolio_Positions_Jun-30-2025.csv")


def pos(h: Holdings, account: str, symbol: str) -> Position:
    return next(p for p in h.positions if p.account == account and p.symbol == symbol)


def test_format_and_accounts_from_name_and_number(holdings: Holdings) -> None:
    assert holdings.format == "fidelity"
    assert holdings.accounts == ["Individual Z11111111", "ROTH IRA 222222222"]


def test_bom_does_not_hide_the_first_column(holdings: Holdings) -> None:
    assert all(p.account.split()[-1] in {"Z11111111", "222222222"} for p in holdings.positions)


def test_core_positions_are_cash_with_value_from_current_value(holdings: Holdings) -> None:
    spaxx = pos(holdings, "Individual Z11111111", "SPAXX")
    assert spaxx.is_cash and spaxx.asset_class == "cash"
    assert (spaxx.quantity, spaxx.price, spaxx.market_value) == (1200.5, 1.0, 1200.5)
    fcash = pos(holdings, "ROTH IRA 222222222", "FCASH")  # not in the reference data
    assert fcash.is_cash and fcash.market_value == 300
    assert not [i for i in holdings.issues if "FCASH" in i.message]


def test_pending_activity_is_skipped_with_its_value(holdings: Holdings) -> None:
    (pending,) = [s for s in holdings.skipped if "pending" in s.reason]
    assert pending.line == 5
    assert "-$250.00" in pending.reason


def test_bond_by_cusip_uses_stated_market_value(holdings: Holdings) -> None:
    bond = pos(holdings, "Individual Z11111111", "912828YK0")
    assert bond.quantity == 10000
    assert bond.market_value == 9650
    assert bond.price == pytest.approx(0.965)
    infos = [i for i in holdings.issues if i.severity == "info" and i.line == 4]
    assert infos and "stated" in infos[0].message


def test_signed_and_na_cells(holdings: Holdings) -> None:
    aapl = pos(holdings, "Individual Z11111111", "AAPL")
    assert (aapl.quantity, aapl.price, aapl.market_value, aapl.cost_basis) == (
        10,
        200,
        2000,
        1849.75,
    )


def test_extra_trailing_field_is_accepted_silently(holdings: Holdings) -> None:
    fxaix = pos(holdings, "ROTH IRA 222222222", "FXAIX")
    assert fxaix.lines == [7]
    assert not [i for i in holdings.issues if i.line == 7]


def test_disclaimers_are_skipped_not_errors(holdings: Holdings) -> None:
    lines = {s.line for s in holdings.skipped if "disclaimer" in s.reason}
    assert lines == {9, 11, 13}
    assert not [i for i in holdings.issues if i.severity == "error"]


def test_extra_nonempty_field_is_an_error() -> None:
    text = "Account Number,Symbol,Quantity,Last Price,Current Value\nZ1,AAPL,1,2,2,surprise\n"
    h = read_holdings(text)
    (err,) = [i for i in h.issues if i.severity == "error"]
    assert err.message == "row has 6 fields, header has 5" and err.line == 2


def test_trailing_text_after_a_blank_line_is_skipped() -> None:
    text = (
        "Account Number,Symbol,Quantity,Last Price,Current Value\n"
        "Z1,AAPL,1,2,2\n"
        "\n"
        "Values are delayed,see site\n"
        "Morningstar ratings,,,\n"
    )
    h = read_holdings(text)
    assert [s.line for s in h.skipped] == [4, 5]
    assert not [i for i in h.issues if i.severity == "error"]
