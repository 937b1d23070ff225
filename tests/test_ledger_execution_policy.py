"""One policy for the trades nobody decided, whoever executes: `execute_decided`, which the
command line's `execute` and the ticket's Execute button both call."""

from __future__ import annotations

from pathlib import Path

import pytest

from portfolio.broker import PaperBroker
from portfolio.ledger import ConflictError, execute_decided
from portfolio.ledger.execute import LEFT_UNDECIDED, undecided

pytest_plugins = ["pg_server"]

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "seed000_four_tech.csv"


def test_undecided_names_the_compliant_trades_nobody_decided(ledger, saved_run) -> None:
    run_id = saved_run(ledger)  # T1-T3 approved by the gate, T4 vetoed by it
    assert undecided(ledger.run(run_id)) == ["T1", "T2", "T3"]
    ledger.decide(run_id, approve=["T1"], veto=["T3"], by="ann")
    assert undecided(ledger.run(run_id)) == ["T2"]


def test_without_a_decider_execution_is_refused_and_nothing_recorded(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1"], by="ann")
    with pytest.raises(ConflictError, match=r"T2, T3 in run .* have no decision yet"):
        execute_decided(ledger, run_id, PaperBroker(), by="olga")
    assert len(ledger.decisions(run_id)) == 1
    assert ledger.executions(run_id) == []
    assert ledger.run(run_id).status == "PENDING_REVIEW"


def test_the_deciders_execution_vetoes_the_undecided_in_their_name(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1"], by="ann")
    report = execute_decided(ledger, run_id, PaperBroker(), by="ann", decider="ann")
    run = ledger.run(run_id)
    vetoes = [(t.trade_id, t.decision) for t in run.trades if t.decided == "VETO"]
    assert [tid for tid, _ in vetoes] == ["T2", "T3"]
    assert all(d and d.by == "ann" and d.reason == LEFT_UNDECIDED for _, d in vetoes)
    assert [e.trade_id for e in report.executions if e.stage == "result"] == ["T1"]
    assert report.status == "PARTIALLY_EXECUTED"


def test_a_refused_execution_records_no_veto(ledger) -> None:
    """Buys approved without the sells that fund them: the deciders' vetoes are not written."""
    from portfolio.engine import rebalance
    from portfolio.importers import read_holdings
    from portfolio.models import ClientMandate

    holdings = read_holdings(SAMPLE.read_bytes(), filename=SAMPLE.name)
    proposal = rebalance(holdings, ClientMandate())
    run_id = ledger.create_run(holdings=holdings, filename=SAMPLE.name)
    ledger.save_proposal(run_id, proposal)
    buys = [t.id for t in proposal.trades if t.action == "BUY"]
    ledger.decide(run_id, approve=buys, by="ann")
    with pytest.raises(ConflictError, match="do not stand on their own"):
        execute_decided(ledger, run_id, PaperBroker(), by="ann", decider="ann")
    assert [d.decision for d in ledger.decisions(run_id)] == ["APPROVE"] * len(buys)
    assert ledger.executions(run_id) == []


def test_with_every_trade_decided_the_decider_changes_nothing(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann")
    report = execute_decided(ledger, run_id, PaperBroker(), by="ann", decider="ann")
    assert len(ledger.decisions(run_id)) == 3
    assert report.status == "PARTIALLY_EXECUTED"
