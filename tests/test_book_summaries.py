"""The Book page's stored figures, on SQLite and PostgreSQL: equal to summarising every household
afresh, and never used once the record, the day's look-back or the reference data they came from
moved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import update

from portfolio import book_summaries
from portfolio.book_columns import book_columns
from portfolio.book_runs import ledger_households
from portfolio.book_summaries import stored_book
from portfolio.harvest import lot_rows, scan, steady_until
from portfolio.ledger.clients import ClientRecords
from portfolio.ledger.schema import ClientRecordRow
from portfolio.models import Holdings, Lot
from portfolio.practice import columns_frame, summarise
from portfolio.securities import load_securities
from tests.book_samples import AS_OF, cash, generated_book, position

pytest_plugins = ["pg_server"]  # `ledger`: on SQLite and on a real PostgreSQL server


def _fill(ledger, n: int = 12) -> dict[str, int]:  # type: ignore[no-untyped-def]
    records = ClientRecords(ledger.engine)
    ids = {}
    for h in generated_book(n, seed=21):
        rec = records.create(f"Household {h.id}", owner=h.advisor, mandate=h.mandate)
        records.add_upload(rec.id, h.holdings, None, f"{h.id}.csv")
        ids[h.id] = rec.id
    # A recent purchase and a loss in taxable: the harvesting figures move with the day.
    rec = records.create("Recent buyer", owner="ann")
    recent = Lot(quantity=100, cost_basis=100 * 250.0, acquired=AS_OF - timedelta(days=10))
    older = Lot(quantity=50, cost_basis=50 * 500.0, acquired=AS_OF - timedelta(days=400))
    book = Holdings(
        positions=[
            position("Joint Taxable", "VTI", 100, 300.0, [recent]),
            position("Joint Taxable", "VTI", 50, 300.0, [older]),
            cash("Joint Taxable", 5_000),
        ]
    )
    records.add_upload(rec.id, book, None, "recent.csv")
    records.create("No holdings", owner="ann")
    ids["recent"] = rec.id
    return ids


def _afresh(ledger, as_of: date, may_see=lambda owner: True):  # type: ignore[no-untyped-def]
    return summarise(ledger_households(ledger, may_see), as_of=as_of)


def _same(got, want) -> None:  # type: ignore[no-untyped-def]
    pd.testing.assert_frame_equal(got.summary, want.summary)
    pd.testing.assert_frame_equal(
        got.drift.sort_index(axis=1), want.drift.sort_index(axis=1), check_names=False
    )


def test_stored_figures_equal_a_fresh_summary_and_are_read_without_the_books(
    ledger, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _fill(ledger)
    first = stored_book(ledger, as_of=AS_OF)
    assert first.computed == 13  # the record without holdings is no household
    _same(first, _afresh(ledger, AS_OF))
    # Read back: no book is read, no household summarised.
    monkeypatch.setattr(ClientRecords, "books", lambda *a, **k: pytest.fail("books read"))
    again = stored_book(ledger, as_of=AS_OF)
    assert again.computed == 0
    _same(again, first)


def test_who_may_see_and_last_runs_are_read_afresh(ledger) -> None:  # type: ignore[no-untyped-def]
    _fill(ledger)
    stored_book(ledger, as_of=AS_OF)
    only_bob = stored_book(ledger, lambda owner: owner == "bob", as_of=AS_OF)
    assert only_bob.computed == 0
    assert set(only_bob.summary["advisor"]) == {"bob"}
    _same(only_bob, _afresh(ledger, AS_OF, lambda owner: owner == "bob"))


def test_a_changed_record_is_summarised_again_even_stamped_by_a_lagging_clock(
    ledger,
) -> None:  # type: ignore[no-untyped-def]
    ids = _fill(ledger)
    stored_book(ledger, as_of=AS_OF)
    records = ClientRecords(ledger.engine)
    records.add_upload(
        ids["H0003"], Holdings(positions=[cash("Roth IRA", 1_000_000)]), None, "more.csv"
    )
    got = stored_book(ledger, as_of=AS_OF)
    assert got.computed == 1
    _same(got, _afresh(ledger, AS_OF))
    # Another server, its clock an hour behind, changes a record: an earlier stamp, still new.
    with ledger.engine.begin() as conn:
        conn.execute(
            update(ClientRecordRow)
            .where(ClientRecordRow.client_id == ids["H0005"])
            .values(updated_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert stored_book(ledger, as_of=AS_OF).computed == 1


def test_figures_hold_only_for_the_days_the_look_back_allows(ledger) -> None:  # type: ignore[no-untyped-def]
    ids = _fill(ledger)
    stored_book(ledger, as_of=AS_OF)
    # The recent lot is in the 30-day look-back up to 30 days after its purchase, so its loss
    # is not harvestable until the day after: the figures kept hold until then, not longer.
    last_day = AS_OF - timedelta(days=10) + timedelta(days=30)
    got = stored_book(ledger, as_of=last_day)
    _same(got, _afresh(ledger, last_day))
    assert got.summary.set_index("household").loc[str(ids["recent"]), "harvestable_loss"] == 0
    later = stored_book(ledger, as_of=last_day + timedelta(days=1))
    assert later.computed >= 1
    assert later.summary.set_index("household").loc[str(ids["recent"]), "harvestable_loss"] > 0
    _same(later, _afresh(ledger, last_day + timedelta(days=1)))
    # A day before the one they were computed for: computed again.
    assert stored_book(ledger, as_of=AS_OF - timedelta(days=1)).computed == 13


def test_new_reference_data_or_code_makes_every_figure_stale(ledger, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _fill(ledger)
    stored_book(ledger, as_of=AS_OF)
    monkeypatch.setattr(book_summaries, "basis", lambda: "another release")
    assert stored_book(ledger, as_of=AS_OF).computed == 13
    assert stored_book(ledger, as_of=AS_OF).computed == 0


def test_the_scan_answers_alike_on_every_day_until_steady_until() -> None:
    cols = book_columns(generated_book(15, seed=4))
    lots = lot_rows(columns_frame(cols, load_securities()), cols.lots)
    # Purchases spread over the last 60 days, so lots enter and leave the look-back.
    back = pd.Series(range(len(lots))) % 61
    lots["acquired"] = pd.to_datetime(AS_OF) - pd.to_timedelta(back.to_numpy(), unit="D")
    start = AS_OF - timedelta(days=45)
    until = steady_until(lots, start)
    cols = ["household", "account", "symbol", "loss", "harvestable", "wash_risk"]

    def by_household(day: date) -> dict[str, list[tuple]]:
        got = scan(lots, day, threshold=100.0)[cols].sort_values(cols[:3])
        return {h: list(map(tuple, g.to_numpy())) for h, g in got.groupby("household")}

    base = by_household(start)
    changed = set()
    for k in range(1, 80):
        day = start + timedelta(days=k)
        now = by_household(day)
        for hid in set(now) | set(base):
            if now.get(hid) != base.get(hid):
                changed.add(hid)
                assert hid in until and day >= until[hid], (hid, day, until.get(hid))
    assert changed  # the look-back did move some household's figures


def test_a_column_book_without_lot_arrays_is_summarised_from_its_stated_costs() -> None:
    """A plan's layout carries no lot arrays: each position stands as one lot of its stated
    cost, as a position without lots does."""
    from portfolio.practice import summarise_columns

    book = generated_book(6, seed=3)
    bare = [
        h.model_copy(
            update={
                "holdings": h.holdings.model_copy(
                    update={
                        "positions": [
                            p.model_copy(
                                update={
                                    "lots": [],
                                    "cost_basis": sum(lt.cost_basis or 0.0 for lt in p.lots)
                                    if p.lots
                                    else None,
                                }
                            )
                            for p in h.holdings.positions
                        ]
                    }
                )
            }
        )
        for h in book
    ]
    want = summarise(bare, as_of=AS_OF, harvest_threshold=0.0)
    got = summarise_columns(book_columns(bare, with_lots=False), as_of=AS_OF, harvest_threshold=0.0)
    assert len(want.harvest) > 0
    pd.testing.assert_frame_equal(
        got.summary.drop(columns=["last_run", "last_status"]),
        want.summary.drop(columns=["last_run", "last_status"]),
    )
    pd.testing.assert_frame_equal(got.harvest, want.harvest)
