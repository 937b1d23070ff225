"""History: past runs with their transcripts, decisions, executions and the audit chain's state."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from portfolio.audit import audit_record
from portfolio.ledger.anchor import anchor_json
from portfolio.plain_words import run_outcome, run_status
from ui import address, identity, services, state

st.title("History")
ledger = services.ledger()

report = ledger.verify()
if report.ok:
    st.success("Audit chain verified: no run, decision or execution has been altered.")
else:
    broken = report.first_broken or {}
    st.error(f"Audit chain broken: {broken.get('journal')}: {broken.get('reason')}")
anchor_col, key_col = st.columns([1, 3], vertical_alignment="center")
anchor_col.download_button(
    "Download anchor",
    anchor_json(ledger),
    file_name="ledger-anchor.json",
    mime="application/json",
    key="dl_anchor",
    help="The head of every chain. Keep it outside the database; "
    "`python -m portfolio verify --anchor FILE` then catches a truncated or wiped ledger.",
)
key_col.caption(
    f"Chains sealed with the firm key ({ledger.key_source}). Keep a copy of the key and the "
    "anchors outside the database."
)

# Only the runs this identity may see (its own clients, its team's, or all for firm-wide roles).
every = ledger.runs(limit=200)
shown = identity.visible_ids([(r.run_id, r.owner) for r in every])
runs = [r for r in every if r.run_id in shown]
if not runs:
    st.info("No runs recorded yet.")
    st.stop()

DOLLAR = st.column_config.NumberColumn(format="dollar")
WHEN = st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm")


@st.cache_data(show_spinner=False, max_entries=1000)
def run_facts(run_id: str) -> tuple[str, float | None]:
    """Who started a run and the value of the book it ran on: fixed once the run exists."""
    run = services.ledger().run(run_id)
    by = str(run.settings.get("started_by") or "—")
    report = run.snapshot.import_report if run.snapshot else {}
    value = report.get("total_value")
    return ("—" if by == "unauthenticated" else by), (float(value) if value is not None else None)


def when(iso: str | None) -> pd.Timestamp | None:
    return pd.Timestamp(iso).tz_convert(None) if iso else None


def text(value: object) -> str:
    """A cell for a person to read: never "None"."""
    return "—" if value in (None, "", []) else str(value)


def dollars(value: float | None, cents: bool = False) -> str:
    """An amount for a person to read; a dash when the ledger has none (a run recorded without
    its book, an order with no fill price), never "None" or "nan"."""
    if value is None or value != value:
        return "—"
    return f"${value:,.2f}" if cents else f"${value:,.0f}"


rows = []
for r in runs:
    advisor, value = run_facts(r.run_id)
    rows.append(
        {
            "Client": text(r.client),
            "Advisor": advisor,
            "Status": run_status(r.status).capitalize(),
            "Value": dollars(value),
            "Trades": r.trades,
            "Time": when(r.created_at),
            "Run": r.run_id,
        }
    )
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    width="stretch",
    column_config={"Time": WHEN},
)

ids = [r.run_id for r in runs]
current = state.run_id()
by_id = {r.run_id: r for r in runs}
rid = st.selectbox(
    "Run",
    ids,
    index=ids.index(current) if current in ids else 0,
    key="hist_run",
    format_func=lambda i: (
        f"{text(by_id[i].client)} · {run_status(by_id[i].status)} · "
        f"{(by_id[i].created_at or '')[:16].replace('T', ' ')} · {i}"
    ),
)
run = ledger.run(rid)
c1, c2, c3 = st.columns([1, 1, 2])
if c1.button("Open on the ticket", key="open_run"):
    state.set_run_id(rid)
    # The address carries the run, its client and the advisor, so the ticket opens as signed.
    st.switch_page("views/ticket.py", query_params=address.params(rid))
c2.download_button(
    "Auditor's JSON",
    json.dumps(audit_record(ledger, rid), indent=2, default=str),
    file_name=f"audit-{rid}.json",
    mime="application/json",
    key="audit_dl",
)
tone, outcome = run_outcome(run)
c3.markdown(
    f"**{run_status(run.status).capitalize()}** · source file "
    f"`{text(run.snapshot.filename if run.snapshot else None)}`"
    + (f" · {outcome}" if outcome else "")
)
details = st.toggle(
    "Show hashes and raw JSON", key="hist_details", help="The audit chain's links, for auditors"
)
DECISION_WORDS = {"APPROVE": "approved", "VETO": "vetoed"}

tabs = st.tabs(["Trades", "Agents", "Decisions", "Executions"])
with tabs[0]:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Trade": t.trade_id,
                    "Account": t.account,
                    "Side": t.action.capitalize(),
                    "Symbol": t.symbol,
                    "Quantity": t.quantity,
                    "Value": t.value,
                    "Compliance": t.compliance.capitalize(),
                    "Why": text("; ".join(t.reasons)),
                    "Decision": text(DECISION_WORDS.get(t.decided or "")),
                    "Execution": text((t.execution.status if t.execution else "").capitalize()),
                }
                for t in run.trades
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"Value": DOLLAR, "Quantity": st.column_config.NumberColumn(format="%g")},
    )
with tabs[1]:
    for a in ledger.agent_results(rid):
        st.markdown(
            f"**{a.agent.replace('_', ' ').capitalize()}** · {a.status} · {a.provider} / {a.model}"
        )
        st.markdown(a.transcript or "_no transcript_")
        if details:
            st.json(a.result, expanded=False)
with tabs[2]:
    decisions = ledger.decisions(rid)
    if not decisions:
        st.caption("No decision recorded on this run.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Trade": d.trade_id,
                        "Decision": DECISION_WORDS.get(d.decision, d.decision),
                        "By": text(d.by),
                        "Reason": text(d.reason),
                        "Time": when(d.at),
                    }
                    | ({"Hash": d.hash, "Previous hash": d.prev_hash} if details else {})
                    for d in decisions
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config={"Time": WHEN},
        )
with tabs[3]:
    executions = ledger.executions(rid)
    if not executions:
        st.caption("Nothing executed on this run.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Trade": e.trade_id,
                        "Stage": text(e.stage).capitalize(),
                        "Status": text(e.status).capitalize(),
                        "Side": text(e.action).capitalize(),
                        "Symbol": e.symbol,
                        "Quantity": e.quantity,
                        "Price": dollars(e.price, cents=True),
                        "Commission": dollars(e.commission, cents=True),
                        "Time": when(e.at),
                    }
                    | (
                        {
                            "Order id": e.client_order_id,
                            "Broker order": text(e.broker_order_id),
                            "Hash": e.hash,
                            "Previous hash": e.prev_hash,
                        }
                        if details
                        else {}
                    )
                    for e in executions
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config={"Time": WHEN},
        )
