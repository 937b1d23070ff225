"""One JSON document holding a run's whole record, for an auditor who has only this file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portfolio.ledger import Ledger, LedgerError
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
            "run": {k: v for k, v in run.items() if k not in ("trades", "snapshot")},
            "source_snapshot": run["snapshot"],
            "proposal": proposal,
            "trades": run["trades"],
            "agents": ledger.agent_results(run_id),
            "events": ledger.events(run_id),
            "decisions": ledger.decisions(run_id),
            "executions": ledger.executions(run_id),
            "result_snapshots": [s for s in ledger.snapshots(run_id) if s["kind"] == "execution"],
            "chain": {
                **report.as_dict(),
                "this_run_affected": bool(broken and broken.get("run_id") in (run_id, None)),
            },
        }
    )
