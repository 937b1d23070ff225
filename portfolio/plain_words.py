"""Words an advisor reads for the desk's internal names: check rules, check states, a run's outcome.

Rule ids (`engine_note`, `esg_funds`) stay in the record and the audit file; screens and documents
show these words instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from portfolio.ledger.read_models import RunRecord

RULE_LABELS: dict[str, str] = {
    "engine_note": "Planner's note",
    "esg_funds": "ESG-screened funds",
    "esg_fund": "ESG-only mandate",
    "single_name_cap": "Single-name cap",
    "cash_floor": "Cash floor",
    "suitability": "Suitability",
    "income": "Income need",
    "exclusion": "Exclusions",
    "no_shorts": "No short sales",
    "price_sanity": "Price check",
    "unknown_security": "Known security",
    "unknown_account": "Known account",
    "whole_shares": "Whole shares",
    "min_trade": "Minimum trade",
    "cash_request": "Cash request",
}
STATUS_WORDS: dict[str, str] = {"pass": "Met", "warn": "Note", "fail": "Not met"}


def rule_label(rule: str) -> str:
    return RULE_LABELS.get(rule, rule.replace("_", " ").capitalize())


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status.capitalize())


def check_message(rule: str, message: str) -> str:
    """A check's message as the advisor reads it.

    The ESG-funds check gives a tax reason for keeping unscreened funds, which is not the
    engine's reason (it keeps them unless their class must shrink, cost basis known or not), so
    the message says what the engine does.
    """
    if rule == "esg_funds" and "still held" in message and ": " in message:
        held = message.rsplit(": ", 1)[-1]
        return (
            f"Funds without an ESG screen are still held: {held}. The plan sells them only "
            "when their asset class must shrink."
        )
    return message


Tone = Literal["success", "info", "warning", "error"]

RUN_STATUS_WORDS: dict[str, str] = {
    "RUNNING": "the crew is working",
    "FAILED": "the crew failed",
    "PENDING_REVIEW": "awaiting your review",
    "APPROVED": "decided, not yet executed",
    "EXECUTING": "orders out",
    "EXECUTED": "executed",
    "PARTIALLY_EXECUTED": "executed in part",
    "REJECTED": "nothing approved",
    "EXECUTION_FAILED": "execution failed",
}


def run_status(status: str | None) -> str:
    s = str(status or "")
    return RUN_STATUS_WORDS.get(s, s.replace("_", " ").lower())


def run_outcome(run: RunRecord) -> tuple[Tone, str]:
    """What happened to a run's trades, in a sentence: "Executed 7 of 9 trades; you vetoed 2.".

    Deliberate vetoes are the advisor's choice, not a problem, so a run whose only missing
    trades were vetoed reads as a success; orders the broker did not fill are a warning.
    """
    trades = run.trades
    n = len(trades)
    filled = sum(t.filled for t in trades)
    sent = [t for t in trades if t.execution]
    not_filled = len(sent) - filled
    vetoed = sum(t.decided == "VETO" for t in trades)
    gate = sum(t.compliance == "VETOED" for t in trades)
    status = run.status
    if status == "EXECUTING":
        return "info", f"Sending {len(sent) or 'the approved'} orders to the broker."
    if not sent and status not in ("REJECTED", "EXECUTION_FAILED"):
        return "info", ""
    parts = [f"Executed {filled} of {n} trade{'s' if n != 1 else ''}"]
    if vetoed:
        parts.append(f"you vetoed {vetoed}")
    if gate:
        parts.append(f"the compliance gate vetoed {gate}")
    if not_filled:
        parts.append(f"{not_filled} order{'s were' if not_filled != 1 else ' was'} not filled")
    text = "; ".join(parts) + "."
    if status == "EXECUTION_FAILED":
        return "error", text + " The broker could not complete the execution."
    if not_filled:
        return "warning", text
    return ("info" if not filled else "success"), text
