"""The crew's typed event stream. Every event carries the run id, a sequence number, seconds since
the run started and the agent it concerns, and round-trips through JSON so it can be stored and
replayed by any front end (`parse_event`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from agents.usage import AgentUsage, UsageTotals

RunStatus = Literal["AWAITING_ADVISOR", "FAILED", "STOPPED_BUDGET"]
RUN_STATUS_MEANING: dict[str, str] = {
    "AWAITING_ADVISOR": "Proposal ready and checked by the compliance gate; nothing is executed "
    "until the advisor approves it.",
    "FAILED": "The run could not produce a proposal; see the failed agents.",
    "STOPPED_BUDGET": "The run stopped before it would exceed the configured cost budget.",
}


class EventBase(BaseModel):
    run_id: str
    seq: int = Field(description="1, 2, 3 ... in emission order within the run")
    t: float = Field(description="Seconds since the run started")
    agent: str | None = None


class RunStarted(EventBase):
    type: Literal["run_started"] = "run_started"
    provider: str
    agents: list[str]
    market_source: str = ""
    market_is_sample: bool = False


class AgentStarted(EventBase):
    type: Literal["agent_started"] = "agent_started"
    title: str
    activity: str = ""
    provider: str = ""
    model: str = ""


class Token(EventBase):
    type: Literal["token"] = "token"
    text: str


class AgentFellBack(EventBase):
    """The agent's model could not be used, or its answer did not validate.

    `discard_partial` means tokens this agent streamed before this event are superseded.
    """

    type: Literal["agent_fell_back"] = "agent_fell_back"
    reason: str
    stage: Literal["config", "provider", "answer", "budget"]
    fallback: Literal["offline_model", "deterministic"]
    discard_partial: bool = False


class AgentFailed(EventBase):
    type: Literal["agent_failed"] = "agent_failed"
    error: str


class AgentFinished(EventBase):
    type: Literal["agent_finished"] = "agent_finished"
    title: str = ""
    result: dict[str, Any]
    narrative: str = ""
    source: Literal["model", "repaired", "offline", "fallback", "advisor"] = "model"


class UsageReported(EventBase):
    type: Literal["usage"] = "usage"
    usage: AgentUsage


class RunFinished(EventBase):
    type: Literal["run_finished"] = "run_finished"
    status: RunStatus
    message: str = ""
    totals: UsageTotals = Field(default_factory=UsageTotals)
    result: dict[str, Any] | None = Field(default=None, description="CrewResult as JSON data")


Event = Annotated[
    RunStarted
    | AgentStarted
    | Token
    | AgentFellBack
    | AgentFailed
    | AgentFinished
    | UsageReported
    | RunFinished,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """Rebuild an event from its JSON (as stored in a ledger) or its dict."""
    if isinstance(data, str | bytes):
        return EVENT_ADAPTER.validate_json(data)
    return EVENT_ADAPTER.validate_python(data)
