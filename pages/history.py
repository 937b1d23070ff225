"""History: past runs with their transcripts, decisions, executions and the audit chain's state."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from portfolio.audit import audit_record
from ui import address, services, state

st.title("History")
ledger = services.ledger()

report = ledger.verify()
if report.ok:
    st.success("Audit chain verified: no decision or execution has been altered.")
else:
    st.error(f"Audit chain broken at {report.first_broken}")

runs = ledger.runs(limit=200)
if not runs:
    st.info("No runs recorded yet.")
    st.stop()
table = pd.DataFrame(
    [
        {
            "When": pd.Timestamp(r["created_at"]).strftime("%Y-%m-%d %H:%M")
            if r["created_at"]
            else "",
            "Client": r["client"] or "—",
            "File": r["file"] or "—",
            "Profile": str(r["profile"] or "—").replace("_", " "),
            "Trades": r["trades"],
            "Status": str(r["status"]).replace("_", " ").lower(),
            "Run": r["run_id"],
        }
        for r in runs
    ]
)
st.dataframe(table, hide_index=True, width="stretch")

ids = [r["run_id"] for r in runs]
current = state.run_id()
rid = st.selectbox(
    "Run",
    ids,
    index=ids.index(current) if current in ids else 0,
    key="hist_run",
    format_func=lambda i: next(
        f"{r['created_at'][:19]} · {r['client'] or '—'} · {r['status']} · {i}"
        for r in runs
        if r["run_id"] == i
    ),
)
run = ledger.run(rid)
c1, c2, c3 = st.columns([1, 1, 2])
if c1.button("Open on the ticket", key="open_run"):
    state.set_run_id(rid)
    # The address carries the run, its client and the advisor, so the ticket opens as signed.
    st.switch_page("pages/ticket.py", query_params=address.params(rid))
c2.download_button(
    "Auditor's JSON",
    json.dumps(audit_record(ledger, rid), indent=2, default=str),
    file_name=f"audit-{rid}.json",
    mime="application/json",
    key="audit_dl",
)
c3.markdown(f"Status **{run['status']}** · source file `{(run['snapshot'] or {}).get('filename')}`")

tabs = st.tabs(["Trades", "Agents", "Decisions", "Executions"])
with tabs[0]:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Trade": t["trade_id"],
                    "Account": t["account"],
                    "Side": t["action"],
                    "Symbol": t["symbol"],
                    "Quantity": t["quantity"],
                    "Value": t["value"],
                    "Compliance": t["compliance"],
                    "Why": "; ".join(t["reasons"] or []),
                    "Decision": (t.get("decision") or {}).get("decision"),
                    "Execution": (t.get("execution") or {}).get("status"),
                }
                for t in run["trades"]
            ]
        ),
        hide_index=True,
        width="stretch",
    )
with tabs[1]:
    for a in ledger.agent_results(rid):
        st.markdown(
            f"**{a['agent'].replace('_', ' ').capitalize()}** · {a['status']} · "
            f"{a['provider']} / {a['model']}"
        )
        st.markdown(a["transcript"] or "_no transcript_")
        st.json(a["result"], expanded=False)
with tabs[2]:
    st.dataframe(pd.DataFrame(ledger.decisions(rid)), hide_index=True, width="stretch")
with tabs[3]:
    st.dataframe(pd.DataFrame(ledger.executions(rid)), hide_index=True, width="stretch")
