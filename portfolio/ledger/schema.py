"""Tables of the ledger. Alembic migrations in portfolio/migrations create exactly these.

Run entries (each run's proposal and status changes), decisions, executions and the firm's people
(firm entries) are journals: rows
are only ever inserted, and each carries `seq`, `prev_hash`, `hash` and `mac` so an edit or deletion
breaks the chain. Their timestamps are ISO text so
the hashed content reads back byte-for-byte on every backend.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Snapshot(Base):
    """Holdings as uploaded (kind 'upload') or as left by an execution (kind 'execution')."""

    __tablename__ = "snapshots"
    __table_args__ = (
        UniqueConstraint("run_id", "kind", "sha256", name="uq_snapshots_run_kind_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(50))
    source: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    holdings: Mapped[dict[str, Any]] = mapped_column(JSON)
    import_report: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), nullable=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    mandate: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    model_portfolio: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    agents: Mapped[dict[str, Any]] = mapped_column(JSON, doc="agent -> {provider, model}")
    prompt_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(
        String(200), nullable=True, index=True, doc="the client's owner, or who started the run"
    )


class Proposal(Base):
    __tablename__ = "proposals"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TradeRow(Base):
    """One proposed trade, flattened so decisions and orders can refer to it by `id`."""

    __tablename__ = "trades"
    __table_args__ = (UniqueConstraint("run_id", "trade_id", name="uq_trades_run_trade"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True, doc="'{run_id}-{trade_id}'")
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    trade_id: Mapped[str] = mapped_column(String(32))
    ordinal: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    asset_class: Mapped[str] = mapped_column(String(40))
    order_type: Mapped[str] = mapped_column(String(10))
    limit_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    compliance_status: Mapped[str] = mapped_column(String(10))
    compliance_rules: Mapped[list[str]] = mapped_column(JSON)
    compliance_reasons: Mapped[list[str]] = mapped_column(JSON)


class AgentResult(Base):
    __tablename__ = "agent_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    agent: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str | None] = mapped_column(String(100), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    transcript: Mapped[Any] = mapped_column(JSON)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    timing: Mapped[dict[str, Any]] = mapped_column(JSON)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RunEvent(Base):
    __tablename__ = "run_events"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_run_events_run_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Decision(Base):
    """An advisor's approve or veto of one trade; a change of mind is a later row."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    trade_id: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(8))
    decided_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    proposal_hash: Mapped[str | None] = mapped_column(
        String(64), nullable=True, doc="hash of the chained proposal entry this decision is on"
    )
    quantity: Mapped[float | None] = mapped_column(
        Float,
        nullable=True,
        doc="the quantity approved when the advisor edited it (migration 0004)",
    )


class Execution(Base):
    """An order sent (stage 'order') or its outcome (stage 'result': FILLED or REJECTED)."""

    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("client_order_id", "stage", name="uq_executions_order_stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    trade_id: Mapped[str] = mapped_column(String(32))
    client_order_id: Mapped[str] = mapped_column(String(100), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    account: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    commission: Mapped[float] = mapped_column(Float)
    broker: Mapped[str] = mapped_column(String(50))
    broker_order_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    executed_by: Mapped[str | None] = mapped_column(
        String(200), nullable=True, doc="the identity that sent the order (chained)"
    )


class RunEntry(Base):
    """A run's chained record: its proposal as saved (kind 'proposal'), a status change, or a
    supervisor's sign-off for execution (kind 'signoff').

    `body` is canonical JSON text, so the hashed content reads back byte-for-byte on every backend.
    """

    __tablename__ = "run_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ChainHead(Base):
    """The latest link of each journal; locked while appending so links never fork."""

    __tablename__ = "chain_heads"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PaperOrder(Base):
    """The paper broker's own order book: one row per client order id, whoever asks twice."""

    __tablename__ = "paper_orders"

    client_order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    broker_order_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    commission: Mapped[float] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    filled_at: Mapped[str] = mapped_column(String(40))


# ---------------------------------------------------------------- client records (migration 0003)


class ClientRecordRow(Base):
    """What the advisor keeps about a client beyond its uploads and runs: who owns the record,
    the notes, the saved mandate and model. A `clients` row without one is a book recorded by
    the command line, not a client the desk lists."""

    __tablename__ = "client_records"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    notes: Mapped[str] = mapped_column(Text)
    mandate: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    model_portfolio: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    partial_ack: Mapped[dict[str, Any] | None] = mapped_column(
        JSON,
        nullable=True,
        doc="'Proceed without these rows' for one book: {snapshot_id, acknowledged_by, at} "
        "(migration 0006); a different book needs its own",
    )


class ClientAccountRow(Base):
    """One account of a client's household, its tax type, and the upload that last supplied it."""

    __tablename__ = "client_accounts"
    __table_args__ = (
        UniqueConstraint("client_id", "account", name="uq_client_accounts_client_account"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    account: Mapped[str] = mapped_column(String(100))
    tax_type: Mapped[str] = mapped_column(String(16), doc="taxable, tax_deferred or tax_free")
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClientCashRequestRow(Base):
    """A withdrawal or deposit the advisor asked for in one account of the client (migration
    0007); every run of the client plans for the requests on record when it starts."""

    __tablename__ = "client_cash_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    account: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), doc="withdrawal or deposit")
    amount: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HouseholdSummaryRow(Base):
    """A household's Book page figures as last computed (migration 0009), a cache: read in one
    query at the page's first paint, and counted only while the record's stamp, the reference
    data and code (`basis`) and the day (from `as_of` up to `until`) are those it was computed
    for. Who may see it, its name and its last run are read afresh every time."""

    __tablename__ = "household_summaries"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    record_stamp: Mapped[str] = mapped_column(
        String(64), doc="the record's updated_at, as the database's text, when it was read"
    )
    basis: Mapped[str] = mapped_column(String(64), doc="digest of reference data and code")
    as_of: Mapped[str] = mapped_column(String(10), doc="ISO day it was computed for")
    until: Mapped[str | None] = mapped_column(
        String(10), nullable=True, doc="first ISO day it may differ (none: never)"
    )
    figures: Mapped[str] = mapped_column(Text, doc="JSON: the summary's figures and drift")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ------------------------------------------------------------ the firm's people (migration 0005)


class FirmPersonRow(Base):
    """A person an admin added on Settings: added to the `[firm]` table of the secrets, which
    wins for anyone it also lists (so an admin named there cannot be demoted from the page)."""

    __tablename__ = "firm_people"

    id: Mapped[str] = mapped_column(String(200), primary_key=True, doc="email or subject, lower")
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(100))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ------------------------------------------------------- an advisor's settings (migration 0006)


class AdvisorSettingsRow(Base):
    """What an advisor set on the Settings page and keeps across sessions: the language model's
    provider, model, endpoints, per-agent models, prices, budget and pace. Never an API key."""

    __tablename__ = "advisor_settings"

    advisor: Mapped[str] = mapped_column(String(200), primary_key=True, doc="the identity's id")
    llm: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ----------------------------------------------------- the firm's people, chained (migration 0008)


class FirmEntry(Base):
    """One change to the firm's people made on Settings: kind 'put' (added or changed, with the
    person as saved) or 'remove' (with the person as removed). `firm_people` is only a copy of
    what these entries replay to; a row that differs from the replay grants nothing."""

    __tablename__ = "firm_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(100))
    changed_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


JournalModel = type[RunEntry] | type[Decision] | type[Execution] | type[FirmEntry]

JOURNALS: dict[str, JournalModel] = {
    "run_entries": RunEntry,
    "decisions": Decision,
    "executions": Execution,
    "firm_entries": FirmEntry,
}
