"""Offset harvesting: losses sold against the gains a rebalance realises, classes bought back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings

from agents.facts import tax_facts
from agents.writers import write_tax
from portfolio.cli import build_parser, mandate_from_args
from portfolio.engine import rebalance
from portfolio.models import ClientMandate, Holdings, Lot, Position, RebalanceProposal, Trade
from tests.test_engine_household import AS_OF, GROUPS, located, pos, px
from tests.test_engine_household_properties import PROFILE, households

OFFSET = ClientMandate(offset_gains=True)


def held(symbol: str, dollars: float, cost: float, account: str = "Joint Brokerage") -> Position:
    """One long-term lot bought at `cost` x today's price."""
    n = round(dollars / px(symbol))
    lot = Lot(quantity=n, cost_basis=n * px(symbol) * cost, acquired=date(2019, 1, 2))
    return pos(symbol, dollars, account, lots=[lot])


def household(*, vea_cost: float = 1.3, extra: list[Position] | None = None) -> list[Position]:
    """`located()` with US equity out of band above target (taxable VTI at a long-term gain)
    and taxable VEA held at `vea_cost` x today's price, long-term."""
    h = located(1_000_000)
    h[0] = held("VTI", 420_000, 0.5)
    h[1] = held("VEA", 180_000, vea_cost)
    return h + (extra or [])


def with_recent_vea(cost: float, days_before: int, vea_cost: float = 1.3) -> list[Position]:
    """`household(vea_cost=...)` whose taxable VEA also holds 50 units bought `days_before` the
    trade date at `cost` x today's price."""
    vea = px("VEA")
    h = household(vea_cost=vea_cost)
    old = h[1].lots[0]
    recent = Lot(
        quantity=50, cost_basis=round(50 * vea * cost, 2), acquired=AS_OF - timedelta(days_before)
    )
    h[1] = Position(
        account="Joint Brokerage",
        symbol="VEA",
        quantity=old.quantity + 50,
        price=vea,
        market_value=round((old.quantity + 50) * vea, 2),
        lots=[old, recent],
    )
    return h


def run(positions: list[Position], mandate: ClientMandate = OFFSET) -> RebalanceProposal:
    return rebalance(Holdings(positions=positions), mandate, as_of=AS_OF)


def trade(
    p: RebalanceProposal, symbol: str, action: str, account: str = "Joint Brokerage"
) -> Trade | None:
    found = [
        t for t in p.trades if t.symbol == symbol and t.action == action and t.account == account
    ]
    assert len(found) <= 1
    return found[0] if found else None


def test_without_the_switch_no_loss_is_harvested() -> None:
    p = run(household(), ClientMandate())
    assert p.realized_gains > 1_000
    assert trade(p, "VEA", "SELL") is None


def test_losses_offset_the_gains_and_each_class_is_bought_back_elsewhere() -> None:
    plain = run(household(), ClientMandate())
    p = run(household())
    gain = plain.realized_gains
    sale = trade(p, "VEA", "SELL")
    assert sale is not None and sale.realized_gain < 0
    # Harvested up to the gain and no further: at most one share's loss beyond it.
    per_share = px("VEA") * 0.3
    assert -per_share <= p.realized_gains <= 0.0
    assert gain - sale.realized_gain * -1 == pytest.approx(p.realized_gains, abs=0.05)
    assert "loss harvested to offset" in sale.reason
    # Bought back through a fund that is not substantially identical, nothing of VEA's index.
    intl = [t for t in p.trades if t.action == "BUY" and t.asset_class == "intl_equity"]
    assert intl and all(GROUPS.group(t.symbol) != GROUPS.group("VEA") for t in intl)
    assert any("wash-sale" in t.reason for t in intl)
    # The allocation after trades is the one the plan without harvesting reaches.
    for cls, w in p.asset_class_weights.items():
        assert w.post_trade == pytest.approx(plain.asset_class_weights[cls].post_trade, abs=0.002)
    (note,) = [c for c in p.checks if c.rule == "offset_harvest"]
    assert "Harvested $" in note.message and "VEA in Joint Brokerage" in note.message


