"""What each agent returns. `*Answer` models are what a language model must put in its JSON block;
the results around them attach the deterministic figures the answer was based on, so a model can
shape the words but never the numbers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.usage import AgentUsage, UsageTotals
from portfolio.models import (
    ClientMandate,
    ExclusionCategory,
    PortfolioCheck,
    RebalanceProposal,
    RiskProfile,
)

Stance = Literal["overweight", "neutral", "underweight"]
RiskLevel = Literal["LOW", "MODERATE", "ELEVATED", "HIGH"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---- risk profiler ------------------------------------------------------------------------------


class MandateAnswer(_Answer):
    risk_profile: RiskProfile
    age: int | None = Field(default=None, ge=0, le=120)
    horizon_years: float | None = Field(default=None, ge=0, le=100)
    income_need: float = Field(default=0.0, ge=0, le=0.25)
    esg_only: bool = False
    excluded_categories: list[ExclusionCategory] = Field(default_factory=list)
    excluded_symbols: list[str] = Field(default_factory=list)
    single_name_cap: float | None = Field(default=None, gt=0, le=1)
    cash_floor: float = Field(default=0.0, ge=0, le=1)
    assumptions: list[str] = Field(default_factory=list)


class ProfileResult(BaseModel):
    mandate: ClientMandate
    evidence: dict[str, str] = Field(default_factory=dict, description="Field -> phrase in notes")
    assumptions: list[str] = Field(default_factory=list)


# ---- market analyst -----------------------------------------------------------------------------


class AssetClassView(_Answer):
    asset_class: str
    stance: Stance
    rationale: str


class MarketAnswer(_Answer):
    market_conditions: str
    regime: Literal["risk_on", "neutral", "risk_off"]
    opportunities: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)
    asset_class_views: list[AssetClassView] = Field(default_factory=list)


class MarketAnalysis(MarketAnswer):
    as_of: str = ""
    data_source: str = ""
    sample_data: bool = False
    metrics: dict[str, dict[str, float | None]] = Field(
        default_factory=dict, description="Asset class -> measured figures"
    )


# ---- risk assessor ------------------------------------------------------------------------------


class RiskAnswer(_Answer):
    overall_risk: RiskLevel
    risk_factors: list[str] = Field(default_factory=list)
    mitigation_strategies: list[str] = Field(default_factory=list)
    mandate_fit: str = ""


class RiskAssessment(RiskAnswer):
    metrics: dict[str, float | None] = Field(default_factory=dict)
    top_positions: list[dict[str, float | str]] = Field(default_factory=list)
    sector_weights: dict[str, float] = Field(default_factory=dict)


# ---- strategist ---------------------------------------------------------------------------------


class StrategyAnswer(_Answer):
    tilts: dict[str, float] = Field(
        default_factory=dict, description="Asset class -> change in target weight, within ±0.05"
    )
    rationale: str = ""

    @field_validator("tilts")
    @classmethod
    def _finite(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if x != x or abs(x) == float("inf"):
                raise ValueError(f"tilt for {k} is not a number")
        return v


class PlanAnswer(_Answer):
    """The strategist's second call: the words for the final, tilted plan."""

    rationale: str = Field(
        default="", description="Why this plan, in a sentence or two; not a repeat of the narrative"
    )


class PlannedTrade(BaseModel):
    id: str
    account: str
    symbol: str
    action: Literal["BUY", "SELL"]
    quantity: float
    order_type: Literal["MARKET", "LIMIT"]
    limit_price: float | None = None
    price: float
    est_value: float
    asset_class: str
    reason: str
    compliance: Literal["APPROVED", "VETOED"]


class EvaluatorRound(BaseModel):
    """One round of the strategist's tilts, judged by code (agents.evaluator)."""

    round: int
    tilts: dict[str, float] = Field(default_factory=dict)
    cleared: bool
    verdict: str


class ExecutionPlan(BaseModel):
    trades: list[PlannedTrade] = Field(default_factory=list)
    rounds: list[EvaluatorRound] = Field(
        default_factory=list, description="Each tilt the strategist proposed and its verdict"
    )
    tilts_requested: dict[str, float] = Field(default_factory=dict)
    tilts_applied: dict[str, float] = Field(default_factory=dict)
    rationale: str = ""
    turnover: float = 0.0
    cash_after: float = 0.0
    cash_paid_out: float = Field(default=0.0, description="Withdrawals met, paid out of cash_after")


# ---- compliance checker -------------------------------------------------------------------------


class TaxAnswer(_Answer):
    """The tax agent's words; every figure it may quote is in its facts (agents.facts.tax_facts)."""

    summary: str
    points: list[str] = Field(default_factory=list, description="One sentence per point")


class TaxReport(TaxAnswer):
    facts: dict[str, Any] = Field(
        default_factory=dict, description="The engine's tax figures the words explain"
    )


class ComplianceAnswer(_Answer):
    summary: str
    explanations: dict[str, str] = Field(
        default_factory=dict, description="Trade id -> plain-language explanation of its verdict"
    )


class TradeVerdict(BaseModel):
    trade_id: str
    symbol: str
    action: Literal["BUY", "SELL"]
    status: Literal["APPROVED", "VETOED"]
    reasons: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    explanation: str = ""


class ComplianceReport(BaseModel):
    status: Literal["APPROVED", "APPROVED_WITH_VETOES", "NO_TRADES", "ALL_VETOED"]
    summary: str
    verdicts: list[TradeVerdict] = Field(default_factory=list)
    checks: list[PortfolioCheck] = Field(default_factory=list)


# ---- the whole run ------------------------------------------------------------------------------


class CrewResult(BaseModel):
    run_id: str
    status: str
    mandate: ClientMandate | None = None
    profile: ProfileResult | None = None
    market_analysis: MarketAnalysis | None = None
    risk_assessment: RiskAssessment | None = None
    execution_plan: ExecutionPlan | None = None
    tax: TaxReport | None = None
    compliance: ComplianceReport | None = None
    proposal: RebalanceProposal | None = None
    narratives: dict[str, str] = Field(default_factory=dict)
    usage: dict[str, AgentUsage] = Field(default_factory=dict)
    totals: UsageTotals = Field(default_factory=UsageTotals)
    fallbacks: dict[str, str] = Field(default_factory=dict, description="Agent -> why it fell back")
    fallback_count: int = Field(default=0, description="How many agents fell back")
    failures: dict[str, str] = Field(default_factory=dict, description="Agent -> error")
