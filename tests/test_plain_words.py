"""The advisor reads words, not the desk's internal names."""

from __future__ import annotations

from portfolio.ledger.read_models import DecisionRecord, ExecutionRecord, RunRecord, TradeRecord
from portfolio.plain_words import check_message, rule_label, run_outcome, run_status, status_word


def trade(
    tid: str, decision: str | None, execution: str | None, compliance: str = "APPROVED"
) -> TradeRecord:
    line = {"trade_id": tid, "account": "A1", "symbol": "VTI", "action": "BUY"}
    return TradeRecord(
        id=f"r1-{tid}",
        **line,
        quantity=1.0,
        proposed_quantity=1.0,
        edited=False,
        price=100.0,
        value=100.0,
        order_type="MARKET",
        limit_price=None,
        compliance=compliance,
        rules=[],
        reasons=[],
        decision=DecisionRecord(
            seq=1,
            run_id="r1",
            trade_id=tid,
            decision=decision,
            by="ann",
            reason=None,
            quantity=None,
            at="2026-01-02T10:00:00+00:00",
            hash="h",
            prev_hash="p",
        )
        if decision
        else None,
        execution=ExecutionRecord(
            seq=1,
            client_order_id=f"r1-{tid}",
            **line,
            stage="result",
            status=execution,
            quantity=1.0,
            price=100.0,
            commission=0.0,
            broker="paper",
            broker_order_id=None,
            detail=None,
            at="2026-01-02T10:00:00+00:00",
            executed_by=None,
            hash="h",
            prev_hash="p",
        )
        if execution
        else None,
    )


def record(status: str, trades: list[TradeRecord]) -> RunRecord:
    return RunRecord(
        run_id="r1",
        status=status,
        owner=None,
        created_at=None,
        updated_at=None,
        client=None,
        snapshot=None,
        mandate=None,
        model_portfolio=None,
        settings={},
        agents={},
        prompt_version=None,
        error=None,
        trades=trades,
    )


def test_deliberate_vetoes_read_as_a_success() -> None:
    run = record(
        "PARTIALLY_EXECUTED",
        [trade(f"T{i}", "APPROVE", "FILLED") for i in range(7)]
        + [trade("T8", "VETO", None), trade("T9", "VETO", None)],
    )
    assert run_outcome(run) == ("success", "Executed 7 of 9 trades; you vetoed 2.")


def test_every_trade_executed() -> None:
    run = record("EXECUTED", [trade("T1", "APPROVE", "FILLED")])
    assert run_outcome(run) == ("success", "Executed 1 of 1 trade.")


def test_an_unfilled_order_is_a_warning() -> None:
    run = record(
        "PARTIALLY_EXECUTED",
        [
            trade("T1", "APPROVE", "FILLED"),
            trade("T2", "APPROVE", "REJECTED"),
            trade("T3", None, None, compliance="VETOED"),
        ],
    )
    assert run_outcome(run) == (
        "warning",
        "Executed 1 of 3 trades; the compliance gate vetoed 1; 1 order was not filled.",
    )


def test_failed_and_rejected_runs() -> None:
    failed = record("EXECUTION_FAILED", [trade("T1", "APPROVE", "REJECTED")])
    tone, text = run_outcome(failed)
    assert tone == "error" and text.startswith("Executed 0 of 1 trade; 1 order was not filled.")
    vetoed = record("REJECTED", [trade("T1", "VETO", None)])
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
