"""Reference data as plain dicts for the importer's per-symbol questions.

`SecurityMaster.get` is a DataFrame row lookup, fine for a trade ticket and far too slow once per
position of a practice-sized book; these dicts are built once per reference table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from portfolio.securities import SecurityMaster


@dataclass(frozen=True)
class Reference:
    kind: dict[str, str]
    asset_class: dict[str, str]
    price: dict[str, float]
    as_of: date

    def known(self, symbol: str) -> bool:
        return symbol.upper() in self.kind


_CACHE: dict[int, tuple[SecurityMaster, Reference]] = {}


def reference(securities: SecurityMaster) -> Reference:
    """The dicts for this table (kept while the table is alive: keyed by identity)."""
    hit = _CACHE.get(id(securities))
    if hit is not None and hit[0] is securities:
        return hit[1]
    frame = securities.frame
    symbols = [str(s).upper() for s in frame.index]
    prices = {
        s: float(p)
        for s, p in zip(symbols, frame["price"].tolist(), strict=True)
        if p is not None and isinstance(p, int | float) and math.isfinite(p)
    }
    ref = Reference(
        kind=dict(zip(symbols, frame["kind"].astype(str).tolist(), strict=True)),
        asset_class=dict(zip(symbols, frame["asset_class"].astype(str).tolist(), strict=True)),
        price=prices,
        as_of=securities.as_of,
    )
    if len(_CACHE) >= 8:
        _CACHE.clear()
    _CACHE[id(securities)] = (securities, ref)
    return ref
