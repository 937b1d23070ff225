"""The columnar path for a clean sheet: one header, then rows that are all plain holdings.

Most books of a whole practice are exactly that (an account, a ticker, a share count, a price), and
reading them row by row through the general state machine costs tens of microseconds a row. Here
the header and the lines above it are read on a sample with the general code; the body is parsed
by pyarrow's reader a block at a time (the amount columns straight to numbers, their text never
held whole; a ragged body by `pandas.read_csv`) and checked column by column, text columns on
their distinct values. Every rule that could make a row anything but a
plain holding (a cash word, a total, pending activity, a footer, a second header, a blank gap,
quotes, an odd field count, a number that is not a plain decimal, a zero, negative or implausible
amount, a quantity x price that disagrees with the stated value, a row with neither a price nor
a value, cost or lot columns) sends the
whole file back to the general path, so the result is the one it would give, only sooner
(`read_clean_table` returns None). Identical repeated rows get the general path's warning.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from portfolio.importers.build import (
    MAX_POSITION_VALUE,
    MAX_QUANTITY,
    TOLERANCE,
    clean_symbol,
    repeat_message,
)
from portfolio.importers.classify import Verdict, judge, unknown_message
from portfolio.importers.detect import detect_format, is_ibkr
from portfolio.importers.frame import BookFrame, RowLots
from portfolio.importers.headers import normalize
from portfolio.importers.reference import reference
from portfolio.importers.special import is_cash_word, is_pending, is_summary
from portfolio.importers.table import (
    _STRONG_FOOTERS,
    DEFAULT_ACCOUNT,
    Sorted,
    _read_preamble,
    find_header,
)
from portfolio.importers.text import line_offset, split_records
from portfolio.models import Holdings, ImportIssue
from portfolio.securities import SecurityMaster

# Below this many rows the general path is as fast; the columnar one only pays off on big books.
MIN_ROWS = 2_000
# The title, summary and header must lie in the first lines (`is_ibkr` reads 400 records).
HEAD_LINES = 500
# `detect_format` looks for Schwab's own rows this far down when the header says `Security Type`.
DETECT_LINES = 5_000
_SIMPLE = r"-?\d{1,15}(?:\.\d{1,15})?"
# Columns whose presence (with any value) needs the general path's rules.
_GENERAL_ONLY = (
    "cost_basis",
    "cost_per_share",
    "acquired",
    "currency",
    "multiplier",
    "weight",
    "total_value",
    "allocation",
    "discriminator",
    "trade_date",
    "transaction_type",
    "account_type",
)
_HEADER_WORDS = "sym|ticker|cusip"
_BLANK = "blank"  # marks (in `Series.attrs`) the all-empty stand-in for a column the file lacks
_NUMERIC_CLASS = r"^[\s(+\-$]*\d[\d.,\s]*%?\s*\)?$"
# White space a strip may remove, in ASCII, besides the line breaks that end the lines.
_ASCII_SPACE = " \t\x0b\x0c\x1c\x1d\x1e\x1f"
# A word each of `_plain_first`'s refusals needs: the last word of each strong footer, `pending`
# (is_pending), and is_summary's own pre-filter.
_SPECIAL_WORDS = (
    "information|services|downloaded|generated|pending|total|net account|portfolio value"
)


def read_clean_table(
    text: str,
    delimiter: str,
    filename: str,
    securities: SecurityMaster | None,
    issues: list[ImportIssue],
    min_rows: int = MIN_ROWS,
) -> Holdings | None:
    """Holdings for a clean sheet, exactly as the general path reads it; None when not clean."""
    book = clean_frame(text, delimiter, filename, securities, issues, min_rows)
    return None if book is None else book.to_holdings()


def clean_frame(
    text: str | bytes,
    delimiter: str,
    filename: str,
    securities: SecurityMaster | None,
    issues: list[ImportIssue],
    min_rows: int = MIN_ROWS,
) -> BookFrame | None:
    """The clean sheet's book as columns (`BookFrame`); None when the sheet is not clean.

    `text` may be an ASCII upload's own bytes (its text a character a byte): every position
    below is then the same in both."""
    if delimiter != ",":
        return None
    if line_offset(text, min_rows - 1) == len(text) and text.count(_of(text, "\n")) + 1 < min_rows:
        return None
    head_lines = io.StringIO(_str(text[: line_offset(text, HEAD_LINES)]), newline="").readlines()
    head = split_records("".join(head_lines), delimiter)
    if is_ibkr(head):
        return None
    found = find_header(head)
    if found is None:
        return None
    start, cmap = found
    if any(name in cmap for name in _GENERAL_ONLY) or "symbol" not in cmap:
        return None
    header = head[start]
    start_at = sum(len(ln) for ln in head_lines[: header.end])
    # The body is `text[start_at:end_at]`, looked at in place (a slice would copy the file).
    end_at = _body_end(text, start_at)
    if end_at == start_at or text.find(_of(text, '"'), start_at, end_at) >= 0:
        return None  # quoted cells
    if text.find(_of(text, "\r"), start_at, end_at) >= 0 and text.count(
        _of(text, "\r"), start_at, end_at
    ) != text.count(_of(text, "\r\n"), start_at, end_at):
        return None  # a line break the reader would not see
    spaced = _edge_space(text, start_at, end_at)
    # The amount columns (but the first, whose text is looked at below) are read as numbers.
    amounts = {
        cmap.index[name]: name != "quantity"
        for name in ("quantity", "price", "market_value")
        if name in cmap and cmap.index[name] != 0
    }
    read = _read_body(text, start_at, end_at, cmap.width, cmap.used_width, amounts, spaced)
    if read is None:
        return None
    frame = read.frame
    first_body_line = header.end + 1

    # Each text column by index (the amount columns read as numbers are not among them).
    if spaced:
        stripped = {i: frame[i].str.strip() for i in frame.columns}
    else:  # no cell starts or ends with white space: every cell is its own stripped text
        stripped = {i: frame[i] for i in frame.columns}
    # One empty text as a category: a byte a row, where a text column holds eight or more.
    blank = _categorical(np.zeros(len(frame), dtype=np.int8), [""])
    blank.index = frame.index
    blank.attrs[_BLANK] = True

    def column(name: str) -> pd.Series:
        i = cmap.index.get(name)
        return stripped[i] if i is not None else blank

    if cmap.width < 2:
        return None
    filled, n_read = read.filled, len(read.amounts)
    if (
        spaced
        or not read.rectangular
        or _empty_cell(list(stripped.values()))
        or (filled is not None and bool((filled < n_read).any()))
    ):
        nonempty = sum((s != "").astype(np.int64) for s in stripped.values())
        if filled is not None:
            nonempty = nonempty + filled
        if int(nonempty.min()) < 2:  # blank lines inside the table, or one-cell text rows
            return None
        if (stripped[0] == "").any():
            return None
    symbol = column("symbol")
    numeric = {cmap.index.get(n) for n in ("quantity", "price", "market_value")}
    codes = _Codes()
    uniques = {i: codes.of(s)[1] for i, s in stripped.items() if i not in numeric or i == 0}
    # A second header may hide in the rows. (Numeric cells are matched as plain decimals below.)
    if any(_has_header_word(u) for u in uniques.values()):
        return None
    if not all(_plain_symbol(str(v)) for v in uniques[cmap.index["symbol"]]):
        return None
    if not all(_plain_first(str(v)) for v in _may_be_special(uniques[0])):
        return None
    description = column("description")
    if "description" in cmap and description.str.lower().str.contains("pending").any():
        return None
    asset_class = column("asset_class")
    if "asset_class" in cmap and asset_class.str.match(_NUMERIC_CLASS).any():
        return None

    def amount(name: str, blank_ok: bool = False) -> np.ndarray | None:
        i = cmap.index.get(name)
        if i is not None and i in read.amounts:
            return read.amounts.pop(i)  # the body holds no reference: `_positions` frees them
        return _decimals(column(name), blank_ok)

    q = amount("quantity")
    p = amount("price", blank_ok=True) if q is not None else None
    v = amount("market_value", blank_ok=True) if p is not None else None
    if q is None or p is None or v is None:
        return None
    unpriced = np.isnan(p)
    if unpriced.any():
        # No price but a quantity and a value (a money-market row, as exports often leave
        # its price blank): the general path takes value / quantity, without a word. A row
        # with neither is valued at the reference price with a warning: the general path's.
        if np.isnan(v[unpriced]).any():
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            p[unpriced] = v[unpriced] / q[unpriced]
    del unpriced
    missing = np.isnan(v)
    if missing.any():  # no stated value: quantity x price
        v[missing] = np.round(q[missing] * p[missing], 8)
    del missing
    if not (
        (q > 0).all()
        and (q <= MAX_QUANTITY).all()
        and (p > 0).all()
        and np.isfinite(v).all()
        and (v > 0).all()
        and (v <= MAX_POSITION_VALUE).all()
        and (np.abs(q * p - v) <= TOLERANCE * np.maximum(np.abs(v), 1e-9)).all()
    ):
        return None

    out = Sorted(header_cells=header.stripped)
    label = _read_preamble(head[:start], out)
    account = _accounts(column("account_name"), column("account_number"), label, codes)
    amounts = [q, p, v]
    del q, p, v  # `_positions` lets them go once the holdings have theirs
    columns, classified, repeats = _positions(
        account,
        symbol,
        description,
        asset_class,
        column("security_type"),
        amounts,
        first_body_line,
        securities,
        codes,
    )
    if "security type" in " ".join(out.header_cells).lower():
        head = split_records(_str(text[: line_offset(text, DETECT_LINES)]), delimiter)
    fmt = detect_format(out.header_cells, out.preamble, head, filename)
    issues.extend(out.issues)
    for line, first_line, sym in repeats:
        issues.append(
            ImportIssue(
                line=line,
                severity="warning",
                message=repeat_message(sym, line, first_line),
                raw=read.raw(line - first_body_line),
            )
        )
    issues.extend(classified)
    issues.sort(key=lambda i: (i.line is None, i.line or 0))
    return BookFrame(
        source=filename,
        format=fmt,
        positions=columns.frame,
        row_lots=columns.row_lots,
        skipped=sorted(out.skipped, key=lambda s: s.line),
        issues=issues,
    )


def _has_header_word(cells: pd.Series) -> bool:
    """Does any cell name a symbol column (any case)? Arrow's matcher where the text is Arrow's."""
    try:
        found = pc.match_substring_regex(pa.array(cells.array), _HEADER_WORDS, ignore_case=True)
        return bool(pc.any(found).as_py())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return bool(cells.str.contains(_HEADER_WORDS, case=False, regex=True).any())


def _decimals(cells: pd.Series, blank_ok: bool = False) -> np.ndarray | None:
    """The cells as floats when every one (every non-empty one, with `blank_ok`: NaN for the
    empty ones) fully matches `_SIMPLE`; else None. Where the text is Arrow's, its bytes are
    checked in one pass (`_plain_bytes`) and Arrow's cast reads the numbers."""
    if cells.attrs.get(_BLANK):  # the file has no such column
        return np.full(len(cells), np.nan) if blank_ok else None
    try:
        arr = pa.array(cells.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = None
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    if arr is None or not all(_is_text(c) and c.null_count == 0 for c in chunks):
        filled = cells != "" if blank_ok else pd.Series(True, index=cells.index)
        if not cells[filled].str.fullmatch(_SIMPLE).all():
            return None
        return np.where(filled.to_numpy(), cells.where(filled, "0").astype(float), np.nan)
    out = np.full(len(cells), np.nan)
    at = 0
    for chunk in chunks:
        if _chunk_decimals(chunk, blank_ok, out[at : at + len(chunk)]) is None:
            return None
        at += len(chunk)
    return out


def _chunk_decimals(chunk: pa.Array, blank_ok: bool, out: np.ndarray) -> np.ndarray | None:
    """`_decimals` of one Arrow text array (no nulls) into `out` (NaN already where a cell may
    be empty): which cells are not empty; None when a cell is not a plain decimal."""
    filled = _plain_bytes(chunk, blank_ok)
    if filled is None:
        return None
    try:
        if filled.all():
            out[:] = _cast(chunk)
        else:
            out[filled] = _cast(chunk.filter(pa.array(filled)))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return filled


def _cast(arr: pa.Array) -> np.ndarray:
    return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)


