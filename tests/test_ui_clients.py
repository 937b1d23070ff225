"""Clients are records and pages survive a reload, through Streamlit's AppTest against a real
ledger: a new client and an added account are separate actions, a rejected file changes nothing,
the address bar carries client, run and advisor, and History's link keeps the advisor."""

from __future__ import annotations

from conftest import SAMPLES
from streamlit.testing.v1 import AppTest
from test_ui_apptest import (
    ADVISOR,
    SEED,
    client_with_mandate,
    finish_run,
    go,
    metrics,
    run,
    texts,
    upload,
)

from portfolio.ledger import Ledger
from portfolio.ledger.clients import ClientRecords

SCHWAB = SAMPLES / "schwab_single_account.csv"
FIDELITY = SAMPLES / "Portfolio_Positions_Jun-30-2025.csv"


def add_account(at: AppTest, name: str, data: bytes) -> AppTest:
    box = next(u for u in at.file_uploader if str(u.key).startswith("account_upload"))
    box.set_value((name, data, "text/csv"))
    return run(at)


def picker(at: AppTest):  # type: ignore[no-untyped-def]
    return next(s for s in at.selectbox if s.label == "Client")


def records(ledger: Ledger) -> ClientRecords:
    return ClientRecords(ledger.engine)


def test_new_client_and_add_an_account_are_separate_actions(new_app, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    assert picker(at).value is None
    at.text_input(key="new_client_name").set_value("Ann Lee")
    upload(at, SEED)
    (ann,) = records(ui_ledger).clients()
    assert (ann.name, ann.owner, ann.accounts) == ("Ann Lee", ADVISOR, 1)
    assert at.query_params["client"] == str(ann.id)
    assert picker(at).value == ann.id
    assert metrics(at)["Total value"] == "$500,000"

    # A second custodian's export, added to this client on purpose: one household, two accounts.
    add_account(at, SCHWAB.name, SCHWAB.read_bytes())
    assert metrics(at)["Accounts"] == "2"
    assert any("added" in s for s in texts(at, "success"))
    assert records(ui_ledger).get(ann.id).accounts[1].filename == SCHWAB.name
    assert not any(str(u.key) == "account_upload_0" for u in at.file_uploader)  # an empty box

    # "New client": the next file is a different client, and Ann keeps her two accounts.
    at.button(key="new_client").click()
    run(at)
    assert "client" not in at.query_params and not at.metric
    upload(at, FIDELITY)
    listed = {c.name: c for c in records(ui_ledger).clients()}
    assert set(listed) == {"Ann Lee", FIDELITY.stem}
    assert listed["Ann Lee"].accounts == 2 and listed[FIDELITY.stem].accounts == 3
    assert metrics(at)["Accounts"] == "3"

    # Picking Ann from the list brings her book back.
    picker(at).set_value(ann.id)
    run(at)
    assert metrics(at)["Accounts"] == "2"
    assert at.query_params["client"] == str(ann.id)

    # The very same file as Ann's, for a new client, is a new client (never merged into Ann).
    at.button(key="new_client").click()
    run(at)
    upload(at, SEED)
    assert len(records(ui_ledger).clients()) == 3
    assert records(ui_ledger).get(ann.id).accounts[0].filename == SEED.name
    assert len(records(ui_ledger).uploads(ann.id)) == 2


def test_a_rejected_file_changes_nothing(new_app, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    upload(at, SEED)
    (client,) = records(ui_ledger).clients()
    add_account(at, "nothing.csv", b"Symbol,Quantity,Price\nZZZQ,abc,1\nQQQZ,,\n")
    assert any("nothing.csv" in e and "no holdings" in e for e in texts(at, "error"))
    assert metrics(at)["Total value"] == "$500,000"  # the same client, its book untouched
    assert texts(at, "subheader")[0] == client.name
    assert not any("nothing.csv" in c.value for c in at.caption)  # not under the new name
    assert [u.filename for u in records(ui_ledger).uploads(client.id)] == [SEED.name]

    # As a new client, the rejected file makes no client and shows nobody's book.
    at.button(key="new_client").click()
    run(at)
    upload(at, SAMPLES / "malformed_rows.csv")  # usable (3 rows), so it is a client
    at.button(key="new_client").click()
    run(at)
    at.file_uploader(key="holdings_upload").set_value(("photo.csv", b"\x89PNG\r\n\x1a\n", "x"))
    run(at)
    assert any("photo.csv" in e for e in texts(at, "error"))
    assert not at.metric
    assert len(records(ui_ledger).clients()) == 2
    go(at, "rebalance")
    assert not at.button  # nothing to run the crew on


def test_removing_every_account_leaves_no_book(new_app, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    upload(at, SEED)
    at.button(key="remove_account_0").click()
    run(at)
    assert any("Add an account to" in s for s in texts(at, "info"))
    assert not at.metric
    go(at, "rebalance")
    assert not at.button
    (client,) = records(ui_ledger).clients()
    assert client.accounts == 0 and client.uploads == 1  # the file stays on record


def test_tax_types_are_kept_with_the_client(new_app, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    upload(at, SAMPLES / "schwab_all_accounts.csv")
    (client,) = records(ui_ledger).clients()
    accounts = records(ui_ledger).get(client.id).accounts
    suggested = {a.account: a.tax_type for a in accounts}
    assert "taxable" in suggested.values() and len(set(suggested.values())) > 1
    box = next(s for s in at.selectbox if s.label == f"Tax type of {accounts[0].account}")
    new = "tax_free" if accounts[0].tax_type != "tax_free" else "taxable"
    box.set_value(new)
    run(at)
    assert records(ui_ledger).get(client.id).accounts[0].tax_type == new


def test_a_reload_restores_client_mandate_run_and_advisor(new_app, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    at = new_app()
    client_with_mandate(at)
    rid = finish_run(at, ui_ledger)
    address = dict(at.query_params)
    assert address["run"] == rid and address["advisor"] == ADVISOR
    (client,) = records(ui_ledger).clients()
    assert address["client"] == str(client.id)

    fresh = new_app()  # a reloaded browser: a new session; only the address survives
    fresh.query_params.update(address)
    fresh.run()  # the first page, as the address names it
    assert not fresh.exception
    assert fresh.sidebar.text_input(key="advisor_name").value == ADVISOR
    assert picker(fresh).value == client.id
    assert fresh.session_state["mandate"].esg_only is True
    assert fresh.text_area(key="notes_box").value.strip() != ""
    assert metrics(fresh)["Total value"] == "$500,000"
    fresh.switch_page("views/rebalance.py")
    fresh.run()
    assert any(rid in s and "finished" in s for s in texts(fresh, "success"))
    assert not fresh.button(key="run_crew").disabled
    fresh.switch_page("views/ticket.py")
    fresh.run()
    assert not fresh.button(key="approve_T1").disabled  # the advisor is known again
    fresh.button(key="approve_T1").click()
    fresh.run()
    assert [d.by for d in ui_ledger.decisions(rid)] == [ADVISOR]
    assert fresh.query_params["run"] == rid and fresh.query_params["client"] == str(client.id)


def test_history_opens_the_ticket_with_the_advisor(new_app, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    at = new_app()
    client_with_mandate(at)
    rid = finish_run(at, ui_ledger)
    go(at, "history")
    at.button(key="open_run").click()
    run(at, advisor=None)  # the name box keeps what was typed
    assert texts(at, "title") == ["Trade ticket"]
    assert at.query_params["run"] == rid and at.query_params["advisor"] == ADVISOR
    assert not at.button(key="approve_T1").disabled
    link = new_app()  # the same address in a new tab: no name box state, only the link
    link.query_params.update(dict(at.query_params))
    link.switch_page("views/ticket.py")
    link.run()
    assert not link.exception
    assert not link.button(key="approve_T1").disabled
    link.button(key="approve_T1").click()
    link.run()
    assert [d.by for d in ui_ledger.decisions(rid)] == [ADVISOR]


def test_a_name_with_nothing_visible_is_refused(new_app) -> None:  # type: ignore[no-untyped-def]
    # Each name is typed into a new session, as a new advisor opening the desk would.
    at = run(new_app(), advisor="\u200b\u2060 ")
    assert any("not a name" in e and "visible" in e for e in texts(at.sidebar, "error"))
    assert "advisor" not in at.query_params
    at = run(new_app(), advisor="  Grace\u200b  Hopper ")
    assert at.query_params["advisor"] == "Grace Hopper"  # what is recorded, cleaned
    assert not at.sidebar.error


def test_an_address_naming_an_unknown_client_or_run_is_explained(new_app) -> None:  # type: ignore[no-untyped-def]
    at = new_app()
    at.query_params.update({"client": "4242", "run": "20260101-deadbeef"})
    run(at)
    warnings = texts(at, "warning")
    assert any("client (4242)" in w for w in warnings)
    assert any("run (20260101-deadbeef)" in w for w in warnings)
    assert "client" not in at.query_params and "run" not in at.query_params
    assert any("Upload a holdings file" in s for s in texts(at, "info"))
