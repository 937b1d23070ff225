"""`python -m portfolio` ledger commands against each backend.

The commands run in this process through the same `main` that `python -m portfolio` calls (a new
interpreter per command would cost about a second and a half each, a quarter of this file's
time); `test_the_cli_runs_as_a_process` runs them as a real process, exit codes and all.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from portfolio.cli import main

pytest_plugins = ["pg_server"]

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "Portfolio_Positions_Jun-30-2025.csv"


def _process(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(REPO)}
    env.pop("REBALANCE_PAPER_LATENCY", None)
    return subprocess.run(
        [sys.executable, "-m", "portfolio", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m portfolio ARGS` in this process: its exit code, its stdout and its stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "REBALANCE_PAPER_LATENCY")}
    os.environ["DATABASE_URL"] = db_url
    os.environ.pop("REBALANCE_PAPER_LATENCY", None)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's own exits: --help (0), a usage error (2)
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(["portfolio", *args], code, out.getvalue(), err.getvalue())


def _json(proc: subprocess.CompletedProcess[str]):  # type: ignore[no-untyped-def]
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _refused(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], proc.stderr


def test_the_cli_runs_as_a_process(ledger, db_url, saved_run) -> None:  # type: ignore[no-untyped-def]
    run_id = saved_run(ledger)
    listed = _json(_process(db_url, "runs", "--format", "json"))
    assert [r["run_id"] for r in listed] == [run_id]
    _refused(_process(db_url, "execute", run_id, "--by", "Olga Ops"), "no decision yet")
    verified = _process(db_url, "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stderr


def test_decide_execute_export_verify_through_the_cli(ledger, db_url, saved_run, tmp_path) -> None:
    run_id = saved_run(ledger)
    listed = _json(_cli(db_url, "runs", "--format", "json"))
    assert [r["run_id"] for r in listed] == [run_id]
    assert run_id in _cli(db_url, "runs").stdout

    shown = _json(_cli(db_url, "show", run_id, "--format", "json"))
    assert shown["status"] == "PENDING_REVIEW" and len(shown["trades"]) == 4
    assert "VETOED (esg.tobacco)" in _cli(db_url, "show", run_id).stdout

    decided = _json(
        _cli(
            db_url,
            "decide",
            run_id,
            "--approve",
            "T1,T2",
            "--veto",
            "T3",
            "--by",
            "Ann Advisor",
            "--reason",
            "fits the plan",
            "--format",
            "json",
        )
    )
    assert [d["decision"] for d in decided["decisions"]] == ["APPROVE", "APPROVE", "VETO"]
    assert decided["status"] == "APPROVED"

    executed = _json(_cli(db_url, "execute", run_id, "--by", "Olga Ops", "--format", "json"))
    assert executed["status"] == "PARTIALLY_EXECUTED"
    again = _json(_cli(db_url, "execute", run_id, "--by", "Olga Ops", "--format", "json"))
    assert again["newly_recorded"] == []

    exported = _cli(db_url, "export", run_id, "--layout", "neutral")
    rows = list(csv.reader(io.StringIO(exported.stdout, newline="")))
    assert rows[0][:3] == ["account", "action", "symbol"]
    assert [(r[1], r[2]) for r in rows[1:]] == [("SELL", "AAPL"), ("BUY", "VTI")]
    out = tmp_path / "orders" / "wealthscape.csv"
    summary = _json(
        _cli(
            db_url,
            "export",
            run_id,
            "--layout",
            "wealthscape",
            "--out",
            str(out),
            "--format",
            "json",
        )
    )
    assert summary["orders"] == 2
    assert out.read_bytes().startswith(b"Z123,,S,10,AAPL,M,D,\r\n")
    audit = _json(_cli(db_url, "export", run_id, "--layout", "audit"))
    assert audit["run"]["run_id"] == run_id and audit["chain"]["ok"]

    verified = _json(_cli(db_url, "verify", "--format", "json"))
    assert verified["ok"] and verified["first_broken"] is None


def test_refusals_print_one_error_line_exit_2_and_change_nothing(ledger, db_url, saved_run) -> None:
    run_id = saved_run(ledger)
    _refused(_cli(db_url, "show", "no-such-run"), "no run 'no-such-run'")
    _refused(
        _cli(db_url, "decide", run_id, "--approve", "T4", "--by", "ann"),
        "T4 was vetoed by compliance (esg.tobacco)",
    )
    _refused(_cli(db_url, "decide", run_id, "--approve", "T1,T9", "--by", "ann"), "no trade T9")
    _refused(
        _cli(db_url, "decide", run_id, "--approve", "T1", "--veto", "T1", "--by", "ann"),
        "both approved and vetoed",
    )
    _refused(_cli(db_url, "execute", run_id, "--by", "Olga Ops"), "have no decision yet")
    _refused(_cli(db_url, "export", run_id), "no approved or executed trades")
    assert ledger.decisions(run_id) == [] and ledger.executions(run_id) == []
    assert ledger.run(run_id).status == "PENDING_REVIEW"


def test_a_final_run_refuses_a_decision_in_one_line(ledger, db_url, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann")
    _json(_cli(db_url, "execute", run_id, "--by", "Olga Ops", "--format", "json"))
    _refused(
        _cli(db_url, "decide", run_id, "--approve", "T3", "--by", "ann"),
        "PARTIALLY_EXECUTED, which is final",
    )
    assert len(ledger.decisions(run_id)) == 3


def test_verify_reports_the_first_broken_link_and_exits_1(ledger, db_url, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1"], veto=["T2", "T3"], by="ann")
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE decisions SET decided_by = 'mallory' WHERE seq = 2"))
    proc = _cli(db_url, "verify")
    assert proc.returncode == 1
    assert "first broken link: decisions #2" in proc.stdout and run_id in proc.stdout
    report = json.loads(_cli(db_url, "verify", "--format", "json").stdout)
    assert report["first_broken"]["seq"] == 2 and not report["ok"]


@pytest.mark.skipif(not SAMPLE.exists(), reason="sample holdings file not in this checkout")
def test_rebalance_save_records_the_run_with_ids(ledger, db_url) -> None:
    doc = _json(_cli(db_url, "rebalance", str(SAMPLE), "--save", "--format", "json"))
    run_id = doc["run_id"]
    assert all(t["id"].startswith(f"{run_id}-T") for t in doc["trades"])
    run = ledger.run(run_id)
    assert run.snapshot.filename == SAMPLE.name
    assert len(run.trades) == len(doc["trades"])
    first = doc["trades"][0]["id"]
    decided = _json(
        _cli(db_url, "decide", run_id, "--veto", first, "--by", "ann", "--format", "json")
    )
    assert decided["decisions"][0]["trade_id"] == first.removeprefix(f"{run_id}-")


def test_an_anchor_catches_a_wiped_journal(ledger, db_url, saved_run, tmp_path) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1"], veto=["T2", "T3"], by="ann")
    anchor = tmp_path / "anchors" / "ledger-anchor.json"
    proc = _cli(db_url, "anchor", "--out", str(anchor))
    assert proc.returncode == 0, proc.stderr
    assert "decisions #3" in proc.stdout
    doc = json.loads(anchor.read_text())
    assert {h["name"]: h["seq"] for h in doc["heads"]}["decisions"] == 3
    assert _cli(db_url, "verify", "--anchor", str(anchor)).returncode == 0
    # Whoever can write to the database deletes every decision and resets the head:
    # the chain alone is consistent again, the anchor is not.
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM decisions"))
        conn.execute(
            text("UPDATE chain_heads SET seq = 0, hash = :g, mac = NULL WHERE name = 'decisions'"),
            {"g": "0" * 64},
        )
    assert _cli(db_url, "verify").returncode == 0
    proc = _cli(db_url, "verify", "--anchor", str(anchor))
    assert proc.returncode == 1
    assert "anchor: decisions: link 3" in proc.stdout and "truncated or wiped" in proc.stdout
    report = json.loads(_cli(db_url, "verify", "--anchor", str(anchor), "--format", "json").stdout)
    assert report["first_broken"]["journal"] == "anchor" and not report["ok"]
    bad = tmp_path / "not-an-anchor.json"
    bad.write_text("{}")
    _refused(_cli(db_url, "verify", "--anchor", str(bad)), "is not an anchor file")


def test_a_tampered_trade_is_named_by_verify_and_refused_by_execute(
    ledger, db_url, saved_run
) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE trades SET quantity = 10000 WHERE run_id = :r AND trade_id = 'T1'"),
            {"r": run_id},
        )
    proc = _cli(db_url, "verify")
    assert proc.returncode == 1
    assert f"trades table: run {run_id}: trade T1 quantity is 10000.0" in proc.stdout
    _refused(_cli(db_url, "execute", run_id, "--by", "Olga Ops"), "execution refused")
    assert ledger.executions(run_id) == []


def test_four_eyes_through_the_cli(ledger, db_url, saved_run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    firm = tmp_path / "firm.toml"
    firm.write_text(
        "[firm]\nrequire_second_approver = true\n"
        '[firm.people."ann@example.com"]\nrole = "advisor"\nteam = "east"\n'
        '[firm.people."sue@example.com"]\nrole = "supervisor"\nteam = "east"\n'
        '[firm.people."ops@example.com"]\nrole = "operations"\n'
    )
    run_id = saved_run(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET owner = 'ann@example.com' WHERE id = :r"), {"r": run_id})
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann@example.com")
    ops = ("--by", "ops@example.com", "--firm", str(firm))
    _refused(_cli(db_url, "execute", run_id, *ops), "four-eyes: a supervisor who made none")
    _refused(
        _cli(db_url, "sign-off", run_id, "--by", "ann@example.com", "--firm", str(firm)),
        "advisor role cannot sign off",
    )
    _refused(
        _cli(db_url, "execute", run_id, "--by", "mallory@example.com", "--firm", str(firm)),
        "not in the firm's list",
    )
    signed = _json(
        _cli(
            db_url,
            "sign-off",
            run_id,
            "--by",
            "sue@example.com",
            "--firm",
            str(firm),
            "--format",
            "json",
        )
    )
    assert (signed["by"], signed["role"]) == ("sue@example.com", "supervisor")
    executed = _json(_cli(db_url, "execute", run_id, *ops, "--format", "json"))
    assert {e["executed_by"] for e in executed["executions"]} == {"ops@example.com"}


def test_people_added_on_settings_act_through_the_cli_as_on_the_pages(  # type: ignore[no-untyped-def]
    ledger, db_url, saved_run, tmp_path
) -> None:
    """The command line asks the same firm as the pages: the file's people and those an admin
    added on Settings, whose rows count only where they match their chained journal."""
    from portfolio.access import Person, load_firm_file

    firm_file = tmp_path / "firm.toml"
    firm_file.write_text(
        "[firm]\nrequire_second_approver = true\n"
        '[firm.people."ann@example.com"]\nrole = "advisor"\nteam = "east"\n'
        '[firm.people."root@example.com"]\nrole = "admin"\n'
    )
    firm = load_firm_file(firm_file)
    root = firm.identity("root@example.com", authenticated=True)
    ledger.people.put(Person(id="sue@example.com", role="supervisor", team="east"), root, firm)
    ledger.people.put(Person(id="kim@example.com", role="advisor", team="east"), root, firm)
    # Kim's row is raised to supervisor behind the chain: the journal still says advisor.
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE firm_people SET role = 'supervisor' WHERE id = 'kim@example.com'")
        )
    run_id = saved_run(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET owner = 'ann@example.com' WHERE id = :r"), {"r": run_id})
    ledger.decide(run_id, approve=["T1"], veto=["T2", "T3"], by="ann@example.com")
    _refused(
        _cli(db_url, "sign-off", run_id, "--by", "kim@example.com", "--firm", str(firm_file)),
        "not in the firm's list",
    )
    signed = _json(
        _cli(
            db_url,
            *("sign-off", run_id, "--by", "sue@example.com", "--firm", str(firm_file)),
            *("--format", "json"),
        )
    )
    assert (signed["by"], signed["role"]) == ("sue@example.com", "supervisor")


def test_decide_edits_a_quantity_and_execute_fills_it(ledger, db_url, saved_run) -> None:
    run_id = saved_run(ledger)
    decided = _json(
        _cli(
            db_url,
            "decide",
            run_id,
            "--quantity",
            "T2=3",
            "--approve",
            "T1,T3",
            "--by",
            "ann",
            "--format",
            "json",
        )
    )
    edit = next(d for d in decided["decisions"] if d["trade_id"] == "T2")
    assert (edit["decision"], edit["quantity"]) == ("APPROVE", 3.0)
    shown = _cli(db_url, "show", run_id)
    assert "3 (proposed 5)" in shown.stdout, shown.stdout
    text_out = _cli(db_url, "decide", run_id, "--quantity", "T3=4", "--by", "ann")
    assert text_out.returncode == 0 and "T3: APPROVE 4 by ann" in text_out.stdout
    executed = _json(_cli(db_url, "execute", run_id, "--by", "ops", "--format", "json"))
    fills = {e["trade_id"]: e["quantity"] for e in executed["executions"] if e["stage"] == "result"}
    assert fills == {"T1": 10.0, "T2": 3.0, "T3": 4.0}


def test_a_refused_quantity_edit_prints_why_and_records_nothing(ledger, db_url, saved_run) -> None:
    run_id = saved_run(ledger)
    _refused(_cli(db_url, "decide", run_id, "--quantity", "T2", "--by", "ann"), "TRADE=QUANTITY")
    _refused(
        _cli(db_url, "decide", run_id, "--quantity", "T2=0", "--by", "ann"), "to drop a trade, veto"
    )
    _refused(
        _cli(db_url, "decide", run_id, "--quantity", "T4=1", "--by", "ann"),
        "T4 was vetoed by compliance",
    )
    _refused(
        _cli(db_url, "decide", run_id, "--quantity", "T2=3", "--veto", "T2", "--by", "ann"),
        "both approved and vetoed",
    )
    assert ledger.decisions(run_id) == []
