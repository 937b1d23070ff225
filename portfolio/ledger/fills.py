"""Holdings after fills: what the paper broker's executions leave in each account."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from portfolio.apply import CASH_SYMBOL, Move, apply, book_of
from portfolio.fund_groups import is_swept
from portfolio.lots import walk_order
from portfolio.models import Holdings, Lot, Position, SoldLot, WashDeferral
from portfolio.securities import load_securities

EPS = 1e-9


@dataclass(frozen=True)
class AppliedFill:
    account: str
    symbol: str
    action: str
    quantity: float
    price: float
    commission: float
    asset_class: str
    on: date
    # A sale's lots as the plan named them (specific identification); empty: walk as it would.
    lots: tuple[SoldLot, ...] = ()
    # A sale's disallowed loss carried into taxable replacement lots, scaled to this fill.
    deferred: tuple[WashDeferral, ...] = ()


def _swept(p: Position) -> bool:
    return is_swept(p.symbol, p.is_cash, p.symbol in load_securities())


def _names(lot: Lot, pick: SoldLot) -> bool:
    """The lot a "versus purchase" instruction names: by its file line, else by date and cost."""
    if pick.line is not None and lot.line is not None:
        return pick.line == lot.line
    if lot.acquired != pick.acquired:
        return False
    if lot.cost_basis is None or pick.cost_basis is None:
        return lot.cost_basis is None and pick.cost_basis is None
    unit, named = lot.cost_basis / lot.quantity, pick.cost_basis / pick.quantity
    return abs(unit - named) <= 1e-4 * max(abs(unit), 0.01)  # the pick's basis is in cents


def _sell_lots(
    lots: list[Lot],
    quantity: float,
    price: float,
    on: date,
    tax_aware: bool,
    named: tuple[SoldLot, ...] = (),
):
    """Relieve the lots the plan named, then any rest in the order the plan would choose them
    (portfolio.lots.walk_order: specific identification when tax-aware, else first in, first
    out); cost basis shrinks in proportion to the shares left in a lot, and the others keep
    their place."""
    left = quantity
    taken: dict[int, float] = {}
    for pick in named:
        want = min(pick.quantity, left)
        for lot in lots:
            if want <= EPS:
                break
            room = lot.quantity - taken.get(id(lot), 0.0)
            if room > EPS and _names(lot, pick):
                take = min(want, room)
                taken[id(lot)] = taken.get(id(lot), 0.0) + take
                want -= take
                left -= take
    for lot in walk_order(lots, price, on, tax_aware=tax_aware):
        if left <= EPS:
            break
        take = min(left, lot.quantity - taken.get(id(lot), 0.0))
        if take <= EPS:
            continue
        left -= take
        taken[id(lot)] = taken.get(id(lot), 0.0) + take
    kept = []
    for lot in lots:
        remaining = lot.quantity - taken.get(id(lot), 0.0)
        if remaining > EPS:
            basis = None if lot.cost_basis is None else lot.cost_basis * remaining / lot.quantity
            kept.append(lot.model_copy(update={"quantity": remaining, "cost_basis": basis}))
    return kept


def _defer(pos: Position | None, d: WashDeferral, sold_on: date) -> None:
    """Carry a disallowed loss into the replacement lot bought on `d.acquired`: `d.quantity` of
    its units take the loss into their basis, and their holding period includes the sold
    shares' (IRC section 1091(d); Publication 550, "Wash Sales"), so they count as bought that
    many days earlier. A replacement no longer held (sold since) takes nothing."""
    if pos is None:
        return
    for n, lot in enumerate(pos.lots):
        if lot.acquired != d.acquired or lot.quantity <= EPS:
            continue
        units = min(d.quantity, lot.quantity)
        unit = None if lot.cost_basis is None else lot.cost_basis / lot.quantity
        held = (sold_on - d.sold_acquired) if d.sold_acquired is not None else None
        moved = Lot(
            quantity=units,
            cost_basis=None if unit is None else unit * units + d.basis_added * units / d.quantity,
            acquired=d.acquired - held if held is not None else d.acquired,
            line=lot.line,
        )
        rest = lot.quantity - units
        keep = (
            [
                lot.model_copy(
                    update={"quantity": rest, "cost_basis": None if unit is None else unit * rest}
                )
            ]
            if rest > EPS
            else []
        )
        pos.lots[n : n + 1] = [moved, *keep]
        if pos.cost_basis is not None:
            pos.cost_basis += d.basis_added * units / d.quantity
        return


def _frame(positions: list[Position]) -> pd.DataFrame:
    known = load_securities()
    return book_of(
        positions,
        value=lambda p: p.market_value,
        # Only swept cash pays and receives; a purchased money-market fund is a holding.
        is_cash=_swept,
        known=lambda p: p.symbol in known,
    )


def _opened(rows: pd.DataFrame, fills: list[AppliedFill]) -> list[Position]:
    """Positions for the rows the fills opened, in the order the fills first needed them: an
    account's new cash row at its first fill, a new holding at its first purchase."""
    first_fill: dict[str, int] = {}
    first_buy: dict[tuple[str, str], int] = {}
    for n, f in enumerate(fills):
        first_fill.setdefault(f.account, n)
        first_buy.setdefault((f.account, f.symbol.upper()), n)
    made = []
    for r in rows.itertuples(index=False):
        opened_cash = r.symbol == CASH_SYMBOL and r.is_cash
        order = (first_fill[r.account], 0) if opened_cash else (first_buy[(r.account, r.symbol)], 1)
        made.append(
            (
                order,
                Position(
                    account=r.account,
                    symbol=r.symbol,
                    description="Cash" if opened_cash else "",
                    quantity=float(r.quantity),
                    price=float(r.price),
                    market_value=round(float(r.value), 2),
                    asset_class=r.asset_class,
                    is_cash=bool(r.is_cash),
                ),
            )
        )
    return [p for _, p in sorted(made, key=lambda m: m[0])]


