"""Quantity edits on the ticket, on SQLite and PostgreSQL: an edit passes the compliance gate again,
is chained as a decision carrying the new quantity, and is what executes; an edit the gate refuses
records nothing; a quantity changed in the tables behind the chain is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from portfolio.broker import PaperBroker
from portfolio.engine import rebalance
from portfolio.ledger import ConflictError, TamperedError, execute_run
from portfolio.models import ClientMandate
from portfolio.orders import lines_from_run

pytest_plugins = ["pg_server"]


def _engine_run(ledger, sample_holdings) -> str:  # type: ignore[no-untyped-def]
    """T1 sells AAPL (40 held); the others buy funds with the proceeds and the cash."""
    holdings = sample_holdings()
    proposal = rebalance(holdings, ClientMandate(cash_floor=0.02))
    assert [t.symbol for t in proposal.trades][:3] == ["AAPL", "VB", "VEA"]
    run_id = ledger.create_run(
        holdings=holdings,
        source_bytes=b"Account,Symbol\nZ123,AAPL\n",
        filename="acme.csv",
        status="PENDING_REVIEW",
    )
    ledger.save_proposal(run_id, proposal)
    return run_id


def _trade(ledger, run_id: str, tid: str) -> dict:  # type: ignore[no-untyped-def]
    return next(t for t in ledger.run(run_id).trades if t.trade_id == tid)


def test_an_edited_quantity_is_chained_and_is_what_executes(ledger, sample_holdings) -> None:
    run_id = _engine_run(ledger, sample_holdings)
    proposed, sold = (
        _trade(ledger, run_id, "T3").quantity,
        _trade(ledger, run_id, "T1").quantity,
    )
    assert proposed > 20
    written = ledger.decide(run_id, quantities={"T3": 20}, by="ann")
    assert [(d.trade_id, d.decision, d.quantity) for d in written] == [("T3", "APPROVE", 20.0)]
    t3 = _trade(ledger, run_id, "T3")
    assert (t3.quantity, t3.proposed_quantity, t3.edited) == (20.0, proposed, True)
    assert t3.value == pytest.approx(20 * 56.97)
    others = [f"T{i}" for i in range(1, 9) if i != 3]
    ledger.decide(run_id, approve=others, by="ann")
    # A plain approval later keeps the edit: the latest decision carrying a quantity rules.
    ledger.decide(run_id, approve=["T3"], by="ann")
    approved = {line.symbol: line.quantity for line in lines_from_run(ledger.run(run_id))}
    assert approved["VEA"] == 20.0

    report = execute_run(ledger, run_id, PaperBroker())
    fills = {e.trade_id: e.quantity for e in report.executions if e.stage == "result"}
    assert fills["T3"] == 20.0 and fills["T1"] == sold
    assert report.status == "EXECUTED"
    assert ledger.verify().ok


def test_an_edit_can_shrink_a_sell_but_not_sell_more_than_is_held(ledger, sample_holdings) -> None:
    run_id = _engine_run(ledger, sample_holdings)
    with pytest.raises(ConflictError, match=r"T1 sell 41 AAPL: sells 41 but only 40 held"):
        ledger.decide(run_id, quantities={"T1": 41}, by="ann")
    assert ledger.decisions(run_id) == []
    # Every buy needs the whole sale's cash (the plan leaves little above the floor): with the
    # last buy dropped, a smaller sale still funds the rest.
    ledger.decide(run_id, veto=["T8"], by="ann")
    ledger.decide(run_id, quantities={"T1": 30}, by="ann")
    assert _trade(ledger, run_id, "T1").quantity == 30.0


def test_an_edit_that_breaks_the_cash_floor_says_why_and_records_nothing(
    ledger, sample_holdings
) -> None:
    run_id = _engine_run(ledger, sample_holdings)
    with pytest.raises(ConflictError, match=r"T5 buy 200 BND: needs \$14,638.00.*floor"):
        ledger.decide(run_id, quantities={"T5": 200}, by="ann")
    assert ledger.decisions(run_id) == []
    assert ledger.run(run_id).status == "PENDING_REVIEW"


def test_a_smaller_sell_that_leaves_a_buy_without_cash_is_refused(ledger, sample_holdings) -> None:
    run_id = _engine_run(ledger, sample_holdings)
    # Selling 1 AAPL instead of 22 leaves the buys $4,200 short.
    with pytest.raises(ConflictError, match=r"the compliance gate refuses the edit \(.*buy"):
        ledger.decide(run_id, quantities={"T1": 1}, by="ann")
    assert ledger.decisions(run_id) == []


@pytest.mark.parametrize(
    ("quantity", "words"),
    [(0, "above zero; to drop a trade, veto it"), (-5, "above zero"), ("many", "not a number")],
)
def test_a_quantity_that_is_not_a_quantity_is_refused(
    ledger, sample_holdings, quantity: object, words: str
) -> None:
    run_id = _engine_run(ledger, sample_holdings)
    with pytest.raises(ConflictError, match=words):
        ledger.decide(run_id, quantities={"T3": quantity}, by="ann")  # type: ignore[dict-item]
    assert ledger.decisions(run_id) == []


def test_a_compliance_veto_cannot_be_edited_into_an_approval(ledger, saved_run) -> None:
    run_id = saved_run(ledger)
    with pytest.raises(ConflictError, match="T4 was vetoed by compliance"):
        ledger.decide(run_id, quantities={"T4": 1}, by="ann")
    assert ledger.decisions(run_id) == []


def test_an_edit_and_a_veto_of_the_same_trade_conflict(ledger, sample_holdings) -> None:
    run_id = _engine_run(ledger, sample_holdings)
    with pytest.raises(ConflictError, match="both approved and vetoed"):
        ledger.decide(run_id, veto=["T3"], quantities={"T3": 10}, by="ann")


def _sql(ledger, statement: str, **params) -> None:  # type: ignore[no-untyped-def]
    with ledger.engine.begin() as conn:
        conn.execute(text(statement), params)


def _edited_and_approved(ledger, sample_holdings) -> str:  # type: ignore[no-untyped-def]
    run_id = _engine_run(ledger, sample_holdings)
    ledger.decide(run_id, quantities={"T3": 20}, by="ann")
    ledger.decide(run_id, approve=[f"T{i}" for i in range(1, 9) if i != 3], by="ann")
    return run_id


def test_a_decision_quantity_changed_in_the_table_is_refused(ledger, sample_holdings) -> None:
    run_id = _edited_and_approved(ledger, sample_holdings)
    _sql(
        ledger,
        "UPDATE decisions SET quantity = 30 WHERE run_id = :r AND trade_id = 'T3'",
        r=run_id,
    )
    with pytest.raises(TamperedError, match="decisions chain is broken"):
        execute_run(ledger, run_id, PaperBroker())
    assert ledger.executions(run_id) == []
    assert ledger.verify().first_broken["journal"] == "decisions"


def test_a_quantity_slipped_onto_a_plain_approval_is_refused(ledger, sample_holdings) -> None:
    run_id = _edited_and_approved(ledger, sample_holdings)
    _sql(
        ledger,
        "UPDATE decisions SET quantity = 40 WHERE run_id = :r AND trade_id = 'T5'",
        r=run_id,
    )
    with pytest.raises(TamperedError, match="decisions chain is broken"):
        execute_run(ledger, run_id, PaperBroker())
    assert ledger.executions(run_id) == []


def test_the_trades_table_set_to_the_edited_quantity_is_still_refused(
    ledger, sample_holdings
) -> None:
    run_id = _edited_and_approved(ledger, sample_holdings)
    _sql(ledger, "UPDATE trades SET quantity = 20 WHERE run_id = :r AND trade_id = 'T3'", r=run_id)
    with pytest.raises(TamperedError, match=r"trade T3 quantity is 20\.0 in the trades table"):
        execute_run(ledger, run_id, PaperBroker())
    assert ledger.executions(run_id) == []


def test_an_edit_in_a_batch_with_plain_approvals_is_stored_as_chained(
    ledger, sample_holdings
) -> None:
    run_id = _engine_run(ledger, sample_holdings)
    ledger.decide(run_id, approve=["T1", "T2"], quantities={"T3": 20}, by="ann")
    assert {d.trade_id: d.quantity for d in ledger.decisions(run_id)} == {
        "T1": None,
        "T2": None,
        "T3": 20.0,
    }
    assert _trade(ledger, run_id, "T3").quantity == 20.0
    assert ledger.verify().ok


def test_an_edited_sale_relieves_the_first_lots_it_named(ledger) -> None:  # type: ignore[no-untyped-def]
    # VWO far above target in a taxable account: the sale names the loss lot, then the gain
    # lot. Cut to 150 units, it takes the loss lot's 100 and 50 of the gain lot: the lots the
    # ticket counted and the order file names, and what the holdings after execution keep.
    from datetime import date

    from portfolio.models import Holdings, Lot
    from portfolio.securities import load_securities
    from tests.book_samples import cash, position

    vwo = load_securities().price("VWO") or 50.0
    lots = [
        Lot(quantity=400, cost_basis=round(400 * vwo * 0.5, 2), acquired=date(2019, 3, 1)),
        Lot(quantity=100, cost_basis=round(100 * vwo * 1.2, 2), acquired=date(2021, 3, 1)),
    ]
    holdings = Holdings(
        positions=[position("Joint Taxable", "VWO", 500, vwo, lots), cash("Joint Taxable", 500.0)]
    )
    proposal = rebalance(holdings, ClientMandate(), as_of=date(2025, 6, 30))
    (sale,) = [t for t in proposal.trades if t.action == "SELL"]
    assert sale.symbol == "VWO" and sale.quantity > 150
    assert [lt.quantity for lt in sale.lots][:1] == [100]
    run_id = ledger.create_run(
        holdings=holdings, source_bytes=b"x", filename="vwo.csv", status="PENDING_REVIEW"
    )
    ledger.save_proposal(run_id, proposal)
    ledger.decide(run_id, veto=[t.id for t in proposal.trades if t.id != sale.id], by="ann")
    ledger.decide(run_id, quantities={sale.id: 150}, by="ann")
    (line,) = lines_from_run(ledger.run(run_id))
    assert [(lt.acquired, lt.quantity) for lt in line.lots] == [
        (date(2021, 3, 1), 100),
        (date(2019, 3, 1), 50),
    ]
    report = execute_run(ledger, run_id, PaperBroker())
    after = ledger.holdings(report.snapshot_id)
    (left,) = [p for p in after.positions if p.symbol == "VWO"]
    assert [(lt.acquired, lt.quantity) for lt in left.lots] == [(date(2019, 3, 1), 350)]
