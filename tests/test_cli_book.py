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


def _queue_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _plan_of(export: Path, as_of: str = "2025-06-30"):
    from datetime import date

    from portfolio.batch import plan_book
    from portfolio.households import split_households
    from portfolio.importers import read_holdings

    data = export.read_bytes()
    households = split_households(read_holdings(data, filename=export.name), data=data)
    return plan_book(households, date.fromisoformat(as_of))


def test_trades_queue_is_the_book_plan_of_every_household(export, tmp_path, capsys) -> None:
    from portfolio.trade_queue import QUEUE_HEADER

    out = tmp_path / "queue.csv"
    doc = _json(capsys, str(export), "--trades", str(out))
    plan = _plan_of(export)
    assert len(plan) > 0 and doc["trades"] == {"file": str(out), "count": len(plan)}
    assert out.read_text().splitlines()[0] == ",".join(QUEUE_HEADER)
    rows = _queue_rows(out)
    got = [(r["Household"], r["Account"], r["Action"], r["Symbol"]) for r in rows]
    assert got == [(t.household, t.account, t.action, t.symbol) for t in plan.itertuples()]
    assert {r["Household"] for r in rows} <= {"Smith", "Jones"}
    for r, t in zip(rows, plan.itertuples(), strict=True):
        assert float(r["Quantity"]) == pytest.approx(t.quantity, abs=1e-6)
        assert float(r["Value"]) == pytest.approx(t.value, abs=0.005)
        gain = t.realized_gain
        assert r["Realized Gain"] == ("" if gain != gain else f"{gain:.2f}")
        assert r["Reason"] == t.reason
        # A sale names its lots by date, quantity and unit cost; a purchase names none.
        assert bool(r["Lots"]) == (t.action == "SELL" and len(t.lots) > 0)


def test_trades_queue_names_the_lots_a_sale_takes(tmp_path, capsys) -> None:
    p = tmp_path / "export.csv"
    # All in VTI with one lot: the plan sells part of it and says which lot, at what cost.
    p.write_text(
        "Household,Account Name,Ticker,Units,Close,Total Cost,Date Acquired\n"
        "Lee,Lee Joint,VTI,1000,290,200000,2019-04-02\n"
    )
    out = tmp_path / "queue.csv"
    _json(capsys, str(p), "--trades", str(out))
    sells = [r for r in _queue_rows(out) if r["Action"] == "SELL"]
    assert sells and sells[0]["Symbol"] == "VTI"
    assert sells[0]["Lots"] == f"2019-04-02:{sells[0]['Quantity']}@200.0000"


def test_trades_queue_on_dask_is_the_same_file(export, tmp_path, monkeypatch, capsys) -> None:
    from portfolio import batch

    local = tmp_path / "one.csv"
    _json(capsys, str(export), "--trades", str(local))
    real = batch.dask_client
    # Workers as threads of this process: the same scheduler and transfers, a quicker start.
    monkeypatch.setattr(
        batch, "dask_client", lambda scheduler, workers: real(scheduler, workers, processes=False)
    )
    spread = tmp_path / "dask.csv"
    _json(capsys, str(export), "--trades", str(spread), "--dask")
    assert spread.read_bytes() == local.read_bytes()


def test_trades_queue_keeps_a_formula_as_text(tmp_path, capsys) -> None:
    p = tmp_path / "export.csv"
    p.write_text(
        "Household,Account Name,Ticker,Units,Close\n"
        "=HYPERLINK(1),Joint,VTI,1000,290\n=HYPERLINK(1),Joint,CASH,100,1\n"
    )
    out = tmp_path / "queue.csv"
    _json(capsys, str(p), "--trades", str(out))
    rows = _queue_rows(out)
    assert rows and all(r["Household"] == "'=HYPERLINK(1)" for r in rows)


def test_a_partial_export_is_refused_before_any_queue(tmp_path, capsys) -> None:
    p = tmp_path / "export.csv"
    p.write_text(EXPORT + "Jones,Jones Trust,VXUS,Vanguard Intl,ten,65,,,International\n")
    out = tmp_path / "queue.csv"
    assert main(["book", str(p), "--trades", str(out)]) == 2
    assert "could not be read (line 8)" in capsys.readouterr().err
    assert not out.exists()
    assert main(["book", str(p), "--trades", str(out), "--allow-partial"]) == 0
    assert out.exists()


def test_a_scheduler_named_by_the_environment_plans_on_dask(
    export, tmp_path, monkeypatch, capsys
) -> None:
    """A firm's nightly job names its cluster once, in REBALANCE_DASK_SCHEDULER."""
    from dask.distributed import LocalCluster

    from portfolio import batch

    local = tmp_path / "one.csv"
    _json(capsys, str(export), "--trades", str(local))
    calls: list[str] = []
    real = batch.plan_columns_on_dask

    def counted(cols, client, as_of, per_worker=2):  # type: ignore[no-untyped-def]
        calls.append(client.scheduler.address)
        return real(cols, client, as_of, per_worker)

    monkeypatch.setattr(batch, "plan_columns_on_dask", counted)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv(batch.SCHEDULER_ENV, cluster.scheduler_address)
        spread = tmp_path / "dask.csv"
        _json(capsys, str(export), "--trades", str(spread))
    assert calls == [cluster.scheduler_address]
    assert spread.read_bytes() == local.read_bytes()
