"""Throughput of the rebalance planner on synthetic books: accounts per second.

Books of 1, 100, 5,000 and 50,000 accounts of about 30 positions each (known symbols from
data/securities.csv, random weights, a seeded RNG) are built straight into a pandas frame, then
timed through `enrich` + `plan_trades`, the vectorised path the engine runs on a whole book. The
same planner called account by account gives the baseline a straightforward loop would reach.
A last row plans 5,000 households of three accounts each (a joint taxable account, a rollover
IRA and a Roth IRA: about 15,000 accounts) as households, with asset location.

Run from the repository root:
    python bench/engine.py [--sizes 1,100,5000,50000] [--households 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portfolio.accounts import account_types
from portfolio.book import enrich
from portfolio.model_portfolios import load_model
from portfolio.models import ClientMandate
from portfolio.planner import Plan, plan_trades, sleeve_vehicles
from portfolio.securities import SecurityMaster, load_securities
from portfolio.targets import reassign_unbuyable, target_weights

POSITIONS_PER_ACCOUNT = 30
LOOP_LIMIT = 5_000  # the per-account loop is timed up to this size and extrapolated beyond


ACCOUNT_KINDS = ("Joint Taxable", "Rollover IRA", "Roth IRA")


def synthetic_book(
    n_accounts: int, securities: SecurityMaster, seed: int = 7, per_household: int = 1
) -> pd.DataFrame:
    """A raw book (the columns `positions_frame` yields): ~30 random known holdings per account.

    Each account holds 26-34 distinct symbols (stocks and funds) plus one money-market row, with
    log-normal weights on a log-normal account size; quantities are whole shares at reference
    prices so every figure is consistent.
    """
    rng = np.random.default_rng(seed)
    ref = securities.frame
    pool = ref[~ref["is_cash"] & ref["price"].gt(0)]
    syms = pool.index.to_numpy()
    prices = pool["price"].to_numpy(float)
    counts = rng.integers(POSITIONS_PER_ACCOUNT - 4, POSITIONS_PER_ACCOUNT + 5, n_accounts)
    # Distinct symbols per account: argsort of random keys, first `count` columns.
    picks = np.argsort(rng.random((n_accounts, len(syms))), axis=1)
    mask = np.arange(len(syms))[None, :] < counts[:, None]
    acct_idx = np.nonzero(mask)[0]
    sym_idx = picks[mask]
    size = rng.lognormal(np.log(250_000), 1.0, n_accounts)
    raw_w = rng.lognormal(0.0, 1.0, len(acct_idx))
    share = raw_w / np.bincount(acct_idx, weights=raw_w)[acct_idx]
    cash_share = rng.uniform(0.0, 0.1, n_accounts)
    dollars = share * size[acct_idx] * (1 - cash_share[acct_idx])
    qty = np.maximum(np.floor(dollars / prices[sym_idx]), 1.0)
    if per_household > 1:
        accounts = np.array(
            [
                f"HH{i // per_household:06d} {ACCOUNT_KINDS[i % per_household % 3]}"
                for i in range(n_accounts)
            ],
            dtype=object,
        )
    else:
        accounts = np.array([f"ACCT{i:06d}" for i in range(n_accounts)], dtype=object)
    held = pd.DataFrame(
        {
            "account": accounts[acct_idx],
            "symbol": syms[sym_idx],
            "asset_class": "unclassified",
            "quantity": qty,
            "price": prices[sym_idx],
            "value": qty * prices[sym_idx],
            "is_cash": False,
        }
    )
    cash = pd.DataFrame(
        {
            "account": accounts,
            "symbol": "SPAXX",
            "asset_class": "cash",
            "quantity": np.round(cash_share * size, 2),
            "price": 1.0,
            "value": np.round(cash_share * size, 2),
            "is_cash": True,
        }
    )
    book = pd.concat([held, cash], ignore_index=True).sort_values("account", kind="stable")
    book = book.reset_index(drop=True)
    book["pos"] = np.arange(len(book))
    if per_household > 1:
        book["household"] = book["account"].str.slice(0, 8)
    else:
        book["household"] = book["account"]  # each synthetic account is its own client
    return book


def _setup(mandate: ClientMandate, securities: SecurityMaster) -> tuple[dict, dict]:
    model = load_model(mandate.risk_profile)
    vehicles, moves = sleeve_vehicles(model, mandate, securities)
    weights, _ = reassign_unbuyable(target_weights(model, mandate), moves)
    return weights, vehicles


def types_of(raw: pd.DataFrame) -> dict[str, str]:
    """Account types from the names, as the engine reads them (once per proposal, not timed)."""
    return account_types(pd.unique(raw["account"]))[0]


def run_vectorised(
    raw: pd.DataFrame,
    mandate: ClientMandate,
    securities: SecurityMaster,
    types: dict[str, str] | None = None,
) -> Plan:
    weights, vehicles = _setup(mandate, securities)
    book = enrich(raw, securities, mandate)
    as_of = securities.as_of
    return plan_trades(
        book,
        mandate,
        weights,
        vehicles,
        securities.frame,
        as_of=as_of,
        account_types=types,
    )


def run_loop(raw: pd.DataFrame, mandate: ClientMandate, securities: SecurityMaster) -> list[Plan]:
    """The straightforward alternative: the same steps, one account at a time."""
    weights, vehicles = _setup(mandate, securities)
    as_of = securities.as_of
    plans = []
    for _, frame in raw.groupby("account", sort=True):
        book = enrich(frame, securities, mandate)
        plans.append(plan_trades(book, mandate, weights, vehicles, securities.frame, as_of=as_of))
    return plans


def best_of(fn: Callable[[], object], repeat: int) -> float:
    return best_of_cpu(fn, repeat)[0]


def best_of_cpu(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall and best CPU seconds of `repeat` runs: on a shared machine the CPU seconds of
    this process are the steadier figure."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,100,5000,50000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--households", type=int, default=5_000, help="0 to skip the household row")
    ap.add_argument("--loop-limit", type=int, default=LOOP_LIMIT)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    securities = load_securities()
    mandate = ClientMandate(single_name_cap=0.05, cash_floor=0.02, esg_only=False)
    run_vectorised(synthetic_book(10, securities), mandate, securities)  # warm caches

    header = (
        f"{'accounts':>9} {'positions':>10} {'build s':>8} {'engine s':>9} {'cpu s':>7} "
        f"{'acct/s':>10} "
        f"{'trades':>8} {'loop s':>9} {'loop acct/s':>12} {'speed-up':>9}"
    )
    print("Planner throughput (enrich + plan_trades), best of", args.repeat, "runs, one core")
    print(header)
    print("-" * len(header))
    loop_rate: float | None = None
    for n in sizes:
        t0 = time.perf_counter()
        raw = synthetic_book(n, securities)
        build = time.perf_counter() - t0
        plan = run_vectorised(raw, mandate, securities)
        repeat = args.repeat if n <= 5_000 else 1
        vec, cpu = best_of_cpu(lambda raw=raw: run_vectorised(raw, mandate, securities), repeat)
        if n <= args.loop_limit:
            loop = best_of(lambda raw=raw: run_loop(raw, mandate, securities), 1)
            loop_rate = n / loop
            loop_txt = f"{loop:>9.3f} {loop_rate:>12,.0f}"
        elif loop_rate:
            loop = n / loop_rate
            loop_txt = f"{'~' + format(loop, '.1f'):>9} {'(extrap.)':>12}"
        else:
            loop, loop_txt = float("nan"), f"{'-':>9} {'-':>12}"
        print(
            f"{n:>9,} {len(raw):>10,} {build:>8.3f} {vec:>9.3f} {cpu:>7.3f} {n / vec:>10,.0f} "
            f"{len(plan.trades):>8,} {loop_txt} {loop / vec:>8.1f}x"
        )
    if args.households:
        n_hh = args.households
        t0 = time.perf_counter()
        raw = synthetic_book(3 * n_hh, securities, per_household=3)
        types = types_of(raw)
        build = time.perf_counter() - t0
        plan = run_vectorised(raw, mandate, securities, types)
        vec, cpu = best_of_cpu(
            lambda raw=raw: run_vectorised(raw, mandate, securities, types), args.repeat
        )
        print(
            f"{3 * n_hh:>9,} {len(raw):>10,} {build:>8.3f} {vec:>9.3f} {cpu:>7.3f} "
            f"{3 * n_hh / vec:>10,.0f} "
            f"{len(plan.trades):>8,}   <- {n_hh:,} households of 3 accounts, planned as households"
        )
    print(
        "\nbuild s: making the synthetic frame (not timed in engine s). cpu s: this process's CPU "
        "seconds for the engine s run (steadier on a shared machine). loop: the same planner "
        f"called once per account; above {args.loop_limit:,} accounts it is extrapolated from "
        "the largest timed size, not run."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
