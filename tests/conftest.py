"""Shared fixtures for the dashboard tests: a private ledger per test and a fresh AppTest."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are repeatable and never fail on a slow, shared machine's clock.
settings.register_profile("desk", deadline=None, derandomize=True)
settings.load_profile("desk")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
# Settings the dashboard would otherwise pick up from the developer's shell.
LLM_ENV = (
    "REBALANCE_LLM_PROVIDER",
    "REBALANCE_LLM_MODEL",
    "OPENAI_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_DEPLOYMENT",
    "REBALANCE_LLM_BUDGET_USD",
)


def wait_for(
    condition: Callable[[], object], timeout: float = 60.0, interval: float = 0.05, what: str = ""
) -> object:
    """Poll until `condition()` is truthy; fail with `what` when it never is."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)


@pytest.fixture
def ui_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The dashboard on the offline crew at full speed, with its ledger in `tmp_path`.

    Streamlit's resource caches (ledger, settings) are process-wide, so they are cleared on the
    way in and out; secrets files are ignored so a developer's keys never reach a test.
    """
    import streamlit as st

    import ui.llm
    from agents.settings import load_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("REBALANCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REBALANCE_OFFLINE_PACE", "0")
    for name in LLM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        ui.llm, "load_settings", functools.partial(load_settings, secrets_path=None)
    )
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    _wait_for_crews()
    st.cache_resource.clear()
    st.cache_data.clear()


def _wait_for_crews() -> None:
    """A crew thread still writing to this test's ledger must finish before the next test."""
    from ui import worker

    with worker._lock:
        threads = list(worker._threads.values())
    for t in threads:
        t.join(timeout=60)


@pytest.fixture
def ui_ledger(ui_env: Path):  # type: ignore[no-untyped-def]
    """The same ledger the app under test writes to (a second connection to its database)."""
    from portfolio.ledger import open_ledger

    ledger = open_ledger()
    yield ledger
    ledger.close()


@pytest.fixture
def new_app(ui_env: Path) -> Callable[[], object]:
    """A factory of fresh `AppTest`s of the whole multipage app (`desk.py`: `app.py` is the
    server around it)."""
    from streamlit.testing.v1 import AppTest

    def make() -> AppTest:
        return AppTest.from_file(str(REPO / "desk.py"), default_timeout=60)

    return make


# ---------------------------------------------------------------- the app in a real browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """`streamlit run app.py` on a free port with its own ledger, as an advisor would start it."""

    def __init__(
        self,
        data_dir: Path,
        pace: float | None = 1.5,
        llm_base_url: str | None = None,
        secrets: Path | None = None,
    ) -> None:
        """`pace`: seconds each offline answer streams for; None keeps the dashboard's default.
        `llm_base_url`: an OpenAI-compatible server for every agent instead of the offline
        analyst (a test's controlled server), with a read timeout long enough for the test to
        hold an answer as long as it likes.
        `secrets`: a secrets.toml to use instead of the app's own (Streamlit's `secrets.files`
        option), e.g. one with `[auth]` and `[firm]` for the sign-in tests."""
        self.data_dir = data_dir
        self.db_url = f"sqlite:///{data_dir / 'ledger.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pace = pace
        self.llm_base_url = llm_base_url
        self.secrets = secrets
        self.proc: object = None
        self.log = data_dir / "streamlit.log"

    def __enter__(self) -> AppServer:
        import os
        import subprocess
        import sys
        import urllib.request

        env = {k: v for k, v in os.environ.items() if k not in (*LLM_ENV, "REBALANCE_OFFLINE_PACE")}
        env.update(
            DATABASE_URL=self.db_url, REBALANCE_DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1"
        )
        if self.pace is not None:
            env["REBALANCE_OFFLINE_PACE"] = str(self.pace)
        if self.llm_base_url:
            env.update(
                REBALANCE_LLM_PROVIDER="openai-compatible",
                OPENAI_BASE_URL=self.llm_base_url,
                OPENAI_MODEL="local-model",
                REBALANCE_LLM_TIMEOUT="600",
            )
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                *(["--secrets.files", str(self.secrets)] if self.secrets else []),
            ],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            if self.proc.poll() is not None:  # type: ignore[attr-defined]
                raise RuntimeError(f"streamlit exited early:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        deadline = time.monotonic() + 60
        while not healthy():
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"streamlit never became healthy:\n{self.log.read_text()}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        import subprocess

        proc = self.proc
        if proc is not None and proc.poll() is None:  # type: ignore[attr-defined]
            proc.terminate()  # type: ignore[attr-defined]
            try:
                proc.wait(timeout=10)  # type: ignore[attr-defined]
            except subprocess.TimeoutExpired:
                proc.kill()  # type: ignore[attr-defined]
                proc.wait()  # type: ignore[attr-defined]
        self._log.close()


def settled(page) -> None:  # type: ignore[no-untyped-def]
    """The app has finished its rerun: Streamlit's running indicator is gone, and no element is
    still marked stale (drawn by the previous run and not yet by this one), which also covers
    the moment before the indicator shows. Click only then, as a person waits for the page: a
    click on an element the running script is about to replace can be lost."""
    from playwright.sync_api import expect

    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)
    expect(page.locator('[data-testid="stElementContainer"][data-stale="true"]')).to_have_count(0)


def press(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Click the button called `name` once it is drawn and the run that drew it has ended."""
    from playwright.sync_api import expect

    button = page.get_by_role("button", name=name)
    expect(button).to_be_visible()
    settled(page)
    button.click()


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless; Playwright's own browser downloads are never used."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
