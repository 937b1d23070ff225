"""`python -m portfolio`: the JSON contract, the table, the import view and unusable files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
FOUR_TECH = SAMPLES / "seed000_four_tech.csv"
ESG_CLIENT = SAMPLES / "seed001_esg_moderate.csv"

pytestmark = pytest.mark.skipif(
    not (ROOT / "portfolio" / "importers" / "__init__.py").exists(),
    reason="the holdings importer (portfolio/importers) is not in this checkout yet",
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portfolio", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rebalance_json(*args: str) -> dict:
    done = run("rebalance", *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_json_fields_are_named_as_the_contract_says() -> None:
    doc = rebalance_json(str(FOUR_TECH))
    for key in (
        "total_value",
        "cash_value",
        "positions",
        "trades",
        "post_trade_weights",
        "asset_class_weights",
        "import_issues",
    ):
        assert key in doc, key
    for p in doc["positions"]:
        assert {"account", "symbol", "asset_class", "quantity", "price", "value", "weight"} <= set(
            p
        )
    assert doc["trades"]
    for t in doc["trades"]:
        assert {"account", "symbol", "action", "quantity", "price", "value", "reason"} <= set(t)
        assert t["action"] in {"BUY", "SELL"}
        assert t["compliance"]["status"] in {"APPROVED", "VETOED"}
        assert isinstance(t["compliance"]["reasons"], list)
    for cls, w in doc["asset_class_weights"].items():
        assert {"current", "target", "post_trade"} <= set(w), cls
    assert isinstance(doc["import_issues"], list)


def test_four_tech_client_figures() -> None:
    doc = rebalance_json(str(FOUR_TECH))
    assert doc["total_value"] == pytest.approx(100_000.0, abs=0.05)
    assert doc["cash_value"] == 0.0
    assert {p["symbol"] for p in doc["positions"]} == {"AAPL", "GOOGL", "MSFT", "AMZN"}
    assert all(p["weight"] == pytest.approx(0.25, abs=1e-4) for p in doc["positions"])
    sells = {t["symbol"]: t for t in doc["trades"] if t["action"] == "SELL"}
    assert sells["AAPL"]["quantity"] == 83 and sells["AAPL"]["value"] == pytest.approx(17_029.11)
    assert all(t["compliance"]["status"] == "APPROVED" for t in doc["trades"])
    assert sum(doc["post_trade_weights"].values()) == pytest.approx(1.0, abs=1e-6)
    us = doc["asset_class_weights"]["us_equity"]
    assert us["current"] == pytest.approx(1.0)
    assert us["target"] == pytest.approx(0.32)
    assert abs(us["post_trade"] - 0.32) <= 0.05


def test_esg_client_with_the_seed_mandate() -> None:
    doc = rebalance_json(str(ESG_CLIENT), "--esg", "--max-position", "5%", "--profile", "moderate")
    assert doc["total_value"] == pytest.approx(500_000.0, abs=0.05)
    # SWVXX is a purchased money-market fund: a holding of the cash class, not swept cash.
    assert doc["cash_value"] == 0.0
    assert doc["asset_class_weights"]["cash"]["current"] == pytest.approx(0.10)
    trims = {t["symbol"]: t for t in doc["trades"] if "single-name cap" in t["reason"]}
    assert set(trims) == {"NVDA", "AAPL"}
    assert trims["NVDA"]["quantity"] == 95
    for sym in ("NVDA", "AAPL", "MSFT"):
        assert doc["post_trade_weights"][sym] <= 0.05 + 1e-9
    assert all(t["compliance"]["status"] == "APPROVED" for t in doc["trades"])
    bought = {t["symbol"] for t in doc["trades"] if t["action"] == "BUY"}
    assert bought and not bought & {"VTI", "VEA", "VWO", "BND", "BNDX", "VB"}


def test_options_reach_the_mandate() -> None:
    doc = rebalance_json(
        str(ESG_CLIENT), "--exclude", "NVDA,tobacco", "--cash-min", "12%", "--band", "0.02"
    )
    m = doc["mandate"]
    assert m["excluded_symbols"] == ["NVDA"] and m["excluded_categories"] == ["tobacco"]
    assert m["cash_floor"] == pytest.approx(0.12) and m["band_abs"] == pytest.approx(0.02)
    (nvda,) = [t for t in doc["trades"] if t["symbol"] == "NVDA"]
    assert nvda["reason"] == "Sell all: NVDA is on the client's exclusion list"
    assert doc["cash_after"] >= 0.12 * doc["total_value"] - 0.01


def test_table_format_prints_for_a_person() -> None:
    done = run("rebalance", str(FOUR_TECH), "--format", "table")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Portfolio $100,000.00" in out
    assert "us_equity" in out and "SELL" in out and "APPROVED" in out
    assert "Checks" in out


def test_import_subcommand_shows_what_was_read() -> None:
    done = run("import", str(ESG_CLIENT))
    assert done.returncode == 0, done.stderr
    # SWVXX is a purchased money-market fund: a position of the cash class, as the engine sees it.
    assert "5 positions in 1 account(s), total $500,000.00, swept cash $0.00" in done.stdout
    assert "NVDA" in done.stdout
    as_json = run("import", str(ESG_CLIENT), "--format", "json")
    doc = json.loads(as_json.stdout)
    assert doc["total_value"] == pytest.approx(500_000.0)
    assert doc["cash_value"] == 0.0
    assert [p["symbol"] for p in doc["positions"]] == ["VT", "NVDA", "AAPL", "MSFT", "SWVXX"]


@pytest.mark.parametrize("kind", ["empty", "binary", "missing"])
def test_unusable_file_exits_2_with_one_error_line(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.csv"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 8)
    for command in ("rebalance", "import"):
        done = run(command, str(path), "--format", "json")
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("error: ")
        assert f"{kind}.csv" in lines[0]
        assert "Traceback" not in done.stderr
        assert done.stdout == ""


LOTS = SAMPLES / "plain_with_lots.csv"


def test_household_options_reach_the_engine(tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("symbol,price,date\nVTI,310.00,2025-07-14\n")
    doc = rebalance_json(
        str(LOTS),
        "--as-of",
        "2025-07-15",
        "--account-type",
        "Joint Taxable=taxable",
        "--account-type",
        "Roth IRA=tax_free",
        "--max-gains",
        "5000",
        "--prices",
        str(prices),
    )
    assert (doc["as_of"], doc["as_of_source"]) == ("2025-07-15", "argument")
    assert {a["account"]: a["type"] for a in doc["accounts"]} == {
        "Joint Taxable": "taxable",
        "Roth IRA": "tax_free",
    }
    assert doc["household"] is True and doc["max_gains"] == 5000
    assert doc["realized_gains"] <= 5000 + 0.01
    assert {t["price"] for t in doc["trades"] if t["symbol"] == "VTI"} <= {310.0}
    roth = [t for t in doc["trades"] if t["account"] == "Roth IRA" and t["action"] == "SELL"]
    assert all(t["realized_gain"] == 0.0 for t in roth)
    per = rebalance_json(str(LOTS), "--as-of", "2025-07-15", "--per-account")
    assert per["household"] is False


@pytest.mark.parametrize(
    ("option", "value"),
    [("--as-of", "15/07/2025"), ("--account-type", "Roth IRA"), ("--max-gains", "lots")],
)
def test_bad_household_options_are_one_line_errors(option: str, value: str) -> None:
    done = run("rebalance", str(LOTS), option, value)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_a_bad_price_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "prices.csv"
    bad.write_text("VTI,abc\n")
    bad.write_text("symbol,price\nVTI,abc\n")
    done = run("rebalance", str(LOTS), "--prices", str(bad))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "not a price" in done.stderr
