"""The practice view: every household of a book at a glance, computed on one frame.

All households' positions are one enriched frame with a `household` column; class values,
targets, bands, caps, cash and harvestable losses are grouped operations on it, never a loop of
engine calls. The figures are those the engine starts from: class weights against the model's
targets (cash floor and income reserve applied, unbuyable sleeves moved as the engine moves them)
and the 5/25 band of `targets.band_width`. Sorting by need puts out-of-band households first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from portfolio.accounts import account_types as resolve_account_types
from portfolio.book import enrich, text_column
from portfolio.book_columns import BookColumns, LotColumns, book_columns
from portfolio.book_table import SUMMARY_COLUMNS, filter_summary
from portfolio.fund_groups import FundGroups
from portfolio.gc_pause import gc_paused
from portfolio.harvest import DEFAULT_TAX_RATE, lot_rows, scan, steady_until
from portfolio.lookthrough import load_lookthrough
from portfolio.model_portfolios import load_model
from portfolio.models import AssetClass, CashRequest, ClientMandate, Holdings
from portfolio.planner import sleeve_vehicles
from portfolio.securities import SecurityMaster, load_securities
from portfolio.targets import reassign_unbuyable, target_weights

CASH = AssetClass.CASH.value


class HouseholdBook(BaseModel):
    """One household of a book: its holdings, its mandate, and what the ledger says of it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    name: str = ""
    holdings: Holdings
    mandate: ClientMandate = Field(default_factory=ClientMandate)
    account_types: dict[str, str] = Field(default_factory=dict)
    advisor: str | None = None
    client_id: int | None = None
    last_run: str | None = None
    last_status: str | None = None
    cash_requests: list[CashRequest] = Field(
        default_factory=list, description="The client's withdrawals and deposits on record"
    )


@dataclass
class BookView:
    """The summary (one row per household), the drift matrix and the harvesting candidates."""

    summary: pd.DataFrame
    drift: pd.DataFrame  # households x asset classes: current weight minus target
    harvest: pd.DataFrame
    # Household -> the first later day its harvesting figures may differ (absent: never).
    steady_until: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))


def _mandate_key(m: ClientMandate) -> tuple:
    return (
        str(m.risk_profile),
        max(m.cash_floor, m.income_need),
        m.esg_only,
        tuple(sorted(m.screened_categories)),
        tuple(m.excluded_symbols),
    )


_SEP = "\x1f"


@lru_cache(maxsize=4096)
def _types_from_names(accounts: tuple[str, ...]) -> dict[str, str]:
    return dict(resolve_account_types(accounts)[0])


def household_targets(
    mandates: Sequence[ClientMandate], securities: SecurityMaster
) -> pd.DataFrame:
    """Households (by position) x classes: target weights, computed once per distinct mandate.

    As the engine: the income reserve (a year of the need) raises the cash floor, and a sleeve
    no fund meeting the mandate's screens can fill moves to the sleeve the planner chooses.
    """
    cache: dict[tuple, dict[str, float]] = {}
    rows: list[dict[str, float]] = []
    for m in mandates:
        key = _mandate_key(m)
        if key not in cache:
            model = load_model(m.risk_profile)
            floor = max(m.cash_floor, m.income_need)
            plan = m.model_copy(update={"cash_floor": min(floor, 1.0)})
            weights = target_weights(model, plan)
            _, moves = sleeve_vehicles(model, m, securities)
            weights, _ = reassign_unbuyable(weights, moves)
            cache[key] = weights
        rows.append(cache[key])
    return pd.DataFrame(rows).fillna(0.0)


