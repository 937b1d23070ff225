"""Candidates to Positions: parse the numbers column-wise, reconcile quantity, price and value, and
fold several rows of one symbol in one account into one Position with tax lots.

Reconciliation rules (the engine relies on quantity x price == market value):
- value missing -> quantity x price; price missing -> value / quantity;
- quantity x price off the stated value by more than 1% -> the stated value wins and price =
  value / quantity. For a bond (CUSIP symbol, fixed-income class in the file or reference data, or
  a near-par price per 100 of face) that is expected and gets an info issue; for anything else it
  is a warning, since a stock's mismatch usually means a wrong cell;
- negative price -> error; negative quantity -> kept, "short position" warning;
- cash -> quantity = value and price 1.0 unless the file gives a price. A row with a value but no
  quantity is cash when its symbol is a cash word (USD, MONEY MARKET, CORE) or a money-market or
  cash security in the reference data.
- value but no quantity -> quantity = value / the file's price, else / the reference price
  (fractional; an info issue says which);
- allocation (weight) but no quantity or value -> value = weight x the book's total, which the
  file (a `total_value` row or column) or the caller must give; without one the file is refused.

Numbers no book can hold are row errors, not positions: a non-finite amount, a price at or below
zero with no market value to derive one from, more than 1e9 shares, more than $1e11 in one row.
Identical repeated rows are summed (custodians repeat lots) with a warning naming both lines.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from portfolio.importers.classify import class_from_text
from portfolio.importers.headers import normalize
from portfolio.importers.reference import reference
from portfolio.importers.special import is_cash_word, is_value_only_cash_word
from portfolio.importers.table import Candidate
from portfolio.models import (
    BOND_CLASSES,
    AssetClass,
    ImportIssue,
    Lot,
    Position,
    SkippedRow,
    UnreadableFileError,
)
from portfolio.numbers import parse_numbers
from portfolio.securities import SecurityMaster

if TYPE_CHECKING:
    from portfolio.importers.bulk import BulkRows

SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-/ ]{0,31}$")
TOLERANCE = 0.01
# A CUSIP: eight alphanumerics and a check digit. No exchange ticker is nine characters long.
CUSIP_RE = re.compile(r"^[0-9A-Z]{8}[0-9]$")
# Bonds are quoted per 100 of face; "near par" keeps a stock's 100x typo from passing as one.
PAR_PRICE_RANGE = (50.0, 150.0)
_BOND_WORDS = frozenset({"bond", "bonds", "fixed", "treasury", "treasuries", "municipal", "muni"})
_NUMERIC = ("quantity", "price", "value", "cost_basis", "cost_per_share", "multiplier", "weight")
# No client book holds a billion shares of one line or $100 billion in one row: such a number is a
# misread cell (a CUSIP in the quantity column, an exponent, a shifted column), never a holding.
MAX_QUANTITY = 1e9
MAX_POSITION_VALUE = 1e11
# Allocations that add up to 100% within half a point need no warning (rounded percentages).
WEIGHT_SUM_TOLERANCE = 0.005
_REQUIRED = {"quantity", "price", "value"}
_LABELS = {
    "quantity": "quantity",
    "price": "price",
    "value": "market value",
    "cost_basis": "cost basis",
    "cost_per_share": "cost per share",
    "multiplier": "multiplier",
    "weight": "allocation",
}
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%Y/%m/%d",
    "%d-%b-%Y",
    "%b-%d-%Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%Y%m%d",
    "%m-%d-%Y",
    "%B %d, %Y",
)


@dataclass(slots=True)
class Row:
    """A candidate whose numbers passed: ready to be a Position or one lot of one."""

    c: Candidate
    symbol: str
    quantity: float
    price: float | None
    value: float
    cost_basis: float | None
    acquired: date | None


@dataclass
class Built:
    positions: list[Position] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    # Position index -> file texts naming its class (asset-class column, then security type).
    class_hints: list[tuple[str, str]] = field(default_factory=list)


@lru_cache(maxsize=65536)
def clean_symbol(text: str) -> tuple[str | None, str | None]:
    """(symbol, None) or (None, reason). Cells are data: a formula is refused, not evaluated."""
    raw = text.strip()
    if not raw or raw in {"-", "--", "---"} or raw.lower() in {"n/a", "na"}:
        return None, "missing symbol"
    if raw[0] in "=+@":
        return None, f"symbol '{raw}' looks like a spreadsheet formula, not a ticker"
    symbol = " ".join(raw.upper().split())
    if not SYMBOL_RE.match(symbol):
        return None, f"symbol '{raw}' is not a valid ticker or CUSIP"
    return symbol, None


@lru_cache(maxsize=4096)
def _parse_date_cached(text: str) -> date | str | None:
    try:
        return parse_date(text)
    except ValueError:
        return "bad"


def parse_date(text: str) -> date | None:
    """A lot's acquired date in the spellings exports use; ValueError when it is none of them."""
    t = text.strip()
    if not t or t in {"-", "--"} or t.lower() in {"n/a", "na", "various"}:
        return None
    for candidate in (t, re.split(r"[ ,T]", t, maxsplit=1)[0]):
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    raise ValueError(t)


