"""Interactive Brokers activity statements: `Section,Header|Data|Total|SubTotal,...` lines.

Holdings come from `Open Positions` (Summary rows; Lot rows become tax lots) and the account's cash
from the `Cash Report` Ending Cash of the base-currency summary. Every other line is accounted for
as not-a-holding with its section named. A big statement's runs of Open Positions data lines are
sorted in bulk (`bulk.sort_ibkr_block`), with exactly the walk's result.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING

from portfolio.importers.headers import ColumnMap, map_header, normalize
from portfolio.importers.table import Candidate, Sorted, account_name
from portfolio.importers.text import Record
from portfolio.models import ImportIssue

if TYPE_CHECKING:
    from portfolio.importers.bulk import Tail

OPEN = "open positions"
CASH = "cash report"
# An Open Positions row's cells, in this order, for its Candidate (and its account).
OPEN_FIELDS = (
    "symbol",
    "description",
    "quantity",
    "price",
    "market_value",
    "cost_basis",
    "cost_per_share",
    "acquired",
    "security_type",
    "currency",
    "multiplier",
    "account_type",
    "account_name",
    "account_number",
)
# Section names and discriminators repeat on every line: normalised once each.
_normalize = lru_cache(maxsize=1024)(normalize)


def _getter(cmap: ColumnMap) -> itemgetter[tuple[str, ...]]:
    """The OPEN_FIELDS of a row of at least `cmap.used_width` cells, "" appended (-1: absent)."""
    return itemgetter(*(cmap.index.get(f, -1) for f in OPEN_FIELDS))


def _cells(rec: Record) -> list[str]:
    return rec.stripped[2:]


def _account(records: list[Record]) -> tuple[str, Record | None]:
    """The statement's account, and its `Account Type` line (Individual, IRA Roth, ...) if any."""
    fields: dict[str, str] = {}
    type_line: Record | None = None
    for rec in records:
        c = rec.stripped
        if len(c) >= 4 and normalize(c[0]) == "account information" and c[1] == "Data":
            fields[normalize(c[2])] = c[3]
            if normalize(c[2]) == "account type" and c[3]:
                type_line = rec
    name = fields.get("account") or fields.get("account id") or fields.get("name") or "Account"
    return name, type_line


def sort_ibkr(records: list[Record], tail: Tail | None = None) -> Sorted:
    """Sort every line; with `tail` (a big statement split by `bulk.split_tail`), the blocks of
    Open Positions data lines after some records are sorted together under their header."""
    out = Sorted()
    account, type_line = _account(records)
    if type_line is not None:
        out.account_type_rows.append(
            (type_line.line, account, type_line.stripped[3], type_line.raw)
        )
    headers: dict[str, ColumnMap] = {}
    # Each section's current header's getter (made with the header: keyed by the map's id, a
    # later header could be given an earlier one's getter once that map is freed).
    getters: dict[str, itemgetter[tuple[str, ...]]] = {}
    raw_headers: dict[str, dict[str, int]] = {}
    cash_rows: list[tuple[Record, dict[str, int]]] = []

    def visit(rec: Record) -> None:
        if rec.error:
            out.error(rec, rec.error)
            return
        if rec.blank:
            return
        c = rec.stripped
        if len(c) < 2 or c[1] not in {"Header", "Data", "Total", "SubTotal", "Notes", "MetaInfo"}:
            out.skip(rec, "line outside the statement's sections, not a holding")
            return
        section, kind = _normalize(c[0]), c[1]
        if kind == "Header":
            headers[section] = map_header(_cells(rec))
            getters.pop(section, None)
            raw_headers[section] = {normalize(h): i for i, h in enumerate(_cells(rec))}
            out.header_cells = out.header_cells or (_cells(rec) if section == OPEN else [])
            out.skip(rec, f"column header (section {c[0]})")
            return
        if section == OPEN:
            cmap = headers.get(section)
            getter = None
            if cmap is not None:
                getter = getters.get(section)
                if getter is None:
                    getter = getters[section] = _getter(cmap)
            _open_position(rec, kind, cmap, getter, account, out)
        elif section == CASH and kind == "Data" and section in raw_headers:
            cols = raw_headers[section]
            if normalize(_get(c, cols, "currency summary")) == "ending cash":
                cash_rows.append((rec, cols))
            else:
                out.skip(rec, f"not holdings (section {c[0]})")
        else:
            out.skip(rec, f"not holdings (section {c[0]})")

    blocks = tail.blocks if tail is not None else {}
    for i, rec in enumerate(records):
        visit(rec)
        span = blocks.get(i)
        if span is None:
            continue
        assert tail is not None
        from portfolio.importers.bulk import BulkRows, sort_ibkr_block  # bulk needs build

        # Every line of a block is an `Open Positions,Data,...` line, as `rec` is.
        cmap = headers.get(OPEN)
        if cmap is None:
            walked = [tail.record(k) for k in range(*span)]
        else:
            if out.bulk is None:
                out.bulk = BulkRows()
            walked = sort_ibkr_block(tail, span, cmap, account, out.bulk, account_name, _normalize)
        for block_rec in walked:
            visit(block_rec)
    _ending_cash(cash_rows, account, out)
    if out.bulk is not None and cash_rows:
        out.bulk.trailing = 1  # the cash candidate, last in the walk's order
    return out


