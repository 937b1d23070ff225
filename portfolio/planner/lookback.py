"""Purchases in the 30 days before the trade date, known from the lots: the wash-sale look-back.

IRC section 1091 and IRS Publication 550 ("Wash Sales"): a loss is disallowed when substantially
identical securities were acquired within 30 days before or after the sale, in any of the
taxpayer's accounts (IRAs included, Rev. Rul. 2008-5).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from portfolio.models import Lot
from portfolio.planner.state import HouseholdState

WINDOW = timedelta(days=30)


def bought_recently(lot: Lot, s: HouseholdState) -> bool:
    return lot.acquired is not None and s.as_of - WINDOW <= lot.acquired <= s.as_of


def recent_rows(s: HouseholdState) -> dict[tuple[int, str], set[int]]:
    """(client, fund group) -> rows holding a lot bought in the 30 days before the trade date."""
    out: dict[tuple[int, str], set[int]] = {}
    if s.lots_of is None:
        return out
    client = s.client_of_acct[s.acct]
    for i in np.flatnonzero(s.tradable & ~s.is_cash):
        if any(bought_recently(lt, s) for lt in s.lots(i)):
            out.setdefault((int(client[i]), str(s.group[i])), set()).add(int(i))
    return out


def washed_elsewhere(s: HouseholdState, rows: np.ndarray) -> np.ndarray:
    """Of `rows` (a mask): those where a fund of the row's group was bought recently in another
    holding of the client, so a loss sold there would be disallowed (at least in part)."""
    out = np.zeros(s.n, dtype=bool)
    if not rows.any() or s.lots_of is None:
        return out
    recent = recent_rows(s)
    if not recent:
        return out
    client = s.client_of_acct[s.acct]
    for i in np.flatnonzero(rows):
        held = recent.get((int(client[i]), str(s.group[i])))
        out[i] = bool(held) and not held <= {int(i)}
    return out
