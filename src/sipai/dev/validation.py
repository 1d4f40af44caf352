"""Request validation with Groq's rules and wording; every failure is a :class:`GroqHttpError`.

Order, as on Groq: body parse (400), model resolution (400 decommissioned, 404 unknown,
400 wrong endpoint), then parameters (400). For gpt-oss that means: `n` must be 1;
`logprobs`, `top_logprobs` and `logit_bias` are refused; at most 4 `stop` strings;
temperature 0–2, top_p 0–1, penalties −2–2; `max_completion_tokens` between 1 and the
model's maximum; prompt plus budget within the context window; unknown top-level
properties are refused ("property 'x' is unsupported") when the emulator is strict.
"""

from __future__ import annotations

import json
from typing import Any

from sipai.dev.catalog import ModelCard, ModelCatalog, ModelKind
from sipai.dev.replies import completion_budget, prompt_tokens
from sipai.dev.wire import (
    invalid_request,
    model_decommissioned,
    model_not_found,
)

CHAT_PARAMS = frozenset({
    "messages", "model", "citation_options", "compound_custom", "disable_tool_validation",
    "documents", "exclude_domains", "frequency_penalty", "function_call", "functions",
    "include_domains", "include_reasoning", "logit_bias", "logprobs", "max_completion_tokens",
    "max_tokens", "metadata", "n", "parallel_tool_calls", "presence_penalty",
    "reasoning_effort", "reasoning_format", "response_format", "search_settings", "seed",
    "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice",
    "tools", "top_logprobs", "top_p", "user",
})
COMPLETION_PARAMS = frozenset({
    "model", "prompt", "max_tokens", "temperature", "top_p", "n", "stop", "stream",
    "stream_options", "seed", "user", "echo", "suffix", "frequency_penalty",
    "presence_penalty", "logprobs", "best_of", "logit_bias",
})
EMBEDDING_PARAMS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})
_ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})
_EFFORTS = ("low", "medium", "high")
_SERVICE_TIERS = frozenset({"auto", "on_demand", "flex", "performance"})
_FORMATS = frozenset({"text", "json_object", "json_schema"})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request's JSON object, or 400 when the body is not one."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise invalid_request(
            "We could not parse the JSON body of your request. The request body must be "
            "valid JSON."
        ) from None
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    return body


def resolve_model(catalog: ModelCatalog, body: dict[str, Any], kind: ModelKind) -> ModelCard:
    """The card of the requested model, or Groq's 400/404 answer."""
    model = body.get("model")
    if model is None:
        raise invalid_request("property 'model' is missing")
    if not isinstance(model, str):
        raise invalid_request("'model' : value must be a string")
    replacement = catalog.replacement(model)
    if replacement is not None:
        raise model_decommissioned(model, replacement)
    card = catalog.get(model)
    if card is None:
        raise model_not_found(model)
    if card.kind != kind:
        what = "chat completions" if kind == "chat" else "embeddings"
        raise invalid_request(f"model `{model}` does not support {what}")
    return card


def _unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in body:
        if key not in allowed:
            raise invalid_request(f"property '{key}' is unsupported")


def _number(body: dict[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_request(f"'{name}' : value must be a number")
    if value < low:
        raise invalid_request(f"'{name}' : number must be at least {low:g}")
    if value > high:
        raise invalid_request(f"'{name}' : number must be at most {high:g}")


def _integer(body: dict[str, Any], name: str, low: int, high: int) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"'{name}' : value must be an integer")
    if value < low:
        raise invalid_request(f"'{name}' : number must be at least {low}")
    if value > high and name not in ("max_completion_tokens", "max_tokens"):
        raise invalid_request(f"'{name}' : number must be at most {high}")
    if value > high:
        raise invalid_request(
            f"`{name}` must be less than or equal to `{high}`, the maximum value for "
            f"`{name}` is less than the `context_window` for this model"
        )


def _stop_and_stream(body: dict[str, Any]) -> None:
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, list):
            if len(stop) > 4:
                raise invalid_request("'stop' : maximum number of items is 4")
            if not all(isinstance(item, str) for item in stop):
                raise invalid_request("'stop' : items must be strings")
        elif not isinstance(stop, str):
            raise invalid_request("'stop' : value must be a string or an array of strings")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid_request("'stream' : value must be a boolean")
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise invalid_request("'stream_options' : value must be an object")
        if not stream:
            raise invalid_request("stream_options is only allowed when 'stream' is true")


