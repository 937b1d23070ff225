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
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CHROMIUM, REPO, SAMPLES, AppServer, launch_chromium, press
from openai_stub_server import StubOpenAI
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from agents.pipeline import TITLES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not installed at {CHROMIUM} "
        "(scripts/setup_tests.sh installs it)",
    ),
]

SHOTS = REPO / "docs" / "screenshots"
# A shared machine may take seconds to draw a page: waits keep a wide margin.
expect.set_options(timeout=20_000)
ADVISOR = "Ada Lovelace"
VIEWPORT = {"width": 1400, "height": 1000}
STREAMING = [
    "Market Analysis Agent",
    "Risk Assessment Agent",
    "Trading Agent",
    "Tax Agent",
    "Compliance Checker",
]

# Length of an agent panel's words while its header shows one of `states` (else false).
PANEL_TEXT = """([title, min, states]) => {
  const panel = [...document.querySelectorAll('[data-testid="stExpander"]')]
    .find(e => (e.querySelector('summary')?.innerText || '').includes(title));
  if (!panel) return false;
  const head = panel.querySelector('summary').innerText;
  const body = panel.querySelector('[data-testid="stExpanderDetails"]');
  // Before its first words a panel shows its activity in italics: that is not words yet.
  const paras = body ? [...body.querySelectorAll('[data-testid="stMarkdownContainer"] p')] : [];
  const waiting = paras.length === 1 && paras[0].querySelector(':scope > em:only-child')
    && paras[0].textContent.trim() === paras[0].querySelector('em').textContent.trim();
  // A running panel is open, so its words must be visible; a finished one folds while the crew
  // works on, so its words are counted whether or not it is open.
  const text = !body || waiting ? '' : head.includes('running') ? body.innerText : body.textContent;
  const n = text.trim().length;
  return states.some(s => head.includes(s)) && n > min ? n : false;
}"""


