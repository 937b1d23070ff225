"""Which lots a class's reduction takes first: a taxable loss before tax-free sales, but only its
lots without a gain, and a gain holding's lots at a loss likewise; a loss purchases elsewhere would
mostly wash, last; gains only to the band's edge, even while the household raises cash."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portfolio.engine import rebalance
from portfolio.models import ClientMandate, Holdings, Lot, RebalanceProposal, Trade
from portfolio.securities import load_securities
from tests.book_samples import PRICES, cash, position

AS_OF = date(2025, 6, 30)
OLD = date(2019, 3, 1)
VWO, BND, VTI = PRICES["VWO"], PRICES["BND"], PRICES["VTI"]
IEMG = load_securities().price("IEMG") or 55.0
PRICES_SGOV = load_securities().price("SGOV") or 100.0
EXACT = ClientMandate(fractional=True, min_trade_value=0.0)


def lot(q: float, unit_cost: float, acquired: date = OLD) -> Lot:
    return Lot(quantity=q, cost_basis=round(q * unit_cost, 2), acquired=acquired)


def sale(p: RebalanceProposal, account: str, symbol: str) -> Trade | None:
    got = [
        t for t in p.trades if t.action == "SELL" and t.account == account and t.symbol == symbol
    ]
    return got[0] if got else None


def test_a_loss_holding_offers_its_loss_lots_first_and_its_gain_lots_after_tax_free_sales() -> None:
    # Overall at a loss (600 units 25% under cost, 200 units 20% over), so it sells first; but
    # its gain lot is taxed, the Roth's units are not: the Roth sells before the gain lot.
    taxable = [lot(600, VWO * 1.25), lot(200, VWO * 0.8)]
    h = Holdings(
        positions=[
            position("Joint Taxable", "VWO", 800, VWO, taxable),
            position("Joint Taxable", "VTI", 200, VTI, [lot(200, VTI)]),
            cash("Joint Taxable", 5_000),
            position("Roth IRA", "VWO", 1_000, VWO, [lot(1_000, VWO * 0.5)]),
            cash("Roth IRA", 1_000),
        ]
    )
    p = rebalance(h, EXACT, as_of=AS_OF)
    mine = sale(p, "Joint Taxable", "VWO")
    roth = sale(p, "Roth IRA", "VWO")
    assert mine is not None and roth is not None
    assert mine.quantity == pytest.approx(600)
    assert [lt.quantity for lt in mine.lots] == [600]
    assert mine.realized_gain == pytest.approx(-600 * VWO * 0.25, abs=0.05)
    # Not a share of the gain lot is sold while the Roth still has units to give.
    assert roth.quantity == pytest.approx(1_000)
    em = p.asset_class_weights["emerging_equity"]
    assert abs(em.post_trade - em.target) <= em.band


def _gain_holding_with_a_loss_lot(
    ira_recent: float = 0.0, unknown: float = 0.0
) -> RebalanceProposal:
    """About $270,000, emerging markets at 10% against a 6% target: taxable VWO at a gain overall
    (300 units at half today's price, 100 bought dearer, at a loss) beside taxable IEMG at a small
    gain. `ira_recent`: VWO units bought 10 days ago in the Rollover IRA."""
    ira = [lot(ira_recent, VWO, AS_OF - timedelta(days=10))] if ira_recent else []
    vwo = [lot(300, VWO * 0.5), lot(100, VWO * 1.3)]
    vwo += [Lot(quantity=unknown, cost_basis=None, acquired=OLD)] if unknown else []
    h = Holdings(
        positions=[
            position("Joint Taxable", "VWO", 400 + unknown, VWO, vwo),
            position("Joint Taxable", "IEMG", 120, IEMG, [lot(120, IEMG * 0.95)]),
            position("Joint Taxable", "VTI", 450, VTI, [lot(450, VTI)]),
            cash("Joint Taxable", 2_000),
            position("Rollover IRA", "BND", 1_400, BND, [lot(1_400, BND)]),
            *([position("Rollover IRA", "VWO", ira_recent, VWO, ira)] if ira_recent else []),
            cash("Rollover IRA", 1_000),
        ]
    )
    return rebalance(h, EXACT, as_of=AS_OF)


def loss_units(t: Trade | None) -> float:
    if t is None:
        return 0.0
    return sum(lt.quantity for lt in t.lots if (lt.cost_basis or 0) > lt.quantity * VWO)


def test_a_gain_holdings_loss_lots_sell_before_other_gains() -> None:
    # By holding, IEMG (5% gain) sells before VWO (30% gain overall), and VWO's sale would take
    # only part of its loss lot. Lot by lot, VWO's 100 loss units cost nothing and save tax: they
    # sell first, in full, and IEMG's gain only as far as the band's edge still needs.
    p = _gain_holding_with_a_loss_lot()
    vwo, iemg = sale(p, "Joint Taxable", "VWO"), sale(p, "Joint Taxable", "IEMG")
    assert vwo is not None and loss_units(vwo) == pytest.approx(100)
    assert vwo.quantity == pytest.approx(100)  # not a unit of its gain lot
    assert iemg is not None and 0 < iemg.quantity < 120
    em = p.asset_class_weights["emerging_equity"]
    assert em.post_trade <= em.target + em.band


def test_a_gain_holdings_loss_lots_wait_when_recent_ira_purchases_would_take_the_loss() -> None:
    # 100 VWO units bought in the IRA 10 days ago would replace every loss unit, and the loss
    # would be lost for good (Rev. Rul. 2008-5): the loss lot gets no place ahead of the gains.
    p = _gain_holding_with_a_loss_lot(ira_recent=100)
    assert sale(p, "Joint Taxable", "VWO") is None  # IEMG's small gain covers the band
    assert sale(p, "Joint Taxable", "IEMG") is not None


def _two_loss_lots(third: list[Lot] | None = None) -> RebalanceProposal:
    """IEMG at a small loss overall (lots bought at 1.5x and 0.6x today's price), VWO at a gain
    overall (at 1.1x and 0.5x, and `third` if given); emerging markets over target."""
    vwo = [lot(100, VWO * 1.1), lot(200, VWO * 0.5), *(third or [])]
    h = Holdings(
        positions=[
            position(
                "Joint Taxable", "IEMG", 200, IEMG, [lot(100, IEMG * 1.5), lot(100, IEMG * 0.6)]
            ),
            position("Joint Taxable", "VWO", sum(lt.quantity for lt in vwo), VWO, vwo),
            position("Joint Taxable", "VTI", 450, VTI, [lot(450, VTI)]),
            cash("Joint Taxable", 2_000),
            position("Rollover IRA", "BND", 2_600, BND, [lot(2_600, BND)]),
            cash("Rollover IRA", 1_000),
        ]
    )
    return rebalance(h, EXACT, as_of=AS_OF)


def test_the_deeper_loss_sells_first_whichever_holding_it_is_in() -> None:
    # IEMG's loss lot is 33% under cost, VWO's 9%: both holdings' loss lots are ranked by their
    # own loss, so IEMG's goes first (a holding's overall figure would put VWO's first).
    p = _two_loss_lots()
    iemg = sale(p, "Joint Taxable", "IEMG")
    assert iemg is not None and iemg.realized_gain is not None
    assert iemg.lots[0].quantity > 80 and iemg.lots[0].cost_basis > iemg.lots[0].quantity * IEMG
    vwo = sale(p, "Joint Taxable", "VWO")
    assert vwo is None or vwo.quantity < 100


def test_lots_of_unknown_cost_keep_their_holding_in_its_place_among_the_gains() -> None:
    # A lot without a cost is walked after the gain lots: the holding cannot promise a sale
    # without a gain, so it is not split and keeps its place by its overall gain, after IEMG's.
    p = _gain_holding_with_a_loss_lot(unknown=300)
    iemg, vwo = sale(p, "Joint Taxable", "IEMG"), sale(p, "Joint Taxable", "VWO")
    assert iemg is not None and iemg.quantity == pytest.approx(120)
    assert vwo is not None
    assert sum(lt.quantity for lt in vwo.lots if lt.cost_basis < lt.quantity * VWO) < 300


def _washed_by_roth(recent: float) -> RebalanceProposal:
    """Taxable VWO 2,000 units at a loss; the Roth holds 1,600, `recent` of them bought 10 days
    ago (replacement shares: IRC section 1091, Rev. Rul. 2008-5)."""
    roth = [lot(1_600 - recent, VWO * 0.5)] + (
        [lot(recent, VWO, AS_OF - timedelta(days=10))] if recent else []
    )
    h = Holdings(
        positions=[
            position("Joint Taxable", "VWO", 2_000, VWO, [lot(2_000, VWO * 1.2)]),
            position("Joint Taxable", "VTI", 450, VTI, [lot(450, VTI)]),
            cash("Joint Taxable", 5_000),
            position("Roth IRA", "VWO", 1_600, VWO, roth),
            cash("Roth IRA", 1_000),
        ]
    )
    return rebalance(h, EXACT, as_of=AS_OF)


def test_a_loss_a_few_recent_ira_units_would_wash_still_sells_first() -> None:
    p = _washed_by_roth(50)
    mine = sale(p, "Joint Taxable", "VWO")
    assert mine is not None and mine.quantity == pytest.approx(2_000)
    # 50 of the 2,000 loss units are replaced by the Roth's purchase: their loss is lost.
    assert mine.wash_loss_disallowed == pytest.approx(50 * VWO * 0.2, abs=0.05)
    assert mine.realized_gain == pytest.approx(-1_950 * VWO * 0.2, abs=0.05)


def test_a_loss_recent_ira_units_would_mostly_wash_sells_after_the_ira() -> None:
    # 1,100 of 1,600 Roth units are recent: a sale of the taxable loss would lose more of it in
    # the IRA for good (1,100 units) than it realised (900), so the Roth sells first.
    p = _washed_by_roth(1_100)
    roth = sale(p, "Roth IRA", "VWO")
    assert roth is not None and roth.quantity == pytest.approx(1_600)
    mine = sale(p, "Joint Taxable", "VWO")
    sold = mine.quantity if mine else 0.0
    assert sold < 2_000


def test_gains_stop_at_the_bands_edge_while_the_household_raises_cash() -> None:
    # One taxable account, no cash: equity far above target at a long-term gain, bonds above
    # target inside their band (sold for the cash). The equity sale realises gains only to 90%
    # of the band's edge, not on to target for the cash; the buys keep cash inside its band.
    h = Holdings(
        positions=[
            position("Joint Taxable", "VTI", 2_000, VTI, [lot(2_000, VTI * 0.5)]),
            position("Joint Taxable", "BND", 2_208, BND, [lot(2_208, BND)]),
        ]
    )
    p = rebalance(h, EXACT, as_of=AS_OF)
    us = p.asset_class_weights["us_equity"]
    assert us.post_trade == pytest.approx(us.target + 0.9 * us.band, abs=1e-3)
    c = p.asset_class_weights["cash"]
    assert c.current == 0.0
    assert c.target - c.band <= c.post_trade <= c.target + c.band


def test_a_t_bill_etf_sold_for_the_buys_names_its_lots_and_gain() -> None:
    # No swept cash: the buys are funded by selling SGOV, a taxable sale like any other, whose
    # gain is counted on the lots it takes (the ones without a gain first).
    sgov = PRICES_SGOV
    lots = [lot(600, sgov * 0.98), lot(400, sgov * 1.0, AS_OF - timedelta(days=40))]
    h = Holdings(
        positions=[
            position("Joint Taxable", "SGOV", 1_000, sgov, lots),
            position("Joint Taxable", "VTI", 10, VTI, [lot(10, VTI)]),
        ]
    )
    p = rebalance(h, EXACT, as_of=AS_OF)
    (t,) = [t for t in p.trades if t.symbol == "SGOV"]
    assert t.action == "SELL" and 400 < t.quantity < 1_000
    assert (t.lots[0].acquired, t.lots[0].quantity) == (AS_OF - timedelta(days=40), 400)
    assert sum(lt.quantity for lt in t.lots) == pytest.approx(t.quantity)
    assert t.realized_gain == pytest.approx((t.quantity - 400) * sgov * 0.02, abs=0.05)
    assert p.realized_gains == pytest.approx(t.realized_gain)


def test_a_cash_floor_is_raised_even_at_a_gain_where_the_band_alone_would_not_be() -> None:
    # On target and in band, everything in one taxable account at a long-term gain, no cash.
    # Without a floor nothing is sold (the cash band alone realises no gain); the mandate's 5%
    # floor is a rule, so it is raised, gains and all.
    weights = {"VTI": 0.33, "VEA": 0.186, "BND": 0.196, "GOVT": 0.031, "SCHP": 0.041}
    weights |= {"BNDX": 0.113, "VB": 0.041, "VWO": 0.062}
    positions = []
    for sym, w in weights.items():
        price = load_securities().price(sym) or 1.0
        n = round(1_000_000 * w / price)
        positions.append(position("Joint Taxable", sym, n, price, [lot(n, price * 0.6)]))
    h = Holdings(positions=positions)
    free = rebalance(h, EXACT, as_of=AS_OF)
    assert free.trades == [] or free.realized_gains == 0.0
    floor = EXACT.model_copy(update={"cash_floor": 0.05})
    p = rebalance(h, floor, as_of=AS_OF)
    assert p.cash_after >= 0.05 * p.total_value - 0.01
    assert p.realized_gains > 0


def test_rows_without_a_place_in_the_sell_order_sell_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A row whose key is missing (no gain or loss ratio to rank it by) has no place in the
    order: it sells nothing, and the other rows still sell, even when no row has a key."""
    import numpy as np

    import portfolio.planner.sells as sells
    from tests.book_samples import generated_book

    seen: list[tuple] = []
    real = sells.source_sales

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        if out.any():
            seen.append((args, kwargs, out))
        return out

    monkeypatch.setattr(sells, "source_sales", spy)
    for h in generated_book(12, seed=5):
        rebalance(h.holdings, h.mandate, as_of=date(2025, 6, 30))
    assert seen, "no household sold anything"
    (s, drift, keys, lookback, *rest), kwargs, sold = seen[0]
    assert not real(s, drift, np.full(len(keys), np.nan), lookback, *rest, **kwargs).any()
    some = keys.astype(float).copy()
    selling = np.flatnonzero(sold)
    some[selling[0]] = np.nan
    out = real(s, drift, some, lookback, *rest, **kwargs)
    assert out[selling[0]] == 0.0
    if len(selling) > 1:
        assert out[selling[1:]].any()
