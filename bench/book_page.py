"""The Book page's first paint for a whole practice, from a real browser.

A ledger is filled with N client records (the households of `bench/book.py`: two or three
accounts of model funds and stocks, one lot each, some swept cash), each with its upload, as the
Client page would keep them (not timed). Then, against `streamlit run app.py` on that ledger:

1. reading the book in one process (`ledger_households`: every record's assembled uploads), and
   summarising it (`practice.summarise`), to show where the page's time goes;
2. first paint in Debian's Chromium (headless, via Playwright): navigation start to the Book
   page's table on screen, on a first visit and again in a new session once the server is warm.
   Aim: under 2 s with 5,000 households.

Browser-side times come from `performance.now()` inside the page. Run from the repository root:
    python bench/book_page.py [--households 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from book import AS_OF, generate  # noqa: E402
from conftest import CHROMIUM, AppServer, launch_chromium  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from portfolio.book_runs import ledger_households  # noqa: E402
from portfolio.ledger import open_ledger  # noqa: E402
from portfolio.ledger.clients import ClientRecords  # noqa: E402
from portfolio.practice import summarise  # noqa: E402

TITLE_SHOWN = """(title) => [...document.querySelectorAll('h1')]
  .some(h => h.innerText.trim() === title) ? performance.now() : false"""
# The households' table on screen: the page's own rows, static or in the interactive grid.
TABLE_SHOWN = """() => {
  const h = [...document.querySelectorAll('h1')].some(e => e.innerText.trim() === 'Book');
  const grid = document.querySelector('[data-testid="stTable"], [data-testid="stDataFrame"]');
  return h && grid && grid.getBoundingClientRect().height > 0 ? performance.now() : false;
}"""
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
        ledger.close()
        print(f"reading the book: {read:.2f} s; summary: {summary:.2f} s")

        with AppServer(data, pace=None) as app, sync_playwright() as pw:
            browser = launch_chromium(pw)
            # performance.now() counts from the navigation's start.
            for label in ("first visit", "second visit, server warm"):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{app.url}/book", wait_until="commit")
                shown = page.wait_for_function(
                    TABLE_SHOWN, polling="raf", timeout=600_000
                ).json_value()
                heat = page.wait_for_function(
                    HEAT_SHOWN, polling="raf", timeout=600_000
                ).json_value()
                print(
                    f"book page first paint ({label}): {shown / 1000:.2f} s; "
                    f"heat map drawn: {heat / 1000:.2f} s"
                )
                page.close()
            # The same machine's floor: the first page of the app, which reads no book.
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(app.url, wait_until="commit")
            floor = page.wait_for_function(
                TITLE_SHOWN, arg="Client & holdings", polling="raf", timeout=600_000
            ).json_value()
            print(
                f"client page first paint (no book read): {floor / 1000:.2f} s; "
                f"book page / client page: {shown / floor:.1f}x"
            )
            browser.close()


if __name__ == "__main__":
    main()
