"""Batch planning: the vectorised book plan, and the Dask path against one process."""

from __future__ import annotations

import pandas as pd
import pytest

from portfolio.batch import (
    dask_client,
    partitions,
    plan_book,
    plan_book_on_dask,
    proposals,
    proposals_on_dask,
)
from tests.book_samples import AS_OF, generated_book


def _engine_trades(book) -> pd.DataFrame:
    rows = []
    for hid, p in proposals(book, AS_OF).items():
        rows += [(hid, t.account, t.symbol, t.action, t.quantity) for t in p.trades]
    return pd.DataFrame(rows, columns=["household", "account", "symbol", "action", "quantity"])


def test_partitions_keep_order_and_cover_everything() -> None:
    items = list(range(11))
    parts = partitions(items, 4)
    assert [len(p) for p in parts] == [3, 3, 3, 2]
    assert [x for p in parts for x in p] == items
    assert partitions(items[:1], 4) == [[0]]


@pytest.mark.parametrize("chunk", [500, 4])
def test_book_plan_gives_each_household_the_engine_trades(chunk, monkeypatch) -> None:
    monkeypatch.setattr("portfolio.batch.CHUNK", chunk)
    book = generated_book(15, seed=5)
    keys = ["household", "account", "symbol", "action"]
    vec = plan_book(book, AS_OF)[[*keys, "quantity"]].sort_values(keys).reset_index(drop=True)
    eng = _engine_trades(book).sort_values(keys).reset_index(drop=True)
    assert len(eng) > 0
    pd.testing.assert_frame_equal(vec, eng, check_dtype=False)


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, processes=False) as c:
        yield c


def test_dask_gives_the_same_proposals_as_one_process(client) -> None:
    book = generated_book(9, seed=8)
    single = proposals(book, AS_OF)
    spread = proposals_on_dask(book, client, AS_OF)
    assert list(spread) == list(single)
    for hid in single:
        assert spread[hid].model_dump(mode="json") == single[hid].model_dump(mode="json")


def test_dask_gives_the_same_book_plan_as_one_process(client) -> None:
    book = generated_book(9, seed=9)
    pd.testing.assert_frame_equal(plan_book_on_dask(book, client, AS_OF), plan_book(book, AS_OF))