def _column(cells: list[str], decimal_comma: bool) -> tuple[list[float | None], list[bool]]:
    """Parse one column at once; NaN becomes None so the per-row code reads plain Python."""
    if not any(cells):  # a column the file lacks, or leaves empty: nothing to parse
        return [None] * len(cells), [False] * len(cells)
    values, bad = parse_numbers(cells, decimal_comma=decimal_comma)
    return [None if x != x else x for x in values.tolist()], bad.tolist()


def numeric_cells(candidates: list[Candidate]) -> list[str]:
    """Every non-blank cell of the numeric columns: what a file's number style is judged on."""
    return [cell for c in candidates for col in _NUMERIC if (cell := getattr(c, col))]


class NeedsTotalError(UnreadableFileError):
    """Allocations without the book's total: nothing can be valued until the total is given."""


_NUMERIC_TEXT_RE = re.compile(r"^[\s(+\-$]*\d[\d.,\s]*%?\s*\)?$")


def _move_numeric_classes(candidates: list[Candidate]) -> None:
    """`Allocation` names a class in some files and a weight in others: numbers are weights."""
    for c in candidates:
        if not c.weight and c.asset_class and _NUMERIC_TEXT_RE.match(c.asset_class):
            c.weight, c.asset_class = c.asset_class, ""


def _scale_weights(cells: list[str], values: list[float | None]) -> list[float | None]:
    """Weights as fractions: `25%` is 0.25 already; a column of bare numbers above 1 is percent."""
    if any("%" in cell for cell in cells):
        return values
    present = [abs(v) for v in values if v is not None]
    if present and max(present) > 1.0:
        return [None if v is None else v / 100.0 for v in values]
    return values


