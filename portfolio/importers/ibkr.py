"""Interactive Brokers activity statements: `Section,Header|Data|Total|SubTotal,...` lines.

Holdings come from `Open Positions` (Summary rows; Lot rows become tax lots) and the account's cash
from the `Cash Report` Ending Cash of the base-currency summary. Every other line is accounted for
as not-a-holding with its section named.
"""

from __future__ import annotations

from portfolio.importers.headers import ColumnMap, map_header, normalize
from portfolio.importers.table import Candidate, Sorted, account_of
from portfolio.importers.text import Record
from portfolio.models import ImportIssue

OPEN = "open positions"
CASH = "cash report"


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


def sort_ibkr(records: list[Record]) -> Sorted:
    out = Sorted()
    account, type_line = _account(records)
    if type_line is not None:
        out.account_type_rows.append(
            (type_line.line, account, type_line.stripped[3], type_line.raw)
        )
    headers: dict[str, ColumnMap] = {}
    raw_headers: dict[str, dict[str, int]] = {}
    cash_rows: list[tuple[Record, dict[str, int]]] = []
    for rec in records:
        if rec.error:
            out.error(rec, rec.error)
            continue
        if rec.blank:
            continue
        c = rec.stripped
        if len(c) < 2 or c[1] not in {"Header", "Data", "Total", "SubTotal", "Notes", "MetaInfo"}:
            out.skip(rec, "line outside the statement's sections, not a holding")
            continue
        section, kind = normalize(c[0]), c[1]
        if kind == "Header":
            headers[section] = map_header(_cells(rec))
            raw_headers[section] = {normalize(h): i for i, h in enumerate(_cells(rec))}
            out.header_cells = out.header_cells or (_cells(rec) if section == OPEN else [])
            out.skip(rec, f"column header (section {c[0]})")
            continue
        if section == OPEN:
            _open_position(rec, kind, headers.get(section), account, out)
        elif section == CASH and kind == "Data" and section in raw_headers:
            cols = raw_headers[section]
            if normalize(_get(c, cols, "currency summary")) == "ending cash":
                cash_rows.append((rec, cols))
            else:
                out.skip(rec, f"not holdings (section {c[0]})")
        else:
            out.skip(rec, f"not holdings (section {c[0]})")
    _ending_cash(cash_rows, account, out)
    return out


def _get(cells: list[str], cols: dict[str, int], name: str) -> str:
    i = cols.get(name)
    return cells[i + 2] if i is not None and i + 2 < len(cells) else ""


def _open_position(
    rec: Record, kind: str, cmap: ColumnMap | None, account: str, out: Sorted
) -> None:
    if kind in {"Total", "SubTotal"}:
        out.skip(rec, f"summary row ({kind}, section Open Positions), not a holding")
        return
    if kind != "Data":
        out.skip(rec, f"{kind} line (section Open Positions), not a holding")
        return
    if cmap is None:
        out.error(rec, "Open Positions data before its header")
        return
    cells = _cells(rec)
    disc = normalize(cmap.get(cells, "discriminator"))
    if disc not in {"", "summary", "lot"}:
        out.skip(rec, f"'{cmap.get(cells, 'discriminator')}' row (section Open Positions)")
        return
    if (len(cells) > cmap.width and any(cells[cmap.width :])) or len(cells) < cmap.used_width:
        out.error(rec, f"row has {len(cells) + 2} fields, header has {cmap.width + 2}")
        return
    currency = cmap.get(cells, "currency")
    out.candidates.append(
        Candidate(
            rec=rec,
            account=account_of(cmap, cells, account),
            symbol=cmap.get(cells, "symbol"),
            description=cmap.get(cells, "description"),
            quantity=cmap.get(cells, "quantity"),
            price=cmap.get(cells, "price"),
            value=cmap.get(cells, "market_value"),
            cost_basis=cmap.get(cells, "cost_basis"),
            cost_per_share=cmap.get(cells, "cost_per_share"),
            acquired=cmap.get(cells, "acquired") if disc == "lot" else "",
            security_type=cmap.get(cells, "security_type"),
            currency=currency,
            multiplier=cmap.get(cells, "multiplier"),
            account_type=cmap.get(cells, "account_type"),
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