def _move(f: AppliedFill) -> Move:
    return Move(f.account, f.symbol, f.action, f.quantity, f.price, f.asset_class, f.commission)


def _relieve(pos: Position, f: AppliedFill, before: float, tax_aware: bool) -> None:
    """The lots and cost basis a fill changes; `before` is the quantity held before it."""
    notional = f.quantity * f.price
    if f.action == "BUY":
        pos.lots.append(Lot(quantity=f.quantity, cost_basis=notional + f.commission, acquired=f.on))
        if pos.cost_basis is not None or len(pos.lots) == 1:
            pos.cost_basis = (pos.cost_basis or 0.0) + notional + f.commission
        return
    if pos.lots:
        pos.lots = _sell_lots(pos.lots, f.quantity, f.price, f.on, tax_aware, f.lots)
    if pos.cost_basis is not None and before > EPS:
        pos.cost_basis *= max(before - f.quantity, 0.0) / before


def apply_fills(
    holdings: Holdings,
    fills: Iterable[AppliedFill],
    source: str = "",
    *,
    tax_aware: bool = False,
) -> Holdings:
    """What the fills leave: quantities, values and cash by the one rule the proposal's
    after-trade view uses (portfolio.apply), commissions paid from swept cash; then the lots. A
    purchase adds a lot at its cost; a sale relieves the lots its trade names, else those a plan
    with the same `tax_aware` setting would choose, and carries any loss the wash-sale rule
    disallows into the taxable replacement lots."""
    fills = list(fills)
    positions = [p.model_copy(deep=True) for p in holdings.positions]
    first: dict[tuple[str, str], Position] = {}
    for p in positions:
        first.setdefault((p.account, p.symbol.upper()), p)
    bought: set[tuple[str, str]] = set()
    for f in fills:
        key = (f.account, f.symbol.upper())
        if f.action == "BUY":
            bought.add(key)
        elif key not in bought and ((p := first.get(key)) is None or _swept(p)):
            raise ValueError(f"cannot apply a sale of {f.symbol} in {f.account}: not held")
    held = {k: p.quantity for k, p in first.items()}
    post = apply(_frame(positions), [_move(f) for f in fills], load_securities(), mark=True)
    for i, p in enumerate(positions):
        q, v, price = post.at[i, "quantity"], post.at[i, "value"], post.at[i, "price"]
        if q != p.quantity or v != p.market_value:
            p.quantity = float(q)
            p.market_value = round(float(v), 2)
            p.price = None if pd.isna(price) else float(price)
    for p in _opened(post.iloc[len(positions) :], fills):
        positions.append(p)
        first.setdefault((p.account, p.symbol.upper()), p)
    for f in fills:
        key = (f.account, f.symbol.upper())
        _relieve(first[key], f, held.get(key, 0.0), tax_aware)
        held[key] = held.get(key, 0.0) + (f.quantity if f.action == "BUY" else -f.quantity)
    for f in fills:
        for d in f.deferred:
            _defer(first.get((d.account, d.symbol.upper())), d, f.on)
    kept = [p for p in positions if p.is_cash or abs(p.quantity) > EPS]
    return Holdings(
        source=source or holdings.source,
        format=holdings.format,
        positions=kept,
        account_types=holdings.account_types,
    )
