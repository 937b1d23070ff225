"""A custodian export of many accounts, split into households.

Two ways to say which accounts are one client's: a household column in the export itself
(`Household`, `Household ID`, `Client`, ...), or a mapping file with one row per account
(`account,client[,type][,profile][,advisor]`). An account is matched by its name as read, or by
any word of it (an account number alone). An account no rule places is an error that names it:
a book is never planned with a client's account missing or in someone else's household.

`split_households` splits `Holdings` into household objects; `household_columns` groups a book
read into columns (`read_holdings_frame`) straight into `BookColumns` by the same rules, so a
practice's whole export reaches the batch planner without an object per position.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from itertools import chain

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from portfolio.accounts import parse_account_type
from portfolio.book_columns import NO_DATE, BookColumns, LotColumns
from portfolio.importers.frame import BookFrame
from portfolio.importers.text import decode, sniff_delimiter, split_records
from portfolio.models import ClientMandate, Holdings, RiskProfile, UnreadableFileError
from portfolio.practice import HouseholdBook

HOUSEHOLD_HEADERS = (
    "household",
    "household id",
    "household name",
    "client",
    "client id",
    "client name",
)

NO_HOUSEHOLD_COLUMN = (
    "the file has no household column (Household or Client); give a mapping file "
    "with --households (account,client[,type])"
)


def _two_households(account: str) -> str:
    return (
        f"account {account} is named in two households; if they are two accounts of the same "
        "name, give them distinct names or numbers in the export, or place them with a mapping "
        "file (--households)"
    )


def _unplaced(accounts: list[str]) -> str:
    shown = ", ".join(sorted(set(accounts))[:10])
    return f"no household for account(s) {shown}; add them to the mapping"


def _text(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _file_text(data: bytes) -> str:
    """The export's text as the importers decode it (UTF-16 included), else as a mapping is."""
    try:
        return decode(data, "")
    except UnreadableFileError:
        return _text(data)


def household_column(data: bytes) -> dict[int, str]:
    """File line (1-based) -> the household its row names; empty when there is no such column.

    Rows are read by the importers' own reader (`split_records`), so a row's line is the one it
    starts on, as the positions' lines are: a quoted cell that spans lines does not put the
    households out of step. A row that cannot be read names no household."""
    text = _file_text(data)
    col: int | None = None
    out: dict[int, str] = {}
    for rec in split_records(text, sniff_delimiter(text)):
        if rec.error:
            continue
        cells = rec.stripped
        if col is None:
            low = [c.lower() for c in cells]
            hit = [i for i, c in enumerate(low) if c in HOUSEHOLD_HEADERS]
            col = hit[0] if hit else None
            continue
        if col < len(cells) and cells[col]:
            out[rec.line] = cells[col]
    return out


