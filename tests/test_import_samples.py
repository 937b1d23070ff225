"""The realistic sample files in data/samples load as the custodian formats they imitate."""

from __future__ import annotations

from pathlib import Path

import pytest

from portfolio.importers import read_holdings

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

EXPECTED_FORMAT = {
    "Portfolio_Positions_Jun-30-2025.csv": "fidelity",
    "etrade_PortfolioDownload.csv": "etrade",
    "ibkr_activity_statement.csv": "ibkr",
    "schwab_all_accounts.csv": "schwab",
    "schwab_single_account.csv": "schwab",
    "vanguard_download.csv": "vanguard",
    "plain_with_lots.csv": "plain",
    "malformed_rows.csv": "plain",
    "hostile_descriptions.csv": "plain",
}


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} is not present")
    return path


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED_FORMAT.items()))
def test_sample_format(name: str, fmt: str) -> None:
    assert read_holdings(sample(name)).format == fmt


def test_sample_stated_totals_match() -> None:
    """Each custodian's own total row agrees with the positions we read."""
    schwab = read_holdings(sample("schwab_single_account.csv"))
    total = next(s for s in schwab.skipped if "Account Total" in s.reason)
    assert f"${schwab.total_value:,.2f}" in total.raw
    etrade = read_holdings(sample("etrade_PortfolioDownload.csv"))
    total = next(s for s in etrade.skipped if "TOTAL" in s.reason)
    assert total.raw.endswith(f"{etrade.total_value:.2f}")


def test_sample_malformed_rows_report_lines() -> None:
    h = read_holdings(sample("malformed_rows.csv"))
    errors = {i.line for i in h.issues if i.severity == "error"}
    assert errors and all(i.raw for i in h.issues if i.severity == "error")
    assert not errors & {ln for p in h.positions for ln in p.lines}


def test_sample_hostile_text_is_inert() -> None:
    h = read_holdings(sample("hostile_descriptions.csv"))
    assert any(p.description.startswith("=HYPERLINK") for p in h.positions)
    assert not [i for i in h.issues if i.severity == "error"]
