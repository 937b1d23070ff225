"""What the ledger's readers return: frozen, typed records instead of dicts to dig through.

Field names are the keys of the JSON the command line, the audit export and the anchor file
write, so `model_dump(mode="json")` of a record is exactly that JSON. Times are ISO 8601 texts
(UTC) as stored in the chains.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from portfolio.ledger.schema import AgentResult, Decision, Execution, RunEvent, Snapshot
from portfolio.models import SoldLot


def iso(value: datetime | None) -> str | None:
    """A stored datetime as ISO 8601, UTC when the database dropped the zone (SQLite)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def as_json(value: Any) -> Any:
    """Records, inside lists and dicts too, as the JSON the command line and exports write."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


class SnapshotRecord(Record):
    """A kept book: an upload a run started from, or the holdings after a run's fills."""

    id: int
    kind: str  # upload | execution
    filename: str
    sha256: str  # of the original bytes, else of the book's canonical JSON
    format: str
    import_report: dict[str, Any]
    run_id: str | None  # the run whose fills produced it (execution snapshots)
    created_at: str | None
    holdings: dict[str, Any]  # `Holdings` as JSON

    @classmethod
    def of(cls, s: Snapshot) -> SnapshotRecord:
        return cls(
            id=s.id,
            kind=s.kind,
            filename=s.filename,
            sha256=s.sha256,
            format=s.format,
            import_report=s.import_report,
            run_id=s.run_id,
            created_at=iso(s.created_at),
            holdings=s.holdings,
        )


class DecisionRecord(Record):
    """One chained decision on one trade; a later one on the same trade supersedes it."""

    seq: int
    run_id: str
    trade_id: str
    decision: str  # APPROVE | VETO
    by: str
    reason: str | None
    quantity: float | None  # an edited quantity (the trade is approved at it)
    at: str
    hash: str
    prev_hash: str

    @classmethod
    def of(cls, d: Decision | Mapping[str, Any]) -> DecisionRecord:
        """From a row, or from the column values a batch append wrote."""
        get = d.get if isinstance(d, Mapping) else d.__getattribute__
        return cls(
            seq=get("seq"),
            run_id=get("run_id"),
            trade_id=get("trade_id"),
            decision=get("decision"),
            by=get("decided_by"),
            reason=get("reason"),
            quantity=get("quantity"),
            at=get("decided_at"),
            hash=get("hash"),
            prev_hash=get("prev_hash"),
        )


class ExecutionRecord(Record):
    """One chained execution entry: an order sent (stage "order", status SENT) or its outcome
    (stage "result", FILLED or REJECTED)."""

    seq: int
    trade_id: str
    client_order_id: str
    stage: str  # order | result
    status: str  # SENT | FILLED | REJECTED
    account: str
    symbol: str
    action: str  # BUY | SELL
    quantity: float
    price: float | None
    commission: float
    broker: str
    broker_order_id: str | None
    detail: str | None
    at: str
    executed_by: str | None
    hash: str
    prev_hash: str

    @classmethod
    def of(cls, e: Execution) -> ExecutionRecord:
        return cls(
            seq=e.seq,
            trade_id=e.trade_id,
            client_order_id=e.client_order_id,
            stage=e.stage,
            status=e.status,
            account=e.account,
            symbol=e.symbol,
            action=e.action,
            quantity=e.quantity,
            price=e.price,
            commission=e.commission,
            broker=e.broker,
            broker_order_id=e.broker_order_id,
            detail=e.detail,
            at=e.at,
            executed_by=e.executed_by,
            hash=e.hash,
            prev_hash=e.prev_hash,
        )


class TradeRecord(Record):
    """A proposed trade with its gate verdict, latest decision and latest execution entry."""

    id: str  # the stored id, {run_id}-{trade_id}: the client order id
    trade_id: str
    account: str
    symbol: str
    action: str  # BUY | SELL
    quantity: float  # what executes: the advisor's edited quantity, else the proposal's
    proposed_quantity: float
    edited: bool
    price: float
    value: float  # at `quantity`
    order_type: str  # MARKET | LIMIT
    limit_price: float | None
    compliance: str  # APPROVED | VETOED
    rules: list[str]
    reasons: list[str]
    decision: DecisionRecord | None
    execution: ExecutionRecord | None
    # The tax lots a taxable sale names (specific identification); none once its quantity was
    # edited, since they were chosen for the proposal's quantity.
    lots: list[SoldLot] = []

    @property
    def decided(self) -> str | None:
        """APPROVE, VETO, or None while undecided."""
        return self.decision.decision if self.decision else None

    @property
    def filled(self) -> bool:
        return self.execution is not None and self.execution.status == "FILLED"


class RunRecord(Record):
    """A run as the ticket, History, the CLI's `show` and the audit export read it."""

    run_id: str
    status: str
    owner: str | None
    created_at: str | None
    updated_at: str | None
    client: str | None
    snapshot: SnapshotRecord | None  # the upload the run started from
    mandate: dict[str, Any] | None
    model_portfolio: dict[str, Any] | None
    settings: dict[str, Any]
    agents: dict[str, Any]  # agent name -> {"provider": ..., "model": ...}
    prompt_version: str | None
    error: str | None
    trades: list[TradeRecord]

    def trade(self, trade_id: str) -> TradeRecord:
        return next(t for t in self.trades if t.trade_id == trade_id)


class RunSummary(Record):
    """One line of the run listing."""

    run_id: str
    created_at: str | None
    status: str
    owner: str | None
    client: str | None
    file: str | None  # the uploaded file's name
    profile: str | None  # the mandate's risk profile
    trades: int  # how many trades the proposal has


class AgentRecord(Record):
    """What one agent returned on a run, as recorded (redacted on the way in)."""

    agent: str
    status: str
    provider: str | None
    model: str | None
    transcript: Any
    result: Any
    timing: dict[str, Any]
    usage: dict[str, Any]
    recorded_at: str | None

    @classmethod
    def of(cls, r: AgentResult) -> AgentRecord:
        return cls(
            agent=r.agent,
            status=r.status,
            provider=r.provider,
            model=r.model,
            transcript=r.transcript,
            result=r.result,
            timing=r.timing,
            usage=r.usage,
            recorded_at=iso(r.created_at),
        )


class EventRecord(Record):
    """One event of a run's log, numbered from 1."""

    seq: int
    event: Any  # the event as JSON (`agents.events`)
    at: str | None

    @classmethod
    def of(cls, r: RunEvent) -> EventRecord:
        return cls(seq=r.seq, event=r.event, at=iso(r.created_at))


class SignOff(Record):
    """A supervisor's sign-off as written."""

    seq: int
    by: str
    role: str | None
    at: str


class SignOffRecord(SignOff):
    """A sign-off as read back: `current` while no decision was made after it."""

    hash: str
    current: bool


class ChainHeadRecord(Record):
    """The last link of one chain: what an anchor records."""

    name: str
    seq: int  # 0 for an empty chain
    hash: str  # the genesis hash for an empty chain
    mac: str | None
    at: str | None


class LinkRecord(Record):
    """One link of a chain, as an anchor is checked against it."""

    seq: int
    hash: str
    mac: str | None
