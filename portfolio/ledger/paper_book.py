"""The paper broker's order book in the ledger database, shared by every process and replica."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
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
                s.add(
                    PaperOrder(
                        client_order_id=client_order_id,
                        broker_order_id=fill.broker_order_id,
                        status=fill.status,
                        quantity=fill.quantity,
                        price=fill.price,
                        commission=fill.commission,
                        detail=fill.detail,
                        filled_at=fill.at,
                    )
                )
            return fill
        except IntegrityError:  # a concurrent submit of the same id won; its fill stands
            found = self.get(client_order_id)
            assert found is not None
            return found
