"""The client on screen: opening a client record into the session, and keeping what the advisor
sets (notes, mandate, model) in the record, so a reload or another browser finds it again."""

from __future__ import annotations

import streamlit as st

from portfolio.book import BookSummary, summarize
from portfolio.import_service import unread_rows
from portfolio.ledger import UnknownRun
from portfolio.ledger.clients import ClientRecord, ClientRecords, UnknownClient
from portfolio.models import ClientMandate, Holdings, ModelPortfolio
from ui import identity, services, state

# What belongs to one client in the session; a different client starts without any of it.
CLIENT_KEYS = (
    state.HOLDINGS,
    state.SNAPSHOT,
    state.SOURCES,
    state.UNREAD,
    state.PARTIAL_ACK,
    state.NOTES,
    state.MANDATE,
    state.EVIDENCE,
    state.MODEL,
    "partial_ack_box",
    "_preview",
    "_summary",
    "run_view",
)


def records() -> ClientRecords:
    return ClientRecords(services.ledger().engine)


def current() -> int | None:
    cid = state.get(state.CLIENT)
    return int(cid) if cid is not None else None


def record() -> ClientRecord | None:
    cid = current()
    if cid is None:
        return None
    try:
        rec = records().get(cid)
    except UnknownClient:
        close()
        return None
    if not identity.allowed("view", rec.owner):  # opened by another identity in this browser
        close()
        return None
    return rec


def account_types() -> dict[str, str]:
    """The open client's tax type per account, as the advisor confirmed them (for the engine)."""
    rec = record()
    return {a.account: a.tax_type for a in rec.accounts} if rec is not None else {}


def close() -> None:
    """No client on screen (the advisor starts a new one): nothing of the last one stays."""
    for key in CLIENT_KEYS:
        st.session_state.pop(key, None)
    st.session_state[state.CLIENT] = None
    st.session_state["notes_box"] = ""
    st.session_state.pop("upload_signatures", None)  # the same file may start the next client
    state.set_run_id(None)
    if "client" in st.query_params:
        del st.query_params["client"]


def open_client(client_id: int, keep_run: bool = False) -> bool:
    """Put the client's record in the session: book, notes, mandate, model. False if unknown."""
    try:
        rec = records().get(client_id)
    except UnknownClient:
        return False
    if not identity.allowed("view", rec.owner):
        return False
    same = current() == client_id
    for key in CLIENT_KEYS:
        st.session_state.pop(key, None)
    st.session_state[state.CLIENT] = client_id
    st.query_params["client"] = str(client_id)
    if not (keep_run or same):
        state.set_run_id(None)
    state.put(state.NOTES, rec.notes)
    st.session_state["notes_box"] = rec.notes
    if rec.mandate is not None:
        state.put(state.MANDATE, rec.mandate)
    if rec.model is not None:
        state.put(state.MODEL, rec.model)
    load_book(client_id)
    return True


def load_book(client_id: int) -> None:
    """The client's holdings as they stand in the ledger, and the snapshot a run starts from."""
    for key in (state.HOLDINGS, state.SNAPSHOT, state.UNREAD, state.PARTIAL_ACK, "_preview"):
        st.session_state.pop(key, None)
    st.session_state.pop("partial_ack_box", None)  # a changed book needs its own agreement
    found = records().book_snapshot(client_id)
    if found is None:
        return
    book, snapshot_id = found
    state.put(state.HOLDINGS, book.holdings)
    state.put(state.SNAPSHOT, snapshot_id)
    unread = [
        {"file": part.source, **row.model_dump(mode="json")}
        for part in book.parts
        for row in unread_rows(part)
    ]
    state.put(state.UNREAD, unread)
    if unread:  # agreed to on this very book before (another session, a reload): still agreed
        ack = records().partial_ack(client_id, snapshot_id)
        if ack is not None:
            state.put(state.PARTIAL_ACK, partial_ack(ack.acknowledged_by, unread, ack.at))


def partial_ack(by: str, unread: list[dict], at: str) -> dict[str, object]:
    """The acknowledgement as the run records it: who went on, when, and what was left out."""
    return {
        "acknowledged_by": by,
        "acknowledged_at": at,
        "rows_left_out": unread,
        "stated_value_left_out": sum(r["value"] for r in unread if r.get("value") is not None),
    }


def keep_partial_ack(by: str | None) -> None:
    """Keep (or, with None, withdraw) "Proceed without these rows" in the client's record, for
    the book on screen only."""
    rec = record()
    snapshot_id = state.get(state.SNAPSHOT)
    if rec is None or snapshot_id is None or not identity.allowed("decide", rec.owner):
        return
    records().set_partial_ack(rec.id, int(snapshot_id), by)


def summary(holdings: Holdings) -> BookSummary:
    """The book's counts as the engine classifies it, worked out once per book in the session
    rather than on every rerun of a page."""
    key = (state.get(state.SNAPSHOT), id(holdings))
    cached = st.session_state.get("_summary")
    if cached is not None and cached[0] == key:
        return cached[1]
    found = summarize(holdings, services.securities())
    st.session_state["_summary"] = (key, found)
    return found


def save(
    *,
    notes: str | None = None,
    mandate: ClientMandate | None = ...,  # type: ignore[assignment]
    model: ModelPortfolio | None = ...,  # type: ignore[assignment]
) -> None:
    """Keep in the client's record what the page just put in the session."""
    rec = record()
    if rec is None or not identity.allowed("decide", rec.owner):
        return  # read-only for this identity (an auditor, operations, another team)
    cid = rec.id
    kwargs: dict[str, object] = {}
    if notes is not None:
        kwargs["notes"] = notes
    if mandate is not ...:
        kwargs["mandate"] = mandate
    if model is not ...:
        kwargs["model"] = model
    records().save_mandate(cid, **kwargs)  # type: ignore[arg-type]


def run_exists(run_id: str) -> bool:
    try:
        services.ledger().run(run_id)
    except UnknownRun:
        return False
    return True


def editable() -> bool:
    """Whether the identity acting now may change the client on screen (or start a new one)."""
    rec = record()
    return identity.allowed("decide", rec.owner if rec else (identity.advisor() or ""))


def client_of_run(run_id: str) -> int | None:
    """The client record a run belongs to, if it has one (command-line runs may not)."""
    return records().client_of_run(run_id)
