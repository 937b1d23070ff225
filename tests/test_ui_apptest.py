"""Every page of the dashboard driven through Streamlit's AppTest, against a real ledger and the
offline crew: uploads, the mandate form, model overrides, charts, a crew run in its background
worker, approve/veto/execute on the ticket, the history and the settings."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, wait_for
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from portfolio.compliance import check_trades
from portfolio.ledger import Ledger
from portfolio.models import Trade
from portfolio.proposal_pdf import build_proposal_pdf
from portfolio.securities import load_securities
from ui import worker
from ui.proposal_document import proposal_document

ADVISOR = "Test Advisor"
SEED = SAMPLES / "seed001_esg_moderate.csv"
SEED_NOTES = (SAMPLES / "seed001_notes.txt").read_text(encoding="utf-8")


# ---------------------------------------------------------------- helpers


def run(at: AppTest, advisor: str | None = ADVISOR) -> AppTest:
    """Rerun the app, the sidebar's name box holding `advisor`, and insist that nothing reached
    the page as an exception."""
    if advisor is not None:
        at.session_state["advisor_name"] = advisor
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def go(at: AppTest, page: str, advisor: str | None = ADVISOR) -> AppTest:
    at.switch_page(f"views/{page}.py")
    return run(at, advisor)


def upload(at: AppTest, *paths: Path) -> AppTest:
    files = [(p.name, p.read_bytes(), "text/csv") for p in paths]
    at.file_uploader(key="holdings_upload").set_value(files[0] if len(files) == 1 else files)
    return run(at)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def rendered(at: AppTest) -> str:
    """Everything sent to the browser on the last run: every element's protobuf, as text."""
    return "\n".join(str(getattr(n, "proto", "")) for n in nodes(at._tree))


def client_with_mandate(at: AppTest) -> AppTest:
    """The seed client loaded, its notes read into the mandate and the mandate saved."""
    run(at)
    upload(at, SEED)
    at.text_area(key="notes_box").set_value(SEED_NOTES)
    at.button(key="parse_notes").click()
    run(at)
    at.button(key="FormSubmitter:mandate_form-Save mandate").click()
    return run(at)


def finish_run(at: AppTest, ledger: Ledger) -> str:
    """Click Run on the Rebalance page, wait for the background crew, rerun; the run's id."""
    go(at, "rebalance")
    at.button(key="run_crew").click()
    run(at)
    rid = at.session_state["run_id"]
    wait_for(
        lambda: not worker.is_running(rid) and ledger.run(rid).status != "RUNNING",
        what=f"crew run {rid} to finish",
    )
    run(at)
    return rid


@pytest.fixture
def at(new_app) -> AppTest:  # type: ignore[no-untyped-def]
    return new_app()


@pytest.fixture
def ran(at: AppTest, ui_ledger: Ledger) -> tuple[AppTest, str]:
    """The seed client after a finished offline crew run."""
    client_with_mandate(at)
    return at, finish_run(at, ui_ledger)


# ---------------------------------------------------------------- Client & holdings


def test_first_page_asks_for_holdings(at: AppTest) -> None:
    run(at, advisor=None)
    assert texts(at, "title") == ["Client & holdings"]
    assert any("Upload a holdings file" in s for s in texts(at, "info"))
    assert at.sidebar.text_input(key="advisor_name").label == "Advisor name"
    assert any("not authenticated" in c.value for c in at.sidebar.caption)


def test_upload_schwab_export_shows_report_and_positions(at: AppTest) -> None:
    run(at)
    upload(at, SAMPLES / "schwab_single_account.csv")
    m = metrics(at)
    assert int(m["Rows with errors"]) == 0
    assert int(m["Positions"]) > 0
    assert m["Accounts"] == "1"
    assert any("schwab" in c.value.lower() for c in at.caption)
    positions = at.dataframe[-2].value if len(at.dataframe) > 1 else at.dataframe[0].value
    assert {"AAPL", "MSFT"} <= set(positions["Symbol"])
    assert not at.error


def test_malformed_rows_are_reported_with_line_numbers_and_good_rows_load(at: AppTest) -> None:
    run(at)
    upload(at, SAMPLES / "malformed_rows.csv")
    assert any("4 row(s) could not be read" in e for e in texts(at, "error"))
    errors = at.dataframe[0].value
    assert list(errors["Line"]) == [3, 4, 6, 7]
    assert "abc" in errors.loc[errors["Line"] == 3, "Row"].item()
    assert "-176.23" in errors.loc[errors["Line"] == 7, "Problem"].item()
    positions = at.dataframe[1].value
    assert sorted(positions["Symbol"]) == ["AAPL", "BND", "VTI"]
    assert metrics(at)["Positions"] == "3"


