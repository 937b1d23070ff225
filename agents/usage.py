"""Token usage, timing and cost per agent and per run."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field


class AgentUsage(BaseModel):
    """One agent's model calls: provider-reported tokens (or estimates for the offline analyst)."""

    agent: str
    provider: str
    model: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = Field(default=False, description="Tokens counted locally, not by a provider")
    ttft_s: float | None = Field(default=None, description="Time to first token, seconds")
    duration_s: float = 0.0
    cost_usd: float | None = Field(default=None, description="None when the model has no price")

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class UsageTotals(BaseModel):
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_models: list[str] = Field(default_factory=list)
    duration_s: float = 0.0

    @classmethod
    def of(cls, usages: Iterable[AgentUsage], duration_s: float = 0.0) -> UsageTotals:
        items = list(usages)
        return cls(
            calls=sum(u.calls for u in items),
            input_tokens=sum(u.input_tokens for u in items),
            output_tokens=sum(u.output_tokens for u in items),
            cost_usd=round(sum(u.cost_usd or 0.0 for u in items), 6),
            unpriced_models=sorted({u.model for u in items if u.cost_usd is None and u.calls}),
            duration_s=round(duration_s, 4),
        )


def estimate_tokens(text: str) -> int:
    """About four characters a token for English prose and JSON; used only when no provider
    reports usage."""
    return max(1, (len(text) + 3) // 4) if text else 0
