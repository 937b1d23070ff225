"""The address bar carries the client and the run (`?client=…&run=…`) on every page, so a reload,
a bookmark or a link opens the same client and run; the local advisor's name rides along
(`ui.identity`).

What the address names wins over the session: it changes only through the desk's own writes
(which change both), a link, or a typed address. What the address lacks is put back from the
session, since a sidebar link may drop the query string.
"""

from __future__ import annotations

import streamlit as st

from ui import identity, state


def sync() -> None:
    """Before a page draws: open what the address names, then write back what it lacks."""
    qp = st.query_params
    if not (
        qp.get("client") or qp.get("run") or state.get(state.CLIENT) or state.get(state.RUN_ID)
    ):
        return  # nothing to carry: the first paint does not wait for the ledger
    from ui import clients  # the ledger and the engine load on first need, not at start

    wanted = qp.get("client")
    if wanted is not None and wanted != str(clients.current() or ""):
        keep_run = bool(qp.get("run"))
        if not (wanted.isdigit() and clients.open_client(int(wanted), keep_run=keep_run)):
            del qp["client"]
            st.warning(f"The address names a client ({wanted}) the desk does not know.")
    rid = qp.get("run")
    if rid and rid != state.get(state.RUN_ID):
        if not clients.run_exists(rid):
            del qp["run"]
            st.warning(f"The address names a run ({rid}) the ledger does not have.")
        else:
            st.session_state[state.RUN_ID] = rid
            owner = clients.client_of_run(rid)
            if owner is not None and owner != clients.current():
                clients.open_client(owner, keep_run=True)
    cid = clients.current()
    if cid is not None and qp.get("client") != str(cid):
        qp["client"] = str(cid)
    rid = state.get(state.RUN_ID)
    if rid and qp.get("run") != rid:
        qp["run"] = rid


def params(run_id: str | None = None) -> dict[str, str]:
    """The query string for a link to another page: this client and run, and the advisor."""
    from ui import clients

    out: dict[str, str] = {}
    run_id = run_id or state.get(state.RUN_ID)
    cid = clients.client_of_run(run_id) if run_id else None
    cid = cid if cid is not None else clients.current()
    if cid is not None:
        out["client"] = str(cid)
    if run_id:
        out["run"] = str(run_id)
    name = None if identity.auth_configured() else identity.advisor()
    if name:
        out[identity.PARAM] = name
    return out
