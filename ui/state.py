"""Typed access to `st.session_state`: one place names every key a page reads or writes."""

from __future__ import annotations

from typing import Any

import streamlit as st

from portfolio.models import ClientMandate, Holdings, ModelPortfolio

HOLDINGS = "holdings"
SOURCES = "sources"  # list of (filename, bytes)
SNAPSHOT = "snapshot_id"  # the ledger's copy of what was loaded
NOTES = "client_notes"
MANDATE = "mandate"
EVIDENCE = "mandate_evidence"
MODEL = "model_override"
RUN_ID = "run_id"
CLIENT = "client_id"  # the client record on screen (ledger id)
ADVISOR = "advisor_name"  # the sidebar's name box (a widget: Streamlit may drop it)
ADVISOR_KEPT = "advisor_kept"  # the same name, kept where no widget clean-up reaches it
LLM = "llm_settings"
DEFAULTS = "mandate_defaults"
IMPORT_OPTIONS = "import_options"  # decimal mark and book total for the next upload
UNREAD = "unread_rows"  # rows of the loaded book that could not be read
PARTIAL_ACK = "partial_ack"  # the advisor's "proceed without these rows", saved with the run


def get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def put(key: str, value: Any) -> None:
    st.session_state[key] = value


def holdings() -> Holdings | None:
    return st.session_state.get(HOLDINGS)


def mandate() -> ClientMandate:
    """The client's mandate, else the desk's defaults (bands, caps) from Settings."""
    return st.session_state.get(MANDATE) or st.session_state.get(DEFAULTS) or ClientMandate()


def model_override() -> ModelPortfolio | None:
    return st.session_state.get(MODEL)


def run_id() -> str | None:
    """The run on screen: this session's, else the one in the address bar (survives a reload)."""
    rid = st.session_state.get(RUN_ID)
    if rid:
        return str(rid)
    qp = st.query_params.get("run")
    if qp:
        # Keep it: the sidebar's links drop the query string, the session must not.
        st.session_state[RUN_ID] = str(qp)
        return str(qp)
    return None


def set_run_id(rid: str | None) -> None:
    st.session_state[RUN_ID] = rid
    if rid:
        st.query_params["run"] = rid
    elif "run" in st.query_params:
        del st.query_params["run"]


def partial_blocked() -> bool:
    """A partial book the advisor has not yet agreed to go on without."""
    return bool(st.session_state.get(UNREAD)) and not st.session_state.get(PARTIAL_ACK)
