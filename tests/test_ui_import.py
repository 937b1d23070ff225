"""The Client page's import through AppTest: value-only books, JSON requests, books with nothing
usable, and partial books the advisor must agree to go on without (saved with the run)."""

from __future__ import annotations

import json

from conftest import SAMPLES, wait_for
from streamlit.testing.v1 import AppTest

from portfolio.ledger import Ledger
from ui import worker

ADVISOR = "Test Advisor"


def run(at: AppTest) -> AppTest:
    at.session_state["advisor_name"] = ADVISOR
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="holdings_upload").set_value((name, data, "text/csv"))
    return run(at)


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_second_seeds_value_only_client_loads_all_five(new_app) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    sheet = b"symbol,market value\nVT,700000\nNVDA,80000\nAAPL,70000\nMSFT,50000\nCASH,100000\n"
    upload(at, "client.csv", sheet)
    assert metrics(at)["Total value"] == "$1,000,000"
    assert metrics(at)["Positions"] == "4" and metrics(at)["Cash"] == "$100,000"
    assert not at.error


def test_a_json_request_loads_and_prefills_the_risk_profile(new_app) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    request = {
        "assets": [
            {"symbol": "AAPL", "allocation": 0.5, "current_value": 50000},
            {"symbol": "MSFT", "allocation": 0.5, "current_value": 50000},
        ],
        "total_value": 100000,
        "risk_profile": "AGGRESSIVE",
    }
    upload(at, "request.json", json.dumps(request).encode())
    assert metrics(at)["Total value"] == "$100,000"
    assert at.session_state["mandate"].risk_profile == "aggressive"
    assert next(s for s in at.selectbox if s.label == "Risk profile").value == "aggressive"
    assert any("Risk profile from the request: **aggressive**" in i for i in texts(at, "info"))


def test_a_book_with_nothing_usable_is_an_error_and_cannot_be_rebalanced(new_app) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    upload(at, "seed001_esg_moderate.csv", (SAMPLES / "seed001_esg_moderate.csv").read_bytes())
    assert metrics(at)["Total value"] == "$500,000"
    at.button(key="new_client").click()  # the file is a new client's, not the loaded one's
    run(at)
    upload(at, "nothing.csv", b"Symbol,Quantity,Price\nZZZQ,abc,1\nQQQZ,,\n")
    assert any("nothing.csv" in e and "no holdings" in e for e in texts(at, "error"))
    assert not at.success and not at.metric  # no banner, no book of the previous client
    assert any("Upload a holdings file" in s for s in texts(at, "info"))
    at.switch_page("views/rebalance.py")
    run(at)
    assert not at.button  # nothing to run the crew on


def test_a_partial_book_needs_the_advisors_word_and_it_is_saved_with_the_run(
    new_app,  # type: ignore[no-untyped-def]
    ui_ledger: Ledger,
) -> None:
    at = run(new_app())
    upload(at, "malformed_rows.csv", (SAMPLES / "malformed_rows.csv").read_bytes())
    assert any("Partial book" in w and "lines 3, 4, 6, 7" in w for w in texts(at, "warning"))
    at.switch_page("views/rebalance.py")
    run(at)
    assert at.button(key="run_crew").disabled
    assert any("Proceed without these rows" in e for e in texts(at, "error"))

    at.switch_page("views/client.py")
    run(at)
    at.checkbox(key="partial_ack_box").check()
    run(at)
    at.switch_page("views/rebalance.py")
    run(at)
    assert not at.button(key="run_crew").disabled
    at.button(key="run_crew").click()
    run(at)
    rid = at.session_state["run_id"]
    wait_for(
        lambda: not worker.is_running(rid) and ui_ledger.run(rid).status != "RUNNING",
        what=f"crew run {rid} to finish",
    )
    partial = ui_ledger.run(rid).settings["partial_book"]
    assert partial["acknowledged_by"] == ADVISOR
    assert [r["line"] for r in partial["rows_left_out"]] == [3, 4, 6, 7]


