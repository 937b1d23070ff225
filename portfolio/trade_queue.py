"""A book plan as a file: every household's proposed trades, one line each, for review.

The nightly queue of `portfolio book FILE --trades OUT.csv`: what the vectorised planner
(`batch.plan_columns`) proposes for each household, before anyone approves it. It is not an
order file: nothing here is approved, and an order file is written from a run's approved or
executed trades (`orders.to_csv`). Numbers are written as the order files write them (plain
decimals, never exponent notation), a sale's lots as "acquired:quantity@unit cost", and text
that a spreadsheet would take for a formula is quoted with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import pandas as pd

from portfolio.lots import LotPick
from portfolio.orders import format_number, lot_piece, neutralise

QUEUE_HEADER = [
    "Household",
    "Account",
    "Action",
    "Symbol",
    "Quantity",
    "Price",
    "Value",
    "Asset Class",
    "Realized Gain",
    "Short-Term Gain",
    "Wash Sale Disallowed",
    "Lots",
    "Reason",
]


def _money(value: float) -> str:
    """Cents, signed (a realised loss is a negative figure); blank where the plan has no figure
    (the gain of a purchase, or of a sale of a holding without a cost basis)."""
    return "" if value != value else f"{value:.2f}"


def _lots(picks: Sequence[LotPick]) -> str:
    return ";".join(lot_piece(lot.acquired, lot.quantity, lot.unit_cost) for lot in picks)


def queue_csv(trades: pd.DataFrame) -> str:
    """The plan's trades (`plan_columns`' frame) as CSV text, in the plan's order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(QUEUE_HEADER)
    columns = zip(
        trades["household"].tolist(),
        trades["account"].tolist(),
        trades["action"].tolist(),
        trades["symbol"].tolist(),
        trades["quantity"].tolist(),
        trades["price"].tolist(),
        trades["value"].tolist(),
        trades["asset_class"].tolist(),
        trades["realized_gain"].tolist(),
        trades["short_term_gain"].tolist(),
        trades["wash_disallowed"].tolist(),
        trades["lots"].tolist(),
        trades["reason"].tolist(),
        strict=True,
    )
    for hid, acct, action, sym, qty, price, value, cls, gain, short, washed, lots, why in columns:
        writer.writerow(
            [
                neutralise(str(hid)),
                neutralise(str(acct)),
                action,
                neutralise(str(sym)),
                format_number(qty),
                format_number(price, 4),
                _money(value),
                cls,
                _money(gain),
                _money(short),
                _money(washed),
                _lots(lots) if action == "SELL" else "",
                neutralise(str(why)),
            ]
        )
    return out.getvalue()


__all__ = ["QUEUE_HEADER", "queue_csv"]
