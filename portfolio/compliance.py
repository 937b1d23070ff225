"""The compliance gate: pure functions that judge trades and the after-trade portfolio.

Every trade, whether the engine or a language model proposed it, passes `check_trades`; a VETOED
verdict is final. Trades are judged in execution order (sells, then buys) against a running
picture of each account, so a buy is only approved if the cash it needs is really there.
A mandate's exclusions are met by a fund only when its index screens every excluded category
(data/fund_screens.csv). Suitability concerns that call for a person's judgement (a growth
profile with a short horizon, a profile far from what the client's age suggests) are review
warnings on the proposal's checks, not vetoes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from portfolio.cash_requests import WITHDRAWAL_SYMBOL
from portfolio.labels import money
from portfolio.models import (
    EQUITY_CLASSES,
    AssetClass,
    ClassWeight,
    ClientMandate,
    ComplianceVerdict,
    PortfolioCheck,
    PositionWeight,
    RiskProfile,
    Trade,
)
from portfolio.securities import SecurityMaster, screen_label

# Highest equity share (stocks and REITs) suitable for each profile; a buy that would lift an
# account above it is vetoed. Set a little above each model's own equity share.
MAX_EQUITY_SHARE: Mapping[str, float] = {
    RiskProfile.CONSERVATIVE: 0.35,
    RiskProfile.MODERATELY_CONSERVATIVE: 0.55,
    RiskProfile.MODERATE: 0.75,
    RiskProfile.MODERATELY_AGGRESSIVE: 0.90,
    RiskProfile.AGGRESSIVE: 1.00,
}
VALUE_TOLERANCE = 0.01  # dollars, plus a relative 1e-6: quantity x price must match the value
# How far a trade's price may sit from the book's quote (or the reference price for a security
# not held) before the gate refuses it: a stale quote is fine, a made-up one is not.
PRICE_TOLERANCE = 0.10

# Suitability review (FINRA Rule 2111: a recommendation must suit the customer's investment
# profile, which includes age, time horizon and risk tolerance). Thresholds:
# - a growth profile (80% or more in equities: moderately aggressive, aggressive) with a time
#   horizon of SHORT_HORIZON_YEARS or less: a bad year in equities cannot be waited out;
# - a profile whose equity share exceeds the glide path for the client's age by more than
#   AGE_MARGIN. The glide path is Vanguard's Target Retirement glide path: 90% equities to age
#   40 (25 years before a retirement at 65), falling to 50% at 65 and to 30% at 72, then level.
#   With a 30-point margin: aggressive (90%) is flagged from age 59, moderately aggressive (80%)
#   from 66; moderate (60%) and below never are.
# A profile more conservative than the age suggests (conservative at 25) is not flagged:
# suitability guards against too much risk, and a client may choose less.
PROFILE_EQUITY_SHARE: Mapping[str, float] = {
    RiskProfile.CONSERVATIVE: 0.20,
    RiskProfile.MODERATELY_CONSERVATIVE: 0.40,
    RiskProfile.MODERATE: 0.60,
    RiskProfile.MODERATELY_AGGRESSIVE: 0.80,
    RiskProfile.AGGRESSIVE: 0.90,
}  # the models' equity shares (data/models.csv)
SHORT_HORIZON_YEARS = 3.0
GROWTH_PROFILES = frozenset({RiskProfile.MODERATELY_AGGRESSIVE, RiskProfile.AGGRESSIVE})
AGE_MARGIN = 0.30
GLIDE_PATH: tuple[tuple[float, float], ...] = ((40, 0.90), (65, 0.50), (72, 0.30))


def glide_path_equity(age: float) -> float:
    """Equity share of the target-date glide path at an age (linear between points, level
    outside them)."""
    return float(np.interp(age, [a for a, _ in GLIDE_PATH], [s for _, s in GLIDE_PATH]))


def suitability_flags(mandate: ClientMandate) -> list[str]:
    """Why the stated profile needs an advisor's review, one sentence each (empty: nothing)."""
    profile = RiskProfile(mandate.risk_profile)
    phrase = _profile_phrase(mandate)
    flags: list[str] = []
    h = mandate.horizon_years
    if h is not None and profile in GROWTH_PROFILES and h <= SHORT_HORIZON_YEARS + 1e-9:
        flags.append(
            f"{phrase[0].upper()}{phrase[1:]} with a {h:g}-year horizon: "
            f"{PROFILE_EQUITY_SHARE[profile]:.0%} in equities needs more than "
            f"{SHORT_HORIZON_YEARS:g} years to recover from a fall"
        )
    if mandate.age is not None:
        glide = glide_path_equity(mandate.age)
        share = PROFILE_EQUITY_SHARE[profile]
        if share > glide + AGE_MARGIN + 1e-9:
            flags.append(
                f"{phrase[0].upper()}{phrase[1:]} at age {mandate.age}: {share:.0%} in equities "
                f"against about {glide:.0%} on a target-date glide path for that age"
            )
    return flags