def test_nothing_is_harvested_when_the_plan_realises_no_gain() -> None:
    p = run([*located(1_000_000), pos("SPAXX", 10_000, "Joint Brokerage", cash=True)])
    assert not [t for t in p.trades if t.action == "SELL"]


def test_tax_advantaged_holdings_are_never_harvested() -> None:
    # BND in the IRA "below cost" is no loss: nothing in an IRA is taxed on sale.
    h = household(vea_cost=0.9)
    h[3] = pos(
        "BND",
        190_000,
        "Rollover IRA",
        lots=[Lot(quantity=2_600, cost_basis=300_000, acquired=date(2019, 1, 2))],
    )
    p = run(h)
    assert not [c for c in p.checks if c.rule == "offset_harvest"]
    assert p.realized_gains > 1_000


@pytest.mark.parametrize(("days_before", "harvested"), [(30, False), (31, True)])
def test_a_purchase_in_another_account_within_30_days_blocks_the_harvest(
    days_before: int, harvested: bool
) -> None:
    # VEA bought in the Roth 30 days before the trade date would wash the taxable account's VEA
    # loss (IRC section 1091; Rev. Rul. 2008-5: an IRA purchase counts); 31 days before, not.
    bought = AS_OF - timedelta(days=days_before)
    vea = px("VEA")
    roth = pos(
        "VEA",
        10_000,
        "Roth IRA",
        lots=[Lot(quantity=round(10_000 / vea), cost_basis=10_000, acquired=bought)],
    )
    p = run(household(extra=[roth]))
    assert (trade(p, "VEA", "SELL") is not None) is harvested


def test_a_recent_lot_of_the_same_holding_is_sold_with_the_harvest_not_left_to_wash_it() -> None:
    # VEA's old lot stands 4% below cost: all of it offsets part of what the plan realises, and
    # the 50 units bought five days ago (at today's price) go in the same sale.
    h = with_recent_vea(1.0, days_before=5, vea_cost=1.04)
    gain = run(h, ClientMandate()).realized_gains
    p = run(h)
    sale = trade(p, "VEA", "SELL")
    assert sale is not None and sale.realized_gain < 0
    assert sale.quantity == h[1].quantity  # the old lot and the recent one, all of it
    assert "wash sale" not in sale.reason and sale.wash_loss_disallowed == 0.0
    assert p.realized_gains == pytest.approx(gain + sale.realized_gain, abs=0.05)
    assert 0 < p.realized_gains < gain


def test_a_recent_lot_at_cost_goes_first_and_the_harvest_stops_at_the_gain() -> None:
    # The walk takes the 50 units bought five days ago at today's price first (kept, they would
    # wash the old lot's loss; sold, they cost nothing), then only as much of the old lot, 30%
    # below cost, as offsets the gain: not all of it.
    h = with_recent_vea(1.0, days_before=5)
    gain = run(h, ClientMandate()).realized_gains
    p = run(h)
    sale = trade(p, "VEA", "SELL")
    assert sale is not None
    assert (sale.lots[0].acquired, sale.lots[0].quantity) == (AS_OF - timedelta(5), 50)
    assert 50 < sale.quantity < h[1].quantity
    assert sale.wash_loss_disallowed == 0.0 and "wash sale" not in sale.reason
    per_share = px("VEA") * 0.3
    assert -per_share <= p.realized_gains <= 0.0
    assert sale.realized_gain == pytest.approx(p.realized_gains - gain, abs=0.05)


def test_a_recent_lot_a_cent_above_cost_is_a_gain_and_not_cleared() -> None:
    # Bought a fraction of a cent per share below today's price: the 50 units carry a gain
    # (to the cent, as the sale itself counts it), so the sale could not take them freely.
    p = run(with_recent_vea(1 - 0.004 / px("VEA"), days_before=5, vea_cost=1.04))
    assert trade(p, "VEA", "SELL") is None


