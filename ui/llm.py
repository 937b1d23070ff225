"""The session's LLM settings: environment and secrets first, then what the advisor set on the
Settings page, which is kept per advisor in the ledger so a reload or another browser finds it.

An API key typed on the page lives in this session only: it is never written to the database,
and a reload asks for it again (a key from the environment or secrets needs no typing).
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from pydantic import ValidationError

from agents.settings import LLMSettings, load_settings
from ui import identity, state

# Seconds each offline answer streams for: readable as it comes, and the crew's four steps
# (profiler, the two analysts at once, strategist, compliance) take about two seconds.
UI_PACE = 0.5
# What the Settings page sets and the ledger keeps per advisor; never the key.
KEPT_FIELDS = (
    "provider",
    "model",
    "base_url",
    "azure_endpoint",
    "azure_deployment",
    "api_version",
    "agents",
    "prices",
    "budget_usd",
    "offline_pace",
)
LLM_FOR = "llm_settings_for"  # whose kept settings the session's copy started from
NEEDS_KEY = ("openai", "azure")  # an OpenAI-compatible local server may need none


@st.cache_resource(show_spinner=False)
def _base() -> LLMSettings:
    """The UI's readable pace applies only when no pace was configured (0 is a valid choice)."""
    s = load_settings()
    if "offline_pace" in s.model_fields_set:
        return s
    return s.model_copy(update={"offline_pace": UI_PACE})


def _store():  # type: ignore[no-untyped-def]
    from portfolio.ledger.advisor_settings import AdvisorSettings
    from ui import services

    return AdvisorSettings(services.ledger().engine)


def kept_fields(s: LLMSettings) -> dict[str, Any]:
    """The part of the settings the ledger keeps, as JSON: no key."""
    return s.model_dump(mode="json", include=set(KEPT_FIELDS))


def _with_kept(base: LLMSettings, kept: dict[str, Any]) -> LLMSettings | None:
    """`base` with what the advisor kept; None when the kept record no longer validates."""
    fields = {k: v for k, v in kept.items() if k in KEPT_FIELDS}
    try:
        parsed = LLMSettings.model_validate(fields)
    except ValidationError:
        return None
    return base.model_copy(update={k: getattr(parsed, k) for k in fields})


def settings() -> LLMSettings:
    """The settings in force for this session: its own, else the advisor's kept ones (read once
    per session and advisor), else the environment's. A key typed this session stays."""
    who = identity.advisor()
    current: LLMSettings | None = state.get(state.LLM)
    if current is not None and state.get(LLM_FOR) == who:
        return current
    state.put(LLM_FOR, who)
    kept = _store().get(who) if who else None
    restored = _with_kept(_base(), kept) if kept else None
    if restored is None:  # nothing kept: what this session had (read once, not every rerun)
        restored = current or _base()
    elif current is not None and current.api_key is not None and _same_endpoint(current, restored):
        # A key typed this session goes only to the endpoint it was typed for.
        restored = restored.model_copy(update={"api_key": current.api_key})
    state.put(state.LLM, restored)
    return restored


def save(new: LLMSettings) -> bool:
    """The session uses `new` from now on; the named advisor's copy (without the key) is kept
    in the ledger. False when nobody is named, so nothing outlives the session."""
    who = identity.advisor()
    state.put(state.LLM, new)
    state.put(LLM_FOR, who)
    if not who:
        return False
    _store().keep(who, kept_fields(new))
    return True


def env_has_key() -> bool:
    """Whether a key came from the environment or secrets (it is never displayed)."""
    return _base().api_key is not None


def missing_key(s: LLMSettings) -> bool:
    """A provider that needs a key, with none in this session or the environment."""
    return s.provider in NEEDS_KEY and s.api_key is None


def _same_endpoint(a: LLMSettings, b: LLMSettings) -> bool:
    return (a.provider, a.base_url, a.azure_endpoint) == (b.provider, b.base_url, b.azure_endpoint)
