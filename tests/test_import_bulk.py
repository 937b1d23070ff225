"""Big files take their ordinary rows in bulk (`portfolio/importers/bulk.py`); the book must be the
one the row-by-row walk gives, line for line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_import_any_bytes import sheets as any_sheets

from portfolio.importers import bulk, read_holdings, read_holdings_frame
from portfolio.models import Holdings
from portfolio.securities import load_securities

SECURITIES = load_securities()
SAMPLES = sorted((Path(__file__).resolve().parent.parent / "data" / "samples").glob("*.csv"))


def read(data: bytes, name: str, monkeypatch: pytest.MonkeyPatch, head: int | None) -> Holdings:
    with monkeypatch.context() as m:
        if head is None:  # the walk alone
            m.setattr(bulk, "MIN_LINES", 10**9)
        else:
            m.setattr(bulk, "MIN_LINES", 0)
            m.setattr(bulk, "HEAD_LINES", head)
        return read_holdings(data, filename=name, securities=SECURITIES)


def used_bulk(data: bytes, head: int, monkeypatch: pytest.MonkeyPatch) -> bool:
    from portfolio.importers.text import decode, sniff_delimiter

    with monkeypatch.context() as m:
        m.setattr(bulk, "MIN_LINES", 0)
        m.setattr(bulk, "HEAD_LINES", head)
        text = decode(data, "f.csv")
        tail = bulk.split_tail(text, sniff_delimiter(text))
    return tail is not None and bool(tail.blocks)


def same(data: bytes, name: str, monkeypatch: pytest.MonkeyPatch, head: int) -> None:
    try:
        walked = read(data, name, monkeypatch, None)
    except ValueError as exc:  # refused either way, with the same words
        with pytest.raises(type(exc)) as again:
            read(data, name, monkeypatch, head)
        assert str(again.value) == str(exc)
        return
    assert read(data, name, monkeypatch, head) == walked


@pytest.mark.parametrize("head", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_reads_the_same_in_bulk(path: Path, head: int, monkeypatch) -> None:
    same(path.read_bytes(), path.name, monkeypatch, head)


def test_the_custodian_samples_do_go_through_blocks(monkeypatch) -> None:
    names = {p.name for p in SAMPLES if used_bulk(p.read_bytes(), 7, monkeypatch)}
    assert {
        "schwab_all_accounts.csv",
        "Portfolio_Positions_Jun-30-2025.csv",
        "vanguard_download.csv",
        "etrade_PortfolioDownload.csv",
        "ibkr_activity_statement.csv",  # its Open Positions data lines
    } <= names


def test_a_big_custodian_file_reads_the_same_with_its_default_head(monkeypatch) -> None:
    sample = next(p for p in SAMPLES if p.name == "Portfolio_Positions_Jun-30-2025.csv")
    lines = sample.read_text(encoding="utf-8-sig").splitlines()
    rows = [ln for ln in lines if ln.startswith(("Z12345678,Individual,AAPL", "87654,"))]
    body = [
        row.replace(",100,", f",{100 + k},", 1).replace("$20517.00", f"${(100 + k) * 205.17:.2f}")
        for k in range(1200)
        for row in rows
    ]
    data = "\n".join([*lines[:7], *body, *lines[7:]]).encode()
    assert used_bulk(data, bulk.HEAD_LINES, monkeypatch)
    walked = read(data, "Portfolio_Positions.csv", monkeypatch, None)
    with monkeypatch.context() as m:
        m.setattr(bulk, "MIN_LINES", 0)
        assert read_holdings(data, filename="Portfolio_Positions.csv", securities=SECURITIES) == (
            walked
        )
        frame = read_holdings_frame(data, filename="Portfolio_Positions.csv", securities=SECURITIES)
        assert frame.to_holdings() == walked


def test_rows_all_short_of_the_header_read_the_same_in_bulk(monkeypatch) -> None:
    data = (
        b"Symbol,Quantity,Price,Market Value,Cost Basis,Acquired\n"
        b"VTI,1,100,100,5,2020-01-02\nVTI,1,100\nVTI,2,100\nVTI,3,100\n"
    )
    assert used_bulk(data, 2, monkeypatch)
    same(data, "short.csv", monkeypatch, 2)


# Headers as (column text, what its cells hold).
HEADERS = [
    [
        ("Account", "acct"),
        ("Symbol", "sym"),
        ("Description", "desc"),
        ("Quantity", "q"),
        ("Price", "p"),
        ("Market Value", "v"),
        ("Cost Basis", "cost"),
        ("Acquired", "acq"),
    ],
    [
        ('"Symbol"', "sym"),
        ('"Description"', "desc"),
        ('"Qty (Quantity)"', "q"),
        ('"Price"', "p"),
        ('"Mkt Val (Market Value)"', "v"),
        ('"Cost Basis"', "cost"),
        ('"Security Type"', "type"),
        ("", "none"),
    ],
    [
        ("Account Number", "acct"),
        ("Account Name", "acct"),
        ("Symbol", "sym"),
        ("Description", "desc"),
        ("Quantity", "q"),
        ("Last Price", "p"),
        ("Current Value", "v"),
        ("Average Cost Basis", "cps"),
        ("Type", "none"),
    ],
    [
        ("Symbol", "sym"),
        ("Quantity", "q"),
        ("Price", "p"),
        ("Value", "v"),
        ("Currency", "cur"),
        ("Multiplier", "mult"),
        ("Account Type", "atype"),
    ],
    [
        ("CUSIP", "sym"),
        ("Symbol", "blank"),
        ("Quantity", "q"),
        ("Market Value", "v"),
        ("Price", "p"),
    ],
    [("Symbol", "sym"), ("Quantity", "q"), ("Allocation", "none"), ("Price", "p")],
]
CELLS = {
    "acct": ["IRA", "Joint", "Z1", ""],
    "desc": ["APPLE INC", "TOTAL STOCK ETF", "", "Pending Activity"],
    "cost": ["", "900", "x", "2e12", "9.5"],
    "cps": ["", "9.5", "x"],
    "acq": ["", "2020-01-02", "various", "13/45/2020"],
    "type": ["", "Equity", "5%", "Cash and Money Market", "Bond"],
    "cur": ["", "USD", "EUR", "base"],
    "mult": ["", "1", "100", "0", "-2"],
    "atype": ["", "Roth IRA", "Individual", "Whatever"],
    "none": ["", "x", "5%"],
    "blank": ["", "VTI"],
}


@st.composite
def holding(draw: st.DrawFn, kinds: list[str], odd: bool) -> str:
    q = draw(st.sampled_from(["10", "2.5", "1", '"1,000"', "3"] + (["", "0", "-3", "x"] * odd)))
    p = draw(st.sampled_from(["100", "$12.34", '"$1,234.50"', "0.5"] + (["", "-1", "0"] * odd)))
    try:
        qn = float(q.strip('"').replace(",", ""))
        pn = float(p.strip('"').replace("$", "").replace(",", ""))
    except ValueError:
        qn = pn = 1.0
    values = [f"{qn * pn:.2f}", f'"${qn * pn:,.2f}"']
    v = draw(st.sampled_from(values + (["", "1", "x", "-5", "2e11"] * odd)))
    symbols = ["VTI", "AAPL", "BND", "ZZZQ", "VOO", "912828XX1"]
    sym = draw(st.sampled_from(symbols + (["SPAXX**", "CASH", "=1+1", "", "TOTAL"] * odd)))
    picked = {"q": q, "p": p, "v": v, "sym": sym}
    cells = [picked[k] if k in picked else draw(st.sampled_from(CELLS[k])) for k in kinds]
    return ",".join(cells[: len(cells) + draw(st.sampled_from([0, 0, 0, -1, 1] if odd else [0]))])


ODD_LINES = [
    "",
    "Account Total,--,$1.00",
    "Pending Activity,,,,-$500.00",
    "Cash & Cash Investments,--,--,--,$8.00",
    '"Date downloaded Jun-30-2025 4:01 p.m ET"',
    "TOTAL,,,,,5.00",
    " VTI ,10,100,1000",
    "VTI,10 ,100,1000",
    "\u00c9TF,1,1,1",
    "a,b,c,d,e,f,g,h,i,j,k",
    "Account Number,Trade Date,Transaction Type,Symbol,Shares",
    "Some note",
    "Roth IRA ...456",
]


@st.composite
def sheets(draw: st.DrawFn) -> bytes:
    """A title, then sections of a header and rows: ordinary holdings and every kind of odd row."""
    lines = [
        draw(st.sampled_from(["Positions for All-Accounts as of 10:27 AM ET, 2025/06/30", ""]))
    ]
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["Individual ...123", '"Roth IRA ...456"', ""])))
        header = draw(st.sampled_from(HEADERS))
        lines.append(",".join(name for name, _ in header))
        kinds = [kind for _, kind in header]
        for _ in range(draw(st.integers(0, 30))):
            kind = draw(st.integers(0, 9))
            if kind <= 6:
                lines.append(draw(holding(kinds, odd=kind == 6)))
                if draw(st.integers(0, 6)) == 0:
                    lines.append(lines[-1])  # an identical repeat
            else:
                lines.append(draw(st.sampled_from(ODD_LINES)))
    lines.append(draw(st.sampled_from(["", "Generated at Jun 30 2025 04:01 PM ET"])))
    return ("\n".join(lines) + "\n").encode()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=sheets(), head=st.integers(1, 6))
def test_any_sheet_reads_the_same_in_bulk(data: bytes, head: int, monkeypatch) -> None:
    same(data, "book.csv", monkeypatch, head)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.one_of(any_sheets(), st.binary(max_size=400)), head=st.integers(1, 3))
def test_odd_bytes_read_the_same_in_bulk(data: bytes, head: int, monkeypatch) -> None:
    same(data, "upload.csv", monkeypatch, head)
