"""The paper broker's order book in the ledger database, shared by every process and replica."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portfolio.broker import Fill
from portfolio.ledger.engine import WRITE
from portfolio.ledger.schema import PaperOrder


def _fill(row: PaperOrder) -> Fill:
    return Fill(
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        status=row.status,  # type: ignore[arg-type]
        quantity=row.quantity,
        price=row.price,
        commission=row.commission,
        at=row.filled_at,
        detail=row.detail,
    )


def _values(client_order_id: str, fill: Fill) -> dict[str, object]:
    return {
        "client_order_id": client_order_id,
        "broker_order_id": fill.broker_order_id,
        "status": fill.status,
        "quantity": fill.quantity,
        "price": fill.price,
        "commission": fill.commission,
        "detail": fill.detail,
        "filled_at": fill.at,
    }


class LedgerOrderBook:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, client_order_id: str) -> Fill | None:
        with Session(self.engine) as s:
            row = s.get(PaperOrder, client_order_id)
            return _fill(row) if row else None

    def get_or_create(self, client_order_id: str, make: Callable[[], Fill]) -> Fill:
        try:
            with Session(self.engine) as s, s.begin():
                s.connection(execution_options={WRITE: True})
                row = s.get(PaperOrder, client_order_id)
                if row is not None:
                    return _fill(row)
                fill = make()
                s.add(PaperOrder(**_values(client_order_id, fill)))
            return fill
        except IntegrityError:  # a concurrent submit of the same id won; its fill stands
            found = self.get(client_order_id)
            assert found is not None
            return found

    def get_or_create_many(self, makes: Sequence[tuple[str, Callable[[], Fill]]]) -> list[Fill]:
        """One transaction for the basket; if another process stored one of these ids meanwhile,
        each id is settled on its own, the stored fill standing."""
        ids = [cid for cid, _ in makes]
        try:
            with Session(self.engine) as s, s.begin():
                s.connection(execution_options={WRITE: True})
                found = {
                    r.client_order_id: _fill(r)
                    for r in s.execute(
                        select(PaperOrder).where(PaperOrder.client_order_id.in_(ids))
                    ).scalars()
                }
                new = []
                for cid, make in makes:
                    if cid not in found:
                        found[cid] = make()
                        new.append(_values(cid, found[cid]))
                if new:
                    s.execute(insert(PaperOrder.__table__), new)
            return [found[cid] for cid in ids]
        except IntegrityError:
            return [self.get_or_create(cid, make) for cid, make in makes]
