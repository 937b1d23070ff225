"""The offline analyst: a real LangChain chat model that needs no network.

It reads the FACTS block the calling agent put in its prompt and writes that agent's narrative and
JSON answer deterministically, streaming word-ish chunks. Its pace is a total time per answer, not a
time per token: a long narrative streams as quickly overall as a short one, so the whole crew takes
about four paces (profiler, the two analysts together, strategist, compliance) whatever it writes.
Only the narrative is paced; the JSON block the advisor never reads follows at once. Usage is
estimated from the text (about four characters a token) and marked as an estimate by the runner.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from agents.prompts import JSON_ONLY, extract_facts
from agents.settings import OFFLINE_MODEL
from agents.usage import estimate_tokens
from agents.writers import write_answer

_PIECES = re.compile(r"\s*\S+|\s+")


def _pieces(text: str) -> list[str]:
    return _PIECES.findall(text)


def paced_pieces(text: str, pace: float) -> list[tuple[str, float]]:
    """Each chunk with the seconds to wait before it: `pace` spread evenly over the narrative's
    chunks, nothing before the chunks of the JSON block."""
    cut = text.find("```json")
    narrative, block = (text, "") if cut < 0 else (text[:cut], text[cut:])
    head, tail = _pieces(narrative), _pieces(block)
    step = pace / len(head) if head and pace > 0 else 0.0
    return [(piece, step) for piece in head] + [(piece, 0.0) for piece in tail]


class _Clock:
    """Keeps a stream on its schedule: each wait is measured from the stream's start, so time lost
    to a busy process (a late wake-up) is made up on the next chunks instead of adding up."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.planned = 0.0

    def due(self, wait: float) -> float:
        self.planned += wait
        return max(0.0, self.start + self.planned - time.monotonic())


class OfflineAnalyst(BaseChatModel):
    """Deterministic analyst over the FACTS block; `pace` is seconds to stream one narrative."""

    pace: float = 0.0
    model_name: str = OFFLINE_MODEL

    @property
    def _llm_type(self) -> str:
        return "offline-analyst"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "pace": self.pace}

    def compose(self, messages: list[BaseMessage]) -> str:
        facts = extract_facts(messages)
        if facts is None:
            return (
                "I work only from a FACTS block supplied by the desk's tools, and this request "
                "has none, so I have nothing to analyse.\n\n```json\n{}\n```"
            )
        narrative, answer = write_answer(facts)
        wants_json_only = facts.get("reply") == JSON_ONLY or (
            messages[-1].type == "human" and "did not validate" in str(messages[-1].content)
        )
        block = "```json\n" + json.dumps(answer, indent=2) + "\n```"
        return block if wants_json_only else f"{narrative}\n\n{block}"

    def _usage(self, messages: list[BaseMessage], text: str) -> dict[str, int]:
        prompt = "".join(str(m.content) for m in messages)
        i, o = estimate_tokens(prompt), estimate_tokens(text)
        return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self.compose(messages)
        msg = AIMessage(
            content=text,
            usage_metadata=self._usage(messages, text),  # type: ignore[arg-type]
            response_metadata={"finish_reason": "stop", "model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self.compose(messages)
        clock = _Clock()
        for piece, wait in paced_pieces(text, self.pace):
            if wait:
                time.sleep(clock.due(wait))
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        yield self._last_chunk(messages, text)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        text = self.compose(messages)
        clock = _Clock()
        for piece, wait in paced_pieces(text, self.pace):
            # Always yield to the loop so concurrent agents interleave even at zero pace.
            await asyncio.sleep(clock.due(wait) if wait else 0)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                await run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        yield self._last_chunk(messages, text)

    def _last_chunk(self, messages: list[BaseMessage], text: str) -> ChatGenerationChunk:
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=self._usage(messages, text),  # type: ignore[arg-type]
                response_metadata={"finish_reason": "stop", "model_name": self.model_name},
                chunk_position="last",
            )
        )
