"""Runs: started by the crew or a batch, given their proposal once (chained as a run entry), and
read back with each trade's verdict, latest decision and execution."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.broker import client_order_id, now_iso
from portfolio.ledger import chain, status
from portfolio.ledger import proposal_entry as entry
from portfolio.ledger import run_state as rs
from portfolio.ledger.errors import ConflictError, LedgerError
from portfolio.ledger.read_models import (
    DecisionRecord,
    ExecutionRecord,
    RunRecord,
    RunSummary,
    SnapshotRecord,
    TradeRecord,
    iso,
)
from portfolio.ledger.schema import (
    ChainHead,
    Client,
    ClientRecordRow,
    Proposal,
    Run,
    RunEntry,
    Snapshot,
    TradeRow,
)
from portfolio.ledger.session import LedgerSession
from portfolio.ledger.snapshot_store import add_snapshot, client_key, client_row
from portfolio.models import ClientMandate, Holdings, ModelPortfolio, RebalanceProposal
from portfolio.redact import redact, redact_data


def new_run_id() -> str:
    """Date-prefixed so ids sort by day and read well in an order file; random so replicas agree."""
    return f"{rs.now():%Y%m%d}-{secrets.token_hex(4)}"


def _client_owner(s: Session, client_id: int) -> str | None:
    rec = s.get(ClientRecordRow, client_id)
    return rec.owner if rec else None


class RunStore(LedgerSession):
    def create_run(
        self,
        *,
        holdings: Holdings | None = None,
        source_bytes: bytes | None = None,
        filename: str = "",
        client: str | None = None,
        mandate: ClientMandate | None = None,
        model: ModelPortfolio | None = None,
        settings: Mapping[str, Any] | None = None,
        agents: Mapping[str, Any] | None = None,
        prompt_version: str | None = None,
        status: str = status.RUNNING,
        snapshot_id: int | None = None,
        owner: str | None = None,
    ) -> str:
        """Start a run; `agents` maps agent name -> {"provider": ..., "model": ...}.

        With `snapshot_id` the run starts from an upload already kept by `save_snapshot`. The run
        belongs to its client's owner, else to `owner` (who started it).
        """
        key, name = client_key(holdings, filename)
        if client:
            key, name = f"name:{client}", client
        run_id = new_run_id()
        with self._write() as s:
            snap = s.get(Snapshot, snapshot_id) if snapshot_id is not None else None
            if snapshot_id is not None and snap is None:
                raise LedgerError(f"no snapshot {snapshot_id}")
            # A kept upload already belongs to its client: no other client row is made.
            owner_row = (s.get(Client, snap.client_id) if snap else None) or client_row(
                s, key, name
            )
            if snap is None and holdings is not None:
                snap = add_snapshot(
                    s, owner_row, holdings, source_bytes, filename or holdings.source
                )
            run = Run(
                id=run_id,
                client_id=owner_row.id,
                snapshot_id=snap.id if snap else None,
                status="",
                created_at=rs.now(),
                updated_at=rs.now(),
                mandate=mandate.model_dump(mode="json") if mandate else None,
                model_portfolio=model.model_dump(mode="json") if model else None,
                settings=redact_data(dict(settings or {})),  # a base URL may carry a key
                agents=dict(agents or {}),
                prompt_version=prompt_version,
                owner=_client_owner(s, owner_row.id) or owner,
            )
            s.add(run)
            s.flush()
            rs.set_status(s, self._key, run, status)
        return run_id

    def owner(self, run_id: str) -> str | None:
        """Who the run belongs to: what roles are checked against."""
        with self._read() as s:
            return rs.get_run(s, run_id).owner

    def set_run_status(self, run_id: str, new_status: str, error: str | None = None) -> None:
        """For the crew's lifecycle (RUNNING, FAILED); decided runs derive their own status."""
        with self._write() as s:
            run = rs.get_run(s, run_id, lock=True)
            rs.set_status(s, self._key, run, new_status)
            if error is not None:
                run.error = redact(error)

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Fill in settings, agents or prompt_version learnt after the run started."""
        allowed = {"settings", "agents", "prompt_version"}
        if unknown := set(fields) - allowed:
            raise LedgerError(f"cannot update {sorted(unknown)}")
        with self._write() as s:
            run = rs.get_run(s, run_id, lock=True)
            for k, v in fields.items():
                setattr(run, k, redact_data(dict(v)) if isinstance(v, Mapping) else v)
            run.updated_at = rs.now()

    def save_proposal(self, run_id: str, proposal: RebalanceProposal) -> dict[str, str]:
        """Store the proposal and its trades; returns trade id -> stored id (= client order id)."""
        ids = [t.id for t in proposal.trades]
        if len(set(ids)) != len(ids):
            raise ConflictError("the proposal repeats a trade id")
        with self._write() as s:
            run = rs.get_run(s, run_id, lock=True)
            if s.get(Proposal, run_id) is not None:
                raise ConflictError(f"run {run_id} already has a proposal")
            body = proposal.model_dump(mode="json")
            digest = entry.body_sha256(body)
            s.add(Proposal(run_id=run_id, body=body, sha256=digest, created_at=rs.now()))
            heads = {h.name: h.seq for h in s.execute(select(ChainHead)).scalars()}
            self._append(
                s,
                RunEntry,
                {
                    "run_id": run_id,
                    "kind": entry.PROPOSAL,
                    "body": chain.canonical_json(
                        entry.proposal_body(
                            digest,
                            [entry.trade_record(t) for t in proposal.trades],
                            heads.get("decisions", 0),
                            heads.get("executions", 0),
                        )
                    ),
                    "at": now_iso(),
                },
            )
            stored = {}
            for n, t in enumerate(proposal.trades):
                stored[t.id] = client_order_id(run_id, t.id)
                s.add(
                    TradeRow(
                        id=stored[t.id],
                        run_id=run_id,
                        trade_id=t.id,
                        ordinal=n,
                        account=t.account,
                        symbol=t.symbol,
                        action=t.action,
                        quantity=t.quantity,
                        price=t.price,
                        value=t.value,
                        asset_class=str(t.asset_class),
                        order_type=t.order_type,
                        limit_price=t.limit_price,
                        compliance_status=t.compliance.status,
                        compliance_rules=list(t.compliance.rules),
                        compliance_reasons=list(t.compliance.reasons),
                    )
                )
            run.mandate = run.mandate or proposal.mandate.model_dump(mode="json")
            run.model_portfolio = run.model_portfolio or proposal.model.model_dump(mode="json")
            s.flush()
            rs.set_status(s, self._key, run, status.PENDING_REVIEW)
        return stored

    def proposal(self, run_id: str) -> RebalanceProposal:
        with self._read() as s:
            rs.get_run(s, run_id)
            row = s.get(Proposal, run_id)
            if row is None:
                raise LedgerError(f"run {run_id} has no proposal yet")
            return RebalanceProposal.model_validate(row.body)

    def runs(self, limit: int = 50) -> list[RunSummary]:
        """Newest first, with client, source file and trade counts for a listing."""
        with self._read() as s:
            counts = (
                select(TradeRow.run_id, func.count().label("n"))
                .group_by(TradeRow.run_id)
                .subquery()
            )
            rows = s.execute(
                select(Run, Client.name, Snapshot.filename, counts.c.n)
                .outerjoin(Client, Client.id == Run.client_id)
                .outerjoin(Snapshot, Snapshot.id == Run.snapshot_id)
                .outerjoin(counts, counts.c.run_id == Run.id)
                .order_by(Run.created_at.desc(), Run.id)
                .limit(limit)
            ).all()
            return [
                RunSummary(
                    run_id=run.id,
                    created_at=iso(run.created_at),
                    status=run.status,
                    owner=run.owner,
                    client=client,
                    file=filename,
                    profile=(run.mandate or {}).get("risk_profile"),
                    trades=n or 0,
                )
                for run, client, filename, n in rows
            ]

    def run(self, run_id: str) -> RunRecord:
        """A run with each trade's compliance verdict, latest decision and execution outcome."""
        with self._read() as s:
            run = rs.get_run(s, run_id)
            client = s.get(Client, run.client_id) if run.client_id else None
            snap = s.get(Snapshot, run.snapshot_id) if run.snapshot_id else None
            latest = rs.latest_decisions(s, run_id)
            edits = rs.edited(s, run_id)
            outcome = rs.outcomes(s, run_id)
            named = rs.lots_as_decided(s, run_id)
            return RunRecord(
                run_id=run.id,
                status=run.status,
                owner=run.owner,
                created_at=iso(run.created_at),
                updated_at=iso(run.updated_at),
                client=client.name if client else None,
                snapshot=SnapshotRecord.of(snap) if snap else None,
                mandate=run.mandate,
                model_portfolio=run.model_portfolio,
                settings=run.settings,
                agents=run.agents,
                prompt_version=run.prompt_version,
                error=run.error,
                trades=[
                    TradeRecord(
                        id=t.id,
                        trade_id=t.trade_id,
                        account=t.account,
                        symbol=t.symbol,
                        action=t.action,
                        # What executes: the advisor's edited quantity, else the proposal's.
                        quantity=edits.get(t.trade_id, t.quantity),
                        proposed_quantity=t.quantity,
                        edited=t.trade_id in edits,
                        price=t.price,
                        value=round(edits[t.trade_id] * t.price, 2)
                        if t.trade_id in edits
                        else t.value,
                        order_type=t.order_type,
                        limit_price=t.limit_price,
                        compliance=t.compliance_status,
                        rules=t.compliance_rules,
                        reasons=t.compliance_reasons,
                        decision=DecisionRecord.of(latest[t.trade_id])
                        if t.trade_id in latest
                        else None,
                        execution=ExecutionRecord.of(outcome[t.trade_id])
                        if t.trade_id in outcome
                        else None,
                        lots=list(named.get(t.trade_id, ())),
                    )
                    for t in rs.trades(s, run_id)
                ],
            )