def build(
    candidates: list[Candidate],
    securities: SecurityMaster | None,
    decimal_comma: bool = False,
    total: float | None = None,
    total_source: str = "",
    bulk: BulkRows | None = None,
) -> Built:
    """`total` values rows that give only an allocation; `total_source` says where it is from.
    `bulk` holds rows taken as they stand from a big file (`bulk.sort_block`,
    `bulk.sort_ibkr_block`), folded in with the candidates' rows in the walk's order."""
    out = Built()
    n_bulk = len(bulk) if bulk is not None else 0
    if not candidates and not n_bulk:
        return out
    _move_numeric_classes(candidates)
    parsed = {
        col: _column([getattr(c, col) for c in candidates], decimal_comma) for col in _NUMERIC
    }
    weights, bad_weights = parsed["weight"]
    weights = _scale_weights([c.weight for c in candidates], weights)
    parsed["weight"] = (weights, bad_weights)
    q_col, v_col = parsed["quantity"][0], parsed["value"][0]
    weight_only = [
        i for i, w in enumerate(weights) if w is not None and q_col[i] is None and v_col[i] is None
    ]
    if weight_only:
        if total is None:
            raise NeedsTotalError(
                "gives allocations but no total to value them: add a total_value row or "
                "column, or pass --total AMOUNT"
            )
        if not math.isfinite(total) or total <= 0:
            raise UnreadableFileError(
                f"has a total of {_usd(total)}, which cannot value allocations"
            )
        share = math.fsum(weights[i] or 0.0 for i in weight_only)
        if len(weight_only) == len(candidates) + n_bulk and abs(share - 1.0) > WEIGHT_SUM_TOLERANCE:
            out.issues.append(
                ImportIssue(
                    severity="warning",
                    message=f"Allocations add up to {share:.2%}, not 100%; each row is valued "
                    f"at its allocation of {_usd(total)}.",
                )
            )
    rows: list[Row] = []
    lots: list[Row] = []
    quick = _Quick(parsed)
    for i, c in enumerate(candidates):
        row = quick.row(i, c)
        if row is None:
            row = _reconcile(i, c, parsed, securities, out, total, total_source)
        if row is not None:
            (lots if c.lot else rows).append(row)
    if n_bulk:
        assert bulk is not None
        trailing = candidates[len(candidates) - bulk.trailing :] if bulk.trailing else []
        _aggregate_columns(rows, lots, bulk, out, trailing)
    else:
        _aggregate(rows, lots, out)
    return out


class _Quick:
    """`_reconcile` for the bulk of a file's rows, the ones it would take as they stand: every
    number readable, quantity, price and market value positive, plausible and agreeing, no
    allocation, foreign currency or cash, and a cost and date (if any) it would keep.
    Such a row raises no issue, so it is built here without the general walk; any other row is
    left (None) to `_reconcile`, which gives it exactly what it always did (a multiplier is
    applied as it applies it)."""

    def __init__(self, parsed: dict[str, tuple[list[float | None], list[bool]]]) -> None:
        self.q, self.p, self.v = (parsed[col][0] for col in ("quantity", "price", "value"))
        self.cost, self.cps = parsed["cost_basis"][0], parsed["cost_per_share"][0]
        self.mult = parsed["multiplier"][0]
        bad = [parsed[col][1] for col in _NUMERIC]
        # Per row: no unreadable cell, and no allocation.
        self.plain = [
            not (any(b) or w is not None)
            for b, w in zip(zip(*bad, strict=True), parsed["weight"][0], strict=True)
        ]

    def row(self, i: int, c: Candidate) -> Row | None:
        if not self.plain[i] or c.cash:
            return None
        if c.currency and c.currency.upper() not in {"USD", "BASE"}:
            return None
        q, p, v = self.q[i], self.p[i], self.v[i]
        if q is None or p is None or v is None:
            return None
        if not (0 < q <= MAX_QUANTITY and p > 0 and 0 < v <= MAX_POSITION_VALUE):
            return None
        given = self.mult[i]
        mult = given if given and given > 0 else 1.0
        if abs(q * p * mult - v) > TOLERANCE * max(abs(v), 1e-9):
            return None
        symbol, problem = clean_symbol(c.symbol)
        if problem is not None:
            return None
        if mult != 1.0:
            p = v / q
        cost = self.cost[i]
        cps = self.cps[i]
        if cost is None and cps is not None:
            cost = cps * abs(q) * mult
        if cost is not None and _plausible(cost) is None:
            return None
        acquired = None
        if c.acquired:
            parsed_date = _parse_date_cached(c.acquired)
            if not isinstance(parsed_date, date):
                return None
            acquired = parsed_date
        return Row(c, symbol, q, p, v, cost, acquired)


def _issue(
    out: Built, c: Candidate, severity: str, message: str, value: float | None = None
) -> None:
    out.issues.append(
        ImportIssue(line=c.line, severity=severity, message=message, raw=c.raw, value=value)  # type: ignore[arg-type]
    )


def _plausible(value: float | None) -> float | None:
    """A value an error row can be reported with: finite and within what a row can hold."""
    if value is None or not math.isfinite(value) or abs(value) > MAX_POSITION_VALUE:
        return None
    return value


