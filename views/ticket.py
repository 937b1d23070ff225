"""Trade ticket: approve, veto or edit each proposed trade, execute the approved ones, download the
order file. Every click is a decision in the ledger under the advisor's name.

Each trade row is its own fragment: a click on a row reruns that row, the status line, and what
follows from the decisions (the tax impact, the after-trade view, the downloads), not the page.
"""

from __future__ import annotations

import streamlit as st

from portfolio.cash_requests import restate
from portfolio.ledger import LedgerError, execute_decided, paper_broker
from portfolio.ledger.execute import undecided
from portfolio.ledger.read_models import RunRecord
from portfolio.ledger.status import FINAL, final_reason
from portfolio.orders import to_csv
from portfolio.plain_words import run_outcome, run_status
from portfolio.post_trade import weights_after
from portfolio.proposal_pdf import build_proposal_pdf
from portfolio.tax_impact import tax_impact
from portfolio.ticket_orders import funding_problem, order_set, unfunded
from portfolio.trade_edits import EditRefused, parse_quantity
from ui import charts, identity, services, state
from ui import ticket_rows as rows
from ui.proposal import run_proposal
from ui.proposal_document import proposal_document

st.title("Trade ticket")

rid = state.run_id()
proposal = run_proposal()
if not rid or proposal is None:
    st.info("Run the crew on **Rebalance** to get a ticket of proposed trades.")
    st.stop()

who = identity.require_advisor()
ledger = services.ledger()
owner = ledger.owner(rid)
if not identity.allowed("view", owner):
    st.error("This run belongs to a client you may not see.")
    st.stop()
if who and not identity.allowed("decide", owner):
    who = None  # read-only for this identity: decisions stay disabled
acting = identity.current()
firm = identity.firm()


def sentence(text: str) -> str:
    """An error as the advisor reads it: a capital first letter and a full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


def decide(trade_ids: list[str], approve: bool) -> None:
    if not who or not trade_ids:
        return
    try:
        if approve:
            ledger.decide(rid, approve=trade_ids, by=who)
        else:
            ledger.decide(rid, veto=trade_ids, by=who)
    except LedgerError as exc:
        st.session_state["ticket_error"] = sentence(str(exc))


def sign_off() -> None:
    if acting is None:
        return
    try:
        ledger.sign_off(rid, acting, firm)
    except LedgerError as exc:
        st.session_state["ticket_error"] = sentence(str(exc))


def decide_row(tid: str, kind: str) -> None:
    """A row's approve or veto: the row, the status line and what follows from them redraw."""
    try:
        if kind == "APPROVE":
            ledger.decide(rid, approve=[tid], by=who or "")
        else:
            ledger.decide(rid, veto=[tid], by=who or "")
    except LedgerError as exc:
        st.session_state[f"row_error_{tid}"] = sentence(str(exc))
    rows.rerun_after_row(tid, rows.execute_inputs(ledger.run(rid)))


def edit_row(tid: str) -> None:
    """Approve the trade at the quantity typed; the compliance gate judges it again first."""
    try:
        qty = parse_quantity(st.session_state.get(f"qty_{tid}"))
        ledger.decide(rid, quantities={tid: qty}, by=who or "")
    except (EditRefused, LedgerError) as exc:
        st.session_state[f"row_error_{tid}"] = sentence(str(exc))
    rows.rerun_after_row(tid, rows.execute_inputs(ledger.run(rid)))


def execute() -> None:
    """A callback, so it runs before the ticket redraws and the rows already show the fills."""
    if acting is None:
        return
    run = ledger.run(rid)
    approved = [t.trade_id for t in run.trades if t.decided == "APPROVE" and not t.execution]
    edited = rows.edited_proposal(proposal, run)
    problem = funding_problem(unfunded(edited, approved, services.securities()))
    if problem:  # said in the advisor's words; the ledger below refuses the same set anyway
        st.session_state["ticket_error"] = problem
        return
    try:
        # The one policy for undecided trades: the advisor's execution vetoes them; anyone
        # else is refused until they are decided.
        execute_decided(ledger, rid, paper_broker(ledger), by=acting, firm=firm, decider=who)
    except LedgerError as exc:
        st.session_state["ticket_error"] = sentence(str(exc))


