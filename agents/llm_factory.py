"""Build the chat model for each agent from `LLMSettings`."""

from __future__ import annotations

import httpx
from langchain_core.language_models import BaseChatModel

from agents.offline import OfflineAnalyst
from agents.settings import LLMSettings
from portfolio.redact import install_log_redaction

# The HTTP clients below log request URLs, which may carry credentials.
install_log_redaction()

_NO_KEY = "not-needed"  # local OpenAI-compatible servers ignore the key but the client wants one


class ProviderConfigError(ValueError):
    """The configured provider is missing something it needs (the message never holds a key)."""


def offline_model(settings: LLMSettings) -> OfflineAnalyst:
    return OfflineAnalyst(pace=settings.offline_pace)


def build_chat_model(settings: LLMSettings, agent: str) -> BaseChatModel:
    if settings.provider == "offline":
        return offline_model(settings)
    model = settings.model_for(agent)
    temperature = settings.temperature_for(agent)
    key = settings.api_key.get_secret_value() if settings.api_key else None
    # A client per model, made on the running event loop: the library's shared default client
    # is bound to the loop that first used it and breaks when a later run has a new loop.
    common = {
        "http_async_client": httpx.AsyncClient(timeout=settings.timeout),
        "temperature": temperature,
        "timeout": settings.timeout,
        # The library's own silence limit between streamed chunks (120 s unless set) follows
        # ours, so an answer that stalls midway fails when the advisor was told it would.
        "stream_chunk_timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "stream_usage": True,
    }
    if settings.provider == "azure":
        from langchain_openai import AzureChatOpenAI

        if not settings.azure_endpoint:
            raise ProviderConfigError("Azure OpenAI needs an endpoint (AZURE_OPENAI_ENDPOINT).")
        if not settings.azure_deployment and not settings.agents.get(agent):
            raise ProviderConfigError("Azure OpenAI needs a deployment (AZURE_OPENAI_DEPLOYMENT).")
        if not key:
            raise ProviderConfigError("Azure OpenAI needs an API key (AZURE_OPENAI_API_KEY).")
        return AzureChatOpenAI(
            azure_endpoint=settings.azure_endpoint,
            azure_deployment=model,
            api_version=settings.api_version,
            api_key=key,
            **common,
        )
    from langchain_openai import ChatOpenAI

    if settings.provider == "openai":
        if not key:
            raise ProviderConfigError("OpenAI needs an API key (OPENAI_API_KEY).")
        return ChatOpenAI(model=model, api_key=key, base_url=settings.base_url, **common)
    if not settings.base_url:
        raise ProviderConfigError("An OpenAI-compatible server needs a base URL (OPENAI_BASE_URL).")
    return ChatOpenAI(model=model, api_key=key or _NO_KEY, base_url=settings.base_url, **common)
