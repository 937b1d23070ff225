"""Screens per fund and per category, the queries the planner uses, and reference yields."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from portfolio.models import ClientMandate, ExclusionCategory
from portfolio.securities import (
    ESG_ONLY_CATEGORIES,
    MANDATE_SCREENS,
    SCREEN_CATEGORIES,
    SecurityMaster,
    esg_eligible,
    load_securities,
    mandate_screens,
    screen_categories,
)

DATA = Path(__file__).resolve().parent.parent / "data"
REF = load_securities()
AWARE = ["ESGU", "ESGD", "ESGE", "ESML", "EAGG"]
AWARE_SCREENS = {
    "tobacco",
    "controversial_weapons",
    "civilian_firearms",
    "thermal_coal",
    "oil_sands",
}


# ---------------------------------------------------------------------------------------------
# data/fund_screens.csv
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def screens_raw() -> pd.DataFrame:
    return pd.read_csv(DATA / "fund_screens.csv", comment="#", dtype=str, keep_default_na=False)


def test_screen_file_columns_values_sources_and_dates(screens_raw: pd.DataFrame) -> None:
    assert list(screens_raw.columns) == [
        "symbol",
        "index",
        *SCREEN_CATEGORIES,
        "source",
        "read_on",
    ]
    assert not screens_raw["symbol"].duplicated().any()
    for c in SCREEN_CATEGORIES:
        assert set(screens_raw[c]) <= {"0", "1"}, c
    assert (screens_raw["index"].str.len() > 5).all()
    assert (screens_raw["source"].str.len() > 20).all()
    for d in screens_raw["read_on"]:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) and date.fromisoformat(d) >= date(2025, 6, 30)


def test_every_screened_fund_is_a_listed_fund_and_every_esg_fund_has_screens(
    screens_raw: pd.DataFrame,
) -> None:
    for sym in screens_raw["symbol"]:
        assert REF.is_fund(sym), sym
    esg = set(REF.frame.index[REF.frame["esg_fund"]])
    assert esg == set(screens_raw["symbol"])


def test_ishares_esg_aware_funds_keep_oil_and_gas_producers() -> None:
    for sym in AWARE:
        assert REF.screened_by(sym) == AWARE_SCREENS, sym
        assert "fossil_fuel_reserves" not in REF.screened_by(sym)


def test_vanguard_ftse_choice_funds_screen_every_category() -> None:
    for sym in ["ESGV", "VSGX", "VCEB"]:
        assert REF.screened_by(sym) == set(SCREEN_CATEGORIES), sym
        assert REF.screen_source(sym)["read_on"]


def test_a_plain_fund_screens_nothing() -> None:
    assert REF.screened_by("VTI") == frozenset()
    assert REF.screen_source("VTI") is None


def test_loader_without_companion_files(tmp_path: Path) -> None:
    (tmp_path / "securities.csv").write_text(
        (DATA / "securities.csv").read_text(), encoding="utf-8"
    )
    bare = SecurityMaster.from_csv(tmp_path / "securities.csv")
    assert bare.screened_by("ESGV") == frozenset()  # nothing confirmed: nothing screened
    assert not bare.meets_exclusions("ESGV", ["fossil_fuels"])
    assert bare.reference_yield("BND") == pytest.approx(0.0375)


# ---------------------------------------------------------------------------------------------
# Mandate categories onto fund-screen categories
# ---------------------------------------------------------------------------------------------


def test_every_mandate_category_maps_onto_fund_screens() -> None:
    for c in ExclusionCategory:
        assert MANDATE_SCREENS[c.value] <= set(SCREEN_CATEGORIES), c
    assert screen_categories(["weapons"]) == {
        "controversial_weapons",
        "civilian_firearms",
        "conventional_weapons",
    }
    assert screen_categories(["fossil_fuels"]) == {
        "thermal_coal",
        "oil_sands",
        "fossil_fuel_reserves",
    }
    assert screen_categories(["Adult", "alcohol", "nuclear"]) == {
        "adult_entertainment",
        "alcohol",
        "nuclear_power",
    }
    # An unfamiliar category is never met by a fund.
    assert screen_categories(["cannabis"]) == {"cannabis"}
    assert not REF.meets_exclusions("ESGV", ["cannabis"])


def test_esg_only_means_every_mandate_category() -> None:
    assert ClientMandate(esg_only=True).screened_categories == set(ESG_ONLY_CATEGORIES)
    assert mandate_screens(ClientMandate(esg_only=True)) == screen_categories(ESG_ONLY_CATEGORIES)
    assert mandate_screens(ClientMandate()) == frozenset()


# ---------------------------------------------------------------------------------------------
# Does a security meet a mandate's exclusions?
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "categories", "unmet"),
    [
        ("ESGV", ["fossil_fuels", "weapons", "tobacco", "gambling"], []),
        ("ESGU", ["tobacco"], []),
        ("ESGU", ["fossil_fuels"], ["fossil_fuel_reserves"]),
        ("ESGD", ["weapons"], ["conventional_weapons"]),
        ("EAGG", ["gambling"], ["gambling"]),
        ("VTI", ["tobacco"], ["tobacco"]),
        ("BND", ["tobacco"], ["tobacco"]),  # holds tobacco companies' bonds
        ("GOVT", ["tobacco", "fossil_fuels"], []),  # government debt holds no such issuer
        ("SGOV", ["weapons"], []),
        ("AAPL", ["tobacco", "fossil_fuels"], []),  # a clean single name
        ("XOM", ["fossil_fuels"], ["thermal_coal", "oil_sands", "fossil_fuel_reserves"]),
        ("XOM", ["tobacco"], []),
        ("XLE", ["fossil_fuels"], ["thermal_coal", "oil_sands", "fossil_fuel_reserves"]),
        ("DSI", ["fossil_fuels"], ["thermal_coal", "oil_sands", "fossil_fuel_reserves"]),
        ("DSI", ["weapons", "gambling", "alcohol"], []),
        ("VTI", [], []),
    ],
)
def test_unmet_screens(symbol: str, categories: list[str], unmet: list[str]) -> None:
    assert REF.unmet_screens(symbol, categories) == unmet
    assert REF.meets_exclusions(symbol, categories) is (not unmet)
    assert REF.meets_exclusions_many([symbol], categories).tolist() == [not unmet]


def test_an_unknown_security_meets_no_exclusion() -> None:
    assert REF.unmet_screens("ZZZQ", ["tobacco"]) == ["tobacco"]
    assert REF.meets_exclusions_many(["ZZZQ", "ESGV"], ["tobacco"]).tolist() == [False, True]
    assert REF.meets_exclusions_many(["ZZZQ"], []).tolist() == [True]


def test_vectorised_check_agrees_with_the_row_by_row_one() -> None:
    symbols = list(REF.frame.index)
    for cats in ([], ["tobacco"], ["fossil_fuels"], ["weapons", "gambling"], ESG_ONLY_CATEGORIES):
        many = REF.meets_exclusions_many(symbols, cats)
        one = [REF.meets_exclusions(s, cats) for s in symbols]
        assert many.tolist() == one, cats


def test_esg_eligible_is_the_esg_only_mandate() -> None:
    assert esg_eligible("ESGV", REF) and esg_eligible("VSGX", REF) and esg_eligible("VCEB", REF)
    for sym in [*AWARE, "VTI", "BNDX", "XOM"]:
        assert not esg_eligible(sym, REF), sym
    assert esg_eligible("GOVT", REF) and esg_eligible("AAPL", REF)
    assert esg_eligible("ESGU", REF, ["tobacco"])  # a narrower mandate
    assert not esg_eligible("ZZZQ", REF)


# ---------------------------------------------------------------------------------------------
# The planner's queries
# ---------------------------------------------------------------------------------------------


def test_which_funds_of_a_class_meet_the_exclusions() -> None:
    esg = ESG_ONLY_CATEGORIES
    assert REF.qualifying_funds("us_equity", esg) == ["ESGV"]
    assert REF.qualifying_funds("intl_equity", esg) == ["VSGX"]
    assert REF.qualifying_funds("us_bonds", esg) == ["VCEB"]
    assert REF.qualifying_funds("emerging_equity", esg) == []
    assert REF.qualifying_funds("us_small_cap", esg) == []
    # Fewest screens beyond the mandate first: ESG Aware before FTSE Choice for tobacco alone.
    tob = REF.qualifying_funds("us_equity", ["tobacco"])
    assert tob[:2] == ["ESGU", "SUSA"] and tob[-1] == "ESGV"
    # Preferred symbols (a model's vehicle, a fund held) lead when they qualify.
    assert REF.qualifying_funds("us_equity", ["tobacco"], prefer=["ESGV", "VTI"])[0] == "ESGV"
    assert REF.qualifying_funds("cash", [], prefer=["SGOV"])[0] == "SGOV"
    # Excluded symbols and sector funds never fill a sleeve.
    assert "ESGU" not in REF.qualifying_funds("us_equity", ["tobacco"], exclude=["esgu"])
    plain = REF.qualifying_funds("us_equity", [])
    assert not {"XLE", "ITA", "XAR"} & set(plain) and plain[0] == "ITOT"
    assert not {"SPAXX", "VMFXX"} & set(REF.qualifying_funds("treasuries", []))


def test_nearest_qualifying_sleeve() -> None:
    esg = ESG_ONLY_CATEGORIES
    same = REF.nearest_qualifying_sleeve("us_equity", esg)
    assert (same.asset_class, same.fund, same.moved_from) == ("us_equity", "ESGV", None)
    em = REF.nearest_qualifying_sleeve("emerging_equity", esg)
    assert (em.asset_class, em.fund, em.moved_from) == ("intl_equity", "VSGX", "emerging_equity")
    small = REF.nearest_qualifying_sleeve("us_small_cap", esg)
    assert (small.asset_class, small.fund) == ("us_equity", "ESGV")
    intl_bonds = REF.nearest_qualifying_sleeve("intl_bonds", esg)
    assert (intl_bonds.asset_class, intl_bonds.fund) == ("us_bonds", "VCEB")
    # Limited to the model's sleeves: US bonds is not one, so Treasuries take the weight.
    only = REF.nearest_qualifying_sleeve("intl_bonds", esg, sleeves=["treasuries", "us_equity"])
    assert (only.asset_class, only.fund) == ("treasuries", "GOVT")
    assert REF.nearest_qualifying_sleeve("intl_bonds", esg, sleeves=["us_equity"]) is None


# ---------------------------------------------------------------------------------------------
# Reference yields
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def yields_raw() -> pd.DataFrame:
    return pd.read_csv(DATA / "fund_yields.csv", comment="#", dtype=str, keep_default_na=False)


def test_every_fund_has_a_dated_sourced_yield(yields_raw: pd.DataFrame) -> None:
    assert list(yields_raw.columns) == ["symbol", "yield", "yield_type", "as_of", "source"]
    funds = set(REF.frame.index[REF.frame["is_fund"]])
    assert set(yields_raw["symbol"]) == funds
    assert pd.to_numeric(yields_raw["yield"]).between(0, 0.10).all()
    assert set(yields_raw["yield_type"]) <= {"ttm_distribution", "sec_30_day", "seven_day_sec"}
    assert (yields_raw["as_of"] == "2025-06-30").all()
    assert yields_raw["source"].str.contains(r"\.com").all()
    row = REF.get("VCEB")
    assert (row["yield_type"], row["yield_as_of"], row["yield_source"]) == (
        "ttm_distribution",
        "2025-06-30",
        "investor.vanguard.com",
    )
    assert REF.get("AAPL")["yield_type"] == "ttm_dividend"


def test_the_yield_file_overrides_the_master(tmp_path: Path) -> None:
    (tmp_path / "securities.csv").write_text((DATA / "securities.csv").read_text())
    (tmp_path / "fund_yields.csv").write_text(
        "symbol,yield,yield_type,as_of,source\nBND,0.0450,sec_30_day,2025-07-31,vanguard.com\n"
    )
    m = SecurityMaster.from_csv(tmp_path / "securities.csv")
    assert m.reference_yield("BND") == pytest.approx(0.045)
    assert m.get("BND")["yield_type"] == "sec_30_day"
    assert m.reference_yield("VTI") == pytest.approx(0.0124)  # not in the file: the master's


def test_estimated_yield_of_holdings() -> None:
    est = REF.estimated_yield({"BND": 60_000, "VTI": 40_000})
    assert est.income == pytest.approx(60_000 * 0.0375 + 40_000 * 0.0124)
    assert est.yield_ == pytest.approx(est.income / 100_000)
    assert est.as_of == date(2025, 6, 30) and est.without_yield == ()
    # Unknown symbols and swept cash count at 0% and are named; negatives and zeros are ignored.
    est = REF.estimated_yield([("BND", 50_000), ("CASH", 50_000), ("ZZZQ", 0), ("VTI", -5)])
    assert est.yield_ == pytest.approx(0.0375 / 2)
    assert est.without_yield == ("CASH",) and est.value == 100_000
    empty = REF.estimated_yield({})
    assert (empty.yield_, empty.income, empty.as_of) == (0.0, 0.0, None)


# ---------------------------------------------------------------------------------------------
# The crew sees the same rule as the gate
# ---------------------------------------------------------------------------------------------


def test_risk_facts_list_funds_that_do_not_screen_the_mandates_categories() -> None:
    from agents.facts import holdings_frame, risk_facts
    from portfolio.market_data import bundled_snapshot
    from portfolio.model_portfolios import load_model
    from portfolio.models import Holdings, Position

    holdings = Holdings(
        positions=[
            Position(symbol=s, quantity=100, price=REF.price(s), market_value=100 * REF.price(s))
            for s in ["ESGD", "ESGV", "VTI", "GOVT", "AAPL"]
        ]
    )
    hold = holdings_frame(holdings, REF)

    def ineligible(mandate: ClientMandate) -> list[str]:
        facts = risk_facts(hold, mandate, load_model(mandate.risk_profile), bundled_snapshot(), REF)
        return sorted(facts["esg_ineligible_funds"])

    assert ineligible(ClientMandate(esg_only=True)) == ["ESGD", "VTI"]
    assert ineligible(ClientMandate(excluded_categories=["tobacco"])) == ["VTI"]
    assert ineligible(ClientMandate()) == []


def test_qualifying_funds_asked_again_gives_the_same_fresh_list() -> None:
    """The answers are remembered per instance (a book asks the same few questions thousands of
    times): a caller changing its list must not change the next answer."""
    sec = load_securities()
    first = sec.qualifying_funds("us_equity", ["fossil_fuels"], prefer=["ESGV"])
    first.append("NOT-A-FUND")
    again = sec.qualifying_funds("us_equity", ["fossil_fuels"], prefer=["esgv"])
    assert "NOT-A-FUND" not in again
    assert again == first[:-1] and again[0] == "ESGV"
    assert sec.qualifying_funds("us_equity", [], exclude=["VTI"])[0] != "VTI"
