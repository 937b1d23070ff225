"""Clients and their kept books: uploads before any run uses them, and the holdings after a run's
fills."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portfolio.ledger import chain
from portfolio.ledger import run_state as rs
from portfolio.ledger.errors import LedgerError
from portfolio.ledger.fills import AppliedFill, apply_fills
from portfolio.ledger.read_models import SnapshotRecord
from portfolio.ledger.schema import Client, Execution, Snapshot
from portfolio.ledger.session import LedgerSession
from portfolio.ledger.snapshots import snapshot_row
from portfolio.models import Holdings, Position, WashDeferral


def _part(deferred: tuple[WashDeferral, ...], share: float) -> tuple[WashDeferral, ...]:
    """A part fill carries that part of the sale's deferred loss."""
    if share >= 1.0 - 1e-9:
        return deferred
    return tuple(
        d.model_copy(update={"quantity": d.quantity * share, "basis_added": d.basis_added * share})
        for d in deferred
        if d.quantity * share > 1e-9
    )


def client_key(holdings: Holdings | None, filename: str) -> tuple[str, str]:
    """(key, name): a client is recognised by its set of account numbers, else by file name.

    A sheet with no account column gets the placeholder account of every such sheet, which
    says nothing about who the client is.
    """
    placeholder = Position.model_fields["account"].default
    accounts = [a for a in holdings.accounts if a != placeholder] if holdings else []
    name = Path(filename).stem or "client"
    return ("accounts:" + ",".join(accounts) if accounts else f"file:{name}"), name


def client_row(s: Session, key: str, name: str) -> Client:
    """The client with this key, added when new."""
    found = s.execute(select(Client).where(Client.key == key)).scalar_one_or_none()
    if found:
        return found
    try:
        with s.begin_nested():
            client = Client(key=key, name=name, created_at=rs.now())
            s.add(client)
        return client
    except IntegrityError:  # another replica added it first
        return s.execute(select(Client).where(Client.key == key)).scalar_one()


def add_snapshot(
    s: Session,
    client: Client,
    holdings: Holdings,
    source_bytes: bytes | None,
    filename: str,
    kind: str = "upload",
    run_id: str | None = None,
) -> Snapshot:
    snap = snapshot_row(client.id, holdings, source_bytes, filename, kind, run_id)
    s.add(snap)
    s.flush()
    return snap


class SnapshotStore(LedgerSession):
    def save_snapshot(
        self,
        holdings: Holdings,
        source_bytes: bytes | None = None,
        filename: str = "",
        client: str | None = None,
    ) -> int:
        """Keep an upload (original bytes, SHA-256 and import report) before any run uses it."""
        key, name = client_key(holdings, filename)
        if client:
            key, name = f"name:{client}", client
        with self._write() as s:
            owner = client_row(s, key, name)
            return add_snapshot(s, owner, holdings, source_bytes, filename or holdings.source).id

    def snapshots(self, run_id: str) -> list[SnapshotRecord]:
        """The uploaded snapshot the run started from, then any the execution produced."""
        with self._read() as s:
            run = rs.get_run(s, run_id)
            rows = s.execute(
                select(Snapshot)
                .where((Snapshot.id == run.snapshot_id) | (Snapshot.run_id == run_id))
                .order_by(Snapshot.id)
            ).scalars()
            return [SnapshotRecord.of(r) for r in rows]

    def holdings(self, snapshot_id: int) -> Holdings:
        with self._read() as s:
            snap = s.get(Snapshot, snapshot_id)
            if snap is None:
                raise LedgerError(f"no snapshot {snapshot_id}")
            return Holdings.model_validate(snap.holdings)

    def write_execution_snapshot(self, run_id: str) -> int | None:
        """Holdings after every fill of the run, stored once per distinct result."""
        with self._write() as s:
            run = rs.get_run(s, run_id, lock=True)
            if run.snapshot_id is None:
                return None
            base = s.get(Snapshot, run.snapshot_id)
            assert base is not None
            trades = {t.id: t for t in rs.trades(s, run_id)}
            # A sale cut by an edit relieves the first of the lots it named (what the order file
            # names and the ticket counts); a wash deferral was worked out for the proposal's
            # quantity and is not carried for an edit.
            edits = rs.edited(s, run_id)
            named = rs.lots_as_decided(s, run_id)
            deferred = {k: v for k, v in rs.wash_deferrals(s, run_id).items() if k not in edits}
            fills = [
                AppliedFill(
                    e.account,
                    e.symbol,
                    e.action,
                    e.quantity,
                    e.price or 0.0,
                    e.commission,
                    trades[e.client_order_id].asset_class,
                    date.fromisoformat(e.at[:10]),
                    named.get(trades[e.client_order_id].trade_id, ()),
                    _part(
                        deferred.get(trades[e.client_order_id].trade_id, ()),
                        e.quantity / trades[e.client_order_id].quantity,
                    ),
                )
                for e in s.execute(
                    select(Execution)
                    .where(
                        Execution.run_id == run_id,
                        Execution.stage == "result",
                        Execution.status == "FILLED",
                    )
                    .order_by(Execution.seq)
                ).scalars()
            ]
            if not fills:
                return None
            after = apply_fills(
                Holdings.model_validate(base.holdings),
                fills,
                source=f"after run {run_id}",
                # Lots go as the plan chose them: tax-aware unless the mandate said otherwise.
                tax_aware=bool((run.mandate or {}).get("tax_aware", True)),
            )
            body = after.model_dump(mode="json")
            digest = hashlib.sha256(chain.canonical_json(body).encode()).hexdigest()
            found = s.execute(
                select(Snapshot.id).where(
                    Snapshot.run_id == run_id,
                    Snapshot.kind == "execution",
                    Snapshot.sha256 == digest,
                )
            ).scalar_one_or_none()
            if found is not None:
                return found
            client = s.get(Client, base.client_id)
            assert client is not None
            snap = add_snapshot(
                s, client, after, None, f"{run_id}-executed.json", kind="execution", run_id=run_id
            )
            return snap.id
