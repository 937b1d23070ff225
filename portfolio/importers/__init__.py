"""Read a custodian's holdings export into `Holdings`.

Every non-blank row after the column header ends up as exactly one of: part of a Position (its
line is in `Position.lines`), a `SkippedRow` (totals, pending activity, disclaimers, transaction
history, other statement sections), or an error `ImportIssue` carrying the 1-based line and the raw
text. Nothing is dropped silently, and cell text is only ever data.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from portfolio.importers.build import build, numeric_cells
from portfolio.importers.classify import classify
from portfolio.importers.detect import detect_format, is_ibkr
from portfolio.importers.ibkr import sort_ibkr
from portfolio.importers.table import sort_rows
from portfolio.importers.text import decode, prepare_text, sniff_delimiter, split_records
from portfolio.models import Holdings, ImportIssue, UnreadableFileError
from portfolio.numbers import uses_decimal_comma
from portfolio.securities import SecurityMaster, load_securities

__all__ = ["UnreadableFileError", "read_holdings"]

FORMATS = ("schwab", "fidelity", "vanguard", "ibkr", "etrade", "plain")
# Only where the comma is not the field separator can it be a decimal mark; a comma-separated
# file with `205,17` in a cell had to quote it, and US exports mean thousands by it.
DECIMAL_COMMA_DELIMITERS = (";", "\t")


def read_holdings(
    source: bytes | str | Path,
    filename: str = "",
    securities: SecurityMaster | None = None,
) -> Holdings:
    """Import one holdings file: bytes (an upload), a Path, or the file's text as a str."""
    if isinstance(source, Path):
        filename = filename or source.name
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise UnreadableFileError(f"'{filename}' cannot be opened ({exc.strerror}).") from exc
        text = decode(data, filename)
    elif isinstance(source, bytes | bytearray | memoryview):
        text = decode(bytes(source), filename)
    elif isinstance(source, str):
        text = prepare_text(source, filename)
    else:
        raise TypeError(f"read_holdings takes bytes, str or Path, not {type(source).__name__}")

    issues: list[ImportIssue] = []
    if securities is None:
        try:
            securities = load_securities()
        except (FileNotFoundError, OSError):
            issues.append(
                ImportIssue(
                    severity="warning",
                    message="Reference data is unavailable; classes come from the file only.",
                )
            )

    with _gc_paused():
        return _read(text, filename, securities, issues)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A big file allocates ~10 objects per row, all kept; cyclic GC passes over them are waste."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read(
    text: str, filename: str, securities: SecurityMaster | None, issues: list[ImportIssue]
) -> Holdings:
    delimiter = sniff_delimiter(text)
    records = split_records(text, delimiter)
    if is_ibkr(records):
        rows = sort_ibkr(records)
        fmt = "ibkr"
        if not rows.candidates and not rows.header_cells:
            raise UnreadableFileError(
                f"'{filename or 'The file'}' is an Interactive Brokers statement without an "
                "Open Positions section."
            )
    else:
        rows = sort_rows(records, filename)
        fmt = detect_format(rows.header_cells, rows.preamble, records, filename)

    decimal_comma = delimiter in DECIMAL_COMMA_DELIMITERS and uses_decimal_comma(
        numeric_cells(rows.candidates)
    )
    if decimal_comma:
        issues.append(
            ImportIssue(
                severity="info",
                message="Numbers use decimal commas (1.234,56 is read as 1234.56).",
            )
        )
    built = build(rows.candidates, securities, decimal_comma)
    issues.extend(rows.issues)
    issues.extend(built.issues)
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
    )
