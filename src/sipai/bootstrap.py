"""The composition root: the one place settings, clients, engines and services are built.

Nothing is built at import time; front ends (CLI, HTTP, bot) call these builders.
"""

from __future__ import annotations

from sipai.config import Settings
from sipai.errors import ConfigError
from sipai.llm.catalog import PriceTable
from sipai.llm.client import Gate, LLMClient
from sipai.llm.retry import RetryPolicy


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry policy from settings (the only retry owner)."""
    return RetryPolicy(max_retries=settings.groq_max_retries,
                       max_retry_after=settings.groq_max_retry_wait)


def llm_client(settings: Settings, *, require_key: bool = True,
               gate: Gate | None = None) -> LLMClient:
    """The async provider client; ConfigError when a key is required and missing."""
    key = settings.groq_api_key
    if key is None and require_key:
        raise ConfigError("GROQ_API_KEY is not set (put GROQ_API_KEY=gsk_... in .env)")
    return LLMClient(
        api_key=key.get_secret_value() if key else "missing",
        base_url=settings.groq_base_url,
        model=settings.groq_model,
        timeout=settings.groq_timeout,
        defaults={
            "temperature": settings.groq_temperature,
            "top_p": settings.groq_top_p,
            "max_completion_tokens": settings.groq_max_tokens,
            "reasoning_effort": settings.groq_reasoning_effort,
        },
        prices=PriceTable(settings.sip_prices),
        retry=retry_policy(settings),
        gate=gate,
        stall_timeout=settings.groq_stream_stall_timeout,
    )
