"""`python -m portfolio book`: households from a column or a mapping file, runs saved for review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portfolio.cli import main

EXPORT = """Household,Account Name,Ticker,Security,Units,Close,Total Cost,Date Acquired,Category
Smith,Smith Joint,VTI,Vanguard Total,100,290,35000,2021-03-15,Equity
Smith,Smith Joint,BND,Vanguard Total Bond,50,72,4000,2021-11-03,Fixed Income
Smith,Smith IRA,VXUS,Vanguard Intl,300,65,18000,2020-09-15,International
Smith,Smith IRA,CASH,Cash,20000,,,,Cash
Jones,Jones Trust,VTI,Vanguard Total,10,290,2500,2024-01-06,Equity
Jones,Jones Trust,CASH,Cash,500,,,,Cash
"""


@pytest.fixture
def export(tmp_path: Path) -> Path:
    p = tmp_path / "export.csv"
    p.write_text(EXPORT)
    return p


def _json(capsys, *args: str) -> dict:
    assert main(["book", *args, "--format", "json", "--as-of", "2025-06-30"]) == 0
    return json.loads(capsys.readouterr().out)


def test_household_column_groups_accounts(export, capsys) -> None:
    doc = _json(capsys, str(export))
    rows = {r["household"]: r for r in doc["households"]}
    assert set(rows) == {"Smith", "Jones"}
    assert rows["Smith"]["value"] == pytest.approx(29_000 + 3_600 + 19_500 + 20_000)
    # The Smith Joint VTI lot: bought for 35,000, worth 29,000.
    (lot,) = [h for h in doc["harvest"] if h["harvestable"]]
    assert (lot["household"], lot["symbol"], lot["loss"]) == ("Smith", "VTI", 6_000.0)
    assert lot["safe_to_rebuy"] == "2025-07-31" and lot["replacement"] == "ITOT"


def test_mapping_file_places_accounts_and_types(export, tmp_path, capsys) -> None:
    m = tmp_path / "map.csv"
    m.write_text(
        "account,client,type,profile\nSmith Joint,A,taxable,aggressive\n"
        "Smith IRA,A,ira,\nJones Trust,B,tax_deferred,\n"
    )
    doc = _json(capsys, str(export), "--households", str(m))
    assert {r["household"] for r in doc["households"]} == {"A", "B"}
    # Jones Trust is tax-deferred by the mapping: its loss is no candidate.
    assert all(h["household"] == "A" for h in doc["harvest"])


def test_unplaced_account_is_named(export, tmp_path, capsys) -> None:
    m = tmp_path / "map.csv"
    m.write_text("account,client\nSmith Joint,A\nSmith IRA,A\n")
    assert main(["book", str(export), "--households", str(m)]) == 2
    assert "Jones Trust" in capsys.readouterr().err


def test_no_household_column_and_no_mapping_is_refused(tmp_path, capsys) -> None:
    p = tmp_path / "plain.csv"
    p.write_text("\n".join(EXPORT.splitlines()[i].split(",", 1)[1] for i in range(7)) + "\n")
    assert main(["book", str(p)]) == 2
    assert "--households" in capsys.readouterr().err


def test_save_keeps_each_household_as_a_run_pending_review(
    export, tmp_path, monkeypatch, capsys
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REBALANCE_LEDGER_KEY", "book-test-key-0123456789abcdef")
    doc = _json(capsys, str(export), "--save")
    assert set(doc["runs"]) == {"Smith", "Jones"}
    from portfolio.ledger import open_ledger

    led = open_ledger(url)
    try:
        for hid, run_id in doc["runs"].items():
            run = led.run(run_id)
            assert run.status == "PENDING_REVIEW"
            assert run.client == hid
            assert led.proposal(run_id).trades
    finally:
        led.close()
