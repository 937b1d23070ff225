"""The Book page's first paint for a whole practice, from a real browser.

A ledger is filled with N client records (the households of `bench/book.py`: two or three
accounts of model funds and stocks, one lot each, some swept cash), each with its upload, as the
Client page would keep them (not timed). Then, against `streamlit run app.py` on that ledger:

1. reading the book in one process (`ledger_households`: every record's assembled uploads), and
   summarising it (`practice.summarise`), to show where the page's time goes without stored
   figures; then each household's figures computed and stored (`book_summaries.stored_book`), as
   an earlier visit of the day leaves them, and read back (unless `--no-stored`);
2. first paint in Debian's Chromium (headless, via Playwright): navigation start to the Book
   page's table on screen, and to its heat map: on a first visit (server and browser cold); in
   new tabs of that browser (new sessions, the app's scripts cached, as an advisor's browser
   has them); in new browsers (nothing cached); and the Client page in a new tab as the
   machine's floor. Aim: under 2 s with 5,000 households.

Browser-side times come from `performance.now()` inside the page. Run from the repository root:
    python bench/book_page.py [--households 5000] [--data DIR] [--no-stored]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from book import AS_OF, generate  # noqa: E402
from conftest import CHROMIUM, AppServer, launch_chromium  # noqa: E402
from playwright.sync_api import BrowserContext, sync_playwright  # noqa: E402
from sqlalchemy import text  # noqa: E402

from portfolio.book_runs import ledger_households  # noqa: E402
from portfolio.book_summaries import stored_book  # noqa: E402
from portfolio.ledger import open_ledger  # noqa: E402
from portfolio.ledger.clients import ClientRecords  # noqa: E402
from portfolio.practice import summarise  # noqa: E402

TITLE_SHOWN = """(title) => [...document.querySelectorAll('h1')]
  .some(h => h.innerText.trim() === title) ? performance.now() : false"""
# The households' table on screen: the page's own rows, as Markdown or in the sortable grid.
TABLE_SHOWN = """() => {
  const h = [...document.querySelectorAll('h1')].some(e => e.innerText.trim() === 'Book');
  const grid = document.querySelector(
    '[data-testid="stMarkdownContainer"] table, [data-testid="stDataFrame"]');
  return h && grid && grid.getBoundingClientRect().height > 0 ? performance.now() : false;
}"""
VIEWPORT = {"width": 1400, "height": 1000}
REPEATS = 3
HEAT_SHOWN = """() => document.querySelector('[data-testid="stPlotlyChart"] .main-svg')
  ? performance.now() : false"""


def fill(data: Path, n: int) -> None:
    import os

    os.environ["REBALANCE_DATA_DIR"] = str(data)
    ledger = open_ledger(f"sqlite:///{data / 'ledger.db'}")
    records = ClientRecords(ledger.engine)
    for h in generate(n * 5 // 2)[:n]:
        rec = records.create(f"Household {h.id}", owner=h.advisor, mandate=h.mandate)
        records.add_upload(rec.id, h.holdings, None, f"{h.id}.csv")
    ledger.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=5_000)
    ap.add_argument(
        "--data", type=Path, help="a data directory filled before (its ledger.db is reused)"
    )
    ap.add_argument(
        "--no-stored",
        action="store_true",
        help="start the server with no household figures stored (as on a new day's first visit "
        "when every household's look-back moved, or after a new release)",
    )
    args = ap.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"Chromium is not installed at {CHROMIUM}")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        if not (data / "ledger.db").exists():
            t0 = time.perf_counter()
            fill(data, args.households)
            took = time.perf_counter() - t0
            print(f"ledger filled with {args.households:,} clients in {took:.1f} s")

        ledger = open_ledger(f"sqlite:///{data / 'ledger.db'}")
        t0 = time.perf_counter()
        households = ledger_households(ledger)
        read = time.perf_counter() - t0
        t0 = time.perf_counter()
        summarise(households, as_of=AS_OF)
        summary = time.perf_counter() - t0
        print(f"reading the book: {read:.2f} s; summary: {summary:.2f} s")
        # The figures the page keeps per household, for the day the server will show.
        with ledger.engine.begin() as conn:
            conn.execute(text("DELETE FROM household_summaries"))
        if not args.no_stored:
            t0 = time.perf_counter()
            n = stored_book(ledger, as_of=date.today()).computed
            stored = time.perf_counter() - t0
            t0 = time.perf_counter()
            stored_book(ledger, as_of=date.today())
            print(
                f"figures of {n:,} households computed and stored in {stored:.2f} s, "
                f"read back in {time.perf_counter() - t0:.2f} s"
            )
        else:
            print("no figures stored: the first visit reads and summarises every household")
        ledger.close()

        with AppServer(data, pace=None) as app, sync_playwright() as pw:
            browser = launch_chromium(pw)
            cold = browser.new_context(viewport=VIEWPORT)
            shown, heat = visit(cold, f"{app.url}/book")
            print(
                f"book page, first visit (server and browser cold): table {shown:.2f} s, "
                f"heat map {heat:.2f} s"
            )
            # An advisor's browser keeps the app's scripts (hashed files, cached); each new tab
            # is a new session of the server, which keeps the book while the ledger is unchanged.
            tabs = [visit(cold, f"{app.url}/book") for _ in range(REPEATS)]
            fresh = [
                visit(browser.new_context(viewport=VIEWPORT), f"{app.url}/book")
                for _ in range(REPEATS)
            ]
            floor = [
                visit(cold, app.url, TITLE_SHOWN, "Client & holdings")[0] for _ in range(REPEATS)
            ]
            for label, got in (
                ("new tab, server warm, scripts cached", tabs),
                ("new browser, server warm, nothing cached", fresh),
            ):
                print(
                    f"book page, {label}: table {median(t for t, _ in got):.2f} s, "
                    f"heat map {median(h for _, h in got):.2f} s (median of {REPEATS})"
                )
            table = median(t for t, _ in tabs)
            print(
                f"client page in a new tab (reads no book): {median(floor):.2f} s; "
                f"book page / client page: {table / median(floor):.1f}x"
            )
            browser.close()


def visit(
    context: BrowserContext, url: str, shown: str = TABLE_SHOWN, arg: str | None = None
) -> tuple[float, float]:
    """Seconds from the navigation's start (performance.now()) to `shown`, and to the heat map
    when the page has one."""
    page = context.new_page()
    page.goto(url, wait_until="commit")
    seen = page.wait_for_function(shown, arg=arg, polling="raf", timeout=600_000).json_value()
    heat = seen
    if shown == TABLE_SHOWN:
        heat = page.wait_for_function(HEAT_SHOWN, polling="raf", timeout=600_000).json_value()
    page.close()
    return seen / 1000, heat / 1000


if __name__ == "__main__":
    main()
