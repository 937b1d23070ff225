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
from portfolio.models import Holdings
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


def _varied_book() -> list:
    """Lots without a basis, a date or a line, several lots a holding, none at all; a custodian's
    account-type text, an advisor's override, two mandates of one profile."""
    from datetime import timedelta

    from portfolio.models import ClientMandate, Lot

    out = []
    for k, h in enumerate(generated_book(24, seed=11)):
        positions = []
        for j, p in enumerate(h.holdings.positions):
            if p.is_cash:
                positions.append(p)
                continue
            lot = p.lots[0]
            half = p.quantity / 2
            lots = [
                [lot],
                [
                    Lot(quantity=half, cost_basis=None, acquired=lot.acquired, line=j + 3),
                    Lot(quantity=half, cost_basis=lot.cost_basis / 2, acquired=None),
                ],
                [
                    Lot(quantity=half, cost_basis=lot.cost_basis * 0.4, acquired=AS_OF, line=0),
                    Lot(
                        quantity=half,
                        cost_basis=lot.cost_basis * 0.7,
                        acquired=AS_OF - timedelta(days=12),
                        line=9,
                    ),
                ],
                [],
            ][(k + j) % 4]
            positions.append(p.model_copy(update={"lots": lots, "cost_basis": 1_000.0 + j}))
        holdings = h.holdings.model_copy(
            update={
                "positions": positions,
                "account_types": {"Roth IRA": "Roth IRA"} if k % 3 == 0 else {},
            }
        )
        update = {"holdings": holdings}
        if k % 4 == 1:
            update["account_types"] = {"Joint Taxable": "tax_deferred"}
        if k % 5 == 2:
            update["mandate"] = ClientMandate(risk_profile=h.mandate.risk_profile, cash_floor=0.04)
        out.append(h.model_copy(update=update))
    return out


def test_lot_columns_give_back_every_lot_exactly() -> None:
    from portfolio.book_columns import book_columns

    book = _varied_book()
    cols = book_columns(book)
    lots_of = cols.lots.reader()
    positions = [p for h in book for p in h.holdings.positions]
    assert any(lt.cost_basis is None for p in positions for lt in p.lots)
    assert any(lt.acquired is None for p in positions for lt in p.lots)
    for i, p in enumerate(positions):
        assert [lt.model_dump() for lt in lots_of(i)] == [lt.model_dump() for lt in p.lots]


def test_dask_gives_the_same_book_plan_on_varied_lots_and_account_types(client) -> None:
    from portfolio.batch import plan_columns
    from portfolio.book_columns import book_columns

    book = _varied_book()
    single = plan_book(book, AS_OF)
    assert single["lots"].map(len).gt(1).any()  # sales that name several lots
    pd.testing.assert_frame_equal(plan_book_on_dask(book, client, AS_OF, per_worker=3), single)
    pd.testing.assert_frame_equal(plan_columns(book_columns(book), AS_OF), single)


def test_a_run_of_households_is_a_book_of_its_own() -> None:
    from portfolio.batch import plan_columns
    from portfolio.book_columns import book_columns

    book = _varied_book()
    whole = book_columns(book)
    cut = [(0, 3), (3, 4), (4, len(book))]
    for a, b in cut:
        part = whole.households(a, b)
        alone = book_columns(book[a:b])
        assert part.ids == alone.ids and part.names == alone.names
        assert part.custodian_types == alone.custodian_types
        assert part.overrides == alone.overrides
        # Mandates stay indexed into the whole book's list: the same mandate either way.
        assert [part.mandate(k) for k in part.mandate_of] == [
            alone.mandate(k) for k in alone.mandate_of
        ]
        pd.testing.assert_frame_equal(part.positions, alone.positions)
        got, want = part.lots, alone.lots
        for name in (
            "start",
            "quantity",
            "cost_basis",
            "has_cost_basis",
            "acquired",
            "line",
            "has_line",
        ):
            assert (getattr(got, name) == getattr(want, name)).all(), name
        pd.testing.assert_frame_equal(plan_columns(part, AS_OF), plan_book(book[a:b], AS_OF))
    assert whole.households(2, 2).ids == [] and whole.households(2, 2).positions.empty


