"""The ticket's downloads hold exactly what will be executed, or what was."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLES

from portfolio.engine import rebalance
from portfolio.importers import read_holdings
from portfolio.ledger import Ledger, execute_run, open_ledger, paper_broker
from portfolio.models import ClientMandate, RebalanceProposal
from portfolio.securities import load_securities
from portfolio.ticket_orders import order_set

SEC = load_securities()


@pytest.fixture
def ledger(tmp_path: Path):  # type: ignore[no-untyped-def]
    led = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield led
    led.close()


@pytest.fixture
def proposal() -> RebalanceProposal:
    path = SAMPLES / "seed001_esg_moderate.csv"
    h = read_holdings(path.read_bytes(), filename=path.name, securities=SEC)
    mandate = ClientMandate(risk_profile="moderate", esg_only=True, single_name_cap=0.05)
    return rebalance(h, mandate, securities=SEC)


def saved(ledger: Ledger, proposal: RebalanceProposal) -> str:
    rid = ledger.create_run(client="Order set client", mandate=proposal.mandate)
    ledger.save_proposal(rid, proposal)
    ledger.refresh_status(rid)
    return rid


def test_nothing_approved_nothing_offered(ledger: Ledger, proposal: RebalanceProposal) -> None:
    rid = saved(ledger, proposal)
    offer = order_set(ledger.run(rid), proposal, SEC)
    assert offer.lines == [] and not offer.executed
    assert offer.reason == "Approve trades to download their orders."


def test_the_approved_funded_set_and_then_the_fills(
    ledger: Ledger, proposal: RebalanceProposal
) -> None:
    rid = saved(ledger, proposal)
    sells = [t for t in proposal.trades if t.action == "SELL"]
    buys = [t for t in proposal.trades if t.action == "BUY"]
    chosen = [*sells, buys[0]]
    ledger.decide(rid, approve=[t.id for t in chosen], by="Advisor")
    ledger.decide(rid, veto=[t.id for t in buys[1:]], by="Advisor")
    offer = order_set(ledger.run(rid), proposal, SEC)
    assert offer.reason is None and not offer.executed
    assert sorted((o.action, o.symbol, o.quantity) for o in offer.lines) == sorted(
        (t.action, t.symbol, t.quantity) for t in chosen
    )
    execute_run(ledger, rid, paper_broker(ledger))
    after = order_set(ledger.run(rid), proposal, SEC)
    assert after.executed and after.reason is None
    fills = {(t.action, t.symbol, t.execution.quantity) for t in ledger.run(rid).trades if t.filled}
    assert {(o.action, o.symbol, o.quantity) for o in after.lines} == fills
    assert len(fills) == len(chosen)


def test_unfunded_buys_are_not_offered_and_the_reason_says_so(
    ledger: Ledger, proposal: RebalanceProposal
) -> None:
    rid = saved(ledger, proposal)
    buys = [t for t in proposal.trades if t.action == "BUY"]
    ledger.decide(rid, approve=[t.id for t in buys], by="Advisor")  # no sell approved
    offer = order_set(ledger.run(rid), proposal, SEC)
    assert offer.lines == [] and not offer.executed
    assert offer.reason is not None
    assert offer.reason.startswith("The approved trades do not stand on their own: ")
    assert "approved buys lack their cash" in offer.reason and "vetoed" not in offer.reason
    assert offer.reason.endswith("Approve the sells that fund them, or veto these buys.")
