"""Four-eyes in the ledger, on SQLite and PostgreSQL: sign-offs are chained, one person cannot
both approve and execute, and every execution entry names its executor."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from portfolio.access import load_firm
from portfolio.ledger import ConflictError, NothingToExecute, execute_run, paper_broker

pytest_plugins = ["pg_server"]

FIRM = load_firm(
    {
        "require_second_approver": True,
        "people": {
            "ann@example.com": {"name": "Ann Advisor", "role": "advisor", "team": "east"},
            "sue@example.com": {"name": "Sue Supervisor", "role": "supervisor", "team": "east"},
            "wes@example.com": {"name": "Wes Supervisor", "role": "supervisor", "team": "west"},
            "ops@example.com": {"role": "operations"},
            "aud@example.com": {"role": "auditor"},
            "root@example.com": {"role": "admin"},
        },
    }
)


def who(email: str):  # type: ignore[no-untyped-def]
    return FIRM.identity(email, authenticated=True)


@pytest.fixture
def decided(ledger, saved_run):  # type: ignore[no-untyped-def]
    """A run owned by Ann, every trade decided by her (two approved, the compliance veto vetoed)."""
    run_id = saved_run(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET owner = 'ann@example.com' WHERE id = :r"), {"r": run_id})
    ledger.decide(run_id, approve=["T1", "T2"], veto=["T3"], by="ann@example.com")
    return run_id


def test_runs_carry_their_owner(ledger, sample_holdings) -> None:  # type: ignore[no-untyped-def]
    run_id = ledger.create_run(holdings=sample_holdings(), filename="a.csv", owner="ann@x.com")
    assert ledger.owner(run_id) == "ann@x.com"
    assert ledger.run(run_id).owner == "ann@x.com"
    assert [r.owner for r in ledger.runs()] == ["ann@x.com"]


def test_execution_waits_for_a_second_persons_sign_off(ledger, decided) -> None:  # type: ignore[no-untyped-def]
    broker = paper_broker(ledger)
    ops = who("ops@example.com")
    with pytest.raises(ConflictError, match="execution refused: four-eyes: a supervisor"):
        execute_run(ledger, decided, broker, by=ops, firm=FIRM)
    assert ledger.executions(decided) == []
    assert ledger.execution_blockers(decided, ops, FIRM) == [
        "four-eyes: a supervisor who made none of the trade decisions must sign off first"
    ]

    done = ledger.sign_off(decided, who("sue@example.com"), FIRM)
    assert (done.by, done.role) == ("sue@example.com", "supervisor")
    assert [s.by for s in ledger.sign_offs(decided) if s.current] == ["sue@example.com"]
    assert ledger.execution_blockers(decided, ops, FIRM) == []

    report = execute_run(ledger, decided, broker, by=ops, firm=FIRM)
    assert report.status == "PARTIALLY_EXECUTED"
    entries = ledger.executions(decided)
    assert entries and {e.executed_by for e in entries} == {"ops@example.com"}
    assert {e.stage for e in entries} == {"order", "result"}
    assert ledger.verify().ok  # the sign-off and the executor are inside the chain


def test_one_person_cannot_approve_and_execute(ledger, decided) -> None:  # type: ignore[no-untyped-def]
    root = who("root@example.com")
    # The advisor who decided cannot sign off her own decisions, whatever her role.
    with pytest.raises(ConflictError, match="advisor role cannot sign off"):
        ledger.sign_off(decided, who("ann@example.com"), FIRM)
    # An admin who decided a trade is a decider: their sign-off is refused.
    ledger.decide(decided, veto=["T3"], by="root@example.com")
    with pytest.raises(ConflictError, match="four-eyes: you made decisions"):
        ledger.sign_off(decided, root, FIRM)
    # A supervisor of another team may not sign off; an auditor changes nothing.
    with pytest.raises(ConflictError, match="supervisor role cannot sign off"):
        ledger.sign_off(decided, who("wes@example.com"), FIRM)
    with pytest.raises(ConflictError, match="auditor role cannot sign off"):
        ledger.sign_off(decided, who("aud@example.com"), FIRM)
    # The admin's decision makes them a decider, so they cannot execute either.
    ledger.sign_off(decided, who("sue@example.com"), FIRM)
    with pytest.raises(ConflictError, match="four-eyes: the person executing must not"):
        execute_run(ledger, decided, paper_broker(ledger), by=root, firm=FIRM)
    with pytest.raises(ConflictError, match="cannot execute"):
        execute_run(ledger, decided, paper_broker(ledger), by=who("aud@example.com"), firm=FIRM)
    assert ledger.executions(decided) == []


def test_a_signer_alone_cannot_also_execute(ledger, decided) -> None:  # type: ignore[no-untyped-def]
    root = who("root@example.com")
    ledger.sign_off(decided, root, FIRM)
    with pytest.raises(ConflictError, match="must not be the one who approved"):
        execute_run(ledger, decided, paper_broker(ledger), by=root, firm=FIRM)
    execute_run(ledger, decided, paper_broker(ledger), by=who("ops@example.com"), firm=FIRM)


def test_a_later_decision_makes_the_sign_off_stale(ledger, saved_run) -> None:  # type: ignore[no-untyped-def]
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1"], veto=["T2", "T3"], by="ann@example.com")
    ledger.sign_off(run_id, who("root@example.com"), FIRM)
    ledger.decide(run_id, approve=["T2"], by="ann@example.com")
    assert [s.current for s in ledger.sign_offs(run_id)] == [False]
    with pytest.raises(ConflictError, match="must sign off first"):
        execute_run(ledger, run_id, paper_broker(ledger), by=who("ops@example.com"), firm=FIRM)


def test_sign_off_needs_every_trade_decided_and_one_approved(ledger, saved_run) -> None:  # type: ignore[no-untyped-def]
    run_id = saved_run(ledger)
    sue = who("root@example.com")
    with pytest.raises(ConflictError, match="have no decision yet"):
        ledger.sign_off(run_id, sue, FIRM)
    ledger.decide(run_id, veto=["T1", "T2", "T3"], by="ann@example.com")
    with pytest.raises((NothingToExecute, ConflictError)):
        ledger.sign_off(run_id, sue, FIRM)


def test_without_a_firm_file_the_executor_is_still_recorded(ledger, decided) -> None:  # type: ignore[no-untyped-def]
    execute_run(ledger, decided, paper_broker(ledger), by="Olga Ops")
    assert {e.executed_by for e in ledger.executions(decided)} == {"Olga Ops"}


def test_admins_manage_people_beside_the_secrets(ledger) -> None:  # type: ignore[no-untyped-def]
    from portfolio.access import Person
    from portfolio.ledger import LedgerError

    people = ledger.people
    root, sue = who("root@example.com"), who("sue@example.com")
    people.put(Person(id="New@Example.com", name="New", role="auditor"), root, FIRM)
    assert [(p.id, p.role) for p in people.list()] == [("new@example.com", "auditor")]
    firm = FIRM.with_people(people.list())
    assert firm.identity("new@example.com", authenticated=True).role == "auditor"
    with pytest.raises(LedgerError, match="supervisor role cannot manage"):
        people.put(Person(id="x@example.com", role="admin"), sue, FIRM)
    with pytest.raises(LedgerError, match="set in the secrets file"):
        people.put(Person(id="ann@example.com", role="admin"), root, FIRM)
    people.remove("new@example.com", root, FIRM)
    assert people.list() == []
