"""Vanguard downloads: per-account blocks separated by blank lines, then transaction history."""

from __future__ import annotations

from pathlib import Path

from portfolio.importers import read_holdings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


def test_blocks_and_settlement_fund() -> None:
    h = read_holdings(FIXTURES / "vanguard.csv")
    assert h.format == "vanguard"
    assert h.accounts == ["11112222", "33334444"]
    vmfxx = next(p for p in h.positions if p.symbol == "VMFXX")
    assert vmfxx.is_cash and vmfxx.asset_class == "cash" and vmfxx.market_value == 500.25
    assert [p.symbol for p in h.positions] == ["VMFXX", "VTI", "VBTLX"]


def test_transactions_are_not_holdings() -> None:
    h = read_holdings(FIXTURES / "vanguard.csv")
    txn = [s for s in h.skipped if s.reason == "transaction history, not a holding"]
    assert [s.line for s in txn] == [12, 13]
    assert any(s.line == 11 and "transaction" in s.reason for s in h.skipped)
    # The VTI buy of 1 share must not be added to the VTI holding of 10.
    assert next(p for p in h.positions if p.symbol == "VTI").quantity == 10
