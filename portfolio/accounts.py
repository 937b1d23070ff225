"""Account tax status: taxable, tax_deferred or tax_free, from the name or the custodian's type.

IRS Publication 590-A/590-B (IRAs), 560 (SEP, SIMPLE), 575 (401(k), 403(b), 457 plans) and 969
(HSAs): trades inside tax-deferred and tax-free accounts realise no taxable gain; only a taxable
account's sales are reported on Schedule D.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

AccountType = Literal["taxable", "tax_deferred", "tax_free"]
ACCOUNT_TYPES: tuple[AccountType, ...] = ("taxable", "tax_deferred", "tax_free")
TAX_ADVANTAGED = frozenset({"tax_deferred", "tax_free"})

# Checked in order: a "Roth 401(k)" is tax-free before it is a 401(k).
_RULES: list[tuple[re.Pattern[str], AccountType]] = [
    (re.compile(r"\broth\b"), "tax_free"),
    (re.compile(r"\bhsa\b|health savings"), "tax_free"),
    (
        re.compile(
            r"\bira\b|rollover|traditional|\bsep\b|\bsimple\b|\b401\s*\(?k\)?|\b403\s*\(?b\)?"
            r"|\b457\b|keogh|pension|profit sharing|retirement"
        ),
        "tax_deferred",
    ),
    (
        re.compile(
            r"individual|joint|\bjt\b|\bjtwros\b|\btrust\b|\btod\b|brokerage|taxable|\bcustodial\b"
            r"|\butma\b|\bugma\b|\bestate\b|\bcorporate\b|\bllc\b|\bcash account\b|\bmargin\b"
            r"|cash management|tenants in common|community property"
        ),
        "taxable",
    ),
]

# The three types as a "Tax Status" column or an advisor writes them (`_` and `-` read as spaces).
_ALIASES: dict[str, AccountType] = {
    "taxable": "taxable",
    "tax deferred": "tax_deferred",
    "deferred": "tax_deferred",
    "tax free": "tax_free",
    "free": "tax_free",
    "tax exempt": "tax_free",
    "exempt": "tax_free",
}


def _words(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def classify_account_type(text: str) -> AccountType | None:
    """The type a custodian's account-type cell names ("Joint WROS", "Rollover IRA", "Tax-Free"),
    or None when the table does not know it. Same table as the name inference."""
    return _ALIASES.get(_words(text)) or infer_account_type(text)


def parse_account_type(text: str) -> AccountType:
    """An advisor's word for a type (`taxable`, `tax_deferred`, `tax-free`, or an account kind)."""
    inferred = classify_account_type(text)
    if inferred is None:
        names = ", ".join(ACCOUNT_TYPES)
        raise ValueError(f"unknown account type '{text}' (one of: {names})")
    return inferred


def infer_account_type(name: str) -> AccountType | None:
    """The type a name or a custodian's account-type cell implies, or None when it says nothing."""
    low = " ".join(name.lower().replace("_", " ").split())
    for pattern, kind in _RULES:
        if pattern.search(low):
            return kind
    return None


def account_types(
    accounts: Iterable[str],
    *,
    custodian: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> tuple[dict[str, AccountType], dict[str, str], list[str]]:
    """(account -> type, account -> where the type came from, warnings).

    Precedence: the advisor's override, the custodian's account-type field, the account's name;
    an account none of them identifies is taxable (the cautious reading) with a warning.
    """
    over = {k.strip().lower(): parse_account_type(v) for k, v in (overrides or {}).items()}
    cust = {k: v for k, v in (custodian or {}).items() if v}
    types: dict[str, AccountType] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    for acct in accounts:
        if acct.strip().lower() in over:
            types[acct], sources[acct] = over[acct.strip().lower()], "override"
            continue
        from_cust = classify_account_type(cust[acct]) if acct in cust else None
        if from_cust is not None:
            types[acct], sources[acct] = from_cust, "custodian"
            continue
        from_name = infer_account_type(acct)
        if from_name is not None:
            types[acct], sources[acct] = from_name, "name"
            continue
        types[acct], sources[acct] = "taxable", "default"
        warnings.append(
            f"Account '{acct}': type not recognised from its name; treated as taxable "
            "(set it with --account-type or on the Client page)"
        )
    unknown = sorted(set(over) - {a.strip().lower() for a in types})
    for name in unknown:
        warnings.append(f"--account-type names '{name}', which is not an account in the file")
    return types, sources, warnings
