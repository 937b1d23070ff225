"""Order files (neutral and Wealthscape layouts) and the auditor's JSON export."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.audit import audit_record
from portfolio.broker import PaperBroker
from portfolio.ledger import execute_run
from portfolio.models import Lot, SoldLot
from portfolio.orders import (
    NEUTRAL_HEADER,
    OrderLine,
    first_lots,
    format_number,
    lines_from_run,
    lot_text,
    neutralise,
    to_csv,
)

pytest_plugins = ["pg_server"]

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("cell", HOSTILE)
def test_hostile_text_cells_are_neutralised(cell: str) -> None:
    line = OrderLine(account=cell, action="BUY", symbol=cell, quantity=1)
    for layout in ("neutral", "wealthscape"):
        rows = _rows(to_csv([line], layout))
        data = rows[-1]
        account, symbol = (data[0], data[2]) if layout == "neutral" else (data[0], data[4])
        assert account == "'" + cell and symbol == "'" + cell
        for value in data:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_ordinary_symbols_keep_their_spelling() -> None:
    assert neutralise("BRK-B") == "BRK-B"
    assert neutralise("BF.B") == "BF.B"
    text = to_csv([OrderLine("Z123", "SELL", "BRK-B", 2.5)], "neutral")
    assert _rows(text)[1] == ["Z123", "SELL", "BRK-B", "2.5", "MARKET", "", "DAY", ""]


def test_rfc4180_quoting_and_line_ends() -> None:
    line = OrderLine(account='Smith, "Joint" Acct', action="BUY", symbol="VTI", quantity=10)
    text = to_csv([line], "neutral")
    assert text.endswith("\r\n") and text.count("\r\n") == 2
    assert '"Smith, ""Joint"" Acct"' in text
    assert _rows(text)[0] == NEUTRAL_HEADER
    assert _rows(text)[1][0] == 'Smith, "Joint" Acct'


@given(st.text(min_size=0, max_size=30), st.text(min_size=1, max_size=10))
def test_any_account_text_round_trips_or_is_neutralised(account: str, symbol: str) -> None:
    rows = _rows(to_csv([OrderLine(account, "BUY", symbol, 3)], "neutral"))
    assert len(rows) == 2
    assert rows[1][0] == neutralise(account)
    assert rows[1][2] == neutralise(symbol)


def test_wealthscape_layout_has_columns_a_to_h_and_codes() -> None:
    lines = [
        OrderLine("Z123", "SELL", "AAPL", 10.12345),
        OrderLine("Z123", "BUY", "VTI", 4, order_type="LIMIT", limit_price=250.5),
    ]
    rows = _rows(to_csv(lines, "wealthscape"))
    assert rows == [
        ["Z123", "", "S", "10.123", "AAPL", "M", "D", ""],
        ["Z123", "", "B", "4", "VTI", "L", "D", "250.5"],
    ]


def test_wealthscape_uses_the_account_number_of_a_labelled_account() -> None:
    rows = _rows(to_csv([OrderLine("ROTH IRA 234567890", "BUY", "VTI", 1)], "wealthscape"))
    assert rows[0][0] == "234567890"
    neutral = _rows(to_csv([OrderLine("ROTH IRA 234567890", "BUY", "VTI", 1)], "neutral"))
    assert neutral[1][0] == "ROTH IRA 234567890"


def test_numbers_are_plain_decimals_rounded_toward_zero() -> None:
    assert format_number(1e-7) == "0"
    assert format_number(12345678.9) == "12345678.9"
    assert format_number(2.9999999, 3) == "2.999"
    assert format_number(None) == ""
    with pytest.raises(ValueError):
        format_number(-1)
    with pytest.raises(ValueError):
        to_csv([], "excel")


def test_export_takes_approved_then_executed_trades_never_vetoed(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.decide(run_id, approve=["T1", "T3"], veto=["T2"], by="ann")
    approved = lines_from_run(ledger.run(run_id))
    assert [(o.symbol, o.action, o.quantity) for o in approved] == [
        ("AAPL", "SELL", 10),
        ("BND", "BUY", 5),
    ]
    assert lines_from_run(ledger.run(run_id), "executed") == []
    execute_run(ledger, run_id, PaperBroker(slippage_bps=5))
    executed = lines_from_run(ledger.run(run_id))
    assert [o.symbol for o in executed] == ["AAPL", "BND"]
    assert "MO" not in to_csv(executed, "neutral")


def test_audit_record_holds_the_whole_run(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    ledger.record_agent_result(
        run_id,
        "compliance_checker",
        "checked 4 trades",
        {"vetoes": 1},
        "ok",
        {"seconds": 0.2},
        {"total_tokens": 42},
        "openai",
        "gpt-x",
    )
    ledger.append_event(run_id, {"type": "agent_done", "agent": "compliance_checker"})
    ledger.decide(run_id, approve=["T1", "T2", "T3"], by="ann", reason="in policy")
    execute_run(ledger, run_id, PaperBroker())
    record = json.loads(json.dumps(audit_record(ledger, run_id)))
    assert record["run"]["run_id"] == run_id and record["run"]["status"] == "PARTIALLY_EXECUTED"
    assert record["source_snapshot"]["filename"] == "acme.csv"
    assert len(record["proposal"]["trades"]) == 4
    assert record["trades"][3]["compliance"] == "VETOED"
    assert record["agents"][0]["usage"] == {"total_tokens": 42}
    assert record["events"][0]["event"]["type"] == "agent_done"
    assert [d["reason"] for d in record["decisions"]] == ["in policy"] * 3
    assert len(record["executions"]) == 6
    assert len(record["result_snapshots"]) == 1
    assert record["chain"]["ok"] is True and record["chain"]["this_run_affected"] is False


def _two_lot_run(ledger, sample_holdings, sample_proposal) -> str:
    """AAPL held in two lots; T1 sells 10 naming the older, cheaper one (not the walk's first)."""
    holdings = sample_holdings()
    old = Lot(quantity=20, cost_basis=2_000.0, acquired=date(2019, 5, 1))
    new = Lot(quantity=20, cost_basis=3_000.0, acquired=date(2024, 2, 1))
    holdings.positions[0] = holdings.positions[0].model_copy(update={"lots": [old, new]})
    proposal = sample_proposal(n_buys=1, vetoed=False)
    named = [SoldLot(acquired=date(2019, 5, 1), quantity=10, cost_basis=1_000.0)]
    proposal.trades[0] = proposal.trades[0].model_copy(update={"lots": named})
    run_id = ledger.create_run(
        holdings=holdings, source_bytes=b"x", filename="acme.csv", status="PENDING_REVIEW"
    )
    ledger.save_proposal(run_id, proposal)
    return run_id


def test_a_sale_names_its_lots_in_the_order_file_and_the_fill_relieves_them(
    ledger, sample_holdings, sample_proposal
) -> None:
    run_id = _two_lot_run(ledger, sample_holdings, sample_proposal)
    ledger.decide(run_id, approve=["T1", "T2"], by="ann")
    rows = _rows(to_csv(lines_from_run(ledger.run(run_id)), "neutral"))
    assert rows[0][-1] == "lots"
    assert rows[1][2] == "AAPL" and rows[1][-1] == "2019-05-01:10@100.0000"
    assert rows[2][-1] == ""  # a buy names no lot
    execute_run(ledger, run_id, PaperBroker())
    after = [s for s in ledger.snapshots(run_id) if s.kind == "execution"][-1]
    (aapl,) = [p for p in after.holdings["positions"] if p["symbol"] == "AAPL"]
    assert [(lt["acquired"], lt["quantity"]) for lt in aapl["lots"]] == [
        ("2019-05-01", 10),
        ("2024-02-01", 20),
    ]


def test_a_sale_cut_by_an_edit_names_the_first_of_its_lots_and_one_raised_names_none(
    ledger, sample_holdings, sample_proposal
) -> None:
    run_id = _two_lot_run(ledger, sample_holdings, sample_proposal)
    ledger.decide(run_id, quantities={"T1": 4}, by="ann")
    (line,) = [o for o in lines_from_run(ledger.run(run_id)) if o.symbol == "AAPL"]
    assert lot_text(line.lots) == "2019-05-01:4@100.0000"
    # More than it named: which further lots the custodian relieves is its own method's choice.
    ledger.decide(run_id, quantities={"T1": 12}, by="ann")
    assert ledger.run(run_id).trade("T1").lots == []


def test_a_part_fill_names_the_first_lots_as_far_as_it_goes() -> None:
    lots = [
        SoldLot(acquired=date(2019, 5, 1), quantity=10, cost_basis=1_000.0),
        SoldLot(acquired=None, quantity=5, cost_basis=None),
    ]
    assert lot_text(first_lots(lots, 12)) == "2019-05-01:10@100.0000;undated:2"
    assert lot_text(first_lots(lots, 4)) == "2019-05-01:4@100.0000"


def test_execution_carries_a_washed_loss_into_the_taxable_replacement(ledger) -> None:
    from datetime import timedelta

    from portfolio.engine import rebalance
    from portfolio.models import ClientMandate, Holdings, Position
    from portfolio.securities import load_securities

    as_of = date(2025, 6, 30)
    ref = load_securities()
    bnd, agg = ref.price("BND") or 0.0, ref.price("AGG") or 0.0
    recent = as_of - timedelta(days=5)
    holdings = Holdings(
        positions=[
            Position(
                account="Joint Taxable",
                symbol="BND",
                quantity=1_000,
                price=bnd,
                market_value=round(1_000 * bnd, 2),
                lots=[Lot(quantity=1_000, cost_basis=90_000.0, acquired=date(2022, 1, 3))],
            ),
            Position(
                account="Individual Brokerage",
                symbol="AGG",
                quantity=80,
                price=agg,
                market_value=round(80 * agg, 2),
                lots=[Lot(quantity=80, cost_basis=round(80 * agg, 2), acquired=recent)],
            ),
        ]
    )
    proposal = rebalance(holdings, ClientMandate(excluded_symbols=["BND"]), as_of=as_of)
    (sale,) = [t for t in proposal.trades if t.symbol == "BND"]
    assert sale.wash_deferred
    run_id = ledger.create_run(
        holdings=holdings, source_bytes=b"x", filename="wash.csv", status="PENDING_REVIEW"
    )
    ledger.save_proposal(run_id, proposal)
    ledger.decide(run_id, approve=[t.id for t in proposal.trades], by="ann")
    execute_run(ledger, run_id, PaperBroker())
    after = [s for s in ledger.snapshots(run_id) if s.kind == "execution"][-1]
    (kept,) = [p for p in after.holdings["positions"] if p["symbol"] == "AGG"][:1]
    (lot,) = [lt for lt in kept["lots"] if lt["quantity"] == 80]
    assert lot["cost_basis"] == pytest.approx(80 * agg + 80 * (90.0 - bnd), abs=0.02)
    (filled,) = [e for e in ledger.executions(run_id) if e.symbol == "BND" and e.status == "FILLED"]
    sold_on = date.fromisoformat(filled.at[:10])  # the fill's date, whatever the clock says
    assert lot["acquired"] == (recent - (sold_on - date(2022, 1, 3))).isoformat()
