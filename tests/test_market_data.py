import importlib.util
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio import risk_metrics as rm
from portfolio.market_data import (
    BUNDLED_PRICES,
    MarketDataError,
    PriceFrameProvider,
    StooqSource,
    bundled_snapshot,
    parse_prices_csv,
    uploaded_prices,
    with_fallback,
)
from portfolio.securities import load_securities

ROOT = Path(__file__).resolve().parent.parent


def test_bundle_is_labelled_sample() -> None:
    head = BUNDLED_PRICES.read_text(encoding="utf-8").splitlines()[0]
    assert "SAMPLE" in head and "SYNTHETIC" in head
    assert (ROOT / "data" / "market" / "README.md").read_text().count("synthetic") >= 1
    assert bundled_snapshot().is_sample


def test_bundle_covers_every_security_and_ends_at_reference_prices() -> None:
    sec = load_securities().frame
    prov = bundled_snapshot()
    assert set(sec.index) <= set(prov.symbols)
    assert str(prov.as_of) == str(sec["price_as_of"].max())
    last = prov.latest_prices()
    for sym, row in sec.iterrows():
        assert last[sym] == pytest.approx(float(row["price"]), rel=1e-5), sym
    years = (prov.frame.index[-1] - prov.frame.index[0]).days / 365.25
    assert 2.9 < years < 3.1


def test_bundle_is_reproducible_from_its_generator() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "data" / "market" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(gen)
    fresh = gen.generate()
    stored = bundled_snapshot().frame
    assert list(fresh.columns) == list(stored.columns)
    np.testing.assert_allclose(fresh.to_numpy(), stored.to_numpy(), rtol=1e-5)


def test_bundle_statistics_are_asset_class_aware() -> None:
    prov = bundled_snapshot()
    vol = rm.annualised_volatility(prov.history(["VTI", "BND", "SHY", "TLT", "NVDA", "SPY", "IVV"]))
    assert vol["BND"] < vol["VTI"] < vol["NVDA"]
    assert vol["SHY"] < vol["TLT"]
    corr = rm.correlation_matrix(prov.history(["SPY", "IVV", "BND"]))
    assert corr.loc["SPY", "IVV"] > 0.95
    assert abs(corr.loc["SPY", "BND"]) < 0.5


def test_uploaded_wide_and_long_layouts_agree() -> None:
    wide = "Date,AAPL,msft\n2025-01-02,100,200\n2025-01-03,101,202\n2025-01-06,,204\n"
    long = (
        "# my closes\nticker,date,close\nAAPL,2025-01-02,100\nMSFT,2025-01-02,200\n"
        "AAPL,2025-01-03,101\nMSFT,2025-01-03,202\nMSFT,2025-01-06,204\n"
    )
    a, b = uploaded_prices(wide.encode()), uploaded_prices(long, filename="x.csv")
    pd.testing.assert_frame_equal(a.frame, b.frame, check_freq=False)
    assert a.latest_prices() == {"AAPL": 101.0, "MSFT": 204.0}
    assert not a.is_sample
    assert list(a.history(["msft"], start=pd.Timestamp("2025-01-03").date()).index.day) == [3, 6]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("symbol,close\nAAPL,1\n", "date column"),
        ("date,AAPL\nnot a date,1\n", "is a date"),
        ("date,AAPL\n2025-01-02,1\n", "two dates"),
        ("date,AAPL\n2025-01-02,-1\n2025-01-03,0\n", "no positive"),
        ("date,symbol,volume\n2025-01-02,AAPL,5\n", "close column"),
    ],
)
def test_bad_uploads_say_why(text: str, message: str) -> None:
    with pytest.raises(MarketDataError, match=message):
        uploaded_prices(text)


def test_parse_keeps_last_duplicate_date() -> None:
    f = parse_prices_csv("date,X\n2025-01-02,1\n2025-01-02,2\n2025-01-03,3\n")
    assert f["X"].tolist() == [2.0, 3.0]


class _Stooq(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if "aapl.us" in self.path:
            body = (
                b"Date,Open,High,Low,Close,Volume\n"
                b"2025-06-27,1,1,1,200,5\n2025-06-30,1,1,1,205.17,5\n"
            )
            self.send_response(200)
        else:
            body = b"No data"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_live_source_over_http_and_fallback() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stooq)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live = StooqSource(
            base_url=f"http://127.0.0.1:{server.server_address[1]}/q/d/l/", timeout=5
        )
        got = live.history(["AAPL"])
        assert got["AAPL"].iloc[-1] == pytest.approx(205.17)
        with pytest.raises(MarketDataError, match="gave nothing"):
            live.history(["ZZZZ"])
        both = with_fallback(live, bundled_snapshot())
        mixed = both.history(["AAPL", "MSFT"])
        assert {"AAPL", "MSFT"} <= set(mixed.columns)
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_live_source_falls_back_to_the_bundle() -> None:
    dead = StooqSource(base_url="http://127.0.0.1:9/", timeout=0.5)
    prov = with_fallback(dead, bundled_snapshot())
    got = prov.history(["VTI"])
    assert "VTI" in got.columns and prov.is_sample and "bundled" in prov.name


def test_frame_provider_ignores_unknown_symbols() -> None:
    p = PriceFrameProvider(
        pd.DataFrame({"A": [1.0, 2.0]}, index=pd.bdate_range("2025-01-01", periods=2))
    )
    assert list(p.history(["A", "B"]).columns) == ["A"]
