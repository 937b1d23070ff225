"""The household state every stage reads: the enriched book as arrays, built once, frozen."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from portfolio.fund_groups import FundGroups, load_fund_groups
from portfolio.lookthrough import spread_rows
from portfolio.models import AssetClass, ClientMandate, Lot

EPS = 1e-9
TYPE_CODES = {"taxable": 0, "tax_deferred": 1, "tax_free": 2}
TYPE_NAMES = ("taxable", "tax_deferred", "tax_free")


@dataclass(frozen=True)
class HouseholdState:
    """Rows are positions; accounts carry a tax type, a planning unit and a taxpayer.

    The planning unit is the household (targets, bands, cash floor apply to it) or, with
    `per_account`, the account itself. The taxpayer (`client`) is always the household: the
    single-name cap and the wash-sale rule look across all of a client's accounts.
    """

    mandate: ClientMandate
    as_of: date
    whole: bool
    # rows
    symbol: np.ndarray
    acct: np.ndarray
    value: np.ndarray
    qty: np.ndarray
    unit_value: np.ndarray
    is_cash: np.ndarray
    tradable: np.ndarray
    excluded: np.ndarray
    single: np.ndarray
    esg_ok: np.ndarray
    is_fund: np.ndarray
    cash_hold: np.ndarray  # a holding in the cash class (T-bill ETF, purchased money-market)
    cls_row: np.ndarray
    row_k: np.ndarray
    basis: np.ndarray
    pos: np.ndarray
    exclusion: np.ndarray
    group: np.ndarray  # fund group for the wash-sale rule (the symbol itself when in none)
    # accounts
    accounts: np.ndarray
    acct_type: np.ndarray
    unit_of_acct: np.ndarray
    client_of_acct: np.ndarray
    n_unit: int
    accounts_in_unit: np.ndarray
    # classes
    classes: list[str]
    # look-through pieces of blended funds (row, class index, weight)
    blend_row: np.ndarray
    blend_k: np.ndarray
    blend_w: np.ndarray
    lots_of: Callable[[int], list[Lot]] | None

    @property
    def blended(self) -> np.ndarray:
        """Rows that are blended funds, counted in their classes by look-through."""
        out = np.zeros(len(self.symbol), dtype=bool)
        out[self.blend_row] = True
        return out

    def class_matrix(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(units x classes) of `values` over `rows`, blended funds spread by look-through."""
        C = np.zeros((self.n_unit, self.n_cls))
        plain = rows & ~self.blended
        np.add.at(C, (self.unit[plain], self.row_k[plain]), values[plain])
        take = rows[self.blend_row]
        r = self.blend_row[take]
        np.add.at(C, (self.unit[r], self.blend_k[take]), values[r] * self.blend_w[take])
        return C

    @property
    def n(self) -> int:
        return len(self.symbol)

    @property
    def n_acct(self) -> int:
        return len(self.accounts)

    @property
    def n_cls(self) -> int:
        return len(self.classes)

    @property
    def unit(self) -> np.ndarray:
        """Planning unit per row."""
        return self.unit_of_acct[self.acct]

    @property
    def taxable_row(self) -> np.ndarray:
        return self.acct_type[self.acct] == 0

    def by_acct(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.acct, weights=weights, minlength=self.n_acct)

    def by_unit(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.unit, weights=weights, minlength=self.n_unit)

    def lots(self, i: int) -> list[Lot]:
        return self.lots_of(int(self.pos[i])) if self.lots_of is not None else []


