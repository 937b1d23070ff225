"""The proposal on screen: the current run's (from the ledger) or an engine preview."""

from __future__ import annotations

import streamlit as st

from portfolio.engine import rebalance
from portfolio.models import RebalanceProposal
from ui import cash_requests, clients, services, state


def run_proposal() -> RebalanceProposal | None:
    """The proposal of the run on screen, once its crew has produced one."""
    rid = state.run_id()
    if not rid:
        return None
    try:
        return services.ledger().proposal(rid)
    except Exception:  # the run exists but has no proposal yet (still running, or failed)
        return None


def preview() -> RebalanceProposal | None:
    """The engine's proposal for the loaded book and mandate, before any crew run."""
    holdings = state.holdings()
    if holdings is None or not holdings.positions:
        return None
    types = clients.account_types()
    requests = cash_requests.usable(holdings)
    key = (
        id(holdings),
        tuple(sorted(types.items())),
        tuple(r.model_dump_json() for r in requests),
        state.mandate().model_dump_json(),
        state.model_override().model_dump_json() if state.model_override() else "",
    )
    cached = st.session_state.get("_preview")
    if cached and cached[0] == key:
        return cached[1]
    p = rebalance(
        holdings,
        state.mandate(),
        model=state.model_override(),
        securities=services.securities(),
        account_types=types,
        cash_requests=requests,
    )
    st.session_state["_preview"] = (key, p)
    return p