def _screen_reason(
    symbol: str, mandate: ClientMandate, securities: SecurityMaster
) -> tuple[str, str] | None:
    """(rule, why) if the mandate forbids holding this security at all."""
    if symbol in mandate.excluded_symbols:
        return "exclusion", f"{symbol} is on the client's exclusion list"
    hits = sorted(securities.flags(symbol) & mandate.screened_categories)
    if hits:
        by = "the ESG mandate" if mandate.esg_only else "the client's exclusions"
        return "exclusion", f"{hits[0].replace('_', ' ')} is excluded by {by}"
    return None


def _fund_screen_reason(
    symbol: str, mandate: ClientMandate, securities: SecurityMaster
) -> tuple[str, str] | None:
    """(rule, why) if a fund may not be bought because its index leaves an excluded category in.

    A fund with no screens at all under an ESG-only mandate keeps the plain "not an ESG fund"
    reason; otherwise the reason names what the index does not screen.
    """
    categories = mandate.screened_categories
    if not categories or symbol not in securities or not securities.is_fund(symbol):
        return None
    unmet = securities.unmet_screens(symbol, categories)
    if not unmet:
        return None
    if mandate.esg_only and not securities.screened_by(symbol):
        return "esg_fund", "not an ESG fund and the mandate is ESG-only"
    source = securities.screen_source(symbol)
    index = f" ({source['index']})" if source else ""
    by = "the ESG mandate" if mandate.esg_only else "the client's exclusions"
    return (
        "fund_screen",
        f"its index{index} does not screen {', '.join(screen_label(c) for c in unmet)}, "
        f"excluded by {by}",
    )


def _profile_phrase(mandate: ClientMandate) -> str:
    """'a moderate profile', 'an aggressive profile'."""
    words = str(mandate.risk_profile).replace("_", " ")
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words} profile"


class _Book:
    """Running per-account quantities and cash while trades are judged one by one."""

    def __init__(self, positions: Sequence[PositionWeight]) -> None:
        self.qty: dict[tuple[str, str], float] = defaultdict(float)
        self.val: dict[tuple[str, str], float] = defaultdict(float)
        self.cash: dict[str, float] = defaultdict(float)
        self.total: dict[str, float] = defaultdict(float)
        self.equity: dict[str, float] = defaultdict(float)
        self.quote: dict[tuple[str, str], float] = {}
        # What the whole book (every account: the household) holds of each name.
        self.by_name: dict[str, float] = defaultdict(float)
        self.withdrawal: dict[str, float] = defaultdict(float)
        for p in positions:
            self.total[p.account] += p.value
            if p.is_cash:
                # A requested withdrawal is a negative cash row: no buy may spend that cash.
                self.cash[p.account] += p.value
                if p.symbol == WITHDRAWAL_SYMBOL:
                    self.withdrawal[p.account] -= p.value
                continue
            self.qty[(p.account, p.symbol)] += p.quantity
            self.val[(p.account, p.symbol)] += p.value
            self.by_name[p.symbol] += p.value
            if p.price and p.price > 0:
                self.quote[(p.account, p.symbol)] = p.price
            if p.asset_class in EQUITY_CLASSES:
                self.equity[p.account] += p.value
        self.household = sum(self.total.values())  # trades move value, they never add any

    def apply(self, t: Trade, symbol: str, asset_class: str) -> None:
        """An approved trade changes what later trades are judged against."""
        sign = 1.0 if t.action == "BUY" else -1.0
        self.qty[(t.account, symbol)] += sign * t.quantity
        self.val[(t.account, symbol)] += sign * t.value
        self.by_name[symbol] += sign * t.value
        self.cash[t.account] -= sign * t.value
        if asset_class in EQUITY_CLASSES:
            self.equity[t.account] += sign * t.value


