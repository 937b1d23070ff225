"""Settle: the lots each final taxable sale takes, the gain they realise, and what the wash-sale
rule disallows of their losses.

Stages after the sells may change a sale's size (the buys drop a sale nothing is bought with, a
gains budget cuts one); a sale whose lots were chosen for another size is walked again here. So
the gain on the ticket, the lots its order names and the lots its fill relieves are one choice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from portfolio.lots import LotPick
from portfolio.planner.lookback import Lookback
from portfolio.planner.sells import Sells, walk_row
from portfolio.planner.state import HouseholdState
from portfolio.planner.wash import Match, wash_sales


@dataclass(frozen=True)
class Settled:
    sells: Sells  # realised and short-term gains after the wash-sale rule, picks final
    disallowed: np.ndarray  # per row: loss the wash-sale rule disallows (>= 0)
    lots: dict[int, tuple[LotPick, ...]]  # row -> lots its order names (holdings with lots)
    flags: dict[int, str]  # row -> the wash-sale sentence for its reason
    # row -> its losses deferred into taxable replacement lots (their basis and holding period)
    deferred: dict[int, list[Match]]


def _walked(got: tuple[LotPick, ...] | None, qty: float) -> bool:
    return got is not None and abs(sum(p.quantity for p in got) - qty) <= 1e-6


def settle_sales(
    s: HouseholdState, sells: Sells, sell_qty: np.ndarray, lookback: Lookback
) -> Settled:
    realized, short = sells.realized.copy(), sells.short_term.copy()
    picks: dict[int, tuple[LotPick, ...]] = {}
    rows = np.flatnonzero((sell_qty > 0) & s.taxable_row) if s.lots_of is not None else []
    for i in (int(r) for r in rows):
        got = sells.picks.get(i)
        if not _walked(got, float(sell_qty[i])):
            sale = walk_row(s, i, float(sell_qty[i]), float(sell_qty[i]))
            if sale is None:
                continue
            got = sale.picks
            realized[i] = np.nan if sale.realized_gain is None else sale.realized_gain
            short[i] = np.nan if sale.short_term_gain is None else sale.short_term_gain
        picks[i] = got
    washed = wash_sales(s, picks, sell_qty, lookback)
    # A sale whose gain is not known (a lot without cost) counts no disallowed loss either.
    disallowed = np.where(np.isfinite(realized), washed.disallowed, 0.0)
    hit = disallowed > 0
    realized = np.where(hit, np.round(realized + disallowed, 2), realized)
    short = np.where(hit, np.round(short + washed.short_term, 2), short)
    lots = {i: got for i, got in picks.items() if s.lots(i)}  # no lot invented for an order
    deferred: dict[int, list[Match]] = {}
    for m in washed.matches:
        if m.replacement_taxable and hit[m.row]:
            deferred.setdefault(m.row, []).append(m)
    return Settled(
        replace(sells, realized=realized, short_term=short, picks=picks),
        disallowed,
        lots,
        washed.flags,
        deferred,
    )


def budget_notes(
    s: HouseholdState, settled: Settled, sell_qty: np.ndarray, budget: float
) -> list[str]:
    """The gains budget is kept before the wash-sale rule is applied; where the losses it
    disallows push a client's gains over the budget, say so (the sales stand: cutting them now
    would change which losses are matched)."""
    client = s.client_of_acct[s.acct]
    gain = np.where((sell_qty > 0) & s.taxable_row, np.nan_to_num(settled.sells.realized), 0.0)
    out = []
    for c in np.unique(client[settled.disallowed > 0]):
        mine = client == c
        total, washed = float(gain[mine].sum()), float(settled.disallowed[mine].sum())
        if total > budget + 0.005:
            out.append(
                f"Realised gains exceed the ${budget:,.0f} budget by ${total - budget:,.2f}: "
                f"${washed:,.2f} of losses are disallowed by shares bought in the 30 days "
                "before (wash-sale rule)"
            )
    return out
