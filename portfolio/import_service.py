"""One import for the command line and the Client page: a file's bytes in, a usable book out.

The importers account for every row; this layer decides whether the book can be used at all.
A book with nothing in it, or whose total is not positive, is refused with one sentence. A book
with rows that could not be read is usable only when the caller accepts it as partial: the unread
rows (and their market value, where the file states one) travel with the proposal.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from portfolio.importers import (
    Decimal,
    is_request,
    read_holdings,
    read_holdings_frame,
    read_request,
)
from portfolio.importers.frame import BookFrame
from portfolio.labels import money
from portfolio.models import Holdings, ImportIssue, RiskProfile, UnreadableFileError, UnreadRow
from portfolio.securities import SecurityMaster

# Lines named in a one-line message; the rest are counted.
LINES_SHOWN = 10


class _Imported(BaseModel):
    """A book's report and what is unread, whichever shape the book has."""

    issues: list[ImportIssue] = Field(description="Errors, warnings and skipped rows, by line")
    unread: list[UnreadRow] = Field(default_factory=list)
    risk_profile: RiskProfile | None = Field(
        default=None, description="A JSON request's risk_profile, for the mandate to start from"
    )

    @property
    def partial(self) -> bool:
        return bool(self.unread)

    @property
    def unread_value(self) -> float:
        """The market value the unread rows state (rows without a readable value add nothing)."""
        return float(sum(r.value for r in self.unread if r.value is not None))

    def unread_summary(self) -> str:
        """`2 rows could not be read (lines 3, 4)`."""
        return unread_summary(self.unread)


class ImportedBook(_Imported):
    """What the page lays out and the command line prints: the book, its report, what is unread."""

    holdings: Holdings


class ImportedFrame(_Imported):
    """A practice's whole export with its positions as columns (`BookFrame`), for the book
    summary and plan: no object per position."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    frame: BookFrame


def unread_summary(unread: list[UnreadRow]) -> str:
    n = len(unread)
    shown = ", ".join(str(r.line) for r in unread[:LINES_SHOWN])
    more = f" and {n - LINES_SHOWN} more" if n > LINES_SHOWN else ""
    noun, verb = ("row", "line") if n == 1 else ("rows", "lines")
    return f"{n} {noun} could not be read ({verb} {shown}{more})"


def report(holdings: Holdings | BookFrame) -> list[ImportIssue]:
    """Errors and warnings, then each skipped row as an info line, in file order."""
    skipped = [
        ImportIssue(line=s.line, severity="info", message=f"skipped: {s.reason}", raw=s.raw)
        for s in holdings.skipped
    ]
    return sorted([*holdings.issues, *skipped], key=lambda i: i.line or 0)


def unread_rows(holdings: Holdings | BookFrame) -> list[UnreadRow]:
    """One entry per line with an error: its first reason and the value it states, if any."""
    by_line: dict[int, UnreadRow] = {}
    for issue in holdings.issues:
        if issue.severity != "error" or issue.line is None or issue.line in by_line:
            continue
        by_line[issue.line] = UnreadRow(
            line=issue.line, reason=issue.message, raw=issue.raw or "", value=issue.value
        )
    return [by_line[k] for k in sorted(by_line)]


def import_book(
    data: bytes,
    filename: str,
    securities: SecurityMaster | None = None,
    *,
    decimal: Decimal | None = None,
    total: float | None = None,
) -> ImportedBook:
    """Read a sheet or a JSON request; UnreadableFileError (one sentence) when nothing is usable."""
    profile: RiskProfile | None = None
    if is_request(data, filename):
        holdings, profile = read_request(data, filename, securities, total=total)
    else:
        holdings = read_holdings(
            data, filename=filename, securities=securities, decimal=decimal, total=total
        )
    book = ImportedBook(
        holdings=holdings,
        issues=report(holdings),
        unread=unread_rows(holdings),
        risk_profile=profile,
    )
    refuse_unusable(book, filename)
    return book


def import_frame(
    data: bytes,
    filename: str,
    securities: SecurityMaster | None = None,
    *,
    decimal: Decimal | None = None,
    total: float | None = None,
) -> ImportedFrame:
    """`import_book` with the positions as columns: the same rows, report and refusals."""
    profile: RiskProfile | None = None
    if is_request(data, filename):  # one client's request: a handful of objects
        holdings, profile = read_request(data, filename, securities, total=total)
        frame = BookFrame.from_holdings(holdings)
    else:
        frame = read_holdings_frame(
            data, filename=filename, securities=securities, decimal=decimal, total=total
        )
    book = ImportedFrame(
        frame=frame, issues=report(frame), unread=unread_rows(frame), risk_profile=profile
    )
    _refuse(len(frame), frame.total_value, book, filename)
    return book


def refuse_unusable(book: ImportedBook, filename: str) -> None:
    """Nothing to rebalance: no position, or a total at or below zero."""
    _refuse(len(book.holdings.positions), book.holdings.total_value, book, filename)


def _refuse(count: int, total: float, book: _Imported, filename: str) -> None:
    label = f"'{filename}'" if filename else "The file"
    if not count:
        why = f"; {book.unread_summary()}" if book.unread else ""
        raise UnreadableFileError(f"{label} has no holdings that could be read{why}.")
    if total <= 0:
        raise UnreadableFileError(
            f"{label} adds up to {money(total)}; a book must be worth more than "
            "nothing to be rebalanced."
        )
