"""Rebalance: run the crew and watch each agent think, live, in its own panel."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from portfolio.ledger.read_models import RunRecord
from portfolio.plain_words import run_status
from ui import agent_results, cash_requests, clients, identity, llm, services, state, worker
from ui.run_view import Panel, RunView, fold, new_view

st.title("Rebalance")
ICONS = {
    "waiting": ":material/hourglass_empty:",
    "running": ":material/progress_activity:",
    "done": ":material/check_circle:",
    "fell back": ":material/warning:",
    "failed": ":material/error:",
}

holdings = state.holdings()
rid = state.run_id()
if holdings is None and not rid:
    st.info("Load a client's holdings on **Client & holdings** first.")
    st.stop()

if rid and not identity.allowed("view", services.ledger().owner(rid)):
    st.error("This run belongs to a client you may not see.")
    st.stop()
settings = llm.settings()
mandate = state.get(state.MANDATE)
may_run = clients.editable()


request_problem = cash_requests.problem(holdings) if holdings is not None else None


def start() -> None:
    if holdings is None or state.partial_blocked() or not may_run or request_problem:
        return
    new = worker.start_run(
        services.ledger(),
        holdings=holdings,
        snapshot_id=state.get(state.SNAPSHOT),
        filename=holdings.source,
        notes=state.get(state.NOTES, "") or "",
        mandate=mandate,
        model=state.model_override(),
        settings=settings,
        advisor=identity.advisor(),
        partial_book=state.get(state.PARTIAL_ACK),
        account_types=clients.account_types(),
        cash_requests=cash_requests.current(),
    )
    state.set_run_id(new)
    st.session_state.pop("run_view", None)
    worker.wait_for_first_token(services.ledger(), new, timeout=0.8)


if holdings is not None:
    m = state.mandate()
    st.markdown(
        f"**{clients.summary(holdings).positions}** positions, "
        f"**${holdings.total_value:,.0f}** · "
        f"profile **{str(m.risk_profile).replace('_', ' ')}**"
        + (" · ESG-only" if m.esg_only else "")
        + (f" · single-name cap {m.single_name_cap:.0%}" if m.single_name_cap else "")
        + f" · words by **{settings.describe()}**"
    )
    if mandate is None:
        st.caption(
            "No mandate saved on Client & holdings: the risk profiler reads it from the "
            "client notes."
        )
    blocked = state.partial_blocked()
    if blocked:
        st.error(
            "Some rows of this book could not be read. On **Client & holdings**, fix the file or "
            "tick **Proceed without these rows** before the crew runs."
        )
    asked = cash_requests.current()
    if request_problem:
        st.error(
            f"Cash request: {request_problem}. Change it on **Client & holdings** before the "
            "crew runs."
        )
    elif asked:
        st.caption("Planned for: " + "; ".join(cash_requests.describe(r) for r in asked))
    st.button(
        "Run the crew",
        type="primary",
        key="run_crew",
        disabled=blocked
        or not may_run
        or bool(request_problem)
        or (rid is not None and worker.is_running(rid)),
        help=None if may_run else "Your role does not start runs for this client",
        # A callback runs before the page is drawn, so this one pass already shows the run
        # going and the button disabled: no second click can start a second run.
        on_click=start,
    )

if not rid:
    st.stop()

# A run planned in a batch on the Book page has its ticket but no words yet: the crew writes
# them for the saved plan the first time the run is opened here, by someone who may act on the
# run's client (not merely the client on screen).
may_narrate = identity.allowed("decide", services.ledger().owner(rid))
if may_narrate and st.session_state.get("narrated") != rid:
    st.session_state["narrated"] = rid
    if worker.narrate_run(services.ledger(), rid, settings):
        st.session_state.pop("run_view", None)
        st.caption(
            "Planned in a batch from the Book page: its ticket is ready; the crew is writing "
            "its words for that saved plan now."
        )


def render_result(p: Panel) -> None:
    if not p.result:
        return
    agent_results.render(p.agent, p.result)
    if st.checkbox("Raw JSON", key=f"raw_{p.agent}"):
        st.json(p.result)


def header(p: Panel) -> str:
    bits = [f"{ICONS[p.state]} {p.title} — {p.state}"]
    if p.duration_s is not None:
        bits.append(f"{p.duration_s:.1f} s")
    if p.tokens is not None:
        bits.append(f"{p.tokens:,} tokens")
    if p.cost_usd is not None:
        bits.append(f"${p.cost_usd:.4f}")
    return " · ".join(bits)


def progress(view: RunView, run: RunRecord, alive: bool) -> None:
    """Agents done out of all the crew's and the time so far, ticking while the run is alive."""
    elapsed = view.totals.get("duration_s") if view.finished else view.last_t
    if alive and run.created_at:
        started = datetime.fromisoformat(run.created_at)
        elapsed = max(view.last_t, (datetime.now(UTC) - started).total_seconds())
    total = len(view.panels)
    st.progress(
        view.done / total,
        text=f"Agents done {view.done} of {total} · {elapsed or 0:.1f} s elapsed",
    )


running = worker.is_running(rid)


@st.fragment(run_every=0.3 if running else None)
def panels() -> None:
    ledger = services.ledger()
    cached = st.session_state.get("run_view")
    view = cached[1] if cached and cached[0] == rid else new_view()
    try:
        fold(view, ledger.events(rid, after_seq=view.last_seq))
    except Exception as exc:
        st.error(f"Run {rid} cannot be shown: {exc}")
        return
    st.session_state["run_view"] = (rid, view)
    alive = worker.is_running(rid)
    run = ledger.run(rid)
    status = run.status
    progress(view, run, alive)
    if alive:
        st.info(f"Run `{rid}` is working. You can switch pages; it goes on.")
    elif view.finished:
        totals = view.totals
        st.success(
            f"Run `{rid}` finished: **{run_status(status)}** · "
            f"{totals.get('duration_s', 0):.1f} s · "
            f"{totals.get('input_tokens', 0) + totals.get('output_tokens', 0):,} tokens · "
            f"${totals.get('cost_usd', 0):.4f}. {view.message}"
        )
    elif status == "FAILED":
        st.error(f"Run `{rid}` failed: {run.error or 'see the agents below'}")
    else:
        st.warning(f"Run `{rid}` stopped before finishing (the server restarted). Run it again.")
    fell_back = [p.title for p in view.panels.values() if p.state == "fell back"]
    if fell_back:
        st.warning(
            f"The configured language model could not be used for {len(fell_back)} agent(s); "
            "the offline analyst wrote their words. Every number still comes from the engine."
        )
    for p in view.panels.values():
        # While the crew works, only the agents at work are open, so their words are in view
        # right under the progress line; once it is over every answer is open to read.
        is_open = p.state not in ("waiting", "done") if alive else p.state != "waiting"
        with st.expander(header(p), expanded=is_open):
            if p.state == "waiting":
                st.caption("Waiting for its inputs.")
                continue
            for n in p.notes:
                (st.caption if n.startswith("Mandate set by the advisor") else st.warning)(n)
            st.markdown(p.text or f"_{p.activity}_")
            if p.state in ("done", "fell back", "failed"):
                render_result(p)
    if running and not alive:
        st.rerun()  # the run ended: one full rerun switches polling off


panels()
if not running and state.run_id():
    st.page_link("views/ticket.py", label="Review the trade ticket", icon=":material/receipt_long:")
