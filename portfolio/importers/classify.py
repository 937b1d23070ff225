"""Give every position an asset class: the reference data for a known symbol (a file that
disagrees about the broad family gets a warning), else the file's own asset-class column, else its
security-type column, else "unclassified".

A security-type column (Schwab's "Security Type", IBKR's "Asset Category") names a product kind
("Equity", "Stocks") rather than an allocation sleeve, so reference data outranks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from portfolio.importers.headers import normalize
from portfolio.importers.reference import reference
from portfolio.models import BOND_CLASSES, EQUITY_CLASSES, AssetClass, ImportIssue, Position
from portfolio.securities import SecurityMaster

_A = AssetClass
_VALUES = frozenset(c.value for c in AssetClass)
_TEXT: dict[str, AssetClass] = {
    **{normalize(c.value): c for c in AssetClass if c is not AssetClass.UNCLASSIFIED},
    **{
        w: _A.US_EQUITY
        for w in (
            "equity",
            "equities",
            "stock",
            "stocks",
            "us equity",
            "us equities",
            "us stock",
            "us stocks",
            "u s equity",
            "u s stocks",
            "domestic equity",
            "domestic stock",
            "domestic stocks",
            "large cap",
            "us large cap",
            "large cap equity",
            "common stock",
            "common stocks",
        )
    },
    **{
        w: _A.US_SMALL_CAP
        for w in (
            "small cap",
            "us small cap",
            "small cap equity",
            "small cap stocks",
            "small mid cap",
        )
    },
    **{
        w: _A.INTL_EQUITY
        for w in (
            "international",
            "intl",
            "international equity",
            "international equities",
            "international stock",
            "international stocks",
            "intl equity",
            "foreign equity",
            "foreign stock",
            "foreign stocks",
            "developed markets",
            "developed international",
            "global ex us",
            "non us equity",
        )
    },
    **{
        w: _A.EMERGING_EQUITY
        for w in (
            "emerging",
            "emerging markets",
            "emerging market",
            "emerging markets equity",
            "em equity",
            "emerging equity",
        )
    },
    **{
        w: _A.US_BONDS
        for w in (
            "bond",
            "bonds",
            "fixed income",
            "us bonds",
            "us bond",
            "aggregate bond",
            "aggregate bonds",
            "core bond",
            "core bonds",
            "investment grade",
            "corporate bonds",
            "taxable bonds",
            "us fixed income",
        )
    },
    **{
        w: _A.TREASURIES
        for w in (
            "treasury",
            "treasuries",
            "us treasury",
            "us treasuries",
            "government bonds",
            "government",
            "govt bonds",
            "us government",
        )
    },
    **{w: _A.TIPS for w in ("tips", "inflation protected", "inflation protected bonds")},
    **{
        w: _A.MUNICIPALS
        for w in ("muni", "munis", "municipal", "municipals", "municipal bonds", "tax exempt")
    },
    **{w: _A.HIGH_YIELD for w in ("high yield", "high yield bonds", "junk bonds")},
    **{
        w: _A.INTL_BONDS
        for w in (
            "international bonds",
            "intl bonds",
            "global bonds",
            "foreign bonds",
            "international fixed income",
            "emerging markets bonds",
        )
    },
    **{w: _A.REAL_ESTATE for w in ("real estate", "reit", "reits", "real estate investment trust")},
    **{
        w: _A.COMMODITIES
        for w in ("commodities", "commodity", "gold", "precious metals", "natural resources")
    },
    **{
        w: _A.CASH
        for w in (
            "cash",
            "money market",
            "money markets",
            "cash equivalents",
            "cash and equivalents",
            "cash and money market",
            "cash money market",
            "cash and cash investments",
            "cash cash investments",
            "money market funds",
            "cash and sweep",
        )
    },
}


def class_from_text(text: str) -> AssetClass | None:
    """Map free text ("Fixed Income", "Real Estate", "us_equity") to an AssetClass, or None."""
    return _TEXT.get(normalize(text)) if text else None


def _family(cls: str) -> str:
    if cls in EQUITY_CLASSES:
        return "equity"
    if cls in BOND_CLASSES:
        return "bonds"
    return cls


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the reference data and the file's hints make of one non-cash holding."""

    is_cash: bool
    asset_class: str
    disagreement: str | None  # the warning when the file names another family
    known: bool  # in the reference data


def judge(
    symbol: str,
    class_text: str,
    type_text: str,
    is_cash: bool,
    kinds: dict[str, str],
    classes: dict[str, str],
) -> Verdict:
    kind = kinds.get(symbol.upper())
    if kind == "money_market" or is_cash:
        return Verdict(True, AssetClass.CASH, None, kind is not None)
    from_file = class_from_text(class_text) if class_text else None
    from_ref = classes.get(symbol.upper()) if kind is not None else None
    if from_ref is not None and from_ref not in _VALUES:
        from_ref = None
    # For a known security the reference data wins: a file cannot make a stock a bond.
    chosen = from_ref or from_file or class_from_text(type_text) or AssetClass.UNCLASSIFIED
    disagreement = None
    if from_ref and from_file and _family(from_ref) != _family(str(from_file)):
        disagreement = (
            f"{symbol}: the file calls it '{class_text}', the reference data "
            f"{from_ref.replace('_', ' ')}; the reference data was used"
        )
    return Verdict(False, str(chosen), disagreement, kind is not None)


def unknown_message(symbol: str, asset_class: str) -> str:
    return f"{symbol} is not in the reference data; kept, classified as {asset_class}, never traded"


def classify(
    positions: list[Position],
    hints: list[tuple[str, str]],
    securities: SecurityMaster | None,
) -> list[ImportIssue]:
    """Set asset_class and is_cash in place; warn once per symbol the reference data lacks."""
    issues: list[ImportIssue] = []
    warned: set[str] = set()
    ref = reference(securities) if securities is not None else None
    kinds = ref.kind if ref is not None else {}
    classes = ref.asset_class if ref is not None else {}
    for pos, (class_text, type_text) in zip(positions, hints, strict=True):
        v = judge(pos.symbol, class_text, type_text, pos.is_cash, kinds, classes)
        if v.is_cash:
            if not pos.is_cash:
                pos.is_cash = True
            pos.asset_class = AssetClass.CASH
            continue
        pos.asset_class = v.asset_class
        line = pos.lines[0] if pos.lines else None
        if v.disagreement:
            issues.append(ImportIssue(line=line, severity="warning", message=v.disagreement))
        if securities is not None and not v.known and pos.symbol not in warned:
            warned.add(pos.symbol)
            issues.append(
                ImportIssue(
                    line=line,
                    severity="warning",
                    message=unknown_message(pos.symbol, pos.asset_class),
                )
            )
    return issues
