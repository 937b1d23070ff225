"""Process-wide resources, created once and shared by every session (caching at the edges)."""

from __future__ import annotations

import streamlit as st

from portfolio.ledger import Ledger, open_ledger, paper_broker, recover
from portfolio.model_portfolios import all_models
from portfolio.models import ModelPortfolio
from portfolio.securities import SecurityMaster, load_securities


@st.cache_resource(show_spinner=False)
def ledger() -> Ledger:
    """One connection pool per server process; migrations run on first use, and orders a crash
    left without an outcome are finished before anyone sees the ticket."""
    ledger = open_ledger()
    recover(ledger, paper_broker(ledger))
    return ledger


@st.cache_resource(show_spinner=False)
def securities() -> SecurityMaster:
    return load_securities()


@st.cache_resource(show_spinner=False)
def models() -> dict[str, ModelPortfolio]:
    return all_models()