def _reconcile(
    i: int,
    c: Candidate,
    parsed: dict[str, tuple[list[float | None], list[bool]]],
    securities: SecurityMaster | None,
    out: Built,
    total: float | None = None,
    total_source: str = "",
) -> Row | None:
    symbol, problem = clean_symbol(c.symbol)
    stated = parsed["value"][0][i]
    if problem:
        _issue(out, c, "error", problem, _plausible(stated))
        return None
    assert symbol is not None
    vals: dict[str, float | None] = {}
    for col in _NUMERIC:
        values, bad = parsed[col]
        if bad[i]:
            text = getattr(c, col)
            if col in _REQUIRED:
                _issue(
                    out, c, "error", f"{_LABELS[col]} '{text}' is not a number", _plausible(stated)
                )
                return None
            _issue(out, c, "warning", f"{symbol}: {_LABELS[col]} '{text}' is not a number; ignored")
            vals[col] = None
        else:
            vals[col] = values[i]
    q, p, v = vals["quantity"], vals["price"], vals["value"]

    def fail(message: str) -> None:
        _issue(out, c, "error", f"{symbol}: {message}", _plausible(v))

    w = vals["weight"]
    if q is None and v is None and w is not None and total is not None:
        v = round(w * total, 8)
        source = f" ({total_source})" if total_source else ""
        _issue(
            out, c, "info", f"{symbol}: valued at its allocation {w:.4%} of {_usd(total)}{source}"
        )
    mult = vals["multiplier"] if vals["multiplier"] and vals["multiplier"] > 0 else 1.0
    if p is not None and p < 0:
        _issue(out, c, "error", f"{symbol}: price {p:g} is negative", _plausible(v))
        return None
    if c.currency and c.currency.upper() not in {"USD", "BASE"}:
        _issue(out, c, "warning", f"{symbol}: amounts are in {c.currency}, not converted to USD")
    if not c.cash and q is None and v is not None and _is_cash_symbol(symbol, securities):
        c.cash = True
        if is_cash_word(symbol) or is_value_only_cash_word(symbol):
            symbol = "CASH"
    if c.cash:
        cash = _cash_row(c, symbol, q, p, v, out)
        if cash is not None and _plausible(cash.value) is None:
            fail(f"cash of {_usd(cash.value)} is above $100 billion; not a plausible balance")
            return None
        return cash
    if q is None:
        if v is not None and p:
            q = round(v / (p * mult), 8)
            _issue(out, c, "info", f"{symbol}: no quantity; derived from market value / price")
        elif v is not None and (ref := _reference_price(symbol, securities)) is not None:
            q, p = round(v / ref, 8), ref
            assert securities is not None
            _issue(
                out,
                c,
                "info",
                f"{symbol}: no quantity or price in the file; quantity {q:,.4f} derived from the "
                f"market value and the reference price {ref:g} as of "
                f"{reference(securities).as_of.isoformat()} (fractional shares)",
            )
        else:
            fail("quantity is missing")
            return None
    if abs(q) > MAX_QUANTITY:
        fail(f"quantity {q:g} is above 1e9 shares; not a plausible holding")
        return None
    if v is None:
        if p is None and securities is not None:
            p = reference(securities).price.get(symbol)
            if p is not None:
                _issue(
                    out,
                    c,
                    "warning",
                    f"{symbol}: no price or market value in the file; valued at the reference "
                    f"price {p:g} as of {reference(securities).as_of.isoformat()}",
                )
        if p is None:
            fail("no price or market value")
            return None
        if p <= 0:
            fail(f"price {p:g} and no market value: the row cannot be valued")
            return None
        v = round(q * p * mult, 8)
    if not math.isfinite(v) or abs(v) > MAX_POSITION_VALUE:
        fail(f"market value {_usd(v)} is above $100 billion; not a plausible position")
        return None
    if q == 0:
        if v:
            fail(f"quantity is 0 but market value is {v:,.2f}")
        else:
            out.skipped.append(
                SkippedRow(line=c.line, reason=f"{symbol}: zero quantity, nothing held", raw=c.raw)
            )
        return None
    if (q > 0 and v < 0) or (q < 0 and v > 0):
        fail(f"quantity {q:g} and market value {v:,.2f} differ in sign")
        return None
    if q < 0:
        _issue(out, c, "warning", f"{symbol}: short position (quantity {q:g})")
    if p is None:
        p = v / q
    else:
        expected = q * p * mult
        if abs(expected - v) > TOLERANCE * max(abs(v), 1e-9):
            if _is_bond(c, symbol, q, p * mult, v, securities):
                _issue(
                    out,
                    c,
                    "info",
                    f"{symbol}: quantity x price ({expected:,.2f}) differs from the stated market "
                    f"value ({v:,.2f}); the stated value is used (price per 100 of face value)",
                )
            else:
                _issue(
                    out,
                    c,
                    "warning",
                    f"{symbol}: quantity x price ({_usd(expected)}) disagrees with the stated "
                    f"market value ({_usd(v)}); the stated value was used (price taken as "
                    f"{v / q:g}). Check the row.",
                )
            p = v / q
        elif mult != 1.0:
            p = v / q
    cost = vals["cost_basis"]
    if cost is None and vals["cost_per_share"] is not None:
        cost = vals["cost_per_share"] * abs(q) * mult
    if cost is not None and _plausible(cost) is None:
        _issue(out, c, "warning", f"{symbol}: cost basis {cost:g} is not plausible; ignored")
        cost = None
    acquired = None
    if c.acquired:
        parsed_date = _parse_date_cached(c.acquired)
        if isinstance(parsed_date, date):
            acquired = parsed_date
        else:
            _issue(
                out, c, "warning", f"{symbol}: acquired date '{c.acquired}' is not a date; ignored"
            )
    return Row(c, symbol, q, p, v, cost, acquired)


