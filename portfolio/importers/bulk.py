"""Big custodian exports in columns: the general path's rules, with the bulk of rows taken at once.

A custodian file of a whole practice is a few titles, headings, totals and footers around hundreds
of thousands of ordinary holding rows. Reading every line into a `Record` and walking it through
`sort_rows` and `build` costs tens of microseconds a row. Here the file is split into lines and
parsed by pyarrow; the opening lines (titles, the first header) and every line that could change
the walk's state or be anything but an ordinary holding (a header word, a footer, a one-cell line,
a blank, white space at a cell's edge, text outside ASCII) stay `Record`s the walk reads as before.
Runs of the other lines become blocks (`Tail.blocks`): `sort_rows` hands each to `sort_block` with
its state, which takes the rows a data row of that state would give as they stand (every number
plain and plausible, the values agreeing: `build._Quick`'s rows) as columns (`BulkRows`), and gives
every other row back to the walk as a `Record`. So each line is still exactly one holding row,
cash, skipped row or error, with its own line number, and the book equals the general path's
(`tests/test_import_bulk.py` holds both equal).

An Interactive Brokers statement (`detect.is_ibkr` on its first lines) is split the same way, but
only its `Open Positions,Data,...` lines (ASCII, no white space at a cell's edge) make blocks:
`ibkr.sort_ibkr` hands each to `sort_ibkr_block` with the section's current header, which takes
the Summary and Lot rows `build._Quick` would take as they stand and gives every other row (an
other discriminator, a field count the header refuses, an odd number, currency or symbol) back
to the walk (`tests/test_import_ibkr_bulk.py`).

`split_tail` returns None (the general path reads the file) for files it cannot take line for
line: another delimiter, a quote or line break inside a cell that spans or escapes, a lone
carriage return, a line too long for the CSV reader, or too few lines to pay off.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from portfolio.importers.build import (
    _NUMERIC_TEXT_RE,
    MAX_POSITION_VALUE,
    MAX_QUANTITY,
    TOLERANCE,
    _parse_date_cached,
    clean_symbol,
)
from portfolio.importers.headers import ColumnMap
from portfolio.importers.ibkr import OPEN_FIELDS
from portfolio.importers.special import is_cash_word, is_pending, is_summary
from portfolio.importers.text import Record, split_records
from portfolio.numbers import NumberError, parse_number

# Lines read one by one at the top: titles, account summaries and the first header live there, and
# format detection looks at the first 400 records (`is_ibkr`).
HEAD_LINES = 500
# Below this many lines the general path is about as fast.
MIN_LINES = 2_000
# csv's default field size limit is 131,072 characters; a longer line may be an error row there.
MAX_LINE = 100_000
# One line, one record: each cell plain, or quoted whole with no quote inside.
_SIMPLE_LINE = r'^(?:"[^"]*"|[^",]*)(?:,(?:"[^"]*"|[^",]*))*$'
_SPACE = "".join(ch for ch in map(chr, range(128)) if ch.isspace() and ch not in "\r\n")
_SPACE_CLASS = "[" + "".join(f"\\x{ord(ch):02x}" for ch in _SPACE) + "]"
# White space that `str.strip` would remove from some cell (or a quoted comma's neighbour: such
# a line is read one by one, which is always right).
_EDGE_SPACE = f'(?:^|[,"]){_SPACE_CLASS}|{_SPACE_CLASS}(?:$|[,"])'
_NON_ASCII = r"[^\x00-\x7f]"
# `header_of` looks for one of these words first; a line without any is never a header.
_HEADER_WORDS = "(?i:sym|ticker|cusip)"
_WALKED_LINE = f"{_NON_ASCII}|{_EDGE_SPACE}|{_HEADER_WORDS}"
# In an Interactive Brokers statement only Open Positions data lines are taken in blocks.
_IBKR_POSITION = "^Open Positions,Data,"
_IBKR_WALKED_LINE = f"{_NON_ASCII}|{_EDGE_SPACE}"
# Columns whose rules are not taken in bulk: every row of such a section is walked one by one.
_WALKED_COLUMNS = ("weight", "allocation", "total_value")
_SIMPLE_NUMBER = r"^-?[0-9]{1,15}(?:\.[0-9]{1,15})?$"
_MONEY_NUMBER = r"^-?\$?(?:[0-9]{1,3}(?:,[0-9]{3}){1,4}|[0-9]{1,15})(?:\.[0-9]{1,15})?$"


class _Lines:
    """The file's physical lines by 0-based index, as `Record.raw` slices them."""

    def __init__(self, lines: pa.Array) -> None:
        self.lines = lines

    def __getitem__(self, span: slice) -> list[str]:
        return [self.lines[k].as_py() for k in range(span.start, span.stop)]


