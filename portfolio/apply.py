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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from portfolio.book import text_column
from portfolio.cash_requests import DEPOSIT_SYMBOL as DEPOSIT
from portfolio.cash_requests import WITHDRAWAL_SYMBOL as WITHDRAWAL
from portfolio.compensated import total
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
    if not moves:
        return post.copy()
    # A household's book is a few dozen rows and a ticket a few dozen moves, applied on every
    # approve click and once per proposal: plain Python lists, not frame operations (each of
    # which costs more than this whole loop at that size).
    rows = _Rows(post)
    nets: dict[tuple[str, str], _Net] = {}
    flows: dict[str, tuple[list[float], list[float]]] = {}  # account -> money moved, fees
    for m in moves:
        symbol = m.symbol.upper()
        sign = 1.0 if m.action == "BUY" else -1.0
        money = m.quantity * m.price if m.value is None else m.value
        net = nets.get((m.account, symbol))
        if net is None:
            net = nets[(m.account, symbol)] = _Net(str(m.asset_class))
        net.add(sign * m.quantity, sign * money, m.price)
        spent, fees = flows.setdefault(m.account, ([], []))
        spent.append(sign * money)
        fees.append(m.fee)
    for (account, symbol), net in nets.items():
        r = rows.first.get((account, symbol))
        if r is None:
            rows.open(account, symbol, net, securities, mark)
        else:
            rows.move(r, net, mark)
    # The money: net flow per account, fees paid from it too.
    rows.pay({a: -total(spent) - total(fees) for a, (spent, fees) in flows.items()})
    return rows.frame()


@dataclass
class _Net:
    """One account's trades in one symbol: net quantity and money, last price, whether one.

    A missing figure is skipped, as a frame's sum, last, min and max skip it."""

    asset_class: str
    dq: list[float] = field(default_factory=list)
    dv: list[float] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)

    def add(self, dq: float, dv: float, price: float) -> None:
        self.dq.append(dq)
        self.dv.append(dv)
        self.prices.append(price)

    @property
    def quantity(self) -> float:
        return total(self.dq)

    @property
    def value(self) -> float:
        return total(self.dv)

    @property
    def price(self) -> float:
        given = [p for p in self.prices if not math.isnan(p)]
        return given[-1] if given else math.nan

    @property
    def one_price(self) -> bool:
        given = [p for p in self.prices if not math.isnan(p)]
        return bool(given) and min(given) == max(given)


class _Rows:
    """The book's columns as lists while moves are applied; `frame()` lays them out again."""

    def __init__(self, post: pd.DataFrame) -> None:
        self.held = len(post)
        self.cols: dict[str, list[Any]] = {
            c: post[c].to_numpy(dtype=_DTYPES[c]).tolist() for c in APPLY_COLUMNS
        }
        self.first: dict[tuple[str, str], int] = {}
        for i, (a, s) in enumerate(zip(self.cols["account"], self.cols["symbol"], strict=True)):
            self.first.setdefault((a, str(s).upper()), i)

    def move(self, r: int, net: _Net, mark: bool) -> None:
        """Trades all at the row's price keep its value exact (value += dv); any other price
        marks the whole row at the last one, as a custodian's statement would."""
        c = self.cols
        q1, p1, p0 = c["quantity"][r] + net.quantity, net.price, c["price"][r]
        # A trade's price is quoted to 6 decimals: within half of that it is the row's own price.
        same = not mark and net.one_price and abs(p1 - p0) <= 5e-7  # never for a NaN price
        c["value"][r] = c["value"][r] + net.value if same else q1 * p1
        c["quantity"][r] = q1
        c["price"][r] = p1

    def open(
        self, account: str, symbol: str, net: _Net, securities: SecurityMaster, mark: bool
    ) -> None:
        """A row for a symbol the account did not hold: classed by the reference data, not by
        whoever proposed it; a bought cash-class fund is a holding unless it is a custodian's
        sweep fund."""
        ref = securities.frame
        known = symbol in ref.index
        ref_class = ref.at[symbol, "asset_class"] if known else None
        ref_cash = known and _flag(ref.at[symbol, "is_cash"])
        asset_class = net.asset_class if ref_class is None or pd.isna(ref_class) else ref_class
        self._append(
            account=account,
            symbol=symbol,
            asset_class=AssetClass.CASH.value if ref_cash else asset_class,
            quantity=net.quantity,
            price=net.price,
            value=net.quantity * net.price if mark else net.value,
            is_cash=ref_cash and symbol in sweep_symbols(),
            is_fund=known and _flag(ref.at[symbol, "is_fund"]),
            known=known,
        )

    def pay(self, flow: dict[str, float]) -> None:
        """Each account's net flow into its largest swept cash row the book already had (a cash
        fund bought in this proposal keeps its own quantity), else into a new CASH row."""
        c = self.cols
        home: dict[str, int] = {}
        for i in range(self.held):
            if not c["is_cash"][i] or c["symbol"][i] == WITHDRAWAL:
                continue
            j = home.get(c["account"][i])
            if j is None or _larger(c["value"][i], c["value"][j]):  # ties: the first row
                home[c["account"][i]] = i
        for account, amount in flow.items():
            r = home.get(account)
            if r is None:
                self._append(
                    account=account,
                    symbol=CASH_SYMBOL,
                    asset_class=AssetClass.CASH.value,
                    quantity=amount,
                    price=1.0,
                    value=amount,
                    is_cash=True,
                    is_fund=False,
                    known=True,
                )
                continue
            unit = c["price"][r]
            unit = 1.0 if math.isnan(unit) or unit <= 0 else unit
            c["value"][r] = c["value"][r] + amount
            c["quantity"][r] = c["value"][r] / unit

    def _append(self, **row: Any) -> None:
        for name, v in row.items():
            self.cols[name].append(v)

    def frame(self) -> pd.DataFrame:
        c = self.cols
        return pd.DataFrame(
            {
                "account": text_column(c["account"]),
                "symbol": text_column(c["symbol"]),
                "asset_class": text_column(c["asset_class"]),
                "quantity": np.array(c["quantity"], dtype=float),
                "price": np.array(c["price"], dtype=float),
                "value": np.array(c["value"], dtype=float),
                "is_cash": np.array(c["is_cash"], dtype=bool),
                "is_fund": np.array(c["is_fund"], dtype=bool),
                "known": np.array(c["known"], dtype=bool),
            },
            columns=APPLY_COLUMNS,
        )


# The columns as `apply` reads them: numbers as floats (a missing one NaN), flags as booleans.
_DTYPES: dict[str, Any] = {
    "account": object,
    "symbol": object,
    "asset_class": object,
    "quantity": float,
    "price": float,
    "value": float,
    "is_cash": bool,
    "is_fund": bool,
    "known": bool,
}


def _flag(v: Any) -> bool:
    """A reference data flag; missing is no."""
    return False if v is None or pd.isna(v) else bool(v)


def _larger(v: float, than: float) -> bool:
    """`v` ranks above `than` as the largest cash row: any amount above a missing one."""
    if math.isnan(v):
        return False
    return math.isnan(than) or v > than


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
