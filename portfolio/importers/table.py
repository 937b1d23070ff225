"""Walk a header-and-rows export and sort every row: holding, cash, not-a-holding, or error.

One state machine serves Schwab, Fidelity, Vanguard, E*TRADE and plain sheets; what differs between
them is recognised from the rows themselves (titles, account headings, totals, footers), so a file
that mixes conventions still loads. Numbers are not parsed here: rows become `Candidate`s whose
cells `build` parses column-wise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING

from portfolio.importers.headers import ColumnMap, header_of, normalize
from portfolio.importers.special import (
    is_cash_word,
    is_footer,
    is_pending,
    is_prose,
    is_summary,
    is_title,
    title_account,
)
from portfolio.importers.text import Record

if TYPE_CHECKING:
    from portfolio.importers.bulk import BulkRows, Tail
from portfolio.models import ImportIssue, SkippedRow, UnreadableFileError
from portfolio.numbers import NumberError, parse_number

HEADER_SEARCH_ROWS = 200
DEFAULT_ACCOUNT = "Account"
TRANSACTION_REASON = "transaction history, not a holding"
_STRONG_FOOTERS = (
    "the data and information",
    "brokerage services",
    "date downloaded",
    "generated at",
    "downloaded on",
)
# `_strong_footer` looks for a word each of these holds first: `normalize` keeps runs of letters and
# digits as they are in the lower-cased text, so a cell without one cannot start with any of them.


CELL_FIELDS = (
    "description",
    "quantity",
    "price",
    "value",
    "cost_basis",
    "cost_per_share",
    "acquired",
    "asset_class",
    "security_type",
    "currency",
    "multiplier",
    "weight",
    "total",
    "account_type",
)
_COLUMN_OF = {"value": "market_value", "total": "total_value"}


@dataclass(slots=True)
class Candidate:
    """A row that should be a holding, with its cells still as text."""

    rec: Record
    account: str
    symbol: str
    description: str = ""
    quantity: str = ""
    price: str = ""
    value: str = ""
    cost_basis: str = ""
    cost_per_share: str = ""
    acquired: str = ""
    asset_class: str = ""
    security_type: str = ""
    currency: str = ""
    multiplier: str = ""
    weight: str = ""
    total: str = ""
    account_type: str = ""
    cash: bool = False
    lot: bool = False

    @property
    def line(self) -> int:
        return self.rec.line

    @property
    def raw(self) -> str:
        return self.rec.raw


def cell_indexes(cmap: ColumnMap) -> list[int]:
    """Column index for each of CELL_FIELDS (-1 when the file lacks it)."""
    return [cmap.index.get(_COLUMN_OF.get(f, f), -1) for f in CELL_FIELDS]


# The columns a data row is sorted by, looked up once per header rather than once per row.
_SORTING_FIELDS = ("symbol", "cusip", "description", "account_name", "account_number")


def _sorting_indexes(cmap: ColumnMap) -> tuple[int, ...]:
    return tuple(cmap.index.get(f, -1) for f in _SORTING_FIELDS)


@dataclass
class Sorted:
    """Rows of one file sorted by what they are."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    header_cells: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    # Amounts of summary rows (`Total`, `total_value`): a weight-only sheet's total, last wins.
    totals: list[tuple[int, str]] = field(default_factory=list)
    # Canonical field -> the header's own spelling, for messages that name a column.
    column_names: dict[str, str] = field(default_factory=dict)
    # (line, account, text, raw) of account-type cells stated outside the holdings' rows (IBKR).
    account_type_rows: list[tuple[int, str, str, str]] = field(default_factory=list)
    # Holding rows taken in bulk from a big file (`bulk.sort_block`), beside `candidates`.
    bulk: BulkRows | None = None

    def skip(self, rec: Record, reason: str) -> None:
        self.skipped.append(SkippedRow(line=rec.line, reason=reason, raw=rec.raw))

    def error(self, rec: Record, message: str) -> None:
        self.issues.append(
            ImportIssue(line=rec.line, severity="error", message=message, raw=rec.raw)
        )


def find_header(records: list[Record]) -> tuple[int, ColumnMap] | None:
    seen = 0
    for i, rec in enumerate(records):
        if rec.blank or rec.error:
            continue
        seen += 1
        if seen > HEADER_SEARCH_ROWS:
            return None
        cmap = header_of(rec.stripped)
        if cmap is not None and cmap.is_positions and not cmap.is_transactions:
            return i, cmap
    return None