@dataclass
class Tail:
    """The file as the walk reads it: records, with blocks of ordinary rows after some of them."""

    records: list[Record]
    # Index in `records` -> (first, end) rows of `cells` read together after that record.
    blocks: dict[int, tuple[int, int]]
    cells: list[pa.Array]  # the body's cells as text columns, row k is physical line offset + k
    counts: np.ndarray  # fields on each body line
    nonempty: np.ndarray  # (rows, columns): the cell is not empty
    first: pa.Array  # each body row's first non-empty cell
    offset: int  # physical line number of the body's first row, less one
    lines: _Lines
    head: list[Record]
    ibkr: bool = False  # an Interactive Brokers statement: blocks of Open Positions data lines

    def let_go(self) -> None:
        """Drop the cells once every block is sorted (records keep their lines for `raw`)."""
        self.cells = []
        self.nonempty = np.zeros((0, 0), dtype=bool)

    def record(self, k: int) -> Record:
        """Body row `k` as `split_records` makes it."""
        line = self.offset + k + 1
        text = self.lines.lines[line - 1].as_py().removesuffix("\r")
        cells = next(csv.reader([text]), [])
        return Record(line, line, cells, self.lines)  # type: ignore[arg-type]

    def __getitem__(self, span: slice) -> list[Record]:
        """`records[:n]` as the whole file's records have it (format detection reads them)."""
        assert span.start is None and span.step is None and span.stop is not None
        return self.first_records(span.stop)

    def first_records(self, n: int) -> list[Record]:
        """The file's first `n` records (the head, then body rows)."""
        extra = max(0, min(n - len(self.head), len(self.counts)))
        return [*self.head, *(self.record(k) for k in range(extra))][:n]


@dataclass
class BulkRows:
    """Holding rows taken as they stand, in columns (file order): `build` folds them in."""

    line: list[np.ndarray] = field(default_factory=list)
    account: list[list[str]] = field(default_factory=list)
    symbol: list[list[str]] = field(default_factory=list)
    quantity: list[np.ndarray] = field(default_factory=list)
    price: list[np.ndarray] = field(default_factory=list)
    value: list[np.ndarray] = field(default_factory=list)
    cost_basis: list[np.ndarray] = field(default_factory=list)  # NaN: none
    acquired_text: list[list[str]] = field(default_factory=list)
    acquired: list[list[date | None]] = field(default_factory=list)
    description: list[list[str]] = field(default_factory=list)
    asset_class: list[list[str]] = field(default_factory=list)
    security_type: list[list[str]] = field(default_factory=list)
    account_type: list[list[str]] = field(default_factory=list)
    lot: list[np.ndarray] = field(default_factory=list)  # an Interactive Brokers Lot row
    raw: _Lines | None = None
    # The last this many walked candidates come after every bulk row in the walk's order (an
    # Interactive Brokers statement's cash, found once the whole statement is read).
    trailing: int = 0

    def __len__(self) -> int:
        return sum(len(x) for x in self.line)

    def raw_of(self, line: int) -> str:
        assert self.raw is not None
        return "".join(self.raw[line - 1 : line]).rstrip("\r\n")


