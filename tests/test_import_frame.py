"""The column book and the columnar path agree with the general path, on custodian layouts too.

Files are built from the bundled custodian samples: the lines above the first holding, a drawn
run of the sample's holding lines (repeats become lots and repeat warnings), and the sample's own
lines after its holdings, or none of them. Wherever the columnar path takes a file it must give
what the general path gives; `read_holdings_frame` must always give it, as columns.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolio.importers as importers
from portfolio.book import positions_frame
from portfolio.importers import BookFrame, read_holdings, read_holdings_frame
from portfolio.importers.clean_table import clean_frame, read_clean_table
from portfolio.importers.text import decode
from portfolio.models import Holdings
from portfolio.securities import load_securities

SECURITIES = load_securities()
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
LAYOUTS = [
    "schwab_all_accounts.csv",
    "schwab_single_account.csv",
    "Portfolio_Positions_Jun-30-2025.csv",
    "vanguard_download.csv",
    "ibkr_activity_statement.csv",
    "etrade_PortfolioDownload.csv",
    "plain_with_lots.csv",
    "seed000_four_tech.csv",
]


@functools.cache
def layout(name: str) -> tuple[list[str], list[int]]:
    """The sample's lines and the (0-based) indexes of the lines its positions come from."""
    data = (SAMPLES / name).read_bytes()
    lines = decode(data, name).splitlines()
    holdings = read_holdings(data, filename=name, securities=SECURITIES)
    held = sorted({line - 1 for p in holdings.positions for line in p.lines})
    return lines, held


@st.composite
def custodian_files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(LAYOUTS))
    lines, held = layout(name)
    body = draw(st.lists(st.sampled_from(held), min_size=1, max_size=40))
    head = lines[: held[0]]
    tail = lines[held[-1] + 1 :] if draw(st.booleans()) else []
    text = "\n".join([*head, *(lines[i] for i in body), *tail]) + "\n"
    return name, text.encode()


def general(data: bytes, name: str) -> Holdings:
    """The general path alone."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(importers, "read_clean_table", lambda *a, **k: None)
        m.setattr(importers, "clean_frame", lambda *a, **k: None)
        return read_holdings(data, filename=name, securities=SECURITIES)


def columnar_first(data: bytes, name: str, *, frame: bool) -> Holdings:
    """The public entry points with the columnar path tried on files of any size."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(importers, "read_clean_table", functools.partial(read_clean_table, min_rows=0))
        m.setattr(importers, "clean_frame", functools.partial(clean_frame, min_rows=0))
        if frame:
            book = read_holdings_frame(data, filename=name, securities=SECURITIES)
            assert isinstance(book, BookFrame)
            pd.testing.assert_frame_equal(
                book.book_frame(), positions_frame(book.to_holdings().positions)
            )
            return book.to_holdings()
        return read_holdings(data, filename=name, securities=SECURITIES)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=custodian_files())
def test_custodian_layouts_read_the_same_by_every_path(case: tuple[str, bytes]) -> None:
    name, data = case
    expected = general(data, name)
    assert columnar_first(data, name, frame=False) == expected
    assert columnar_first(data, name, frame=True) == expected


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_sample_reads_the_same_as_columns(name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    expected = read_holdings(data, filename=name, securities=SECURITIES)
    book = read_holdings_frame(data, filename=name, securities=SECURITIES)
    assert book.to_holdings() == expected
    assert len(book) == len(expected.positions)
    assert book.total_value == pytest.approx(expected.total_value)
    pd.testing.assert_frame_equal(book.book_frame(), positions_frame(expected.positions))


def test_a_clean_custodian_body_takes_the_columnar_path() -> None:
    """Vanguard's holding rows without its second section: the columnar path reads them."""
    lines, held = layout("vanguard_download.csv")
    rows = [lines[i] for i in held if lines[i].startswith("12345678")] * 300
    data = ("\n".join([lines[0], *rows]) + "\n").encode()
    book = clean_frame(decode(data, "v.csv"), ",", "v.csv", SECURITIES, [], min_rows=0)
    assert book is not None
    expected = general(data, "v.csv")
    assert book.to_holdings() == expected
    assert all(len(p.lots) == 300 for p in expected.positions)  # each row repeated: lots
    assert sum("repeats line" in i.message for i in expected.issues) == len(rows) - len(
        expected.positions
    )


def test_a_clean_sheet_as_columns_makes_no_position_objects() -> None:
    rows = [f"A{i // 20:05d},VTI,{i % 97 + 1},10.25" for i in range(3000)]
    data = ("Account,Symbol,Quantity,Price\n" + "\n".join(rows) + "\n").encode()
    book = read_holdings_frame(data, filename="book.csv", securities=SECURITIES)
    assert isinstance(book.positions, pd.DataFrame)
    assert len(book) == 150  # one VTI holding an account, its rows as lots
    assert book.to_holdings() == general(data, "book.csv")
    assert book.positions["quantity"].sum() == pytest.approx(sum(i % 97 + 1 for i in range(3000)))


@pytest.mark.parametrize("extra", ["", "é"])
def test_an_upload_reads_the_same_from_its_bytes_and_its_text(extra: str) -> None:
    """An ASCII upload's columnar read works on its own bytes; a file with other characters on
    its decoded text: either way the book is the general path's."""
    rows = [
        f"A{extra}{i // 20:05d},{'VTI' if i % 7 else 'BND'},{i % 97 + 1},10.25" for i in range(2500)
    ]
    rows[5] = rows[4]  # a repeat: its raw line is reported
    text = "Account,Symbol,Quantity,Price\n" + "\n".join(rows) + "\n"
    from_bytes = read_holdings_frame(text.encode(), filename="book.csv", securities=SECURITIES)
    from_text = read_holdings_frame(text, filename="book.csv", securities=SECURITIES)
    expected = general(text.encode(), "book.csv")
    assert any(i.raw == rows[5] for i in expected.issues)
    assert from_bytes.row_lots is not None  # read by the columnar path
    assert from_bytes.to_holdings() == expected
    assert [from_bytes.lots_of(i) for i in range(len(from_bytes))] == [
        p.lots for p in expected.positions
    ]
    assert from_text.to_holdings() == expected
