"""The trade ticket's rows and what follows from them: which fragments a row's click reruns, the
trades at their edited quantities, and the tax-impact panel."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from portfolio.ledger.clients import suggest_tax_type
from portfolio.ledger.read_models import RunRecord, TradeRecord
from portfolio.models import RebalanceProposal, Trade
from portfolio.tax_impact import TaxImpact, TradeTax
from portfolio.trade_edits import with_quantities
from ui import clients

# Fragment keys (`st.fragment(key=...)`), so a row's click can rerun exactly these.
TICKET = "ticket"
STATUS = "ticket_status"
TAX = "ticket_tax"
AFTER = "ticket_after_view"
DOWNLOADS = "ticket_downloads"
TAX_TYPE_WORDS = {
    "taxable": "Taxable",
    "tax_deferred": "Tax-deferred (not taxed now)",
    "tax_free": "Tax-free",
}


def row_key(tid: str) -> str:
    return f"ticket_row_{tid}"


def chosen(trades: Sequence[TradeRecord]) -> set[str]:
    return {t.trade_id for t in trades if t.decided == "APPROVE"}


def execute_inputs(run: RunRecord) -> tuple[bool, str]:
    """What the rest of the ticket is drawn from (whether anything is approved, the run's status):
    while a click leaves these alone, redrawing its row and what follows is enough."""
    return bool(chosen(run.trades)), run.status


def drawn(run: RunRecord) -> None:
    """Called as the whole ticket is drawn: what its buttons were drawn from."""
    st.session_state["_ticket_drawn"] = execute_inputs(run)


def rerun_after_row(tid: str, now: tuple[bool, str]) -> None:
    """From a row's callback: rerun its row, the status line, the tax impact, the after-trade
    view and the downloads; the whole ticket only when its buttons' state changed."""
    if st.session_state.get("_ticket_drawn") != now:
        st.rerun(TICKET)
    st.rerun([row_key(tid), STATUS, TAX, AFTER, DOWNLOADS])


def edits(run: RunRecord) -> dict[str, float]:
    return {t.trade_id: t.quantity for t in run.trades if t.edited}


def edited_proposal(proposal: RebalanceProposal, run: RunRecord) -> RebalanceProposal:
    """The proposal with the advisor's edited quantities: what the files and the PDF hold."""
    q = edits(run)
    if not q:
        return proposal
    return proposal.model_copy(
        update={"trades": with_quantities(proposal.trades, q, proposal.as_of)}
    )


def approved_trades(proposal: RebalanceProposal, run: RunRecord) -> list[Trade]:
    ids = chosen(run.trades)
    return [t for t in edited_proposal(proposal, run).trades if t.id in ids]


def live_trades(proposal: RebalanceProposal, run: RunRecord) -> list[Trade]:
    """The trades that may still run: the gate approved them and the advisor did not drop them."""
    dropped = {t.trade_id for t in run.trades if t.decided == "VETO"}
    return [
        t
        for t in edited_proposal(proposal, run).trades
        if t.compliance.status == "APPROVED" and t.id not in dropped
    ]


def tax_types(run_id: str, trades: Sequence[Trade]) -> dict[str, str]:
    """Each account's tax type from the client record, else suggested from its name."""
    known: dict[str, str] = {}
    cid = clients.client_of_run(run_id)
    if cid is not None:
        known = {a.account: a.tax_type for a in clients.records().get(cid).accounts}
    return {t.account: known.get(t.account) or suggest_tax_type(t.account) for t in trades}


def _money(value: float | None) -> str:
    if value is None:
        return "not known"
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


def _wash_words(r: TradeTax) -> str:
    if r.wash_sale:
        return "yes: the loss is disallowed"
    if r.disallowed > 0:
        return f"{_money(r.disallowed)} of the loss disallowed (bought within 30 days before)"
    return ""


def draw_tax(impact: TaxImpact) -> None:
    if not impact.rows:
        st.caption("No sells: nothing on this ticket realises a gain or a loss.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "#": r.trade_id,
                    "Account": r.account,
                    "Tax type": TAX_TYPE_WORDS.get(r.tax_type or "", "not known"),
                    "Symbol": r.symbol,
                    "Proceeds": _money(r.proceeds),
                    "Short-term gain": _money(r.short_term),
                    "Long-term gain": _money(r.long_term),
                    "Wash sale": _wash_words(r),
                    "Lots sold": r.lots,
                }
                for r in impact.rows
            ]
        ),
        hide_index=True,
        key="ticket_tax_table",
    )
    st.markdown(
        f"**Taxable accounts:** short-term {_money(impact.short_term)} · long-term "
        f"{_money(impact.long_term)} · total {_money(impact.total)}"
    )
    notes = []
    if impact.unknown:
        notes.append(
            f"{impact.unknown} sell{'s' if impact.unknown != 1 else ''} in taxable accounts "
            "with no known gain (no cost basis, or an edited quantity): not in the total."
        )
    if any(r.disallowed > 0 for r in impact.rows):
        notes.append(
            "Shares bought in the 30 days before a loss sale disallow as much of its loss, "
            "already counted in the gains above (IRC §1091; Form 8949, code W). The amounts "
            "assume every sale of the proposal runs: vetoing or editing a sale of the same fund "
            "can change them."
        )
    if any(r.wash_sale for r in impact.rows):
        notes.append(
            "Wash sale: the ticket sells at a loss and buys the same security, so the loss is "
            "disallowed (IRC §1091, IRS Publication 550)."
        )
    if impact.budget_used is None:
        notes.append("No gains budget is set for this client.")
    else:
        notes.append(
            f"Gains budget: {_money(max(impact.total, 0.0))} of {_money(impact.budget)} used "
            f"({impact.budget_used:.0%})."
        )
    for note in notes:
        st.caption(note)
