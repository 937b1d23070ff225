"""The book: holdings as one DataFrame joined to reference data, the engine's working shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from portfolio.fund_groups import sweep_symbols
from portfolio.models import AssetClass, ClientMandate, Holdings, Position
from portfolio.securities import SecurityMaster

BOOK_COLUMNS = [
    "account",
    "symbol",
    "asset_class",
    "quantity",
    "price",
    "value",
    "is_cash",
    "description",
]


def positions_frame(positions: Sequence[Position]) -> pd.DataFrame:
    """Positions as rows; `pos` keeps the index into the list so lots can be found again."""
    if not positions:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=float if c in ("quantity", "price", "value") else object)
                for c in BOOK_COLUMNS
            }
        ).assign(pos=pd.Series(dtype=int), cost_basis=pd.Series(dtype=float))
    # One pass over the models (attribute reads dominate at book size), then one column each.
    rows = [
        (
            p.account,
            p.symbol.upper(),
            str(p.asset_class),
            p.quantity,
            np.nan if p.price is None else p.price,
            p.market_value,
            p.is_cash,
            p.description,
            _basis(p),
        )
        for p in positions
    ]
    account, symbol, asset_class, qty, price, value, is_cash, desc, basis = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "account": list(account),
            "symbol": list(symbol),
            "asset_class": list(asset_class),
            "quantity": np.array(qty, dtype=float),
            "price": np.array(price, dtype=float),
            "value": np.array(value, dtype=float),
            "is_cash": np.array(is_cash, dtype=bool),
            "description": list(desc),
            "pos": np.arange(len(positions)),
            "cost_basis": np.array(basis, dtype=float),
        }
    )


def _basis(p: Position) -> float:
    """The position's total cost: its lots' when every lot has one, else the file's figure."""
    lots = p.lots
    if lots:
        costs = [lt.cost_basis for lt in lots]
        if None not in costs:
            return float(sum(costs))  # type: ignore[arg-type]
    return np.nan if p.cost_basis is None else float(p.cost_basis)