def columns_frame(cols: BookColumns, securities: SecurityMaster) -> pd.DataFrame:
    """Every household's positions in one enriched frame (`household`, `acct_type` added)."""
    start = cols.household_start.tolist()
    accounts_col = cols.positions["account"].to_numpy(dtype=object)
    types: dict[str, str] = {}
    for h, hid in enumerate(cols.ids):
        accounts = tuple(dict.fromkeys(accounts_col[start[h] : start[h + 1]].tolist()))
        custodian, overrides = cols.custodian_types[h], cols.overrides[h]
        if custodian or overrides:
            resolved = resolve_account_types(accounts, custodian=custodian, overrides=overrides)[0]
        else:  # the common case: types from the names alone, the same for many households
            resolved = _types_from_names(accounts)
        types.update({f"{hid}{_SEP}{a}": t for a, t in resolved.items()})
    book = enrich(cols.positions.drop(columns="hh"), securities, ClientMandate())
    ids = np.asarray(cols.ids, dtype=object)
    book["household"] = text_column(ids[cols.positions["hh"].to_numpy()], index=book.index)
    keys = book["household"].to_numpy(dtype=object) + _SEP + book["account"].to_numpy(dtype=object)
    book["acct_type"] = pd.Series(keys, index=book.index).map(types).fillna("taxable")
    return book


def household_class_values(book: pd.DataFrame) -> pd.DataFrame:
    """Households x classes: value, blended funds spread over what they hold."""
    table = load_lookthrough()
    blended = book["symbol"].isin(table["symbol"]).to_numpy() & ~book["is_cash"].to_numpy(bool)
    plain = book.loc[~blended].groupby(["household", "asset_class"])["value"].sum()
    if blended.any():
        parts = book.loc[blended, ["household", "symbol", "value"]].merge(table, on="symbol")
        parts["value"] = parts["value"] * parts["weight"]
        plain = plain.add(parts.groupby(["household", "asset_class"])["value"].sum(), fill_value=0)
    return plain.unstack(fill_value=0.0)


@gc_paused()
def summarise(
    households: Sequence[HouseholdBook],
    *,
    as_of: date | None = None,
    securities: SecurityMaster | None = None,
    tax_rate: float = DEFAULT_TAX_RATE,
    harvest_threshold: float = 1_000.0,
    groups: FundGroups | None = None,
) -> BookView:
    """The book view of `households` on `as_of` (the day a harvesting sale would be made)."""
    return summarise_columns(
        book_columns(households),
        as_of=as_of,
        securities=securities,
        tax_rate=tax_rate,
        harvest_threshold=harvest_threshold,
        groups=groups,
        last_run=[h.last_run for h in households],
        last_status=[h.last_status for h in households],
    )


