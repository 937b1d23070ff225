"""How asset classes and amounts are written for a person, in reasons, tables and charts."""

from __future__ import annotations

CLASS_LABELS: dict[str, str] = {
    "us_equity": "US equity",
    "us_small_cap": "US small cap",
    "intl_equity": "International equity",
    "emerging_equity": "Emerging-market equity",
    "us_bonds": "US bonds",
    "treasuries": "Treasuries",
    "tips": "TIPS",
    "municipals": "Municipal bonds",
    "high_yield": "High yield",
    "intl_bonds": "International bonds",
    "real_estate": "Real estate",
    "commodities": "Commodities",
    "cash": "Cash",
    "unclassified": "Unclassified",
}
# Chart axes have less room.
SHORT_LABELS: dict[str, str] = {
    **CLASS_LABELS,
    "intl_equity": "Intl equity",
    "emerging_equity": "Emerging equity",
    "intl_bonds": "Intl bonds",
    "municipals": "Munis",
}


def class_label(cls: str, short: bool = False) -> str:
    names = SHORT_LABELS if short else CLASS_LABELS
    return names.get(cls, cls.replace("_", " ").capitalize())


def money(x: float) -> str:
    """Dollars and cents with the sign in front: -$1,595.00, not $-1,595.00."""
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"
