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
