"""LLM provider settings from environment variables and `.streamlit/secrets.toml`.

Keys are `SecretStr`: they never appear in repr, logs or events.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr

from portfolio.redact import safe_url

Provider = Literal["offline", "openai", "azure", "openai-compatible"]
PROVIDERS: tuple[str, ...] = ("offline", "openai", "azure", "openai-compatible")
OFFLINE_MODEL = "offline-analyst"
ROOT = Path(__file__).resolve().parent.parent
SECRETS_TOML = ROOT / ".streamlit" / "secrets.toml"

# Analysis agents read facts and must be repeatable; the strategist gets a little latitude.
DEFAULT_TEMPERATURE: dict[str, float] = {
    "risk_profiler": 0.0,
    "market_analyst": 0.0,
    "risk_assessor": 0.0,
    "strategist": 0.2,
    "tax_agent": 0.0,
    "compliance_checker": 0.0,
}


class Price(BaseModel):
    """USD per one million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


DEFAULT_PRICES: dict[str, Price] = {
    OFFLINE_MODEL: Price(input=0.0, output=0.0),
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-4o": Price(input=2.50, output=10.00),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1": Price(input=2.00, output=8.00),
    "gpt-4.1-nano": Price(input=0.10, output=0.40),
}


class AgentModelSettings(BaseModel):
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)


class LLMSettings(BaseModel):
    provider: Provider = "offline"
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    base_url: str | None = None
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    api_version: str = "2024-10-21"
    # One hung provider costs a run at most one of these: after the first failure the run's
    # later agents on the same model go straight to the offline analyst.
    timeout: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="Seconds the provider may stay silent (per HTTP read, between streamed chunks)",
    )
    first_token_timeout: float | None = Field(default=20.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=6, description="Provider retries on 429/5xx")
    agents: dict[str, AgentModelSettings] = Field(default_factory=dict)
    prices: dict[str, Price] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    budget_usd: float | None = Field(default=None, gt=0)
    offline_pace: float = Field(
        default=0.0, ge=0, le=10, description="Seconds an offline answer takes to stream, in total"
    )
    fallback_to_offline: bool = True

    def model_for(self, agent: str) -> str:
        if self.provider == "offline":
            return OFFLINE_MODEL
        override = self.agents.get(agent)
        if override and override.model:
            return override.model
        if self.provider == "azure" and self.azure_deployment:
            return self.azure_deployment
        return self.model

    def temperature_for(self, agent: str) -> float:
        override = self.agents.get(agent)
        if override and override.temperature is not None:
            return override.temperature
        return DEFAULT_TEMPERATURE.get(agent, 0.0)

    def price_for(self, model: str) -> Price | None:
        if model in self.prices:
            return self.prices[model]
        # Dated snapshots ("gpt-4o-mini-2024-07-18") fall back to their family's price.
        family = max((k for k in self.prices if model.startswith(k + "-")), key=len, default=None)
        return self.prices[family] if family else None

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        price = self.price_for(model)
        if price is None:
            return None
        return round((input_tokens * price.input + output_tokens * price.output) / 1e6, 8)

    def describe(self) -> str:
        """Where the run's words come from, safe to show (no key)."""
        if self.provider == "offline":
            return "offline analyst"
        where = safe_url(self.base_url or self.azure_endpoint) or "api.openai.com"
        return f"{self.provider} ({self.model} at {where})"


_ENV_MAP: dict[str, str] = {
    "REBALANCE_LLM_PROVIDER": "provider",
    "REBALANCE_LLM_MODEL": "model",
    "OPENAI_MODEL": "model",
    "OPENAI_API_KEY": "api_key",
    "OPENAI_BASE_URL": "base_url",
    "AZURE_OPENAI_ENDPOINT": "azure_endpoint",
    "AZURE_OPENAI_API_KEY": "api_key",
    "AZURE_OPENAI_DEPLOYMENT": "azure_deployment",
    "OPENAI_API_VERSION": "api_version",
    "REBALANCE_LLM_TIMEOUT": "timeout",
    "REBALANCE_LLM_FIRST_TOKEN_TIMEOUT": "first_token_timeout",
    "REBALANCE_LLM_MAX_RETRIES": "max_retries",
    "REBALANCE_LLM_BUDGET_USD": "budget_usd",
    "REBALANCE_OFFLINE_PACE": "offline_pace",
}


def _from_flat(source: Mapping[str, Any], provider_hint: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, field in _ENV_MAP.items():
        value = source.get(key)
        if value in (None, ""):
            continue
        # The Azure key wins for Azure, the OpenAI key for everything else.
        if field == "api_key" and "api_key" in out:
            is_azure_key = key == "AZURE_OPENAI_API_KEY"
            if is_azure_key != (provider_hint == "azure"):
                continue
        out[field] = value
    return out


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets_path: str | Path | None = SECRETS_TOML,
    **overrides: Any,
) -> LLMSettings:
    """Settings from `.streamlit/secrets.toml` (flat env-style keys or an `[llm]` table), then
    environment variables, then explicit overrides, later sources winning."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    if secrets_path is not None and Path(secrets_path).is_file():
        with Path(secrets_path).open("rb") as fh:
            secrets = tomllib.load(fh)
        hint = str(secrets.get("REBALANCE_LLM_PROVIDER") or secrets.get("llm", {}).get("provider"))
        data.update(_from_flat(secrets, hint))
        table = secrets.get("llm")
        if isinstance(table, Mapping):
            data.update({k: v for k, v in table.items() if k in LLMSettings.model_fields})
    hint = env.get("REBALANCE_LLM_PROVIDER") or data.get("provider")
    data.update(_from_flat(env, hint))
    data.update(overrides)
    if isinstance(data.get("provider"), str):
        data["provider"] = data["provider"].strip().lower().replace("_", "-")
        if data["provider"] in ("compatible", "openai_compatible", "local"):
            data["provider"] = "openai-compatible"
    return LLMSettings(**data)
