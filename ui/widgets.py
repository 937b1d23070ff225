"""Small rendering helpers shared by pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from portfolio.labels import class_label
from portfolio.models import Holdings, ImportIssue


def money(x: float | None) -> str:
    return "—" if x is None else f"${x:,.2f}"


def import_report(holdings: Holdings, issues: list[ImportIssue]) -> None:
    """Positions, cash, skipped rows and errors with their line numbers and the rows themselves."""
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity == "warning"]
    c = st.columns(5)
    c[0].metric("Positions", sum(1 for p in holdings.positions if not p.is_cash))
    c[1].metric("Accounts", len(holdings.accounts))
    c[2].metric("Total value", f"${holdings.total_value:,.0f}")
    c[3].metric("Cash", f"${holdings.cash_value:,.0f}")
    c[4].metric("Rows with errors", len(errors))
    st.caption(f"Read as a **{holdings.format}** file: {holdings.source}")
    if errors:
        st.error(f"{len(errors)} row(s) could not be read and are not in the book.")
        st.dataframe(
            pd.DataFrame(
                [{"Line": i.line, "Problem": i.message, "Row": i.raw or ""} for i in errors]
            ),
            hide_index=True,
            width="stretch",
        )
    if warnings:
        with st.expander(f"{len(warnings)} warning(s)", expanded=not errors):
            for i in warnings:
                st.warning(f"Line {i.line or '—'}: {i.message}")
    if holdings.skipped:
        with st.expander(f"{len(holdings.skipped)} row(s) skipped as not holdings"):
            st.dataframe(
                pd.DataFrame(
                    [{"Line": s.line, "Why": s.reason, "Row": s.raw} for s in holdings.skipped]
                ),
                hide_index=True,
                width="stretch",
            )


def positions_table(holdings: Holdings) -> None:
    rows = [
        {
            "Account": p.account,
            "Symbol": p.symbol,
            "Description": p.description,
            "Asset class": class_label(p.asset_class),
            "Quantity": p.quantity,
            "Price": p.price,
            "Market value": p.market_value,
            "Cost basis": p.cost_basis,
            "Lots": len(p.lots),
        }
        for p in holdings.positions
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Price": st.column_config.NumberColumn(format="dollar"),
            "Market value": st.column_config.NumberColumn(format="dollar"),
            "Cost basis": st.column_config.NumberColumn(format="dollar"),
            "Quantity": st.column_config.NumberColumn(format="%.4g"),
        },
    )
