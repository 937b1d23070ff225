"""Runs the crew in a background thread and writes its events to the ledger as they happen.

The page only reads the ledger, so clicking elsewhere, switching pages or reloading the browser
neither stops a run nor loses its output. Consecutive tokens of one agent are written together
every FLUSH_S seconds, so a run costs a few hundred inserts, not one per token.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from agents.events import AgentFinished, Event, RunFinished, Token, UsageReported
from agents.pipeline import TITLES, run_crew
from agents.schemas import CrewResult
from agents.settings import LLMSettings
from portfolio.ledger import Ledger
from portfolio.models import (
    CashRequest,
    ClientMandate,
    Holdings,
    ModelPortfolio,
    RebalanceProposal,
)

log = logging.getLogger(__name__)
FLUSH_S = 0.08
PROMPT_VERSION = "crew-prompts-2"
_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def wait_for_first_token(ledger: Ledger, run_id: str, timeout: float) -> bool:
    """Let the page's first drawing of a new run already show words, when they come quickly."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        for e in ledger.events(run_id, after_seq=seen):  # only what is new since the last look
            seen = e.seq
            if e.event.get("type") == "token":
                return True
        if not is_running(run_id):
            return False
        time.sleep(0.02)
    return False


def is_running(run_id: str) -> bool:
    with _lock:
        t = _threads.get(run_id)
        return bool(t and t.is_alive())


def start_run(
    ledger: Ledger,
    *,
    holdings: Holdings,
    snapshot_id: int | None,
    filename: str,
    notes: str,
    mandate: ClientMandate | None,
    model: ModelPortfolio | None,
    settings: LLMSettings,
    advisor: str | None,
    partial_book: dict[str, Any] | None = None,
    account_types: dict[str, str] | None = None,
    cash_requests: list[CashRequest] | None = None,
) -> str:
    """Record the run, start its thread, return its id at once.

    `partial_book` is the advisor's acknowledgement of rows left out of the book; it is saved
    with the run's settings; `account_types` are the client's tax types by account, for the
    engine; `cash_requests` the client's withdrawals and deposits, saved with the settings and
    planned for by the engine.
    """
    requests = list(cash_requests or [])
    agents = {
        a: {
            "provider": settings.provider,
            "model": settings.model_for(a),
            "temperature": settings.temperature_for(a),
        }
        for a in TITLES
    }
    run_id = ledger.create_run(
        holdings=holdings,
        snapshot_id=snapshot_id,
        filename=filename,
        mandate=mandate,
        model=model,
        settings={
            **settings.model_dump(mode="json", exclude={"api_key"}),
            "started_by": advisor or "unauthenticated",
            **({"partial_book": partial_book} if partial_book else {}),
            **(
                {"cash_requests": [r.model_dump(mode="json") for r in requests]} if requests else {}
            ),
        },
        agents=agents,
        prompt_version=PROMPT_VERSION,
        owner=advisor,
    )
    thread = threading.Thread(
        target=_work,
        name=f"crew-{run_id}",
        daemon=True,
        args=(ledger, run_id, holdings, notes, mandate, model, settings, account_types, requests),
    )
    with _lock:
        _threads[run_id] = thread
    thread.start()
    return run_id


def narrate_run(ledger: Ledger, run_id: str, settings: LLMSettings) -> bool:
    """Write the crew's words for a run whose plan is already saved (a batch from the Book
    page), into that run's own event log. The plan, ticket and decisions stay as they are: the
    crew explains the saved proposal and plans nothing. False when the run already has words
    or is being written."""
    with _lock:
        t = _threads.get(run_id)
        if (t and t.is_alive()) or ledger.events(run_id):
            return False
        run = ledger.run(run_id)
        snap = run.snapshot
        if not snap or "batch" not in run.settings:
            return False
        thread = threading.Thread(
            target=_work,
            name=f"narrate-{run_id}",
            daemon=True,
            args=(ledger, run_id, ledger.holdings(snap.id), "", None, None, settings, None),
            kwargs={"fixed": ledger.proposal(run_id)},
        )
        _threads[run_id] = thread
    thread.start()
    return True


