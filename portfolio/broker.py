"""Brokers: where approved trades become fills.

Every order carries a client order id; a broker must treat a repeated id as the same order and
answer with the original fill, which is what lets a retry, a second replica or a restart after a
crash ask again without trading twice. `PaperBroker` fills at the reference price with
configurable commission and slippage and keeps its order book in an `OrderBook` (in memory, or the
ledger's `paper_orders` table so every process sees the same book).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Literal, Protocol

FillStatus = Literal["FILLED", "REJECTED"]


def client_order_id(run_id: str, trade_id: str) -> str:
    """Stable per run and trade; custodians cap the length, so keep it short and ASCII."""
    return f"{run_id}-{trade_id}"


@dataclass(frozen=True)
class Order:
    client_order_id: str
    account: str
    symbol: str
    action: Literal["BUY", "SELL"]
    quantity: float
    reference_price: float
    order_type: Literal["MARKET", "LIMIT"] = "MARKET"
    limit_price: float | None = None
    time_in_force: str = "DAY"


@dataclass(frozen=True)
class Fill:
    client_order_id: str
    broker_order_id: str
    status: FillStatus
    quantity: float
    price: float | None
    commission: float
    at: str
    detail: str | None = None


class Broker(Protocol):
    name: str

    def submit(self, order: Order) -> Fill:
        """Place `order`, or return the existing outcome if its client order id was seen before."""
        ...

    def submit_many(self, orders: Sequence[Order]) -> list[Fill]:
        """`submit` for a basket sent together (a run's orders), answered in the same order."""
        ...


class OrderBook(Protocol):
    def get_or_create(self, client_order_id: str, make: Callable[[], Fill]) -> Fill:
        """The stored fill for the id, else store make()'s; exactly one wins under concurrency."""
        ...

    def get_or_create_many(self, makes: Sequence[tuple[str, Callable[[], Fill]]]) -> list[Fill]:
        """`get_or_create` for many ids at once (one write where the book is a database)."""
        ...


class MemoryOrderBook:
    """A per-process book, for tests and one-off scripts."""

    def __init__(self) -> None:
        self._fills: dict[str, Fill] = {}
        self._lock = threading.Lock()

    def get_or_create(self, client_order_id: str, make: Callable[[], Fill]) -> Fill:
        with self._lock:
            if client_order_id not in self._fills:
                self._fills[client_order_id] = make()
            return self._fills[client_order_id]

    def get_or_create_many(self, makes: Sequence[tuple[str, Callable[[], Fill]]]) -> list[Fill]:
        return [self.get_or_create(cid, make) for cid, make in makes]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class PaperBroker:
    """Fills at the reference price moved against the trader by `slippage_bps`.

    Commission is `commission_per_order + commission_bps` of notional. A LIMIT order whose fill
    price is worse than its limit is rejected, as an exchange would leave it unfilled. `latency`
    (seconds) imitates the time a real venue takes to answer.
    """

    name = "paper"

    def __init__(
        self,
        book: OrderBook | None = None,
        *,
        commission_per_order: float = 0.0,
        commission_bps: float = 0.0,
        slippage_bps: float = 0.0,
        latency: float = 0.0,
    ) -> None:
        if min(commission_per_order, commission_bps, slippage_bps, latency) < 0:
            raise ValueError("commission, slippage and latency cannot be negative")
        self.book = book or MemoryOrderBook()
        self.commission_per_order = commission_per_order
        self.commission_bps = commission_bps
        self.slippage_bps = slippage_bps
        self.latency = latency

    def fill_price(self, order: Order) -> float:
        sign = 1 if order.action == "BUY" else -1
        return round(order.reference_price * (1 + sign * self.slippage_bps / 10_000), 6)

    def commission(self, quantity: float, price: float) -> float:
        return round(self.commission_per_order + quantity * price * self.commission_bps / 10_000, 2)

    def _execute(self, order: Order) -> Fill:
        broker_id = "P" + hashlib.sha256(order.client_order_id.encode()).hexdigest()[:12].upper()
        price = self.fill_price(order)
        reject = None
        if order.quantity <= 0 or order.reference_price <= 0:
            reject = "quantity and reference price must be positive"
        elif order.order_type == "LIMIT":
            if order.limit_price is None:
                reject = "LIMIT order without a limit price"
            elif (order.action == "BUY" and price > order.limit_price) or (
                order.action == "SELL" and price < order.limit_price
            ):
                reject = f"limit {order.limit_price:g} not reached (market {price:g})"
        if reject:
            return Fill(
                order.client_order_id, broker_id, "REJECTED", 0.0, None, 0.0, now_iso(), reject
            )
        return Fill(
            order.client_order_id,
            broker_id,
            "FILLED",
            order.quantity,
            price,
            self.commission(order.quantity, price),
            now_iso(),
        )

    def submit(self, order: Order) -> Fill:
        if self.latency:
            time.sleep(self.latency)
        return self.book.get_or_create(order.client_order_id, lambda: self._execute(order))

    def submit_many(self, orders: Sequence[Order]) -> list[Fill]:
        """A basket: the venue answers the orders together, so `latency` is waited once."""
        if not orders:
            return []
        if self.latency:
            time.sleep(self.latency)
        return self.book.get_or_create_many(
            [(o.client_order_id, partial(self._execute, o)) for o in orders]
        )
