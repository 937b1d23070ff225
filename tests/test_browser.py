"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against the app.

One advisor's session end to end: name, upload, notes into the mandate, charts, a crew run whose
panels grow while they stream (and which goes on while the advisor looks elsewhere), approve one
trade and veto another, execute, the final status, the order file, and the decisions in the
ledger. A screenshot of each page is saved to docs/screenshots/ for the README.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CHROMIUM, REPO, SAMPLES, AppServer, launch_chromium
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not installed at {CHROMIUM} "
        "(scripts/setup_tests.sh installs it)",
    ),
]

SHOTS = REPO / "docs" / "screenshots"
ADVISOR = "Ada Lovelace"
VIEWPORT = {"width": 1400, "height": 1000}
STREAMING = [
    "Market Analysis Agent",
    "Risk Assessment Agent",
    "Trading Agent",
    "Compliance Checker",
]

# Length of an agent panel's body while its header says it is running (else false).
PANEL_TEXT = """([title, min, states]) => {
  const panel = [...document.querySelectorAll('[data-testid="stExpander"]')]
    .find(e => (e.querySelector('summary')?.innerText || '').includes(title));
  if (!panel) return false;
  const head = panel.querySelector('summary').innerText;
  const body = panel.querySelector('[data-testid="stExpanderDetails"]');
  const n = body ? body.innerText.trim().length : 0;
  return states.some(s => head.includes(s)) && n > min ? n : false;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    with AppServer(tmp_path_factory.mktemp("browser"), pace=0.01) as app:
        yield app


@pytest.fixture
def page(server: AppServer) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        browser.close()
        assert not errors, errors


def nav(page: Page, title: str) -> None:
    """Through the sidebar (pages also carry links with the same words)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()


def no_exception(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def shoot(page: Page, name: str) -> None:
    """The whole main area: Streamlit scrolls inside it, so the viewport grows to its height."""
    page.wait_for_load_state("networkidle")
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=30_000)
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        '\'[data-testid="stMain"], [data-testid="stMainBlockContainer"]\')]'
        ".map(e => e.scrollHeight))"
    )
    page.set_viewport_size(
        {"width": VIEWPORT["width"], "height": int(min(max(height + 80, VIEWPORT["height"]), 6000))}
    )
    page.wait_for_timeout(300)  # let plotly re-layout to the new size
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size(VIEWPORT)


def panel_length(page: Page, title: str, longer_than: int) -> int:
    """The panel's text length once it is longer than `longer_than`: first seen while the agent
    is running, then (growth) while running or just done. Later agents wait on earlier ones, so
    the wait is as long as a whole run may take on a busy machine."""
    states = ["running"] if longer_than == 0 else ["running", "done"]
    return int(
        page.wait_for_function(
            PANEL_TEXT, arg=[title, longer_than, states], timeout=120_000, polling=50
        ).json_value()
    )