def test_dask_plans_a_book_of_columns_as_one_process(client) -> None:
    from portfolio.batch import plan_columns, plan_columns_on_dask
    from portfolio.book_columns import book_columns

    book = _varied_book()
    cols = book_columns(book)
    single = plan_columns(cols, AS_OF)
    assert len(single) > 0
    pd.testing.assert_frame_equal(plan_columns_on_dask(cols, client, AS_OF, per_worker=3), single)
    pd.testing.assert_frame_equal(single, plan_book(book, AS_OF))
    # More partitions asked than households: each household its own partition at most.
    few = book_columns(book[:2])
    pd.testing.assert_frame_equal(
        plan_columns_on_dask(few, client, AS_OF, per_worker=4), plan_columns(few, AS_OF)
    )


def _repriced_book():
    """Households whose export states its own price for the same funds (each off the reference
    data by a few percent): as a custodian's file of many accounts on different days would."""
    from tests.book_samples import position

    out = []
    for k, h in enumerate(generated_book(12, seed=9)):
        factor = 1 + 0.03 * (k % 5 - 2)
        positions = [
            p
            if p.is_cash
            else position(p.account, p.symbol, p.quantity, round(p.price * factor, 2), p.lots)
            for p in h.holdings.positions
        ]
        out.append(h.model_copy(update={"holdings": Holdings(positions=positions)}))
    return out


@pytest.mark.parametrize("chunk", [500, 4, 1])
def test_each_household_buys_at_its_own_prices_whatever_is_planned_beside_it(
    chunk, monkeypatch
) -> None:
    monkeypatch.setattr("portfolio.batch.CHUNK", chunk)
    book = _repriced_book()
    rows = []
    for hid, p in proposals(book, AS_OF).items():
        rows += [(hid, t.account, t.symbol, t.action, t.quantity, t.price) for t in p.trades]
    keys = ["household", "account", "symbol", "action"]
    eng = pd.DataFrame(rows, columns=[*keys, "quantity", "price"])
    vec = plan_book(book, AS_OF)[[*keys, "quantity", "price"]]
    # Some household buys a fund it does not hold that another household's rows price.
    held = {(h.id, p.symbol) for h in book for p in h.holdings.positions}
    bought_new = [
        (t.household, t.symbol) not in held for t in vec.itertuples() if t.action == "BUY"
    ]
    assert any(bought_new)
    pd.testing.assert_frame_equal(
        vec.sort_values(keys).reset_index(drop=True),
        eng.sort_values(keys).reset_index(drop=True),
        check_dtype=False,
    )


def test_dask_plans_repriced_households_as_one_process(client) -> None:
    from portfolio.batch import plan_columns, plan_columns_on_dask
    from portfolio.book_columns import book_columns

    cols = book_columns(_repriced_book())
    pd.testing.assert_frame_equal(
        plan_columns_on_dask(cols, client, AS_OF, per_worker=3), plan_columns(cols, AS_OF)
    )


def test_a_partition_that_plans_nothing_joins_the_others_unchanged(client) -> None:
    """Households holding only what cannot be traded plan no trade: their partition's empty
    frame must not change the joined frame's column types."""
    from portfolio.batch import plan_columns, plan_columns_on_dask
    from portfolio.book_columns import book_columns
    from tests.book_samples import position

    idle = [
        h.model_copy(
            update={
                "id": f"idle{k}",
                "holdings": Holdings(positions=[position("Joint", "ZZZQ", 10, 5.0)]),
            }
        )
        for k, h in enumerate(generated_book(2, seed=6))
    ]
    cols = book_columns([*generated_book(2, seed=6), *idle])
    single = plan_columns(cols, AS_OF)
    assert len(single) > 0 and set(single["household"]) <= {"H0000", "H0001"}
    assert single["household"].dtype == object and single["account"].dtype == object
    pd.testing.assert_frame_equal(plan_columns_on_dask(cols, client, AS_OF, per_worker=1), single)
    none = plan_columns(book_columns(idle), AS_OF)
    assert none.empty and none.dtypes.to_dict() == single.dtypes.to_dict()
    empty = plan_columns(book_columns([]), AS_OF)  # no household at all: the same columns
    assert empty.empty and empty.dtypes.to_dict() == single.dtypes.to_dict()