def test_the_partial_book_agreement_survives_a_reload_for_that_book_only(
    new_app,  # type: ignore[no-untyped-def]
    ui_ledger: Ledger,
) -> None:
    at = run(new_app())
    upload(at, "malformed_rows.csv", (SAMPLES / "malformed_rows.csv").read_bytes())
    at.checkbox(key="partial_ack_box").check()
    run(at)
    address = dict(at.query_params)

    # A reload: a new session, the same address.
    fresh = new_app()
    fresh.query_params.update(address)
    run(fresh)
    assert fresh.checkbox(key="partial_ack_box").value
    assert any("Agreed by **Test Advisor**" in c for c in texts(fresh, "caption"))
    fresh.switch_page("views/rebalance.py")
    run(fresh)
    assert not fresh.button(key="run_crew").disabled

    # Withdrawn in one session, it is withdrawn for the next.
    fresh.switch_page("views/client.py")
    run(fresh)
    fresh.checkbox(key="partial_ack_box").uncheck()
    run(fresh)
    again = new_app()
    again.query_params.update(address)
    run(again)
    assert not again.checkbox(key="partial_ack_box").value
    again.checkbox(key="partial_ack_box").check()
    run(again)

    # Another file for the client is another book: it needs its own agreement.
    sheet = b"Account,Symbol,Quantity,Price\nRoth IRA,VTI,10,300\nRoth IRA,BND,x,72\n"
    box = next(u for u in again.get("file_uploader") if u.key.startswith("account_upload_"))
    box.set_value(("roth.csv", sheet, "text/csv"))
    run(again)
    assert not again.checkbox(key="partial_ack_box").value
    last = new_app()
    last.query_params.update(address)
    run(last)
    assert not last.checkbox(key="partial_ack_box").value


def test_a_weight_sheet_loads_once_the_book_total_is_given(new_app) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    upload(at, "weights.csv", b"Symbol,Weight\nVTI,60%\nCASH,40%\n")
    assert any("no total to value them" in e for e in texts(at, "error"))
    at.text_input(key="import_total").set_value("$250,000")
    run(at)
    assert metrics(at)["Total value"] == "$250,000"
    assert metrics(at)["Cash"] == "$100,000"


def test_a_bought_money_market_fund_is_a_position_in_the_cash_class_not_cash(new_app) -> None:  # type: ignore[no-untyped-def]
    """SWVXX bought in the account is a holding the plan sells by an order; only swept cash is
    cash, in the report as in the engine."""
    at = run(new_app())
    upload(at, "seed001_esg_moderate.csv", (SAMPLES / "seed001_esg_moderate.csv").read_bytes())
    assert metrics(at)["Positions"] == "5"
    assert metrics(at)["Cash"] == "$0"
    table = at.dataframe[0].value
    swvxx = table[table["Symbol"] == "SWVXX"].iloc[0]
    assert swvxx["Asset class"] == "Cash"  # the cash class, not swept cash
    at.switch_page("views/rebalance.py")
    run(at)
    assert any(m.value.startswith("**5** positions") for m in at.markdown)


def test_an_unknown_cost_basis_is_a_blank_cell_with_a_note(new_app) -> None:  # type: ignore[no-untyped-def]
    at = run(new_app())
    sheet = b"Symbol,Quantity,Price,Cost Basis\nVTI,10,300,2500\nBND,20,72,\nCASH,1000,1,\n"
    upload(at, "basis.csv", sheet)
    table = at.dataframe[0].value
    cells = [str(v) for v in table.astype(object).to_numpy().ravel()]
    assert not {"None", "nan", "NaN", "<NA>"} & set(cells), cells
    basis = dict(zip(table["Symbol"], table["Cost basis"], strict=True))
    assert basis == {"VTI": "$2,500.00", "BND": "", "CASH": ""}
    assert any("cost basis not in the file" in c and "1 of 2" in c for c in texts(at, "caption"))
