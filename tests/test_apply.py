"""One rule applies trades: the engine's after-trade view, the ticket's chart and the holdings the
ledger records after execution agree, household by household."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from portfolio.apply import Move, apply
from portfolio.engine import rebalance
from portfolio.ledger.fills import AppliedFill, apply_fills
from portfolio.models import Holdings, Lot, Position, RebalanceProposal
from portfolio.post_trade import after_positions, weights_after
from portfolio.securities import load_securities
from tests.book_samples import AS_OF, cash, generated_book, position

SEC = load_securities()


def fills_of(p: RebalanceProposal) -> list[AppliedFill]:
    return [
        AppliedFill(
            t.account,
            t.symbol,
            t.action,
            t.quantity,
            t.price,
            0.0,
            t.asset_class,
            AS_OF,
            tuple(t.lots),
        )
        for t in p.approved_trades
    ]


def by_holding(rows: pd.DataFrame) -> pd.Series:
    """Value per (account, symbol); all of an account's swept cash as one figure."""
    sym = rows["symbol"].str.upper().where(~rows["is_cash"].astype(bool), "(cash)")
    out = rows.assign(symbol=sym).groupby(["account", "symbol"])["value"].sum()
    return out[out.abs() > 0.005].round(2)


@pytest.mark.parametrize("h", generated_book(30, seed=17), ids=lambda h: h.id)
def test_after_trade_view_chart_and_executed_holdings_agree(h) -> None:  # type: ignore[no-untyped-def]
    p = rebalance(h.holdings, h.mandate, as_of=AS_OF)
    assert p.approved_trades or p.trades == []
    view = by_holding(after_positions(p.positions, p.approved_trades))
    done = apply_fills(h.holdings, fills_of(p), tax_aware=True)
    executed = by_holding(
        pd.DataFrame(
            {
                "account": [x.account for x in done.positions],
                "symbol": [x.symbol for x in done.positions],
                "value": [x.market_value for x in done.positions],
                "is_cash": [x.is_cash for x in done.positions],
            }
        )
    )
    pd.testing.assert_series_equal(view, executed, atol=0.02, check_exact=False)
    classes, _ = weights_after(p.positions, p.approved_trades)
    for c, w in p.asset_class_weights.items():
        assert classes.get(c, 0.0) == pytest.approx(w.post_trade, abs=1e-6), c


def book(*rows: Position) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account": [r.account for r in rows],
            "symbol": [r.symbol for r in rows],
            "asset_class": [r.asset_class for r in rows],
            "quantity": [r.quantity for r in rows],
            "price": [r.price for r in rows],
            "value": [r.market_value for r in rows],
            "is_cash": [r.is_cash for r in rows],
            "is_fund": True,
            "known": True,
        }
    )


def test_trades_at_the_books_price_conserve_value_exactly() -> None:
    b = book(position("A", "VTI", 10, 250.0), cash("A", 1_000.0))
    after = apply(b, [Move("A", "VTI", "BUY", 3, 250.0, "us_equity")], SEC)
    assert after["value"].sum() == pytest.approx(b["value"].sum(), abs=1e-9)
    assert list(after["quantity"]) == [13, 250.0]


def test_a_fill_at_another_price_marks_the_whole_holding_and_pays_its_commission() -> None:
    b = book(position("A", "VTI", 10, 250.0), cash("A", 1_000.0))
    after = apply(
        b,
        [
            Move("A", "VTI", "BUY", 2, 251.0, "us_equity", fee=1.5),
            Move("A", "VTI", "BUY", 1, 252.0, "us_equity"),
        ],
        SEC,
    )
    assert after.loc[0, "value"] == pytest.approx(13 * 252.0)
    assert after.loc[0, "price"] == 252.0
    assert after.loc[1, "value"] == pytest.approx(1_000.0 - 502.0 - 1.5 - 252.0)


def test_money_goes_to_the_largest_swept_row_and_a_bought_cash_fund_is_a_holding() -> None:
    small, large = cash("A", 10.0), cash("A", 5_000.0)
    b = book(position("A", "VTI", 10, 250.0), small, large)
    after = apply(b, [Move("A", "SGOV", "BUY", 10, 100.5, "cash")], SEC)
    assert list(after["value"].iloc[:3]) == [2_500.0, 10.0, 3_995.0]
    sgov = after.iloc[3]
    assert sgov["symbol"] == "SGOV" and not sgov["is_cash"] and sgov["asset_class"] == "cash"


def test_an_account_without_cash_gets_a_cash_row_for_its_proceeds() -> None:
    after = apply(
        book(position("IRA", "BND", 100, 72.0)),
        [Move("IRA", "BND", "SELL", 40, 72.0, "us_bonds")],
        SEC,
    )
    assert after.iloc[1][["symbol", "value", "is_cash"]].tolist() == ["CASH", 2_880.0, True]
    assert after.iloc[0]["quantity"] == 60


