"""The ticket's tax-impact figures: per sell and in total for taxable accounts, wash-sale flags,
the gains budget used, and "not known" without a cost basis."""

from __future__ import annotations

import pytest

from portfolio.models import SoldLot, Trade
from portfolio.tax_impact import tax_impact, trade_tax_fields
from portfolio.trade_edits import edited


def _t(tid: str, action: str, symbol: str, value: float, gain=None, short=None, account="J1"):  # type: ignore[no-untyped-def]
    return Trade(
        id=tid,
        account=account,
        symbol=symbol,
        action=action,
        quantity=value / 100,
        price=100.0,
        value=value,
        reason="to target",
        realized_gain=gain,
        short_term_gain=short,
    )


def test_short_and_long_term_gains_per_sell_and_in_total_for_taxable_accounts() -> None:
    trades = [
        _t("T1", "SELL", "AAPL", 5000, gain=1200, short=200),
        _t("T2", "SELL", "MSFT", 3000, gain=-400, short=0),
        _t("T3", "SELL", "VTI", 2000, gain=900, short=0, account="IRA"),
        _t("T4", "BUY", "BND", 4000),
    ]
    impact = tax_impact(trades, {"J1": "taxable", "IRA": "tax_deferred"})
    rows = {r.trade_id: r for r in impact.rows}
    assert set(rows) == {"T1", "T2", "T3"}
    assert (rows["T1"].short_term, rows["T1"].long_term) == (200, 1000)
    assert (rows["T2"].short_term, rows["T2"].long_term) == (0, -400)
    assert not rows["T3"].taxed
    # The IRA's gain is not taxed, so it is left out of the totals.
    assert (impact.short_term, impact.long_term, impact.total) == (200, 600, 800)
    assert impact.unknown == 0 and impact.budget_used is None


def test_without_a_cost_basis_a_gain_is_not_known_never_zero() -> None:
    impact = tax_impact([_t("T1", "SELL", "BRK-B", 4000)], {"J1": "taxable"})
    (row,) = impact.rows
    assert not row.known and row.short_term is None and row.long_term is None
    assert impact.unknown == 1 and impact.total == 0


def test_a_loss_sold_while_the_ticket_buys_the_same_security_is_a_wash_sale() -> None:
    loss = _t("T1", "SELL", "VTI", 3000, gain=-500, short=-500)
    gain = _t("T2", "SELL", "VXUS", 3000, gain=500, short=0)
    trades = [loss, gain, _t("T3", "BUY", "VTI", 1000, account="IRA"), _t("T4", "BUY", "VXUS", 1)]
    rows = {r.trade_id: r for r in tax_impact(trades, {"J1": "taxable"}).rows}
    # The buy is in the IRA: the loss still washes (Rev. Rul. 2008-5). Only losses wash.
    assert rows["T1"].wash_sale and not rows["T2"].wash_sale
    # A loss in an IRA is never deductible, so it is not flagged.
    ira = tax_impact([loss, trades[2]], {"J1": "tax_deferred"})
    assert not ira.rows[0].wash_sale


def test_the_gains_budget_used() -> None:
    trades = [_t("T1", "SELL", "AAPL", 5000, gain=1500, short=0)]
    assert tax_impact(trades, {"J1": "taxable"}, budget=3000).budget_used == pytest.approx(0.5)
    assert tax_impact(trades, {"J1": "taxable"}, budget=1000).budget_used == pytest.approx(1.5)


def test_an_edited_sell_has_no_estimate_left_to_scale() -> None:
    t = _t("T1", "SELL", "AAPL", 5000, gain=1500, short=100)
    assert trade_tax_fields(t).realised == 1500
    smaller = edited(t, 20)
    assert smaller.value == 2000 and trade_tax_fields(smaller).realised is None
    assert edited(t, 50) is t


def test_an_edited_sale_drops_the_lots_and_the_wash_figures_chosen_for_the_old_quantity() -> None:
    from datetime import date

    t = _t("T1", "SELL", "BND", 5000, gain=-400, short=0).model_copy(
        update={
            "lots": [{"acquired": date(2023, 1, 3), "quantity": 50, "cost_basis": 5400.0}],
            "wash_loss_disallowed": 100.0,
            "wash_deferred": [
                {
                    "account": "J2",
                    "symbol": "AGG",
                    "acquired": date(2025, 6, 20),
                    "quantity": 10,
                    "basis_added": 100.0,
                }
            ],
        }
    )
    e = edited(t, 20)
    assert (e.lots, e.wash_deferred, e.wash_loss_disallowed, e.realized_gain) == ([], [], 0, None)
    assert edited(t, t.quantity) is t


def test_a_sale_cut_down_keeps_the_first_lots_it_named_and_its_gain_to_the_cent() -> None:
    from datetime import date

    as_of = date(2025, 6, 30)
    # Named in the walk's order: a loss lot, then a long-term gain lot, then a short-term one
    # (bought 30 June 2024: held exactly one year on the trade date, so still short-term).
    lots = [
        {"acquired": date(2024, 1, 2), "quantity": 10, "cost_basis": 1_200.0},
        {"acquired": date(2020, 3, 2), "quantity": 20, "cost_basis": 1_600.0},
        {"acquired": date(2024, 6, 30), "quantity": 20, "cost_basis": 1_800.0},
    ]
    named = [SoldLot.model_validate(lt) for lt in lots]
    t = _t("T1", "SELL", "VTI", 5000, gain=400.0, short=200.0).model_copy(update={"lots": named})
    cut = edited(t, 35, as_of)
    assert [(lt.quantity, lt.cost_basis) for lt in cut.lots] == [
        (10, 1_200.0),
        (20, 1_600.0),
        (5, 450.0),
    ]
    # -200 on the loss lot, +400 on the long-term lot, +50 on 5 short-term units.
    assert (cut.realized_gain, cut.short_term_gain) == (250.0, 50.0)
    assert (cut.quantity, cut.value) == (35, 3_500.0)
    row = tax_impact([cut], {"J1": "taxable"}).rows[0]
    assert (row.short_term, row.long_term) == (50.0, 200.0)
    # More units than it named, or no trade date to tell short from long: not known.
    assert edited(t, 60, as_of).realized_gain is None
    assert edited(t, 35).realized_gain is None


def test_the_cut_down_figure_is_the_engines_own_at_the_full_quantity() -> None:
    from portfolio.engine import rebalance
    from portfolio.trade_edits import _first_named_lots
    from tests.book_samples import AS_OF, generated_book

    checked = 0
    for h in generated_book(40, seed=5):
        p = rebalance(h.holdings, h.mandate, as_of=AS_OF)
        for t in p.trades:
            got = _first_named_lots(t, t.quantity, p.as_of)
            if not got:
                continue
            checked += 1
            assert got["realized_gain"] == pytest.approx(t.realized_gain, abs=0.01 * len(t.lots))
            assert got["short_term_gain"] == pytest.approx(
                t.short_term_gain, abs=0.01 * len(t.lots)
            )
    assert checked > 20
