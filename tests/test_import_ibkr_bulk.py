"""Big Interactive Brokers statements take their Open Positions Summary and Lot rows in bulk
(`bulk.sort_ibkr_block`); the book must be the one the statement's own walk gives, line for line:
positions, lots, lines, skipped rows, issues (lines, messages, raw text) and account types."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_import_bulk import SECURITIES, read, same, used_bulk

from portfolio.importers import bulk, read_holdings, read_holdings_frame

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "ibkr_activity_statement.csv"
POSITIONS = "Open Positions,Data,"


@pytest.mark.parametrize("head", [1, 2, 3, 5, 8])
def test_the_sample_reads_the_same_in_bulk(head: int, monkeypatch) -> None:
    assert used_bulk(SAMPLE.read_bytes(), head, monkeypatch)
    same(SAMPLE.read_bytes(), SAMPLE.name, monkeypatch, head)


def _repeated(copies: int, lots: bool = False, cash_first: bool = False) -> bytes:
    """The sample with its Open Positions rows repeated (each copy another quantity), as the
    importers bench builds it; with `lots`, two Lot rows after each Summary row; with
    `cash_first`, the Cash Report ahead of Open Positions (as real statements order them)."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    summaries = [ln for ln in lines if ln.startswith(POSITIONS)]
    first = lines.index(summaries[0])
    last = lines.index(summaries[-1])
    body: list[str] = []
    for k in range(copies):
        for row in summaries:
            cells = row.split(",")
            qty, price = 100 + k, float(cells[10])
            cells[6], cells[11] = str(qty), f"{qty * price:.2f}"
            body.append(",".join(cells))
            if lots:
                for half in (qty // 2, qty - qty // 2):
                    lot = list(cells)
                    lot[2], lot[6], lot[11] = "Lot", str(half), f"{half * price:.2f}"
                    lot[9] = f"{half * float(cells[8]):.2f}"
                    body.append(",".join(lot))
    rest = lines[last + 1 :]
    before = lines[:first]
    if cash_first:
        cash = [ln for ln in rest if ln.startswith("Cash Report")]
        rest = [ln for ln in rest if not ln.startswith("Cash Report")]
        before = [*before[:-1], *cash, before[-1]]  # the Open Positions header stays last
    return "\n".join([*before, *body, *rest]).encode()


@pytest.mark.parametrize(
    ("lots", "cash_first"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_a_big_statement_reads_the_same_with_its_default_head(
    lots: bool, cash_first: bool, monkeypatch
) -> None:
    data = _repeated(500, lots=lots, cash_first=cash_first)
    assert data.count(b"\n") > bulk.MIN_LINES
    assert used_bulk(data, bulk.HEAD_LINES, monkeypatch)
    walked = read(data, "statement.csv", monkeypatch, None)
    assert walked.positions[-1].is_cash and len(walked.positions) == 6
    assert read_holdings(data, filename="statement.csv", securities=SECURITIES) == walked
    frame = read_holdings_frame(data, filename="statement.csv", securities=SECURITIES)
    assert frame.to_holdings() == walked


# Open Positions headers as (column text, what its cells hold).
HEADERS = [
    [
        ("DataDiscriminator", "disc"),
        ("Asset Category", "cat"),
        ("Currency", "cur"),
        ("Symbol", "sym"),
        ("Quantity", "q"),
        ("Mult", "mult"),
        ("Cost Price", "cps"),
        ("Cost Basis", "cost"),
        ("Close Price", "p"),
        ("Value", "v"),
        ("Unrealized P/L", "none"),
        ("Code", "none"),
    ],
    [
        ("DataDiscriminator", "disc"),
        ("Account", "acct"),
        ("Account Type", "atype"),
        ("Symbol", "sym"),
        ("Description", "desc"),
        ("Quantity", "q"),
        ("Close Price", "p"),
        ("Value", "v"),
        ("Cost Basis", "cost"),
        ("Date Acquired", "acq"),
        ("Currency", "cur"),
    ],
    [
        ("DataDiscriminator", "disc"),
        ("Symbol", "sym"),
        ("Quantity", "q"),
        ("Multiplier", "mult"),
        ("Close Price", "p"),
        ("Value", "v"),
        ("Allocation", "none"),
    ],
    [("Symbol", "sym"), ("Quantity", "q"), ("Close Price", "p"), ("Value", "v")],
]
CELLS = {
    "disc": ["Summary", "Summary", "Summary", "Lot", "Lot", "", "Trade", "summary"],
    "cat": ["Stocks", "Equity and Index Options", "Bonds", ""],
    "cur": ["USD", "USD", "", "EUR", "BASE", "usd"],
    "acct": ["U1", "U2", "U3", ""],
    "atype": ["", "Individual", "IRA Roth", "Whatever"],
    "desc": ["APPLE INC", "", "VANGUARD TOTAL", "Pending"],
    "cost": ["", "900", "x", "2e12", "9.5", "-40"],
    "cps": ["", "9.5", "x", "0"],
    "acq": ["", "2020-01-02", "various", "13/45/2020", "06/30/2021"],
    "none": ["", "x", "5%", "12.5"],
}
SYMBOLS = ["AAPL", "MSFT", "BND", "VTI", "ZZZQ", "912828XX1", "AAPL  250117C00200000"]
ODD_SYMBOLS = ["", "=1+1", "CASH", "USD", "TOTAL", "ab c d", "SPAXX**"]


@st.composite
def position_row(draw: st.DrawFn, kinds: list[str], odd: bool) -> str:
    q = draw(st.sampled_from(["10", "2.5", "1", '"1,000"', "3"] + (["", "0", "-3", "x"] * odd)))
    p = draw(st.sampled_from(["100", "12.34", '"1,234.50"', "0.5"] + (["", "-1", "0"] * odd)))
    mult = draw(st.sampled_from(["1", "1", "", "100"] + (["0", "-2", "x"] * odd)))
    try:
        qn = float(q.strip('"').replace(",", ""))
        pn = float(p.strip('"').replace(",", ""))
        mn = float(mult) if mult and float(mult) > 0 else 1.0
    except ValueError:
        qn = pn = mn = 1.0
    values = [f"{qn * pn * mn:.2f}", f'"{qn * pn * mn:,.2f}"']
    v = draw(st.sampled_from(values + (["", "1", "x", "-5", "2e11"] * odd)))
    sym = draw(st.sampled_from(SYMBOLS + ODD_SYMBOLS * odd))
    picked = {"q": q, "p": p, "v": v, "sym": sym, "mult": mult}
    cells = [picked[k] if k in picked else draw(st.sampled_from(CELLS[k])) for k in kinds]
    shift = draw(st.sampled_from([0, 0, 0, -1, -3, 1, 2] if odd else [0]))
    if shift > 0:
        cells += [draw(st.sampled_from(["", "x"])) for _ in range(shift)]
    elif shift < 0:
        cells = cells[:shift]
    return POSITIONS + ",".join(cells)


OTHER_LINES = [
    "",
    "Open Positions,Total,,Stocks,USD,,,,,77755.00,,91938.90,14183.90,",
    "Open Positions,SubTotal,,Stocks,USD,AAPL,,,,,,,",
    "Open Positions,Notes,Some note",
    "Open Positions,Data,Trade,Stocks,USD,AAPL,5,1,10,50,10,50",
    " Open Positions,Data,Summary,Stocks,USD,AAPL,1,1,1,1,1,1",
    "Open Positions,Data,Summary,Stocks,USD, AAPL,1,1,1,1,1,1",
    "Open Positions,Data,Summary,Stocks,USD,\u00c9TF,1,1,1,1,1,1",
    '"Open Positions","Data","Summary",Stocks,USD,VTI,1,1,1,1,1,1',
    "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Quantity,T. Price",
    "Trades,Data,Order,Stocks,USD,MSFT,10,472.5",
    "Codes,Data,O,Opening Trade",
    "Hello there",
    "Cash Report,Data,Ending Cash,EUR,250,250,0,,,",
]
CASH_REPORTS = [
    [],
    [
        "Cash Report,Header,Currency Summary,Currency,Total,Securities,Futures,Month to Date,",
        "Cash Report,Data,Starting Cash,Base Currency Summary,10,10,0,,",
        "Cash Report,Data,Ending Cash,Base Currency Summary,1234.5,1234.5,0,,",
        "Cash Report,Data,Ending Cash,USD,1000,1000,0,,",
    ],
    [
        "Cash Report,Header,Currency Summary,Currency,Total,Securities,Futures,Month to Date,",
        "Cash Report,Data,Ending Cash,USD,-20,-20,0,,",
        "Cash Report,Data,Ending Cash,EUR,30,30,0,,",
    ],
]


@st.composite
def statements(draw: st.DrawFn) -> bytes:
    """A statement: its account, Open Positions sections of Summary and Lot rows (ordinary and
    odd), totals, notes and other sections between, a Cash Report before or after."""
    lines = [
        "Statement,Header,Field Name,Field Value",
        "Statement,Data,Title,Activity Statement",
        "Account Information,Header,Field Name,Field Value",
        "Account Information,Data,Account,U7654321",
    ]
    lines += draw(
        st.sampled_from(
            [[], ["Account Information,Data,Account Type,Individual"], ["Statement,Data,X,Y"]]
        )
    )
    cash = draw(st.sampled_from(CASH_REPORTS))
    cash_first = draw(st.booleans())
    if cash_first:
        lines += cash
    if draw(st.integers(0, 5)) == 0:
        lines.append(draw(position_row([k for _, k in HEADERS[0]], odd=False)))  # before a header
    for _ in range(draw(st.integers(1, 3))):
        header = draw(st.sampled_from(HEADERS))
        lines.append("Open Positions,Header," + ",".join(name for name, _ in header))
        kinds = [kind for _, kind in header]
        for _ in range(draw(st.integers(0, 40))):
            kind = draw(st.integers(0, 9))
            if kind <= 7:
                lines.append(draw(position_row(kinds, odd=kind == 7)))
                if draw(st.integers(0, 6)) == 0:
                    lines.append(lines[-1])  # an identical repeat
            else:
                lines.append(draw(st.sampled_from(OTHER_LINES)))
    if not cash_first:
        lines += cash
    lines.append("Codes,Header,Code,Meaning")
    return ("\n".join(lines) + "\n").encode()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=statements(), head=st.integers(1, 6))
def test_any_statement_reads_the_same_in_bulk(data: bytes, head: int, monkeypatch) -> None:
    same(data, "statement.csv", monkeypatch, head)


def test_the_random_statements_do_go_through_blocks(monkeypatch) -> None:
    """The generated statements have Open Positions blocks with rows taken in bulk and rows
    handed back to the walk."""
    sort_block = bulk.sort_ibkr_block
    counts = {"taken": 0, "walked": 0}

    def counting(tail, span, *args):  # type: ignore[no-untyped-def]
        walked = sort_block(tail, span, *args)
        counts["walked"] += len(walked)
        counts["taken"] += span[1] - span[0] - len(walked)
        return walked

    @settings(max_examples=60, deadline=None, database=None)
    @given(data=statements())
    def read_one(data: bytes) -> None:
        with monkeypatch.context() as m:
            m.setattr(bulk, "MIN_LINES", 0)
            m.setattr(bulk, "HEAD_LINES", 3)
            m.setattr(bulk, "sort_ibkr_block", counting)
            read_holdings(data, filename="statement.csv", securities=SECURITIES)

    read_one()
    assert counts["taken"] > 100 and counts["walked"] > 10
