"""The orchestrator: a LangGraph graph

    risk_profiler -> (market_analyst || risk_assessor) -> strategist -> tax_agent
    -> compliance_checker
                  -> awaiting_advisor

with one typed event stream. Nodes emit events through LangGraph's custom stream writer, so the
tokens of the two concurrent agents interleave in the order they are produced. A failing agent
is reported in its own events and result; the run continues where it can.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from agents import AGENTS
from agents.evaluator import MAX_ROUNDS, evaluate
from agents.events import (
    RUN_STATUS_MEANING,
    AgentFailed,
    AgentFinished,
    AgentStarted,
    Event,
    RunFinished,
    RunStarted,
    Token,
    UsageReported,
)
from agents.facts import (
    compliance_facts,
    holdings_frame,
    market_facts,
    plan_facts,
    profile_facts,
    risk_facts,
    strategy_facts,
    tax_facts,
)
from agents.runner import AgentOutcome, BudgetExceeded, RunBudget, run_agent
from agents.schemas import (
    ComplianceAnswer,
    ComplianceReport,
    CrewResult,
    EvaluatorRound,
    ExecutionPlan,
    MandateAnswer,
    MarketAnalysis,
    MarketAnswer,
    PlanAnswer,
    PlannedTrade,
    ProfileResult,
    RiskAnswer,
    RiskAssessment,
    StrategyAnswer,
    TaxAnswer,
    TaxReport,
    TradeVerdict,
)
from agents.settings import LLMSettings, load_settings
from agents.usage import AgentUsage, UsageTotals
from agents.writers import explain_verdict
from portfolio.engine import rebalance
from portfolio.mandate_merge import stricter
from portfolio.market_data import MarketDataProvider, bundled_snapshot
from portfolio.model_portfolios import load_model
from portfolio.models import (
    CashRequest,
    ClientMandate,
    Holdings,
    ModelPortfolio,
    RebalanceProposal,
)
from portfolio.redact import redact
from portfolio.securities import SecurityMaster, load_securities
from portfolio.targets import MAX_TILT, clamp_tilts

TITLES: dict[str, tuple[str, str]] = {
    "risk_profiler": ("Risk Profiler", "Reading the client's notes into a mandate..."),
    "market_analyst": ("Market Analysis Agent", "Analyzing market conditions..."),
    "risk_assessor": ("Risk Assessment Agent", "Evaluating portfolio risks..."),
    "strategist": ("Trading Agent", "Planning trade execution..."),
    "tax_agent": ("Tax Agent", "Explaining the plan's taxes..."),
    "compliance_checker": ("Compliance Checker", "Checking every trade against the mandate..."),
}


def _merge(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    return {**(a or {}), **(b or {})}


class CrewState(TypedDict, total=False):
    mandate: ClientMandate
    profile: ProfileResult
    market: MarketAnalysis
    risk: RiskAssessment
    plan: ExecutionPlan
    proposal: RebalanceProposal
    tax: TaxReport
    compliance: ComplianceReport
    status: str
    narratives: Annotated[dict[str, str], _merge]
    usage: Annotated[dict[str, AgentUsage], _merge]
    fallbacks: Annotated[dict[str, str], _merge]
    failures: Annotated[dict[str, str], _merge]


@dataclass
class _Run:
    run_id: str
    holdings: Holdings
    notes: str
    mandate_override: ClientMandate | None
    settings: LLMSettings
    market: MarketDataProvider
    securities: SecurityMaster
    as_of: date | None
    models: Mapping[str, BaseChatModel]
    budget: RunBudget
    model_portfolio: ModelPortfolio | None = None
    account_types: Mapping[str, str] | None = None  # the advisor's tax types, by account
    fixed: RebalanceProposal | None = None  # a saved plan to explain instead of planning anew
    cash_requests: Sequence[CashRequest] = ()  # withdrawals and deposits to plan for
    t0: float = field(default_factory=time.perf_counter)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def model_for(self, mandate: ClientMandate) -> ModelPortfolio:
        """The advisor's override when it is for this profile, else the published model."""
        mp = self.model_portfolio
        if mp is not None and str(mp.profile) == str(mandate.risk_profile):
            return mp
        return load_model(mandate.risk_profile)

    def make(self, cls: type[BaseModel], **fields: Any) -> Any:
        return cls(
            run_id=self.run_id,
            seq=next(self._seq),
            t=round(time.perf_counter() - self.t0, 4),
            **fields,
        )

    def emitter(self) -> Callable[..., None]:
        writer = get_stream_writer()

        def emit(cls: type[BaseModel], **fields: Any) -> None:
            writer(self.make(cls, **fields))

        return emit

    async def agent(
        self, name: str, facts: dict[str, Any], schema: type[BaseModel], emit: Callable[..., None]
    ) -> AgentOutcome:
        title, activity = TITLES[name]
        return await run_agent(
            name,
            title,
            activity,
            facts,
            schema,
            self.settings,
            emit,
            self.budget,
            model=self.models.get(name),
        )

    def prices(self) -> dict[str, float] | None:
        """Latest closes for the engine, only when the source is real (uploaded or live)."""
        if self.market.is_sample:
            return None
        latest = getattr(self.market, "latest_prices", None)
        return latest() if callable(latest) else None


