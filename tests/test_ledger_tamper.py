"""Tampering with each table behind the chain, on SQLite and PostgreSQL: execution refuses it and
`verify` names it; a rewrite that recomputes plain hashes fails without the firm key."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from portfolio.broker import PaperBroker
from portfolio.ledger import (
    ConflictError,
    LedgerKey,
    TamperedError,
    chain,
    execute_run,
    open_ledger,
)
from portfolio.ledger.schema import ChainHead, Decision

pytest_plugins = ["pg_server"]


def _sql(ledger, statement: str, **params) -> None:  # type: ignore[no-untyped-def]
    with ledger.engine.begin() as conn:
        conn.execute(text(statement), params)


def _approved(ledger, saved_run) -> str:  # type: ignore[no-untyped-def]
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    return run_id


def _refused_and_named(ledger, run_id: str, table: str, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TamperedError, match=words):
        execute_run(ledger, run_id, PaperBroker())
    assert ledger.executions(run_id) == []
    report = ledger.verify()
    assert not report.ok
    assert report.first_broken["journal"] == table, report.first_broken
    assert report.first_broken["run_id"] in (run_id, None)


def test_a_trade_quantity_changed_after_approval_is_never_filled(ledger, saved_run) -> None:
    run_id = _approved(ledger, saved_run)
    _sql(
        ledger, "UPDATE trades SET quantity = 10000 WHERE run_id = :r AND trade_id = 'T1'", r=run_id
    )
    _refused_and_named(ledger, run_id, "trades", "trade T1 quantity is 10000.0 in the trades table")


def test_a_compliance_veto_flipped_in_the_table_cannot_be_approved_or_filled(
    ledger, saved_run
) -> None:
    run_id = _approved(ledger, saved_run)
    _sql(
        ledger,
        "UPDATE trades SET compliance_status = 'APPROVED' WHERE run_id = :r AND trade_id = 'T4'",
        r=run_id,
    )
    with pytest.raises(TamperedError, match="trade T4 compliance is 'APPROVED'"):
        ledger.decide(run_id, approve=["T4"], by="ann")
    _refused_and_named(ledger, run_id, "trades", "trade T4 compliance")


def test_a_rewritten_stored_proposal_is_refused(ledger, saved_run) -> None:
    run_id = _approved(ledger, saved_run)
    with ledger.engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM proposals WHERE run_id = :r"), {"r": run_id})
        doc = body.scalar_one()
    doc = json.loads(doc) if isinstance(doc, str) else doc
    doc["mandate"]["esg_only"] = False
    _sql(ledger, "UPDATE proposals SET body = :b WHERE run_id = :r", b=json.dumps(doc), r=run_id)
    _refused_and_named(ledger, run_id, "proposals", "stored proposal differs")


def test_a_run_status_edited_in_the_table_is_caught(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, veto=["T1", "T2", "T3"], by="ann")
    _sql(ledger, "UPDATE runs SET status = 'APPROVED' WHERE id = :r", r=run_id)
    report = ledger.verify()
    assert report.first_broken["journal"] == "runs"
    assert "REJECTED in the chain" in report.first_broken["reason"]
    # The status column is only a copy: the chain still says the run is final.
    with pytest.raises(TamperedError, match="REJECTED in the chain"):
        ledger.decide(run_id, approve=["T1"], by="ann")


def test_a_run_status_edit_refuses_execution(ledger, saved_run) -> None:
    run_id = _approved(ledger, saved_run)
    _sql(ledger, "UPDATE runs SET status = 'PENDING_REVIEW' WHERE id = :r", r=run_id)
    _refused_and_named(ledger, run_id, "runs", "status is PENDING_REVIEW in the runs table")


def test_an_altered_decision_is_refused(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann")
    _sql(
        ledger,
        "UPDATE decisions SET decision = 'APPROVE' WHERE run_id = :r AND trade_id = 'T3'",
        r=run_id,
    )
    _refused_and_named(ledger, run_id, "decisions", "decisions chain is broken")


def test_a_forged_decision_appended_without_the_key_is_refused(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann")
    forger = open_ledger(
        ledger.engine.url.render_as_string(hide_password=False),
        key=LedgerKey(b"not the firm key", "test"),
    )
    try:
        # Without the key, the forger's own ledger refuses to decide on a chain it cannot read,
        with pytest.raises(TamperedError, match="altered"):
            forger.decide(run_id, approve=["T3"], by="mallory")
        # and a row it appends by hand carries a MAC the firm key does not produce.
        with forger._write() as s:
            chain.append(
                s,
                Decision,
                {
                    "run_id": run_id,
                    "trade_id": "T3",
                    "decision": "APPROVE",
                    "decided_by": "mallory",
                    "reason": None,
                    "decided_at": "x",
                },
                b"not the firm key",
            )
    finally:
        forger.close()
    _refused_and_named(ledger, run_id, "decisions", "MAC")


def test_deleted_executions_are_refused_and_named(ledger, saved_run) -> None:
    run_id = _approved(ledger, saved_run)
    ledger.send_orders(run_id, "paper")  # orders journaled, then the process dies
    _sql(ledger, "DELETE FROM executions WHERE run_id = :r AND trade_id = 'T2'", r=run_id)
    with pytest.raises(TamperedError, match="executions chain is broken"):
        execute_run(ledger, run_id, PaperBroker())
    assert ledger.verify().first_broken["journal"] == "executions"


def test_a_moved_chain_head_is_refused(ledger, saved_run) -> None:
    run_id = _approved(ledger, saved_run)
    _sql(ledger, "UPDATE chain_heads SET seq = seq - 1 WHERE name = 'decisions'")
    _refused_and_named(ledger, run_id, "decisions", "chain head records link")


def test_a_rehashed_rewrite_with_its_head_fails_without_the_key(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann")
    with ledger._write() as s:
        rows = s.query(Decision).order_by(Decision.seq).all()
        rows[2].decision = "APPROVE"
        prev = chain.GENESIS
        for row in rows:
            row.prev_hash = prev
            row.hash = prev = chain.link_hash(chain.row_content(row))
        s.get(ChainHead, "decisions").hash = prev
    report = ledger.verify()
    assert report.first_broken["journal"] == "decisions" and "MAC" in report.first_broken["reason"]
    with pytest.raises(TamperedError):
        execute_run(ledger, run_id, PaperBroker())


def test_the_approved_subset_passes_the_whole_gate_again(ledger) -> None:
    """Buys approved without the sells that fund them fail on cash and on suitability too."""
    from pathlib import Path

    from portfolio.engine import rebalance
    from portfolio.importers import read_holdings
    from portfolio.models import ClientMandate

    sample = Path(__file__).resolve().parent.parent / "data" / "samples" / "seed000_four_tech.csv"
    holdings = read_holdings(sample.read_bytes(), filename=sample.name)
    proposal = rebalance(holdings, ClientMandate())
    run_id = ledger.create_run(holdings=holdings, filename=sample.name)
    ledger.save_proposal(run_id, proposal)
    buys = [t.id for t in proposal.trades if t.action == "BUY"]
    sells = [t.id for t in proposal.trades if t.action == "SELL"]
    ledger.decide(run_id, approve=buys, veto=sells, by="ann")
    with pytest.raises(ConflictError, match=r"T5 VB \[cash_floor, suitability\]"):
        execute_run(ledger, run_id, PaperBroker())
    assert ledger.executions(run_id) == []


def test_runs_saved_before_the_keyed_chain_are_sealed_on_upgrade(ledger, saved_run) -> None:
    from portfolio.ledger import migrate

    run_id = saved_run(ledger)
    migrate.downgrade(ledger.engine, "0001")  # as a ledger written by the previous release
    migrate.upgrade(ledger.engine, key=ledger._key)
    assert ledger.verify().ok
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    assert execute_run(ledger, run_id, PaperBroker()).status == "PARTIALLY_EXECUTED"
    assert ledger.verify().ok