def no_header_error(name: str) -> UnreadableFileError:
    label = f"'{name}'" if name else "The file"
    return UnreadableFileError(
        f"{label} has no recognisable column header: expected a row naming columns such as "
        "Symbol, Quantity and Market Value."
    )


def account_of(cmap: ColumnMap, cells: list[str], fallback: str) -> str:
    return account_name(
        cmap.get(cells, "account_name").strip(), cmap.get(cells, "account_number").strip(), fallback
    )


@lru_cache(maxsize=65536)
def account_name(name: str, number: str, fallback: str) -> str:
    if name and number:
        return name if number in name else f"{name} {number}"
    return name or number or fallback or DEFAULT_ACCOUNT


def _strong_footer(text: str) -> bool:
    low = text.lower()
    return (
        "information" in low or "services" in low or "downloaded" in low or "generated" in low
    ) and normalize(text).startswith(_STRONG_FOOTERS)


def sort_rows(records: list[Record], name: str, tail: Tail | None = None) -> Sorted:
    """Sort every row; with `tail` (a big file split by `bulk.split_tail`), the blocks of ordinary
    rows after some records are sorted together in the state the walk has there."""
    found = find_header(records)
    if found is None:
        raise no_header_error(name)
    start, cmap = found
    out = Sorted(header_cells=records[start].stripped)
    out.column_names = {name: records[start].stripped[i] for name, i in cmap.index.items()}
    label = _read_preamble(records[:start], out)
    next_nonblank = _next_nonblank(records)
    blocks = tail.blocks if tail is not None else {}

    mode = "positions"
    indexes, indexed_for = cell_indexes(cmap), cmap
    sorting = _sorting_indexes(cmap)
    seen_data = False
    gap = False

    def visit(i: int, rec: Record) -> None:
        nonlocal mode, cmap, gap, label, seen_data, indexes, indexed_for, sorting
        if rec.error:
            out.error(rec, rec.error)
            return
        if rec.blank:
            gap = gap or seen_data
            return
        header = header_of(rec.stripped)
        if header is not None:
            if header.is_transactions:
                mode = "transactions"
                out.skip(rec, "transaction history header, not a holding")
            else:
                mode, cmap, gap = "positions", header, False
                out.skip(rec, "column header")
            return
        if mode == "transactions":
            out.skip(rec, TRANSACTION_REASON)
            return
        nonempty = rec.nonempty
        first = nonempty[0]
        if _strong_footer(first):
            out.skip(rec, "disclaimer or download note, not a holding")
            return
        if len(nonempty) == 1:
            nxt = next_nonblank[i + 1] if i + 1 < len(records) else -1
            if (
                nxt >= 0
                and header_of(records[nxt].stripped) is not None
                and is_account_heading(first)
            ):
                label = first
                out.skip(rec, f"account heading '{first}'")
                gap = False
                return
            if is_footer(first) or is_prose(first) or is_title(first):
                out.skip(rec, "text row (disclaimer or note), not a holding")
                return
        if gap and not _looks_like_data(cmap, rec.stripped):
            out.skip(rec, "text after the table, not a holding")
            return
        if cmap is not indexed_for:
            indexes, indexed_for = cell_indexes(cmap), cmap
            sorting = _sorting_indexes(cmap)
        _sort_data_row(rec, cmap, indexes, sorting, label, out)
        seen_data = True

    for i in range(start + 1, len(records)):
        visit(i, records[i])
        span = blocks.get(i)
        if span is None:
            continue
        assert tail is not None
        from portfolio.importers.bulk import (
            BulkRows,
            sort_block,
        )  # bulk needs build, which needs us

        if mode == "positions" and not gap and seen_data:
            # Every row of a block reaches `_sort_data_row` here (none is blank, a header, a
            # footer or one cell): the ordinary ones are taken in bulk, the rest walked.
            if out.bulk is None:
                out.bulk = BulkRows()
            walked = sort_block(
                tail, span, cmap, label, out.bulk, account_name, CELL_FIELDS, _COLUMN_OF
            )
        else:
            walked = [tail.record(k) for k in range(*span)]
        for rec in walked:
            visit(i, rec)
    return out


def _next_nonblank(records: list[Record]) -> list[int]:
    nxt = [-1] * (len(records) + 1)
    following = -1
    for i in range(len(records) - 1, -1, -1):
        if not records[i].blank:
            following = i
        nxt[i] = following
    return nxt