def text_column(values: Sequence[object] | np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """Text as a column of objects, the engine's text type: a frame built from a bare object array
    would infer pandas' string type for it, converted back at nearly every planner step."""
    return pd.Series(values, index=index, dtype=object)


def enrich(
    frame: pd.DataFrame,
    securities: SecurityMaster,
    mandate: ClientMandate,
    prices: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Join reference data and mark what the mandate excludes; vectorised over the whole book.

    Price precedence: an explicit price override, then the custodian's price (one per symbol:
    a price the file gives for a symbol prices it in every account; with a `household` column,
    in every account of that household), then the reference price, marked in `price_source`.
    Unknown symbols keep the file's classification and are never traded.

    Cash is swept cash only (cash rows, core and settlement funds, data/sweep_funds.csv): a
    purchased money-market fund or a T-bill ETF is a holding in the cash class, sold by an order.
    """
    # Every column is computed as an array and the frame laid out once: a household's book is a
    # dozen rows, where each frame operation costs more than its arithmetic (this was a fifth of
    # a proposal's time as forty column assignments).
    ref = securities.frame
    # Text columns are kept as object arrays: pandas' string type is converted to and from
    # objects at nearly every step the planner takes, a quarter of its time on a large book.
    symbols = frame["symbol"].astype(str).str.upper().to_numpy(dtype=object)
    at = ref.index.get_indexer(pd.Index(symbols, dtype=object)) if len(ref) else None
    known = at >= 0 if at is not None else np.zeros(len(symbols), dtype=bool)
    r = _Reference(ref, at, known)
    # Distinct symbols, looked up once each (a book of 250,000 rows holds a few hundred).
    codes, distinct = pd.factorize(symbols)
    sweep = _member(distinct, codes, sweep_symbols())
    file_cash = frame["is_cash"].astype(bool).to_numpy()
    ref_cash = r.flag("is_cash")
    # Swept: the file's cash rows that are no known fund, and the custodians' sweep funds.
    is_cash = (file_cash & (~known | sweep)) | (ref_cash & sweep)
    cash_class = (file_cash | ref_cash) & ~is_cash
    file_class = frame["asset_class"].astype(str).to_numpy()
    unclassified = file_class == AssetClass.UNCLASSIFIED.value
    asset_class = np.where(known & unclassified, r.values("asset_class"), file_class)
    asset_class = asset_class.astype(object)
    description = frame["description"].to_numpy(dtype=object) if "description" in frame else None
    # What the reference data lacks is classified by its identifier and description (a CUSIP
    # starting 912 is a Treasury): the same call the agents' facts make, so nothing held is
    # left out of its class's weight.
    unlisted = ~known & unclassified & ~file_cash
    if unlisted.any():
        rows = pd.DataFrame(
            {
                "symbol": symbols[unlisted],
                "description": description[unlisted] if description is not None else "",
                "asset_class": asset_class[unlisted],
            },
            index=frame.index[unlisted],
        )
        asset_class[unlisted] = securities.classify_frame(rows)["asset_class"].to_numpy()
    sector = r.values("sector", fill="Unclassified").astype(object)
    in_cash = is_cash | cash_class
    asset_class[in_cash] = AssetClass.CASH.value
    sector[in_cash] = "Cash"

    price, source, override = _prices(
        frame, codes, distinct, r.values("price", dtype=float), prices
    )
    value = frame["value"]
    if override is not None:
        # Re-mark overridden positions at the new price (cash keeps its stated value).
        hit = ~np.isnan(override) & ~is_cash
        if hit.any():
            value = value.copy()
            value[hit] = frame["quantity"].to_numpy()[hit] * price[hit]

    flags = np.zeros(len(symbols), dtype=bool)
    reasons = np.full(len(symbols), "", dtype=object)
    for cat in sorted(mandate.screened_categories):
        hit = r.flag(cat) & ~is_cash
        reasons = np.where(hit & (reasons == ""), cat, reasons)
        flags |= hit
    named = _member(distinct, codes, set(mandate.excluded_symbols))
    if mandate.excluded_symbols:
        reasons = np.where(named & (reasons == ""), "excluded_symbol", reasons)
        flags |= named
    is_fund = r.flag("is_fund")
    quantity = frame["quantity"].to_numpy()

    def text(values: np.ndarray) -> pd.Series:
        return text_column(values, frame.index)

    columns: dict[str, object] = {c: frame[c] for c in frame.columns}
    columns["symbol"] = text(symbols)
    for col in ("account", "description", "household"):
        if col in frame and frame[col].dtype != object:
            columns[col] = text(frame[col].to_numpy(dtype=object))
    columns.update(
        known=known,
        is_fund=is_fund,
        esg_fund=r.flag("esg_fund"),
        sector=text(sector),
        **{"yield": r.values("yield", fill=0.0, dtype=float)},
    )
    columns["is_cash"] = is_cash
    columns["asset_class"] = text(asset_class)
    columns["price"] = price
    columns.update(price_source=text(source), price_as_of=text(r.values("price_as_of")))
    columns["value"] = value
    columns.update(
        # Eligible: the mandate could buy it (per-fund screens, data/fund_screens.csv), the same
        # test the gate applies to a buy.
        esg_ok=securities.meets_exclusions_many(symbols.tolist(), mandate.screened_categories)
        & ~named,
        excluded=flags,
        exclusion=text(reasons),
        single_name=known & ~is_fund & ~is_cash,
        tradable=known & ~is_cash & (quantity > 0) & (price > 0),
    )
    return pd.DataFrame(columns, index=frame.index)


class _Reference:
    """The reference data's columns taken for the book's rows (missing for unknown symbols)."""

    def __init__(self, ref: pd.DataFrame, at: np.ndarray | None, known: np.ndarray) -> None:
        self.ref, self.known = ref, known
        self.at = np.where(known, at, 0) if at is not None else None

    def values(self, col: str, fill: object = np.nan, dtype: object = object) -> np.ndarray:
        """The column for each row; `fill` where the symbol is unknown or the value missing."""
        n = len(self.known)
        if self.at is None:
            return np.full(n, fill, dtype=dtype)
        taken = self.ref[col].to_numpy()[self.at]
        missing = ~self.known | pd.isna(taken)
        if missing.any():
            taken = np.where(missing, fill, taken)
        return taken.astype(dtype)

    def flag(self, col: str) -> np.ndarray:
        return self.values(col, fill=False, dtype=bool)


def _member(
    distinct: np.ndarray, codes: np.ndarray, names: set[str] | frozenset[str]
) -> np.ndarray:
    """Per row: whether its symbol is one of `names` (each distinct symbol asked once)."""
    hit = np.fromiter((x in names for x in distinct), dtype=bool, count=len(distinct))
    return hit[codes] if len(codes) else np.zeros(0, dtype=bool)


def _prices(
    frame: pd.DataFrame,
    codes: np.ndarray,
    distinct: np.ndarray,
    ref_price: np.ndarray,
    prices: Mapping[str, float] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each row's price and its source, and the override per row (NaN where none)."""
    file_price = frame["price"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        file_price = np.where(file_price > 0, file_price, np.nan)
    # One price per symbol: the first price the file gives for it, in every account. With
    # several households in one frame (a book plan), in every account of the household: each
    # is priced as its own proposal prices it, whatever else is planned beside it.
    keys, n_keys = codes, len(distinct)
    if "household" in frame:
        household = pd.factorize(frame["household"].to_numpy(dtype=object))[0]
        keys, uniques = pd.factorize(household.astype(np.int64) * len(distinct) + codes)
        n_keys = len(uniques)
    given = np.flatnonzero(~np.isnan(file_price))
    first = np.full(n_keys, np.nan)
    seen, where = np.unique(keys[given], return_index=True)
    first[seen] = file_price[given[where]]
    per_symbol = first[keys]
    price = np.where(np.isnan(file_price), per_symbol, file_price)
    source = np.where(~np.isnan(price), "file", "").astype(object)
    override = None
    if prices:
        wanted = {k.upper(): float(v) for k, v in prices.items()}
        override = np.array([wanted.get(x, np.nan) for x in distinct], dtype=float)[codes]
        with np.errstate(invalid="ignore"):
            override = np.where(override > 0, override, np.nan)
        source = np.where(~np.isnan(override), "override", source).astype(object)
        price = np.where(np.isnan(override), price, override)
    with np.errstate(invalid="ignore"):
        use_ref = np.isnan(price) & (ref_price > 0)
    source = np.where(use_ref, "reference", source).astype(object)
    price = np.where(np.isnan(price), ref_price, price)
    return price, source, override


class BookSummary(BaseModel):
    """An import report's figures, classified exactly as the engine classifies the book."""

    positions: int = Field(description="Holdings other than swept cash (a bought MMF counts)")
    accounts: int
    total_value: float
    cash: float = Field(description="Swept cash only: cash rows, core and settlement funds")
    asset_classes: list[str] = Field(description="Per position, in the holdings' order")
    swept: list[bool] = Field(description="Per position: whether it is swept cash")


def summarize(holdings: Holdings, securities: SecurityMaster) -> BookSummary:
    """Counts and cash for a report, from `enrich` itself: a purchased money-market fund or a
    T-bill ETF is a position in the cash class, as the planner sees it, never "cash"."""
    book = enrich(positions_frame(holdings.positions), securities, ClientMandate())
    swept = book["is_cash"].to_numpy(bool)
    return BookSummary(
        positions=int((~swept).sum()),
        accounts=len(holdings.accounts),
        total_value=float(book["value"].sum()),
        cash=float(book.loc[swept, "value"].sum()),
        asset_classes=[str(c) for c in book["asset_class"]],
        swept=[bool(s) for s in swept],
    )
