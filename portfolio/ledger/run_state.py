"""A run's state inside one transaction: its row, its chained proposal and status, the latest
decisions, edits and execution entries, and the status they derive. Every part of the Ledger
reads a run through these, so runs, decisions and executions agree on what a run is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.broker import now_iso
from portfolio.ledger import chain, status
from portfolio.ledger import proposal_entry as entry
from portfolio.ledger.errors import TamperedError, UnknownRun
from portfolio.ledger.schema import Decision, Execution, Proposal, Run, RunEntry, TradeRow
from portfolio.models import RebalanceProposal, SoldLot, WashDeferral


def now() -> datetime:
    return datetime.now(UTC)


def get_run(s: Session, run_id: str, lock: bool = False) -> Run:
    stmt = select(Run).where(Run.id == run_id)
    run = s.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if run is None:
        raise UnknownRun(f"no run {run_id!r} (see `runs` for the list)")
    return run


def normalise_ids(run_id: str, ids: Sequence[str]) -> list[str]:
    """The proposal's trade ids, from its own (T1) or the stored ones ({run_id}-T1)."""
    prefix = f"{run_id}-"
    return [i.strip().removeprefix(prefix) for i in ids if i.strip()]


def named_lots(s: Session, run_id: str) -> dict[str, tuple[SoldLot, ...]]:
    """Trade id -> the tax lots its sale names in the saved proposal (a proposal saved before
    trades named lots names none: its fills walk lots in the plan's order)."""
    return {
        tid: tuple(SoldLot.model_validate(x) for x in t["lots"])
        for tid, t in _proposal_trades(s, run_id).items()
        if t.get("lots")
    }


def lots_as_decided(s: Session, run_id: str) -> dict[str, tuple[SoldLot, ...]]:
    """Trade id -> the lots its sale names as the advisor decided it: an edit that cuts a sale
    keeps them (the fill and the order file take the first of them, as far as its quantity
    goes); an edit that raises it names none (its lots are walked as the plan would)."""
    cut = edited(s, run_id)
    proposed = _proposal_trades(s, run_id)
    return {
        tid: lots
        for tid, lots in named_lots(s, run_id).items()
        if tid not in cut or cut[tid] <= float(proposed[tid]["quantity"]) + 1e-9
    }


def wash_deferrals(s: Session, run_id: str) -> dict[str, tuple[WashDeferral, ...]]:
    """Trade id -> the disallowed loss its sale carries into taxable replacement lots."""
    return {
        tid: tuple(WashDeferral.model_validate(x) for x in t["wash_deferred"])
        for tid, t in _proposal_trades(s, run_id).items()
        if t.get("wash_deferred")
    }


def _proposal_trades(s: Session, run_id: str) -> dict[str, dict[str, Any]]:
    proposal = s.get(Proposal, run_id)
    if proposal is None:
        return {}
    return {t["id"]: t for t in proposal.body.get("trades", ())}


def trades(s: Session, run_id: str) -> list[TradeRow]:
    return list(
        s.execute(
            select(TradeRow).where(TradeRow.run_id == run_id).order_by(TradeRow.ordinal)
        ).scalars()
    )


# ---------------------------------------------------------------- chained run entries


def latest_entry(s: Session, run_id: str, kind: str) -> RunEntry | None:
    return s.execute(
        select(RunEntry)
        .where(RunEntry.run_id == run_id, RunEntry.kind == kind)
        .order_by(RunEntry.seq.desc())
        .limit(1)
    ).scalar_one_or_none()


def chained_status(s: Session, run_id: str) -> str | None:
    row = latest_entry(s, run_id, entry.STATUS)
    return None if row is None else entry.parse(row.body)["status"]


def chained_proposal(s: Session, key: bytes, run_id: str) -> tuple[RunEntry, dict[str, Any]] | None:
    """The run's chained proposal, its own hash and MAC checked; None if never saved."""
    row = latest_entry(s, run_id, entry.PROPOSAL)
    if row is None:
        return None
    if chain.link_hash(chain.row_content(row)) != row.hash or not chain.mac_ok(
        key, row.hash, row.mac
    ):
        raise TamperedError(
            f"run {run_id}: its chained proposal (link {row.seq}) was altered; run `verify`"
        )
    return row, entry.parse(row.body)


def stored_proposal(s: Session, key: bytes, run_id: str) -> RebalanceProposal | None:
    """The stored proposal, once it is checked against the chained one."""
    chained = chained_proposal(s, key, run_id)
    row = s.get(Proposal, run_id)
    if row is None or chained is None:
        return None
    if entry.body_sha256(row.body) != chained[1]["proposal_sha256"]:
        raise TamperedError(f"run {run_id}: the stored proposal differs from the chained one")
    return RebalanceProposal.model_validate(row.body)


def table_problems(
    s: Session, run_id: str, body: Mapping[str, Any], run: Run | None = None
) -> list[dict[str, Any]]:
    """How the run's proposal, trades and status in the tables differ from the chained ones."""
    run = run or get_run(s, run_id)
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
        chained_status(s, run_id),
    )


# ---------------------------------------------------------------- decisions and executions


def latest_decisions(s: Session, run_id: str) -> dict[str, Decision]:
    rows = s.execute(
        select(Decision).where(Decision.run_id == run_id).order_by(Decision.seq)
    ).scalars()
    return {d.trade_id: d for d in rows}


def edited(s: Session, run_id: str) -> dict[str, float]:
    """trade id -> the quantity of its latest decision that carries one (an edit)."""
    rows = s.execute(
        select(Decision.trade_id, Decision.quantity)
        .where(Decision.run_id == run_id, Decision.quantity.is_not(None))
        .order_by(Decision.seq)
    ).all()
    return {tid: float(q) for tid, q in rows}


def outcomes(s: Session, run_id: str) -> dict[str, Execution]:
    """trade id -> its latest execution entry (SENT, FILLED or REJECTED)."""
    rows = s.execute(
        select(Execution).where(Execution.run_id == run_id).order_by(Execution.seq)
    ).scalars()
    return {e.trade_id: e for e in rows}


# ---------------------------------------------------------------- status


def states(s: Session, key: bytes, run_id: str) -> list[status.TradeState]:
    """From the chained proposal and the journals; the trades table only for unchained runs."""
    latest = dict(
        s.execute(
            select(Decision.trade_id, Decision.decision)
            .where(Decision.run_id == run_id)
            .order_by(Decision.seq)
        ).all()
    )
    out = outcomes(s, run_id)
    chained = chained_proposal(s, key, run_id)
    verdicts = (
        [(t["id"], t["compliance"]) for t in chained[1]["trades"]]
        if chained
        else [(t.trade_id, t.compliance_status) for t in trades(s, run_id)]
    )
    return status.trade_states(
        verdicts,
        latest,
        set(out),
        {k: v.status for k, v in out.items() if v.status != "SENT"},
    )


def set_status(s: Session, key: bytes, run: Run, new: str) -> None:
    """Every change of a run's status is chained, so the column can be checked against it."""
    if run.status == new and chained_status(s, run.id) == new:
        return
    run.status, run.updated_at = new, now()
    chain.append(
        s,
        RunEntry,
        {
            "run_id": run.id,
            "kind": entry.STATUS,
            "body": chain.canonical_json({"status": new}),
            "at": now_iso(),
        },
        key,
    )


def refresh_status(s: Session, key: bytes, run_id: str) -> str:
    """The status the run's trades derive, chained when it changed."""
    run = get_run(s, run_id)
    new = status.derive_status(states(s, key, run_id))
    if run.status != new:
        set_status(s, key, run, new)
    return new
