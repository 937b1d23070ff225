"""Cyclic garbage collection paused while a large, long-lived structure is built.

Reading a practice's book or a big holdings file allocates millions of objects that all stay
alive (pydantic positions, lots, frames): each automatic collection the allocations trigger walks
every one of them and frees nothing. Measured on 5,000 households read from the ledger and
summarised, the collections were half the time (2.4 s with them, 1.1 s without). Reference
counting frees garbage as usual meanwhile; only cycles wait until the collector runs again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; whoever found it enabled enables it again
    (so nested or concurrent blocks never leave it off)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
