"""Controlled fakes that make concurrency observable without depending on the scheduler.

`Turnstile` lets several streams produce one chunk at a time in a fixed rotation for as long as
more than one of them is live. `LockstepAnalyst` is the offline analyst streaming through a
turnstile. If two agents take turns this way and the crew still finishes, they ran at the same
time: run one after the other, the first would wait for a turn that never comes, until
`patience` runs out and its model call fails. What reaches the event stream, and in which order,
is then fixed by the code under test alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from pydantic import ConfigDict

from agents.offline import OfflineAnalyst, _pieces


class Turnstile:
    """Round-robin turns among named streams on one event loop.

    `log` records every chunk produced, in order, as (name, text).
    """

    def __init__(self, order: Sequence[str], patience: float = 60.0) -> None:
        self.order = list(order)
        self.live = list(order)
        self.patience = patience
        self.log: list[tuple[str, str]] = []
        self._holder = self.order[0]
        self._events: dict[str, asyncio.Event] = {}

    def _event(self, name: str) -> asyncio.Event:
        if name not in self._events:  # created inside the running loop that waits on it
            self._events[name] = asyncio.Event()
            if name == self._holder:
                self._events[name].set()
        return self._events[name]

    async def wait(self, name: str) -> None:
        try:
            await asyncio.wait_for(self._event(name).wait(), self.patience)
        except TimeoutError as exc:
            raise TimeoutError(
                f"{name} waited {self.patience:g}s for a turn: the other streams never ran"
            ) from exc

    def produced(self, name: str, text: str) -> None:
        self.log.append((name, text))

    def pass_turn(self, name: str) -> None:
        """Hand the turn to the next live stream after `name`."""
        if name != self._holder:
            return
        self._event(name).clear()
        if not self.live:
            return
        i = self.order.index(name)
        for step in range(1, len(self.order) + 1):
            nxt = self.order[(i + step) % len(self.order)]
            if nxt in self.live:
                self._holder = nxt
                self._event(nxt).set()
                return

    def leave(self, name: str) -> None:
        """`name` has no more chunks: the others no longer wait for it."""
        if name in self.live:
            self.live.remove(name)
        self.pass_turn(name)


class LockstepAnalyst(OfflineAnalyst):
    """The offline analyst's text, one chunk per turn of a shared turnstile."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    turnstile: Turnstile
    name_in_turnstile: str

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        me, gate = self.name_in_turnstile, self.turnstile
        text = self.compose(messages)
        try:
            for piece in _pieces(text):
                await gate.wait(me)
                gate.produced(me, piece)
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                if run_manager:
                    await run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
                # Runs when the consumer asks for the next chunk, so after it handled this one.
                gate.pass_turn(me)
            yield self._last_chunk(messages, text)
        finally:
            gate.leave(me)


def lockstep_models(*agents: str, patience: float = 60.0) -> tuple[Turnstile, dict[str, Any]]:
    """A turnstile and one lockstep analyst per agent, for `run_crew(models=...)`."""
    gate = Turnstile(agents, patience=patience)
    return gate, {a: LockstepAnalyst(turnstile=gate, name_in_turnstile=a) for a in agents}
