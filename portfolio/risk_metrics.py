"""Price-history and concentration measures the market analyst and risk assessor report.

Inputs are wide price frames (index: dates ascending, columns: symbols). Everything is
vectorised over symbols; annualisation assumes 252 trading days.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

TRADING_DAYS = 252
WINDOWS: dict[str, int] = {"1m": 21, "3m": 63, "6m": 126, "12m": 252}


def daily_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Simple daily returns; the first row (no prior close) is dropped."""
    return prices.sort_index().pct_change(fill_method=None).iloc[1:]


def trailing_returns(prices: pd.DataFrame, windows: Mapping[str, int] = WINDOWS) -> pd.DataFrame:
    """Symbol x window total return over the last n trading days (NaN when history is shorter)."""
    p = prices.sort_index()
    last = p.ffill().iloc[-1]
    out = {}
    for name, n in windows.items():
        out[name] = last / p.iloc[-n - 1] - 1 if len(p) > n else pd.Series(np.nan, index=p.columns)
    return pd.DataFrame(out)


def annualised_volatility(prices: pd.DataFrame, window: int = TRADING_DAYS) -> pd.Series:
    """Standard deviation of the last `window` daily returns, annualised."""
    r = daily_returns(prices).iloc[-window:]
    return r.std(ddof=1) * np.sqrt(TRADING_DAYS)


def drawdowns(prices: pd.DataFrame) -> pd.DataFrame:
    """Fall from the running peak at each date (0 at a new high, negative below it)."""
    p = prices.sort_index().ffill()
    return p / p.cummax() - 1


def max_drawdown(prices: pd.DataFrame) -> pd.Series:
    """Worst peak-to-trough fall over the whole history (a negative fraction)."""
    return drawdowns(prices).min()


def current_drawdown(prices: pd.DataFrame) -> pd.Series:
    return drawdowns(prices).iloc[-1]


def momentum(prices: pd.DataFrame, lookback: int = TRADING_DAYS, skip: int = 21) -> pd.Series:
    """Classic 12-1 momentum: return from `lookback` days ago to `skip` days ago, so the latest
    month's reversal does not dominate."""
    p = prices.sort_index().ffill()
    if len(p) <= lookback:
        return pd.Series(np.nan, index=p.columns)
    return p.iloc[-skip - 1] / p.iloc[-lookback - 1] - 1


def correlation_matrix(prices: pd.DataFrame, window: int = TRADING_DAYS) -> pd.DataFrame:
    return daily_returns(prices).iloc[-window:].corr()


def average_pairwise_correlation(corr: pd.DataFrame) -> float:
    """Mean of the off-diagonal correlations; NaN with fewer than two series."""
    a = corr.to_numpy()
    n = a.shape[0]
    if n < 2:
        return float("nan")
    mask = ~np.eye(n, dtype=bool)
    return float(np.nanmean(a[mask]))


def portfolio_volatility(
    weights: Mapping[str, float], prices: pd.DataFrame, window: int = TRADING_DAYS
) -> float:
    """Annualised volatility of the weighted portfolio from the covariance of daily returns.

    Symbols without history are left out (their weight is simply not at risk in the estimate);
    cash-like series with zero variance contribute nothing.
    """
    syms = [s for s in weights if s in prices.columns]
    if not syms:
        return 0.0
    r = daily_returns(prices[syms]).iloc[-window:].fillna(0.0)
    w = np.array([weights[s] for s in syms], dtype=float)
    cov = (
        np.cov(r.to_numpy(), rowvar=False, ddof=1)
        if len(syms) > 1
        else np.array([[r.iloc[:, 0].var(ddof=1)]])
    )
    return float(np.sqrt(max(w @ cov @ w, 0.0) * TRADING_DAYS))


def portfolio_drawdown(weights: Mapping[str, float], prices: pd.DataFrame) -> tuple[float, float]:
    """(max drawdown, current drawdown) of today's weights held through the whole history."""
    syms = [s for s in weights if s in prices.columns]
    if not syms:
        return 0.0, 0.0
    r = daily_returns(prices[syms]).fillna(0.0)
    w = pd.Series({s: weights[s] for s in syms})
    total = w.sum()
    if total <= 0:
        return 0.0, 0.0
    growth = (1 + r @ (w / total)).cumprod()
    dd = growth / growth.cummax().clip(lower=1.0) - 1
    return float(dd.min()), float(dd.iloc[-1])


def hhi(weights: Mapping[str, float] | pd.Series) -> float:
    """Herfindahl-Hirschman index of the weights (renormalised to sum to 1): 1/N for N equal
    positions, 1.0 for a single one."""
    w = pd.Series(weights, dtype=float)
    w = w[w > 0]
    if w.empty:
        return 0.0
    w = w / w.sum()
    return float((w**2).sum())


def effective_positions(weights: Mapping[str, float] | pd.Series) -> float:
    h = hhi(weights)
    return 1.0 / h if h > 0 else 0.0


def sector_concentration(weights: Mapping[str, float], sectors: Mapping[str, str]) -> pd.Series:
    """Weight per sector, largest first; symbols with no sector fall under 'Unknown'."""
    w = pd.Series(weights, dtype=float)
    keys = [sectors.get(s) or "Unknown" for s in w.index]
    return w.groupby(keys).sum().sort_values(ascending=False)


def group_index(prices: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Equal-weight daily-rebalanced index per group (e.g. asset class), starting at 1.0."""
    r = daily_returns(prices)
    cols = [c for c in r.columns if c in groups]
    if not cols:
        return pd.DataFrame(index=prices.index)
    g = r[cols].T.groupby([groups[c] for c in cols]).mean().T
    first = pd.DataFrame(0.0, index=prices.index[:1], columns=g.columns)
    return (1 + pd.concat([first, g])).cumprod()
