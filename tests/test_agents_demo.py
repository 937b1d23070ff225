"""`python -m agents demo --client request.json`: the seed's console run, through the ledger."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agents.demo import demo
from portfolio.ledger import open_ledger

REQUEST = {
    "assets": [
        {"symbol": "AAPL", "allocation": 0.25, "current_value": 25000},
        {"symbol": "GOOGL", "allocation": 0.25, "current_value": 25000},
        {"symbol": "MSFT", "allocation": 0.25, "current_value": 25000},
        {"symbol": "AMZN", "allocation": 0.25, "current_value": 25000},
    ],
    "total_value": 100000,
    "risk_profile": "MODERATE",
}


@pytest.fixture
def request_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.delenv("REBALANCE_PAPER_LATENCY", raising=False)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(REQUEST, indent=2))
    return path


def test_the_seeds_request_runs_to_executed_through_the_ledger(request_file: Path) -> None:
    out = io.StringIO()
    code = demo(
        [
            "--client",
            str(request_file),
            "--approve-all",
            "--execute",
            "--by",
            "Dana Advisor",
            "--pace",
            "0",
        ],
        out,
    )
    text = out.getvalue()
    assert code == 0, text
    assert text.rstrip().endswith("Final Status: EXECUTED")
    assert '"risk_profile": "MODERATE"' in text  # the request's profile reached the profiler
    ledger = open_ledger()
    try:
        (run,) = ledger.runs()
        detail = ledger.run(run.run_id)
        assert detail.status == "EXECUTED"
        assert detail.trades and all(
            t.decision.by == "Dana Advisor" and t.execution.status == "FILLED"
            for t in detail.trades
        )
        assert detail.settings["started_by"] == "Dana Advisor"
        assert ledger.events(run.run_id)  # the crew's stream is kept with the run
        assert ledger.verify().ok
    finally:
        ledger.close()


def test_without_the_flags_it_stops_at_the_advisors_gate(request_file: Path) -> None:
    out = io.StringIO()
    code = demo(["--client", str(request_file), "--pace", "0"], out)
    assert code == 0
    assert "Final Status: AWAITING_ADVISOR" in out.getvalue()
    ledger = open_ledger()
    try:
        assert ledger.runs() == []
    finally:
        ledger.close()


def test_approving_needs_a_name(request_file: Path) -> None:
    with pytest.raises(SystemExit):
        demo(["--client", str(request_file), "--approve-all"], io.StringIO())
    with pytest.raises(SystemExit):
        demo(["--client", str(request_file), "--execute", "--by", "X"], io.StringIO())
