"""A partition of households as columns: what the book planner reads of them, compact to ship.

The batch planner reads of each household only its positions (as `positions_frame` lays them
out), its tax lots, its mandate and its account types. Dask workers used to receive whole
pydantic households as JSON and decode hundreds of thousands of objects per partition before
planning; a `BookColumns` is one positions frame, a few flat lot arrays and the distinct
mandates, which pickle as buffers. Lots become `Lot` objects again only where the planner asks
for them (taxable sales), with the very values they were read from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from portfolio.book import positions_frame
from portfolio.gc_pause import gc_paused
from portfolio.models import ClientMandate, Lot

if TYPE_CHECKING:  # the practice view reads books as columns: no import back at run time
    from portfolio.practice import HouseholdBook

NO_DATE = 0  # `date.toordinal` starts at 1


@dataclass(frozen=True)
class LotColumns:
    """Every position's tax lots, flat: position i's lots are rows `start[i]:start[i + 1]`.

    A missing cost basis, date or line is a mask, never a stand-in value, so each `Lot` comes
    back exactly as it was read."""

    start: np.ndarray  # int64, one more than the positions
    quantity: np.ndarray  # float64
    cost_basis: np.ndarray  # float64 (0.0 where missing)
    has_cost_basis: np.ndarray  # bool
    acquired: np.ndarray  # int64 ordinals, NO_DATE where missing
    line: np.ndarray  # int64 (0 where missing)
    has_line: np.ndarray  # bool

    @classmethod
    def by_field(cls, start: np.ndarray, value: Callable[[str], np.ndarray]) -> LotColumns:
        """Lots whose every array is `value(field name)`: a slice, a join, a reordering."""
        return cls(start, **{f: value(f) for f in _LOT_FIELDS})

    @classmethod
    def empty(cls, start: np.ndarray) -> LotColumns:
        """No lot at all, for positions `start` counts (all zero)."""
        kinds = {"has_cost_basis": bool, "has_line": bool, "acquired": np.int64, "line": np.int64}
        return cls.by_field(start, lambda f: np.zeros(0, dtype=kinds.get(f, float)))

    @classmethod
    def of(cls, lots_per_position: Sequence[Sequence[Lot]]) -> LotColumns:
        counts = np.fromiter((len(ls) for ls in lots_per_position), dtype=np.int64)
        start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:])
        rows = [
            (lt.quantity, lt.cost_basis, lt.acquired, lt.line)
            for ls in lots_per_position
            for lt in ls
        ]
        if not rows:
            return cls.empty(start)
        qty, basis, acquired, line = zip(*rows, strict=True)
        has_basis = np.fromiter((b is not None for b in basis), dtype=bool, count=len(rows))
        has_line = np.fromiter((x is not None for x in line), dtype=bool, count=len(rows))
        return cls(
            start=start,
            quantity=np.array(qty, dtype=float),
            cost_basis=np.array([0.0 if b is None else b for b in basis], dtype=float),
            has_cost_basis=has_basis,
            acquired=np.fromiter(
                (NO_DATE if d is None else d.toordinal() for d in acquired),
                dtype=np.int64,
                count=len(rows),
            ),
            line=np.array([0 if x is None else x for x in line], dtype=np.int64),
            has_line=has_line,
        )

    def rows(self, a: int, b: int) -> LotColumns:
        """The lots of positions `a:b`, as a book of those positions alone (position a is 0)."""
        lo, hi = int(self.start[a]), int(self.start[b])
        return LotColumns.by_field(self.start[a : b + 1] - lo, lambda f: getattr(self, f)[lo:hi])

    def reader(self) -> Callable[[int], list[Lot]]:
        """Position index -> its lots as `Lot` objects, built on first asking and kept."""
        from portfolio.importers.frame import bulk_lots

        made: dict[int, list[Lot]] = {}
        start = self.start.tolist()
        columns: list[list] = []

        def lots_of(i: int) -> list[Lot]:
            got = made.get(i)
            if got is None:
                if not columns:  # Python values once, not a numpy scalar per lot
                    columns.extend(self._values())
                a, b = start[i], start[i + 1]
                qty, cost, acquired, line = (c[a:b] for c in columns)
                got = made[i] = bulk_lots(zip(qty, cost, acquired, line, strict=True))
            return got

        return lots_of

    def _values(self) -> list[list]:
        """The lot columns as Python values, None where missing."""
        cost: list[float | None] = self.cost_basis.tolist()
        for k in np.flatnonzero(~self.has_cost_basis).tolist():
            cost[k] = None
        line: list[int | None] = self.line.tolist()
        for k in np.flatnonzero(~self.has_line).tolist():
            line[k] = None
        ordinals = self.acquired.tolist()
        days = {d: date.fromordinal(d) for d in set(ordinals) if d != NO_DATE}
        acquired = [days.get(d) for d in ordinals]
        return [self.quantity.tolist(), cost, acquired, line]


_LOT_FIELDS = tuple(f.name for f in fields(LotColumns) if f.name != "start")


@dataclass(frozen=True)
class BookColumns:
    """Households as columns. `positions` is `positions_frame` of all their positions in order
    (`pos` indexes them), with `hh`, the household's index in `ids`."""

    ids: list[str]
    mandate_of: np.ndarray  # int64 per household: index into `mandates`
    mandates: list[str]  # distinct mandates, as JSON
    custodian_types: list[dict[str, str]]  # per household: the file's account-type texts
    overrides: list[dict[str, str]]  # per household: the advisor's account types
    positions: pd.DataFrame
    lots: LotColumns | None  # None: the caller passes the original lots to the planner
    names: list[str] | None = None  # per household, where it has a name beside its id
    advisors: list[str | None] | None = None  # per household: its advisor, if known

    @property
    def household_start(self) -> np.ndarray:
        """Household h's positions are rows `household_start[h]:household_start[h + 1]`."""
        counts = np.bincount(self.positions["hh"].to_numpy(), minlength=len(self.ids))
        start = np.zeros(len(self.ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:])
        return start

    def mandate(self, k: int) -> ClientMandate:
        return ClientMandate.model_validate_json(self.mandates[k])

    def households(self, a: int, b: int) -> BookColumns:
        """Households `a:b` as a book of their own: what one Dask partition carries.

        Their rows are one contiguous run, so the slice copies arrays without looking at a
        position; `pos` and `hh` are renumbered from 0, as a book of those households alone."""
        start = self.household_start
        lo, hi = int(start[a]), int(start[b])
        positions = self.positions.iloc[lo:hi].reset_index(drop=True)
        positions["hh"] = positions["hh"].to_numpy() - a
        if "pos" in positions:
            positions["pos"] = positions["pos"].to_numpy() - lo
        return BookColumns(
            ids=self.ids[a:b],
            mandate_of=self.mandate_of[a:b],
            mandates=self.mandates,
            custodian_types=self.custodian_types[a:b],
            overrides=self.overrides[a:b],
            positions=positions,
            lots=None if self.lots is None else self.lots.rows(lo, hi),
            names=None if self.names is None else self.names[a:b],
            advisors=None if self.advisors is None else self.advisors[a:b],
        )