def _is_text(arr: pa.Array) -> bool:
    return pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)


_MINUS, _POINT, _SLASH, _ZERO = ord("-"), ord("."), ord("/"), ord("0")
_SIMPLE_RE = re.compile(_SIMPLE)


def _plain_bytes(arr: pa.Array, blank_ok: bool) -> np.ndarray | None:
    """Which cells of an Arrow text array are non-empty, when each non-empty one (each one,
    without `blank_ok`) may be a plain decimal; else None. A cell may be one when its bytes are
    digits, `-` and `.` only, it begins with a digit or `-` and a digit, and ends with a digit:
    then Arrow's cast reads it exactly when `_SIMPLE` matches it (a stray `-` or a second `.`
    fails the cast), but for the count of digits on a side, which only a cell longer than 15
    bytes can exceed: those few get the pattern."""
    _, offset_buf, data_buf = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(offset_buf, dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    offsets = offsets.astype(np.int64, copy=False)
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    filled = lengths > 0
    if not filled.all():
        if not blank_ok:
            return None
        starts, ends, lengths = starts[filled], ends[filled], lengths[filled]
    if len(starts) == 0:
        return filled
    data = np.frombuffer(data_buf, dtype=np.uint8)
    body = data[offsets[0] : offsets[-1]]
    # (byte - "-") wraps below "-": above 12 is outside "-" to "9"; "/" lies between.
    if (((body - _MINUS) > 12) | (body == _SLASH)).any():
        return None
    last, first = data[ends - 1] - _ZERO, data[starts]
    minus = first == _MINUS
    lead = np.where(minus, data[np.minimum(starts + 1, ends - 1)], first) - _ZERO
    if (last > 9).any() or (lead > 9).any():
        return None
    long = np.flatnonzero(lengths > 15)
    for a, b in zip(starts[long].tolist(), ends[long].tolist(), strict=True):
        if not _SIMPLE_RE.fullmatch(data[a:b].tobytes().decode("ascii")):
            return None
    return filled


def _of(text: str | bytes, literal: str) -> Any:
    """`literal` in `text`'s own kind (bytes for bytes: ASCII text read in place)."""
    return literal if isinstance(text, str) else literal.encode("ascii")


def _str(text: str | bytes) -> str:
    return text if isinstance(text, str) else text.decode("ascii")


def _edge_space(text: str | bytes, start: int, end: int) -> bool:
    """Might a cell of the body `text[start:end]` start or end with white space? False only when
    it is ASCII and no white space character touches a comma or a line end (then `str.strip`
    changes no cell)."""
    if not _is_ascii(text, start, end):
        return True
    for ch in _ASCII_SPACE:
        if text.find(_of(text, ch), start, end) >= 0 and (
            text.startswith(_of(text, ch), start, end)
            or text.endswith(_of(text, ch), start, end)
            or any(
                text.find(_of(text, pair), start, end) >= 0
                for pair in (f",{ch}", f"{ch},", f"\n{ch}", f"{ch}\n", f"{ch}\r")
            )
        ):
            return True
    return False


_STEP = 1 << 20  # characters looked at (or encoded) at a time: a bounded copy, not the file's


def _is_ascii(text: str | bytes, start: int, end: int) -> bool:
    return all(text[i : min(i + _STEP, end)].isascii() for i in range(start, end, _STEP))


def _empty_cell(columns: list[pd.Series]) -> bool:
    """Might a cell be empty? False when every column is Arrow text of no empty cell."""
    try:
        return any(
            pc.min(pc.binary_length(pa.array(c.array))).as_py() in (0, None) for c in columns
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return True


def _may_be_special(values: pd.Series) -> pd.Series:
    """The values `_plain_first` could refuse: each of its rules needs one of these words (as
    `normalize` keeps letters and digits, a word of its result is in the lower-cased text). Text
    that is not ASCII is always kept (Python's and Arrow's case rules may differ on it)."""
    try:
        arr = pa.array(values.array)
        keep = pc.or_(
            pc.invert(pc.string_is_ascii(arr)),
            pc.match_substring_regex(arr, _SPECIAL_WORDS, ignore_case=True),
        )
        return values[keep.to_numpy(zero_copy_only=False)]
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return values


def _body_end(text: str | bytes, start: int) -> int:
    """Where `text[start:]` ends without the blank (whitespace-only) lines at its end (`start`
    when it is all blank), found from the end a stretch at a time."""
    end = len(text)
    while end > start:
        stretch = _str(text[max(start, end - _STEP) : end])
        kept = len(stretch.rstrip())
        if kept:
            end = end - len(stretch) + kept
            break
        end -= len(stretch)
    if end == start:
        return start
    newline = text.find(_of(text, "\n"), end)
    return len(text) if newline < 0 else newline + 1


@dataclass
class _Body:
    """The body's cells, and where it is in the file's text (for a reported row's raw text)."""

    frame: pd.DataFrame
    text: str | bytes
    start: int
    end: int
    rectangular: bool = False  # read by pyarrow: every line has the header's field count
    # Amount columns read as numbers (None: a cell is not a plain decimal), not in `frame`,
    # and how many of them are not empty on each row.
    amounts: dict[int, np.ndarray | None] = field(default_factory=dict)
    filled: np.ndarray | None = None
    _before: list[int] | None = None  # line feeds before each stretch of `_STRETCH` characters

    def raw(self, k: int) -> str:
        """Line `k` of the body as the file has it, without its line break. Line feeds are
        counted a stretch of the text at a time (once), so a reported row costs a search within
        one stretch, not a copy of the body or an index of every line."""
        start = self._line_feed(k - 1) + 1 if k else self.start
        return _str(self.text[start : self._line_feed(k)]).rstrip("\r")

    def _line_feed(self, j: int) -> int:
        """Where the body's line feed `j` (from 0) is; its end when it has fewer."""
        feed = _of(self.text, "\n")
        if self._before is None:
            self._before = [0, *np.cumsum(self._feeds()).tolist()]
        c = bisect.bisect_right(self._before, j) - 1
        if c >= len(self._before) - 1:
            return self.end
        at = self.start + c * _STRETCH
        for _ in range(j - self._before[c] + 1):
            at = self.text.find(feed, at, self.end) + 1
        return at - 1

    def _feeds(self) -> list[int]:
        """The line feeds in each stretch of the body: bytes counted by NumPy a piece of whole
        stretches at a time (`bytes.count` goes a byte at a time), text by `str.count`."""
        text, start, end = self.text, self.start, self.end
        if not isinstance(text, bytes):
            return [
                text.count("\n", at, min(at + _STRETCH, end)) for at in range(start, end, _STRETCH)
            ]
        piece = _STRETCH * max(1, _STEP // _STRETCH)
        counts: list[int] = []
        for at in range(start, end, piece):
            feeds = np.frombuffer(text, np.uint8, count=min(piece, end - at), offset=at) == 10
            whole = len(feeds) // _STRETCH * _STRETCH
            counts += np.count_nonzero(feeds[:whole].reshape(-1, _STRETCH), axis=1).tolist()
            if whole < len(feeds):
                counts.append(int(np.count_nonzero(feeds[whole:])))
        return counts


_STRETCH = 1 << 13
# pyarrow's blocks: a quarter megabyte (a quarter of its default) holds less in flight.
_BLOCK = 1 << 18


def _line_ends(data: bytes | bytearray | memoryview) -> np.ndarray:
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    return ends if len(raw) and raw[-1] == 10 else np.append(ends, len(raw))


def _encoded(text: str | bytes, start: int, end: int) -> bytes | bytearray | memoryview:
    """`text[start:end]` in UTF-8: a view of bytes; ASCII text encoded a stretch at a time into
    a buffer of its length, so the body is not held twice (its slice and its bytes) on the way."""
    if isinstance(text, bytes):
        return memoryview(text)[start:end]
    if not _is_ascii(text, start, end):
        return text[start:end].encode()
    out = bytearray(end - start)
    for i in range(start, end, _STEP):
        j = min(i + _STEP, end)
        out[i - start : j - start] = text[i:j].encode("ascii")
    return out


def _read_body(
    text: str | bytes,
    start: int,
    end: int,
    width: int,
    used_width: int,
    amounts: dict[int, bool],
    spaced: bool,
) -> _Body | None:
    """Every cell of `text[start:end]` as text, one row a line; None when a line's field count is
    out of the header's range. A rectangular body goes through pyarrow's reader (several times
    faster than the C engine for text columns, and it refuses any line of another width) a
    block at a time: the columns of `amounts` (index: may a cell be empty) are read as numbers
    block by block (`_Body.amounts`), so their text is never held whole. A ragged body goes
    through the C engine, which pads short lines, after the fields of every line are counted;
    all its columns stay text."""
    data = _encoded(text, start, end)
    names = [str(i) for i in range(width)]
    try:
        read = _stream(data, names, amounts, spaced)
    except pa.ArrowInvalid:
        pass  # a line of another width: counted below
    else:
        frame, parsed, filled = read
        return _Body(frame, text, start, end, rectangular=True, amounts=parsed, filled=filled)
    ends = _line_ends(data)
    raw = np.frombuffer(data, dtype=np.uint8)
    counts = np.diff(np.searchsorted(np.flatnonzero(raw == 44), ends), prepend=0) + 1
    if len(counts) == 0 or counts.min() < used_width or counts.max() > width:
        return None
    frame = pd.read_csv(
        io.BytesIO(data),  # a copy of the body: only a ragged one comes here
        header=None,
        names=range(width),
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        quoting=csv.QUOTE_NONE,
        engine="c",
    ).fillna("")
    return _Body(frame, text, start, end) if len(frame) == len(counts) else None


def _stream(
    data: bytes | bytearray | memoryview, names: list[str], amounts: dict[int, bool], spaced: bool
) -> tuple[pd.DataFrame, dict[int, np.ndarray | None], np.ndarray]:
    """pyarrow's reader over `data`, a block at a time: the text columns (as pandas keeps text,
    large_string, so nothing is cast), each amount column's numbers (None once a cell is not a
    plain decimal), and how many amount cells of each row are not empty."""
    reader = pacsv.open_csv(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pacsv.ReadOptions(column_names=names, block_size=_BLOCK),
        parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.large_string()), strings_can_be_null=False
        ),
    )
    kept: dict[int, list[pa.Array]] = {i: [] for i in range(len(names)) if i not in amounts}
    numbers: dict[int, list[np.ndarray] | None] = {i: [] for i in amounts}
    counts: list[np.ndarray] = []
    for batch in reader:
        count = np.zeros(batch.num_rows, dtype=np.int8)
        for i in range(len(names)):
            cells = batch.column(i)
            if i in kept:
                kept[i].append(cells)
                continue
            if spaced:  # as pandas' `str.strip` of Arrow text does
                cells = pc.utf8_trim_whitespace(cells)
            got = numbers[i]
            out = np.full(len(cells), np.nan)
            if got is not None and (filled := _chunk_decimals(cells, amounts[i], out)) is not None:
                got.append(out)
                count += filled
            else:  # not all plain decimals: the file is not clean, but its cells are counted
                numbers[i] = None
                count += pc.binary_length(cells).to_numpy(zero_copy_only=False) > 0
        counts.append(count)
    table = pa.table(
        {str(i): pa.chunked_array(chunks, type=pa.large_string()) for i, chunks in kept.items()}
    )
    frame = table.to_pandas()
    frame.columns = list(kept)
    parsed = {
        i: None if got is None else np.concatenate(got) if got else np.zeros(0)
        for i, got in numbers.items()
    }
    filled = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int8)
    return frame, parsed, filled


