"""Who is deciding: the OIDC-signed-in user when `[auth]` is configured, else a named local advisor.

With `[auth]`, the firm file (`[firm]` in secrets, `portfolio.access.load_firm`) gives the
signed-in user a role and team; a user it does not list is refused, and nothing of the desk is
shown before sign-in. Without `[auth]` the desk is in local mode: one unauthenticated advisor
who may do everything, and a `[firm]` table is ignored (a typed name proves nothing).

Every decision in the ledger carries this name, so it is asked before anything is recorded. In
local mode the typed name goes through `portfolio.access.clean_name` (a name with nothing visible
is refused, with the reason) and is remembered for the browser in the address (`?advisor=`): the
desk sets no cookie, and a local name is not a secret, so a reload or a bookmark keeps it. A
signed-in identity comes from the identity provider and is never put in the address.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from portfolio.access import (
    Firm,
    Identity,
    InvalidName,
    Person,
    clean_name,
    load_firm,
    may,
    visible,
)
from ui import state

PARAM = "advisor"


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _plain(value: Any) -> Any:
    """st.secrets' read-only mappings as plain dicts, for the pydantic models."""
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def firm() -> Firm:
    """The firm's people and policy; local mode without `[auth]` or without a `[firm]` table."""
    if not auth_configured():
        return Firm()
    try:
        section = st.secrets.get("firm")
    except Exception:
        return Firm()
    base = load_firm(_plain(section) if section else None)
    return base if base.local else base.with_people(_table_people())


@st.cache_data(ttl=30, show_spinner=False)
def _table_people() -> list[Person]:
    """The people added on Settings whose rows match their chained journal; read at most every
    30 s (Settings clears it on a change), not once for every row a page checks."""
    from ui import services

    return services.ledger().people.list()


def forget_people() -> None:
    _table_people.clear()


def _signed_in() -> tuple[str, str] | None:
    """(email or subject, display name) of the OIDC user, or None before sign-in."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    uid = str(st.user.get("email") or st.user.get("sub") or "")
    return uid, str(st.user.get("name") or "")


def current() -> Identity | None:
    """The identity acting now, or None (nobody yet, an invalid name, or a refused user)."""
    if auth_configured():
        user = _signed_in()
        if user is None or not user[0]:
            return None
        try:
            return firm().identity(user[0], user[1], authenticated=True)
        except (PermissionError, InvalidName):
            return None
    name = typed_name()[0]
    return None if name is None else Firm().identity("", name, authenticated=False)


def refusal() -> str | None:
    """Why a signed-in user is not let in (not in the firm file), else None."""
    if not auth_configured():
        return None
    user = _signed_in()
    if user is None:
        return None
    if not user[0]:
        return "your identity provider sent no email or subject to recognise you by"
    try:
        firm().identity(user[0], user[1], authenticated=True)
    except (PermissionError, InvalidName) as exc:
        return str(exc)
    return None


def allowed(action: str, owner: str | None) -> bool:
    """Whether the identity acting now may take `action` on a client or run of `owner`. In local
    mode everything is allowed (the pages that record a decision ask for the name themselves)."""
    people = firm()
    if people.local:
        return True
    who = current()
    return who is not None and may(who, action, owner, people)  # type: ignore[arg-type]


def visible_ids(owners: list[tuple[Any, str | None]]) -> set[Any]:
    """The ids among (id, owner) pairs the identity acting now may see; all in local mode."""
    people = firm()
    if people.local:
        return {i for i, _ in owners}
    who = current()
    return set() if who is None else set(visible(who, owners, people))


def gate() -> None:
    """With sign-in configured, nothing is shown to a visitor who has not signed in, or whom the
    firm file does not list."""
    if not auth_configured():
        return
    if why := refusal():
        st.error(
            f"You are signed in, but not allowed in: {why}. Sign out, or ask an admin to add "
            "you to the firm's people."
        )
        st.stop()
    if current() is None:
        st.info(
            "Sign in (sidebar) to use the desk: every decision is recorded under your identity."
        )
        st.stop()


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
    who = current()
    return None if who is None else who.id


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
                who = current()
                if who is not None:
                    team = f" · team {who.team}" if who.team else ""
                    st.caption(f"Signed in as **{who.label}** ({who.id}) · {who.role}{team}")
                    if firm().require_second_approver:
                        st.caption("Four-eyes: a run executes after a second person signs off.")
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