def split_tail(text: str, delimiter: str) -> Tail | None:
    """The records and blocks of a big comma-separated file; None when it must be read whole."""
    if delimiter != "," or text.count("\r") != text.count("\r\n"):
        return None
    lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n")[0].values
    if text.endswith("\n"):
        lines = lines.slice(0, len(lines) - 1)
    n = len(lines)
    if n < max(MIN_LINES, HEAD_LINES + 1):
        return None
    bare = pc.replace_substring_regex(lines, "\r$", "") if "\r" in text else lines
    if not pc.all(pc.match_substring_regex(bare, _SIMPLE_LINE)).as_py():
        return None
    head_text = "\n".join(lines.slice(0, HEAD_LINES).to_pylist()) + "\n"
    head = split_records(head_text, delimiter)
    if len(head) != HEAD_LINES or head[-1].end != HEAD_LINES:
        return None  # pragma: no cover - every line is one simple record
    from portfolio.importers.detect import is_ibkr
    from portfolio.importers.table import find_header

    opening = head if HEAD_LINES >= 400 else split_records("\n".join(lines[:400].to_pylist()), ",")
    ibkr = is_ibkr(opening[:400])
    if not ibkr and find_header(head) is None:
        return None  # the general walk reads it whole
    body = bare.slice(HEAD_LINES)
    rows = len(body)
    counts = _field_counts(body)
    if len(counts) == 0 or _byte_lengths(body).max() > MAX_LINE:
        return None
    width = int(counts.max())
    if width < 2:
        return None
    # Each line padded with commas to the widest and ended: the array's character buffer is then
    # the rectangular CSV text pyarrow reads.
    pads = pa.array(["," * k + "\n" for k in range(width)], pa.large_string())
    padded = pc.binary_join_element_wise(
        body, pc.take(pads, pa.array(width - counts)), pa.scalar("", pa.large_string())
    )
    offsets = np.frombuffer(padded.buffers()[1], dtype=np.int64)[padded.offset :][: rows + 1]
    joined = padded.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(joined),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowException:  # pragma: no cover - the text is rectangular by construction
        return None  # the general walk reads it
    del padded, joined
    if table.num_rows != rows:
        return None  # pragma: no cover
    cells = [table.column(i).combine_chunks() for i in range(width)]
    del table
    nonempty = np.column_stack([pc.not_equal(c, "").to_numpy(zero_copy_only=False) for c in cells])
    if ibkr:
        # `sort_ibkr` reads an Open Positions data line by its current header alone.
        first = cells[0]
        plain = _matches(body, _IBKR_POSITION) & ~_matches(body, _IBKR_WALKED_LINE)
    else:
        first_at = nonempty.argmax(axis=1)
        first = cells[0]
        for j in range(1, width):
            at = first_at == j
            if at.any():
                first = pc.if_else(pa.array(at), cells[j], first)
        from portfolio.importers.table import _strong_footer

        plain = (
            (nonempty.sum(axis=1) >= 2)
            & ~_matches(body, _WALKED_LINE)
            & ~_by_value(first, _strong_footer)
        )
    del body
    raw = _Lines(lines)
    tail = Tail([*head], {}, cells, counts, nonempty, first, HEAD_LINES, raw, head, ibkr)
    # A run of plain rows: its first row is a record (what the walk looks ahead to), the rest a
    # block read after it.
    starts = plain & ~np.r_[False, plain[:-1]]
    ends = np.flatnonzero(plain & ~np.r_[plain[1:], False]) + 1
    end_of = dict(zip(np.flatnonzero(starts).tolist(), ends.tolist(), strict=True))
    for k in np.flatnonzero(~plain | starts).tolist():
        tail.records.append(tail.record(k))
        end = end_of.get(k, k + 1)
        if end > k + 1:
            tail.blocks[len(tail.records) - 1] = (k + 1, end)
    return tail