def _read_preamble(records: list[Record], out: Sorted) -> str:
    """Lines above the header: Schwab's title, an E*TRADE account summary, an account heading."""
    account = ""
    titled = False
    rows = [r for r in records if not r.blank]
    for k, rec in enumerate(rows):
        if rec.error:
            out.error(rec, rec.error)
            continue
        first = rec.nonempty[0]
        out.preamble.append(first)
        from_title = title_account(first)
        titled = titled or is_title(first)
        if from_title:
            account = from_title
        elif k > 0 and rows[k - 1].nonempty and normalize(rows[k - 1].nonempty[0]) == "account":
            account = account or first  # E*TRADE: `Account,Net Account Value,...` then the values
        elif (
            k == len(rows) - 1
            and (rec is records[-1] or titled)
            and len(rec.nonempty) == 1
            and is_account_heading(first)
        ):
            account = first  # Schwab all-accounts: the first account's heading, right on the header
        out.skip(rec, "above the column header (title or account summary)")
    return account


def is_account_heading(text: str) -> bool:
    """A one-cell line directly above a header names the account, unless it is a title or note."""
    n = normalize(text)
    return not (
        is_title(text)
        or is_footer(text)
        or " as of " in f" {n} "
        or n.startswith(
            (
                "view",
                "summary",
                "positions",
                "holdings",
                "portfolio",
                "export",
                "generated",
                "report",
            )
        )
    )


def _looks_like_data(cmap: ColumnMap, cells: list[str]) -> bool:
    symbol = cmap.get(cells, "symbol") or cmap.get(cells, "cusip")
    if not symbol or " " in symbol.strip() or len(symbol) > 32:
        return False
    for col in ("quantity", "market_value"):
        for decimal_comma in (False, True):  # the file's number style is judged later, in bulk
            try:
                if parse_number(cmap.get(cells, col), decimal_comma=decimal_comma) is not None:
                    return True
            except NumberError:
                continue
    return False


def _first_amount(cells: list[str]) -> str:
    for cell in cells:
        try:
            if parse_number(cell) is not None:
                return cell
        except NumberError:
            continue
    return ""


def _sort_data_row(
    rec: Record,
    cmap: ColumnMap,
    indexes: list[int],
    sorting: tuple[int, ...],
    label: str,
    out: Sorted,
) -> None:
    cells = rec.stripped
    width = len(cells)
    # As `cmap.get` for each of _SORTING_FIELDS, inline: this runs once a row.
    sym_i, cusip_i, desc_i, name_i, number_i = sorting
    symbol = (cells[sym_i] if 0 <= sym_i < width else "") or (
        cells[cusip_i] if 0 <= cusip_i < width else ""
    )
    description = cells[desc_i] if 0 <= desc_i < width else ""
    first = rec.nonempty[0]
    # is_pending and is_summary each need one of these words first; most rows have none.
    low = f"{symbol}\x00{description}\x00{first}".lower()
    if "pending" in low and (is_pending(symbol) or is_pending(description) or is_pending(first)):
        amount = cmap.get(cells, "market_value") or _first_amount(cells[1:])
        shown = f" ({amount})" if amount else ""
        out.skip(rec, f"pending activity{shown}, not a holding")
        return
    if ("total" in low or "net account" in low or "portfolio value" in low) and (
        is_summary(symbol) or is_summary(first)
    ):
        amount = cmap.get(cells, "market_value") or _first_amount(cells[1:])
        if amount:
            out.totals.append((rec.line, amount))
        out.skip(rec, f"summary row '{symbol or first}', not a holding")
        return
    if (width > cmap.width and any(cells[cmap.width :])) or width < cmap.used_width:
        out.error(rec, f"row has {width} fields, header has {cmap.width}")
        return
    cash = False
    if is_cash_word(symbol) or (not symbol and is_cash_word(description)):
        symbol, cash = "CASH", True
    elif symbol.endswith("**"):
        symbol, cash = symbol.rstrip("*").strip(), True
    # Every column the header maps is below used_width <= width (checked above), and a field the
    # file lacks (-1) takes the empty cell appended last.
    values = itemgetter(*indexes)([*cells, ""])
    account = account_name(
        cells[name_i] if 0 <= name_i < width else "",
        cells[number_i] if 0 <= number_i < width else "",
        label,
    )
    out.candidates.append(Candidate(rec, account, symbol, *values, cash=cash))  # type: ignore[arg-type]
