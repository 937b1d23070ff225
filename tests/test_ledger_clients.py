"""Client records in the ledger, on SQLite and on a real PostgreSQL server: explicit creation,
accounts with their tax types, uploads that replace or add accounts (never another client's),
the book a run starts from, and the client's runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text, update

from portfolio.access import InvalidName
from portfolio.ledger import LedgerError, migrate, open_ledger
from portfolio.ledger.clients import ClientRecords, UnknownClient, suggest_tax_type
from portfolio.ledger.schema import ClientRecordRow
from portfolio.models import ClientMandate, Holdings, ModelPortfolio, ModelSleeve, Position

pytest_plugins = ["pg_server"]


def book(source: str, *accounts: str, value: float = 1000.0) -> Holdings:
    return Holdings(
        source=source,
        format="plain",
        positions=[
            Position(
                account=a,
                symbol="VTI",
                quantity=value / 100,
                price=100.0,
                market_value=value,
                asset_class="us_equity",
            )
            for a in accounts
        ],
    )


@pytest.fixture
def records(ledger) -> ClientRecords:  # type: ignore[no-untyped-def]
    return ClientRecords(ledger.engine)


def test_the_migration_adds_the_client_tables(ledger) -> None:  # type: ignore[no-untyped-def]
    tables = set(inspect(ledger.engine).get_table_names())
    assert {"client_records", "client_accounts"} <= tables
    # At head, which is 0003 or a later revision.
    assert migrate.current_revision(ledger.engine) == migrate.head_revision() >= "0003"


def test_a_new_client_is_always_a_new_record(records: ClientRecords) -> None:
    a = records.create("  Ann\u200b  Smith ", owner="Ada")
    b = records.create("Ann Smith", owner="Grace")
    assert a.id != b.id
    assert (a.name, a.owner, a.accounts, a.mandate) == ("Ann Smith", "Ada", [], None)
    listed = records.clients()
    assert {c.id for c in listed} == {a.id, b.id}
    assert [c.id for c in records.clients(owner="Grace")] == [b.id]
    with pytest.raises(InvalidName):
        records.create("\u200b \u2060")
    with pytest.raises(UnknownClient):
        records.get(999_999)


def test_uploads_add_accounts_and_replace_only_the_same_account(records: ClientRecords) -> None:
    c = records.create("The Lees", owner="Ada")
    first = records.add_upload(
        c.id, book("schwab.csv", "Roth_IRA ...9", "Brokerage ...1"), b"schwab", "schwab.csv"
    )
    assert sorted(first.added) == ["Brokerage ...1", "Roth_IRA ...9"] and first.replaced == []
    record = records.get(c.id)
    types = {a.account: a.tax_type for a in record.accounts}
    assert types == {"Roth_IRA ...9": "tax_free", "Brokerage ...1": "taxable"}

    # A second custodian's file adds its account; the household now has three.
    records.add_upload(c.id, book("fidelity.csv", "Rollover IRA Z9"), b"fid", "fidelity.csv")
    assert book_value(records, c.id) == 3000.0

    # A newer export of one account replaces that account's holdings, and only those.
    again = records.add_upload(
        c.id, book("schwab-july.csv", "Brokerage ...1", value=5000), b"july", "schwab-july.csv"
    )
    assert again.added == [] and again.replaced == ["Brokerage ...1"]
    assert book_value(records, c.id) == 1000 + 1000 + 5000
    assert [u.filename for u in records.uploads(c.id)] == [
        "schwab-july.csv",
        "fidelity.csv",
        "schwab.csv",
    ]
    summary = next(s for s in records.clients() if s.id == c.id)
    assert (summary.accounts, summary.uploads, summary.runs) == (3, 3, 0)


def test_an_upload_never_touches_another_client(records: ClientRecords) -> None:
    one = records.create("One")
    two = records.create("Two")
    records.add_upload(one.id, book("a.csv", "A1"), b"a", "a.csv")
    records.add_upload(two.id, book("b.csv", "A1", value=7000), b"b", "b.csv")  # same number
    assert book_value(records, one.id) == 1000.0
    assert book_value(records, two.id) == 7000.0
    assert records.get(one.id).accounts[0].filename == "a.csv"


def test_tax_types_and_removing_an_account(records: ClientRecords) -> None:
    c = records.create("Kim")
    records.add_upload(c.id, book("f.csv", "X1", "X2"), b"f", "f.csv")
    records.set_tax_type(c.id, "X2", "tax_deferred")
    assert {a.account: a.tax_type for a in records.get(c.id).accounts}["X2"] == "tax_deferred"
    with pytest.raises(LedgerError, match="not a tax type"):
        records.set_tax_type(c.id, "X2", "roth")
    records.remove_account(c.id, "X1")
    assert book_value(records, c.id) == 1000.0
    records.remove_account(c.id, "X2")
    assert records.book(c.id) is None
    assert records.book_snapshot(c.id) is None
    assert len(records.uploads(c.id)) == 1  # the file stays on record
    with pytest.raises(LedgerError, match="no account"):
        records.remove_account(c.id, "X2")


def test_mandate_notes_and_model_are_kept(records: ClientRecords) -> None:
    c = records.create("Lou", notes="58, moderate")
    mandate = ClientMandate(esg_only=True, single_name_cap=0.05)
    model = ModelPortfolio(
        profile="moderate",
        name="moderate (advisor override)",
        source="test",
        sleeves=[
            ModelSleeve(asset_class="us_equity", weight=1.0, vehicle="VTI", esg_vehicle="ESGV")
        ],
    )
    records.save_mandate(c.id, notes="58, moderate, ESG-only", mandate=mandate, model=model)
    got = records.get(c.id)
    assert (got.notes, got.mandate, got.model) == ("58, moderate, ESG-only", mandate, model)
    records.save_mandate(c.id, model=None)  # the notes and mandate stay
    got = records.get(c.id)
    assert (got.mandate, got.model) == (mandate, None)


def test_a_run_starts_from_the_clients_book_and_is_listed_with_it(ledger) -> None:  # type: ignore[no-untyped-def]
    records = ClientRecords(ledger.engine)
    c = records.create("Household")
    up = records.add_upload(c.id, book("a.csv", "A1"), b"a", "a.csv")
    _, sid = records.book_snapshot(c.id)  # type: ignore[misc]
    assert sid == up.snapshot_id  # one whole file: the upload itself
    records.add_upload(c.id, book("b.csv", "B1"), b"b", "b.csv")
    whole, merged = records.book_snapshot(c.id)  # type: ignore[misc]
    assert whole.holdings.accounts == ["A1", "B1"]
    assert records.book_snapshot(c.id)[1] == merged  # type: ignore[index]  # kept once
    clients_before = count(ledger, "clients")
    rid = ledger.create_run(holdings=whole.holdings, snapshot_id=merged, filename="a.csv, b.csv")
    assert count(ledger, "clients") == clients_before  # no stray client row for the run
    assert ledger.run(rid).client == "Household"
    assert [r["run_id"] for r in records.runs(c.id)] == [rid]
    assert next(s for s in records.clients() if s.id == c.id).runs == 1
    # The assembled book is not an upload of the client's.
    assert [u.filename for u in records.uploads(c.id)] == ["b.csv", "a.csv"]


def test_all_books_at_once_match_each_clients_book(ledger) -> None:  # type: ignore[no-untyped-def]
    """The practice view reads every book in a few queries: the same books, records and latest
    runs as asking client by client; a client without an account has no book."""
    records = ClientRecords(ledger.engine)
    a = records.create("Two files", owner="Ada", mandate=ClientMandate(risk_profile="conservative"))
    records.add_upload(a.id, book("a.csv", "A1", "A2"), b"a", "a.csv")
    records.add_upload(a.id, book("b.csv", "A2", "B1", value=5000.0), b"b", "b.csv")
    b = records.create("One file", owner="Bo")
    records.add_upload(b.id, book("c.csv", "C1"), b"c", "c.csv")
    records.create("Empty")
    whole, sid = records.book_snapshot(a.id)  # type: ignore[misc]
    for _ in range(2):
        ledger.create_run(holdings=whole.holdings, snapshot_id=sid)
    got = {rec.id: (rec, bk, last) for rec, bk, last in records.books()}
    assert set(got) == {a.id, b.id}
    for cid in (a.id, b.id):
        rec, bk, _ = got[cid]
        assert bk == records.book(cid)
        one = records.get(cid)
        assert (rec.name, rec.owner, rec.mandate) == (one.name, one.owner, one.mandate)
        assert [(x.account, x.tax_type) for x in rec.accounts] == [
            (x.account, x.tax_type) for x in one.accounts
        ]
    assert got[a.id][1].holdings.accounts == ["A1", "A2", "B1"]
    latest = records.runs(a.id)[0]
    assert got[a.id][2] == {"run_id": latest["run_id"], "status": latest["status"]}
    assert got[b.id][2] is None


def test_a_recreated_database_is_not_read_from_the_last_ones_books(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Parsed books are remembered per process; a database recreated at the same address
    reuses snapshot ids, and must still show its own holdings."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    for value in (1000.0, 7000.0):
        (tmp_path / "ledger.db").unlink(missing_ok=True)
        led = open_ledger(url)
        records = ClientRecords(led.engine)
        c = records.create("Same id")
        records.add_upload(c.id, book("a.csv", "A1", value=value), b"a", "a.csv")
        ((_, bk, _),) = records.books()
        assert bk.holdings.total_value == value
        led.close()


def test_the_fingerprint_moves_with_every_change_the_book_shows(ledger) -> None:  # type: ignore[no-untyped-def]
    records = ClientRecords(ledger.engine)
    seen = [records.fingerprint()]

    def moved() -> None:
        now = records.fingerprint()
        assert now not in seen
        seen.append(now)

    c = records.create("Household")
    moved()
    records.add_upload(c.id, book("a.csv", "Joint"), b"a", "a.csv")
    moved()
    records.save_mandate(c.id, mandate=ClientMandate(risk_profile="conservative"))
    moved()
    records.set_tax_type(c.id, "Joint", "tax_free")
    moved()
    whole, sid = records.book_snapshot(c.id)  # type: ignore[misc]
    rid = ledger.create_run(holdings=whole.holdings, snapshot_id=sid)
    moved()
    ledger.set_run_status(rid, "FAILED", error="test")
    moved()
    assert records.fingerprint() == seen[-1]  # and stands still when nothing changes


def test_records_survive_reopening(db_url: str) -> None:
    first = open_ledger(db_url)
    c = ClientRecords(first.engine).create("Kept", owner="Ada")
    first.close()
    again = open_ledger(db_url)
    try:
        assert ClientRecords(again.engine).get(c.id).name == "Kept"
    finally:
        again.close()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Roth_IRA ...456", "tax_free"),
        ("Contributory_IRA ...789", "tax_deferred"),
        ("ROLLOVER IRA Z987", "tax_deferred"),
        ("401(k) Plan", "tax_deferred"),
        ("Individual_Brokerage ...123", "taxable"),
        ("Joint WROS", "taxable"),
        ("Account", "taxable"),
        ("Miranda", "taxable"),  # "ira" inside a word is not an IRA
    ],
)
def test_suggested_tax_type_from_the_account_name(name: str, expected: str) -> None:
    assert suggest_tax_type(name) == expected


def book_value(records: ClientRecords, client_id: int) -> float:
    b = records.book(client_id)
    assert b is not None
    return b.holdings.total_value


def count(ledger, table: str) -> int:  # type: ignore[no-untyped-def]
    with ledger.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_partial_book_agreement_holds_for_its_own_book_only(records: ClientRecords) -> None:
    rec = records.create("Ann Lee")
    first = records.add_upload(rec.id, book("a.csv", "Joint"), b"a", "a.csv").snapshot_id
    assert records.partial_ack(rec.id, first) is None
    records.set_partial_ack(rec.id, first, "Ada Lovelace")
    ack = records.partial_ack(rec.id, first)
    assert ack is not None and (ack.acknowledged_by, ack.snapshot_id) == ("Ada Lovelace", first)
    # Another book of the same client is not agreed to; withdrawing it for that book changes
    # nothing of the first.
    second = records.add_upload(rec.id, book("b.csv", "Joint"), b"b", "b.csv").snapshot_id
    assert records.partial_ack(rec.id, second) is None
    records.set_partial_ack(rec.id, second, None)
    assert records.partial_ack(rec.id, first) is not None
    records.set_partial_ack(rec.id, first, None)
    assert records.partial_ack(rec.id, first) is None


def test_an_advisors_settings_are_kept_but_never_a_key(ledger) -> None:  # type: ignore[no-untyped-def]
    from portfolio.ledger.advisor_settings import AdvisorSettings

    kept = AdvisorSettings(ledger.engine)
    assert kept.get("Ada Lovelace") is None
    kept.keep("Ada Lovelace", {"provider": "openai", "model": "gpt-4o-mini"})
    kept.keep("Ada Lovelace", {"provider": "openai-compatible", "model": "llama3.1"})
    assert kept.get("Ada Lovelace") == {"provider": "openai-compatible", "model": "llama3.1"}
    assert kept.get("Bob") is None
    with pytest.raises(LedgerError, match="never kept"):
        kept.keep("Ada Lovelace", {"provider": "openai", "api_key": "sk-x"})
    with ledger.engine.connect() as conn:
        assert "sk-x" not in str(conn.execute(text("SELECT * FROM advisor_settings")).all())


def test_the_fingerprint_moves_when_a_lagging_clock_stamps_a_change(ledger) -> None:  # type: ignore[no-untyped-def]
    """Two app servers share the database; the second's clock is an hour behind. Its change is
    stamped earlier than the newest stamp, and the book must still see it."""
    records = ClientRecords(ledger.engine)
    a = records.create("Household A")
    records.create("Household B")
    before = records.fingerprint()
    lagging = datetime.now(UTC) - timedelta(hours=1)
    with ledger.engine.begin() as conn:
        conn.execute(
            update(ClientRecordRow)
            .where(ClientRecordRow.client_id == a.id)
            .values(updated_at=lagging, notes="changed by the second server")
        )
    assert records.fingerprint() != before
