"""Cash requests kept with the client record, on SQLite and on a real PostgreSQL server: added
for a known account, listed in order, removed one by one, and gone with their account."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from portfolio.cash_requests import make_request
from portfolio.ledger import LedgerError, migrate
from portfolio.ledger.clients import ClientRecords
from tests.test_ledger_clients import book

pytest_plugins = ["pg_server"]


def test_requests_live_with_the_client_record(ledger) -> None:  # type: ignore[no-untyped-def]
    assert "client_cash_requests" in set(inspect(ledger.engine).get_table_names())
    assert migrate.current_revision(ledger.engine) == migrate.head_revision() >= "0007"
    records = ClientRecords(ledger.engine)
    ann = records.create("Ann Lee", owner="Ada")
    bob = records.create("Bob Lee", owner="Ada")
    records.add_upload(ann.id, book("a.csv", "Joint", "Rollover IRA"), b"x", "a.csv")
    assert records.cash_requests(ann.id) == []

    first = records.add_cash_request(
        ann.id, make_request("Rollover IRA", 20_000, "withdrawal", "distribution"), by="Ada"
    )
    records.add_cash_request(ann.id, make_request("Joint", "5k", "deposit"))
    listed = records.cash_requests(ann.id)
    assert [(r.request.account, r.request.kind, r.request.amount) for r in listed] == [
        ("Rollover IRA", "withdrawal", 20_000),
        ("Joint", "deposit", 5_000),
    ]
    assert listed[0].request.note == "distribution" and listed[0].created_by == "Ada"
    assert records.cash_requests(bob.id) == []

    # Only the client's own accounts, and only its own requests can be removed.
    with pytest.raises(LedgerError, match="no account"):
        records.add_cash_request(ann.id, make_request("Roth", 1_000, "deposit"))
    with pytest.raises(LedgerError, match="no cash request"):
        records.remove_cash_request(bob.id, first.id)
    records.remove_cash_request(ann.id, first.id)
    assert [r.request.kind for r in records.cash_requests(ann.id)] == ["deposit"]

    # An account that leaves the book takes its requests with it.
    records.remove_account(ann.id, "Joint")
    assert records.cash_requests(ann.id) == []


def _planned_run(ledger, records: ClientRecords, client_id: int):  # type: ignore[no-untyped-def]
    """A run of the client's book planned for its requests on record, saved for review."""
    from portfolio.engine import rebalance
    from portfolio.models import ClientMandate

    whole, sid = records.book_snapshot(client_id)  # type: ignore[misc]
    asked = [r.request for r in records.cash_requests(client_id)]
    proposal = rebalance(whole.holdings, ClientMandate(), cash_requests=asked)
    rid = ledger.create_run(snapshot_id=sid, status="RUNNING")
    ledger.save_proposal(rid, proposal)
    return rid, proposal


def test_an_executed_withdrawal_leaves_the_record_and_a_short_one_stays(ledger) -> None:  # type: ignore[no-untyped-def]
    """Once the sales that raise a withdrawal have filled, the request is done: the next run
    must not sell for it again. A raising sale the advisor cut to half (the buys vetoed) leaves
    it short, so it stays on record."""
    from portfolio.broker import PaperBroker
    from portfolio.ledger import execute_run

    records = ClientRecords(ledger.engine)
    for cut_the_sale in (True, False):
        c = records.create(f"Needs cash {cut_the_sale}")
        records.add_upload(c.id, book("a.csv", "Rollover IRA", value=100_000.0), b"x", "a.csv")
        records.add_cash_request(c.id, make_request("Rollover IRA", 20_000, "withdrawal"))
        rid, proposal = _planned_run(ledger, records, c.id)
        (req,) = proposal.cash_requests
        assert req.met and req.trades
        if cut_the_sale:
            sale = next(t for t in proposal.trades if t.id == req.trades[0])
            buys = [t.id for t in proposal.trades if t.action == "BUY"]
            ledger.decide(rid, veto=buys, quantities={sale.id: sale.quantity // 2}, by="ann")
        else:
            ledger.decide(rid, approve=[t.id for t in proposal.trades], by="ann")
        execute_run(ledger, rid, PaperBroker())
        assert any(t.execution for t in ledger.run(rid).trades)
        left = [r.request.amount for r in records.cash_requests(c.id)]
        assert left == ([20_000] if cut_the_sale else []), cut_the_sale
