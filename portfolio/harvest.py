"""Tax-loss harvesting across a book: lots at a loss in taxable accounts, what selling them saves,
the fund to hold meanwhile, and when buying back is safe.

Wash sales (IRC section 1091; IRS Publication 550, "Wash Sales"): a loss is disallowed when the
taxpayer buys substantially identical securities within 30 days before or after the sale, in any
of their accounts, IRAs included (Rev. Rul. 2008-5). The window is 61 days with the sale in the
middle: a purchase 30 days before the sale (or 30 days after it) is inside, 31 days is outside.
So a sale is flagged when the household's lots show a purchase of the same group in the 30 days up
to the sale (other than the lots sold), and buying the same fund back is safe from the 31st day
after the sale. The replacement is the group's partner fund (data/fund_groups.csv), which tracks a
different index and is not substantially identical.

Only a taxable account's loss is deductible (Publications 550 and 590-B): tax-deferred and
tax-free accounts offer no candidates, though their purchases still count for the window.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from portfolio.book import text_column
from portfolio.book_columns import NO_DATE, LotColumns
from portfolio.fund_groups import FundGroups, load_fund_groups

WASH_WINDOW = timedelta(days=30)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # datetime64's day 0
DEFAULT_TAX_RATE = 0.15  # the long-term capital gains rate most clients pay; configurable

LOT_COLUMNS = [
    "household",
    "account",
    "acct_type",
    "symbol",
    "quantity",
    "cost",
    "acquired",
    "unit_price",
]

HARVEST_COLUMNS = [
    "household",
    "account",
    "symbol",
    "quantity",
    "cost",
    "value",
    "loss",
    "tax_saved",
    "replacement",
    "sell_on",
    "safe_to_rebuy",
    "recent_purchase",
    "wash_risk",
    "harvestable",
]


def in_wash_window(sale: date, purchase: date) -> bool:
    """A purchase within 30 days before or after the sale (both ends included)."""
    return abs((purchase - sale).days) <= WASH_WINDOW.days


def safe_to_rebuy(sale: date) -> date:
    """The first day a substantially identical purchase falls outside the sale's window."""
    return sale + WASH_WINDOW + timedelta(days=1)


def lot_rows(book: pd.DataFrame, lots: LotColumns) -> pd.DataFrame:
    """One row per tax lot of the book's non-cash rows (`pos` indexes the positions of `lots`).

    A position without lots but with a cost basis is one undated lot. The unit price is the
    position's own value over its quantity, so a household is valued at its own custodian's price.
    """
    keep = ~book["is_cash"].to_numpy(bool) & (book["quantity"].to_numpy(float) > 0)
    rows = book.loc[keep]
    pos = rows["pos"].to_numpy(np.int64)
    row_qty = rows["quantity"].to_numpy(float)
    row_cost = rows["cost_basis"].to_numpy(float)
    price = rows["value"].to_numpy(float) / row_qty
    first = lots.start[pos]
    counts = lots.start[pos + 1] - first
    # A position without lots stands as one lot of its own quantity at its stated cost.
    alone = (counts == 0) & ~np.isnan(row_cost)
    n = np.where(alone, 1, counts)
    take = np.repeat(np.arange(len(rows)), n)
    offset = np.arange(len(take)) - np.repeat(np.cumsum(n) - n, n)
    synthetic = alone[take]
    k = np.where(synthetic, 0, first[take] + offset)
    if len(lots.quantity) == 0:  # every lot is a stand-in: nothing to read
        qty, cost, acquired = row_qty[take], row_cost[take], np.full(len(take), NO_DATE)
    else:
        k = np.minimum(k, len(lots.quantity) - 1)
        qty = np.where(synthetic, row_qty[take], lots.quantity[k])
        own_cost = np.where(lots.has_cost_basis[k], lots.cost_basis[k], np.nan)
        cost = np.where(synthetic, row_cost[take], own_cost)
        acquired = np.where(synthetic, NO_DATE, lots.acquired[k])
    dated = acquired != NO_DATE
    days = np.where(dated, acquired - _EPOCH_ORDINAL, 0).astype("datetime64[D]")
    when = np.where(dated, days, np.datetime64("NaT")).astype("datetime64[s]")
    return pd.DataFrame(
        {
            "household": text_column(rows["household"].to_numpy(dtype=object)[take]),
            "account": text_column(rows["account"].to_numpy(dtype=object)[take]),
            "acct_type": text_column(rows["acct_type"].to_numpy(dtype=object)[take]),
            "symbol": text_column(rows["symbol"].to_numpy(dtype=object)[take]),
            "quantity": np.asarray(qty, dtype=float),
            "cost": np.asarray(cost, dtype=float),
            "acquired": pd.Series(when),
            "unit_price": price[take],
        }
    )


