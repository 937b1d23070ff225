"""One JSON document holding a run's whole record, for an auditor who has only this file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portfolio.ledger import Ledger, LedgerError
from portfolio.ledger.read_models import as_json
from portfolio.redact import redact_data


def audit_record(ledger: Ledger, run_id: str) -> dict[str, Any]:
    run = ledger.run(run_id)
    try:
        proposal = ledger.proposal(run_id).model_dump(mode="json")
    except LedgerError:
        proposal = None
    report = ledger.verify()
    broken = report.first_broken
    # Stored texts were redacted on the way in; this is the last look before a file leaves.
    return redact_data(
        {
            "document": "rebalance-run-audit",
            "version": 1,
            "generated_at": datetime.now(UTC).isoformat(),
            "database": ledger.backend,
            "run": run.model_dump(mode="json", exclude={"trades", "snapshot"}),
            "source_snapshot": as_json(run.snapshot),
            "proposal": proposal,
            "trades": as_json(run.trades),
            "agents": as_json(ledger.agent_results(run_id)),
            "events": as_json(ledger.events(run_id)),
            "decisions": as_json(ledger.decisions(run_id)),
            "executions": as_json(ledger.executions(run_id)),
            "result_snapshots": as_json(
                [s for s in ledger.snapshots(run_id) if s.kind == "execution"]
            ),
            "chain": {
                **report.as_dict(),
                "this_run_affected": bool(broken and broken.get("run_id") in (run_id, None)),
            },
        }
    )
