"""Recognise rows that are in the table but are not holdings: totals, pending activity, cash lines,
disclaimers. Each phrase is one a custodian really writes; they are applied to every format because
real files mix conventions (a Schwab file re-saved by a plain spreadsheet keeps its total rows).
"""

from __future__ import annotations

import re
from datetime import date

from portfolio.importers.headers import normalize
from portfolio.importers.text import line_offset

SUMMARY_WORDS = frozenset(
    {
        "account total",
        "account totals",
        "total",
        "totals",
        "grand total",
        "subtotal",
        "sub total",
        "positions total",
        "total positions",
        "portfolio total",
        "total portfolio",
        "total account value",
        "accounts total",
        "total market value",
        "net account value",
        "total value",
        "portfolio value",
        "total portfolio value",
    }
)

# Symbol cells that mean "this row is the account's cash" (Schwab, E*TRADE, plain sheets).
CASH_WORDS = frozenset(
    {
        "cash",
        "cash cash investments",
        "cash and cash investments",
        "cash money market",
        "cash and money market",
        "cash balance",
        "cash sweep",
        "cash sweep vehicle",
        "cash equivalents",
        "cash and sweep",
        "core cash",
        "usd cash",
        "cash usd",
        "money market sweep",
        "sweep",
        "cash investments",
    }
)

# Symbol cells that mean cash only when the row gives a value and no quantity: "USD" and "CORE"
# are also tickers, so a row with a share count keeps them as securities.
VALUE_ONLY_CASH_WORDS = frozenset(
    {
        "usd",
        "us dollar",
        "us dollars",
        "money market",
        "money markets",
        "money market fund",
        "money market funds",
        "core",
        "core position",
        "cash and equivalents",
        "cash cash equivalents",
        "bank sweep",
        "bank deposit sweep",
        "fdic sweep",
        "deposit sweep",
        "sweep account",
        "cash reserves",
    }
)

FOOTER_PREFIXES = (
    "the data and information",
    "brokerage services",
    "date downloaded",
    "generated at",
    "downloaded on",
    "data as of",
    "as of",
    "information provided",
    "this information",
    "these figures",
    "fidelity brokerage",
    "fidelity investments",
    "charles schwab",
    "schwab",
    "e trade",
    "etrade",
    "vanguard brokerage",
    "interactive brokers",
    "all data",
    "values are",
    "prices are",
    "securities products",
    "investment products",
    "not fdic",
    "disclaimer",
    "important",
    "note",
    "notes",
    "footnote",
    "for more information",
    "please",
    "copyright",
    "quotes",
    "market data",
    "total may",
)

_TITLE_RE = re.compile(r"^positions\s+for\s+(?:account\s+)?(.+?)\s+as\s+of\b", re.IGNORECASE)


def is_summary(text: str) -> bool:
    low = text.lower()
    if "total" not in low and "net account" not in low and "portfolio value" not in low:
        return False
    n = normalize(text)
    return n in SUMMARY_WORDS or n.startswith("account total")


def is_cash_word(text: str) -> bool:
    low = text.lower()
    if "cash" not in low and "sweep" not in low:
        return False
    return normalize(text) in CASH_WORDS


def is_value_only_cash_word(text: str) -> bool:
    """A cash word that is only cash on a value-only row (see VALUE_ONLY_CASH_WORDS)."""
    return normalize(text) in VALUE_ONLY_CASH_WORDS


def is_pending(text: str) -> bool:
    return "pending" in text.lower() and normalize(text).startswith("pending activity")


def is_footer(text: str) -> bool:
    """A disclaimer, download stamp or other prose line (never a holding)."""
    n = normalize(text)
    if any(n == p or n.startswith(p + " ") for p in FOOTER_PREFIXES):
        return True
    words = n.split()
    return len(words) >= 6 and len(text) >= 40


def is_prose(text: str) -> bool:
    """Looks like words rather than a symbol: has spaces and is long for a ticker."""
    return " " in text.strip() and len(text.strip()) > 20


def title_account(text: str) -> str | None:
    """Schwab title `Positions for account Individual ...123 as of 08:15 PM ET, 2025/01/17`."""
    m = _TITLE_RE.match(text.strip())
    if not m:
        return None
    account = m.group(1).strip()
    if normalize(account).startswith("all accounts"):
        return None
    return account


# Schwab's title line states the positions' date: `... as of 10:27 AM ET, 2025/06/30`.
_TITLE_DATE_RE = re.compile(
    r"^\W*positions\s+for\s+.+?\s+as\s+of\b.*?(\d{4})/(\d{1,2})/(\d{1,2})", re.IGNORECASE
)


def title_date(text: str) -> date | None:
    """The date a Schwab title line states, searched in the file's first lines only."""
    # Each "\n" ends one line for splitlines, so a prefix holding five has the first five whole.
    for line in text[: line_offset(text, 5)].splitlines()[:5]:
        m = _TITLE_DATE_RE.match(line.strip())
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    return None


def is_title(text: str) -> bool:
    return bool(_TITLE_RE.match(text.strip())) or normalize(text).startswith("positions for")
