"""Secrets out of every text that is stored, logged or shown.

A model server's error may echo the request (its `Authorization` header), a base URL may carry
credentials, and an exception may quote a key. Whatever error text reaches the run's events, the
ledger, the audit export, the logs or the page passes through `redact` first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer abc / 'authorization': 'Basic abc' (headers echoed in any quoting)
    (
        re.compile(
            r"(?i)([\"']?(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
            r"(?:(bearer|basic|token)\s+)?[^\s\"',;}]+"
        ),
        lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}{MASK}",  # type: ignore[list-item]
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # api-key / x-api-key / access_token headers and fields (Azure sends `api-key`)
    (
        re.compile(
            r"(?i)([\"']?\b(?:x-)?(?:api[-_]?key|access[-_]?token|client[-_]?secret)[\"']?"
            r"\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
        ),
        rf"\1{MASK}",
    ),
    # key=..., token=..., sig=... in a URL's query
    (re.compile(r"(?i)([?&](?:key|token|sig|password|secret|code)=)[^&\s\"']+"), rf"\1{MASK}"),
    # OpenAI-style keys, wherever they appear
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), f"sk-{MASK}"),
    # Azure OpenAI keys: 32 hexadecimal characters, or the newer 84-character base62 keys
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])"), MASK),
    (re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{84}(?![0-9A-Za-z])"), MASK),
    # credentials in a URL: scheme://user:password@host or scheme://token@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@"), rf"\1{MASK}@"),
]


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with known `secrets` and anything shaped like a credential replaced by ***."""
    out = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)  # type: ignore[arg-type]
    return out


def redact_data(data: Any, secrets: Iterable[str | None] = ()) -> Any:
    """The same for every string inside JSON-like data (events, records)."""
    keep = tuple(secrets)
    if isinstance(data, str):
        return redact(data, keep)
    if isinstance(data, dict):
        return {k: redact_data(v, keep) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v, keep) for v in data]
    return data


def safe_url(url: str | None) -> str | None:
    """A URL fit to show: no user, password or key in it."""
    return None if url is None else redact(url)


def install_log_redaction() -> None:
    """Redact every log record as it is made, whichever library logs it (an HTTP client logs
    request URLs, which may carry credentials), tracebacks included. Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