def check_trades(
    trades: Sequence[Trade],
    positions: Sequence[PositionWeight],
    mandate: ClientMandate,
    securities: SecurityMaster,
    total_value: float | None = None,
    cash_value: float | None = None,
) -> list[Trade]:
    """Return the trades, in their given order, each with its verdict and the rules that decided.

    `total_value` and `cash_value` are accepted for callers that have them; per-account figures
    are always recomputed from `positions`.
    """
    del total_value, cash_value
    book = _Book(positions)
    order = sorted(range(len(trades)), key=lambda i: (trades[i].action != "SELL", i))
    verdicts: dict[int, ComplianceVerdict] = {}
    cap = mandate.single_name_cap
    max_eq = MAX_EQUITY_SHARE[RiskProfile(mandate.risk_profile)]

    for i in order:
        t = trades[i]
        sym, acct = t.symbol.upper(), t.account
        reasons: list[str] = []
        rules: list[str] = []

        def veto(
            rule: str,
            why: str,
            t: Trade = t,
            sym: str = sym,
            reasons: list[str] = reasons,
            rules: list[str] = rules,
        ) -> None:
            reasons.append(f"{t.action} {sym} vetoed: {why}")
            rules.append(rule)

        expected = t.quantity * t.price
        if abs(t.value - expected) > VALUE_TOLERANCE + 1e-6 * abs(expected):
            veto(
                "price_sanity", f"value ${t.value:,.2f} is not quantity × price (${expected:,.2f})"
            )
        market = book.quote.get((acct, sym)) or securities.price(sym)
        if market and t.price > 0 and abs(t.price - market) > PRICE_TOLERANCE * market:
            veto(
                "price_sanity",
                f"price ${t.price:,.2f} is {abs(t.price / market - 1):.0%} away from the "
                f"market price ${market:,.2f}",
            )
        if sym not in securities:
            veto("unknown_security", "not in the reference data, so never traded")
        if acct not in book.total:
            veto("unknown_account", f"account '{acct}' is not in the holdings")
        held_now = book.qty.get((acct, sym), 0.0)
        closes_out = t.action == "SELL" and abs(t.quantity - held_now) <= 1e-9
        if not mandate.fractional and abs(t.quantity - round(t.quantity)) > 1e-9 and not closes_out:
            veto("whole_shares", "the mandate trades whole shares only")
        excluded_sale = closes_out and _screen_reason(sym, mandate, securities) is not None
        if t.value < mandate.min_trade_value - 1e-9 and not excluded_sale:
            veto(
                "min_trade",
                f"${t.value:,.2f} is below the ${mandate.min_trade_value:,.0f} minimum trade",
            )
        asset_class = securities.asset_class(sym) or t.asset_class
        is_single = sym in securities and not securities.is_fund(sym)

        if t.action == "SELL":
            held = book.qty.get((acct, sym), 0.0)
            if t.quantity > held + 1e-9:
                veto("no_shorts", f"sells {t.quantity:g} but only {held:g} held (no short sales)")
        else:
            screen = _screen_reason(sym, mandate, securities) or _fund_screen_reason(
                sym, mandate, securities
            )
            if screen:
                veto(*screen)
            total = book.total.get(acct, 0.0)
            household = book.household
            if is_single and cap is not None and household > 0:
                after = book.by_name[sym] + t.value
                if after > cap * household + 0.005:
                    veto(
                        "single_name_cap",
                        f"would be {after / household:.1%} of the portfolio, above "
                        f"the {cap:.1%} single-name cap",
                    )
            cash_after = book.cash.get(acct, 0.0) - t.value
            floor = mandate.cash_floor * total
            if cash_after < floor - 0.005:
                held = book.withdrawal.get(acct, 0.0)
                veto(
                    "cash_floor",
                    f"needs ${t.value:,.2f} but leaves cash at {money(cash_after)}, "
                    f"below the ${floor:,.2f} floor"
                    if held <= 0
                    else f"needs ${t.value:,.2f} but leaves {money(cash_after + held)} in cash, "
                    f"short of the {money(held)} withdrawal and the ${floor:,.2f} floor",
                )
            # Suitability is the household's: asset location puts equity in some accounts
            # and bonds in others on purpose.
            if asset_class in EQUITY_CLASSES and household > 0:
                eq_after = (sum(book.equity.values()) + t.value) / household
                if eq_after > max_eq + 1e-9:
                    veto(
                        "suitability",
                        f"lifts equities to {eq_after:.1%} of the household, above "
                        f"the {max_eq:.0%} suitable for {_profile_phrase(mandate)}",
                    )

        if rules:
            verdicts[i] = ComplianceVerdict(status="VETOED", reasons=reasons, rules=rules)
            continue
        verdicts[i] = ComplianceVerdict(status="APPROVED", reasons=["within every rule"], rules=[])
        book.apply(t, sym, asset_class)

    return [t.model_copy(update={"compliance": verdicts[i]}) for i, t in enumerate(trades)]


