"""Name the custodian from the file's content; the filename is only a tie-breaker hint."""

from __future__ import annotations

from portfolio.importers.headers import normalize
from portfolio.importers.text import Record

IBKR_KINDS = frozenset({"Header", "Data", "Total", "SubTotal", "Notes", "MetaInfo"})


def is_ibkr(records: list[Record]) -> bool:
    """IBKR statements: every line is `Section,Header|Data|Total|SubTotal,...`."""
    rows = [r for r in records[:400] if not r.blank and not r.error]
    if not rows:
        return False
    tagged = [r for r in rows if len(r.stripped) >= 2 and r.stripped[1] in IBKR_KINDS]
    has_header = any(r.stripped[1] == "Header" for r in tagged)
    return has_header and len(tagged) >= 0.6 * len(rows)


def detect_format(
    header_cells: list[str], preamble: list[str], records: list[Record], filename: str
) -> str:
    header = {normalize(c) for c in header_cells}
    raw_header = " ".join(header_cells).lower()
    pre = [normalize(p) for p in preamble]
    if any(p.startswith("positions for") for p in pre) or "mkt val (market value)" in raw_header:
        return "schwab"
    if "security type" in raw_header and _has_schwab_rows(records):
        return "schwab"
    if "investment name" in header and ({"share price", "total value", "shares"} & header):
        return "vanguard"
    if ("current value" in header and "last price" in header) and (
        {"account number", "account name", "account name number"} & header
    ):
        return "fidelity"
    if "price paid" in header or any(
        p.startswith(("account summary", "view summary")) for p in pre
    ):
        return "etrade"
    if "value $" in raw_header and "last price $" in raw_header:
        return "etrade"
    hint = filename.lower()
    for name, fmt in (
        ("portfolio_positions", "fidelity"),
        ("portfoliodownload", "etrade"),
        ("ofxdownload", "vanguard"),
    ):
        if name in hint and fmt != "plain":
            return fmt
    return "plain"


def _has_schwab_rows(records: list[Record]) -> bool:
    """Schwab's `Cash & Cash Investments` or `Account Total` row among the first cells."""
    symbols = {
        normalize(r.stripped[i])
        for r in records[:5000]
        for i in range(min(3, len(r.stripped)))
        if r.stripped[i]
    }
    return bool({"cash cash investments", "account total"} & symbols)
