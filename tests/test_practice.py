"""The book summary: one grouped pass over every household, figures as the engine's."""

from __future__ import annotations

import pytest

from portfolio.engine import rebalance
from portfolio.models import ClientMandate, Holdings
from portfolio.practice import HouseholdBook, filter_summary, summarise
from tests.book_samples import AS_OF, cash, generated_book, position


def test_drift_matches_the_engine_for_every_household() -> None:
    book = generated_book(12)
    view = summarise(book, as_of=AS_OF)
    for hh in book:
        p = rebalance(hh.holdings, hh.mandate, as_of=AS_OF)
        row = view.drift.loc[hh.id]
        for cls, w in p.asset_class_weights.items():
            assert row.get(cls, 0.0) == pytest.approx(w.drift, abs=1e-9), (hh.id, cls)
        s = view.summary.set_index("household").loc[hh.id]
        assert s["value"] == pytest.approx(p.total_value)
        out = sum(w.status != "in_band" for w in p.asset_class_weights.values())
        assert s["out_of_band"] == out


def test_same_account_names_in_two_households_stay_apart() -> None:
    a = HouseholdBook(id="A", holdings=Holdings(positions=[cash("Joint Taxable", 1000.0)]))
    b = HouseholdBook(
        id="B", holdings=Holdings(positions=[position("Joint Taxable", "VTI", 10, 100.0)])
    )
    view = summarise([a, b], as_of=AS_OF)
    s = view.summary.set_index("household")
    assert s.loc["A", "value"] == 1000.0 and s.loc["B", "value"] == 1000.0
    assert view.drift.loc["A", "cash"] == pytest.approx(1.0 - 0.02, abs=0.05)
    assert s.loc["A", "cash_above_band"] > 0 and s.loc["B", "cash_above_band"] == 0


def test_cap_breach_counts_a_stock_across_accounts() -> None:
    positions = [
        position("Joint Taxable", "AAPL", 10, 100.0),
        position("Roth IRA", "AAPL", 10, 100.0),
        position("Roth IRA", "VTI", 80, 100.0),
    ]
    capped = HouseholdBook(
        id="C",
        holdings=Holdings(positions=positions),
        mandate=ClientMandate(single_name_cap=0.15),
    )
    loose = HouseholdBook(
        id="D",
        holdings=Holdings(positions=positions),
        mandate=ClientMandate(single_name_cap=0.25),
    )
    s = summarise([capped, loose], as_of=AS_OF).summary.set_index("household")
    assert s.loc["C", "cap_breaches"] == 1
    assert s.loc["D", "cap_breaches"] == 0


def test_sorted_by_need_and_filtered() -> None:
    view = summarise(generated_book(20), as_of=AS_OF)
    need = view.summary["need"].to_numpy()
    assert (need[:-1] >= need[1:]).all()
    ann = filter_summary(view.summary, advisor="ann")
    assert len(ann) == 10 and set(ann["advisor"]) == {"ann"}
    oob = filter_summary(view.summary, out_of_band_only=True)
    assert (oob["out_of_band"] > 0).all()
    assert len(filter_summary(view.summary, status="none")) == 20
    assert filter_summary(view.summary, status="PENDING_REVIEW").empty


def test_duplicate_ids_and_empty_book() -> None:
    hh = generated_book(1)
    with pytest.raises(ValueError, match="share an id"):
        summarise(hh + hh, as_of=AS_OF)
    assert summarise([], as_of=AS_OF).summary.empty