@pytest.fixture(scope="module")
def model_server() -> Iterator[StubOpenAI]:
    """The agents' model: an OpenAI-compatible server that writes the offline analyst's answers
    and holds each one halfway until the test lets it finish, so the test sees every agent at
    work however fast or slow this machine is."""
    with StubOpenAI(hold=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, model_server: StubOpenAI
) -> Iterator[AppServer]:
    with AppServer(tmp_path_factory.mktemp("browser"), llm_base_url=model_server.base_url) as app:
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
        # Every asset is served by the app itself: nothing is fetched from the internet.
        outside: list[str] = []
        page.on(
            "request",
            lambda r: (
                None if r.url.startswith((server.url, "data:", "blob:")) else outside.append(r.url)
            ),
        )
        yield page
        browser.close()
        assert not errors, errors
        assert not outside, outside


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
    is running (its answer is held halfway), then (growth) while running or just done."""
    states = ["running"] if longer_than == 0 else ["running", "done"]
    try:
        found = page.wait_for_function(
            PANEL_TEXT, arg=[title, longer_than, states], timeout=120_000, polling=50
        )
    except PlaywrightTimeout:
        heads = page.locator('[data-testid="stExpander"] summary').all_inner_texts()
        pytest.fail(
            f"{title!r} never showed more than {longer_than} characters while {states}; "
            f"panels: {heads}; page: {page.locator('[data-testid=stMain]').inner_text()[:2000]!r}"
        )
    return int(found.json_value())


def test_advisor_session_end_to_end(
    page: Page, server: AppServer, model_server: StubOpenAI, tmp_path: Path
) -> None:
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
    press(page, "Read notes into the mandate")
    expect(page.get_by_text("Read from the notes")).to_be_visible()
    expect(page.get_by_role("checkbox", name="ESG-only")).to_be_checked()
    press(page, "Save mandate")
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
    press(page, "Run the crew")
    expect(page.get_by_text("is working")).to_be_visible()
    expect(page.get_by_role("button", name="Run the crew")).to_be_disabled()
    # Both analysts' answers are held halfway at the same time: the crew runs them together,
    # and both panels show their words while they work.
    model_server.wait_held(2, total=2)
    first = {t: panel_length(page, t, 0) for t in STREAMING[:2]}
    model_server.release(2)
    for title, n in first.items():
        assert panel_length(page, title, n) > n, title
    model_server.wait_held(1, total=3)  # the trading agent, halfway through its words
    n = panel_length(page, STREAMING[2], 0)
    model_server.release()
    assert panel_length(page, STREAMING[2], n) > n, STREAMING[2]
    model_server.wait_held(1, total=4)  # the tax agent, halfway through its words
    n = panel_length(page, STREAMING[3], 0)
    model_server.release()
    assert panel_length(page, STREAMING[3], n) > n, STREAMING[3]
    # The last agent is at work: the advisor looks elsewhere, and the run goes on.
    model_server.wait_held(1, total=5)
    panel_length(page, STREAMING[4], 0)
    nav(page, "Allocation")
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    nav(page, "Rebalance")
    n = panel_length(page, STREAMING[4], 0)  # still at work, its words still shown
    model_server.release()
    assert panel_length(page, STREAMING[4], n) > n, STREAMING[4]
    done = page.locator('[data-testid="stAlertContentSuccess"]', has_text="finished")
    expect(done).to_be_visible(timeout=120_000)
    expect(done).to_contain_text("awaiting your review")
    # The agents' panels (the profiler's mandate table has an expander of its own inside).
    panels = page.locator('[data-testid="stExpander"]').filter(
        has=page.locator("summary", has_text=" — ")
    )
    expect(panels).to_have_count(len(TITLES))
    for i in range(len(TITLES)):
        expect(panels.nth(i).locator("summary").first).to_contain_text("done")
        # Waits for the panel's body to be drawn, then for its words.
        body = panels.nth(i).locator('[data-testid="stExpanderDetails"]').first
        expect(body).to_have_text(re.compile(r"\S[\s\S]{80,}"))
    no_exception(page)
    shoot(page, "rebalance")

    # The app's own key: it generated one in its data directory on start.
    ledger = open_ledger(server.db_url, key=ledger_key(folder=server.data_dir))
    try:
        (run_id,) = [r.run_id for r in ledger.runs(limit=5)]
        trades = {t.trade_id: t for t in ledger.run(run_id).trades}

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
        press(page, "Execute approved trades")
        n = len(trades)
        expect(page.get_by_text(f"Executed 1 of {n} trades; you vetoed {n - 1}.")).to_be_visible()
        assert ledger.run(run_id).status == "PARTIALLY_EXECUTED"
        expect(page.get_by_role("button", name="Execute approved trades")).to_be_disabled()
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download order file (CSV)").click()
        order_file = tmp_path / dl.value.suggested_filename
        dl.value.save_as(order_file)
        assert order_file.name == f"orders-{run_id}.csv"
        rows = list(csv.reader(io.StringIO(order_file.read_text(encoding="utf-8"))))
        header, lines = rows[0], rows[1:]
        assert [h.lower() for h in header][:3] == ["account", "action", "symbol"]
        assert [(r[1], r[2]) for r in lines] == [(trades["T1"].action, trades["T1"].symbol)]
        assert float(lines[0][3]) == pytest.approx(trades["T1"].quantity)
        # The client proposal, built on the click.
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download client proposal (PDF)").click()
        pdf = tmp_path / dl.value.suggested_filename
        dl.value.save_as(pdf)
        assert pdf.name == f"proposal-{run_id}.pdf" and pdf.read_bytes().startswith(b"%PDF")
        if shutil.which("pdftotext"):
            out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True)
            flat = " ".join(out.stdout.split())
            assert f"by {ADVISOR}" in flat and "Tax impact" in flat and "Disclosures" in flat
        no_exception(page)

        # ---- The ledger has every click under the advisor's name
        decisions = ledger.decisions(run_id)
        mine = [(d.trade_id, d.decision, d.by) for d in decisions[:2]]
        assert mine == [("T1", "APPROVE", ADVISOR), ("T2", "VETO", ADVISOR)]
        assert all(d.by == ADVISOR for d in decisions)
        assert ledger.verify().ok
        executed = ledger.executions(run_id)
        assert {e.trade_id for e in executed} == {"T1"}
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
    expect(page.get_by_text(re.compile(r"Executed in part · source file"))).to_be_visible()
    shoot(page, "history")
    nav(page, "Settings")
    # The agents' model is the test's OpenAI-compatible server, named as configured.
    expect(page.get_by_text("In use: openai-compatible (local-model at")).to_be_visible()
    no_exception(page)
    shoot(page, "settings")
