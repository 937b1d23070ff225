"""Look-through for blended funds (data/lookthrough.csv): a world or allocation fund counts in
each asset class by the share it holds there, in current, target and after-trade allocations."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

LOOKTHROUGH_CSV = Path(__file__).resolve().parent.parent / "data" / "lookthrough.csv"


@lru_cache(maxsize=2)
def load_lookthrough(path: str | Path = LOOKTHROUGH_CSV) -> pd.DataFrame:
    """Rows (symbol, asset_class, weight); each fund's weights sum to 1."""
    df = pd.read_csv(path, comment="#", dtype={"symbol": str, "asset_class": str})
    df["symbol"] = df["symbol"].str.strip().str.upper()
    sums = df.groupby("symbol")["weight"].sum()
    bad = sums[(sums - 1.0).abs() > 1e-6]
    if len(bad):
        raise ValueError(f"{path}: weights of {', '.join(bad.index)} do not sum to 1")
    return df.astype({"symbol": object, "asset_class": object})


def class_values(frame: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.Series:
    """Value per asset class of a book frame (`symbol`, `asset_class`, `value`, `is_cash`),
    blended funds spread over their classes."""
    table = load_lookthrough() if table is None else table
    blended = frame["symbol"].isin(table["symbol"]).to_numpy() & ~frame["is_cash"].to_numpy(bool)
    plain = frame.loc[~blended].groupby("asset_class")["value"].sum()
    if not blended.any():
        return plain
    parts = frame.loc[blended, ["symbol", "value"]].merge(table, on="symbol")
    spread = (parts["value"] * parts["weight"]).groupby(parts["asset_class"]).sum()
    return plain.add(spread, fill_value=0.0)


def spread_rows(
    symbols: np.ndarray, table: pd.DataFrame | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, asset class, weight) pieces for the rows of `symbols` that are blended funds."""
    table = load_lookthrough() if table is None else table
    # Object arrays throughout: pandas' string type would convert the whole column each call.
    rows = np.flatnonzero(pd.Index(symbols, dtype=object).isin(table["symbol"]))
    if not len(rows):
        return rows, np.empty(0, dtype=object), np.empty(0)
    sub = pd.DataFrame({"row": rows, "symbol": pd.Series(symbols[rows], dtype=object)}).merge(
        table.astype({"symbol": object}), on="symbol"
    )
    return (
        sub["row"].to_numpy(),
        sub["asset_class"].to_numpy(dtype=object),
        sub["weight"].to_numpy(float),
    )
