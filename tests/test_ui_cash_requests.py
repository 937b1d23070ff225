"""Cash requests on the Client page, through Streamlit's AppTest against a real ledger: added and
removed with the client's record, refused in words, handed to the crew's run and shown, met or
not, on the ticket."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from test_ui_apptest import (
    ADVISOR,
    client_with_mandate,
    finish_run,
    go,
    run,
    texts,
)

from portfolio.ledger import Ledger
from portfolio.ledger.clients import ClientRecords

FORM = "FormSubmitter:cash_request_form-Add request"


def ask(at: AppTest, kind: str, amount: str, note: str = "", account: str = "Account") -> AppTest:
    at.selectbox(key="cash_request_account").set_value(account)
    at.radio(key="cash_request_kind").set_value(kind)
    at.text_input(key="cash_request_amount").set_value(amount)
    at.text_input(key="cash_request_note").set_value(note)
    at.button(key=FORM).click()
    return run(at)


def saved(ledger: Ledger, at: AppTest) -> list:  # type: ignore[type-arg]
    return ClientRecords(ledger.engine).cash_requests(int(at.query_params["client"]))


def markdown(at: AppTest) -> list[str]:
    return [str(m.value) for m in at.markdown]


def test_requests_are_added_refused_and_removed(new_app, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    at = client_with_mandate(new_app())
    assert any("Cash requests" in s for s in texts(at, "subheader"))
    assert any(c.startswith("None. A withdrawal leaves") for c in texts(at, "caption"))

    ask(at, "withdrawal", "60,000", "roof repair")
    assert "Cash request added; the next run plans for it." in texts(at, "success")
    [item] = saved(ui_ledger, at)
    assert (item.request.account, item.request.kind, item.request.amount) == (
        "Account",
        "withdrawal",
        60_000,
    )
    assert item.request.note == "roof repair" and item.created_by == ADVISOR
    assert "Withdrawal of $60,000.00 from **Account** — roof repair" in markdown(at)

    # Refused in words; nothing recorded.
    ask(at, "deposit", "lots")
    assert any("'lots' is not an amount of dollars" in e for e in texts(at, "error"))
    ask(at, "withdrawal", "480,000")
    assert any("more than the account holds" in e for e in texts(at, "error"))
    assert len(saved(ui_ledger, at)) == 1

    ask(at, "deposit", "25k")
    assert [r.request.kind for r in saved(ui_ledger, at)] == ["withdrawal", "deposit"]

    # A reload finds them in the record.
    at = run(at)
    assert "Deposit of $25,000.00 into **Account**" in markdown(at)

    at.button(key=f"remove_cash_request_{item.id}").click()
    run(at)
    assert [r.request.kind for r in saved(ui_ledger, at)] == ["deposit"]
    assert not any("Withdrawal of $60,000.00" in m for m in markdown(at))


def test_the_run_plans_for_the_requests_and_the_ticket_shows_them(
    new_app, ui_ledger: Ledger
) -> None:  # type: ignore[no-untyped-def]
    at = client_with_mandate(new_app())
    ask(at, "withdrawal", "80000", "distribution")
    go(at, "rebalance")
    assert any(
        "Planned for: Withdrawal of $80,000.00 from **Account** — distribution" in c
        for c in texts(at, "caption")
    )
    rid = finish_run(at, ui_ledger)
    run_record = ui_ledger.run(rid)
    assert run_record.settings["cash_requests"][0]["amount"] == 80_000

    proposal = ui_ledger.proposal(rid)
    [planned] = proposal.cash_requests
    assert planned.met and planned.trades and planned.note == "distribution"
    sales = [t for t in proposal.trades if t.id in planned.trades]
    assert all(t.action == "SELL" and t.account == "Account" for t in sales)

    go(at, "ticket")
    met = [s for s in texts(at, "success") if s.startswith("Met — Withdrawal of $80,000.00")]
    assert met, texts(at, "success")

    # Dropping the sales that raise it: the ticket says the request is no longer met.
    for tid in planned.trades:
        at.button(key=f"veto_{tid}").click()
        run(at)  # the row's fragment and what follows from it
        run(at)  # the whole page, as the browser keeps it
    assert any(
        w.startswith("Not met — Withdrawal of $80,000.00 from Account: not met")
        for w in texts(at, "warning")
    ), texts(at, "warning")


def test_a_request_the_book_no_longer_allows_blocks_the_run(new_app, ui_ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    at = client_with_mandate(new_app())
    records = ClientRecords(ui_ledger.engine)
    cid = int(at.query_params["client"])
    from portfolio.cash_requests import make_request

    # Recorded directly (as if the book had shrunk since): more than the account holds.
    records.add_cash_request(cid, make_request("Account", 900_000, "withdrawal"))
    run(at)
    assert any("more than the account holds" in e for e in texts(at, "error"))
    go(at, "rebalance")
    assert at.button(key="run_crew").disabled
    assert any(e.startswith("Cash request: The withdrawal") for e in texts(at, "error"))
