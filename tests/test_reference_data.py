"""Checks on data/: the security master, the model portfolios and the sample client files.

The engine trusts these files, so every rule the data README states is asserted here.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from portfolio.models import (
    EQUITY_CLASSES,
    AssetClass,
    ModelPortfolio,
    ModelSleeve,
    RiskProfile,
)
from portfolio.securities import SecurityMaster

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLES = DATA / "samples"
SECURITIES = DATA / "securities.csv"
MODELS = DATA / "models.csv"
AS_OF = date(2025, 6, 30)

SECURITY_COLUMNS = [
    "symbol", "name", "asset_class", "sector", "kind", "tobacco", "weapons", "fossil_fuels",
    "gambling", "esg_fund", "yield", "price", "price_as_of",
]  # fmt: skip
FLAGS = ["tobacco", "weapons", "fossil_fuels", "gambling", "esg_fund"]
KINDS = {"stock", "etf", "mutual_fund", "money_market"}
GICS = {
    "Information Technology", "Communication Services", "Consumer Discretionary",
    "Consumer Staples", "Energy", "Financials", "Health Care", "Industrials", "Materials",
    "Real Estate", "Utilities",
}  # fmt: skip
VALID_CLASSES = {c.value for c in AssetClass} - {AssetClass.UNCLASSIFIED.value}

# S&P 100 membership, mid-2025 (GOOG and GOOGL are both members).
SP100 = frozenset({
    "AAPL", "ABBV", "ABT", "ACN", "ADBE", "AIG", "AMD", "AMGN", "AMT", "AMZN", "AVGO", "AXP",
    "BA", "BAC", "BK", "BKNG", "BLK", "BMY", "BRK.B", "C", "CAT", "CHTR", "CL", "CMCSA",
    "COF", "COP", "COST", "CRM", "CSCO", "CVS", "CVX", "DE", "DHR", "DIS", "DUK", "EMR",
    "F", "FDX", "GD", "GE", "GILD", "GM", "GOOG", "GOOGL", "GS", "HD", "HON", "IBM",
    "INTC", "INTU", "ISRG", "JNJ", "JPM", "KO", "LIN", "LLY", "LMT", "LOW", "MA", "MCD",
    "MDLZ", "MDT", "MET", "META", "MMM", "MO", "MRK", "MS", "MSFT", "NEE", "NFLX", "NKE",
    "NOW", "NVDA", "ORCL", "PEP", "PFE", "PG", "PLTR", "PM", "PYPL", "QCOM", "RTX", "SBUX",
    "SCHW", "SO", "SPG", "T", "TGT", "TMO", "TMUS", "TSLA", "TXN", "UNH", "UNP", "UPS",
    "USB", "V", "VZ", "WFC", "WMT", "XOM",
})  # fmt: skip

SAMPLE_FILES = [
    "seed000_four_tech.csv",
    "seed001_esg_moderate.csv",
    "seed001_notes.txt",
    "plain_with_lots.csv",
    "schwab_single_account.csv",
    "schwab_all_accounts.csv",
    "Portfolio_Positions_Jun-30-2025.csv",
    "vanguard_download.csv",
    "ibkr_activity_statement.csv",
    "etrade_PortfolioDownload.csv",
    "hostile_descriptions.csv",
    "malformed_rows.csv",
]
PUBLISHED_EQUITY_SHARE = {
    "conservative": 0.20,
    "moderately_conservative": 0.40,
    "moderate": 0.60,
    "moderately_aggressive": 0.80,
    "aggressive": 0.90,
}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The file as written: strings, duplicates kept, so formatting rules can be checked."""
    return pd.read_csv(SECURITIES, comment="#", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def master() -> SecurityMaster:
    return SecurityMaster.from_csv(SECURITIES)


@pytest.fixture(scope="module")
def models() -> pd.DataFrame:
    return pd.read_csv(MODELS, comment="#", dtype={"weight": float})


# ---------------------------------------------------------------------------------------------
# securities.csv
# ---------------------------------------------------------------------------------------------


def test_securities_header_comment_states_reference_prices_and_date() -> None:
    comments = [ln for ln in SECURITIES.read_text().splitlines() if ln.startswith("#")]
    text = " ".join(comments).lower()
    assert "reference" in text and "not a live quote" in text
    assert AS_OF.isoformat() in text


def test_securities_columns_exact(raw: pd.DataFrame) -> None:
    assert list(raw.columns) == SECURITY_COLUMNS


def test_security_master_loads(master: SecurityMaster, raw: pd.DataFrame) -> None:
    assert len(master.frame) == len(raw)
    assert master.as_of == AS_OF
    assert master.price("aapl") == pytest.approx(205.17)
    assert master.asset_class("BRK.B") == "us_equity"
    assert master.flags("MO") == {"tobacco"}
    assert master.is_esg_fund("ESGV") and not master.is_esg_fund("VTI")
    assert master.is_fund("VTSAX") and not master.is_fund("NVDA")
    assert bool(master.get("SPAXX")["is_cash"]) and bool(master.get("SGOV")["is_cash"])


def test_counts(raw: pd.DataFrame) -> None:
    assert (raw["kind"] == "stock").sum() >= 100
    assert raw["kind"].isin(["etf", "mutual_fund", "money_market"]).sum() >= 60
    assert (raw["kind"] == "money_market").sum() >= 7


def test_all_sp100_present_as_stocks(raw: pd.DataFrame) -> None:
    kinds = dict(zip(raw["symbol"], raw["kind"], strict=True))
    missing = sorted(SP100 - kinds.keys())
    assert not missing, f"S&P 100 names missing: {missing}"
    assert {s for s in SP100 if kinds[s] != "stock"} == set()


def test_symbols_unique_upper_and_clean(raw: pd.DataFrame) -> None:
    dupes = raw["symbol"][raw["symbol"].duplicated()].tolist()
    assert not dupes, f"duplicate symbols: {dupes}"
    for sym in raw["symbol"]:
        assert sym == sym.strip().upper() and sym, repr(sym)
        assert all(ch.isalnum() or ch == "." for ch in sym), sym
    assert "BRK.B" in set(raw["symbol"])


def test_enumerated_columns_valid(raw: pd.DataFrame) -> None:
    assert set(raw["asset_class"]) <= VALID_CLASSES
    assert set(raw["kind"]) <= KINDS
    for col in FLAGS:
        assert set(raw[col]) <= {"0", "1"}, col
    assert set(raw.loc[raw["kind"] == "stock", "sector"]) <= GICS
    assert (raw["name"].str.len() > 0).all() and (raw["sector"].str.len() > 0).all()


def test_prices_positive_two_decimals_one_date(raw: pd.DataFrame) -> None:
    prices = pd.to_numeric(raw["price"])
    assert (prices > 0).all()
    assert raw["price"].str.fullmatch(r"\d+\.\d{2}").all()
    assert set(raw["price_as_of"]) == {AS_OF.isoformat()}
    assert (prices[raw["kind"] == "money_market"] == 1.0).all()


def test_yields_are_fractions(raw: pd.DataFrame) -> None:
    yields = pd.to_numeric(raw["yield"])
    assert yields.between(0, 0.10).all()
    mm = yields[raw["kind"] == "money_market"]
    assert mm.between(0.03, 0.06).all()


def test_classification_rules(master: SecurityMaster) -> None:
    assert master.asset_class("AMT") == master.asset_class("SPG") == "real_estate"
    assert master.asset_class("VT") == "us_equity"
    assert master.asset_class("VB") == "us_small_cap"
    assert master.asset_class("VWO") == "emerging_equity"
    assert master.asset_class("BNDX") == "intl_bonds"
    assert master.asset_class("VTIP") == "tips"
    assert master.asset_class("VMFXX") == "cash"


@pytest.mark.parametrize(
    ("symbol", "flag"),
    [
        ("MO", "tobacco"), ("PM", "tobacco"), ("BTI", "tobacco"),
        ("LMT", "weapons"), ("RTX", "weapons"), ("GD", "weapons"), ("NOC", "weapons"),
        ("BA", "weapons"), ("ITA", "weapons"), ("XAR", "weapons"),
        ("XOM", "fossil_fuels"), ("CVX", "fossil_fuels"), ("COP", "fossil_fuels"),
        ("OXY", "fossil_fuels"), ("SLB", "fossil_fuels"), ("EOG", "fossil_fuels"),
        ("XLE", "fossil_fuels"),
        ("LVS", "gambling"), ("WYNN", "gambling"), ("MGM", "gambling"), ("DKNG", "gambling"),
    ],
)  # fmt: skip
def test_screen_names_flagged(master: SecurityMaster, symbol: str, flag: str) -> None:
    assert master.flags(symbol) == {flag}


def test_broad_and_esg_funds_pass_every_screen(master: SecurityMaster) -> None:
    for sym in ["VTI", "VOO", "SPY", "VXUS", "VT", "BND", "AGG", "VNQ", "ESGV", "EAGG", "SGOV"]:
        assert master.flags(sym) == set(), sym
    esg = set(master.frame.index[master.frame["esg_fund"]])
    expected = {"ESGV", "VSGX", "ESGU", "SUSA", "DSI", "ESML", "ESGD", "ESGE"}
    assert esg == expected | {"EAGG", "SUSB", "SUSC", "VCEB", "NUBD"}
    assert master.frame.loc[sorted(esg), "is_fund"].all()


# ---------------------------------------------------------------------------------------------
# models.csv
# ---------------------------------------------------------------------------------------------


def test_models_columns_and_profiles(models: pd.DataFrame) -> None:
    assert list(models.columns) == ["profile", "asset_class", "weight", "vehicle", "esg_vehicle"]
    assert set(models["profile"]) == {p.value for p in RiskProfile}
    assert not models.duplicated(["profile", "asset_class"]).any()
    assert set(models["asset_class"]) <= VALID_CLASSES


def test_model_weights_sum_to_one(models: pd.DataFrame) -> None:
    for profile, group in models.groupby("profile"):
        assert group["weight"].sum() == pytest.approx(1.0, abs=1e-9), profile
        assert (group["weight"] > 0).all(), profile


def test_model_equity_share_matches_published_split(models: pd.DataFrame) -> None:
    for profile, group in models.groupby("profile"):
        sleeves = [ModelSleeve(**row) for row in group.drop(columns="profile").to_dict("records")]
        model = ModelPortfolio(profile=profile, sleeves=sleeves)
        assert model.equity_share == pytest.approx(PUBLISHED_EQUITY_SHARE[profile], abs=1e-9)
        cash = model.weights()["cash"]
        assert 0.02 <= cash <= 0.05, profile


def test_model_vehicles_exist_and_match_sleeve(
    models: pd.DataFrame, master: SecurityMaster
) -> None:
    for row in models.itertuples():
        for sym in (row.vehicle, row.esg_vehicle):
            assert sym in master, sym
            assert master.is_fund(sym), sym
            assert master.asset_class(sym) == row.asset_class, (row.profile, sym)
            assert master.flags(sym) == set(), sym


def test_equity_and_aggregate_bond_sleeves_have_esg_funds(
    models: pd.DataFrame, master: SecurityMaster
) -> None:
    for row in models.itertuples():
        if row.asset_class in EQUITY_CLASSES or row.asset_class == "us_bonds":
            assert master.is_esg_fund(row.esg_vehicle), (row.profile, row.asset_class)
    moderate = models[(models["profile"] == "moderate") & (models["asset_class"] == "us_bonds")]
    # EAGG (iShares ESG Aware) keeps oil and gas producers; VCEB screens every ESG-only category.
    assert moderate["esg_vehicle"].tolist() == ["VCEB"]


def test_models_cite_published_source() -> None:
    comments = " ".join(ln for ln in MODELS.read_text().splitlines() if ln.startswith("#"))
    assert "Vanguard" in comments and "LifeStrategy" in comments
    readme = (DATA / "README.md").read_text()
    assert "LifeStrategy" in readme and "2025-06-30" in readme


# ---------------------------------------------------------------------------------------------
# samples/
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_exists_and_non_empty(name: str) -> None:
    path = SAMPLES / name
    assert path.is_file(), name
    assert path.stat().st_size > 0, name
    assert name in (DATA / "README.md").read_text(), f"{name} not described in data/README.md"


@pytest.mark.parametrize("name", ["schwab_single_account.csv", "schwab_all_accounts.csv"])
def test_schwab_samples_use_crlf(name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    assert data.count(b"\n") > 5
    assert data.count(b"\r\n") == data.count(b"\n")


def test_fidelity_sample_has_bom_and_disclaimer() -> None:
    data = (SAMPLES / "Portfolio_Positions_Jun-30-2025.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.startswith("Account Number,Account Name,Symbol,")
    assert "SPAXX**" in text and "Pending Activity" in text and "Date downloaded" in text


def _plain(name: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLES / name, dtype={"Symbol": str})


def test_seed000_is_four_equal_tech_positions(master: SecurityMaster) -> None:
    df = _plain("seed000_four_tech.csv")
    assert df["Symbol"].tolist() == ["AAPL", "GOOGL", "MSFT", "AMZN"]
    assert (df["Market Value"] == 25000.0).all()
    for row in df.itertuples():
        assert row.Price == master.price(row.Symbol)
        # Quantities are rounded to 4 decimals, so value is exact to within half a unit of that.
        assert row.Quantity * row.Price == pytest.approx(25000, abs=0.00005 * row.Price)


def test_seed001_matches_client_story(master: SecurityMaster) -> None:
    df = _plain("seed001_esg_moderate.csv")
    total = df["Market Value"].sum()
    assert total == pytest.approx(500_000)
    weights = dict(zip(df["Symbol"], df["Market Value"] / total, strict=True))
    assert weights == pytest.approx(
        {"VT": 0.70, "NVDA": 0.08, "AAPL": 0.07, "MSFT": 0.05, "SWVXX": 0.10}
    )
    assert master.get("SWVXX")["is_cash"]
    notes = (SAMPLES / "seed001_notes.txt").read_text()
    assert "ESG-only" in notes and "max 5% single name" in notes


def test_plain_with_lots_has_lots_terms_losses_and_unknown(master: SecurityMaster) -> None:
    df = _plain("plain_with_lots.csv")
    assert set(df["Account"]) == {"Joint Taxable", "Roth IRA"}
    assert df.duplicated(["Account", "Symbol"], keep=False).sum() >= 4
    acquired = pd.to_datetime(df["Acquired Date"]).dt.date
    held_days = acquired.map(lambda d: (AS_OF - d).days)
    assert (held_days <= 365).any() and (held_days > 365).any()
    value = df["Shares"] * df["Price"]
    assert (value < df["Cost Basis"]).any()
    assert {"MO", "XOM"} <= set(df["Symbol"])
    by_symbol = value.groupby(df["Symbol"]).sum() / value.sum()
    assert by_symbol.max() > 0.05
    unknown = {s for s in df["Symbol"] if s not in master}
    assert unknown == {"ZZZQ"}


def test_plain_samples_use_known_symbols_at_reference_prices(master: SecurityMaster) -> None:
    for name in ["seed001_esg_moderate.csv", "hostile_descriptions.csv"]:
        df = _plain(name)
        for _, row in df.iterrows():
            sym, qty, price = row["Symbol"], row["Quantity"], row["Price"]
            assert sym in master, (name, sym)
            assert price == master.price(sym), (name, sym)
            assert qty * price == pytest.approx(row["Market Value"], abs=0.00005 * price + 0.005)


def test_hostile_sample_carries_hostile_text() -> None:
    df = _plain("hostile_descriptions.csv")
    text = " ".join(df["Description"])
    assert "IGNORE PREVIOUS INSTRUCTIONS" in text
    assert any(d.startswith(("=", "@", "+", "-")) for d in df["Description"])


def test_malformed_rows_are_where_the_readme_says() -> None:
    rows = list(csv.reader(io.StringIO((SAMPLES / "malformed_rows.csv").read_text())))
    header = rows[0]
    by_line = {i + 1: r for i, r in enumerate(rows)}
    assert by_line[3][2] == "abc"
    assert by_line[4][0] == ""
    assert len(by_line[6]) > len(header)
    assert float(by_line[7][3]) < 0
    for line in (2, 5, 8):
        assert len(by_line[line]) == len(header) and float(by_line[line][2]) > 0


def test_fidelity_bond_cusip_is_valid() -> None:
    def check_digit(base: str) -> int:
        total = 0
        for i, ch in enumerate(base):
            v = int(ch) if ch.isdigit() else ord(ch) - 55
            v = v * 2 if i % 2 else v
            total += v // 10 + v % 10
        return (10 - total % 10) % 10

    text = (SAMPLES / "Portfolio_Positions_Jun-30-2025.csv").read_text(encoding="utf-8-sig")
    row = next(r for r in csv.reader(io.StringIO(text)) if len(r) > 2 and r[2] == "912828YK0")
    assert check_digit("912828YK") == 0
    assert row[4] == "10000" and row[5] == "$96.50" and row[7] == "$9650.00"
