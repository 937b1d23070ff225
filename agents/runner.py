"""One agent, one model call: stream the narrative, validate the JSON at the end, repair once,
and fall back (to the offline analyst when the provider fails, to the deterministic answer when
the JSON will not validate). Events go to the `emit` callback the orchestrator supplies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from pydantic import BaseModel, ValidationError

from agents.events import AgentFellBack, AgentStarted, Token
from agents.llm_factory import ProviderConfigError, build_chat_model, offline_model
from agents.prompts import NarrativeSplitter, build_messages, extract_json, repair_message
from agents.settings import OFFLINE_MODEL, LLMSettings
from agents.usage import AgentUsage, estimate_tokens
from agents.writers import write_answer
from portfolio.redact import redact

Emit = Callable[..., None]
Source = Literal["model", "repaired", "offline", "fallback"]


class BudgetExceeded(RuntimeError):
    """The next call would take the run past its cost budget."""


class TruncatedAnswer(RuntimeError):
    """The stream ended without the provider saying it finished."""


@dataclass
class AgentOutcome:
    answer: BaseModel
    narrative: str
    source: Source
    usage: AgentUsage
    fallback_reason: str | None = None


EXPECTED_OUTPUT_TOKENS = 1000  # reserved per call, since a call's output length is unknown


@dataclass
class RunBudget:
    """Costs spent and reserved so far in the run; shared by concurrent agents.

    Each call reserves its prompt's cost plus EXPECTED_OUTPUT_TOKENS before it starts, so two
    agents running at once cannot both squeeze under the limit.
    """

    limit_usd: float | None = None
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    stopped: bool = False
    # endpoint|model -> why it failed: later agents of the run on it go straight to the fallback
    failed_providers: dict[str, str] = field(default_factory=dict)

    def check(self, settings: LLMSettings, model: str, messages: list[BaseMessage]) -> float:
        """Reserve the expected cost of the next call, or stop the run if it would not fit."""
        if self.limit_usd is None:
            return 0.0
        prompt = estimate_tokens("".join(str(m.content) for m in messages))
        expected = settings.cost(model, prompt, EXPECTED_OUTPUT_TOKENS) or 0.0
        if self.spent_usd + self.reserved_usd + expected > self.limit_usd:
            self.stopped = True
            raise BudgetExceeded(
                f"the next call (about ${expected:.4f}) would take the run past its "
                f"${self.limit_usd:.4f} budget (spent ${self.spent_usd:.4f})"
            )
        self.reserved_usd += expected
        return expected

    def settle(self, reserved: float, actual: float | None) -> None:
        self.reserved_usd = max(0.0, self.reserved_usd - reserved)
        self.spent_usd += actual or 0.0


class ProviderError(RuntimeError):
    """The provider failed and the fallback is off; the message is redacted."""


def _secrets(settings: LLMSettings) -> list[str | None]:
    return [settings.api_key.get_secret_value() if settings.api_key else None]


def _safe(exc: BaseException, settings: LLMSettings) -> str:
    """A one-line reason without any secret (headers, keys, credentials in URLs)."""
    text = redact(f"{type(exc).__name__}: {exc}", _secrets(settings))
    return (text.splitlines() or [type(exc).__name__])[0][:300]


def _provider_key(settings: LLMSettings, model: str) -> str:
    return f"{settings.base_url or settings.azure_endpoint or settings.provider}|{model}"


async def _close(model: BaseChatModel) -> None:
    client = getattr(model, "http_async_client", None)
    if client is not None and hasattr(client, "aclose"):
        with contextlib.suppress(Exception):
            await client.aclose()


def parse_answer(text: str, schema: type[BaseModel]) -> BaseModel:
    raw = extract_json(text)
    if raw is None:
        raise ValueError("no JSON block in the answer")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
    return schema.model_validate(data)


async def _stream_once(
    model: BaseChatModel,
    messages: list[BaseMessage],
    agent: str,
    emit: Emit,
    first_token_timeout: float | None,
    t0: float,
) -> tuple[AIMessageChunk | None, str, float | None]:
    """Stream one call; returns the aggregated message, the narrative and time to first token."""
    splitter = NarrativeSplitter()
    full: AIMessageChunk | None = None
    ttft: float | None = None
    stream = model.astream(messages).__aiter__()
    try:
        while True:
            try:
                if ttft is None and first_token_timeout:
                    chunk = await asyncio.wait_for(stream.__anext__(), first_token_timeout)
                else:
                    chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError as exc:
                if ttft is None and first_token_timeout:
                    raise TimeoutError(f"no first token within {first_token_timeout:g}s") from exc
                # The client library's own limit between chunks: its message is for developers.
                raise TimeoutError("the model went silent midway through its answer") from exc
            full = chunk if full is None else full + chunk  # type: ignore[assignment]
            text = chunk.content if isinstance(chunk.content, str) else ""
            if text and ttft is None:
                ttft = time.perf_counter() - t0
            out = splitter.feed(text)
            if out:
                emit(Token, agent=agent, text=out)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    tail = splitter.flush()
    if tail:
        emit(Token, agent=agent, text=tail)
    return full, splitter.narrative.strip(), ttft


def _record(
    usage: AgentUsage,
    msg: AIMessage | AIMessageChunk | None,
    messages: list[BaseMessage],
    settings: LLMSettings,
) -> None:
    usage.calls += 1
    meta = getattr(msg, "usage_metadata", None) if msg is not None else None
    if meta and (meta.get("input_tokens") or meta.get("output_tokens")):
        usage.input_tokens += int(meta.get("input_tokens", 0))
        usage.output_tokens += int(meta.get("output_tokens", 0))
    else:
        usage.estimated = True
        usage.input_tokens += estimate_tokens("".join(str(m.content) for m in messages))
        usage.output_tokens += estimate_tokens(str(msg.content) if msg is not None else "")
    if usage.provider == "offline":
        usage.estimated = True
    usage.cost_usd = settings.cost(usage.model, usage.input_tokens, usage.output_tokens)


async def run_agent(
    agent: str,
    title: str,
    activity: str,
    facts: dict[str, Any],
    schema: type[BaseModel],
    settings: LLMSettings,
    emit: Emit,
    budget: RunBudget,
    model: BaseChatModel | None = None,
) -> AgentOutcome:
    """Run one agent end to end. Raises BudgetExceeded; every other failure becomes a fallback."""
    messages = build_messages(agent, facts, schema)
    provider = settings.provider
    model_name = settings.model_for(agent)
    fallback_reason: str | None = None
    stage: Literal["config", "provider"] = "config"
    discard = False
    earlier = budget.failed_providers.get(_provider_key(settings, model_name))
    skip = model is None and provider != "offline" and settings.fallback_to_offline
    if earlier is not None and skip:
        # The provider already failed in this run: do not wait out another timeout on it.
        fallback_reason = f"not tried: {model_name} failed earlier in this run ({earlier})"
        stage, discard = "provider", True
        provider, model_name, model = "offline", OFFLINE_MODEL, offline_model(settings)
    if model is None:
        try:
            model = build_chat_model(settings, agent)
        except ProviderConfigError as exc:
            fallback_reason = redact(str(exc), _secrets(settings))
            provider, model_name, model = "offline", OFFLINE_MODEL, offline_model(settings)
    emit(
        AgentStarted,
        agent=agent,
        title=title,
        activity=activity,
        provider=provider,
        model=model_name,
    )
    if fallback_reason:
        emit(
            AgentFellBack,
            agent=agent,
            reason=fallback_reason,
            stage=stage,
            fallback="offline_model",
            discard_partial=discard,
        )
    t0 = time.perf_counter()
    usage = AgentUsage(agent=agent, provider=provider, model=model_name)
    reserved = budget.check(settings, model_name, messages)

    source: Source = "offline" if provider == "offline" else "model"
    try:
        full, narrative, ttft = await _stream_once(
            model, messages, agent, emit, settings.first_token_timeout, t0
        )
        if provider != "offline" and (
            full is None or not (full.response_metadata or {}).get("finish_reason")
        ):
            raise TruncatedAnswer("the stream ended before the provider finished its answer")
    except (BudgetExceeded, asyncio.CancelledError):
        raise
    except Exception as exc:
        if provider == "offline":
            raise
        if not settings.fallback_to_offline:
            # The raw text may quote the request's headers; only the redacted line goes on.
            raise ProviderError(_safe(exc, settings)) from None
        usage.calls += 1
        fallback_reason = _safe(exc, settings)
        key = _provider_key(settings, model_name)
        first = key not in budget.failed_providers
        budget.failed_providers.setdefault(key, fallback_reason)
        emit(
            AgentFellBack,
            agent=agent,
            reason=fallback_reason
            + ("; later agents of this run on this model use the offline analyst" if first else ""),
            stage="provider",
            fallback="offline_model",
            discard_partial=True,
        )
        provider, model_name, source = "offline", OFFLINE_MODEL, "offline"
        usage.provider, usage.model = provider, model_name
        model = offline_model(settings)
        full, narrative, ttft = await _stream_once(model, messages, agent, emit, None, t0)
    usage.ttft_s = round(ttft, 4) if ttft is not None else None
    _record(usage, full, messages, settings)
    budget.settle(reserved, usage.cost_usd)

    text = str(full.content) if full is not None else ""
    try:
        answer = parse_answer(text, schema)
    except (ValueError, ValidationError) as first_error:
        answer = None
        repair_msgs = [*messages, AIMessage(content=text), repair_message(str(first_error))]
        try:
            reserved = budget.check(settings, model_name, repair_msgs)
            fixed = await model.ainvoke(repair_msgs)
            before = usage.cost_usd or 0.0
            _record(usage, fixed, repair_msgs, settings)
            budget.settle(reserved, (usage.cost_usd or 0.0) - before)
            answer = parse_answer(str(fixed.content), schema)
            source = "repaired"
        except BudgetExceeded:
            raise
        except Exception as second_error:
            fallback_reason = (
                f"answer did not validate after one repair: {_safe(second_error, settings)}"
            )
            emit(
                AgentFellBack,
                agent=agent,
                reason=fallback_reason,
                stage="answer",
                fallback="deterministic",
            )
            fb_narrative, data = write_answer(facts)
            answer = schema.model_validate(data)
            narrative = narrative or fb_narrative
            source = "fallback"
    usage.duration_s = round(time.perf_counter() - t0, 4)
    await _close(model)
    return AgentOutcome(answer, narrative, source, usage, fallback_reason)