def _plain_symbol(text: str) -> bool:
    """A ticker the general path would keep as it is, and that means nothing but a holding."""
    cleaned, problem = clean_symbol(text)
    return (
        problem is None
        and cleaned == text
        and " " not in text
        and not text.endswith("**")
        and not is_cash_word(text)
        and not is_pending(text)
        and not is_summary(text)
        and "CASH" not in text
        and "SWEEP" not in text
    )


def _plain_first(text: str) -> bool:
    return not (normalize(text).startswith(_STRONG_FOOTERS) or is_pending(text) or is_summary(text))


def _first_texts(
    column: pd.Series, rows: np.ndarray, starts: np.ndarray, codes: _Codes
) -> list[str]:
    """For each run of `rows` (beginning at `starts`), the column's first non-empty text, or ""."""
    if column.attrs.get(_BLANK):
        return [""] * len(starts)
    column_codes, uniques = codes.of(column)
    row_codes = column_codes[rows]
    filled = (uniques != "").to_numpy()[row_codes]
    at = np.where(filled, np.arange(len(rows)), len(rows))
    first = np.minimum.reduceat(at, starts)
    ends = np.r_[starts[1:], len(rows)]
    found = first < ends
    out = [""] * len(starts)
    texts = uniques.take(row_codes[first[found]]).tolist()
    for k, text in zip(np.flatnonzero(found).tolist(), texts, strict=True):
        out[k] = text
    return out


