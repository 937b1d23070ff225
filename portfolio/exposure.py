"""Sector exposure of a book, by the reference data's sector of each symbol."""

from __future__ import annotations

from collections.abc import Mapping

from portfolio.securities import SecurityMaster


def sector_weights(by_symbol: Mapping[str, float], securities: SecurityMaster) -> dict[str, float]:
    """Symbol weights -> sector weights; funds count under their category (Diversified, ...)."""
    out: dict[str, float] = {}
    for sym, w in by_symbol.items():
        row = securities.get(sym)
        sector = "Unclassified" if row is None else str(row["sector"] or "Unclassified")
        out[sector] = out.get(sector, 0.0) + w
    return {s: w for s, w in out.items() if abs(w) > 1e-6}
