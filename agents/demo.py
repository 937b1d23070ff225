"""Console demo: the whole crew on a sample client, printed the way an advisor would watch it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from agents.events import (
    RUN_STATUS_MEANING,
    AgentFailed,
    AgentFellBack,
    AgentFinished,
    AgentStarted,
    RunFinished,
    RunStarted,
    Token,
)
from agents.pipeline import TITLES, run_crew
from agents.schemas import CrewResult
from agents.settings import load_settings
from portfolio.import_service import import_book
from portfolio.ledger import Ledger, execute_run, open_ledger, paper_broker
from portfolio.models import Holdings
from portfolio.notes_parser import parse_notes

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIENT = ROOT / "data" / "samples" / "seed000_four_tech.csv"
DEFAULT_NOTES = "Moderate risk."
SHORT = {
    "risk_profiler": "profiler",
    "market_analyst": "market",
    "risk_assessor": "risk",
    "strategist": "trading",
    "tax_agent": "tax",
    "compliance_checker": "compliance",
}
COMPLETE = {
    "risk_profiler": "Risk Profile Complete.",
    "market_analyst": "Market Analysis Complete.",
    "risk_assessor": "Risk Assessment Complete.",
    "strategist": "Trade Planning Complete.",
    "tax_agent": "Tax Review Complete.",
    "compliance_checker": "Compliance Check Complete.",
}


def notes_for(client: Path) -> str | None:
    """A sample's notes file sits beside it: seed001_esg_moderate.csv -> seed001_notes.txt."""
    candidate = client.with_name(client.stem.split("_", 1)[0] + "_notes.txt")
    return candidate.read_text(encoding="utf-8").strip() if candidate.is_file() else None


def portfolio_json(holdings: Holdings, risk_profile: str) -> dict[str, Any]:
    total = holdings.total_value
    return {
        "assets": [
            {
                "symbol": p.symbol,
                "allocation": round(p.market_value / total, 4) if total else 0.0,
                "current_value": round(p.market_value, 2),
            }
            for p in holdings.positions
        ],
        "total_value": round(total, 2),
        "risk_profile": risk_profile.upper(),
    }


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)


