"""The harvesting scan: losses in taxable accounts only, the 30-day window both ways, partners."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portfolio.harvest import in_wash_window, safe_to_rebuy
from portfolio.models import ClientMandate, Holdings, Lot
from portfolio.practice import HouseholdBook, summarise
from tests.book_samples import position

SALE = date(2025, 6, 30)


def _view(positions, threshold=0.0, rate=0.2):
    hh = HouseholdBook(id="H1", holdings=Holdings(positions=positions), mandate=ClientMandate())
    return summarise([hh], as_of=SALE, harvest_threshold=threshold, tax_rate=rate)


def _loss_lot(days_ago: int = 400) -> Lot:
    return Lot(quantity=100, cost_basis=30_000.0, acquired=SALE - timedelta(days=days_ago))


def test_window_is_thirty_days_each_side_inclusive() -> None:
    assert in_wash_window(SALE, SALE - timedelta(days=30))
    assert not in_wash_window(SALE, SALE - timedelta(days=31))
    assert in_wash_window(SALE, SALE + timedelta(days=30))
    assert not in_wash_window(SALE, SALE + timedelta(days=31))
    assert safe_to_rebuy(SALE) == date(2025, 7, 31)
    assert not in_wash_window(SALE, safe_to_rebuy(SALE))
    assert in_wash_window(SALE, safe_to_rebuy(SALE) - timedelta(days=1))


def test_loss_in_taxable_account_is_a_candidate_with_partner_and_tax_saved() -> None:
    view = _view([position("Joint Taxable", "VTI", 100, 250.0, [_loss_lot()])])
    row = view.harvest.iloc[0]
    assert row["loss"] == pytest.approx(5_000.0)
    assert row["tax_saved"] == pytest.approx(1_000.0)
    assert row["replacement"] == "ITOT"
    assert row["safe_to_rebuy"] == date(2025, 7, 31)
    assert bool(row["harvestable"])
    assert view.summary.loc[0, "harvestable_loss"] == pytest.approx(5_000.0)


def test_ira_loss_is_no_candidate() -> None:
    view = _view([position("Rollover IRA", "VTI", 100, 250.0, [_loss_lot()])])
    assert view.harvest.empty
    assert view.summary.loc[0, "harvestable_loss"] == 0.0


@pytest.mark.parametrize(("days_before", "flagged"), [(30, True), (31, False), (0, True)])
def test_purchase_before_the_sale_in_another_account_flags_it(days_before, flagged) -> None:
    recent = Lot(quantity=10, cost_basis=2_400.0, acquired=SALE - timedelta(days=days_before))
    view = _view(
        [
            position("Joint Taxable", "VTI", 100, 250.0, [_loss_lot()]),
            # VTSAX is substantially identical to VTI (same index), bought in the IRA.
            position("Rollover IRA", "VTSAX", 10, 250.0, [recent]),
        ]
    )
    row = view.harvest.iloc[0]
    assert bool(row["wash_risk"]) is flagged
    assert bool(row["harvestable"]) is not flagged
    if flagged:
        assert row["recent_purchase"] == SALE - timedelta(days=days_before)


def test_the_lot_sold_is_not_its_own_replacement() -> None:
    # Bought 10 days ago at a loss: selling it alone is no wash sale.
    lot = Lot(quantity=100, cost_basis=30_000.0, acquired=SALE - timedelta(days=10))
    view = _view([position("Joint Taxable", "VTI", 100, 250.0, [lot])])
    assert not bool(view.harvest.iloc[0]["wash_risk"])


def test_threshold_and_rate_are_applied() -> None:
    view = _view([position("Joint Taxable", "VTI", 100, 250.0, [_loss_lot()])], threshold=6_000)
    assert not bool(view.harvest.iloc[0]["harvestable"])
    with pytest.raises(ValueError, match="tax rate"):
        _view([position("Joint Taxable", "VTI", 100, 250.0, [_loss_lot()])], rate=1.5)


def test_a_stock_has_no_partner_and_gains_are_no_candidates() -> None:
    gain = Lot(quantity=10, cost_basis=100.0, acquired=SALE - timedelta(days=400))
    view = _view(
        [
            position("Joint Taxable", "AAPL", 100, 150.0, [_loss_lot()]),
            position("Joint Taxable", "BND", 10, 70.0, [gain]),
        ]
    )
    assert list(view.harvest["symbol"]) == ["AAPL"]
    assert view.harvest.iloc[0]["replacement"] is None
