"""Wash-sale look-back: the part of a taxable loss that purchases in the 30 days before the sale
disallow, matched share for share as the regulation says.

IRC section 1091 and IRS Publication 550 ("Wash Sales"): a loss is disallowed when substantially
identical securities are acquired within 30 days before or after the sale, in any of the
taxpayer's accounts (IRAs included, Rev. Rul. 2008-5). Purchases after the sale are prevented by
the buy stage; purchases before it, known from the lots, are matched here:

- Replacement shares are the recent purchases of the fund's group held anywhere in the
  household. A recent taxable lot sold in this same proposal is none: the loss it would defer
  goes into its basis and is realised by its own sale the same day. A recent lot in an IRA still
  washes even when sold, and there the disallowed loss is lost for good (Rev. Rul. 2008-5).
- A purchase is never the replacement of its own shares (selling part of one block bought
  within the window is no wash sale, Rev. Rul. 56-602), nor of shares bought after it: shares
  acquired before the shares sold are not treated as their replacement (the practitioners'
  reading of section 1091). Those are flagged on the trade, not counted.
- Loss shares and replacement shares are matched in the order of their acquisition, earliest
  first (Treas. Reg. 1.1091-1(b), (c)); each replacement share once, across every sale of the
  group. An undated lot counts as the oldest (custodians omit dates on old lots).
- The gain reported is the sale's gain plus the disallowed loss (Form 8949, adjustment code W).
  In a taxable replacement the disallowed loss is added to its basis and its holding period
  includes the sold shares' (`Match`, applied to the recorded lots at execution).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from portfolio.lots import LotPick, bought_within_wash_window
from portfolio.planner.lookback import Lookback
from portfolio.planner.state import HouseholdState

LOSS_CENT = 0.005  # a pick whose unit cost is above the price by less loses nothing


@dataclass(frozen=True)
class Match:
    """Loss shares of one sale matched with shares of one recent purchase."""

    row: int  # the sale
    units: float
    loss: float  # disallowed, dollars
    sold_acquired: date | None  # the loss shares' purchase
    replacement_row: int
    replacement_acquired: date
    replacement_taxable: bool


@dataclass(frozen=True)
class Washed:
    disallowed: np.ndarray  # per row: loss disallowed (>= 0)
    short_term: np.ndarray  # per row: the part of it on short-term lots
    flags: dict[int, str]  # row -> what the ticket says of it
    matches: list[Match] = field(default_factory=list)


@dataclass
class _Bought:
    acquired: date
    units: float  # still free to match
    row: int
    taxable: bool


@dataclass(frozen=True)
class _Sold:
    acquired: date | None
    pick: LotPick
    row: int
    loss_per_unit: float


def _loss_per_unit(p: LotPick, price: float) -> float:
    if p.unit_cost is None or p.quantity <= 0:
        return 0.0
    loss = p.unit_cost - price
    return loss if loss * p.quantity > LOSS_CENT else 0.0


def _replacements(
    s: HouseholdState, group: list[int], picks: dict[int, tuple[LotPick, ...]], sell_qty
) -> list[_Bought]:
    """Recent purchases of the group still replacing (a taxable one sold today replaces
    nothing), earliest first; lots of one row bought the same day are one purchase."""
    out: list[_Bought] = []
    for r in group:
        units: dict[date, float] = {}
        for lt in s.lots(r):
            if lt.acquired is not None and bought_within_wash_window(lt, s.as_of):
                units[lt.acquired] = units.get(lt.acquired, 0.0) + lt.quantity
        if not units:
            continue
        taxable = bool(s.taxable_row[r])
        if taxable and sell_qty[r] > 0:
            for p in picks.get(r, ()):
                if p.acquired in units:
                    units[p.acquired] -= p.quantity
        out += [_Bought(d, q, r, taxable) for d, q in units.items() if q > 1e-9]
    return sorted(out, key=lambda b: (b.acquired, b.row))


def _when(days: list[date]) -> str:
    days = sorted(set(days))
    return f"on {days[0]}" if len(days) == 1 else f"from {days[0]} to {days[-1]}"


def wash_sales(
    s: HouseholdState,
    picks: dict[int, tuple[LotPick, ...]],
    sell_qty: np.ndarray,
    lookback: Lookback,
) -> Washed:
    """Match each group's taxable loss shares sold against its replacement shares."""
    disallowed, short = np.zeros(s.n), np.zeros(s.n)
    flags: dict[int, str] = {}
    matches: list[Match] = []
    if s.lots_of is None:
        return Washed(disallowed, short, flags, matches)
    losing = [
        i
        for i, got in picks.items()
        if sell_qty[i] > 0
        and s.taxable_row[i]
        and any(_loss_per_unit(p, float(s.unit_value[i])) for p in got)
    ]
    seen: set[int] = set()
    for i in losing:
        if i in seen:
            continue
        group = [int(r) for r in lookback.rows_of(i).tolist()]
        seen.update(group)
        if not any(lookback.recent(r) for r in group):
            continue
        bought = _replacements(s, group, picks, sell_qty)
        sold = sorted(
            (
                _Sold(p.acquired, p, r, loss)
                for r in group
                if r in picks and s.taxable_row[r] and sell_qty[r] > 0
                for p in picks[r]
                if (loss := _loss_per_unit(p, float(s.unit_value[r])))
            ),
            key=lambda x: (x.acquired or date.min, x.row),
        )
        earlier: dict[int, list[_Bought]] = {}  # row -> purchases before its loss shares
        for lot in sold:
            left = lot.pick.quantity
            for b in bought:
                if left <= 1e-9:
                    break
                if b.units <= 1e-9 or (b.row == lot.row and b.acquired == lot.acquired):
                    continue  # used up, or the very purchase these shares came from
                if lot.acquired is not None and b.acquired <= lot.acquired:
                    earlier.setdefault(lot.row, []).append(b)
                    continue
                units = min(left, b.units)
                left -= units
                b.units -= units
                amount = units * lot.loss_per_unit
                disallowed[lot.row] += amount
                if lot.pick.short_term(s.as_of):
                    short[lot.row] += amount
                matches.append(
                    Match(lot.row, units, amount, lot.acquired, b.row, b.acquired, b.taxable)
                )
        for r in {lot.row for lot in sold}:
            mine = [m for m in matches if m.row == r]
            if disallowed[r] > LOSS_CENT:
                flags[r] = _washed_words(s, r, float(disallowed[r]), mine)
            elif r in earlier:
                days = [b.acquired for b in earlier[r]]
                flags[r] = (
                    f"possible wash sale: {s.symbol[r]} or a substantially identical fund was "
                    f"bought {_when(days)}, within 30 days before this loss sale but before the "
                    "shares sold, so it is not counted as their replacement (the usual reading "
                    "of IRC section 1091); confirm with the client's tax adviser"
                )
    return Washed(np.round(disallowed, 2), np.round(short, 2), flags, matches)


def _washed_words(s: HouseholdState, r: int, amount: float, mine: list[Match]) -> str:
    units = sum(m.units for m in mine)
    ira = {not m.replacement_taxable for m in mine}
    where = {
        frozenset({False}): "the disallowed loss is added to the basis of the shares bought",
        frozenset({True}): "bought in an IRA, the disallowed loss is lost for good "
        "(Rev. Rul. 2008-5)",
    }.get(
        frozenset(ira),
        "the disallowed loss is added to the basis of the shares bought in a taxable account "
        "and lost for good for those bought in an IRA (Rev. Rul. 2008-5)",
    )
    return (
        f"wash sale: ${amount:,.2f} of this loss is disallowed, since {units:,.6g} units of "
        f"{s.symbol[r]} or a substantially identical fund were bought "
        f"{_when([m.replacement_acquired for m in mine])}, within 30 days before the sale "
        f"(IRC section 1091); {where}"
    )
