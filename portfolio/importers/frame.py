"""A book as columns: the same holdings as `Holdings`, one DataFrame row per position.

A practice-sized book has hundreds of thousands of positions; as pydantic objects they cost about
a microsecond and most of a kilobyte each, many times what the file's own DataFrame takes. The
columnar importer produces this shape directly, the engine can work from `book_frame()` (the frame
`portfolio.book.positions_frame` builds from a list of positions), and `to_holdings()` gives the
very `Holdings` the general path returns, for whatever needs objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import repeat

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from portfolio.book import BOOK_COLUMNS
from portfolio.models import Holdings, ImportIssue, Lot, Position, SkippedRow

# Columns of `BookFrame.positions`, in Position's field order, and `line`: the first file line.
# The text columns are categorical (a book repeats few accounts, symbols and classes).
POSITION_COLUMNS = (
    "account",
    "symbol",
    "description",
    "quantity",
    "price",
    "market_value",
    "asset_class",
    "cost_basis",
    "is_cash",
    "line",
)
# Every field of a Position built here is given, so all share one fields-set: pydantic only ever
# adds a name to it on assignment, and every name is in it already.
_ALL_FIELDS = set(Position.model_fields)
_LOT_FIELDS = set(Lot.model_fields)
_object_setattr = object.__setattr__


def plain_lots(quantities: list[float], lines: list[int]) -> list[Lot]:
    """One Lot per (quantity, line), no cost or date, in bulk."""
    return bulk_lots(zip(quantities, repeat(None), repeat(None), lines, strict=False))


def bulk_lots(
    rows: Iterable[tuple[float, float | None, date | None, int | None]],
) -> list[Lot]:
    """One Lot per (quantity, cost basis, acquired, line), built without validation: the values
    were valid Lots already (read and checked, or laid out from Lots), and every field is given,
    so all share one fields-set."""
    new, setattr_ = Lot.__new__, _object_setattr
    out: list[Lot] = []
    for qty, cost, acquired, line in rows:
        lot = new(Lot)
        setattr_(
            lot,
            "__dict__",
            {"quantity": qty, "cost_basis": cost, "acquired": acquired, "line": line},
        )
        setattr_(lot, "__pydantic_fields_set__", _LOT_FIELDS)
        setattr_(lot, "__pydantic_extra__", None)
        setattr_(lot, "__pydantic_private__", None)
        out.append(lot)
    return out


@dataclass(frozen=True)
class RowLots:
    """The lots of a clean sheet's positions of several rows, as columns: one lot per row (its
    quantity and line, no cost or date). Position `heads[k]`'s rows are `starts[k]` up to
    `starts[k + 1]`; `heads` rises. Lot objects are made only when asked for."""

    heads: np.ndarray
    starts: np.ndarray
    quantity: np.ndarray
    line: np.ndarray

    def run_of(self, i: int) -> int | None:
        k = int(np.searchsorted(self.heads, i))
        return k if k < len(self.heads) and int(self.heads[k]) == i else None

    def lots(self, k: int) -> list[Lot]:
        i, j = int(self.starts[k]), int(self.starts[k + 1])
        return plain_lots(self.quantity[i:j].tolist(), self.line[i:j].tolist())


def _optional(column: pd.Series) -> list[float | None]:
    """The column's floats with None for NaN (a missing price or cost)."""
    values = column.to_numpy(dtype=float)
    missing = np.isnan(values)
    if missing.all():
        return [None] * len(values)
    listed: list[float | None] = values.tolist()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            listed[i] = None
    return listed


