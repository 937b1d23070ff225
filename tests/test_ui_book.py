"""The Book page through AppTest against a real ledger: households sorted by need, filters,
the batch saving runs in PENDING_REVIEW, and opening a client's rebalance."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from test_ui_apptest import ADVISOR, go, metrics, run

from portfolio.ledger import Ledger
from portfolio.ledger.clients import ClientRecords
from portfolio.models import Holdings
from tests.book_samples import cash, position


def _client(ledger: Ledger, name: str, owner: str, positions) -> int:
    records = ClientRecords(ledger.engine)
    rec = records.create(name, owner=owner)
    records.add_upload(rec.id, Holdings(positions=positions), None, f"{name}.csv")
    return rec.id


@pytest.fixture
def book(ui_ledger: Ledger) -> dict[str, int]:
    return {
        # All cash: every class out of band.
        "Cash Heavy": _client(ui_ledger, "Cash Heavy", ADVISOR, [cash("Joint Taxable", 90_000)]),
        # All US stocks: out of band too, another advisor's.
        "All Stocks": _client(
            ui_ledger, "All Stocks", "Bo", [position("Roth IRA", "VTI", 300, 300.0)]
        ),
    }


LINK = re.compile(r"^\[(.*)\]\((rebalance\?[^)]*)\)$")


def table_rows(at) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The cells of the households' table (Markdown), row by row, as written."""
    md = next(m.value for m in at.markdown if m.value.startswith("| Household |"))
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in md.splitlines()[2:]]


def linked(at) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(name, address) of each household in the table, in its order."""
    return [LINK.match(r[0]).groups() for r in table_rows(at)]  # type: ignore[union-attr]


def test_book_lists_households_by_need_and_filters(new_app, book) -> None:
    at = go(run(new_app()), "book")
    assert metrics(at)["Households"] == "2"
    assert metrics(at)["Out of band"] == "2"
    shown = linked(at)
    assert [n for n, _ in shown] == ["Cash Heavy", "All Stocks"]
    advisor = urlencode({"advisor": ADVISOR})
    assert [a for _, a in shown] == [
        f"rebalance?client={book[n]}&{advisor}" for n in ("Cash Heavy", "All Stocks")
    ]
    at.selectbox(key="book_advisor").set_value("Bo")
    run(at)
    assert metrics(at)["Households"] == "1"
    assert [n for n, _ in linked(at)] == ["All Stocks"]


def test_the_sortable_grid_is_there_on_request(new_app, book) -> None:
    at = go(run(new_app()), "book")
    assert not at.dataframe
    at.toggle(key="book_grid").set_value(True)
    run(at)
    grid = at.dataframe[0].value
    assert list(grid["name"]) == ["Cash Heavy", "All Stocks"]
    assert (grid["open"] == [f"rebalance?client={book[n]}" for n in grid["name"]]).all()


def test_a_name_is_text_in_the_table_not_markdown(new_app, ui_ledger: Ledger) -> None:
    _client(
        ui_ledger, "Evil](https://x.example) *Co* | x", ADVISOR, [cash("Joint Taxable", 90_000)]
    )
    at = go(run(new_app()), "book")
    [(name, address)] = linked(at)
    # Every character Markdown would act on is escaped: the name shows as it was typed.
    assert name == r"Evil\]\(https://x\.example\) \*Co\* \| x"
    assert address.startswith("rebalance?client=")


def test_batch_saves_runs_pending_review(new_app, book, ui_ledger: Ledger) -> None:
    at = go(run(new_app()), "book")
    at.multiselect(key="book_chosen").set_value([str(book["Cash Heavy"])])
    run(at)
    at.button(key="book_run").click()
    run(at)
    assert any("Saved 1 run" in s.value for s in at.success)
    runs = ClientRecords(ui_ledger.engine).runs(book["Cash Heavy"])
    assert [r["status"] for r in runs] == ["PENDING_REVIEW"]
    assert ui_ledger.proposal(runs[0]["run_id"]).trades
    assert ClientRecords(ui_ledger.engine).runs(book["All Stocks"]) == []

    at.button(key="book_run_out").click()
    run(at)
    assert any("Saved 2 run" in s.value for s in at.success)
    assert len(ClientRecords(ui_ledger.engine).runs(book["All Stocks"])) == 1
    assert {r[-1] for r in table_rows(at)} == {r"PENDING\_REVIEW"}


def test_open_goes_to_the_clients_rebalance(new_app, book) -> None:
    at = go(run(new_app()), "book")
    at.selectbox(key="book_open").set_value(str(book["All Stocks"]))
    run(at)
    at.button(key="book_open_go").click()
    run(at)
    assert at.query_params["client"] == str(book["All Stocks"])


def test_a_batch_run_gets_its_words_when_opened(new_app, book, ui_ledger: Ledger) -> None:
    """The batch saved the plan and ticket without words; opening the run has the crew write
    them about that saved plan, into the run's own log, leaving plan, ticket and status as
    they were."""
    from conftest import wait_for

    from ui import worker

    at = go(run(new_app()), "book")
    at.multiselect(key="book_chosen").set_value([str(book["Cash Heavy"])])
    run(at)
    at.button(key="book_run").click()
    run(at)
    rid = ClientRecords(ui_ledger.engine).runs(book["Cash Heavy"])[0]["run_id"]
    saved = ui_ledger.proposal(rid)
    assert ui_ledger.events(rid) == []

    at.query_params["run"] = rid
    go(at, "rebalance")
    wait_for(lambda: not worker.is_running(rid), what="the crew's words")
    assert ui_ledger.events(rid), "no words were written"
    # Opening it again writes nothing twice.
    n = len(ui_ledger.events(rid))
    assert not worker.narrate_run(ui_ledger, rid, worker.LLMSettings())
    go(at, "rebalance")
    assert len(ui_ledger.events(rid)) == n
    assert any("finished" in s.value for s in at.success)
    assert ui_ledger.proposal(rid) == saved
    assert ui_ledger.run(rid).status == "PENDING_REVIEW"
    panels = [e for e in at.expander if " — " in e.label]
    assert panels and all("— done" in e.label for e in panels), [e.label for e in panels]


def test_a_second_session_reuses_the_book_until_the_ledger_changes(
    new_app, book, ui_ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Summarising a practice is the Book page's cost: sessions share it while the records and
    runs stay as they were, and a change to either is seen at once."""
    from ui import book_view

    reads = []
    real = book_view.stored_book
    monkeypatch.setattr(book_view, "stored_book", lambda *a, **k: reads.append(1) or real(*a, **k))
    go(run(new_app()), "book")
    at = go(run(new_app()), "book")
    assert len(reads) == 1
    assert metrics(at)["Households"] == "2"
    _client(ui_ledger, "Third", ADVISOR, [cash("Joint Taxable", 5_000)])
    at = go(run(new_app()), "book")
    assert len(reads) == 2
    assert metrics(at)["Households"] == "3"


