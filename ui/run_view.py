"""Folds a run's stored events into what each agent panel shows (no Streamlit, easy to test)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agents.events import (
    AgentFailed,
    AgentFellBack,
    AgentFinished,
    AgentStarted,
    RunFinished,
    Token,
    UsageReported,
    parse_event,
)
from agents.inert_text import inert_data, inert_markdown
from agents.pipeline import TITLES
from portfolio.ledger.read_models import EventRecord


@dataclass
class Panel:
    agent: str
    title: str
    activity: str = ""
    state: str = "waiting"  # waiting | running | done | fell back | failed
    text: str = ""
    result: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    ttft_s: float | None = None
    duration_s: float | None = None
    tokens: int | None = None
    cost_usd: float | None = None
    model: str = ""
    # An online model's words are shown inert (no live links or images); `raw` is as streamed.
    online: bool = False
    raw: str = ""

    def show(self, text: str) -> None:
        self.raw = text
        self.text = inert_markdown(text) if self.online else text


@dataclass
class RunView:
    panels: dict[str, Panel]
    finished: bool = False
    status: str = ""
    message: str = ""
    last_seq: int = 0
    last_t: float = 0.0  # seconds since the run started, as of the latest event
    totals: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> int:
        """Agents that have given their answer (in their own words or a fallback's)."""
        return sum(1 for p in self.panels.values() if p.result is not None)

    @property
    def running(self) -> list[str]:
        return [a for a, p in self.panels.items() if p.state == "running"]


def new_view() -> RunView:
    return RunView({a: Panel(a, t[0], t[1]) for a, t in TITLES.items()})


def fold(view: RunView, rows: Iterable[EventRecord]) -> RunView:
    """Apply stored events (as `Ledger.events` returns them) in order; idempotent per seq."""
    for row in rows:
        if row.seq <= view.last_seq:
            continue
        view.last_seq = row.seq
        ev = parse_event(row.event)
        view.last_t = max(view.last_t, ev.t)
        p = view.panels.get(ev.agent or "")
        if isinstance(ev, AgentStarted) and p:
            p.state, p.activity, p.model = "running", ev.activity or p.activity, ev.model
            p.online = ev.provider != "offline"
        elif isinstance(ev, Token) and p:
            p.show(p.raw + ev.text)
        elif isinstance(ev, AgentFellBack) and p:
            if ev.discard_partial:
                p.show("")
            if ev.fallback == "offline_model":
                p.online = False
            p.notes.append(f"Fell back to the {ev.fallback.replace('_', ' ')}: {ev.reason}")
            p.state = "fell back"
        elif isinstance(ev, AgentFailed) and p:
            p.state = "failed"
            p.notes.append(ev.error)
        elif isinstance(ev, AgentFinished) and p:
            p.result = inert_data(ev.result) if p.online else ev.result
            if ev.narrative:
                p.show(ev.narrative)
            if p.state != "fell back" or ev.source not in ("offline", "fallback"):
                p.state = "done" if p.state != "fell back" else p.state
            if ev.source == "advisor":
                p.notes.append("Mandate set by the advisor; the profiler explains it.")
        elif isinstance(ev, UsageReported) and p:
            u = ev.usage
            p.ttft_s, p.duration_s = u.ttft_s, u.duration_s
            p.tokens, p.cost_usd, p.model = u.total_tokens, u.cost_usd, u.model
        elif isinstance(ev, RunFinished):
            view.finished, view.status, view.message = True, ev.status, ev.message
            view.totals = ev.totals.model_dump()
    return view
