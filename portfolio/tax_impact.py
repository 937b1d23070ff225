"""The tax impact of a ticket: realised short- and long-term gains per sell and in total for the
taxable accounts, wash-sale flags and the gains budget used.

Every figure comes from the proposal's per-trade estimates; `trade_tax_fields` is the one place
that reads them, so a richer engine's fields change that function only. Without a cost basis a
gain is "not known", never zero.

Rules: a gain is short-term when the lot was held one year or less (IRS Publication 550, "Holding
Period"); the estimates carry that split. Gains in tax-deferred and tax-free accounts (IRAs,
401(k)s, Roth accounts) are not taxed when realised. A loss is disallowed when substantially
identical securities are bought within 30 days before or after the sale, in any of the household's
accounts, IRAs included (Internal Revenue Code §1091; Publication 550, "Wash Sales"; Rev. Rul.
2008-5): a sell at a loss on a ticket that also buys the same security is flagged. Only the same
symbol is recognised here; funds tracking the same index are not. Purchases in the 30 days before
the sale are the engine's to match (`Trade.wash_loss_disallowed`, already in its gain).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from portfolio.models import Trade

NOT_TAXED = frozenset({"tax_deferred", "tax_free"})


@dataclass(frozen=True)
class TaxFields:
    """What the engine estimated for one sell; None where it does not know."""

    realised: float | None
    short_term: float | None


def trade_tax_fields(trade: Trade) -> TaxFields:
    """The engine's per-trade estimates the panel reads: `Trade.realized_gain` (the whole gain)
    and `Trade.short_term_gain` (its short-term part; the rest is long-term)."""
    if trade.realized_gain is None:
        return TaxFields(None, None)
    return TaxFields(trade.realized_gain, trade.short_term_gain or 0.0)


@dataclass(frozen=True)
class TradeTax:
    trade_id: str
    account: str
    symbol: str
    tax_type: str | None
    proceeds: float
    short_term: float | None
    long_term: float | None
    wash_sale: bool  # the ticket also buys what this sells at a loss
    disallowed: float = 0.0  # loss the engine found washed by purchases in the 30 days before
    lots: str = ""  # the lots the sale names, "acquired x quantity"

    @property
    def known(self) -> bool:
        return self.short_term is not None

    @property
    def taxed(self) -> bool:
        return self.tax_type not in NOT_TAXED


@dataclass(frozen=True)
class TaxImpact:
    rows: list[TradeTax]
    short_term: float  # taxable accounts, known gains only
    long_term: float
    unknown: int  # taxable sells without a cost basis
    budget: float | None

    @property
    def total(self) -> float:
        return self.short_term + self.long_term

    @property
    def budget_used(self) -> float | None:
        """The share of the gains budget the known taxable gains use (above 1 when exceeded)."""
        if self.budget is None or self.budget <= 0:
            return None
        return max(self.total, 0.0) / self.budget


def tax_impact(
    trades: Sequence[Trade],
    tax_types: Mapping[str, str],
    budget: float | None = None,
) -> TaxImpact:
    """The sells among `trades` (the ones that may still run, at their edited quantities), with
    each account's tax type (`taxable`, `tax_deferred`, `tax_free`; missing means not known)."""
    bought = {t.symbol.upper() for t in trades if t.action == "BUY"}
    rows = []
    for t in trades:
        if t.action != "SELL":
            continue
        f = trade_tax_fields(t)
        long_term = None if f.realised is None else f.realised - (f.short_term or 0.0)
        tax_type = tax_types.get(t.account)
        rows.append(
            TradeTax(
                trade_id=t.id,
                account=t.account,
                symbol=t.symbol,
                tax_type=tax_type,
                proceeds=t.value,
                short_term=f.short_term,
                long_term=long_term,
                # A loss in an IRA is never deductible, so only a taxed account's loss can wash.
                wash_sale=f.realised is not None
                and f.realised < 0
                and tax_type not in NOT_TAXED
                and t.symbol.upper() in bought,
                disallowed=t.wash_loss_disallowed,
                lots="; ".join(f"{lt.acquired or 'undated'} x {lt.quantity:,.6g}" for lt in t.lots),
            )
        )
    taxed = [r for r in rows if r.taxed]
    return TaxImpact(
        rows=rows,
        short_term=round(sum(r.short_term or 0.0 for r in taxed if r.known), 2),
        long_term=round(sum(r.long_term or 0.0 for r in taxed if r.known), 2),
        unknown=sum(not r.known for r in taxed),
        budget=budget,
    )
