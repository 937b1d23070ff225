"""The online path: the real langchain-openai client against a local OpenAI-compatible server
that streams server-sent events with usage, and injects faults."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openai_stub_server import StubOpenAI

from agents.events import AgentFellBack, AgentFinished, AgentStarted, Token
from agents.pipeline import crew_result, run_crew
from agents.schemas import CrewResult
from agents.settings import AgentModelSettings, LLMSettings
from portfolio.importers import read_holdings

SEED000 = Path(__file__).resolve().parent.parent / "data" / "samples" / "seed000_four_tech.csv"
AS_OF = date(2025, 6, 30)
SECRET = "sk-test-NEVER-SHOWN-123"


@pytest.fixture(scope="module")
def server() -> Iterator[StubOpenAI]:
    with StubOpenAI(slow_first_token=120.0) as srv:
        yield srv


@pytest.fixture(scope="module")
def offline() -> CrewResult:
    return crew_result(list(run_crew(_holdings(), "Moderate risk.", as_of=AS_OF)))


def _holdings():  # type: ignore[no-untyped-def]
    return read_holdings(SEED000.read_bytes(), filename=SEED000.name)


def _run(
    server: StubOpenAI, model: str = "stub", market_model: str | None = None, **kw: Any
) -> list[Any]:
    settings = LLMSettings(
        provider="openai-compatible",
        base_url=server.base_url,
        model=model,
        api_key=kw.pop("api_key", None),
        max_retries=kw.pop("max_retries", 2),
        first_token_timeout=kw.pop("first_token_timeout", 10.0),
        timeout=10.0,
        agents={"market_analyst": AgentModelSettings(model=market_model)} if market_model else {},
    )
    return list(run_crew(_holdings(), "Moderate risk.", settings=settings, as_of=AS_OF, **kw))


def _trades(r: CrewResult) -> list[tuple[str, str, float]]:
    assert r.proposal is not None
    return [(t.symbol, t.action, t.quantity) for t in r.proposal.trades]


def test_streams_in_order_with_provider_usage(server: StubOpenAI, offline: CrewResult) -> None:
    before = len(server.requests)
    evs = _run(server)
    result = crew_result(evs)
    assert result.status == "AWAITING_ADVISOR" and not result.fallbacks
    for e in evs:
        if isinstance(e, AgentFinished):
            assert e.source == "model"
            streamed = "".join(t.text for t in evs if isinstance(t, Token) and t.agent == e.agent)
            assert streamed.strip() == e.narrative == offline.narratives[e.agent]
    started = {e.agent: e for e in evs if isinstance(e, AgentStarted)}
    assert all(s.provider == "openai-compatible" and s.model == "stub" for s in started.values())
    for u in result.usage.values():
        # The strategist asks for its tilts, then words the final plan: two calls.
        calls = 2 if u.agent == "strategist" else 1
        assert not u.estimated and u.input_tokens > 0 and u.output_tokens > 0 and u.calls == calls
        assert u.cost_usd is None  # "stub" has no price; the totals say so
    assert result.totals.unpriced_models == ["stub"]
    reqs = server.requests[before:]
    assert len(reqs) == 7  # six agents, the strategist twice
    assert all(r["stream"] and r["stream_options"] == {"include_usage": True} for r in reqs)
    assert all(r["auth"] == "Bearer not-needed" for r in reqs)
    assert _trades(result) == _trades(offline)


def test_concurrent_agents_interleave_over_http(server: StubOpenAI) -> None:
    """The server sends each analyst's next chunk only when the test has seen the other's last
    one as an event: the crew finishes only if both requests are open at once, and the events
    must alternate exactly as the chunks were sent."""
    pair = {"market_analyst": "stub-step-market", "risk_assessor": "stub-step-risk"}
    other = {"market_analyst": "risk_assessor", "risk_assessor": "market_analyst"}
    settings = LLMSettings(
        provider="openai-compatible",
        base_url=server.base_url,
        model="stub",
        first_token_timeout=30.0,
        timeout=30.0,
        agents={a: AgentModelSettings(model=m) for a, m in pair.items()},
    )
    server.step(pair["market_analyst"])
    evs = []
    for e in run_crew(_holdings(), "Moderate risk.", settings=settings, as_of=AS_OF):
        evs.append(e)
        if isinstance(e, Token) and e.agent in pair:
            nxt = other[e.agent]
            if server.remaining(pair[nxt]) == 0:
                nxt = e.agent  # the other's narrative is all out: this one carries on alone
            if server.remaining(pair[nxt]) != 0:
                server.step(pair[nxt])
    result = crew_result(evs)
    assert result.status == "AWAITING_ADVISOR" and not result.fallbacks
    order = [e.agent for e in evs if isinstance(e, Token) and e.agent in pair]
    n = 2 * min(server.stepped[m] for m in pair.values())
    assert n > 20
    assert order[:n] == ["market_analyst", "risk_assessor"] * (n // 2)
    first_fin = min(e.seq for e in evs if isinstance(e, AgentFinished) and e.agent in pair)
    assert all(e.seq < first_fin for e in evs if isinstance(e, AgentStarted) and e.agent in pair)


def test_429_is_retried(server: StubOpenAI) -> None:
    evs = _run(server, market_model="stub-429-once")
    result = crew_result(evs)
    assert not result.fallbacks
    assert server.counts["stub-429-once"] == 2
    assert result.usage["market_analyst"].provider == "openai-compatible"


def test_persistent_500_falls_back_and_is_recorded(server: StubOpenAI, offline: CrewResult) -> None:
    evs = _run(server, market_model="stub-500", max_retries=1, api_key=SECRET)
    result = crew_result(evs)
    fb = [e for e in evs if isinstance(e, AgentFellBack)]
    assert [(e.agent, e.stage, e.fallback) for e in fb] == [
        ("market_analyst", "provider", "offline_model")
    ]
    assert "500" in result.fallbacks["market_analyst"]
    assert server.counts["stub-500"] == 2  # one try plus one bounded retry
    assert result.usage["market_analyst"].provider == "offline"
    assert result.status == "AWAITING_ADVISOR"
    assert result.market_analysis == offline.market_analysis
    assert SECRET not in "".join(e.model_dump_json() for e in evs)
    assert all(r["auth"] == f"Bearer {SECRET}" for r in server.requests[-5:])


def test_malformed_json_is_repaired_once(server: StubOpenAI) -> None:
    evs = _run(server, market_model="stub-malformed-once")
    fin = next(e for e in evs if isinstance(e, AgentFinished) and e.agent == "market_analyst")
    assert fin.source == "repaired"
    result = crew_result(evs)
    assert not result.fallbacks and result.usage["market_analyst"].calls == 2


def test_persistently_malformed_json_gets_the_deterministic_answer(
    server: StubOpenAI, offline: CrewResult
) -> None:
    evs = _run(server, market_model="stub-malformed")
    fb = [e for e in evs if isinstance(e, AgentFellBack)]
    assert [(e.agent, e.stage, e.fallback) for e in fb] == [
        ("market_analyst", "answer", "deterministic")
    ]
    result = crew_result(evs)
    assert result.market_analysis == offline.market_analysis
    fin = next(e for e in evs if isinstance(e, AgentFinished) and e.agent == "market_analyst")
    assert fin.source == "fallback"


def test_cut_stream_falls_back_without_a_partial_plan(
    server: StubOpenAI, offline: CrewResult
) -> None:
    evs = _run(server, model="stub-cut", max_retries=0)
    fb = {e.agent: e for e in evs if isinstance(e, AgentFellBack)}
    assert set(fb) == {
        "risk_profiler",
        "market_analyst",
        "risk_assessor",
        "strategist",
        "tax_agent",
        "compliance_checker",
    }
    assert all(e.discard_partial and e.stage == "provider" for e in fb.values())
    result = crew_result(evs)
    assert result.status == "AWAITING_ADVISOR"
    assert _trades(result) == _trades(offline)
    assert result.execution_plan == offline.execution_plan
    # Tokens after the fallback event are the offline analyst's whole narrative.
    fall = fb["strategist"].seq
    after = "".join(
        e.text for e in evs if isinstance(e, Token) and e.agent == "strategist" and e.seq > fall
    )
    assert after.strip() == offline.narratives["strategist"]


def test_slow_first_token_times_out_and_falls_back(server: StubOpenAI) -> None:
    # The slow model sends nothing until the server closes, so it always times out; 6 s leaves
    # every other agent, whose first token is sent at once, ample room on a busy machine.
    evs = _run(server, market_model="stub-slow", first_token_timeout=6.0)
    result = crew_result(evs)
    assert "first token" in result.fallbacks["market_analyst"]
    assert result.status == "AWAITING_ADVISOR"
    assert set(result.fallbacks) == {"market_analyst"}


def test_a_stall_midway_falls_back_and_says_so(server: StubOpenAI) -> None:
    """An answer that stops halfway (never released) is cut by the read limit the advisor set,
    and the reason names a stall, not a missing first token: the first words did come."""
    evs = _run(server, market_model="stub-hold")
    result = crew_result(evs)
    reason = result.fallbacks["market_analyst"]
    assert "first token" not in reason
    assert "silent midway" in reason or "timed out" in reason.lower()
    assert any(e.agent == "market_analyst" and e.text for e in evs if isinstance(e, Token))
    assert result.status == "AWAITING_ADVISOR"
    assert set(result.fallbacks) == {"market_analyst"}


def test_the_clients_chunk_limit_follows_the_settings() -> None:
    from agents.llm_factory import build_chat_model

    settings = LLMSettings(
        provider="openai-compatible", base_url="http://127.0.0.1:9/v1", timeout=7
    )
    assert build_chat_model(settings, "strategist").stream_chunk_timeout == 7
