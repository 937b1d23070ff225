"""Who is deciding: the OIDC-signed-in user when `[auth]` is configured, else a named local advisor.

Every decision in the ledger carries this name, so it is asked before anything is recorded.
"""

from __future__ import annotations

import streamlit as st

from ui import state


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def advisor() -> str | None:
    """The identity to record, or None when nobody has said who they are yet."""
    if auth_configured():
        if getattr(st.user, "is_logged_in", False):
            return str(st.user.get("email") or st.user.get("name") or "signed-in user")
        return None
    name = str(state.get(state.ADVISOR, "") or "").strip()
    return name or None


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
        st.text_input(
            "Advisor name",
            key=state.ADVISOR,
            placeholder="Your name, recorded on every decision",
        )
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
