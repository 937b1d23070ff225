"""Reference data (data/securities.csv): classification, screens and reference prices.

Loaded once into a DataFrame indexed by symbol so the engine can join on it in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

from portfolio.models import AssetClass, ExclusionCategory

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SECURITIES_CSV = DATA_DIR / "securities.csv"

FLAG_COLUMNS = [c.value for c in ExclusionCategory] + ["esg_fund"]
FUND_KINDS = frozenset({"etf", "mutual_fund", "money_market"})
# Government debt and cash carry none of the screened businesses, so an ESG-only mandate may hold
# plain funds of these classes (no ESG-labelled Treasury fund exists to prefer).
ESG_NEUTRAL_CLASSES = frozenset({AssetClass.TREASURIES, AssetClass.TIPS, AssetClass.CASH})


@dataclass(frozen=True)
class SecurityMaster:
    """Symbol -> name, asset_class, sector, kind, flags, yield, price, price_as_of."""

    frame: pd.DataFrame

    @classmethod
    def from_csv(cls, path: str | Path = SECURITIES_CSV) -> SecurityMaster:
        df = pd.read_csv(path, comment="#", dtype={"symbol": str}, keep_default_na=False)
        df["symbol"] = df["symbol"].str.strip().str.upper()
        for col in FLAG_COLUMNS:
            df[col] = df[col].astype(str).str.strip().isin(["1", "true", "True", "yes", "Y"])
        df["price"] = pd.to_numeric(df["price"], errors="coerce")
        df["yield"] = pd.to_numeric(df.get("yield", 0.0), errors="coerce").fillna(0.0)
        df["is_fund"] = df["kind"].isin(FUND_KINDS)
        df["is_cash"] = (df["kind"] == "money_market") | (df["asset_class"] == AssetClass.CASH)
        return cls(df.drop_duplicates("symbol").set_index("symbol", drop=False))

    def __contains__(self, symbol: str) -> bool:
        return symbol.upper() in self.frame.index

    def get(self, symbol: str) -> pd.Series | None:
        s = symbol.upper()
        return self.frame.loc[s] if s in self.frame.index else None

    def price(self, symbol: str) -> float | None:
        row = self.get(symbol)
        if row is None or pd.isna(row["price"]):
            return None
        return float(row["price"])

    def asset_class(self, symbol: str) -> str | None:
        row = self.get(symbol)
        return None if row is None else str(row["asset_class"])

    def flags(self, symbol: str) -> set[str]:
        """Exclusion categories the security falls in."""
        row = self.get(symbol)
        if row is None:
            return set()
        return {c.value for c in ExclusionCategory if bool(row[c.value])}

    def is_fund(self, symbol: str) -> bool:
        row = self.get(symbol)
        return bool(row is not None and row["is_fund"])

    def is_esg_fund(self, symbol: str) -> bool:
        row = self.get(symbol)
        return bool(row is not None and row["esg_fund"])

    @property
    def as_of(self) -> date:
        """The latest reference-price date in the file."""
        return pd.to_datetime(self.frame["price_as_of"]).max().date()


@lru_cache(maxsize=4)
def load_securities(path: str | Path = SECURITIES_CSV) -> SecurityMaster:
    return SecurityMaster.from_csv(path)


def esg_eligible(symbol: str, securities: SecurityMaster) -> bool:
    """May an ESG-only mandate buy this? ESG funds, screen-clean single names, government debt."""
    row = securities.get(symbol)
    if row is None:
        return False
    if any(bool(row[c.value]) for c in ExclusionCategory):
        return False
    if not bool(row["is_fund"]):
        return True
    return bool(row["esg_fund"]) or str(row["asset_class"]) in ESG_NEUTRAL_CLASSES
