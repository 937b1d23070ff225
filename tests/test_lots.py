"""Tax-lot selection: which lots a sale takes and the gains it realises."""

from __future__ import annotations

from datetime import date

import pytest

from portfolio.lots import sell_from_lots
from portfolio.models import Lot

AS_OF = date(2025, 6, 30)
PRICE = 100.0

OLD_CHEAP = Lot(quantity=10, cost_basis=10 * 40.0, acquired=date(2019, 5, 1))  # LT gain $60/u
NEW_GAIN = Lot(quantity=10, cost_basis=10 * 70.0, acquired=date(2025, 4, 1))  # ST gain $30/u
OLD_DEAR = Lot(quantity=10, cost_basis=10 * 90.0, acquired=date(2021, 8, 1))  # LT gain $10/u
NEW_LOSS = Lot(quantity=10, cost_basis=10 * 120.0, acquired=date(2025, 5, 1))  # ST loss $20/u
LOTS = [OLD_CHEAP, NEW_GAIN, OLD_DEAR, NEW_LOSS]


def sale(wanted: float, *, tax_aware: bool = True, forced: float = 0.0, whole: bool = True):
    return sell_from_lots(
        LOTS, wanted, PRICE, AS_OF, tax_aware=tax_aware, forced=forced, whole=whole
    )


def test_highest_cost_first_harvests_the_loss_then_the_dearest_long_term_lot() -> None:
    s = sale(15)
    # 10 units of the $120 lot (-$200), then 5 of the $90 lot (+$50).
    assert s.quantity == 15
    assert s.realized_gain == pytest.approx(-200 + 50)
    assert s.short_term_gain == pytest.approx(-200)


def test_discretionary_sale_stops_short_of_a_short_term_gain() -> None:
    s = sale(35)
    # Free lots: the loss lot and both long-term lots (30 units); the $70 lot is short-term gain.
    assert s.quantity == 30
    assert s.realized_gain == pytest.approx(-200 + 100 + 600)
    assert s.short_term_gain == pytest.approx(-200)


def test_forced_sale_may_realise_a_short_term_gain() -> None:
    s = sale(35, forced=35)
    assert s.quantity == 35
    assert s.realized_gain == pytest.approx(-200 + 100 + 600 + 5 * 30)
    assert s.short_term_gain == pytest.approx(-200 + 5 * 30)


def test_partly_forced_sale_touches_short_term_lots_only_for_the_forced_part() -> None:
    s = sale(38, forced=33)
    # 30 free units + 3 forced from the short-term lot; the other 5 discretionary units would
    # each be a short-term gain, so they are dropped.
    assert s.quantity == 33
    assert s.short_term_gain == pytest.approx(-200 + 3 * 30)


def test_first_in_first_out_when_not_tax_aware() -> None:
    s = sale(15, tax_aware=False)
    # 2019 lot (10 x $60), then 5 of the 2021 lot (5 x $10).
    assert s.quantity == 15
    assert s.realized_gain == pytest.approx(600 + 50)
    assert s.short_term_gain == 0.0
    s = sale(35, tax_aware=False)
    # ... then all of the April lot (+$300) and 5 of the May lot (-$100), by date alone.
    assert s.quantity == 35
    assert s.realized_gain == pytest.approx(600 + 100 + 300 - 100)
    assert s.short_term_gain == pytest.approx(300 - 100)


def test_fractional_limit_is_exact_and_whole_limit_rounds_down() -> None:
    lots = [
        Lot(quantity=2.5, cost_basis=2.5 * 50.0, acquired=date(2020, 1, 1)),
        Lot(quantity=5, cost_basis=5 * 60.0, acquired=date(2025, 6, 1)),
    ]
    frac = sell_from_lots(lots, 4.0, PRICE, AS_OF, tax_aware=True, forced=0.0, whole=False)
    assert frac.quantity == pytest.approx(2.5)
    whole = sell_from_lots(lots, 4.0, PRICE, AS_OF, tax_aware=True, forced=0.0, whole=True)
    assert whole.quantity == 2


def test_a_year_and_a_day_is_long_term() -> None:
    lots = [Lot(quantity=10, cost_basis=500.0, acquired=date(2024, 6, 29))]
    s = sell_from_lots(lots, 10, PRICE, AS_OF, tax_aware=True, forced=0, whole=True)
    assert s.quantity == 10 and s.short_term_gain == 0.0 and s.realized_gain == 500.0
    lots = [Lot(quantity=10, cost_basis=500.0, acquired=date(2024, 6, 30))]  # exactly one year
    s = sell_from_lots(lots, 10, PRICE, AS_OF, tax_aware=True, forced=0, whole=True)
    assert s.quantity == 0


def test_unknown_cost_basis_gives_no_gain_estimate() -> None:
    lots = [Lot(quantity=10, cost_basis=None, acquired=None)]
    s = sell_from_lots(lots, 5, PRICE, AS_OF, tax_aware=True, forced=0, whole=True)
    assert (s.quantity, s.realized_gain, s.short_term_gain) == (5, None, None)


def test_no_lots_sells_what_is_wanted() -> None:
    s = sell_from_lots([], 7, PRICE, AS_OF, tax_aware=True, forced=0, whole=True)
    assert (s.quantity, s.realized_gain) == (7, None)


# Holding period boundaries (IRS Publication 550): more than one year, by calendar dates.
@pytest.mark.parametrize(
    ("acquired", "sold", "long_term"),
    [
        (date(2023, 3, 1), date(2024, 3, 1), False),  # 366 days across 29 February: short-term
        (date(2023, 3, 1), date(2024, 3, 2), True),
        (date(2023, 1, 3), date(2024, 1, 3), False),
        (date(2023, 1, 3), date(2024, 1, 4), True),
        (date(2024, 2, 29), date(2025, 2, 28), False),
        (date(2024, 2, 29), date(2025, 3, 1), True),
        (date(2025, 7, 1), date(2025, 6, 30), False),  # bought after the trade date
    ],
)
def test_long_term_is_more_than_one_year_by_calendar_date(
    acquired: date, sold: date, long_term: bool
) -> None:
    from portfolio.lots import is_long_term

    assert is_long_term(acquired, sold) is long_term
    lot = [Lot(quantity=1, cost_basis=50.0, acquired=acquired)]
    s = sell_from_lots(lot, 1, PRICE, sold, tax_aware=False, forced=0, whole=True)
    assert s.short_term_gain == (0.0 if long_term else 50.0)


def test_a_lot_bought_at_todays_price_has_no_gain_to_avoid() -> None:
    """17,303.19 / 73 is 237.0299... in floating point, below the 237.03 price: no gain for all
    that, so the lot is sold before a long-term gain; a cent of gain makes it a short-term gain."""
    today = Lot(quantity=73, cost_basis=17_303.19, acquired=AS_OF)
    old = Lot(quantity=50, cost_basis=9_743.72, acquired=date(2019, 2, 2))
    s = sell_from_lots([old, today], 30, 237.03, AS_OF, tax_aware=True, forced=0, whole=False)
    assert s.quantity == pytest.approx(30)
    assert s.realized_gain == pytest.approx(0.0, abs=0.01)
    cent = Lot(quantity=73, cost_basis=17_303.18, acquired=AS_OF)
    s = sell_from_lots([old, cent], 60, 237.03, AS_OF, tax_aware=True, forced=0, whole=False)
    assert s.quantity == pytest.approx(50)  # the one-cent short-term gain is not touched
    assert s.short_term_gain == 0.0
