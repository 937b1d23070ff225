"""Real processes against one database: parallel executors and a process killed mid-execution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

pytest_plugins = ["pg_server"]

REPO = Path(__file__).resolve().parents[1]


def _env(db_url: str, latency: float) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "REBALANCE_PAPER_LATENCY": str(latency),
        "PYTHONPATH": str(REPO),
    }


def _execute(db_url: str, run_id: str, latency: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "portfolio.cli_ledger",
            "execute",
            run_id,
            "--by",
            "Olga Ops",
            "--format",
            "json",
        ],
        cwd=REPO,
        env=_env(db_url, latency),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _results(ledger, run_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e for e in ledger.executions(run_id) if e.stage == "result"]


def _paper_orders(ledger) -> int:  # type: ignore[no-untyped-def]
    with ledger.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM paper_orders")).scalar_one())


def test_two_processes_executing_one_run_fill_each_trade_once(ledger, db_url, saved_run) -> None:
    run_id = saved_run(ledger, n_buys=4)
    approved = [f"T{i}" for i in range(1, 6)]
    ledger.decide(run_id, approve=approved, by="ann")
    procs = [_execute(db_url, run_id, latency=0.2) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out)["status"] == "PARTIALLY_EXECUTED"  # T6 is a compliance veto
    results = _results(ledger, run_id)
    assert Counter(e.trade_id for e in results) == Counter(approved)
    orders = [e for e in ledger.executions(run_id) if e.stage == "order"]
    assert Counter(e.trade_id for e in orders) == Counter(approved)
    assert _paper_orders(ledger) == len(approved)
    assert ledger.verify().ok


# An executor whose broker stops forever right after it filled the run's basket, before the
# ledger records any fill: the paper book holds fills the ledger does not know yet, the worst
# moment to die. The test kills it there, on its signal, so the crash point does not depend on
# timing.
_STALLING_EXECUTOR = """
import sys
from portfolio import broker
from portfolio.cli_ledger import main

submit_many = broker.PaperBroker.submit_many

def stalling_submit_many(self, orders):
    fills = submit_many(self, orders)
    print("STALLED", len(fills), flush=True)
    sys.stdin.read()  # never returns: the test kills the process here
    return fills

broker.PaperBroker.submit_many = stalling_submit_many
sys.exit(main(["execute", sys.argv[1], "--by", "Olga Ops", "--format", "json"]))
"""


def _book_fills(ledger) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT client_order_id, broker_order_id, filled_at FROM paper_orders")
        )
        return {r[0]: (r[1], r[2]) for r in rows}


def test_a_process_killed_mid_execution_is_finished_without_duplicates(
    ledger, db_url, saved_run
) -> None:
    run_id = saved_run(ledger, n_buys=5, vetoed=False)
    approved = [f"T{i}" for i in range(1, 7)]
    ledger.decide(run_id, approve=approved, by="ann")
    proc = subprocess.Popen(
        [sys.executable, "-c", _STALLING_EXECUTOR, run_id],
        cwd=REPO,
        env=_env(db_url, 0.0),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.split() != ["STALLED", str(len(approved))]:
        proc.kill()
        pytest.fail(f"the executor ended before the broker filled: {line!r} {proc.communicate()}")
    proc.kill()
    proc.communicate(timeout=60)
    assert _results(ledger, run_id) == []  # every order filled at the broker, none recorded
    at_broker = _book_fills(ledger)
    assert len(at_broker) == len(approved)
    assert ledger.pending_runs() == [run_id]
    assert ledger.run(run_id).status == "EXECUTING"

    rerun = _execute(db_url, run_id, latency=0.0)
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    assert json.loads(out)["status"] == "EXECUTED"
    results = _results(ledger, run_id)
    assert Counter(e.trade_id for e in results) == Counter(approved)
    # The broker's first fills are the ones recorded: asking again traded nothing twice.
    assert {e.client_order_id: (e.broker_order_id, e.at) for e in results} == at_broker
    assert _book_fills(ledger) == at_broker
    assert ledger.pending_runs() == []
    assert ledger.verify().ok


def test_replicas_starting_together_migrate_an_empty_database_once(empty_db_url) -> None:
    code = (
        "import sys; from portfolio.ledger import open_ledger; "
        "ledger = open_ledger(sys.argv[1]); print(ledger.runs()); ledger.close()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, empty_db_url],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "[]"