def _finish(
    run: _Run, emit: Callable[..., None], name: str, outcome: AgentOutcome, result: BaseModel
) -> dict[str, Any]:
    emit(
        AgentFinished,
        agent=name,
        title=TITLES[name][0],
        result=result.model_dump(mode="json"),
        narrative=outcome.narrative,
        source=outcome.source,
    )
    emit(UsageReported, agent=name, usage=outcome.usage)
    out: dict[str, Any] = {"narratives": {name: outcome.narrative}, "usage": {name: outcome.usage}}
    if outcome.fallback_reason:
        out["fallbacks"] = {name: outcome.fallback_reason}
    return out


def _without(emit: Callable[..., None], *dropped: type[BaseModel]) -> Callable[..., None]:
    """An emitter that leaves out some event types (the strategist's two calls are one panel)."""

    def out(cls: type[BaseModel], **fields: Any) -> None:
        if cls not in dropped:
            emit(cls, **fields)

    return out


def _both_calls(first: AgentOutcome, second: AgentOutcome) -> AgentOutcome:
    """The strategist's tilt call and its narrative call, reported as the one agent they are."""
    a, b = first.usage, second.usage
    usage = b.model_copy(
        update={
            "calls": a.calls + b.calls,
            "input_tokens": a.input_tokens + b.input_tokens,
            "output_tokens": a.output_tokens + b.output_tokens,
            "estimated": a.estimated or b.estimated,
            "ttft_s": a.ttft_s,
            "duration_s": round(a.duration_s + b.duration_s, 4),
            "cost_usd": None
            if a.cost_usd is None and b.cost_usd is None
            else round((a.cost_usd or 0.0) + (b.cost_usd or 0.0), 8),
        }
    )
    source = second.source if second.source != "model" else first.source
    return replace(
        second,
        usage=usage,
        source=source,
        fallback_reason=first.fallback_reason or second.fallback_reason,
    )


def _no_proposal(emit: Callable[..., None], agent: str, error: str) -> dict[str, Any]:
    """An agent that works on the strategist's proposal, when there is none."""
    emit(AgentFailed, agent=agent, error=error)
    return {"failures": {agent: error}}


def _guarded(
    name: str,
    run: _Run,
    body: Callable[[Callable[..., None], CrewState], Awaitable[dict[str, Any]]],
) -> Callable[[CrewState], Awaitable[dict[str, Any]]]:
    """Wrap a node: skip it once the budget has stopped the run, and turn an exception into an
    AgentFailed event plus a recorded failure, so the rest of the crew can carry on."""

    async def node(state: CrewState) -> dict[str, Any]:
        if run.budget.stopped:
            return {}
        emit = run.emitter()
        try:
            return await body(emit, state)
        except BudgetExceeded as exc:
            msg = f"budget: {exc}"
            emit(AgentFailed, agent=name, error=msg)
            return {"failures": {name: msg}}
        except Exception as exc:
            msg = (redact(f"{type(exc).__name__}: {exc}").splitlines() or ["error"])[0][:400]
            emit(AgentFailed, agent=name, error=msg)
            return {"failures": {name: msg}}

    node.__name__ = name
    return node