def test_advisor_session_end_to_end(page: Page, server: AppServer, tmp_path: Path) -> None:
    from portfolio.ledger import ledger_key, open_ledger

    # ---- Client & holdings: who, the file, the notes, the mandate
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Client & holdings", level=1)).to_be_visible()
    expect(page.get_by_text("not authenticated")).to_be_visible()
    name_box = page.get_by_role("textbox", name="Advisor name")
    name_box.fill(ADVISOR)
    name_box.press("Enter")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        str(SAMPLES / "seed001_esg_moderate.csv")
    )
    expect(page.get_by_role("heading", name="Import report")).to_be_visible()
    metrics = page.locator('[data-testid="stMetric"]')
    expect(metrics.filter(has_text="Total value")).to_contain_text("$500,000")
    expect(metrics.filter(has_text="Rows with errors")).to_contain_text("0")
    notes = (SAMPLES / "seed001_notes.txt").read_text(encoding="utf-8").splitlines()[0]
    page.locator('textarea[aria-label="Client notes"]').fill(notes)
    page.get_by_role("button", name="Read notes into the mandate").click()
    expect(page.get_by_text("Read from the notes")).to_be_visible()
    expect(page.get_by_role("checkbox", name="ESG-only")).to_be_checked()
    page.get_by_role("button", name="Save mandate").click()
    expect(page.get_by_text("Mandate saved.")).to_be_visible()
    no_exception(page)
    shoot(page, "client")

    # ---- Allocation: the charts
    nav(page, "Allocation")
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(5)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    expect(page.get_by_text("Asset classes: current vs target")).to_be_visible()
    no_exception(page)

    # ---- Rebalance: run, watch the panels grow, leave mid-run, come back
    nav(page, "Rebalance")
    page.get_by_role("button", name="Run the crew").click()
    expect(page.get_by_text("is working")).to_be_visible()
    expect(page.get_by_role("button", name="Run the crew")).to_be_disabled()
    first = {t: panel_length(page, t, 0) for t in STREAMING[:2]}
    for title, n in first.items():  # both analysts stream at the same time
        assert panel_length(page, title, n) > n, title
    nav(page, "Allocation")  # the advisor looks elsewhere; the run goes on
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    nav(page, "Rebalance")
    for title in STREAMING[2:]:
        n = panel_length(page, title, 0)
        assert panel_length(page, title, n) > n, title
    done = page.locator('[data-testid="stAlertContentSuccess"]', has_text="finished")
    expect(done).to_be_visible(timeout=120_000)
    expect(done).to_contain_text("PENDING_REVIEW")
    panels = page.locator('[data-testid="stExpander"]')
    expect(panels).to_have_count(5)
    for i in range(5):
        expect(panels.nth(i).locator("summary")).to_contain_text("done")
        assert len(panels.nth(i).locator('[data-testid="stExpanderDetails"]').inner_text()) > 80
    no_exception(page)
    shoot(page, "rebalance")

    # The app's own key: it generated one in its data directory on start.
    ledger = open_ledger(server.db_url, key=ledger_key(folder=server.data_dir))
    try:
        (run_id,) = [r["run_id"] for r in ledger.runs(limit=5)]
        trades = {t["trade_id"]: t for t in ledger.run(run_id)["trades"]}

        # ---- Trade ticket: approve one, veto another, execute, download
        nav(page, "Trade ticket")
        # The keyed buttons; with help text each is wrapped in its tooltip's hover target.
        approve = page.locator(".st-key-approve_T1 [data-testid=stTooltipHoverTarget] button")
        veto = page.locator(".st-key-veto_T2 [data-testid=stTooltipHoverTarget] button")
        approve.hover()
        expect(page.get_by_text("Approve T1", exact=True)).to_be_visible()
        approve.click()
        expect(approve).to_have_attribute("data-testid", "stBaseButton-primary")
        expect(page.get_by_text(f"approved by {ADVISOR}")).to_be_visible()
        veto.click()
        expect(veto).to_have_attribute("data-testid", "stBaseButton-primary")
        expect(page.get_by_text(f"vetoed by {ADVISOR}")).to_be_visible()
        shoot(page, "ticket")
        page.get_by_role("button", name="Execute approved trades").click()
        final = page.get_by_text("Final status:")
        expect(final).to_be_visible()
        status = final.inner_text().removeprefix("Final status:").strip()
        assert status == ledger.run(run_id)["status"] == "PARTIALLY_EXECUTED"
        expect(page.get_by_role("button", name="Execute approved trades")).to_be_disabled()
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download order file (CSV)").click()
        order_file = tmp_path / dl.value.suggested_filename
        dl.value.save_as(order_file)
        assert order_file.name == f"orders-{run_id}.csv"
        rows = list(csv.reader(io.StringIO(order_file.read_text(encoding="utf-8"))))
        header, lines = rows[0], rows[1:]
        assert [h.lower() for h in header][:3] == ["account", "action", "symbol"]
        assert [(r[1], r[2]) for r in lines] == [(trades["T1"]["action"], trades["T1"]["symbol"])]
        assert float(lines[0][3]) == pytest.approx(trades["T1"]["quantity"])
        no_exception(page)

        # ---- The ledger has every click under the advisor's name
        decisions = ledger.decisions(run_id)
        mine = [(d["trade_id"], d["decision"], d["by"]) for d in decisions[:2]]
        assert mine == [("T1", "APPROVE", ADVISOR), ("T2", "VETO", ADVISOR)]
        assert all(d["by"] == ADVISOR for d in decisions)
        assert ledger.verify().ok
        executed = ledger.executions(run_id)
        assert {e["trade_id"] for e in executed} == {"T1"}
    finally:
        ledger.close()

    # ---- The after-trade view, the history and the settings
    nav(page, "Allocation")
    expect(page.get_by_text("After-trade view")).to_be_visible()
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(5)
    shoot(page, "allocation")
    nav(page, "History")
    expect(page.get_by_text("Audit chain verified")).to_be_visible()
    expect(page.get_by_role("combobox", name="Run")).to_have_value(re.compile(run_id))
    expect(page.get_by_text("Status PARTIALLY_EXECUTED")).to_be_visible()
    shoot(page, "history")
    nav(page, "Settings")
    expect(page.get_by_text("In use: offline analyst")).to_be_visible()
    no_exception(page)
    shoot(page, "settings")
