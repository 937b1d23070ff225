import asyncio
import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from pydantic import SecretStr

from agents.events import (
    AgentFailed,
    AgentFellBack,
    AgentFinished,
    AgentStarted,
    RunFinished,
    RunStarted,
    Token,
    UsageReported,
    parse_event,
)
from agents.llm_factory import ProviderConfigError, build_chat_model
from agents.offline import OfflineAnalyst
from agents.prompts import NarrativeSplitter, build_messages, extract_facts, extract_json
from agents.schemas import MarketAnswer, StrategyAnswer
from agents.settings import LLMSettings, load_settings
from agents.usage import AgentUsage, UsageTotals

BASE = {"run_id": "r1", "seq": 1, "t": 0.5, "agent": "market_analyst"}


@pytest.mark.parametrize(
    "event",
    [
        RunStarted(**BASE, provider="offline analyst", agents=["a"]),
        AgentStarted(**BASE, title="Market Analysis Agent", activity="Analyzing..."),
        Token(**BASE, text="Risk-on"),
        AgentFellBack(
            **BASE, reason="500", stage="provider", fallback="offline_model", discard_partial=True
        ),
        AgentFailed(**BASE, error="boom"),
        AgentFinished(**BASE, result={"x": [1, 2]}, narrative="n", source="fallback"),
        UsageReported(**BASE, usage=AgentUsage(agent="a", provider="p", model="m", calls=1)),
        RunFinished(
            **BASE, status="AWAITING_ADVISOR", totals=UsageTotals(calls=3), result={"a": 1}
        ),
    ],
)
def test_events_round_trip_through_json(event: object) -> None:
    text = event.model_dump_json()  # type: ignore[attr-defined]
    back = parse_event(text)
    assert back == event
    assert parse_event(json.loads(text)) == event


def test_settings_hide_the_key_and_read_env(tmp_path: Path) -> None:
    env = {
        "REBALANCE_LLM_PROVIDER": "openai_compatible",
        "OPENAI_BASE_URL": "http://127.0.0.1:1234/v1",
        "OPENAI_MODEL": "llama3",
        "OPENAI_API_KEY": "sk-very-secret",
        "REBALANCE_LLM_BUDGET_USD": "0.5",
    }
    s = load_settings(env, secrets_path=None)
    assert s.provider == "openai-compatible" and s.model == "llama3" and s.budget_usd == 0.5
    assert "sk-very-secret" not in repr(s) and "sk-very-secret" not in s.model_dump_json()
    assert "sk-very-secret" not in s.describe()
    assert s.temperature_for("market_analyst") == 0.0
    assert s.temperature_for("strategist") > 0


def test_settings_from_secrets_toml_and_azure_key_choice(tmp_path: Path) -> None:
    toml = tmp_path / "secrets.toml"
    toml.write_text(
        'AZURE_OPENAI_API_KEY = "az-key"\nOPENAI_API_KEY = "oa-key"\n'
        '[llm]\nprovider = "azure"\nazure_endpoint = "https://x.openai.azure.com"\n'
        'azure_deployment = "gpt4o"\n[llm.agents.strategist]\ntemperature = 0.5\n'
    )
    s = load_settings({}, secrets_path=toml)
    assert s.provider == "azure" and s.api_key == SecretStr("az-key")
    assert s.model_for("market_analyst") == "gpt4o"
    assert s.temperature_for("strategist") == 0.5
    assert load_settings({}, secrets_path=tmp_path / "missing.toml").provider == "offline"


def test_costs_from_the_price_table() -> None:
    s = LLMSettings()
    assert s.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert s.cost("gpt-4o-mini-2024-07-18", 2_000_000, 0) == pytest.approx(0.30)
    assert s.cost("mystery-model", 10, 10) is None
    assert s.cost("offline-analyst", 10**6, 10**6) == 0.0


def test_factory_reports_missing_configuration_without_keys() -> None:
    with pytest.raises(ProviderConfigError, match="API key"):
        build_chat_model(LLMSettings(provider="openai"), "market_analyst")
    with pytest.raises(ProviderConfigError, match="base URL"):
        build_chat_model(LLMSettings(provider="openai-compatible"), "market_analyst")
    with pytest.raises(ProviderConfigError, match="endpoint"):
        build_chat_model(LLMSettings(provider="azure", api_key="k"), "market_analyst")
    assert isinstance(build_chat_model(LLMSettings(), "market_analyst"), OfflineAnalyst)


def test_compatible_provider_builds_a_streaming_client_with_usage() -> None:
    async def build() -> object:
        s = LLMSettings(provider="openai-compatible", base_url="http://127.0.0.1:9/v1", model="m")
        return build_chat_model(s, "risk_assessor")

    model = asyncio.run(build())
    assert model.stream_usage is True  # type: ignore[attr-defined]
    assert model.temperature == 0.0  # type: ignore[attr-defined]


def test_narrative_splitter_handles_fences_split_across_chunks() -> None:
    sp = NarrativeSplitter()
    out = "".join(
        sp.feed(c) for c in ["Hello ", "world.`", "`", "`json\n{", '"a": 1}\n```', " tail"]
    )
    out += sp.flush()
    assert out == "Hello world."
    sp2 = NarrativeSplitter()
    assert sp2.feed("a `code` span") + sp2.flush() == "a `code` span"


def test_extract_json_variants() -> None:
    assert extract_json('prose\n```json\n{"a": 1}\n```') == '{"a": 1}'
    assert extract_json('x ```json\n{"a": 1}\n``` y ```json\n{"b": 2}\n```') == '{"b": 2}'
    assert extract_json('no fence {"a": 1} end') == '{"a": 1}'
    assert extract_json('```json\n{"a": ') == '{"a":'
    assert extract_json("nothing") is None


def test_offline_analyst_streams_the_same_text_it_generates() -> None:
    facts = {
        "task": "strategy",
        "profile": "moderate",
        "tiltable_classes": ["us_equity"],
        "market_views": {"us_equity": "overweight"},
        "market_scores": {"us_equity": 1.0},
        "overall_risk": "MODERATE",
        "baseline_trades": [],
        "class_weights": {},
    }
    msgs = build_messages("strategist", facts, StrategyAnswer)
    assert extract_facts(msgs) == facts
    model = OfflineAnalyst()
    whole = model.invoke(msgs)
    chunks = list(model.stream(msgs))
    assert "".join(str(c.content) for c in chunks) == whole.content
    assert chunks[-1].usage_metadata and chunks[-1].usage_metadata["output_tokens"] > 0
    assert len(chunks) > 10
    answer = StrategyAnswer.model_validate_json(extract_json(str(whole.content)) or "")
    assert answer.tilts == {"us_equity": 0.02}

    async def collect() -> list[str]:
        return [str(c.content) async for c in model.astream(msgs)]

    assert "".join(asyncio.run(collect())) == whole.content


def test_offline_analyst_without_facts_says_so() -> None:
    out = OfflineAnalyst().invoke([HumanMessage(content="hello")])
    assert "FACTS" in str(out.content)
    with pytest.raises(ValueError):
        MarketAnswer.model_validate_json(extract_json(str(out.content)) or "")
