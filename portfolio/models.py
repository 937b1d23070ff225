"""Pydantic contracts shared by the importer, engine, compliance gate, agents and UI.

Weights are fractions of total value (0.05 means 5%); money is in the account's currency (USD).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------


class AssetClass(StrEnum):
    """Asset classes the model portfolios are written in; single names roll up into these."""

    US_EQUITY = "us_equity"
    US_SMALL_CAP = "us_small_cap"
    INTL_EQUITY = "intl_equity"
    EMERGING_EQUITY = "emerging_equity"
    US_BONDS = "us_bonds"
    TREASURIES = "treasuries"
    TIPS = "tips"
    MUNICIPALS = "municipals"
    HIGH_YIELD = "high_yield"
    INTL_BONDS = "intl_bonds"
    REAL_ESTATE = "real_estate"
    COMMODITIES = "commodities"
    CASH = "cash"
    UNCLASSIFIED = "unclassified"


EQUITY_CLASSES: frozenset[str] = frozenset(
    {
        AssetClass.US_EQUITY,
        AssetClass.US_SMALL_CAP,
        AssetClass.INTL_EQUITY,
        AssetClass.EMERGING_EQUITY,
        AssetClass.REAL_ESTATE,
    }
)
BOND_CLASSES: frozenset[str] = frozenset(
    {
        AssetClass.US_BONDS,
        AssetClass.TREASURIES,
        AssetClass.TIPS,
        AssetClass.MUNICIPALS,
        AssetClass.HIGH_YIELD,
        AssetClass.INTL_BONDS,
    }
)


class RiskProfile(StrEnum):
    CONSERVATIVE = "conservative"
    MODERATELY_CONSERVATIVE = "moderately_conservative"
    MODERATE = "moderate"
    MODERATELY_AGGRESSIVE = "moderately_aggressive"
    AGGRESSIVE = "aggressive"


class ExclusionCategory(StrEnum):
    """Screens an ESG mandate applies; each maps to a flag column of data/securities.csv."""

    TOBACCO = "tobacco"
    WEAPONS = "weapons"
    FOSSIL_FUELS = "fossil_fuels"
    GAMBLING = "gambling"


Action = Literal["BUY", "SELL"]
Severity = Literal["error", "warning", "info"]
VerdictStatus = Literal["APPROVED", "VETOED"]


# --------------------------------------------------------------------------------------------
# Holdings import
# --------------------------------------------------------------------------------------------


class ImportIssue(BaseModel):
    """One thing the advisor should know about the file; `line` is 1-based in the uploaded file."""

    line: int | None = None
    severity: Severity
    message: str
    raw: str | None = Field(default=None, description="The offending row as it stood in the file")
    value: float | None = Field(
        default=None, description="An error row's market value, where the file states one"
    )


class SkippedRow(BaseModel):
    """A row recognised as not-a-holding (account totals, pending activity, disclaimers)."""

    line: int
    reason: str
    raw: str = ""


class UnreadRow(BaseModel):
    """A row that could not be read, left out of a partial book the advisor chose to go on with."""

    line: int
    reason: str
    raw: str = ""
    value: float | None = Field(default=None, description="Its market value, where stated")


class Lot(BaseModel):
    """A tax lot; cost_basis is the lot's total cost, not per share."""

    quantity: float
    cost_basis: float | None = None
    acquired: date | None = None
    line: int | None = None


class SoldLot(BaseModel):
    """Units a sale takes from one tax lot, named as a "versus purchase" instruction names it."""

    acquired: date | None = None
    quantity: float = Field(gt=0)
    cost_basis: float | None = Field(default=None, description="Of the units sold")
    line: int | None = Field(default=None, description="The lot's line in the holdings file")


class WashDeferral(BaseModel):
    """A loss the wash-sale rule disallows, carried into the taxable shares that replaced the
    ones sold: their basis rises by it and their holding period includes the sold shares'
    (IRC section 1091(d), IRS Publication 550)."""

    account: str
    symbol: str
    acquired: date = Field(description="The replacement lot's purchase date")
    quantity: float = Field(gt=0, description="Replacement shares matched")
    basis_added: float = Field(ge=0)
    sold_acquired: date | None = Field(
        default=None, description="When the shares sold were bought (None: not known)"
    )


