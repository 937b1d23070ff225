"""Two replicas of the app opening the same batch run write its words once: the first event goes
only into an empty log (the run's row is locked while the log is read), and the process that
finds it taken stops without writing or failing anything."""

from __future__ import annotations

from portfolio.book_runs import ledger_households, run_batch
from portfolio.ledger import Ledger, open_ledger
from portfolio.ledger.clients import ClientRecords
from portfolio.models import Holdings
from tests.book_samples import cash


def _batch_run(ledger: Ledger) -> str:
    records = ClientRecords(ledger.engine)
    rec = records.create("Cash Heavy", owner="Ada")
    records.add_upload(rec.id, Holdings(positions=[cash("Joint Taxable", 90_000)]), None, "c.csv")
    (hh,) = ledger_households(ledger)
    return run_batch(ledger, [hh], started_by="Ada")[hh.id]


def test_only_an_empty_log_takes_a_first_event(ui_ledger: Ledger) -> None:
    rid = _batch_run(ui_ledger)
    other = open_ledger()  # a second process's connection to the same database
    try:
        assert ui_ledger.append_event(rid, {"type": "probe"}, first=True) == 1
        assert other.append_event(rid, {"type": "probe"}, first=True) == 0
        assert other.append_event(rid, {"type": "probe"}) == 2  # the writer that holds it goes on
    finally:
        other.close()
    assert [e.seq for e in ui_ledger.events(rid)] == [1, 2]


def test_a_replica_that_finds_the_words_begun_writes_nothing(ui_ledger: Ledger) -> None:
    """Both replicas saw an empty log and started the crew; the one whose first event comes
    second stops: one RunStarted, one set of words, the run as the batch left it."""
    from ui import worker

    rid = _batch_run(ui_ledger)
    snap = ui_ledger.run(rid).snapshot
    holdings = ui_ledger.holdings(snap.id)
    saved = ui_ledger.proposal(rid)
    settings = worker.LLMSettings(offline_pace=0.0)
    first, second = open_ledger(), open_ledger()
    try:
        worker._work(first, rid, holdings, "", None, None, settings, fixed=saved)
        n = len(ui_ledger.events(rid))
        assert n > 0
        worker._work(second, rid, holdings, "", None, None, settings, fixed=saved)
    finally:
        first.close()
        second.close()
    events = ui_ledger.events(rid)
    assert len(events) == n
    assert sum(e.event.get("type") == "run_started" for e in events) == 1
    assert ui_ledger.run(rid).status == "PENDING_REVIEW"
    assert ui_ledger.proposal(rid) == saved