def _get(cells: list[str], cols: dict[str, int], name: str) -> str:
    i = cols.get(name)
    return cells[i + 2] if i is not None and i + 2 < len(cells) else ""


def _open_position(
    rec: Record,
    kind: str,
    cmap: ColumnMap | None,
    getter: itemgetter[tuple[str, ...]] | None,
    account: str,
    out: Sorted,
) -> None:
    if kind in {"Total", "SubTotal"}:
        out.skip(rec, f"summary row ({kind}, section Open Positions), not a holding")
        return
    if kind != "Data":
        out.skip(rec, f"{kind} line (section Open Positions), not a holding")
        return
    if cmap is None or getter is None:
        out.error(rec, "Open Positions data before its header")
        return
    cells = _cells(rec)
    disc = _normalize(cmap.get(cells, "discriminator"))
    if disc not in {"", "summary", "lot"}:
        out.skip(rec, f"'{cmap.get(cells, 'discriminator')}' row (section Open Positions)")
        return
    if (len(cells) > cmap.width and any(cells[cmap.width :])) or len(cells) < cmap.used_width:
        out.error(rec, f"row has {len(cells) + 2} fields, header has {cmap.width + 2}")
        return
    # Every mapped column is below used_width <= len(cells) (checked above); -1 takes the "".
    (
        symbol,
        description,
        quantity,
        price,
        value,
        cost_basis,
        cost_per_share,
        acquired,
        security_type,
        currency,
        multiplier,
        account_type,
        name,
        number,
    ) = getter([*cells, ""])
    out.candidates.append(
        Candidate(
            rec=rec,
            account=account_name(name, number, account),
            symbol=symbol,
            description=description,
            quantity=quantity,
            price=price,
            value=value,
            cost_basis=cost_basis,
            cost_per_share=cost_per_share,
            acquired=acquired if disc == "lot" else "",
            security_type=security_type,
            currency=currency,
            multiplier=multiplier,
            account_type=account_type,
            lot=disc == "lot",
        )
    )


def _ending_cash(rows: list[tuple[Record, dict[str, int]]], account: str, out: Sorted) -> None:
    """One cash position: the base-currency summary, else the USD line, else the only line."""
    if not rows:
        return
    chosen = next(
        (r for r in rows if normalize(_get(r[0].stripped, r[1], "currency")).startswith("base")),
        None,
    )
    if chosen is None:
        chosen = next(
            (r for r in rows if normalize(_get(r[0].stripped, r[1], "currency")) == "usd"),
            rows[0] if len(rows) == 1 else None,
        )
    if chosen is None:
        chosen = rows[0]
        out.issues.append(
            _warn(
                chosen[0],
                "several currencies' ending cash and no base-currency summary; "
                "only the first is counted",
            )
        )
    for rec, _ in rows:
        if rec is not chosen[0]:
            out.skip(rec, "ending cash of one currency (counted in the base-currency summary)")
    rec, cols = chosen
    out.candidates.append(
        Candidate(
            rec=rec,
            account=account,
            symbol="CASH",
            description="Ending cash (Cash Report)",
            value=_get(rec.stripped, cols, "total"),
            cash=True,
        )
    )


def _warn(rec: Record, message: str) -> ImportIssue:
    return ImportIssue(line=rec.line, severity="warning", message=message, raw=rec.raw)
