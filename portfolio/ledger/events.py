"""What the crew leaves on a run: each agent's result and the run's event log, both redacted on
the way in (error texts may quote a provider's request headers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from portfolio.ledger import run_state as rs
from portfolio.ledger.read_models import AgentRecord, EventRecord
from portfolio.ledger.schema import AgentResult, RunEvent
from portfolio.ledger.session import LedgerSession
from portfolio.redact import redact_data


class EventStore(LedgerSession):
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
            rs.get_run(s, run_id)
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
                created_at=rs.now(),
            )
            s.add(row)
            s.flush()
            return row.id

    def agent_results(self, run_id: str) -> list[AgentRecord]:
        with self._read() as s:
            rs.get_run(s, run_id)
            rows = s.execute(
                select(AgentResult).where(AgentResult.run_id == run_id).order_by(AgentResult.id)
            ).scalars()
            return [AgentRecord.of(r) for r in rows]

    def append_event(self, run_id: str, event_json: Any, *, first: bool = False) -> int:
        """Append to the run's event log; returns its sequence number (1, 2, ...).

        `first`: only into an empty log, else nothing is written and 0 is returned. The run's row
        is locked while the log is read, so of two processes starting the same run's words (two
        replicas of the app opening one batch run) exactly one writes them."""
        with self._write() as s:
            rs.get_run(s, run_id, lock=True)
            last = s.execute(
                select(func.max(RunEvent.seq)).where(RunEvent.run_id == run_id)
            ).scalar_one()
            if first and last is not None:
                return 0
            seq = (last or 0) + 1
            event = redact_data(event_json)  # error texts may quote a provider's request headers
            s.add(RunEvent(run_id=run_id, seq=seq, event=event, created_at=rs.now()))
            return seq

    def events(self, run_id: str, after_seq: int = 0) -> list[EventRecord]:
        """Events after `after_seq`, so a reloaded page resumes where it left off."""
        with self._read() as s:
            rs.get_run(s, run_id)
            rows = s.execute(
                select(RunEvent)
                .where(RunEvent.run_id == run_id, RunEvent.seq > after_seq)
                .order_by(RunEvent.seq)
            ).scalars()
            return [EventRecord.of(r) for r in rows]
