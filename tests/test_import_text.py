"""Getting from an upload to rows: encodings, delimiters, line endings, and refusing non-CSV."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.importers import read_holdings
from portfolio.importers.text import _odd, ascii_upload, decode
from portfolio.models import UnreadableFileError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
PLAIN = "Symbol,Description,Quantity,Price\nAAPL,Apple,10,200\nMSFT,Microsoft,2,500\n"


def test_bytes_str_and_path_give_the_same_holdings(tmp_path: Path) -> None:
    path = tmp_path / "holdings.csv"
    path.write_text(PLAIN)
    from_bytes = read_holdings(PLAIN.encode(), "holdings.csv")
    from_str = read_holdings(PLAIN, "holdings.csv")
    from_path = read_holdings(path)
    assert from_bytes.positions == from_str.positions == from_path.positions
    assert from_path.source == "holdings.csv"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"  \r\n\n \t\n", "is empty"),
        (b"\x00\x01\x02\x03binary\x00junk" * 20, "is not a CSV text file"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "Excel workbook"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (bytes(range(1, 32)) * 50, "is not a CSV text file"),
        (b"Dear client,\nplease find attached\nyour statement\n", "no recognisable column header"),
        (b"Name,Date,Amount\nJo,2025-01-01,5\n", "no recognisable column header"),
    ],
)
def test_unreadable_files_raise_one_clear_sentence(data: bytes, message: str) -> None:
    with pytest.raises(UnreadableFileError, match=message) as info:
        read_holdings(data, "upload.csv")
    text = str(info.value)
    assert text.startswith("'upload.csv'") and text.endswith(".") and text.count(". ") == 0


def test_unreadable_str_source() -> None:
    with pytest.raises(UnreadableFileError, match="is empty"):
        read_holdings("")


def test_missing_path_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="cannot be opened"):
        read_holdings(tmp_path / "nope.csv")


def test_utf8_bom_and_crlf() -> None:
    data = b"\xef\xbb\xbf" + PLAIN.replace("\n", "\r\n").encode()
    h = read_holdings(data)
    assert [p.symbol for p in h.positions] == ["AAPL", "MSFT"]
    assert [p.lines for p in h.positions] == [[2], [3]]


def test_cp1252_bytes_decode() -> None:
    data = "Symbol,Description,Quantity,Price\nAIR,Société Générale – ADR,1,10\n".encode("cp1252")
    (p,) = read_holdings(data).positions
    assert p.description == "Société Générale – ADR"


def test_utf16_spreadsheet_export() -> None:
    data = PLAIN.replace(",", "\t").encode("utf-16")
    assert [p.symbol for p in read_holdings(data).positions] == ["AAPL", "MSFT"]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_other_delimiters_are_sniffed(delimiter: str) -> None:
    text = PLAIN.replace(",", delimiter).replace("Microsoft", "Microsoft, Corp.")
    h = read_holdings(text)
    assert [(p.symbol, p.market_value) for p in h.positions] == [("AAPL", 2000), ("MSFT", 1000)]


def test_old_mac_line_endings() -> None:
    h = read_holdings(PLAIN.replace("\n", "\r").encode())
    assert [p.lines for p in h.positions] == [[2], [3]]


def test_unterminated_quote_is_an_error_not_a_crash() -> None:
    text = 'Symbol,Description,Quantity,Price\nAAPL,Apple,10,200\nMSFT,"Micro\n'
    h = read_holdings(text)
    assert [p.symbol for p in h.positions] == ["AAPL"]
    errors = [i for i in h.issues if i.severity == "error"]
    assert errors and errors[0].line == 3


def test_header_only_file_warns_no_holdings() -> None:
    h = read_holdings("Symbol,Quantity,Price\n")
    assert h.positions == []
    assert any("No holdings" in i.message for i in h.issues)


def test_title_rows_before_the_header_are_listed() -> None:
    text = "My export\nGenerated for Jo\n\nSymbol,Quantity,Price\nAAPL,1,200\n"
    h = read_holdings(text)
    assert [s.line for s in h.skipped] == [1, 2]
    assert h.positions[0].lines == [5]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x24F), max_size=60), st.booleans())
def test_odd_characters_are_counted_as_one_by_one(sample: str, ascii_only: bool) -> None:
    """The ASCII shortcut counts what the character-by-character count does."""
    if ascii_only:
        sample = sample.encode("ascii", "ignore").decode()
    slow = sum(
        1
        for ch in sample
        if ch not in "\r\n\t" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
    )
    assert _odd(sample) == slow


@pytest.mark.parametrize("data", [b"", b" \n\t\r\x0b\x0c", "\ufeff \n".encode()])
def test_a_blank_file_is_empty(data: bytes) -> None:
    with pytest.raises(UnreadableFileError, match="is empty"):
        read_holdings(data, "holdings.csv")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80) | st.text(alphabet="ab,\n \x01\x02\x1b", max_size=80).map(str.encode))
def test_an_ascii_upload_is_read_in_place_only_where_decode_takes_it_as_it_is(data: bytes) -> None:
    """`ascii_upload` hands back the bytes only when `decode` would give exactly their text."""
    if ascii_upload(data) is None:
        return
    assert ascii_upload(data) is data
    assert decode(data, "f.csv") == data.decode("ascii")


@pytest.mark.parametrize(
    "data", [b"", b" \n", b"PK\x03\x04rest", b"%PDF-1.4", b"a,b\x00", b"\x01\x02\x03\x04" * 10]
)
def test_uploads_decode_refuses_are_not_read_in_place(data: bytes) -> None:
    assert ascii_upload(data) is None
