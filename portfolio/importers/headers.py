"""Canonical column names and the many ways custodians spell them.

Columns are always found by name, never by position: exports add, drop and reorder columns
between releases (Schwab's 2025 files say `Qty (Quantity)` where older ones said `Quantity`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PAREN_RE = re.compile(r"\(([^)]*)\)")
_NON_ALNUM_RE = re.compile(r"[^a-z0-9]+")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "symbol": (
        "symbol",
        "ticker",
        "ticker symbol",
        "symbol cusip",
        "security symbol",
        "stock symbol",
        "investment symbol",
        "sym",
        "trading symbol",
    ),
    "cusip": ("cusip", "cusip number", "cusip no"),
    "description": (
        "description",
        "name",
        "security",
        "security name",
        "security description",
        "investment name",
        "investment",
        "fund name",
        "holding",
        "holding name",
        "asset name",
        "instrument",
        "company",
        "company name",
        "security desc",
    ),
    "quantity": (
        "quantity",
        "qty",
        "shares",
        "units",
        "share quantity",
        "shares held",
        "quantity held",
        "number of shares",
        "no of shares",
        "shares owned",
        "share balance",
        "position",
        "shares units",
        "quantity shares",
    ),
    "price": (
        "price",
        "last price",
        "close",
        "close price",
        "closing price",
        "share price",
        "current price",
        "market price",
        "last",
        "price per share",
        "last sale",
        "nav",
        "unit price",
        "mark price",
        "last trade",
        "price usd",
    ),
    "market_value": (
        "market value",
        "value",
        "current value",
        "mkt val",
        "mkt value",
        "market val",
        "total value",
        "position value",
        "ending value",
        "ending market value",
        "current market value",
        "holding value",
        "value usd",
        "market value usd",
    ),
    "account_number": (
        "account number",
        "account no",
        "acct number",
        "acct no",
        "account id",
        "account num",
        "acct",
        "acct id",
    ),
    "account_name": (
        "account",
        "account name",
        "acct name",
        "account name number",
        "portfolio",
        "account description",
        "account title",
        "account nickname",
    ),
    # The account's registration (tax status): Fidelity's `Account Type`, a sheet's `Registration`
    # or `Tax Status`. Not Fidelity's bare `Type`, which is Cash or Margin.
    "account_type": (
        "account type",
        "acct type",
        "account registration",
        "registration",
        "registration type",
        "tax status",
        "account tax status",
        "tax treatment",
    ),
    "asset_class": (
        "asset class",
        "class",
        "category",
        "asset type",
        "allocation",
        "sleeve",
        "asset class category",
        "asset allocation class",
    ),
    "security_type": (
        "security type",
        "asset category",
        "investment type",
        "product type",
        "sec type",
        "instrument type",
    ),
    "cost_basis": (
        "cost basis",
        "cost",
        "total cost",
        "cost basis total",
        "total cost basis",
        "basis",
        "book value",
        "cost basis usd",
    ),
    "cost_per_share": (
        "average cost basis",
        "average cost",
        "avg cost",
        "cost per share",
        "price paid",
        "unit cost",
        "cost price",
        "avg price",
        "average price",
        "cost basis per share",
        "purchase price",
        "avg cost basis",
    ),
    "acquired": (
        "acquired date",
        "acquired",
        "purchase date",
        "date acquired",
        "open date",
        "acquisition date",
        "date purchased",
        "lot date",
        "date opened",
        "date time",
    ),
    "weight": (
        "weight",
        "weights",
        "allocation pct",
        "allocation percent",
        "target allocation",
        "portfolio weight",
        "weight pct",
        "weight percent",
        "percent of portfolio",
        "pct of portfolio",
    ),
    "total_value": ("total value usd", "portfolio value", "total portfolio value"),
    "currency": ("currency", "ccy"),
    "multiplier": ("mult", "multiplier"),
    "discriminator": ("datadiscriminator", "data discriminator"),
    "trade_date": (
        "trade date",
        "transactiondate",
        "transaction date",
        "settlement date",
        "run date",
    ),
    "transaction_type": (
        "transaction type",
        "transactiontype",
        "action",
        "activity",
        "transaction description",
    ),
}

LOOKUP: dict[str, str] = {syn: canon for canon, syns in SYNONYMS.items() for syn in syns}

# Cheap pre-filter so data rows are not normalised cell by cell looking for a header: a header
# names a symbol, ticker or CUSIP column (`sym` covers `symbol`).


def normalize(text: str) -> str:
    """Lower-case, punctuation to spaces, whitespace collapsed: `Mkt Val ($)` -> `mkt val`."""
    return _NON_ALNUM_RE.sub(" ", text.lower()).strip()


def candidates(cell: str) -> list[str]:
    """Spellings to try for one header cell: outside parentheses, inside them, then all of it."""
    outside = normalize(_PAREN_RE.sub(" ", cell))
    inside = [normalize(m) for m in _PAREN_RE.findall(cell)]
    return [c for c in [outside, *inside, normalize(cell)] if c]


# `total_value` spelled as a field name: the book's total, not a row's value (`Total Value`).
_EXACT = {"total_value": "total_value", "totalvalue": "total_value"}


def canonical(cell: str) -> str | None:
    exact = _EXACT.get(cell.strip().lower())
    if exact is not None:
        return exact
    for cand in candidates(cell):
        if cand in LOOKUP:
            return LOOKUP[cand]
    return None


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Canonical name -> column index for one header row."""

    index: dict[str, int]
    width: int
    used_width: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Columns a row must have for every field we read to be present (asked once a row).
        object.__setattr__(self, "used_width", max(self.index.values()) + 1 if self.index else 0)

    def get(self, cells: list[str], name: str) -> str:
        i = self.index.get(name)
        if i is None or i >= len(cells):
            return ""
        return cells[i]

    def __contains__(self, name: str) -> bool:
        return name in self.index

    @property
    def is_transactions(self) -> bool:
        return "trade_date" in self.index and "transaction_type" in self.index

    @property
    def is_positions(self) -> bool:
        has_symbol = "symbol" in self.index or "cusip" in self.index
        amounts = {"quantity", "market_value", "weight", "allocation"}
        return has_symbol and bool(amounts & self.index.keys())


def map_header(cells: list[str]) -> ColumnMap:
    index: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = canonical(cell)
        if name is not None and name not in index:
            index[name] = i
        if normalize(cell) == "allocation":  # a class or a weight: its cells tell (build)
            index.setdefault("allocation", i)
    return ColumnMap(index, len(cells))


def header_of(cells: list[str]) -> ColumnMap | None:
    """The column map when this row is a positions or transactions header, else None."""
    if len(cells) < 2:
        return None
    joined = "\x00".join(cells[:60]).lower()
    if not ("sym" in joined or "ticker" in joined or "cusip" in joined):
        return None
    cmap = map_header(cells)
    if cmap.is_transactions or (cmap.is_positions and len(cmap.index) >= 2):
        return cmap
    return None
