"""The session's LLM settings: environment and secrets first, then what the advisor sets here."""

from __future__ import annotations

import streamlit as st

from agents.settings import LLMSettings, load_settings
from ui import state

# Seconds each offline answer streams for: readable as it comes, and the crew's four steps
# (profiler, the two analysts at once, strategist, compliance) take about two seconds.
UI_PACE = 0.5


@st.cache_resource(show_spinner=False)
def _base() -> LLMSettings:
    """The UI's readable pace applies only when no pace was configured (0 is a valid choice)."""
    s = load_settings()
    if "offline_pace" in s.model_fields_set:
        return s
    return s.model_copy(update={"offline_pace": UI_PACE})


def settings() -> LLMSettings:
    return state.get(state.LLM) or _base()


def env_has_key() -> bool:
    """Whether a key came from the environment or secrets (it is never displayed)."""
    return _base().api_key is not None
