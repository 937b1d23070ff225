"""Generate data/market/prices.csv: a SAMPLE, SYNTHETIC daily price history for every symbol in
data/securities.csv. It is not market data: it exists so the market analyst and the risk assessor
have a realistic history to measure offline.

A fixed-seed factor model gives each asset class a plausible drift, volatility and correlation
(equity market, rates, credit, commodities, regional and sector factors plus idiosyncratic noise),
with one stress episode so drawdowns are meaningful. Each path is scaled so its last close equals
the security's reference price on its price_as_of date.

Run from the repository root:  python data/market/generate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from portfolio.securities import SECURITIES_CSV, SecurityMaster  # noqa: E402

SEED = 20250630
YEARS = 3
OUT = Path(__file__).resolve().parent / "prices.csv"
DT = 1 / 252

# Annualised drift and volatility of the common factors.
FACTORS: dict[str, tuple[float, float]] = {
    "equity": (0.07, 0.15),
    "rates": (0.00, 0.055),
    "credit": (0.01, 0.03),
    "commodity": (0.03, 0.16),
    "small": (-0.01, 0.09),
    "intl": (0.01, 0.08),
    "emerging": (-0.01, 0.12),
    "reit": (-0.01, 0.12),
    "inflation": (0.00, 0.02),
}
FACTOR_CORR = {
    ("equity", "rates"): 0.15,
    ("equity", "commodity"): 0.25,
    ("rates", "reit"): 0.3,
    ("equity", "credit"): 0.4,
    ("rates", "inflation"): -0.2,
}

# Stock sectors: equity beta, extra loadings, sector factor vol, idiosyncratic vol.
SECTORS: dict[str, tuple[float, dict[str, float], float, float]] = {
    "Information Technology": (1.25, {}, 0.12, 0.24),
    "Communication Services": (1.1, {}, 0.10, 0.24),
    "Consumer Discretionary": (1.15, {}, 0.10, 0.25),
    "Financials": (1.05, {"rates": -0.3}, 0.09, 0.18),
    "Industrials": (1.0, {}, 0.08, 0.18),
    "Health Care": (0.75, {}, 0.08, 0.2),
    "Consumer Staples": (0.6, {"rates": 0.2}, 0.07, 0.15),
    "Energy": (0.8, {"commodity": 0.6}, 0.12, 0.2),
    "Utilities": (0.5, {"rates": 0.6}, 0.08, 0.14),
    "Materials": (1.0, {"commodity": 0.3}, 0.09, 0.2),
    "Real Estate": (0.8, {"reit": 0.8, "rates": 0.4}, 0.06, 0.18),
}
SECTOR_DRIFT = {
    "Information Technology": 0.06,
    "Communication Services": 0.04,
    "Energy": -0.05,
    "Health Care": -0.04,
    "Utilities": 0.02,
    "Consumer Staples": -0.01,
}

# Funds by asset class: loadings on the factors and a small tracking noise.
CLASS_LOADINGS: dict[str, dict[str, float]] = {
    "us_equity": {"equity": 1.0},
    "us_small_cap": {"equity": 1.15, "small": 1.0},
    "intl_equity": {"equity": 0.8, "intl": 1.0},
    "emerging_equity": {"equity": 0.85, "emerging": 1.0},
    "real_estate": {"equity": 0.75, "reit": 1.0, "rates": 0.5},
    "us_bonds": {"rates": 1.0, "credit": 0.2},
    "treasuries": {"rates": 1.0},
    "tips": {"rates": 0.8, "inflation": 1.0},
    "municipals": {"rates": 0.9, "credit": 0.2},
    "high_yield": {"equity": 0.25, "rates": 0.4, "credit": 1.0},
    "intl_bonds": {"rates": 0.9},
    "commodities": {"commodity": 1.0},
}
CLASS_CARRY = {
    "us_bonds": 0.035,
    "treasuries": 0.03,
    "tips": 0.025,
    "municipals": 0.03,
    "high_yield": 0.06,
    "intl_bonds": 0.03,
    "cash": 0.045,
}
DURATION = {
    "TLT": 2.8,
    "IEF": 1.3,
    "SHY": 0.3,
    "VGSH": 0.3,
    "SCHO": 0.3,
    "GOVT": 1.0,
    "SUSB": 0.5,
    "VTIP": 0.4,
    "SCHP": 1.1,
    "TIP": 1.1,
}
GOLD = {"GLD", "IAU"}


def _factor_returns(rng: np.random.Generator, n: int, stress: np.ndarray) -> pd.DataFrame:
    names = list(FACTORS)
    corr = np.eye(len(names))
    for (a, b), rho in FACTOR_CORR.items():
        i, j = names.index(a), names.index(b)
        corr[i, j] = corr[j, i] = rho
    z = rng.standard_normal((n, len(names))) @ np.linalg.cholesky(corr).T
    drift = np.array([FACTORS[k][0] for k in names])
    vol = np.array([FACTORS[k][1] for k in names])
    shock = np.where(np.isin(names, ["equity", "small", "emerging", "reit", "commodity"]), 1, 0)
    scale = 1 + (stress[:, None] - 1) * np.where(np.array(names) == "rates", 0.5, 1.0)
    r = (drift - 0.5 * vol**2) * DT + vol * np.sqrt(DT) * z * scale
    # The stress episode also drags risk assets down (about -15% for the market over its span).
    r -= (stress[:, None] > 1) * shock * 0.0045
    return pd.DataFrame(r, columns=names)


def _loadings(row: pd.Series) -> tuple[dict[str, float], float, float, str | None, float]:
    """Factor loadings, carry, idiosyncratic vol, sector and sector-factor vol of one symbol."""
    cls, sym = str(row["asset_class"]), str(row["symbol"])
    if row["kind"] == "stock":
        beta, extra, sector_vol, idio = SECTORS.get(str(row["sector"]), (1.0, {}, 0.08, 0.2))
        load = {"equity": beta, **extra}
        if cls == "real_estate":
            load = {"equity": 0.7, "reit": 1.0, "rates": 0.4}
        return load, SECTOR_DRIFT.get(str(row["sector"]), 0.0), idio, str(row["sector"]), sector_vol
    if cls == "cash":
        return {}, CLASS_CARRY["cash"], 0.0, None, 0.0
    load = dict(CLASS_LOADINGS.get(cls, {"equity": 1.0}))
    if sym in DURATION:
        load["rates"] = DURATION[sym]
    if sym in GOLD:
        load = {"commodity": 0.6, "inflation": 2.0}
    if str(row["sector"]) == "Energy" or sym == "XLE":
        load = {"equity": 0.8, "commodity": 0.6}
    return load, CLASS_CARRY.get(cls, 0.0), 0.006, None, 0.0


def generate(securities_csv: Path = SECURITIES_CSV, seed: int = SEED) -> pd.DataFrame:
    sec = SecurityMaster.from_csv(securities_csv).frame
    end = pd.Timestamp(pd.to_datetime(sec["price_as_of"]).max())
    dates = pd.bdate_range(end - pd.DateOffset(years=YEARS), end)
    n = len(dates)
    rng = np.random.default_rng(seed)
    stress = np.ones(n)
    start = n - 70  # a sharp spring sell-off about three months before the end, then recovery
    stress[start : start + 25] = 2.2
    factors = _factor_returns(rng, n, stress)
    sector_factors = {
        s: rng.standard_normal(n) * v[2] * np.sqrt(DT) * stress for s, v in SECTORS.items()
    }
    closes: dict[str, np.ndarray] = {}
    for sym, row in sec.iterrows():
        load, carry, idio, sector, _ = _loadings(row)
        r = np.full(n, carry * DT)
        for f, w in load.items():
            r = r + w * factors[f].to_numpy()
        if sector is not None and sector in sector_factors:
            r = r + sector_factors[sector]
        if idio:
            r = r + rng.standard_normal(n) * idio * np.sqrt(DT) - 0.5 * idio**2 * DT
        ref = float(row["price"])
        if row["kind"] == "money_market":
            closes[str(sym)] = np.full(n, ref)
            continue
        log_path = np.cumsum(r)
        as_of = pd.Timestamp(row["price_as_of"])
        anchor = int(dates.searchsorted(as_of, side="right") - 1)
        closes[str(sym)] = ref * np.exp(log_path - log_path[max(anchor, 0)])
    frame = pd.DataFrame(closes, index=dates)
    frame.index.name = "date"
    return frame


def write(frame: pd.DataFrame, path: Path = OUT, seed: int = SEED) -> None:
    header = (
        "# SAMPLE DATA - SYNTHETIC, NOT REAL MARKET PRICES.\n"
        f"# Generated by data/market/generate.py with seed {seed} from data/securities.csv:\n"
        "# daily closes (business days) for every symbol, ending on the reference-price date\n"
        "# and equal to the reference price there. For offline analysis and demos only.\n"
    )
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        frame.to_csv(fh, float_format="%.6g", date_format="%Y-%m-%d", lineterminator="\n")


if __name__ == "__main__":
    prices = generate()
    write(prices)
    print(f"wrote {OUT.relative_to(ROOT)}: {prices.shape[0]} days x {prices.shape[1]} symbols")
