"""The desk: navigation, sign-in and the pages, run for each visit (`streamlit run app.py`
serves it; tests drive it directly with AppTest)."""

from __future__ import annotations

import streamlit as st

from ui import address, identity
from ui.gc_freeze import freeze_new_imports

# A page icon of its own: without one the browser is pointed at each page's Material icon on
# fonts.gstatic.com for the tab icon, which fails offline.
st.set_page_config(page_title="Rebalance Desk", page_icon="⚖️", layout="wide")

PAGES = [
    st.Page(
        "views/client.py", title="Client & holdings", icon=":material/folder_open:", default=True
    ),
    st.Page("views/book.py", title="Book", icon=":material/table_view:"),
    st.Page("views/allocation.py", title="Allocation", icon=":material/donut_large:"),
    st.Page("views/rebalance.py", title="Rebalance", icon=":material/smart_toy:"),
    st.Page("views/ticket.py", title="Trade ticket", icon=":material/receipt_long:"),
    st.Page("views/history.py", title="History", icon=":material/history:"),
    st.Page("views/settings.py", title="Settings", icon=":material/settings:"),
]

nav = st.navigation(PAGES)
with st.sidebar:
    st.markdown("### :material/balance: Rebalance Desk")
identity.sidebar()
identity.gate()
address.sync()
try:
    nav.run()
finally:
    # Once per new set of imports, not per run: Streamlit's full collection after each run
    # (every approve click) then skips the modules' objects.
    freeze_new_imports()