def _utf8(lines: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The lines' UTF-8 bytes end to end, and where each line starts (and the last ends)."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = np.frombuffer(lines.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data, offsets - offsets[0]


def _byte_lengths(lines: pa.Array) -> np.ndarray:
    return np.diff(_utf8(lines)[1])


def _field_counts(lines: pa.Array, chunk: int = 1 << 22) -> np.ndarray:
    """Fields on each simple line: its commas outside quotes, plus one. A quoted cell holds no
    quote, and each line as many opening as closing quotes, so a comma is inside one exactly
    where an odd number of quotes on its line precede it. Read a few megabytes of whole lines at
    a time, so the masks stay small."""
    data, starts = _utf8(lines)
    counts = np.empty(len(starts) - 1, dtype=np.int64)
    first = 0
    while first < len(counts):
        last = int(np.searchsorted(starts, starts[first] + chunk, side="right")) - 1
        last = min(max(last, first + 1), len(counts))
        part = data[starts[first] : starts[last]]
        inside = np.cumsum(part == 34, dtype=np.uint8) & 1
        commas = np.flatnonzero((part == 44) & (inside == 0))
        counts[first:last] = (
            np.diff(np.searchsorted(commas, starts[first : last + 1] - starts[first])) + 1
        )
        first = last
    return counts


def _matches(column: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(column, pattern).to_numpy(zero_copy_only=False)


def _codes(column: pa.Array) -> tuple[np.ndarray, list[str]]:
    encoded = pc.dictionary_encode(column)
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


def _by_value(column: pa.Array, test) -> np.ndarray:  # type: ignore[no-untyped-def]
    """`test` of each cell, asked once per distinct text."""
    codes, values = _codes(column)
    return np.array([bool(test(v)) for v in values], dtype=bool)[codes] if len(codes) else codes


def _numbers(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """`parse_numbers` of a text column (decimal point): values with NaN for empty, bad mask.

    Plain decimals and `$1,234.56` are cast by Arrow (both round correctly, as `float` does);
    every other distinct text goes through `parse_number` once."""
    n = len(column)
    values = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    simple = _matches(column, _SIMPLE_NUMBER)
    if simple.any():
        at = pa.array(simple)
        values[simple] = pc.cast(pc.filter(column, at), pa.float64()).to_numpy()
    rest = ~simple
    money = rest & _matches(column, _MONEY_NUMBER)
    if money.any():
        plain = pc.replace_substring_regex(pc.filter(column, pa.array(money)), "[$,]", "")
        values[money] = pc.cast(plain, pa.float64()).to_numpy()
        rest &= ~money
    if rest.any():
        at = np.flatnonzero(rest)
        codes, texts = _codes(pc.take(column, pa.array(at)))
        parsed = np.empty(len(texts))
        wrong = np.zeros(len(texts), dtype=bool)
        for i, text in enumerate(texts):
            try:
                value = parse_number(text)
            except NumberError:
                wrong[i] = True
                value = None
            parsed[i] = np.nan if value is None else value
        values[at] = parsed[codes]
        bad[at] = wrong[codes]
    return values, bad


def _column(cells: list[pa.Array], i: int, rows: slice, n: int) -> pa.Array:
    if i < 0:
        return pa.repeat(pa.scalar("", pa.string()), n)
    return cells[i][rows]


def sort_block(
    tail: Tail,
    span: tuple[int, int],
    cmap: ColumnMap,
    label: str,
    bulk: BulkRows,
    account_name,  # type: ignore[no-untyped-def]
    cell_fields: tuple[str, ...],
    column_of: dict[str, str],
) -> list[Record]:
    """Rows `span` of the body as the walk would sort them in positions mode after data (no gap
    open): the ordinary holding rows into `bulk`; the records of the others, in order, to walk."""
    lo, hi = span
    n = hi - lo
    rows = slice(lo, hi)
    if any(name in cmap for name in _WALKED_COLUMNS) or len(tail.cells) < cmap.used_width:
        # (In the second case every row of the body is short of the header: an error row.)
        return [tail.record(k) for k in range(lo, hi)]
    idx = cmap.index

    def col(name: str) -> pa.Array:
        return _column(tail.cells, idx.get(name, -1), rows, n)

    symbol = col("symbol")
    if "cusip" in idx:
        symbol = pc.if_else(pc.equal(symbol, ""), col("cusip"), symbol)
    description = col("description")
    first = tail.first[rows]
    counts = tail.counts[rows]
    walk = (
        _by_value(symbol, lambda s: is_pending(s) or is_summary(s) or s.endswith("**"))
        | _by_value(description, is_pending)
        | _by_value(first, lambda s: is_pending(s) or is_summary(s))
        | (counts < cmap.used_width)
    )
    if counts.max() > cmap.width:
        extra = tail.nonempty[rows, cmap.width :].any(axis=1)
        walk |= (counts > cmap.width) & extra
    sym_cash = _by_value(symbol, is_cash_word)
    no_symbol = pc.equal(symbol, "").to_numpy(zero_copy_only=False)
    walk |= sym_cash | (no_symbol & _by_value(description, is_cash_word))

    def column(f: str) -> pa.Array | None:
        i = idx.get(column_of.get(f, f))
        return None if i is None else tail.cells[i][rows]

    return _take(tail, lo, hi, column, symbol, walk, label, bulk, account_name, None)


def _take(
    tail: Tail,
    lo: int,
    hi: int,
    column,  # type: ignore[no-untyped-def]
    symbol: pa.Array,
    walk: np.ndarray,
    label: str,
    bulk: BulkRows,
    account_name,  # type: ignore[no-untyped-def]
    lot: np.ndarray | None,
) -> list[Record]:
    """Body rows `lo`..`hi` whose candidate `build._Quick` would take as it stands (and `walk`
    does not give back) into `bulk`; the records of the others, in order, to walk.

    `column(field)` is the text column of one of `build`'s cell fields (or of `account_name`,
    `account_number`) for these rows, None when the file lacks it; `lot` marks Lot rows."""
    n = hi - lo

    def cells(f: str) -> pa.Array:
        got = column(f)
        return pa.repeat(pa.scalar("", pa.string()), n) if got is None else got

    # What `build` would do with the row: `_Quick`'s test, column-wise.
    asset_class = column("asset_class")
    if asset_class is not None:
        walk |= _by_value(asset_class, lambda s: bool(_NUMERIC_TEXT_RE.match(s)))
    currency = column("currency")
    if currency is not None:
        walk |= _by_value(currency, lambda s: bool(s) and s.upper() not in {"USD", "BASE"})
    parsed = {}
    for f in ("quantity", "price", "value", "cost_basis", "cost_per_share", "multiplier"):
        text = column(f)
        if text is None and f in ("quantity", "price", "value"):
            text = cells(f)
        if text is not None:
            v, bad = _numbers(text)
            walk |= bad
        else:
            v = np.full(n, np.nan)
        parsed[f] = v
    q, p, v = parsed["quantity"], parsed["price"], parsed["value"]
    with np.errstate(invalid="ignore", over="ignore"):
        ok = (q > 0) & (q <= MAX_QUANTITY) & (p > 0) & (v > 0) & (v <= MAX_POSITION_VALUE)
        given = parsed["multiplier"]
        mult = np.where(given > 0, given, 1.0)
        agree = np.abs(q * p * mult - v) <= TOLERANCE * np.maximum(np.abs(v), 1e-9)
    walk |= ~(ok & agree)
    sym_codes, sym_texts = _codes(symbol)
    cleaned = [clean_symbol(s) for s in sym_texts]
    walk |= np.array([problem is not None for _, problem in cleaned], dtype=bool)[sym_codes]
    cost = parsed["cost_basis"].copy()
    cps = parsed["cost_per_share"]
    with np.errstate(invalid="ignore", over="ignore"):
        derived = np.isnan(cost) & ~np.isnan(cps)
        cost[derived] = cps[derived] * np.abs(q[derived]) * mult[derived]
        walk |= ~np.isnan(cost) & ~(np.isfinite(cost) & (np.abs(cost) <= MAX_POSITION_VALUE))
    acq_codes, acq_texts = _codes(cells("acquired"))
    acq_dates = [None if not t else _parse_date_cached(t) for t in acq_texts]
    walk |= np.array(
        [bool(t) and not isinstance(d, date) for t, d in zip(acq_texts, acq_dates, strict=True)],
        dtype=bool,
    )[acq_codes]

    take = np.flatnonzero(~walk)
    if len(take):
        at = pa.array(take)
        # Accounts by distinct (name, number) pair.
        name, number = cells("account_name"), cells("account_number")
        pair = pc.binary_join_element_wise(name, number, "\x00")
        pair_codes, pairs = _codes(pc.take(pair, at))
        accounts = [account_name(*pp.split("\x00", 1), label) for pp in pairs]
        bulk.line.append(take + (tail.offset + lo + 1))
        bulk.account.append([accounts[c] for c in pair_codes.tolist()])
        syms = [s for s, _ in cleaned]
        bulk.symbol.append([syms[c] for c in sym_codes[take].tolist()])
        bulk.quantity.append(q[take])
        price = p[take]
        m = mult[take]
        price = np.where(m != 1.0, v[take] / q[take], price)
        bulk.price.append(price)
        bulk.value.append(v[take])
        bulk.cost_basis.append(cost[take])
        codes = acq_codes[take].tolist()
        bulk.acquired_text.append([acq_texts[c] for c in codes])
        bulk.acquired.append([acq_dates[c] for c in codes])  # type: ignore[misc]
        for f in ("description", "asset_class", "security_type", "account_type"):
            # One string per distinct text, shared by its rows.
            codes, texts = _codes(pc.take(cells(f), at))
            getattr(bulk, f).append([texts[c] for c in codes.tolist()])
        bulk.lot.append(np.zeros(len(take), dtype=bool) if lot is None else lot[take])
        bulk.raw = tail.lines
    return [tail.record(lo + k) for k in np.flatnonzero(walk).tolist()]


def sort_ibkr_block(
    tail: Tail,
    span: tuple[int, int],
    cmap: ColumnMap,
    account: str,
    bulk: BulkRows,
    account_name,  # type: ignore[no-untyped-def]
    normalize,  # type: ignore[no-untyped-def]
) -> list[Record]:
    """Open Positions data lines `span` of an Interactive Brokers statement's body, under the
    section's header `cmap`, as `ibkr._open_position` and `build` would take them: the Summary
    and Lot rows `build._Quick` takes as they stand into `bulk`; the records of the others (an
    other discriminator, a field count the header refuses, an odd number, currency or symbol),
    in order, to walk."""
    lo, hi = span
    n = hi - lo
    rows = slice(lo, hi)
    # Cells are the line's fields after `Open Positions,Data`.
    if len(tail.cells) < cmap.used_width + 2:  # every row is short of the header
        return [tail.record(k) for k in range(lo, hi)]
    idx = {name: i + 2 for name, i in cmap.index.items()}
    disc_codes, disc_texts = _codes(_column(tail.cells, idx.get("discriminator", -1), rows, n))
    kinds = [normalize(t) for t in disc_texts]
    walk = np.array([k not in {"", "summary", "lot"} for k in kinds], dtype=bool)[disc_codes]
    lot = np.array([k == "lot" for k in kinds], dtype=bool)[disc_codes]
    counts = tail.counts[rows]
    walk |= counts < cmap.used_width + 2
    if counts.max() > cmap.width + 2:
        extra = tail.nonempty[rows, cmap.width + 2 :].any(axis=1)
        walk |= (counts > cmap.width + 2) & extra
    # The fields `ibkr._open_position` reads (no asset class, allocation or total), by the
    # names the candidate's cells take here.
    read = {"value": "market_value"}
    fields = tuple("value" if f == "market_value" else f for f in OPEN_FIELDS if f != "symbol")

    def column(f: str) -> pa.Array | None:
        i = idx.get(read.get(f, f)) if f in fields else None
        if i is None:
            return None
        if f == "acquired":  # a Summary row's date is not read
            return pc.if_else(pa.array(lot), tail.cells[i][rows], "")
        return tail.cells[i][rows]

    symbol = _column(tail.cells, idx.get("symbol", -1), rows, n)
    return _take(tail, lo, hi, column, symbol, walk, account, bulk, account_name, lot)


def bulk_account_types(bulk: BulkRows | None) -> list[tuple[int, str, str, str]]:
    """(line, account, text, raw) of the bulk rows' account-type cells, each distinct (account,
    text) once at its first line: `read_account_types` says nothing more of a pair it has seen."""
    if bulk is None or not any(any(part) for part in bulk.account_type):
        return []
    seen: set[tuple[str, str]] = set()
    out: list[tuple[int, str, str, str]] = []
    for lines, accounts, texts in zip(bulk.line, bulk.account, bulk.account_type, strict=True):
        for line, account, text in zip(lines.tolist(), accounts, texts, strict=True):
            if text and (account, text) not in seen:
                seen.add((account, text))
                out.append((line, account, text, bulk.raw_of(line)))
    return out
