"""Each taxable sale's lots are named on its trade, and the loss a recent purchase washes is
disallowed share for share (IRC section 1091, Treas. Reg. 1.1091-1), in the gain reported."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portfolio.engine import rebalance
from portfolio.ledger.fills import AppliedFill, apply_fills
from portfolio.models import ClientMandate, Holdings, Lot, Position, RebalanceProposal, Trade
from portfolio.securities import load_securities
from tests.book_samples import cash

AS_OF = date(2025, 6, 30)
BND = load_securities().price("BND") or 0.0
VTI = load_securities().price("VTI") or 0.0
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


def test_part_of_one_recent_purchase_sold_at_a_loss_is_no_wash_sale() -> None:
    # The unsold part of a block is not the replacement of its sold part (Rev. Rul. 56-602).
    recent = AS_OF - timedelta(days=10)
    h = Holdings(
        positions=[
            bnd("Joint Taxable", [loss_lot(1_000, BND + 5.0, recent)]),
            cash("Joint Taxable", 1_000.0),
        ]
    )
    t = sells(rebalance(h, AGGRESSIVE, as_of=AS_OF), "Joint Taxable")
    assert 0 < t.quantity < 1_000
    assert t.wash_loss_disallowed == 0.0 and "wash sale" not in t.reason
    assert t.realized_gain == pytest.approx(-5.0 * t.quantity, abs=0.02)


def test_shares_bought_before_the_loss_shares_are_flagged_not_matched() -> None:
    # Bought 2025-06-10 at a gain (kept: the walk takes it last), then 2025-06-20 at a loss
    # (sold): the earlier purchase is not the later one's replacement; the trade says so.
    lots = [
        loss_lot(500, BND - 1.0, date(2025, 6, 10)),
        loss_lot(500, BND + 5.0, date(2025, 6, 20)),
    ]
    h = Holdings(positions=[bnd("Joint Taxable", lots), cash("Joint Taxable", 1_000.0)])
    t = sells(rebalance(h, AGGRESSIVE, as_of=AS_OF), "Joint Taxable")
    assert t.lots[0].acquired == date(2025, 6, 20)
    assert t.wash_loss_disallowed == 0.0
    assert "possible wash sale" in t.reason and "before the shares sold" in t.reason


def test_a_budget_the_disallowed_losses_break_is_said_to_be() -> None:
    h = Holdings(
        positions=[
            bnd("Joint Taxable", [loss_lot(1_000, BND + 5.0, date(2022, 1, 3))]),
            bnd("Rollover IRA", [loss_lot(100, BND, AS_OF - timedelta(days=5))]),
            Position(
                account="Joint Taxable",
                symbol="VTI",
                quantity=300,
                price=VTI,
                market_value=round(300 * VTI, 2),
                lots=[
                    Lot(
                        quantity=300,
                        cost_basis=round(300 * VTI * 0.5, 2),
                        acquired=date(2020, 1, 2),
                    )
                ],
            ),
        ]
    )
    p = rebalance(h, ClientMandate(), as_of=AS_OF, max_gains=5_000.0)
    assert p.wash_loss_disallowed == pytest.approx(500.0, abs=0.01)  # 100 IRA units x $5
    over = p.realized_gains - 5_000.0
    assert over > 0
    (note,) = [c.message for c in p.checks if "exceed the $5,000 budget" in c.message]
    assert f"by ${over:,.2f}" in note and "$500.00 of losses are disallowed" in note


def test_a_taxable_replacement_takes_the_loss_into_its_basis_and_holding_period() -> None:
    recent = AS_OF - timedelta(days=5)
    agg = load_securities().price("AGG") or 0.0
    sold_lot = loss_lot(1_000, 90.0, date(2022, 1, 3))
    replacement = Position(
        account="Individual Brokerage",
        symbol="AGG",
        quantity=80,
        price=agg,
        market_value=round(80 * agg, 2),
        lots=[loss_lot(80, agg, recent)],
    )
    h = Holdings(
        positions=[bnd("Joint Taxable", [sold_lot]), replacement, cash("Joint Taxable", 1_000.0)]
    )
    t = sells(rebalance(h, ClientMandate(excluded_symbols=["BND"]), as_of=AS_OF), "Joint Taxable")
    (d,) = t.wash_deferred
    added = round(80 * (90.0 - BND), 2)
    assert (d.account, d.symbol, d.acquired, d.quantity) == (
        "Individual Brokerage",
        "AGG",
        recent,
        80,
    )
    assert d.basis_added == pytest.approx(added, abs=0.01) and d.sold_acquired == date(2022, 1, 3)
    # At execution the replacement lot carries the loss and the sold shares' holding period.
    fill = AppliedFill(
        "Joint Taxable",
        "BND",
        "SELL",
        t.quantity,
        BND,
        0.0,
        "us_bonds",
        AS_OF,
        tuple(t.lots),
        tuple(t.wash_deferred),
    )
    after = {p.symbol: p for p in apply_fills(h, [fill], tax_aware=True).positions}
    (lot,) = after["AGG"].lots
    assert lot.cost_basis == pytest.approx(80 * agg + added, abs=0.02)
    assert lot.acquired == recent - (AS_OF - date(2022, 1, 3))
    assert "BND" not in after
    # An IRA replacement takes nothing: the loss is gone (Rev. Rul. 2008-5).
    p = rebalance(two_taxable_losses(10), AGGRESSIVE, as_of=AS_OF)
    assert sells(p, "Joint Taxable").wash_deferred == []
