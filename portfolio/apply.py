"""Trades applied to a book: the one rule for what a trade does to quantities, values and cash.

The engine's after-trade view, the ticket's after-trade chart on every approve/veto click and
the holdings recorded after execution all go through `apply`, so what the advisor approves is
what the ledger records:
- a trade moves the account's first row of its symbol, or opens a new one (classed by the
  reference data; only a custodian's sweep fund bought is swept cash);
- a moved row is marked at its last trade price;
- the money goes to or from the account's largest swept cash row (a requested withdrawal is not
  one), else a new CASH row, fees included.
Lots are the ledger's business (portfolio.ledger.fills): they do not change what is held.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from portfolio.cash_requests import DEPOSIT_SYMBOL as DEPOSIT
from portfolio.cash_requests import WITHDRAWAL_SYMBOL as WITHDRAWAL
from portfolio.fund_groups import sweep_symbols
from portfolio.models import AssetClass, Trade
from portfolio.securities import SecurityMaster

CASH_SYMBOL = "CASH"
APPLY_COLUMNS = [
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


@dataclass(frozen=True)
class Move:
    """One trade or fill as `apply` sees it: signed by its action, with its fee (commission)."""

    account: str
    symbol: str
    action: str
    quantity: float
    price: float
    asset_class: str
    fee: float = 0.0
    # The money moved, when it is not quantity x price to the last bit: a proposal's trade
    # moves its value in cents, as the ticket shows it.
    value: float | None = None


def moves_of(trades: Sequence[Trade]) -> list[Move]:
    """A proposal's trades as moves, each moving its value (in cents)."""
    return [
        Move(t.account, t.symbol, t.action, t.quantity, t.price, t.asset_class, value=t.value)
        for t in trades
    ]


def apply(
    book: pd.DataFrame, moves: Sequence[Move], securities: SecurityMaster, *, mark: bool = False
) -> pd.DataFrame:
    """A new book (`APPLY_COLUMNS`) with `moves` applied in order. The rows of `book` keep their
    place; opened rows follow. Without fees, value is conserved: a move shifts quantity x price
    between a holding and cash. `mark`: every moved row is valued at quantity x its last trade
    price, as a statement after execution values it, even where the book's own value for it was
    not quantity x price (a proposal keeps the file's value, moved by the trades)."""
    post = book[APPLY_COLUMNS].reset_index(drop=True)
    held = len(post)
    if not moves:
        return post.copy()
    post = post.copy()
    if not held:  # an empty frame's text columns come without a text type
        post = post.astype({"account": object, "symbol": object, "asset_class": object})
    sign = np.array([1.0 if m.action == "BUY" else -1.0 for m in moves])
    qty = np.array([m.quantity for m in moves], dtype=float)
    price = np.array([m.price for m in moves], dtype=float)
    fee = np.array([m.fee for m in moves], dtype=float)
    money = np.array(
        [q * p if m.value is None else m.value for m, q, p in zip(moves, qty, price, strict=True)],
        dtype=float,
    )
    tf = pd.DataFrame(
        {
            "account": [m.account for m in moves],
            "symbol": [m.symbol.upper() for m in moves],
            "asset_class": [str(m.asset_class) for m in moves],
            "dq": sign * qty,
            "dv": sign * money,
            "fee": fee,
            "price": price,
        }
    )
    grouped = tf.groupby(["account", "symbol"], sort=False)
    net = grouped.agg(
        dq=("dq", "sum"),
        dv=("dv", "sum"),
        price=("price", "last"),
        asset_class=("asset_class", "first"),
    ).reset_index()
    # Trades all at the row's price keep its value exact (value += dv); any other price marks the
    # whole row at the last one, as a custodian's statement would.
    one_price = (grouped["price"].min() == grouped["price"].max()).to_numpy()
    key = post["account"] + "\x1f" + post["symbol"].str.upper()
    first = ~key.duplicated()
    at = pd.Series(post.index[first], index=key[first])
    nkey = net["account"] + "\x1f" + net["symbol"]
    hit = nkey.isin(at.index).to_numpy()
    rows = at.reindex(nkey[hit]).to_numpy()
    q0 = post.loc[rows, "quantity"].to_numpy(float)
    v0 = post.loc[rows, "value"].to_numpy(float)
    p0 = post.loc[rows, "price"].to_numpy(float)
    q1 = q0 + net.loc[hit, "dq"].to_numpy()
    p1 = net.loc[hit, "price"].to_numpy()
    # A trade's price is quoted to 6 decimals: within half of that it is the row's own price.
    same = one_price[hit] & np.isclose(p1, p0, rtol=0.0, atol=5e-7) & (not mark)
    post.loc[rows, "quantity"] = q1
    post.loc[rows, "value"] = np.where(same, v0 + net.loc[hit, "dv"].to_numpy(), q1 * p1)
    post.loc[rows, "price"] = p1
    new = net.loc[~hit]
    if len(new):
        post = pd.concat([post, _opened(new, securities, mark)], ignore_index=True)
    # The money: net flow per account, fees paid from it too.
    flow = (
        -tf.groupby("account", sort=False)["dv"].sum()
        - tf.groupby("account", sort=False)["fee"].sum()
    )
    post = _pay(post, flow, held)
    return post


