"""The import report's figures come from the engine's own classification of the book."""

from __future__ import annotations

import pytest

from portfolio.book import summarize
from portfolio.engine import rebalance
from portfolio.models import ClientMandate, Holdings, Position
from portfolio.securities import load_securities

SECURITIES = load_securities()


def pos(symbol: str, value: float, account: str, *, cash: bool = False) -> Position:
    return Position(
        account=account,
        symbol=symbol,
        quantity=value,
        price=1.0,
        market_value=value,
        is_cash=cash,
        asset_class="cash" if cash else "unclassified",
    )


BOOK = Holdings(
    positions=[
        pos("SPAXX", 5_000, "Joint", cash=True),  # Fidelity's core position: swept
        pos("SWVXX", 7_000, "Joint", cash=True),  # bought money-market fund: a holding
        pos("SGOV", 3_000, "Joint"),  # T-bill ETF: a holding in the cash class
        pos("CASH", 1_000, "Roth IRA", cash=True),  # a cash row: swept
        pos("VTI", 10_000, "Roth IRA"),
    ]
)


def test_only_swept_cash_is_cash_and_bought_cash_funds_are_positions() -> None:
    s = summarize(BOOK, SECURITIES)
    assert s.swept == [True, False, False, True, False]
    assert s.positions == 3 and s.cash == pytest.approx(6_000)
    assert s.asset_classes[:4] == ["cash"] * 4
    assert s.accounts == 2 and s.total_value == pytest.approx(26_000)


def test_the_summary_agrees_with_the_engines_proposal() -> None:
    s = summarize(BOOK, SECURITIES)
    p = rebalance(BOOK, ClientMandate(), securities=SECURITIES)
    assert p.cash_value == pytest.approx(s.cash)
    swept = {q.symbol: q.is_cash for q in p.positions}
    assert swept == {q.symbol: w for q, w in zip(BOOK.positions, s.swept, strict=True)}