def _first_alike(*keys: np.ndarray) -> np.ndarray:
    """For each row, the first row with its value tuple over the finite numeric `keys` (a row
    repeats exactly where that is another row, as `DataFrame(keys).duplicated()` says): the
    tuples are numbered in first-seen order, and each number's first row found once."""
    code: np.ndarray | None = None
    for key in keys:
        codes, uniques = pd.factorize(key, sort=False)
        code = codes if code is None else pd.factorize(code * (len(uniques) + 1) + codes)[0]
    if code is None:
        return np.arange(len(keys[0]))
    return _first_rows(code)[code]


def _sums(
    values: np.ndarray, listed: list[float], starts: np.ndarray, bounds: list[tuple[int, int]]
) -> np.ndarray:
    """Each run's `math.fsum` (exact, then rounded once). A run of two is one addition, which
    IEEE rounds exactly as fsum does, so only longer runs are summed one by one."""
    ends = np.r_[starts[1:], len(values)]
    pair = (ends - starts) == 2
    out = np.empty(len(starts))
    out[pair] = values[starts[pair]] + values[starts[pair] + 1]
    for k in np.flatnonzero(~pair).tolist():
        i, j = bounds[k]
        out[k] = math.fsum(listed[i:j])
    return out


class _Codes:
    """Each text column factorized once: its codes (first-seen order) and its distinct texts,
    for the checks on distinct values, the accounts, the holdings and the result's columns."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[pd.Series, np.ndarray, pd.Series]] = {}

    def texts(self, column: pd.Series, rows: np.ndarray) -> list[str]:
        """The column's texts at `rows`, read from its distinct texts (a take from the column
        itself would join its chunks into one copy first)."""
        if column.attrs.get(_BLANK):
            return [""] * len(rows)
        column_codes, uniques = self.of(column)
        return uniques.take(column_codes[rows]).tolist()

    def of(self, column: pd.Series) -> tuple[np.ndarray, pd.Series]:
        got = self._seen.get(id(column))
        if got is None:
            codes, uniques = pd.factorize(column, sort=False)
            if len(uniques) < 2**31 - 1:  # half the memory of the row-long array
                codes = codes.astype(np.int32)
            got = self._seen[id(column)] = (column, codes, pd.Series(uniques))
        return got[1], got[2]


def _categorical(codes: np.ndarray, texts: pd.Series | list[str]) -> pd.Series:
    """A text column as codes into distinct texts (one small string a distinct value, not one a
    row; `to_holdings` and `book_frame` read its texts)."""
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(texts, dtype=str)))


def _factorize_rows(*columns: pd.Series, codes: _Codes) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct value tuples across `columns` in first-seen order, and the first row
    of each, without building a Python tuple per row. A column the file lacks (`_BLANK`, one
    value throughout) changes nothing and is passed over."""
    key: np.ndarray | None = None
    for column in columns:
        if column.attrs.get(_BLANK):
            continue
        column_codes, uniques = codes.of(column)
        key = (
            column_codes
            if key is None
            else pd.factorize(key.astype(np.int64) * (len(uniques) + 1) + column_codes)[0]
        )
    if key is None:
        key = np.zeros(len(columns[0]), dtype=np.int64)
    return key, _first_rows(key)


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """The first row of each code, for codes numbered in first-seen order (`pd.factorize`): a row
    is the first of its code exactly where the running maximum rises."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    top = np.maximum.accumulate(codes)
    return np.flatnonzero(np.r_[True, top[1:] > top[:-1]])


def _accounts(
    name: pd.Series, number: pd.Series, label: str, codes: _Codes
) -> tuple[np.ndarray, list[str]]:
    """`account_of` over the column pairs, computed once per distinct pair: each row's account
    as a code into the list of distinct accounts (first-seen order)."""
    fallback = label or DEFAULT_ACCOUNT
    pair_codes, firsts = _factorize_rows(name, number, codes=codes)
    names = []
    for n, k in zip(codes.texts(name, firsts), codes.texts(number, firsts), strict=True):
        if n and k:
            names.append(n if k in n else f"{n} {k}")
        else:
            names.append(n or k or fallback)
    name_codes, distinct = pd.factorize(np.array(names, dtype=object), sort=False)
    return name_codes.astype(np.int32)[pair_codes], [str(x) for x in distinct]


@dataclass
class _Columns:
    frame: pd.DataFrame
    row_lots: RowLots | None


def _positions(
    account: tuple[np.ndarray, list[str]],
    symbol: pd.Series,
    description: pd.Series,
    asset_class: pd.Series,
    security_type: pd.Series,
    amounts: list[np.ndarray],
    first_body_line: int,
    securities: SecurityMaster | None,
    codes: _Codes,
) -> tuple[_Columns, list[ImportIssue], list[tuple[int, int, str]]]:
    """One position per (account, symbol) in first-seen order, classified as `classify` would;
    several rows become its lots. Identical rows of one holding come back as (line, the line it
    repeats, symbol). `amounts` (each row's quantity, price and value) is emptied: the rows'
    arrays are let go before the holdings' columns are put together.

    Holdings of one row (nearly all of a practice's book) are taken from the columns as they are;
    classification is judged once per distinct (symbol, class text, type text) and spread over
    the rows. Only holdings of several rows are folded one by one.
    """
    acc_codes, acc_names = account
    q, p, v = amounts
    amounts.clear()
    sym_codes, sym_texts = codes.of(symbol)
    group, _ = pd.factorize(acc_codes.astype(np.int64) * (int(sym_codes.max()) + 1) + sym_codes)
    n_groups = int(group.max()) + 1
    sizes = np.bincount(group, minlength=n_groups)
    # Groups are numbered in first-seen order, so each group's first row rises with its number.
    first_row = _first_rows(group)

    ref = reference(securities) if securities is not None else None
    kinds = ref.kind if ref is not None else {}
    ref_classes = ref.asset_class if ref is not None else {}
    verdicts: list[Verdict] = []
    verdict_of: dict[tuple[str, str, str], int] = {}

    def verdict_index(sym: str, cls: str, typ: str) -> int:
        key = (sym, cls, typ)
        k = verdict_of.get(key)
        if k is None:
            k = verdict_of[key] = len(verdicts)
            verdicts.append(judge(sym, cls, typ, False, kinds, ref_classes))
        return k

    if asset_class.attrs.get(_BLANK) and security_type.attrs.get(_BLANK):
        hint_codes, firsts = sym_codes, _first_rows(sym_codes)  # the symbol alone decides
    else:
        hint_codes, firsts = _factorize_rows(symbol, asset_class, security_type, codes=codes)
    hint_uniques = zip(
        codes.texts(symbol, firsts),
        codes.texts(asset_class, firsts),
        codes.texts(security_type, firsts),
        strict=True,
    )
    verdict_of_hint = np.array([verdict_index(s, c, t) for s, c, t in hint_uniques], dtype=np.int32)
    group_verdict = verdict_of_hint[hint_codes[first_row]]

    quantity = q[first_row]
    price = p[first_row]
    value = v[first_row]
    row_lots: RowLots | None = None
    repeats: list[tuple[int, int, str]] = []
    heads = np.zeros(0, dtype=np.int64)
    head_descs: list[str] = []
    # The rows of each holding of several rows together, in file order; then the rows' own
    # arrays go (the holdings have theirs).
    multi = np.flatnonzero(sizes[group] > 1)
    rows = multi[np.argsort(group[multi], kind="stable")]
    gs = group[rows]
    q_rows, p_rows, v_rows = q[rows], p[rows], v[rows]
    del q, p, v, group, sizes, multi
    if len(rows):
        starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
        bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), len(rows)], strict=True))
        heads = gs[starts]
        qs, vs = q_rows.tolist(), v_rows.tolist()
        quantity[heads] = _sums(q_rows, qs, starts, bounds)
        value[heads] = _sums(v_rows, vs, starts, bounds)
        del qs, vs, bounds
        # One price where the rows agree on it, else value / quantity (quantities are positive).
        low, high = np.minimum.reduceat(p_rows, starts), np.maximum.reduceat(p_rows, starts)
        price[heads] = np.where(low == high, low, value[heads] / quantity[heads])
        head_descs = (
            [] if description.attrs.get(_BLANK) else _first_texts(description, rows, starts, codes)
        )
        head_syms = codes.texts(symbol, rows[starts])
        if not (asset_class.attrs.get(_BLANK) and security_type.attrs.get(_BLANK)):
            # Without class columns a holding's verdict is its symbol's, set already.
            for g, sym, cls, typ in zip(
                heads.tolist(),
                head_syms,
                _first_texts(asset_class, rows, starts, codes),
                _first_texts(security_type, rows, starts, codes),
                strict=True,
            ):
                group_verdict[g] = verdict_index(sym, cls, typ)
        # Each row its own lot; a line is one row, so a holding's lines are already distinct
        # and in order.
        row_lots = RowLots(heads, np.r_[starts, len(rows)], q_rows, rows + first_body_line)
        # Identical rows of one holding: each repeat and the first line it repeats.
        # (A holding's rows are in file order, so the first alike has the least line.)
        first_alike = _first_alike(gs, q_rows, p_rows, v_rows)
        repeated = np.flatnonzero(first_alike != np.arange(len(rows)))
        if len(repeated):
            row_lines = row_lots.line
            sym_of = dict(zip(heads.tolist(), head_syms, strict=True))
            for k, first, g in zip(
                repeated.tolist(),
                first_alike[repeated].tolist(),
                gs[repeated].tolist(),
                strict=True,
            ):
                repeats.append((int(row_lines[k]), int(row_lines[first]), sym_of[g]))

    class_codes, class_names = pd.factorize(
        np.array([str(v.asset_class) for v in verdicts], dtype=object), sort=False
    )
    cash_flags = np.array([v.is_cash for v in verdicts], dtype=bool)
    if description.attrs.get(_BLANK):  # every description is ""
        description_of = _categorical(np.zeros(n_groups, dtype=np.int8), [""])
    else:
        desc_codes, desc_texts = codes.of(description)
        group_desc = desc_codes[first_row]
        if len(heads):  # a holding of several rows: its first non-empty description
            group_desc[heads] = pd.Index(desc_texts).get_indexer(head_descs)
        description_of = _categorical(group_desc, desc_texts)
    frame = pd.DataFrame(
        {
            "account": _categorical(acc_codes[first_row], acc_names),
            "symbol": _categorical(sym_codes[first_row], sym_texts),
            "description": description_of,
            "quantity": quantity,
            "price": price,
            "market_value": value,
            "asset_class": _categorical(class_codes[group_verdict], list(class_names)),
            "cost_basis": np.full(n_groups, np.nan),
            "is_cash": cash_flags[group_verdict],
            "line": first_row + first_body_line,
        },
        copy=False,  # the arrays are this frame's own: no second copy of every column
    )

    # Warnings in position order: a disagreement on each holding, an unknown symbol once.
    noisy = np.array(
        [
            not v.is_cash
            and (v.disagreement is not None or (securities is not None and not v.known))
            for v in verdicts
        ],
        dtype=bool,
    )
    issues: list[ImportIssue] = []
    warned: set[str] = set()
    group_syms = frame["symbol"]
    for g in np.flatnonzero(noisy[group_verdict]).tolist():
        verdict = verdicts[int(group_verdict[g])]
        sym = group_syms.iat[g]
        line = int(first_row[g]) + first_body_line
        if verdict.disagreement:
            issues.append(ImportIssue(line=line, severity="warning", message=verdict.disagreement))
        if securities is not None and not verdict.known and sym not in warned:
            warned.add(sym)
            issues.append(
                ImportIssue(
                    line=line,
                    severity="warning",
                    message=unknown_message(sym, verdict.asset_class),
                )
            )
    return _Columns(frame, row_lots), issues, repeats
