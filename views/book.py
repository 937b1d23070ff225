"""Book: every household the advisor may see, sorted by need; batch runs saved for review."""

from __future__ import annotations

import streamlit as st

from portfolio.book_table import filter_summary
from ui import address, book_view, clients, identity, services

PAGE_SIZE = 50
ALL = "All"

st.title("Book")
st.caption(
    "Every household at a glance, most in need first: the worst class against its band, "
    "classes out of band, single names over the cap, cash above its band and losses that can "
    "be harvested in taxable accounts (no purchase of the same fund in the 30 days before)."
)

try:
    view = book_view.load(refresh=st.button("Refresh", key="book_refresh"))
except PermissionError as exc:
    st.error(str(exc))
    st.stop()

summary = view.summary
if summary.empty:
    st.info("No client with holdings yet. Add clients on the Client & holdings page.")
    st.stop()

c1, c2, c3 = st.columns(3)
advisors = sorted({str(a) for a in summary["advisor"].dropna()})
advisor = c1.selectbox("Advisor", [ALL, *advisors], key="book_advisor")
statuses = sorted({str(s) for s in summary["last_status"].fillna("none")})
status = c2.selectbox("Last run", [ALL, *statuses], key="book_status")
only_out = c3.checkbox("Out of band only", key="book_out_only")
shown = filter_summary(
    summary,
    advisor=None if advisor == ALL else advisor,
    status=None if status == ALL else status,
    out_of_band_only=only_out,
)

m = st.columns(4)
m[0].metric("Households", f"{len(shown):,}")
m[1].metric("Out of band", f"{int((shown['out_of_band'] > 0).sum()):,}")
m[2].metric("Cap breaches", f"{int(shown['cap_breaches'].sum()):,}")
m[3].metric("Harvestable losses", f"${shown['harvestable_loss'].sum():,.0f}")

pages = max(1, -(-len(shown) // PAGE_SIZE))
page = int(st.number_input("Page", 1, pages, 1, key="book_page")) if pages > 1 else 1
rows = shown.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
# A static table paints at once; the sortable grid (a heavier component) is there on request.
if st.toggle("Sort and search this page", key="book_grid"):
    st.dataframe(
        book_view.table(rows),
        column_config=book_view.COLUMN_CONFIG,
        hide_index=True,
        width="stretch",
    )
else:
    st.markdown(book_view.static_table(rows, address.params()))

names = dict(zip(summary["household"], summary["name"], strict=True))
on_page = list(rows["household"])
# After the table, which paints first; before the actions, so a click on them never lands
# while the chart is still being drawn.
heat = rows.head(book_view.MAX_HEAT_ROWS)["household"]
with st.expander("Drift heat map (this page's households, most in need first)", expanded=True):
    st.plotly_chart(book_view.drift_heatmap(view.drift.loc[list(heat)], names), width="stretch")

st.subheader("Open a client")
pick = st.selectbox(
    "Household on this page",
    on_page,
    format_func=lambda h: names.get(h, h),
    key="book_open",
)
opened = st.button("Open its rebalance", key="book_open_go") and pick is not None
if opened and clients.open_client(int(pick)):
    st.switch_page("views/rebalance.py", query_params=address.params())

st.subheader("Batch")
st.caption(
    "Each household is planned by the engine and saved as a run in PENDING_REVIEW with its "
    "ticket; the crew's narrative is written when the run is opened."
)
chosen = st.multiselect(
    "Households on this page to run",
    on_page,
    format_func=lambda h: names.get(h, h),
    key="book_chosen",
)
out_ids = list(shown.loc[shown["out_of_band"] > 0, "household"])
b1, b2 = st.columns(2)
run_chosen = b1.button(f"Run selected ({len(chosen)})", disabled=not chosen, key="book_run")
run_out = b2.button(
    f"Run all out of band ({len(out_ids)})", disabled=not out_ids, key="book_run_out"
)
if run_chosen or run_out:
    name = identity.advisor()
    if not name:
        st.warning("Say who you are in the sidebar first: each run records who started it.")
    else:
        from portfolio.book_runs import run_batch

        batch = book_view.households(chosen if run_chosen else out_ids)
        with st.spinner(f"Planning {len(batch)} household(s)…"):
            saved = run_batch(services.ledger(), batch, started_by=name)
        st.session_state["book_saved"] = saved
        book_view.load(refresh=True)
        st.rerun()

saved = st.session_state.get("book_saved")
if saved:
    st.success(f"Saved {len(saved)} run(s) in PENDING_REVIEW.")
    st.dataframe(
        [{"household": names.get(h, h), "run": r} for h, r in saved.items()],
        hide_index=True,
    )