class Position(BaseModel):
    """One holding of one symbol in one account (several file rows may be its tax lots)."""

    account: str = "Account"
    symbol: str
    description: str = ""
    quantity: float
    price: float | None = None
    market_value: float
    asset_class: str = AssetClass.UNCLASSIFIED
    cost_basis: float | None = None
    is_cash: bool = Field(default=False, description="Cash or a money-market fund")
    lots: list[Lot] = Field(default_factory=list)
    lines: list[int] = Field(default_factory=list)


class Holdings(BaseModel):
    """Everything read from one file: each data row is a position, cash, skipped or an issue."""

    source: str = ""
    format: str = "plain"
    positions: list[Position] = Field(default_factory=list)
    skipped: list[SkippedRow] = Field(default_factory=list)
    issues: list[ImportIssue] = Field(default_factory=list)
    as_of: date | None = Field(
        default=None, description="The date the file states its positions at, when it states one"
    )
    account_types: dict[str, str] = Field(
        default_factory=dict,
        description="Account -> the custodian's account-type text, when the file carries one",
    )

    @property
    def total_value(self) -> float:
        return float(sum(p.market_value for p in self.positions))

    @property
    def cash_value(self) -> float:
        return float(sum(p.market_value for p in self.positions if p.is_cash))

    @property
    def accounts(self) -> list[str]:
        return sorted({p.account for p in self.positions})


class UnreadableFileError(ValueError):
    """Raised when a file cannot be used at all (empty, binary, no recognisable header)."""


# --------------------------------------------------------------------------------------------
# Mandate and model portfolio
# --------------------------------------------------------------------------------------------


class ClientMandate(BaseModel):
    """What the client allows. Band rule: a class is out of band when its drift from target exceeds
    min(band_abs, band_rel x target) (the "5/25" rule); a class with no target uses band_abs."""

    model_config = ConfigDict(use_enum_values=True)

    risk_profile: RiskProfile = RiskProfile.MODERATE
    age: int | None = Field(default=None, ge=0, le=120)
    horizon_years: float | None = Field(default=None, ge=0, le=100)
    income_need: float = Field(
        default=0.0, ge=0, le=0.25, description="Yearly income as a fraction"
    )
    esg_only: bool = False
    excluded_categories: list[ExclusionCategory] = Field(default_factory=list)
    excluded_symbols: list[str] = Field(default_factory=list)
    single_name_cap: float | None = Field(
        default=None, gt=0, le=1, description="Max weight of any single stock; funds are exempt"
    )
    cash_floor: float = Field(default=0.0, ge=0, le=1)
    band_abs: float = Field(default=0.05, gt=0, le=1)
    band_rel: float = Field(default=0.25, gt=0, le=10)
    min_trade_value: float = Field(default=100.0, ge=0)
    fractional: bool = False
    tax_aware: bool = True
    offset_gains: bool = Field(
        default=False,
        description="Harvest taxable losses to offset the gains a rebalance realises "
        "(each class bought back through a fund that is not substantially identical)",
    )
    notes: str = ""

    @field_validator("excluded_symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return sorted({s.strip().upper() for s in v if s.strip()})

    @property
    def screened_categories(self) -> set[str]:
        """ESG-only implies every exclusion screen."""
        if self.esg_only:
            return {c.value for c in ExclusionCategory}
        return {str(c) for c in self.excluded_categories}


class ModelSleeve(BaseModel):
    asset_class: str
    weight: float = Field(ge=0, le=1)
    vehicle: str
    esg_vehicle: str


class ModelPortfolio(BaseModel):
    profile: RiskProfile
    name: str = ""
    source: str = ""
    sleeves: list[ModelSleeve]

    def weights(self) -> dict[str, float]:
        return {s.asset_class: s.weight for s in self.sleeves}

    @property
    def equity_share(self) -> float:
        return sum(s.weight for s in self.sleeves if s.asset_class in EQUITY_CLASSES)


# --------------------------------------------------------------------------------------------
# Proposal
# --------------------------------------------------------------------------------------------


class ComplianceVerdict(BaseModel):
    status: VerdictStatus = "APPROVED"
    reasons: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list, description="Ids of the rules that decided")


