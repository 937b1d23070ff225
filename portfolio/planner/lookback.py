"""Purchases in the 30 days before the trade date, known from the lots: the wash-sale look-back.

IRC section 1091 and IRS Publication 550 ("Wash Sales"): a loss is disallowed when substantially
identical securities were acquired within 30 days before or after the sale, in any of the
taxpayer's accounts (IRAs included, Rev. Rul. 2008-5). Built once per plan: the stages that
sell (sells, offset) and the look-back flags (wash) read the same purchases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from portfolio.lots import bought_within_wash_window
from portfolio.planner.state import HouseholdState


@dataclass(frozen=True)
class Lookback:
    """Rows sharing a client and a fund group; which of them hold a recent purchase is read from
    their lots on first asking, so a plan that asks nothing reads no lot."""

    state: HouseholdState
    order: np.ndarray  # rows sorted by (client, group)
    start: np.ndarray  # per row: where its (client, group) run begins in `order`
    end: np.ndarray  # ... and ends
    _recent: dict[int, bool] = field(default_factory=dict)

    @staticmethod
    def of(s: HouseholdState) -> Lookback:
        client = s.client_of_acct[s.acct] if s.n else np.zeros(0, dtype=np.int64)
        group = pd.factorize(s.group)[0] if s.n else np.zeros(0, dtype=np.int64)
        key = client.astype(np.int64) * (int(group.max(initial=0)) + 1) + group
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        first = np.searchsorted(sorted_key, key, side="left")
        last = np.searchsorted(sorted_key, key, side="right")
        return Lookback(s, order, first, last)

    def recent(self, i: int) -> bool:
        """Row `i` holds a lot bought in the 30 days before the trade date (a holding the desk
        does not trade still washes; swept cash never does)."""
        if i not in self._recent:
            s = self.state
            self._recent[i] = not s.is_cash[i] and any(
                bought_within_wash_window(lt, s.as_of) for lt in s.lots(i)
            )
        return self._recent[i]

    def rows_of(self, i: int) -> np.ndarray:
        """Rows of the same client and fund group as row `i` (itself included)."""
        return self.order[self.start[i] : self.end[i]]

    def bought_in(self, i: int) -> set[int]:
        """Rows of row `i`'s client and group that hold a recent purchase."""
        return {int(r) for r in self.rows_of(i).tolist() if self.recent(int(r))}

    def replacing_units(self, i: int) -> tuple[float, float]:
        """Units bought in the window in the other holdings of row `i`'s client and group:
        (in taxable accounts, in tax-advantaged ones). Each could replace one loss share sold
        in row `i`; in an IRA the loss it takes is lost for good (Rev. Rul. 2008-5)."""
        s = self.state
        taxable = ira = 0.0
        for r in self.rows_of(i).tolist():
            if r == i or not self.recent(int(r)):
                continue
            units = sum(
                lt.quantity for lt in s.lots(int(r)) if bought_within_wash_window(lt, s.as_of)
            )
            if s.taxable_row[r]:
                taxable += units
            else:
                ira += units
        return taxable, ira

    def washed_elsewhere(self, rows: np.ndarray) -> np.ndarray:
        """Of `rows` (a mask): those where a fund of the row's group was bought recently in
        another holding of the client, so a loss sold there would be disallowed (at least in
        part)."""
        out = np.zeros(self.state.n, dtype=bool)
        if self.state.lots_of is None:
            return out
        for i in np.flatnonzero(rows):
            out[i] = self.washes(int(i))
        return out

    def washes(self, i: int) -> bool:
        """A loss sold in row `i` would be disallowed, at least in part, by a recent purchase
        in another holding of the client's group."""
        if self.state.lots_of is None:
            return False
        held = self.bought_in(i)
        return bool(held) and not held <= {i}