def test_two_files_merge_into_one_book(at: AppTest) -> None:
    run(at)
    upload(at, SAMPLES / "schwab_single_account.csv", SEED)
    assert int(metrics(at)["Accounts"]) == 2
    assert not at.error


def test_unreadable_file_gets_a_clear_message(at: AppTest) -> None:
    run(at)
    at.file_uploader(key="holdings_upload").set_value(
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "text/csv")
    )
    run(at)
    assert any("photo.csv" in e for e in texts(at, "error"))
    assert at.session_state["holdings"] is None if "holdings" in at.session_state else True
    assert any("Upload a holdings file" in s for s in texts(at, "info"))


def test_bundled_sample_loads_with_its_notes(at: AppTest) -> None:
    run(at)
    assert at.button(key="load_sample").disabled
    offered = at.selectbox(key="sample_choice").options
    assert SEED.name in offered and "schwab_all_accounts.csv" in offered
    # Files that exercise the importer's defences are not clients.
    assert "hostile_descriptions.csv" not in offered and "malformed_rows.csv" not in offered
    at.selectbox(key="sample_choice").set_value(SEED.name)
    run(at)
    at.button(key="load_sample").click()
    run(at)
    assert metrics(at)["Total value"] == "$500,000"
    assert at.text_area(key="notes_box").value == SEED_NOTES.strip()


def test_notes_fill_the_mandate_form_and_the_advisor_can_correct_it(at: AppTest) -> None:
    run(at)
    upload(at, SEED)
    at.text_area(key="notes_box").set_value(SEED_NOTES)
    at.button(key="parse_notes").click()
    run(at)
    mandate = at.session_state["mandate"]
    assert (mandate.esg_only, mandate.single_name_cap, mandate.age) == (True, 0.05, 58)
    assert any("Read from the notes" in c.value for c in at.caption)
    esg = next(c for c in at.checkbox if c.label == "ESG-only")
    assert esg.value is True
    assert next(n for n in at.number_input if n.label == "Age").value == 58
    # The advisor corrects the profile and the cap, then saves.
    next(s for s in at.selectbox if s.label == "Risk profile").set_value("moderately_conservative")
    next(n for n in at.number_input if n.label == "Single-name cap (%)").set_value(4.0)
    at.button(key="FormSubmitter:mandate_form-Save mandate").click()
    run(at)
    assert "Mandate saved." in texts(at, "success")
    saved = at.session_state["mandate"]
    assert str(saved.risk_profile) == "moderately_conservative"
    assert saved.single_name_cap == pytest.approx(0.04)
    assert saved.esg_only is True


def test_model_override_must_add_up_to_100(at: AppTest) -> None:
    run(at)
    upload(at, SEED)
    at.session_state["model_editor"] = {
        "edited_rows": {"0": {"Weight %": 50}},
        "added_rows": [],
        "deleted_rows": [],
    }
    run(at)
    at.button(key="apply_model").click()
    run(at)
    assert "Weights add up to 118.00%, not 100%." in texts(at, "error")
    assert (
        at.session_state["model_override"] is None if "model_override" in at.session_state else True
    )

    # Moving two points from US equity to small caps keeps the sum at 100 and is accepted.
    at.session_state["model_editor"] = {
        "edited_rows": {"0": {"Weight %": 30}, "1": {"Weight %": 6}},
        "added_rows": [],
        "deleted_rows": [],
    }
    run(at)
    at.button(key="apply_model").click()
    run(at)
    assert "Override applied for this client." in texts(at, "success")
    override = at.session_state["model_override"]
    weights = {s.asset_class: s.weight for s in override.sleeves}
    assert weights["us_equity"] == pytest.approx(0.30)
    assert weights["us_small_cap"] == pytest.approx(0.06)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert "override" in override.name
    at.button(key="reset_model").click()
    run(at)
    assert at.session_state["model_override"] is None


# ---------------------------------------------------------------- Allocation


def test_allocation_needs_holdings(at: AppTest) -> None:
    run(at)
    go(at, "allocation")
    assert any("Client & holdings" in s for s in texts(at, "info"))


def test_allocation_charts_render_for_the_client(at: AppTest) -> None:
    client_with_mandate(at)
    go(at, "allocation")
    charts = at.get("plotly_chart")
    assert len(charts) == 5
    m = metrics(at)
    assert m["Portfolio value"] == "$500,000"
    assert m["Cash"] == "10.0%"
    assert int(m["Classes out of band"]) > 0
    assert m["Profile"] == "Moderate"
    assert any("Run the crew" in c.value for c in at.caption)
    figures = "\n".join(c.proto.spec for c in charts)
    for title in (
        "Asset classes: current vs target",
        "Allocation mix",
        "Drift against tolerance bands",
        "single-name cap",
        "Sector exposure",
    ):
        assert title in figures


