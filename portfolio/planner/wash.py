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
- When fewer shares were bought than sold at a loss, the loss shares matched are taken in the
  order of their acquisition, earliest first (Treas. Reg. 1.1091-1(b), (c)); each replacement
  share is matched once, across every sale of the group.
- The gain reported is the sale's gain plus the disallowed loss (Form 8949, adjustment code W).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from portfolio.lots import LotPick, bought_within_wash_window
from portfolio.planner.lookback import Lookback
from portfolio.planner.state import HouseholdState

LOSS_CENT = 0.005  # a pick whose unit cost is above the price by less loses nothing


@dataclass(frozen=True)
class Washed:
    disallowed: np.ndarray  # per row: loss disallowed (>= 0)
    short_term: np.ndarray  # per row: the part of it on short-term lots
    flags: dict[int, str]  # row -> what the ticket says of it


def _loss_per_unit(p: LotPick, price: float) -> float:
    if p.unit_cost is None or p.quantity <= 0:
        return 0.0
    loss = p.unit_cost - price
    return loss if loss * p.quantity > LOSS_CENT else 0.0


def wash_sales(
    s: HouseholdState,
    picks: dict[int, tuple[LotPick, ...]],
    sell_qty: np.ndarray,
    lookback: Lookback,
) -> Washed:
    """Match each group's taxable loss shares sold against its replacement shares."""
    disallowed, short = np.zeros(s.n), np.zeros(s.n)
    flags: dict[int, str] = {}
    if s.lots_of is None:
        return Washed(disallowed, short, flags)
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
        bought: list[tuple[date, float, int]] = []  # (acquired, units still held, row)
        for r in group:
            if not lookback.recent(r):
                continue
            units: dict[date, float] = {}
            for lt in s.lots(r):
                if bought_within_wash_window(lt, s.as_of):
                    units[lt.acquired] = units.get(lt.acquired, 0.0) + lt.quantity
            if s.taxable_row[r] and sell_qty[r] > 0:
                for p in picks.get(r, ()):  # sold the same day: no replacement (see above)
                    if p.acquired in units:
                        units[p.acquired] -= p.quantity
            bought += [(d, q, r) for d, q in units.items() if q > 1e-9]
        left = sum(q for _, q, _ in bought)
        if left <= 1e-9:
            continue
        sold = sorted(
            (
                (p.acquired or date.min, p, r)
                for r in group
                if r in picks and s.taxable_row[r] and sell_qty[r] > 0
                for p in picks[r]
                if _loss_per_unit(p, float(s.unit_value[r]))
            ),
            key=lambda x: (x[0], x[2]),
        )
        for _, p, r in sold:
            if left <= 1e-9:
                break
            matched = min(p.quantity, left)
            left -= matched
            amount = matched * _loss_per_unit(p, float(s.unit_value[r]))
            disallowed[r] += amount
            if p.short_term(s.as_of):
                short[r] += amount
        in_ira = {not s.taxable_row[r] for *_, r in bought}
        days = sorted({d for d, _, _ in bought})
        when = f"on {days[0]}" if len(days) == 1 else f"from {days[0]} to {days[-1]}"
        units_bought = sum(q for _, q, _ in bought)
        where = {
            frozenset({False}): "the disallowed loss is added to the basis of the shares bought",
            frozenset({True}): "bought in an IRA, the disallowed loss is lost for good "
            "(Rev. Rul. 2008-5)",
        }.get(
            frozenset(in_ira),
            "the disallowed loss is added to the basis of the shares bought, and lost for good "
            "for those bought in an IRA (Rev. Rul. 2008-5)",
        )
        for r in group:
            if disallowed[r] > LOSS_CENT:
                flags[r] = (
                    f"wash sale: ${disallowed[r]:,.2f} of this loss is disallowed, since "
                    f"{units_bought:g} units of {s.symbol[r]} or a substantially identical fund "
                    f"were bought {when}, within 30 days before the sale (IRC section 1091); "
                    + where
                )
    return Washed(np.round(disallowed, 2), np.round(short, 2), flags)
