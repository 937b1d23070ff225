"""Holdings after fills: what the paper broker's executions leave in each account."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from portfolio.fund_groups import is_swept
from portfolio.lots import walk_order
from portfolio.models import AssetClass, Holdings, Lot, Position, SoldLot, WashDeferral
from portfolio.securities import load_securities

CASH_SYMBOL = "CASH"
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


def _new_cash(account: str) -> Position:
    return Position(
        account=account,
        symbol=CASH_SYMBOL,
        description="Cash",
        quantity=0.0,
        price=1.0,
        market_value=0.0,
        asset_class=AssetClass.CASH,
        is_cash=True,
    )


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


def apply_fills(
    holdings: Holdings,
    fills: Iterable[AppliedFill],
    source: str = "",
    *,
    tax_aware: bool = False,
) -> Holdings:
    """Each fill moves its account's swept cash (the first swept row, else a new CASH row) and
    the account's first holding of the symbol; a purchased money-market fund is traded like any
    fund. A sale relieves the lots its trade names, else those a plan with the same
    `tax_aware` setting would choose, and carries any loss the wash-sale rule disallows into the
    taxable replacement lots. Positions are found through an index, so a book of fills applies
    in linear time."""
    positions = [p.model_copy(deep=True) for p in holdings.positions]
    cash_of: dict[str, Position] = {}
    held: dict[tuple[str, str], Position] = {}
    for p in positions:
        if _swept(p):
            cash_of.setdefault(p.account, p)
        else:
            held.setdefault((p.account, p.symbol.upper()), p)
    for f in fills:
        notional = f.quantity * f.price
        cash = cash_of.get(f.account)
        if cash is None:
            cash = cash_of[f.account] = _new_cash(f.account)
            positions.append(cash)
        pos = held.get((f.account, f.symbol.upper()))
        if f.action == "BUY":
            if pos is None:
                pos = Position(
                    account=f.account,
                    symbol=f.symbol,
                    quantity=0.0,
                    price=f.price,
                    market_value=0.0,
                    asset_class=f.asset_class,
                )
                positions.append(pos)
                held[(f.account, f.symbol.upper())] = pos
            pos.lots.append(
                Lot(quantity=f.quantity, cost_basis=notional + f.commission, acquired=f.on)
            )
            pos.quantity += f.quantity
            if pos.cost_basis is not None or len(pos.lots) == 1:
                pos.cost_basis = (pos.cost_basis or 0.0) + notional + f.commission
            cash.quantity -= notional + f.commission
        else:
            if pos is None:
                raise ValueError(f"cannot apply a sale of {f.symbol} in {f.account}: not held")
            if pos.lots:
                pos.lots = _sell_lots(pos.lots, f.quantity, f.price, f.on, tax_aware, f.lots)
            if pos.cost_basis is not None and pos.quantity > EPS:
                pos.cost_basis *= max(pos.quantity - f.quantity, 0.0) / pos.quantity
            pos.quantity -= f.quantity
            cash.quantity += notional - f.commission
        pos.price = f.price
        pos.market_value = round(pos.quantity * f.price, 2)
        cash.market_value = round(cash.quantity * (cash.price or 1.0), 2)
    for f in fills:
        for d in f.deferred:
            _defer(held.get((d.account, d.symbol.upper())), d, f.on)
    kept = [p for p in positions if p.is_cash or abs(p.quantity) > EPS]
    return Holdings(
        source=source or holdings.source,
        format=holdings.format,
        positions=kept,
        account_types=holdings.account_types,
    )
