"""Who is deciding: the OIDC-signed-in user when `[auth]` is configured, else a named local advisor.

Every decision in the ledger carries this name, so it is asked before anything is recorded. In
local mode the typed name goes through `portfolio.access.clean_name` (a name with nothing visible
is refused, with the reason) and is remembered for the browser in the address (`?advisor=`): the
desk sets no cookie, and a local name is not a secret, so a reload or a bookmark keeps it. A
signed-in identity comes from the identity provider and is never put in the address.
"""

from __future__ import annotations

import streamlit as st

from portfolio.access import InvalidName, clean_name
from ui import state

PARAM = "advisor"


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def typed_name() -> tuple[str | None, str | None]:
    """(the name to record, why the typed text cannot be one) for the local name box."""
    raw = str(state.get(state.ADVISOR, "") if state.ADVISOR in st.session_state else remembered())
    if not raw:
        return None, None
    try:
        return clean_name(raw), None
    except InvalidName as exc:
        return None, str(exc)


def advisor() -> str | None:
    """The identity to record, or None when nobody has said who they are yet."""
    if auth_configured():
        if getattr(st.user, "is_logged_in", False):
            return str(st.user.get("email") or st.user.get("name") or "signed-in user")
        return None
    return typed_name()[0]


def remembered() -> str:
    """The name when the box's own state is gone: this session's copy, else the address."""
    return str(state.get(state.ADVISOR_KEPT) or st.query_params.get(PARAM, "") or "")


def _remember() -> None:
    st.session_state[state.ADVISOR_KEPT] = st.session_state.get(state.ADVISOR, "")


def sidebar() -> None:
    """Sign-in controls (OIDC) or the local single-advisor name box."""
    with st.sidebar:
        if auth_configured():
            if getattr(st.user, "is_logged_in", False):
                st.caption(f"Signed in as **{advisor()}**")
                if st.button("Sign out", key="logout"):
                    st.logout()
            else:
                st.button("Sign in", key="login", on_click=st.login, type="primary")
            return
        if state.ADVISOR not in st.session_state:
            # A new browser session (a reload) or a widget Streamlit dropped on a page switch:
            # the name comes back from this session's copy, else from the address.
            st.session_state[state.ADVISOR] = remembered()
        st.text_input(
            "Advisor name",
            key=state.ADVISOR,
            placeholder="Your name, recorded on every decision",
            on_change=_remember,
        )
        _remember()
        name, problem = typed_name()
        if problem:
            st.error(
                f"That is not a name: {problem}. Type your name as it should appear on every "
                "decision."
            )
        if name:
            if st.query_params.get(PARAM) != name:
                st.query_params[PARAM] = name
        elif PARAM in st.query_params:
            del st.query_params[PARAM]
        st.caption(
            "Local single-advisor mode: not authenticated. Configure `[auth]` in "
            "`.streamlit/secrets.toml` to sign in with your identity provider."
        )


def require_advisor() -> str | None:
    """Ask for a name on pages that record decisions; returns it when known."""
    who = advisor()
    if who is None:
        if auth_configured():
            st.info("Sign in (sidebar) to record decisions under your identity.")
        else:
            st.info("Enter your name in the sidebar: every decision is recorded under it.")
    return who
