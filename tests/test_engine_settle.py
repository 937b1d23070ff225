"""Each taxable sale's lots are named on its trade, and the loss a recent purchase washes is
disallowed share for share (IRC section 1091, Treas. Reg. 1.1091-1), in the gain reported."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portfolio.engine import rebalance
from portfolio.ledger.fills import AppliedFill, apply_fills
from portfolio.models import ClientMandate, Holdings, Lot, Position, RebalanceProposal, Trade
from portfolio.securities import load_securities

AS_OF = date(2025, 6, 30)
BND = load_securities().price("BND") or 0.0
AGGRESSIVE = ClientMandate(risk_profile="aggressive")  # bonds far above its small target


def bnd(account: str, lots: list[Lot]) -> Position:
    q = sum(lt.quantity for lt in lots)
    return Position(
        account=account,
        symbol="BND",
        quantity=q,
        price=BND,
        market_value=round(q * BND, 2),
        lots=lots,
    )


def cash(account: str, dollars: float) -> Position:
    return Position(
        account=account,
        symbol="SPAXX",
        quantity=dollars,
        price=1.0,
        market_value=dollars,
        is_cash=True,
    )


def loss_lot(q: float, unit_cost: float, acquired: date) -> Lot:
    return Lot(quantity=q, cost_basis=round(q * unit_cost, 2), acquired=acquired)


def sells(p: RebalanceProposal, account: str) -> Trade:
    (t,) = [t for t in p.trades if t.action == "SELL" and t.account == account]
    return t


def raw_gain(t: Trade) -> float:
    return sum(t.price * lt.quantity - (lt.cost_basis or 0.0) for lt in t.lots)


def two_taxable_losses(bought_days_before: int, ira_units: float = 100) -> Holdings:
    """Two taxable accounts hold BND at a loss; the IRA bought BND some days before."""
    ira = loss_lot(ira_units, BND, AS_OF - timedelta(days=bought_days_before))
    return Holdings(
        positions=[
            bnd("Joint Taxable", [loss_lot(1_000, 90.0, date(2022, 1, 3))]),
            bnd("Individual Brokerage", [loss_lot(1_000, 85.0, date(2023, 1, 3))]),
            bnd("Rollover IRA", [ira]),
            cash("Joint Taxable", 1_000.0),
        ]
    )


def test_every_taxable_sale_names_the_lots_its_gain_is_counted_on() -> None:
    p = rebalance(two_taxable_losses(400), AGGRESSIVE, as_of=AS_OF)
    for acct in ("Joint Taxable", "Individual Brokerage"):
        t = sells(p, acct)
        assert sum(lt.quantity for lt in t.lots) == pytest.approx(t.quantity)
        assert t.realized_gain == pytest.approx(raw_gain(t) + t.wash_loss_disallowed, abs=0.02)
    # A sale outside taxable accounts realises nothing and names no lot: lots matter where tax does.
    h = Holdings(
        positions=[
            bnd("Rollover IRA", [loss_lot(1_000, 90.0, date(2022, 1, 3))]),
            cash("Rollover IRA", 1_000.0),
        ]
    )
    ira = sells(rebalance(h, AGGRESSIVE, as_of=AS_OF), "Rollover IRA")
    assert ira.realized_gain == 0.0 and ira.lots == [] and ira.wash_loss_disallowed == 0.0


def test_replacement_shares_are_matched_once_earliest_loss_shares_first() -> None:
    p = rebalance(two_taxable_losses(10), AGGRESSIVE, as_of=AS_OF)
    joint, indiv = sells(p, "Joint Taxable"), sells(p, "Individual Brokerage")
    assert joint.quantity >= 100 and indiv.quantity > 0
    # 100 IRA units bought 10 days ago wash 100 loss shares in all: the earliest acquired
    # (Joint's 2022 lot), not 100 in each account.
    assert joint.wash_loss_disallowed == pytest.approx(round(100 * (90.0 - BND), 2), abs=0.01)
    assert indiv.wash_loss_disallowed == 0.0
    assert p.wash_loss_disallowed == pytest.approx(joint.wash_loss_disallowed)
    assert joint.realized_gain == pytest.approx(raw_gain(joint) + joint.wash_loss_disallowed, 0.02)
    assert p.realized_gains == pytest.approx(joint.realized_gain + indiv.realized_gain, abs=0.05)
    # Bought in an IRA, the disallowed loss is lost, not deferred (Rev. Rul. 2008-5).
    assert "wash sale: $" in joint.reason and "lost for good" in joint.reason
    assert "wash sale" not in indiv.reason


@pytest.mark.parametrize(("days", "washed"), [(30, True), (31, False), (0, True)])
def test_the_look_back_is_thirty_days_to_the_day(days: int, washed: bool) -> None:
    p = rebalance(two_taxable_losses(days), AGGRESSIVE, as_of=AS_OF)
    assert (sells(p, "Joint Taxable").wash_loss_disallowed > 0) is washed


def test_fewer_loss_shares_than_replacements_disallow_the_whole_loss() -> None:
    # 5,000 IRA units bought last week against at most 2,000 taxable loss shares: all washed.
    p = rebalance(two_taxable_losses(7, ira_units=5_000), AGGRESSIVE, as_of=AS_OF)
    for acct in ("Joint Taxable", "Individual Brokerage"):
        t = sells(p, acct)
        assert t.wash_loss_disallowed == pytest.approx(-raw_gain(t), abs=0.02)
        assert t.realized_gain == pytest.approx(0.0, abs=0.02)


def test_a_recent_taxable_lot_sold_the_same_day_washes_nothing() -> None:
    # Sold with the old lot (the client excludes BND: all of it goes), the recent lot replaces
    # nothing: the loss it would defer goes into its own basis, realised by its own sale.
    recent = AS_OF - timedelta(days=5)
    lots = [loss_lot(1_000, 90.0, date(2022, 1, 3)), loss_lot(50, BND + 1.0, recent)]
    h = Holdings(positions=[bnd("Joint Taxable", lots), cash("Joint Taxable", 1_000.0)])
    t = sells(rebalance(h, ClientMandate(excluded_symbols=["BND"]), as_of=AS_OF), "Joint Taxable")
    assert t.quantity == 1_050 and t.forced
    assert t.wash_loss_disallowed == 0.0 and "wash sale" not in t.reason
    assert t.realized_gain == pytest.approx(raw_gain(t), abs=0.02)
    # 50 units of a fund tracking the same index (AGG), bought in another taxable account and
    # kept, wash as many loss shares; the loss deferred goes into their basis.
    agg = load_securities().price("AGG") or 0.0
    h = Holdings(
        positions=[
            bnd("Joint Taxable", lots[:1]),
            Position(
                account="Individual Brokerage",
                symbol="AGG",
                quantity=50,
                price=agg,
                market_value=round(50 * agg, 2),
                lots=[loss_lot(50, agg, recent)],
            ),
            cash("Joint Taxable", 1_000.0),
        ]
    )
    p = rebalance(h, ClientMandate(excluded_symbols=["BND"]), as_of=AS_OF)
    t = sells(p, "Joint Taxable")
    assert t.wash_loss_disallowed == pytest.approx(round(50 * (90.0 - BND), 2), abs=0.01)
    assert "added to the basis of the shares bought" in t.reason


def test_the_fill_relieves_the_lots_the_trade_names() -> None:
    """Whatever the plan chose (here a lot the walk order would not take first), the holdings
    after the fill keep the others."""
    first = loss_lot(10, 120.0, date(2020, 1, 2))  # the walk's first choice (highest cost)
    named = loss_lot(10, 110.0, date(2021, 1, 4))
    h = Holdings(
        positions=[
            Position(
                account="A",
                symbol="VTI",
                quantity=20,
                price=100,
                market_value=2_000,
                lots=[first, named],
            )
        ]
    )
    t = Trade(
        id="T1",
        account="A",
        symbol="VTI",
        action="SELL",
        quantity=6,
        price=100,
        value=600,
        reason="test",
        lots=[{"acquired": date(2021, 1, 4), "quantity": 6, "cost_basis": 660.0}],
    )
    fill = AppliedFill("A", "VTI", "SELL", 6, 100.0, 0.0, "us_equity", AS_OF, tuple(t.lots))
    (after,) = apply_fills(h, [fill], tax_aware=True).positions[:1]
    assert [(lt.acquired, lt.quantity) for lt in after.lots] == [
        (date(2020, 1, 2), 10),
        (date(2021, 1, 4), 4),
    ]
    assert after.lots[1].cost_basis == pytest.approx(440.0)
    # A fill for more than the lots named takes the rest in the plan's order.
    more = AppliedFill("A", "VTI", "SELL", 12, 100.0, 0.0, "us_equity", AS_OF, tuple(t.lots))
    (after,) = apply_fills(h, [more], tax_aware=True).positions[:1]
    assert [(lt.acquired, lt.quantity) for lt in after.lots] == [
        (date(2020, 1, 2), 4),
        (date(2021, 1, 4), 4),
    ]
