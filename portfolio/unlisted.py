"""Classes for holdings the reference data lacks, read from the identifier and the description.

Nothing held is left out: a security the desk does not know still counts in totals and weights,
in the class its identifier or description makes plain. US Treasury securities all carry CUSIPs
with the issuer number 912 (bills 912796/912797, notes 912828/91282C, bonds 912810, STRIPS
912803/912820/912833/912834); custodians list bonds and CDs by CUSIP when they have no ticker.
A CUSIP's ninth character is a check digit (the modulus-10 "double-add-double" of the first
eight, CUSIP Global Services), which keeps account numbers and tickers from passing as CUSIPs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portfolio.models import AssetClass

# Where the holding lands when nothing identifies it; the model has no "other" sleeve, so it is
# the unclassified class, counted in totals and never traded.
OTHER_CLASS: str = str(getattr(AssetClass, "OTHER", AssetClass.UNCLASSIFIED))
TREASURY_ISSUER = "912"

_CUSIP = re.compile(r"[0-9]{3}[0-9A-Z]{5}[0-9]")
_TIPS = re.compile(
    r"\bTIPS\b|\bTII\b|INFLATION[\s-]*(?:PROTECTED|PROTECTION|INDEXED|LINKED|ADJUSTED)"
    r"|\bINFL(?:ATION)?\s*(?:IDX|INDX|INDEX|PROT|LKD)"
)
_TREASURY = re.compile(
    r"\bUNITED\s+STATES\s+TREAS"
    r"|\bU\.?\s?S\.?\s+(?:TREAS(?:URY)?|TSY)\b"
    r"|\bTREAS(?:URY)?\.?\s+(?:BILLS?|NOTES?|BONDS?|BDS?|NTS?|STRIPS?|INFLATION|INFL)\b"
    r"|(?<![&\w])T-?(?:BILLS?|NOTES?|BONDS?)\b"
)
_MONEY_MARKET = re.compile(r"MONEY\s+MA?R?KE?T|\bMMF\b|\bMONEY\s+FUND\b")
_MUNICIPAL = re.compile(
    r"\bMUNI(?:CIPAL)?S?\b|\bREV(?:ENUE)?\s+(?:BDS?|BONDS?|REF|RFDG)\b"
    r"|\bG\.?\s?O\.?\s+(?:BDS?|BONDS?|REF|UNLTD|LTD)\b|\bSCH(?:OOL)?\s+DIST\b|\bTAX[\s-]?EXEMPT\b"
)
_BOND_WORD = re.compile(
    r"\b(?:BONDS?|BDS?|NOTES?|NTS?|DEBENTURES?|DEB|MTN|SR\s+UNSEC(?:URED)?|FIXED\s+INCOME"
    r"|CERT(?:IFICATE)?S?\s+OF\s+DEP(?:OSIT)?|BROKERED\s+CD|CD)\b"
)
# A coupon ("4.25%", "4 1/4%", "4.250") followed somewhere by a maturity ("05/15/2031",
# "DUE 2031", "15MAY31").
_COUPON_MATURITY = re.compile(
    r"\d+(?:\.\d+|\s+\d/\d+)?\s*%.*?(?:\b\d{1,2}/\d{1,2}/\d{2,4}\b|\bDUE\s+\d|\b(?:19|20)\d\d\b"
    r"|\b\d{1,2}[A-Z]{3}\d{2,4}\b)"
)
_NOT_A_BOND = re.compile(r"\bETN\b|EXCHANGE[\s-]+TRADED\s+NOTES?")
_HIGH_YIELD = re.compile(r"HIGH[\s-]+YIELD|\bJUNK\b")
_FOREIGN = re.compile(r"\bINTERNATIONAL\b|\bINTL\b|\bGLOBAL\b|\bEMERGING\b|\bEX[\s-]?U\.?S\b")


@dataclass(frozen=True)
class Classification:
    """The class given to a holding, what it rests on, and a warning when nothing identified it."""

    asset_class: str
    basis: str
    warning: str | None = None


def cusip_check_digit(base: str) -> int:
    """Check digit of an eight-character CUSIP base (digits, letters A=10..Z=35, *, @, #)."""
    total = 0
    for i, ch in enumerate(base.upper()):
        if ch.isdigit():
            v = int(ch)
        elif "A" <= ch <= "Z":
            v = ord(ch) - ord("A") + 10
        else:
            v = {"*": 36, "@": 37, "#": 38}.get(ch, 0)
        if i % 2:
            v *= 2
        total += v // 10 + v % 10
    return (10 - total % 10) % 10


def is_cusip(text: str) -> bool:
    """Nine characters of CUSIP shape whose check digit is right."""
    s = (text or "").strip().upper()
    return bool(_CUSIP.fullmatch(s)) and cusip_check_digit(s[:8]) == int(s[8])


def _cusips_in(symbol: str, description: str) -> list[str]:
    words = [symbol, *re.findall(r"[0-9A-Z]{9}", description)]
    return [w for w in words if is_cusip(w)]


def classify_unlisted(
    symbol: str, description: str = "", file_class: str | None = None
) -> Classification:
    """The class of a security the reference data lacks.

    Precedence: a Treasury (or TIPS) identified by CUSIP or description; then a class the file
    states (`file_class`, unless unclassified); then a money-market fund, a municipal bond or
    another identifiable bond by description or CUSIP; otherwise "other", with a warning.
    """
    sym = (symbol or "").strip().upper()
    text = " ".join((description or "").upper().split())
    cusips = _cusips_in(sym, text)
    treasury_cusip = next((c for c in cusips if c.startswith(TREASURY_ISSUER)), None)
    tips = bool(_TIPS.search(text))
    if treasury_cusip or _TREASURY.search(text):
        if tips:
            return Classification(
                AssetClass.TIPS.value, "a US Treasury inflation-protected security"
            )
        basis = (
            f"a US Treasury CUSIP ({treasury_cusip}, issuer 912)"
            if treasury_cusip
            else "the description names a US Treasury bill, note or bond"
        )
        return Classification(AssetClass.TREASURIES.value, basis)
    if file_class and file_class != AssetClass.UNCLASSIFIED.value:
        return Classification(str(file_class), "the file's own asset class")
    if _MONEY_MARKET.search(text):
        return Classification(AssetClass.CASH.value, "the description names a money-market fund")
    if tips:
        return Classification(AssetClass.TIPS.value, "the description names inflation protection")
    bondlike = not _NOT_A_BOND.search(text) and bool(
        _COUPON_MATURITY.search(text) or _BOND_WORD.search(text)
    )
    if _MUNICIPAL.search(text):
        return Classification(AssetClass.MUNICIPALS.value, "the description names a municipal bond")
    if bondlike:
        if _HIGH_YIELD.search(text):
            return Classification(AssetClass.HIGH_YIELD.value, "a high-yield bond by description")
        if _FOREIGN.search(text):
            return Classification(AssetClass.INTL_BONDS.value, "a non-US bond by description")
        return Classification(AssetClass.US_BONDS.value, "a bond by its coupon, maturity or name")
    if cusips and not _NOT_A_BOND.search(text):
        return Classification(
            AssetClass.US_BONDS.value, f"listed by CUSIP ({cusips[0]}) with no ticker: a bond or CD"
        )
    return Classification(
        OTHER_CLASS,
        "nothing identifies it",
        f"{sym or 'A holding'} is not in the reference data and nothing in its identifier or "
        "description names a Treasury or a bond; counted in totals as other, never traded",
    )