def _reference_price(symbol: str, securities: SecurityMaster | None) -> float | None:
    if securities is None:
        return None
    ref = reference(securities).price.get(symbol)
    return ref if ref is not None and math.isfinite(ref) and ref > 0 else None


def _usd(amount: float) -> str:
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def _is_bond(
    c: Candidate, symbol: str, q: float, p: float, v: float, securities: SecurityMaster | None
) -> bool:
    """Is a quantity x price mismatch expected here (a bond priced per 100 of face value)?"""
    if CUSIP_RE.match(symbol):
        return True
    for text in (c.asset_class, c.security_type):
        if text and (
            class_from_text(text) in BOND_CLASSES or _BOND_WORDS & set(normalize(text).split())
        ):
            return True
    if securities is not None and reference(securities).asset_class.get(symbol) in BOND_CLASSES:
        return True
    low, high = PAR_PRICE_RANGE
    return low <= p <= high and abs(q * p / 100 - v) <= TOLERANCE * max(abs(v), 1e-9)


def _is_cash_symbol(symbol: str, securities: SecurityMaster | None) -> bool:
    """A value-only row whose symbol means cash: a cash word or a cash security we know."""
    if is_cash_word(symbol) or is_value_only_cash_word(symbol):
        return True
    if securities is None:
        return False
    ref = reference(securities)
    return ref.kind.get(symbol) == "money_market" or ref.asset_class.get(symbol) == AssetClass.CASH


def _cash_row(
    c: Candidate, symbol: str, q: float | None, p: float | None, v: float | None, out: Built
) -> Row | None:
    if v is None:
        v = q * p if q is not None and p is not None else q
    if v is None:
        _issue(out, c, "error", f"{symbol}: cash row has no amount")
        return None
    if p is None or p == 0:
        p, q = 1.0, v
    elif q is None or abs(q * p - v) > TOLERANCE * max(abs(v), 1e-9):
        q = v / p
    if v < 0:
        _issue(out, c, "warning", f"{symbol}: negative cash balance {v:,.2f} (margin debit?)")
    return Row(c, symbol, q, p, v, None, None)


