"""Roles and owners on every page, through AppTest against a real ledger, with the signed-in
identity of `st.login` stood in for (the real sign-in is tested in test_browser_signin.py)."""

from __future__ import annotations

import pytest
from pg_server import _sample_holdings, _sample_proposal
from streamlit.testing.v1 import AppTest
from test_ui_apptest import go, run, texts

import ui.identity
from portfolio.access import load_firm
from portfolio.ledger import Ledger
from portfolio.ledger.clients import ClientRecords

FIRM = load_firm(
    {
        "require_second_approver": True,
        "people": {
            "ann@example.com": {"name": "Ann Advisor", "role": "advisor", "team": "east"},
            "bob@example.com": {"name": "Bob Advisor", "role": "advisor", "team": "west"},
            "sue@example.com": {"name": "Sue Supervisor", "role": "supervisor", "team": "east"},
            "ops@example.com": {"role": "operations"},
            "aud@example.com": {"role": "auditor"},
            "root@example.com": {"role": "admin"},
        },
    }
)


@pytest.fixture
def book(ui_ledger: Ledger) -> dict[str, tuple[int, str]]:
    """owner -> (client id, run id): Ann's and Bob's clients, each with one run."""
    records = ClientRecords(ui_ledger.engine)
    out = {}
    for owner, name in (("ann@example.com", "Ann Lee"), ("bob@example.com", "Bob Ortiz")):
        rec = records.create(name, owner=owner)
        added = records.add_upload(rec.id, _sample_holdings(), b"x", f"{name}.csv")
        rid = ui_ledger.create_run(snapshot_id=added.snapshot_id, status="RUNNING")
        ui_ledger.save_proposal(rid, _sample_proposal())
        out[owner] = (rec.id, rid)
    return out


def by_label(widgets, label: str):  # type: ignore[no-untyped-def]
    return next(w for w in widgets if w.label == label)


def signed_in(monkeypatch: pytest.MonkeyPatch, email: str | None) -> None:
    monkeypatch.setattr(ui.identity, "auth_configured", lambda: True)
    monkeypatch.setattr(ui.identity, "firm", lambda: FIRM)
    monkeypatch.setattr(
        ui.identity, "_signed_in", lambda: None if email is None else (email, email.split("@")[0])
    )


def app(new_app, **params: str) -> AppTest:  # type: ignore[no-untyped-def]
    at = new_app()
    for k, v in params.items():
        at.query_params[k] = v
    return at


