"""Substantially identical funds (data/fund_groups.csv) and swept cash (data/sweep_funds.csv)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FUND_GROUPS_CSV = DATA_DIR / "fund_groups.csv"
SWEEP_FUNDS_CSV = DATA_DIR / "sweep_funds.csv"


@dataclass(frozen=True)
class FundGroups:
    """symbol -> group id (a symbol in no group is its own group) and group -> partner fund."""

    group_of: dict[str, str] = field(default_factory=dict)
    partner_of_group: dict[str, str] = field(default_factory=dict)
    index_of_group: dict[str, str] = field(default_factory=dict)

    def group(self, symbol: str) -> str:
        s = symbol.upper()
        return self.group_of.get(s, s)

    def partner(self, symbol: str) -> str | None:
        """The fund to buy instead of `symbol` (one tracking a different index), if listed."""
        return self.partner_of_group.get(self.group(symbol)) or None

    def groups(self, symbols: pd.Series) -> pd.Series:
        up = symbols.astype(str).str.upper()
        return up.map(self.group_of).fillna(up)


@lru_cache(maxsize=2)
def load_fund_groups(path: str | Path = FUND_GROUPS_CSV) -> FundGroups:
    df = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    group_of: dict[str, str] = {}
    for g, members in zip(df["group"], df["members"], strict=True):
        for m in members.split():
            if m.upper() in group_of:
                raise ValueError(f"{path}: {m} is listed in two groups")
            group_of[m.upper()] = g
    partners = {g: p.strip().upper() for g, p in zip(df["group"], df["partner"], strict=True)}
    indexes = dict(zip(df["group"], df["index"], strict=True))
    return FundGroups(group_of, partners, indexes)


@lru_cache(maxsize=2)
def sweep_symbols(path: str | Path = SWEEP_FUNDS_CSV) -> frozenset[str]:
    df = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    return frozenset(df["symbol"].str.strip().str.upper())


def is_swept(symbol: str, is_cash: bool, known: bool) -> bool:
    """Swept cash: a cash row that is no known fund, or a custodian's sweep fund. A purchased
    money-market fund or T-bill ETF is a holding, bought and sold by orders."""
    return is_cash and (not known or symbol.upper() in sweep_symbols())
