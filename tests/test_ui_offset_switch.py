"""The Client page's "Offset gains with harvested losses" switch reaches the saved mandate."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.test_ui_apptest import client_with_mandate, run
from ui import state


def test_the_offset_switch_is_saved_with_the_mandate(new_app) -> None:  # type: ignore[no-untyped-def]
    at: AppTest = client_with_mandate(new_app())
    assert not at.session_state[state.MANDATE].offset_gains
    (box,) = [c for c in at.checkbox if c.label == "Offset gains with harvested losses"]
    box.check()
    at.button(key="FormSubmitter:mandate_form-Save mandate").click()
    run(at)
    assert at.session_state[state.MANDATE].offset_gains
