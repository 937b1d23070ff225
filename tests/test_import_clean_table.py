"""The columnar path for clean sheets gives exactly what the general path gives, or stands aside."""

from __future__ import annotations

import functools
import math
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolio.importers as importers
from portfolio.importers import clean_table
from portfolio.importers.clean_table import _SIMPLE, _decimals, read_clean_table
from portfolio.importers.text import decode, sniff_delimiter
from portfolio.models import Holdings
from portfolio.securities import load_securities

SECURITIES = load_securities()
SYMBOLS = ["AAPL", "VTI", "BND", "SWVXX", "ZZZQ", "VT", "NVDA", "BRK.B", "CASH", "TOTAL"]


def general(data: bytes, monkeypatch: pytest.MonkeyPatch) -> Holdings:
    with monkeypatch.context() as m:
        m.setattr(importers, "read_clean_table", lambda *a, **k: None)
        return importers.read_holdings(data, filename="book.csv", securities=SECURITIES)


def columnar(data: bytes) -> Holdings | None:
    text = decode(data, "book.csv")
    return read_clean_table(text, sniff_delimiter(text), "book.csv", SECURITIES, [], min_rows=0)


@st.composite
def books(draw: st.DrawFn) -> bytes:
    header = draw(
        st.sampled_from(
            [
                "Account,Symbol,Quantity,Price,Market Value",
                "Symbol,Description,Quantity,Price",
                "Account Number,Account Name,Symbol,Qty,Last Price,Current Value,Asset Class",
            ]
        )
    )
    width = header.count(",") + 1
    names = header.split(",")
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        q = draw(st.sampled_from(["10", "1", "250.5", "0", "-3", "1e3", "2000000000"]))
        p = draw(st.sampled_from(["100", "12.34", "0", "1", "$5", ""]))
        cells = []
        for name in names:
            if name in ("Symbol",):
                cells.append(draw(st.sampled_from(SYMBOLS)))
            elif name in ("Quantity", "Qty"):
                cells.append(q)
            elif name in ("Price", "Last Price"):
                cells.append(p)
            elif name in ("Market Value", "Current Value"):
                value = float(q.replace("e3", "000")) * float(p.strip("$") or 0)
                cells.append(draw(st.sampled_from([f"{value:.2f}", "", "7"])))
            elif name in ("Account", "Account Number"):
                cells.append(draw(st.sampled_from(["IRA", "Joint", "123", "Total"])))
            elif name == "Asset Class":
                cells.append(draw(st.sampled_from(["", "Bonds", "US Equity", "0.5"])))
            else:
                cells.append(draw(st.sampled_from(["", "Apple Inc", "Pending x"])))
        rows.append(",".join(cells[:width]))
    if draw(st.booleans()):
        rows.append(draw(st.sampled_from(["", "Total,,,,", "Downloaded on 2025-06-30"])))
    pre = draw(st.sampled_from(["", "Positions for account IRA as of 2025-06-30\n", "\n"]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    tail = draw(st.sampled_from(["", "\n", "  \n\n", ",,\n"]))
    last = draw(st.sampled_from(["", end]))  # with or without a final line break
    text = pre + header + end + end.join(rows) + last
    return (text + tail if last else text).encode()


@settings(
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=books())
def test_clean_path_agrees_with_the_general_one(data: bytes, monkeypatch) -> None:
    fast = columnar(data)
    if fast is not None:
        assert fast == general(data, monkeypatch)


def test_a_practice_sized_clean_sheet_takes_the_columnar_path(monkeypatch) -> None:
    rows = [
        f"A{i // 20:05d},{SYMBOLS[i % 7]},{i % 97 + 1},{(i % 13) + 10.25:.2f}" for i in range(3000)
    ]
    data = ("Account,Symbol,Quantity,Price\n" + "\n".join(rows) + "\n").encode()
    fast = columnar(data)
    assert fast is not None
    assert fast == general(data, monkeypatch)
    assert importers.read_holdings(data, filename="book.csv", securities=SECURITIES) == fast
    assert sum(len(p.lots) for p in fast.positions) > 0  # repeated symbols became lots


def test_money_market_rows_without_a_price_keep_the_columnar_path(monkeypatch) -> None:
    """Exports leave a sweep or money-market row's price blank: its price is value / quantity,
    as the general path takes it, and the sheet stays on the column path."""
    rows = []
    for i in range(3000):
        if i % 5 == 4:
            rows.append(f"A{i // 5:05d},SWVXX,{1000 + i}.5,,{1000 + i}.53")
        else:
            rows.append(f"A{i // 5:05d},{SYMBOLS[i % 4]},{i % 97 + 1},10.25,")
    data = ("Account,Symbol,Quantity,Price,Market Value\n" + "\n".join(rows) + "\n").encode()
    fast = columnar(data)
    assert fast is not None
    assert fast == general(data, monkeypatch)
    swvxx = [p for p in fast.positions if p.symbol == "SWVXX"]
    assert swvxx and all(p.price == pytest.approx(p.market_value / p.quantity) for p in swvxx)
    # Neither a price nor a value: the reference price and its warning, by the general path.
    data = data.replace(b",SWVXX,1004.5,,1004.53", b",SWVXX,1004.5,,")
    assert columnar(data) is None


def test_repeated_rows_are_warned_on_the_columnar_path_too(monkeypatch) -> None:
    rows = [f"A{i // 20:05d},{SYMBOLS[i % 7]},{i % 97 + 1},10.25" for i in range(3000)]
    rows[10] = rows[3] = "A00000,VTI,5,10.25"
    data = ("Account,Symbol,Quantity,Price\n" + "\n".join(rows) + "\n").encode()
    fast = columnar(data)
    assert fast is not None and fast == general(data, monkeypatch)
    assert [i.line for i in fast.issues if "repeats line" in i.message] == [12]


@st.composite
def padded_books(draw: st.DrawFn) -> bytes:
    """A clean sheet whose cells may carry white space, be empty, or hold near-decimals: the
    columnar path's shortcuts (no strip, no empty cell, plain decimals) must not change a thing."""
    header = "Account,Symbol,Description,Quantity,Price,Market Value"
    rows = []
    pads = ["", "", " ", "\t", "  "] if draw(st.booleans()) else [""]
    odd_file = draw(st.integers(0, 2)) == 0
    for _ in range(draw(st.integers(1, 20))):
        odd = odd_file and draw(st.booleans())  # a cell the path must refuse
        q = draw(st.sampled_from(["1.", ".5", "1.2.3", "--1", "-1"] if odd else ["10", "2.5", "7"]))
        p = draw(st.sampled_from(["9" * 16, "1." + "5" * 16] if odd else ["100", "12.34", "3"]))
        value = draw(
            st.sampled_from(["-", "x", "5"] if odd else ["", f"{float(q) * float(p):.2f}"])
        )
        cells = [
            draw(
                st.sampled_from(["Pending x", "Total", "Net Account"] if odd else ["IRA", "Joint"])
            ),
            draw(st.sampled_from(SYMBOLS[:4] if not odd else SYMBOLS)),
            draw(st.sampled_from(["pending sale", "Ticker note"] if odd else ["", "Apple Inc"])),
            q,
            p,
            value,
        ]
        cells = [draw(st.sampled_from(pads)) + c + draw(st.sampled_from(pads)) for c in cells]
        rows.append(",".join(cells))
    return (header + "\n" + "\n".join(rows) + "\n").encode()


@settings(
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=padded_books())
def test_padded_and_near_decimal_cells_read_as_the_general_path_reads_them(
    data: bytes, monkeypatch
) -> None:
    fast = columnar(data)
    if fast is not None:
        assert fast == general(data, monkeypatch)


DECIMAL_PIECES = ["0", "1", "7", "9", "12", "0000000", "123456789", "-", ".", "+", "e", " ", "٣"]


@settings(max_examples=400, deadline=None)
@given(
    cells=st.lists(st.lists(st.sampled_from(DECIMAL_PIECES), max_size=6).map("".join), max_size=12),
    cut=st.integers(0, 3),
    blank_ok=st.booleans(),
)
def test_the_plain_decimal_check_is_the_pattern(cells: list[str], cut: int, blank_ok: bool) -> None:
    """The columnar reading of a number column (a slice of a longer Arrow array too) accepts it
    exactly when the `_SIMPLE` pattern matches every cell (every non-empty one, with
    `blank_ok`), and reads each as Python does (NaN for an empty one)."""
    plain = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")
    expected = all(plain.fullmatch(c) for c in cells if c or not blank_ok)
    padded = pd.Series(["1.5"] * cut + cells + ["x"], dtype="str")
    for column in (padded.iloc[cut : cut + len(cells)], pd.Series(cells, dtype=object)):
        got = _decimals(column, blank_ok)
        assert (got is not None) == expected
        if got is not None:
            assert got.tolist() == pytest.approx(
                [float(c) if c else math.nan for c in cells], nan_ok=True, rel=0, abs=0
            )
    assert _SIMPLE == r"-?\d{1,15}(?:\.\d{1,15})?"


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(alphabet="ab,\r", max_size=9), min_size=1, max_size=30),
    newline_at_end=st.booleans(),
    stretch=st.integers(1, 12),
    step=st.integers(1, 30),
    head=st.text(alphabet="h\n", max_size=5),
    as_bytes=st.booleans(),
)
def test_a_reported_row_has_its_own_line_as_raw_text(
    lines: list[str], newline_at_end: bool, stretch: int, step: int, head: str, as_bytes: bool
) -> None:
    """`_Body.raw(k)` is line k of the body without its line break, wherever the stretches of
    counted line feeds fall."""
    lines = [ln.replace("\r", "") + ("\r" if i % 3 == 1 else "") for i, ln in enumerate(lines)]
    body = "\n".join(lines) + ("\n" if newline_at_end else "")
    text = head + body + "tail"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(clean_table, "_STRETCH", stretch)
        m.setattr(clean_table, "_STEP", step)
        source = text.encode() if as_bytes else text
        read = clean_table._Body(pd.DataFrame(), source, len(head), len(head) + len(body))
        assert [read.raw(k) for k in range(len(lines))] == [ln.rstrip("\r") for ln in lines]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="a, \t\r\n\x0bé\u2003", max_size=40),
    start=st.integers(0, 10),
    step=st.integers(1, 8),
)
def test_the_body_is_looked_at_in_place_as_its_slice_would_be(
    text: str, start: int, step: int
) -> None:
    """The body's end (blank lines at the end dropped), its white space at cell edges and its
    bytes, found a stretch at a time, are what the slice `text[start:]` itself gives."""
    start = min(start, len(text))
    body = text[start:]
    kept = len(body.rstrip())
    newline = body.find("\n", kept)
    expected_end = start + (0 if kept == 0 else len(body) if newline < 0 else newline + 1)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(clean_table, "_STEP", step)
        end = clean_table._body_end(text, start)
        assert end == expected_end
        trimmed = text[start:end]
        edge = not trimmed.isascii() or any(
            ch in trimmed
            and (
                trimmed.startswith(ch)
                or trimmed.endswith(ch)
                or any(p in trimmed for p in (f",{ch}", f"{ch},", f"\n{ch}", f"{ch}\n", f"{ch}\r"))
            )
            for ch in clean_table._ASCII_SPACE
        )
        assert clean_table._edge_space(text, start, end) == edge
        assert bytes(clean_table._encoded(text, start, end)) == trimmed.encode()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=st.one_of(books(), padded_books()),
    block=st.sampled_from([64, 128, 1024]),
    as_text=st.booleans(),
)
def test_sheets_read_in_small_blocks_read_as_the_general_path_reads_them(
    data: bytes, block: int, as_text: bool, monkeypatch
) -> None:
    """The column book read a few rows a block (amounts parsed block by block, a bad cell or a
    ragged line in any block), from the upload's bytes or its text, is the general path's."""
    expected = general(data, monkeypatch)
    with monkeypatch.context() as m:
        m.setattr(clean_table, "_BLOCK", block)
        m.setattr(importers, "clean_frame", functools.partial(clean_table.clean_frame, min_rows=0))
        source = decode(data, "book.csv") if as_text else data
        book = importers.read_holdings_frame(source, filename="book.csv", securities=SECURITIES)
    assert book.to_holdings() == expected