def test_allocation_shows_after_trade_view_once_a_run_exists(ran: tuple[AppTest, str]) -> None:
    at, _ = ran
    go(at, "allocation")
    assert any("After-trade view" in c.value for c in at.caption)
    figures = "\n".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "After trades" in figures


# ---------------------------------------------------------------- Rebalance


def test_rebalance_needs_holdings(at: AppTest) -> None:
    run(at)
    go(at, "rebalance")
    assert any("Client & holdings" in s for s in texts(at, "info"))
    assert not at.button


def test_crew_run_fills_every_agent_panel(ran: tuple[AppTest, str], ui_ledger: Ledger) -> None:
    at, rid = ran
    assert ui_ledger.run(rid).status == "PENDING_REVIEW"
    done = [s for s in texts(at, "success") if "finished" in s]
    assert done and rid in done[0] and "awaiting your review" in done[0]
    titles = [
        "Risk Profiler",
        "Market Analysis Agent",
        "Risk Assessment Agent",
        "Trading Agent",
        "Tax Agent",
        "Compliance Checker",
    ]
    panels = [e for e in at.expander if any(t in e.label for t in titles)]
    assert [next(t for t in titles if t in e.label) for e in panels] == titles
    # The run is over: every answer is open to read, and the progress line says so.
    assert all(e.proto.expanded for e in panels)
    took = ui_ledger.events(rid)[-1].event["totals"]["duration_s"]
    assert [p.proto.text for p in at.get("progress")] == [
        f"Agents done 6 of 6 · {took:.1f} s elapsed"
    ]
    # The profiler's field-by-field mandate table sits behind its own expander.
    (table,) = [e for e in at.expander if e.label.startswith("The mandate, field by field")]
    assert not table.proto.expanded and table.dataframe
    for e in panels:
        assert "— done" in e.label, e.label
        body = " ".join(m.value for m in e.markdown)
        assert len(body) > 80, (e.label, body)
        assert e.checkbox, f"{e.label} has no raw JSON toggle"
    # The streaming agents report their time and tokens in the header.
    assert "tokens" in panels[1].label and " s · " in panels[1].label
    # Internal rule names stay in the record; the page shows words.
    page = rendered(at)
    assert "engine_note" not in page and "esg_funds" not in page and "esg funds" not in page
    assert "avoid realising gains" not in page
    # The strategist's rounds name classes in words.
    (rounds,) = [d.value for d in panels[3].dataframe if "Round" in d.value.columns]
    tilts = list(rounds["Tilts"])
    assert any(t != "none" for t in tilts) and not any("_" in t for t in tilts), tilts
    # The raw JSON is one click away.
    at.checkbox(key="raw_strategist").check()
    run(at)
    assert at.get("json")
    assert any("Review the trade ticket" in str(p.proto) for p in at.get("page_link"))


