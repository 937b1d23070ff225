"""The Book page's summary from stored figures: only households whose record, day or reference
data moved are read and summarised again.

Reading 5,000 households' uploads and summarising them took about 2 s of the page's first visit
after a server start. Each household's figures (`practice.summarise`: value, worst drift, bands,
caps, cash, harvestable losses, and its drift row) are kept in `household_summaries` with what
they were computed from: the record's stamp, a digest of the reference data and of the code
(`basis`), and the days they hold (the harvesting scan reads the day only through its 30-day
look-back, `harvest.steady_until`). A first paint reads them in one query; names, owners (who
may see a household) and last runs are read afresh every time. The result equals
`summarise(ledger_households(...))` row for row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio.book_table import FIGURES, SUMMARY_COLUMNS
from portfolio.gc_pause import gc_paused
from portfolio.ledger import Ledger
from portfolio.ledger.summaries import HouseholdSummaries, ListedHousehold, NewFigures
from portfolio.securities import SecurityMaster

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StoredBook:
    """`summary` (SUMMARY_COLUMNS, most in need first) and `drift` (households x classes), as
    `practice.summarise` gives them; `computed`: the households summarised afresh."""

    summary: pd.DataFrame
    drift: pd.DataFrame
    computed: int


@lru_cache(maxsize=1)
def basis() -> str:
    """Digest of what a household's figures are computed from besides its record: the reference
    data (data/*.csv) and the code that reads it (portfolio/, planner included). A new release or
    a new price file makes every stored figure stale; a day's run does not."""
    digest = hashlib.blake2b(digest_size=16)
    files = sorted((ROOT / "data").glob("*.csv")) + sorted((ROOT / "portfolio").rglob("*.py"))
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _fresh(h: ListedHousehold, key: str, day: str) -> bool:
    s = h.stored
    return (
        s is not None
        and s.record_stamp == h.stamp
        and s.basis == key
        and s.as_of <= day
        and (s.until is None or day < s.until)
    )


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


@gc_paused()
def stored_book(
    ledger: Ledger,
    may_see: Callable[[str | None], bool] = lambda owner: True,
    *,
    as_of: date | None = None,
    securities: SecurityMaster | None = None,
) -> StoredBook:
    """The summary of every household `may_see(owner)` allows, from stored figures where they
    hold, and the figures of the others computed, stored and used."""
    from portfolio.book_runs import ledger_households
    from portfolio.practice import summarise

    as_of = as_of or date.today()
    day = as_of.isoformat()
    key = basis()
    store = HouseholdSummaries(ledger.engine)
    listed = [h for h in store.listing() if may_see(h.owner)]
    figures: dict[int, dict[str, Any]] = {}
    for h in listed:
        if _fresh(h, key, day):
            assert h.stored is not None
            figures[h.client_id] = json.loads(h.stored.figures)
    stale = {h.client_id: h for h in listed if h.client_id not in figures}
    if stale:
        # The stamps were read before these books: a record changed since keeps figures whose
        # stamp no longer matches, computed again next time.
        households = ledger_households(ledger, client_ids=list(stale))
        view = summarise(households, as_of=as_of, securities=securities)
        drift = view.drift
        new: list[NewFigures] = []
        for row in view.summary.itertuples(index=False):
            cid = int(row.household)
            got = {c: _plain(getattr(row, c)) for c in FIGURES}
            got["drift"] = {str(k): float(v) for k, v in drift.loc[row.household].items()}
            figures[cid] = got
            until = view.steady_until.get(row.household)
            new.append(
                NewFigures(
                    client_id=cid,
                    record_stamp=stale[cid].stamp,
                    basis=key,
                    as_of=day,
                    until=None if until is None else until.isoformat(),
                    figures=json.dumps(got),
                )
            )
        store.save(new)
    shown = [h for h in listed if h.client_id in figures]
    if not shown:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
        return StoredBook(empty, pd.DataFrame(), len(stale))
    ids = [str(h.client_id) for h in shown]
    columns: dict[str, list[Any]] = {
        "household": ids,
        "name": [h.name or str(h.client_id) for h in shown],
        "advisor": [h.owner for h in shown],
    }
    for c in FIGURES:
        columns[c] = [figures[h.client_id][c] for h in shown]
    columns["last_run"] = [h.last_run for h in shown]
    columns["last_status"] = [h.last_status for h in shown]
    summary = pd.DataFrame(columns)[SUMMARY_COLUMNS]
    summary = summary.sort_values(
        ["need", "value"], ascending=[False, False], kind="stable"
    ).reset_index(drop=True)
    drift = pd.DataFrame.from_records(
        [figures[h.client_id]["drift"] for h in shown],
        index=pd.Index(ids, name="household"),
    ).fillna(0.0)
    return StoredBook(summary, drift, len(stale))


__all__ = ["StoredBook", "basis", "stored_book"]
