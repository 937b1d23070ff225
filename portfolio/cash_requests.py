"""Cash requests: withdrawals and deposits per account, checked, booked and reported.

A request enters the engine's book as a cash row of its own: a deposit as new swept cash
(`DEPOSIT`), a withdrawal as cash already spoken for (`WITHDRAWAL`, a negative amount). So the
household's value, its targets, each account's cash floor and the gate's funding test all see the
book after the requests: withdrawn money is leaving the household, and no buy may spend it.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from pydantic import ValidationError

from portfolio.models import (
    CashRequest,
    CashRequestResult,
    Holdings,
    Position,
    RebalanceProposal,
    Trade,
)

WITHDRAWAL_SYMBOL = "WITHDRAWAL"
DEPOSIT_SYMBOL = "DEPOSIT"
REQUEST_SYMBOLS = frozenset({WITHDRAWAL_SYMBOL, DEPOSIT_SYMBOL})
KIND_WORDS = {"withdrawal": "Withdrawal", "deposit": "Deposit"}


class CashRequestError(ValueError):
    """A request the household cannot take; the message is meant for the advisor as it is."""


class _PositionLike(Protocol):
    account: str
    symbol: str
    value: float
    is_cash: bool


def money(x: float) -> str:
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


_AMOUNT = re.compile(r"^\$?\s*([0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)\s*([kKmM]?)$")


def parse_amount(text: str) -> float:
    """'20000', '$20,000.50', '20k', '1.5m' -> dollars; anything else is refused in words."""
    m = _AMOUNT.match(str(text).strip())
    if not m:
        raise CashRequestError(f"'{text}' is not an amount of dollars (for example 20000 or 20k)")
    x = float(m.group(1).replace(",", "")) * {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()]
    if not math.isfinite(x) or x <= 0:
        raise CashRequestError(f"'{text}': the amount must be more than zero")
    return x


def make_request(account: str, amount: float | str, kind: str, note: str = "") -> CashRequest:
    """One request from loose input (a form, the command line), with plain-words errors."""
    if isinstance(amount, str):
        amount = parse_amount(amount)
    if kind not in KIND_WORDS:
        raise CashRequestError(f"'{kind}' is not a kind of request: withdrawal or deposit")
    if not str(account or "").strip():
        raise CashRequestError("Name the account the money comes from or goes to")
    try:
        amount = float(amount)
    except (TypeError, ValueError):
        raise CashRequestError(f"'{amount}' is not an amount of dollars") from None
    if not math.isfinite(amount) or amount <= 0:
        raise CashRequestError("The amount must be a positive number of dollars")
    try:
        return CashRequest(account=account, amount=round(amount, 2), kind=kind, note=note or "")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "request"
        raise CashRequestError(
            f"The {where} of the request: {first.get('msg', 'invalid')}"
        ) from None


def parse_spec(spec: str, kind: str) -> CashRequest:
    """`ACCOUNT=AMOUNT` (the command line's --withdraw / --deposit); the last '=' splits."""
    name, sep, amount = str(spec).rpartition("=")
    if not sep or not name.strip():
        raise CashRequestError(f"'{spec}': write the request as ACCOUNT=AMOUNT")
    return make_request(name.strip(), amount.strip(), kind)


def account_values(holdings: Holdings) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for p in holdings.positions:
        out[p.account] += float(p.market_value)
    return dict(out)


def validate(requests: Sequence[CashRequest], holdings: Holdings) -> list[CashRequest]:
    """The requests, checked against the household: a known account, a withdrawal no larger
    than what the account holds (its deposits in this plan included). Raises in plain words."""
    if not requests:
        return []
    values = account_values(holdings)
    withdraw: dict[str, float] = defaultdict(float)
    deposit: dict[str, float] = defaultdict(float)
    for r in requests:
        if r.account not in values:
            names = ", ".join(sorted(values)) or "none"
            raise CashRequestError(
                f"No account named '{r.account}' in this household (its accounts: {names})"
            )
        (withdraw if r.kind == "withdrawal" else deposit)[r.account] += r.amount
    for acct, w in withdraw.items():
        room = values[acct] + deposit[acct]
        if w > room + 0.005:
            n = sum(1 for r in requests if r.account == acct and r.kind == "withdrawal")
            what = "withdrawal" if n == 1 else "withdrawals"
            raise CashRequestError(
                f"The {what} of {money(w)} from {acct} is more than the account holds "
                f"({money(room)})"
            )
    return list(requests)


def with_requests(holdings: Holdings, requests: Sequence[CashRequest]) -> Holdings:
    """The holdings with one cash row per request (see the module's docstring)."""
    if not requests:
        return holdings
    rows = [
        Position(
            account=r.account,
            symbol=DEPOSIT_SYMBOL if r.kind == "deposit" else WITHDRAWAL_SYMBOL,
            description=f"{KIND_WORDS[r.kind]} requested" + (f": {r.note}" if r.note else ""),
            quantity=r.signed,
            price=1.0,
            market_value=r.signed,
            asset_class="cash",
            is_cash=True,
        )
        for r in requests
    ]
    return holdings.model_copy(update={"positions": [*holdings.positions, *rows]})


def withdrawals(requests: Iterable[CashRequest]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for r in requests:
        if r.kind == "withdrawal":
            out[r.account] += r.amount
    return dict(out)


def _trade_list(ids: Sequence[str]) -> str:
    return ", ".join(ids) if len(ids) < 6 else f"{', '.join(ids[:5])} and {len(ids) - 5} more"


def outcomes(
    requests: Sequence[CashRequest],
    positions: Sequence[_PositionLike],
    trades: Sequence[Trade],
    cash_floor: float,
    request_trades: Iterable[str] = (),
    short_notes: Mapping[str, str] | None = None,
) -> list[CashRequestResult]:
    """Each request as `trades` (the ones that will run) leave it.

    `positions` are the proposal's book (request rows included); a withdrawal is met when the
    account's swept cash after the trades covers it, the account's cash floor and the
    withdrawals listed before it. `request_trades` are the ids of the sales made for withdrawals.
    """
    made_for = set(request_trades)
    cash0: dict[str, float] = defaultdict(float)
    net: dict[str, float] = defaultdict(float)
    for p in positions:
        net[p.account] += p.value
        if p.is_cash and p.symbol != WITHDRAWAL_SYMBOL:
            cash0[p.account] += p.value
    flow: dict[str, float] = defaultdict(float)
    bought: dict[str, float] = defaultdict(float)
    raised: dict[str, float] = defaultdict(float)
    raised_by: dict[str, list[str]] = defaultdict(list)
    for t in trades:
        flow[t.account] += t.value if t.action == "SELL" else -t.value
        if t.action == "BUY":
            bought[t.account] += t.value
        elif t.id in made_for:
            raised[t.account] += t.value
            raised_by[t.account].append(t.id)
    spoken: dict[str, float] = defaultdict(float)  # withdrawals already served, in order
    out: list[CashRequestResult] = []
    for r in requests:
        acct, amount = r.account, r.amount
        way = "into" if r.kind == "deposit" else "from"
        head = f"{KIND_WORDS[r.kind]} of {money(amount)} {way} {acct}"
        if r.kind == "deposit":
            out.append(
                CashRequestResult(
                    account=acct,
                    kind=r.kind,
                    amount=amount,
                    note=r.note,
                    met=True,
                    message=f"{head}: new cash for the plan; the buys in {acct} come to "
                    f"{money(bought[acct])}",
                )
            )
            continue
        floor = cash_floor * net[acct]
        after = cash0[acct] + flow[acct]  # swept cash after the trades, before paying out
        room = after - floor - spoken[acct]
        met = room + 0.005 >= amount
        ids = raised_by[acct]
        sales = raised[acct]
        why = (short_notes or {}).get(acct, "")
        before = max(cash0[acct] - floor - spoken[acct], 0.0)
        from_cash = min(amount, before)
        # Met: what the cash already there does not cover comes from the account's sales, the
        # ones made for the requests and the plan's own (net of its buys) alike.
        from_sales = max(amount - from_cash, 0.0) if met else sales
        spoken[acct] += amount
        if met and from_sales < 0.005:
            msg = f"{head}: met from the cash already in the account"
            msg += f", above its {money(floor)} cash floor" if floor > 0.005 else ""
        elif met:
            msg = f"{head}: met; "
            msg += (
                f"{money(from_cash)} from the cash already there and " if from_cash > 0.005 else ""
            )
            msg += f"{money(from_sales)} from the sales in {acct}"
            if ids:
                msg += f" ({'sale' if len(ids) == 1 else 'sales'} {_trade_list(ids)} made for it)"
            msg += f"; the {money(floor)} cash floor is kept" if floor > 0.005 else ""
        else:
            short = amount - max(room, 0.0)
            msg = f"{head}: not met, {money(short)} short; after the trades the account keeps "
            msg += f"{money(max(after, 0.0))} in cash"
            msg += f" and must keep {money(floor)} of it as its floor" if floor > 0.005 else ""
            msg += f"; {why}" if why else ""
        out.append(
            CashRequestResult(
                account=acct,
                kind=r.kind,
                amount=amount,
                note=r.note,
                met=met,
                from_cash=round(from_cash, 2),
                raised=round(from_sales, 2),
                trades=list(ids) if from_sales > 0.005 else [],
                shortfall=0.0 if met else round(amount - max(room, 0.0), 2),
                reason="" if met else why,
                message=msg,
            )
        )
    return out


def restate(proposal: RebalanceProposal, trades: Sequence[Trade]) -> list[CashRequestResult]:
    """The proposal's requests as `trades` leave them (the ticket after the advisor's vetoes and
    edits, the client document): the sales made for them count only when they run."""
    planned = proposal.cash_requests
    return outcomes(
        [r.request for r in planned],
        proposal.positions,
        trades,
        proposal.mandate.cash_floor,
        [tid for r in planned for tid in r.trades],
        {r.account: r.reason for r in planned if r.reason},
    )