def _build_graph(run: _Run) -> Any:
    hold = holdings_frame(run.holdings, run.securities)

    async def profiler(emit: Callable[..., None], state: CrewState) -> dict[str, Any]:
        if run.mandate_override is not None:
            m = run.mandate_override
            title, activity = TITLES["risk_profiler"]
            emit(
                AgentStarted,
                agent="risk_profiler",
                title=title,
                activity=activity,
                provider="advisor",
                model="",
            )
            result = ProfileResult(mandate=m, assumptions=["Mandate confirmed by the advisor."])
            emit(
                AgentFinished,
                agent="risk_profiler",
                title=title,
                result=result.model_dump(mode="json"),
                narrative="Using the mandate the advisor confirmed.",
                source="advisor",
            )
            return {"mandate": m, "profile": result}
        facts = profile_facts(run.notes, run.securities, today=run.as_of or date.today())
        try:
            outcome = await run.agent("risk_profiler", facts, MandateAnswer, emit)
        except BudgetExceeded:
            raise
        except Exception as exc:
            # The rules' reading is always available: keep going with it, and say so.
            mandate = ClientMandate(**facts["rule_reading"], notes=run.notes)
            emit(AgentFailed, agent="risk_profiler", error=f"{type(exc).__name__}: {exc}"[:400])
            return {"mandate": mandate, "failures": {"risk_profiler": str(exc)[:400]}}
        ans = outcome.answer
        assert isinstance(ans, MandateAnswer)
        # The model's reading may tighten the rules' reading of the notes but never loosen it: a
        # hostile line in the notes can sway a model, not the rules. The offline analyst and the
        # deterministic fallback answer with the rules' reading, so for them this changes nothing.
        read = ClientMandate(**ans.model_dump(exclude={"assumptions"}), notes=run.notes)
        rules = ClientMandate(**facts["rule_reading"], notes=run.notes)
        mandate, overruled = stricter(rules, read)
        checks = [f"Desk check — {n}" for n in overruled]
        if outcome.source in ("model", "repaired"):
            # The offline writer already quotes the parser's warnings; a model may not have.
            checks += [f"Note: {w}" for w in facts["warnings"]]
        if checks:
            extra = "\n\n" + " ".join(checks)
            if overruled:
                extra += " Confirm the mandate with the client before approving trades."
            emit(Token, agent="risk_profiler", text=extra)
            outcome = replace(outcome, narrative=(outcome.narrative + extra).strip())
        result = ProfileResult(
            mandate=mandate,
            evidence=facts["evidence"],
            assumptions=[*ans.assumptions, *(f"Desk check — {n}" for n in overruled)],
        )
        return {
            "mandate": mandate,
            "profile": result,
            **_finish(run, emit, "risk_profiler", outcome, result),
        }

    async def market(emit: Callable[..., None], state: CrewState) -> dict[str, Any]:
        mandate = state["mandate"]
        model = run.model_for(mandate)
        facts = await asyncio.to_thread(
            market_facts, hold, mandate, model, run.market, run.securities
        )
        outcome = await run.agent("market_analyst", facts, MarketAnswer, emit)
        result = MarketAnalysis(
            **outcome.answer.model_dump(),
            as_of=facts["as_of"] or "",
            data_source=facts["data_source"],
            sample_data=facts["sample_data"],
            metrics={
                c: {k: v for k, v in m.items() if k != "proxy"}
                for c, m in facts["asset_classes"].items()
            },
        )
        return {"market": result, **_finish(run, emit, "market_analyst", outcome, result)}

    async def risk(emit: Callable[..., None], state: CrewState) -> dict[str, Any]:
        mandate = state["mandate"]
        model = run.model_for(mandate)
        facts = await asyncio.to_thread(
            risk_facts, hold, mandate, model, run.market, run.securities
        )
        outcome = await run.agent("risk_assessor", facts, RiskAnswer, emit)
        p = facts["portfolio"]
        result = RiskAssessment(
            **outcome.answer.model_dump(),
            metrics={
                **p,
                "model_volatility": facts["model"]["volatility"],
                "model_max_drawdown": facts["model"]["max_drawdown"],
                "model_equity_share": facts["model"]["equity_share"],
            },
            top_positions=[
                {k: v for k, v in t.items() if k in ("symbol", "weight", "sector")}
                for t in facts["top_positions"]
            ],
            sector_weights=facts["sector_weights"],
        )
        return {"risk": result, **_finish(run, emit, "risk_assessor", outcome, result)}

    def _rebalance(mandate: ClientMandate, tilts: Mapping[str, float] | None) -> RebalanceProposal:
        return rebalance(
            run.holdings,
            mandate,
            model=run.model_for(mandate),
            securities=run.securities,
            prices=run.prices(),
            tilts=tilts,
            as_of=run.as_of,
            account_types=run.account_types,
            cash_requests=run.cash_requests,
        )

    async def strategist(emit: Callable[..., None], state: CrewState) -> dict[str, Any]:
        mkt, rsk = state.get("market"), state.get("risk")
        mkt_json = mkt.model_dump(mode="json") if mkt else None
        rsk_json = rsk.model_dump(mode="json") if rsk else None
        requested: dict[str, float] = {}
        rounds: list[EvaluatorRound] = []
        if run.fixed is not None:
            # A plan already saved (a batch run): its words only, never a new plan.
            proposal = run.fixed
            final = plan_facts(proposal, proposal, requested, mkt_json, rsk_json)
            outcome = worded = await run.agent("strategist", final, PlanAnswer, emit)
        else:
            mandate = state["mandate"]
            baseline = await asyncio.to_thread(_rebalance, mandate, None)
            facts = strategy_facts(baseline, mkt_json, rsk_json, MAX_TILT)
            # First the tilts alone (their words would describe a plan about to change)...
            tilted = await run.agent("strategist", facts, StrategyAnswer, _without(emit, Token))
            ans = tilted.answer
            assert isinstance(ans, StrategyAnswer)
            requested = dict(ans.tilts)
            applied = clamp_tilts(ans.tilts, baseline.model)
            proposal = (
                await asyncio.to_thread(_rebalance, mandate, applied) if applied else baseline
            )
            # ...judged by code; the model proposes the next tilt until the plan clears the bar
            # (bands, income, turnover, gains) or MAX_ROUNDS tilts have been tried.
            verdict = evaluate(proposal, baseline_turnover=baseline.turnover)
            rounds.append(
                EvaluatorRound(
                    round=1, tilts=applied, cleared=verdict.cleared, verdict=verdict.summary()
                )
            )
            # The plan kept is the best judged, not the last: a later tilt may fall shorter.
            best = (verdict.score(), requested, applied, proposal)
            while not verdict.cleared and len(rounds) < MAX_ROUNDS:
                failed = [c.model_dump() for c in verdict.failed()]
                again = await run.agent(
                    "strategist",
                    {
                        **facts,
                        "evaluation": {"round": len(rounds), "tilts": applied, "failed": failed},
                    },
                    StrategyAnswer,
                    _without(emit, Token, AgentStarted),
                )
                tilted = _both_calls(tilted, again)
                nxt_ans = again.answer
                assert isinstance(nxt_ans, StrategyAnswer)
                nxt = clamp_tilts(nxt_ans.tilts, baseline.model)
                if nxt == applied:
                    rounds.append(
                        EvaluatorRound(
                            round=len(rounds) + 1,
                            tilts=nxt,
                            cleared=False,
                            verdict="the same tilt again: the previous plan stands",
                        )
                    )
                    break
                cand = await asyncio.to_thread(_rebalance, mandate, nxt) if nxt else baseline
                verdict = evaluate(cand, baseline_turnover=baseline.turnover)
                rounds.append(
                    EvaluatorRound(
                        round=len(rounds) + 1,
                        tilts=nxt,
                        cleared=verdict.cleared,
                        verdict=verdict.summary(),
                    )
                )
                applied = nxt
                if verdict.score() > best[0]:
                    best = (verdict.score(), dict(nxt_ans.tilts), nxt, cand)
            _, requested, applied, proposal = best
            # ...then the words, written from the final plan the ticket will show.
            final = plan_facts(proposal, baseline, requested, mkt_json, rsk_json)
            worded = await run.agent("strategist", final, PlanAnswer, _without(emit, AgentStarted))
            outcome = _both_calls(tilted, worded)
        assert isinstance(worded.answer, PlanAnswer)
        plan = ExecutionPlan(
            trades=[
                PlannedTrade(
                    id=t.id,
                    account=t.account,
                    symbol=t.symbol,
                    action=t.action,
                    quantity=t.quantity,
                    order_type=t.order_type,
                    limit_price=t.limit_price,
                    price=t.price,
                    est_value=round(t.value, 2),
                    asset_class=t.asset_class,
                    reason=t.reason,
                    compliance=t.compliance.status,
                )
                for t in proposal.trades
            ],
            rounds=rounds,
            tilts_requested=requested,
            tilts_applied=dict(proposal.tilts),
            rationale=worded.answer.rationale,
            turnover=proposal.turnover,
            cash_after=proposal.cash_after,
            cash_paid_out=proposal.cash_paid_out,
        )
        return {
            "plan": plan,
            "proposal": proposal,
            **_finish(run, emit, "strategist", outcome, plan),
        }

    async def tax(emit: Callable[..., None], state: CrewState) -> dict[str, Any]:
        proposal = state.get("proposal")
        if proposal is None:
            return _no_proposal(emit, "tax_agent", "no proposal to explain")
        facts = tax_facts(proposal)
        outcome = await run.agent("tax_agent", facts, TaxAnswer, emit)
        ans = outcome.answer
        assert isinstance(ans, TaxAnswer)
        report = TaxReport(summary=ans.summary, points=ans.points, facts=facts)
        return {"tax": report, **_finish(run, emit, "tax_agent", outcome, report)}

    async def compliance(emit: Callable[..., None], state: CrewState) -> dict[str, Any]:
        proposal = state.get("proposal")
        if proposal is None:
            return _no_proposal(emit, "compliance_checker", "no proposal to check")
        facts = compliance_facts(proposal)
        outcome = await run.agent("compliance_checker", facts, ComplianceAnswer, emit)
        ans = outcome.answer
        assert isinstance(ans, ComplianceAnswer)
        verdicts = []
        for t, tf in zip(proposal.trades, facts["trades"], strict=True):
            # The gate's verdict stands; the model's words are kept only as an explanation.
            explanation = ans.explanations.get(t.id) or explain_verdict(tf)
            verdicts.append(
                TradeVerdict(
                    trade_id=t.id,
                    symbol=t.symbol,
                    action=t.action,
                    status=t.compliance.status,
                    reasons=t.compliance.reasons,
                    rules=t.compliance.rules,
                    explanation=explanation,
                )
            )
        n_veto = sum(v.status == "VETOED" for v in verdicts)
        status = (
            "NO_TRADES"
            if not verdicts
            else "ALL_VETOED"
            if n_veto == len(verdicts)
            else "APPROVED_WITH_VETOES"
            if n_veto
            else "APPROVED"
        )
        report = ComplianceReport(
            status=status, summary=ans.summary, verdicts=verdicts, checks=proposal.checks
        )
        return {"compliance": report, **_finish(run, emit, "compliance_checker", outcome, report)}

    async def awaiting_advisor(state: CrewState) -> dict[str, Any]:
        if run.budget.stopped:
            return {"status": "STOPPED_BUDGET"}
        return {"status": "AWAITING_ADVISOR" if state.get("proposal") is not None else "FAILED"}

    g = StateGraph(CrewState)
    g.add_node("risk_profiler", _guarded("risk_profiler", run, profiler))
    g.add_node("market_analyst", _guarded("market_analyst", run, market))
    g.add_node("risk_assessor", _guarded("risk_assessor", run, risk))
    g.add_node("strategist", _guarded("strategist", run, strategist))
    g.add_node("tax_agent", _guarded("tax_agent", run, tax))
    g.add_node("compliance_checker", _guarded("compliance_checker", run, compliance))
    g.add_node("awaiting_advisor", awaiting_advisor)
    g.add_edge(START, "risk_profiler")
    g.add_edge("risk_profiler", "market_analyst")
    g.add_edge("risk_profiler", "risk_assessor")
    g.add_edge(["market_analyst", "risk_assessor"], "strategist")
    g.add_edge("strategist", "tax_agent")
    g.add_edge("tax_agent", "compliance_checker")
    g.add_edge("compliance_checker", "awaiting_advisor")
    g.add_edge("awaiting_advisor", END)
    return g.compile()


