"""Small rendering helpers shared by pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from portfolio.book import BookSummary
from portfolio.labels import class_label
from portfolio.models import Holdings, ImportIssue, Position

# What a blank cost-basis cell means, said once under the table.
NO_BASIS = "cost basis not in the file"


def money(x: float | None) -> str:
    return "—" if x is None else f"${x:,.2f}"


def import_report(holdings: Holdings, summary: BookSummary, issues: list[ImportIssue]) -> None:
    """Positions, cash, skipped rows and errors with their line numbers and the rows themselves.

    The counts are the engine's (`portfolio.book.summarize`): only swept cash is cash, and a
    purchased money-market fund is a position in the cash class."""
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity == "warning"]
    c = st.columns(5)
    c[0].metric("Positions", summary.positions)
    c[1].metric("Accounts", summary.accounts)
    c[2].metric("Total value", f"${summary.total_value:,.0f}")
    c[3].metric(
        "Cash",
        f"${summary.cash:,.0f}",
        help="Swept cash: cash rows and the custodian's core or settlement fund. A money-market "
        "fund or T-bill ETF you bought is a position in the cash class, sold by an order.",
    )
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


def cost_basis(p: Position) -> float | None:
    """The position's cost: its lots' when every lot states one, else the file's figure."""
    if p.lots and all(lt.cost_basis is not None for lt in p.lots):
        return float(sum(lt.cost_basis or 0.0 for lt in p.lots))
    return p.cost_basis


def positions_table(holdings: Holdings, summary: BookSummary) -> None:
    """One row per position, its class as the engine sees it; an unknown cost basis is a blank
    cell with a note, never "None"."""
    bases = [cost_basis(p) for p in holdings.positions]
    rows = [
        {
            "Account": p.account,
            "Symbol": p.symbol,
            "Description": p.description,
            "Asset class": class_label(cls) + (" (swept cash)" if swept else ""),
            "Quantity": p.quantity,
            "Price": money(p.price) if p.price is not None else "",
            "Market value": p.market_value,
            "Cost basis": "" if basis is None else money(basis),
            "Lots": len(p.lots),
        }
        for p, cls, swept, basis in zip(
            holdings.positions, summary.asset_classes, summary.swept, bases, strict=True
        )
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Market value": st.column_config.NumberColumn(format="dollar"),
            "Quantity": st.column_config.NumberColumn(format="%.4g"),
            "Cost basis": st.column_config.TextColumn(help=f"Blank: {NO_BASIS}"),
        },
    )
    unknown = [
        p
        for p, basis, swept in zip(holdings.positions, bases, summary.swept, strict=True)
        if basis is None and not swept
    ]
    if unknown:
        st.caption(
            f"Cost basis blank for {len(unknown)} of {summary.positions} position(s): "
            f"{NO_BASIS}, so gains on selling them are not known."
        )
