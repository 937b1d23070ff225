"""Cash requests on random households: a withdrawal the proposal calls met is in that account's
swept cash after the trades, on top of its floor; no buy spends money the account does not have."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.cash_requests import make_request
from portfolio.engine import rebalance
from portfolio.models import CashRequest, ClientMandate, Holdings
from tests.test_engine_household_properties import AS_OF, PROFILE, households


@st.composite
def with_requests(draw: st.DrawFn) -> tuple[Holdings, ClientMandate, list[CashRequest]]:
    holdings, mandate = draw(households())
    values: dict[str, float] = defaultdict(float)
    for p in holdings.positions:
        values[p.account] += p.market_value
    requests = []
    for acct in sorted(values):
        kind = draw(st.sampled_from(["withdrawal", "deposit", None]))
        if kind is None:
            continue
        share = draw(st.floats(min_value=0.01, max_value=1.0 if kind == "withdrawal" else 0.5))
        requests.append(make_request(acct, max(round(values[acct] * share, 2), 1.0), kind))
    return holdings, mandate, requests


@settings(PROFILE, max_examples=50)
@given(with_requests())
def test_met_withdrawals_are_in_cash_and_every_buy_is_funded(case) -> None:
    holdings, mandate, requests = case
    p = rebalance(holdings, mandate, as_of=AS_OF, cash_requests=requests)
    assert len(p.cash_requests) == len(requests)
    net: dict[str, float] = defaultdict(float)  # value after the requests
    cash: dict[str, float] = defaultdict(float)  # swept cash after the requests
    for pw in p.positions:
        net[pw.account] += pw.value
        if pw.is_cash:
            cash[pw.account] += pw.value
    sells: dict[str, float] = defaultdict(float)
    buys: dict[str, float] = defaultdict(float)
    for t in p.approved_trades:
        (sells if t.action == "SELL" else buys)[t.account] += t.value
    asked = defaultdict(float)
    for r in requests:
        if r.kind == "withdrawal":
            asked[r.account] += r.amount
    for acct in net:
        after = cash[acct] + sells[acct] - buys[acct]  # net of the withdrawal
        # No buy is unfunded: buys never spend cash the account lacks or a withdrawal's cash.
        if buys[acct] > 0:
            assert after >= mandate.cash_floor * net[acct] - 0.01, acct
    for r in p.cash_requests:
        if r.kind == "withdrawal" and r.met:
            acct = r.account
            swept = cash[acct] + asked[acct] + sells[acct] - buys[acct]
            assert swept >= asked[acct] + mandate.cash_floor * net[acct] - 0.01, acct
        if r.kind == "withdrawal" and not r.met:
            assert r.shortfall > 0 and "not met" in r.message
    # Sales for a withdrawal happen in its own account.
    for r in p.cash_requests:
        for tid in r.trades:
            t = next(t for t in p.trades if t.id == tid)
            assert t.account == r.account and t.action == "SELL"
