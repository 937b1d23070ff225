"""A custodian export of many accounts, split into households.

Two ways to say which accounts are one client's: a household column in the export itself
(`Household`, `Household ID`, `Client`, ...), or a mapping file with one row per account
(`account,client[,type][,profile][,advisor]`). An account is matched by its name as read, or by
any word of it (an account number alone). An account no rule places is an error that names it:
a book is never planned with a client's account missing or in someone else's household.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping

import pandas as pd

from portfolio.accounts import parse_account_type
from portfolio.models import ClientMandate, Holdings, RiskProfile
from portfolio.practice import HouseholdBook

HOUSEHOLD_HEADERS = (
    "household",
    "household id",
    "household name",
    "client",
    "client id",
    "client name",
)


def _text(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def household_column(data: bytes) -> dict[int, str]:
    """File line (1-based) -> the household its row names; empty when there is no such column."""
    lines = _text(data).splitlines()
    col: int | None = None
    out: dict[int, str] = {}
    for n, row in enumerate(csv.reader(lines), start=1):
        cells = [c.strip() for c in row]
        if col is None:
            low = [c.lower() for c in cells]
            hit = [i for i, c in enumerate(low) if c in HOUSEHOLD_HEADERS]
            col = hit[0] if hit else None
            continue
        if col < len(cells) and cells[col]:
            out[n] = cells[col]
    return out


class AccountMap(dict[str, dict[str, str]]):
    """account -> {client, type, profile, advisor} read from a mapping file."""


def read_mapping(data: bytes) -> AccountMap:
    df = pd.read_csv(io.StringIO(_text(data)), dtype=str, keep_default_na=False)
    df.columns = [c.strip().lower() for c in df.columns]
    client_col = next((c for c in ("client", "household") if c in df.columns), None)
    if "account" not in df.columns or client_col is None:
        raise ValueError("the mapping file needs the columns account and client")
    out = AccountMap()
    for i, r in enumerate(df.to_dict("records"), start=2):
        account, client = r["account"].strip(), r[client_col].strip()
        if not account or not client:
            raise ValueError(f"mapping file line {i}: an account and a client are both needed")
        if account in out and out[account]["client"] != client:
            raise ValueError(f"mapping file line {i}: account {account} is in two households")
        entry = {"client": client}
        for key in ("type", "profile", "advisor"):
            if r.get(key, "").strip():
                entry[key] = r[key].strip()
        if "type" in entry:
            entry["type"] = parse_account_type(entry["type"])
        if "profile" in entry:
            try:
                entry["profile"] = RiskProfile(entry["profile"].lower().replace(" ", "_")).value
            except ValueError as exc:
                raise ValueError(
                    f"mapping file line {i}: unknown profile '{entry['profile']}'"
                ) from exc
        out[account] = entry
    return out


def _match(account: str, mapping: Mapping[str, dict[str, str]]) -> dict[str, str] | None:
    if account in mapping:
        return mapping[account]
    words = set(re.split(r"\s+", account.strip()))
    hits = [v for k, v in mapping.items() if k in words]
    return hits[0] if len(hits) == 1 else None


def split_households(
    holdings: Holdings,
    *,
    data: bytes | None = None,
    mapping: Mapping[str, dict[str, str]] | None = None,
    mandate: ClientMandate | None = None,
) -> list[HouseholdBook]:
    """Households in the order the file first names them."""
    mandate = mandate or ClientMandate()
    by_line = household_column(data) if data is not None and mapping is None else {}
    if mapping is None and not by_line:
        raise ValueError(
            "the file has no household column (Household or Client); give a mapping file "
            "with --households (account,client[,type])"
        )
    place: dict[str, dict[str, str]] = {}
    missing: list[str] = []
    for p in holdings.positions:
        if p.account in place:
            continue
        if mapping is not None:
            hit = _match(p.account, mapping)
        else:
            names = {by_line[n] for n in p.lines if n in by_line}
            if len(names) > 1:
                raise ValueError(f"account {p.account} is named in two households")
            hit = {"client": names.pop()} if names else None
        if hit is None:
            missing.append(p.account)
        else:
            place[p.account] = hit
    if missing:
        shown = ", ".join(sorted(set(missing))[:10])
        raise ValueError(f"no household for account(s) {shown}; add them to the mapping")
    order: dict[str, list] = {}
    for p in holdings.positions:
        order.setdefault(place[p.account]["client"], []).append(p)
    out = []
    for client, positions in order.items():
        accounts = {p.account for p in positions}
        entries = [place[a] for a in sorted(accounts)]
        profile = next((e["profile"] for e in entries if "profile" in e), None)
        advisor = next((e["advisor"] for e in entries if "advisor" in e), None)
        out.append(
            HouseholdBook(
                id=client,
                name=client,
                holdings=holdings.model_copy(
                    update={
                        "positions": positions,
                        "account_types": {
                            a: t for a, t in holdings.account_types.items() if a in accounts
                        },
                        "skipped": [],
                        "issues": [],
                    }
                ),
                mandate=mandate.model_copy(update={"risk_profile": profile})
                if profile
                else mandate,
                account_types={a: place[a]["type"] for a in accounts if "type" in place[a]},
                advisor=advisor,
            )
        )
    return out
