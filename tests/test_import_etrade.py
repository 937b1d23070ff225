"""E*TRADE PortfolioDownload.csv: account summary, CASH and TOTAL rows, a generated-at note."""

from __future__ import annotations

from pathlib import Path

from portfolio.importers import read_holdings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


def test_etrade_download() -> None:
    h = read_holdings(FIXTURES / "etrade.csv")
    assert h.format == "etrade"
    assert h.accounts == ["Brokerage -9876"]
    cash = next(p for p in h.positions if p.symbol == "CASH")
    assert cash.is_cash and cash.market_value == 670
    aapl = next(p for p in h.positions if p.symbol == "AAPL")
    assert (aapl.quantity, aapl.price, aapl.market_value) == (10, 200, 2000)
    assert aapl.cost_basis == 1500  # Price Paid $ x quantity
    reasons = {s.line: s.reason for s in h.skipped}
    assert "TOTAL" in reasons[10]
    assert "disclaimer" in reasons[12]
    assert {1, 2, 3, 5} <= set(reasons)
    assert h.total_value == 5750
