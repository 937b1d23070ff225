"""An online model's words reach the page inert: no live links, images or autolinks."""

from __future__ import annotations

import re
from typing import Any

from agents.events import AgentFinished, AgentStarted, Token
from agents.inert_text import inert_markdown
from portfolio.ledger.read_models import EventRecord
from ui.run_view import fold, new_view

HOSTILE = (
    "Rates are flat. ![](https://evil.example/pixel.png) "
    "[Verify your account](https://phish.example/login) <https://auto.example> www.bare.example"
)


def _base(seq: int) -> dict[str, Any]:
    return {"run_id": "r", "seq": seq, "t": 0.1 * seq, "agent": "market_analyst"}


def _rows(*events: Any) -> list[EventRecord]:
    return [EventRecord(seq=e.seq, event=e.model_dump(mode="json"), at=None) for e in events]


def _live(text: str) -> list[str]:
    """What Markdown would turn into a link, image or autolink (unescaped openers, schemes)."""
    found = []
    for i, ch in enumerate(text):
        if ch in "[<" and (i == 0 or text[i - 1] != "\\"):
            found.append(text[i : i + 20])
    found += re.findall(r"\w+(?<!\\)://\S{0,10}|www\.\S{0,10}", text)
    return found


def test_inert_markdown_leaves_words_and_kills_links() -> None:
    assert len(_live(HOSTILE)) >= 5  # the checker sees every live construct of the raw text
    out = inert_markdown(HOSTILE)
    assert _live(out) == []
    assert "Rates are flat." in out and "Verify your account" in out
    assert inert_markdown("Equities 60% (target 55%), cash $1,200.") == (
        "Equities 60% (target 55%), cash $1,200."
    )


def _run(provider: str) -> Any:
    half = len(HOSTILE) // 2  # a link split across tokens is caught too
    return fold(
        new_view(),
        _rows(
            AgentStarted(**_base(1), title="Market", provider=provider, model="m"),
            Token(**_base(2), text=HOSTILE[:half]),
            Token(**_base(3), text=HOSTILE[half:]),
        ),
    )


def test_an_online_models_stream_and_answer_are_inert() -> None:
    view = _run("openai")
    p = view.panels["market_analyst"]
    assert _live(p.text) == [] and p.raw == HOSTILE
    fold(
        view,
        _rows(
            AgentFinished(
                **_base(4),
                result={"market_conditions": HOSTILE, "regime": "neutral"},
                narrative=HOSTILE,
                source="model",
            )
        ),
    )
    assert _live(p.text) == []
    assert _live(p.result["market_conditions"]) == [] and p.result["regime"] == "neutral"


def test_the_offline_analysts_own_formatting_stays() -> None:
    p = _run("offline").panels["market_analyst"]
    assert p.text == HOSTILE
