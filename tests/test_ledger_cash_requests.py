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
