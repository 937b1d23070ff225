"""The strategist's words quote the final plan, the one the ticket shows, not the engine's plan
before the tilts; and its rationale says why without repeating the narrative."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from conftest import SAMPLES

from agents.pipeline import crew_result, run_crew
from agents.schemas import CrewResult
from agents.settings import LLMSettings
from portfolio.engine import rebalance
from portfolio.importers import read_holdings
from portfolio.models import Holdings
from portfolio.securities import load_securities

# "sells $286,596 (VT 2,023, NVDA 95 and 2 more)": one side of the plan, its names and quantities.
SIDE = re.compile(r"\b(sells|buys) \$[\d,]+ \(([^)]*)\)")
NAME_QTY = re.compile(r"([A-Z][A-Z0-9.\-]*) ([\d,]+(?:\.\d+)?)")


def quoted(text: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for side, body in SIDE.findall(text):
        action = "SELL" if side == "sells" else "BUY"
        for sym, q in NAME_QTY.findall(body):
            out[(action, sym)] = float(q.replace(",", ""))
    return out


def table(result: CrewResult) -> dict[tuple[str, str], float]:
    assert result.execution_plan is not None
    out: dict[tuple[str, str], float] = defaultdict(float)
    for t in result.execution_plan.trades:
        out[(t.action, t.symbol)] += t.quantity
    return dict(out)


def _seed() -> Holdings:
    path = SAMPLES / "seed001_esg_moderate.csv"
    return read_holdings(path.read_bytes(), filename=path.name, securities=load_securities())


def crew(sample: str, notes: str) -> CrewResult:
    path = SAMPLES / sample
    h = read_holdings(path.read_bytes(), filename=path.name, securities=load_securities())
    text = (SAMPLES / notes).read_text(encoding="utf-8")
    return crew_result(run_crew(h, text, settings=LLMSettings(offline_pace=0.0)))


@pytest.fixture(scope="module")
def tilted() -> CrewResult:
    return crew("seed001_esg_moderate.csv", "seed001_notes.txt")


def test_the_quantities_in_the_text_are_the_tables(tilted: CrewResult) -> None:
    text = tilted.narratives["strategist"]
    said, shown = quoted(text), table(tilted)
    assert said, text
    # Every name quoted carries the table's quantity, and every traded name is quoted (the
    # seed client has fewer names per side than the text lists).
    assert said == pytest.approx(shown)


def test_the_tilts_changed_the_quantities_the_text_quotes(tilted: CrewResult) -> None:
    """The case that went wrong: the text must not quote the pre-tilt plan."""
    assert tilted.proposal is not None and tilted.proposal.tilts, "the seed client is tilted"
    assert tilted.mandate is not None
    baseline = rebalance(_seed(), tilted.mandate, securities=load_securities())
    before: dict[tuple[str, str], float] = defaultdict(float)
    for t in baseline.trades:
        before[(t.action, t.symbol)] += t.quantity
    said = quoted(tilted.narratives["strategist"])
    assert any(before.get(k) != q for k, q in said.items()), "tilts left every quantity as it was"
    assert "tilt" in tilted.narratives["strategist"]


def test_the_rationale_does_not_repeat_the_text(tilted: CrewResult) -> None:
    assert tilted.execution_plan is not None
    rationale = tilted.execution_plan.rationale
    text = tilted.narratives["strategist"]
    assert rationale and rationale not in text
    sentences = {s.strip() for s in re.split(r"(?<=\.)\s+", text) if s.strip()}
    assert not any(s in rationale for s in sentences)


def test_an_untilted_plan_is_quoted_too() -> None:
    result = crew("seed000_four_tech.csv", "seed000_notes.txt")
    assert quoted(result.narratives["strategist"]) == pytest.approx(table(result))


def _with_requests(*requests: object) -> CrewResult:
    text = (SAMPLES / "seed001_notes.txt").read_text(encoding="utf-8")
    return crew_result(
        run_crew(
            _seed(),
            text,
            settings=LLMSettings(offline_pace=0.0),
            cash_requests=list(requests),  # type: ignore[arg-type]
        )
    )


def test_the_plan_tells_the_clients_withdrawal_and_what_cash_is_left() -> None:
    from portfolio.cash_requests import make_request

    result = _with_requests(make_request("Account", 120_000, "withdrawal", "a distribution"))
    plan = result.execution_plan
    assert plan is not None
    text = result.narratives["strategist"]
    # The engine's own sentence for the request, and the cash it leaves after paying it out.
    assert "The client asked: Withdrawal of $120,000.00 from Account: met" in text
    assert plan.cash_paid_out == 120_000
    kept = plan.cash_after - plan.cash_paid_out
    assert f"of which $120,000 is paid out to the client, leaving ${kept:,.0f}" in text
    assert kept >= 0


def test_a_request_the_account_cannot_meet_is_told_short() -> None:
    from portfolio.cash_requests import make_request
    from tests.test_engine_cash_requests import mostly_untradeable

    # Most of the account is a bond the desk cannot trade: the larger withdrawal stays short.
    book = Holdings(positions=mostly_untradeable())
    requests = [
        make_request("Trust", 2_000, "withdrawal", "a gift"),
        make_request("Trust", 60_000, "withdrawal"),
    ]
    result = crew_result(
        run_crew(
            book,
            "Moderate client, 60 years old.",
            settings=LLMSettings(offline_pace=0.0),
            cash_requests=requests,
        )
    )
    plan = result.execution_plan
    assert plan is not None
    text = result.narratives["strategist"]
    assert "The client asked for money to move: Withdrawal of $2,000.00 from Trust: met" in text
    assert "Withdrawal of $60,000.00 from Trust: not met" in text
    # Only what is met is paid out, and the words say what cash is left after it.
    assert plan.cash_paid_out == 2_000
    assert "of which $2,000 is paid out to the client" in text