class ConsolePrinter:
    """Prints events as they arrive. One agent at a time owns the console line and its tokens are
    written as they come; a concurrent agent's tokens wait in a buffer and take over the line at
    the owner's next sentence end, each switch tagged with the agent, so both streams stay live
    and readable."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.owner: str | None = None
        self.buffers: dict[str, str] = {}
        self.at_line_start = True

    def _newline(self) -> None:
        if not self.at_line_start:
            self.out.write("\n")
            self.at_line_start = True

    def _write_tokens(self, agent: str, text: str) -> None:
        if self.owner != agent:
            if not text.strip():
                return
            self._newline()
            self.out.write(f"  [{SHORT.get(agent, agent)}] ")
            self.owner = agent
            text = text.lstrip()
        self.out.write(text)
        self.at_line_start = False

    def _switch_if_sentence_end(self, text: str) -> None:
        waiting = [a for a, b in self.buffers.items() if b and a != self.owner]
        if waiting and text.rstrip().endswith((".", ":", ";")):
            nxt = waiting[0]
            self._write_tokens(nxt, self.buffers.pop(nxt))

    def _flush(self, agent: str | None) -> None:
        if agent and self.buffers.get(agent):
            self._write_tokens(agent, self.buffers.pop(agent))
        if self.owner == agent:
            self._newline()
            self.owner = None
        for other in [a for a, b in self.buffers.items() if b]:
            self._write_tokens(other, self.buffers.pop(other))

    def handle(self, ev: Any) -> None:
        w = self.out.write
        if isinstance(ev, RunStarted):
            sample = " (SAMPLE: synthetic, not live prices)" if ev.market_is_sample else ""
            w(f"LLM provider: {ev.provider}\nMarket data: {ev.market_source}{sample}\n\n")
            w("Processing Rebalancing Request...\n\n")
        elif isinstance(ev, AgentStarted):
            self._newline()
            self.owner = None
            w(f"{ev.title} Started...\n{ev.activity}\n")
        elif isinstance(ev, Token):
            agent = ev.agent or ""
            text = ev.text.replace("\n", " ")
            if self.owner in (None, agent):
                self._write_tokens(agent, text)
                self._switch_if_sentence_end(text)
            else:
                self.buffers[agent] = self.buffers.get(agent, "") + text
        elif isinstance(ev, AgentFellBack):
            self.buffers.pop(ev.agent or "", None)
            self._newline()
            self.owner = None
            w(
                f"  ! {TITLES[ev.agent or ''][0]} fell back to the {ev.fallback.replace('_', ' ')}: "  # noqa: E501
                f"{ev.reason}\n"
            )
        elif isinstance(ev, AgentFailed):
            self._flush(ev.agent)
            self._newline()
            w(f"  ! {ev.agent} failed: {ev.error}\n")
        elif isinstance(ev, AgentFinished):
            self._flush(ev.agent)
            self._newline()
            self.owner = None
            w(f"{COMPLETE.get(ev.agent or '', 'Complete.')}\n\n")
        self.out.flush()


def print_result(result: CrewResult, out: TextIO, final: bool = True) -> None:
    w = out.write
    w("\nRebalancing Analysis Complete:\n\n")
    if result.mandate:
        w("Client Mandate:\n")
        w(_dump(result.mandate.model_dump(mode="json", exclude={"notes"})) + "\n\n")
    if result.market_analysis:
        m = result.market_analysis
        w("Market Analysis:\n")
        w(
            _dump(
                {
                    "analysis": {
                        "market_conditions": m.market_conditions,
                        "regime": m.regime,
                        "opportunities": m.opportunities,
                        "risks": m.risks,
                        "asset_class_views": {v.asset_class: v.stance for v in m.asset_class_views},
                        "data_source": m.data_source
                        + (" (SAMPLE, synthetic)" if m.sample_data else ""),
                        "as_of": m.as_of,
                    }
                }
            )
            + "\n\n"
        )
    if result.risk_assessment:
        r = result.risk_assessment
        w("Risk Assessment:\n")
        w(
            _dump(
                {
                    "risk_assessment": {
                        "overall_risk": r.overall_risk,
                        "risk_factors": r.risk_factors,
                        "mitigation_strategies": r.mitigation_strategies,
                        "mandate_fit": r.mandate_fit,
                        "portfolio_volatility": r.metrics.get("volatility"),
                        "hhi": r.metrics.get("hhi"),
                    }
                }
            )
            + "\n\n"
        )
    if result.execution_plan:
        p = result.execution_plan
        w("Execution Results:\n")
        w(
            _dump(
                {
                    "execution_plan": {
                        "trades": [
                            {
                                "id": t.id,
                                "symbol": t.symbol,
                                "action": t.action,
                                "quantity": t.quantity,
                                "strategy": f"{t.order_type.title()} order",
                                "est_value": t.est_value,
                                "reason": t.reason,
                                "compliance": t.compliance,
                            }
                            for t in p.trades
                        ],
                        "tilts_applied": p.tilts_applied,
                        "turnover": round(p.turnover, 4),
                    }
                }
            )
            + "\n\n"
        )
    if result.compliance:
        c = result.compliance
        w("Compliance:\n")
        w(
            _dump(
                {
                    "compliance": {
                        "status": c.status,
                        "summary": c.summary,
                        "vetoed": [
                            {"id": v.trade_id, "symbol": v.symbol, "why": v.explanation}
                            for v in c.verdicts
                            if v.status == "VETOED"
                        ],
                        "checks": {k.rule: k.status for k in c.checks},
                    }
                }
            )
            + "\n\n"
        )
    w("Usage:\n")
    for name, u in result.usage.items():
        ttft = f"{u.ttft_s:.3f}s" if u.ttft_s is not None else "n/a"
        cost = f"${u.cost_usd:.4f}" if u.cost_usd is not None else "unpriced"
        est = " (estimated)" if u.estimated else ""
        w(
            f"  {name:<19} {u.model:<16} first token {ttft:>7}  {u.duration_s:6.3f}s  "
            f"{u.input_tokens:>5} in / {u.output_tokens:>4} out{est}  {cost}\n"
        )
    t = result.totals
    w(
        f"  {'total':<19} {'':<16} run {t.duration_s:.3f}s  {t.input_tokens} in / "
        f"{t.output_tokens} out  ${t.cost_usd:.4f}\n"
    )
    for name, why in result.fallbacks.items():
        w(f"  fell back: {name}: {why}\n")
    for name, why in result.failures.items():
        w(f"  failed: {name}: {why}\n")
    fell = f" ({result.fallback_count} agent(s) fell back)" if result.fallback_count else ""
    if final:
        w(f"\nFinal Status: {result.status}{fell}\n{RUN_STATUS_MEANING.get(result.status, '')}\n")
    else:
        w(f"\nCrew Status: {result.status}{fell}\n\n")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m agents demo", description=__doc__)
    ap.add_argument(
        "--client", type=Path, default=DEFAULT_CLIENT, help="holdings file (CSV) or request (JSON)"
    )
    ap.add_argument("--notes", help="client notes (default: the sample's notes file, if any)")
    ap.add_argument("--pace", type=float, default=1.0, help="offline seconds per answer")
    ap.add_argument("--events", action="store_true", help="print the raw events as JSON lines")
    ap.add_argument(
        "--allow-partial", action="store_true", help="go on when some rows cannot be read"
    )
    ap.add_argument(
        "--approve-all",
        action="store_true",
        help="record the advisor's approval of every trade compliance allows (needs --by)",
    )
    ap.add_argument("--execute", action="store_true", help="send approved trades to the broker")
    ap.add_argument("--by", default="", help="the advisor whose approvals are recorded")
    return ap


def demo(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.execute and not args.approve_all:
        ap.error("--execute sends approved trades: pass --approve-all as well")
    if args.approve_all and not args.by.strip():
        ap.error("--approve-all records who approved: pass --by NAME")
    try:
        book = import_book(args.client.read_bytes(), args.client.name)
    except (OSError, ValueError) as exc:
        out.write(f"Cannot read {args.client}: {exc}\n")
        return 2
    if book.partial and not args.allow_partial:
        out.write(
            f"Cannot use {args.client}: {book.unread_summary()}; fix them or pass --allow-partial\n"
        )
        return 2
    holdings = book.holdings
    notes = args.notes if args.notes is not None else notes_for(args.client)
    if notes is None:  # a request states the client's profile; the profiler reads it as notes
        profile_words = str(book.risk_profile or "moderate").replace("_", " ")
        notes = f"{profile_words.capitalize()} risk." if book.risk_profile else DEFAULT_NOTES
    settings = load_settings(offline_pace=args.pace)
    out.write("Demonstrating the Rebalance Desk agent crew...\n\n")
    out.write("Initializing Portfolio Rebalancing System...\n")
    out.write(f"Client file: {args.client.name}\nClient notes: {notes}\n\n")
    profile = str(parse_notes(notes).mandate.risk_profile)
    out.write("Current Portfolio:\n" + _dump(portfolio_json(holdings, profile)) + "\n\n")
    ledger = recorder = None
    if args.approve_all:
        ledger = open_ledger()
        run_id = ledger.create_run(
            holdings=holdings,
            source_bytes=args.client.read_bytes(),
            filename=args.client.name,
            settings={
                "provider": settings.provider,
                "started_by": args.by.strip(),
                "console": "python -m agents demo",
                **(
                    {"partial_book": {"allowed_by": "--allow-partial", "rows": len(book.unread)}}
                    if book.partial
                    else {}
                ),
            },
        )
        recorder = _Recorder(ledger, run_id)
    try:
        result = _run(holdings, notes, settings, args, out, recorder)
        if result is None:
            out.write("The run did not finish.\n")
            return 1
        print_result(result, out, final=ledger is None)
        if ledger is None or recorder is None:
            return 0 if result.status == "AWAITING_ADVISOR" else 1
        return _decide_and_execute(ledger, recorder.run_id, result, args, out)
    finally:
        if ledger is not None:
            ledger.close()


def _run(
    holdings: Holdings,
    notes: str,
    settings: Any,
    args: argparse.Namespace,
    out: TextIO,
    recorder: _Recorder | None,
) -> CrewResult | None:
    printer = ConsolePrinter(out)
    result: CrewResult | None = None
    kwargs = {"run_id": recorder.run_id} if recorder is not None else {}
    for ev in run_crew(holdings, notes, settings=settings, **kwargs):
        if recorder is not None:
            recorder.add(ev)
        if args.events:
            out.write(ev.model_dump_json() + "\n")
        else:
            printer.handle(ev)
        if isinstance(ev, RunFinished) and ev.result is not None:
            result = CrewResult.model_validate(ev.result)
    if recorder is not None:
        recorder.finish(result)
    return result


class _Recorder:
    """Every event of the run into the ledger (one agent's consecutive tokens as one event), each
    agent's answer, and the proposal once the crew is done."""

    def __init__(self, ledger: Ledger, run_id: str) -> None:
        self.ledger, self.run_id = ledger, run_id
        self.tokens: Token | None = None

    def add(self, ev: Any) -> None:
        if isinstance(ev, Token):
            if self.tokens is not None and self.tokens.agent == ev.agent:
                self.tokens = self.tokens.model_copy(
                    update={"text": self.tokens.text + ev.text, "seq": ev.seq, "t": ev.t}
                )
                return
            self._flush()
            self.tokens = ev
            return
        self._flush()
        self.ledger.append_event(self.run_id, ev.model_dump(mode="json"))
        if isinstance(ev, AgentFinished) and ev.agent:
            self.ledger.record_agent_result(
                self.run_id,
                ev.agent,
                transcript=ev.narrative,
                result_json=ev.result,
                status=ev.source,
                timing={"finished_s": ev.t},
            )

    def _flush(self) -> None:
        if self.tokens is not None:
            self.ledger.append_event(self.run_id, self.tokens.model_dump(mode="json"))
            self.tokens = None

    def finish(self, result: CrewResult | None) -> None:
        self._flush()
        if result is not None and result.proposal is not None:
            self.ledger.save_proposal(self.run_id, result.proposal)
            self.ledger.refresh_status(self.run_id)
        else:
            self.ledger.set_run_status(self.run_id, "FAILED", error="no proposal")


def _decide_and_execute(
    ledger: Ledger, run_id: str, result: CrewResult, args: argparse.Namespace, out: TextIO
) -> int:
    """The advisor's recorded approvals, then the paper broker; the status the ledger derives."""
    w = out.write
    if result.proposal is None:
        w(f"\nFinal Status: {result.status}\n")
        return 1
    trades = ledger.run(run_id).trades
    allowed = [t.trade_id for t in trades if t.compliance == "APPROVED"]
    vetoed = [t for t in trades if t.compliance == "VETOED"]
    w(f"Advisor Decisions (run {run_id}):\n")
    if not trades:
        w("  No trades proposed: the book is within its bands.\n")
        w(f"\nFinal Status: {ledger.run(run_id).status}\n")
        return 0
    if allowed:
        for d in ledger.decide(run_id, approve=allowed, by=args.by.strip()):
            w(f"  {d.trade_id}: {d.decision} by {d.by}\n")
    for t in vetoed:
        w(f"  {t.trade_id}: vetoed by compliance ({', '.join(t.rules) or 'compliance'})\n")
    if not args.execute or not allowed:
        status = ledger.refresh_status(run_id)
        w(f"\nFinal Status: {status}\n")
        return 0
    report = execute_run(ledger, run_id, paper_broker(ledger), by=args.by.strip())
    w("\nExecution (paper broker):\n")
    for e in report.executions:
        if e.stage == "result":
            price = "" if e.price is None else f" at {e.price:,.2f}"
            w(f"  {e.trade_id}: {e.action} {e.quantity:g} {e.symbol} {e.status}{price}\n")
    w(f"\nRecorded in the ledger as run {run_id}; `python -m portfolio verify` checks it.\n")
    w(f"\nFinal Status: {report.status}\n")
    if report.status == "PARTIALLY_EXECUTED":
        reasons = [
            f"{t.trade_id} {t.symbol} vetoed by compliance ({'; '.join(t.reasons)})" for t in vetoed
        ]
        failed = [
            f"{e.trade_id} {e.symbol} {e.status} ({e.detail or 'no detail'})"
            for e in report.executions
            if e.stage == "result" and e.status != "FILLED"
        ]
        w("Not executed: " + "; ".join(reasons + failed) + "\n")
    return 0 if report.status in ("EXECUTED", "PARTIALLY_EXECUTED") else 1
