"""Roles, ownership, four-eyes and names that identify someone."""

from __future__ import annotations

import pytest

from portfolio.access import (
    Firm,
    InvalidName,
    Person,
    clean_name,
    execution_blockers,
    load_firm,
    may,
    visible,
)

FIRM = load_firm(
    {
        "require_second_approver": True,
        "people": {
            "Ann@Example.com": {"name": "Ann Advisor", "role": "advisor", "team": "east"},
            "bob@example.com": {"name": "Bob Advisor", "role": "advisor", "team": "west"},
            "sue@example.com": {"name": "Sue Supervisor", "role": "supervisor", "team": "east"},
            "ops@example.com": {"role": "operations"},
            "aud@example.com": {"role": "auditor"},
            "root@example.com": {"role": "admin"},
        },
    }
)


def who(email: str):  # type: ignore[no-untyped-def]
    return FIRM.identity(email, authenticated=True)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "\u200b", " \u200b\u200d\ufeff ", "\u2060\t\n", "\u202e"],
)
def test_empty_or_invisible_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        clean_name(raw)


def test_names_are_trimmed_and_invisible_characters_dropped() -> None:
    assert clean_name("  Ada\u200b  Lovelace \n") == "Ada Lovelace"
    assert clean_name("Ａｄａ") == "Ada"  # full-width letters read as the same name
    with pytest.raises(InvalidName):
        clean_name("x" * 201)


def test_local_mode_is_one_advisor_who_may_do_everything() -> None:
    firm = load_firm(None)
    me = firm.identity("", "  Ada ", authenticated=False)
    assert firm.local and (me.id, me.role, me.authenticated) == ("Ada", "advisor", False)
    for action in ("view", "decide", "sign_off", "execute", "export"):
        assert may(me, action, "someone else", firm)  # type: ignore[arg-type]
    assert execution_blockers(me, owner="Ada", firm=firm, deciders=["Ada"], sign_offs=[]) == []


def test_unknown_signed_in_users_get_no_role() -> None:
    with pytest.raises(PermissionError, match="not in the firm"):
        FIRM.identity("mallory@example.com", authenticated=True)
    assert who("ANN@example.com").id == "ann@example.com"  # emails compare without case


def test_advisors_see_and_decide_only_their_own_clients() -> None:
    ann = who("ann@example.com")
    assert may(ann, "view", "ann@example.com", FIRM)
    assert may(ann, "decide", "ann@example.com", FIRM)
    assert not may(ann, "view", "bob@example.com", FIRM)
    assert not may(ann, "execute", "ann@example.com", FIRM)
    runs = [("r1", "ann@example.com"), ("r2", "bob@example.com"), ("r3", None)]
    assert visible(ann, runs, FIRM) == ["r1"]


def test_supervisors_see_their_team() -> None:
    sue = who("sue@example.com")
    assert may(sue, "view", "ann@example.com", FIRM)
    assert may(sue, "sign_off", "ann@example.com", FIRM)
    assert not may(sue, "view", "bob@example.com", FIRM)  # west team
    assert not may(sue, "execute", "ann@example.com", FIRM)


def test_operations_execute_auditors_only_read() -> None:
    ops, aud = who("ops@example.com"), who("aud@example.com")
    assert may(ops, "execute", "bob@example.com", FIRM)
    assert not may(ops, "decide", "bob@example.com", FIRM)
    assert may(aud, "view", "bob@example.com", FIRM) and may(aud, "export", None, FIRM)
    for action in ("decide", "sign_off", "execute", "manage_firm"):
        assert not may(aud, action, "bob@example.com", FIRM)  # type: ignore[arg-type]


def test_four_eyes_needs_a_second_person() -> None:
    ops, root = who("ops@example.com"), who("root@example.com")
    kw = {"owner": "ann@example.com", "firm": FIRM}
    assert execution_blockers(ops, deciders=["ann@example.com"], sign_offs=[], **kw) == [
        "four-eyes: a supervisor who made none of the trade decisions must sign off first"
    ]
    # The advisor's own sign-off does not count: they made the decisions.
    blocked = execution_blockers(
        ops, deciders=["ann@example.com"], sign_offs=["ann@example.com"], **kw
    )
    assert blocked and "sign off" in blocked[0]
    assert (
        execution_blockers(ops, deciders=["ann@example.com"], sign_offs=["sue@example.com"], **kw)
        == []
    )
    # An admin who signed off alone cannot also send the orders.
    assert execution_blockers(
        root, deciders=["ann@example.com"], sign_offs=["root@example.com"], **kw
    ) == ["four-eyes: the person executing must not be the one who approved"]
    # Without four-eyes, operations executes on the advisor's decisions alone.
    relaxed = Firm(people=FIRM.people, require_second_approver=False, local=False)
    assert (
        execution_blockers(
            ops, deciders=["ann@example.com"], sign_offs=[], owner=None, firm=relaxed
        )
        == []
    )
    # The advisor role never executes.
    ann = who("ann@example.com")
    assert (
        "cannot execute"
        in execution_blockers(ann, deciders=[], sign_offs=["sue@example.com"], **kw)[0]
    )


def test_people_added_on_settings_join_but_never_override_the_secrets() -> None:
    added = [
        Person(id="new@example.com", role="auditor"),
        Person(id="ann@example.com", role="admin"),  # would promote Ann: ignored
    ]
    firm = FIRM.with_people(added)
    assert firm.identity("new@example.com", authenticated=True).role == "auditor"
    assert firm.identity("ann@example.com", authenticated=True).role == "advisor"
    assert load_firm(None).with_people(added).local  # no firm file: still local mode
