"""Where price history comes from: the bundled sample snapshot, a prices CSV the advisor uploads,
or (when the network allows) a live source. All return the same wide frame of daily closes
(index: dates ascending, columns: upper-case symbols), so the analysis never cares which it got.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

MARKET_DIR = Path(__file__).resolve().parent.parent / "data" / "market"
BUNDLED_PRICES = MARKET_DIR / "prices.csv"

_DATE_NAMES = ("date", "day", "as_of", "timestamp", "time")
_SYMBOL_NAMES = ("symbol", "ticker", "security")
_CLOSE_NAMES = ("close", "adj_close", "adj close", "adjusted_close", "price", "last")


class MarketDataError(ValueError):
    """A price source could not be used; the message says why in the advisor's terms."""


@runtime_checkable
class MarketDataProvider(Protocol):
    """Anything that can give daily closes for a set of symbols."""

    name: str
    is_sample: bool

    def history(
        self, symbols: Sequence[str], start: date | None = None, end: date | None = None
    ) -> pd.DataFrame: ...


@dataclass
class PriceFrameProvider:
    """A provider over an in-memory frame; the bundled and uploaded sources are both this."""

    frame: pd.DataFrame
    name: str = "prices"
    is_sample: bool = False
    description: str = ""

    def history(
        self, symbols: Sequence[str], start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        wanted = [s.upper() for s in symbols]
        cols = [s for s in wanted if s in self.frame.columns]
        out = self.frame.loc[:, cols]
        if start is not None:
            out = out.loc[out.index >= pd.Timestamp(start)]
        if end is not None:
            out = out.loc[out.index <= pd.Timestamp(end)]
        return out

    @property
    def symbols(self) -> list[str]:
        return list(self.frame.columns)

    @property
    def as_of(self) -> date | None:
        return None if self.frame.empty else self.frame.index.max().date()

    def latest_prices(self, symbols: Sequence[str] | None = None) -> dict[str, float]:
        f = self.frame if symbols is None else self.history(symbols)
        last = f.ffill().iloc[-1] if not f.empty else pd.Series(dtype=float)
        return {str(k): float(v) for k, v in last.dropna().items()}


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_index()
    frame = frame[~frame.index.duplicated(keep="last")]
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    frame = frame.apply(pd.to_numeric, errors="coerce")
    frame = frame.where(frame > 0)
    frame = frame.dropna(axis=1, how="all")
    frame.index.name = "date"
    return frame.astype(float)


def parse_prices_csv(text: str) -> pd.DataFrame:
    """Read closes in either layout: wide (a date column, then one column per symbol) or long
    (date, symbol, close). Lines starting with '#' are comments."""
    try:
        raw = pd.read_csv(io.StringIO(text), comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MarketDataError(f"The prices file could not be read as CSV: {exc}") from exc
    if raw.empty or raw.shape[1] < 2:
        raise MarketDataError("The prices file needs a date column and at least one price column.")
    lower = {str(c).strip().lower(): c for c in raw.columns}
    date_col = next((lower[n] for n in _DATE_NAMES if n in lower), None)
    if date_col is None:
        raise MarketDataError(
            "The prices file has no date column (expected one of: " + ", ".join(_DATE_NAMES) + ")."
        )
    dates = pd.to_datetime(raw[date_col], errors="coerce", format="mixed")
    bad = int(dates.isna().sum())
    if bad == len(raw):
        raise MarketDataError(f"No value in column '{date_col}' is a date.")
    raw = raw.loc[dates.notna()].assign(**{str(date_col): dates[dates.notna()]})
    sym_col = next((lower[n] for n in _SYMBOL_NAMES if n in lower), None)
    if sym_col is not None:
        close_col = next((lower[n] for n in _CLOSE_NAMES if n in lower), None)
        if close_col is None:
            raise MarketDataError(
                "A long-format prices file needs a close column (one of: "
                + ", ".join(_CLOSE_NAMES)
                + ")."
            )
        raw[sym_col] = raw[sym_col].astype(str).str.strip().str.upper()
        wide = raw.pivot_table(index=date_col, columns=sym_col, values=close_col, aggfunc="last")
    else:
        wide = raw.set_index(date_col)
    wide = _tidy(wide)
    if wide.empty or wide.shape[1] == 0:
        raise MarketDataError("The prices file holds no positive prices.")
    if len(wide) < 2:
        raise MarketDataError("The prices file needs at least two dates to measure returns.")
    return wide


def bundled_snapshot(path: str | Path = BUNDLED_PRICES) -> PriceFrameProvider:
    """The sample history shipped in data/market (synthetic; labelled as such wherever shown)."""
    p = Path(path)
    if not p.exists():
        raise MarketDataError(f"The bundled price history is missing ({p.name}).")
    return _cached_bundle(str(p.resolve()), p.stat().st_mtime_ns)


_BUNDLE_CACHE: dict[tuple[str, int], PriceFrameProvider] = {}


def _cached_bundle(path: str, mtime: int) -> PriceFrameProvider:
    key = (path, mtime)
    if key not in _BUNDLE_CACHE:
        frame = parse_prices_csv(Path(path).read_text(encoding="utf-8"))
        _BUNDLE_CACHE.clear()
        _BUNDLE_CACHE[key] = PriceFrameProvider(
            frame,
            name="bundled sample history",
            is_sample=True,
            description="SAMPLE synthetic daily closes generated by data/market/generate.py",
        )
    return _BUNDLE_CACHE[key]


def uploaded_prices(source: bytes | str | Path, filename: str = "") -> PriceFrameProvider:
    """Prices the advisor uploads (bytes from the browser, text, or a path)."""
    if isinstance(source, Path):
        filename = filename or source.name
        source = source.read_bytes()
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = source.decode("latin-1")
    else:
        text = source
    if not text.strip():
        raise MarketDataError("The prices file is empty.")
    return PriceFrameProvider(
        parse_prices_csv(text), name=f"uploaded prices {filename}".strip(), is_sample=False
    )


Fetch = Callable[[str, float], bytes]


def _http_get(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "rebalance-desk/0.1"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


@dataclass
class StooqSource:
    """Live daily closes from Stooq's free CSV endpoint (no key). Used only when asked for and
    when the network allows; any failure is a MarketDataError so callers can fall back."""

    base_url: str = "https://stooq.com/q/d/l/"
    timeout: float = 8.0
    fetch: Fetch = field(default=_http_get, repr=False)
    name: str = "Stooq (live)"
    is_sample: bool = False

    def _symbol(self, symbol: str) -> str:
        return symbol.lower().replace(".", "-") + ".us"

    def history(
        self, symbols: Sequence[str], start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        series: dict[str, pd.Series] = {}
        failures: list[str] = []
        for sym in symbols:
            url = f"{self.base_url}?s={self._symbol(sym)}&i=d"
            try:
                text = self.fetch(url, self.timeout).decode("utf-8", errors="replace")
                frame = parse_prices_csv(text)
            except (urllib.error.URLError, TimeoutError, OSError, MarketDataError) as exc:
                failures.append(f"{sym}: {exc}")
                continue
            close = next((c for c in frame.columns if c == "CLOSE"), frame.columns[-1])
            series[sym.upper()] = frame[close]
        if not series:
            raise MarketDataError("The live price source gave nothing: " + "; ".join(failures[:3]))
        out = _tidy(pd.DataFrame(series))
        if start is not None:
            out = out.loc[out.index >= pd.Timestamp(start)]
        if end is not None:
            out = out.loc[out.index <= pd.Timestamp(end)]
        return out


def with_fallback(primary: MarketDataProvider, fallback: MarketDataProvider) -> MarketDataProvider:
    """Ask `primary`; on failure or missing symbols fill from `fallback`, saying so in the name."""
    return _FallbackProvider(primary, fallback)


@dataclass
class _FallbackProvider:
    primary: MarketDataProvider
    fallback: MarketDataProvider
    name: str = ""
    is_sample: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = f"{self.primary.name} (gaps from {self.fallback.name})"
        self.is_sample = self.primary.is_sample

    def history(
        self, symbols: Sequence[str], start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        try:
            got = self.primary.history(symbols, start, end)
        except MarketDataError as exc:
            self.notes.append(str(exc))
            self.is_sample = self.fallback.is_sample
            self.name = self.fallback.name
            return self.fallback.history(symbols, start, end)
        missing = [s.upper() for s in symbols if s.upper() not in got.columns]
        if missing:
            self.notes.append("From the fallback source: " + ", ".join(missing))
            extra = self.fallback.history(missing, start, end)
            got = got.join(extra, how="outer") if not got.empty else extra
        return got