async def arun_crew(
    holdings: Holdings,
    notes: str = "",
    mandate_override: ClientMandate | None = None,
    settings: LLMSettings | None = None,
    *,
    market: MarketDataProvider | None = None,
    securities: SecurityMaster | None = None,
    as_of: date | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    run_id: str | None = None,
    model: ModelPortfolio | None = None,
    account_types: Mapping[str, str] | None = None,
    fixed: RebalanceProposal | None = None,
    cash_requests: Sequence[CashRequest] = (),
) -> AsyncIterator[Event]:
    """Run the crew and yield its events; the last one is RunFinished carrying the CrewResult.

    `models` replaces the configured chat model for named agents (the provider settings still
    decide fallbacks); `as_of` fixes the date the notes parser and the engine see;
    `account_types` (account -> taxable / tax_deferred / tax_free) are the client's confirmed tax
    types, which the engine takes over what the account names suggest; `cash_requests` are the
    client's withdrawals and deposits, which the engine plans for; `fixed` is a plan the
    engine already made and saved (a batch run): the crew explains it, with its mandate, and the
    strategist neither tilts nor plans again, so the words match the ticket the advisor has.
    """
    if fixed is not None:
        mandate_override, as_of, model = fixed.mandate, fixed.as_of, fixed.model
    settings = settings or load_settings()
    securities = securities or load_securities()
    market = market or bundled_snapshot()
    run = _Run(
        run_id=run_id or uuid.uuid4().hex[:12],
        holdings=holdings,
        notes=notes or "",
        mandate_override=mandate_override,
        settings=settings,
        market=market,
        securities=securities,
        as_of=as_of,
        account_types=dict(account_types or {}),
        cash_requests=list(cash_requests),
        models=models or {},
        budget=RunBudget(limit_usd=settings.budget_usd),
        model_portfolio=model,
        fixed=fixed,
    )
    yield run.make(
        RunStarted,
        provider=settings.describe(),
        agents=list(AGENTS),
        market_source=market.name,
        market_is_sample=bool(market.is_sample),
    )
    graph = _build_graph(run)
    final: dict[str, Any] = {}
    async for mode, data in graph.astream({}, stream_mode=["custom", "values"]):
        if mode == "custom":
            yield data
        else:
            final = data
    usage = final.get("usage", {})
    duration = time.perf_counter() - run.t0
    totals = UsageTotals.of(usage.values(), duration)
    status = final.get("status", "FAILED")
    result = CrewResult(
        run_id=run.run_id,
        status=status,
        mandate=final.get("mandate"),
        profile=final.get("profile"),
        market_analysis=final.get("market"),
        risk_assessment=final.get("risk"),
        execution_plan=final.get("plan"),
        tax=final.get("tax"),
        compliance=final.get("compliance"),
        proposal=final.get("proposal"),
        narratives=final.get("narratives", {}),
        usage=usage,
        totals=totals,
        fallbacks=final.get("fallbacks", {}),
        fallback_count=len(final.get("fallbacks", {})),
        failures=final.get("failures", {}),
    )
    message = RUN_STATUS_MEANING[status]
    if result.fallback_count:
        message += (
            f" {result.fallback_count} of {len(AGENTS)} agents fell back "
            "(offline analyst or deterministic answer)."
        )
    yield run.make(
        RunFinished,
        status=status,
        message=message,
        totals=totals,
        result=result.model_dump(mode="json"),
    )


