"""Model text as text: no live link, image or autolink survives Markdown rendering.

A narrative from an online model may have been steered by hostile data (a security name, a note)
into writing `![](https://evil.example/pixel)` or `[Log in](https://phish.example)`. Rendered as
Markdown, the first makes the advisor's browser fetch a URL and the second shows a phishing link
(OWASP LLM05, improper output handling). Escaping what opens a link, an image, an autolink or
inline HTML leaves the words readable and inert. The offline analyst's own text is trusted.
"""

from __future__ import annotations

import re
from typing import Any

_OPENERS = re.compile(r"([\\\[\]<>])")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"(?i)\bwww\.")


def inert_markdown(text: str) -> str:
    """Escape brackets and angle brackets, and break URL schemes and `www.` so nothing links."""
    out = _OPENERS.sub(r"\\\1", text)
    out = _SCHEME.sub(lambda m: f"{m.group(1)}\\:", out)
    return _WWW.sub("www\\.", out)


def inert_data(data: Any) -> Any:
    """The same for every string in a model's JSON answer that a page may render."""
    if isinstance(data, str):
        return inert_markdown(data)
    if isinstance(data, dict):
        return {k: inert_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [inert_data(v) for v in data]
    return data
