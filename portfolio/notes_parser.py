"""Rule-based reading of an advisor's free-text client notes into a `ClientMandate`.

The offline risk profiler uses this so the crew works with no model at all; every field it sets
records the phrase that set it, so the advisor can see why and correct it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel, Field

from portfolio.models import ClientMandate, ExclusionCategory, RiskProfile

_NUM = r"(\d{1,3}(?:\.\d+)?)"
_NEG = r"(?:no|avoid(?:s|ing)?|exclud(?:e|es|ing)|without|never|divest(?:s|ing)?(?:\s+from)?|screen(?:s|ing)?\s+out|not?\s+(?:own|hold|buy|invest\s+in)|don'?t\s+(?:own|hold|buy|want))"  # noqa: E501

# Order matters: compound phrases before their parts.
_RISK_RULES: list[tuple[str, RiskProfile]] = [
    (
        r"moderately[- ]conservative|conservative[- ]to[- ]moderate|cautious",
        RiskProfile.MODERATELY_CONSERVATIVE,
    ),
    (
        r"moderately[- ]aggressive|moderate[- ]to[- ]aggressive|growth(?:[- ]oriented)?",
        RiskProfile.MODERATELY_AGGRESSIVE,
    ),
    (
        r"very\s+conservative|risk[- ]averse|low[- ]risk|capital\s+preservation|conservative",
        RiskProfile.CONSERVATIVE,
    ),
    (r"aggressive|high[- ]risk|maximum\s+growth|speculative", RiskProfile.AGGRESSIVE),
    (r"moderate|balanced|medium[- ]risk", RiskProfile.MODERATE),
]

_CATEGORY_WORDS: dict[ExclusionCategory, str] = {
    ExclusionCategory.TOBACCO: r"tobacco|cigarettes?|smoking",
    ExclusionCategory.FOSSIL_FUELS: r"fossil[- ]fuels?|oil(?:\s+(?:and|&)\s+gas)?|coal|petroleum",
    ExclusionCategory.WEAPONS: r"weapons?|firearms?|guns?|arms\s+makers?|defen[cs]e\s+(?:stocks|contractors)",  # noqa: E501
    ExclusionCategory.GAMBLING: r"gambling|casinos?|betting|gaming",
}

_NOT_TICKERS = frozenset(
    {
        "ESG",
        "ETF",
        "ETFS",
        "USD",
        "IRA",
        "ROTH",
        "SRI",
        "CASH",
        "MAX",
        "NO",
        "AND",
        "OR",
        "THE",
        "A",
        "I",
        "IN",
        "ANY",
        "ALL",
        "US",
        "USA",
        "REIT",
        "REITS",
        "K",
        "CD",
        "CDS",
        "EM",
    }
)


class NotesParse(BaseModel):
    """The mandate the notes imply, with the phrase behind each field the rules set."""

    mandate: ClientMandate
    evidence: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)

    @property
    def recognised(self) -> list[str]:
        return sorted(self.evidence)


def _pct(text: str) -> float:
    return round(float(text) / 100.0, 6)


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, flags=re.IGNORECASE)


def _age(text: str) -> tuple[int, str] | None:
    for pat in (
        r"\bclient\s*(?:is\s*)?[:,\-]?\s*(\d{2})\b(?!\s*%)",
        r"\bage[d]?\s*:?\s*(\d{2})\b",
        r"\b(\d{2})\s*[- ]?(?:years?|yrs?)[- ]old\b",
        r"\b(\d{2})\s*(?:yo|y/o)\b",
        r"\b(?:is|he's|she's|they're)\s+(\d{2})\b(?!\s*%)(?!\s*(?:years?|yrs?)\b(?![- ]old))",
    ):
        m = _search(pat, text)
        if m and 16 <= int(m.group(1)) <= 110:
            return int(m.group(1)), m.group(0)
    return None


def _horizon(text: str, age: int | None, today: date) -> tuple[float, str] | None:
    m = _search(r"\bretir\w*\s+in\s+(\d{4})\b", text) or _search(r"\bin\s+(\d{4})\b", text)
    if m and today.year <= int(m.group(1)) <= today.year + 80:
        return float(int(m.group(1)) - today.year), m.group(0)
    for pat in (
        r"\bretir\w*\s+in\s+(?:about\s+|around\s+|roughly\s+)?" + _NUM + r"\s*(?:years?|yrs?)",
        r"\b" + _NUM + r"[- ]?(?:years?|yrs?)[- ]+(?:investment\s+|time\s+)?horizon",
        r"\bhorizon\s*(?:of|:|is)?\s*(?:about\s+)?" + _NUM + r"\s*(?:years?|yrs?)",
        r"\b(?:needs?|need\s+the\s+money|withdraw\w*)\s+in\s+" + _NUM + r"\s*(?:years?|yrs?)",
        r"\b" + _NUM + r"\s*(?:years?|yrs?)\s+(?:to|until|from)\s+retire",
    ):
        m = _search(pat, text)
        if m:
            return float(m.group(1)), m.group(0)
    m = _search(r"\bretir\w*\s+at\s+(\d{2})\b", text)
    if m and age is not None and int(m.group(1)) >= age:
        return float(int(m.group(1)) - age), m.group(0)
    return None


def _risk(text: str) -> tuple[RiskProfile, str] | None:
    best: tuple[int, RiskProfile, str] | None = None
    for pat, profile in _RISK_RULES:
        for m in re.finditer(r"\b(?:" + pat + r")\b", text, flags=re.IGNORECASE):
            before = text[max(0, m.start() - 12) : m.start()].lower()
            if re.search(r"\bnot\s+(?:too\s+|very\s+)?$", before):
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), profile, m.group(0))
            break
    return (best[1], best[2]) if best else None


def _income(text: str) -> tuple[float, str] | None:
    for pat in (
        _NUM + r"\s*%\s*(?:\w+\s+){0,3}?(?:income|yield|distributions?|payout|withdrawals?)",
        r"(?:income|yield|distributions?|payout|withdraw\w*)\s+(?:\w+\s+){0,4}?" + _NUM + r"\s*%",
    ):
        m = _search(pat, text)
        if m:
            return _pct(m.group(1)), m.group(0)
    return None


def _single_name_cap(text: str) -> tuple[float, str] | None:
    pats = (
        r"(?:max(?:imum)?|cap(?:ped)?|limit(?:ed)?|no\s+more\s+than|at\s+most|up\s+to)\s*(?:of\s+|at\s+)?"
        + _NUM
        + r"\s*%\s*(?:\w+\s+){0,3}?(?:single[- ]names?|per\s+(?:name|stock|issuer|company|position)"
        r"|(?:in\s+)?(?:any\s+)?(?:one|single|individual)\s+(?:stock|name|issuer|company|position|holding))",
        r"(?:single[- ]names?|single[- ]stock|per[- ](?:name|stock|position)|any\s+one\s+(?:stock|name))"  # noqa: E501
        r"\s*(?:cap|limit|max(?:imum)?)?\s*(?:of|at|:)?\s*" + _NUM + r"\s*%",
        r"(?:cap|limit)\s+(?:each\s+|any\s+)?(?:single\s+)?(?:stock|name|position|holding)s?\s+(?:at|to)\s+"
        + _NUM
        + r"\s*%",
    )
    for pat in pats:
        m = _search(pat, text)
        if m:
            return _pct(m.group(1)), m.group(0)
    return None


def _cash_floor(text: str) -> tuple[float, str] | None:
    for pat in (
        r"(?:keep|hold|maintain|leave)\s+(?:at\s+least\s+|a\s+)?" + _NUM + r"\s*%\s*(?:in\s+)?cash",
        _NUM + r"\s*%\s*cash\s*(?:buffer|reserve|floor|cushion|minimum)",
        r"cash\s*(?:buffer|reserve|floor|cushion|minimum)\s*(?:of|:)?\s*(?:at\s+least\s+)?"
        + _NUM
        + r"\s*%",
        r"(?:min(?:imum)?|at\s+least)\s+" + _NUM + r"\s*%\s*(?:in\s+)?cash",
    ):
        m = _search(pat, text)
        if m:
            return _pct(m.group(1)), m.group(0)
    return None


def _exclusions(text: str) -> tuple[list[ExclusionCategory], dict[str, str]]:
    found: list[ExclusionCategory] = []
    evidence: dict[str, str] = {}
    for cat, words in _CATEGORY_WORDS.items():
        m = _search(r"\b" + _NEG + r"\b[^.;\n]{0,40}?\b(?:" + words + r")\b", text) or _search(
            r"\b(?:" + words + r")[- ]free\b", text
        )
        if m:
            found.append(cat)
            evidence[f"exclude:{cat.value}"] = m.group(0)
    return found, evidence


def _excluded_symbols(text: str, known: set[str] | None) -> tuple[list[str], dict[str, str]]:
    symbols: list[str] = []
    evidence: dict[str, str] = {}
    for m in re.finditer(
        r"\b(?i:"
        + _NEG
        + r")\s+((?:[A-Z]{1,5}(?:\.[A-Z])?)(?:\s*(?:,|and|or|/)\s*[A-Z]{1,5}(?:\.[A-Z])?)*)\b",
        text,
    ):
        for sym in re.findall(r"[A-Z]{1,5}(?:\.[A-Z])?", m.group(1)):
            if sym in _NOT_TICKERS or (known is not None and sym not in known):
                continue
            if sym not in symbols:
                symbols.append(sym)
                evidence[f"exclude:{sym}"] = m.group(0)
    return symbols, evidence


def parse_notes(
    text: str,
    *,
    today: date | None = None,
    known_symbols: Iterable[str] | None = None,
    base: ClientMandate | None = None,
) -> NotesParse:
    """Read what the rules recognise; anything else stays at `base` (or the mandate defaults).

    `known_symbols` restricts ticker exclusions ("no XOM") to real symbols so capitalised
    words are not mistaken for tickers.
    """
    today = today or date.today()
    known = {s.upper() for s in known_symbols} if known_symbols is not None else None
    fields: dict[str, object] = base.model_dump() if base else {}
    evidence: dict[str, str] = {}
    warnings: list[str] = []
    flat = " ".join(text.split())

    if hit := _age(flat):
        fields["age"], evidence["age"] = hit
    if hit := _horizon(flat, fields.get("age"), today):  # type: ignore[arg-type]
        fields["horizon_years"], evidence["horizon_years"] = hit
    if hit := _risk(flat):
        fields["risk_profile"], evidence["risk_profile"] = hit
    if hit := _income(flat):
        if hit[0] > 0.25:
            warnings.append(f"Income need '{hit[1]}' is above 25% a year; ignored.")
        else:
            fields["income_need"], evidence["income_need"] = hit
    esg = _search(
        r"\besg(?:[- ]only)?\b|\bsustainab\w+|\bsocially\s+responsible|\bSRI\b"
        r"|\bimpact\s+invest\w*",
        flat,
    )
    if esg and not _search(r"\b(?:no|not|without)\s+(?:need\s+for\s+)?(?:an?\s+)?esg\b", flat):
        fields["esg_only"], evidence["esg_only"] = True, esg.group(0)
    if hit := _single_name_cap(flat):
        if hit[0] <= 0:
            warnings.append(f"Single-name cap '{hit[1]}' must be above 0%; ignored.")
        else:
            fields["single_name_cap"], evidence["single_name_cap"] = hit
    if hit := _cash_floor(flat):
        fields["cash_floor"], evidence["cash_floor"] = hit
    cats, ev = _exclusions(flat)
    if cats:
        prior = [str(c) for c in fields.get("excluded_categories", [])]  # type: ignore[union-attr]
        fields["excluded_categories"] = sorted(set(prior) | {c.value for c in cats})
        evidence.update(ev)
    syms, ev = _excluded_symbols(flat, known)
    if syms:
        prior = list(fields.get("excluded_symbols", []))  # type: ignore[call-overload]
        fields["excluded_symbols"] = sorted(set(prior) | set(syms))
        evidence.update(ev)
    if m := _search(
        r"\b(?:ira|roth|401\(?k\)?|403\(?b\)?|tax[- ](?:deferred|exempt|free)\s+account)", flat
    ):
        fields["tax_aware"], evidence["tax_aware"] = False, m.group(0)
    elif m := _search(
        r"\btax[- ](?:aware|sensitive|efficient)|\btaxable\s+account|\bcapital\s+gains", flat
    ):
        fields["tax_aware"], evidence["tax_aware"] = True, m.group(0)
    frac = _search(r"\bfractional\s+shares?\b", flat)
    if frac and not _search(r"\bno\s+fractional", flat):
        fields["fractional"], evidence["fractional"] = True, frac.group(0)

    fields["notes"] = text.strip()
    return NotesParse(mandate=ClientMandate(**fields), evidence=evidence, warnings=warnings)
