"""`rebalance --withdraw/--deposit`: requests planned for, in the JSON and the table; bad ones
refused in one line."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import SAMPLES, run

SCHWAB = SAMPLES / "schwab_all_accounts.csv"
IRA = "Rollover IRA ...789"
ROTH = "Roth Contributory IRA ...456"


def test_withdraw_and_deposit_in_the_json() -> None:
    done = run(
        "rebalance",
        str(SCHWAB),
        "--withdraw",
        f"{IRA}=20,000",
        "--deposit",
        f"{ROTH}=10k",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    withdrawal, deposit = doc["cash_requests"]
    assert (withdrawal["account"], withdrawal["kind"], withdrawal["amount"]) == (
        IRA,
        "withdrawal",
        20_000,
    )
    assert (deposit["account"], deposit["kind"], deposit["amount"]) == (ROTH, "deposit", 10_000)
    assert withdrawal["met"] and deposit["met"]
    # The sales named for the withdrawal are sells in that account.
    trades = {t["id"]: t for t in doc["trades"]}
    assert withdrawal["trades"]
    assert all(
        trades[i]["account"] == IRA and trades[i]["action"] == "SELL" for i in withdrawal["trades"]
    )
    accounts = {a["account"]: a for a in doc["accounts"]}
    assert accounts[IRA]["withdrawal"] == 20_000 and accounts[ROTH]["deposit"] == 10_000
    assert accounts[IRA]["cash_after"] >= 20_000
    # Flows in the withdrawing account: cash before + sells - buys = cash after.
    flow = sum(
        t["value"] if t["action"] == "SELL" else -t["value"]
        for t in doc["trades"]
        if t["account"] == IRA and t["compliance"]["status"] == "APPROVED"
    )
    assert accounts[IRA]["cash"] + flow == pytest.approx(accounts[IRA]["cash_after"], abs=0.02)


def test_table_lists_the_requests() -> None:
    done = run("rebalance", str(SCHWAB), "--withdraw", f"{IRA}=5000", "--withdraw", f"{IRA}=1000")
    assert done.returncode == 0, done.stderr
    assert "Cash requests" in done.stdout
    assert f"[met] Withdrawal of $5,000.00 from {IRA}" in done.stdout
    assert f"[met] Withdrawal of $1,000.00 from {IRA}" in done.stdout


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--withdraw", "Nowhere=5000", "No account named 'Nowhere'"),
        ("--withdraw", f"{IRA}=9000000", "more than the account holds"),
        ("--deposit", f"{ROTH}=-5", "is not an amount"),
        ("--deposit", "5000", "ACCOUNT=AMOUNT"),
        ("--withdraw", f"{IRA}=0", "more than zero"),
    ],
)
def test_bad_requests_are_refused_in_one_line(option: str, value: str, words: str) -> None:
    done = run("rebalance", str(SCHWAB), option, value)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], done.stderr
