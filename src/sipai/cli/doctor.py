"""`sip doctor`: the guide's troubleshooting section as checks, each with a fix."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from sipai.config import MODEL_ALIASES, Settings
from sipai.errors import AuthenticationError, ProviderError
from sipai.llm.catalog import MODELS, replacement_for
from sipai.llm.client import LLMClient
from sipai.llm.retry import NO_RETRY


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one diagnostic."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def check_key(settings: Settings) -> Check:
    """Is a key configured, and does it look like a Groq key?"""
    key = settings.groq_api_key
    if key is None:
        return Check("key", False, "GROQ_API_KEY is not set",
                     "put GROQ_API_KEY=gsk_... in .env (console.groq.com → API Keys)")
    value = key.get_secret_value()
    if value != value.strip() or any(c.isspace() for c in value):
        return Check("key", False, "GROQ_API_KEY contains spaces",
                     "copy the key again without spaces or line breaks")
    if not value.startswith("gsk_") or len(value) < 12:
        return Check("key", False, "GROQ_API_KEY does not look like a Groq key (gsk_...)",
                     "check you pasted a Groq key, not another provider's")
    return Check("key", True, f"present and well formed ({len(value)} characters)")


async def run_checks(settings: Settings, client: LLMClient) -> list[Check]:
    """Every check, in the order a person would debug: key, endpoint, model, limits, latency."""
    checks = [check_key(settings)]
    if settings.groq_api_key is None:
        return checks
    try:
        started = time.perf_counter()
        cards = await client.models()
        list_latency = time.perf_counter() - started
    except AuthenticationError as error:
        rejected = f"rejected by the provider: {error.message}"
        if checks[0].ok:
            checks[0] = Check("key", False, rejected,
                              "regenerate the key at console.groq.com and update GROQ_API_KEY")
        else:  # keep the format diagnosis: it says why the provider refused the key
            checks[0] = Check("key", False, f"{checks[0].detail}; {rejected}", checks[0].fix)
        checks.append(Check("endpoint", True, f"{settings.groq_base_url} answered"))
        return checks
    except ProviderError as error:
        checks.append(Check("endpoint", False, f"{settings.groq_base_url}: {error.message}",
                            "check GROQ_BASE_URL, the network and proxies; "
                            "it should end in /openai/v1"))
        return checks
    checks.append(Check("endpoint", True,
                        f"{settings.groq_base_url} answered in {list_latency * 1000:.0f} ms"))
    available = {card.id for card in cards}
    for model in settings.models:
        checks.append(_check_model(model, available))
    checks.extend(await _check_call(settings, client))
    return checks


def _check_model(model: str, available: set[str]) -> Check:
    replacement = replacement_for(model)
    if model in available:
        return Check(f"model {model}", True, "available")
    if replacement or (model in MODELS and MODELS[model].decommissioned):
        return Check(f"model {model}", False, "decommissioned by the provider",
                     f"set GROQ_MODEL={replacement}" if replacement else "choose another model")
    alias = {v: k for k, v in MODEL_ALIASES.items()}
    hint = next((m for m in available if m.endswith("/" + model)), None)
    fix = f"use the full id {hint}" if hint else "run `sip models` and pick one of the ids listed"
    if model in alias:
        fix = "the provider does not list it: run `sip models`"
    return Check(f"model {model}", False, "not offered by the provider", fix)


async def _check_call(settings: Settings, client: LLMClient) -> list[Check]:
    """One tiny completion: reads the rate-limit headers and measures latency."""
    started = time.perf_counter()
    try:
        await client.complete([{"role": "user", "content": "ping"}], retry=NO_RETRY,
                              max_completion_tokens=64)
    except ProviderError as error:
        if error.code == "empty_completion":
            pass  # the call went through; only the answer was empty
        else:
            return [Check("call", False, f"a test completion failed: {error.message}",
                          "see the error above; `sip models` lists what the key can use")]
    latency = time.perf_counter() - started
    checks: list[Check] = []
    info = client.last_ratelimit
    if info is None or info.remaining_tokens is None:
        checks.append(Check("limits", True, "the provider sent no rate-limit headers"))
    else:
        day = (f"{info.remaining_requests}/{info.limit_requests} requests left today"
               if info.limit_requests else "requests per day unknown")
        minute = f"{info.remaining_tokens}/{info.limit_tokens} tokens left this minute"
        low = (info.limit_requests and (info.remaining_requests or 0) < 0.1 * info.limit_requests)
        checks.append(Check("limits", not low, f"{day}; {minute}",
                            "daily requests nearly spent: add fallback models or upgrade the plan"
                            if low else ""))
    budget = settings.groq_timeout
    slow = latency > 0.8 * budget
    checks.append(Check("latency", not slow,
                        f"a short answer took {latency * 1000:.0f} ms (timeout {budget:g} s)",
                        "raise GROQ_TIMEOUT or check the network" if slow else ""))
    return checks