class Trade(BaseModel):
    id: str = Field(description="Stable within a proposal: T1, T2, ...")
    account: str
    symbol: str
    action: Action
    quantity: float = Field(gt=0)
    price: float = Field(gt=0)
    value: float
    asset_class: str = AssetClass.UNCLASSIFIED
    reason: str
    order_type: Literal["MARKET", "LIMIT"] = "MARKET"
    limit_price: float | None = None
    realized_gain: float | None = Field(
        default=None,
        description="Estimated, from known lots; a loss the wash-sale rule disallows is added "
        "back (Form 8949, code W)",
    )
    short_term_gain: float | None = None
    wash_loss_disallowed: float = Field(
        default=0.0, ge=0, description="Loss disallowed by purchases in the 30 days before"
    )
    lots: list[SoldLot] = Field(
        default_factory=list,
        description="The tax lots a taxable sale takes (specific identification, versus "
        "purchase); the fill relieves these",
    )
    wash_deferred: list[WashDeferral] = Field(
        default_factory=list,
        description="Of the disallowed loss, what goes into taxable replacement lots",
    )
    forced: bool = Field(
        default=False, description="Required by a rule (exclusion, cap), not by drift"
    )
    source: Literal["engine", "model"] = "engine"
    compliance: ComplianceVerdict = Field(default_factory=ComplianceVerdict)


class PositionWeight(BaseModel):
    account: str
    symbol: str
    asset_class: str
    quantity: float
    price: float | None
    value: float
    weight: float
    is_cash: bool = False
    is_fund: bool = False
    known: bool = True


class ClassWeight(BaseModel):
    current: float
    target: float
    post_trade: float
    drift: float = Field(description="current - target")
    band: float = Field(description="Tolerance either side of target")
    status: Literal["in_band", "over", "under"]


class PortfolioCheck(BaseModel):
    """An after-trade test of the whole portfolio against the mandate."""

    rule: str
    status: Literal["pass", "fail", "warn"]
    message: str


AccountTypeName = Literal["taxable", "tax_deferred", "tax_free"]


class AccountSummary(BaseModel):
    """One account of the household: its tax status and what the proposal does to it."""

    account: str
    type: AccountTypeName
    type_source: Literal["override", "custodian", "name", "default"] = "default"
    value: float = Field(description="After the cash requests: deposits in, withdrawals out")
    cash: float = Field(description="Swept cash before the trades, requested deposits included")
    cash_after: float = Field(
        description="Swept cash after the trades, a requested withdrawal still in it"
    )
    buys: float = 0.0
    sells: float = 0.0
    realized_gains: float = Field(default=0.0, description="Zero unless the account is taxable")
    short_term_gains: float = 0.0
    deposit: float = Field(default=0.0, description="Requested deposits, counted in value and cash")
    withdrawal: float = Field(
        default=0.0, description="Requested withdrawals, taken out of value and cash"
    )


CashRequestKind = Literal["withdrawal", "deposit"]


class CashRequest(BaseModel):
    """Money the client takes out of, or puts into, one account ("raise $20,000 in the IRA").

    A deposit is new swept cash the plan invests; a withdrawal is swept cash the plan leaves in
    the account after the trades, on top of the cash floor. `portfolio.cash_requests.validate`
    checks a request against the household (a known account, no more than it holds).
    """

    model_config = ConfigDict(str_strip_whitespace=True)

    account: str = Field(min_length=1, max_length=200)
    amount: float = Field(gt=0, allow_inf_nan=False, le=1e11)
    kind: CashRequestKind
    note: str = Field(default="", max_length=500)

    @property
    def signed(self) -> float:
        """What the request adds to the account's cash: + a deposit, - a withdrawal."""
        return self.amount if self.kind == "deposit" else -self.amount


