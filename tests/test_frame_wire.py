"""A trades frame packed for the trip back from a Dask worker: nothing may change on the way."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.batch import in_order, plan_columns
from portfolio.book_columns import book_columns
from portfolio.frame_wire import Coded, concat, pack, unpack
from tests.book_samples import AS_OF, generated_book


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal frames, and None stays None and NaN stays NaN (assert_frame_equal takes them
    as equal)."""
    pd.testing.assert_frame_equal(a, b)
    for col in a.columns:
        if a[col].dtype == object:
            kinds = [type(x) for x in a[col].tolist()]
            assert kinds == [type(x) for x in b[col].tolist()], col


@pytest.fixture(scope="module")
def trades() -> pd.DataFrame:
    plan = plan_columns(book_columns(generated_book(12, seed=3)), AS_OF)
    assert len(plan) > 20 and (plan["lots"].map(len) > 0).any()
    return plan


def test_a_book_plan_comes_back_as_it_left(trades) -> None:
    packed = pickle.loads(pickle.dumps(pack(trades), protocol=5))
    _same(unpack(packed), trades)


def test_text_travels_as_codes_and_everything_else_as_it_is(trades) -> None:
    kinds = dict(pack(trades).columns)
    for name in ("household", "account", "symbol", "action", "asset_class", "reason"):
        coded = kinds[name]
        assert isinstance(coded, Coded), name
        assert coded.codes.dtype == np.int32
        assert len(set(coded.uniques.tolist())) == len(coded.uniques)  # each text once
        assert coded.uniques.tolist() == list(dict.fromkeys(trades[name].tolist()))
    for name in ("quantity", "price", "value", "forced", "lots", "wash_deferred"):
        assert kinds[name] is trades[name] or kinds[name].equals(trades[name]), name
    assert not isinstance(kinds["lots"], Coded)  # a sale's lots are not text


def test_packed_trades_are_smaller_than_the_frame(trades) -> None:
    # Copies that share no string, as a worker's trades share few (pickle writes a shared
    # object once).
    book = pd.concat([pickle.loads(pickle.dumps(trades)) for _ in range(20)], ignore_index=True)
    assert len(pickle.dumps(pack(book), protocol=5)) < len(pickle.dumps(book, protocol=5)) / 2


def test_a_column_with_a_missing_or_non_text_value_is_not_coded() -> None:
    index = pd.Index([7, 3, 5], name="row")
    texts = {
        "with_none": ["a", None, "a"],
        "with_nan": ["a", float("nan"), "b"],
        "mixed": ["a", 1, "a"],
        "text": ["x", "y", "x"],
    }
    frame = pd.DataFrame(
        {k: pd.Series(v, index=index, dtype=object) for k, v in texts.items()}
        | {"n": pd.Series([1.0, float("nan"), 3.0], index=index)}
    )
    kinds = dict(pack(frame).columns)
    assert isinstance(kinds["text"], Coded)
    assert not any(isinstance(kinds[c], Coded) for c in ("with_none", "with_nan", "mixed"))
    back = unpack(frame.pipe(pack))
    _same(back, frame)
    assert back["with_none"].iloc[1] is None and math.isnan(back["with_nan"].iloc[1])
    assert list(back.index) == [7, 3, 5] and back.index.name == "row"


def test_parts_join_as_pd_concat_joins_them(trades) -> None:
    a, b, c = trades.iloc[:10], trades.iloc[10:10], trades.iloc[10:]
    odd = c.copy()
    odd["reason"] = [None, *odd["reason"].tolist()[1:]]  # coded in two parts, not this one
    for parts in ([a, b, c], [a, odd], [b], [c, a, c]):
        want = pd.concat(parts, ignore_index=True)
        _same(concat([pack(p) for p in parts]), want)
    assert concat([]).empty


def test_an_empty_part_leaves_the_others_text_coded(trades, monkeypatch) -> None:
    """A partition that plans nothing must not send every other partition's text the slow
    way: only parts with rows decide whether a column joins as codes."""
    import portfolio.frame_wire as wire

    slow: list[str] = []
    series = wire._series
    monkeypatch.setattr(wire, "_series", lambda c, i: slow.append("x") or series(c, i))
    parts = [trades.iloc[:7], trades.iloc[7:7], trades.iloc[7:]]
    _same(concat([pack(p) for p in parts]), trades.reset_index(drop=True))
    coded = sum(isinstance(c, Coded) for _, c in pack(trades).columns)
    assert len(slow) == 3 * (len(trades.columns) - coded)  # only the columns never coded


def test_parts_with_other_columns_are_refused(trades) -> None:
    swapped = trades[[trades.columns[1], trades.columns[0], *trades.columns[2:]]]
    with pytest.raises(ValueError, match="parts differ in columns"):
        concat([pack(trades), pack(swapped)])


def test_trades_arriving_in_any_order_join_in_the_partitions_order(trades) -> None:
    parts = [trades.iloc[:5], trades.iloc[5:5], trades.iloc[5:17], trades.iloc[17:]]
    packed = [pack(p) for p in parts]
    for arrival in ([3, 2, 1, 0], [2, 0, 3, 1], [0, 1, 2, 3]):
        got = in_order(((i, packed[i]) for i in arrival), len(parts))
        _same(got, trades.reset_index(drop=True))


def test_a_partition_that_never_arrives_is_an_error_not_a_shorter_plan(trades) -> None:
    packed = pack(trades)
    with pytest.raises(RuntimeError, match=r"partitions \[1\]"):
        in_order([(0, packed), (2, packed)], 3)


_texts = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["BUY", "SELL", "Joint"]),
    st.integers(min_value=0, max_value=2),
    st.just(float("nan")),
)


@settings(max_examples=150, deadline=None)
@given(
    columns=st.lists(st.lists(_texts, min_size=0, max_size=12), min_size=1, max_size=4),
    cut=st.integers(min_value=0, max_value=12),
)
def test_any_text_columns_come_back_unchanged(columns, cut) -> None:
    n = min(len(c) for c in columns)
    frame = pd.DataFrame(
        {f"c{k}": pd.Series(c[:n], dtype=object) for k, c in enumerate(columns)}
        | {"x": np.arange(n, dtype=float)}
    )
    _same(unpack(pickle.loads(pickle.dumps(pack(frame)))), frame)
    parts = [frame.iloc[: min(cut, n)], frame.iloc[min(cut, n) :]]
    _same(concat([pack(p) for p in parts]), frame)
