"""The execution journal: orders rebuilt from the chain alone and journaled before the broker is
asked, each outcome journaled once. `execute.py` drives the broker with them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.access import Firm, Identity
from portfolio.broker import Fill, Order, client_order_id, now_iso
from portfolio.ledger import chain
from portfolio.ledger import run_state as rs
from portfolio.ledger.errors import (
    ConflictError,
    NothingToExecute,
    TamperedError,
    UnknownTrade,
)
from portfolio.ledger.order_checks import recheck, verified_proposal
from portfolio.ledger.read_models import ExecutionRecord
from portfolio.ledger.schema import ChainHead, Execution
from portfolio.ledger.session import LedgerSession
from portfolio.ledger.sign_offs import blockers


class ExecutionStore(LedgerSession):
    def refresh_status(self, run_id: str) -> str:
        with self._write() as s:
            rs.get_run(s, run_id, lock=True)
            return rs.refresh_status(s, self._key, run_id)

    def send_orders(
        self,
        run_id: str,
        broker: str,
        by: Identity | str | None = None,
        firm: Firm | None = None,
    ) -> list[Order]:
        """Journal an order for every approved trade not yet sent; return all orders of the run
        still awaiting an outcome (this caller's and any a crashed or parallel caller left).

        `by` is the executor, recorded on every entry. With a firm file, `by` must be an Identity
        its role and the four-eyes rule allow to execute (`execution_blockers`).

        The orders are rebuilt from the chained proposal and the chained decisions only, after
        the chains since the run was saved are verified and the tables behind them are compared
        with them. Raises if anything differs, if a compliance-approved trade is still undecided,
        if nothing was ever approved, or if the approved subset fails the compliance gate.
        """
        executor = (by.id if isinstance(by, Identity) else (by or "").strip()) or None
        with self._write() as s:
            run = rs.get_run(s, run_id, lock=True)
            s.execute(
                select(ChainHead).where(ChainHead.name == "executions").with_for_update()
            ).scalar_one_or_none()
            if firm is not None and not firm.local:
                if not isinstance(by, Identity):
                    raise ConflictError("execution refused: the executor is not a firm identity")
                if blocked := blockers(s, run, by, firm):
                    raise ConflictError(f"execution refused: {blocked[0]}")
            _, body = verified_proposal(s, self._key, run_id)
            states = rs.states(s, self._key, run_id)
            if not states:
                raise NothingToExecute(f"run {run_id} has no trades")
            if undecided := [x.trade_id for x in states if not x.settled]:
                raise ConflictError(
                    f"{', '.join(undecided)} in run {run_id} have no decision yet; "
                    "approve or veto them first"
                )
            if not any(x.approved for x in states):
                raise NothingToExecute(f"run {run_id} has no approved trades to execute")
            to_send = [x.trade_id for x in states if x.approved and not x.order_sent]
            recheck(s, self._key, run_id, to_send)
            trades = _as_edited(body["trades"], rs.edited(s, run_id))
            at = now_iso()
            orders = []
            for tid in to_send:
                t = trades[tid]
                if t["compliance"] != "APPROVED":  # belt and braces: never reachable
                    raise ConflictError(f"{tid} is vetoed by compliance")
                orders.append(
                    {
                        "run_id": run_id,
                        "trade_id": tid,
                        "client_order_id": client_order_id(run_id, tid),
                        "stage": "order",
                        "status": "SENT",
                        "account": t["account"],
                        "symbol": t["symbol"],
                        "action": t["action"],
                        "quantity": t["quantity"],
                        "price": t["limit_price"] if t["order_type"] == "LIMIT" else t["price"],
                        "commission": 0.0,
                        "broker": broker,
                        "broker_order_id": None,
                        "detail": None,
                        "at": at,
                        "executed_by": executor,
                    }
                )
            chain.append_many(s, Execution, orders, self._key)
            rs.refresh_status(s, self._key, run_id)
            return self._pending(s, run_id)

    def check_funding(self, run_id: str, trade_ids: Sequence[str]) -> None:
        """Raise ConflictError if these trades, alone, fail the compliance gate (a buy without its
        cash, a cap, a screen); the ticket asks before it records anything."""
        with self._read() as s:
            rs.get_run(s, run_id)
            recheck(s, self._key, run_id, rs.normalise_ids(run_id, trade_ids))

    def _pending(self, s: Session, run_id: str | None) -> list[Order]:
        """Orders journaled without an outcome, rebuilt from their runs' chained proposals."""
        stmt = select(Execution).order_by(Execution.seq)
        if run_id is not None:
            stmt = stmt.where(Execution.run_id == run_id)
        rows = list(s.execute(stmt).scalars())
        done = {e.client_order_id for e in rows if e.stage == "result"}
        open_rows = [e for e in rows if e.stage == "order" and e.client_order_id not in done]
        bodies: dict[str, dict[str, dict[str, Any]]] = {}
        orders = []
        for e in open_rows:
            if e.run_id not in bodies:
                chained = rs.chained_proposal(s, self._key, e.run_id)
                if chained is None:
                    raise TamperedError(f"run {e.run_id} has orders but no chained proposal")
                bodies[e.run_id] = _as_edited(chained[1]["trades"], rs.edited(s, e.run_id))
            coid = client_order_id(e.run_id, e.trade_id)
            orders.append(_order(coid, bodies[e.run_id][e.trade_id]))
        return orders

    def pending_orders(self, run_id: str | None = None) -> list[Order]:
        """Orders sent but without an outcome: a crash or a parallel executor left them."""
        with self._read() as s:
            return self._pending(s, run_id)

    def pending_runs(self) -> list[str]:
        """Runs with an order awaiting its outcome."""
        with self._read() as s:
            rows = s.execute(
                select(Execution.run_id, Execution.client_order_id, Execution.stage)
            ).all()
        done = {coid for _, coid, stage in rows if stage == "result"}
        return sorted({run for run, coid, stage in rows if stage == "order" and coid not in done})

    def record_fill(self, fill: Fill, broker: str) -> bool:
        """Journal the outcome of an order once; False if it was already recorded."""
        return bool(self.record_fills([fill], broker))

    def record_fills(self, fills: Sequence[Fill], broker: str) -> list[str]:
        """Journal the outcomes of orders in one transaction, each once; returns the client order
        ids newly recorded (an outcome another caller recorded first is left as it was).

        Callers refresh the run's status after their last fill (execute_run and recover do).
        """
        if not fills:
            return []
        ids = [f.client_order_id for f in fills]
        with self._write() as s:
            orders = {
                o.client_order_id: o
                for o in s.execute(
                    select(Execution).where(
                        Execution.client_order_id.in_(ids), Execution.stage == "order"
                    )
                ).scalars()
            }
            if missing := [cid for cid in ids if cid not in orders]:
                raise UnknownTrade(f"no order for client order id {missing[0]}")
            # Same lock order as send_orders (run, then chain head), so the two never deadlock.
            for run_id in sorted({o.run_id for o in orders.values()}):
                rs.get_run(s, run_id, lock=True)
            s.execute(
                select(ChainHead).where(ChainHead.name == "executions").with_for_update()
            ).scalar_one_or_none()
            done = set(
                s.execute(
                    select(Execution.client_order_id).where(
                        Execution.client_order_id.in_(ids), Execution.stage == "result"
                    )
                ).scalars()
            )
            rows, recorded = [], []
            for fill in fills:
                if fill.client_order_id in done:
                    continue
                done.add(fill.client_order_id)
                order = orders[fill.client_order_id]
                recorded.append(fill.client_order_id)
                rows.append(
                    {
                        "run_id": order.run_id,
                        "trade_id": order.trade_id,
                        "client_order_id": order.client_order_id,
                        "stage": "result",
                        "status": fill.status,
                        "account": order.account,
                        "symbol": order.symbol,
                        "action": order.action,
                        "quantity": fill.quantity,
                        "price": fill.price,
                        "commission": fill.commission,
                        "broker": broker,
                        "broker_order_id": fill.broker_order_id,
                        "detail": fill.detail,
                        "at": fill.at,
                        "executed_by": order.executed_by,
                    }
                )
            chain.append_many(s, Execution, rows, self._key)
            # The run's status is refreshed once the caller has recorded every fill.
            return recorded

    def executions(self, run_id: str) -> list[ExecutionRecord]:
        with self._read() as s:
            rs.get_run(s, run_id)
            rows = s.execute(
                select(Execution).where(Execution.run_id == run_id).order_by(Execution.seq)
            ).scalars()
            return [ExecutionRecord.of(e) for e in rows]


def _as_edited(
    trades: Sequence[Mapping[str, Any]], edits: Mapping[str, float]
) -> dict[str, dict[str, Any]]:
    """The chained trades by id, each at the quantity its chained decisions approved."""
    out = {}
    for t in trades:
        q = edits.get(t["id"])
        out[t["id"]] = (
            dict(t) if q is None else {**t, "quantity": q, "value": round(q * t["price"], 2)}
        )
    return out


def _order(coid: str, t: Mapping[str, Any]) -> Order:
    return Order(
        client_order_id=coid,
        account=t["account"],
        symbol=t["symbol"],
        action=t["action"],
        quantity=t["quantity"],
        reference_price=t["price"],
        order_type=t["order_type"],
        limit_price=t["limit_price"],
    )
