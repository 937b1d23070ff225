"""Ledger throughput: decisions per second and executions (fills) per second, per backend.

    python bench/ledger.py [--runs 20] [--trades 10] [--book 10000]

Each decision is its own transaction, as when an advisor clicks approve on one trade; each
execution is an order journaled, sent to the paper broker (its book in the same database) and its
fill journaled, both on the keyed chain. A bulk step then approves a whole book (10,000 trades by
default) in one transaction, times a full `verify` of every chain and the tables behind it, and
executes the book (its orders sent to the broker as one basket).
SQLite is a WAL file in a temporary directory; PostgreSQL is a throwaway server with durable
settings (fsync on), skipped with a message if not installed.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from pg_server import INSTALL_HINT, TempPostgres, find_bindir  # noqa: E402

from portfolio.ledger import (  # noqa: E402
    Ledger,
    LedgerKey,
    execute_run,
    open_ledger,
    paper_broker,
)
from portfolio.models import (  # noqa: E402
    ClientMandate,
    Holdings,
    ModelPortfolio,
    ModelSleeve,
    Position,
    RebalanceProposal,
    Trade,
)


def _proposal(n_trades: int) -> RebalanceProposal:
    trades = [
        Trade(
            id=f"T{i + 1}",
            account="B1",
            symbol=f"S{i}",
            action="BUY",
            quantity=1,
            price=50.0,
            value=50.0,
            reason="bench",
        )
        for i in range(n_trades)
    ]
    model = ModelPortfolio(
        profile="moderate",
        sleeves=[
            ModelSleeve(asset_class="us_equity", weight=1.0, vehicle="VTI", esg_vehicle="ESGV")
        ],
    )
    return RebalanceProposal(
        as_of=date(2025, 6, 30),
        profile="moderate",
        mandate=ClientMandate(),
        model=model,
        total_value=1e6,
        cash_value=1e6,
        cash_after=1e6 - 50 * n_trades,
        positions=[],
        trades=trades,
        post_trade_weights={},
        asset_class_weights={},
        turnover=0.0,
    )


def _holdings() -> Holdings:
    return Holdings(
        source="bench.csv",
        positions=[
            Position(
                account="B1",
                symbol="SPAXX",
                quantity=1e6,
                price=1.0,
                market_value=1e6,
                is_cash=True,
                asset_class="cash",
            )
        ],
    )


def bulk(ledger: Ledger, trades: int) -> tuple[float, float, float]:
    """Approve a whole book in one transaction, verify the chains (links per second), then
    execute the book: its orders journaled, sent as one basket and their fills journaled."""
    run_id = ledger.create_run(holdings=_holdings(), source_bytes=b"bench", filename="bench.csv")
    ledger.save_proposal(run_id, _proposal(trades))
    start = time.perf_counter()
    ledger.decide(run_id, approve=[f"T{i + 1}" for i in range(trades)], by="bench")
    decisions = trades / (time.perf_counter() - start)
    start = time.perf_counter()
    report = ledger.verify()
    assert report.ok
    links = sum(c.length for c in report.chains) / (time.perf_counter() - start)
    start = time.perf_counter()
    done = execute_run(ledger, run_id, paper_broker(ledger))
    executions = len(done.recorded) / (time.perf_counter() - start)
    assert done.status == "EXECUTED" and len(done.recorded) == trades
    return decisions, links, executions


def measure(ledger: Ledger, runs: int, trades: int) -> tuple[float, float]:
    holdings = _holdings()
    ids = []
    for _ in range(runs):
        run_id = ledger.create_run(holdings=holdings, source_bytes=b"bench", filename="bench.csv")
        ledger.save_proposal(run_id, _proposal(trades))
        ids.append(run_id)
    start = time.perf_counter()
    for run_id in ids:
        for i in range(trades):
            ledger.decide(run_id, approve=[f"T{i + 1}"], by="bench")
    decisions = runs * trades / (time.perf_counter() - start)
    broker = paper_broker(ledger)
    start = time.perf_counter()
    for run_id in ids:
        execute_run(ledger, run_id, broker)
    executions = runs * trades / (time.perf_counter() - start)
    assert ledger.verify().ok
    return decisions, executions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--trades", type=int, default=10)
    parser.add_argument("--book", type=int, default=10_000, help="trades approved in one go")
    args = parser.parse_args()
    print(
        f"{args.runs} runs x {args.trades} trades, one transaction per decision; then a "
        f"{args.book:,}-trade book approved in one transaction, and verify"
    )
    print(
        f"{'backend':<12}{'decisions/s':>14}{'executions/s':>15}"
        f"{'bulk decisions/s':>19}{'verify links/s':>17}{'book executions/s':>20}"
    )
    key = LedgerKey(secrets.token_bytes(32), "bench")

    with tempfile.TemporaryDirectory() as tmp:
        ledger = open_ledger(f"sqlite:///{Path(tmp) / 'bench.db'}", key=key)
        d, e = measure(ledger, args.runs, args.trades)
        b, v, x = bulk(ledger, args.book)
        ledger.close()
    print(f"{'sqlite':<12}{d:>14,.0f}{e:>15,.0f}{b:>19,.0f}{v:>17,.0f}{x:>20,.0f}")

    if find_bindir() is None:
        print(f"{'postgresql':<12}  skipped: no server binaries ({INSTALL_HINT})")
        return 0
    server = TempPostgres(durable=True).start()
    try:
        ledger = open_ledger(server.url(server.create_database()), key=key)
        d, e = measure(ledger, args.runs, args.trades)
        b, v, x = bulk(ledger, args.book)
        ledger.close()
    finally:
        server.stop()
    print(f"{'postgresql':<12}{d:>14,.0f}{e:>15,.0f}{b:>19,.0f}{v:>17,.0f}{x:>20,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
