"""Tax-lot selection for sells and the realised gains they would produce.

Holding period (IRS Publication 550, "Holding Period"): long-term means held more than one year;
counting starts the day after acquisition and includes the day of sale, so a lot is long-term
only when sold after the calendar anniversary of its purchase (bought 2023-03-01, sold
2024-03-01: short-term; sold 2024-03-02: long-term). The clock runs to the trade date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from portfolio.models import Lot

WASH_WINDOW = timedelta(days=30)  # IRS Publication 550, "Wash Sales": 30 days before or after


@dataclass(frozen=True)
class LotPick:
    """Units a sale takes from one lot: what a "versus purchase" instruction names (acquired,
    cost), so the fill relieves the lots the plan counted the gain on."""

    acquired: date | None
    quantity: float
    unit_cost: float | None
    line: int | None = None  # the file line of the lot, when it came from one

    def short_term(self, sold: date) -> bool:
        return self.acquired is not None and not is_long_term(self.acquired, sold)


@dataclass(frozen=True)
class LotSale:
    quantity: float
    realized_gain: float | None
    short_term_gain: float | None
    # Lots a loss was taken from: (acquired, quantity) so wash-sale checks can tell them apart.
    loss_lots: tuple[tuple[date | None, float], ...] = ()
    # Every lot the sale walks, in its order: a lot sold is no replacement for a loss.
    picks: tuple[LotPick, ...] = ()

    @property
    def sold_lots(self) -> tuple[tuple[date | None, float], ...]:
        return tuple((p.acquired, p.quantity) for p in self.picks)


def anniversary(acquired: date) -> date:
    """The same calendar day a year later; 29 February falls on 28 February."""
    try:
        return acquired.replace(year=acquired.year + 1)
    except ValueError:  # 29 February in a leap year
        return date(acquired.year + 1, 2, 28)


def long_term_from(acquired: date) -> date:
    """The first trade date on which the lot is long-term: the day after its anniversary."""
    return anniversary(acquired) + timedelta(days=1)


def is_long_term(acquired: date, sold: date) -> bool:
    """Held more than one year, comparing calendar dates (never a day count)."""
    return sold > anniversary(acquired)


def _is_short_term(lot: Lot, as_of: date) -> bool:
    # A lot with no date is taken as long-term: most custodians omit the date only on old lots,
    # and the gain itself is still reported.
    return lot.acquired is not None and not is_long_term(lot.acquired, as_of)


def _unit_cost(lot: Lot) -> float | None:
    if lot.cost_basis is None or lot.quantity <= 0:
        return None
    return lot.cost_basis / lot.quantity


def has_gain(lot: Lot, price: float) -> bool:
    """Selling the whole lot at `price` realises a gain of at least a cent.

    Gains are reported in dollars and cents (Form 8949); a lot bought at today's price carries
    no gain, even when its cost per share, a quotient, differs from the price in the last bits.
    """
    return lot.cost_basis is not None and round(price * lot.quantity - lot.cost_basis, 2) > 0


def bought_within_wash_window(lot: Lot | LotPick, as_of: date) -> bool:
    """Acquired in the 30 days before the trade date (IRC section 1091's look-back)."""
    return lot.acquired is not None and as_of - WASH_WINDOW <= lot.acquired <= as_of


def walk_order(lots: list[Lot], price: float, as_of: date, *, tax_aware: bool) -> list[Lot]:
    """The order a sale takes lots in. Tax-aware (specific identification, Treas. Reg.
    1.1012-1(c)): lots bought in the last 30 days that carry no gain first, since kept they
    would wash the loss of any older lot sold with them (IRC section 1091) and sold they cost
    nothing; then highest unit cost first, so losses before gains, and short-term gain lots
    last. Otherwise first-in, first-out, the custodians' default (Treas. Reg. 1.1012-1(c)(1))."""
    if not tax_aware:
        return sorted(lots, key=lambda lt: (lt.acquired is None, lt.acquired or date.min))
    order = sorted(lots, key=lambda lt: -(_unit_cost(lt) or 0.0))

    def st_gain(lt: Lot) -> bool:
        return _is_short_term(lt, as_of) and has_gain(lt, price)

    rest = [lt for lt in order if not st_gain(lt)]
    recent = [lt for lt in rest if bought_within_wash_window(lt, as_of)]
    if recent:
        rest = recent + [lt for lt in rest if not bought_within_wash_window(lt, as_of)]
    return rest + [lt for lt in order if st_gain(lt)]


def sell_from_lots(
    lots: list[Lot],
    wanted: float,
    price: float,
    as_of: date,
    *,
    tax_aware: bool,
    forced: float,
    whole: bool,
) -> LotSale:
    """Pick lots for a sale of `wanted` units, `forced` of which a rule requires (cap, exclusion).

    Tax-aware: in `walk_order` (recent lots without a gain, then losses, highest unit cost
    first, then long-term lots), and the discretionary part never realises a short-term gain
    (the planner asks for those as `forced` units when a band needs them). Otherwise first-in,
    first-out, the custodians' default.
    """
    if not lots:
        return LotSale(wanted, None, None)
    order = walk_order(lots, price, as_of, tax_aware=tax_aware)

    # Lots a discretionary sale may touch: no short-term gain.
    def st_gain(lt: Lot) -> bool:
        return _is_short_term(lt, as_of) and has_gain(lt, price)

    if tax_aware:
        free = sum(lt.quantity for lt in order if not st_gain(lt))
        # Forced units take the free lots first; the discretionary rest only what free lots remain,
        # so short-term units sold never exceed what the forced part alone would need.
        discretionary = max(0.0, min(wanted - forced, free - forced))
        allowed = min(wanted, forced + discretionary)
        if whole:
            allowed = math.floor(allowed + 1e-9) if allowed < wanted else wanted
        # Discretionary units come from free lots first (the walk's order); forced units may
        # use any lot.
    else:
        allowed = wanted

    remaining = allowed
    gain = 0.0
    short = 0.0
    known = True
    loss_lots: list[tuple[date | None, float]] = []
    sold: list[LotPick] = []
    for lt in order:
        if remaining <= 1e-12:
            break
        take = min(lt.quantity, remaining)
        remaining -= take
        cost = _unit_cost(lt)
        sold.append(LotPick(lt.acquired, take, cost, lt.line))
        if cost is None:
            known = False
            continue
        g = (price - cost) * take
        if g < 0:
            loss_lots.append((lt.acquired, take))
        gain += g
        if _is_short_term(lt, as_of):
            short += g
    if not known:
        return LotSale(allowed, None, None, (), tuple(sold))  # lots known, gain not
    return LotSale(allowed, round(gain, 2), round(short, 2), tuple(loss_lots), tuple(sold))
