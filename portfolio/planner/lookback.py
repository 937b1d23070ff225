"""Purchases in the 30 days before the trade date, known from the lots: the wash-sale look-back.

IRC section 1091 and IRS Publication 550 ("Wash Sales"): a loss is disallowed when substantially
identical securities were acquired within 30 days before or after the sale, in any of the
taxpayer's accounts (IRAs included, Rev. Rul. 2008-5). Built once per plan: the stages that
sell (sells, offset) and the look-back flags (wash) read the same purchases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from portfolio.models import Lot
from portfolio.planner.state import HouseholdState

WINDOW = timedelta(days=30)


def bought_recently(lot: Lot, as_of: date) -> bool:
    return lot.acquired is not None and as_of - WINDOW <= lot.acquired <= as_of


@dataclass(frozen=True)
class Lookback:
    """Rows sharing a client and a fund group, and which of them hold a recent purchase."""

    peers: dict[tuple[int, str], np.ndarray]  # (client, group) -> its rows
    recent: np.ndarray  # per row: holds a lot bought in the 30 days before the trade date

    @staticmethod
    def of(s: HouseholdState) -> Lookback:
        recent = np.zeros(s.n, dtype=bool)
        if s.lots_of is None or s.n == 0:
            return Lookback({}, recent)
        client = s.client_of_acct[s.acct]
        frame = pd.DataFrame({"c": client, "g": s.group})
        # Only groups a taxable account holds can realise a loss: only theirs are read.
        sellable = s.taxable_row & s.tradable & ~s.is_cash
        keys = set(zip(client[sellable].tolist(), s.group[sellable].tolist(), strict=True))
        peers = {
            (int(c), str(g)): np.asarray(rows, dtype=np.int64)
            for (c, g), rows in frame.groupby(["c", "g"], sort=False).indices.items()
            if (c, g) in keys
        }
        for rows in peers.values():
            for i in rows.tolist():
                if not s.is_cash[i]:  # a holding the desk does not trade still washes
                    recent[i] = any(bought_recently(lt, s.as_of) for lt in s.lots(i))
        return Lookback(peers, recent)

    def rows_of(self, s: HouseholdState, i: int) -> np.ndarray:
        """Rows of the same client and fund group as row `i` (itself included)."""
        key = (int(s.client_of_acct[s.acct[i]]), str(s.group[i]))
        return self.peers.get(key, np.array([i], dtype=np.int64))

    def bought_in(self, s: HouseholdState, i: int) -> set[int]:
        """Rows of row `i`'s client and group that hold a recent purchase."""
        rows = self.rows_of(s, i)
        return set(rows[self.recent[rows]].tolist())

    def washed_elsewhere(self, s: HouseholdState, rows: np.ndarray) -> np.ndarray:
        """Of `rows` (a mask): those where a fund of the row's group was bought recently in
        another holding of the client, so a loss sold there would be disallowed (at least in
        part)."""
        out = np.zeros(s.n, dtype=bool)
        if not self.recent.any():
            return out
        for i in np.flatnonzero(rows):
            held = self.bought_in(s, int(i))
            out[i] = bool(held) and not held <= {int(i)}
        return out
