"""Combine two readings of the same client notes into the more protective mandate.

A language model reads notes better than rules do, but it also reads instructions hidden in them.
Its reading may tighten the mandate, never loosen it: for every protective field the stricter of
the two values is kept, and each disagreement is reported so the advisor can settle it.
"""

from __future__ import annotations

from typing import Any

from portfolio.models import ClientMandate, RiskProfile

RISK_ORDER: tuple[RiskProfile, ...] = tuple(RiskProfile)  # most protective (conservative) first

_LABELS: dict[str, str] = {
    "risk_profile": "risk profile",
    "age": "age",
    "horizon_years": "horizon",
    "income_need": "income need",
    "esg_only": "ESG-only",
    "excluded_categories": "excluded categories",
    "excluded_symbols": "excluded symbols",
    "single_name_cap": "single-name cap",
    "cash_floor": "cash floor",
}
_PCT = frozenset({"income_need", "single_name_cap", "cash_floor", "band_abs", "band_rel"})


def _show(name: str, value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in _PCT:
        return f"{float(value) * 100:.4g}%"
    if isinstance(value, list):
        return ", ".join(str(v).replace("_", " ") for v in value) or "none"
    return str(value).replace("_", " ")


def _cap(a: float | None, b: float | None) -> float | None:
    """The lower cap; no cap (None) is the loosest."""
    caps = [c for c in (a, b) if c is not None]
    return min(caps) if caps else None


def stricter(
    a: ClientMandate,
    b: ClientMandate,
    *,
    names: tuple[str, str] = ("the notes' rule reading", "the model's reading"),
) -> tuple[ClientMandate, list[str]]:
    """Field by field, the more protective of `a` and `b`, and one note per field they differ in.

    Protective fields are symmetric: the more conservative risk profile, ESG-only if either asks
    for it, the union of excluded categories and symbols, the lower single-name cap (any cap beats
    none) and the higher cash floor. Descriptive fields have no safer direction, so `a` (the
    desk's rule-based reading, whose every value cites a phrase in the notes) stands: income need
    (a higher one moves the portfolio towards yield, which is not safer in itself), and age and
    horizon unless `a` has none. Every other field (bands, trade minimum, tax and fractional
    flags, the notes text) is `a`'s.
    """
    name_a, name_b = names
    da, db = a.model_dump(), b.model_dump()
    merged: dict[str, Any] = dict(da)
    why: dict[str, str] = {}

    ra, rb = RiskProfile(da["risk_profile"]), RiskProfile(db["risk_profile"])
    merged["risk_profile"] = min(ra, rb, key=RISK_ORDER.index)
    why["risk_profile"] = "the more conservative"
    merged["esg_only"] = da["esg_only"] or db["esg_only"]
    why["esg_only"] = "the stricter: ESG-only if either reading asks for it"
    merged["excluded_categories"] = sorted(
        {str(c) for c in da["excluded_categories"]} | {str(c) for c in db["excluded_categories"]}
    )
    why["excluded_categories"] = "both readings' exclusions"
    merged["excluded_symbols"] = sorted(set(da["excluded_symbols"]) | set(db["excluded_symbols"]))
    why["excluded_symbols"] = "both readings' exclusions"
    merged["single_name_cap"] = _cap(da["single_name_cap"], db["single_name_cap"])
    why["single_name_cap"] = "the lower cap"
    merged["cash_floor"] = max(da["cash_floor"], db["cash_floor"])
    why["cash_floor"] = "the higher floor"
    for f in ("age", "horizon_years"):
        if da[f] is None and db[f] is not None:
            merged[f] = db[f]
            why[f] = f"{name_b}, since {name_a} found none"
        else:
            why[f] = name_a
    for f in da:
        why.setdefault(f, name_a)

    notes: list[str] = []
    for f in da:
        if f == "notes" or _same(da[f], db[f]):
            continue
        label = _LABELS.get(f, f.replace("_", " "))
        notes.append(
            f"{label}: {name_a} says {_show(f, da[f])}, {name_b} says {_show(f, db[f])}; "
            f"kept {_show(f, merged[f])} ({why[f]})."
        )
    return ClientMandate(**merged), notes


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, list) and isinstance(y, list):
        return sorted(map(str, x)) == sorted(map(str, y))
    return bool(x == y)
