"""Sign-in for real: the app behind `st.login` against an OpenID Connect provider on 127.0.0.1,
driven in Debian's Chromium. An advisor sees only their clients and cannot execute; a supervisor
signs off; operations executes; an admin who approved alone is blocked by four-eyes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CHROMIUM, AppServer, launch_chromium, press, settled
from oidc_provider import OIDCProvider
from pg_server import _sample_holdings, _sample_proposal
from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian's Chromium is not at {CHROMIUM}"),
]
expect.set_options(timeout=20_000)

PEOPLE = {
    "ann@example.com": ("Ann Advisor", "advisor", "east"),
    "bob@example.com": ("Bob Advisor", "advisor", "west"),
    "sue@example.com": ("Sue Supervisor", "supervisor", "east"),
    "ops@example.com": ("Olga Ops", "operations", ""),
    "root@example.com": ("Rita Admin", "admin", ""),
}


def _secrets(path: Path, provider: OIDCProvider, port: int) -> Path:
    lines = [
        "[auth]",
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"',
        f'cookie_secret = "{secrets.token_hex(16)}"',
        f'client_id = "{provider.client_id}"',
        f'client_secret = "{provider.client_secret}"',
        f'server_metadata_url = "{provider.metadata_url}"',
        "",
        "[firm]",
        "require_second_approver = true",
    ]
    for email, (name, role, team) in PEOPLE.items():
        lines += [f'[firm.people."{email}"]', f'name = "{name}"', f'role = "{role}"']
        lines += [f'team = "{team}"'] if team else []
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    p = OIDCProvider().start()
    for email, (name, _, _) in PEOPLE.items():
        p.add_user(email, name)
    p.add_user("mallory@example.com", "Mallory")  # known to the provider, not to the firm
    yield p
    p.stop()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, provider: OIDCProvider):  # type: ignore[no-untyped-def]
    """The app with its ledger seeded: Ann's and Bob's clients, one run of Ann's, one of Bob's."""
    from portfolio.ledger import open_ledger
    from portfolio.ledger.clients import ClientRecords

    data = tmp_path_factory.mktemp("signin")
    server = AppServer(data, pace=0)
    server.secrets = _secrets(data / "secrets.toml", provider, server.port)
    import os

    os.environ["REBALANCE_DATA_DIR"] = str(data)  # the same ledger key as the app's
    ledger = open_ledger(server.db_url)
    records = ClientRecords(ledger.engine)
    records.create("Ann's Client Lee", owner="ann@example.com")
    records.create("Bob's Client Ortiz", owner="bob@example.com")
    runs = {}
    for who in ("ann@example.com", "bob@example.com"):
        rid = ledger.create_run(
            holdings=_sample_holdings(), filename="acme.csv", status="RUNNING", owner=who
        )
        ledger.save_proposal(rid, _sample_proposal())
        runs[who] = rid
    with server:
        yield server, ledger, runs
    ledger.close()
    os.environ.pop("REBALANCE_DATA_DIR", None)


def sign_in(browser: Browser, provider: OIDCProvider, url: str, email: str) -> Page:
    """A fresh browser (no cookie) signing in through st.login as `email`."""
    provider.user = email
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    press(page, "Sign in")
    expect(page.get_by_text("Signed in as")).to_be_visible()
    settled(page)
    return page


def test_sign_in_roles_and_four_eyes(desk, provider: OIDCProvider) -> None:  # type: ignore[no-untyped-def]
    server, ledger, runs = desk
    ann_run, bob_run = runs["ann@example.com"], runs["bob@example.com"]
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            # Before sign-in nothing of the desk shows.
            page = browser.new_page()
            page.goto(server.url)
            expect(page.get_by_text("Sign in (sidebar) to use the desk")).to_be_visible()
            page.context.close()

            # Someone the provider knows but the firm does not is refused.
            page = sign_in_refused(browser, provider, server.url)
            page.context.close()

            # Ann, an advisor: only her clients and runs; she decides, cannot execute.
            page = sign_in(browser, provider, server.url, "ann@example.com")
            expect(page.get_by_text("Ann Advisor (ann@example.com) · advisor")).to_be_visible()
            page.get_by_role("combobox", name="Client", exact=True).click()
            expect(page.get_by_role("option", name="Ann's Client Lee")).to_be_visible()
            expect(page.get_by_role("option", name="Bob's Client Ortiz")).to_have_count(0)
            page.keyboard.press("Escape")
            page.goto(f"{server.url}/history")
            expect(page.get_by_text(ann_run).first).to_be_attached()
            expect(page.get_by_text(bob_run)).to_have_count(0)
            page.goto(f"{server.url}/ticket?run={bob_run}")
            settled(page)
            expect(page.get_by_text("belongs to a client you may not see")).to_be_visible()
            page.goto(f"{server.url}/ticket?run={ann_run}")
            press(page, "Approve all")
            expect(page.get_by_text("3 of 4 trades decided")).to_be_visible()
            execute = page.get_by_role("button", name="Execute approved trades")
            expect(execute).to_be_disabled()
            expect(page.get_by_text("the advisor role cannot execute trades").first).to_be_visible()
            page.context.close()

            # Sue, Ann's supervisor, signs off; she cannot execute either.
            page = sign_in(browser, provider, server.url, "sue@example.com")
            page.goto(f"{server.url}/ticket?run={ann_run}")
            press(page, "Sign off for execution")
            expect(page.get_by_text("signed off by sue@example.com")).to_be_visible()
            expect(page.get_by_role("button", name="Execute approved trades")).to_be_disabled()
            page.context.close()

            # Operations executes after the sign-off; the executor is on every entry.
            page = sign_in(browser, provider, server.url, "ops@example.com")
            page.goto(f"{server.url}/ticket?run={ann_run}")
            settled(page)
            execute = page.get_by_role("button", name="Execute approved trades")
            expect(execute).to_be_enabled()
            press(page, "Execute approved trades")
            expect(page.get_by_text("FILLED").first).to_be_visible()
            page.context.close()
            entries = ledger.executions(ann_run)
            assert entries and {e.executed_by for e in entries} == {"ops@example.com"}

            # Rita (admin) approves Bob's run herself: four-eyes refuses her sign-off, and
            # nobody may execute on her approval alone.
            page = sign_in(browser, provider, server.url, "root@example.com")
            page.goto(f"{server.url}/ticket?run={bob_run}")
            press(page, "Approve all")
            expect(page.get_by_text("3 of 4 trades decided")).to_be_visible()
            press(page, "Sign off for execution")
            expect(page.get_by_text("Four-eyes: you made decisions on this run")).to_be_visible()
            expect(
                page.get_by_text("a supervisor who made none of the trade decisions").first
            ).to_be_visible()
            expect(page.get_by_role("button", name="Execute approved trades")).to_be_disabled()
            page.context.close()
            assert ledger.executions(bob_run) == []
            assert ledger.sign_offs(bob_run) == []
        finally:
            browser.close()


def sign_in_refused(browser: Browser, provider: OIDCProvider, url: str) -> Page:
    provider.user = "mallory@example.com"
    page = browser.new_page()
    page.goto(url)
    press(page, "Sign in")
    expect(page.get_by_text("not allowed in")).to_be_visible()
    expect(page.get_by_text("mallory@example.com is not in the firm's list")).to_be_visible()
    return page
