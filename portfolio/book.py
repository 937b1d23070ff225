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


def _text(values: np.ndarray, book: pd.DataFrame) -> pd.Series:
    return pd.Series(values, index=book.index, dtype=object)


def enrich(
    frame: pd.DataFrame,
    securities: SecurityMaster,
    mandate: ClientMandate,
    prices: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Join reference data and mark what the mandate excludes; vectorised over the whole book.

    Price precedence: an explicit price override, then the custodian's price (one per symbol:
    a price the file gives for a symbol prices it in every account), then the reference price,
    marked in `price_source`. Unknown symbols keep the file's classification and are never traded.

    Cash is swept cash only (cash rows, core and settlement funds, data/sweep_funds.csv): a
    purchased money-market fund or a T-bill ETF is a holding in the cash class, sold by an order.
    """
    ref = securities.frame
    book = frame.copy()
    # Text columns are kept as object arrays: pandas' string type is converted to and from
    # objects at nearly every step the planner takes, a quarter of its time on a large book.
    symbols = book["symbol"].astype(str).str.upper().to_numpy(dtype=object)
    book["symbol"] = _text(symbols, book)
    for col in ("account", "description", "household"):
        if col in book and book[col].dtype != object:
            book[col] = _text(book[col].to_numpy(dtype=object), book)
    known = book["symbol"].isin(ref.index)
    book["known"] = known.to_numpy()
    r = ref.reindex(pd.Index(symbols, dtype=object))
    book["is_fund"] = r["is_fund"].fillna(False).astype(bool).to_numpy()
    book["esg_fund"] = r["esg_fund"].fillna(False).astype(bool).to_numpy()
    book["sector"] = _text(r["sector"].fillna("Unclassified").to_numpy(dtype=object), book)
    book["yield"] = r["yield"].fillna(0.0).astype(float).to_numpy()
    ref_cash = r["is_cash"].fillna(False).astype(bool).to_numpy()
    sweep = book["symbol"].isin(sweep_symbols()).to_numpy()
    file_cash = book["is_cash"].astype(bool).to_numpy()
    # Swept: the file's cash rows that are no known fund, and the custodians' sweep funds.
    book["is_cash"] = (file_cash & (~known.to_numpy() | sweep)) | (ref_cash & sweep)
    cash_class = (file_cash | ref_cash) & ~book["is_cash"].to_numpy()
    ref_class = r["asset_class"].astype(object).to_numpy()
    file_class = book["asset_class"].astype(str).to_numpy()
    use_ref = known.to_numpy() & (file_class == AssetClass.UNCLASSIFIED.value)
    book["asset_class"] = _text(np.where(use_ref, ref_class, file_class), book)
    # What the reference data lacks is classified by its identifier and description (a CUSIP
    # starting 912 is a Treasury): the same call the agents' facts make, so nothing held is
    # left out of its class's weight.
    unlisted = ~known.to_numpy() & (file_class == AssetClass.UNCLASSIFIED.value) & ~file_cash
    if unlisted.any():
        rows = book.loc[unlisted]
        if "description" not in rows:
            rows = rows.assign(description="")
        got = securities.classify_frame(rows[["symbol", "description", "asset_class"]])
        book.loc[unlisted, "asset_class"] = got["asset_class"].to_numpy()
    in_cash = book["is_cash"].to_numpy() | cash_class
    book.loc[in_cash, "asset_class"] = AssetClass.CASH.value
    book.loc[in_cash, "sector"] = "Cash"

    file_price = book["price"].astype(float)
    file_price = file_price.where(file_price > 0, np.nan)
    # One price per symbol: the first price the file gives for it, in every account.
    per_symbol = file_price.groupby(book["symbol"]).transform("first")
    price = file_price.fillna(per_symbol)
    source = np.where(price.notna(), "file", "")
    if prices:
        override = book["symbol"].map({k.upper(): float(v) for k, v in prices.items()})
        override = override.where(override > 0, np.nan)
        source = np.where(override.notna(), "override", source)
        price = override.fillna(price)
    ref_price = r["price"].astype(float).set_axis(book.index)
    source = np.where(price.isna() & ref_price.gt(0), "reference", source)
    price = price.fillna(ref_price)
    book["price"] = price
    # Object columns: converting them to pandas' string type costs more than the rest of enrich.
    book["price_source"] = pd.Series(source.astype(object), index=book.index, dtype=object)
    book["price_as_of"] = pd.Series(
        r["price_as_of"].to_numpy(dtype=object), index=book.index, dtype=object
    )
    if prices:
        # Re-mark overridden positions at the new price (cash keeps its stated value).
        hit = override.notna().to_numpy() & ~book["is_cash"].to_numpy()
        book.loc[hit, "value"] = book.loc[hit, "quantity"] * book.loc[hit, "price"]

    flags = np.zeros(len(book), dtype=bool)
    reasons = np.full(len(book), "", dtype=object)
    for cat in sorted(mandate.screened_categories):
        hit = r[cat].fillna(False).astype(bool).to_numpy() & ~book["is_cash"].to_numpy()
        reasons = np.where(hit & (reasons == ""), cat, reasons)
        flags |= hit
    if mandate.excluded_symbols:
        hit = book["symbol"].isin(mandate.excluded_symbols).to_numpy()
        reasons = np.where(hit & (reasons == ""), "excluded_symbol", reasons)
        flags |= hit
    # Eligible: the mandate could buy it (per-fund screens, data/fund_screens.csv), the same
    # test the gate applies to a buy.
    book["esg_ok"] = (
        securities.meets_exclusions_many(book["symbol"].tolist(), mandate.screened_categories)
        & ~book["symbol"].isin(mandate.excluded_symbols).to_numpy()
    )
    book["excluded"] = flags
    book["exclusion"] = _text(reasons, book)
    book["single_name"] = known.to_numpy() & ~book["is_fund"] & ~book["is_cash"]
    book["tradable"] = (
        book["known"] & ~book["is_cash"] & (book["quantity"] > 0) & book["price"].gt(0)
    )
    return book


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
