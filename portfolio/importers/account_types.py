"""The custodian's account-type column: each account's registration as the file states it.

Values are read with the same table as account names (`portfolio.accounts`): "Individual" and
"Joint WROS" are taxable, "Rollover IRA" and "401(k)" tax-deferred, "ROTH IRA" and "HSA" tax-free.
A value the table does not know is a warning on its line, and the account's type is then inferred
from its name; two known values that disagree for one account keep the first, with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable

from portfolio.accounts import classify_account_type
from portfolio.models import ImportIssue

_BLANKS = frozenset({"", "-", "--", "n/a", "na", "none"})  # Schwab writes `--` on cash and totals
_WORDS = {"taxable": "taxable", "tax_deferred": "tax-deferred", "tax_free": "tax-free"}


def read_account_types(
    cells: Iterable[tuple[int, str, str, str]],
) -> tuple[dict[str, str], list[ImportIssue]]:
    """(account -> the file's account-type text, issues) from (line, account, text, raw) cells.

    Only texts the table classifies are kept, so the engine's precedence (override, then this,
    then the name) never sees a value it would have to guess at.
    """
    kept: dict[str, tuple[str, int]] = {}
    warned: set[tuple[str, str]] = set()
    issues: list[ImportIssue] = []
    for line, account, text, raw in cells:
        value = " ".join(text.split())
        if value.lower() in _BLANKS:
            continue
        kind = classify_account_type(value)
        if kind is None:
            if (account, value.lower()) not in warned:
                warned.add((account, value.lower()))
                issues.append(
                    ImportIssue(
                        line=line,
                        severity="warning",
                        message=f"Account '{account}': account type '{value}' is not one the desk "
                        "knows (taxable, tax-deferred or tax-free); the type is inferred from the "
                        "account's name",
                        raw=raw,
                    )
                )
            continue
        first = kept.get(account)
        if first is None:
            kept[account] = (value, line)
            continue
        first_kind = classify_account_type(first[0])
        if first_kind != kind and (account, value.lower()) not in warned:
            warned.add((account, value.lower()))
            issues.append(
                ImportIssue(
                    line=line,
                    severity="warning",
                    message=f"Account '{account}': account type '{value}' ({_WORDS[kind]}) "
                    f"disagrees with '{first[0]}' ({_WORDS[first_kind or 'taxable']}) on line "
                    f"{first[1]}; the first is used",
                    raw=raw,
                )
            )
    return {account: value for account, (value, _) in kept.items()}, issues
