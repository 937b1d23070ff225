"""The firm's people are a keyed, chained journal, on SQLite and PostgreSQL: each change on
Settings is an entry; a row edited, inserted or deleted behind the chain is given no role and is
named by `verify`; a rewrite without the key, a cut tail and a wipe are caught."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from test_ledger_cli import _cli

from portfolio.access import Person, load_firm
from portfolio.ledger import LedgerError, chain, migrate
from portfolio.ledger.anchor import check_anchor, make_anchor
from portfolio.ledger.schema import ChainHead, FirmEntry

pytest_plugins = ["pg_server"]

FIRM = load_firm(
    {
        "require_second_approver": True,
        "people": {"root@example.com": {"name": "Root", "role": "admin"}},
    }
)
ROOT = FIRM.identity("root@example.com", authenticated=True)


def _sql(ledger, statement: str, **params) -> None:  # type: ignore[no-untyped-def]
    with ledger.engine.begin() as conn:
        conn.execute(text(statement), params)


def _put(ledger, email: str, role: str, team: str = "east") -> None:  # type: ignore[no-untyped-def]
    ledger.people.put(Person(id=email, name=email.split("@")[0], role=role, team=team), ROOT, FIRM)


def _entries(ledger) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    with ledger._read() as s:
        rows = s.query(FirmEntry).order_by(FirmEntry.seq).all()
        return [(r.kind, r.person_id, r.role, r.changed_by) for r in rows]


def _roles(ledger) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p.id: p.role for p in ledger.people.list()}


def _firm_problem(ledger) -> dict:  # type: ignore[no-untyped-def]
    report = ledger.verify()
    assert not report.ok
    problems = [p for p in report.tables if p["journal"] == "firm_people"]
    assert problems, report.as_dict()
    return problems[0]


def _chain_broken(ledger, words: str) -> dict:  # type: ignore[no-untyped-def]
    report = ledger.verify()
    assert not report.ok
    broken = report.first_broken
    assert broken["journal"] == "firm_entries", broken
    assert words in broken["reason"], broken
    # A broken journal vouches for nobody, and the page says why.
    assert ledger.people.list() == []
    assert any("journal is broken" in s for s in ledger.people.check().sentences())
    return broken


def test_put_and_remove_are_chained_with_who_made_them(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "Ann@Example.com", "advisor")
    _put(ledger, "sue@example.com", "supervisor")
    _put(ledger, "ann@example.com", "supervisor")
    ledger.people.remove("sue@example.com", ROOT, FIRM)
    assert _entries(ledger) == [
        ("put", "ann@example.com", "advisor", "root@example.com"),
        ("put", "sue@example.com", "supervisor", "root@example.com"),
        ("put", "ann@example.com", "supervisor", "root@example.com"),
        ("remove", "sue@example.com", "supervisor", "root@example.com"),
    ]
    assert _roles(ledger) == {"ann@example.com": "supervisor"}
    report = ledger.verify()
    assert report.ok, report.as_dict()
    assert ("firm_entries", 4) in [(c.name, c.length) for c in report.chains]
    assert [h.seq for h in ledger.heads() if h.name == "firm_entries"] == [4]
    with pytest.raises(LedgerError, match="was not added on this page"):
        ledger.people.remove("sue@example.com", ROOT, FIRM)


def test_a_row_is_never_written_without_its_entry(ledger, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from portfolio.ledger import people

    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    monkeypatch.setattr(people.chain, "append", fail)
    with pytest.raises(RuntimeError):
        _put(ledger, "ann@example.com", "advisor")
    monkeypatch.undo()
    with ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM firm_people")).scalar_one() == 0
    assert ledger.verify().ok


def test_a_role_raised_with_sql_is_ignored_and_named(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "advisor")
    _put(ledger, "bob@example.com", "advisor")
    _sql(ledger, "UPDATE firm_people SET role = 'supervisor' WHERE id = 'ann@example.com'")
    problem = _firm_problem(ledger)
    assert problem["person"] == "ann@example.com"
    assert "role is 'supervisor' but 'advisor' in the chain" in problem["reason"]
    # Access control reads only what the chain vouches for: Ann is not a supervisor, nor in.
    assert _roles(ledger) == {"bob@example.com": "advisor"}
    with pytest.raises(PermissionError):
        FIRM.with_people(ledger.people.list()).identity("ann@example.com", authenticated=True)
    # An admin saving her again (with the role they mean) makes table and chain agree.
    _put(ledger, "ann@example.com", "advisor")
    assert ledger.verify().ok
    assert _roles(ledger) == {"ann@example.com": "advisor", "bob@example.com": "advisor"}


def test_a_row_inserted_behind_the_chain_is_ignored_and_named(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "advisor")
    _sql(
        ledger,
        "INSERT INTO firm_people (id, name, role, team, updated_by, updated_at) "
        "VALUES ('mallory@example.com', 'M', 'admin', '', 'root@example.com', :at)",
        at=datetime.now(UTC),
    )
    problem = _firm_problem(ledger)
    assert problem["person"] == "mallory@example.com"
    assert "in the firm_people table as admin but not in the chain" in problem["reason"]
    assert _roles(ledger) == {"ann@example.com": "advisor"}
    # The admin can remove the intruder from Settings; the removal is chained too.
    ledger.people.remove("mallory@example.com", ROOT, FIRM)
    assert ledger.verify().ok
    assert _entries(ledger)[-1][:2] == ("remove", "mallory@example.com")


def test_a_row_deleted_behind_the_chain_is_named(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "supervisor")
    _sql(ledger, "DELETE FROM firm_people WHERE id = 'ann@example.com'")
    problem = _firm_problem(ledger)
    assert "ann@example.com (supervisor) was deleted" in problem["reason"]
    assert _roles(ledger) == {}


def test_verify_on_the_command_line_names_the_person(ledger, db_url) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "advisor")
    _sql(ledger, "UPDATE firm_people SET role = 'admin' WHERE id = 'ann@example.com'")
    proc = _cli(db_url, "verify")
    assert proc.returncode == 1, proc.stderr
    assert "firm_entries: 1 link(s), intact" in proc.stdout
    assert "firm_people table: ann@example.com: in the firm_people table, role is 'admin'" in (
        proc.stdout
    )


def test_a_rehashed_rewrite_without_the_key_is_caught(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "advisor")
    _put(ledger, "bob@example.com", "advisor")
    # Whoever has the database but not the key: raise Ann in the journal and the table, and
    # recompute every plain hash and the head, as the chain would.
    with ledger._write() as s:
        rows = s.query(FirmEntry).order_by(FirmEntry.seq).all()
        rows[0].role = "supervisor"
        prev = chain.GENESIS
        for row in rows:
            row.prev_hash = prev
            row.hash = prev = chain.link_hash(chain.row_content(row))
        s.get(ChainHead, "firm_entries").hash = prev
    _sql(ledger, "UPDATE firm_people SET role = 'supervisor' WHERE id = 'ann@example.com'")
    broken = _chain_broken(ledger, "MAC")
    assert broken["seq"] == 1 and "ann@example.com" in broken["reason"]


def test_an_altered_entry_is_caught(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "advisor")
    _sql(ledger, "UPDATE firm_entries SET role = 'admin'")
    _sql(ledger, "UPDATE firm_people SET role = 'admin'")
    _chain_broken(ledger, "the row was altered")


def test_a_deleted_tail_is_caught_by_the_head(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "supervisor")
    _put(ledger, "ann@example.com", "advisor")  # demoted; the demotion is then cut off
    _sql(ledger, "DELETE FROM firm_entries WHERE seq = 2")
    _sql(ledger, "UPDATE firm_people SET role = 'supervisor'")
    _chain_broken(ledger, "chain head records link 2 but the journal ends at 1")


def test_a_wipe_is_caught_by_an_anchor(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "advisor")
    _put(ledger, "bob@example.com", "supervisor")
    anchor = make_anchor(ledger)
    assert {"name": "firm_entries", "seq": 2} in [
        {"name": h["name"], "seq": h["seq"]} for h in anchor["heads"]
    ]
    # Journal, head and table wiped together leave nothing inside the database to compare.
    _sql(ledger, "DELETE FROM firm_entries")
    _sql(ledger, "DELETE FROM chain_heads WHERE name = 'firm_entries'")
    _sql(ledger, "DELETE FROM firm_people")
    assert ledger.verify().ok
    assert check_anchor(ledger, anchor) == [
        f"firm_entries: link 2 (anchored {anchor['created_at'][:19]}) is missing: "
        "the journal was truncated or wiped"
    ]


def test_the_upgrade_chains_people_added_before_it(ledger) -> None:  # type: ignore[no-untyped-def]
    _put(ledger, "ann@example.com", "advisor")
    migrate.downgrade(ledger.engine, "0007")  # a ledger as the previous release left it
    _sql(
        ledger,
        "INSERT INTO firm_people (id, name, role, team, updated_by, updated_at) "
        "VALUES ('sue@example.com', 'Sue', 'supervisor', 'east', 'root@example.com', :at)",
        at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
    )
    migrate.upgrade(ledger.engine, key=ledger._key)
    report = ledger.verify()
    assert report.ok, report.as_dict()
    assert _entries(ledger) == [
        ("put", "ann@example.com", "advisor", "root@example.com"),
        ("put", "sue@example.com", "supervisor", "root@example.com"),
    ]
    assert _roles(ledger) == {"ann@example.com": "advisor", "sue@example.com": "supervisor"}
    with ledger._read() as s:
        assert (
            s.query(FirmEntry)
            .filter_by(person_id="sue@example.com")
            .one()
            .at.startswith("2026-11-01T09:30")
        )
    # The journal carries on from the backfilled genesis entries.
    ledger.people.remove("ann@example.com", ROOT, FIRM)
    assert ledger.verify().ok and _roles(ledger) == {"sue@example.com": "supervisor"}
