"""Batch planning of a book: each household's proposal from the engine, in one process or on Dask.

`proposals` calls `engine.rebalance` once per household: the proposal a saved run carries,
identical whichever process computed it. `plan_book` is the vectorised planner on the whole
book (one `plan_trades` call per distinct mandate, households kept apart by a `household`
column): the trades every household needs, for a nightly queue, without building proposals.

On Dask (`dask.distributed`) the same function runs per partition of households; the results
come back to the caller, which alone writes the ledger. The scheduler is a `LocalCluster` unless
an address is given (`--scheduler tcp://host:8786` or `REBALANCE_DASK_SCHEDULER`). A book plan's
partitions travel as columns (`book_columns.BookColumns`: a positions frame and lot arrays,
pickled as buffers) and its trades come back packed (`frame_wire`: text as codes), each fetched
as soon as it is planned; proposals travel as pydantic JSON.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from portfolio.book import enrich, text_column
from portfolio.book_columns import BookColumns, book_columns
from portfolio.engine import rebalance
from portfolio.frame_wire import PackedFrame, concat, pack
from portfolio.gc_pause import gc_paused
from portfolio.model_portfolios import load_model
from portfolio.models import Lot, PortfolioCheck, RebalanceProposal
from portfolio.planner import TRADE_COLUMNS, plan_trades, sleeve_vehicles
from portfolio.practice import HouseholdBook
from portfolio.securities import SecurityMaster, load_securities
from portfolio.targets import reassign_unbuyable, target_weights

SCHEDULER_ENV = "REBALANCE_DASK_SCHEDULER"
SEP = "\x1f"  # joins household and account into one key no custodian's name contains
CHUNK = 500  # households per planner call

T = TypeVar("T")

# Dask starts its workers with MALLOC_TRIM_THRESHOLD_ set, to hand freed memory back to the
# system at once. Setting it also fixes glibc's threshold for serving large blocks from fresh
# pages, which otherwise rises as large blocks are freed: a worker planning a partition then
# faults its arrays' pages in again and again (200,000 accounts on two workers: 205,000 page
# faults and 1.1 to 1.4 s of system time a worker; 37,000 and 0.2 s with it unset, as one
# process). The cluster made here lives for one batch, so its workers keep glibc's behaviour.
_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


def proposals(
    households: Sequence[HouseholdBook], as_of: date | None = None
) -> dict[str, RebalanceProposal]:
    """Household id -> the engine's proposal for it (account types and cash requests as the
    household states)."""
    return {h.id: _proposal(h, as_of) for h in households}


def _proposal(h: HouseholdBook, as_of: date | None) -> RebalanceProposal:
    """A request the book no longer allows (an account gone, a withdrawal larger than it) is not
    dropped in silence: the plan is made without the requests and says so as a failed check."""
    from portfolio.cash_requests import CashRequestError

    types = h.account_types or None
    try:
        return rebalance(
            h.holdings, h.mandate, as_of=as_of, account_types=types, cash_requests=h.cash_requests
        )
    except CashRequestError as exc:
        p = rebalance(h.holdings, h.mandate, as_of=as_of, account_types=types)
        problem = PortfolioCheck(
            rule="cash_request",
            status="fail",
            message=f"Cash requests not planned: {exc}. Change them on the Client page.",
        )
        return p.model_copy(update={"checks": [problem, *p.checks]})


def plan_book(
    households: Sequence[HouseholdBook],
    as_of: date,
    securities: SecurityMaster | None = None,
) -> pd.DataFrame:
    """Every household's trades, vectorised: a planner call per distinct mandate (and chunk).

    Prices are each position's own (value over quantity) where the file gives none; a symbol
    priced by the file takes its household's first price for it, as the household's own
    proposal prices it: a household's trades do not depend on what is planned beside it.
    """
    positions = [p for h in households for p in h.holdings.positions]
    return plan_columns(
        book_columns(households, with_lots=False),
        as_of,
        securities,
        lots_of=lambda i: positions[i].lots,
    )


def plan_columns(
    cols: BookColumns,
    as_of: date,
    securities: SecurityMaster | None = None,
    lots_of: Callable[[int], list[Lot]] | None = None,
) -> pd.DataFrame:
    """`plan_book` on households as columns (a Dask worker's partition): the lots come from
    `lots_of` or else from the columns' own lot arrays."""
    # Planning allocates only what it keeps or frees by reference count (a collection after a
    # quarter of 200,000 accounts freed no object): automatic collections, each walking the
    # partition, were a tenth of a Dask worker's time.
    with gc_paused():
        return _plan_columns(cols, as_of, securities, lots_of)


def _plan_columns(
    cols: BookColumns,
    as_of: date,
    securities: SecurityMaster | None,
    lots_of: Callable[[int], list[Lot]] | None,
) -> pd.DataFrame:
    from portfolio.accounts import account_types as resolve

    securities = securities or load_securities()
    if lots_of is None:
        lots_of = cols.lots.reader() if cols.lots is not None else (lambda i: [])
    groups: dict[int, list[int]] = {}
    for h, k in enumerate(cols.mandate_of.tolist()):
        groups.setdefault(k, []).append(h)
    # Chunks of households: a planner stage's look-up across the whole frame grows with the
    # square of its rows, so one call per chunk keeps the book's time linear in its size.
    # Near-equal chunks of at most CHUNK (1,001 households: 334, 334, 333, not 500, 500, 1).
    chunks = [
        (k, part)
        for k, members in groups.items()
        for part in partitions(members, -(-len(members) // CHUNK))
    ]
    start = cols.household_start
    accounts_col = cols.positions["account"].to_numpy(dtype=object)
    ids = np.asarray(cols.ids, dtype=object)
    frames = []
    for k, members in chunks:
        mandate = cols.mandate(k)
        rows = np.concatenate([np.arange(start[h], start[h + 1]) for h in members])
        types: dict[str, str] = {}
        for h in members:
            accounts = list(dict.fromkeys(accounts_col[start[h] : start[h + 1]].tolist()))
            resolved, _, _ = resolve(
                accounts, custodian=cols.custodian_types[h], overrides=cols.overrides[h]
            )
            hid = cols.ids[h]
            types.update({f"{hid}{SEP}{a}": t for a, t in resolved.items()})
        # `pos` stays the position's index in the whole partition, which `lots_of` reads.
        raw = cols.positions.iloc[rows].drop(columns="hh").reset_index(drop=True)
        # Accounts keyed by household: two clients' "Joint Taxable" are two accounts.
        raw["household"] = pd.Series(ids[cols.positions["hh"].to_numpy()[rows]], dtype=object)
        raw["account"] = raw["household"] + SEP + raw["account"]
        model = load_model(mandate.risk_profile)
        floor = max(mandate.cash_floor, mandate.income_need)
        plan_mandate = mandate.model_copy(update={"cash_floor": min(floor, 1.0)})
        vehicles, moves = sleeve_vehicles(model, mandate, securities)
        weights, _ = reassign_unbuyable(target_weights(model, plan_mandate), moves)
        plan = plan_trades(
            enrich(raw, securities, mandate),
            plan_mandate,
            weights,
            vehicles,
            securities.frame,
            as_of=as_of,
            lots_of=lots_of,
            account_types=types,
            securities=securities,
        )
        frames.append(plan.trades)
    if not frames:  # no household: the planner's columns, typed as its empty plan types them
        frames.append(_no_trades())
    # `row` indexes a mandate group's frame: meaningless outside it.
    trades = pd.concat(frames, ignore_index=True).drop(columns="row")
    # Text as objects, the engine's text type, so a partition that plans nothing joins the
    # others without changing a column's type.
    # Split once per distinct account, not per trade: each trade's household and account are
    # then shared strings (the household's own id), which a worker's trades pack cheaply.
    codes, keys = pd.factorize(trades["account"].to_numpy(dtype=object))
    if (codes < 0).any():  # take(-1) would give such a trade the last account's names
        raise ValueError("the planner returned a trade without an account")
    split = [k.split(SEP, 1) for k in keys.tolist()]
    place = {hid: i for i, hid in enumerate(cols.ids)}
    of_key = np.fromiter((place[h] for h, _ in split), dtype=np.int64, count=len(split))
    named: dict[str, str] = {}  # one string per account name, shared by its households
    account_of_key = np.array([named.setdefault(a, a) for _, a in split], dtype=object)
    order = of_key.take(codes)  # each trade's household, as its index in `ids`
    trades.insert(0, "household", text_column(ids.take(order)))
    trades["account"] = text_column(account_of_key.take(codes))
    # Households in the order given, so partitions joined in order give the whole book's frame.
    return trades.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


_AMOUNTS = ("quantity", "price", "value", "realized_gain", "short_term_gain", "wash_disallowed")


def _no_trades() -> pd.DataFrame:
    kinds = {c: float for c in _AMOUNTS} | {"forced": bool}
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, object)) for c in TRADE_COLUMNS})


