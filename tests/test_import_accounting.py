"""The importer's central promise: every non-blank row is a holding, a listed skip, or an error.

Checked over the fixtures and over the sample files in data/samples. The record boundaries here
come from the standard csv module, independently of the importer's own line tracking.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.importers import read_holdings
from portfolio.importers.text import sniff_delimiter
from portfolio.models import Holdings, UnreadableFileError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
SAMPLES = ROOT / "data" / "samples"


def record_starts(text: str, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """(first physical line, cells) of every non-blank CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, list[str]]] = []
    prev = 0
    for row in reader:
        if any(c.strip() for c in row):
            out.append((prev + 1, row))
        prev = reader.line_num
    return out


def assert_accounted(holdings: Holdings, text: str, delimiter: str = ",") -> None:
    """Each non-blank record is in exactly one of positions, skipped, error issues; the only
    exception is the first column header itself."""
    position_lines = [ln for p in holdings.positions for ln in p.lines]
    skipped_lines = [s.line for s in holdings.skipped]
    error_lines = [i.line for i in holdings.issues if i.severity == "error"]
    assert len(position_lines) == len(set(position_lines)), "a line is in two positions"
    assert len(skipped_lines) == len(set(skipped_lines)), "a line is skipped twice"
    groups = [set(position_lines), set(skipped_lines), set(error_lines)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not groups[a] & groups[b], f"lines counted twice: {groups[a] & groups[b]}"
    accounted = set().union(*groups)
    records = record_starts(text, delimiter)
    unaccounted = [(line, cells) for line, cells in records if line not in accounted]
    assert len(unaccounted) <= 1, f"rows not accounted for: {unaccounted}"
    if unaccounted:
        line, cells = unaccounted[0]
        first_holding = min(position_lines, default=line + 1)
        assert line < first_holding, f"line {line} is not the column header: {cells}"
        assert sum(any(ch.isalpha() for ch in c) for c in cells) >= 2, cells
    known = {ln for ln, _ in records}
    assert accounted <= known, f"reported lines that are not record starts: {accounted - known}"
    for s in holdings.skipped:
        assert s.raw, "a skipped row must carry its text"
    for i in holdings.issues:
        if i.severity == "error":
            assert i.line is not None and i.raw


def _files() -> list[Path]:
    files = sorted(FIXTURES.glob("*.csv"))
    if SAMPLES.is_dir():
        files += sorted(SAMPLES.glob("*.csv"))
    return files


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_every_row_accounted_for(path: Path) -> None:
    holdings = read_holdings(path)
    text = path.read_bytes().decode("utf-8-sig")
    assert_accounted(holdings, text)
    assert holdings.positions, "every fixture and sample holds something"


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_engine_invariants(path: Path) -> None:
    """quantity x price == market value, cash is priced at 1 and classed cash."""
    for p in read_holdings(path).positions:
        assert p.price is not None
        assert p.quantity * p.price == pytest.approx(p.market_value, rel=0.011, abs=0.01), p
        if p.is_cash:
            assert p.asset_class == "cash"
        assert p.symbol == p.symbol.strip().upper()
        assert p.lines


def test_accounting_catches_a_dropped_row() -> None:
    """The helper itself must fail when a row goes missing."""
    text = "Symbol,Quantity,Price\nAAPL,1,2\nMSFT,1,2\n"
    holdings = read_holdings(text)
    holdings.positions.pop()
    with pytest.raises(AssertionError):
        assert_accounted(holdings, text)


def test_multiline_cells_keep_physical_line_numbers() -> None:
    text = (
        'Symbol,Description,Quantity,Price\nAAPL,"Apple\nInc.",1,2\nMSFT,Microsoft,x,2\nVTI,V,1,3\n'
    )
    h = read_holdings(text)
    assert [p.lines for p in h.positions] == [[2], [5]]
    (err,) = [i for i in h.issues if i.severity == "error"]
    assert err.line == 4 and err.raw == "MSFT,Microsoft,x,2"
    assert_accounted(h, text)


_FUZZ_BASES = [p.read_bytes().decode("utf-8-sig") for p in sorted(FIXTURES.glob("*.csv"))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(_FUZZ_BASES),
    edits=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1),
            st.text(alphabet=',"\n;$()-.%*=aZ09 \t', max_size=4),
            st.integers(min_value=0, max_value=4),
        ),
        max_size=6,
    ),
)
def test_damaged_files_still_account_for_every_row(
    base: str, edits: list[tuple[float, str, int]]
) -> None:
    """Random damage may make rows errors or the file unreadable, never lose a row or crash."""
    text = base
    for where, insert, delete in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + delete :]
    try:
        holdings = read_holdings(text)
    except UnreadableFileError:
        return
    assert_accounted(holdings, text, sniff_delimiter(text))