def steady_until(lots: pd.DataFrame, sale: date) -> pd.Series:
    """Household -> the first day after `sale` on which `scan` of the same lots may answer
    otherwise; a household whose answer never changes is absent.

    `scan` reads the day only through its look-back: a lot acquired on day a is a recent
    purchase for sales on days a to a + 30. So its answer holds until some lot of the household
    enters that window (day a) or leaves it (day a + 31). The thresholds, prices and tax rate do
    not move with the day."""
    if lots.empty:
        return pd.Series(dtype=object)
    dated = lots[lots["acquired"].notna()]
    sale_ts = pd.Timestamp(sale)
    enter = dated["acquired"]
    leave = enter + WASH_WINDOW + pd.Timedelta(days=1)
    days = pd.concat(
        [
            pd.DataFrame({"household": dated["household"], "day": enter}),
            pd.DataFrame({"household": dated["household"], "day": leave}),
        ]
    )
    days = days[days["day"] > sale_ts]
    return days.groupby("household")["day"].min().dt.date


def scan(
    lots: pd.DataFrame,
    sale: date,
    *,
    tax_rate: float = DEFAULT_TAX_RATE,
    threshold: float = 0.0,
    groups: FundGroups | None = None,
) -> pd.DataFrame:
    """Candidates: per (household, taxable account, symbol), its lots at a loss sold on `sale`.

    `harvestable` means the loss is at least `threshold` dollars and no purchase of the same
    group in the household falls in the 30 days up to the sale (other than the lots sold).
    """
    if not 0 <= tax_rate <= 1:
        raise ValueError(f"tax rate {tax_rate} is not between 0 and 1")
    groups = groups or load_fund_groups()
    if lots.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in HARVEST_COLUMNS})
    lots = lots.assign(
        group=groups.groups(lots["symbol"]).to_numpy(),
        value=lots["quantity"] * lots["unit_price"],
    )
    lots["gain"] = lots["value"] - lots["cost"]
    sale_ts = pd.Timestamp(sale)
    recent = lots["acquired"].notna() & lots["acquired"].between(sale_ts - WASH_WINDOW, sale_ts)
    sold = (lots["acct_type"] == "taxable") & (lots["gain"] < 0)
    # Purchases in the window that are not themselves sold: each would replace the loss.
    buys = lots[recent & ~sold]
    last_buy = buys.groupby(["household", "group"])["acquired"].max()
    cand = lots[sold]
    if cand.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in HARVEST_COLUMNS})
    out = (
        cand.groupby(["household", "account", "symbol", "group"], sort=False)
        .agg(quantity=("quantity", "sum"), cost=("cost", "sum"), value=("value", "sum"))
        .reset_index()
    )
    out["loss"] = (out["cost"] - out["value"]).round(2)
    out["value"] = out["value"].round(2)
    out["tax_saved"] = (out["loss"] * tax_rate).round(2)
    key = pd.MultiIndex.from_arrays([out["household"], out["group"]])
    out["recent_purchase"] = last_buy.reindex(key).dt.date.to_numpy()
    out["wash_risk"] = pd.notna(out["recent_purchase"]).to_numpy(bool)
    out["recent_purchase"] = out["recent_purchase"].where(out["wash_risk"], None)
    out["replacement"] = [groups.partner(s) for s in out["symbol"]]
    out["sell_on"] = sale
    out["safe_to_rebuy"] = safe_to_rebuy(sale)
    out["harvestable"] = ~out["wash_risk"] & (out["loss"] >= threshold) & (out["loss"] > 0)
    out = out.sort_values(["loss"], ascending=False, kind="stable").reset_index(drop=True)
    return out[HARVEST_COLUMNS]
