"""Benchmark the crew.

1. Offline (the default provider, zero pace): time to first token per agent and the whole run.
2. Against the local OpenAI-compatible test server with a fixed per-token delay: the wall time of
   the market analyst and risk assessor run concurrently (as the graph runs them) against one
   after the other, and their ratio; plus the whole run over HTTP.

Run from the repository root:  python bench/pipeline.py [--token-delay 0.004] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from openai_stub_server import StubOpenAI  # noqa: E402

from agents.facts import holdings_frame, market_facts, profile_facts, risk_facts  # noqa: E402
from agents.pipeline import TITLES, crew_result, run_crew  # noqa: E402
from agents.runner import RunBudget, run_agent  # noqa: E402
from agents.schemas import MarketAnswer, RiskAnswer  # noqa: E402
from agents.settings import LLMSettings  # noqa: E402
from portfolio.importers import read_holdings  # noqa: E402
from portfolio.market_data import bundled_snapshot  # noqa: E402
from portfolio.model_portfolios import load_model  # noqa: E402
from portfolio.models import ClientMandate  # noqa: E402
from portfolio.securities import load_securities  # noqa: E402

CLIENT = ROOT / "data" / "samples" / "seed000_four_tech.csv"
NOTES = "Moderate risk."


def _print_run(label: str, settings: LLMSettings) -> float:
    holdings = read_holdings(CLIENT.read_bytes(), filename=CLIENT.name)
    t0 = time.perf_counter()
    result = crew_result(list(run_crew(holdings, NOTES, settings=settings)))
    wall = time.perf_counter() - t0
    print(f"\n{label}: status {result.status}, whole run {wall:.3f}s")
    print(f"  {'agent':<20}{'first token':>12}{'duration':>10}{'tokens in/out':>16}")
    for name, u in result.usage.items():
        ttft = f"{u.ttft_s * 1000:.1f} ms" if u.ttft_s is not None else "n/a"
        print(
            f"  {name:<20}{ttft:>12}{u.duration_s:>9.3f}s{u.input_tokens:>9}/{u.output_tokens:<6}"
        )
    return wall


async def _pair(settings: LLMSettings, facts: dict[str, Any], concurrent: bool) -> float:
    def emit(cls: Any, **fields: Any) -> None:
        pass

    def one(name: str, schema: Any) -> Any:
        title, activity = TITLES[name]
        return run_agent(name, title, activity, facts[name], schema, settings, emit, RunBudget())

    t0 = time.perf_counter()
    if concurrent:
        await asyncio.gather(one("market_analyst", MarketAnswer), one("risk_assessor", RiskAnswer))
    else:
        await one("market_analyst", MarketAnswer)
        await one("risk_assessor", RiskAnswer)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--token-delay", type=float, default=0.004, help="server seconds per token")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    print("Rebalance Desk crew benchmark (client: seed000_four_tech.csv)")
    _print_run("Offline analyst", LLMSettings())

    securities = load_securities()
    holdings = read_holdings(CLIENT.read_bytes(), filename=CLIENT.name)
    mandate = ClientMandate(**profile_facts(NOTES, securities)["rule_reading"])
    model = load_model(mandate.risk_profile)
    hold = holdings_frame(holdings, securities)
    market = bundled_snapshot()
    facts = {
        "market_analyst": market_facts(hold, mandate, model, market, securities),
        "risk_assessor": risk_facts(hold, mandate, model, market, securities),
    }
    with StubOpenAI(token_delay=args.token_delay) as server:
        settings = LLMSettings(provider="openai-compatible", base_url=server.base_url, model="stub")
        asyncio.run(_pair(settings, facts, True))  # warm up the client libraries
        conc = [asyncio.run(_pair(settings, facts, True)) for _ in range(args.repeats)]
        seq = [asyncio.run(_pair(settings, facts, False)) for _ in range(args.repeats)]
        c, s = statistics.median(conc), statistics.median(seq)
        print(
            f"\nMarket analyst || risk assessor over HTTP ({args.token_delay * 1000:g} ms/token, "
            f"median of {args.repeats}):"
        )
        print(f"  concurrent {c:.3f}s   sequential {s:.3f}s   ratio {c / s:.2f}")
        _print_run(f"Whole run over HTTP ({args.token_delay * 1000:g} ms/token)", settings)


if __name__ == "__main__":
    main()
