import numpy as np
import pandas as pd
import pytest

from portfolio import risk_metrics as rm


def _frame(**cols: list[float]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame(cols, index=pd.bdate_range("2024-01-01", periods=n))


def test_trailing_returns_and_short_history() -> None:
    p = _frame(A=list(np.linspace(100, 125, 300)))
    tr = rm.trailing_returns(p, {"1m": 21, "12m": 252, "5y": 1260})
    assert tr.loc["A", "1m"] == pytest.approx(125 / p["A"].iloc[-22] - 1)
    assert tr.loc["A", "12m"] == pytest.approx(125 / p["A"].iloc[-253] - 1)
    assert np.isnan(tr.loc["A", "5y"])


def test_volatility_of_alternating_returns() -> None:
    prices = [100.0]
    for i in range(252):
        prices.append(prices[-1] * (1.01 if i % 2 == 0 else 0.99))
    r = pd.Series(prices).pct_change().dropna()
    vol = rm.annualised_volatility(_frame(A=prices))
    assert vol["A"] == pytest.approx(r.std(ddof=1) * np.sqrt(252))
    assert rm.annualised_volatility(_frame(C=[1.0] * 50))["C"] == 0.0


def test_drawdowns() -> None:
    p = _frame(A=[100, 120, 90, 60, 80, 130, 117])
    assert rm.max_drawdown(p)["A"] == pytest.approx(60 / 120 - 1)
    assert rm.current_drawdown(p)["A"] == pytest.approx(117 / 130 - 1)
    assert rm.drawdowns(p)["A"].iloc[1] == 0.0


def test_momentum_skips_the_last_month() -> None:
    p = _frame(A=list(range(1, 301)))
    m = rm.momentum(p, lookback=252, skip=21)
    assert m["A"] == pytest.approx(p["A"].iloc[-22] / p["A"].iloc[-253] - 1)
    assert np.isnan(rm.momentum(p.iloc[:100])["A"])


def test_correlation_and_average() -> None:
    rng = np.random.default_rng(1)
    a = 100 * np.cumprod(1 + rng.normal(0, 0.01, 300))
    b = 100 * np.cumprod(1 + rng.normal(0, 0.01, 300))
    p = _frame(A=list(a), A2=list(a * 2), B=list(b))
    c = rm.correlation_matrix(p)
    assert c.loc["A", "A2"] == pytest.approx(1.0)
    assert abs(c.loc["A", "B"]) < 0.2
    assert rm.average_pairwise_correlation(c) == pytest.approx(
        (c.loc["A", "A2"] + c.loc["A", "B"] + c.loc["A2", "B"]) / 3
    )
    assert np.isnan(rm.average_pairwise_correlation(c.loc[["A"], ["A"]]))


def test_portfolio_volatility_matches_the_textbook_formula() -> None:
    rng = np.random.default_rng(2)
    r = rng.normal(0, [0.01, 0.02], size=(400, 2))
    p = pd.DataFrame(
        100 * np.cumprod(1 + r, axis=0),
        columns=["X", "Y"],
        index=pd.bdate_range("2023-01-02", periods=400),
    )
    w = {"X": 0.6, "Y": 0.4}
    rets = rm.daily_returns(p).iloc[-252:]
    expected = np.sqrt(np.array([0.6, 0.4]) @ rets.cov().to_numpy() @ np.array([0.6, 0.4]) * 252)
    assert rm.portfolio_volatility(w, p) == pytest.approx(expected)
    assert rm.portfolio_volatility({"X": 1.0}, p) == pytest.approx(rm.annualised_volatility(p)["X"])
    assert rm.portfolio_volatility({"Z": 1.0}, p) == 0.0


def test_portfolio_drawdown() -> None:
    p = _frame(A=[100, 50, 100], B=[100, 100, 100])
    mdd, now = rm.portfolio_drawdown({"A": 0.5, "B": 0.5}, p)
    assert mdd == pytest.approx(-0.25)
    assert now == pytest.approx(0.0, abs=1e-12) or now > 0


def test_hhi_and_effective_positions() -> None:
    assert rm.hhi({"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}) == pytest.approx(0.25)
    assert rm.hhi({"A": 5.0}) == 1.0
    assert rm.hhi({}) == 0.0
    assert rm.effective_positions({"A": 0.5, "B": 0.5}) == pytest.approx(2.0)


def test_sector_concentration() -> None:
    s = rm.sector_concentration({"A": 0.5, "B": 0.3, "C": 0.2}, {"A": "Tech", "B": "Tech"})
    assert s.to_dict() == {"Tech": pytest.approx(0.8), "Unknown": pytest.approx(0.2)}


def test_group_index() -> None:
    p = _frame(A=[100, 110], B=[100, 90], C=[10, 20])
    idx = rm.group_index(p, {"A": "eq", "B": "eq", "C": "bd"})
    assert idx["eq"].tolist() == pytest.approx([1.0, 1.0])
    assert idx["bd"].tolist() == pytest.approx([1.0, 2.0])