@gc_paused()
def summarise_columns(
    cols: BookColumns,
    *,
    as_of: date | None = None,
    securities: SecurityMaster | None = None,
    tax_rate: float = DEFAULT_TAX_RATE,
    harvest_threshold: float = 1_000.0,
    groups: FundGroups | None = None,
    last_run: Sequence[str | None] | None = None,
    last_status: Sequence[str | None] | None = None,
) -> BookView:
    """`summarise` of a book read into columns (`households.household_columns`): a practice's
    whole export summarised without one object per position."""
    securities = securities or load_securities()
    as_of = as_of or date.today()
    ids = cols.ids
    if len(set(ids)) != len(ids):
        raise ValueError("two households share an id")
    if not ids:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
        return BookView(empty, pd.DataFrame(), scan(pd.DataFrame(), as_of))
    distinct = [cols.mandate(k) for k in range(len(cols.mandates))]
    mandates = [distinct[k] for k in cols.mandate_of.tolist()]
    book = columns_frame(cols, securities)
    index = pd.Index(ids, name="household")
    values = household_class_values(book).reindex(index, fill_value=0.0)
    total = book.groupby("household")["value"].sum().reindex(index, fill_value=0.0)

    targets = household_targets(mandates, securities)
    targets.index = index
    classes = list(dict.fromkeys([*targets.columns, *values.columns]))
    values = values.reindex(columns=classes, fill_value=0.0)
    targets = targets.reindex(columns=classes, fill_value=0.0)
    tot = total.to_numpy(float)
    safe = np.where(tot > 0, tot, 1.0)[:, None]
    weight = values.to_numpy(float) / safe
    drift = weight - targets.to_numpy(float)
    band_abs = np.array([m.band_abs for m in mandates])[:, None]
    band_rel = np.array([m.band_rel for m in mandates])[:, None]
    t = targets.to_numpy(float)
    band = np.where(t > 0, np.minimum(band_abs, band_rel * t), band_abs)
    ratio = np.abs(drift) / band
    out = ratio > 1 + 1e-9
    worst = np.argmax(ratio, axis=1)
    rows = np.arange(len(ids))

    cash_k = classes.index(CASH) if CASH in classes else None
    cash_above = (
        np.maximum(0.0, drift[:, cash_k] - band[:, cash_k]) * tot
        if cash_k is not None
        else np.zeros(len(ids))
    )

    # Single names over the cap: one stock's weight across all of the household's accounts.
    caps = pd.Series([m.single_name_cap for m in mandates], index=index, dtype=float)
    names = book[book["single_name"].to_numpy(bool)]
    by_name = names.groupby(["household", "symbol"])["value"].sum().reset_index()
    by_name["w"] = by_name["value"] / total.reindex(by_name["household"]).to_numpy()
    by_name["cap"] = caps.reindex(by_name["household"]).to_numpy()
    breaches = (
        by_name[by_name["w"] > by_name["cap"] + 1e-9].groupby("household").size()
        if len(by_name)
        else pd.Series(dtype=int)
    )

    # Without lot arrays (a plan's layout), each position stands as its stated cost alone.
    no_lots = LotColumns.of([[]] * len(cols.positions))
    lots = lot_rows(book, cols.lots if cols.lots is not None else no_lots)
    harvest = scan(
        lots,
        as_of,
        tax_rate=tax_rate,
        threshold=harvest_threshold,
        groups=groups,
    )
    ok = harvest[harvest["harvestable"].astype(bool)] if len(harvest) else harvest
    loss = ok.groupby("household")["loss"].sum() if len(ok) else pd.Series(dtype=float)
    saved = ok.groupby("household")["tax_saved"].sum() if len(ok) else pd.Series(dtype=float)

    n_cap = breaches.reindex(index, fill_value=0).to_numpy(int)
    summary = pd.DataFrame(
        {
            "household": ids,
            "name": cols.names if cols.names is not None else ids,
            "advisor": cols.advisors if cols.advisors is not None else [None] * len(ids),
            "value": np.round(tot, 2),
            "worst_class": [classes[k] for k in worst],
            "worst_drift": drift[rows, worst],
            "worst_band": band[rows, worst],
            # Need: the worst drift in bands, plus one per cap breach and for cash above band.
            "need": ratio[rows, worst] + n_cap + (cash_above > 0),
            "out_of_band": out.sum(axis=1).astype(int),
            "cap_breaches": n_cap,
            "cash_above_band": np.round(cash_above, 2),
            "harvestable_loss": loss.reindex(index, fill_value=0.0).round(2).to_numpy(),
            "tax_saved": saved.reindex(index, fill_value=0.0).round(2).to_numpy(),
            "last_run": list(last_run) if last_run is not None else [None] * len(ids),
            "last_status": list(last_status) if last_status is not None else [None] * len(ids),
        }
    )
    summary = summary.sort_values(
        ["need", "value"], ascending=[False, False], kind="stable"
    ).reset_index(drop=True)
    drift_frame = pd.DataFrame(drift, index=index, columns=classes)
    return BookView(summary, drift_frame, harvest, steady_until(lots, as_of))


__all__ = [
    "SUMMARY_COLUMNS",
    "BookView",
    "HouseholdBook",
    "columns_frame",
    "filter_summary",
    "household_class_values",
    "household_targets",
    "summarise",
    "summarise_columns",
]
