"""Pure pieces of the ledger: run status rules, the paper broker, and holdings after fills."""

from __future__ import annotations

from datetime import date

import pytest

from portfolio.broker import MemoryOrderBook, Order, PaperBroker, client_order_id
from portfolio.ledger.chain import canonical_json, link_hash
from portfolio.ledger.fills import AppliedFill, apply_fills
from portfolio.ledger.status import TradeState, derive_status
from portfolio.models import Holdings, Lot, Position


def _s(
    comp: str = "APPROVED", dec: str | None = None, sent: bool = False, out: str | None = None
) -> TradeState:
    return TradeState("T", comp, dec, sent, out)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], "PENDING_REVIEW"),
        ([_s(), _s()], "PENDING_REVIEW"),
        ([_s(dec="APPROVE"), _s()], "PENDING_REVIEW"),
        ([_s(dec="APPROVE"), _s(comp="VETOED")], "APPROVED"),
        ([_s(dec="VETO"), _s(comp="VETOED")], "REJECTED"),
        ([_s(dec="APPROVE", sent=True), _s(dec="VETO")], "EXECUTING"),
        ([_s(dec="APPROVE", sent=True, out="FILLED")], "EXECUTED"),
        ([_s(dec="APPROVE", sent=True, out="FILLED"), _s(dec="VETO")], "PARTIALLY_EXECUTED"),
        ([_s(dec="APPROVE", sent=True, out="FILLED"), _s(comp="VETOED")], "PARTIALLY_EXECUTED"),
        (
            [
                _s(dec="APPROVE", sent=True, out="FILLED"),
                _s(dec="APPROVE", sent=True, out="REJECTED"),
            ],
            "PARTIALLY_EXECUTED",
        ),
        ([_s(dec="APPROVE", sent=True, out="REJECTED")], "EXECUTION_FAILED"),
        ([_s(dec="APPROVE", sent=True, out="FILLED"), _s(dec="APPROVE")], "PARTIALLY_EXECUTED"),
    ],
)
def test_run_status_rules(states: list[TradeState], expected: str) -> None:
    assert derive_status(states) == expected


def test_a_compliance_veto_is_never_executable() -> None:
    assert not _s(comp="VETOED", dec="APPROVE").approved


def _order(action: str = "BUY", **kw: object) -> Order:
    base = dict(
        client_order_id="R1-T1",
        account="A",
        symbol="VTI",
        action=action,
        quantity=10,
        reference_price=100.0,
    )
    return Order(**{**base, **kw})  # type: ignore[arg-type]


def test_paper_broker_applies_slippage_against_the_trader_and_commission() -> None:
    broker = PaperBroker(commission_per_order=4.95, commission_bps=2, slippage_bps=10)
    buy = broker.submit(_order("BUY"))
    assert buy.status == "FILLED" and buy.price == pytest.approx(100.1)
    assert buy.commission == pytest.approx(round(4.95 + 10 * 100.1 * 0.0002, 2))
    sell = broker.submit(_order("SELL", client_order_id="R1-T2"))
    assert sell.price == pytest.approx(99.9)


def test_paper_broker_answers_a_repeated_client_order_id_with_the_first_fill() -> None:
    book = MemoryOrderBook()
    first = PaperBroker(book).submit(_order())
    again = PaperBroker(book, slippage_bps=50).submit(_order(quantity=99))
    assert again == first


def test_paper_broker_rejects_unreachable_limits_and_bad_settings() -> None:
    broker = PaperBroker(slippage_bps=10)
    fill = broker.submit(_order(order_type="LIMIT", limit_price=100.0))
    assert fill.status == "REJECTED" and fill.quantity == 0 and "limit 100" in (fill.detail or "")
    ok = broker.submit(_order(client_order_id="x", order_type="LIMIT", limit_price=101.0))
    assert ok.status == "FILLED"
    with pytest.raises(ValueError):
        PaperBroker(slippage_bps=-1)


def test_client_order_id_is_derived_from_run_and_trade() -> None:
    assert client_order_id("20250630-ab12cd34", "T3") == "20250630-ab12cd34-T3"


def test_hashes_depend_on_every_field_and_not_on_key_order() -> None:
    a = {"seq": 1, "prev_hash": "0" * 64, "decision": "APPROVE", "reason": None}
    assert link_hash(a) == link_hash(dict(reversed(list(a.items()))))
    assert link_hash(a) != link_hash({**a, "decision": "VETO"})
    assert canonical_json({"b": 1.5, "a": "é"}) == '{"a":"é","b":1.5}'


def test_fills_move_shares_and_cash_and_open_new_positions() -> None:
    h = Holdings(
        positions=[
            Position(account="A", symbol="AAPL", quantity=10, price=100, market_value=1000),
            Position(
                account="A",
                symbol="SPAXX",
                quantity=100,
                price=1,
                market_value=100,
                is_cash=True,
                asset_class="cash",
            ),
        ]
    )
    day = date(2025, 7, 1)
    after = apply_fills(
        h,
        [
            AppliedFill("A", "AAPL", "SELL", 10, 110.0, 1.0, "us_equity", day),
            AppliedFill("A", "VTI", "BUY", 3, 250.0, 1.0, "us_equity", day),
            AppliedFill("B", "BND", "BUY", 1, 70.0, 0.0, "us_bonds", day),
        ],
    )
    by = {(p.account, p.symbol): p for p in after.positions}
    assert ("A", "AAPL") not in by  # sold out
    assert by[("A", "SPAXX")].market_value == pytest.approx(100 + 1100 - 1 - 751)
    assert by[("A", "VTI")].lots[0].cost_basis == pytest.approx(751)
    assert by[("B", "CASH")].market_value == pytest.approx(-70)  # no cash there: shown as owed
    with pytest.raises(ValueError, match="not held"):
        apply_fills(h, [AppliedFill("A", "MSFT", "SELL", 1, 1.0, 0.0, "us_equity", day)])


def test_a_sale_relieves_the_lots_the_plan_chose() -> None:
    """Tax-aware plans sell by specific identification (losses and highest cost first,
    short-term gains last); the recorded holdings after the fill must agree, not fall back to
    first in, first out."""
    old = Lot(quantity=10, cost_basis=500.0, acquired=date(2015, 1, 2))  # long-term gain
    loss = Lot(quantity=10, cost_basis=1_500.0, acquired=date(2020, 1, 2))  # loss at 100
    recent = Lot(quantity=10, cost_basis=900.0, acquired=date(2025, 5, 1))  # short-term gain
    h = Holdings(
        positions=[
            Position(
                account="A",
                symbol="VTI",
                quantity=30,
                price=100,
                market_value=3_000,
                lots=[old, loss, recent],
            )
        ]
    )
    day = date(2025, 7, 1)
    fill = [AppliedFill("A", "VTI", "SELL", 15, 100.0, 0.0, "us_equity", day)]
    (aware,) = apply_fills(h, fill, tax_aware=True).positions[:1]
    assert [(lt.acquired, lt.quantity) for lt in aware.lots] == [
        (date(2015, 1, 2), 5),  # the loss lot went first, then half the long-term lot
        (date(2025, 5, 1), 10),  # the short-term gain lot is untouched
    ]
    assert aware.lots[0].cost_basis == pytest.approx(250.0)
    (fifo,) = apply_fills(h, fill, tax_aware=False).positions[:1]
    assert [(lt.acquired, lt.quantity) for lt in fifo.lots] == [
        (date(2020, 1, 2), 5),
        (date(2025, 5, 1), 10),
    ]
