"""A key never reaches what is stored, logged or exported, and a hung provider costs one timeout.

The tests start their own servers on 127.0.0.1: one answers every request with an error that
echoes the request's headers (as some proxies and model servers do), one accepts connections and
never answers.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agents.events import AgentFellBack, RunFinished
from agents.pipeline import crew_result, run_crew
from agents.settings import LLMSettings
from portfolio.audit import audit_record
from portfolio.importers import read_holdings
from portfolio.ledger import open_ledger
from portfolio.redact import redact

SEED000 = Path(__file__).resolve().parent.parent / "data" / "samples" / "seed000_four_tech.csv"
AS_OF = date(2025, 6, 30)
SECRET = "sk-proj-EchoedBackNeverStored-0123456789"
URL_SECRET = "pw-in-the-url-42"


def _holdings():  # type: ignore[no-untyped-def]
    return read_holdings(SEED000.read_bytes(), filename=SEED000.name)


class _EchoHeaders(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps(
            {"error": {"message": f"bad request, you sent {dict(self.headers.items())}"}}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeaders)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://user:{URL_SECRET}@{host}:{port}/v1"
    server.shutdown()
    server.server_close()


class _Hang:
    """Accepts every connection and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def __enter__(self) -> _Hang:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for c in self.accepted:
            c.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"


def test_redact_covers_headers_keys_and_urls() -> None:
    text = (
        "{'Authorization': 'Bearer abc.def-123456789', "
        "'api-key': '0123456789abcdef0123456789abcdef'}"
        f" at https://me:{URL_SECRET}@host/v1?api-key=zz and {SECRET}"
    )
    out = redact(text)
    for secret in ("abc.def-123456789", "0123456789abcdef", URL_SECRET, "zz&", SECRET):
        assert secret not in out
    assert "Key: the plan" in redact("Key: the plan")  # ordinary words are left alone


def test_default_timeouts_are_at_most_20_seconds() -> None:
    s = LLMSettings()
    assert s.timeout <= 20 and s.first_token_timeout is not None and s.first_token_timeout <= 20


@pytest.mark.parametrize("fallback", [True, False])
def test_an_echoed_key_is_nowhere(echo_url, tmp_path, monkeypatch, caplog, fallback) -> None:  # type: ignore[no-untyped-def]
    from ui import worker

    monkeypatch.setenv("REBALANCE_DATA_DIR", str(tmp_path))
    settings = LLMSettings(
        provider="openai-compatible",
        base_url=echo_url,
        model="echo",
        api_key=SECRET,
        max_retries=0,
        timeout=10,
        first_token_timeout=10,
        fallback_to_offline=fallback,
    )
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    holdings = _holdings()
    # As the app records it: the settings, without the key field, but with the base URL.
    run_id = ledger.create_run(
        holdings=holdings,
        filename=SEED000.name,
        settings=settings.model_dump(mode="json", exclude={"api_key"}),
    )
    caplog.set_level(logging.DEBUG)
    worker._work(ledger, run_id, holdings, "Moderate risk.", None, None, settings)

    events = ledger.events(run_id)
    assert events, "the run recorded nothing"
    reasons = [
        e.event.get("reason") or e.event.get("error") or ""
        for e in events
        if e.event["type"] in ("agent_fell_back", "agent_failed")
    ]
    assert reasons and any("400" in r for r in reasons)  # the error itself is kept, redacted
    stored = json.dumps(
        {
            "events": events,
            "run": ledger.run(run_id),
            "agents": ledger.agent_results(run_id),
            "audit": audit_record(ledger, run_id),
        },
        default=str,
    )
    logs = caplog.text
    for secret in (SECRET, URL_SECRET):
        assert secret not in stored
        assert secret not in logs
    if fallback:
        assert ledger.run(run_id).status == "PENDING_REVIEW"
    ledger.close()


def test_a_hung_provider_costs_the_run_one_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with _Hang() as hang:
        settings = LLMSettings(
            provider="openai-compatible",
            base_url=hang.base_url,
            model="hangs",
            max_retries=2,
            timeout=2.0,
            first_token_timeout=2.0,
        )
        evs = list(run_crew(_holdings(), "Moderate risk.", settings=settings, as_of=AS_OF))
    fell = [e for e in evs if isinstance(e, AgentFellBack)]
    tried = [e for e in fell if not e.reason.startswith("not tried")]
    skipped = [e for e in fell if e.reason.startswith("not tried")]
    # Only the first agent waited on the server; the run said so once, and the others
    # went straight to the offline analyst.
    assert [e.agent for e in tried] == ["risk_profiler"]
    assert "later agents of this run" in tried[0].reason
    assert {e.agent for e in skipped} == {
        "market_analyst",
        "risk_assessor",
        "strategist",
        "tax_agent",
        "compliance_checker",
    }
    assert sum("later agents of this run" in e.reason for e in fell) == 1
    result = crew_result(evs)
    assert result.status == "AWAITING_ADVISOR" and result.fallback_count == 6
    finished = next(e for e in evs if isinstance(e, RunFinished))
    assert "6 of 6 agents fell back" in finished.message
    assert finished.result is not None and finished.result["fallback_count"] == 6
    # The run paid for one agent's attempts (a try and its bounded retries), never for six:
    # counted at the server, not on a clock.
    assert 1 <= len(hang.accepted) <= settings.max_retries + 1
