"""Read a custodian's holdings export into `Holdings`.

Every non-blank row after the column header ends up as exactly one of: part of a Position (its
line is in `Position.lines`), a `SkippedRow` (totals, pending activity, disclaimers, transaction
history, other statement sections), or an error `ImportIssue` carrying the 1-based line and the raw
text. Nothing is dropped silently, and cell text is only ever data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from portfolio.gc_pause import gc_paused
from portfolio.importers.account_types import read_account_types
from portfolio.importers.build import build
from portfolio.importers.bulk import bulk_account_types, split_tail
from portfolio.importers.classify import classify
from portfolio.importers.clean_table import clean_frame, read_clean_table
from portfolio.importers.detect import detect_format, is_ibkr
from portfolio.importers.frame import BookFrame
from portfolio.importers.ibkr import sort_ibkr
from portfolio.importers.request import FORMAT, check_agreement, sort_request
from portfolio.importers.special import title_date
from portfolio.importers.table import Sorted, sort_rows
from portfolio.importers.text import (
    SNIFF_HEAD,
    ascii_upload,
    decode,
    line_offset,
    prepare_text,
    sniff_delimiter,
    split_records,
)
from portfolio.models import Holdings, ImportIssue, RiskProfile, UnreadableFileError
from portfolio.numbers import NumberError, decimal_votes, parse_number
from portfolio.securities import SecurityMaster, load_securities

__all__ = [
    "BookFrame",
    "Decimal",
    "UnreadableFileError",
    "is_request",
    "read_holdings",
    "read_holdings_frame",
    "read_request",
]

Decimal = Literal["comma", "point"]

FORMATS = ("schwab", "fidelity", "vanguard", "ibkr", "etrade", "plain")
# Only where the comma is not the field separator can it be a decimal mark; a comma-separated
# file with `205,17` in a cell had to quote it, and US exports mean thousands by it.
DECIMAL_COMMA_DELIMITERS = (";", "\t")
VOTING_COLUMNS = (
    "quantity",
    "price",
    "value",
    "cost_basis",
    "cost_per_share",
    "multiplier",
    "weight",
    "total",
)
_HEADER_OF = {"value": "market_value", "total": "total_value"}


def read_holdings(
    source: bytes | str | Path,
    filename: str = "",
    securities: SecurityMaster | None = None,
    *,
    decimal: Decimal | None = None,
    total: float | None = None,
) -> Holdings:
    """Import one holdings file: bytes (an upload), a Path, or the file's text as a str.

    `decimal` overrides the file's number style when its evidence is ambiguous; `total` values a
    sheet of allocations (it wins over a total the file states).
    """
    text, filename = _text_of(source, filename)
    issues: list[ImportIssue] = []
    securities = _securities(securities, issues)
    with gc_paused():
        return _read(text, filename, securities, issues, decimal, total)


def read_holdings_frame(
    source: bytes | str | Path,
    filename: str = "",
    securities: SecurityMaster | None = None,
    *,
    decimal: Decimal | None = None,
    total: float | None = None,
) -> BookFrame:
    """`read_holdings` with the positions as columns: `.to_holdings()` equals its result.

    A clean sheet is read straight into columns without one object per position (the way to
    import a practice's whole book); any other file is read by the general path and laid out.
    """
    clean: str | bytes
    if isinstance(source, str):
        clean = prepare_text(source, filename)
    else:
        data, filename = _bytes_of(source, filename)
        # An ASCII upload is read as its own bytes, without a decoded copy of the file.
        ascii_data = ascii_upload(data)
        clean = ascii_data if ascii_data is not None else decode(data, filename)
    issues: list[ImportIssue] = []
    securities = _securities(securities, issues)
    with gc_paused():
        if decimal != "comma":
            head = clean[: line_offset(clean, SNIFF_HEAD)]
            head_text = head if isinstance(head, str) else head.decode("ascii")
            book = clean_frame(clean, sniff_delimiter(head_text), filename, securities, issues)
            if book is not None:
                book.as_of = book.as_of or title_date(head_text)
                return book
        text = clean if isinstance(clean, str) else decode(clean, filename)
        return BookFrame.from_holdings(_read(text, filename, securities, issues, decimal, total))


def _text_of(source: bytes | str | Path, filename: str) -> tuple[str, str]:
    if isinstance(source, str):
        return prepare_text(source, filename), filename
    data, filename = _bytes_of(source, filename)
    return decode(data, filename), filename


def _bytes_of(source: bytes | Path, filename: str) -> tuple[bytes, str]:
    if isinstance(source, Path):
        filename = filename or source.name
        try:
            return source.read_bytes(), filename
        except OSError as exc:
            raise UnreadableFileError(f"'{filename}' cannot be opened ({exc.strerror}).") from exc
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), filename
    raise TypeError(f"read_holdings takes bytes, str or Path, not {type(source).__name__}")


def _securities(
    securities: SecurityMaster | None, issues: list[ImportIssue]
) -> SecurityMaster | None:
    if securities is not None:
        return securities
    try:
        return load_securities()
    except (FileNotFoundError, OSError):
        issues.append(
            ImportIssue(
                severity="warning",
                message="Reference data is unavailable; classes come from the file only.",
            )
        )
        return None


def read_request(
    data: bytes | str,
    filename: str = "",
    securities: SecurityMaster | None = None,
    *,
    total: float | None = None,
) -> tuple[Holdings, RiskProfile | None]:
    """Import a JSON rebalancing request; its risk profile comes back for the mandate."""
    text = decode(data, filename) if isinstance(data, bytes) else prepare_text(data, filename)
    rows, request_total, profile = sort_request(text, filename)
    book_total = total if total is not None else request_total
    source = "the total given" if total is not None else "the request's total_value"
    issues = [*_reference_warning(securities), *check_agreement(rows, book_total)]
    if securities is None:
        securities = _load_reference()
    with gc_paused():
        holdings = assemble(rows, FORMAT, filename, securities, issues, False, book_total, source)
    return holdings, profile


def is_request(data: bytes, filename: str) -> bool:
    """A JSON request rather than a sheet: by its name, else by its first character."""
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return filename.lower().endswith(".json") or head.startswith((b"{", b"["))


def _load_reference() -> SecurityMaster | None:
    try:
        return load_securities()
    except (FileNotFoundError, OSError):
        return None


def _reference_warning(securities: SecurityMaster | None) -> list[ImportIssue]:
    if securities is not None or _load_reference() is not None:
        return []
    return [
        ImportIssue(
            severity="warning",
            message="Reference data is unavailable; classes come from the file only.",
        )
    ]


def _read(
    text: str,
    filename: str,
    securities: SecurityMaster | None,
    issues: list[ImportIssue],
    decimal: Decimal | None = None,
    total: float | None = None,
) -> Holdings:
    holdings = _read_body(text, filename, securities, issues, decimal, total)
    stated = title_date(text)
    if stated is not None and holdings.as_of is None:
        # The tax clock defaults to the date the file states (engine._as_of).
        holdings = holdings.model_copy(update={"as_of": stated})
    return holdings


def _read_body(
    text: str,
    filename: str,
    securities: SecurityMaster | None,
    issues: list[ImportIssue],
    decimal: Decimal | None = None,
    total: float | None = None,
) -> Holdings:
    delimiter = sniff_delimiter(text)
    if decimal != "comma":
        clean = read_clean_table(text, delimiter, filename, securities, issues)
        if clean is not None:
            return clean
    tail = split_tail(text, delimiter) if decimal != "comma" else None
    records = tail.records if tail is not None else split_records(text, delimiter)
    if tail.ibkr if tail is not None else is_ibkr(records):
        rows = sort_ibkr(records, tail)
        if tail is not None:
            tail.let_go()
        fmt = "ibkr"
        if not rows.candidates and not rows.header_cells:
            raise UnreadableFileError(
                f"'{filename or 'The file'}' is an Interactive Brokers statement without an "
                "Open Positions section."
            )
    else:
        rows = sort_rows(records, filename, tail)
        if tail is not None:
            tail.let_go()
        fmt = detect_format(
            rows.header_cells, rows.preamble, records if tail is None else tail, filename
        )

    decimal_comma = _decimal_comma(rows, delimiter, decimal, filename)
    if decimal_comma:
        issues.append(
            ImportIssue(
                severity="info",
                message="Numbers use decimal commas (1.234,56 is read as 1234.56).",
            )
        )
    return assemble(rows, fmt, filename, securities, issues, decimal_comma, total)


def assemble(
    rows: Sorted,
    fmt: str,
    filename: str,
    securities: SecurityMaster | None,
    issues: list[ImportIssue],
    decimal_comma: bool = False,
    total: float | None = None,
    total_source: str = "the total given",
) -> Holdings:
    """Sorted rows to Holdings: numbers, reconciliation, classes, and the report in line order."""
    book_total, total_source = _book_total(rows, decimal_comma, total, total_source)
    try:
        built = build(
            rows.candidates, securities, decimal_comma, book_total, total_source, rows.bulk
        )
    except UnreadableFileError as exc:
        raise UnreadableFileError(f"{_label(filename)} {exc}") from None
    issues.extend(rows.issues)
    issues.extend(built.issues)
    types, type_issues = read_account_types(
        [
            *rows.account_type_rows,
            # A row without an account type says nothing here (and its raw text is not built).
            *_by_line(
                [
                    (c.line, c.account, c.account_type, c.raw)
                    for c in rows.candidates
                    if c.account_type
                ],
                bulk_account_types(rows.bulk),
            ),
        ]
    )
    issues.extend(type_issues)
    issues.extend(classify(built.positions, built.class_hints, securities))
    if not built.positions:
        issues.append(
            ImportIssue(severity="warning", message="No holdings were found in the file.")
        )
    issues.sort(key=lambda i: (i.line is None, i.line or 0))
    skipped = sorted([*rows.skipped, *built.skipped], key=lambda s: s.line)
    return Holdings(
        source=filename,
        format=fmt,
        positions=built.positions,
        skipped=skipped,
        issues=issues,
        account_types=types,
    )


def _by_line(
    *cells: list[tuple[int, str, str, str]],
) -> list[tuple[int, str, str, str]]:
    merged = [c for part in cells for c in part]
    return merged if len(cells) < 2 or not cells[1] else sorted(merged, key=lambda c: c[0])


def _label(filename: str) -> str:
    return f"'{filename}'" if filename else "The file"


def _book_total(
    rows: Sorted, decimal_comma: bool, given: float | None, given_source: str
) -> tuple[float | None, str]:
    """The total a sheet of allocations is valued at: given, else a total column, else a row."""
    if given is not None:
        return given, given_source
    for c in rows.candidates:
        if c.total:
            value = _amount(c.total, decimal_comma)
            if value is not None:
                return value, f"total_value on line {c.line}"
    for line, text in reversed(rows.totals):
        value = _amount(text, decimal_comma)
        if value is not None:
            return value, f"the total on line {line}"
    return None, ""


def _amount(text: str, decimal_comma: bool) -> float | None:
    try:
        return parse_number(text, decimal_comma=decimal_comma)
    except NumberError:
        return None


def _decimal_comma(rows: Sorted, delimiter: str, decimal: Decimal | None, filename: str) -> bool:
    """Decide the file's decimal mark from its own evidence; refuse to guess when it has none.

    `30.000,00` can only be a decimal comma and `2,051.70` only a decimal point; `1.000` reads
    either way (a thousand, or one), so a file whose only evidence is such cells is refused with
    the column named, and `decimal` ("comma" or "point") settles it.
    """
    if decimal is not None:
        return decimal == "comma"
    if delimiter not in DECIMAL_COMMA_DELIMITERS or not rows.candidates:
        return False
    comma = point = 0
    example: tuple[str, str] | None = None
    for col in VOTING_COLUMNS:
        cells = [text for c in rows.candidates if (text := getattr(c, col))]
        if not cells:
            continue
        c_votes, p_votes, first = decimal_votes(cells)
        comma, point = comma + c_votes, point + p_votes
        if first is not None and example is None:
            example = (col, first)
    if comma != point:
        return comma > point
    if example is None and comma == 0:
        return False
    choice = "pass --decimal comma or --decimal point"
    if example is None:
        raise UnreadableFileError(
            f"{_label(filename)} writes as many numbers with a decimal comma as with a decimal "
            f"point, so which one it uses cannot be decided; {choice}."
        )
    col, cell = example
    name = rows.column_names.get(_HEADER_OF.get(col, col), col.replace("_", " "))
    as_comma = parse_number(cell, decimal_comma=True)
    as_point = parse_number(cell)
    raise UnreadableFileError(
        f"{_label(filename)}: column '{name}' has '{cell}', which is {as_comma:g} with a decimal "
        f"comma or {as_point:g} with a decimal point, and nothing in the file decides which; "
        f"{choice}."
    )
