"""Holdings the reference data lacks: Treasuries by CUSIP or description, other bonds, "other"."""

from __future__ import annotations

import pandas as pd
import pytest

from agents.facts import holdings_frame
from portfolio.models import Holdings, Position
from portfolio.securities import OTHER_CLASS, load_securities
from portfolio.unlisted import classify_unlisted, cusip_check_digit, is_cusip

REF = load_securities()


def test_the_treasury_bond_known_only_by_cusip_is_a_treasury() -> None:
    c = REF.classify("912810FS2")
    assert c.asset_class == "treasuries"
    assert "912810FS2" in c.basis and c.warning is None
    # The class the reference data gives Treasury funds, so weights add up with GOVT.
    assert c.asset_class == REF.asset_class("GOVT")


@pytest.mark.parametrize(
    ("cusip", "valid"),
    [
        ("912810FS2", True),
        ("912828YK0", True),  # the Fidelity sample's Treasury note
        ("037833100", True),  # Apple common stock
        ("912810FS3", False),  # wrong check digit
        ("91281OFS2", False),  # letter O in the issuer number
        ("912810FS", False),  # eight characters
        ("AAPL", False),
    ],
)
def test_cusip_shape_and_check_digit(cusip: str, valid: bool) -> None:
    assert is_cusip(cusip) is valid


def test_check_digit_arithmetic() -> None:
    assert cusip_check_digit("912810FS") == 2
    assert cusip_check_digit("912828YK") == 0


@pytest.mark.parametrize(
    ("symbol", "description", "expected"),
    [
        ("912828YK0", "UNITED STATES TREAS NTS 1.375% 10/15/2026", "treasuries"),
        ("XS1", "US TREASURY BILL 0% 09/18/2025", "treasuries"),
        ("XS2", "U.S. TREASURY NOTE 4.25% DUE 2034", "treasuries"),
        ("XS3", "T-BILL 12/26/2025", "treasuries"),
        ("912796ZZ5", "", "treasuries"),  # a bill CUSIP (issuer 912796), no description
        ("XS4", "US TREAS INFLATION INDEXED NT 0.125% 2032", "tips"),
        ("XS5", "APPLE INC SR UNSEC 3.85% 05/04/2043", "us_bonds"),
        ("XS6", "ACME CORP 5 1/4% NOTES DUE 2031", "us_bonds"),
        ("XS7", "JPMORGAN CHASE BK NA CD 4.50% 01/15/2027", "us_bonds"),
        ("XS8", "NEW YORK ST DORM AUTH REV BDS 5.000% 03/15/2035", "municipals"),
        ("XS9", "FORD MOTOR CREDIT HIGH YIELD NT 7.35% 11/04/2027", "high_yield"),
        ("XS10", "REPUBLIC OF ITALY INTL BD 2.875% 10/17/2029", "intl_bonds"),
        ("XS11", "ACME GOVERNMENT MONEY MARKET FUND", "cash"),
        ("037833AK6", "", "us_bonds"),  # a bond CUSIP, no ticker
    ],
)
def test_identifiable_securities(symbol: str, description: str, expected: str) -> None:
    c = classify_unlisted(symbol, description)
    assert c.asset_class == expected, c
    assert c.warning is None


@pytest.mark.parametrize(
    ("symbol", "description"),
    [
        ("ZZZQ", ""),
        ("ZZZQ", "ZZZ QUANTUM HOLDINGS INC"),
        ("ATTX", "AT&T INC"),  # "&T" must not read as a Treasury
        ("XETN", "IPATH EXCHANGE TRADED NOTES 2036"),  # an ETN is not a bond holding
        ("123456789", ""),  # CUSIP shape, wrong check digit: an account number, not a bond
    ],
)
def test_the_rest_is_other_with_a_warning(symbol: str, description: str) -> None:
    c = classify_unlisted(symbol, description)
    assert c.asset_class == OTHER_CLASS
    assert c.warning and symbol in c.warning and "counted in totals" in c.warning


def test_precedence_reference_then_treasury_then_file_class() -> None:
    assert REF.classify("VTI", "US TREASURY NOTE").asset_class == "us_equity"  # reference wins
    # A Treasury CUSIP is more specific than a file's "fixed income".
    assert REF.classify("912810FS2", "", "us_bonds").asset_class == "treasuries"
    # Otherwise what the file states beats a guess from words.
    c = REF.classify("ZZZQ", "ACME BOND FUND", "intl_bonds")
    assert (c.asset_class, c.basis) == ("intl_bonds", "the file's own asset class")
    assert REF.classify("ZZZQ", "", "unclassified").asset_class == OTHER_CLASS


def test_classify_frame_matches_classify_row_by_row() -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["aapl", "912810FS2", "ZZZQ", "912810FS2", "XS5"],
            "description": ["", "", "", "", "APPLE INC 3.85% 05/04/2043"],
            "asset_class": ["unclassified"] * 5,
        },
        index=[10, 11, 12, 13, 14],
    )
    out = REF.classify_frame(frame)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert out["asset_class"].tolist() == [
        "us_equity",
        "treasuries",
        OTHER_CLASS,
        "treasuries",
        "us_bonds",
    ]
    assert out.loc[10, "basis"] == "reference data" and out.loc[10, "warning"] is None
    assert out.loc[12, "warning"] and out.loc[11, "warning"] is None


def test_the_crew_classifies_an_unknown_treasury_as_the_engine_would() -> None:
    holdings = Holdings(
        positions=[
            Position(symbol="912810FS2", quantity=100_000, price=98.0, market_value=98_000.0),
            Position(symbol="VTI", quantity=100, price=303.93, market_value=30_393.0),
            Position(symbol="ZZZQ", quantity=10, price=5.0, market_value=50.0),
        ]
    )
    frame = holdings_frame(holdings, REF)
    classes = frame["asset_class"].to_dict()
    assert classes == {"912810FS2": "treasuries", "VTI": "us_equity", "ZZZQ": OTHER_CLASS}