def test_a_cluster_made_for_a_batch_leaves_the_workers_allocator_as_glibc_sets_it(
    monkeypatch,
) -> None:
    """Dask sets MALLOC_TRIM_THRESHOLD_ in its workers, which pins glibc's threshold for fresh
    pages: a worker then faults its arrays in on every partition. A batch's own cluster does not
    set it; the thread settings Dask makes beside it stay. On that cluster of processes, trades
    cross between processes packed and come back as one process plans them."""
    import os

    from portfolio.batch import plan_columns, plan_columns_on_dask
    from portfolio.book_columns import book_columns

    # Unset here, and put back afterwards: the nanny sets Dask's variables in this process too.
    names = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    for name in (*names, "OPENBLAS_NUM_THREADS", "PYTHONHASHSEED"):
        monkeypatch.delenv(name, raising=False)
    cols = book_columns(generated_book(14, seed=9))
    with dask_client(workers=1) as c:
        env = c.run(lambda: {k: os.environ.get(k) for k in names})
        spread = plan_columns_on_dask(cols, c, AS_OF, per_worker=3)
    assert list(env.values()) == [
        {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    ]
    pd.testing.assert_frame_equal(spread, plan_columns(cols, AS_OF))


class _Cancelled:
    """A future as `as_completed` hands over one whose worker was lost: the cancellation is
    the result, not raised."""

    key = "k"
    status = "cancelled"

    def result(self) -> None:
        raise RuntimeError("lost scattered data")


def test_a_cancelled_partition_raises_its_own_reason_not_a_later_confusion() -> None:
    from portfolio.batch import _result, in_order

    arrivals = ((0, _result(f, r)) for f, r in [(_Cancelled(), ValueError("cancelled"))])
    with pytest.raises(RuntimeError, match="lost scattered data"):
        in_order(arrivals, 1)
    with pytest.raises(RuntimeError, match="partition 0 returned ValueError, not trades"):
        in_order([(0, ValueError("x"))], 1)


class _Future:
    def __init__(self, key: str, worker: str, result: object) -> None:
        self.key, self.worker, self.status, self.value = key, worker, "finished", result


class _FakeClient:
    """A client whose two workers finish in an order the test decides (`finish`)."""

    loop = None

    def __init__(self, finish) -> None:
        self.finish, self.sent = finish, []

    def scheduler_info(self) -> dict:
        return {"workers": {"b": {}, "a": {}}}

    def scatter(self, part, workers, direct, hash):
        return part

    def submit(self, fn, part, as_of, workers, pure):
        self.sent.append((len(self.sent), workers[0]))
        return _Future(f"k{len(self.sent)}", workers[0], fn(part, as_of))


class _Arrivals:
    """`as_completed` whose order the fake client's `finish` picks among the running futures."""

    def __init__(self, client: _FakeClient) -> None:
        self.client, self.running = client, []

    def add(self, future: _Future) -> None:
        self.running.append(future)

    def __iter__(self):
        while self.running:
            future = self.client.finish(self.running)
            self.running.remove(future)
            yield future, future.value


def test_the_worker_that_finishes_first_takes_the_next_partition(monkeypatch) -> None:
    import dask.distributed

    from portfolio.batch import _on_workers, plan_columns
    from portfolio.book_columns import book_columns

    cols = book_columns(generated_book(12, seed=4))
    runs = partitions(range(len(cols.ids)), 6)
    parts = [cols.households(r[0], r[-1] + 1) for r in runs]
    # Worker "a" is fast: whenever it has a partition running, it finishes first.
    client = _FakeClient(lambda running: next((f for f in running if f.worker == "a"), running[0]))
    monkeypatch.setattr(dask.distributed, "as_completed", lambda **kw: _Arrivals(client))
    got = _on_workers(client, iter(parts), AS_OF, ahead=2)
    # Two each at first (a, b, a, b); then every finish on "a" sends the next partition to "a".
    assert client.sent == [(0, "a"), (1, "b"), (2, "a"), (3, "b"), (4, "a"), (5, "a")]
    pd.testing.assert_frame_equal(got, plan_columns(cols, AS_OF))
