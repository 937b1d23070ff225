"""A small OpenAI-compatible chat server on 127.0.0.1 for tests and the benchmark.

It speaks the real wire protocol (`POST /v1/chat/completions`, JSON or server-sent events with
chunked transfer encoding, usage in a final chunk when `stream_options.include_usage`), answers
like a model by running the offline analyst on the prompt it receives, and injects faults chosen
by the requested model name:

    stub                 normal answers
    stub-429-once        the first request gets 429, later ones succeed
    stub-500             every request gets 500
    stub-malformed-once  the first answer's JSON block is broken; the repair request succeeds
    stub-malformed       every JSON block is broken
    stub-cut             the stream stops midway (no terminating chunk, no [DONE])
    stub-slow            the first token waits `slow_first_token` seconds, or until the server
                         closes
    stub-hold            sends the first half of its narrative, then waits for `release()`
                         (with `hold=True`, every model does; an answer without narrative,
                         only JSON, is never held)
    stub-step-<name>     each chunk of the narrative waits for `step(model)` from the test, so a
                         test decides the order in which concurrent streams produce their words
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.offline import OfflineAnalyst, _pieces
from agents.usage import estimate_tokens


def _to_messages(raw: list[dict[str, Any]]) -> list[BaseMessage]:
    kinds = {
        "system": SystemMessage,
        "user": HumanMessage,
        "assistant": AIMessage,
        "developer": SystemMessage,
    }
    out = []
    for m in raw:
        content = m.get("content") or ""
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        out.append(kinds.get(m.get("role", "user"), HumanMessage)(content=content))
    return out


def _break_json(text: str) -> str:
    """Make the JSON block unparseable, as a sloppy model might."""
    return re.sub(r"\}\s*\n```", ",,\n```", text, count=1) if "```json" in text else text + "{"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer is part of the faults under test; no tracebacks."""


class StubOpenAI:
    def __init__(
        self,
        token_delay: float = 0.0,
        slow_first_token: float = 3.0,
        step_patience: float = 60.0,
        hold: bool = False,
    ) -> None:
        self.hold = hold
        self.token_delay = token_delay
        self.slow_first_token = slow_first_token
        self.step_patience = step_patience
        self._steps: dict[str, threading.Semaphore] = {}
        self._remaining: dict[str, int] = {}
        self.stepped: dict[str, int] = {}  # model -> narrative chunks it gated
        self._closing = threading.Event()
        self._holds = threading.Semaphore(0)
        self._held = threading.Condition()
        self.holding = 0  # streams waiting for `release()` right now
        self.held = 0  # streams ever held
        self.requests: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._analyst = OfflineAnalyst()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> StubOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def _step_gate(self, model: str) -> threading.Semaphore:
        with self._lock:
            return self._steps.setdefault(model, threading.Semaphore(0))

    def step(self, model: str) -> None:
        """Let one more narrative chunk of a `stub-step-*` stream go out."""
        self._step_gate(model).release()

    def remaining(self, model: str) -> int | None:
        """Narrative chunks of `model`'s stream not yet sent; None before its request arrives."""
        with self._lock:
            return self._remaining.get(model)

    def release(self, n: int = 1) -> None:
        """Let `n` held `stub-hold` streams finish."""
        self._holds.release(n)

    def wait_held(self, n: int, total: int | None = None, timeout: float = 120.0) -> None:
        """Until `n` streams are held at once (the crew's concurrency, seen from the server)
        and, when given, `total` streams have been held since the server started."""

        def reached() -> bool:
            return self.holding >= n and (total is None or self.held >= total)

        with self._held:
            if not self._held.wait_for(reached, timeout):
                raise TimeoutError(f"{self.holding} streams held of {self.held}, never {n}")

    def _hold(self) -> None:
        with self._held:
            self.holding += 1
            self.held += 1
            self._held.notify_all()
        try:  # until the test releases it or the server closes, however slow the test is
            while not self._holds.acquire(timeout=0.5) and not self._closing.is_set():
                pass
        finally:
            with self._held:
                self.holding -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(data)

            def _chunk(self, payload: dict[str, Any] | str) -> None:
                line = payload if isinstance(payload, str) else json.dumps(payload)
                data = f"data: {line}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def do_POST(self) -> None:
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                model = str(body.get("model", "stub"))
                with stub._lock:
                    stub.counts[model] += 1
                    n = stub.counts[model]
                    stub.requests.append(
                        {
                            "model": model,
                            "stream": bool(body.get("stream")),
                            "stream_options": body.get("stream_options"),
                            "auth": self.headers.get("Authorization", ""),
                        }
                    )
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(body, model, n)

            def _answer(self, body: dict[str, Any], model: str, n: int) -> None:
                if model == "stub-429-once" and n == 1:
                    self._json(
                        429, {"error": {"message": "Rate limit reached", "type": "rate_limit"}}
                    )
                    return
                if model == "stub-500":
                    self._json(
                        500, {"error": {"message": "upstream exploded", "type": "server_error"}}
                    )
                    return
                messages = _to_messages(body.get("messages", []))
                text = stub._analyst.compose(messages)
                repair = "did not validate" in str(messages[-1].content)
                if model == "stub-malformed" or (model == "stub-malformed-once" and not repair):
                    text = _break_json(text)
                prompt_tokens = estimate_tokens("".join(str(m.content) for m in messages))
                pieces = _pieces(text)
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(pieces),
                    "total_tokens": prompt_tokens + len(pieces),
                }
                base = {"id": f"chatcmpl-{n}", "created": int(time.time()), "model": model}
                if not body.get("stream"):
                    self._json(
                        200,
                        {
                            **base,
                            "object": "chat.completion",
                            "usage": usage,
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text},
                                }
                            ],
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = {**base, "object": "chat.completion.chunk"}
                self._chunk(
                    {
                        **chunk,
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"role": "assistant", "content": ""},
                                "finish_reason": None,
                            }
                        ],
                    }
                )
                if model == "stub-slow":
                    stub._closing.wait(stub.slow_first_token)
                # A stepped stream gates its narrative, up to the answer's JSON fence.
                gated = len(pieces) * model.startswith("stub-step")
                if gated:
                    gated = next((i for i, p in enumerate(pieces) if "```" in p), len(pieces))
                    with stub._lock:
                        stub._remaining[model] = stub.stepped[model] = gated
                narrative = next((i for i, p in enumerate(pieces) if "```" in p), len(pieces))
                held = (stub.hold or model == "stub-hold") and narrative > 1
                hold_at = narrative // 2 if held else -1
                for i, piece in enumerate(pieces):
                    if i == hold_at:
                        stub._hold()
                    if i < gated:
                        if not stub._step_gate(model).acquire(timeout=stub.step_patience):
                            gated = 0  # the test stopped stepping: send the rest, let it fail
                        with stub._lock:
                            stub._remaining[model] = max(gated - i - 1, 0)
                    if model == "stub-cut" and i == len(pieces) // 2:
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if stub.token_delay:
                        time.sleep(stub.token_delay)
                    self._chunk(
                        {
                            **chunk,
                            "choices": [
                                {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                            ],
                        }
                    )
                self._chunk(
                    {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                )
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._chunk({**chunk, "choices": [], "usage": usage})
                self._chunk("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        return Handler
