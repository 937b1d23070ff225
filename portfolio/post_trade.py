"""Weights after trades: the ticket's after-trade chart, from the proposal's positions."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from portfolio.apply import after_trades, book_of
from portfolio.lookthrough import load_lookthrough
from portfolio.models import PositionWeight, Trade
from portfolio.securities import load_securities


def _lookthrough_table() -> dict[str, list[tuple[str, float]]]:
    table = load_lookthrough()
    out: dict[str, list[tuple[str, float]]] = {}
    for sym, cls, w in zip(table["symbol"], table["asset_class"], table["weight"], strict=True):
        out.setdefault(str(sym), []).append((str(cls), float(w)))
    return out


def after_positions(positions: Sequence[PositionWeight], trades: Sequence[Trade]) -> pd.DataFrame:
    """The book `trades` would leave, from a proposal's positions (portfolio.apply's rule)."""
    book = book_of(
        positions,
        value=lambda p: p.value,
        is_cash=lambda p: p.is_cash,
        known=lambda p: p.known,
        is_fund=lambda p: p.is_fund,
    )
    return after_trades(book, trades, load_securities())


def weights_after(
    positions: Sequence[PositionWeight], trades: Sequence[Trade]
) -> tuple[dict[str, float], dict[str, float]]:
    """(asset class -> weight, symbol -> weight) after `trades`, from a proposal's positions.

    The same rule as the engine's after-trade view and the ledger's executed holdings, so the
    chart that follows each approve/veto click shows what execution would leave.
    """
    post = after_positions(positions, trades)
    total = float(post["value"].sum())
    if total <= 0:
        return {}, {}
    spread = _lookthrough_table()
    by_class: dict[str, float] = {}
    for sym, cls, value, is_cash in zip(
        post["symbol"], post["asset_class"], post["value"], post["is_cash"], strict=True
    ):
        # Blended funds count in each class they hold (data/lookthrough.csv).
        for c, w in [(cls, 1.0)] if is_cash else spread.get(str(sym).upper(), [(cls, 1.0)]):
            by_class[str(c)] = by_class.get(str(c), 0.0) + w * float(value)
    by_symbol = post.groupby("symbol", sort=False)["value"].sum()
    return (
        {c: v / total for c, v in by_class.items()},
        {str(s): float(v) / total for s, v in by_symbol.items() if abs(v) > 0.005},
    )
