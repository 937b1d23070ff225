"""The collector is paused for a block and left as it was found, nested or not."""

from __future__ import annotations

import gc

import pytest

from portfolio.gc_pause import gc_paused


@pytest.fixture(autouse=True)
def _restore_gc():  # type: ignore[no-untyped-def]
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_enabled_again_after_even_on_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_blocks_enable_it_only_when_the_outer_one_ends() -> None:
    gc.enable()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_someone_else_disabled_stays_disabled() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_as_a_decorator_each_call_pauses_afresh() -> None:
    seen = []

    @gc_paused()
    def work() -> None:
        seen.append(gc.isenabled())

    gc.enable()
    work()
    work()
    assert seen == [False, False] and gc.isenabled()