def _opened(new: pd.DataFrame, securities: SecurityMaster, mark: bool) -> pd.DataFrame:
    """Rows for symbols an account did not hold: classed by the reference data, not by whoever
    proposed them; a bought cash-class fund is a holding unless it is a custodian's sweep fund."""
    ref = securities.frame.reindex(new["symbol"])
    ref_class = ref["asset_class"].astype(object).to_numpy()
    ref_cash = ref["is_cash"].fillna(False).astype(bool).to_numpy()
    new_cash = ref_cash & new["symbol"].isin(sweep_symbols()).to_numpy()
    new_class = np.where(pd.isna(ref_class), new["asset_class"].to_numpy(object), ref_class)
    new_class = np.where(ref_cash, AssetClass.CASH.value, new_class)
    return pd.DataFrame(
        {
            "account": new["account"].to_numpy(),
            "symbol": new["symbol"].to_numpy(),
            "asset_class": new_class,
            "quantity": new["dq"].to_numpy(),
            "price": new["price"].to_numpy(),
            "value": (new["dq"] * new["price"] if mark else new["dv"]).to_numpy(),
            "is_cash": new_cash,
            "is_fund": ref["is_fund"].fillna(False).astype(bool).to_numpy(),
            "known": new["symbol"].isin(securities.frame.index).to_numpy(),
        }
    )


def _pay(post: pd.DataFrame, flow: pd.Series, held: int) -> pd.DataFrame:
    """Each account's net flow into its largest swept cash row the book already had (a cash
    fund bought in this proposal keeps its own quantity), else into a new CASH row."""
    was_held = np.arange(len(post)) < held
    payable = post["is_cash"].to_numpy(bool) & was_held & (post["symbol"] != WITHDRAWAL).to_numpy()
    home = post[payable].sort_values("value", ascending=False, kind="stable")
    home = home.drop_duplicates("account")
    cash_row = pd.Series(home.index, index=home["account"])
    have = flow.index.isin(cash_row.index)
    r = cash_row.reindex(flow.index[have]).to_numpy()
    unit = post.loc[r, "price"].astype(float).fillna(1.0).to_numpy()
    post.loc[r, "value"] = post.loc[r, "value"].to_numpy() + flow[have].to_numpy()
    post.loc[r, "quantity"] = post.loc[r, "value"].to_numpy() / np.where(unit > 0, unit, 1.0)
    missing = flow[~have]
    if not len(missing):
        return post
    return pd.concat(
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


def book_of(
    rows: Sequence[Any],
    *,
    value: Callable[[Any], float],
    is_cash: Callable[[Any], bool],
    known: Callable[[Any], bool],
    is_fund: Callable[[Any], bool] = lambda r: False,
) -> pd.DataFrame:
    """An `apply` book from rows with account, symbol, asset_class, quantity and price (a
    proposal's positions, a snapshot's holdings); the callables read what the two name apart."""
    return pd.DataFrame(
        {
            "account": [r.account for r in rows],
            "symbol": [r.symbol for r in rows],
            "asset_class": [str(r.asset_class) for r in rows],
            "quantity": [r.quantity for r in rows],
            "price": [r.price for r in rows],
            "value": [value(r) for r in rows],
            "is_cash": [is_cash(r) for r in rows],
            "is_fund": [is_fund(r) for r in rows],
            "known": [known(r) for r in rows],
        },
        columns=APPLY_COLUMNS,
    ).astype({"price": float, "quantity": float, "value": float})


def fold_deposits(book: pd.DataFrame) -> pd.DataFrame:
    """A requested deposit is the account's cash once it arrives: add it to the account's cash
    row (or make it the cash row), so the book after the trades has no deposit of its own."""
    post = book[APPLY_COLUMNS].reset_index(drop=True)
    dep = (post["symbol"] == DEPOSIT).to_numpy()
    if not dep.any():
        return post
    post = post.copy()
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


def after_trades(
    book: pd.DataFrame, trades: Sequence[Trade], securities: SecurityMaster
) -> pd.DataFrame:
    """The book a proposal's trades would leave, requested deposits arrived."""
    return apply(fold_deposits(book), moves_of(trades), securities)
