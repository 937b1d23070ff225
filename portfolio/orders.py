"""Order files for the custodian: a neutral CSV and the Fidelity Wealthscape order-import layout.

Files are RFC 4180 (comma separated, CRLF line ends, fields quoted when they hold a comma, quote or
line break). A text cell that begins with = + - @ tab or carriage return gets a leading apostrophe,
so a spreadsheet shows it as text instead of evaluating it as a formula.

The neutral file's last column names a sale's tax lots as a versus-purchase instruction does
(acquisition date, quantity and unit cost; IRS Publication 550, "Adequate identification"), so
the custodian relieves the lots the proposal counted the gains on. Wealthscape's import layout has
no such column: there the account's lot-relief method applies, or the advisor sets lots by hand.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from portfolio.models import SoldLot

if TYPE_CHECKING:
    from portfolio.ledger.read_models import RunRecord, TradeRecord

Layout = Literal["neutral", "wealthscape"]
Which = Literal["auto", "approved", "executed"]
LAYOUTS: tuple[str, ...] = ("neutral", "wealthscape")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

NEUTRAL_HEADER = [
    "account",
    "action",
    "symbol",
    "quantity",
    "order_type",
    "limit_price",
    "time_in_force",
    "lots",
]
# Columns A-H of the Wealthscape order import, in order; the file carries no header row.
WEALTHSCAPE_COLUMNS = [
    "Account Number",
    "Account Type",
    "Order Action",
    "Quantity",
    "Symbol",
    "Price Type",
    "Time In Force",
    "Stop Price/Limit Price",
]
WEALTHSCAPE_QUANTITY_DECIMALS = 3


@dataclass(frozen=True)
class OrderLine:
    account: str
    action: str  # BUY | SELL
    symbol: str
    quantity: float
    order_type: str = "MARKET"
    limit_price: float | None = None
    time_in_force: str = "DAY"
    # A sale's tax lots, versus purchase: without them the custodian relieves lots by its own
    # default method (often first in, first out), and the gains differ from the plan's.
    lots: tuple[SoldLot, ...] = ()


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def format_number(value: float | None, decimals: int = 6) -> str:
    """Plain decimal (never exponent notation), trailing zeros dropped; rounds toward zero so a
    sell never exceeds the shares held and a buy never exceeds the cash meant for it."""
    if value is None:
        return ""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"order files hold positive finite numbers, not {value!r}")
    scale = 10**decimals
    truncated = math.floor(value * scale + 1e-9) / scale
    text = f"{truncated:.{decimals}f}".rstrip("0").rstrip(".")
    return text or "0"


def lines_from_run(run: RunRecord, which: Which = "auto") -> list[OrderLine]:
    """Executed trades (filled quantities) or approved trades, from `Ledger.run()`.

    "auto" means executed if anything was filled, else approved. Compliance-vetoed trades are
    never included, whatever was recorded.
    """
    trades = [t for t in run.trades if t.compliance == "APPROVED"]
    filled = [t for t in trades if t.filled]
    if which == "executed" or (which == "auto" and filled):
        return [_line(t, t.execution.quantity) for t in filled if t.execution]
    approved = [t for t in trades if t.decided == "APPROVE"]
    return [_line(t, t.quantity) for t in approved]


def _line(t: TradeRecord, quantity: float) -> OrderLine:
    return OrderLine(
        account=t.account,
        action=t.action,
        symbol=t.symbol,
        quantity=quantity,
        order_type=t.order_type or "MARKET",
        limit_price=t.limit_price if t.order_type == "LIMIT" else None,
        lots=first_lots(t.lots, quantity),
    )


def first_lots(lots: Sequence[SoldLot], quantity: float) -> tuple[SoldLot, ...]:
    """The named lots, in the plan's order, as far as `quantity` goes (a part fill)."""
    out, left = [], quantity
    for lot in lots:
        if left <= 1e-9:
            break
        take = min(lot.quantity, left)
        left -= take
        cost = None if lot.cost_basis is None else round(lot.cost_basis * take / lot.quantity, 2)
        out.append(lot.model_copy(update={"quantity": take, "cost_basis": cost}))
    return tuple(out)


def lot_text(lots: Sequence[SoldLot]) -> str:
    """ "acquired:quantity@unit cost" per lot, ";" between: the date and cost a versus-purchase
    instruction identifies a lot by."""
    return ";".join(
        lot_piece(
            lot.acquired,
            lot.quantity,
            None if lot.cost_basis is None else lot.cost_basis / lot.quantity,
        )
        for lot in lots
    )


def lot_piece(acquired: date | None, quantity: float, unit_cost: float | None) -> str:
    """One lot as `lot_text` writes it."""
    when = acquired.isoformat() if acquired else "undated"
    cost = "" if unit_cost is None else f"@{unit_cost:.4f}"
    return f"{when}:{format_number(quantity)}{cost}"


def _neutral_rows(lines: Iterable[OrderLine]) -> list[list[str]]:
    rows = [NEUTRAL_HEADER]
    for o in lines:
        rows.append(
            [
                neutralise(o.account),
                neutralise(o.action),
                neutralise(o.symbol),
                format_number(o.quantity),
                neutralise(o.order_type),
                format_number(o.limit_price),
                neutralise(o.time_in_force),
                lot_text(o.lots),
            ]
        )
    return rows


WEALTHSCAPE_ACTION = {"BUY": "B", "SELL": "S"}
WEALTHSCAPE_PRICE_TYPE = {"MARKET": "M", "LIMIT": "L"}
WEALTHSCAPE_TIF = {"DAY": "D", "GTC": "G"}


def account_number(account: str) -> str:
    """The number in an account label ("ROTH IRA 234567890" -> "234567890"): the last word
    holding a digit, else the label itself; Wealthscape matches accounts by number."""
    numbered = [w for w in account.split() if any(c.isdigit() for c in w)]
    return numbered[-1] if numbered else account


def _wealthscape_rows(lines: Iterable[OrderLine]) -> list[list[str]]:
    rows = []
    for o in lines:
        rows.append(
            [
                neutralise(account_number(o.account)),
                "",  # account type: blank lets the custodian choose (cash or margin)
                WEALTHSCAPE_ACTION[o.action],
                format_number(o.quantity, WEALTHSCAPE_QUANTITY_DECIMALS),
                neutralise(o.symbol),
                WEALTHSCAPE_PRICE_TYPE[o.order_type],
                WEALTHSCAPE_TIF.get(o.time_in_force, "D"),
                format_number(o.limit_price) if o.order_type == "LIMIT" else "",
            ]
        )
    return rows


def to_csv(lines: Sequence[OrderLine], layout: str = "neutral") -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    rows = _neutral_rows(lines) if layout == "neutral" else _wealthscape_rows(lines)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buffer.getvalue()