class BookFrame(BaseModel):
    """Holdings with the positions as columns; lots and extra lines only where a position has
    them (by its row number)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: str = ""
    format: str = "plain"
    as_of: date | None = Field(default=None, description="The date the file states, if any")
    account_types: dict[str, str] = Field(
        default_factory=dict, description="Account -> the file's account-type text, if any"
    )
    positions: pd.DataFrame
    lots: dict[int, list[Lot]] = Field(default_factory=dict)
    lines: dict[int, list[int]] = Field(
        default_factory=dict, description="A position's file lines where it has more than one"
    )
    row_lots: RowLots | None = Field(
        default=None, description="A clean sheet's lots and lines, as columns (beside the above)"
    )
    skipped: list[SkippedRow] = Field(default_factory=list)
    issues: list[ImportIssue] = Field(default_factory=list)

    @property
    def total_value(self) -> float:
        """As `Holdings.total_value`: the positions' market values summed in order."""
        return float(sum(self.positions["market_value"].tolist()))

    def __len__(self) -> int:
        return len(self.positions)

    def book_frame(self) -> pd.DataFrame:
        """The engine's frame: `portfolio.book.positions_frame(self.to_holdings().positions)`."""
        p = self.positions
        if p.empty:  # as positions_frame leaves an empty book: text columns of no type
            empty = {c: pd.Series(dtype=object) for c in BOOK_COLUMNS}
            for c in ("quantity", "price", "value"):
                empty[c] = pd.Series(dtype=float)
            return pd.DataFrame(empty).assign(
                pos=pd.Series(dtype=int), cost_basis=pd.Series(dtype=float)
            )
        return pd.DataFrame(
            {
                "account": p["account"].astype(object).to_numpy(),
                "symbol": p["symbol"].astype(object).str.upper().to_numpy(),
                "asset_class": p["asset_class"].astype(object).to_numpy(),
                "quantity": p["quantity"].to_numpy(dtype=float),
                "price": p["price"].to_numpy(dtype=float),
                "value": p["market_value"].to_numpy(dtype=float),
                "is_cash": p["is_cash"].to_numpy(dtype=bool),
                "description": p["description"].astype(object).to_numpy(),
                "pos": np.arange(len(p)),
                "cost_basis": self._cost_basis(),
            }
        )

    def _cost_basis(self) -> np.ndarray:
        """Each position's total cost as the engine reads it: its lots' when every lot has one,
        else the file's figure."""
        basis = self.positions["cost_basis"].to_numpy(dtype=float).copy()
        for i, lots in self.lots.items():
            if lots and all(lt.cost_basis is not None for lt in lots):
                basis[i] = float(sum(lt.cost_basis or 0.0 for lt in lots))
        return basis

    def lots_of(self, i: int) -> list[Lot]:
        if i in self.lots or self.row_lots is None:
            return self.lots.get(i, [])
        k = self.row_lots.run_of(i)
        return [] if k is None else self.row_lots.lots(k)

    def to_holdings(self) -> Holdings:
        """The positions as objects (equal to what the general path builds), in bulk."""
        p = self.positions
        prices, costs = _optional(p["price"]), _optional(p["cost_basis"])
        lots, lines = self.lots, self.lines
        new, setattr_ = Position.__new__, _object_setattr
        positions: list[Position] = []
        append = positions.append
        columns = zip(
            p["account"].tolist(),
            p["symbol"].tolist(),
            p["description"].tolist(),
            p["quantity"].tolist(),
            prices,
            p["market_value"].tolist(),
            p["asset_class"].tolist(),
            costs,
            p["is_cash"].tolist(),
            p["line"].tolist(),
            strict=True,
        )
        for acc, sym, desc, qty, price, value, cls, cost, cash, line in columns:
            obj = new(Position)
            setattr_(
                obj,
                "__dict__",
                {
                    "account": acc,
                    "symbol": sym,
                    "description": desc,
                    "quantity": qty,
                    "price": price,
                    "market_value": value,
                    "asset_class": cls,
                    "cost_basis": cost,
                    "is_cash": cash,
                    "lots": [],
                    "lines": [line],
                },
            )
            setattr_(obj, "__pydantic_fields_set__", _ALL_FIELDS)
            setattr_(obj, "__pydantic_extra__", None)
            setattr_(obj, "__pydantic_private__", None)
            append(obj)
        # The few positions of several rows get their lots and lines afterwards, so the loop
        # above asks nothing per position.
        for i, held in lots.items():
            positions[i].__dict__["lots"] = list(held)
        for i, seen in lines.items():
            positions[i].__dict__["lines"] = list(seen)
        if (rows := self.row_lots) is not None:
            qs, ls, starts = rows.quantity.tolist(), rows.line.tolist(), rows.starts.tolist()
            every = plain_lots(qs, ls)
            for k, i in enumerate(rows.heads.tolist()):
                a, b = starts[k], starts[k + 1]
                held = positions[i].__dict__
                held["lots"] = every[a:b]
                held["lines"] = ls[a:b]
        return Holdings(
            source=self.source,
            format=self.format,
            as_of=self.as_of,
            account_types=self.account_types,
            positions=positions,
            skipped=self.skipped,
            issues=self.issues,
        )

    @classmethod
    def from_holdings(cls, holdings: Holdings) -> BookFrame:
        """The columns of holdings read by the general path."""
        ps = holdings.positions
        frame = pd.DataFrame(
            {
                "account": pd.Series([p.account for p in ps], dtype="category"),
                "symbol": pd.Series([p.symbol for p in ps], dtype="category"),
                "description": pd.Series([p.description for p in ps], dtype="category"),
                "quantity": np.array([p.quantity for p in ps], dtype=float),
                "price": np.array([np.nan if p.price is None else p.price for p in ps], float),
                "market_value": np.array([p.market_value for p in ps], dtype=float),
                "asset_class": pd.Series([str(p.asset_class) for p in ps], dtype="category"),
                "cost_basis": np.array(
                    [np.nan if p.cost_basis is None else p.cost_basis for p in ps], float
                ),
                "is_cash": np.array([p.is_cash for p in ps], dtype=bool),
                "line": np.array([p.lines[0] if p.lines else 0 for p in ps], dtype=np.int64),
            }
        )
        return cls(
            source=holdings.source,
            format=holdings.format,
            as_of=holdings.as_of,
            account_types=holdings.account_types,
            positions=frame,
            lots={i: p.lots for i, p in enumerate(ps) if p.lots},
            lines={i: p.lines for i, p in enumerate(ps) if len(p.lines) != 1},
            skipped=holdings.skipped,
            issues=holdings.issues,
        )