def build_state(
    book: pd.DataFrame,
    mandate: ClientMandate,
    weights: Mapping[str, float],
    *,
    as_of: date,
    account_types: Mapping[str, str] | None = None,
    per_account: bool = False,
    lots_of: Callable[[int], list[Lot]] | None = None,
    fund_groups: FundGroups | None = None,
) -> HouseholdState:
    """Arrays from the enriched book; `weights` fixes the class order (model classes first)."""
    acct, accounts = pd.factorize(book["account"], sort=True)
    accounts = np.asarray(accounts, dtype=object)
    n_acct = len(accounts)
    types = account_types or {}
    acct_type = np.array([TYPE_CODES.get(types.get(a, "taxable"), 0) for a in accounts], int)
    if "household" in book:
        first = (
            pd.Series(book["household"].to_numpy(dtype=object), dtype=object).groupby(acct).first()
        )
        client = pd.factorize(first.reindex(range(n_acct)).to_numpy())[0]
    else:
        client = np.zeros(n_acct, dtype=np.int64)
    unit = np.arange(n_acct) if per_account else client
    n_unit = int(unit.max()) + 1 if n_acct else 0

    value = book["value"].to_numpy(float)
    qty = book["quantity"].to_numpy(float)
    price = book["price"].to_numpy(float)
    is_cash = book["is_cash"].to_numpy(bool)
    tradable = book["tradable"].to_numpy(bool)
    cls_row = book["asset_class"].to_numpy(dtype=object)
    # The price a unit trades at: the quoted price when it agrees with value / quantity, else the
    # implied one (bonds quoted per 100 of face value, where the stated value wins).
    implied = np.where(qty > 0, value / np.where(qty > 0, qty, 1.0), 0.0)
    agrees = (price > 0) & (np.abs(price - implied) <= 0.01 * np.abs(implied))
    unit_value = np.where(agrees, price, implied)
    cash_hold = tradable & ~is_cash & (cls_row == AssetClass.CASH.value)

    model_classes = [c for c in weights if c != AssetClass.CASH.value]
    symbols = book["symbol"].to_numpy(dtype=object)
    b_row, b_cls, b_w = spread_rows(symbols)
    live = (tradable & ~is_cash & ~cash_hold)[b_row]
    b_row, b_cls, b_w = b_row[live], b_cls[live], b_w[live]
    held = sorted(
        (set(cls_row[tradable & ~is_cash & ~cash_hold]) | set(b_cls)) - set(model_classes)
    )
    classes = model_classes + held
    row_k = pd.Index(classes, dtype=object).get_indexer(pd.Index(cls_row, dtype=object))
    row_k = np.where(cash_hold, -1, row_k)
    basis = (
        book["cost_basis"].to_numpy(float) if "cost_basis" in book else np.full(len(book), np.nan)
    )
    pos = book["pos"].to_numpy() if "pos" in book else np.arange(len(book))
    blend_k = pd.Index(classes, dtype=object).get_indexer(pd.Index(b_cls, dtype=object))
    arrays = dict(
        symbol=symbols,
        acct=acct.astype(np.int64),
        value=value,
        qty=qty,
        unit_value=unit_value,
        is_cash=is_cash,
        tradable=tradable,
        excluded=book["excluded"].to_numpy(bool) & tradable,
        single=book["single_name"].to_numpy(bool) & tradable,
        esg_ok=book["esg_ok"].to_numpy(bool),
        is_fund=book["is_fund"].to_numpy(bool),
        cash_hold=cash_hold,
        cls_row=cls_row,
        row_k=row_k,
        basis=basis,
        pos=pos,
        exclusion=book["exclusion"].to_numpy(dtype=object),
        group=_groups(symbols, fund_groups or load_fund_groups()),
        blend_row=b_row.astype(np.int64),
        blend_k=blend_k.astype(np.int64),
        blend_w=b_w,
    )
    for a in arrays.values():
        a.setflags(write=False)
    return HouseholdState(
        mandate=mandate,
        as_of=as_of,
        whole=not mandate.fractional,
        accounts=accounts,
        acct_type=acct_type,
        unit_of_acct=unit,
        client_of_acct=client,
        n_unit=n_unit,
        accounts_in_unit=np.bincount(unit, minlength=n_unit),
        classes=classes,
        lots_of=lots_of,
        **arrays,
    )


def _groups(symbols: np.ndarray, fund_groups: FundGroups) -> np.ndarray:
    """Fund group per row, looked up once per distinct symbol."""
    codes, uniques = pd.factorize(symbols)
    table = np.array([fund_groups.group(str(u)) for u in uniques] + [""], dtype=object)
    return table[codes]  # a missing symbol (code -1) takes the empty group


def round_qty(q: np.ndarray, whole: bool, up: bool) -> np.ndarray:
    if whole:
        return np.ceil(q - 1e-9) if up else np.floor(q + 1e-9)
    scale = 1e6
    return (np.ceil(q * scale - 1e-6) if up else np.floor(q * scale + 1e-6)) / scale


def segment_rank(keys: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal keys (keys already sorted)."""
    k = np.asarray(keys)
    n = len(k)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.r_[True, k[1:] != k[:-1]]
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(start, idx, 0))
    return idx - first
