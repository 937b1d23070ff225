"""Cash requests of the client on screen: kept in the client's record, checked against its book,
handed to every run and shown with each proposal. The rules live in portfolio.cash_requests."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from portfolio.cash_requests import CashRequestError, make_request, validate
from portfolio.ledger import LedgerError
from portfolio.ledger.clients import SavedCashRequest
from portfolio.models import CashRequest, Holdings
from ui import clients, identity, state

KINDS = {"withdrawal": "Withdrawal (raise cash)", "deposit": "Deposit (new cash)"}


def saved() -> list[SavedCashRequest]:
    rec = clients.record()
    return clients.records().cash_requests(rec.id) if rec is not None else []


def current() -> list[CashRequest]:
    """The open client's requests, in the order they were asked for (for the engine)."""
    return [s.request for s in saved()]


def problem(holdings: Holdings | None, requests: Sequence[CashRequest] | None = None) -> str | None:
    """Why the requests cannot be planned with this book (an account gone, less money than
    asked), or None."""
    requests = current() if requests is None else list(requests)
    if not requests or holdings is None:
        return None
    try:
        validate(requests, holdings)
    except CashRequestError as exc:
        return str(exc)
    return None


def usable(holdings: Holdings | None) -> list[CashRequest]:
    """The requests when the book can take them all, else none (the page says why)."""
    return current() if problem(holdings) is None else []


def add(account: str, kind: str, amount: str, note: str = "") -> str | None:
    """Keep a new request for the open client; the reason in words when it cannot be taken."""
    rec = clients.record()
    holdings = state.holdings()
    if rec is None or holdings is None:
        return "Open a client with holdings first."
    if not identity.allowed("decide", rec.owner):
        return "Your role does not change this client's record."
    try:
        request = make_request(account, amount, kind, note)
        validate([*current(), request], holdings)
        clients.records().add_cash_request(rec.id, request, by=identity.advisor())
    except (CashRequestError, LedgerError) as exc:
        return str(exc)
    _forget_preview()
    return None


def remove(request_id: int) -> None:
    rec = clients.record()
    if rec is None or not identity.allowed("decide", rec.owner):
        return
    try:
        clients.records().remove_cash_request(rec.id, request_id)
    except LedgerError:
        return  # already gone (another tab removed it)
    _forget_preview()


def _forget_preview() -> None:
    """The engine's preview was planned without this change."""
    st.session_state.pop("_preview", None)


def describe(r: CashRequest) -> str:
    way = "into" if r.kind == "deposit" else "from"
    text = f"{r.kind.capitalize()} of ${r.amount:,.2f} {way} **{r.account}**"
    return text + (f" — {r.note}" if r.note else "")
