"""The book after trades: quantities and cash moved by the approved trades, weights recomputed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from portfolio.cash_requests import DEPOSIT_SYMBOL as DEPOSIT
from portfolio.cash_requests import WITHDRAWAL_SYMBOL as WITHDRAWAL
from portfolio.fund_groups import sweep_symbols
from portfolio.lookthrough import load_lookthrough
from portfolio.models import AssetClass, Trade
from portfolio.securities import SecurityMaster

CASH_SYMBOL = "CASH"


class PositionWeightLike(Protocol):
    account: str
    symbol: str
    asset_class: str
    value: float
    is_cash: bool


def apply_trades(
    book: pd.DataFrame, trades: Sequence[Trade], securities: SecurityMaster
) -> pd.DataFrame:
    """Return a new book with `trades` applied; proceeds and costs land in each account's cash.

    Value is conserved: a trade moves quantity x price between a position and cash.
    """
    cols = [
        "account",
        "symbol",
        "asset_class",
        "quantity",
        "price",
        "value",
        "is_cash",
        "is_fund",
        "known",
    ]
    post = _fold_deposits(book[cols].copy())
    held = len(post)
    if not trades:
        return post
    tf = pd.DataFrame(
        {
            "account": [t.account for t in trades],
            "symbol": [t.symbol.upper() for t in trades],
            "asset_class": [t.asset_class for t in trades],
            "dq": [t.quantity if t.action == "BUY" else -t.quantity for t in trades],
            "dv": [t.value if t.action == "BUY" else -t.value for t in trades],
            "price": [t.price for t in trades],
        }
    )
    moves = (
        tf.groupby(["account", "symbol"], sort=False)
        .agg(
            dq=("dq", "sum"),
            dv=("dv", "sum"),
            price=("price", "last"),
            asset_class=("asset_class", "first"),
        )
        .reset_index()
    )
    # Apply to the first row of each (account, symbol); lots beyond the first stay untouched.
    key = post["account"] + "\x1f" + post["symbol"]
    first = ~key.duplicated()
    idx = pd.Series(post.index[first], index=key[first])
    mkey = moves["account"] + "\x1f" + moves["symbol"]
    hit = mkey.isin(idx.index)
    rows = idx.reindex(mkey[hit]).to_numpy()
    post.loc[rows, "quantity"] = (
        post.loc[rows, "quantity"].to_numpy() + moves.loc[hit, "dq"].to_numpy()
    )
    post.loc[rows, "value"] = post.loc[rows, "value"].to_numpy() + moves.loc[hit, "dv"].to_numpy()
    new = moves.loc[~hit]
    if len(new):
        ref = securities.frame.reindex(new["symbol"])
        # A new holding takes its class from the reference data, not from whoever proposed it.
        ref_class = ref["asset_class"].astype(object).to_numpy()
        ref_cash = ref["is_cash"].fillna(False).astype(bool).to_numpy()
        # Bought cash-class funds are holdings; only a custodian's sweep fund is swept cash.
        new_cash = ref_cash & new["symbol"].isin(sweep_symbols()).to_numpy()
        new_class = np.where(pd.isna(ref_class), new["asset_class"].to_numpy(object), ref_class)
        new_class = np.where(ref_cash, AssetClass.CASH.value, new_class)
        post = pd.concat(
            [
                post,
                pd.DataFrame(
                    {
                        "account": new["account"].to_numpy(),
                        "symbol": new["symbol"].to_numpy(),
                        "asset_class": new_class,
                        "quantity": new["dq"].to_numpy(),
                        "price": new["price"].to_numpy(),
                        "value": new["dv"].to_numpy(),
                        "is_cash": new_cash,
                        "is_fund": ref["is_fund"].fillna(False).astype(bool).to_numpy(),
                        "known": new["symbol"].isin(securities.frame.index).to_numpy(),
                    }
                ),
            ],
            ignore_index=True,
        )
    # Cash: net flow per account into the account's largest cash row, or a new CASH row.
    flow = -tf.groupby("account")["dv"].sum()
    # Only cash rows the book already had: a cash-like fund bought here keeps its own quantity.
    was_held = np.arange(len(post)) < held
    # A requested withdrawal's row is money leaving, not an account's cash position.
    payable = post["is_cash"].to_numpy(bool) & was_held & (post["symbol"] != WITHDRAWAL).to_numpy()
    first_cash = post[payable].sort_values("value", ascending=False)
    first_cash = first_cash.drop_duplicates("account")
    cash_row = pd.Series(first_cash.index, index=first_cash["account"])
    have = flow.index.isin(cash_row.index)
    r = cash_row.reindex(flow.index[have]).to_numpy()
    unit = post.loc[r, "price"].fillna(1.0).to_numpy()
    post.loc[r, "value"] = post.loc[r, "value"].to_numpy() + flow[have].to_numpy()
    post.loc[r, "quantity"] = post.loc[r, "value"].to_numpy() / np.where(unit > 0, unit, 1.0)
    missing = flow[~have]
    if len(missing):
        post = pd.concat(
            [
                post,
                pd.DataFrame(
                    {
                        "account": missing.index.to_numpy(),
                        "symbol": CASH_SYMBOL,
                        "asset_class": AssetClass.CASH.value,
                        "quantity": missing.to_numpy(),
                        "price": 1.0,
                        "value": missing.to_numpy(),
                        "is_cash": True,
                        "is_fund": False,
                        "known": True,
                    }
                ),
            ],
            ignore_index=True,
        )
    return post


def _fold_deposits(post: pd.DataFrame) -> pd.DataFrame:
    """A requested deposit is the account's cash once it arrives: add it to the account's cash
    row (or make it the cash row), so the book after the trades has no deposit of its own."""
    dep = (post["symbol"] == DEPOSIT).to_numpy()
    if not dep.any():
        return post
    cash = post["is_cash"].to_numpy(bool) & ~dep & (post["symbol"] != WITHDRAWAL).to_numpy()
    drop = []
    for i in np.flatnonzero(dep):
        acct = post.iat[i, post.columns.get_loc("account")]
        home = np.flatnonzero(cash & (post["account"] == acct).to_numpy())
        if len(home):
            j = post.index[home[0]]
            post.loc[j, "value"] += post.iloc[i]["value"]
            price = post.loc[j, "price"]
            post.loc[j, "quantity"] = post.loc[j, "value"] / (price if price and price > 0 else 1.0)
            drop.append(post.index[i])
        else:
            post.iloc[i, post.columns.get_loc("symbol")] = CASH_SYMBOL
            cash[i] = True
    return post.drop(index=drop).reset_index(drop=True)


def _lookthrough_table() -> dict[str, list[tuple[str, float]]]:
    table = load_lookthrough()
    out: dict[str, list[tuple[str, float]]] = {}
    for sym, cls, w in zip(table["symbol"], table["asset_class"], table["weight"], strict=True):
        out.setdefault(str(sym), []).append((str(cls), float(w)))
    return out


def weights_after(
    positions: Sequence[PositionWeightLike], trades: Sequence[Trade]
) -> tuple[dict[str, float], dict[str, float]]:
    """(asset class -> weight, symbol -> weight) after `trades`, from a proposal's positions.

    Cheap enough to call on every approve/veto click so the after-trade chart follows choices.
    """
    total = sum(p.value for p in positions)
    by_class: dict[str, float] = {}
    by_symbol: dict[str, float] = {}
    spread = _lookthrough_table()

    def add(symbol: str, cls: str, value: float, is_cash: bool = False) -> None:
        # Blended funds count in each class they hold (data/lookthrough.csv).
        for c, w in [(cls, 1.0)] if is_cash else spread.get(symbol.upper(), [(cls, 1.0)]):
            by_class[c] = by_class.get(c, 0.0) + w * value

    for p in positions:
        add(p.symbol, p.asset_class, p.value, p.is_cash)
        by_symbol[p.symbol] = by_symbol.get(p.symbol, 0.0) + p.value
    cash_symbol = {p.account: p.symbol for p in positions if p.is_cash and p.symbol != WITHDRAWAL}
    for t in trades:
        sign = 1.0 if t.action == "BUY" else -1.0
        add(t.symbol, t.asset_class, sign * t.value)
        by_symbol[t.symbol] = by_symbol.get(t.symbol, 0.0) + sign * t.value
        cash = cash_symbol.get(t.account, CASH_SYMBOL)
        by_class[AssetClass.CASH.value] = by_class.get(AssetClass.CASH.value, 0.0) - sign * t.value
        by_symbol[cash] = by_symbol.get(cash, 0.0) - sign * t.value
    if total <= 0:
        return {}, {}
    return (
        {c: v / total for c, v in by_class.items()},
        {s: v / total for s, v in by_symbol.items() if abs(v) > 0.005},
    )
