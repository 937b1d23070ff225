"""The JSON rebalancing request: `{"assets": [{"symbol", "allocation", "current_value"}],
"total_value", "risk_profile"}`.

Each asset goes through the same reconciliation as a sheet's row (a value without a quantity takes
its quantity from the reference price; an allocation without a value is valued at the request's
total), and its line is the physical line of the asset in the request, so the report reads like a
sheet's. The request's risk profile is returned for the mandate to start from.
"""

from __future__ import annotations

import io
import json
import math
import re
from typing import Any

from portfolio.importers.special import is_cash_word
from portfolio.importers.table import DEFAULT_ACCOUNT, Candidate, Sorted
from portfolio.importers.text import Record
from portfolio.models import ImportIssue, RiskProfile, UnreadableFileError

FORMAT = "json request"
_KEYS = {
    "symbol": ("symbol", "ticker"),
    "weight": ("allocation", "weight", "target_allocation"),
    "value": ("current_value", "market_value", "value"),
    "quantity": ("quantity", "shares", "qty"),
    "price": ("price", "current_price"),
    "account": ("account",),
    "description": ("name", "description"),
}
_ASSETS_RE = re.compile(r'"assets"\s*:\s*\[')
# An allocation and a stated value that disagree by more than this get a warning on the line.
AGREEMENT = 0.01


def looks_like_request(text: str, filename: str) -> bool:
    return filename.lower().endswith(".json") or text.lstrip().startswith(("{", "["))


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def parse_request(text: str, filename: str) -> tuple[dict[str, Any], list[int]]:
    """The request as a dict and each asset's first line; a strict parse (no NaN, no Infinity)."""
    label = f"'{filename}'" if filename else "The request"
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "it cannot be parsed"
        raise UnreadableFileError(f"{label} is not valid JSON ({reason}).") from None
    if isinstance(doc, list):
        doc = {"assets": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("assets"), list):
        raise UnreadableFileError(
            f"{label} is JSON but not a rebalancing request: expected an object with an "
            '"assets" list of {"symbol", "allocation", "current_value"}.'
        )
    return doc, _asset_lines(text, doc["assets"])


def _asset_lines(text: str, assets: list[Any]) -> list[int]:
    """The physical line each asset starts on; their position in the list when that cannot be
    told (an `assets` key nested elsewhere, a bare list)."""
    fallback = list(range(1, len(assets) + 1))
    m = _ASSETS_RE.search(text)
    if m is None:
        return fallback
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    pos, lines = m.end(), []
    try:
        for asset in assets:
            while text[pos] in " \t\r\n,":
                pos += 1
            found, end = decoder.raw_decode(text, pos)
            if found != asset:
                return fallback
            lines.append(text.count("\n", 0, pos) + 1)
            pos = end
    except (ValueError, IndexError, RecursionError):
        return fallback
    return lines


def _field(asset: dict[str, Any], name: str) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in asset.items()}
    for key in _KEYS[name]:
        if key in lowered:
            return lowered[key]
    return None


def _cell(value: Any) -> str:
    """A JSON value as the cell text the sheet reader parses; anything odd stays visibly odd."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def profile_of(value: Any) -> RiskProfile | None:
    if not isinstance(value, str):
        return None
    key = "_".join(value.strip().lower().replace("-", " ").split())
    try:
        return RiskProfile(key)
    except ValueError:
        return None


def sort_request(text: str, filename: str) -> tuple[Sorted, float | None, RiskProfile | None]:
    """Assets to candidates, plus the request's total and risk profile."""
    doc, lines = parse_request(text, filename)
    physical = io.StringIO(text, newline="").readlines()
    out = Sorted(header_cells=["symbol", "allocation", "current_value"])
    out.column_names = {"symbol": "symbol", "weight": "allocation", "market_value": "current_value"}
    for asset, line in zip(doc["assets"], lines, strict=True):
        if not isinstance(asset, dict):
            rec = Record(line, line, [_cell(asset)], physical or [text])
            out.error(rec, "an asset must be an object with symbol, allocation and current_value")
            continue
        symbol = _cell(_field(asset, "symbol")).strip()
        cells = [_cell(_field(asset, k)) for k in ("symbol", "weight", "value")]
        rec = Record(line, _end_line(physical, line), cells, physical or [text])
        cash = is_cash_word(symbol)
        out.candidates.append(
            Candidate(
                rec=rec,
                account=_cell(_field(asset, "account")).strip() or DEFAULT_ACCOUNT,
                symbol="CASH" if cash else symbol,
                description=_cell(_field(asset, "description")),
                quantity=_cell(_field(asset, "quantity")),
                price=_cell(_field(asset, "price")),
                value=_cell(_field(asset, "value")),
                weight=_cell(_field(asset, "weight")),
                cash=cash,
            )
        )
    total = doc.get("total_value")
    total_value = (
        float(total)
        if isinstance(total, int | float) and not isinstance(total, bool) and math.isfinite(total)
        else None
    )
    if total is not None and total_value is None:
        out.issues.append(
            ImportIssue(severity="warning", message=f"total_value {total!r} is not a number")
        )
    profile = profile_of(doc.get("risk_profile"))
    if doc.get("risk_profile") is not None and profile is None:
        names = ", ".join(p.value for p in RiskProfile)
        out.issues.append(
            ImportIssue(
                severity="warning",
                message=f"risk_profile {doc.get('risk_profile')!r} is not one of: {names}; "
                "the mandate keeps its own",
            )
        )
    return out, total_value, profile


def _end_line(physical: list[str], line: int) -> int:
    """The line an asset object closes on: its own when one a line, else the next `}`."""
    for i in range(line - 1, len(physical)):
        if "}" in physical[i]:
            return i + 1
    return line


def check_agreement(sorted_rows: Sorted, total: float | None) -> list[ImportIssue]:
    """An allocation that disagrees with the stated value: the value wins, the line is named."""
    from portfolio.numbers import NumberError, parse_number

    issues: list[ImportIssue] = []
    if total is None or total <= 0:
        return issues
    for c in sorted_rows.candidates:
        try:
            weight = parse_number(c.weight)
            value = parse_number(c.value)
        except NumberError:
            continue
        if weight is None or value is None:
            continue
        weight = weight / 100.0 if weight > 1 and "%" not in c.weight else weight
        if abs(weight * total - value) > AGREEMENT * max(abs(value), 1e-9):
            issues.append(
                ImportIssue(
                    line=c.line,
                    severity="warning",
                    message=f"{c.symbol}: allocation {weight:.2%} of the total is "
                    f"${weight * total:,.2f}, but current_value is ${value:,.2f}; the value "
                    "was used",
                    raw=c.raw,
                )
            )
    return issues
