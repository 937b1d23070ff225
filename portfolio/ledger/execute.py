"""Executing a run: journal the orders, ask the broker, journal each outcome, snapshot the result.

The order is written before the broker is asked, and the broker answers a repeated client order
id with its original fill, so a run executed twice at once, or again after a crash at any point,
still ends with exactly one fill per trade.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from portfolio.access import Firm, Identity
from portfolio.broker import Broker, Order, PaperBroker
from portfolio.ledger.errors import LedgerError
from portfolio.ledger.paper_book import LedgerOrderBook
from portfolio.ledger.read_models import ExecutionRecord, RunRecord
from portfolio.ledger.store import Ledger
from portfolio.models import CashRequest

# Orders per basket: each basket's ids are looked up in one IN (...) list, which SQLite caps at
# 32,766 bound values and PostgreSQL's driver at 65,535.
BASKET = 5_000


@dataclass
class ExecutionReport:
    run_id: str
    status: str
    submitted: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    snapshot_id: int | None = None
    executions: list[ExecutionRecord] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "submitted": self.submitted,
            "newly_recorded": self.recorded,
            "snapshot_id": self.snapshot_id,
            "executions": [e.model_dump(mode="json") for e in self.executions],
        }


def paper_broker(ledger: Ledger) -> PaperBroker:
    """The default broker, configured by REBALANCE_PAPER_COMMISSION (per order, USD),
    REBALANCE_PAPER_COMMISSION_BPS, REBALANCE_PAPER_SLIPPAGE_BPS and REBALANCE_PAPER_LATENCY (s)."""

    def num(name: str) -> float:
        raw = os.environ.get(name, "").strip()
        try:
            return float(raw) if raw else 0.0
        except ValueError as exc:
            raise ValueError(f"{name} must be a number, not {raw!r}") from exc

    return PaperBroker(
        LedgerOrderBook(ledger.engine),
        commission_per_order=num("REBALANCE_PAPER_COMMISSION"),
        commission_bps=num("REBALANCE_PAPER_COMMISSION_BPS"),
        slippage_bps=num("REBALANCE_PAPER_SLIPPAGE_BPS"),
        latency=num("REBALANCE_PAPER_LATENCY"),
    )


def _drive(ledger: Ledger, broker: Broker, orders: list[Order]) -> tuple[list[str], list[str]]:
    """Send the run's orders in baskets and journal each basket's outcomes together: the orders
    were journaled first, so a crash in between leaves them pending for `recover`, and the
    broker answers a repeated id with its first fill."""
    recorded: list[str] = []
    for start in range(0, len(orders), BASKET):
        fills = broker.submit_many(orders[start : start + BASKET])
        recorded += ledger.record_fills(fills, broker.name)
    return [o.client_order_id for o in orders], recorded


def execute_run(
    ledger: Ledger,
    run_id: str,
    broker: Broker,
    by: Identity | str | None = None,
    firm: Firm | None = None,
) -> ExecutionReport:
    """`by` (the executor) is recorded on every execution entry; with a firm file its role and
    the four-eyes rule are checked before any order is written."""
    orders = ledger.send_orders(run_id, broker.name, by=by, firm=firm)
    submitted, recorded = _drive(ledger, broker, orders)
    snapshot = ledger.write_execution_snapshot(run_id)
    status = ledger.refresh_status(run_id)
    settle_cash_requests(ledger, run_id)
    return ExecutionReport(
        run_id=run_id,
        status=status,
        submitted=submitted,
        recorded=recorded,
        snapshot_id=snapshot,
        executions=ledger.executions(run_id),
    )


# Why an undecided trade was vetoed when its run was executed (chained with the veto).
LEFT_UNDECIDED = "not approved when the advisor executed"


def undecided(run: RunRecord) -> list[str]:
    """Trades the gate approved that nobody has decided yet: what executing has to settle."""
    return [t.trade_id for t in run.trades if t.compliance == "APPROVED" and t.decision is None]


def execute_decided(
    ledger: Ledger,
    run_id: str,
    broker: Broker,
    *,
    by: Identity | str | None = None,
    firm: Firm | None = None,
    decider: str | None = None,
) -> ExecutionReport:
    """Execute a run under the one policy for undecided trades, which the command line and the
    ticket both call.

    A compliant trade still undecided never executes. When `decider` (a person who may decide
    the run: the ticket's advisor) executes, that is their word on it: it is recorded as their
    veto, and only once the approved trades stand on their own, so a refused execution records
    nothing. Without a decider (`execute` on the command line, or a person who may not decide
    the run) the ledger refuses the execution until every trade is decided.
    """
    run = ledger.run(run_id) if decider else None
    if run is not None and (pending := undecided(run)):
        approved = [t.trade_id for t in run.trades if t.decided == "APPROVE" and not t.execution]
        ledger.check_funding(run_id, approved)
        ledger.decide(run_id, veto=pending, by=decider, reason=LEFT_UNDECIDED)
    return execute_run(ledger, run_id, broker, by=by, firm=firm)


def recover(ledger: Ledger, broker: Broker) -> list[ExecutionReport]:
    """Finish orders a crashed process left without an outcome (run this on start)."""
    reports = []
    for run_id in ledger.pending_runs():
        orders = ledger.pending_orders(run_id)
        submitted, recorded = _drive(ledger, broker, orders)
        reports.append(
            ExecutionReport(
                run_id=run_id,
                status=ledger.refresh_status(run_id),
                submitted=submitted,
                recorded=recorded,
                snapshot_id=ledger.write_execution_snapshot(run_id),
            )
        )
    return reports


def settle_cash_requests(ledger: Ledger, run_id: str) -> list[CashRequest]:
    """The client's requests this run's fills carried out: a deposit the plan invested, and a
    withdrawal met from cash already there or by sales that all filled at their full quantity
    (an edited-down or unfilled sale may have left it short, so it stays on record)."""
    from portfolio.ledger.clients import ClientRecords

    try:
        proposal = ledger.proposal(run_id)
    except LedgerError:
        return []
    if not proposal.cash_requests:
        return []
    records = ClientRecords(ledger.engine)
    client = records.client_of_run(run_id)
    if client is None:
        return []
    trades = {t.trade_id: t for t in ledger.run(run_id).trades}

    def filled(tid: str) -> bool:
        t = trades.get(tid)
        return t is not None and t.filled and t.quantity + 1e-9 >= t.proposed_quantity

    done = [
        CashRequest(account=r.account, amount=r.amount, kind=r.kind, note=r.note)
        for r in proposal.cash_requests
        if r.met and all(filled(tid) for tid in r.trades)
    ]
    if not done or not any(t.filled for t in trades.values()):
        return []  # nothing was executed: every request stays on record
    records.settle_cash_requests(client, done)
    return done