def _aggregate(rows: list[Row], lots: list[Row], out: Built) -> None:
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.c.account, row.symbol), []).append(row)
    extra_lots: dict[tuple[str, str], list[Row]] = {}
    for lot in lots:
        key = (lot.c.account, lot.symbol)
        if key in groups:
            extra_lots.setdefault(key, []).append(lot)
        else:
            _issue(out, lot.c, "error", f"{lot.symbol}: lot row without its position row")
    for (account, symbol), members in groups.items():
        _warn_repeats([*members, *extra_lots.get((account, symbol), [])], out)
        quantity = math.fsum(r.quantity for r in members)
        value = math.fsum(r.value for r in members)
        prices = {r.price for r in members}
        price = prices.pop() if len(prices) == 1 else value / quantity if quantity else None
        costs = [r.cost_basis for r in members if r.cost_basis is not None]
        lot_rows = extra_lots.get((account, symbol), [])
        cash = members[0].c.cash
        if (
            not lot_rows
            and not cash
            and (len(members) > 1 or any(r.cost_basis is not None or r.c.acquired for r in members))
        ):
            lot_rows = members
        if lot_rows and not members[0].c.lot and extra_lots.get((account, symbol)):
            costs = costs or [r.cost_basis for r in lot_rows if r.cost_basis is not None]
        out.positions.append(
            Position(
                account=account,
                symbol=symbol,
                description=next((r.c.description for r in members if r.c.description), ""),
                quantity=quantity,
                price=price,
                market_value=value,
                cost_basis=math.fsum(costs) if costs else None,
                is_cash=cash,
                lots=[new_lot(r.quantity, r.cost_basis, r.acquired, r.c.line) for r in lot_rows],
                lines=sorted({r.c.line for r in members} | {r.c.line for r in lot_rows}),
            )
        )
        out.class_hints.append(
            (
                next((r.c.asset_class for r in members if r.c.asset_class), ""),
                next((r.c.security_type for r in members if r.c.security_type), ""),
            )
        )


_LOT_FIELDS = frozenset(Lot.model_fields)
_new_lot = Lot.__new__
_set = object.__setattr__


