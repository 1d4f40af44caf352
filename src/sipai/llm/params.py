"""Request parameters checked against the guide's table before anything is sent.

Groq rejects some OpenAI parameters for gpt-oss (`n` ≠ 1, `logprobs`, `logit_bias`) and
counts `max_completion_tokens` against the TPM limit, so Sip validates locally, sends
`max_completion_tokens` (never the deprecated `max_tokens`), and fails fast with
:class:`~sipai.errors.InvalidParameter` naming the parameter.
"""

from __future__ import annotations

from typing import Any

from sipai.errors import InvalidParameter
from sipai.llm.catalog import model_info

_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
_EFFORTS = ("low", "medium", "high")
_UNSUPPORTED = ("logprobs", "top_logprobs", "logit_bias")
_PASSTHROUGH = ("seed", "user", "response_format", "tools", "tool_choice", "stream_options")
MAX_STOP = 4


def check_params(model: str, params: dict[str, Any]) -> dict[str, Any]:
    """Return the wire parameters for `model`, or raise InvalidParameter naming the bad one."""
    out: dict[str, Any] = {}
    params = dict(params)
    if "max_tokens" in params:
        params.setdefault("max_completion_tokens", params.pop("max_tokens"))
        params.pop("max_tokens", None)
    for name, (low, high) in _RANGES.items():
        value = params.pop(name, None)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidParameter(f"{name} must be a number")
        if not low <= value <= high:
            raise InvalidParameter(f"{name} must be between {low} and {high} (got {value})")
        out[name] = float(value)
    limit = model_info(model).max_completion_tokens
    tokens = params.pop("max_completion_tokens", None)
    if tokens is not None:
        if not isinstance(tokens, int) or isinstance(tokens, bool) or not 1 <= tokens <= limit:
            raise InvalidParameter(f"max_completion_tokens must be an integer from 1 to {limit}")
        out["max_completion_tokens"] = tokens
    stop = params.pop("stop", None)
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else list(stop)
        if len(stops) > MAX_STOP or not all(isinstance(s, str) and s for s in stops):
            raise InvalidParameter(f"stop takes at most {MAX_STOP} non-empty strings")
        out["stop"] = stops
    effort = params.pop("reasoning_effort", None)
    if effort is not None:
        if effort not in _EFFORTS:
            raise InvalidParameter(f"reasoning_effort must be one of {', '.join(_EFFORTS)}")
        if model_info(model).reasoning:
            out["reasoning_effort"] = effort
    n = params.pop("n", None)
    if n not in (None, 1):
        raise InvalidParameter("n must be 1")
    for name in _UNSUPPORTED:
        if params.pop(name, None) not in (None, False):
            raise InvalidParameter(f"{name} is not supported by {model}")
    for name in _PASSTHROUGH:
        if name in params:
            out[name] = params.pop(name)
    if params:
        raise InvalidParameter(f"unknown parameter {sorted(params)[0]}")
    return out
