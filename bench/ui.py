"""Benchmark the dashboard from a real browser (Debian's Chromium, headless, via Playwright).

Against `streamlit run app.py` on a free port with a fresh ledger, at the dashboard's own offline
pace unless --pace is given:

1. time to first paint: navigation start to the first page's title on screen (cold, then warm;
   aim under 2 s);
2. time from clicking "Run the crew" to the first words in an agent panel (aim under 1 s);
3. time from that click to the run's end, the "finished" message: the whole offline crew in the
   app (aim under 5 s);
4. an approve/veto click: click to the button showing the decision (aim under 300 ms), click
   to the decision being in the ledger, and the server's CPU time per click (read from /proc,
   from the click until the server is idle again, Streamlit's collection after the run included):
   the figure a busy, shared machine disturbs least.

Browser-side times come from `performance.now()` inside the page, so Playwright's own round trips
are not counted. Run from the repository root:  python bench/ui.py [--pace 0.7] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CHROMIUM, SAMPLES, AppServer, launch_chromium  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from portfolio.ledger import ledger_key, open_ledger  # noqa: E402

TITLE_SHOWN = """(title) => [...document.querySelectorAll('h1')]
  .some(h => h.innerText.trim() === title) ? performance.now() : false"""
CLICK = """(selector) => { const b = document.querySelector(selector);
  window.__t0 = performance.now(); b.click(); return window.__t0; }"""
FIRST_TOKEN = """() => [...document.querySelectorAll('[data-testid="stExpander"]')].some(e => {
  const body = e.querySelector('[data-testid="stExpanderDetails"]');
  return (e.querySelector('summary')?.innerText || '').includes('running') && body
    && body.innerText.trim().length > 0 && !body.querySelector('em');  // em: "Analyzing..."
}) ? performance.now() : false"""
FINISHED = """() => [...document.querySelectorAll('[data-testid="stAlertContentSuccess"]')]
  .some(a => a.innerText.includes('finished')) ? performance.now() : false"""
DECIDED = """([selector, kind]) => document.querySelector(selector)?.getAttribute('data-testid')
  === kind ? performance.now() : false"""
BUTTON = ".st-key-{key} [data-testid=stTooltipHoverTarget] button"


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, all its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid: int, quiet: float = 0.4) -> float:
    """The process's CPU time once it has used none for `quiet` seconds (its work is done)."""
    last, since = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.05)
        now = cpu_seconds(pid)
        if now != last:
            last, since = now, time.monotonic()
    return last


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def first_paint(page: Page, url: str) -> float:
    page.goto(url, wait_until="commit")
    shown = page.wait_for_function(
        TITLE_SHOWN, arg="Client & holdings", polling="raf", timeout=30_000
    ).json_value()
    return float(shown) / 1000  # performance.now() counts from navigation start


def nav(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    page.wait_for_function(TITLE_SHOWN, arg=title, timeout=30_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pace",
        type=float,
        default=None,
        help="seconds each offline answer streams for (default: the dashboard's own)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="warm page loads and clicks")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: install Debian's chromium package")

    rows: list[tuple[str, str, str]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        AppServer(Path(tmp), pace=args.pace) as app,
        sync_playwright() as pw,
    ):
        browser = launch_chromium(pw)

        # 1. First paint: a cold server (first session) and warm reloads in fresh tabs.
        loads = []
        for _ in range(args.repeats + 1):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            loads.append(first_paint(ctx.new_page(), app.url))
            ctx.close()
        rows.append(("First paint, cold server", ms(loads[0]), "1 load"))
        rows.append(
            (
                "First paint, warm",
                ms(statistics.median(loads[1:])),
                f"aim under 2 s; median of {args.repeats}, max {ms(max(loads[1:]))}",
            )
        )

        # The advisor's session up to the Run button.
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(30_000)
        page.goto(app.url)
        page.wait_for_function(TITLE_SHOWN, arg="Client & holdings")
        page.get_by_role("textbox", name="Advisor name").fill("Bench Advisor")
        page.get_by_role("textbox", name="Advisor name").press("Enter")
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            str(SAMPLES / "seed001_esg_moderate.csv")
        )
        page.get_by_role("heading", name="Import report").wait_for()
        nav(page, "Rebalance")
        page.get_by_role("button", name="Run the crew").wait_for()

        # 2 and 3. Run to the first streamed token and to the end.
        t0 = float(page.evaluate(CLICK, ".st-key-run_crew button"))
        first = float(
            page.wait_for_function(FIRST_TOKEN, polling="raf", timeout=30_000).json_value()
        )
        end = float(page.wait_for_function(FINISHED, polling=50, timeout=300_000).json_value())
        pace = "the app's" if args.pace is None else f"{args.pace:g} s per answer"
        rows.append(
            (
                "Run click to first words",
                ms((first - t0) / 1000),
                f"aim under 1 s; offline analyst, {pace} pace",
            )
        )
        rows.append(
            (
                "Run click to whole crew done",
                ms((end - t0) / 1000),
                "aim under 5 s; all five agents",
            )
        )

        # 4. Approve / veto clicks on the ticket.
        nav(page, "Trade ticket")
        ledger = open_ledger(app.db_url, key=ledger_key(folder=app.data_dir))
        run_id = ledger.runs(limit=1)[0].run_id
        n_trades = len(ledger.run(run_id).trades)
        on_screen, in_ledger, server_cpu = [], [], []
        pid = app.proc.pid  # type: ignore[attr-defined]
        for i in range(min(args.repeats, n_trades)):
            key = f"{'approve' if i % 2 == 0 else 'veto'}_T{i + 1}"
            sel = BUTTON.format(key=key)
            page.wait_for_selector(sel)
            before = len(ledger.decisions(run_id))
            cpu_before = idle_cpu(pid)
            clicked_at = time.time()
            t0 = float(page.evaluate(CLICK, sel))
            shown = float(
                page.wait_for_function(
                    DECIDED, arg=[sel, "stBaseButton-primary"], polling="raf"
                ).json_value()
            )
            on_screen.append((shown - t0) / 1000)
            server_cpu.append(idle_cpu(pid) - cpu_before)
            # The ledger's own timestamp on the decision, so no polling competes with the write.
            row = ledger.decisions(run_id)[before]
            in_ledger.append(datetime.fromisoformat(row.at).timestamp() - clicked_at)
        ledger.close()
        rows.append(
            (
                "Approve/veto click to button state",
                ms(statistics.median(on_screen)),
                f"aim under 300 ms; median of {len(on_screen)}, max {ms(max(on_screen))}",
            )
        )
        rows.append(
            (
                "Approve/veto click, server CPU",
                ms(statistics.median(server_cpu)),
                f"median of {len(server_cpu)}, max {ms(max(server_cpu))}",
            )
        )
        rows.append(
            (
                "Approve/veto click to ledger row",
                ms(statistics.median(in_ledger)),
                f"median of {len(in_ledger)}, max {ms(max(in_ledger))}",
            )
        )
        browser.close()

    width = max(len(r[0]) for r in rows)
    print(f"{'Measure':<{width}}  {'Time':>10}  Notes")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 30}")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