def test_runs_belong_to_their_clients_owner(book, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    assert ui_ledger.owner(book["ann@example.com"][1]) == "ann@example.com"
    assert ui_ledger.owner(book["bob@example.com"][1]) == "bob@example.com"


def test_nothing_before_sign_in_and_strangers_are_refused(new_app, book, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    signed_in(monkeypatch, None)
    at = run(new_app(), advisor=None)
    assert any("Sign in (sidebar) to use the desk" in s for s in texts(at, "info"))
    assert texts(at, "title") == []
    signed_in(monkeypatch, "mallory@example.com")
    at = run(new_app(), advisor=None)
    assert any(
        "not allowed in" in s and "mallory@example.com is not in the firm" in s
        for s in texts(at, "error")
    )
    assert texts(at, "title") == []


def test_an_advisor_sees_and_acts_only_on_her_own(new_app, book, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    signed_in(monkeypatch, "ann@example.com")
    (ann_client, ann_run), (bob_client, bob_run) = book["ann@example.com"], book["bob@example.com"]
    at = run(new_app(), advisor=None)
    picker = next(s for s in at.selectbox if s.label == "Client")
    assert picker.options == ["Ann Lee · 1 account(s) · 1 run(s) · ann@example.com"]
    # Bob's client by address: not opened.
    at = run(app(new_app, client=str(bob_client)), advisor=None)
    assert any("does not know" in s for s in texts(at, "warning"))
    at = go(run(new_app(), advisor=None), "history", advisor=None)
    table = at.dataframe[0].value
    assert list(table["Run"]) == [ann_run]
    # Bob's run on the ticket: refused; her own: decisions live, Execute disabled with the reason.
    at = go(run(app(new_app, run=bob_run), advisor=None), "ticket", advisor=None)
    assert any("may not see" in s for s in texts(at, "error"))
    at = go(run(app(new_app, run=ann_run), advisor=None), "ticket", advisor=None)
    assert not at.button(key="approve_all").disabled
    assert at.button(key="execute").disabled
    assert any("the advisor role cannot execute trades" in s for s in texts(at, "caption"))
    # The Rebalance page starts runs for her client.
    at = go(run(app(new_app, client=str(ann_client)), advisor=None), "rebalance", advisor=None)
    assert not at.button(key="run_crew").disabled
    at = go(run(app(new_app, run=bob_run), advisor=None), "rebalance", advisor=None)
    assert any("may not see" in s for s in texts(at, "error"))


def test_an_auditor_sees_everything_and_changes_nothing(new_app, book, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    signed_in(monkeypatch, "aud@example.com")
    (ann_client, ann_run) = book["ann@example.com"]
    at = run(new_app(), advisor=None)
    assert len(next(s for s in at.selectbox if s.label == "Client").options) == 2
    assert any("does not add clients" in s for s in texts(at, "info"))
    at = run(app(new_app, client=str(ann_client)), advisor=None)
    assert any("Read-only" in s for s in texts(at, "info"))
    assert not [u for u in at.file_uploader if str(u.key).startswith("account_upload")]
    at = go(run(new_app(), advisor=None), "history", advisor=None)
    assert len(at.dataframe[0].value) == 2
    at = go(run(app(new_app, run=ann_run), advisor=None), "ticket", advisor=None)
    assert at.button(key="approve_all").disabled and at.button(key="execute").disabled
    at = go(run(app(new_app, client=str(ann_client)), advisor=None), "rebalance", advisor=None)
    assert at.button(key="run_crew").disabled
    at = go(run(app(new_app, client=str(ann_client)), advisor=None), "allocation", advisor=None)
    assert texts(at, "title") == ["Allocation"] and not at.error


def test_a_supervisor_signs_off_and_operations_executes(  # type: ignore[no-untyped-def]
    new_app, book, monkeypatch, ui_ledger: Ledger
) -> None:
    ann_run = book["ann@example.com"][1]
    ui_ledger.decide(ann_run, approve=["T1", "T2", "T3"], by="ann@example.com")
    signed_in(monkeypatch, "ops@example.com")
    at = go(run(app(new_app, run=ann_run), advisor=None), "ticket", advisor=None)
    assert at.button(key="approve_all").disabled  # operations decides nothing
    assert at.button(key="execute").disabled
    assert any("must sign off first" in s for s in texts(at, "caption"))

    signed_in(monkeypatch, "sue@example.com")
    at = go(run(app(new_app, run=ann_run), advisor=None), "ticket", advisor=None)
    at.button(key="sign_off").click()
    run(at, advisor=None)
    assert any("signed off by sue@example.com" in s for s in texts(at, "caption"))
    assert at.button(key="execute").disabled  # a supervisor does not execute

    signed_in(monkeypatch, "ops@example.com")
    at = go(run(app(new_app, run=ann_run), advisor=None), "ticket", advisor=None)
    assert not at.button(key="execute").disabled
    at.button(key="execute").click()
    run(at, advisor=None)
    assert {e.executed_by for e in ui_ledger.executions(ann_run)} == {"ops@example.com"}


def test_an_admin_manages_people_on_settings(new_app, monkeypatch, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    def firm_with_table():  # type: ignore[no-untyped-def]
        return FIRM.with_people(ui_ledger.people.list())

    signed_in(monkeypatch, "newbie@example.com")
    monkeypatch.setattr(ui.identity, "firm", firm_with_table)
    at = run(new_app(), advisor=None)
    assert any("newbie@example.com is not in the firm" in s for s in texts(at, "error"))

    signed_in(monkeypatch, "ann@example.com")
    monkeypatch.setattr(ui.identity, "firm", firm_with_table)
    at = go(run(new_app(), advisor=None), "settings", advisor=None)
    assert "The firm's people" not in texts(at, "subheader")  # an advisor manages nobody

    signed_in(monkeypatch, "root@example.com")
    monkeypatch.setattr(ui.identity, "firm", firm_with_table)
    at = go(run(new_app(), advisor=None), "settings", advisor=None)
    assert "The firm's people" in texts(at, "subheader")
    by_label(at.text_input, "Email (as the identity provider sends it)").set_value(
        "Newbie@Example.com"
    )
    by_label(at.text_input, "Name").set_value("New Bie")
    by_label(at.selectbox, "Role").set_value("supervisor")
    by_label(at.text_input, "Team").set_value("east")
    at.button(key="FormSubmitter:person_form-Add or change").click()
    run(at, advisor=None)
    assert any("Saved newbie@example.com as supervisor" in s for s in texts(at, "success"))
    # A person the secrets list cannot be changed from the page.
    by_label(at.text_input, "Email (as the identity provider sends it)").set_value(
        "ann@example.com"
    )
    by_label(at.selectbox, "Role").set_value("admin")
    at.button(key="FormSubmitter:person_form-Add or change").click()
    run(at, advisor=None)
    assert any("set in the secrets file" in s for s in texts(at, "error"))

    signed_in(monkeypatch, "newbie@example.com")
    monkeypatch.setattr(ui.identity, "firm", firm_with_table)
    at = run(new_app(), advisor=None)
    assert not at.error and texts(at, "title") == ["Client & holdings"]
    assert firm_with_table().identity("newbie@example.com", authenticated=True).role == "supervisor"


def test_a_role_raised_behind_the_chain_is_refused_and_shown_to_the_admin(
    new_app, monkeypatch, ui_ledger: Ledger
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from portfolio.access import Person

    def firm_with_table():  # type: ignore[no-untyped-def]
        return FIRM.with_people(ui_ledger.people.list())

    root = FIRM.identity("root@example.com", authenticated=True)
    ui_ledger.people.put(Person(id="kim@example.com", role="advisor"), root, FIRM)
    with ui_ledger.engine.begin() as conn:
        conn.execute(text("UPDATE firm_people SET role = 'supervisor'"))

    signed_in(monkeypatch, "kim@example.com")
    monkeypatch.setattr(ui.identity, "firm", firm_with_table)
    at = run(new_app(), advisor=None)
    assert any("kim@example.com is not in the firm" in s for s in texts(at, "error"))

    signed_in(monkeypatch, "root@example.com")
    monkeypatch.setattr(ui.identity, "firm", firm_with_table)
    at = go(run(new_app(), advisor=None), "settings", advisor=None)
    assert any(
        "differ from their chained record" in s
        and "kim@example.com: in the firm_people table, role is 'supervisor'" in s
        for s in texts(at, "error")
    ), texts(at, "error")
    # The admin removes the tampered person from the page, which clears the error.
    at.selectbox(key="person_remove").set_value("kim@example.com")
    run(at, advisor=None)
    at.button(key="remove_person").click()
    run(at, advisor=None)
    assert any("Removed kim@example.com" in s for s in texts(at, "success"))
    assert not any("chained record" in s for s in texts(at, "error"))
    assert ui_ledger.verify().ok


def test_only_someone_who_may_act_on_the_client_starts_a_batch_runs_words(
    new_app, book, ui_ledger: Ledger, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Opening a batch run writes its words with the opener's model settings: an auditor, who
    may look at every run, starts nothing; the client's advisor does."""
    from conftest import wait_for

    from ui import worker

    client_id, _ = book["ann@example.com"]
    snapshot = ClientRecords(ui_ledger.engine).book_snapshot(client_id)[1]  # type: ignore[index]
    rid = ui_ledger.create_run(
        snapshot_id=snapshot, settings={"batch": {"source": "book page"}}, status="PENDING_REVIEW"
    )
    ui_ledger.save_proposal(rid, _sample_proposal())
    signed_in(monkeypatch, "aud@example.com")
    go(run(app(new_app, run=rid), advisor=None), "rebalance", advisor=None)
    assert not worker.is_running(rid) and ui_ledger.events(rid) == []
    signed_in(monkeypatch, "ann@example.com")
    go(run(app(new_app, run=rid), advisor=None), "rebalance", advisor=None)
    wait_for(lambda: not worker.is_running(rid), what="the crew's words")
    assert ui_ledger.events(rid)


def test_the_book_page_lists_only_the_households_the_person_may_see(  # type: ignore[no-untyped-def]
    new_app, book, monkeypatch, ui_ledger: Ledger
) -> None:
    """The Book page asks the same firm as every other page: the secrets' people and those an
    admin added on Settings, each seeing only what their role allows."""
    from test_ui_book import linked

    from portfolio.access import Person

    signed_in(monkeypatch, "ann@example.com")
    at = go(run(app(new_app)), "book")
    assert [n for n, _ in linked(at)] == ["Ann Lee"]

    # Kim, a supervisor of the east team added on Settings, sees her team's household.
    ui_ledger.people.put(
        Person(id="kim@example.com", role="supervisor", team="east"),
        FIRM.identity("root@example.com", "root", authenticated=True),
        FIRM,
    )
    signed_in(monkeypatch, "kim@example.com")
    monkeypatch.setattr(ui.identity, "firm", lambda: FIRM.with_people(ui_ledger.people.list()))
    at = go(run(app(new_app)), "book")
    assert [n for n, _ in linked(at)] == ["Ann Lee"]

    signed_in(monkeypatch, "aud@example.com")
    at = go(run(app(new_app)), "book")
    assert sorted(n for n, _ in linked(at)) == ["Ann Lee", "Bob Ortiz"]
