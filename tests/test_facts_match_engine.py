"""The crew's facts and the engine classify every holding the same way."""

from __future__ import annotations

import pytest

from agents.facts import class_weights, holdings_frame, risk_facts
from portfolio.engine import rebalance
from portfolio.market_data import bundled_snapshot
from portfolio.model_portfolios import load_model
from portfolio.models import ClientMandate, Holdings, Position
from portfolio.securities import load_securities

REF = load_securities()


def _pos(symbol: str, quantity: float, *, cash: bool = False, description: str = "") -> Position:
    price = 1.0 if cash else REF.price(symbol)
    return Position(
        account="Joint",
        symbol=symbol,
        description=description,
        quantity=quantity,
        price=price,
        market_value=quantity * price,
        is_cash=cash,
    )


def test_sgov_swvxx_vt_and_a_cusip_treasury_weigh_the_same_for_crew_and_engine() -> None:
    treasury = Position(
        account="Joint",
        symbol="912810FS2",
        description="US TREASURY BOND 4.5% 02/15/2036",
        quantity=300.0,
        price=100.0,
        market_value=30_000.0,
    )
    holdings = Holdings(
        positions=[
            _pos("SGOV", 200),
            _pos("SWVXX", 15_000, cash=True),  # a purchased money-market fund: a holding
            _pos("VT", 400),
            _pos("VTI", 100),
            treasury,
            _pos("CASH", 5_000, cash=True),
        ]
    )
    mandate = ClientMandate()
    hold = holdings_frame(holdings, REF, mandate)
    proposal = rebalance(holdings, mandate)
    engine = {c: w.current for c, w in proposal.asset_class_weights.items() if w.current > 0}
    crew = class_weights(hold)
    assert crew.keys() == engine.keys()
    for c, w in engine.items():
        assert crew[c] == pytest.approx(w, abs=1e-9), c
    # Look-through: VT counts partly international; the Treasury is counted, not unclassified.
    assert crew["intl_equity"] > 0 and crew["treasuries"] > 0
    assert "unclassified" not in crew
    # Only swept cash is cash: SGOV and SWVXX are cash-class holdings, not swept cash.
    assert not hold.loc["SGOV", "is_cash"] and not hold.loc["SWVXX", "is_cash"]
    assert hold.loc["SGOV", "asset_class"] == "cash" == hold.loc["SWVXX", "asset_class"]
    facts = risk_facts(hold, mandate, load_model(mandate.risk_profile), bundled_snapshot(), REF)
    for c, w in engine.items():
        assert facts["asset_class_weights"][c] == pytest.approx(w, abs=1e-4), c
