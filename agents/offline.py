"""The offline analyst: a real LangChain chat model that needs no network.

It reads the FACTS block the calling agent put in its prompt and writes that agent's narrative and
JSON answer deterministically, streaming word-ish chunks at an adjustable pace. Usage is estimated
from the text (about four characters a token) and marked as an estimate by the runner.
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

from agents.prompts import extract_facts
from agents.settings import OFFLINE_MODEL
from agents.usage import estimate_tokens
from agents.writers import write_answer

_PIECES = re.compile(r"\s*\S+|\s+")


def _pieces(text: str) -> list[str]:
    return _PIECES.findall(text)


class OfflineAnalyst(BaseChatModel):
    """Deterministic analyst over the FACTS block; `pace` is seconds between chunks."""

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
        wants_json_only = messages[-1].type == "human" and "did not validate" in str(
            messages[-1].content
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
        for piece in _pieces(text):
            if self.pace:
                time.sleep(self.pace)
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
        for piece in _pieces(text):
            # Always yield to the loop so concurrent agents interleave even at zero pace.
            await asyncio.sleep(self.pace)
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
