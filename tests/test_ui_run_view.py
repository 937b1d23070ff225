"""The agent panels are a fold over the run's stored events: a real offline crew run, replayed from
the ledger, gives every panel its text, result, state and usage; fallbacks and failures show."""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

import pytest
from conftest import SAMPLES, wait_for
from lockstep import lockstep_models

from agents.events import (
    AgentFailed,
    AgentFellBack,
    AgentFinished,
    AgentStarted,
    RunFinished,
    Token,
    UsageReported,
)
from agents.pipeline import TITLES, crew_result, run_crew
from agents.settings import LLMSettings
from agents.usage import AgentUsage
from portfolio.importers import read_holdings
from portfolio.ledger import Ledger
from portfolio.ledger.read_models import EventRecord
from portfolio.models import Holdings
from portfolio.securities import load_securities
from ui import worker
from ui.run_view import fold, new_view

NOTES = (SAMPLES / "seed001_notes.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def holdings() -> Holdings:
    path = SAMPLES / "seed001_esg_moderate.csv"
    return read_holdings(path.read_bytes(), filename=path.name, securities=load_securities())


@pytest.fixture(scope="module")
def crew_rows(holdings: Holdings) -> list[EventRecord]:
    """A real offline crew run's events, as `Ledger.events` returns them."""
    events = list(run_crew(holdings, NOTES, settings=LLMSettings(offline_pace=0.0)))
    return [
        EventRecord(seq=i, event=ev.model_dump(mode="json"), at=None)
        for i, ev in enumerate(events, 1)
    ]


def check_finished_view(view) -> None:  # type: ignore[no-untyped-def]
    assert view.finished and view.status == "AWAITING_ADVISOR"
    assert view.message
    assert list(view.panels) == list(TITLES)
    for name, p in view.panels.items():
        assert p.state == "done", (name, p.state, p.notes)
        assert len(p.text) > 80, name
        assert p.result, name
        assert p.title == TITLES[name][0]
    for name in (
        "market_analyst",
        "risk_assessor",
        "strategist",
        "tax_agent",
        "compliance_checker",
    ):
        p = view.panels[name]
        assert p.tokens and p.tokens > 0, name
        assert p.duration_s is not None and p.duration_s >= 0, name
        assert p.cost_usd == 0.0, name  # the offline analyst is free
    assert view.totals["output_tokens"] > 0


def test_fold_of_a_real_crew_run(crew_rows: list[EventRecord]) -> None:
    view = fold(new_view(), crew_rows)
    check_finished_view(view)
    assert view.last_seq == len(crew_rows)
    assert view.panels["risk_profiler"].result["mandate"]["esg_only"] is True
    assert view.panels["compliance_checker"].result


def test_fold_is_incremental_and_idempotent(crew_rows: list[EventRecord]) -> None:
    """A page that polls folds only new rows; folding a row twice changes nothing."""
    whole = fold(new_view(), crew_rows)
    view = new_view()
    for i in range(0, len(crew_rows), 7):
        fold(view, crew_rows[max(0, i - 3) : i + 7])  # overlapping batches
    fold(view, crew_rows)
    for name in TITLES:
        assert view.panels[name].text == whole.panels[name].text
        assert view.panels[name].state == whole.panels[name].state
    assert view.last_seq == whole.last_seq


def test_panels_while_the_run_is_in_flight(crew_rows: list[EventRecord]) -> None:
    """Cut the stream after the first analyst token: that panel runs, later agents wait."""
    first_token = next(
        i
        for i, r in enumerate(crew_rows)
        if r.event["type"] == "token" and r.event["agent"] == "market_analyst"
    )
    view = fold(new_view(), crew_rows[: first_token + 1])
    assert not view.finished
    assert view.panels["risk_profiler"].state == "done"
    assert view.panels["market_analyst"].state == "running"
    assert view.panels["market_analyst"].text
    assert view.panels["strategist"].state == "waiting"
    assert view.panels["strategist"].text == ""
    assert view.panels["compliance_checker"].state == "waiting"


def test_analysts_stream_at_the_same_time(holdings: Holdings) -> None:
    """While the market analyst and the risk assessor take turns through a turnstile, both
    panels are running and fill together: after each of one agent's chunks, the other's panel
    has grown too."""
    _, models = lockstep_models("market_analyst", "risk_assessor")
    events = list(run_crew(holdings, NOTES, settings=LLMSettings(), models=models))
    rows = [
        EventRecord(seq=i, event=ev.model_dump(mode="json"), at=None)
        for i, ev in enumerate(events, 1)
    ]
    pair = ("market_analyst", "risk_assessor")
    token_at = [i for i, r in enumerate(rows) if r.event["type"] == "token"]
    token_at = [i for i in token_at if rows[i].event["agent"] in pair]
    view = new_view()
    seen = 0
    lengths: list[tuple[int, int]] = []
    for i in token_at[:40]:
        fold(view, rows[seen : i + 1])
        seen = i + 1
        panels = [view.panels[a] for a in pair]
        lengths.append(tuple(len(p.text) for p in panels))  # type: ignore[arg-type]
        if len(lengths) > 1:
            assert all(p.state == "running" for p in panels)
    # The two panels grow in turn: each step adds to one panel, and the next to the other.
    grew = [0 if b[0] > a[0] else 1 for a, b in itertools.pairwise(lengths)]
    assert grew == [1, 0] * (len(grew) // 2) + [1] * (len(grew) % 2)
    assert crew_result(events).status == "AWAITING_ADVISOR"


def _start(ledger: Ledger, holdings: Holdings) -> str:
    """An offline crew run from the seed file and its notes, as the Rebalance page starts one."""
    return worker.start_run(
        ledger,
        holdings=holdings,
        snapshot_id=None,
        filename=holdings.source,
        notes=NOTES,
        mandate=None,
        model=None,
        settings=LLMSettings(offline_pace=0.0),
        advisor="Test Advisor",
    )


def test_words_sent_before_a_pause_are_stored_during_the_pause(
    ui_ledger: Ledger, holdings: Holdings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that stops midway (a slow provider, a long think) must not hide the words it
    already sent: the worker writes them out while it waits, not with the next event. Every
    answer pauses after its third chunk until the test lets it go; the first one (the risk
    profiler reading the notes) must be in the ledger, word for word, during its pause."""
    from agents.offline import OfflineAnalyst

    release = threading.Event()
    sent: list[str] = []
    stream = OfflineAnalyst._astream

    async def pausing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        n = 0
        async for chunk in stream(self, *args, **kwargs):
            if n == 3:
                await asyncio.to_thread(release.wait, 120)
            if not release.is_set():
                sent.append(chunk.text)
            n += 1
            yield chunk

    monkeypatch.setattr(OfflineAnalyst, "_astream", pausing)
    rid = _start(ui_ledger, holdings)

    def stored() -> str:
        rows = ui_ledger.events(rid)
        return "".join(r.event.get("text", "") for r in rows if r.event["type"] == "token")

    try:
        wait_for(lambda: len(sent) == 3 and stored() == "".join(sent), what="the words so far")
        assert worker.is_running(rid)
    finally:
        release.set()
    wait_for(lambda: not worker.is_running(rid), what="the crew thread")
    assert ui_ledger.run(rid).status == "PENDING_REVIEW"


def test_worker_writes_the_run_to_the_ledger(ui_ledger: Ledger, holdings: Holdings) -> None:
    """The background worker stores coalesced events; folding them gives the same panels."""
    rid = _start(ui_ledger, holdings)
    wait_for(lambda: not worker.is_running(rid), what="the crew thread")
    rows = ui_ledger.events(rid)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    view = fold(new_view(), rows)
    check_finished_view(view)
    run = ui_ledger.run(rid)
    assert run.status == "PENDING_REVIEW"
    assert run.settings["started_by"] == "Test Advisor"
    assert "api_key" not in run.settings
    assert {a.agent for a in ui_ledger.agent_results(rid)} == set(TITLES)
    # A page that comes back later resumes after the last row it saw.
    partial = fold(new_view(), rows[: len(rows) // 2])
    fold(partial, ui_ledger.events(rid, after_seq=partial.last_seq))
    assert partial.panels["strategist"].text == view.panels["strategist"].text


# ---------------------------------------------------------------- fallbacks and failures


def rows(*events: Any) -> list[EventRecord]:
    return [
        EventRecord(seq=i, event=e.model_dump(mode="json"), at=None)
        for i, e in enumerate(events, 1)
    ]


def base(seq: int, agent: str | None = "market_analyst") -> dict[str, Any]:
    return {"run_id": "r1", "seq": seq, "t": seq / 10, "agent": agent}


def test_fell_back_with_discard_partial_clears_the_streamed_text() -> None:
    view = fold(
        new_view(),
        rows(
            AgentStarted(
                **base(1), title="Market Analysis Agent", provider="openai", model="gpt-x"
            ),
            Token(**base(2), text="Rates are "),
            Token(**base(3), text="{not json"),
            AgentFellBack(
                **base(4),
                reason="the answer did not validate",
                stage="answer",
                fallback="offline_model",
                discard_partial=True,
            ),
        ),
    )
    p = view.panels["market_analyst"]
    assert p.text == ""
    assert p.state == "fell back"
    assert p.notes == ["Fell back to the offline model: the answer did not validate"]

    fold(
        view,
        [
            EventRecord(seq=5, event=Token(**base(5), text="Offline view.").model_dump(), at=None),
            EventRecord(
                seq=6,
                event=AgentFinished(
                    **base(6),
                    result={"regime": "neutral"},
                    narrative="Offline view.",
                    source="offline",
                ).model_dump(),
                at=None,
            ),
        ],
    )
    assert p.text == "Offline view."
    assert p.state == "fell back"  # the panel keeps saying where the words came from
    assert p.result == {"regime": "neutral"}


def test_fell_back_without_discard_keeps_the_text() -> None:
    view = fold(
        new_view(),
        rows(
            AgentStarted(**base(1), title="Market Analysis Agent"),
            Token(**base(2), text="Partial but usable"),
            AgentFellBack(**base(3), reason="timeout", stage="provider", fallback="deterministic"),
        ),
    )
    p = view.panels["market_analyst"]
    assert p.text == "Partial but usable"
    assert p.state == "fell back"
    assert "deterministic" in p.notes[0]


def test_failed_agent_and_usage_and_run_end() -> None:
    usage = AgentUsage(
        agent="risk_assessor",
        provider="openai",
        model="gpt-4o-mini",
        calls=1,
        input_tokens=1200,
        output_tokens=300,
        ttft_s=0.4,
        duration_s=2.5,
        cost_usd=0.00036,
    )
    view = fold(
        new_view(),
        rows(
            AgentStarted(**base(1, "risk_assessor"), title="Risk Assessment Agent"),
            UsageReported(**base(2, "risk_assessor"), usage=usage),
            AgentFailed(**base(3, "risk_assessor"), error="provider returned 500"),
            RunFinished(**base(4, None), status="FAILED", message="no proposal"),
        ),
    )
    p = view.panels["risk_assessor"]
    assert p.state == "failed"
    assert p.notes == ["provider returned 500"]
    assert (p.tokens, p.duration_s, p.ttft_s, p.cost_usd, p.model) == (
        1500,
        2.5,
        0.4,
        0.00036,
        "gpt-4o-mini",
    )
    assert view.finished and view.status == "FAILED" and view.message == "no proposal"
    assert view.panels["market_analyst"].state == "waiting"


def test_advisor_mandate_is_noted() -> None:
    view = fold(
        new_view(),
        rows(
            AgentStarted(**base(1, "risk_profiler"), title="Risk Profiler"),
            AgentFinished(
                **base(2, "risk_profiler"),
                result={"mandate": {}},
                narrative="Set.",
                source="advisor",
            ),
        ),
    )
    p = view.panels["risk_profiler"]
    assert p.state == "done"
    assert p.notes == ["Mandate set by the advisor; the profiler explains it."]