def new_lot(quantity: float, cost_basis: float | None, acquired: date | None, line: int) -> Lot:
    """`Lot(quantity=..., cost_basis=..., acquired=..., line=...)` without pydantic's validation,
    which a practice's hundreds of thousands of lots feel: every value here is of its field's
    type already (the float conversions are what validation would do)."""
    obj = _new_lot(Lot)
    _set(
        obj,
        "__dict__",
        {
            "quantity": float(quantity),
            "cost_basis": None if cost_basis is None else float(cost_basis),
            "acquired": acquired,
            "line": line,
        },
    )
    _set(obj, "__pydantic_fields_set__", set(_LOT_FIELDS))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def _aggregate_columns(
    rows: list[Row],
    lots: list[Row],
    bulk: BulkRows,
    out: Built,
    trailing: list[Candidate] | None = None,
) -> None:
    """`_aggregate` over the walked rows and the bulk rows together: one Position per (account,
    symbol) in the walk's order of its first holding row, its holding rows folded in that order,
    then its Lot rows; a Lot row of no holding is an error. The walk's order is line order but
    for the `trailing` candidates, which come after every other row.

    Rows are numbered walked first (holding rows, then lots), then bulk; `seq` lists them holding
    by holding (holdings in the order of their first row), each holding's rows in order."""
    walked = [*rows, *lots]
    n_walk = len(walked)
    lines = np.concatenate([np.array([r.c.line for r in walked], dtype=np.int64), *bulk.line])
    keys = lines
    if trailing:
        last = {id(c): k for k, c in enumerate(trailing)}
        keys = lines.copy()
        top = int(lines.max()) + 1
        for m, r in enumerate(walked):
            k = last.get(id(r.c))
            if k is not None:
                keys[m] = top + k
    order = np.argsort(keys, kind="stable")  # the walk's order
    is_lot = np.concatenate([np.array([r.c.lot for r in walked], dtype=bool), *bulk.lot])

    def texts(walked_texts: list[str], parts: list[list[str]]) -> np.ndarray:
        return np.array(walked_texts + [x for part in parts for x in part], dtype=object)

    account = texts([r.c.account for r in walked], bulk.account)
    symbol = texts([r.symbol for r in walked], bulk.symbol)
    acc_codes, _ = pd.factorize(account[order], sort=False)
    sym_codes, sym_uniques = pd.factorize(symbol[order], sort=False)
    pair = acc_codes.astype(np.int64) * (len(sym_uniques) + 1) + sym_codes
    lot_o = is_lot[order]
    if lot_o.any():
        # Holdings by their first holding row; a Lot row joins its holding, wherever it is.
        group = np.empty(len(order), dtype=np.int64)
        held_codes, held_pairs = pd.factorize(pair[~lot_o], sort=False)
        group[~lot_o] = held_codes
        group[lot_o] = pd.Index(held_pairs).get_indexer(pair[lot_o])
        for k in order[lot_o & (group < 0)].tolist():
            line = int(lines[k])
            out.issues.append(
                ImportIssue(
                    line=line,
                    severity="error",
                    message=f"{symbol[k]}: lot row without its position row",
                    raw=walked[k].c.raw if k < n_walk else bulk.raw_of(line),
                )
            )
        kept = np.flatnonzero(group >= 0)
        by_group = kept[np.lexsort((lot_o[kept], group[kept]))]  # stable: rows in order
        gs = group[by_group]
    else:
        group, _ = pd.factorize(pair)
        by_group = np.argsort(group, kind="stable")
        gs = group[by_group]
    perm = order[by_group]
    seq = perm.tolist()
    lot_p = is_lot[perm]
    # Every row may be a Lot row of no holding: then there is no holding at all.
    starts = np.flatnonzero(np.r_[len(gs) > 0, gs[1:] != gs[:-1]])
    ends = [*starts[1:].tolist(), len(gs)][: len(starts)]
    # Each holding's holding rows come before its Lot rows: where they end.
    holding_rows = (~lot_p).astype(np.int64)
    held_ends = (starts + np.add.reduceat(holding_rows, starts)).tolist() if len(gs) else []
    starts = starts.tolist()

    def floats(walked_values: list[float | None], parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(
            [np.array([np.nan if x is None else x for x in walked_values], dtype=float), *parts]
        )[perm]

    def objects(walked_values: list[object], parts: list[list[object]]) -> list[object]:
        listed = walked_values + [x for part in parts for x in part]
        return [listed[k] for k in seq]

    # Amounts stay arrays (NaN: no cost) and become Python floats one holding at a time.
    qa = floats([r.quantity for r in walked], bulk.quantity)
    pa_ = floats([r.price for r in walked], bulk.price)
    va = floats([r.value for r in walked], bulk.value)
    ca = floats([r.cost_basis for r in walked], bulk.cost_basis)
    acquired = objects([r.acquired for r in walked], bulk.acquired)  # type: ignore[arg-type]
    acq_text = objects([r.c.acquired for r in walked], bulk.acquired_text)  # type: ignore[arg-type]
    descs = objects([r.c.description for r in walked], bulk.description)  # type: ignore[arg-type]
    classes = objects([r.c.asset_class for r in walked], bulk.asset_class)  # type: ignore[arg-type]
    types = objects([r.c.security_type for r in walked], bulk.security_type)  # type: ignore[arg-type]
    cash = [k < n_walk and walked[k].c.cash for k in seq]
    group_lines = lines[perm].tolist()
    for i, h, j in zip(starts, held_ends, ends, strict=True):
        k = seq[i]
        qs: list[float] = qa[i:j].tolist()
        quantity = math.fsum(qs[: h - i])
        value = math.fsum(va[i:h].tolist())
        prices = set(pa_[i:h].tolist())
        price = prices.pop() if len(prices) == 1 else value / quantity if quantity else None
        costs: list[float | None] = ca[i:j].tolist()
        for m in np.flatnonzero(np.isnan(ca[i:j])).tolist():
            costs[m] = None
        held = [c for c in costs[: h - i] if c is not None]
        is_cash = bool(cash[i])
        first, last = h, h  # the rows that are the holding's lots
        if j > h:
            first, last = h, j
            held = held or [c for c in costs[h - i :] if c is not None]
        elif not is_cash and (h - i > 1 or bool(held) or any(acq_text[i:h])):
            first, last = i, h
        out.positions.append(
            Position(
                account=account[k],
                symbol=symbol[k],
                description=next((d for d in descs[i:h] if d), ""),
                quantity=quantity,
                price=price,
                market_value=value,
                cost_basis=math.fsum(held) if held else None,  # type: ignore[arg-type]
                is_cash=is_cash,
                lots=_lots(
                    qs[first - i : last - i],
                    costs[first - i : last - i],
                    acquired[first:last],  # type: ignore[arg-type]
                    group_lines[first:last],
                ),
                lines=group_lines[i:j] if j == h and not trailing else sorted(group_lines[i:j]),
            )
        )
        out.class_hints.append(
            (next((c for c in classes[i:h] if c), ""), next((t for t in types[i:h] if t), ""))
        )
    # Identical rows of one holding (as `_warn_repeats`: kind, amounts, cost and date): the
    # first row each repeats. Adding 0.0 makes -0.0 the same key as 0.0, as `==` has it.
    same = pd.DataFrame(
        {
            "g": gs,
            "l": lot_p,
            "q": qa + 0.0,
            "p": pa_ + 0.0,
            "v": va + 0.0,
            "c": ca + 0.0,
            "a": np.array(acq_text, dtype=object),
        }
    )
    repeated = same.duplicated(keep="first").to_numpy()
    if repeated.any():
        keys_ = list(same.columns)
        firsts = (
            same.assign(line=group_lines)
            .groupby(keys_, dropna=False, sort=False)["line"]
            .transform("first")
            .to_numpy()
        )
        for m in np.flatnonzero(repeated).tolist():
            k = seq[m]
            raw = walked[k].c.raw if k < n_walk else bulk.raw_of(group_lines[m])
            out.issues.append(
                ImportIssue(
                    line=group_lines[m],
                    severity="warning",
                    message=repeat_message(symbol[k], group_lines[m], int(firsts[m])),
                    raw=raw,
                )
            )


def _lots(
    qs: list[float], costs: list[float | None], acquired: list[date | None], lines: list[int]
) -> list[Lot]:
    """`new_lot` for each row, in one loop (a practice's holding may have thousands of lots).
    They share one fields-set, as the clean sheet's lots do: pydantic only ever adds a name to it
    on assignment, and every name is in it already."""
    new, set_, fields = _new_lot, _set, set(_LOT_FIELDS)
    out: list[Lot] = []
    append = out.append
    for q, cost, when, line in zip(qs, costs, acquired, lines, strict=True):
        obj = new(Lot)
        set_(obj, "__dict__", {"quantity": q, "cost_basis": cost, "acquired": when, "line": line})
        set_(obj, "__pydantic_fields_set__", fields)
        set_(obj, "__pydantic_extra__", None)
        set_(obj, "__pydantic_private__", None)
        append(obj)
    return out


def _warn_repeats(rows: list[Row], out: Built) -> None:
    """Identical rows of one holding are summed (custodians repeat lots), but never silently."""
    first: dict[tuple[object, ...], int] = {}
    for r in rows:
        key = (r.c.lot, r.quantity, r.price, r.value, r.cost_basis, r.acquired, r.c.acquired)
        if key in first:
            _issue(out, r.c, "warning", repeat_message(r.symbol, r.c.line, first[key]))
        else:
            first[key] = r.c.line


def repeat_message(symbol: str, line: int, first_line: int) -> str:
    return (
        f"{symbol}: line {line} repeats line {first_line} (same account, quantity, price and "
        "lot); both are counted, as some custodians repeat lots. Check the export if it should "
        "be held once."
    )