class CashRequestResult(BaseModel):
    """A request as planned: whether it was met, and how (cash already there, or the sales)."""

    account: str
    kind: CashRequestKind
    amount: float
    note: str = ""
    met: bool
    from_cash: float = Field(default=0.0, description="Swept cash already in the account used")
    raised: float = Field(
        default=0.0,
        description="What the account's sales contribute to it when met (those made for it and "
        "the plan's own, net of its buys); when short, the proceeds of the sales made for it",
    )
    trades: list[str] = Field(default_factory=list, description="Ids of the sales that raised it")
    shortfall: float = Field(default=0.0, description="How much of it the account cannot raise")
    reason: str = Field(default="", description="Why the account cannot raise it, when known")
    message: str = ""

    @property
    def request(self) -> CashRequest:
        return CashRequest(account=self.account, amount=self.amount, kind=self.kind, note=self.note)


class ReferencePrice(BaseModel):
    """A symbol priced from the reference data because neither the file nor a price list had it."""

    symbol: str
    price: float
    as_of: date
    stale: bool = Field(description="Older than the trade date by more than five days")


class RebalanceProposal(BaseModel):
    as_of: date
    as_of_source: Literal["argument", "file", "today"] = "argument"
    profile: RiskProfile
    mandate: ClientMandate
    model: ModelPortfolio
    total_value: float
    cash_value: float = Field(description="Swept cash before the trades, deposits included")
    cash_after: float = Field(description="Swept cash after the trades, withdrawals still in it")
    positions: list[PositionWeight]
    trades: list[Trade]
    post_trade_weights: dict[str, float]
    asset_class_weights: dict[str, ClassWeight]
    checks: list[PortfolioCheck] = Field(default_factory=list)
    import_issues: list[ImportIssue] = Field(default_factory=list)
    unread_rows: list[UnreadRow] = Field(
        default_factory=list, description="Rows left out of a partial book (--allow-partial)"
    )
    unknown_symbols: list[str] = Field(default_factory=list)
    turnover: float = Field(
        description="(buys + sells) / 2 / total value before requested withdrawals are paid out"
    )
    realized_gains: float = Field(default=0.0, description="Estimated; taxable accounts only")
    short_term_gains: float = Field(default=0.0, description="Estimated; taxable accounts only")
    wash_loss_disallowed: float = Field(
        default=0.0, description="Losses the wash-sale rule disallows, already in the gains"
    )
    tilts: dict[str, float] = Field(default_factory=dict, description="Tactical tilts applied")
    household: bool = Field(
        default=True, description="Targets applied to the household; False: to each account"
    )
    accounts: list[AccountSummary] = Field(default_factory=list)
    reference_prices: list[ReferencePrice] = Field(default_factory=list)
    max_gains: float | None = Field(default=None, description="Household capital-gains budget")
    yield_before: float = Field(default=0.0, description="Estimated yield from reference yields")
    yield_after: float = 0.0
    income_lean: dict[str, float] = Field(
        default_factory=dict,
        description="Asset class -> change of target weight leaned toward the income need (bands)",
    )
    income_short_by: float = Field(
        default=0.0, description="How far the estimated yield after stays below the income need"
    )
    income_reserve: float = Field(
        default=0.0, description="Cash kept for the income need (months of it), as a weight"
    )
    cash_requests: list[CashRequestResult] = Field(
        default_factory=list,
        description="Withdrawals and deposits the plan was made for, each met or not",
    )

    @property
    def approved_trades(self) -> list[Trade]:
        return [t for t in self.trades if t.compliance.status == "APPROVED"]

    @property
    def vetoed_trades(self) -> list[Trade]:
        return [t for t in self.trades if t.compliance.status == "VETOED"]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cash_paid_out(self) -> float:
        """The withdrawals the plan meets: paid to the client out of `cash_after`, so the cash
        the household keeps is `cash_after - cash_paid_out`. A withdrawal left short is not
        paid (it stays on the client's record)."""
        paid = (r.amount for r in self.cash_requests if r.kind == "withdrawal" and r.met)
        return round(sum(paid), 2)
