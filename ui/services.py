"""Process-wide resources, created once and shared by every session (caching at the edges)."""

from __future__ import annotations

import streamlit as st

from portfolio.ledger import Ledger, open_ledger
from portfolio.model_portfolios import all_models
from portfolio.models import ModelPortfolio
from portfolio.securities import SecurityMaster, load_securities


@st.cache_resource(show_spinner=False)
def ledger() -> Ledger:
    """One connection pool per server process; migrations run on first use."""
    return open_ledger()


@st.cache_resource(show_spinner=False)
def securities() -> SecurityMaster:
    return load_securities()


@st.cache_resource(show_spinner=False)
def models() -> dict[str, ModelPortfolio]:
    return all_models()
