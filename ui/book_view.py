"""The Book page's edges: who may see which household, the book from the ledger (kept for the
session until a batch or a refresh), and the drift heat map (plotly, no Streamlit in the figure)."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from portfolio.access import Firm, Identity, may
from portfolio.book_summaries import StoredBook, stored_book
from portfolio.ledger.clients import ClientRecords
from ui import identity, services

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from portfolio.practice import HouseholdBook

KEY = "_book_view"
LOCAL = "local"  # the viewer in local mode: every client
MAX_HEAT_ROWS = 40


def load(refresh: bool = False) -> StoredBook:
    """The summary of the households this identity may see: kept for the session, and shared by
    every session of the server while the ledger's records and runs stay as they were. Each
    household's figures come from the ledger's stored ones while its record is unchanged
    (`book_summaries`), so a server's first visit reads no holdings unless they changed."""
    if not refresh and KEY in st.session_state:
        return st.session_state[KEY]
    # The firm every page asks: the secrets' people and those added on Settings.
    f = identity.firm()
    person = identity.current()
    # Who sees what depends on the person and on the firm's people (teams, roles).
    viewer = LOCAL if f.local else f"{f.model_dump_json()}|{person and person.model_dump_json()}"
    got = _computed(_stamp(), viewer, date.today(), f, person)
    st.session_state[KEY] = got
    return got


def warm() -> int:
    """In local mode (the one advisor sees every client) the book's figures are read as the
    server starts, so the first visit to the Book page finds them; a firm's viewers each see
    their own part, read on their first visit. Returns the households read."""
    f = identity.firm()
    if not f.local:
        return 0
    return len(_computed(_stamp(), LOCAL, date.today(), f, None).summary)


def _stamp() -> tuple[Any, ...]:
    """The ledger's state the figures were read in: its address and its records' fingerprint."""
    engine = services.ledger().engine
    return (str(engine.url), *ClientRecords(engine).fingerprint())


def households(ids: list[str]) -> list[HouseholdBook]:
    """The chosen households' books (for a batch), read when asked, as this identity may see."""
    # The engine's modules are imported on the first batch, not for the page's first paint.
    from portfolio.book_runs import ledger_households

    f = identity.firm()
    person = identity.current()
    return ledger_households(
        services.ledger(), _may_see(f, person), client_ids=[int(i) for i in ids]
    )


def _may_see(firm: Firm, person: Identity | None):  # type: ignore[no-untyped-def]
    # Local mode: the one advisor sees every client; with a firm file, `access.may` decides.
    return lambda owner: firm.local or (person is not None and may(person, "view", owner, firm))


@st.cache_resource(max_entries=8, show_spinner="Reading the book…")
def _computed(
    stamp: tuple[Any, ...], viewer: str, today: date, _firm: Firm, _person: Identity | None
) -> StoredBook:
    """Keyed by the ledger's state, the viewer and the day; the firm and person it was computed
    for are the viewer's, so they need no key of their own."""
    # Figures, not books: a few frames of one row per household, which the collection after
    # each run walks in no time (the parsed books it once held were frozen out of it here, at
    # the cost of a full collection before the page's first paint).
    return stored_book(
        services.ledger(),
        _may_see(_firm, _person),
        as_of=today,
        securities=services.securities(),
    )


def drift_heatmap(drift: pd.DataFrame, names: dict[str, str]) -> go.Figure:
    """Households (rows, in the order given) x asset classes, drift in percentage points."""
    # Imported here, after the table is sent: plotly's figure classes take a cold server
    # about half a second to import.
    import plotly.graph_objects as go

    z = drift.to_numpy(float) * 100
    labels = [names.get(h, h) for h in drift.index]
    cols = [c.replace("_", " ") for c in drift.columns]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=cols,
            y=labels,
            colorscale="RdBu_r",
            zmid=0,
            colorbar={"title": "pts"},
            hovertemplate="%{y}<br>%{x}: %{z:+.1f} pts<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(240, 22 * len(labels) + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"autorange": "reversed"},
    )
    return fig