def check_portfolio(
    positions: Sequence[PositionWeight],
    mandate: ClientMandate,
    securities: SecurityMaster,
    class_weights: Mapping[str, ClassWeight] | None = None,
) -> list[PortfolioCheck]:
    """Test the (after-trade) portfolio as a whole against the mandate."""
    checks: list[PortfolioCheck] = []
    total = sum(p.value for p in positions)
    if total <= 0.005:  # less than a cent: nothing left (a withdrawal of everything, say)
        return [PortfolioCheck(rule="value", status="fail", message="The portfolio has no value")]

    # A requested withdrawal is money leaving (portfolio.cash_requests), not a short position.
    shorts = [p for p in positions if p.quantity < -1e-9 and p.symbol != WITHDRAWAL_SYMBOL]
    checks.append(
        PortfolioCheck(
            rule="no_shorts",
            status="fail" if shorts else "pass",
            message=("Short positions: " + ", ".join(f"{p.symbol} ({p.account})" for p in shorts))
            if shorts
            else "No short positions",
        )
    )

    held_excluded = sorted(
        {
            f"{p.symbol} ({r[1]})"
            for p in positions
            if p.quantity > 0 and not p.is_cash
            for r in [_screen_reason(p.symbol, mandate, securities)]
            if r
        }
    )
    checks.append(
        PortfolioCheck(
            rule="exclusion",
            status="fail" if held_excluded else "pass",
            message=("Still held despite the mandate: " + "; ".join(held_excluded))
            if held_excluded
            else "No excluded security is held",
        )
    )

    if mandate.single_name_cap is not None:
        cap = mandate.single_name_cap
        by_symbol: dict[str, float] = defaultdict(float)
        for p in positions:
            if not p.is_fund and not p.is_cash:
                by_symbol[p.symbol] += p.value
        over = sorted((s, v / total) for s, v in by_symbol.items() if v / total > cap + 1e-6)
        unknown_over = [s for s, _ in over if s not in securities]
        status = "fail" if len(over) > len(unknown_over) else ("warn" if over else "pass")
        checks.append(
            PortfolioCheck(
                rule="single_name_cap",
                status=status,
                message=(
                    "Above the "
                    + f"{cap:.1%} cap: "
                    + ", ".join(f"{s} {w:.1%}" for s, w in over)
                    + (" (not in the reference data, so not traded)" if unknown_over else "")
                )
                if over
                else f"Every single name is at or below the {cap:.1%} cap",
            )
        )

    cash = sum(p.value for p in positions if p.is_cash)
    floor = mandate.cash_floor * total
    checks.append(
        PortfolioCheck(
            rule="cash_floor",
            status="fail" if cash < floor - 0.005 or cash < -0.005 else "pass",
            message=f"Cash ${cash:,.2f} ({cash / total:.1%}) against a floor of ${floor:,.2f} "
            f"({mandate.cash_floor:.1%})",
        )
    )

    equity = sum(p.value for p in positions if p.asset_class in EQUITY_CLASSES) / total
    max_eq = MAX_EQUITY_SHARE[RiskProfile(mandate.risk_profile)]
    checks.append(
        PortfolioCheck(
            rule="suitability",
            status="fail" if equity > max_eq + 1e-6 else "pass",
            message=f"Equities are {equity:.1%} of the portfolio; at most {max_eq:.0%} suits "
            f"{_profile_phrase(mandate)}",
        )
    )

    review = suitability_flags(mandate)
    if review:
        checks.append(
            PortfolioCheck(
                rule="suitability_review",
                status="warn",
                message="For the advisor's review: " + "; ".join(review),
            )
        )

    if mandate.income_need > 0:
        est = securities.estimated_yield([(p.symbol, p.value) for p in positions])
        met = est.yield_ >= mandate.income_need
        zero = f"; {', '.join(est.without_yield)} counted at 0%" if est.without_yield else ""
        checks.append(
            PortfolioCheck(
                rule="income",
                status="pass" if met else "warn",
                message=f"Estimated yield {est.yield_:.2%} against a "
                f"{mandate.income_need:.1%} income need"
                + (
                    ""
                    if met
                    else f"; {mandate.income_need - est.yield_:.2%} short, so the rest of the "
                    "income is paid from the cash reserve and sales rather than from yield"
                )
                + zero,
            )
        )

    if mandate.screened_categories:
        held_funds = {p.symbol for p in positions if p.is_fund and not p.is_cash and p.quantity > 0}
        plain = sorted(
            s
            for s in held_funds
            if s in securities and not securities.meets_exclusions(s, mandate.screened_categories)
        )
        checks.append(
            PortfolioCheck(
                rule="esg_funds",
                status="warn" if plain else "pass",
                message=(
                    "Funds whose index does not screen every excluded category still held (not "
                    "sold automatically, to avoid realising gains): " + ", ".join(plain)
                )
                if plain
                else "Every fund held screens the excluded categories or holds government debt",
            )
        )

    unknown = sorted({p.symbol for p in positions if not p.known and not p.is_cash})
    if unknown:
        classes = {p.symbol: p.asset_class for p in positions if not p.known and not p.is_cash}
        checks.append(
            PortfolioCheck(
                rule="unknown_security",
                status="warn",
                message="Not in the reference data, counted at their value and never traded: "
                + ", ".join(f"{s} ({str(classes[s]).replace('_', ' ')})" for s in unknown),
            )
        )

    if class_weights:
        out = sorted(
            c
            for c, cw in class_weights.items()
            if c != AssetClass.UNCLASSIFIED and abs(cw.post_trade - cw.target) > cw.band + 1e-6
        )
        checks.append(
            PortfolioCheck(
                rule="bands",
                status="warn" if out else "pass",
                message=("Still outside the band after trades: " + ", ".join(out))
                if out
                else "Every asset class is within its band after the trades",
            )
        )
    return checks