def test_crew_run_goes_on_while_the_page_is_left(
    new_app,
    ui_ledger: Ledger,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the crew works the page says so, and a later visit sees its end. The offline
    analyst is held at its first word until the test lets it go, so "while" does not depend on
    how fast this machine runs the crew."""
    from agents.offline import OfflineAnalyst

    release = threading.Event()
    stream = OfflineAnalyst._astream

    async def held(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        await asyncio.to_thread(release.wait, 120)
        async for chunk in stream(self, *args, **kwargs):
            yield chunk

    monkeypatch.setattr(OfflineAnalyst, "_astream", held)
    at = new_app()
    client_with_mandate(at)
    go(at, "rebalance")
    try:
        at.button(key="run_crew").click()
        run(at)
        rid = at.session_state["run_id"]
        assert worker.is_running(rid)
        assert any("is working" in s for s in texts(at, "info"))
        assert at.button(key="run_crew").disabled
        # While the crew works only the agents at work are open, under the progress line.
        (line,) = at.get("progress")
        assert line.proto.text.startswith("Agents done ") and " of 6 · " in line.proto.text
        agents = [e for e in at.expander if " — " in e.label]
        assert len(agents) == 6
        assert [e.proto.expanded for e in agents] == ["— running" in e.label for e in agents]
        assert any("— running" in e.label for e in agents)
        go(at, "allocation")
    finally:
        release.set()
    wait_for(lambda: not worker.is_running(rid), what="the crew to finish")
    go(at, "rebalance")
    assert any("finished" in s for s in texts(at, "success"))
    assert not at.button(key="run_crew").disabled


# ---------------------------------------------------------------- Trade ticket


def test_ticket_needs_a_run(at: AppTest) -> None:
    run(at)
    go(at, "ticket")
    assert any("Run the crew" in s for s in texts(at, "info"))


def test_ticket_asks_for_the_advisor_name(ran: tuple[AppTest, str]) -> None:
    at, _ = ran
    go(at, "ticket", advisor="")
    assert any("Enter your name in the sidebar" in s for s in texts(at, "info"))
    assert at.button(key="approve_T1").disabled
    assert at.button(key="execute").disabled


def test_approve_veto_execute_records_every_click(
    ran: tuple[AppTest, str], ui_ledger: Ledger
) -> None:
    at, rid = ran
    go(at, "ticket")
    trades = ui_ledger.run(rid).trades
    assert len(trades) >= 3
    assert at.button(key="execute").disabled  # nothing approved yet
    # Nothing approved, no orders to download (the client proposal is there from the start).
    *orders, pdf = at.get("download_button")
    for d in orders:
        assert d.proto.disabled and d.proto.help == "Approve trades to download their orders."
    assert pdf.proto.label == "Download client proposal (PDF)" and not pdf.proto.disabled

    at.button(key="approve_T1").click()
    run(at)
    at.button(key="veto_T2").click()
    run(at)  # reruns T2's row and what follows from it (see the fragment test below)
    run(at)  # the whole page, as the browser keeps it
    decisions = ui_ledger.decisions(rid)
    assert [(d.trade_id, d.decision, d.by) for d in decisions] == [
        ("T1", "APPROVE", ADVISOR),
        ("T2", "VETO", ADVISOR),
    ]
    assert f"approved by {ADVISOR}" in [c.value for c in at.caption]
    assert f"vetoed by {ADVISOR}" in [c.value for c in at.caption]
    assert at.button(key="approve_T1").proto.type == "primary"
    assert at.button(key="veto_T1").proto.type == "secondary"
    assert any("After-trade view with the 1 trade(s)" in c.value for c in at.caption)
    undecided = len(trades) - 2
    assert any(f"{undecided} compliant trade(s) still undecided" in c.value for c in at.caption)
    # The files hold exactly the approved set, which is what Execute would send.
    assert not any(d.proto.disabled for d in at.get("download_button"))
    assert "The files hold the 1 approved trade, as they will be executed." in [
        c.value for c in at.caption
    ]

    at.button(key="execute").click()
    run(at)
    final = ui_ledger.run(rid)
    assert final.status == "PARTIALLY_EXECUTED"
    # The advisor vetoed the rest on purpose: a plain sentence, not a warning.
    n = len(trades)
    assert f"Executed 1 of {n} trades; you vetoed {n - 1}." in texts(at, "success")
    assert not texts(at, "warning")
    t1 = next(t for t in final.trades if t.trade_id == "T1")
    assert t1.execution.status == "FILLED"
    assert at.button(key="execute").disabled
    # Executed trades have no buttons any more; a decision after execution is impossible.
    assert "approve_T1" not in [b.key for b in at.button]
    # The run is final: the trades left out keep their buttons, disabled, and the page says why.
    assert any("which is final" in s for s in texts(at, "info"))
    left = [b for b in at.button if b.key and b.key.startswith(("approve_T", "veto_T"))]
    assert left and all(b.disabled for b in left)
    assert at.button(key="approve_all").disabled
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == [
        "Download order file (CSV)",
        "Download Wealthscape import file",
        "Download client proposal (PDF)",
    ]
    assert not any(d.proto.disabled for d in downloads)
    assert "The files hold the 1 filled order." in [c.value for c in at.caption]


def test_approve_all_compliant(ran: tuple[AppTest, str], ui_ledger: Ledger) -> None:
    at, rid = ran
    go(at, "ticket")
    at.button(key="approve_all").click()
    run(at)
    trades = ui_ledger.run(rid).trades
    assert all(t.decision.decision == "APPROVE" for t in trades)
    at.button(key="execute").click()
    run(at)
    assert ui_ledger.run(rid).status == "EXECUTED"
    assert f"Executed {len(trades)} of {len(trades)} trades." in texts(at, "success")


def test_a_row_click_reruns_its_row_and_the_status_line_not_the_page(
    ran: tuple[AppTest, str], ui_ledger: Ledger
) -> None:
    at, rid = ran
    go(at, "ticket")
    n = len(ui_ledger.run(rid).trades)
    at.button(key="approve_T1").click()  # the first approval enables Execute: the whole ticket
    run(at)
    assert {"approve_T1", "approve_T2", "execute"} <= {b.key for b in at.button}
    at.button(key="veto_T2").click()
    run(at)
    # AppTest holds what the last run drew: T2's row, the status line, the tax impact, the
    # after-trade view and the downloads, and nothing of the rest of the page.
    assert {b.key for b in at.button} == {"approve_T2", "veto_T2", "save_qty_T2"}
    assert at.button(key="veto_T2").proto.type == "primary"
    assert f"vetoed by {ADVISOR}" in [c.value for c in at.caption]
    assert any(f"2 of {n} trades decided" in m.value for m in at.markdown)
    assert not texts(at, "title")
    assert "After-trade view with the 1 trade(s) approved so far." in [c.value for c in at.caption]
    assert len(at.get("download_button")) == 3
    run(at)
    assert any(f"{n - 2} compliant trade(s) still undecided" in c.value for c in at.caption)


def _buy_and_sell(ledger: Ledger, rid: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    trades = ledger.run(rid).trades
    buy = next(t for t in trades if t.action == "BUY" and t.quantity >= 2)
    sell = next(t for t in trades if t.action == "SELL")
    return buy, sell


def test_a_quantity_edit_is_judged_recorded_and_executed(
    ran: tuple[AppTest, str], ui_ledger: Ledger
) -> None:
    at, rid = ran
    go(at, "ticket")
    at.button(key="approve_all").click()
    run(at)
    n = len(ui_ledger.decisions(rid))
    buy, _ = _buy_and_sell(ui_ledger, rid)
    tid, smaller = buy.trade_id, buy.quantity - 1
    at.number_input(key=f"qty_{tid}").set_value(smaller)
    at.button(key=f"save_qty_{tid}").click()
    run(at)
    run(at)
    d = ui_ledger.decisions(rid)[n]
    assert (d.trade_id, d.decision, d.quantity, d.by) == (
        tid,
        "APPROVE",
        smaller,
        ADVISOR,
    )
    assert any(f"edited from {buy.quantity:,.6g}" in c.value for c in at.caption)
    assert f"The files hold the {n} approved trades, as they will be executed." in [
        c.value for c in at.caption
    ]
    at.button(key="execute").click()
    run(at)
    fills = {e.trade_id: e.quantity for e in ui_ledger.executions(rid) if e.stage == "result"}
    assert fills[tid] == smaller and len(fills) == n
    assert f"Executed {n} of {n} trades." in texts(at, "success")


def test_a_refused_edit_says_why_in_its_row_and_records_nothing(
    ran: tuple[AppTest, str], ui_ledger: Ledger
) -> None:
    at, rid = ran
    go(at, "ticket")
    _, sell = _buy_and_sell(ui_ledger, rid)
    tid = sell.trade_id
    at.number_input(key=f"qty_{tid}").set_value(sell.quantity * 100)
    at.button(key=f"save_qty_{tid}").click()
    run(at)
    (err,) = texts(at, "error")
    assert err.startswith("The compliance gate refuses the edit") and "held" in err, err
    assert ui_ledger.decisions(rid) == []
    at.number_input(key=f"qty_{tid}").set_value(0)
    at.button(key=f"save_qty_{tid}").click()
    run(at)
    assert any("to drop a trade, veto it" in e for e in texts(at, "error"))
    assert ui_ledger.decisions(rid) == []
    assert at.button(key=f"veto_{tid}").proto.help == f"Drop {tid}"


def test_the_tax_impact_panel_says_not_known_without_a_cost_basis(
    ran: tuple[AppTest, str],
) -> None:
    at, _ = ran
    go(at, "ticket")
    (panel,) = [e for e in at.expander if e.label == "Tax impact"]
    table = panel.dataframe[0].value
    assert list(table.columns) == [
        "#",
        "Account",
        "Tax type",
        "Symbol",
        "Proceeds",
        "Short-term gain",
        "Long-term gain",
        "Wash sale",
        "Lots sold",
    ]
    assert set(table["Short-term gain"]) == {"not known"}
    assert set(table["Lots sold"]) == {""}  # no lots in the file: none named
    assert any("no known gain" in c.value for c in at.caption)
    assert "No gains budget is set for this client." in [c.value for c in at.caption]


def _run_with_a_vetoed_trade(ledger: Ledger, rid: str) -> str:
    """A copy of `rid` whose proposal also holds a model-proposed tobacco buy, judged by the real
    compliance gate (the client is ESG-only), saved as a new run."""
    base = ledger.proposal(rid)
    price = 60.0
    extra = Trade(
        id=f"T{len(base.trades) + 1}",
        account=base.positions[0].account,
        symbol="MO",
        action="BUY",
        quantity=10,
        price=price,
        value=10 * price,
        asset_class="us_equity",
        reason="income tilt",
        source="model",
    )
    trades = check_trades([*base.trades, extra], base.positions, base.mandate, load_securities())
    proposal = base.model_copy(update={"trades": trades})
    new = ledger.create_run(client="Vetoed trade client", mandate=base.mandate)
    ledger.save_proposal(new, proposal)
    ledger.refresh_status(new)
    return new


def test_compliance_veto_cannot_be_approved(ran: tuple[AppTest, str], ui_ledger: Ledger) -> None:
    at, rid = ran
    vetoed_run = _run_with_a_vetoed_trade(ui_ledger, rid)
    trades = ui_ledger.run(vetoed_run).trades
    bad = next(t for t in trades if t.compliance == "VETOED")
    assert bad.symbol == "MO"
    at.session_state["run_id"] = vetoed_run
    at.query_params["run"] = vetoed_run  # the address names the run, as a link to it does
    go(at, "ticket")
    keys = [b.key for b in at.button]
    assert f"approve_{bad.trade_id}" not in keys
    assert f"veto_{bad.trade_id}" not in keys
    assert "Cannot be approved" in [c.value for c in at.caption]
    assert any("tobacco" in c.value for c in at.caption)
    at.button(key="approve_all").click()
    run(at)
    decided = {d.trade_id for d in ui_ledger.decisions(vetoed_run)}
    assert bad.trade_id not in decided
    assert decided == {t.trade_id for t in trades if t.compliance == "APPROVED"}


# ---------------------------------------------------------------- History


def test_history_without_runs(at: AppTest) -> None:
    run(at)
    go(at, "history")
    assert any("Audit chain verified" in s for s in texts(at, "success"))
    assert any("No runs recorded yet" in s for s in texts(at, "info"))


def test_history_lists_runs_decisions_and_verifies(
    ran: tuple[AppTest, str], ui_ledger: Ledger
) -> None:
    at, rid = ran
    go(at, "ticket")
    at.button(key="approve_T1").click()
    run(at)
    go(at, "history")
    assert any("Audit chain verified" in s for s in texts(at, "success"))
    runs = at.dataframe[0].value
    assert list(runs.columns) == ["Client", "Advisor", "Status", "Value", "Trades", "Time", "Run"]
    mine = runs[runs["Run"] == rid].iloc[0]
    assert (mine["Advisor"], mine["Status"], mine["Value"]) == (
        ADVISOR,
        "Awaiting your review",
        "$500,000",
    )
    assert at.selectbox(key="hist_run").value == rid
    decisions = at.dataframe[2].value
    assert list(decisions["By"]) == [ADVISOR] and list(decisions["Decision"]) == ["approved"]
    # Hashes and raw JSON wait behind the details toggle; no cell reads "None".
    assert "Hash" not in decisions.columns and not at.get("json")
    for frame in at.dataframe:
        assert not frame.value.astype(str).isin(["None", "nan"]).any().any()
    at.toggle(key="hist_details").set_value(True)
    run(at)
    assert "Hash" in at.dataframe[2].value.columns and at.get("json")
    assert [d.proto.label for d in at.get("download_button")] == [
        "Download anchor",
        "Auditor's JSON",
    ]
    assert len(at.tabs) == 4

    # Someone edits a decision behind the ledger's back: the page says the chain is broken.
    with ui_ledger.engine.begin() as conn:
        conn.execute(text("UPDATE decisions SET decided_by = 'Somebody Else'"))
    run(at)
    assert any("Audit chain broken" in e for e in texts(at, "error"))


def test_history_has_no_none_cells_for_a_run_recorded_without_its_book(
    at: AppTest, ui_ledger: Ledger
) -> None:
    """A run recorded without a book (no value) and without who started it reads as dashes."""
    rid = ui_ledger.create_run(client="Recorded elsewhere", status="PENDING_REVIEW")
    run(at)
    go(at, "history")
    runs = at.dataframe[0].value
    mine = runs[runs["Run"] == rid].iloc[0]
    assert (mine["Client"], mine["Advisor"], mine["Value"]) == ("Recorded elsewhere", "—", "—")
    for frame in at.dataframe:
        cells = frame.value.astype(object).astype(str)
        assert not cells.isin(["None", "nan", "NaN", "<NA>", "NaT"]).any().any()


def test_history_opens_a_run_on_the_ticket(ran: tuple[AppTest, str]) -> None:
    at, rid = ran
    go(at, "history")
    at.button(key="open_run").click()
    run(at)
    assert texts(at, "title") == ["Trade ticket"]
    assert any(rid in m.value for m in at.markdown)
    assert at.button(key="approve_T1")


# ---------------------------------------------------------------- Settings


def test_settings_save_provider_pace_and_budget(at: AppTest) -> None:
    run(at)
    go(at, "settings")
    provider = next(s for s in at.selectbox if s.label == "Provider")
    assert provider.value == "offline"
    provider.set_value("openai-compatible")
    next(t for t in at.text_input if t.label == "Model / deployment").set_value("llama3.1")
    next(t for t in at.text_input if t.label.startswith("Base URL")).set_value(
        "http://localhost:11434/v1"
    )
    at.slider[0].set_value(1.5)
    next(n for n in at.number_input if n.label.startswith("Budget")).set_value(0.5)
    at.button(key="FormSubmitter:llm_form-Save").click()
    run(at)
    saved = at.session_state["llm_settings"]
    assert (saved.provider, saved.model, saved.offline_pace, saved.budget_usd) == (
        "openai-compatible",
        "llama3.1",
        1.5,
        0.5,
    )
    assert saved.base_url == "http://localhost:11434/v1"
    assert any(
        s.startswith("Saved: openai-compatible (llama3.1 at http://localhost:11434/v1)")
        for s in texts(at, "success")
    )
    # What was saved comes back in the form on the next visit.
    go(at, "client")
    go(at, "settings")
    assert next(s for s in at.selectbox if s.label == "Provider").value == "openai-compatible"
    assert at.slider[0].value == pytest.approx(1.5)


def test_settings_outlive_a_reload_but_the_key_does_not(
    at: AppTest,
    new_app,  # type: ignore[no-untyped-def]
    ui_ledger: Ledger,
) -> None:
    run(at)
    go(at, "settings")
    next(s for s in at.selectbox if s.label == "Provider").set_value("openai-compatible")
    next(t for t in at.text_input if t.label == "Model / deployment").set_value("llama3.1")
    next(t for t in at.text_input if t.label.startswith("Base URL")).set_value(
        "http://localhost:11434/v1"
    )
    at.text_input(key="model_strategist").set_value("qwen2.5")
    next(t for t in at.text_input if t.label.startswith("API key")).set_value("sk-typed-SECRET3")
    at.button(key="FormSubmitter:llm_form-Save").click()
    run(at)
    assert any(f"Kept for **{ADVISOR}**" in s for s in texts(at, "success"))
    with ui_ledger.engine.connect() as conn:
        stored = str(conn.execute(text("SELECT * FROM advisor_settings")).all())
    assert "llama3.1" in stored and "SECRET" not in stored and "api_key" not in stored

    # A reload: a new session for the same advisor. The settings are in force; the key is not.
    fresh = new_app()
    fresh.query_params.update(dict(at.query_params))
    upload(run(fresh), SEED)
    go(fresh, "rebalance")
    assert any("words by **openai-compatible (llama3.1" in m.value for m in fresh.markdown)
    go(fresh, "settings")
    assert next(s for s in fresh.selectbox if s.label == "Provider").value == "openai-compatible"
    assert next(t for t in fresh.text_input if t.label.startswith("Base URL")).value == (
        "http://localhost:11434/v1"
    )
    assert fresh.text_input(key="model_strategist").value == "qwen2.5"
    in_force = fresh.session_state["llm_settings"]
    assert (in_force.provider, in_force.model, in_force.api_key) == (
        "openai-compatible",
        "llama3.1",
        None,
    )
    assert in_force.model_for("strategist") == "qwen2.5"
    assert any("browser session only" in c for c in texts(fresh, "caption"))

    # Another advisor keeps their own.
    other = new_app()
    run(other, advisor="Someone Else")
    go(other, "settings", advisor="Someone Else")
    assert next(s for s in other.selectbox if s.label == "Provider").value == "offline"


def test_settings_budget_and_defaults(at: AppTest) -> None:
    run(at)
    go(at, "settings")
    c = at.number_input
    next(n for n in c if n.label == "Band, absolute (points)").set_value(3.0)
    next(n for n in c if n.label == "Single-name cap (%)").set_value(6.0)
    at.button(key="FormSubmitter:defaults_form-Save defaults").click()
    run(at)
    defaults = at.session_state["mandate_defaults"]
    assert defaults.band_abs == pytest.approx(0.03)
    assert defaults.single_name_cap == pytest.approx(0.06)


def test_settings_never_show_a_key(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET")
    st.cache_resource.clear()
    run(at)
    go(at, "settings")
    key_box = next(t for t in at.text_input if t.label.startswith("API key"))
    assert key_box.value == ""
    assert key_box.proto.placeholder == "configured in the environment"
    assert "SECRET" not in rendered(at)

    # A key typed by the advisor is kept for the session and never echoed back either.
    key_box.set_value("sk-typed-SECRET2")
    at.button(key="FormSubmitter:llm_form-Save").click()
    run(at)
    assert at.session_state["llm_settings"].api_key.get_secret_value() == "sk-typed-SECRET2"
    assert "SECRET" not in rendered(at)
    # Saved, and gone from the field it was typed in.
    assert next(t for t in at.text_input if t.label.startswith("API key")).value == ""
    assert any(s.startswith("Saved: ") for s in texts(at, "success"))
    for page in ("client", "allocation", "rebalance", "ticket", "history", "settings"):
        go(at, page)
        assert "SECRET" not in rendered(at), page


def test_every_page_renders_without_an_exception(ran: tuple[AppTest, str]) -> None:
    at, _ = ran
    for page, title in [
        ("client", "Client & holdings"),
        ("allocation", "Allocation"),
        ("rebalance", "Rebalance"),
        ("ticket", "Trade ticket"),
        ("history", "History"),
        ("settings", "Settings"),
    ]:
        go(at, page)
        assert texts(at, "title") == [title]


def test_model_override_refuses_vehicles_not_in_the_reference_data(at: AppTest) -> None:
    run(at)
    upload(at, SEED)
    at.session_state["model_editor"] = {
        "edited_rows": {"0": {"Vehicle": "zzzq"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    run(at)
    at.button(key="apply_model").click()
    run(at)
    assert "Not in the reference data, so they cannot be bought: ZZZQ." in texts(at, "error")


def test_a_new_client_starts_with_a_clean_mandate(at: AppTest) -> None:
    client_with_mandate(at)
    assert at.session_state["mandate"].esg_only is True
    schwab = SEED.parent / "schwab_single_account.csv"
    at.button(key="new_client").click()  # a new client is an explicit action
    run(at)
    upload(at, schwab)  # a different book: the previous client's mandate must not follow
    assert "mandate" not in at.session_state or at.session_state["mandate"] is None
    assert at.text_area(key="notes_box").value == ""
    assert at.checkbox[0].value is False  # ESG-only unticked again


def test_the_same_file_twice_is_counted_once(at: AppTest) -> None:
    run(at)
    upload(at, SEED, SEED)
    assert metrics(at)["Total value"] == "$500,000"
    assert any("is the same file as" in w for w in texts(at, "warning"))


def test_execute_refuses_buys_whose_sells_were_vetoed_and_records_nothing(
    ran: tuple[AppTest, str], ui_ledger: Ledger
) -> None:
    at, rid = ran
    go(at, "ticket")
    trades = ui_ledger.run(rid).trades
    sells = [t.trade_id for t in trades if t.action == "SELL"]
    buys = [t.trade_id for t in trades if t.action == "BUY"]
    ui_ledger.decide(rid, veto=sells[1:], by=ADVISOR)  # sells[0] stays undecided
    ui_ledger.decide(rid, approve=buys, by=ADVISOR)  # far more than the cash on hand
    run(at)
    # The downloads would hold orders that cannot be executed: they are off, and say why.
    for d in at.get("download_button")[:2]:
        assert d.proto.disabled
        assert d.proto.help.startswith("The approved trades do not stand on their own: ")
        assert "approved buys lack their cash" in d.proto.help
    before = len(ui_ledger.decisions(rid))
    at.button(key="execute").click()
    run(at)
    (err,) = texts(at, "error")
    assert err.startswith("The approved trades do not stand on their own")
    assert "approved buys lack their cash" in err and "vetoed" not in err
    assert len(ui_ledger.decisions(rid)) == before  # the undecided sell was not vetoed
    assert ui_ledger.run(rid).trades[0].decision is None
    assert ui_ledger.executions(rid) == []


def test_after_a_reload_the_run_in_the_address_bar_still_charts(
    ran: tuple[AppTest, str], new_app
) -> None:  # type: ignore[no-untyped-def]
    _, rid = ran
    fresh = new_app()  # a reloaded browser: a new session, only ?run= survives
    fresh.query_params["run"] = rid
    go(fresh, "allocation")
    assert len(fresh.get("plotly_chart")) == 5
    assert not any("Load a client's holdings" in i for i in texts(fresh, "info"))


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="Poppler's pdftotext is missing")
def test_the_client_proposal_of_a_run_quotes_its_plan(
    ran: tuple[AppTest, str], ui_ledger: Ledger, tmp_path: Path
) -> None:
    _, rid = ran
    run_ = ui_ledger.run(rid)
    doc = proposal_document(ui_ledger, run_, ui_ledger.proposal(rid), load_securities(), ADVISOR)
    plan = next(a for a in ui_ledger.agent_results(rid) if a.agent == "strategist")
    assert doc.rationale == plan.result["rationale"] and doc.narrative == plan.transcript
    assert doc.market_data_is_sample and doc.market_as_of is not None
    pdf = tmp_path / "proposal.pdf"
    pdf.write_bytes(build_proposal_pdf(doc))
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    flat = " ".join(out.stdout.split())
    assert " ".join(doc.rationale.split()) in flat
    assert f"Prepared for {doc.client} by {ADVISOR}" in flat