def test_executed_holdings_keep_their_lots_and_open_rows_as_the_fills_need_them() -> None:
    vti = position(
        "T", "VTI", 10, 250.0, [Lot(quantity=10, cost_basis=2_000.0, acquired=date(2020, 1, 2))]
    )
    h = Holdings(positions=[vti, position("IRA", "BND", 100, 72.0)])
    fills = [
        AppliedFill("IRA", "BND", "SELL", 50, 72.0, 0.0, "us_bonds", AS_OF),
        AppliedFill("T", "VTI", "SELL", 4, 250.0, 1.0, "us_equity", AS_OF),
        AppliedFill("IRA", "VXUS", "BUY", 10, 60.0, 0.0, "intl_equity", AS_OF),
    ]
    after = apply_fills(h, fills)
    assert [(p.account, p.symbol) for p in after.positions] == [
        ("T", "VTI"),
        ("IRA", "BND"),
        ("IRA", "CASH"),
        ("T", "CASH"),
        ("IRA", "VXUS"),
    ]
    t_vti = after.positions[0]
    assert t_vti.quantity == 6 and t_vti.lots[0].quantity == 6
    assert t_vti.lots[0].cost_basis == pytest.approx(1_200.0)
    assert after.positions[2].market_value == pytest.approx(3_600.0 - 600.0)
    assert after.positions[3].market_value == pytest.approx(999.0)
    with pytest.raises(ValueError, match="not held"):
        apply_fills(h, [AppliedFill("T", "BND", "SELL", 1, 72.0, 0.0, "us_bonds", AS_OF)])


def test_trades_on_a_book_with_no_rows_open_their_own() -> None:
    empty = book().astype({"quantity": float, "price": float, "value": float})
    after = apply(empty, [Move("A", "VTI", "BUY", 2, 250.0, "us_equity")], SEC)
    assert after[["symbol", "value"]].values.tolist() == [["VTI", 500.0], ["CASH", -500.0]]


def held(h: Holdings) -> list[tuple[str, float, float]]:
    return [(p.symbol, p.quantity, p.market_value) for p in h.positions]


def test_a_purchase_sold_again_in_the_same_execution_is_held_in_between() -> None:
    h = Holdings(positions=[cash("A", 5_000.0)])
    fills = [
        AppliedFill("A", "VXUS", "BUY", 10, 60.0, 0.0, "intl_equity", AS_OF),
        AppliedFill("A", "VXUS", "SELL", 4, 61.0, 0.0, "intl_equity", AS_OF),
    ]
    assert held(apply_fills(h, fills)) == [("SPAXX", 4_644.0, 4_644.0), ("VXUS", 6.0, 366.0)]


def test_executed_holdings_are_marked_at_the_fill_price_and_paid_into_the_largest_swept_row() -> (
    None
):
    # The file valued 10 VTI at $2,600 with a $250 price; after a sale at $250 the statement
    # values the 7 left at 7 x $250. Proceeds less commission go to the larger swept row, the
    # one the after-trade view pays too.
    vti = position(
        "A", "VTI", 10, 250.0, [Lot(quantity=10, cost_basis=2_000.0, acquired=date(2020, 1, 2))]
    )
    vti.market_value = 2_600.0
    swept = cash("A", 5_000.0).model_copy(update={"symbol": "VMFXX"})
    h = Holdings(positions=[vti, cash("A", 100.0), swept])
    after = apply_fills(h, [AppliedFill("A", "VTI", "SELL", 3, 250.0, 1.0, "us_equity", AS_OF)])
    assert held(after) == [
        ("VTI", 7.0, 1_750.0),
        ("SPAXX", 100.0, 100.0),
        ("VMFXX", 5_749.0, 5_749.0),
    ]


def test_a_holding_without_a_price_is_marked_at_its_trade_and_a_cash_row_without_one_at_par() -> (
    None
):
    """A book read from objects may carry None for a missing price: it counts as missing, so the
    traded holding takes the trade's price and swept cash without a price moves at $1."""
    rows = book(position("T", "VTI", 10, 250.0), cash("T", 500.0))
    rows["price"] = pd.Series([None, None], dtype=object)
    after = apply(rows, [Move("T", "VTI", "BUY", 2, 300.0, "us_equity")], SEC)
    assert after.loc[0, ["quantity", "price", "value"]].tolist() == [12.0, 300.0, 3_600.0]
    assert after.loc[1, ["quantity", "value"]].tolist() == [-100.0, -100.0]


def test_of_two_equal_swept_rows_the_first_is_paid_and_a_withdrawal_never() -> None:
    from portfolio.cash_requests import WITHDRAWAL_SYMBOL

    withdrawal = cash("T", 900.0).model_copy(update={"symbol": WITHDRAWAL_SYMBOL})
    rows = book(withdrawal, cash("T", 500.0), cash("T", 500.0), position("T", "VTI", 10, 250.0))
    rows["symbol"] = [WITHDRAWAL_SYMBOL, "SPAXX", "SWVXX", "VTI"]
    after = apply(rows, [Move("T", "VTI", "SELL", 2, 250.0, "us_equity")], SEC)
    assert after["value"].tolist() == [900.0, 1_000.0, 500.0, 2_000.0]


def test_a_move_finds_its_holding_whatever_the_case_and_moves_the_first_of_two_rows() -> None:
    rows = book(position("T", "vti", 10, 250.0), position("T", "VTI", 4, 250.0), cash("T", 0.0))
    after = apply(rows, [Move("T", "Vti", "BUY", 2, 250.0, "us_equity")], SEC)
    assert after["quantity"].tolist() == [12.0, 4.0, -500.0]
    assert len(after) == 3  # no row opened
