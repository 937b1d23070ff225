"""Reference data (data/securities.csv and its companions): classification, screens, yields.

Loaded once into DataFrames indexed by symbol so the engine can join on them in bulk. Beside the
security master: data/fund_screens.csv (what each fund's index methodology excludes, per screen
category, with source and date read) and data/fund_yields.csv (each fund's reference yield, its
kind, date and source).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.models import AssetClass, ClientMandate, ExclusionCategory
from portfolio.unlisted import OTHER_CLASS, Classification, classify_unlisted, is_cusip

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SECURITIES_CSV = DATA_DIR / "securities.csv"
FUND_SCREENS_CSV = "fund_screens.csv"  # beside the security master
FUND_YIELDS_CSV = "fund_yields.csv"

FLAG_COLUMNS = [c.value for c in ExclusionCategory] + ["esg_fund"]
FUND_KINDS = frozenset({"etf", "mutual_fund", "money_market"})
# Government debt and cash carry none of the screened businesses, so any mandate may hold plain
# funds of these classes: their issuers are governments, and no screen has anything to remove.
ESG_NEUTRAL_CLASSES = frozenset({AssetClass.TREASURIES, AssetClass.TIPS, AssetClass.CASH})

# A sleeve is filled by a broad fund, never a sector fund (XLE, ITA).
BROAD_SECTORS = frozenset({"Diversified", "Fixed Income", "Real Estate", "Commodities", "Cash"})
# The categories a fund's index methodology may exclude, as fund pages and index rules name them
# (see data/README.md, "fund_screens.csv").
SCREEN_CATEGORIES: tuple[str, ...] = (
    "tobacco",
    "controversial_weapons",
    "civilian_firearms",
    "conventional_weapons",
    "thermal_coal",
    "oil_sands",
    "fossil_fuel_reserves",
    "gambling",
    "adult_entertainment",
    "alcohol",
    "nuclear_power",
)
# A mandate's category is met by a fund only when the fund screens every finer category it
# covers: "weapons" means all three kinds, "fossil fuels" means coal, oil sands and the oil and gas
# producers that own reserves. A category name not listed here maps to itself, which no fund
# screens, so an unfamiliar exclusion is never taken as met.
MANDATE_SCREENS: Mapping[str, frozenset[str]] = {
    "tobacco": frozenset({"tobacco"}),
    "weapons": frozenset({"controversial_weapons", "civilian_firearms", "conventional_weapons"}),
    "fossil_fuels": frozenset({"thermal_coal", "oil_sands", "fossil_fuel_reserves"}),
    "gambling": frozenset({"gambling"}),
    "adult": frozenset({"adult_entertainment"}),
    "alcohol": frozenset({"alcohol"}),
    "nuclear": frozenset({"nuclear_power"}),
    **{c: frozenset({c}) for c in SCREEN_CATEGORIES},
}
# An ESG-only mandate excludes every category the mandate vocabulary has (ClientMandate).
ESG_ONLY_CATEGORIES: frozenset[str] = frozenset(c.value for c in ExclusionCategory)
# Where a sleeve's weight goes when no fund of its class meets the mandate: the same risk
# family, broader exposure first.
NEAREST_SLEEVES: Mapping[str, tuple[str, ...]] = {
    AssetClass.US_EQUITY: (AssetClass.US_SMALL_CAP, AssetClass.INTL_EQUITY),
    AssetClass.US_SMALL_CAP: (AssetClass.US_EQUITY, AssetClass.INTL_EQUITY),
    AssetClass.INTL_EQUITY: (AssetClass.US_EQUITY,),
    AssetClass.EMERGING_EQUITY: (AssetClass.INTL_EQUITY, AssetClass.US_EQUITY),
    AssetClass.REAL_ESTATE: (AssetClass.US_EQUITY,),
    AssetClass.US_BONDS: (AssetClass.TREASURIES, AssetClass.INTL_BONDS),
    AssetClass.INTL_BONDS: (AssetClass.US_BONDS, AssetClass.TREASURIES),
    AssetClass.HIGH_YIELD: (AssetClass.US_BONDS, AssetClass.TREASURIES),
    AssetClass.MUNICIPALS: (AssetClass.US_BONDS, AssetClass.TREASURIES),
    AssetClass.TIPS: (AssetClass.TREASURIES, AssetClass.US_BONDS),
    AssetClass.TREASURIES: (AssetClass.US_BONDS, AssetClass.TIPS),
    AssetClass.COMMODITIES: (AssetClass.CASH,),
    AssetClass.CASH: (AssetClass.TREASURIES,),
}


def screen_categories(categories: Iterable[str]) -> frozenset[str]:
    """The fund-screen categories a fund must exclude to meet these mandate categories."""
    out: set[str] = set()
    for c in categories:
        key = str(c).strip().lower().replace(" ", "_").replace("-", "_")
        out |= MANDATE_SCREENS.get(key, frozenset({key}))
    return frozenset(out)


def mandate_screens(mandate: ClientMandate) -> frozenset[str]:
    """What a fund must screen for this mandate (ESG-only: every mandate category)."""
    return screen_categories(mandate.screened_categories)


def screen_label(category: str) -> str:
    """'fossil_fuel_reserves' -> 'fossil-fuel reserves'."""
    return {
        "fossil_fuel_reserves": "fossil-fuel reserves",
        "adult_entertainment": "adult entertainment",
    }.get(category, category.replace("_", " "))


@dataclass(frozen=True)
class SleeveChoice:
    """A sleeve that can be bought under a mandate: its class and the fund that fills it."""

    asset_class: str
    fund: str
    moved_from: str | None = None  # the sleeve whose weight moves here, when it is not this one


@dataclass(frozen=True)
class YieldEstimate:
    """Estimated yearly income of a set of holdings from the reference yields."""

    yield_: float  # income / value (0 when there is no value)
    income: float  # dollars a year
    value: float  # the holdings' total value, including what has no reference yield
    without_yield: tuple[str, ...] = ()  # symbols counted at 0% (not in the reference data)
    as_of: date | None = None  # the oldest reference-yield date used


def _empty_screens() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=bool) for c in SCREEN_CATEGORIES}
        | {"index": pd.Series(dtype=object), "source": pd.Series(dtype=object)}
        | {"read_on": pd.Series(dtype=object)}
    )


def _read_screens(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return _empty_screens()
    df = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    df["symbol"] = df["symbol"].str.strip().str.upper()
    for c in SCREEN_CATEGORIES:
        df[c] = df[c].str.strip() == "1"
    return df.drop_duplicates("symbol").set_index("symbol")


def _read_yields(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    df = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    df["symbol"] = df["symbol"].str.strip().str.upper()
    df["yield"] = pd.to_numeric(df["yield"], errors="coerce")
    return df.drop_duplicates("symbol").set_index("symbol")


@dataclass(frozen=True)
class SecurityMaster:
    """Symbol -> name, asset_class, sector, kind, flags, yield, price, price_as_of.

    `screens` holds, per fund with published screens, one bool column per SCREEN_CATEGORIES
    entry plus `index`, `source` and `read_on`; a fund not in it screens nothing.
    """

    frame: pd.DataFrame
    screens: pd.DataFrame = field(default_factory=_empty_screens)

    @classmethod
    def from_csv(
        cls,
        path: str | Path = SECURITIES_CSV,
        screens_path: str | Path | None = None,
        yields_path: str | Path | None = None,
    ) -> SecurityMaster:
        """Load the master; the screen and yield files default to the ones beside it."""
        path = Path(path)
        df = pd.read_csv(path, comment="#", dtype={"symbol": str}, keep_default_na=False)
        df["symbol"] = df["symbol"].str.strip().str.upper()
        for col in FLAG_COLUMNS:
            df[col] = df[col].astype(str).str.strip().isin(["1", "true", "True", "yes", "Y"])
        df["price"] = pd.to_numeric(df["price"], errors="coerce")
        df["yield"] = pd.to_numeric(df.get("yield", 0.0), errors="coerce").fillna(0.0)
        df["yield_type"] = np.where(df["kind"] == "stock", "ttm_dividend", "ttm_distribution")
        df["yield_as_of"] = df["price_as_of"].astype(str)
        df["yield_source"] = "securities.csv (approximate)"
        yields = _read_yields(Path(yields_path) if yields_path else path.parent / FUND_YIELDS_CSV)
        if yields is not None:
            hit = df["symbol"].isin(yields.index)
            y = yields.reindex(df["symbol"])
            df.loc[hit, "yield"] = y["yield"].to_numpy()[hit.to_numpy()]
            for col, src in (("yield_type", "yield_type"), ("yield_as_of", "as_of")):
                df.loc[hit, col] = y[src].to_numpy()[hit.to_numpy()]
            df.loc[hit, "yield_source"] = y["source"].to_numpy()[hit.to_numpy()]
        df["yield"] = df["yield"].fillna(0.0)
        df["is_fund"] = df["kind"].isin(FUND_KINDS)
        df["is_cash"] = (df["kind"] == "money_market") | (df["asset_class"] == AssetClass.CASH)
        screens = _read_screens(
            Path(screens_path) if screens_path else path.parent / FUND_SCREENS_CSV
        )
        df = df.drop_duplicates("symbol")
        # Text as object arrays: a book's join to the reference data takes every column for each
        # of its rows, and pandas' string type makes that a conversion per column per call.
        text = [c for c in df.columns if pd.api.types.is_string_dtype(df[c].dtype)]
        df = df.astype({c: object for c in text})
        df.index = pd.Index(df["symbol"].to_numpy(dtype=object), dtype=object, name="symbol")
        return cls(df, screens)

    def __contains__(self, symbol: str) -> bool:
        return symbol.upper() in self._records

    @cached_property
    def _records(self) -> dict[str, dict]:
        """Plain per-symbol records: scalar look-ups without a pandas row per call."""
        return self.frame.to_dict("index")

    @cached_property
    def _screen_sets(self) -> dict[str, frozenset[str]]:
        return {
            str(s): frozenset(c for c in SCREEN_CATEGORIES if bool(row[c]))
            for s, row in self.screens.iterrows()
        }

    def _rec(self, symbol: str) -> dict | None:
        return self._records.get((symbol or "").upper())

    def get(self, symbol: str) -> pd.Series | None:
        s = symbol.upper()
        return self.frame.loc[s] if s in self.frame.index else None

    def price(self, symbol: str) -> float | None:
        row = self._rec(symbol)
        if row is None or pd.isna(row["price"]):
            return None
        return float(row["price"])

    def asset_class(self, symbol: str) -> str | None:
        row = self._rec(symbol)
        return None if row is None else str(row["asset_class"])

    def flags(self, symbol: str) -> set[str]:
        """Exclusion categories the security's own business falls in (a stock, a sector fund)."""
        row = self._rec(symbol)
        if row is None:
            return set()
        return {c.value for c in ExclusionCategory if bool(row[c.value])}

    def is_fund(self, symbol: str) -> bool:
        row = self._rec(symbol)
        return bool(row is not None and row["is_fund"])

    def is_esg_fund(self, symbol: str) -> bool:
        """The fund's index is built on ESG criteria; says nothing about which screens it has."""
        row = self._rec(symbol)
        return bool(row is not None and row["esg_fund"])

    @property
    def as_of(self) -> date:
        """The latest reference-price date in the file."""
        return pd.to_datetime(self.frame["price_as_of"]).max().date()

    # ---- classification of anything held -----------------------------------------------

    def classify(
        self, symbol: str, description: str = "", file_class: str | None = None
    ) -> Classification:
        """The class of any holding: the reference data's, else what identifier and text say.

        The one place a holding gets its class, for the engine's book and the agents' facts.
        """
        row = self._rec(symbol)
        if row is not None:
            return Classification(str(row["asset_class"]), "reference data")
        return classify_unlisted(symbol, description, file_class)

    def classify_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`classify` over a book: columns symbol, optional description and asset_class.

        Returns asset_class, basis and warning aligned with `frame`; known symbols are joined in
        bulk and only the distinct unknown rows are read one by one.
        """
        sym = frame["symbol"].astype(str).str.strip().str.upper()
        desc = (
            frame["description"].fillna("").astype(str)
            if "description" in frame
            else pd.Series("", index=frame.index)
        )
        given = (
            frame["asset_class"].fillna("").astype(str)
            if "asset_class" in frame
            else pd.Series("", index=frame.index)
        )
        known = sym.isin(self.frame.index)
        out = pd.DataFrame(
            {
                "asset_class": self.frame["asset_class"].reindex(sym).to_numpy(),
                "basis": np.where(known, "reference data", ""),
                "warning": None,
            },
            index=frame.index,
        )
        if (~known).any():
            keys = pd.DataFrame({"s": sym, "d": desc, "g": given})[~known]
            cache: dict[tuple[str, str, str], Classification] = {}
            for idx, s, d, g in keys.itertuples(name=None):
                k = (s, d, g)
                if k not in cache:
                    cache[k] = classify_unlisted(s, d, g or None)
                c = cache[k]
                out.at[idx, "asset_class"] = c.asset_class
                out.at[idx, "basis"] = c.basis
                out.at[idx, "warning"] = c.warning
        return out

    # ---- screens -------------------------------------------------------------------------

    def screened_by(self, symbol: str) -> frozenset[str]:
        """The categories the fund's index methodology excludes (empty for a plain fund)."""
        return self._screen_sets.get((symbol or "").upper(), frozenset())

    def screen_source(self, symbol: str) -> dict[str, str] | None:
        """Index, source and date read behind a fund's screens, or None if it has none."""
        s = symbol.upper()
        if s not in self.screens.index:
            return None
        row = self.screens.loc[s]
        return {
            "index": str(row["index"]),
            "source": str(row["source"]),
            "read_on": str(row["read_on"]),
        }

    def unmet_screens(self, symbol: str, categories: Iterable[str]) -> list[str]:
        """The fund-screen categories of a mandate this security does not meet, in order.

        `categories` are mandate categories (tobacco, weapons, fossil_fuels, ...) or fine ones.
        A stock or sector fund fails the categories its own business falls in; a fund also fails
        every category its index does not screen, unless it holds only government debt or cash.
        An unknown security meets nothing.
        """
        required = screen_categories(categories)
        if not required:
            return []
        row = self._rec(symbol)
        if row is None:
            return [c for c in SCREEN_CATEGORIES if c in required] + sorted(
                required - set(SCREEN_CATEGORIES)
            )
        own = screen_categories(self.flags(symbol))
        unmet = set(own & required)
        if bool(row["is_fund"]) and str(row["asset_class"]) not in ESG_NEUTRAL_CLASSES:
            unmet |= required - self.screened_by(symbol)
        return [c for c in SCREEN_CATEGORIES if c in unmet] + sorted(unmet - set(SCREEN_CATEGORIES))

    def meets_exclusions(self, symbol: str, categories: Iterable[str]) -> bool:
        return not self.unmet_screens(symbol, categories)

    def meets_exclusions_many(
        self, symbols: Sequence[str], categories: Iterable[str]
    ) -> np.ndarray:
        """`meets_exclusions` for a column of symbols, vectorised for the engine's book."""
        required = screen_categories(categories)
        sym = pd.Index([str(s).upper() for s in symbols], dtype=object)
        r = self.frame.reindex(sym)
        known = sym.isin(self.frame.index)
        if not required:
            return np.ones(len(sym), dtype=bool)
        ok = known.copy()
        for cat in ExclusionCategory:
            if MANDATE_SCREENS[cat.value] & required:
                ok &= ~r[cat.value].fillna(False).astype(bool).to_numpy()
        scr = self.screens.reindex(sym)
        covers = np.ones(len(sym), dtype=bool)
        for c in required:
            col = scr[c] if c in scr.columns else pd.Series(False, index=sym)
            covers &= col.fillna(False).astype(bool).to_numpy()
        is_fund = r["is_fund"].fillna(False).astype(bool).to_numpy()
        neutral = r["asset_class"].isin(list(ESG_NEUTRAL_CLASSES)).to_numpy()
        ok &= ~is_fund | neutral | covers
        return ok

    def qualifying_funds(
        self,
        asset_class: str,
        categories: Iterable[str],
        *,
        prefer: Sequence[str] = (),
        exclude: Iterable[str] = (),
    ) -> list[str]:
        """Funds of a class that meet a mandate's exclusions, best first.

        Order: the `prefer` symbols that qualify (a model's vehicles, funds already held), then
        the funds screening the fewest categories beyond what is asked (closest to the market),
        ETFs before mutual funds, then by symbol. Sector funds never fill a sleeve, and
        money-market funds only the cash sleeve.
        """
        key = (
            str(asset_class),
            tuple(sorted(map(str, categories))),
            tuple(p.upper() for p in prefer),
            tuple(sorted(s.upper() for s in exclude)),
        )
        if key not in self._qualifying:
            # The reference data does not change under an instance, and a book asks the same few
            # questions for thousands of households (one per sleeve and distinct mandate).
            self._qualifying[key] = self._qualifying_funds(*key)
        return list(self._qualifying[key])

    @cached_property
    def _qualifying(self) -> dict[tuple, list[str]]:
        return {}

    def _qualifying_funds(
        self,
        asset_class: str,
        categories: Sequence[str],
        prefer: Sequence[str],
        exclude: Sequence[str],
    ) -> list[str]:
        cats = list(categories)
        required = screen_categories(cats)
        banned = {s.upper() for s in exclude}
        f = self.frame
        pool = f[
            (f["asset_class"] == str(asset_class)) & f["is_fund"] & f["sector"].isin(BROAD_SECTORS)
        ]
        if str(asset_class) != AssetClass.CASH:
            pool = pool[pool["kind"] != "money_market"]
        pool = pool[~pool.index.isin(list(banned))]
        ok = pool.index[self.meets_exclusions_many(list(pool.index), cats)]
        extra = {s: len(self.screened_by(s) - required) for s in ok}
        ranked = sorted(ok, key=lambda s: (extra[s], f.at[s, "kind"] != "etf", s))
        first = [p.upper() for p in prefer if p.upper() in set(ok)]
        return list(dict.fromkeys([*first, *ranked]))

    def nearest_qualifying_sleeve(
        self,
        asset_class: str,
        categories: Iterable[str],
        *,
        sleeves: Iterable[str] | None = None,
        prefer: Sequence[str] = (),
        exclude: Iterable[str] = (),
    ) -> SleeveChoice | None:
        """The sleeve to buy for `asset_class` under these exclusions, and its fund.

        The class itself when a fund of it qualifies; else the first of NEAREST_SLEEVES (limited
        to `sleeves`, e.g. the model's, when given) that has one; None when nothing qualifies.
        """
        cats = list(categories)
        allowed = None if sleeves is None else {str(s) for s in sleeves}
        order = [str(asset_class), *(str(c) for c in NEAREST_SLEEVES.get(str(asset_class), ()))]
        for i, cls in enumerate(order):
            if i > 0 and allowed is not None and cls not in allowed:
                continue
            funds = self.qualifying_funds(cls, cats, prefer=prefer, exclude=exclude)
            if funds:
                return SleeveChoice(cls, funds[0], None if i == 0 else str(asset_class))
        return None

    # ---- income --------------------------------------------------------------------------

    def reference_yield(self, symbol: str) -> float | None:
        row = self._rec(symbol)
        return None if row is None else float(row["yield"])

    def estimated_yield(
        self, holdings: Mapping[str, float] | Iterable[tuple[str, float]]
    ) -> YieldEstimate:
        """Yearly income and yield of holdings (symbol -> value, or (symbol, value) pairs).

        Each holding earns its reference yield; what the reference data lacks (swept cash rows,
        unknown securities) counts at 0% and is named, so the estimate never flatters.
        """
        pairs = list(holdings.items()) if isinstance(holdings, Mapping) else list(holdings)
        by_symbol: dict[str, float] = {}
        for sym, v in pairs:
            if float(v) > 0:
                key = str(sym).upper()
                by_symbol[key] = by_symbol.get(key, 0.0) + float(v)
        value = float(sum(by_symbol.values()))
        income = 0.0
        missing: list[str] = []
        dates: list[str] = []
        for sym, v in by_symbol.items():  # one look-up per symbol, however many accounts
            row = self._rec(sym)
            if row is None:
                missing.append(sym)
                continue
            income += v * float(row["yield"])
            dates.append(str(row["yield_as_of"]))
        oldest = min(pd.to_datetime(dates)).date() if dates else None
        return YieldEstimate(
            yield_=income / value if value > 0 else 0.0,
            income=income,
            value=value,
            without_yield=tuple(dict.fromkeys(missing)),
            as_of=oldest,
        )


@lru_cache(maxsize=4)
def load_securities(path: str | Path = SECURITIES_CSV) -> SecurityMaster:
    return SecurityMaster.from_csv(path)


def esg_eligible(
    symbol: str, securities: SecurityMaster, categories: Iterable[str] | None = None
) -> bool:
    """May a mandate with these exclusions buy this? ESG-only (the default) excludes every
    mandate category, so a fund qualifies only if its index screens all of them (FTSE Choice,
    not "ESG Aware"); screen-clean single names and government debt qualify too."""
    cats = ESG_ONLY_CATEGORIES if categories is None else categories
    return symbol.upper() in securities and securities.meets_exclusions(symbol, cats)


__all__ = [
    "ESG_NEUTRAL_CLASSES",
    "ESG_ONLY_CATEGORIES",
    "MANDATE_SCREENS",
    "NEAREST_SLEEVES",
    "OTHER_CLASS",
    "SCREEN_CATEGORIES",
    "Classification",
    "SecurityMaster",
    "SleeveChoice",
    "YieldEstimate",
    "classify_unlisted",
    "esg_eligible",
    "is_cusip",
    "load_securities",
    "mandate_screens",
    "screen_categories",
    "screen_label",
]
