"""Keep the modules' objects out of Streamlit's full garbage collection after every script run.

Streamlit calls `gc.collect(2)` after each run, fragment runs included, so an approve click waits
for a full pass over every object the process holds: about 250,000 once pandas, plotly, SQLAlchemy
and the agents are imported, 0.1 to 0.4 s on a busy two-core machine. Nearly all of them are
module-level objects that live as long as the process. `gc.freeze()` moves them to the permanent
generation, which collections skip; reference counting still frees them as usual.

A freeze is taken after a run that imported something new (a page's first visit, a lazy import),
so it happens a handful of times per process, never per run: objects a session held at those
moments are never examined for cycles again, a bounded cost in memory. `freeze_now` does the
same for something large a page keeps for every session: the Book page once kept the parsed
uploads of thousands of households, and unfrozen, each run's full collection walked their
millions of objects while holding the lock the server needs to send the page (it now keeps
only each household's figures, `portfolio/book_summaries.py`).
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_modules_at_freeze = 0


def freeze_now() -> None:
    """Collect once and freeze what is alive: after reading something large and long-lived."""
    global _modules_at_freeze
    with _lock:
        gc.collect()
        gc.freeze()
        _modules_at_freeze = len(sys.modules)


def freeze_new_imports() -> bool:
    """Collect once and freeze when modules were imported since the last freeze; True if so."""
    global _modules_at_freeze
    with _lock:
        if len(sys.modules) <= _modules_at_freeze:
            return False
        gc.collect()  # today's garbage is freed, not frozen
        gc.freeze()
        _modules_at_freeze = len(sys.modules)
        return True