def _sampling(body: dict[str, Any], card: ModelCard) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        raise invalid_request("'n' : number must be at most 1" if n != 0 else
                              "'n' : number must be at least 1")
    if body.get("logprobs") or body.get("top_logprobs") is not None:
        raise invalid_request("logprobs is not supported with this model")
    if body.get("logit_bias") is not None:
        raise invalid_request("logit_bias is not supported with this model")
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "frequency_penalty", -2, 2)
    _number(body, "presence_penalty", -2, 2)
    for name in ("max_completion_tokens", "max_tokens"):
        _integer(body, name, 1, card.max_completion_tokens)
    _stop_and_stream(body)


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if messages is None:
        raise invalid_request("property 'messages' is missing")
    if not isinstance(messages, list):
        raise invalid_request("'messages' : value must be an array")
    if not messages:
        raise invalid_request("'messages' : minimum number of items is 1")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid_request(f"'messages.{index}' : value must be an object")
        role = message.get("role")
        if role not in _ROLES:
            raise invalid_request(
                f"'messages.{index}' : discriminator property 'role' has invalid value {role!r}"
            )
        content = message.get("content")
        if content is None and role != "assistant":
            raise invalid_request(f"'messages.{index}' : property 'content' is missing")
        if content is not None and not isinstance(content, str | list):
            raise invalid_request(
                f"'messages.{index}.content' : value must be a string or an array"
            )
    return messages


def validate_chat(body: dict[str, Any], card: ModelCard, strict: bool) -> None:
    """Check a chat request against Groq's rules for `card`."""
    if strict:
        _unknown(body, CHAT_PARAMS)
    messages = _messages(body)
    _sampling(body, card)
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not card.reasoning:
            raise invalid_request("`reasoning_effort` is not supported with this model")
        if effort not in _EFFORTS:
            raise invalid_request("'reasoning_effort' : value must be one of low, medium, high")
    if body.get("include_reasoning") is not None and not isinstance(
        body["include_reasoning"], bool
    ):
        raise invalid_request("'include_reasoning' : value must be a boolean")
    if body.get("reasoning_format") not in (None, "parsed", "raw", "hidden"):
        raise invalid_request("'reasoning_format' : value must be one of parsed, raw, hidden")
    response_format = body.get("response_format")
    if response_format is not None and (
        not isinstance(response_format, dict) or response_format.get("type") not in _FORMATS
    ):
        raise invalid_request("'response_format.type' : value must be one of "
                              "text, json_object, json_schema")
    if body.get("service_tier") not in (None, *_SERVICE_TIERS):
        raise invalid_request("'service_tier' : value must be one of auto, on_demand, flex, "
                              "performance")
    budget = completion_budget(body) or 0
    if prompt_tokens(messages, body.get("tools")) + budget > card.context_window:
        raise invalid_request(
            "Please reduce the length of the messages or completion.",
            code="context_length_exceeded",
        )


def validate_completion(body: dict[str, Any], card: ModelCard, strict: bool) -> None:
    """Check a legacy `/completions` request."""
    if strict:
        _unknown(body, COMPLETION_PARAMS)
    prompt = body.get("prompt")
    if prompt is None:
        raise invalid_request("property 'prompt' is missing")
    if not isinstance(prompt, str) and not (
        isinstance(prompt, list) and all(isinstance(p, str) for p in prompt)
    ):
        raise invalid_request("'prompt' : value must be a string or an array of strings")
    _sampling(body, card)


def validate_embedding(body: dict[str, Any], card: ModelCard, strict: bool) -> list[str]:
    """Check an `/embeddings` request; returns its inputs as texts."""
    if strict:
        _unknown(body, EMBEDDING_PARAMS)
    raw = body.get("input")
    if raw is None:
        raise invalid_request("property 'input' is missing")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise invalid_request("'input' : minimum number of items is 1")
    texts: list[str] = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            texts.append(str(item))
        elif isinstance(item, list) and all(isinstance(t, int) for t in item):
            texts.append(" ".join(map(str, item)))
        else:
            raise invalid_request("'input' : value must be a string or an array of strings")
    if isinstance(raw, list) and all(isinstance(t, int) for t in raw):
        texts = [" ".join(map(str, raw))]
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise invalid_request("'encoding_format' : value must be one of float, base64")
    _integer(body, "dimensions", 1, card.dimensions)
    return texts