def book_columns(households: Sequence[HouseholdBook], with_lots: bool = True) -> BookColumns:
    """One pass over the households' models; `with_lots=False` leaves the lots to the caller."""
    # Only new, live objects are allocated: collections they trigger walk the book and free
    # nothing (laying out 40,000 accounts: 2.0 s of CPU with the collector, 1.0 s paused).
    with gc_paused():
        return _columns(households, with_lots)


def _columns(households: Sequence[HouseholdBook], with_lots: bool) -> BookColumns:
    positions = [p for h in households for p in h.holdings.positions]
    frame = positions_frame(positions)
    counts = np.fromiter(
        (len(h.holdings.positions) for h in households), dtype=np.int64, count=len(households)
    )
    frame["hh"] = np.repeat(np.arange(len(households), dtype=np.int64), counts)
    keys: dict[str, int] = {}
    mandate_of = np.fromiter(
        (keys.setdefault(h.mandate.model_dump_json(), len(keys)) for h in households),
        dtype=np.int64,
        count=len(households),
    )
    return BookColumns(
        ids=[h.id for h in households],
        mandate_of=mandate_of,
        mandates=list(keys),
        custodian_types=[dict(h.holdings.account_types) for h in households],
        overrides=[dict(h.account_types) for h in households],
        positions=frame,
        lots=LotColumns.of([p.lots for p in positions]) if with_lots else None,
        names=[h.name or h.id for h in households],
        advisors=[h.advisor for h in households],
    )


__all__ = ["BookColumns", "LotColumns", "book_columns"]
