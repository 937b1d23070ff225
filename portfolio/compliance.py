"""The compliance gate: pure functions that judge trades and the after-trade portfolio.

Every trade, whether the engine or a language model proposed it, passes `check_trades`; a VETOED
verdict is final. Trades are judged in execution order (sells, then buys) against a running
picture of each account, so a buy is only approved if the cash it needs is really there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

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
from portfolio.securities import SecurityMaster, esg_eligible

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
        for p in positions:
            self.total[p.account] += p.value
            if p.is_cash:
                self.cash[p.account] += p.value
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
            screen = _screen_reason(sym, mandate, securities)
            if screen:
                veto(*screen)
            elif mandate.esg_only and sym in securities and not esg_eligible(sym, securities):
                veto("esg_fund", "not an ESG fund and the mandate is ESG-only")
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
                veto(
                    "cash_floor",
                    f"needs ${t.value:,.2f} but leaves cash at {money(cash_after)}, "
                    f"below the ${floor:,.2f} floor",
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
    if total <= 0:
        return [PortfolioCheck(rule="value", status="fail", message="The portfolio has no value")]

    shorts = [p for p in positions if p.quantity < -1e-9]
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

    if mandate.income_need > 0:
        income = sum(
            p.value * float(securities.get(p.symbol)["yield"])
            for p in positions
            if p.symbol in securities and p.value > 0
        )
        cash_yield = 0.0
        portfolio_yield = (income + cash_yield) / total
        checks.append(
            PortfolioCheck(
                rule="income",
                status="pass" if portfolio_yield >= mandate.income_need else "warn",
                message=f"Estimated yield {portfolio_yield:.2%} against a "
                f"{mandate.income_need:.1%} "
                "income need"
                + (
                    ""
                    if portfolio_yield >= mandate.income_need
                    else "; the gap would come from withdrawals of principal"
                ),
            )
        )

    if mandate.esg_only:
        plain = sorted(
            {
                p.symbol
                for p in positions
                if p.is_fund
                and not p.is_cash
                and p.symbol in securities
                and not esg_eligible(p.symbol, securities)
            }
        )
        checks.append(
            PortfolioCheck(
                rule="esg_funds",
                status="warn" if plain else "pass",
                message=(
                    "Funds without an ESG screen still held (not sold automatically, to avoid "
                    "realising gains): " + ", ".join(plain)
                )
                if plain
                else "Every fund held is ESG-screened or government debt",
            )
        )

    unknown = sorted({p.symbol for p in positions if not p.known and not p.is_cash})
    if unknown:
        checks.append(
            PortfolioCheck(
                rule="unknown_security",
                status="warn",
                message="Not in the reference data, kept as they are and never traded: "
                + ", ".join(unknown),
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