class _Writer:
    """Coalesces token events per agent and flushes them with every other event, or when the crew
    has been quiet for FLUSH_S (a model pausing mid-answer still shows every word it sent)."""

    def __init__(self, ledger: Ledger, run_id: str, claim: bool = False) -> None:
        self.ledger, self.run_id = ledger, run_id
        self.pending: Token | None = None
        self.last_flush = time.monotonic()
        # The first event goes only into an empty log: another process may be writing this run.
        self.claim = claim

    def add(self, ev: Event) -> None:
        if isinstance(ev, Token):
            if self.pending is not None and self.pending.agent == ev.agent:
                self.pending = self.pending.model_copy(
                    update={"text": self.pending.text + ev.text, "seq": ev.seq, "t": ev.t}
                )
            else:
                self.flush()
                self.pending = ev
            if time.monotonic() - self.last_flush >= FLUSH_S:
                self.flush()
            return
        self.flush()
        self._append(ev)

    def flush(self) -> None:
        if self.pending is not None:
            self._append(self.pending)
            self.pending = None
        self.last_flush = time.monotonic()

    def _append(self, ev: Event) -> None:
        if not self.ledger.append_event(self.run_id, ev.model_dump(mode="json"), first=self.claim):
            raise _Taken(self.run_id)
        self.claim = False


class _Taken(Exception):
    """Another process began writing this run's words first: this one stops, writing nothing."""


def _work(
    ledger: Ledger,
    run_id: str,
    holdings: Holdings,
    notes: str,
    mandate: ClientMandate | None,
    model: ModelPortfolio | None,
    settings: LLMSettings,
    account_types: dict[str, str] | None = None,
    cash_requests: list[CashRequest] | None = None,
    fixed: RebalanceProposal | None = None,
) -> None:
    """`fixed`: the run's saved plan, which the crew only explains (nothing is saved again)."""
    writer = _Writer(ledger, run_id, claim=fixed is not None)
    usage: dict[str, dict[str, Any]] = {}
    crew = run_crew(
        holdings,
        notes,
        mandate_override=mandate,
        settings=settings,
        run_id=run_id,
        model=model,
        account_types=account_types,
        cash_requests=cash_requests or [],
        fixed=fixed,
        on_idle=writer.flush,
        idle_s=FLUSH_S,
    )
    try:
        for ev in crew:
            writer.add(ev)
            if isinstance(ev, UsageReported) and ev.agent:
                usage[ev.agent] = ev.usage.model_dump(mode="json")
            elif isinstance(ev, AgentFinished) and ev.agent:
                u = usage.get(ev.agent, {})
                ledger.record_agent_result(
                    run_id,
                    ev.agent,
                    transcript=ev.narrative,
                    result_json=ev.result,
                    status=ev.source,
                    timing={
                        "finished_s": ev.t,
                        "ttft_s": u.get("ttft_s"),
                        "duration_s": u.get("duration_s"),
                    },
                    usage=u,
                    provider=u.get("provider", settings.provider),
                    model=u.get("model", settings.model_for(ev.agent)),
                )
            elif isinstance(ev, RunFinished) and fixed is None:
                writer.flush()
                result = CrewResult.model_validate(ev.result) if ev.result else None
                if result is not None and result.proposal is not None:
                    ledger.save_proposal(run_id, result.proposal)
                    ledger.refresh_status(run_id)
                else:
                    ledger.set_run_status(run_id, "FAILED", error=ev.message or ev.status)
        writer.flush()
    except _Taken:
        log.info("the words of run %s are being written elsewhere", run_id)
    except Exception as exc:  # the page shows the reason; the server log keeps the trace
        log.exception("crew run %s failed", run_id)
        try:
            writer.flush()
        except _Taken:
            return
        if fixed is None:  # a saved plan stays as it is when only its words failed
            ledger.set_run_status(run_id, "FAILED", error=f"{exc.__class__.__name__}: {exc}")
    finally:
        crew.close()  # stops the crew at once when this process stops writing
        with _lock:
            _threads.pop(run_id, None)
