"""The Ledger: every read and write of runs, decisions and executions goes through here (the
firm's people through `Ledger.people`).

Each public method is one transaction. Writes that must not interleave (decisions and orders of one
run, links of a journal) lock the run row and the chain head; on SQLite every write transaction
takes the database write lock up front instead. A method that raises has written nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portfolio.access import Firm, Identity, execution_blockers, may
from portfolio.broker import Fill, Order, client_order_id, now_iso
from portfolio.compliance import check_trades
from portfolio.ledger import chain, status
from portfolio.ledger import people as firm_people
from portfolio.ledger import proposal_entry as entry
from portfolio.ledger.engine import WRITE
from portfolio.ledger.errors import (
    ConflictError,
    LedgerError,
    NothingToExecute,
    TamperedError,
    UnknownRun,
    UnknownTrade,
)
from portfolio.ledger.fills import AppliedFill, apply_fills
from portfolio.ledger.keys import LedgerKey
from portfolio.ledger.schema import (
    AgentResult,
    ChainHead,
    Client,
    ClientRecordRow,
    Decision,
    Execution,
    Proposal,
    Run,
    RunEntry,
    RunEvent,
    Snapshot,
    TradeRow,
)
from portfolio.ledger.snapshots import snapshot_row
from portfolio.models import (
    ClientMandate,
    Holdings,
    ModelPortfolio,
    Position,
    RebalanceProposal,
)
from portfolio.redact import redact, redact_data
from portfolio.securities import load_securities
from portfolio.trade_edits import EditRefused, judge_edits, parse_quantity, with_quantities

DECISIONS = ("APPROVE", "VETO")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def new_run_id() -> str:
    """Date-prefixed so ids sort by day and read well in an order file; random so replicas agree."""
    return f"{_now():%Y%m%d}-{secrets.token_hex(4)}"


def client_key(holdings: Holdings | None, filename: str) -> tuple[str, str]:
    """(key, name): a client is recognised by its set of account numbers, else by file name.

    A sheet with no account column gets the placeholder account of every such sheet, which
    says nothing about who the client is.
    """
    placeholder = Position.model_fields["account"].default
    accounts = [a for a in holdings.accounts if a != placeholder] if holdings else []
    name = Path(filename).stem or "client"
    return ("accounts:" + ",".join(accounts) if accounts else f"file:{name}"), name


class Ledger:
    def __init__(self, engine: Engine, key: LedgerKey) -> None:
        self.engine = engine
        self._key = key.secret
        self.key_source = key.source
        self.key_created = key.created

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @property
    def people(self) -> firm_people.FirmPeople:
        """The firm's people added on Settings, read and written through their chained journal."""
        return firm_people.FirmPeople(self.engine, self._key)

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            yield s

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            s.connection(execution_options={WRITE: True})
            yield s

    def _append(self, s: Session, model: type[Any], values: dict[str, Any]) -> Any:
        return chain.append(s, model, values, self._key)

    def _set_status(self, s: Session, run: Run, new: str) -> None:
        """Every change of a run's status is chained, so the column can be checked against it."""
        if run.status == new and self._chained_status(s, run.id) == new:
            return
        run.status, run.updated_at = new, _now()
        self._append(
            s,
            RunEntry,
            {
                "run_id": run.id,
                "kind": entry.STATUS,
                "body": chain.canonical_json({"status": new}),
                "at": now_iso(),
            },
        )

    def _entry(self, s: Session, run_id: str, kind: str) -> RunEntry | None:
        return s.execute(
            select(RunEntry)
            .where(RunEntry.run_id == run_id, RunEntry.kind == kind)
            .order_by(RunEntry.seq.desc())
            .limit(1)
        ).scalar_one_or_none()

    def _chained_status(self, s: Session, run_id: str) -> str | None:
        row = self._entry(s, run_id, entry.STATUS)
        return None if row is None else entry.parse(row.body)["status"]

    def _chained(self, s: Session, run_id: str) -> tuple[RunEntry, dict[str, Any]] | None:
        """The run's chained proposal, its own hash and MAC checked; None if never saved."""
        row = self._entry(s, run_id, entry.PROPOSAL)
        if row is None:
            return None
        if chain.link_hash(chain.row_content(row)) != row.hash or not chain.mac_ok(
            self._key, row.hash, row.mac
        ):
            raise TamperedError(
                f"run {run_id}: its chained proposal (link {row.seq}) was altered; run `verify`"
            )
        return row, entry.parse(row.body)

    def _table_problems(
        self, s: Session, run_id: str, body: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        run = self._run(s, run_id)
        prop = s.get(Proposal, run_id)
        return entry.differences(
            run_id,
            body,
            prop.body if prop else None,
            prop.sha256 if prop else None,
            s.execute(
                select(*(TradeRow.__table__.c[c] for c in entry.TABLE_COLUMNS)).where(
                    TradeRow.run_id == run_id
                )
            ).mappings(),
            run.status,
            self._chained_status(s, run_id),
        )

    def _run(self, s: Session, run_id: str, lock: bool = False) -> Run:
        stmt = select(Run).where(Run.id == run_id)
        run = s.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if run is None:
            raise UnknownRun(f"no run {run_id!r} (see `runs` for the list)")
        return run

    # ---------------------------------------------------------------- clients and snapshots

    def _client(self, s: Session, key: str, name: str) -> Client:
        found = s.execute(select(Client).where(Client.key == key)).scalar_one_or_none()
        if found:
            return found
        try:
            with s.begin_nested():
                client = Client(key=key, name=name, created_at=_now())
                s.add(client)
            return client
        except IntegrityError:  # another replica added it first
            return s.execute(select(Client).where(Client.key == key)).scalar_one()

    def _snapshot(
        self,
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
            owner = self._client(s, key, name)
            return self._snapshot(s, owner, holdings, source_bytes, filename or holdings.source).id

    def snapshots(self, run_id: str) -> list[dict[str, Any]]:
        """The uploaded snapshot the run started from, then any the execution produced."""
        with self._read() as s:
            run = self._run(s, run_id)
            rows = s.execute(
                select(Snapshot)
                .where((Snapshot.id == run.snapshot_id) | (Snapshot.run_id == run_id))
                .order_by(Snapshot.id)
            ).scalars()
            return [_snapshot_dict(r) for r in rows]

    def holdings(self, snapshot_id: int) -> Holdings:
        with self._read() as s:
            snap = s.get(Snapshot, snapshot_id)
            if snap is None:
                raise LedgerError(f"no snapshot {snapshot_id}")
            return Holdings.model_validate(snap.holdings)

    # ---------------------------------------------------------------- runs

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
            owner_row = (s.get(Client, snap.client_id) if snap else None) or self._client(
                s, key, name
            )
            if snap is None and holdings is not None:
                snap = self._snapshot(
                    s, owner_row, holdings, source_bytes, filename or holdings.source
                )
            run = Run(
                id=run_id,
                client_id=owner_row.id,
                snapshot_id=snap.id if snap else None,
                status="",
                created_at=_now(),
                updated_at=_now(),
                mandate=mandate.model_dump(mode="json") if mandate else None,
                model_portfolio=model.model_dump(mode="json") if model else None,
                settings=redact_data(dict(settings or {})),  # a base URL may carry a key
                agents=dict(agents or {}),
                prompt_version=prompt_version,
                owner=self._client_owner(s, owner_row.id) or owner,
            )
            s.add(run)
            s.flush()
            self._set_status(s, run, status)
        return run_id

    @staticmethod
    def _client_owner(s: Session, client_id: int) -> str | None:
        rec = s.get(ClientRecordRow, client_id)
        return rec.owner if rec else None

    def owner(self, run_id: str) -> str | None:
        """Who the run belongs to: what roles are checked against."""
        with self._read() as s:
            return self._run(s, run_id).owner

    def set_run_status(self, run_id: str, new_status: str, error: str | None = None) -> None:
        """For the crew's lifecycle (RUNNING, FAILED); decided runs derive their own status."""
        with self._write() as s:
            run = self._run(s, run_id, lock=True)
            self._set_status(s, run, new_status)
            if error is not None:
                run.error = redact(error)

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Fill in settings, agents or prompt_version learnt after the run started."""
        allowed = {"settings", "agents", "prompt_version"}
        if unknown := set(fields) - allowed:
            raise LedgerError(f"cannot update {sorted(unknown)}")
        with self._write() as s:
            run = self._run(s, run_id, lock=True)
            for k, v in fields.items():
                setattr(run, k, redact_data(dict(v)) if isinstance(v, Mapping) else v)
            run.updated_at = _now()

    def save_proposal(self, run_id: str, proposal: RebalanceProposal) -> dict[str, str]:
        """Store the proposal and its trades; returns trade id -> stored id (= client order id)."""
        ids = [t.id for t in proposal.trades]
        if len(set(ids)) != len(ids):
            raise ConflictError("the proposal repeats a trade id")
        with self._write() as s:
            run = self._run(s, run_id, lock=True)
            if s.get(Proposal, run_id) is not None:
                raise ConflictError(f"run {run_id} already has a proposal")
            body = proposal.model_dump(mode="json")
            digest = entry.body_sha256(body)
            s.add(Proposal(run_id=run_id, body=body, sha256=digest, created_at=_now()))
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
            self._set_status(s, run, status.PENDING_REVIEW)
        return stored

    def proposal(self, run_id: str) -> RebalanceProposal:
        with self._read() as s:
            self._run(s, run_id)
            row = s.get(Proposal, run_id)
            if row is None:
                raise LedgerError(f"run {run_id} has no proposal yet")
            return RebalanceProposal.model_validate(row.body)

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
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
                {
                    "run_id": run.id,
                    "created_at": _iso(run.created_at),
                    "status": run.status,
                    "owner": run.owner,
                    "client": client,
                    "file": filename,
                    "profile": (run.mandate or {}).get("risk_profile"),
                    "trades": n or 0,
                }
                for run, client, filename, n in rows
            ]

    def run(self, run_id: str) -> dict[str, Any]:
        """A run with each trade's compliance verdict, latest decision and execution outcome."""
        with self._read() as s:
            run = self._run(s, run_id)
            client = s.get(Client, run.client_id) if run.client_id else None
            snap = s.get(Snapshot, run.snapshot_id) if run.snapshot_id else None
            trades = self._trades(s, run_id)
            latest = self._latest_decisions(s, run_id)
            edits = self._edited(s, run_id)
            outcome = self._outcomes(s, run_id)
            return {
                "run_id": run.id,
                "status": run.status,
                "owner": run.owner,
                "created_at": _iso(run.created_at),
                "updated_at": _iso(run.updated_at),
                "client": client.name if client else None,
                "snapshot": _snapshot_dict(snap) if snap else None,
                "mandate": run.mandate,
                "model_portfolio": run.model_portfolio,
                "settings": run.settings,
                "agents": run.agents,
                "prompt_version": run.prompt_version,
                "error": run.error,
                "trades": [
                    {
                        "id": t.id,
                        "trade_id": t.trade_id,
                        "account": t.account,
                        "symbol": t.symbol,
                        "action": t.action,
                        # What executes: the advisor's edited quantity, else the proposal's.
                        "quantity": edits.get(t.trade_id, t.quantity),
                        "proposed_quantity": t.quantity,
                        "edited": t.trade_id in edits,
                        "price": t.price,
                        "value": round(edits[t.trade_id] * t.price, 2)
                        if t.trade_id in edits
                        else t.value,
                        "order_type": t.order_type,
                        "limit_price": t.limit_price,
                        "compliance": t.compliance_status,
                        "rules": t.compliance_rules,
                        "reasons": t.compliance_reasons,
                        "decision": _decision_dict(latest[t.trade_id])
                        if t.trade_id in latest
                        else None,
                        "execution": outcome.get(t.trade_id),
                    }
                    for t in trades
                ],
            }

    def _trades(self, s: Session, run_id: str) -> list[TradeRow]:
        return list(
            s.execute(
                select(TradeRow).where(TradeRow.run_id == run_id).order_by(TradeRow.ordinal)
            ).scalars()
        )

    # ---------------------------------------------------------------- agents and events

    def record_agent_result(
        self,
        run_id: str,
        agent: str,
        transcript: Any,
        result_json: Any,
        status: str,
        timing: Mapping[str, Any] | None = None,
        usage: Mapping[str, Any] | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> int:
        with self._write() as s:
            self._run(s, run_id)
            row = AgentResult(
                run_id=run_id,
                agent=agent,
                status=status,
                provider=provider,
                model=model,
                transcript=redact_data(transcript),
                result=redact_data(result_json),
                timing=dict(timing or {}),
                usage=dict(usage or {}),
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            return row.id

    def agent_results(self, run_id: str) -> list[dict[str, Any]]:
        with self._read() as s:
            self._run(s, run_id)
            rows = s.execute(
                select(AgentResult).where(AgentResult.run_id == run_id).order_by(AgentResult.id)
            ).scalars()
            return [
                {
                    "agent": r.agent,
                    "status": r.status,
                    "provider": r.provider,
                    "model": r.model,
                    "transcript": r.transcript,
                    "result": r.result,
                    "timing": r.timing,
                    "usage": r.usage,
                    "recorded_at": _iso(r.created_at),
                }
                for r in rows
            ]

    def append_event(self, run_id: str, event_json: Any, *, first: bool = False) -> int:
        """Append to the run's event log; returns its sequence number (1, 2, ...).

        `first`: only into an empty log, else nothing is written and 0 is returned. The run's row
        is locked while the log is read, so of two processes starting the same run's words (two
        replicas of the app opening one batch run) exactly one writes them."""
        with self._write() as s:
            self._run(s, run_id, lock=True)
            last = s.execute(
                select(func.max(RunEvent.seq)).where(RunEvent.run_id == run_id)
            ).scalar_one()
            if first and last is not None:
                return 0
            seq = (last or 0) + 1
            event = redact_data(event_json)  # error texts may quote a provider's request headers
            s.add(RunEvent(run_id=run_id, seq=seq, event=event, created_at=_now()))
            return seq

    def events(self, run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
        """Events after `after_seq`, so a reloaded page resumes where it left off."""
        with self._read() as s:
            self._run(s, run_id)
            rows = s.execute(
                select(RunEvent)
                .where(RunEvent.run_id == run_id, RunEvent.seq > after_seq)
                .order_by(RunEvent.seq)
            ).scalars()
            return [{"seq": r.seq, "event": r.event, "at": _iso(r.created_at)} for r in rows]

    # ---------------------------------------------------------------- decisions

    def _latest_decisions(self, s: Session, run_id: str) -> dict[str, Decision]:
        rows = s.execute(
            select(Decision).where(Decision.run_id == run_id).order_by(Decision.seq)
        ).scalars()
        return {d.trade_id: d for d in rows}

    def _edited(self, s: Session, run_id: str) -> dict[str, float]:
        """trade id -> the quantity of its latest decision that carries one (an edit)."""
        rows = s.execute(
            select(Decision.trade_id, Decision.quantity)
            .where(Decision.run_id == run_id, Decision.quantity.is_not(None))
            .order_by(Decision.seq)
        ).all()
        return {tid: float(q) for tid, q in rows}

    def _stored_proposal(self, s: Session, run_id: str) -> RebalanceProposal | None:
        """The stored proposal, once it is checked against the chained one."""
        chained = self._chained(s, run_id)
        row = s.get(Proposal, run_id)
        if row is None or chained is None:
            return None
        if entry.body_sha256(row.body) != chained[1]["proposal_sha256"]:
            raise TamperedError(f"run {run_id}: the stored proposal differs from the chained one")
        return RebalanceProposal.model_validate(row.body)

    def _outcomes(self, s: Session, run_id: str) -> dict[str, dict[str, Any]]:
        """trade id -> {"status": SENT|FILLED|REJECTED, ...} from the execution journal."""
        rows = s.execute(
            select(Execution).where(Execution.run_id == run_id).order_by(Execution.seq)
        ).scalars()
        out: dict[str, dict[str, Any]] = {}
        for e in rows:
            out[e.trade_id] = _execution_dict(e)
        return out

    def _normalise_ids(self, run_id: str, ids: Sequence[str]) -> list[str]:
        prefix = f"{run_id}-"
        return [i.strip().removeprefix(prefix) for i in ids if i.strip()]

    def decide(
        self,
        run_id: str,
        approve: Sequence[str] = (),
        veto: Sequence[str] = (),
        by: str = "",
        reason: str | None = None,
        quantities: Mapping[str, float | str] | None = None,
    ) -> list[dict[str, Any]]:
        """Append one decision per trade; all or nothing.

        Trade ids are the proposal's (T1) or the stored ones ({run_id}-T1). `quantities` edits
        trades (an edit approves the trade at its new quantity, which is what executes); each
        edit passes the compliance gate again with the other trades that may still run. Refused:
        unknown ids, a trade both approved and vetoed, approving or editing a compliance veto, an
        edit the gate refuses, and re-deciding a trade whose order has been sent.
        """
        by = (by or "").strip()
        if not by:
            raise LedgerError("a decision needs the name of who made it (--by)")
        approve, veto = self._normalise_ids(run_id, approve), self._normalise_ids(run_id, veto)
        try:
            edits = {
                self._normalise_ids(run_id, [tid])[0]: parse_quantity(q)
                for tid, q in (quantities or {}).items()
                if tid.strip()
            }
        except EditRefused as exc:
            raise ConflictError(str(exc)) from None
        approve = [*approve, *(i for i in edits if i not in approve)]
        if not approve and not veto:
            raise LedgerError("name at least one trade to approve or veto")
        if both := sorted(set(approve) & set(veto)):
            raise ConflictError(f"{', '.join(both)} cannot be both approved and vetoed")
        for ids in (approve, veto):
            if dup := sorted(i for i, n in Counter(ids).items() if n > 1):
                raise ConflictError(f"{', '.join(dup)} named twice")
        wanted = {**dict.fromkeys(approve, "APPROVE"), **dict.fromkeys(veto, "VETO")}
        with self._write() as s:
            self._run(s, run_id, lock=True)
            chained = self._chained(s, run_id)
            if chained is None:
                raise LedgerError(f"run {run_id} has no trades to decide")
            proposal_link, body = chained
            if problems := self._table_problems(s, run_id, body):
                raise TamperedError(f"decision refused: {problems[0]['reason']}; run `verify`")
            trades = {t["id"]: t for t in body["trades"]}
            ordinal = {tid: n for n, tid in enumerate(trades)}
            if not trades:
                raise LedgerError(f"run {run_id} has no trades to decide")
            if closed := status.final_reason(run_id, status.derive_status(self._states(s, run_id))):
                raise ConflictError(closed)
            if unknown := [i for i in wanted if i not in trades]:
                raise UnknownTrade(
                    f"run {run_id} has no trade {', '.join(unknown)} "
                    f"(its trades: {', '.join(trades)})"
                )
            for tid in approve:
                if trades[tid]["compliance"] == "VETOED":
                    row = s.get(TradeRow, client_order_id(run_id, tid))
                    rule = ", ".join(row.compliance_rules if row else []) or "compliance"
                    raise ConflictError(
                        f"{tid} was vetoed by compliance ({rule}) and cannot be approved"
                    )
            sent = self._outcomes(s, run_id)
            if already := [i for i in wanted if i in sent]:
                raise ConflictError(
                    f"{', '.join(already)} already sent to the broker; the decision is final"
                )
            if edits:
                self._judge_edits(s, run_id, edits, set(veto))
            at = now_iso()
            rows = chain.append_many(
                s,
                Decision,
                [
                    {
                        "run_id": run_id,
                        "trade_id": tid,
                        "decision": wanted[tid],
                        "decided_by": by,
                        "reason": reason or None,
                        "decided_at": at,
                        "proposal_hash": proposal_link.hash,
                        "quantity": edits.get(tid),
                    }
                    for tid in sorted(wanted, key=ordinal.__getitem__)
                ],
                self._key,
            )
            written = [_decision_dict(row) for row in rows]
            self._refresh_status(s, run_id)
            return written

    def _judge_edits(
        self, s: Session, run_id: str, edits: Mapping[str, float], vetoing: set[str]
    ) -> None:
        """Raise ConflictError, with the gate's reasons, unless every edit passes the gate."""
        proposal = self._stored_proposal(s, run_id)
        if proposal is None:
            raise LedgerError(f"run {run_id} has no trades to decide")
        latest = self._latest_decisions(s, run_id)
        vetoed = {tid for tid, d in latest.items() if d.decision == "VETO"} | vetoing
        try:
            judge_edits(
                proposal, edits, self._edited(s, run_id), vetoed - set(edits), load_securities()
            )
        except EditRefused as exc:
            raise ConflictError(str(exc)) from None

    def decisions(self, run_id: str) -> list[dict[str, Any]]:
        """Every decision on the run in the order made, superseded ones included."""
        with self._read() as s:
            self._run(s, run_id)
            rows = s.execute(
                select(Decision).where(Decision.run_id == run_id).order_by(Decision.seq)
            ).scalars()
            return [_decision_dict(d) for d in rows]

    # ---------------------------------------------------------------- sign-offs (four-eyes)

    def _last_decision_hash(self, s: Session, run_id: str) -> str | None:
        return s.execute(
            select(Decision.hash)
            .where(Decision.run_id == run_id)
            .order_by(Decision.seq.desc())
            .limit(1)
        ).scalar_one_or_none()

    def _deciders(self, s: Session, run_id: str) -> list[str]:
        return list(
            s.execute(select(Decision.decided_by).where(Decision.run_id == run_id).distinct())
            .scalars()
            .all()
        )

    def _sign_offs(self, s: Session, run_id: str) -> list[dict[str, Any]]:
        """Every sign-off of the run; `current` when no decision was made after it."""
        last = self._last_decision_hash(s, run_id)
        rows = s.execute(
            select(RunEntry)
            .where(RunEntry.run_id == run_id, RunEntry.kind == entry.SIGN_OFF)
            .order_by(RunEntry.seq)
        ).scalars()
        out = []
        for row in rows:
            body = entry.parse(row.body)
            out.append(
                {
                    "seq": row.seq,
                    "by": body["by"],
                    "role": body.get("role"),
                    "at": row.at,
                    "hash": row.hash,
                    "current": body.get("last_decision") == last,
                }
            )
        return out

    def sign_offs(self, run_id: str) -> list[dict[str, Any]]:
        with self._read() as s:
            self._run(s, run_id)
            return self._sign_offs(s, run_id)

    def sign_off(self, run_id: str, who: Identity, firm: Firm) -> dict[str, Any]:
        """A supervisor's word that the run's decisions may be executed, as a chained run entry.

        It covers the decisions as they stand: a later decision makes it stale. Refused: a role
        that may not sign off this run, a person who made any of its decisions, undecided or no
        approved trades, a final run."""
        with self._write() as s:
            run = self._run(s, run_id, lock=True)
            if not may(who, "sign_off", run.owner, firm):
                raise ConflictError(f"the {who.role} role cannot sign off run {run_id}")
            if self._chained(s, run_id) is None:
                raise LedgerError(f"run {run_id} has no trades to sign off")
            states = self._states(s, run_id)
            if closed := status.final_reason(run_id, status.derive_status(states)):
                raise ConflictError(closed)
            if undecided := [x.trade_id for x in states if not x.settled]:
                raise ConflictError(
                    f"{', '.join(undecided)} in run {run_id} have no decision yet; "
                    "every trade is decided before sign-off"
                )
            if not any(x.approved for x in states):
                raise NothingToExecute(f"run {run_id} has no approved trades to sign off")
            if who.id.lower() in {d.lower() for d in self._deciders(s, run_id)}:
                raise ConflictError(
                    "four-eyes: you made decisions on this run; a second person must sign off"
                )
            last = self._last_decision_hash(s, run_id)
            row = self._append(
                s,
                RunEntry,
                {
                    "run_id": run_id,
                    "kind": entry.SIGN_OFF,
                    "body": chain.canonical_json(
                        {"by": who.id, "role": who.role, "last_decision": last}
                    ),
                    "at": now_iso(),
                },
            )
            return {"seq": row.seq, "by": who.id, "role": who.role, "at": row.at}

    def _blockers(self, s: Session, run: Run, who: Identity, firm: Firm) -> list[str]:
        signers = [x["by"] for x in self._sign_offs(s, run.id) if x["current"]]
        return execution_blockers(
            who, owner=run.owner, firm=firm, deciders=self._deciders(s, run.id), sign_offs=signers
        )

    def execution_blockers(self, run_id: str, who: Identity, firm: Firm) -> list[str]:
        """Why `who` may not execute the run now, by the firm's rules (empty when they may)."""
        with self._read() as s:
            return self._blockers(s, self._run(s, run_id), who, firm)

    # ---------------------------------------------------------------- executions

    def _states(self, s: Session, run_id: str) -> list[status.TradeState]:
        """From the chained proposal and the journals; the trades table only for unchained runs."""
        latest = dict(
            s.execute(
                select(Decision.trade_id, Decision.decision)
                .where(Decision.run_id == run_id)
                .order_by(Decision.seq)
            ).all()
        )
        out = self._outcomes(s, run_id)
        chained = self._chained(s, run_id)
        verdicts = (
            [(t["id"], t["compliance"]) for t in chained[1]["trades"]]
            if chained
            else [(t.trade_id, t.compliance_status) for t in self._trades(s, run_id)]
        )
        return status.trade_states(
            verdicts,
            latest,
            set(out),
            {k: v["status"] for k, v in out.items() if v["status"] != "SENT"},
        )

    def _refresh_status(self, s: Session, run_id: str) -> str:
        run = self._run(s, run_id)
        new = status.derive_status(self._states(s, run_id))
        if run.status != new:
            self._set_status(s, run, new)
        return new

    def refresh_status(self, run_id: str) -> str:
        with self._write() as s:
            self._run(s, run_id, lock=True)
            return self._refresh_status(s, run_id)

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
            run = self._run(s, run_id, lock=True)
            s.execute(
                select(ChainHead).where(ChainHead.name == "executions").with_for_update()
            ).scalar_one_or_none()
            if firm is not None and not firm.local:
                if not isinstance(by, Identity):
                    raise ConflictError("execution refused: the executor is not a firm identity")
                if blocked := self._blockers(s, run, by, firm):
                    raise ConflictError(f"execution refused: {blocked[0]}")
            _, body = self._verified(s, run_id)
            states = self._states(s, run_id)
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
            self._recheck(s, run_id, to_send)
            trades = _as_edited(body["trades"], self._edited(s, run_id))
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
            self._refresh_status(s, run_id)
            return self._pending(s, run_id)

    def _verified(self, s: Session, run_id: str) -> tuple[RunEntry, dict[str, Any]]:
        """The run's chained proposal, once every link it relies on and every copy agree."""
        chained = self._chained(s, run_id)
        if chained is None:
            raise TamperedError(f"execution refused: run {run_id} has no chained proposal")
        link, body = chained
        segments = (
            (RunEntry, link.seq - 1),
            (Decision, int(body["decisions_from"])),
            (Execution, int(body["executions_from"])),
        )
        for model, after in segments:
            report = chain.verify_segment(s, model, self._key, after)
            if report.broken is not None:
                b = report.broken
                raise TamperedError(
                    f"execution refused: the {report.name} chain is broken at link {b['seq']}: "
                    f"{b['reason']}; run `verify`"
                )
        if problems := self._table_problems(s, run_id, body):
            raise TamperedError(f"execution refused: {problems[0]['reason']}; run `verify`")
        stray = s.execute(
            select(Decision.trade_id).where(
                Decision.run_id == run_id,
                Decision.proposal_hash.is_not(None),
                Decision.proposal_hash != link.hash,
            )
        ).first()
        if stray is not None:
            raise TamperedError(
                f"execution refused: a decision on {stray[0]} refers to another proposal"
            )
        return link, body

    def check_funding(self, run_id: str, trade_ids: Sequence[str]) -> None:
        """Raise ConflictError if these trades, alone, fail the compliance gate (a buy without its
        cash, a cap, a screen); the ticket asks before it records anything."""
        with self._read() as s:
            self._run(s, run_id)
            self._recheck(s, run_id, self._normalise_ids(run_id, trade_ids))

    def _recheck(self, s: Session, run_id: str, to_send: Sequence[str]) -> None:
        """The gate judged each trade assuming every other one ran too; judge again, whole, what
        the advisor actually approved: screens, caps, suitability, cash and shorts."""
        chained = self._chained(s, run_id)
        row = s.get(Proposal, run_id)
        if row is None or chained is None or not to_send:
            return
        if entry.body_sha256(row.body) != chained[1]["proposal_sha256"]:
            raise TamperedError(f"run {run_id}: the stored proposal differs from the chained one")
        proposal = RebalanceProposal.model_validate(row.body)
        if not proposal.positions:  # nothing to judge against
            return
        chosen = with_quantities(
            [t for t in proposal.trades if t.id in set(to_send)], self._edited(s, run_id)
        )
        judged = check_trades(chosen, proposal.positions, proposal.mandate, load_securities())
        refused = [t for t in judged if t.compliance.status != "APPROVED"]
        if not refused:
            return
        why = "; ".join(
            f"{t.id} {t.symbol} [{', '.join(t.compliance.rules)}]: {t.compliance.reasons[0]}"
            for t in refused
        )
        if any({"cash_floor", "no_shorts"} & set(t.compliance.rules) for t in refused):
            raise ConflictError(
                f"the approved trades do not stand on their own ({why}); approve the sells "
                "that fund them or veto these buys"
            )
        raise ConflictError(f"the approved trades fail the compliance gate again ({why})")

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
                chained = self._chained(s, e.run_id)
                if chained is None:
                    raise TamperedError(f"run {e.run_id} has orders but no chained proposal")
                bodies[e.run_id] = _as_edited(chained[1]["trades"], self._edited(s, e.run_id))
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
                self._run(s, run_id, lock=True)
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

    def executions(self, run_id: str) -> list[dict[str, Any]]:
        with self._read() as s:
            self._run(s, run_id)
            rows = s.execute(
                select(Execution).where(Execution.run_id == run_id).order_by(Execution.seq)
            ).scalars()
            return [_execution_dict(e) for e in rows]

    def write_execution_snapshot(self, run_id: str) -> int | None:
        """Holdings after every fill of the run, stored once per distinct result."""
        with self._write() as s:
            run = self._run(s, run_id, lock=True)
            if run.snapshot_id is None:
                return None
            base = s.get(Snapshot, run.snapshot_id)
            assert base is not None
            trades = {t.id: t for t in self._trades(s, run_id)}
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
                Holdings.model_validate(base.holdings), fills, source=f"after run {run_id}"
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
            snap = self._snapshot(
                s, client, after, None, f"{run_id}-executed.json", kind="execution", run_id=run_id
            )
            return snap.id

    # ---------------------------------------------------------------- integrity

    def verify(self) -> chain.VerifyReport:
        """Every chain from its genesis, then every run's tables against its chained entries."""
        with self._read() as s:
            chains = chain.verify(s, self._key)
            tables: list[dict[str, Any]] = []
            if all(c.ok for c in chains if c.name != firm_people.JOURNAL):
                latest: dict[tuple[str, str], RunEntry] = {}
                for row in s.execute(select(RunEntry).order_by(RunEntry.seq)).scalars():
                    latest[(row.run_id, row.kind)] = row
                for run in s.execute(select(Run).order_by(Run.created_at, Run.id)).scalars():
                    proposal = latest.get((run.id, entry.PROPOSAL))
                    state = latest.get((run.id, entry.STATUS))
                    chained_status = entry.parse(state.body)["status"] if state else None
                    if proposal is None:
                        if s.get(Proposal, run.id) is not None:
                            tables.append(_problem("proposals", run.id, "a proposal never chained"))
                        if chained_status is not None and run.status != chained_status:
                            tables.append(
                                _problem(
                                    "runs",
                                    run.id,
                                    f"run {run.id}: status is {run.status} in the runs table "
                                    f"but {chained_status} in the chain",
                                )
                            )
                        continue
                    tables += self._table_problems(s, run.id, entry.parse(proposal.body))
            if all(c.ok for c in chains if c.name == firm_people.JOURNAL):
                tables += firm_people.compare(s).problems
            return chain.VerifyReport(
                ok=all(c.ok for c in chains) and not tables, chains=chains, tables=tables
            )

    def heads(self) -> list[dict[str, Any]]:
        """The last link of every chain (sequence, hash, MAC, time): what an anchor records."""
        out = []
        with self._read() as s:
            for name, model in chain.JOURNALS.items():
                last = s.execute(
                    select(model).order_by(model.seq.desc()).limit(1)
                ).scalar_one_or_none()
                at = None
                if last is not None:
                    at = getattr(last, "at", None) or getattr(last, "decided_at", None)
                out.append(
                    {
                        "name": name,
                        "seq": last.seq if last else 0,
                        "hash": last.hash if last else chain.GENESIS,
                        "mac": last.mac if last else None,
                        "at": at,
                    }
                )
        return out

    def link(self, name: str, seq: int) -> dict[str, Any] | None:
        model = chain.JOURNALS[name]
        with self._read() as s:
            row = s.execute(select(model).where(model.seq == seq)).scalar_one_or_none()
            return None if row is None else {"seq": row.seq, "hash": row.hash, "mac": row.mac}


def _problem(table: str, run_id: str, reason: str) -> dict[str, Any]:
    return {"journal": table, "seq": None, "id": None, "run_id": run_id, "reason": reason}


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


def _decision_dict(d: Decision | Mapping[str, Any]) -> dict[str, Any]:
    get = d.get if isinstance(d, Mapping) else (lambda k: getattr(d, k))
    return {
        "seq": get("seq"),
        "run_id": get("run_id"),
        "trade_id": get("trade_id"),
        "decision": get("decision"),
        "by": get("decided_by"),
        "reason": get("reason"),
        "quantity": get("quantity"),
        "at": get("decided_at"),
        "hash": get("hash"),
        "prev_hash": get("prev_hash"),
    }


def _execution_dict(e: Execution) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "trade_id": e.trade_id,
        "client_order_id": e.client_order_id,
        "stage": e.stage,
        "status": e.status,
        "account": e.account,
        "symbol": e.symbol,
        "action": e.action,
        "quantity": e.quantity,
        "price": e.price,
        "commission": e.commission,
        "broker": e.broker,
        "broker_order_id": e.broker_order_id,
        "detail": e.detail,
        "at": e.at,
        "executed_by": e.executed_by,
        "hash": e.hash,
        "prev_hash": e.prev_hash,
    }


def _snapshot_dict(s: Snapshot) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind,
        "filename": s.filename,
        "sha256": s.sha256,
        "format": s.format,
        "import_report": s.import_report,
        "run_id": s.run_id,
        "created_at": _iso(s.created_at),
        "holdings": s.holdings,
    }