@st.fragment(key=rows.TICKET)
def ticket() -> None:
    run = ledger.run(rid)
    trades = run.trades
    executed = any(t.execution for t in trades)
    closed = final_reason(rid, run.status)
    if closed:
        st.info(closed.capitalize().replace("run ", "Run ", 1) + ". Decisions are closed.")
    if err := st.session_state.pop("ticket_error", None):
        st.error(err)

    open_ids = [t.trade_id for t in trades if t.compliance == "APPROVED" and not t.execution]
    c1, c2, c3 = st.columns([1, 1, 3], vertical_alignment="center")
    c1.button(
        "Approve all",
        key="approve_all",
        disabled=not who or executed or bool(closed),
        help="Approve every trade the compliance gate approved",
        on_click=decide,
        args=(open_ids, True),
        width="stretch",
    )
    c2.button(
        "Veto all",
        key="veto_all",
        disabled=not who or executed or bool(closed),
        help="Veto every trade the compliance gate approved",
        on_click=decide,
        args=(open_ids, False),
        width="stretch",
    )
    with c3:
        status_line()

    widths = [0.45, 1.5, 0.95, 1.35, 3.4, 1.25, 1.25]
    head = st.columns(widths)
    for col, name in zip(
        head, ["#", "Trade", "Qty", "Value", "Why", "Compliance", "Decision"], strict=True
    ):
        col.markdown(f"**{name}**")
    rows.drawn(run)
    for t in trades:
        st.fragment(trade_row, key=rows.row_key(t.trade_id))(t.trade_id, widths)

    tax_panel()
    chosen = rows.chosen(trades)
    after_trade()

    st.divider()
    c1, c2 = st.columns([1, 3])
    blockers = (
        ledger.execution_blockers(rid, acting, firm)
        if acting
        else ["nobody has given a name or signed in"]
    )
    if firm.require_second_approver and not firm.local:
        signed = [x for x in ledger.sign_offs(rid) if x.current]
        c2.caption(
            "Four-eyes: "
            + (
                f"signed off by {', '.join(x.by for x in signed)}."
                if signed
                else "no sign-off yet."
            )
        )
        if acting and identity.allowed("sign_off", owner) and not signed and not closed:
            c2.button("Sign off for execution", key="sign_off", on_click=sign_off)
    c1.button(
        "Execute approved trades",
        type="primary",
        key="execute",
        disabled=bool(blockers) or not chosen or run.status in FINAL,
        help="; ".join(blockers) or None,
        on_click=execute,
    )
    if blockers and run.status not in FINAL:
        c2.caption("Execute is disabled: " + "; ".join(blockers) + ".")
    # Execute is a callback: it ran before this drawing, so `run` already has its outcome.
    if run.status in FINAL | {"EXECUTING", "EXECUTION_FAILED"}:
        tone, words = run_outcome(run)
        if words:
            getattr(st, tone)(words)
    downloads(run)


@st.fragment(key=rows.STATUS)
def status_line() -> None:
    """Where the run stands, in words; redrawn after every row's click."""
    run = ledger.run(rid)
    trades = run.trades
    decided = sum(1 for t in trades if t.decision)
    st.markdown(
        f"Run `{rid}` · **{run_status(run.status)}** · {decided} of {len(trades)} trades decided"
    )
    # Cash requests, as the trades that may still run leave them.
    for r in restate(proposal, rows.live_trades(proposal, run)):
        tone = st.success if r.met else st.warning
        tone(("Met — " if r.met else "Not met — ") + r.message + ".", icon=None)
    pending = undecided(run)
    if pending and not any(t.execution for t in trades):
        st.caption(
            f"{len(pending)} compliant trade(s) still undecided: executing now records "
            "them as vetoed and leaves them out."
        )


