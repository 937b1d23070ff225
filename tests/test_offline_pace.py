"""The offline analyst is paced by the time a whole answer takes, not by its length."""

from __future__ import annotations

import pytest

from agents.offline import paced_pieces
from agents.settings import load_settings

SHORT = 'Two words.\n\n```json\n{"a": 1}\n```'
LONG = " ".join(["word"] * 400) + '\n\n```json\n{"a": [1, 2, 3]}\n```'


@pytest.mark.parametrize("text", [SHORT, LONG])
def test_an_answer_takes_the_pace_whatever_its_length(text: str) -> None:
    pieces = paced_pieces(text, 0.7)
    assert "".join(p for p, _ in pieces) == text
    assert sum(w for _, w in pieces) == pytest.approx(0.7)


def test_only_the_narrative_is_paced() -> None:
    pieces = paced_pieces(LONG, 2.0)
    cut = next(i for i, (p, _) in enumerate(pieces) if "```json" in p)
    assert all(w > 0 for _, w in pieces[:cut])
    assert all(w == 0 for _, w in pieces[cut:])


def test_zero_pace_and_empty_text() -> None:
    assert all(w == 0 for _, w in paced_pieces(LONG, 0.0))
    assert paced_pieces("", 1.0) == []


def test_the_environment_sets_seconds_per_answer() -> None:
    s = load_settings(env={"REBALANCE_OFFLINE_PACE": "1.5"}, secrets_path=None)
    assert s.offline_pace == 1.5
