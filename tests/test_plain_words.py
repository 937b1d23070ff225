"""The advisor reads words, not the desk's internal names."""

from __future__ import annotations

from typing import Any

from portfolio.plain_words import check_message, rule_label, run_outcome, run_status, status_word


def trade(
    tid: str, decision: str | None, execution: str | None, compliance: str = "APPROVED"
) -> dict[str, Any]:
    return {
        "trade_id": tid,
        "compliance": compliance,
        "decision": {"decision": decision} if decision else None,
        "execution": {"status": execution} if execution else None,
    }


def test_deliberate_vetoes_read_as_a_success() -> None:
    run = {
        "status": "PARTIALLY_EXECUTED",
        "trades": [trade(f"T{i}", "APPROVE", "FILLED") for i in range(7)]
        + [trade("T8", "VETO", None), trade("T9", "VETO", None)],
    }
    assert run_outcome(run) == ("success", "Executed 7 of 9 trades; you vetoed 2.")


def test_every_trade_executed() -> None:
    run = {"status": "EXECUTED", "trades": [trade("T1", "APPROVE", "FILLED")]}
    assert run_outcome(run) == ("success", "Executed 1 of 1 trade.")


def test_an_unfilled_order_is_a_warning() -> None:
    run = {
        "status": "PARTIALLY_EXECUTED",
        "trades": [
            trade("T1", "APPROVE", "FILLED"),
            trade("T2", "APPROVE", "REJECTED"),
            trade("T3", None, None, compliance="VETOED"),
        ],
    }
    assert run_outcome(run) == (
        "warning",
        "Executed 1 of 3 trades; the compliance gate vetoed 1; 1 order was not filled.",
    )


def test_failed_and_rejected_runs() -> None:
    failed = {"status": "EXECUTION_FAILED", "trades": [trade("T1", "APPROVE", "REJECTED")]}
    tone, text = run_outcome(failed)
    assert tone == "error" and text.startswith("Executed 0 of 1 trade; 1 order was not filled.")
    vetoed = {"status": "REJECTED", "trades": [trade("T1", "VETO", None)]}
    assert run_outcome(vetoed) == ("info", "Executed 0 of 1 trade; you vetoed 1.")


def test_rule_and_status_words() -> None:
    assert rule_label("engine_note") == "Planner's note"
    assert rule_label("esg_funds") == "ESG-screened funds"
    assert rule_label("some_new_rule") == "Some new rule"
    assert [status_word(s) for s in ("pass", "warn", "fail")] == ["Met", "Note", "Not met"]
    assert run_status("PARTIALLY_EXECUTED") == "executed in part"


def test_no_tax_reason_for_keeping_unscreened_funds() -> None:
    raw = (
        "Funds without an ESG screen still held (not sold automatically, to avoid realising "
        "gains): SPY, VT"
    )
    said = check_message("esg_funds", raw)
    assert "realising gains" not in said and said.startswith(
        "Funds without an ESG screen are still held: SPY, VT."
    )
    assert check_message("cash_floor", "Cash $1 against a floor") == "Cash $1 against a floor"
