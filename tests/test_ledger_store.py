"""The ledger on SQLite and on a real PostgreSQL server: storage, decisions, execution, chain."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from portfolio.broker import PaperBroker
from portfolio.ledger import (
    ConflictError,
    LedgerError,
    NothingToExecute,
    UnknownRun,
    UnknownTrade,
    chain,
    execute_run,
    migrate,
    open_ledger,
    paper_broker,
    recover,
)
from portfolio.ledger.engine import database_url
from portfolio.ledger.paper_book import LedgerOrderBook
from portfolio.ledger.schema import Base, ChainHead, Decision

pytest_plugins = ["pg_server"]


def _count(ledger, table: str) -> int:  # type: ignore[no-untyped-def]
    with ledger.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


# ------------------------------------------------------------------------ schema and setup


def test_open_ledger_migrates_an_empty_database_to_head(empty_db_url: str, saved_run) -> None:
    ledger = open_ledger(empty_db_url)
    try:
        assert migrate.current_revision(ledger.engine) == migrate.head_revision()
        # The check made at every opening reads the same head without Alembic.
        assert migrate.head_from_files() == migrate.head_revision()
        with ledger.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == [], "migrations and schema.py disagree"
        tables = set(inspect(ledger.engine).get_table_names())
        assert {"runs", "decisions", "executions", "snapshots", "agent_results"} <= tables
    finally:
        ledger.close()
    # Opening again keeps the data: the upgrade is a no-op at head.
    again = open_ledger(empty_db_url)
    run_id = saved_run(again)
    again.close()
    third = open_ledger(empty_db_url)
    assert [r.run_id for r in third.runs()] == [run_id]
    third.close()


def test_downgrade_then_upgrade_round_trips(empty_db_url: str) -> None:
    ledger = open_ledger(empty_db_url)
    migrate.downgrade(ledger.engine, "base")
    assert "runs" not in inspect(ledger.engine).get_table_names()
    migrate.upgrade(ledger.engine)
    assert migrate.current_revision(ledger.engine) == migrate.head_revision()
    ledger.close()


def test_default_database_is_a_wal_sqlite_file_in_the_data_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REBALANCE_DATA_DIR", str(tmp_path / "nested" / "data"))
    ledger = open_ledger()
    try:
        assert (tmp_path / "nested" / "data" / "rebalance.db").exists()
        with ledger.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        ledger.close()


def test_database_url_setting(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


# ------------------------------------------------------------------------ runs and proposals


def test_a_saved_run_keeps_file_snapshot_and_proposal(
    ledger, sample_proposal, sample_holdings
) -> None:
    source = b"Account,Symbol\nZ123,AAPL\n"
    holdings = sample_holdings()
    run_id = ledger.create_run(
        holdings=holdings,
        source_bytes=source,
        filename="acme.csv",
        settings={"tilts": {"us_equity": 0.01}},
        prompt_version="v3",
        agents={"risk_profiler": {"provider": "openai", "model": "m"}},
    )
    stored = ledger.save_proposal(run_id, sample_proposal())
    assert stored == {f"T{i}": f"{run_id}-T{i}" for i in range(1, 5)}

    run = ledger.run(run_id)
    assert run.status == "PENDING_REVIEW"
    assert run.snapshot.filename == "acme.csv"
    assert run.snapshot.sha256 == hashlib.sha256(source).hexdigest()
    assert run.snapshot.import_report["positions"] == 3
    assert run.settings == {"tilts": {"us_equity": 0.01}}
    assert run.prompt_version == "v3"
    assert run.agents["risk_profiler"]["provider"] == "openai"
    assert run.mandate["esg_only"] is True
    assert [t.compliance for t in run.trades] == ["APPROVED"] * 3 + ["VETOED"]
    assert run.trades[3].rules == ["esg.tobacco"]
    assert ledger.proposal(run_id) == sample_proposal()
    assert ledger.holdings(run.snapshot.id) == holdings
    listed = ledger.runs()
    assert listed[0].run_id == run_id and listed[0].trades == 4
    with pytest.raises(ConflictError):
        ledger.save_proposal(run_id, sample_proposal())


def test_an_upload_is_kept_before_any_run_and_a_run_starts_from_it(ledger, sample_holdings) -> None:
    source = b"Account,Symbol,Quantity\nZ123,AAPL,10\n"
    holdings = sample_holdings()
    snap_id = ledger.save_snapshot(holdings, source, "upload.csv")
    assert ledger.holdings(snap_id) == holdings
    assert _count(ledger, "runs") == 0

    run_id = ledger.create_run(holdings=holdings, snapshot_id=snap_id, filename="upload.csv")
    run = ledger.run(run_id)
    assert run.snapshot.id == snap_id
    assert run.snapshot.sha256 == hashlib.sha256(source).hexdigest()
    assert _count(ledger, "snapshots") == 1  # reused, not copied
    with pytest.raises(LedgerError):
        ledger.create_run(holdings=holdings, snapshot_id=snap_id + 999)


def test_agent_results_and_resumable_event_log(ledger) -> None:
    run_id = ledger.create_run(filename="acme.csv")
    assert ledger.run(run_id).status == "RUNNING"
    ledger.record_agent_result(
        run_id,
        "market_scanner",
        [{"role": "user", "content": "scan"}],
        {"regime": "risk-on"},
        "ok",
        {"seconds": 1.5},
        {"input_tokens": 10, "output_tokens": 5},
        "openai",
        "gpt-x",
    )
    assert [ledger.append_event(run_id, {"n": n}) for n in range(3)] == [1, 2, 3]
    assert [e.event["n"] for e in ledger.events(run_id, after_seq=1)] == [1, 2]
    result = ledger.agent_results(run_id)[0]
    assert result.result == {"regime": "risk-on"}
    assert result.usage["output_tokens"] == 5 and result.model == "gpt-x"
    ledger.set_run_status(run_id, "FAILED", error="provider timed out")
    assert ledger.run(run_id).error == "provider timed out"
    with pytest.raises(UnknownRun):
        ledger.append_event("nope", {})


# ------------------------------------------------------------------------ decisions


@pytest.mark.parametrize(
    ("approve", "veto", "by", "error"),
    [
        (["T4"], [], "ann", "vetoed by compliance (esg.tobacco)"),
        (["T1"], ["T1"], "ann", "both approved and vetoed"),
        (["T9"], [], "ann", "no trade T9"),
        (["T1"], [], " ", "--by"),
        ([], [], "ann", "at least one trade"),
        (["T1", "T1"], [], "ann", "named twice"),
    ],
)
def test_bad_decisions_are_refused_and_change_nothing(
    ledger, approve, veto, by, error, saved_run
) -> None:
    run_id = saved_run(ledger)
    with pytest.raises(LedgerError, match=error.replace("(", r"\(").replace(")", r"\)")):
        ledger.decide(run_id, approve=approve, veto=veto, by=by)
    assert ledger.decisions(run_id) == []
    assert ledger.run(run_id).status == "PENDING_REVIEW"
    assert ledger.verify().ok


def test_unknown_run_and_trade_errors_name_the_alternatives(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    with pytest.raises(UnknownRun, match="no run 'missing'"):
        ledger.decide("missing", approve=["T1"], by="ann")
    with pytest.raises(UnknownTrade, match="its trades: T1, T2, T3, T4"):
        ledger.decide(run_id, approve=["T7"], by="ann")


def test_a_change_of_mind_is_a_new_row_never_an_update(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    first = ledger.decide(run_id, approve=[f"{run_id}-T2"], by="ann", reason="fits the model")
    ledger.decide(run_id, veto=["T2"], by="bob", reason="client called")
    rows = ledger.decisions(run_id)
    assert [(r.trade_id, r.decision, r.by) for r in rows] == [
        ("T2", "APPROVE", "ann"),
        ("T2", "VETO", "bob"),
    ]
    assert rows[0].hash == first[0].hash
    assert rows[1].prev_hash == rows[0].hash
    assert ledger.run(run_id).trades[1].decision.decision == "VETO"


# ------------------------------------------------------------------------ execution and status


def test_status_moves_from_review_to_partially_executed(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1"], by="ann")
    assert ledger.run(run_id).status == "PENDING_REVIEW"  # T2, T3 still undecided
    with pytest.raises(ConflictError, match=r"T2, T3 in run .* have no decision yet"):
        execute_run(ledger, run_id, PaperBroker())
    ledger.decide(run_id, approve=["T2", "T3"], by="ann")
    assert ledger.run(run_id).status == "APPROVED"
    report = execute_run(ledger, run_id, PaperBroker())
    assert report.status == "PARTIALLY_EXECUTED"  # T4 was vetoed by compliance
    executed = [t.execution.status for t in ledger.run(run_id).trades[:3]]
    assert executed == ["FILLED"] * 3
    assert ledger.run(run_id).trades[3].execution is None


def test_all_approved_and_filled_is_executed(ledger, saved_run) -> None:
    run_id = saved_run(ledger, vetoed=False)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    assert execute_run(ledger, run_id, PaperBroker()).status == "EXECUTED"


def test_nothing_approved_is_rejected_and_cannot_execute(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, veto=["T1", "T2", "T3"], by="ann")
    assert ledger.run(run_id).status == "REJECTED"
    with pytest.raises(NothingToExecute):
        execute_run(ledger, run_id, PaperBroker())
    assert ledger.executions(run_id) == []


def test_an_order_the_broker_rejects_makes_the_run_partial(
    ledger, sample_proposal, sample_holdings
) -> None:
    from portfolio.models import Trade

    proposal = sample_proposal(vetoed=False)
    # A buy limit below the market never fills.
    proposal.trades[1] = Trade(
        **{**proposal.trades[1].model_dump(), "order_type": "LIMIT", "limit_price": 90.0}
    )
    run_id = ledger.create_run(holdings=sample_holdings(), filename="acme.csv")
    ledger.save_proposal(run_id, proposal)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    report = execute_run(ledger, run_id, PaperBroker())
    assert report.status == "PARTIALLY_EXECUTED"
    t2 = ledger.run(run_id).trades[1].execution
    assert t2.status == "REJECTED" and "limit 90 not reached" in t2.detail


def test_a_compliance_veto_is_never_executed_even_if_approved_in_the_journal(
    ledger, saved_run
) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    # A faulty writer slips an approval of the vetoed T4 past decide(): execution still skips it.
    with ledger._write() as s:
        chain.append(
            s,
            Decision,
            {
                "run_id": run_id,
                "trade_id": "T4",
                "decision": "APPROVE",
                "decided_by": "rogue",
                "reason": None,
                "decided_at": "x",
            },
            ledger._key,
        )
    execute_run(ledger, run_id, PaperBroker())
    assert {e.trade_id for e in ledger.executions(run_id)} == {"T1", "T2", "T3"}
    assert ledger.verify().ok


def test_executing_twice_fills_each_trade_once(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    broker = paper_broker(ledger)
    first = execute_run(ledger, run_id, broker)
    second = execute_run(ledger, run_id, paper_broker(ledger))
    assert len(first.recorded) == 3 and second.recorded == []
    fills = [e for e in ledger.executions(run_id) if e.stage == "result"]
    assert sorted(e.trade_id for e in fills) == ["T1", "T2", "T3"]
    assert _count(ledger, "paper_orders") == 3


@pytest.mark.parametrize("vetoed_then", ["T3", "T1"])
def test_a_partially_executed_run_is_final(ledger, saved_run, vetoed_then) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann")
    execute_run(ledger, run_id, PaperBroker())
    assert ledger.run(run_id).status == "PARTIALLY_EXECUTED"
    # Neither the vetoed T3 nor a sent trade can be decided again: the run is closed.
    with pytest.raises(ConflictError, match="PARTIALLY_EXECUTED, which is final") as err:
        ledger.decide(run_id, approve=[vetoed_then], by="ann", reason="client agreed")
    assert "\n" not in str(err.value)
    assert len(ledger.decisions(run_id)) == 3
    assert execute_run(ledger, run_id, PaperBroker()).recorded == []
    assert len([e for e in ledger.executions(run_id) if e.stage == "result"]) == 2


def test_executed_and_rejected_runs_accept_no_decision(ledger, saved_run) -> None:
    done = saved_run(ledger, vetoed=False)
    ledger.decide(done, approve=["T1", "T2", "T3"], by="ann")
    execute_run(ledger, done, PaperBroker())
    rejected = saved_run(ledger)
    ledger.decide(rejected, veto=["T1", "T2", "T3"], by="ann")
    for run_id, final in ((done, "EXECUTED"), (rejected, "REJECTED")):
        with pytest.raises(ConflictError, match=f"{final}, which is final"):
            ledger.decide(run_id, veto=["T2"], by="bob")
        assert ledger.run(run_id).status == final


def test_crash_between_order_and_fill_is_recovered_without_duplicate(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    broker = paper_broker(ledger)
    orders = ledger.send_orders(run_id, broker.name)
    assert len(orders) == 3
    # The process dies after the broker filled T1 but before the fill reached the ledger,
    # and before T2 and T3 were sent at all.
    t1 = broker.submit(orders[0])
    assert ledger.pending_runs() == [run_id]
    assert ledger.run(run_id).status == "EXECUTING"
    reports = recover(ledger, paper_broker(ledger))
    assert [r.run_id for r in reports] == [run_id]
    fills = [e for e in ledger.executions(run_id) if e.stage == "result"]
    assert len(fills) == 3
    assert fills[0].broker_order_id == t1.broker_order_id and fills[0].at == t1.at
    assert _count(ledger, "paper_orders") == 3
    assert ledger.pending_runs() == []
    assert ledger.run(run_id).status == "PARTIALLY_EXECUTED"
    assert recover(ledger, broker) == []


def test_fills_recorded_together_are_each_journaled_once(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    broker = paper_broker(ledger)
    orders = ledger.send_orders(run_id, broker.name)
    fills = broker.submit_many(orders)
    assert [f.client_order_id for f in fills] == [o.client_order_id for o in orders]
    assert ledger.record_fill(fills[0], broker.name)
    stranger = dataclasses.replace(fills[1], client_order_id="no-such-order")
    with pytest.raises(UnknownTrade, match="no-such-order"):
        ledger.record_fills([fills[1], stranger], broker.name)
    assert len([e for e in ledger.executions(run_id) if e.stage == "result"]) == 1
    # The one already journaled, and a fill repeated in the batch, are each recorded once.
    recorded = ledger.record_fills([*fills, fills[2]], broker.name)
    assert recorded == [fills[1].client_order_id, fills[2].client_order_id]
    results = [e for e in ledger.executions(run_id) if e.stage == "result"]
    assert [e.client_order_id for e in results] == [f.client_order_id for f in fills]
    assert broker.submit_many(orders) == fills  # the book answers a repeated basket as before
    assert _count(ledger, "paper_orders") == 3
    assert ledger.verify().ok


def test_a_run_larger_than_a_basket_goes_in_several(ledger, saved_run, monkeypatch) -> None:
    from portfolio.ledger import execute as execute_module

    monkeypatch.setattr(execute_module, "BASKET", 2)
    run_id = saved_run(ledger, vetoed=False)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    report = execute_run(ledger, run_id, paper_broker(ledger))
    assert report.status == "EXECUTED"
    assert sorted(report.recorded) == sorted(report.submitted) and len(report.submitted) == 3
    results = [e for e in ledger.executions(run_id) if e.stage == "result"]
    assert sorted(e.trade_id for e in results) == ["T1", "T2", "T3"]
    assert _count(ledger, "paper_orders") == 3
    assert ledger.verify().ok


def test_execution_writes_the_resulting_holdings_as_a_snapshot(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    broker = PaperBroker(LedgerOrderBook(ledger.engine), commission_per_order=1.0, slippage_bps=10)
    report = execute_run(ledger, run_id, broker)
    snaps = ledger.snapshots(run_id)
    assert [s.kind for s in snaps] == ["upload", "execution"]
    after = ledger.holdings(report.snapshot_id)
    by_symbol = {p.symbol: p for p in after.positions}
    assert by_symbol["AAPL"].quantity == 30
    assert by_symbol["VTI"].quantity == 5 and by_symbol["BND"].quantity == 5
    # Sell 10 @ 199.80 less $1; buy 2 x 5 @ 100.10 plus $1 each.
    expected_cash = 3000 + 10 * 199.8 - 1 - 2 * (5 * 100.1 + 1)
    assert by_symbol["SPAXX"].market_value == pytest.approx(expected_cash)
    assert by_symbol["AAPL"].lots[0].quantity == 30
    assert by_symbol["AAPL"].lots[0].cost_basis == pytest.approx(3000)
    # A second execute finds nothing new and writes no second snapshot.
    execute_run(ledger, run_id, broker)
    assert len(ledger.snapshots(run_id)) == 2


# ------------------------------------------------------------------------ the hash chain


def test_verify_passes_on_an_untouched_ledger(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    execute_run(ledger, run_id, PaperBroker())
    report = ledger.verify()
    assert report.ok and report.first_broken is None
    # The run's entries: its first status, its proposal, then APPROVED, EXECUTING, the outcome.
    assert [(c.name, c.length) for c in report.chains] == [
        ("run_entries", 5),
        ("decisions", 3),
        ("executions", 6),
        ("firm_entries", 0),
    ]


def test_a_tampered_decision_row_is_caught(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann")
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE decisions SET decision = 'APPROVE' WHERE seq = 3"))
    broken = ledger.verify().first_broken
    assert broken is not None
    assert (broken["journal"], broken["seq"], broken["run_id"]) == ("decisions", 3, run_id)
    assert "altered" in broken["reason"]


def test_a_rewritten_and_rehashed_chain_fails_without_the_key(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann")
    # Rewrite the first decision and recompute every plain hash and the head, as anyone with
    # the database but not the firm key can: the MACs no longer match.
    with ledger._write() as s:
        rows = s.query(Decision).order_by(Decision.seq).all()
        rows[0].decided_by = "mallory"
        prev = chain.GENESIS
        for row in rows:
            row.prev_hash = prev
            row.hash = prev = chain.link_hash(chain.row_content(row))
        head = s.get(ChainHead, "decisions")
        head.hash = prev
    broken = ledger.verify().first_broken
    assert broken is not None and broken["seq"] == 1 and "MAC" in broken["reason"]


def test_deleted_rows_and_tampered_fills_are_caught(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann")
    execute_run(ledger, run_id, PaperBroker())
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE executions SET price = 1.0 WHERE seq = 5"))
    assert ledger.verify().first_broken["seq"] == 5
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM decisions WHERE seq = 3"))
    broken = ledger.verify().first_broken
    assert broken["journal"] == "decisions" and "removed" in broken["reason"]
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM decisions WHERE seq = 1"))
    assert "missing" in ledger.verify().first_broken["reason"]


def test_buys_whose_funding_sells_were_vetoed_are_refused_at_execution(ledger) -> None:
    from pathlib import Path

    from portfolio.engine import rebalance
    from portfolio.importers import read_holdings
    from portfolio.models import ClientMandate

    sample = Path(__file__).resolve().parent.parent / "data" / "samples" / "seed000_four_tech.csv"
    holdings = read_holdings(sample.read_bytes(), filename=sample.name)
    proposal = rebalance(holdings, ClientMandate())
    run_id = ledger.create_run(holdings=holdings, filename=sample.name)
    ledger.save_proposal(run_id, proposal)
    sells = [t.id for t in proposal.trades if t.action == "SELL"]
    buys = [t.id for t in proposal.trades if t.action == "BUY"]
    with pytest.raises(ConflictError, match="do not stand on their own"):
        ledger.check_funding(run_id, buys)  # asked before anything is recorded
    ledger.check_funding(run_id, sells + buys)
    ledger.decide(run_id, approve=buys, veto=sells, by="advisor")
    with pytest.raises(ConflictError, match="do not stand on their own"):
        execute_run(ledger, run_id, paper_broker(ledger))
    assert _count(ledger, "executions") == 0  # nothing was sent
    ledger.decide(run_id, approve=sells, by="advisor")  # a change of mind funds them
    report = execute_run(ledger, run_id, paper_broker(ledger))
    assert report.status == "EXECUTED"


def test_sheets_without_accounts_are_told_apart_by_file(ledger) -> None:
    from portfolio.models import Holdings, Position

    def sheet(symbol: str) -> Holdings:  # no account column: the placeholder account
        return Holdings(positions=[Position(symbol=symbol, quantity=1, market_value=100.0)])

    a = ledger.create_run(holdings=sheet("AAPL"), filename="alice.csv")
    b = ledger.create_run(holdings=sheet("MSFT"), filename="bob.csv")
    clients = {r.run_id: r.client for r in ledger.runs()}
    assert clients[a] == "alice" and clients[b] == "bob"
