"""Bytes to text to CSV records, keeping the physical line numbers an advisor sees in an editor."""

from __future__ import annotations

import csv
import io
import unicodedata

from portfolio.models import UnreadableFileError

_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_LINES = 60
# `sniff_delimiter` (and `special.title_date`) read no further than this many lines.
SNIFF_HEAD = _SNIFF_LINES * 2


class Record:
    """One CSV record: `line`..`end` are 1-based physical lines (a quoted newline spans several).

    The raw text is rebuilt from the file's lines only when a row is reported, which keeps a
    50k-row import from copying every line twice.
    """

    __slots__ = ("_lines", "_nonempty", "blank", "cells", "end", "error", "line", "stripped")

    def __init__(
        self, line: int, end: int, cells: list[str], lines: list[str], error: str | None = None
    ) -> None:
        self.line = line
        self.end = end
        self.cells = cells
        self.stripped = list(map(str.strip, cells))
        self.error = error
        self._lines = lines
        self._nonempty: list[str] | None = None
        # Asked of every row, more than once: worked out once (cells never change).
        self.blank = error is None and not any(self.stripped)

    @property
    def raw(self) -> str:
        return "".join(self._lines[self.line - 1 : self.end]).rstrip("\r\n")

    @property
    def nonempty(self) -> list[str]:
        """The non-empty stripped cells (computed once; treat as read-only)."""
        if self._nonempty is None:
            self._nonempty = [c for c in self.stripped if c]
        return self._nonempty


def decode(data: bytes, name: str) -> str:
    """Decode an upload; refuse anything that is not text rather than guess at it."""
    label = f"'{name}'" if name else "The file"
    if not data or data.isspace():  # as `not data.strip()`, without a copy of the file
        raise UnreadableFileError(f"{label} is empty.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _check_text(data.decode("utf-16"), label)
        except UnicodeDecodeError as exc:
            raise UnreadableFileError(f"{label} is not a CSV text file.") from exc
    if data.startswith(b"PK\x03\x04"):
        raise UnreadableFileError(
            f"{label} is not a CSV text file (it looks like an Excel workbook; save it as CSV)."
        )
    if data.startswith(b"%PDF"):
        raise UnreadableFileError(f"{label} is not a CSV text file (it is a PDF).")
    if b"\x00" in data:
        raise UnreadableFileError(f"{label} is not a CSV text file (it contains binary data).")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _check_text(text, label)
    raise UnreadableFileError(f"{label} is not a CSV text file.")  # pragma: no cover


# The ASCII characters `str.strip` takes for white space (more than `bytes.strip` does).
_ASCII_WHITE = bytes(c for c in range(128) if chr(c).isspace())


def ascii_upload(data: bytes) -> bytes | None:
    """The upload itself when it is ASCII that `decode` takes as it is (its text is these very
    bytes, a character a byte, so they can be read in place of a decoded copy); None for any
    other upload, which `decode` reads or refuses."""
    if not data.isascii() or not data[:4096].strip(_ASCII_WHITE) or b"\x00" in data:
        return None  # not ASCII, or blank as far as this looks (`decode` says if it is all so)
    if data.startswith((b"PK\x03\x04", b"%PDF")):
        return None
    sample = data[:20000].decode("ascii")
    return None if _odd(sample) > max(2, len(sample) // 50) else data


def prepare_text(text: str, name: str) -> str:
    label = f"'{name}'" if name else "The file"
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise UnreadableFileError(f"{label} is empty.")
    if "\x00" in text:
        raise UnreadableFileError(f"{label} is not a CSV text file (it contains binary data).")
    return _check_text(text, label)


# The ASCII characters `_odd` counts: the controls (category Cc) but for line breaks and tabs.
_ASCII_ODD = tuple(
    ch for ch in map(chr, range(128)) if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t"
)


def _odd(sample: str) -> int:
    """How many characters of `sample` are controls, surrogates, private or unassigned (other
    than line breaks and tabs)."""
    if sample.isascii():  # only controls can be odd: counted a character at a time, in C
        return sum(map(sample.count, _ASCII_ODD))
    return sum(
        1
        for ch in sample
        if ch not in "\r\n\t" and (unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"))
    )


def _check_text(text: str, label: str) -> str:
    text = text.removeprefix("\ufeff")
    if not text or text.isspace():  # as `not text.strip()`, without a copy of the file
        raise UnreadableFileError(f"{label} is empty.")
    sample = text[:20000]
    odd = _odd(sample)
    if odd > max(2, len(sample) // 50) or "\ufffd" * 4 in sample:
        raise UnreadableFileError(f"{label} is not a CSV text file (it contains binary data).")
    return text


def line_offset(text: str | bytes, n: int) -> int:
    """Where the text after the first `n` line feeds starts (its length when it has fewer)."""
    feed = "\n" if isinstance(text, str) else b"\n"
    at = 0
    for _ in range(n):
        at = text.find(feed, at) + 1
        if at == 0:
            return len(text)
    return at


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter that splits the opening lines into the most fields (comma on a tie)."""
    # Each "\n" ends one line for splitlines, so a prefix holding that many has them all whole.
    head = text[: line_offset(text, SNIFF_HEAD)]
    lines = [ln for ln in head.splitlines()[:SNIFF_HEAD] if ln.strip()][:_SNIFF_LINES]
    sample = "\n".join(lines)
    best, best_score = ",", -1
    for delim in _DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delim))
        except csv.Error:
            continue
        multi = [len(r) for r in rows if len(r) > 1]
        score = sum(multi)
        if score > best_score:
            best, best_score = delim, score
    return best


def split_records(text: str, delimiter: str) -> list[Record]:
    """Parse CSV records, tracking which physical lines each came from and its raw text."""
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[Record] = []
    prev = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            end = max(reader.line_num, prev + 1)
            records.append(Record(prev + 1, end, [], lines, f"row cannot be read as CSV: {exc}"))
            prev = end
            continue
        end = reader.line_num
        records.append(Record(prev + 1, end, row, lines))
        prev = end
    return records