def test_short_term_gain_lots_are_not_sold_to_clear_a_recent_purchase() -> None:
    # Bought 20 days ago below today's price: clearing it would realise a short-term gain.
    p = run(with_recent_vea(0.9, days_before=20))
    assert trade(p, "VEA", "SELL") is None
    assert p.short_term_gains == 0.0


@settings(parent=PROFILE, max_examples=25)  # two plans per example
@given(households())
def test_the_offset_never_adds_gains_or_moves_the_allocation(case) -> None:
    holdings, mandate = case
    plain = rebalance(holdings, mandate.model_copy(update={"offset_gains": False}), as_of=AS_OF)
    p = rebalance(holdings, mandate.model_copy(update={"offset_gains": True}), as_of=AS_OF)
    assert p.realized_gains <= max(plain.realized_gains, 0.0) + 0.01
    for cls, w in p.asset_class_weights.items():
        before = plain.asset_class_weights[cls]
        # The same allocation after trades, but for whole-share rounding of the buy-backs
        # (at most 0.06 points over 150 generated households).
        assert abs(w.post_trade - before.post_trade) <= 0.005, cls
        if abs(before.post_trade - before.target) <= before.band:
            assert abs(w.post_trade - w.target) <= w.band + 1e-6, cls


def test_the_command_line_switch_sets_the_mandate() -> None:
    parser = build_parser()
    on = mandate_from_args(
        parser.parse_args(["rebalance", "book.csv", "--profile", "moderate", "--offset-gains"])
    )
    off = mandate_from_args(parser.parse_args(["rebalance", "book.csv", "--profile", "moderate"]))
    assert on.offset_gains and not off.offset_gains


def test_the_tax_agent_tells_the_offset_from_the_engine_figures() -> None:
    p = run(household())
    facts = tax_facts(p)
    (said,) = facts["gains_offset"]
    assert said.startswith("Harvested $")
    text, _ = write_tax(facts)
    assert said in text


def _vti_loss_beside(ira_units: int) -> tuple[RebalanceProposal, RebalanceProposal]:
    """Taxable VTI at a loss (658 units 20% under cost) beside taxable ITOT at a small gain,
    planned without and with `ira_units` of VTI bought in the Rollover IRA ten days ago."""
    vti = px("VTI")
    h = located(1_000_000)
    h[0] = held("VTI", 200_000, 1.2)
    base = [*h, held("ITOT", 220_000, 0.98)]
    ira = Lot(quantity=ira_units, cost_basis=ira_units * vti, acquired=AS_OF - timedelta(days=10))
    bought = pos("VTI", ira_units * vti, "Rollover IRA", lots=[ira])
    return run(base, ClientMandate()), run([*base, bought], ClientMandate())


def test_a_loss_a_recent_purchase_elsewhere_would_wash_is_not_sold_first() -> None:
    # Both taxable holdings of US equity could shrink the class; VTI stands at a loss, but the
    # IRA's purchase would wash most of it (400 of its 658 units, lost for good in an IRA): the
    # other holdings sell instead.
    free, p = _vti_loss_beside(400)
    assert trade(free, "VTI", "SELL") is not None  # the loss goes first when nothing washes it
    assert trade(p, "VTI", "SELL") is None
    assert any(t.action == "SELL" and t.asset_class == "us_equity" for t in p.trades)


def test_a_loss_a_few_recent_units_elsewhere_would_wash_still_sells_first() -> None:
    # 30 recent IRA units wash 30 of VTI's 658 loss units: the rest of the loss is worth taking.
    _, p = _vti_loss_beside(30)
    sale = trade(p, "VTI", "SELL")
    assert sale is not None
    assert sale.wash_loss_disallowed == pytest.approx(30 * px("VTI") * 0.2, rel=0.01)