_DONE = object()


def run_crew(
    holdings: Holdings,
    notes: str = "",
    mandate_override: ClientMandate | None = None,
    settings: LLMSettings | None = None,
    *,
    on_idle: Callable[[], None] | None = None,
    idle_s: float = 0.2,
    **kwargs: Any,
) -> Iterator[Event]:
    """The same stream for synchronous callers (Streamlit, the console): the crew runs on its own
    event loop in a worker thread and events arrive here as they happen.

    `on_idle` is called, on the caller's thread, whenever `idle_s` seconds pass without an event:
    a caller that batches tokens writes out what it holds while a model pauses mid-answer."""
    q: queue.Queue[Any] = queue.Queue()
    cancelled = threading.Event()

    async def main() -> None:
        # Closed on the way out, so a caller that stops listening stops the graph's tasks too.
        async with aclosing(arun_crew(holdings, notes, mandate_override, settings, **kwargs)) as s:
            async for ev in s:
                if cancelled.is_set():
                    return
                q.put(ev)

    def worker() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            q.put(exc)
        finally:
            q.put(_DONE)

    thread = threading.Thread(target=worker, name="crew-run", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = q.get(timeout=idle_s) if on_idle is not None else q.get()
            except queue.Empty:
                on_idle()  # type: ignore[misc]
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancelled.set()


def crew_result(events: list[Event] | Iterator[Event]) -> CrewResult:
    """The CrewResult from a finished stream (for example one replayed from the ledger)."""
    for ev in events:
        if isinstance(ev, RunFinished) and ev.result is not None:
            return CrewResult.model_validate(ev.result)
    raise ValueError("the event stream has no finished run")