def table(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows as the page shows them, with a link that opens the client's rebalance."""
    out = summary[
        [
            "name",
            "advisor",
            "value",
            "worst_class",
            "worst_drift",
            "out_of_band",
            "cap_breaches",
            "cash_above_band",
            "harvestable_loss",
            "last_status",
        ]
    ].copy()
    out["worst_drift"] = out["worst_drift"] * 100
    out["open"] = "rebalance?client=" + summary["household"].astype(str)
    return out


def _money(v: float) -> str:
    return f"${v:,.0f}" if v and v == v else "—"


def _text(v: Any) -> str:
    """A cell's text: nothing for a missing value (None, or pandas' NaN)."""
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)


def _points(v: float) -> str:
    return f"{v:+.1f}" if v == v else "—"


# Numbers right-aligned, as in a ledger.
_RIGHT = {
    "Value",
    "Drift (pts)",
    "Out of band",
    "Cap breaches",
    "Cash over band",
    "Harvestable loss",
}


def static_table(summary: pd.DataFrame, link_params: dict[str, str]) -> str:
    """The rows as a Markdown table, each household's name a link to its rebalance (the address
    carries the advisor, so a new tab opens signed in). Markdown, not a data grid: it paints with
    the page's text, without the grid's scripts, which the first paint of a large book waits on."""
    base = {k: v for k, v in link_params.items() if k not in ("client", "run")}

    def link(household: Any, name: str) -> str:
        query = urlencode({"client": str(household), **base})
        return f"[{_escape(name)}](rebalance?{query})"

    cols = {
        "Household": [
            link(h, str(n)) for h, n in zip(summary["household"], summary["name"], strict=True)
        ],
        "Advisor": [_escape(_text(a)) for a in summary["advisor"]],
        "Value": [_money(v) for v in summary["value"]],
        "Worst class": [_escape(_text(c).replace("_", " ")) for c in summary["worst_class"]],
        "Drift (pts)": [_points(v * 100) for v in summary["worst_drift"]],
        "Out of band": [str(int(v)) for v in summary["out_of_band"]],
        "Cap breaches": [str(int(v)) for v in summary["cap_breaches"]],
        "Cash over band": [_money(v) for v in summary["cash_above_band"]],
        "Harvestable loss": [_money(v) for v in summary["harvestable_loss"]],
        "Last run": [_escape(_text(s) or "none") for s in summary["last_status"]],
    }
    head = "| " + " | ".join(cols) + " |"
    rule = "|" + "|".join("---:" if c in _RIGHT else "---" for c in cols) + "|"
    body = ["| " + " | ".join(row) + " |" for row in zip(*cols.values(), strict=True)]
    return "\n".join([head, rule, *body])


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def _escape(text: str) -> str:
    """A client's name as literal text inside Markdown (names come from uploads and advisors)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


COLUMN_CONFIG: dict[str, Any] = {
    "name": st.column_config.TextColumn("Household"),
    "advisor": st.column_config.TextColumn("Advisor"),
    "value": st.column_config.NumberColumn("Value", format="$%,.0f"),
    "worst_class": st.column_config.TextColumn("Worst class"),
    "worst_drift": st.column_config.NumberColumn("Drift (pts)", format="%+.1f"),
    "out_of_band": st.column_config.NumberColumn("Out of band"),
    "cap_breaches": st.column_config.NumberColumn("Cap breaches"),
    "cash_above_band": st.column_config.NumberColumn("Cash over band", format="$%,.0f"),
    "harvestable_loss": st.column_config.NumberColumn("Harvestable loss", format="$%,.0f"),
    "last_status": st.column_config.TextColumn("Last run"),
    "open": st.column_config.LinkColumn("Open", display_text="Rebalance"),
}
