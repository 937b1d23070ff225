"""The app freezes the objects its imports made, once per new set of imports, so Streamlit's full
collection after each run (every approve click) does not walk them again."""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path

import pytest

from ui import gc_freeze


def test_a_freeze_follows_new_imports_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc_freeze, "_modules_at_freeze", 0)
    assert gc_freeze.freeze_new_imports()
    assert gc.get_freeze_count() > 0
    assert not gc_freeze.freeze_new_imports()  # nothing new: no collection, no freeze

    (tmp_path / "desk_freeze_probe.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("desk_freeze_probe")
    try:
        assert gc_freeze.freeze_new_imports()
    finally:
        sys.modules.pop("desk_freeze_probe", None)


def test_the_app_freezes_after_its_first_run(new_app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(gc_freeze, "_modules_at_freeze", 0)
    gc.unfreeze()
    at = new_app()
    at.run()
    assert not at.exception
    assert gc.get_freeze_count() > 0
    assert 0 < gc_freeze._modules_at_freeze <= len(sys.modules)


def _tracked(obj: object) -> bool:
    """In a generation the collector walks (frozen objects are in none of them)."""
    return any(o is obj for o in gc.get_objects())


def test_freeze_now_takes_what_is_alive_out_of_the_collections() -> None:
    class Held:
        pass

    held = Held()
    assert _tracked(held)
    try:
        gc_freeze.freeze_now()
        assert not _tracked(held)
    finally:
        gc.unfreeze()


def test_the_book_page_keeps_figures_not_books(new_app, ui_ledger) -> None:  # type: ignore[no-untyped-def]
    """What the page keeps for every session is one row of figures per household, not the
    parsed uploads: nothing of the size each run's full collection would have to skip."""
    from test_ui_apptest import go, run

    from portfolio.book_summaries import StoredBook
    from portfolio.ledger.clients import ClientRecords
    from portfolio.models import Holdings
    from tests.book_samples import cash

    records = ClientRecords(ui_ledger.engine)
    rec = records.create("Frozen Book", owner="Ada")
    records.add_upload(rec.id, Holdings(positions=[cash("Joint Taxable", 90_000)]), None, "f.csv")
    at = go(run(new_app()), "book")
    kept = at.session_state["_book_view"]
    assert isinstance(kept, StoredBook)
    assert list(kept.summary["name"]) == ["Frozen Book"]
    assert list(kept.drift.index) == [str(rec.id)]