def partitions(items: Sequence[T], n: int) -> list[list[T]]:
    """`n` contiguous, near-equal slices (order kept, so results join back in order)."""
    n = max(1, min(n, len(items))) if items else 1
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


@contextmanager
def dask_client(
    scheduler: str | None = None, workers: int = 2, processes: bool = True
) -> Iterator[Any]:
    """A client on `scheduler` (or REBALANCE_DASK_SCHEDULER), else on a new LocalCluster."""
    import dask
    from dask.distributed import Client, LocalCluster

    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        with Client(address) as client:
            yield client
        return
    with (
        dask.config.set({_TRIM: None}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _encode(part: Sequence[HouseholdBook]) -> bytes:
    # One JSON document per partition: pydantic writes and reads it far faster than pickle
    # walks thousands of model objects, and the scheduler's graph stays small.
    return b"[" + b",".join(h.model_dump_json().encode() for h in part) + b"]"


def _decoded(fn: Callable[..., T], payload: bytes, *args: Any) -> T:
    from pydantic import TypeAdapter

    # A partition is hundreds of thousands of live objects: collecting while they are built
    # frees nothing (decoding 50,000 accounts: 5.5 s with the collector, 1.4 s paused).
    with gc_paused():
        part = TypeAdapter(list[HouseholdBook]).validate_json(payload)
    return fn(part, *args)


def on_dask(
    fn: Callable[..., T], households: Sequence[HouseholdBook], client: Any, *args: Any
) -> list[T]:
    """`fn(partition, *args)` for each partition of households on the client's workers."""
    parts = partitions(households, max(1, len(client.scheduler_info().get("workers", {}))) * 2)
    payloads = client.scatter([_encode(p) for p in parts], hash=False)
    n = len(parts)
    futures = client.map(_decoded, [fn] * n, payloads, *[[a] * n for a in args], pure=False)
    return client.gather(futures)


def proposals_on_dask(
    households: Sequence[HouseholdBook], client: Any, as_of: date | None = None
) -> dict[str, RebalanceProposal]:
    out: dict[str, RebalanceProposal] = {}
    for part in on_dask(proposals, households, client, as_of):
        out.update(part)
    return out


def plan_book_on_dask(
    households: Sequence[HouseholdBook], client: Any, as_of: date, per_worker: int = 2
) -> pd.DataFrame:
    """`plan_book` per partition on the client's workers, partitions shipped as columns.

    Each partition goes to a worker as soon as it is laid out, so the workers plan the first
    ones while this process lays out the rest; the trades come back packed, joined in order.
    """
    parts = partitions(households, _workers(client, per_worker))
    return _on_workers(client, (book_columns(p) for p in parts), as_of)


def plan_columns_on_dask(
    cols: BookColumns, client: Any, as_of: date, per_worker: int = 4
) -> pd.DataFrame:
    """`plan_columns` per run of households on the client's workers.

    A book read into columns (`households.household_columns`) is cut without looking at a
    position: each partition is a slice of its arrays, pickled as buffers. Four a worker, two
    held at a time: the worker that finishes first takes the next (200,000 accounts on two
    workers: 11.16 s median against 11.32 s for two a worker, sent all at once)."""
    runs = partitions(range(len(cols.ids)), _workers(client, per_worker))
    parts = (cols.households(r[0], r[-1] + 1) if r else cols.households(0, 0) for r in runs)
    return _on_workers(client, parts, as_of)


def _workers(client: Any, per_worker: int) -> int:
    return max(1, len(client.scheduler_info().get("workers", {}))) * per_worker


def _on_workers(
    client: Any, parts: Iterator[BookColumns], as_of: date, ahead: int = 2
) -> pd.DataFrame:
    """Partitions fed to the workers as they finish: each worker holds `ahead` at a time, and
    the one that finishes first takes the next, so a worker slowed by its host does not leave
    the other idle at the end."""
    from dask.distributed import as_completed

    workers: list[str | None] = sorted(client.scheduler_info().get("workers", {})) or [None]
    # Each partition's trades are fetched as soon as it is planned, while the workers plan the
    # next: only the last ones' trip is left at the end. The client's own loop: a caller's
    # client need not be the process's default one.
    arriving = as_completed(loop=client.loop, with_results=True)
    numbered = enumerate(parts)
    place: dict[Any, int] = {}
    host: dict[Any, str | None] = {}

    def send(worker: str | None) -> None:
        nxt = next(numbered, None)
        if nxt is None:
            return
        i, part = nxt
        where = [worker] if worker else None
        # Sent straight to the worker, not through the scheduler, and keyed at random
        # (`hash=False`): hashing a partition's arrays for a key took 0.18 s, sending it 0.04 s.
        data = client.scatter(part, workers=where, direct=True, hash=False)
        future = client.submit(_plan_packed, data, as_of, workers=where, pure=False)
        place[future.key], host[future.key] = i, worker
        arriving.add(future)

    for _ in range(ahead):
        for worker in workers:
            send(worker)
    arrived: list[tuple[int, object]] = []
    # A sale's lots arrive as new objects: collections while they are built here walk this
    # process's households and free nothing (40,000 accounts: 1.0 s of CPU, 0.5 s paused).
    with gc_paused():
        for future, result in arriving:
            send(host[future.key])
            arrived.append((place[future.key], _result(future, result)))
        return in_order(arrived, len(place))


def _result(future: Any, result: object) -> object:
    """A partition's result as `as_completed` hands it over. A task that failed raises there;
    one that was cancelled (its worker lost with the partition's data) comes back as the
    cancellation, which is raised here with its reason, not mistaken for trades later."""
    if future.status != "finished":
        future.result()  # raises the cancellation, with its reason
    return result


def in_order(arrived: Iterable[tuple[int, object]], n: int) -> pd.DataFrame:
    """Partitions' trades, arriving in any order, joined in the partitions' order."""
    parts: list[PackedFrame | None] = [None] * n
    for i, packed in arrived:
        if not isinstance(packed, PackedFrame):
            raise RuntimeError(f"partition {i} returned {type(packed).__name__}, not trades")
        parts[i] = packed
    missing = [i for i, p in enumerate(parts) if p is None]
    if missing:
        raise RuntimeError(f"partitions {missing} returned no trades")
    return concat([p for p in parts if p is not None])


def _plan_packed(cols: BookColumns, as_of: date) -> PackedFrame:
    """`plan_columns` on a worker, its trades packed for the trip back (`frame_wire`)."""
    return pack(plan_columns(cols, as_of))


__all__ = [
    "SCHEDULER_ENV",
    "dask_client",
    "on_dask",
    "partitions",
    "plan_book",
    "plan_book_on_dask",
    "plan_columns",
    "plan_columns_on_dask",
    "proposals",
    "proposals_on_dask",
]
