"""Rebalance Desk: the advisor's one screen for a client's rebalance.

`streamlit run app.py` starts it on the built-in defaults: offline analyst, paper broker, and a
SQLite ledger in ./var. The desk itself (navigation, sign-in, pages) is `desk.py`; this file is
the server around it, which imports what the pages need before it takes the first visit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st

from ui.gc_freeze import freeze_now
from ui.warm import warm_book, warm_desk


@asynccontextmanager
async def _warm(_: Any) -> AsyncIterator[None]:
    warm_desk()
    # The modules' objects live as long as the server: frozen now, the full collection
    # Streamlit runs after every script run (the first visit's included) skips them.
    freeze_now()
    # After the freeze: the figures are let go when the ledger changes.
    warm_book()
    yield


app = st.App("desk.py", lifespan=_warm)
