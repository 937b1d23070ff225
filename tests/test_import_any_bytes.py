"""Any byte string either imports with exact row accounting or is refused in one line.

Whatever an advisor drops on the page or names on the command line, the shared import service
returns a usable book (every non-blank line a position, a skipped row or an error; every figure
finite; strict JSON) or raises `UnreadableFileError` with one sentence. Nothing else escapes.
"""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_import_accounting import assert_accounted

from portfolio.import_service import ImportedBook, import_book
from portfolio.importers.text import decode, sniff_delimiter
from portfolio.json_out import dumps
from portfolio.models import UnreadableFileError
from portfolio.securities import load_securities

SECURITIES = load_securities()

HEADERS = [
    "Symbol,Quantity,Price,Market Value",
    "Account,Symbol,Quantity,Price,Market Value,Cost Basis,Acquired",
    "symbol;quantity;price;market value",
    "Symbol\tShares\tLast Price\tCurrent Value",
    "Symbol,Allocation,Current Value",
    "Symbol,Weight,total_value",
    "symbol,market value",
]
CELLS = st.one_of(
    st.sampled_from(
        [
            "AAPL",
            "VTI",
            "CASH",
            "Total",
            "Pending Activity",
            "=1+1",
            "",
            "--",
            "n/a",
            "1e308",
            "1e400",
            "-5",
            "0",
            "1.000",
            "30.000,00",
            "2,051.70",
            "$1,234.56",
            "(12.50)",
            "25%",
            "0.25",
            "inf",
            "NaN",
            "1e15",
            "100",
            "205.17",
            '"a,b"',
            "2020-01-02",
            "Account 1",
        ]
    ),
    st.text(alphabet="0123456789.,$-()%eE ABCXYZ", max_size=8),
)
ROW = st.lists(CELLS, min_size=0, max_size=8)
GOOD_NUMBERS = st.one_of(
    st.integers(1, 10**6).map(str),
    st.floats(0.01, 1e6).map(lambda x: f"{x:.2f}"),
    st.sampled_from(["", "100", "0.25", "25%", "1.000", "12,5"]),
)


@st.composite
def sheets(draw: st.DrawFn) -> bytes:
    """Sheet-shaped text: a header near the top, rows of plausible and implausible cells."""
    header = draw(st.sampled_from(HEADERS))
    delim = ";" if ";" in header else "\t" if "\t" in header else ","
    width = header.count(delim) + 1
    good = st.lists(
        st.one_of(st.sampled_from(["AAPL", "VTI", "BND", "CASH", "ZZZQ"]), GOOD_NUMBERS),
        min_size=width,
        max_size=width,
    ).map(lambda r: [r[0] if r[0].isalpha() else "VTI", *r[1:]])
    rows = draw(st.lists(st.one_of(good, good, ROW), max_size=12))
    lines = [header, *(delim.join(r) for r in rows)]
    if draw(st.booleans()):
        lines.insert(0, draw(st.sampled_from(["Positions for account X as of today", "", "Title"])))
    return ("\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))).encode()


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    good = st.fixed_dictionaries(
        {
            "symbol": st.sampled_from(["AAPL", "VTI", "BND", "CASH"]),
            "allocation": st.floats(0, 1),
            "current_value": st.one_of(st.floats(1, 1e7), st.none()),
        }
    )
    assets = draw(
        st.lists(
            good
            | st.dictionaries(
                st.sampled_from(["symbol", "allocation", "current_value", "quantity", "x"]),
                st.one_of(
                    st.sampled_from(["AAPL", "VTI", "CASH", "", "=1"]),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.integers(),
                    st.none(),
                    st.booleans(),
                ),
            ),
            max_size=6,
        )
    )
    doc = {"assets": assets}
    if draw(st.booleans()):
        doc["total_value"] = draw(st.one_of(st.integers(-10, 10**6), st.text(max_size=3)))
    if draw(st.booleans()):
        doc["risk_profile"] = draw(st.sampled_from(["MODERATE", "aggressive", "yolo", 3]))
    return json.dumps(doc, indent=draw(st.sampled_from([None, 2]))).encode()


def _strict(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(name)

    return json.loads(text, parse_constant=refuse)


def check(data: bytes, name: str) -> None:
    try:
        book = import_book(data, name, SECURITIES)
    except UnreadableFileError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        return
    assert_usable(book)
    if name.endswith(".csv") and not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        text = decode(data, name)
        assert_accounted(book.holdings, text, sniff_delimiter(text))


def assert_usable(book: ImportedBook) -> None:
    holdings = book.holdings
    assert holdings.positions
    assert math.isfinite(holdings.total_value) and holdings.total_value > 0
    for p in holdings.positions:
        assert math.isfinite(p.quantity) and math.isfinite(p.market_value)
        assert abs(p.quantity) <= 1e9 or p.is_cash
    _strict(dumps(book.model_dump(mode="json")))
    error_lines = {i.line for i in holdings.issues if i.severity == "error" and i.line}
    assert {r.line for r in book.unread} == error_lines


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes(data: bytes) -> None:
    check(data, "upload.csv")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(sheets())
def test_any_sheet(data: bytes) -> None:
    check(data, "sheet.csv")


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_any_request(data: bytes) -> None:
    check(data, "request.json")