def trade_row(tid: str, widths: list[float]) -> None:
    """One trade: what it is, the gate's verdict, the advisor's decision and quantity edit."""
    run = ledger.run(rid)
    t = run.trade(tid)
    closed = final_reason(rid, run.status)
    reasons = {x.id: x.reason for x in proposal.trades}
    row = st.columns(widths, vertical_alignment="center")
    row[0].write(tid)
    colour = "green" if t.action == "BUY" else "red"
    row[1].markdown(f":{colour}[{t.action}] **{t.symbol}**")
    row[1].caption(t.account)
    row[2].write(f"{t.quantity:,.6g}")
    row[2].caption(
        f"@ ${t.price:,.2f}" + (f" · edited from {t.proposed_quantity:,.6g}" if t.edited else "")
    )
    row[3].write(f"${t.value:,.0f}")
    row[4].caption(reasons.get(tid, ""))
    if err := st.session_state.pop(f"row_error_{tid}", None):
        row[4].error(err)
    if t.compliance == "VETOED":
        row[5].markdown(":red[**VETOED**]")
        row[4].caption(":red[" + "; ".join(t.reasons) + "]")
        row[6].caption("Cannot be approved")
        return
    row[5].markdown(":green[APPROVED]")
    decision = t.decided
    if t.execution:
        row[6].markdown(f"**{t.execution.status}**")
        return
    for col, (icon, verb, kind) in zip(
        row[6].columns(2), (("✓", "approve", "APPROVE"), ("✗", "veto", "VETO")), strict=True
    ):
        col.button(
            icon,
            key=f"{verb}_{tid}",
            help=closed or (f"{verb.capitalize()} {tid}" if kind == "APPROVE" else f"Drop {tid}"),
            disabled=not who or bool(closed),
            type="primary" if decision == kind else "secondary",
            on_click=decide_row,
            args=(tid, kind),
        )
    if t.decision:
        done = {"APPROVE": "approved", "VETO": "vetoed"}[t.decision.decision]
        row[6].caption(f"{done} by {t.decision.by}")
    if who and not closed:
        with row[2].popover("Edit", help=f"Change the quantity of {tid}"):
            st.number_input(
                f"Quantity of {t.symbol}",
                min_value=0.0,
                value=t.quantity,
                step=1.0 if not proposal.mandate.fractional else 0.01,
                key=f"qty_{tid}",
            )
            st.caption(
                "The compliance gate judges the new quantity with the other trades. "
                "To drop the trade, veto it."
            )
            st.button(
                "Approve at this quantity", key=f"save_qty_{tid}", on_click=edit_row, args=(tid,)
            )


@st.fragment(key=rows.TAX)
def tax_panel() -> None:
    """Realised gains of the sells that may still run, at their edited quantities."""
    run = ledger.run(rid)
    live = rows.live_trades(proposal, run)
    impact = tax_impact(live, rows.tax_types(rid, live))
    with st.expander("Tax impact", expanded=False):
        rows.draw_tax(impact)


@st.fragment(key=rows.AFTER)
def after_trade() -> None:
    run = ledger.run(rid)
    approved = rows.approved_trades(proposal, run)
    after, _ = weights_after(proposal.positions, approved)
    st.plotly_chart(charts.allocation_bars(proposal, after), key="ticket_after")
    st.caption(f"After-trade view with the {len(approved)} trade(s) approved so far.")


@st.fragment(key=rows.DOWNLOADS)
def downloads(run: RunRecord | None = None) -> None:
    """Exactly what will be executed (the approved, funded set) or what was (the fills)."""
    run = ledger.run(rid)  # fresh: a row's click reruns this alone
    offer = order_set(run, rows.edited_proposal(proposal, run), services.securities())
    c1, c2, c3 = st.columns(3)
    for col, label, layout, name in (
        (c1, "Download order file (CSV)", "neutral", "orders"),
        (c2, "Download Wealthscape import file", "wealthscape", "wealthscape"),
    ):
        col.download_button(
            label,
            to_csv(offer.lines, layout) if offer.lines else "",
            file_name=f"{name}-{rid}.csv",
            mime="text/csv",
            key=f"dl_{layout}",
            on_click="ignore",  # a download changes nothing on the page
            disabled=not offer.lines,
            help=offer.reason,
        )
    edited, securities = rows.edited_proposal(proposal, run), services.securities()
    c3.download_button(
        "Download client proposal (PDF)",
        # Assembled and built on the click, not on every drawing (a row's click redraws this).
        lambda: build_proposal_pdf(proposal_document(ledger, run, edited, securities, who)),
        file_name=f"proposal-{rid}.pdf",
        mime="application/pdf",
        key="dl_proposal",
        on_click="ignore",
        help="Mandate, allocation before and after, rationale, trades, tax impact, disclosures",
    )
    if offer.lines:
        n = len(offer.lines)
        st.caption(
            f"The files hold the {n} filled order{'s' if n != 1 else ''}."
            if offer.executed
            else f"The files hold the {n} approved trade{'s' if n != 1 else ''}, as they "
            "will be executed."
        )
    elif offer.reason:
        st.caption(offer.reason)


ticket()