def test_the_servers_start_reads_the_book_for_the_first_visit(
    new_app, book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In local mode the server reads the book's figures as it starts (`ui.warm.warm_book`): the
    first visit to the Book page reads nothing more, and sees every household."""
    from ui import book_view
    from ui.warm import warm_book

    reads = []
    real = book_view.stored_book
    monkeypatch.setattr(book_view, "stored_book", lambda *a, **k: reads.append(1) or real(*a, **k))
    warm_book()
    assert len(reads) == 1
    at = go(run(new_app()), "book")
    assert len(reads) == 1
    assert metrics(at)["Households"] == "2"


def test_a_ledger_that_cannot_be_read_at_start_leaves_the_page_to_read_it(
    new_app, book, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ui import book_view
    from ui.warm import warm_book

    def down(*a, **k):  # type: ignore[no-untyped-def]
        raise ConnectionError("the database is not up yet")

    with monkeypatch.context() as m:
        m.setattr(book_view, "stored_book", down)
        warm_book()  # logged, never raised: the server still starts
    assert "not read before the first visit" in caplog.text
    at = go(run(new_app()), "book")
    assert metrics(at)["Households"] == "2"


def test_a_batch_plans_for_the_clients_cash_requests(ui_ledger: Ledger) -> None:
    """A withdrawal on record is planned for in a batch as in a run from the Client page; one
    the book no longer allows is not dropped in silence."""
    from portfolio.book_runs import ledger_households, run_batch
    from portfolio.models import CashRequest

    records = ClientRecords(ui_ledger.engine)
    cid = _client(ui_ledger, "Needs cash", ADVISOR, [position("Roth IRA", "VTI", 300, 300.0)])
    records.add_cash_request(cid, CashRequest(account="Roth IRA", amount=20_000, kind="withdrawal"))
    (hh,) = ledger_households(ui_ledger)
    assert [r.amount for r in hh.cash_requests] == [20_000]
    rid = run_batch(ui_ledger, [hh], started_by=ADVISOR)[hh.id]
    p = ui_ledger.proposal(rid)
    (req,) = p.cash_requests
    assert req.met and req.trades  # raised by a sale in the Roth
    assert ui_ledger.run(rid).settings["cash_requests"][0]["amount"] == 20_000
    # A withdrawal larger than the account: the plan says it was not planned.
    big = hh.model_copy(
        update={"cash_requests": [CashRequest(account="Roth IRA", amount=10**7, kind="withdrawal")]}
    )
    rid = run_batch(ui_ledger, [big], started_by=ADVISOR)[big.id]
    failed = [c for c in ui_ledger.proposal(rid).checks if c.rule == "cash_request"]
    assert failed and failed[0].status == "fail" and "not planned" in failed[0].message