_NO_LINES = np.full(1, -1, dtype=np.int64)
# Bytes that could make a row's lines differ from the file's line-feed lines (a carriage return
# is allowed only before a line feed), a quote, and NUL: a file with none of them is split by
# NumPy below.
_NOT_PLAIN = (b'"', b"\x00", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_FIELD_LIMIT = 131_072  # `csv.field_size_limit()`'s default: a longer line may fail the reader
_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 1 << 16  # the delimiter is judged on the opening lines, as the importers judge it


def household_codes(data: bytes) -> tuple[np.ndarray, list[str]]:
    """`household_column` as arrays: per file line (1-based index) the number of its household
    in the names returned, -1 for none. A plain ASCII file (no quotes, line feeds or CRLF
    only, the whole export of a practice) is cut into lines and fields by NumPy; any other file
    is read by `household_column` itself."""
    head = data[:_SNIFF_BYTES].decode("latin-1")
    plain = _plain_codes(data) if sniff_delimiter(head) == "," else None
    if plain is not None:
        return plain
    by_line = household_column(data)
    if not by_line:
        return _NO_LINES, []
    lines = np.fromiter(by_line, dtype=np.int64, count=len(by_line))
    codes, names = pd.factorize(np.array(list(by_line.values()), dtype=object), sort=False)
    of_line = np.full(int(lines.max()) + 1, -1, dtype=np.int64)
    of_line[lines] = codes
    return of_line, [str(x) for x in names]


def _plain_codes(data: bytes) -> tuple[np.ndarray, list[str]] | None:
    """`household_codes` of a plain ASCII file, where `household_column`'s lines are the file's
    line-feed lines (a CRLF's CR dropped) and its cells the text between commas; else None."""
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    if not body.isascii() or any(b in body for b in _NOT_PLAIN):
        return None
    if body.count(b"\r") != body.count(b"\r\n"):
        return None
    raw = np.frombuffer(body, dtype=np.uint8)
    feeds = np.flatnonzero(raw == 10)
    ends = feeds if len(raw) == 0 or raw[-1] == 10 else np.append(feeds, len(raw))
    starts = np.r_[0, feeds + 1][: len(ends)]
    ends = ends - ((ends > starts) & (raw[np.maximum(ends - 1, 0)] == 13))  # a CRLF's CR
    if len(ends) and int((ends - starts).max()) >= _FIELD_LIMIT:
        return None
    found = _header_line(body, starts, ends)
    if found is None:
        return _NO_LINES, []
    header, col = found
    starts, ends = starts[header + 1 :], ends[header + 1 :]
    commas = np.flatnonzero(raw == 44)
    first = np.searchsorted(commas, starts)
    fields = np.searchsorted(commas, ends) - first + 1
    at = np.flatnonzero(fields > col)  # lines with a cell `col` (a blank line's is "")
    a = starts[at] if col == 0 else commas[first[at] + col - 1] + 1
    b = ends[at]
    inner = fields[at] > col + 1  # a comma ends the cell, else the line does
    b[inner] = commas[first[at][inner] + col]
    width = b - a
    offsets = np.zeros(len(at) + 1, dtype=np.int64)
    np.cumsum(width, out=offsets[1:])
    # The cells' bytes side by side (indexes of 4 bytes where the file allows: half the traffic).
    index = np.int32 if len(raw) < 2**31 else np.int64
    gather = np.repeat((a - offsets[:-1]).astype(index), width)
    gather += np.arange(int(offsets[-1]), dtype=index)
    cells = pa.LargeStringArray.from_buffers(
        len(at), pa.py_buffer(offsets), pa.py_buffer(raw[gather].tobytes())
    )
    encoded = pc.dictionary_encode(cells)
    # Stripped as `household_column` strips, once per distinct text.
    texts = [t.strip() for t in encoded.dictionary.to_pylist()]
    text_codes, names = pd.factorize(np.array(texts, dtype=object), sort=False)
    names = list(names)
    blank = names.index("") if "" in names else -1
    codes = text_codes[encoded.indices.to_numpy(zero_copy_only=False)]
    if blank >= 0:  # an empty cell names no household: renumber the rest from 0
        keep = codes != blank
        at, codes = at[keep], codes[keep]
        codes = codes - (codes > blank)
        del names[blank]
    of_line = np.full(header + len(starts) + 2, -1, dtype=np.int64)
    of_line[at + header + 2] = codes  # body line k (from 0) is file line header + 2 + k
    return of_line, [str(x) for x in names]


def _header_line(body: bytes, starts: np.ndarray, ends: np.ndarray) -> tuple[int, int] | None:
    """The first line (from 0) with a household header cell, and that cell's column, as
    `household_column` finds them; only lines holding a header's word are read."""
    low = body.lower()
    at = 0
    while True:
        hits = [i for i in (low.find(b"household", at), low.find(b"client", at)) if i >= 0]
        if not hits:
            return None
        k = int(np.searchsorted(starts, min(hits), side="right")) - 1
        line = body[starts[k] : ends[k]].decode("ascii")
        for row in csv.reader([line]):
            low_cells = [c.strip().lower() for c in row]
            hit = [i for i, c in enumerate(low_cells) if c in HOUSEHOLD_HEADERS]
            if hit:
                return k, hit[0]
        at = int(ends[k]) + 1


class AccountMap(dict[str, dict[str, str]]):
    """account -> {client, type, profile, advisor} read from a mapping file."""


def read_mapping(data: bytes) -> AccountMap:
    df = pd.read_csv(io.StringIO(_text(data)), dtype=str, keep_default_na=False)
    df.columns = [c.strip().lower() for c in df.columns]
    client_col = next((c for c in ("client", "household") if c in df.columns), None)
    if "account" not in df.columns or client_col is None:
        raise ValueError("the mapping file needs the columns account and client")
    out = AccountMap()
    for i, r in enumerate(df.to_dict("records"), start=2):
        account, client = r["account"].strip(), r[client_col].strip()
        if not account or not client:
            raise ValueError(f"mapping file line {i}: an account and a client are both needed")
        if account in out and out[account]["client"] != client:
            raise ValueError(f"mapping file line {i}: account {account} is in two households")
        entry = {"client": client}
        for key in ("type", "profile", "advisor"):
            if r.get(key, "").strip():
                entry[key] = r[key].strip()
        if "type" in entry:
            entry["type"] = parse_account_type(entry["type"])
        if "profile" in entry:
            try:
                entry["profile"] = RiskProfile(entry["profile"].lower().replace(" ", "_")).value
            except ValueError as exc:
                raise ValueError(
                    f"mapping file line {i}: unknown profile '{entry['profile']}'"
                ) from exc
        out[account] = entry
    return out


def _match(account: str, mapping: Mapping[str, dict[str, str]]) -> dict[str, str] | None:
    if account in mapping:
        return mapping[account]
    words = set(re.split(r"\s+", account.strip()))
    hits = [v for k, v in mapping.items() if k in words]
    return hits[0] if len(hits) == 1 else None


def split_households(
    holdings: Holdings,
    *,
    data: bytes | None = None,
    mapping: Mapping[str, dict[str, str]] | None = None,
    mandate: ClientMandate | None = None,
) -> list[HouseholdBook]:
    """Households in the order the file first names them."""
    mandate = mandate or ClientMandate()
    by_line = household_column(data) if data is not None and mapping is None else {}
    if mapping is None and not by_line:
        raise ValueError(NO_HOUSEHOLD_COLUMN)
    place: dict[str, dict[str, str]] = {}
    missing: list[str] = []
    if mapping is not None:
        accounts = list(dict.fromkeys(p.account for p in holdings.positions))
        entries, missing = _mapped(accounts, mapping)
        place = {a: e for a, e in zip(accounts, entries, strict=True) if e}
    else:
        # Every row of an account says where it belongs: rows that disagree are an error, and
        # an account is placed by any of its rows the column names.
        named: dict[str, set[str]] = {}
        for p in holdings.positions:
            named.setdefault(p.account, set()).update(by_line[n] for n in p.lines if n in by_line)
        for account, names in named.items():
            if len(names) > 1:
                raise ValueError(_two_households(account))
            if names:
                place[account] = {"client": names.pop()}
            else:
                missing.append(account)
    if missing:
        raise ValueError(_unplaced(missing))
    order: dict[str, list] = {}
    for p in holdings.positions:
        order.setdefault(place[p.account]["client"], []).append(p)
    out = []
    for client, positions in order.items():
        accounts = {p.account for p in positions}
        entries = [place[a] for a in sorted(accounts)]
        profile = next((e["profile"] for e in entries if "profile" in e), None)
        advisor = next((e["advisor"] for e in entries if "advisor" in e), None)
        out.append(
            HouseholdBook(
                id=client,
                name=client,
                holdings=holdings.model_copy(
                    update={
                        "positions": positions,
                        "account_types": {
                            a: t for a, t in holdings.account_types.items() if a in accounts
                        },
                        "skipped": [],
                        "issues": [],
                    }
                ),
                mandate=mandate.model_copy(update={"risk_profile": profile})
                if profile
                else mandate,
                account_types={a: place[a]["type"] for a in accounts if "type" in place[a]},
                advisor=advisor,
            )
        )
    return out


def household_columns(
    book: BookFrame,
    *,
    data: bytes | None = None,
    mapping: Mapping[str, dict[str, str]] | None = None,
    mandate: ClientMandate | None = None,
) -> BookColumns:
    """`book_columns(split_households(...))` for a book read into columns, without an object per
    position: a practice's whole export goes to the batch planner (or to Dask) as columns.

    The rules and errors are `split_households`' own: households in the order the file first
    names them, positions in file order within each, an account placed by the mapping or by the
    one household its rows name."""
    mandate = mandate or ClientMandate()
    of_line, names = (
        household_codes(data) if data is not None and mapping is None else (_NO_LINES, [])
    )
    if mapping is None and not (of_line >= 0).any():
        raise ValueError(NO_HOUSEHOLD_COLUMN)
    acc, accounts = _account_codes(book.positions["account"])
    if mapping is not None:
        entries, missing = _mapped(accounts, mapping)
    else:
        entries, missing = _named(book, acc, accounts, of_line, names)
    if missing:
        raise ValueError(_unplaced(missing))
    # Accounts are numbered in first-seen order, and a household's first position is the first
    # of one of its accounts: numbering clients over the accounts numbers them as the file does.
    codes, uniques = pd.factorize(np.array([e["client"] for e in entries], dtype=object))
    hh_of_acc = codes.astype(np.int64)
    ids: list[str] = list(uniques)
    hh = hh_of_acc[acc]
    order = np.argsort(hh, kind="stable")  # households in turn, file order within each
    frame = book.book_frame()
    if len(order):
        frame = frame.take(order).reset_index(drop=True)
    frame["pos"] = np.arange(len(order), dtype=np.int64)
    frame["hh"] = hh[order]

    n_hh = len(ids)
    members: list[list[int]] = [[] for _ in range(n_hh)]
    for k, h in enumerate(hh_of_acc.tolist()):
        members[h].append(k)
    hh_of_name = dict(zip(accounts, hh_of_acc.tolist(), strict=True))
    custodian_types: list[dict[str, str]] = [{} for _ in range(n_hh)]
    for a, t in book.account_types.items():
        h = hh_of_name.get(a)
        if h is not None:
            custodian_types[h][a] = t
    overrides: list[dict[str, str]] = []
    advisors: list[str | None] = []
    keys: dict[str, int] = {}
    json_of: dict[str | None, str] = {}
    mandate_of = np.zeros(n_hh, dtype=np.int64)
    for h, ks in enumerate(members):
        placed = [entries[k] for k in sorted(ks, key=accounts.__getitem__)]
        profile = next((e["profile"] for e in placed if "profile" in e), None)
        advisors.append(next((e["advisor"] for e in placed if "advisor" in e), None))
        overrides.append({accounts[k]: entries[k]["type"] for k in ks if "type" in entries[k]})
        text = json_of.get(profile)
        if text is None:
            m = mandate.model_copy(update={"risk_profile": profile}) if profile else mandate
            text = json_of[profile] = m.model_dump_json()
        mandate_of[h] = keys.setdefault(text, len(keys))
    return BookColumns(
        ids=ids,
        mandate_of=mandate_of,
        mandates=list(keys),
        custodian_types=custodian_types,
        overrides=overrides,
        positions=frame,
        lots=_lot_columns(book, order),
        names=list(ids),
        advisors=advisors,
    )


def _account_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each position's account as a number, accounts numbered in first-seen order."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, firsts = pd.factorize(column.cat.codes.to_numpy(), sort=False)
        names = column.cat.categories.take(firsts).tolist()
    else:
        codes, uniques = pd.factorize(column.to_numpy(dtype=object), sort=False)
        names = list(uniques)
    return codes.astype(np.int64), [str(a) for a in names]


def _mapped(
    accounts: list[str], mapping: Mapping[str, dict[str, str]]
) -> tuple[list[dict[str, str]], list[str]]:
    """Each account's mapping entry (once per account), and the accounts the mapping misses."""
    entries: list[dict[str, str]] = []
    missing: list[str] = []
    match = _match_words if isinstance(mapping, dict) else _match
    for a in accounts:
        hit = match(a, mapping)
        if hit is None:
            missing.append(a)
        entries.append(hit if hit is not None else {})
    return entries, missing


def _match_words(account: str, mapping: Mapping[str, dict[str, str]]) -> dict[str, str] | None:
    """`_match` for a dict, by looking its words up: a mapping by account number need not be
    read through once per account."""
    if account in mapping:
        return mapping[account]
    words = set(re.split(r"\s+", account.strip()))
    hits = [mapping[w] for w in words if w in mapping]
    return hits[0] if len(hits) == 1 else None


def _position_lines(book: BookFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every (position, file line) pair of the book, as `to_holdings` gives positions their
    lines: a clean sheet's runs of rows, else the extra lines noted, else the first line."""
    n = len(book.positions)
    own = np.ones(n, dtype=bool)  # positions whose one line is the `line` column
    pos_parts: list[np.ndarray] = []
    line_parts: list[np.ndarray] = []
    rows = book.row_lots
    if rows is not None and len(rows.heads):
        heads = rows.heads.astype(np.int64)
        own[heads] = False
        pos_parts.append(np.repeat(heads, np.diff(rows.starts)))
        line_parts.append(rows.line.astype(np.int64))
    if book.lines:
        noted = [i for i in book.lines if own[i]]
        own[np.array(list(book.lines), dtype=np.int64)] = False
        counts = [len(book.lines[i]) for i in noted]
        pos_parts.append(np.repeat(np.array(noted, dtype=np.int64), counts))
        line_parts.append(
            np.fromiter(chain.from_iterable(book.lines[i] for i in noted), dtype=np.int64)
        )
    single = np.flatnonzero(own)
    pos_parts.append(single)
    line_parts.append(book.positions["line"].to_numpy(dtype=np.int64)[single])
    return np.concatenate(pos_parts), np.concatenate(line_parts)


def _named(
    book: BookFrame, acc: np.ndarray, accounts: list[str], of_line: np.ndarray, names: list[str]
) -> tuple[list[dict[str, str]], list[str]]:
    """Each account's household from the column, as `split_households` finds it: the one its
    rows name; rows naming two households are an error (the first such account in file order);
    an account none of whose rows is named is missing."""
    of_line = np.append(of_line, -1)  # where lines out of its range look
    pos, line = _position_lines(book)
    line = np.where((line >= 0) & (line < len(of_line)), line, len(of_line) - 1)
    code = of_line[line]
    named = code >= 0
    width = max(len(names), 1)
    pairs = np.unique(acc[pos[named]] * width + code[named])  # each account's households
    pair_acc, pair_code = pairs // width, pairs % width
    count = np.bincount(pair_acc, minlength=len(accounts))
    doubly = np.flatnonzero(count > 1)
    if len(doubly):  # accounts are numbered in file order
        raise ValueError(_two_households(accounts[int(doubly[0])]))
    missing = [accounts[k] for k in np.flatnonzero(count == 0).tolist()]
    entries: list[dict[str, str]] = [{} for _ in accounts]
    for k, c in zip(pair_acc.tolist(), pair_code.tolist(), strict=True):
        entries[k] = {"client": names[c]}
    return entries, missing


def _lot_columns(book: BookFrame, order: np.ndarray) -> LotColumns:
    """The book's lots as `LotColumns`, positions taken in `order`: a clean sheet's runs straight
    from their arrays, the few lots held as objects laid out as `LotColumns.of` lays them."""
    n = len(order)
    counts = np.zeros(n, dtype=np.int64)
    owners: list[np.ndarray] = []
    parts: list[LotColumns] = []
    rows = book.row_lots
    taken = np.zeros(n, dtype=bool)
    if rows is not None and len(rows.heads):
        heads = rows.heads.astype(np.int64)
        run = np.diff(rows.starts).astype(np.int64)
        taken[heads] = True
        counts[heads] = run
        owners.append(np.repeat(heads, run))
        m = len(rows.quantity)
        parts.append(
            LotColumns(
                start=np.zeros(0, dtype=np.int64),
                quantity=rows.quantity.astype(float),
                cost_basis=np.zeros(m, dtype=float),
                has_cost_basis=np.zeros(m, dtype=bool),
                acquired=np.full(m, NO_DATE, dtype=np.int64),
                line=rows.line.astype(np.int64),
                has_line=np.ones(m, dtype=bool),
            )
        )
    held = [i for i, lots in book.lots.items() if lots and not taken[i]]
    if held:
        laid = LotColumns.of([book.lots[i] for i in held])
        each = np.diff(laid.start)
        counts[held] = each
        owners.append(np.repeat(np.array(held, dtype=np.int64), each))
        parts.append(laid)
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts[order], out=start[1:])
    if not parts:
        return LotColumns.empty(start)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    # A position's lots come from one part, in their order: a stable sort keeps them so.
    by = np.argsort(rank[np.concatenate(owners)], kind="stable")

    return LotColumns.by_field(start, lambda f: np.concatenate([getattr(p, f) for p in parts])[by])
